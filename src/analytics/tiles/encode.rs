//! Encoding layers of features as a Mapbox Vector Tile 2.1 (protobuf through geozero's generated types): the
//! geometry must already be in tile coordinates with integer vertices and MVT's winding ([`super::clip`]); keys
//! and values are shared in the layer's tables.

use super::EXTENT;
use geo::Geometry;
use geozero::ToMvt;
use geozero::mvt::{Message, TagsBuilder, Tile, TileValue, tile};

/// A feature to encode.
#[derive(Debug)]
pub struct Feature<'a> {
    /// The feature id (a place code is a decimal number of at most 18 digits).
    pub id: u64,
    /// Geometry in tile coordinates.
    pub geometry: &'a Geometry<f64>,
    /// Properties, in the order they are written.
    pub properties: Vec<(&'static str, TileValue)>,
}

/// Why a tile could not be encoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The geometry could not be written (e.g. a ring of fewer than three points).
    #[error("feature {id}: {reason}")]
    Geometry {
        /// The feature.
        id: u64,
        /// What the encoder said.
        reason: String,
    },
}

/// The bytes of a tile holding the layers given, in order, each named and with its features (a layer with none
/// is left out).
pub fn encode(layers: &[(&str, &[Feature<'_>])]) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(layers.len());
    for (name, features) in layers.iter().filter(|(_, f)| !f.is_empty()) {
        out.push(layer(name, features)?);
    }
    Ok(Tile { layers: out }.encode_to_vec())
}

fn layer(name: &str, features: &[Feature<'_>]) -> Result<tile::Layer, EncodeError> {
    let mut tags = TagsBuilder::new();
    let mut out = Vec::with_capacity(features.len());
    for f in features {
        let mut feature = f
            .geometry
            .to_mvt_unscaled()
            .map_err(|e| EncodeError::Geometry {
                id: f.id,
                reason: e.to_string(),
            })?;
        feature.id = Some(f.id);
        for (key, value) in &f.properties {
            let (k, v) = tags.insert_ref(key, value.clone());
            feature.tags.push(k);
            feature.tags.push(v);
        }
        out.push(feature);
    }
    let (keys, values) = tags.into_tags();
    Ok(tile::Layer {
        version: 2,
        name: name.to_owned(),
        features: out,
        keys,
        values: values.into_iter().map(Into::into).collect(),
        extent: Some(EXTENT),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Point, polygon};
    use geozero::geo_types::GeoWriter;

    #[test]
    fn a_tile_decodes_to_what_was_encoded() {
        // Positive area by MVT's formula (clockwise on screen, y down): an exterior ring.
        let square: Geometry<f64> = polygon![
            (x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)
        ]
        .into();
        let point: Geometry<f64> = Point::new(5.0, 7.0).into();
        let cells = [
            Feature {
                id: 110105001001001,
                geometry: &square,
                properties: vec![
                    ("code", TileValue::Str("110105001001001".into())),
                    ("tickets", TileValue::Uint(3)),
                ],
            },
            Feature {
                id: 7,
                geometry: &point,
                properties: vec![("code", TileValue::Str("7".into()))],
            },
        ];
        let labels = [Feature {
            id: 7,
            geometry: &point,
            properties: vec![("name", TileValue::Str("七".into()))],
        }];
        let bytes = encode(&[
            ("cells", &cells),
            ("nothing", &[]),
            ("cells_labels", &labels),
        ])
        .unwrap();
        let tile = Tile::decode(bytes.as_slice()).unwrap();
        let names: Vec<&str> = tile.layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(
            names,
            ["cells", "cells_labels"],
            "an empty layer is left out"
        );
        assert_eq!(tile.layers[1].keys, ["name"], "each layer has its own keys");
        let layer = &tile.layers[0];
        assert_eq!(
            (layer.name.as_str(), layer.version, layer.extent),
            ("cells", 2, Some(4096))
        );
        assert_eq!(
            layer.keys,
            vec!["code", "tickets"],
            "keys shared across features"
        );
        assert_eq!(layer.features[0].id, Some(110105001001001));
        // MoveTo(1) 0,0; LineTo(3) by (10,0) (0,10) (-10,0), zigzag-encoded; ClosePath.
        assert_eq!(
            layer.features[0].geometry,
            vec![9, 0, 0, 26, 20, 0, 0, 20, 19, 0, 15]
        );
        let mut w = GeoWriter::new();
        geozero::mvt::process_geom(&layer.features[0], &mut w).unwrap();
        assert_eq!(w.take_geometry().unwrap(), square);
    }
}
