//! A layer ready to cut into tiles: its geometry (polygons as a [`Topology`], or points), an R-tree over the
//! features' boxes in normalised Mercator, and per zoom the simplified polygons, computed once at first use and
//! kept. Features are numbered in the order they were given; the caller keeps their codes and names.

use super::clip::clip_polygons;
use super::topology::Topology;
use super::xyz::{MAX_ZOOM, TileId, project, unproject};
use super::{BUFFER, EXTENT};
use geo::{Geometry, MultiPolygon, Point};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use std::sync::OnceLock;

type BoxEntry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// The geometry of one layer; see the module comment.
#[derive(Debug)]
pub enum LayerGeometry {
    /// Outlines.
    Polygons {
        /// The shared arcs.
        topology: Topology,
        /// Boxes of the features.
        tree: RTree<BoxEntry>,
        /// Per zoom, every feature simplified (integer world units).
        zooms: Vec<OnceLock<Vec<MultiPolygon<f64>>>>,
    },
    /// Points (normalised Mercator).
    Points {
        /// The points.
        points: Vec<[f64; 2]>,
        /// The same, indexed.
        tree: RTree<GeomWithData<[f64; 2], u32>>,
    },
}

/// The box of a tile grown by the buffer, in normalised Mercator.
fn tile_box(t: TileId) -> AABB<[f64; 2]> {
    let n = f64::from(TileId::count(t.z()));
    let pad = f64::from(BUFFER) / f64::from(EXTENT);
    AABB::from_corners(
        [(f64::from(t.x()) - pad) / n, (f64::from(t.y()) - pad) / n],
        [
            (f64::from(t.x()) + 1.0 + pad) / n,
            (f64::from(t.y()) + 1.0 + pad) / n,
        ],
    )
}

impl LayerGeometry {
    /// A polygon layer from WGS-84 outlines, one per feature.
    pub fn polygons(shapes: &[MultiPolygon<f64>]) -> LayerGeometry {
        let topology = Topology::new(shapes);
        let entries = (0..topology.len())
            .filter_map(|f| {
                let b = topology.bbox(f)?;
                Some(BoxEntry::new(
                    Rectangle::from_corners([b[0], b[1]], [b[2], b[3]]),
                    f as u32,
                ))
            })
            .collect();
        LayerGeometry::Polygons {
            topology,
            tree: RTree::bulk_load(entries),
            zooms: (0..=MAX_ZOOM).map(|_| OnceLock::new()).collect(),
        }
    }

    /// A point layer from WGS-84 lon/lat, one per feature.
    pub fn points(lonlat: &[(f64, f64)]) -> LayerGeometry {
        let points: Vec<[f64; 2]> = lonlat
            .iter()
            .map(|&(lon, lat)| {
                let (x, y) = project(lon, lat);
                [x, y]
            })
            .collect();
        let tree = RTree::bulk_load(
            points
                .iter()
                .enumerate()
                .map(|(k, p)| GeomWithData::new(*p, k as u32))
                .collect(),
        );
        LayerGeometry::Points { points, tree }
    }

    /// A feature's box [west, south, east, north] in WGS-84 degrees.
    pub fn bounds_lonlat(&self, feature: usize) -> Option<[f64; 4]> {
        let b = match self {
            LayerGeometry::Polygons { topology, .. } => topology.bbox(feature)?,
            LayerGeometry::Points { points, .. } => {
                let p = points.get(feature)?;
                [p[0], p[1], p[0], p[1]]
            }
        };
        let (west, north) = unproject(b[0], b[1]);
        let (east, south) = unproject(b[2], b[3]);
        Some([west, south, east, north])
    }

    /// Every feature simplified for zoom `z` (computed at the first call for that zoom).
    fn at_zoom(&self, z: u8) -> Option<&[MultiPolygon<f64>]> {
        match self {
            LayerGeometry::Polygons {
                topology, zooms, ..
            } => Some(
                zooms
                    .get(usize::from(z))?
                    .get_or_init(|| topology.at_zoom(z)),
            ),
            LayerGeometry::Points { .. } => None,
        }
    }

    /// Prepares the simplified polygons of zoom `z` ahead of the first tile that needs them.
    pub fn warm(&self, z: u8) {
        let _ = self.at_zoom(z);
    }

    /// The features that reach into tile `t` (with its buffer), in feature order, each cut to the tile in tile
    /// coordinates: valid polygons with MVT's winding, or a point.
    pub fn tile(&self, t: TileId) -> Vec<(u32, Geometry<f64>)> {
        let bbox = tile_box(t);
        let scale = f64::from(EXTENT);
        let origin = (f64::from(t.x()) * scale, f64::from(t.y()) * scale);
        let mut out: Vec<(u32, Geometry<f64>)> = match self {
            LayerGeometry::Polygons { tree, .. } => {
                let Some(world) = self.at_zoom(t.z()) else {
                    return Vec::new();
                };
                tree.locate_in_envelope_intersecting(&bbox)
                    .filter_map(|e| {
                        let mp = clip_polygons(world.get(e.data as usize)?, origin);
                        (!mp.0.is_empty()).then_some((e.data, Geometry::MultiPolygon(mp)))
                    })
                    .collect()
            }
            LayerGeometry::Points { tree, .. } => {
                let n = scale * f64::from(TileId::count(t.z()));
                tree.locate_in_envelope(&bbox)
                    .map(|e| {
                        let [x, y] = *e.geom();
                        let p = Point::new((x * n).round() - origin.0, (y * n).round() - origin.1);
                        (e.data, Geometry::Point(p))
                    })
                    .collect()
            }
        };
        out.sort_unstable_by_key(|(f, _)| *f);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Validation, polygon};

    #[test]
    fn a_tile_holds_the_features_that_reach_into_it() {
        // Two squares side by side around Tiananmen, sharing the meridian 116.40.
        let west = MultiPolygon(vec![polygon![
            (x: 116.38, y: 39.90), (x: 116.40, y: 39.90), (x: 116.40, y: 39.92), (x: 116.38, y: 39.92)
        ]]);
        let east = MultiPolygon(vec![polygon![
            (x: 116.40, y: 39.90), (x: 116.42, y: 39.90), (x: 116.42, y: 39.92), (x: 116.40, y: 39.92)
        ]]);
        let layer = LayerGeometry::polygons(&[west, east]);
        let (x, y) = project(116.40, 39.91);
        let z = 14;
        let n = f64::from(TileId::count(z));
        let t = TileId::new(z, (x * n) as u32, (y * n) as u32).unwrap();
        let features = layer.tile(t);
        let ids: Vec<u32> = features.iter().map(|f| f.0).collect();
        assert_eq!(ids, vec![0, 1]);
        for (_, g) in &features {
            assert!(g.is_valid());
        }
        let far = TileId::new(z, 0, 0).unwrap();
        assert!(layer.tile(far).is_empty());
        let points = LayerGeometry::points(&[(116.40, 39.91), (0.0, 0.0)]);
        let p = points.tile(t);
        assert_eq!(p.len(), 1);
        let Geometry::Point(pt) = p[0].1 else {
            panic!("a point")
        };
        assert!((0.0..4096.0).contains(&pt.x()) && (0.0..4096.0).contains(&pt.y()));
    }
}
