//! The in-memory place index: from a WGS-84 lon/lat point to its cell and the cell's whole place chain, and to
//! the nearest building. Built once at start from the stored layers and shared read-only (`Arc<PlaceIndex>`).
//!
//! Algorithm of [`PlaceIndex::locate`]:
//! 1. An R-tree (rstar) over the bounding boxes of every cell polygon gives the cells whose box holds the point.
//! 2. Each candidate is tested with `CoordinatePosition`: a point inside one cell answers that cell; a point on
//!    a shared edge or vertex lies on the boundary of several and takes the one with the lowest code, so every
//!    point of the city gets exactly one cell.
//! 3. A point in no cell takes the nearest cell within [`SNAP_RADIUS_M`] metres (distance measured in a local
//!    equirectangular metric), and the answer says it was snapped; beyond that it is outside the jurisdiction.
//! 4. The cell's parents come from the place table (community → street → district).
//! 5. The nearest building within [`BUILDING_RADIUS_M`] metres comes from a second R-tree over building points.

use crate::geo::crs::haversine_m;
use crate::geo::place::{Building, Level, Place};
use geo::{
    BoundingRect, Coord, CoordinatePosition, Intersects, MultiPolygon, Polygon,
    coordinate_position::CoordPos,
};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use std::collections::HashMap;

/// How far a point outside every cell may be from one and still be placed in it.
pub const SNAP_RADIUS_M: f64 = 200.0;
/// How far the nearest building may be to be reported.
pub const BUILDING_RADIUS_M: f64 = 50.0;
const M_PER_DEG_LAT: f64 = 110_574.0;
const M_PER_DEG_LON_EQ: f64 = 111_320.0;

/// What the index knows of a place besides its outline.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceInfo {
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its level.
    pub level: Level,
    /// Its parent's code.
    pub parent: Option<String>,
}

/// A building as the index keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildingInfo {
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Households.
    pub households: u32,
    /// Longitude, WGS-84.
    pub lon: f64,
    /// Latitude, WGS-84.
    pub lat: f64,
}

/// How a point was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The point lies in (or on the edge of) the cell.
    Exact,
    /// The point lies in no cell but within [`SNAP_RADIUS_M`] of this one.
    Snapped,
}

/// The answer for one point.
#[derive(Debug, Clone)]
pub struct Located<'a> {
    /// District, street, community and cell, from the top down (missing levels are absent).
    pub chain: Vec<&'a PlaceInfo>,
    /// The cell.
    pub cell: &'a PlaceInfo,
    /// Exact or snapped.
    pub method: Method,
    /// For a snapped point, how far it was from the cell (metres); 0 for an exact one.
    pub snap_distance_m: f64,
    /// The nearest building within [`BUILDING_RADIUS_M`] and its distance in metres.
    pub building: Option<(&'a BuildingInfo, f64)>,
}

type CellEntry = GeomWithData<Rectangle<[f64; 2]>, u32>;
type BuildingEntry = GeomWithData<[f64; 2], u32>;

/// The shared, read-only index.
#[derive(Debug)]
pub struct PlaceIndex {
    places: Vec<PlaceInfo>,
    by_code: HashMap<String, u32>,
    /// For each cell, its chain as indices into `places`, district first, cell last (precomputed: the hot path
    /// then does no string lookups).
    chains: Vec<Vec<u32>>,
    /// Cells in code order; a cell's position is its id in the R-tree.
    cells: Vec<String>,
    /// Polygons of all cells; `parts[k]` belongs to cell `part_cell[k]`.
    parts: Vec<Polygon<f64>>,
    part_cell: Vec<u32>,
    cell_tree: RTree<CellEntry>,
    buildings: Vec<BuildingInfo>,
    building_tree: RTree<BuildingEntry>,
    lon_scale: f64,
}

fn scaled(lon: f64, lat: f64, lon_scale: f64) -> [f64; 2] {
    [lon * lon_scale, lat]
}

