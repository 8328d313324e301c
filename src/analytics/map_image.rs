//! PNG maps drawn in process (the monthly report's choropleth and hot spot maps): WGS-84 polygons projected
//! equirectangularly (longitude scaled by the cosine of the middle latitude, so shapes look right in Beijing),
//! filled with tiny-skia, with borders, overlays, round marks and a legend. No fonts are needed: labels are digits
//! drawn from a built-in 5×7 bitmap font (names belong in the HTML beside the image).
//!
//! How it draws:
//! 1. Every region's polygons are filled (without anti-aliasing, so neighbours never leave a seam) into an *id
//!    raster*: each pixel learns which region covers it.
//! 2. Each pixel takes its region's colour; a pixel whose right or lower neighbour belongs to another region is a
//!    border: dark between regions of different groups (districts) or against the outside, light inside a group.
//! 3. Overlays (hot spot clusters) are filled over that, then marks (circles with a number) and the legend
//!    (colour swatches with their ranges).
//!
//! Bounds: the width is 64–4,096 pixels and the height at most 4,096 (a very tall place is drawn narrower); at most
//! 2^24 − 1 regions.

use geo::{BoundingRect, Polygon};
use tiny_skia::{FillRule, Paint, PathBuilder, Pixmap, Transform};

/// The narrowest and widest image drawn.
pub const WIDTH_RANGE: std::ops::RangeInclusive<u32> = 64..=4096;
/// The tallest image drawn.
pub const MAX_HEIGHT: u32 = 4096;
const MARGIN: f32 = 12.0;
const LEGEND_ROW: u32 = 22;

/// An opaque colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb`, as HTML writes it.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// The background outside every region.
pub const BACKGROUND: Rgb = Rgb(255, 255, 255);
/// Borders between groups and against the outside.
pub const STRONG_BORDER: Rgb = Rgb(60, 60, 60);
/// Borders between regions of one group.
pub const LIGHT_BORDER: Rgb = Rgb(170, 170, 170);

/// How one region is painted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionStyle {
    /// Fill.
    pub fill: Rgb,
    /// Regions of one group are separated by light borders, groups by dark ones.
    pub group: u32,
}

/// Polygons filled over the regions in one colour.
#[derive(Debug, Clone)]
pub struct Overlay<'a> {
    /// The polygons.
    pub polygons: Vec<&'a Polygon<f64>>,
    /// Their fill.
    pub fill: Rgb,
}

/// A round mark with a number beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Digits (other characters are drawn as gaps).
    pub label: String,
}

/// What to draw.
#[derive(Debug, Clone)]
pub struct MapSpec<'a> {
    /// Image width in pixels.
    pub width: u32,
    /// Each polygon with the region (index into `styles`) it belongs to.
    pub shapes: Vec<(&'a Polygon<f64>, usize)>,
    /// The regions' styles.
    pub styles: Vec<RegionStyle>,
    /// Drawn over the regions, in order.
    pub overlays: Vec<Overlay<'a>>,
    /// Marks, drawn last.
    pub marks: Vec<Mark>,
    /// Legend rows: a swatch and its label (digits and `-`, `+`, `.`, `%`).
    pub legend: Vec<(Rgb, String)>,
}

/// Why a map could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MapError {
    /// Nothing to draw.
    #[error("the map has no polygon to draw")]
    Empty,
    /// The width is outside [`WIDTH_RANGE`].
    #[error("a map is 64 to 4096 pixels wide, not {0}")]
    Width(u32),
    /// More regions than the id raster can tell apart.
    #[error("a map holds at most 16,777,215 regions, not {0}")]
    TooManyRegions(usize),
    /// A shape names a region that has no style.
    #[error("a shape names region {0}, which has no style")]
    NoStyle(usize),
    /// The PNG could not be written.
    #[error("the PNG could not be written: {0}")]
    Encode(String),
}

/// The projection of the map's box onto the image.
#[derive(Debug, Clone, Copy)]
struct Frame {
    min_lon: f64,
    max_lat: f64,
    scale: f64,
    kx: f64,
    width: u32,
    map_height: u32,
}

