//! Binary spatial weights between the units of a polygon layer, built the way libpysal builds them: queen
//! contiguity (two polygons share at least one vertex), rook contiguity (they share at least one edge: two
//! consecutive vertices of a ring, in either direction) and a distance band (centroids at most so many metres apart).
//!
//! Contiguity compares coordinates exactly (bit for bit, with -0 taken as 0), as libpysal does: neighbours whose
//! shared boundary is digitised with different vertices are not found. The distance band takes each polygon's planar
//! centroid in lon/lat degrees (as shapely does) and the great-circle distance on a sphere of radius 6,371 km
//! (libpysal's `RADIUS_EARTH_KM`, used by `DistanceBand(..., distance_metric="arc")`). Neighbour lists are sorted,
//! never contain the unit itself, and the number of links is bounded by [`MAX_LINKS`].

use super::Error;
use geo::{Centroid, MultiPolygon};

/// The most neighbour links (ordered pairs) one set of weights may hold, and the most centroid distances a distance
/// band may evaluate: about 100 links per unit of a 20,000-unit layer is far beyond any sensible neighbourhood.
pub const MAX_LINKS: usize = 20_000_000;

/// The widest distance band accepted, in metres (half the Earth's circumference).
pub const MAX_DISTANCE_METRES: f64 = 20_000_000.0;

/// Earth radius used for distance bands, in metres (libpysal's `RADIUS_EARTH_KM` = 6371.0).
pub const EARTH_RADIUS_METRES: f64 = 6_371_000.0;

/// Which units are neighbours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WeightsSpec {
    /// Share at least one vertex.
    Queen,
    /// Share at least one edge.
    Rook,
    /// Centroids at most this many metres apart (great circle, lon/lat input).
    DistanceBand {
        /// The band in metres.
        metres: f64,
    },
}

impl std::str::FromStr for WeightsSpec {
    type Err = String;

    /// Parses `queen`, `rook` or `distance:METRES`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "queen" => Ok(WeightsSpec::Queen),
            "rook" => Ok(WeightsSpec::Rook),
            _ => {
                let metres = s
                    .strip_prefix("distance:")
                    .and_then(|m| m.parse::<f64>().ok())
                    .ok_or_else(|| {
                        format!("weights must be queen, rook or distance:METRES (e.g. distance:500), not {s:?}")
                    })?;
                if !(metres > 0.0 && metres <= MAX_DISTANCE_METRES) {
                    return Err(format!(
                        "the distance band must be more than 0 and at most {MAX_DISTANCE_METRES} metres, not {metres}"
                    ));
                }
                Ok(WeightsSpec::DistanceBand { metres })
            }
        }
    }
}

impl std::fmt::Display for WeightsSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WeightsSpec::Queen => f.write_str("queen"),
            WeightsSpec::Rook => f.write_str("rook"),
            WeightsSpec::DistanceBand { metres } => write!(f, "distance:{metres}"),
        }
    }
}

/// Binary weights: for each unit, the sorted positions of its neighbours (never itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weights {
    neighbours: Vec<Vec<u32>>,
}

impl Weights {
    /// Weights from neighbour lists given by position; duplicates are dropped and the lists sorted. Lists need not
    /// be symmetric. Refuses an entry naming the unit itself or a unit out of range.
    pub fn from_lists(lists: Vec<Vec<usize>>) -> Result<Weights, Error> {
        let n = lists.len();
        if n > u32::MAX as usize {
            return Err(Error::TooManyLinks { max: MAX_LINKS });
        }
        let mut links = 0usize;
        let mut neighbours = Vec::with_capacity(n);
        for (unit, list) in lists.into_iter().enumerate() {
            links = links.saturating_add(list.len());
            if links > MAX_LINKS {
                return Err(Error::TooManyLinks { max: MAX_LINKS });
            }
            let mut out = Vec::with_capacity(list.len());
            for neighbour in list {
                if neighbour == unit || neighbour >= n {
                    return Err(Error::BadNeighbour { unit, neighbour });
                }
                out.push(neighbour as u32);
            }
            out.sort_unstable();
            out.dedup();
            neighbours.push(out);
        }
        Ok(Weights { neighbours })
    }

    /// Weights of the given kind over `polygons` (lon/lat degrees for a distance band).
    pub fn build(polygons: &[MultiPolygon<f64>], spec: WeightsSpec) -> Result<Weights, Error> {
        match spec {
            WeightsSpec::Queen => contiguity(polygons, false),
            WeightsSpec::Rook => contiguity(polygons, true),
            WeightsSpec::DistanceBand { metres } => distance_band(polygons, metres),
        }
    }