impl PlaceIndex {
    /// Builds the index from every place (cells carry geometry into the R-tree) and every building.
    pub fn new(places: &[Place], buildings: &[Building]) -> PlaceIndex {
        let infos: Vec<PlaceInfo> = places
            .iter()
            .map(|p| PlaceInfo {
                code: p.code.as_str().to_owned(),
                name: p.name.clone(),
                level: p.level,
                parent: p.parent.as_ref().map(|c| c.as_str().to_owned()),
            })
            .collect();
        let by_code: HashMap<String, u32> = infos
            .iter()
            .enumerate()
            .map(|(k, p)| (p.code.clone(), k as u32))
            .collect();
        let mut cell_places: Vec<&Place> =
            places.iter().filter(|p| p.level == Level::Cell).collect();
        cell_places.sort_by(|a, b| a.code.cmp(&b.code));
        let chains: Vec<Vec<u32>> = cell_places
            .iter()
            .map(|cell| {
                let mut chain = Vec::with_capacity(4);
                let mut cur = by_code.get(cell.code.as_str()).copied();
                // Bounded by the depth of the hierarchy, so a cycle in bad data cannot hang.
                while let Some(k) = cur.filter(|_| chain.len() < Level::ALL.len()) {
                    let info = &infos[k as usize];
                    if info.level == Level::City {
                        break;
                    }
                    chain.push(k);
                    cur = info.parent.as_deref().and_then(|p| by_code.get(p).copied());
                }
                chain.reverse();
                chain
            })
            .collect();
        let mut parts = Vec::new();
        let mut part_cell = Vec::new();
        let mut entries = Vec::new();
        for (k, p) in cell_places.iter().enumerate() {
            for poly in &p.geometry.0 {
                let Some(rect) = geo::BoundingRect::bounding_rect(poly) else {
                    continue;
                };
                entries.push(CellEntry::new(
                    Rectangle::from_corners(
                        [rect.min().x, rect.min().y],
                        [rect.max().x, rect.max().y],
                    ),
                    parts.len() as u32,
                ));
                parts.push(poly.clone());
                part_cell.push(k as u32);
            }
        }
        // Scale longitudes so that the building tree's distances are roughly isotropic at Beijing's latitude.
        let lon_scale = 40.0f64.to_radians().cos();
        let infos_b: Vec<BuildingInfo> = buildings
            .iter()
            .map(|b| BuildingInfo {
                code: b.code.clone(),
                name: b.name.clone(),
                households: b.households,
                lon: b.lon,
                lat: b.lat,
            })
            .collect();
        let b_entries = infos_b
            .iter()
            .enumerate()
            .map(|(k, b)| BuildingEntry::new(scaled(b.lon, b.lat, lon_scale), k as u32))
            .collect();
        PlaceIndex {
            places: infos,
            by_code,
            chains,
            cells: cell_places
                .iter()
                .map(|p| p.code.as_str().to_owned())
                .collect(),
            parts,
            part_cell,
            cell_tree: RTree::bulk_load(entries),
            buildings: infos_b,
            building_tree: RTree::bulk_load(b_entries),
            lon_scale,
        }
    }

    /// Number of cells indexed.
    pub fn cell_count(&self) -> usize {
        self.cells.len()
    }

    /// Number of buildings indexed.
    pub fn building_count(&self) -> usize {
        self.buildings.len()
    }

    /// Every building, in the order it was given.
    pub fn buildings(&self) -> &[BuildingInfo] {
        &self.buildings
    }

    /// Every place, districts to cells.
    pub fn places(&self) -> &[PlaceInfo] {
        &self.places
    }

    /// A place by code.
    pub fn place(&self, code: &str) -> Option<&PlaceInfo> {
        self.by_code.get(code).map(|&k| &self.places[k as usize])
    }

    /// The cell containing the point exactly (inside, or on an edge: lowest code wins); `None` when no cell does.
    pub fn cell_at(&self, lon: f64, lat: f64) -> Option<u32> {
        let c = Coord { x: lon, y: lat };
        let mut on_edge: Option<u32> = None;
        for e in self.cell_tree.locate_all_at_point(&[lon, lat]) {
            let part = e.data as usize;
            match self.parts[part].coordinate_position(&c) {
                CoordPos::Inside => return Some(self.part_cell[part]),
                CoordPos::OnBoundary => {
                    let cell = self.part_cell[part];
                    on_edge = Some(on_edge.map_or(cell, |o| o.min(cell)));
                }
                CoordPos::Outside => {}
            }
        }
        on_edge
    }

    /// The code of a cell id returned by [`PlaceIndex::cell_at`].
    pub fn cell_code(&self, id: u32) -> &str {
        &self.cells[id as usize]
    }

    /// The ids of the cells whose code starts with `code` (every cell for the city's code), in code order.
    pub fn cells_under(&self, code: &str) -> std::ops::Range<u32> {
        if code == crate::geo::place::CITY_CODE {
            return 0..self.cells.len() as u32;
        }
        let start = self.cells.partition_point(|c| c.as_str() < code);
        let end = start + self.cells[start..].partition_point(|c| c.starts_with(code));
        start as u32..end as u32
    }

