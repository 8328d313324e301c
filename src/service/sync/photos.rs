//! Photo evidence: resumable, content-addressed uploads (a tus-like core: create, ask the offset, append at the
//! offset), ingest when the last byte arrives, reading the stored variants, and which of a report's photos are
//! present, missing or doubtful.
//!
//! Who may read a photo is [`access::can_read_photo`]: through the reports and cases it is attached to, or as one
//! who sent its bytes while it is attached to nothing else; anyone else is told it does not exist (404), also by
//! `HEAD` and by the start of an upload (which then asks for the bytes instead of answering `complete`).
//!
//! Guarantees: a photo is stored (its three files, then its row) only after its bytes hashed to the declared
//! SHA-256 and passed [`ingest`]; a refused upload leaves nothing behind; a piece is accepted only at the offset the
//! database holds, so a client that lost an answer asks for the offset and resumes without gaps or overlaps.

use crate::db::{Db, DbConnection, DbError};
use crate::domain::access::Principal;
use crate::domain::access::{self, Permission};
use crate::domain::ids::random_id;
use crate::error::{ErrorKind, ServiceError};
use crate::media::PhotoHash;
use crate::media::ingest::{self, IngestError, MAX_BYTES};
use crate::media::store::{LocalPhotoStore, PhotoStore, UploadArea, Variant};
use crate::store::photos::{self as store, PhotoRow, UploadRow};
use chrono::NaiveDateTime;
use diesel::Connection;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

/// The most bytes one `PATCH` may carry.
pub const MAX_PIECE: usize = 4 << 20;
/// How long an unfinished upload is kept.
pub const UPLOAD_TTL_HOURS: i64 = 24;
/// The most unfinished uploads one user may have at once (a phone sends its photos one after another; a backlog
/// of a day's patrol fits in a few).
pub const MAX_OPEN_UPLOADS_PER_USER: usize = 32;
/// The most bytes one user's unfinished uploads may declare together.
pub const MAX_OPEN_UPLOAD_BYTES_PER_USER: u64 = 256 << 20;
/// The most unfinished uploads from one registered phone.
pub const MAX_OPEN_UPLOADS_PER_DEVICE: usize = 16;
/// The most bytes one phone's unfinished uploads may declare together.
pub const MAX_OPEN_UPLOAD_BYTES_PER_DEVICE: u64 = 128 << 20;
/// How often the server drops expired unfinished uploads.
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(10 * 60);
/// Default of policy `photos.doubtful_distance_m`: a photo taken farther than this from the report is doubtful.
pub const DOUBTFUL_DISTANCE_M: f64 = 200.0;
/// Default of policy `photos.doubtful_hours`: a photo taken more than this many hours before or after the report
/// is doubtful.
pub const DOUBTFUL_HOURS: f64 = 24.0;

/// Where photos and uploads in progress are kept.
#[derive(Debug)]
pub struct Photos {
    /// The photo files.
    pub store: Arc<dyn PhotoStore>,
    /// Uploads in progress.
    pub uploads: UploadArea,
    /// Completed uploads being checked and derived now.
    ingesting: Slots,
}

impl Photos {
    /// Photos in a local directory: files under `dir`, uploads in progress under `dir/uploads`.
    pub fn local(dir: &Path) -> std::io::Result<Photos> {
        Ok(Photos {
            store: Arc::new(LocalPhotoStore::open(dir)?),
            uploads: UploadArea::open(dir.join("uploads"))?,
            ingesting: Slots::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            ),
        })
    }
}

/// At most as many photos are ingested at once as there are cores: each holds its file (up to 20 MB) and its
/// decoded pixels (or a progressive JPEG's coefficients, up to 160 MB) in memory, and more decodes than cores only
/// share the cores. A completed upload waits here for a free slot.
#[derive(Debug)]
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

/// A taken slot, given back when dropped.
struct Slot<'a>(&'a Slots);

impl Slots {
    fn new(n: usize) -> Slots {
        Slots {
            free: Mutex::new(n.max(1)),
            freed: Condvar::new(),
        }
    }

    fn take(&self) -> Slot<'_> {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            free = self
                .freed
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.0.freed.notify_one();
    }
}

