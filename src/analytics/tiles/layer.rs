//! A layer ready to cut into tiles: its geometry (polygons as a [`Topology`], or points), an R-tree over the
//! features' boxes in normalised Mercator, and per zoom the simplified polygons, computed once at first use and
//! kept. Features are numbered in the order they were given; the caller keeps their codes and names.
//!
//! Labels: a polygon cut by tile edges reaches into several tiles, and a map that labels each piece writes its name
//! several times. So each polygon also has one label point, inside its largest part (geo's interior point), and a
//! tile carries the label points that lie in the tile itself, not its buffer: every name lies in exactly one tile
//! of a zoom and is drawn once.

use super::clip::clip_polygons;
use super::topology::Topology;
use super::xyz::{MAX_ZOOM, TileId, project, unproject};
use super::{BUFFER, EXTENT};
use geo::{Area, Geometry, InteriorPoint, MultiPolygon, Point};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use std::sync::OnceLock;

type BoxEntry = GeomWithData<Rectangle<[f64; 2]>, u32>;
type PointEntry = GeomWithData<[f64; 2], u32>;

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
        /// Each feature's label point (normalised Mercator), indexed.
        labels: RTree<PointEntry>,
    },
    /// Points (normalised Mercator).
    Points {
        /// The points.
        points: Vec<[f64; 2]>,
        /// The same, indexed.
        tree: RTree<PointEntry>,
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
        let labels = shapes
            .iter()
            .enumerate()
            .filter_map(|(f, shape)| {
                let p = label_point(shape)?;
                let (x, y) = project(p.x(), p.y());
                Some(PointEntry::new([x, y], f as u32))
            })
            .collect();
        LayerGeometry::Polygons {
            topology,
            tree: RTree::bulk_load(entries),
            zooms: (0..=MAX_ZOOM).map(|_| OnceLock::new()).collect(),
            labels: RTree::bulk_load(labels),
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

    /// The label points of the polygons whose label lies in tile `t` itself (the west and north edges included, the
    /// east and south ones not), in feature order, in tile coordinates. Empty for a point layer.
    pub fn labels(&self, t: TileId) -> Vec<(u32, Point<f64>)> {
        let LayerGeometry::Polygons { labels, .. } = self else {
            return Vec::new();
        };
        let n = f64::from(TileId::count(t.z()));
        let (x0, y0) = (f64::from(t.x()), f64::from(t.y()));
        // The box grown a hair: which tile holds a label is decided below, on the same numbers in every tile.
        let pad = 1e-9 / n;
        let inside = AABB::from_corners(
            [x0 / n - pad, y0 / n - pad],
            [(x0 + 1.0) / n + pad, (y0 + 1.0) / n + pad],
        );
        let scale = f64::from(EXTENT);
        let mut out: Vec<(u32, Point<f64>)> = labels
            .locate_in_envelope(&inside)
            .filter_map(|e| {
                let [x, y] = *e.geom();
                let (tx, ty) = (x * n - x0, y * n - y0);
                // Half-open: a label on the shared edge of two tiles belongs to the east or south one only.
                ((0.0..1.0).contains(&tx) && (0.0..1.0).contains(&ty)).then(|| {
                    let p = Point::new((tx * scale).round(), (ty * scale).round());
                    (e.data, p)
                })
            })
            .collect();
        out.sort_unstable_by_key(|(f, _)| *f);
        out
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

/// Where a polygon's name is drawn (WGS-84): a point inside its largest part.
fn label_point(shape: &MultiPolygon<f64>) -> Option<Point<f64>> {
    shape
        .0
        .iter()
        .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))?
        .interior_point()
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

    /// Two parts: a small square and, east of it, a larger one.
    fn layer_shape_two() -> MultiPolygon<f64> {
        MultiPolygon(vec![
            polygon![(x: 116.41, y: 39.90), (x: 116.412, y: 39.90), (x: 116.412, y: 39.902), (x: 116.41, y: 39.902)],
            polygon![(x: 116.42, y: 39.90), (x: 116.43, y: 39.90), (x: 116.43, y: 39.91), (x: 116.42, y: 39.91)],
        ])
    }

    #[test]
    fn each_polygon_is_labelled_once_per_zoom_inside_itself() {
        // A square split by many tile edges at z16, an L-shaped pair (the larger part carries the label), and a
        // square far away.
        let big = MultiPolygon(vec![polygon![
            (x: 116.38, y: 39.90), (x: 116.40, y: 39.90), (x: 116.40, y: 39.92), (x: 116.38, y: 39.92)
        ]]);
        let two = layer_shape_two();
        let far = MultiPolygon(vec![polygon![
            (x: 117.0, y: 40.5), (x: 117.01, y: 40.5), (x: 117.01, y: 40.51), (x: 117.0, y: 40.51)
        ]]);
        let layer = LayerGeometry::polygons(&[big, two, far]);
        for z in [12u8, 14, 16] {
            let (xs, ys) =
                crate::analytics::tiles::xyz::covering(z, [116.37, 39.89, 116.44, 39.93]);
            let mut seen = Vec::new();
            for x in xs {
                for y in ys.clone() {
                    let t = TileId::new(z, x, y).unwrap();
                    let shapes = layer.tile(t);
                    for (f, p) in layer.labels(t) {
                        assert!((0.0..=4096.0).contains(&p.x()) && (0.0..=4096.0).contains(&p.y()));
                        // The label lies inside the feature's piece in the same tile.
                        let (_, g) = shapes.iter().find(|(id, _)| *id == f).unwrap();
                        let Geometry::MultiPolygon(mp) = g else {
                            panic!("a polygon")
                        };
                        assert!(
                            geo::Intersects::intersects(mp, &p),
                            "z{z}: label of {f} at {p:?} outside its shape"
                        );
                        seen.push(f);
                    }
                }
            }
            seen.sort_unstable();
            assert_eq!(seen, vec![0, 1], "z{z}: each of the two near features once");
        }
        // The pair is labelled in its larger part; a point layer has no labels.
        let p = label_point(&layer_shape_two()).unwrap();
        assert!(
            (116.42..116.43).contains(&p.x()) && (39.90..39.91).contains(&p.y()),
            "{p:?}"
        );
        let t = TileId::new(16, 0, 0).unwrap();
        assert!(LayerGeometry::points(&[(116.4, 39.9)]).labels(t).is_empty());
    }
}