    /// The outline of a cell (WGS-84).
    pub fn cell_geometry(&self, id: u32) -> MultiPolygon<f64> {
        // Parts were pushed cell by cell in id order, so a cell's parts are one run of `part_cell`.
        let start = self.part_cell.partition_point(|&c| c < id);
        let end = self.part_cell.partition_point(|&c| c <= id);
        MultiPolygon(self.parts[start..end].to_vec())
    }

    /// The cells that touch or overlap cell `id` (sharing an edge or a corner), without it, in id order.
    pub fn cell_neighbours(&self, id: u32) -> Vec<u32> {
        let mine = self.cell_geometry(id);
        let Some(rect) = mine.bounding_rect() else {
            return Vec::new();
        };
        // A hair wider than the outline, so that cells sharing an edge are candidates despite rounding.
        let eps = 1e-7;
        let env = AABB::from_corners(
            [rect.min().x - eps, rect.min().y - eps],
            [rect.max().x + eps, rect.max().y + eps],
        );
        let mut out: Vec<u32> = self
            .cell_tree
            .locate_in_envelope_intersecting(&env)
            .filter(|e| self.part_cell[e.data as usize] != id)
            .filter(|e| mine.intersects(&self.parts[e.data as usize]))
            .map(|e| self.part_cell[e.data as usize])
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn nearest_cell_within(&self, lon: f64, lat: f64, radius_m: f64) -> Option<(u32, f64)> {
        let kx = M_PER_DEG_LON_EQ * lat.to_radians().cos();
        let (dx, dy) = (radius_m / kx, radius_m / M_PER_DEG_LAT);
        let env = AABB::from_corners([lon - dx, lat - dy], [lon + dx, lat + dy]);
        let mut best: Option<(u32, f64)> = None;
        for e in self.cell_tree.locate_in_envelope_intersecting(&env) {
            let part = e.data as usize;
            let d = polygon_distance_m(&self.parts[part], lon, lat, kx);
            let cell = self.part_cell[part];
            if d <= radius_m && best.is_none_or(|(bc, bd)| d < bd || (d == bd && cell < bc)) {
                best = Some((cell, d));
            }
        }
        best
    }

    fn nearest_building(&self, lon: f64, lat: f64) -> Option<(&BuildingInfo, f64)> {
        // The tree's units are about 111 km per degree on both axes; search a little wider than the radius and
        // decide by the exact distance.
        let r = BUILDING_RADIUS_M * 1.1 / M_PER_DEG_LAT;
        self.building_tree
            .locate_within_distance(scaled(lon, lat, self.lon_scale), r * r)
            .map(|e| {
                let b = &self.buildings[e.data as usize];
                (b, haversine_m((lon, lat), (b.lon, b.lat)))
            })
            .filter(|(_, d)| *d <= BUILDING_RADIUS_M)
            .min_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.code.cmp(&b.0.code)))
    }

    /// Places a WGS-84 point: its cell and chain, exact or snapped, and the nearest building; `None` when the
    /// point is farther than [`SNAP_RADIUS_M`] from every cell.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<Located<'_>> {
        let (cell, method, snap) = match self.cell_at(lon, lat) {
            Some(c) => (c, Method::Exact, 0.0),
            None => {
                let (c, d) = self.nearest_cell_within(lon, lat, SNAP_RADIUS_M)?;
                (c, Method::Snapped, d)
            }
        };
        let chain: Vec<&PlaceInfo> = self.chains[cell as usize]
            .iter()
            .map(|&k| &self.places[k as usize])
            .collect();
        let cell = *chain.last()?;
        Some(Located {
            chain,
            cell,
            method,
            snap_distance_m: snap,
            building: self.nearest_building(lon, lat),
        })
    }
}

/// Distance in metres from a point to a polygon's boundary (0 inside), in a local equirectangular metric.
fn polygon_distance_m(poly: &Polygon<f64>, lon: f64, lat: f64, kx: f64) -> f64 {
    if poly.coordinate_position(&Coord { x: lon, y: lat }) != CoordPos::Outside {
        return 0.0;
    }
    let mut best = f64::INFINITY;
    for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
        for w in ring.0.windows(2) {
            let (ax, ay) = ((w[0].x - lon) * kx, (w[0].y - lat) * M_PER_DEG_LAT);
            let (bx, by) = ((w[1].x - lon) * kx, (w[1].y - lat) * M_PER_DEG_LAT);
            let (vx, vy) = (bx - ax, by - ay);
            let len2 = vx * vx + vy * vy;
            let t = if len2 > 0.0 {
                (-(ax * vx + ay * vy) / len2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let (px, py) = (ax + t * vx, ay + t * vy);
            best = best.min((px * px + py * py).sqrt());
        }
    }
    best
}