/// Errors of photo use-cases.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PhotoError {
    /// Not 64 hex digits.
    #[error("{0:?} is not a SHA-256 in hex (64 digits)")]
    InvalidHash(String),
    /// A field of the request is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The declared size is over the limit.
    #[error("the photo is {0} bytes; at most {MAX_BYTES} are accepted")]
    TooLarge(u64),
    /// The declared type is not accepted.
    #[error("{0:?} is not accepted: send image/jpeg (or image/png)")]
    UnsupportedMime(String),
    /// No such upload (or another user's, or expired).
    #[error("no upload {0}: start one with POST /api/v1/photo-uploads")]
    UploadNotFound(String),
    /// The piece does not start where the upload stands.
    #[error("the upload stands at offset {current}, not at {given}: resume from {current}")]
    OffsetMismatch {
        /// Where the upload stands.
        current: u64,
        /// Where the piece said it starts.
        given: u64,
    },
    /// The piece goes past the declared size.
    #[error("the piece ends at byte {end}, past the declared size {size}")]
    BeyondSize {
        /// Where the piece would end.
        end: u64,
        /// The declared size.
        size: u64,
    },
    /// Another request is writing to this upload.
    #[error("another request is writing to upload {0}: wait for it, then ask the offset")]
    Busy(String),
    /// The bytes were refused.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// No such photo.
    #[error("no photo {0} is stored")]
    PhotoNotFound(String),
    /// No such report (or not visible).
    #[error("no report {0}")]
    ReportNotFound(String),
    /// The role may not read originals.
    #[error(
        "originals (with their EXIF) are for admins, dispatchers, street handlers, community secretaries and the uploader"
    )]
    OriginalForbidden,
    /// Too many unfinished uploads (or too many bytes declared by them) for the user or the phone.
    #[error(
        "{what} has {count} unfinished uploads declaring {bytes} bytes; at most {max_count} and {max_bytes} bytes: finish or resume them first (unfinished uploads expire after {UPLOAD_TTL_HOURS} h)"
    )]
    TooManyUploads {
        /// `this user` or `this phone`.
        what: &'static str,
        /// Unfinished uploads now, with the new one.
        count: usize,
        /// Bytes they declare, with the new one.
        bytes: u64,
        /// The bound on the count.
        max_count: usize,
        /// The bound on the bytes.
        max_bytes: u64,
    },
    /// The photo files could not be written or read.
    #[error("photo storage: {0}")]
    Io(#[from] std::io::Error),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::error::from_query_error!(PhotoError);

impl ServiceError for PhotoError {
    fn kind(&self) -> ErrorKind {
        match self {
            PhotoError::InvalidHash(_) => ErrorKind::Invalid("invalid_sha256"),
            PhotoError::Invalid(_) => ErrorKind::Invalid("invalid_field"),
            PhotoError::TooLarge(_) | PhotoError::Ingest(IngestError::TooLarge(_)) => {
                ErrorKind::TooLarge("photo_too_large")
            }
            PhotoError::BeyondSize { .. } => ErrorKind::TooLarge("beyond_declared_size"),
            PhotoError::UnsupportedMime(_) => ErrorKind::Unprocessable("unsupported_format"),
            PhotoError::UploadNotFound(_) => ErrorKind::NotFound("upload_not_found"),
            PhotoError::PhotoNotFound(_) => ErrorKind::NotFound("photo_not_found"),
            PhotoError::ReportNotFound(_) => ErrorKind::NotFound("report_not_found"),
            PhotoError::OffsetMismatch { .. } => ErrorKind::Conflict("offset_mismatch"),
            PhotoError::Busy(_) => ErrorKind::Conflict("upload_busy"),
            PhotoError::TooManyUploads { .. } => ErrorKind::Conflict("too_many_open_uploads"),
            PhotoError::OriginalForbidden => ErrorKind::Forbidden("original_forbidden"),
            PhotoError::Ingest(i) => ErrorKind::Unprocessable(i.code()),
            PhotoError::Io(_) | PhotoError::Db(_) => ErrorKind::Internal,
        }
    }
}

/// Parses a SHA-256 given by a client.
pub fn parse_hash(s: &str) -> Result<PhotoHash, PhotoError> {
    PhotoHash::parse(s).ok_or_else(|| PhotoError::InvalidHash(s.chars().take(100).collect()))
}

/// Where an upload stands.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadState {
    /// The upload's id; `None` when the photo was already stored and nothing needs sending.
    pub id: Option<String>,
    /// The photo.
    pub sha256: String,
    /// Its size.
    pub size: u64,
    /// Bytes received (the next piece starts here).
    pub offset: u64,
    /// Whether the photo is stored.
    pub complete: bool,
    /// Whether this call created the upload.
    pub created: bool,
}

