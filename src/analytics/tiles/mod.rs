//! Vector tiles (Mapbox Vector Tile 2.1 over Web Mercator XYZ) of the place layers, as pure geometry: no database,
//! no HTTP. The service feeds it the stored outlines and adds names and counts.
//!
//! The pipeline for a polygon layer, in order:
//! 1. [`topology`]: the layer is cut once into shared arcs; per zoom each arc is simplified once, so neighbours
//!    keep one common edge, and every polygon is checked valid (arcs put back unsimplified where needed);
//! 2. [`layer`]: an R-tree over the features' boxes finds those touching a tile (plus its buffer);
//! 3. [`clip`]: each is cut to the tile grown by [`BUFFER`], rounded to integers and oriented for MVT;
//! 4. [`encode`]: the features and their properties become the tile's bytes, beside a second layer of label points
//!    (one per polygon, in the one tile of a zoom that holds it, so a map writes each name once).
//!
//! Coordinates: WGS-84 lon/lat in, normalised Web Mercator inside ([`xyz`]), integer tile coordinates out
//! (0..[`EXTENT`], y down).

pub mod clip;
pub mod encode;
pub mod layer;
pub mod topology;
pub mod xyz;

use crate::geo::place::Level;

/// Tile coordinates per tile side.
pub const EXTENT: u32 = 4096;
/// How far beyond the tile geometry is kept, in tile coordinates (1/64 of the tile).
pub const BUFFER: u32 = 64;
/// Douglas–Peucker tolerance in tile coordinates: a quarter of a screen pixel on a 256-pixel tile.
pub const TOLERANCE: f64 = 4.0;

/// A layer served as tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileLayer {
    /// 区 outlines.
    Districts,
    /// 街道/乡镇 outlines.
    Streets,
    /// 社区/村 outlines.
    Communities,
    /// 网格 outlines.
    Cells,
    /// Buildings (points).
    Buildings,
}

impl TileLayer {
    /// Every layer, the largest places first.
    pub const ALL: [TileLayer; 5] = [
        TileLayer::Districts,
        TileLayer::Streets,
        TileLayer::Communities,
        TileLayer::Cells,
        TileLayer::Buildings,
    ];

    /// Parses a layer's name as the routes spell it.
    pub fn parse(s: &str) -> Option<TileLayer> {
        TileLayer::ALL.into_iter().find(|l| l.name() == s)
    }

    /// The name in routes and in the tile.
    pub fn name(self) -> &'static str {
        match self {
            TileLayer::Districts => "districts",
            TileLayer::Streets => "streets",
            TileLayer::Communities => "communities",
            TileLayer::Cells => "cells",
            TileLayer::Buildings => "buildings",
        }
    }

    /// The name of the tile layer of its label points, one per place (polygon layers only; see [`layer`]).
    pub fn labels_name(self) -> Option<&'static str> {
        match self {
            TileLayer::Districts => Some("districts_labels"),
            TileLayer::Streets => Some("streets_labels"),
            TileLayer::Communities => Some("communities_labels"),
            TileLayer::Cells => Some("cells_labels"),
            TileLayer::Buildings => None,
        }
    }

    /// The place level of a polygon layer (`None` for buildings).
    pub fn level(self) -> Option<Level> {
        match self {
            TileLayer::Districts => Some(Level::District),
            TileLayer::Streets => Some(Level::Street),
            TileLayer::Communities => Some(Level::Community),
            TileLayer::Cells => Some(Level::Cell),
            TileLayer::Buildings => None,
        }
    }

    /// How many digits its features' codes have.
    pub fn code_len(self) -> usize {
        self.level().map_or(18, Level::code_len)
    }

    /// The zooms the layer is served at (maps draw deeper zooms from the deepest, "overzoom"). Chosen so that a
    /// feature is a few to a few hundred pixels across: a district (median about 200 km²) from z5, a cell (about
    /// 0.5 km² in town) from z12, a building point from z14.
    pub fn zooms(self) -> std::ops::RangeInclusive<u8> {
        match self {
            TileLayer::Districts => 5..=10,
            TileLayer::Streets => 8..=12,
            TileLayer::Communities => 10..=14,
            TileLayer::Cells => 12..=15,
            TileLayer::Buildings => 14..=16,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_names_round_trip_and_bands_stay_within_the_tile_math() {
        for l in TileLayer::ALL {
            assert_eq!(TileLayer::parse(l.name()), Some(l));
            assert!(*l.zooms().end() <= xyz::MAX_ZOOM);
        }
        assert_eq!(TileLayer::parse("Cells"), None);
        assert_eq!(TileLayer::Buildings.code_len(), 18);
        assert_eq!(TileLayer::Cells.labels_name(), Some("cells_labels"));
        assert_eq!(TileLayer::Buildings.labels_name(), None);
    }
}