impl Frame {
    fn new(polygons: impl Iterator<Item = geo::Rect<f64>>, width: u32) -> Option<Frame> {
        let mut b: Option<(f64, f64, f64, f64)> = None;
        for r in polygons {
            let (x0, y0, x1, y1) = (r.min().x, r.min().y, r.max().x, r.max().y);
            b = Some(match b {
                None => (x0, y0, x1, y1),
                Some((a, b2, c, d)) => (a.min(x0), b2.min(y0), c.max(x1), d.max(y1)),
            });
        }
        let (min_lon, min_lat, max_lon, max_lat) = b?;
        let kx = ((min_lat + max_lat) / 2.0).to_radians().cos().max(0.01);
        let dx = ((max_lon - min_lon) * kx).max(1e-9);
        let dy = (max_lat - min_lat).max(1e-9);
        let inner = f64::from(width) - 2.0 * f64::from(MARGIN);
        let mut scale = inner / dx;
        if dy * scale > f64::from(MAX_HEIGHT) - 200.0 {
            scale = (f64::from(MAX_HEIGHT) - 200.0) / dy;
        }
        Some(Frame {
            min_lon,
            max_lat,
            scale,
            kx,
            width,
            map_height: (dy * scale + 2.0 * f64::from(MARGIN)).ceil() as u32,
        })
    }

    fn project(&self, lon: f64, lat: f64) -> (f32, f32) {
        (
            (f64::from(MARGIN) + (lon - self.min_lon) * self.kx * self.scale) as f32,
            (f64::from(MARGIN) + (self.max_lat - lat) * self.scale) as f32,
        )
    }

    fn path(&self, p: &Polygon<f64>) -> Option<tiny_skia::Path> {
        let mut pb = PathBuilder::new();
        for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
            let mut first = true;
            for c in ring.coords() {
                let (x, y) = self.project(c.x, c.y);
                if first {
                    pb.move_to(x, y);
                    first = false;
                } else {
                    pb.line_to(x, y);
                }
            }
            pb.close();
        }
        pb.finish()
    }
}

fn paint(c: Rgb, anti_alias: bool) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color_rgba8(c.0, c.1, c.2, 255);
    p.anti_alias = anti_alias;
    p
}

