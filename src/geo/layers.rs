//! Reading and writing place layers as GeoJSON (optionally gzip-compressed), WGS-84 lon/lat.
//!
//! Writing is deterministic: the same places give the same bytes (fixed key order, coordinates as the grid
//! produced them, gzip without a timestamp). Reading never panics on bad input: every problem of a feature is
//! reported with its index and, where it has one, its code.

use crate::geo::place::{Building, Level, Place, PlaceCode};
use flate2::{Compression, GzBuilder, read::GzDecoder};
use geo::{Coord, LineString, MultiPolygon, Polygon};
use serde::Serialize;
use std::io::{Read, Write};

/// The largest layer file accepted, after decompression. The default building layer (the largest) is 31 MB; a
/// file is held in memory whole and parsed into about three times its size, so this bounds what one check or
/// import can take (a 1 MB gzip bomb used to grow the process to 2.65 GB).
pub const MAX_LAYER_BYTES: u64 = 256 << 20;

/// How much of a layer is read at most: features and vertices bound the time the checks take, bytes the memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Features in one file (the default building layer has 165,463; the cell layer 20,551).
    pub features: usize,
    /// Vertices over all features of a file (the default cell layer has about 420,000).
    pub vertices: usize,
}

impl Limits {
    /// The limits every layer file is read with.
    pub const DEFAULT: Limits = Limits {
        features: 1_000_000,
        vertices: 5_000_000,
    };
}

/// Errors of reading a layer file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayerError {
    /// The file could not be read or decompressed.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// The file is larger than [`MAX_LAYER_BYTES`] (after decompression, when gzip).
    #[error(
        "the file is larger than {} MiB{}; split it (e.g. one file per district) and check or import the parts",
        MAX_LAYER_BYTES >> 20,
        if *.gzip { " once decompressed" } else { "" }
    )]
    TooLarge {
        /// Whether the file was gzip.
        gzip: bool,
    },
    /// The file has more features than [`Limits::features`].
    #[error(
        "the file has more than {max} features; split it (e.g. one file per district) and check or import the parts"
    )]
    TooManyFeatures {
        /// The limit.
        max: usize,
    },
    /// The features have more vertices in all than [`Limits::vertices`].
    #[error(
        "the file has more than {max} vertices (the limit was passed at {feature}); simplify the outlines (e.g. \
         QGIS \"Simplify\" to 0.5 m) or split the file"
    )]
    TooManyVertices {
        /// The limit.
        max: usize,
        /// The feature at which the limit was passed, as a report names it.
        feature: String,
    },
    /// The file is not GeoJSON.
    #[error("not a GeoJSON FeatureCollection: {0}")]
    NotGeoJson(String),
}

/// Decompresses gzip data (detected by its magic bytes) and bounds the size: decompression stops one byte past
/// [`MAX_LAYER_BYTES`], so a bomb costs at most that much memory.
pub fn decode_bytes(bytes: &[u8]) -> Result<Vec<u8>, LayerError> {
    let gzip = bytes.starts_with(&[0x1f, 0x8b]);
    let mut out = Vec::new();
    if gzip {
        // Reserved once, so the buffer never doubles past the cap (a doubling copy held 2.6 times the cap at once);
        // pages never written are not resident.
        out.reserve_exact(usize::try_from(MAX_LAYER_BYTES + 1).unwrap_or(usize::MAX));
        GzDecoder::new(bytes)
            .take(MAX_LAYER_BYTES + 1)
            .read_to_end(&mut out)?;
    } else if bytes.len() as u64 <= MAX_LAYER_BYTES {
        out = bytes.to_vec();
    }
    if out.len() as u64 > MAX_LAYER_BYTES || bytes.len() as u64 > MAX_LAYER_BYTES && !gzip {
        return Err(LayerError::TooLarge { gzip });
    }
    Ok(out)
}

/// One feature of a user's file, before validation.
#[derive(Debug, Clone)]
pub struct RawFeature {
    /// Position in the file, from 0.
    pub index: usize,
    /// The `code` property (string or integer), or the feature id.
    pub code: Option<String>,
    /// The `name` property.
    pub name: Option<String>,
    /// The `parent` property, if given.
    pub parent: Option<String>,
    /// The outline, or why it could not be read as a (multi)polygon.
    pub geometry: Result<MultiPolygon<f64>, String>,
}

