//! Ingest of one uploaded photo, in this order:
//!
//! 1. the bytes' SHA-256 must equal the declared one (`hash_mismatch`);
//! 2. at most [`MAX_BYTES`] (`photo_too_large`);
//! 3. the format is sniffed from the first bytes: JPEG and PNG are accepted; HEIC/HEIF, AVIF, WebP, GIF, TIFF and
//!    BMP are `unsupported_format` (ask the phone for JPEG); anything else is `not_an_image`;
//! 4. the structure is walked without decoding: JPEG marker segments up to the end-of-image marker, PNG chunks up to
//!    `IEND` (a file cut short is `truncated_image`), and the size is read from the header (SOF / IHDR);
//! 5. a size over [`MAX_SIDE`] on either side or [`MAX_PIXELS`] in all is refused before any pixel is decoded
//!    (`too_many_pixels`: decompression bombs declare huge sizes in tiny files); so is a JPEG whose entropy-coded
//!    data is too short for the blocks its header declares, even at the shortest codes its Huffman tables allow
//!    (`corrupt_image`: libjpeg would fill the rest with grey and the photo would be stored at the claimed size);
//! 6. EXIF (orientation, GPS position, DateTimeOriginal) is read with kamadak-exif, keeping the fields it could read
//!    when part of the EXIF is malformed (piexif's sub-IFDs lack their next-IFD offset); EXIF that cannot be read
//!    at all gives no orientation, position or time and flags the photo (`ExifInfo::unreadable`);
//! 7. the pixels are decoded inside `catch_unwind` (libjpeg reports fatal errors by unwinding; a decoder panic is
//!    `corrupt_image` with the decoder's message). JPEG is decoded by libjpeg-turbo (the `mozjpeg` crate, SIMD) at
//!    reduced scale inside the inverse DCT (1/2, 1/4 or 1/8, whatever still gives at least [`DECODE_MIN_SIDE`]
//!    pixels on the long side), so a 12-megapixel photo is decoded straight to 2000×1500 without ever building the
//!    full-size pixels. Damaged entropy-coded data inside a complete file is decoded as far as it goes (libjpeg's
//!    warning, the rest grey), as browsers show it. A progressive JPEG keeps all its coefficients while it decodes,
//!    so one needing more than [`MAX_COEFFICIENT_BYTES`] for them, or with more than [`MAX_SCANS`] scans (each
//!    costs a pass over the image), is refused in step 4. PNG is decoded fully (image crate, `Limits` set);
//! 8. the result is resized (fast_image_resize) to the display size (long side ≤ [`DISPLAY_SIDE`]) and the
//!    thumbnail (≤ [`THUMB_SIDE`]), turned by the EXIF orientation, and encoded afresh as baseline 4:2:0 JPEG by
//!    libjpeg-turbo: the derivatives carry no EXIF (no position, no camera) whatever the original had.

use super::PhotoHash;
use chrono::{NaiveDateTime, TimeZone};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The largest file accepted (bytes).
pub const MAX_BYTES: u64 = 20 << 20;
/// The most pixels an accepted image may declare (width × height).
pub const MAX_PIXELS: u64 = 40_000_000;
/// The longest side an accepted image may declare.
pub const MAX_SIDE: u32 = 16_384;
/// The long side of the display derivative is at most this.
pub const DISPLAY_SIDE: u32 = 2048;
/// The long side of the thumbnail is at most this.
pub const THUMB_SIDE: u32 = 320;
/// JPEG DCT scaling keeps at least this many pixels on the long side (then resizes down to [`DISPLAY_SIDE`] when
/// the scaled size is larger): 4000 px decodes at 1/2 to 2000 px, 4032 at 1/2 to 2016, 8000 at 1/4 to 2000.
pub const DECODE_MIN_SIDE: u32 = 1792;
/// The most scans a JPEG may have (libjpeg-turbo's own suggested limit; a real progressive photo has about ten).
pub const MAX_SCANS: u32 = 500;
/// The most memory a progressive JPEG's coefficients may take while it decodes (128 bytes per 8×8 block: a
/// 40-megapixel 4:2:0 photo needs 120 MB).
pub const MAX_COEFFICIENT_BYTES: u64 = 160 << 20;
const DISPLAY_QUALITY: u8 = 82;
const THUMB_QUALITY: u8 = 75;
/// Hours east of UTC assumed for an EXIF time without `OffsetTimeOriginal` (phones in Beijing keep local time).
pub const DEFAULT_EXIF_UTC_OFFSET_HOURS: i32 = 8;

