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

/// The largest layer file accepted, after decompression.
pub const MAX_LAYER_BYTES: u64 = 1 << 30;

/// Errors of reading a layer file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayerError {
    /// The file could not be read or decompressed.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// The file is larger than [`MAX_LAYER_BYTES`].
    #[error("the file is larger than {} MiB", MAX_LAYER_BYTES >> 20)]
    TooLarge,
    /// The file is not GeoJSON.
    #[error("not a GeoJSON FeatureCollection: {0}")]
    NotGeoJson(String),
}

/// Decompresses gzip data (detected by its magic bytes) and bounds the size.
pub fn decode_bytes(bytes: &[u8]) -> Result<Vec<u8>, LayerError> {
    let mut out = Vec::new();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        GzDecoder::new(bytes)
            .take(MAX_LAYER_BYTES + 1)
            .read_to_end(&mut out)?;
    } else {
        out = bytes.to_vec();
    }
    if out.len() as u64 > MAX_LAYER_BYTES {
        return Err(LayerError::TooLarge);
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

/// Parses the features of a FeatureCollection (polygon layers).
pub fn parse_features(bytes: &[u8]) -> Result<Vec<RawFeature>, LayerError> {
    let fc: geojson::FeatureCollection =
        serde_json::from_slice(bytes).map_err(|e| LayerError::NotGeoJson(e.to_string()))?;
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
