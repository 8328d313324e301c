//! The 100 m unit grid (万米单元网格) over Beijing, and tracing labelled squares into polygons.
//!
//! Coordinate system: WGS-84 lon/lat. The grid is equirectangular with its scale true at 40°N: a square is
//! 0.00117° of longitude by 0.0009° of latitude, about 99.8 m × 100.2 m at 40°N (98.4 m wide at the city's
//! northern edge). Square (i, j) spans longitudes `LON0 + i·DLON ..= LON0 + (i+1)·DLON` and latitudes
//! `LAT0 + j·DLAT ..= LAT0 + (j+1)·DLAT`; `j` grows northwards.
//!
//! Guarantees of [`trace`]: every label's squares become one valid MultiPolygon whose vertices are grid vertices
//! rounded to 1e-6° ([`vertex`]), so neighbouring regions share their edges bit for bit. Exteriors are
//! counter-clockwise and holes clockwise (RFC 7946). Where a label touches itself only diagonally at a vertex the
//! two squares are joined (8-connectivity for the region, 4-connectivity for its complement), which yields a hole
//! touching its shell at one point — valid in the OGC model — instead of a self-touching ring.

use geo::{Coord, LineString, MultiPolygon, Polygon};

/// Western edge of the grid (degrees).
pub const LON0: f64 = 115.40;
/// Southern edge of the grid (degrees).
pub const LAT0: f64 = 39.40;
/// Width of a square in degrees of longitude.
pub const DLON: f64 = 0.00117;
/// Height of a square in degrees of latitude.
pub const DLAT: f64 = 0.0009;
/// Squares west to east.
pub const NX: usize = 1840;
/// Squares south to north.
pub const NY: usize = 1890;
/// The label of a square outside every region.
pub const NONE: u32 = u32::MAX;

/// Index of square (i, j).
#[inline]
pub fn idx(i: usize, j: usize) -> u32 {
    (j * NX + i) as u32
}

/// Column and row of a square index.
#[inline]
pub fn ij(idx: u32) -> (usize, usize) {
    let k = idx as usize;
    (k % NX, k / NX)
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The lon/lat of grid vertex (i, j), rounded to 1e-6° so that every region computes the same bits.
pub fn vertex(i: usize, j: usize) -> (f64, f64) {
    (
        round6(LON0 + i as f64 * DLON),
        round6(LAT0 + j as f64 * DLAT),
    )
}

/// The centre of square (i, j).
pub fn center(i: usize, j: usize) -> (f64, f64) {
    (
        LON0 + (i as f64 + 0.5) * DLON,
        LAT0 + (j as f64 + 0.5) * DLAT,
    )
}

/// The 4-neighbours of a square inside the grid.
#[inline]
pub fn neighbours4(idx: u32) -> impl Iterator<Item = u32> {
    let (i, j) = ij(idx);
    let mut out = [u32::MAX; 4];
    if i > 0 {
        out[0] = idx - 1;
    }
    if i + 1 < NX {
        out[1] = idx + 1;
    }
    if j > 0 {
        out[2] = idx - NX as u32;
    }
    if j + 1 < NY {
        out[3] = idx + NX as u32;
    }
    out.into_iter().filter(|&n| n != u32::MAX)
}

/// Fills the squares whose centres lie inside `shape` (even-odd rule over all its rings, so self-intersecting
/// input still has a well-defined inside) by calling `fill` with each square index.
pub fn scanline_fill(shape: &MultiPolygon<f64>, mut fill: impl FnMut(u32)) {
    let mut edges: Vec<(Coord<f64>, Coord<f64>)> = Vec::new();
    for poly in &shape.0 {
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            for w in ring.0.windows(2) {
                edges.push((w[0], w[1]));
            }
        }
    }
    let mut xs: Vec<f64> = Vec::new();
    for j in 0..NY {
        let y = LAT0 + (j as f64 + 0.5) * DLAT;
        xs.clear();
        for (a, b) in &edges {
            if (a.y > y) != (b.y > y) {
                xs.push(a.x + (y - a.y) / (b.y - a.y) * (b.x - a.x));
            }
        }
        xs.sort_by(f64::total_cmp);
        for pair in xs.chunks_exact(2) {
            // Squares whose centre x lies in [pair[0], pair[1]).
            let first = ((pair[0] - LON0) / DLON - 0.5).ceil().max(0.0) as usize;
            let last = ((pair[1] - LON0) / DLON - 0.5).ceil().min(NX as f64) as usize;
            for i in first..last {
                fill(idx(i, j));
            }
        }
    }
}