/// Why a file was refused. Each variant has a stable code ([`IngestError::code`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The bytes do not hash to the declared SHA-256.
    #[error("the bytes hash to {actual}, not to the declared {declared}")]
    HashMismatch {
        /// The hash the client declared.
        declared: String,
        /// The hash of the bytes received.
        actual: String,
    },
    /// More bytes than [`MAX_BYTES`].
    #[error("the photo is {0} bytes; at most {MAX_BYTES} are accepted")]
    TooLarge(u64),
    /// A known image format that is not accepted (HEIC, WebP, ...).
    #[error(
        "{0} is not supported: send a JPEG (on an iPhone: Settings, Camera, Formats, Most Compatible)"
    )]
    UnsupportedFormat(&'static str),
    /// Not an image at all.
    #[error("the file is not a JPEG or PNG image")]
    NotAnImage,
    /// The file ends before the image does.
    #[error("the image is cut short ({0}): upload the whole file")]
    Truncated(&'static str),
    /// The header declares more pixels than accepted.
    #[error(
        "the image declares {width}×{height} pixels; at most {MAX_SIDE} per side and {MAX_PIXELS} in all are accepted"
    )]
    TooManyPixels {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
    },
    /// The image could not be decoded.
    #[error("the image cannot be decoded: {0}")]
    Corrupt(String),
}

impl IngestError {
    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::HashMismatch { .. } => "hash_mismatch",
            IngestError::TooLarge(_) => "photo_too_large",
            IngestError::UnsupportedFormat(_) => "unsupported_format",
            IngestError::NotAnImage => "not_an_image",
            IngestError::Truncated(_) => "truncated_image",
            IngestError::TooManyPixels { .. } => "too_many_pixels",
            IngestError::Corrupt(_) => "corrupt_image",
        }
    }
}

/// An accepted format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JPEG (baseline or progressive).
    Jpeg,
    /// PNG.
    Png,
}

impl Format {
    /// Its MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
        }
    }
}

/// What the photo's own EXIF says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExifInfo {
    /// EXIF orientation 1–8 (1 when absent).
    pub orientation: u8,
    /// GPS longitude (WGS-84, east positive).
    pub lon: Option<f64>,
    /// GPS latitude (north positive).
    pub lat: Option<f64>,
    /// DateTimeOriginal in UTC (its `OffsetTimeOriginal`, else [`DEFAULT_EXIF_UTC_OFFSET_HOURS`]).
    pub taken_at: Option<NaiveDateTime>,
    /// The file carries EXIF that could not be read at all (a broken TIFF structure): nothing above comes from
    /// it, and the photo's position and time cannot be checked. A photo without EXIF is not flagged.
    pub unreadable: bool,
}

/// An accepted photo and its derivatives.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// Its name.
    pub sha256: PhotoHash,
    /// Its format.
    pub format: Format,
    /// Width as shown (after the EXIF orientation).
    pub width: u32,
    /// Height as shown.
    pub height: u32,
    /// Its EXIF.
    pub exif: ExifInfo,
    /// The display JPEG (long side ≤ [`DISPLAY_SIDE`]).
    pub display: Vec<u8>,
    /// The thumbnail JPEG (long side ≤ [`THUMB_SIDE`]).
    pub thumb: Vec<u8>,
}

/// Checks, decodes and derives one photo whose client declared `declared` as its SHA-256.
pub fn ingest(bytes: &[u8], declared: &PhotoHash) -> Result<Ingested, IngestError> {
    let actual = PhotoHash::of(bytes);
    if &actual != declared {
        return Err(IngestError::HashMismatch {
            declared: declared.to_string(),
            actual: actual.to_string(),
        });
    }
    ingest_unhashed(bytes, actual)
}

/// [`ingest`] of bytes already known to hash to `sha256`.
pub fn ingest_unhashed(bytes: &[u8], sha256: PhotoHash) -> Result<Ingested, IngestError> {
    if bytes.len() as u64 > MAX_BYTES {
        return Err(IngestError::TooLarge(bytes.len() as u64));
    }
    let format = sniff(bytes)?;
    let (width, height) = match format {
        Format::Jpeg => {
            let walk = jpeg_walk(bytes)?;
            check_size(walk.width, walk.height)?;
            check_jpeg_data(&walk)?;
            (walk.width, walk.height)
        }
        Format::Png => png_header(bytes)?,
    };
    check_size(width, height)?;
    // kamadak-exif is careful since 0.6.2, but it parses untrusted bytes: it runs inside the guard too.
    let exif = guarded(|| Ok(read_exif(bytes)))?;
    let pixels = guarded(|| match format {
        Format::Jpeg => decode_jpeg(bytes, width, height),
        Format::Png => decode_png(bytes),
    })?;
    let orientation = image::metadata::Orientation::from_exif(exif.orientation)
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let display = fit(pixels, DISPLAY_SIDE)?;
    let thumb = resized(&display, THUMB_SIDE)?.unwrap_or_else(|| display.clone());
    let display = encode(orient(display, orientation)?, DISPLAY_QUALITY)?;
    let thumb = encode(orient(thumb, orientation)?, THUMB_QUALITY)?;
    let (width, height) = if exif.orientation >= 5 {
        (height, width)
    } else {
        (width, height)
    };
    Ok(Ingested {
        sha256,
        format,
        width,
        height,
        exif,
        display,
        thumb,
    })
}