/// What decides whether one reader may read a stored photo: whether they sent its bytes, whether anyone else
/// attached it, and the cases of its bound uses inside the reader's scope (read with the scope in the query, so
/// that every use counts however many there are).
struct Access {
    holder: bool,
    attached_by_others: bool,
    cases: Vec<(Option<String>, String)>,
}

impl Access {
    fn load(c: &mut DbConnection, sha: &str, user: &Principal) -> diesel::QueryResult<Access> {
        let (places, topics) = access::case_scope(user);
        let scope = store::CaseScope {
            places,
            topics,
            // Unplaced cases only for those the rule shows them to.
            placed_only: !access::can_see_case(user, None, ""),
        };
        Ok(Access {
            holder: store::is_holder(c, sha, &user.id)?,
            attached_by_others: store::bound_use_by_another(c, sha, &user.id)?,
            cases: if access::allows(user.role, Permission::ReadCases) {
                store::cases_of_bound_uses(c, sha, &scope, store::MAX_USES_READ)?
            } else {
                Vec::new()
            },
        })
    }

    fn with_facts<T>(&self, f: impl FnOnce(&access::PhotoFacts<'_>) -> T) -> T {
        let uses: Vec<access::PhotoUse<'_>> = self
            .cases
            .iter()
            .map(|(place, topic)| access::PhotoUse {
                place: place.as_deref(),
                topic: topic.as_str(),
            })
            .collect();
        f(&access::PhotoFacts {
            uses: &uses,
            attached_by_others: self.attached_by_others,
            holder: self.holder,
        })
    }

    fn can_read(&self, user: &Principal) -> bool {
        self.with_facts(|p| access::can_read_photo(user, p))
    }

    fn can_read_original(&self, user: &Principal) -> bool {
        self.with_facts(|p| access::can_read_original(user, p))
    }
}

/// Whether photo `sha` is stored and `user` may read it ([`access::can_read_photo`]); `false` for both "not
/// stored" and "not yours to see".
pub fn may_read(c: &mut DbConnection, user: &Principal, sha: &str) -> diesel::QueryResult<bool> {
    if store::photo(c, sha)?.is_none() {
        return Ok(false);
    }
    Ok(Access::load(c, sha, user)?.can_read(user))
}

/// Whether a photo is stored and visible to `user` (`HEAD /api/v1/photos/{sha256}`).
pub fn is_readable(db: &Db, user: &Principal, sha: &PhotoHash) -> Result<bool, PhotoError> {
    Ok(may_read(&mut *db.reader()?, user, sha.as_str())?)
}

fn stored_state(row: &PhotoRow) -> UploadState {
    UploadState {
        id: None,
        sha256: row.sha256.clone(),
        size: row.size as u64,
        offset: row.size as u64,
        complete: true,
        created: false,
    }
}

fn upload_state(row: &UploadRow, created: bool) -> UploadState {
    UploadState {
        id: Some(row.id.clone()),
        sha256: row.sha256.clone(),
        size: row.size as u64,
        offset: row.received as u64,
        complete: false,
        created,
    }
}

/// Starts an upload of `size` bytes hashing to `sha` from `device` (when it came with a device token): the stored
/// photo when there is one the user may read (nothing to send), the user's unfinished upload of the same photo
/// when there is one (resume it), else a new upload at offset 0 within the bounds on unfinished uploads per user
/// and per phone. A stored photo the user may not read is asked for like any other: the answer must not tell
/// that it exists, and sending the bytes proves the user holds them.
#[expect(
    clippy::too_many_arguments,
    reason = "the request's fields, the user, the phone and the time"
)]
pub fn start_upload(
    db: &Db,
    photos: &Photos,
    user: &Principal,
    device: Option<&str>,
    sha: &str,
    size: u64,
    mime: &str,
    now: NaiveDateTime,
) -> Result<UploadState, PhotoError> {
    let sha = parse_hash(sha)?;
    let mime = mime.trim().to_ascii_lowercase();
    match mime.as_str() {
        "image/jpeg" | "image/jpg" | "image/png" => {}
        "image/heic" | "image/heif" | "image/heic-sequence" | "image/heif-sequence" => {
            return Err(IngestError::UnsupportedFormat("HEIC/HEIF").into());
        }
        _ => {
            return Err(PhotoError::UnsupportedMime(
                mime.chars().take(100).collect(),
            ));
        }
    }
    if size == 0 {
        return Err(PhotoError::Invalid(
            "size: a photo has at least one byte".into(),
        ));
    }
    if size > MAX_BYTES {
        return Err(PhotoError::TooLarge(size));
    }
    sweep_expired(db, photos, now)?;
    let mut c = db.writer()?;
    // The bounds are counted and the upload inserted under one lock per user, so that uploads started at once
    // cannot all pass the count.
    c.transaction(|c| {
        crate::store::serialize_on(c, &format!("uploads.{}", user.id))?;
        if let Some(row) = store::photo(c, sha.as_str())?
            && may_read(c, user, sha.as_str())?
        {
            return Ok(stored_state(&row));
        }
        if let Some(row) = store::open_upload_of(c, sha.as_str(), &user.id, now)?
            && row.size as u64 == size
        {
            return Ok(upload_state(&row, false));
        }
        within_bounds(
            "this user",
            &store::open_upload_sizes_of_user(c, &user.id, now, MAX_OPEN_UPLOADS_PER_USER as i64)?,
            size,
            MAX_OPEN_UPLOADS_PER_USER,
            MAX_OPEN_UPLOAD_BYTES_PER_USER,
        )?;
        if let Some(device) = device {
            within_bounds(
                "this phone",
                &store::open_upload_sizes_of_device(
                    c,
                    device,
                    now,
                    MAX_OPEN_UPLOADS_PER_DEVICE as i64,
                )?,
                size,
                MAX_OPEN_UPLOADS_PER_DEVICE,
                MAX_OPEN_UPLOAD_BYTES_PER_DEVICE,
            )?;
        }
        let row = UploadRow {
            id: random_id("upl_"),
            sha256: sha.to_string(),
            size: size as i64,
            mime: if mime == "image/png" {
                mime
            } else {
                "image/jpeg".into()
            },
            received: 0,
            created_by: user.id.clone(),
            created_at: now,
            updated_at: now,
            expires_at: now + chrono::Duration::hours(UPLOAD_TTL_HOURS),
            device_id: device.map(str::to_owned),
        };
        store::insert_upload(c, &row)?;
        Ok(upload_state(&row, true))
    })
}