/// 4-connected components of the squares carrying `label`, largest first (ties by lowest square index).
pub fn components(labels: &[u32], squares: &[u32]) -> Vec<Vec<u32>> {
    let Some(&first) = squares.first() else {
        return Vec::new();
    };
    let label = labels[first as usize];
    let mut seen = std::collections::HashSet::with_capacity(squares.len());
    let mut out = Vec::new();
    for &s in squares {
        if !seen.insert(s) {
            continue;
        }
        let mut comp = vec![s];
        let mut k = 0;
        while k < comp.len() {
            let c = comp[k];
            k += 1;
            for n in neighbours4(c) {
                if labels[n as usize] == label && seen.insert(n) {
                    comp.push(n);
                }
            }
        }
        comp.sort_unstable();
        out.push(comp);
    }
    out.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    out
}

/// Directions of boundary edges.
const EAST: u8 = 0;
const NORTH: u8 = 1;
const WEST: u8 = 2;
const SOUTH: u8 = 3;

/// Traces the outline of every label `0..n_labels` into a MultiPolygon (empty where a label has no square).
pub fn trace(labels: &[u32], n_labels: usize) -> Vec<MultiPolygon<f64>> {
    // (label, start vertex, direction) of every boundary edge, region on the left.
    let vx = |i: usize, j: usize| (j * (NX + 1) + i) as u32;
    let mut edges: Vec<(u32, u32, u8)> = Vec::new();
    let at = |i: isize, j: isize| -> u32 {
        if i < 0 || j < 0 || i >= NX as isize || j >= NY as isize {
            NONE
        } else {
            labels[j as usize * NX + i as usize]
        }
    };
    for j in 0..NY {
        for i in 0..NX {
            let l = labels[j * NX + i];
            if l == NONE {
                continue;
            }
            let (si, sj) = (i as isize, j as isize);
            if at(si, sj - 1) != l {
                edges.push((l, vx(i, j), EAST));
            }
            if at(si + 1, sj) != l {
                edges.push((l, vx(i + 1, j), NORTH));
            }
            if at(si, sj + 1) != l {
                edges.push((l, vx(i + 1, j + 1), WEST));
            }
            if at(si - 1, sj) != l {
                edges.push((l, vx(i, j + 1), SOUTH));
            }
        }
    }
    edges.sort_unstable();
    let mut used = vec![false; edges.len()];
    let mut out = vec![MultiPolygon::new(Vec::new()); n_labels];
    let mut start = 0;
    while start < edges.len() {
        let label = edges[start].0;
        let mut end = start;
        while end < edges.len() && edges[end].0 == label {
            end += 1;
        }
        let slice = &edges[start..end];
        let mut rings: Vec<Vec<(i64, i64)>> = Vec::new();
        for first in 0..slice.len() {
            if used[start + first] {
                continue;
            }
            rings.push(walk(slice, &mut used[start..end], first));
        }
        if let Some(slot) = out.get_mut(label as usize) {
            *slot = assemble(rings);
        }
        start = end;
    }
    out
}

fn step(v: u32, dir: u8) -> u32 {
    match dir {
        EAST => v + 1,
        NORTH => v + (NX + 1) as u32,
        WEST => v - 1,
        _ => v - (NX + 1) as u32,
    }
}

/// Follows unused edges from `first` until the ring closes; returns its corner vertices (grid units).
fn walk(slice: &[(u32, u32, u8)], used: &mut [bool], first: usize) -> Vec<(i64, i64)> {
    let label = slice[first].0;
    let mut cur = first;
    let mut corners = Vec::new();
    let mut prev_dir: Option<u8> = None;
    loop {
        used[cur] = true;
        let (_, v, dir) = slice[cur];
        if prev_dir != Some(dir) {
            let k = v as usize;
            corners.push(((k % (NX + 1)) as i64, (k / (NX + 1)) as i64));
        }
        prev_dir = Some(dir);
        let next_v = step(v, dir);
        // Outgoing edges from next_v: one, or two at a diagonal touch (then take the right turn).
        let lo = slice.partition_point(|e| (e.0, e.1) < (label, next_v));
        let mut choice = None;
        let mut k = lo;
        while k < slice.len() && slice[k].1 == next_v {
            if !used[k] || k == first {
                let d = slice[k].2;
                if choice.is_none() || d == (dir + 3) % 4 {
                    choice = Some(k);
                }
            }
            k += 1;
        }
        match choice {
            Some(k) if k == first => break,
            Some(k) => cur = k,
            None => break,
        }
    }
    // The first corner may be mid-run if the walk started inside a straight stretch.
    if corners.len() > 2 && prev_dir == Some(slice[first].2) {
        corners.remove(0);
    }
    corners
}