    /// Number of units.
    pub fn len(&self) -> usize {
        self.neighbours.len()
    }

    /// Whether there are no units.
    pub fn is_empty(&self) -> bool {
        self.neighbours.is_empty()
    }

    /// The neighbours of unit `i`, sorted by position.
    pub fn neighbours(&self, i: usize) -> &[u32] {
        self.neighbours.get(i).map_or(&[], Vec::as_slice)
    }

    /// Units with no neighbour, by position.
    pub fn islands(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.neighbours[i].is_empty())
            .collect()
    }

    /// The largest number of neighbours of one unit.
    pub fn max_neighbours(&self) -> usize {
        self.neighbours.iter().map(Vec::len).max().unwrap_or(0)
    }

    /// Number of links (ordered pairs; a symmetric pair counts twice, as libpysal's `s0` for binary weights).
    pub fn links(&self) -> usize {
        self.neighbours.iter().map(Vec::len).sum()
    }
}

/// A coordinate as an exact, hashable and orderable key (-0 taken as 0).
fn key(x: f64, y: f64) -> (u64, u64) {
    ((x + 0.0).to_bits(), (y + 0.0).to_bits())
}

/// Queen (shared vertex) or rook (shared edge) contiguity: every vertex or edge is tagged with its polygon, the tags
/// sorted, and polygons whose tags meet become neighbours.
fn contiguity(polygons: &[MultiPolygon<f64>], rook: bool) -> Result<Weights, Error> {
    type Key = ((u64, u64), (u64, u64));
    let mut tags: Vec<(Key, u32)> = Vec::new();
    for (i, mp) in polygons.iter().enumerate() {
        if mp.0.is_empty() {
            return Err(Error::EmptyGeometry { unit: i });
        }
        let rings =
            mp.0.iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()));
        for ring in rings {
            if rook {
                for pair in ring.0.windows(2) {
                    let (a, b) = (key(pair[0].x, pair[0].y), key(pair[1].x, pair[1].y));
                    if a != b {
                        tags.push(((a.min(b), a.max(b)), i as u32));
                    }
                }
            } else {
                for c in &ring.0 {
                    tags.push(((key(c.x, c.y), (0, 0)), i as u32));
                }
            }
        }
    }
    tags.sort_unstable();
    tags.dedup();
    let mut lists: Vec<Vec<usize>> = vec![Vec::new(); polygons.len()];
    let mut links = 0usize;
    for group in tags.chunk_by(|a, b| a.0 == b.0) {
        if group.len() < 2 {
            continue;
        }
        links = links.saturating_add(group.len() * (group.len() - 1));
        if links > MAX_LINKS {
            return Err(Error::TooManyLinks { max: MAX_LINKS });
        }
        for a in group {
            for b in group {
                if a.1 != b.1 {
                    lists[a.1 as usize].push(b.1 as usize);
                }
            }
        }
    }
    Weights::from_lists(lists)
}

/// Great-circle distance in metres between two lon/lat points (haversine).
pub fn great_circle_metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lat2) = (a.1.to_radians(), b.1.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.0 - a.0).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_METRES * h.sqrt().min(1.0).asin()
}

