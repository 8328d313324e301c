//! Checking a building layer (`geodata import FILE --level building`): points with `code`, `name`, `cell` and
//! `households`, each inside the stored cell it names.
//!
//! Guarantees: never panics; reports every problem with the building's code (or position), in file order.

use crate::geo::place::{Building, Level, Place, PlaceCode};
use crate::geo::validate::Problem;
use geo::{CoordinatePosition, coordinate_position::CoordPos};
use std::collections::{HashMap, HashSet};

/// The most households one building may have (a large estate block has a few hundred).
pub const MAX_HOUSEHOLDS: u64 = 10_000;

fn problem(feature: String, kind: &'static str, message: String) -> Problem {
    Problem {
        feature,
        kind,
        message,
    }
}

/// Reads building features leniently (every bad feature becomes a problem, not an error) and checks each
/// against `cells`. Returns the buildings that passed and every problem.
pub fn check(bytes: &[u8], cells: &[Place]) -> (Vec<Building>, Vec<Problem>) {
    let fc: geojson::FeatureCollection = match serde_json::from_slice(bytes) {
        Ok(fc) => fc,
        Err(e) => {
            return (
                Vec::new(),
                vec![problem(
                    "file".into(),
                    "not_geojson",
                    format!("not a GeoJSON FeatureCollection: {e}"),
                )],
            );
        }
    };
    let limits = crate::geo::layers::Limits::DEFAULT;
    if fc.features.len() > limits.features {
        let e = crate::geo::layers::LayerError::TooManyFeatures {
            max: limits.features,
        };
        return (
            Vec::new(),
            vec![problem("file".into(), "too_many_features", e.to_string())],
        );
    }
    let by_code: HashMap<&str, &Place> = cells
        .iter()
        .filter(|c| c.level == Level::Cell)
        .map(|c| (c.code.as_str(), c))
        .collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut problems = Vec::new();
    if fc.features.is_empty() {
        problems.push(problem(
            "file".into(),
            "empty_file",
            "the file has no features".into(),
        ));
    }
    for (k, f) in fc.features.iter().enumerate() {
        let props = f.properties.as_ref();
        let text = |key: &str| {
            props.and_then(|p| p.get(key)).and_then(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .or_else(|| v.as_u64().map(|n| n.to_string()))
            })
        };
        let code = text("code");
        let label = code.clone().unwrap_or_else(|| format!("feature #{k}"));
        let before = problems.len();
        let mut report = |kind: &'static str, message: String| {
            problems.push(problem(label.clone(), kind, message))
        };
        match &code {
            None => report("missing_code", "the building has no `code` property".into()),
            Some(c) if !seen.insert(c.clone()) => report(
                "duplicate_code",
                format!("the code {c} appears more than once"),
            ),
            Some(_) => {}
        }
        let cell = match text("cell").as_deref().and_then(PlaceCode::parse) {
            Some((c, Level::Cell)) => by_code.get(c.as_str()).copied().or_else(|| {
                report("parent_missing", format!("the cell {c} does not exist"));
                None
            }),
            _ => {
                report(
                    "malformed_code",
                    "`cell` must be the 15-digit code of a grid cell".into(),
                );
                None
            }
        };
        let households = match props
            .and_then(|p| p.get("households"))
            .and_then(serde_json::Value::as_u64)
        {
            Some(h) if h <= MAX_HOUSEHOLDS => Some(h as u32),
            _ => {
                report(
                    "invalid_households",
                    format!("`households` must be a whole number from 0 to {MAX_HOUSEHOLDS}"),
                );
                None
            }
        };
        let point = match f.geometry.as_ref().map(|g| &g.value) {
            Some(geojson::GeometryValue::Point { coordinates }) if coordinates.len() >= 2 => {
                let (lon, lat) = (coordinates[0], coordinates[1]);
                if !(lon.is_finite() && lat.is_finite()) || lon.abs() > 180.0 || lat.abs() > 90.0 {
                    report(
                        "not_lon_lat",
                        format!("({lon}, {lat}) is not a WGS-84 longitude/latitude"),
                    );
                    None
                } else {
                    Some((lon, lat))
                }
            }
            _ => {
                report("invalid_geometry", "a building must be a Point".into());
                None
            }
        };
        if let (Some(cell), Some((lon, lat))) = (cell, point)
            && cell
                .geometry
                .coordinate_position(&geo::coord! { x: lon, y: lat })
                == CoordPos::Outside
        {
            report(
                "not_within_parent",
                format!("({lon}, {lat}) is outside its cell {}", cell.code),
            );
        }
        if problems.len() == before
            && let (Some(code), Some(cell), Some(households), Some((lon, lat))) =
                (code, cell, households, point)
        {
            out.push(Building {
                code,
                name: text("name").unwrap_or_default(),
                cell: cell.code.clone(),
                households,
                lon,
                lat,
            });
        }
    }
    (out, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{MultiPolygon, polygon};

    fn cell() -> Place {
        let code = PlaceCode::parse("110101001001001").unwrap().0;
        Place {
            parent: code.parent(),
            code,
            name: "网格".into(),
            level: Level::Cell,
            geometry: MultiPolygon::new(vec![
                polygon![(x: 116.40, y: 39.90), (x: 116.41, y: 39.90), (x: 116.41, y: 39.91), (x: 116.40, y: 39.91)],
            ]),
        }
    }

    fn feature(code: &str, cell: &str, households: i64, lon: f64, lat: f64) -> serde_json::Value {
        serde_json::json!({"type": "Feature", "properties": {"code": code, "name": "1号楼", "cell": cell, "households": households},
            "geometry": {"type": "Point", "coordinates": [lon, lat]}})
    }

    #[test]
    fn good_buildings_pass_and_each_bad_one_names_its_problem() {
        let fc = serde_json::json!({"type": "FeatureCollection", "features": [
            feature("110101001001001001", "110101001001001", 120, 116.405, 39.905),
            feature("110101001001001001", "110101001001001", 10, 116.405, 39.905),
            feature("110101001001001002", "110101001001999", 10, 116.405, 39.905),
            feature("110101001001001003", "110101001001001", -1, 116.405, 39.905),
            feature("110101001001001004", "110101001001001", 10, 116.5, 39.905),
            feature("110101001001001005", "1101", 10, 116.405, 39.905),
        ]});
        let (ok, problems) = check(&serde_json::to_vec(&fc).unwrap(), &[cell()]);
        assert_eq!(ok.len(), 1);
        let kinds: Vec<&str> = problems.iter().map(|p| p.kind).collect();
        assert_eq!(
            kinds,
            [
                "duplicate_code",
                "parent_missing",
                "invalid_households",
                "not_within_parent",
                "malformed_code"
            ]
        );
    }
}