fn signed_area2(ring: &[(i64, i64)]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|k| {
            let (a, b) = (ring[k], ring[(k + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum()
}

fn to_linestring(ring: &[(i64, i64)]) -> LineString<f64> {
    let mut coords: Vec<Coord<f64>> = ring
        .iter()
        .map(|&(i, j)| {
            let (x, y) = vertex(i as usize, j as usize);
            Coord { x, y }
        })
        .collect();
    if let Some(&c) = coords.first() {
        coords.push(c);
    }
    LineString::new(coords)
}

/// Point-in-ring by the even-odd rule in doubled grid units (exact integer arithmetic).
fn inside2(ring: &[(i64, i64)], p: (i64, i64)) -> bool {
    let n = ring.len();
    let mut inside = false;
    for k in 0..n {
        let (a, b) = (ring[k], ring[(k + 1) % n]);
        let (a, b) = ((a.0 * 2, a.1 * 2), (b.0 * 2, b.1 * 2));
        if (a.1 > p.1) != (b.1 > p.1) {
            // x of the crossing; edges are axis-parallel so a vertical edge has a.0 == b.0.
            if p.0 < a.0 + (p.1 - a.1) * (b.0 - a.0) / (b.1 - a.1) {
                inside = !inside;
            }
        }
    }
    inside
}

/// A ring of grid vertices.
type Ring = Vec<(i64, i64)>;

fn assemble(rings: Vec<Ring>) -> MultiPolygon<f64> {
    let (shells, holes): (Vec<_>, Vec<_>) = rings.into_iter().partition(|r| signed_area2(r) > 0);
    let mut polys: Vec<(Ring, Vec<Ring>)> = shells.into_iter().map(|s| (s, Vec::new())).collect();
    for hole in holes {
        let target = if polys.len() == 1 {
            0
        } else {
            // The centre of the square to the right of the hole's first edge lies strictly inside the hole.
            let (a, b) = (hole[0], hole[1]);
            let (dx, dy) = ((b.0 - a.0).signum(), (b.1 - a.1).signum());
            let mid = (a.0 * 2 + dx, a.1 * 2 + dy);
            let probe = (mid.0 + dy, mid.1 - dx);
            polys
                .iter()
                .position(|(s, _)| inside2(s, probe))
                .unwrap_or(0)
        };
        if let Some(p) = polys.get_mut(target) {
            p.1.push(hole);
        }
    }
    MultiPolygon::new(
        polys
            .into_iter()
            .map(|(s, hs)| {
                Polygon::new(
                    to_linestring(&s),
                    hs.iter().map(|h| to_linestring(h)).collect(),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, Validation};

    fn raster(cells: &[(usize, usize, u32)]) -> Vec<u32> {
        let mut l = vec![NONE; NX * NY];
        for &(i, j, v) in cells {
            l[j * NX + i] = v;
        }
        l
    }

    #[test]
    fn a_ring_of_squares_traces_to_a_shell_with_a_hole() {
        let mut cells = Vec::new();
        for i in 10..15 {
            for j in 10..15 {
                if !(11..14).contains(&i) || !(11..14).contains(&j) {
                    cells.push((i, j, 0));
                }
            }
        }
        let mp = &trace(&raster(&cells), 1)[0];
        assert_eq!(mp.0.len(), 1);
        assert_eq!(mp.0[0].interiors().len(), 1);
        assert_eq!(mp.0[0].exterior().0.len(), 5);
        assert!(mp.is_valid());
        let expected = 16.0 * DLON * DLAT;
        assert!((mp.unsigned_area() - expected).abs() < 1e-9);
    }

    #[test]
    fn a_diagonal_touch_gives_a_hole_touching_its_shell_and_stays_valid() {
        // An L-shaped ring of label 0 whose ends meet only diagonally, enclosing label 1.
        let cells = vec![
            (10, 10, 0),
            (11, 10, 0),
            (12, 10, 0),
            (12, 11, 0),
            (12, 12, 0),
            (11, 12, 0),
            (10, 11, 1),
            (11, 11, 1),
        ];
        let mut cells = cells;
        cells.push((10, 12, 2));
        cells.push((9, 13, 0));
        cells.push((10, 13, 0));
        cells.push((11, 13, 0));
        let polys = trace(&raster(&cells), 3);
        assert!(polys.iter().all(|p| p.is_valid()), "{polys:?}");
    }

    #[test]
    fn neighbours_meet_on_their_shared_edge_without_overlap() {
        use geo::{BooleanOps, CoordinatePosition, coordinate_position::CoordPos};
        let cells = vec![(20, 20, 0), (21, 20, 1), (21, 21, 1)];
        let polys = trace(&raster(&cells), 2);
        let (x, _) = vertex(21, 20);
        let y = LAT0 + 20.5 * DLAT;
        for p in &polys {
            assert_eq!(p.coordinate_position(&Coord { x, y }), CoordPos::OnBoundary);
        }
        assert!(polys[0].intersection(&polys[1]).unsigned_area() < 1e-15);
    }

    #[test]
    fn scanline_fills_square_centres_inside_a_polygon() {
        let (x0, y0) = vertex(100, 100);
        let (x1, y1) = vertex(110, 105);
        let rect = geo::Rect::new(Coord { x: x0, y: y0 }, Coord { x: x1, y: y1 }).to_polygon();
        let mut n = 0;
        scanline_fill(&MultiPolygon::new(vec![rect]), |_| n += 1);
        assert_eq!(n, 50);
    }
}