fn check_size(width: u32, height: u32) -> Result<(), IngestError> {
    if width == 0 || height == 0 {
        return Err(IngestError::Corrupt(
            "the header declares an empty image".into(),
        ));
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(IngestError::TooManyPixels { width, height });
    }
    Ok(())
}

/// Runs a decoder or encoder step; a panic (libjpeg reports its fatal errors by unwinding) is `corrupt_image` with
/// the decoder's own words where it gave any.
fn guarded<T>(f: impl FnOnce() -> Result<T, IngestError>) -> Result<T, IngestError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let said = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .map(|m| m.trim_start_matches("libjpeg fatal error: "))
            .unwrap_or("the decoder gave up on these bytes");
        Err(IngestError::Corrupt(said.to_owned()))
    })
}

/// The format from the first bytes.
pub fn sniff(bytes: &[u8]) -> Result<Format, IngestError> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Format::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Format::Png);
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        return Err(match &bytes[8..12] {
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1" => {
                IngestError::UnsupportedFormat("HEIC/HEIF")
            }
            b"avif" | b"avis" => IngestError::UnsupportedFormat("AVIF"),
            _ => IngestError::NotAnImage,
        });
    }
    if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        return Err(IngestError::UnsupportedFormat("WebP"));
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Err(IngestError::UnsupportedFormat("GIF"));
    }
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return Err(IngestError::UnsupportedFormat("TIFF"));
    }
    if bytes.starts_with(b"BM") && bytes.len() > 26 {
        return Err(IngestError::UnsupportedFormat("BMP"));
    }
    Err(IngestError::NotAnImage)
}

/// Walks a JPEG's segments from SOI to EOI without decoding; the size from its frame header (SOF).
pub fn jpeg_header(bytes: &[u8]) -> Result<(u32, u32), IngestError> {
    jpeg_walk(bytes).map(|w| (w.width, w.height))
}

/// What walking a JPEG's segments tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct JpegWalk {
    width: u32,
    height: u32,
    /// 8×8 blocks the frame header's size and sampling make.
    blocks: u64,
    /// Bytes of entropy-coded data in all scans.
    data_bytes: u64,
    /// The fewest bits any one block can be coded in, from the Huffman tables the file defines: one DC code (and
    /// in a sequential JPEG at least one AC code, end-of-block at the least); `None` for arithmetic coding, which
    /// has no such floor.
    min_block_bits: Option<u64>,
}

/// Refuses a JPEG whose header declares more blocks than its entropy-coded data can hold (`corrupt_image`):
/// libjpeg would show the missing part grey, and the photo would be stored at the size its header claims.
fn check_jpeg_data(walk: &JpegWalk) -> Result<(), IngestError> {
    let Some(bits) = walk.min_block_bits else {
        return Ok(());
    };
    let needed = (walk.blocks * bits).div_ceil(8);
    if walk.data_bytes < needed {
        return Err(IngestError::Corrupt(format!(
            "the header declares {}×{} pixels, which take at least {needed} bytes of image data; the file has {}",
            walk.width, walk.height, walk.data_bytes
        )));
    }
    Ok(())
}

/// The shortest code length of each Huffman table in a DHT segment, with its class (0 DC, 1 AC).
fn huffman_minimums(segment: &[u8]) -> Result<Vec<(u8, u64)>, IngestError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < segment.len() {
        let counts = segment
            .get(pos + 1..pos + 17)
            .ok_or_else(|| IngestError::Corrupt("short Huffman table".into()))?;
        let symbols: usize = counts.iter().map(|&c| usize::from(c)).sum();
        if let Some(shortest) = counts.iter().position(|&c| c > 0) {
            out.push((segment[pos] >> 4, shortest as u64 + 1));
        }
        pos += 17 + symbols;
    }
    Ok(out)
}