impl RawFeature {
    /// How a report names this feature: its code if it has one, else its position.
    pub fn label(&self) -> String {
        match &self.code {
            Some(c) => c.clone(),
            None => format!("feature #{}", self.index),
        }
    }
}

fn prop_string(v: Option<&serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses the features of a FeatureCollection (polygon layers) within [`Limits::DEFAULT`].
pub fn parse_features(bytes: &[u8]) -> Result<Vec<RawFeature>, LayerError> {
    parse_features_within(bytes, Limits::DEFAULT)
}

/// The vertices of a geometry as GeoJSON gives them (0 for anything but polygons).
fn vertex_count(g: Option<&geojson::Geometry>) -> usize {
    match g.map(|g| &g.value) {
        Some(geojson::GeometryValue::Polygon { coordinates }) => {
            coordinates.iter().map(Vec::len).sum()
        }
        Some(geojson::GeometryValue::MultiPolygon { coordinates }) => coordinates
            .iter()
            .flat_map(|p| p.iter().map(Vec::len))
            .sum(),
        _ => 0,
    }
}

/// Refuses a collection with more features than `limits` allows.
fn check_feature_count(fc: &geojson::FeatureCollection, limits: Limits) -> Result<(), LayerError> {
    if fc.features.len() > limits.features {
        return Err(LayerError::TooManyFeatures {
            max: limits.features,
        });
    }
    Ok(())
}

/// [`parse_features`] with limits of the caller's choosing: more features or vertices than `limits` allows is an
/// error naming the limit, before any geometry is converted or checked.
pub fn parse_features_within(bytes: &[u8], limits: Limits) -> Result<Vec<RawFeature>, LayerError> {
    let fc: geojson::FeatureCollection =
        serde_json::from_slice(bytes).map_err(|e| LayerError::NotGeoJson(e.to_string()))?;
    check_feature_count(&fc, limits)?;
    let mut vertices = 0usize;
    for (index, f) in fc.features.iter().enumerate() {
        vertices = vertices.saturating_add(vertex_count(f.geometry.as_ref()));
        if vertices > limits.vertices {
            let code = prop_string(f.properties.as_ref().and_then(|p| p.get("code")));
            return Err(LayerError::TooManyVertices {
                max: limits.vertices,
                feature: code.unwrap_or_else(|| format!("feature #{index}")),
            });
        }
    }
    Ok(fc
        .features
        .into_iter()
        .enumerate()
        .map(|(index, f)| {
            let props = f.properties.as_ref();
            let code = prop_string(props.and_then(|p| p.get("code"))).or_else(|| match &f.id {
                Some(geojson::feature::Id::String(s)) => Some(s.clone()),
                Some(geojson::feature::Id::Number(n)) => Some(n.to_string()),
                None => None,
            });
            let geometry = match &f.geometry {
                None => Err("the feature has no geometry".to_owned()),
                Some(g) => match &g.value {
                    geojson::GeometryValue::Polygon { .. } => Polygon::<f64>::try_from(&g.value)
                        .map(|p| MultiPolygon::new(vec![p]))
                        .map_err(|e| e.to_string()),
                    geojson::GeometryValue::MultiPolygon { .. } => {
                        MultiPolygon::<f64>::try_from(&g.value).map_err(|e| e.to_string())
                    }
                    _ => Err("the geometry is not a Polygon or MultiPolygon".to_owned()),
                },
            };
            RawFeature {
                index,
                code,
                name: prop_string(props.and_then(|p| p.get("name"))),
                parent: prop_string(props.and_then(|p| p.get("parent"))),
                geometry,
            }
        })
        .collect())
}

/// Parses a building layer (Point features with `code`, `name`, `cell`, `households`).
pub fn parse_buildings(bytes: &[u8]) -> Result<Vec<Building>, LayerError> {
    let fc: geojson::FeatureCollection =
        serde_json::from_slice(bytes).map_err(|e| LayerError::NotGeoJson(e.to_string()))?;
    check_feature_count(&fc, Limits::DEFAULT)?;
    let mut out = Vec::with_capacity(fc.features.len());
    for (k, f) in fc.features.into_iter().enumerate() {
        let bad = |what: &str| LayerError::NotGeoJson(format!("building #{k}: {what}"));
        let props = f.properties.as_ref().ok_or_else(|| bad("no properties"))?;
        let cell = prop_string(props.get("cell"))
            .and_then(|c| PlaceCode::parse(&c))
            .ok_or_else(|| bad("bad cell"))?;
        if cell.1 != Level::Cell {
            return Err(bad("cell is not a 15-digit cell code"));
        }
        let (lon, lat) = match f.geometry.as_ref().map(|g| &g.value) {
            Some(geojson::GeometryValue::Point { coordinates }) if coordinates.len() >= 2 => {
                (coordinates[0], coordinates[1])
            }
            _ => return Err(bad("not a Point")),
        };
        out.push(Building {
            code: prop_string(props.get("code")).ok_or_else(|| bad("no code"))?,
            name: prop_string(props.get("name")).unwrap_or_default(),
            cell: cell.0,
            households: props
                .get("households")
                .and_then(|v| v.as_u64())
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0),
            lon,
            lat,
        });
    }
    Ok(out)
}

