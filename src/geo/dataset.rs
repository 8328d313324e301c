//! The default Beijing dataset, embedded in the binary so that a fresh server needs no files beside it.
//!
//! The bytes are what `gridline geodata build` wrote into `geodata/beijing/` (gzip GeoJSON, WGS-84).

use crate::geo::layers::{self, LayerError};
use crate::geo::place::{Building, Level, Place, PlaceCode};

/// The layers of the default dataset, from the city down.
pub const LAYERS: [(Level, &[u8]); 5] = [
    (
        Level::City,
        include_bytes!("../../geodata/beijing/city.geojson.gz"),
    ),
    (
        Level::District,
        include_bytes!("../../geodata/beijing/district.geojson.gz"),
    ),
    (
        Level::Street,
        include_bytes!("../../geodata/beijing/street.geojson.gz"),
    ),
    (
        Level::Community,
        include_bytes!("../../geodata/beijing/community.geojson.gz"),
    ),
    (
        Level::Cell,
        include_bytes!("../../geodata/beijing/cell.geojson.gz"),
    ),
];

/// The building points of the default dataset.
pub const BUILDINGS: &[u8] = include_bytes!("../../geodata/beijing/building.geojson.gz");

/// The name the dataset is recorded under.
pub const NAME: &str = "beijing-default";

/// Converts trusted features (the embedded layers, which were validated when built) into places.
pub fn places_from_layer(level: Level, bytes: &[u8]) -> Result<Vec<Place>, LayerError> {
    let features = layers::parse_features(&layers::decode_bytes(bytes)?)?;
    features
        .into_iter()
        .map(|f| {
            let bad = |what: &str| {
                LayerError::NotGeoJson(format!("{} in the {level} layer: {what}", f.label()))
            };
            let code = f
                .code
                .as_deref()
                .and_then(PlaceCode::parse)
                .ok_or_else(|| bad("bad code"))?
                .0;
            let geometry = f.geometry.clone().map_err(|e| bad(&e))?;
            Ok(Place {
                parent: code.parent(),
                code,
                name: f.name.clone().unwrap_or_default(),
                level,
                geometry,
            })
        })
        .collect()
}

/// Every place of the default dataset.
pub fn places() -> Result<Vec<Place>, LayerError> {
    let mut out = Vec::new();
    for (level, bytes) in LAYERS {
        out.extend(places_from_layer(level, bytes)?);
    }
    Ok(out)
}

/// Every building of the default dataset.
pub fn buildings() -> Result<Vec<Building>, LayerError> {
    layers::parse_buildings(&layers::decode_bytes(BUILDINGS)?)
}