fn jpeg_walk(bytes: &[u8]) -> Result<JpegWalk, IngestError> {
    const CUT: IngestError = IngestError::Truncated("no end-of-image marker");
    let mut size = None;
    let mut scans = 0;
    let mut blocks = 0;
    let mut data_bytes = 0u64;
    let (mut min_dc, mut min_ac) = (None::<u64>, None::<u64>);
    let (mut progressive, mut arithmetic) = (false, false);
    let mut i = 2;
    loop {
        // A marker: 0xFF (fill bytes allowed), then its code.
        if i >= bytes.len() {
            return Err(CUT);
        }
        if bytes[i] != 0xFF {
            return Err(IngestError::Corrupt(format!("no marker at byte {i}")));
        }
        while i < bytes.len() && bytes[i] == 0xFF {
            i += 1;
        }
        let Some(&code) = bytes.get(i) else {
            return Err(CUT);
        };
        i += 1;
        match code {
            0xD9 => break,
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let len = match bytes.get(i..i + 2) {
            Some(l) => usize::from(u16::from_be_bytes([l[0], l[1]])),
            None => return Err(CUT),
        };
        if len < 2 {
            return Err(IngestError::Corrupt(format!(
                "bad segment length at byte {i}"
            )));
        }
        if i + len > bytes.len() {
            return Err(CUT);
        }
        let segment = &bytes[i + 2..i + len];
        if matches!(code, 0xC0..=0xCF) && !matches!(code, 0xC4 | 0xC8 | 0xCC) {
            if segment.len() < 5 {
                return Err(IngestError::Corrupt("short frame header".into()));
            }
            let height = u32::from(u16::from_be_bytes([segment[1], segment[2]]));
            let width = u32::from(u16::from_be_bytes([segment[3], segment[4]]));
            if size.is_none() {
                blocks = coefficient_bytes(width, height, &segment[5..]) / 128;
                progressive = matches!(code, 0xC2 | 0xC6 | 0xCA | 0xCE);
                arithmetic = code >= 0xC9;
            }
            size.get_or_insert((width, height));
            if matches!(code, 0xC2 | 0xC6 | 0xCA | 0xCE) {
                check_size(width, height.max(1))?;
                if coefficient_bytes(width, height, &segment[5..]) > MAX_COEFFICIENT_BYTES {
                    return Err(IngestError::Corrupt(format!(
                        "this progressive JPEG needs more than {} MB to decode; send it as a baseline JPEG",
                        MAX_COEFFICIENT_BYTES >> 20
                    )));
                }
            }
        }
        if code == 0xC4 {
            for (class, shortest) in huffman_minimums(segment)? {
                let slot = if class == 0 { &mut min_dc } else { &mut min_ac };
                *slot = Some(slot.map_or(shortest, |m| m.min(shortest)));
            }
        }
        i += len;
        if code == 0xDA {
            let data_start = i;
            scans += 1;
            if scans > MAX_SCANS {
                return Err(IngestError::Corrupt(format!(
                    "the JPEG has more than {MAX_SCANS} scans"
                )));
            }
            // Entropy-coded data: up to the next marker that is neither stuffing (FF 00) nor a restart (FF D0–D7).
            loop {
                let Some(at) = memchr::memchr(0xFF, &bytes[i..]) else {
                    return Err(CUT);
                };
                i += at;
                match bytes.get(i + 1) {
                    None => return Err(CUT),
                    Some(0x00 | 0xD0..=0xD7 | 0xFF) => i += 1,
                    Some(_) => break,
                }
            }
            data_bytes += (i - data_start) as u64;
        }
    }
    let (width, height) =
        size.ok_or_else(|| IngestError::Corrupt("no frame header before the end".into()))?;
    if height == 0 {
        // A height of 0 means "given by a DNL marker later": not worth the risk.
        return Err(IngestError::Corrupt(
            "the frame header declares no height".into(),
        ));
    }
    // Without a table of its own a JPEG is decoded with the standard ones (codes of 2 bits at the shortest); a code
    // is never shorter than 1 bit.
    let (dc, ac) = (min_dc.unwrap_or(1), min_ac.unwrap_or(1));
    Ok(JpegWalk {
        width,
        height,
        blocks,
        data_bytes,
        min_block_bits: (!arithmetic).then_some(if progressive { dc } else { dc + ac }),
    })
}

/// The bytes libjpeg keeps for a progressive frame's coefficients: 128 per 8×8 block of each component, from the
/// frame header's component list (`count`, then `id, sampling HV, table` each).
fn coefficient_bytes(width: u32, height: u32, components: &[u8]) -> u64 {
    let Some((&count, list)) = components.split_first() else {
        return 0;
    };
    let sampling: Vec<(u64, u64)> = list
        .chunks_exact(3)
        .take(usize::from(count))
        .map(|c| (u64::from(c[1] >> 4).max(1), u64::from(c[1] & 15).max(1)))
        .collect();
    let h_max = sampling.iter().map(|s| s.0).max().unwrap_or(1);
    let v_max = sampling.iter().map(|s| s.1).max().unwrap_or(1);
    sampling
        .iter()
        .map(|(h, v)| {
            let w = (u64::from(width) * h).div_ceil(h_max).div_ceil(8);
            let rows = (u64::from(height) * v).div_ceil(v_max).div_ceil(8);
            w * rows * 128
        })
        .sum()
}

/// Walks a PNG's chunks up to IEND without decoding; the size from IHDR.
pub fn png_header(bytes: &[u8]) -> Result<(u32, u32), IngestError> {
    const CUT: IngestError = IngestError::Truncated("no IEND chunk");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    if bytes.len() < 33 || &bytes[12..16] != b"IHDR" {
        return Err(if bytes.len() < 33 {
            CUT
        } else {
            IngestError::Corrupt("the first chunk is not IHDR".into())
        });
    }
    let (width, height) = (be(&bytes[16..20]), be(&bytes[20..24]));
    let mut i = 8;
    loop {
        let Some(head) = bytes.get(i..i + 8) else {
            return Err(CUT);
        };
        let len = be(&head[..4]) as usize;
        let end = i.saturating_add(12).saturating_add(len);
        if end > bytes.len() {
            return Err(CUT);
        }
        if &head[4..8] == b"IEND" {
            break;
        }
        i = end;
    }
    Ok((width, height))
}

fn read_exif(bytes: &[u8]) -> ExifInfo {
    use exif::{In, Tag, Value};
    let mut info = ExifInfo {
        orientation: 1,
        ..ExifInfo::default()
    };
    // Keep what could be read: writers such as piexif leave out the next-IFD offset of the Exif and GPS IFDs, which
    // kamadak-exif reports as an error after reading their fields ("Unexpected next IFD").
    let read = exif::Reader::new()
        .continue_on_error(true)
        .read_from_container(&mut std::io::Cursor::new(bytes))
        .or_else(|e| e.distill_partial_result(|_| {}));
    let exif = match read {
        Ok(exif) => exif,
        Err(exif::Error::NotFound(_)) => return info,
        Err(e) => {
            tracing::debug!(error = %e, "the photo's EXIF could not be read");
            info.unreadable = true;
            return info;
        }
    };
    if let Some(o) = exif
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .filter(|o| (1..=8).contains(o))
    {
        info.orientation = o as u8;
    }
    let degrees = |tag: Tag| -> Option<f64> {
        match &exif.get_field(tag, In::PRIMARY)?.value {
            Value::Rational(v) if v.len() >= 3 => {
                let d = v[0].to_f64() + v[1].to_f64() / 60.0 + v[2].to_f64() / 3600.0;
                d.is_finite().then_some(d)
            }
            _ => None,
        }
    };
    let reference = |tag: Tag| -> Option<u8> {
        match &exif.get_field(tag, In::PRIMARY)?.value {
            Value::Ascii(v) => v.first().and_then(|s| s.first()).copied(),
            _ => None,
        }
    };
    if let (Some(lat), Some(lon)) = (degrees(Tag::GPSLatitude), degrees(Tag::GPSLongitude)) {
        let lat = if reference(Tag::GPSLatitudeRef) == Some(b'S') {
            -lat
        } else {
            lat
        };
        let lon = if reference(Tag::GPSLongitudeRef) == Some(b'W') {
            -lon
        } else {
            lon
        };
        if (-90.0..=90.0).contains(&lat)
            && (-180.0..=180.0).contains(&lon)
            && (lat, lon) != (0.0, 0.0)
        {
            info.lat = Some(lat);
            info.lon = Some(lon);
        }
    }
    let ascii = |tag: Tag| -> Option<String> {
        match &exif.get_field(tag, In::PRIMARY)?.value {
            Value::Ascii(v) => v
                .first()
                .map(|s| String::from_utf8_lossy(s).trim().to_owned()),
            _ => None,
        }
    };
    if let Some(local) = ascii(Tag::DateTimeOriginal)
        .and_then(|t| NaiveDateTime::parse_from_str(&t, "%Y:%m:%d %H:%M:%S").ok())
    {
        let offset = ascii(Tag::OffsetTimeOriginal)
            .and_then(|o| chrono::FixedOffset::from_str_offset(&o))
            .or_else(|| chrono::FixedOffset::east_opt(DEFAULT_EXIF_UTC_OFFSET_HOURS * 3600));
        info.taken_at = offset
            .and_then(|o| o.from_local_datetime(&local).single())
            .map(|t| t.naive_utc());
    }
    info
}

/// `+08:00` style offsets.
trait FromStrOffset: Sized {
    fn from_str_offset(s: &str) -> Option<Self>;
}

impl FromStrOffset for chrono::FixedOffset {
    fn from_str_offset(s: &str) -> Option<Self> {
        let (sign, rest) = match s.as_bytes().first()? {
            b'+' => (1, &s[1..]),
            b'-' => (-1, &s[1..]),
            _ => return None,
        };
        let (h, m) = rest.split_once(':')?;
        let secs = h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60;
        chrono::FixedOffset::east_opt(sign * secs)
    }
}

/// Packed RGB pixels.
#[derive(Clone)]
struct Rgb {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

fn decode_jpeg(bytes: &[u8], width: u32, height: u32) -> Result<Rgb, IngestError> {
    let long = width.max(height);
    let mut denominator = 1;
    while denominator < 8 && long.div_ceil(denominator * 2) >= DECODE_MIN_SIDE {
        denominator *= 2;
    }
    let mut d = mozjpeg::Decompress::new_mem(bytes).map_err(jpeg_error)?;
    // libjpeg scales by numerator / 8 inside the inverse DCT.
    d.scale((8 / denominator) as u8);
    let cmyk = matches!(
        d.color_space(),
        mozjpeg::ColorSpace::JCS_CMYK | mozjpeg::ColorSpace::JCS_YCCK
    );
    let mut started = if cmyk {
        d.to_colorspace(mozjpeg::ColorSpace::JCS_CMYK)
    } else {
        // Grayscale is widened to RGB by libjpeg itself.
        d.rgb()
    }
    .map_err(jpeg_error)?;
    let (w, h) = (started.width() as u32, started.height() as u32);
    let raw: Vec<u8> = started.read_scanlines().map_err(jpeg_error)?;
    started.finish().map_err(jpeg_error)?;
    let data = if cmyk {
        // Adobe CMYK as stored (inverted: 255 is no ink).
        raw.chunks_exact(4)
            .flat_map(|p| {
                let k = u16::from(p[3]);
                [p[0], p[1], p[2]].map(|c| ((u16::from(c) * k) / 255) as u8)
            })
            .collect()
    } else {
        raw
    };
    Ok(Rgb {
        width: w,
        height: h,
        data,
    })
}

fn jpeg_error(e: std::io::Error) -> IngestError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        IngestError::Truncated("the data ends inside the image")
    } else {
        IngestError::Corrupt(e.to_string())
    }
}