#[derive(Serialize)]
struct FeatureOut<P: Serialize> {
    r#type: &'static str,
    properties: P,
    geometry: GeometryOut,
}

#[derive(Serialize)]
struct PlaceProps<'a> {
    code: &'a str,
    name: &'a str,
    level: Level,
    parent: Option<&'a str>,
}

#[derive(Serialize)]
struct BuildingProps<'a> {
    code: &'a str,
    name: &'a str,
    cell: &'a str,
    households: u32,
}

/// A GeoJSON geometry as gridline writes it.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(tag = "type", content = "coordinates")]
pub enum GeometryOut {
    /// A point.
    Point([f64; 2]),
    /// A polygon: rings of positions.
    Polygon(Vec<Vec<[f64; 2]>>),
    /// A multipolygon.
    MultiPolygon(Vec<Vec<Vec<[f64; 2]>>>),
}

fn rings(p: &Polygon<f64>) -> Vec<Vec<[f64; 2]>> {
    std::iter::once(p.exterior())
        .chain(p.interiors())
        .map(|r| r.0.iter().map(|c| [c.x, c.y]).collect())
        .collect()
}

impl GeometryOut {
    /// A Polygon when there is one part, else a MultiPolygon.
    pub fn from_multipolygon(mp: &MultiPolygon<f64>) -> GeometryOut {
        if mp.0.len() == 1 {
            GeometryOut::Polygon(rings(&mp.0[0]))
        } else {
            GeometryOut::MultiPolygon(mp.0.iter().map(rings).collect())
        }
    }
}

/// Parses a geometry as [`GeometryOut`] writes it (stored geometry; never user input).
pub fn multipolygon_from_json(text: &str) -> Result<MultiPolygon<f64>, String> {
    let g: geojson::Geometry = text.parse().map_err(|e: geojson::Error| e.to_string())?;
    match &g.value {
        geojson::GeometryValue::Polygon { .. } => {
            Polygon::<f64>::try_from(&g.value).map(|p| MultiPolygon::new(vec![p]))
        }
        _ => MultiPolygon::<f64>::try_from(&g.value),
    }
    .map_err(|e| e.to_string())
}

/// Serialises a geometry for storage.
pub fn multipolygon_to_json(mp: &MultiPolygon<f64>) -> String {
    serde_json::to_string(&GeometryOut::from_multipolygon(mp)).unwrap_or_default()
}

fn write_collection<W: Write, T>(
    mut w: W,
    items: &[T],
    mut one: impl FnMut(&mut W, &T) -> std::io::Result<()>,
) -> std::io::Result<()> {
    w.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")?;
    for (k, item) in items.iter().enumerate() {
        if k > 0 {
            w.write_all(b",\n")?;
        }
        one(&mut w, item)?;
    }
    w.write_all(b"\n]}\n")
}