/// 409 `too_many_open_uploads` unless one more upload of `size` bytes next to unfinished ones of `open` bytes
/// stays within `max_count` uploads and `max_bytes` bytes.
fn within_bounds(
    what: &'static str,
    open: &[i64],
    size: u64,
    max_count: usize,
    max_bytes: u64,
) -> Result<(), PhotoError> {
    let count = open.len() + 1;
    let bytes = open.iter().map(|&s| s.max(0) as u64).sum::<u64>() + size;
    if count > max_count || bytes > max_bytes {
        return Err(PhotoError::TooManyUploads {
            what,
            count,
            bytes,
            max_count,
            max_bytes,
        });
    }
    Ok(())
}

/// The most expired uploads one sweep drops (a hundred per round).
const SWEEP_ROUNDS: usize = 100;

/// Drops the uploads expired at `now` (rows and files), a hundred at a time, at most [`SWEEP_ROUNDS`] hundreds
/// per call; how many it dropped. Runs on a timer ([`spawn_sweeper`]) and before each new upload.
pub fn sweep_expired(db: &Db, photos: &Photos, now: NaiveDateTime) -> Result<usize, PhotoError> {
    let mut dropped = 0;
    for _ in 0..SWEEP_ROUNDS {
        let ids = store::expired_uploads(&mut *db.reader()?, now)?;
        if ids.is_empty() {
            break;
        }
        let mut c = db.writer()?;
        let before = dropped;
        for id in ids {
            // Not while a piece is being written to it; the next sweep takes it.
            let Some(_lock) = photos.uploads.lock(&id) else {
                continue;
            };
            store::delete_upload(&mut c, &id)?;
            photos.uploads.remove(&id)?;
            dropped += 1;
        }
        if dropped == before {
            break;
        }
    }
    if dropped > 0 {
        tracing::info!(dropped, "expired photo uploads dropped");
    }
    Ok(dropped)
}