/// Distance band between planar centroids: a sweep over the centroids sorted by latitude, so only pairs within the
/// band's latitude span are measured.
fn distance_band(polygons: &[MultiPolygon<f64>], metres: f64) -> Result<Weights, Error> {
    if !(metres > 0.0 && metres <= MAX_DISTANCE_METRES) {
        return Err(Error::Distance {
            metres,
            max: MAX_DISTANCE_METRES,
        });
    }
    let mut centres = Vec::with_capacity(polygons.len());
    for (unit, mp) in polygons.iter().enumerate() {
        let c = mp.centroid().ok_or(Error::EmptyGeometry { unit })?;
        let (lon, lat) = (c.x(), c.y());
        if !(lon.abs() <= 180.0 && lat.abs() <= 90.0) {
            return Err(Error::NotLonLat { unit, lon, lat });
        }
        centres.push((lon, lat));
    }
    let mut order: Vec<usize> = (0..centres.len()).collect();
    order.sort_unstable_by(|&a, &b| centres[a].1.total_cmp(&centres[b].1));
    // A small slack keeps pairs right at the band's edge for the exact test below.
    let span = (metres / EARTH_RADIUS_METRES).to_degrees() * (1.0 + 1e-9) + 1e-12;
    let mut lists: Vec<Vec<usize>> = vec![Vec::new(); polygons.len()];
    let mut evaluated = 0usize;
    for (k, &a) in order.iter().enumerate() {
        for &b in &order[k + 1..] {
            if centres[b].1 - centres[a].1 > span {
                break;
            }
            evaluated += 1;
            if evaluated > MAX_LINKS {
                return Err(Error::TooManyLinks { max: MAX_LINKS });
            }
            if great_circle_metres(centres[a], centres[b]) <= metres {
                lists[a].push(b);
                lists[b].push(a);
            }
        }
    }
    Weights::from_lists(lists)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};

    fn square(x: f64, y: f64) -> MultiPolygon<f64> {
        let ring = LineString::from(vec![
            (x, y),
            (x + 1.0, y),
            (x + 1.0, y + 1.0),
            (x, y + 1.0),
            (x, y),
        ]);
        MultiPolygon::new(vec![Polygon::new(ring, vec![])])
    }

    /// A 3 × 3 grid of unit squares, numbered row by row from the bottom left.
    fn grid() -> Vec<MultiPolygon<f64>> {
        (0..9)
            .map(|i| square(f64::from(i % 3), f64::from(i / 3)))
            .collect()
    }

    #[test]
    fn queen_on_a_grid_links_corners_and_rook_only_edges() {
        let q = Weights::build(&grid(), WeightsSpec::Queen).unwrap();
        assert_eq!(q.neighbours(4), &[0, 1, 2, 3, 5, 6, 7, 8]);
        assert_eq!(q.neighbours(0), &[1, 3, 4]);
        let r = Weights::build(&grid(), WeightsSpec::Rook).unwrap();
        assert_eq!(r.neighbours(4), &[1, 3, 5, 7]);
        assert_eq!(r.neighbours(0), &[1, 3]);
        assert_eq!(r.links(), 24);
        assert!(r.islands().is_empty());
    }

    #[test]
    fn a_polygon_apart_is_reported_as_an_island() {
        let mut polys = grid();
        polys.push(square(10.0, 10.0));
        let w = Weights::build(&polys, WeightsSpec::Queen).unwrap();
        assert_eq!(w.islands(), vec![9]);
    }

    #[test]
    fn a_distance_band_measures_great_circle_metres_between_centroids() {
        // Three small squares along the equator, 0.01° (about 1,112 m) apart.
        let s = |x: f64| {
            let ring = LineString::from(vec![
                (x, 0.0),
                (x + 0.001, 0.0),
                (x + 0.001, 0.001),
                (x, 0.001),
                (x, 0.0),
            ]);
            MultiPolygon::new(vec![Polygon::new(ring, vec![])])
        };
        let polys = vec![s(0.0), s(0.01), s(0.02)];
        let d = great_circle_metres((0.0005, 0.0005), (0.0105, 0.0005));
        assert!((d - 1111.95).abs() < 0.01, "{d}");
        let w = Weights::build(&polys, WeightsSpec::DistanceBand { metres: 1200.0 }).unwrap();
        assert_eq!(w.neighbours(1), &[0, 2]);
        assert_eq!(w.neighbours(0), &[1]);
        let w = Weights::build(&polys, WeightsSpec::DistanceBand { metres: 2300.0 }).unwrap();
        assert_eq!(w.neighbours(0), &[1, 2]);
    }

    #[test]
    fn a_distance_band_refuses_projected_coordinates_and_bad_bands() {
        let polys = vec![
            square(500_000.0, 4_400_000.0),
            square(500_001.0, 4_400_000.0),
        ];
        let e = Weights::build(&polys, WeightsSpec::DistanceBand { metres: 10.0 }).unwrap_err();
        assert_eq!(e.code(), "not_lon_lat");
        let e = Weights::build(&grid(), WeightsSpec::DistanceBand { metres: -1.0 }).unwrap_err();
        assert_eq!(e.code(), "bad_distance_band");
        assert!("distance:0".parse::<WeightsSpec>().is_err());
        assert!("distance:abc".parse::<WeightsSpec>().is_err());
        assert!("hexagon".parse::<WeightsSpec>().is_err());
        assert_eq!(
            "distance:250".parse::<WeightsSpec>(),
            Ok(WeightsSpec::DistanceBand { metres: 250.0 })
        );
    }

    #[test]
    fn neighbour_lists_naming_the_unit_itself_or_nobody_are_refused() {
        assert_eq!(
            Weights::from_lists(vec![vec![0], vec![]])
                .unwrap_err()
                .code(),
            "bad_neighbour"
        );
        assert_eq!(
            Weights::from_lists(vec![vec![5], vec![]])
                .unwrap_err()
                .code(),
            "bad_neighbour"
        );
        let w = Weights::from_lists(vec![vec![1, 1], vec![0]]).unwrap();
        assert_eq!(w.neighbours(0), &[1]);
    }
}