fn decode_png(bytes: &[u8]) -> Result<Rgb, IngestError> {
    let mut reader =
        image::ImageReader::with_format(std::io::Cursor::new(bytes), image::ImageFormat::Png);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // Up to 16 bits × 4 channels per pixel, once for the decoder and once for the conversion.
    limits.max_alloc = Some(MAX_PIXELS * 8 * 2);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => {
            IngestError::Corrupt("the image needs more memory than allowed".into())
        }
        image::ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            IngestError::Truncated("the data ends inside the image")
        }
        other => IngestError::Corrupt(other.to_string()),
    })?;
    let rgb = image.into_rgb8();
    Ok(Rgb {
        width: rgb.width(),
        height: rgb.height(),
        data: rgb.into_raw(),
    })
}

/// Resizes to fit `side` on the long side (never enlarges).
fn fit(src: Rgb, side: u32) -> Result<Rgb, IngestError> {
    Ok(resized(&src, side)?.unwrap_or(src))
}

/// A copy of `src` resized to fit `side` on the long side; `None` when it fits already.
fn resized(src: &Rgb, side: u32) -> Result<Option<Rgb>, IngestError> {
    use fast_image_resize::{
        FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer, images::Image, images::ImageRef,
    };
    let long = src.width.max(src.height);
    if long <= side {
        return Ok(None);
    }
    let scale = f64::from(side) / f64::from(long);
    let w = ((f64::from(src.width) * scale).round() as u32).max(1);
    let h = ((f64::from(src.height) * scale).round() as u32).max(1);
    let from = ImageRef::new(src.width, src.height, &src.data, PixelType::U8x3)
        .map_err(|e| IngestError::Corrupt(format!("resize: {e}")))?;
    let mut to = Image::new(w, h, PixelType::U8x3);
    Resizer::new()
        .resize(
            &from,
            &mut to,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear)),
        )
        .map_err(|e| IngestError::Corrupt(format!("resize: {e}")))?;
    Ok(Some(Rgb {
        width: w,
        height: h,
        data: to.into_vec(),
    }))
}