/// Draws `spec` and answers the PNG bytes.
pub fn draw(spec: &MapSpec<'_>) -> Result<Vec<u8>, MapError> {
    if !WIDTH_RANGE.contains(&spec.width) {
        return Err(MapError::Width(spec.width));
    }
    if spec.styles.len() >= (1 << 24) - 1 {
        return Err(MapError::TooManyRegions(spec.styles.len()));
    }
    if let Some((_, r)) = spec.shapes.iter().find(|(_, r)| *r >= spec.styles.len()) {
        return Err(MapError::NoStyle(*r));
    }
    let frame = Frame::new(
        spec.shapes.iter().filter_map(|(p, _)| p.bounding_rect()),
        spec.width,
    )
    .ok_or(MapError::Empty)?;
    let legend_height = if spec.legend.is_empty() {
        0
    } else {
        LEGEND_ROW * spec.legend.len() as u32 + 8
    };
    let (w, h) = (frame.width, frame.map_height + legend_height);
    let mut ids = Pixmap::new(w, h).ok_or(MapError::Empty)?;
    // 1. The id raster: region k is colour k + 1 (0 is the outside).
    for (poly, region) in &spec.shapes {
        let id = *region as u32 + 1;
        let c = Rgb(
            (id & 0xff) as u8,
            ((id >> 8) & 0xff) as u8,
            ((id >> 16) & 0xff) as u8,
        );
        if let Some(path) = frame.path(poly) {
            ids.fill_path(
                &path,
                &paint(c, false),
                FillRule::EvenOdd,
                Transform::identity(),
                None,
            );
        }
    }
    let id_at = |px: &[tiny_skia::PremultipliedColorU8], i: usize| -> u32 {
        let p = px[i];
        if p.alpha() == 0 {
            0
        } else {
            u32::from(p.red()) | (u32::from(p.green()) << 8) | (u32::from(p.blue()) << 16)
        }
    };
    // 2. Colours and borders.
    let mut out = Pixmap::new(w, h).ok_or(MapError::Empty)?;
    {
        let src = ids.pixels();
        let (wu, hu) = (w as usize, h as usize);
        let mut rgba = vec![0u8; wu * hu * 4];
        for y in 0..hu {
            for x in 0..wu {
                let i = y * wu + x;
                let me = id_at(src, i);
                let mut colour = if me == 0 {
                    BACKGROUND
                } else {
                    spec.styles[me as usize - 1].fill
                };
                let group = |id: u32| (id != 0).then(|| spec.styles[id as usize - 1].group);
                for j in [
                    (x + 1 < wu).then_some(i + 1),
                    (y + 1 < hu).then_some(i + wu),
                ]
                .into_iter()
                .flatten()
                {
                    let other = id_at(src, j);
                    if other != me {
                        if group(other) != group(me) {
                            colour = STRONG_BORDER;
                            break;
                        }
                        colour = LIGHT_BORDER;
                    }
                }
                rgba[i * 4..i * 4 + 4].copy_from_slice(&[colour.0, colour.1, colour.2, 255]);
            }
        }
        out.data_mut().copy_from_slice(&rgba);
    }
    // 3. Overlays, marks and the legend.
    for o in &spec.overlays {
        let pnt = paint(o.fill, false);
        for poly in &o.polygons {
            if let Some(path) = frame.path(poly) {
                out.fill_path(&path, &pnt, FillRule::EvenOdd, Transform::identity(), None);
            }
        }
    }
    for m in &spec.marks {
        let (x, y) = frame.project(m.lon, m.lat);
        if let Some(c) = PathBuilder::from_circle(x, y, 6.0) {
            out.fill_path(
                &c,
                &paint(Rgb(20, 20, 20), true),
                FillRule::Winding,
                Transform::identity(),
                None,
            );
        }
        if let Some(c) = PathBuilder::from_circle(x, y, 3.5) {
            out.fill_path(
                &c,
                &paint(Rgb(255, 255, 255), true),
                FillRule::Winding,
                Transform::identity(),
                None,
            );
        }
        text(
            &mut out,
            x as i32 + 9,
            y as i32 - 7,
            &m.label,
            Rgb(20, 20, 20),
        );
    }
    for (k, (c, label)) in spec.legend.iter().enumerate() {
        let y = frame.map_height + 4 + LEGEND_ROW * k as u32;
        if let Some(r) = tiny_skia::Rect::from_xywh(MARGIN, y as f32, 28.0, 16.0) {
            out.fill_rect(r, &paint(STRONG_BORDER, false), Transform::identity(), None);
        }
        if let Some(r) = tiny_skia::Rect::from_xywh(MARGIN + 1.0, y as f32 + 1.0, 26.0, 14.0) {
            out.fill_rect(r, &paint(*c, false), Transform::identity(), None);
        }
        text(
            &mut out,
            MARGIN as i32 + 38,
            y as i32 + 1,
            label,
            Rgb(20, 20, 20),
        );
    }
    out.encode_png()
        .map_err(|e| MapError::Encode(e.to_string()))
}

/// Rows of a 5×7 glyph, top first, the leftmost pixel in bit 4.
fn glyph(c: char) -> Option<[u8; 7]> {
    Some(match c {
        '0' => [14, 17, 19, 21, 25, 17, 14],
        '1' => [4, 12, 4, 4, 4, 4, 14],
        '2' => [14, 17, 1, 2, 4, 8, 31],
        '3' => [31, 2, 4, 2, 1, 17, 14],
        '4' => [2, 6, 10, 18, 31, 2, 2],
        '5' => [31, 16, 30, 1, 1, 17, 14],
        '6' => [6, 8, 16, 30, 17, 17, 14],
        '7' => [31, 1, 2, 4, 8, 8, 8],
        '8' => [14, 17, 17, 14, 17, 17, 14],
        '9' => [14, 17, 17, 15, 1, 2, 12],
        '-' => [0, 0, 0, 31, 0, 0, 0],
        '+' => [0, 4, 4, 31, 4, 4, 0],
        '.' => [0, 0, 0, 0, 0, 12, 12],
        '%' => [24, 25, 2, 4, 8, 19, 3],
        _ => return None,
    })
}