/// Writes places as a FeatureCollection, one feature per line.
pub fn write_places<W: Write>(w: W, places: &[Place]) -> std::io::Result<()> {
    write_collection(w, places, |w, p| {
        let f = FeatureOut {
            r#type: "Feature",
            properties: PlaceProps {
                code: p.code.as_str(),
                name: &p.name,
                level: p.level,
                parent: p.parent.as_ref().map(PlaceCode::as_str),
            },
            geometry: GeometryOut::from_multipolygon(&p.geometry),
        };
        serde_json::to_writer(w, &f).map_err(std::io::Error::other)
    })
}

/// Writes buildings as a FeatureCollection of points.
pub fn write_buildings<W: Write>(w: W, buildings: &[Building]) -> std::io::Result<()> {
    write_collection(w, buildings, |w, b| {
        let f = FeatureOut {
            r#type: "Feature",
            properties: BuildingProps {
                code: &b.code,
                name: &b.name,
                cell: b.cell.as_str(),
                households: b.households,
            },
            geometry: GeometryOut::Point([b.lon, b.lat]),
        };
        serde_json::to_writer(w, &f).map_err(std::io::Error::other)
    })
}

/// Gzip-compresses deterministically (no file name, no timestamp).
pub fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::best());
    enc.write_all(data)?;
    enc.finish()
}

/// Builds a closed ring from coordinates (a helper for tests and generators).
pub fn ring(coords: &[(f64, f64)]) -> LineString<f64> {
    let mut v: Vec<Coord<f64>> = coords.iter().map(|&(x, y)| Coord { x, y }).collect();
    if v.first() != v.last()
        && let Some(&c) = v.first()
    {
        v.push(c);
    }
    LineString::new(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A collection of `n` small squares, each with its code.
    fn squares(n: usize) -> Vec<u8> {
        let features: Vec<serde_json::Value> = (0..n)
            .map(|k| {
                let x = 116.4 + k as f64 * 0.001;
                serde_json::json!({
                    "type": "Feature",
                    "properties": {"code": format!("110105001001{:03}", k + 1)},
                    "geometry": {"type": "Polygon", "coordinates": [[
                        [x, 39.9], [x + 0.001, 39.9], [x + 0.001, 39.901], [x, 39.901], [x, 39.9]
                    ]]}
                })
            })
            .collect();
        serde_json::to_vec(&serde_json::json!({"type": "FeatureCollection", "features": features}))
            .unwrap()
    }

    #[test]
    fn a_file_within_the_limits_is_read_whole() {
        let limits = Limits {
            features: 3,
            vertices: 15,
        };
        assert_eq!(parse_features_within(&squares(3), limits).unwrap().len(), 3);
    }

    #[test]
    fn more_features_than_the_limit_are_refused_with_the_limit() {
        let limits = Limits {
            features: 3,
            vertices: 1_000,
        };
        let e = parse_features_within(&squares(4), limits).unwrap_err();
        assert!(matches!(e, LayerError::TooManyFeatures { max: 3 }), "{e:?}");
        assert!(e.to_string().contains("more than 3 features"), "{e}");
    }

    #[test]
    fn more_vertices_than_the_limit_are_refused_naming_where_it_was_passed() {
        let limits = Limits {
            features: 100,
            vertices: 12,
        };
        let e = parse_features_within(&squares(3), limits).unwrap_err();
        assert!(
            e.to_string()
                .contains("more than 12 vertices (the limit was passed at 110105001001003)"),
            "{e}"
        );
    }

    #[test]
    fn a_gzip_bomb_stops_decompressing_at_the_cap() {
        let mut gz = GzBuilder::new().write(Vec::new(), Compression::fast());
        let block = vec![b' '; 1 << 20];
        for _ in 0..(MAX_LAYER_BYTES >> 20) + 1 {
            gz.write_all(&block).unwrap();
        }
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 2 << 20, "{} bytes", bomb.len());
        let e = decode_bytes(&bomb).unwrap_err();
        assert!(matches!(e, LayerError::TooLarge { gzip: true }), "{e:?}");
        assert!(e.to_string().contains("once decompressed"), "{e}");
    }
}