fn orient(src: Rgb, orientation: image::metadata::Orientation) -> Result<Rgb, IngestError> {
    if orientation == image::metadata::Orientation::NoTransforms {
        return Ok(src);
    }
    let buffer = image::RgbImage::from_raw(src.width, src.height, src.data)
        .ok_or_else(|| IngestError::Corrupt("pixel buffer size".into()))?;
    let mut image = image::DynamicImage::ImageRgb8(buffer);
    image.apply_orientation(orientation);
    let rgb = image.into_rgb8();
    Ok(Rgb {
        width: rgb.width(),
        height: rgb.height(),
        data: rgb.into_raw(),
    })
}

fn encode(src: Rgb, quality: u8) -> Result<Vec<u8>, IngestError> {
    guarded(|| encode_rgb(&src.data, src.width, src.height, quality))
}

/// Encodes 8-bit RGB pixels (row by row, `width × height × 3` bytes) as a baseline JPEG with 4:2:0 chroma, as the
/// derivatives are made (libjpeg-turbo's SIMD encoder; no metadata but the JFIF header). Errors of libjpeg unwind:
/// call it inside `catch_unwind` when the input is not known to be well-formed.
pub fn encode_rgb(
    data: &[u8],
    width: u32,
    height: u32,
    quality: u8,
) -> Result<Vec<u8>, IngestError> {
    if data.len() != width as usize * height as usize * 3 || width == 0 || height == 0 {
        return Err(IngestError::Corrupt(format!(
            "{} bytes are not {width}×{height} RGB pixels",
            data.len()
        )));
    }
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    // libjpeg-turbo's settings (baseline, standard Huffman tables), not mozjpeg's slow trellis search.
    c.set_fastest_defaults();
    c.set_size(width as usize, height as usize);
    c.set_quality(f32::from(quality));
    let encoding =
        |e: std::io::Error| IngestError::Corrupt(format!("encoding the derivative: {e}"));
    let mut started = c
        .start_compress(Vec::with_capacity(data.len() / 8))
        .map_err(encoding)?;
    started.write_scanlines(data).map_err(encoding)?;
    started.finish().map_err(encoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let data: Vec<u8> = (0..w as usize * h as usize * 3)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        encode_rgb(&data, w, h, 90).unwrap()
    }

    #[test]
    fn a_jpeg_is_walked_to_its_end_and_its_size_read() {
        let j = jpeg(300, 200);
        assert_eq!(jpeg_header(&j).unwrap(), (300, 200));
        assert!(matches!(
            jpeg_header(&j[..j.len() - 300]),
            Err(IngestError::Truncated(_))
        ));
    }

    #[test]
    fn derivatives_fit_their_sizes() {
        let j = jpeg(4000, 3000);
        let got = ingest(&j, &PhotoHash::of(&j)).unwrap();
        assert_eq!((got.width, got.height), (4000, 3000));
        assert_eq!(jpeg_header(&got.display).unwrap(), (2000, 1500));
        assert_eq!(jpeg_header(&got.thumb).unwrap(), (320, 240));
    }

    /// SOI, a progressive frame header of `w`×`h` with three components sampled `y` (HV nibbles), 1×1, 1×1, then
    /// `scans` empty scans and EOI.
    fn progressive(w: u16, h: u16, y: u8, scans: usize) -> Vec<u8> {
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xC2, 0, 17, 8];
        j.extend_from_slice(&h.to_be_bytes());
        j.extend_from_slice(&w.to_be_bytes());
        j.extend_from_slice(&[3, 1, y, 0, 2, 0x11, 1, 3, 0x11, 1]);
        for _ in 0..scans {
            j.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0, 0]);
        }
        j.extend_from_slice(&[0xFF, 0xD9]);
        j
    }

    #[test]
    fn a_progressive_jpeg_is_refused_when_its_coefficients_or_scans_are_too_many() {
        // 6000×6000 at 4:2:0 keeps 108 MB of coefficients: allowed.
        assert_eq!(
            jpeg_header(&progressive(6000, 6000, 0x22, 10)).unwrap(),
            (6000, 6000)
        );
        // The same at 4:4:4 keeps 216 MB.
        let e = jpeg_header(&progressive(6000, 6000, 0x11, 10)).unwrap_err();
        assert_eq!(e.code(), "corrupt_image");
        assert!(e.to_string().contains("baseline"), "{e}");
        assert!(jpeg_header(&progressive(64, 64, 0x11, MAX_SCANS as usize)).is_ok());
        let e = jpeg_header(&progressive(64, 64, 0x11, MAX_SCANS as usize + 1)).unwrap_err();
        assert!(e.to_string().contains("scans"), "{e}");
    }

    #[test]
    fn libjpeg_errors_are_corrupt_image_in_its_own_words() {
        let mut j = jpeg(64, 48);
        // The first Huffman table's sixteen code counts, all 255: more codes than any table can hold.
        let dht = j.windows(2).position(|w| w == [0xFF, 0xC4]).unwrap();
        j[dht + 5..dht + 21].fill(0xFF);
        let e = ingest(&j, &PhotoHash::of(&j)).unwrap_err();
        assert_eq!(e.code(), "corrupt_image");
        assert!(e.to_string().contains("Huffman"), "{e}");
    }

    #[test]
    fn damaged_scan_data_in_a_whole_file_is_shown_as_far_as_it_goes() {
        let mut j = jpeg(640, 480);
        let (good, _) = decoded(&j);
        // 2 KB of the entropy-coded data in the middle zeroed (no marker made or lost): libjpeg warns and goes on.
        let sos = j.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        let middle = sos + (j.len() - sos) / 2;
        j[middle..middle + 2048].fill(0);
        let (damaged, got) = decoded(&j);
        assert_eq!((got.width, got.height), (640, 480));
        assert_eq!(damaged.len(), good.len());
        assert_ne!(damaged, good, "the damage shows");
        assert_eq!(
            damaged[..3 * 640 * 8],
            good[..3 * 640 * 8],
            "the rows before it are intact"
        );
    }

    /// The display copy's pixels and the ingest result.
    fn decoded(j: &[u8]) -> (Vec<u8>, Ingested) {
        let got = ingest(j, &PhotoHash::of(j)).unwrap();
        let pixels = mozjpeg::Decompress::new_mem(&got.display)
            .unwrap()
            .rgb()
            .unwrap()
            .read_scanlines()
            .unwrap();
        (pixels, got)
    }

    #[test]
    fn a_jpeg_whose_header_claims_more_pixels_than_its_data_holds_is_refused_as_corrupt() {
        let mut j = jpeg(640, 480);
        assert!(ingest(&j, &PhotoHash::of(&j)).is_ok());
        // The frame header made to claim 16000×2500 (40 megapixels: within the limits) over 640×480 of data.
        let sof = j.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        j[sof + 5..sof + 9].copy_from_slice(&[0x09, 0xC4, 0x3E, 0x80]);
        assert_eq!(jpeg_header(&j).unwrap(), (16000, 2500));
        let e = ingest(&j, &PhotoHash::of(&j)).unwrap_err();
        assert_eq!(e.code(), "corrupt_image", "{e}");
        assert!(e.to_string().contains("16000×2500"), "{e}");
    }

    /// What piexif 1.1.3 writes for `piexif.dump({"0th": {Make: b"Test"}, "Exif": {DateTimeOriginal:
    /// b"2026:12:01 10:00:00"}, "GPS": {N 39°54′, E 116°24′}})`: big-endian, and its Exif and GPS IFDs end without
    /// the four-byte offset of a next IFD (the values follow the entries at once).
    const PIEXIF: &str = "4578696600004d4d002a000000080003010f000200000005000000328769000400000001000000378825000400000001000000590000000054657374000001900300020000001400000045323032363a31323a30312031303a30303a303000000400010002000000024e00000000020005000000030000008b0003000200000002450000000004000500000003000000a3000000270000000100000036000000010000000000000001000000740000000100000018000000010000000000000001";

    #[test]
    fn exif_written_by_piexif_is_read() {
        let tiff: Vec<u8> = (0..PIEXIF.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&PIEXIF[i..i + 2], 16).unwrap())
            .collect();
        let j = jpeg(64, 48);
        let mut photo = j[..2].to_vec();
        photo.extend_from_slice(&[0xFF, 0xE1]);
        photo.extend_from_slice(&((tiff.len() + 2) as u16).to_be_bytes());
        photo.extend_from_slice(&tiff);
        photo.extend_from_slice(&j[2..]);
        let got = ingest(&photo, &PhotoHash::of(&photo)).unwrap();
        assert_eq!(got.exif.lat, Some(39.9));
        assert_eq!(got.exif.lon, Some(116.4));
        assert_eq!(
            got.exif.taken_at,
            NaiveDateTime::parse_from_str("2026-12-01 02:00:00", "%Y-%m-%d %H:%M:%S").ok()
        );
    }

    #[test]
    fn heic_and_strangers_have_their_own_codes() {
        let mut heic = vec![0, 0, 0, 24];
        heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
        assert_eq!(sniff(&heic).unwrap_err().code(), "unsupported_format");
        assert_eq!(
            sniff(b"hello world, not a photo").unwrap_err().code(),
            "not_an_image"
        );
    }
}