/// The background sweep of expired uploads; stops (and waits for its thread) when dropped.
#[derive(Debug)]
pub struct Sweeper {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs [`sweep_expired`] every `every` on its own thread, at the time `now` gives (the server's clock), until the
/// returned guard is dropped.
pub fn spawn_sweeper(
    db: Db,
    photos: Arc<Photos>,
    every: std::time::Duration,
    now: impl Fn() -> NaiveDateTime + Send + 'static,
) -> std::io::Result<Sweeper> {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("gridline-upload-sweep".into())
        .spawn(move || {
            loop {
                if let Err(e) = sweep_expired(&db, &photos, now()) {
                    tracing::error!(error = %e, "upload sweep failed; trying again next time");
                }
                match stopped.recv_timeout(every) {
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                    Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
        })?;
    Ok(Sweeper {
        stop: Some(stop),
        thread: Some(thread),
    })
}

fn own_upload(
    db: &Db,
    user: &Principal,
    id: &str,
    now: NaiveDateTime,
) -> Result<UploadRow, PhotoError> {
    store::upload(&mut *db.reader()?, id)?
        .filter(|u| u.created_by == user.id && u.expires_at > now)
        .ok_or_else(|| PhotoError::UploadNotFound(id.chars().take(100).collect()))
}

/// Where the user's upload `id` stands (tus `HEAD`).
pub fn upload_offset(
    db: &Db,
    user: &Principal,
    id: &str,
    now: NaiveDateTime,
) -> Result<UploadState, PhotoError> {
    let row = own_upload(db, user, id, now)?;
    Ok(upload_state(&row, false))
}

/// Appends a piece that starts at `offset` (tus `PATCH`); when it is the last, checks and stores the photo.
pub fn append(
    db: &Db,
    photos: &Photos,
    user: &Principal,
    id: &str,
    offset: u64,
    piece: &[u8],
    now: NaiveDateTime,
) -> Result<UploadState, PhotoError> {
    let Some(_lock) = photos.uploads.lock(id) else {
        return Err(PhotoError::Busy(id.to_owned()));
    };
    let row = own_upload(db, user, id, now)?;
    let (current, size) = (row.received as u64, row.size as u64);
    if offset != current {
        return Err(PhotoError::OffsetMismatch {
            current,
            given: offset,
        });
    }
    let end = offset + piece.len() as u64;
    if end > size {
        return Err(PhotoError::BeyondSize { end, size });
    }
    photos.uploads.write_at(id, offset, piece)?;
    if !store::advance_upload(&mut *db.writer()?, id, row.received, end as i64, now)? {
        // Only one request writes at a time (the lock above), so this is another server process.
        let current = store::upload(&mut *db.reader()?, id)?.map_or(0, |u| u.received as u64);
        return Err(PhotoError::OffsetMismatch {
            current,
            given: offset,
        });
    }
    if end < size {
        return Ok(UploadState {
            offset: end,
            ..upload_state(&row, false)
        });
    }
    let slot = photos.ingesting.take();
    let bytes = photos.uploads.read(id, size)?;
    let finished = finish(db, photos, user, &row, &bytes, now);
    drop((bytes, slot));
    // Stored or refused, this upload is over: a refused file is not kept, a stored one is in the store. A failure
    // of ours (disk, database) keeps it: an empty piece at the full offset tries the end again.
    if matches!(finished, Ok(_) | Err(PhotoError::Ingest(_))) {
        store::delete_upload(&mut *db.writer()?, id)?;
        photos.uploads.remove(id)?;
    }
    finished
}

fn finish(
    db: &Db,
    photos: &Photos,
    user: &Principal,
    row: &UploadRow,
    bytes: &[u8],
    now: NaiveDateTime,
) -> Result<UploadState, PhotoError> {
    let sha = parse_hash(&row.sha256)?;
    if let Some(stored) = store::photo(&mut *db.reader()?, sha.as_str())? {
        // The same bytes are stored already: checking the hash is all it takes to know the sender holds them.
        let actual = PhotoHash::of(bytes);
        if actual != sha {
            return Err(IngestError::HashMismatch {
                declared: sha.to_string(),
                actual: actual.to_string(),
            }
            .into());
        }
        store::add_holder(&mut *db.writer()?, sha.as_str(), &user.id, now)?;
        return Ok(stored_state(&stored));
    }
    let photo = ingest::ingest(bytes, &sha)?;
    // Files first, row last: a row always has its files; files without a row (a crash in between) are rewritten
    // by the next upload of the same photo.
    photos.store.put(&sha, Variant::Original, bytes)?;
    photos.store.put(&sha, Variant::Display, &photo.display)?;
    photos.store.put(&sha, Variant::Thumb, &photo.thumb)?;
    let stored = PhotoRow {
        sha256: sha.to_string(),
        size: bytes.len() as i64,
        mime: photo.format.mime().to_owned(),
        width: photo.width as i32,
        height: photo.height as i32,
        exif_lon: photo.exif.lon,
        exif_lat: photo.exif.lat,
        exif_taken_at: photo.exif.taken_at,
        uploaded_by: user.id.clone(),
        created_at: now,
        exif_unreadable: photo.exif.unreadable,
    };
    {
        let mut c = db.writer()?;
        store::insert_photo(&mut c, &stored)?;
        store::add_holder(&mut c, sha.as_str(), &user.id, now)?;
    }
    tracing::info!(sha256 = %sha, size = bytes.len(), user = %user.username, "photo stored");
    Ok(stored_state(&stored))
}

/// A stored file to send.
#[derive(Debug, Clone)]
pub struct PhotoFile {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Their MIME type.
    pub mime: String,
}

/// One variant of a stored photo: display and thumbnail for the users [`access::can_read_photo`] admits (404
/// `photo_not_found` for everyone else, as for a photo that does not exist), the original only as
/// [`access::can_read_original`] says (403 `original_forbidden` to the others who may read the photo).
pub fn read(
    db: &Db,
    photos: &Photos,
    user: &Principal,
    sha: &str,
    variant: Variant,
) -> Result<PhotoFile, PhotoError> {
    let sha = parse_hash(sha)?;
    let not_found = || PhotoError::PhotoNotFound(sha.to_string());
    let (row, access) = {
        let mut c = db.reader()?;
        let row = store::photo(&mut c, sha.as_str())?.ok_or_else(not_found)?;
        (row, Access::load(&mut c, sha.as_str(), user)?)
    };
    if !access.can_read(user) {
        return Err(not_found());
    }
    if variant == Variant::Original && !access.can_read_original(user) {
        return Err(PhotoError::OriginalForbidden);
    }
    let bytes = photos.store.read(&sha, variant)?.ok_or_else(|| {
        std::io::Error::other(format!("photo {sha}: the {variant:?} file is missing"))
    })?;
    let mime = match variant {
        Variant::Original => row.mime,
        Variant::Display | Variant::Thumb => "image/jpeg".into(),
    };
    Ok(PhotoFile { bytes, mime })
}

/// The evidence thresholds in force (policy over the defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvidencePolicy {
    /// Metres (`photos.doubtful_distance_m`).
    pub distance_m: f64,
    /// Hours (`photos.doubtful_hours`).
    pub hours: f64,
}

/// One photo a report names.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportPhoto {
    /// The photo.
    pub sha256: String,
    /// Its row, when stored.
    pub stored: Option<PhotoRow>,
    /// Metres between the photo's EXIF position and the report's point.
    pub distance_m: Option<f64>,
    /// Hours between the photo's EXIF time and the report's time.
    pub hours_apart: Option<f64>,
    /// Why it is doubtful (`exif_position_far`, `exif_time_far`, `exif_unreadable`); empty when it is not.
    pub doubts: Vec<&'static str>,
}

/// A report's photos.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportPhotos {
    /// The report.
    pub report_id: String,
    /// In the report's order.
    pub photos: Vec<ReportPhoto>,
    /// The thresholds used.
    pub policy: EvidencePolicy,
}

fn evidence_policy(c: &mut DbConnection) -> Result<EvidencePolicy, PhotoError> {
    let mut p = EvidencePolicy {
        distance_m: DOUBTFUL_DISTANCE_M,
        hours: DOUBTFUL_HOURS,
    };
    for (key, value) in crate::store::topics::policy_values(c)? {
        let Ok(v) = value.trim().parse::<f64>() else {
            continue;
        };
        match key.as_str() {
            "photos.doubtful_distance_m" => p.distance_m = v,
            "photos.doubtful_hours" => p.hours = v,
            _ => {}
        }
    }
    Ok(p)
}

/// Metres between two WGS-84 points (haversine on a sphere of the mean radius).
pub fn distance_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * a.sqrt().min(1.0).asin()
}