/// Writes `s` with its top-left corner at (`x`, `y`), each font pixel 2×2, clipped to the image.
fn text(img: &mut Pixmap, x: i32, y: i32, s: &str, c: Rgb) {
    let (w, h) = (img.width() as i32, img.height() as i32);
    let px = img.pixels_mut();
    let colour = tiny_skia::ColorU8::from_rgba(c.0, c.1, c.2, 255).premultiply();
    for (k, ch) in s.chars().enumerate() {
        let Some(rows) = glyph(ch) else { continue };
        let gx = x + 12 * k as i32;
        for (ry, bits) in rows.iter().enumerate() {
            for rx in 0..5 {
                if bits & (1 << (4 - rx)) == 0 {
                    continue;
                }
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let (px_x, px_y) = (gx + 2 * rx + dx, y + 2 * ry as i32 + dy);
                    if (0..w).contains(&px_x) && (0..h).contains(&px_y) {
                        px[(px_y * w + px_x) as usize] = colour;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn square(x: f64, y: f64) -> Polygon<f64> {
        polygon![(x: x, y: y), (x: x + 0.01, y: y), (x: x + 0.01, y: y + 0.01), (x: x, y: y + 0.01)]
    }

    fn decode(png: &[u8]) -> image::RgbaImage {
        image::load_from_memory_with_format(png, image::ImageFormat::Png)
            .unwrap()
            .to_rgba8()
    }

    #[test]
    fn regions_take_their_colours_with_borders_between_groups() {
        let (a, b, c) = (
            square(116.0, 40.0),
            square(116.01, 40.0),
            square(116.02, 40.0),
        );
        let red = Rgb(200, 0, 0);
        let blue = Rgb(0, 0, 200);
        let spec = MapSpec {
            width: 320,
            shapes: vec![(&a, 0), (&b, 1), (&c, 2)],
            styles: vec![
                RegionStyle {
                    fill: red,
                    group: 1,
                },
                RegionStyle {
                    fill: red,
                    group: 1,
                },
                RegionStyle {
                    fill: blue,
                    group: 2,
                },
            ],
            overlays: Vec::new(),
            marks: vec![Mark {
                lon: 116.005,
                lat: 40.005,
                label: "12".into(),
            }],
            legend: vec![(red, "1-5".into()), (blue, "6+".into())],
        };
        let img = decode(&draw(&spec).unwrap());
        assert_eq!(img.width(), 320);
        // Three squares side by side: about 1/3 as tall as wide, plus the legend.
        assert!(img.height() > 150 && img.height() < 260, "{}", img.height());
        let count = |c: Rgb| img.pixels().filter(|p| p.0 == [c.0, c.1, c.2, 255]).count();
        assert!(count(red) > count(blue), "two red squares, one blue");
        assert!(count(blue) > 5_000);
        assert!(count(STRONG_BORDER) > 0 && count(LIGHT_BORDER) > 0);
        let mid = img.height() / 3;
        // Left of the light border red, right of the strong one blue.
        assert_eq!(img.get_pixel(20, mid).0, [200, 0, 0, 255]);
        assert_eq!(img.get_pixel(300, mid).0, [0, 0, 200, 255]);
    }

    #[test]
    fn bad_specs_are_refused() {
        let a = square(116.0, 40.0);
        let spec = |width, region| MapSpec {
            width,
            shapes: vec![(&a, region)],
            styles: vec![RegionStyle {
                fill: BACKGROUND,
                group: 0,
            }],
            overlays: Vec::new(),
            marks: Vec::new(),
            legend: Vec::new(),
        };
        assert_eq!(draw(&spec(10, 0)), Err(MapError::Width(10)));
        assert_eq!(draw(&spec(100, 1)), Err(MapError::NoStyle(1)));
        let mut empty = spec(100, 0);
        empty.shapes.clear();
        assert_eq!(draw(&empty), Err(MapError::Empty));
    }
}