/// The photos report `id` names: which are stored (with the reporter's bytes) and which missing (the phone still
/// has to send them), and for each stored one whether its own EXIF puts it far from the report's point or time, or
/// could not be read (a flag for a person to look at, never a refusal). The EXIF position itself is shown only to
/// readers who may read the photo's original ([`access::can_read_original`]); others get its distance and flags.
pub fn report_photos(db: &Db, user: &Principal, id: &str) -> Result<ReportPhotos, PhotoError> {
    let not_found = || PhotoError::ReportNotFound(id.chars().take(100).collect());
    let mut c = db.reader()?;
    let report = crate::store::cases::report(&mut c, id)?.ok_or_else(not_found)?;
    let case = crate::store::cases::case(&mut c, &report.case_id)?.ok_or_else(not_found)?;
    if !access::allows(user.role, Permission::ReadCases)
        || !access::can_see_case(user, case.place_code.as_deref(), &case.topic_code)
    {
        return Err(not_found());
    }
    let shas: Vec<String> = serde_json::from_str(&report.photos).unwrap_or_default();
    // A photo counts as present once the reporter sent its bytes: a hash named in a report proves nothing, and
    // answering "present" for another person's photo would tell that it exists.
    let held = store::held_among(&mut c, &shas, &report.reporter_id)?;
    let mut rows = store::photos_among(&mut c, &shas)?;
    rows.retain(|r| held.contains(&r.sha256));
    // The EXIF position is the original's: shown only to those who may read the original.
    let mut original_readable = Vec::new();
    for r in &rows {
        if Access::load(&mut c, &r.sha256, user)?.can_read_original(user) {
            original_readable.push(r.sha256.clone());
        }
    }
    let policy = evidence_policy(&mut c)?;
    drop(c);
    let photos = shas
        .into_iter()
        .map(|sha| {
            let stored = rows.iter().find(|r| r.sha256 == sha).cloned();
            let distance_m = stored
                .as_ref()
                .and_then(|r| Some(distance_m(r.exif_lon?, r.exif_lat?, report.lon, report.lat)));
            let hours_apart = stored.as_ref().and_then(|r| {
                Some((r.exif_taken_at? - report.reported_at).num_seconds().abs() as f64 / 3600.0)
            });
            let stored = stored.map(|mut r| {
                if !original_readable.contains(&r.sha256) {
                    r.exif_lon = None;
                    r.exif_lat = None;
                }
                r
            });
            let mut doubts = Vec::new();
            if distance_m.is_some_and(|d| d > policy.distance_m) {
                doubts.push("exif_position_far");
            }
            if hours_apart.is_some_and(|h| h > policy.hours) {
                doubts.push("exif_time_far");
            }
            if stored.as_ref().is_some_and(|r| r.exif_unreadable) {
                doubts.push("exif_unreadable");
            }
            ReportPhoto {
                sha256: sha,
                stored,
                distance_m,
                hours_apart,
                doubts,
            }
        })
        .collect();
    Ok(ReportPhotos {
        report_id: report.id,
        photos,
        policy,
    })
}

#[cfg(test)]
mod tests {
    use super::Slots;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn an_ingest_waits_for_a_free_slot() {
        let slots = Slots::new(1);
        let first = slots.take();
        let (tx, rx) = mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| {
                let _second = slots.take();
                tx.send(()).unwrap();
            });
            assert!(
                rx.recv_timeout(Duration::from_millis(200)).is_err(),
                "the second ingest ran while the only slot was taken"
            );
            drop(first);
            rx.recv_timeout(Duration::from_secs(10))
                .expect("the second ingest runs once the slot is free");
        });
        // Both holders are gone: the slot was given back each time, not lost or counted twice.
        assert_eq!(*slots.free.lock().unwrap(), 1);
    }
}
