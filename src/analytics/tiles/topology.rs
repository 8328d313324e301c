//! The topology of a polygon layer, and its simplification per zoom that keeps shared edges shared and every
//! polygon valid.
//!
//! Simplifying each polygon on its own moves the two copies of an edge between neighbours differently and opens
//! hairline gaps (or overlaps) on the map. Here every ring is cut into arcs at the points where neighbours meet, an
//! arc is stored once however many polygons use it, and each arc is simplified once: both neighbours then draw
//! the very same simplified line.
//!
//! Steps of [`Topology::new`] (input WGS-84 lon/lat; stored in normalised Mercator, see [`super::xyz`]):
//! 1. every ring loses its closing point and repeated points;
//! 2. every ring gains the vertices of other rings that lie inside its edges (T-junctions), so both sides of a
//!    shared boundary have the same vertices;
//! 3. a vertex is a *junction* when it is met with different neighbours (the rule of TopoJSON): where three
//!    polygons meet, where a shared edge leaves the layer's outline, where a ring touches itself;
//! 4. every ring is cut at its junctions into arcs; a ring with no junction (an island, or a hole filled by one
//!    polygon) is started at its smallest vertex, turned to a fixed direction and cut in three, so that the
//!    polygon and the hole it fills cut it alike; an arc that starts and ends at the same junction is cut in three
//!    too (so no arc is closed and a ring keeps at least three points);
//! 5. an arc and its reverse are the same arc: each is kept once, in a canonical direction.
//!
//! Steps of [`Topology::at_zoom`] (output in integer world units of the zoom: [`super::EXTENT`] per tile, y down):
//! 1. every arc is scaled to the zoom, simplified by Douglas–Peucker with tolerance [`super::TOLERANCE`] keeping
//!    its end points (junctions never move), rounded to integers, repeated points dropped;
//! 2. every polygon is reassembled from its arcs and checked: every ring at least three distinct points and a
//!    non-zero area, and the polygon valid by OGC rules (geo's `Validation`: no self-intersection, holes inside);
//! 3. the arcs of a polygon that fails are put back unsimplified (rounded only) — for every polygon that uses
//!    them, so a shared edge stays shared — and those polygons are checked again, until no arc changes (each round
//!    restores at least one arc, so there are at most as many rounds as arcs);
//! 4. a part that is still invalid with its arcs unsimplified (smaller than the zoom's grid unit) is left out at
//!    that zoom; its neighbours' edges around it are then within a unit of each other, below what a map shows.
//!
//! Not caught: two arcs of the layer's outer outline crossing each other across empty space outside every
//! polygon (no polygon holds both, so no check sees them); the partitions gridline builds have no such notches
//! narrower than the tolerance at the zooms each layer is served.

use super::{EXTENT, TOLERANCE};
use geo::{Area, Coord, LineString, MultiPolygon, Polygon, Validation};
use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};
use std::collections::HashMap;

type Pt = [f64; 2];
/// A vertex's identity: the bits of its lon/lat (shared vertices are bit for bit the same in gridline's layers).
type Key = (u64, u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ArcRef {
    arc: u32,
    reversed: bool,
}

/// A ring's vertices with their identities.
type Ring = Vec<(Key, Pt)>;

/// Rings of one polygon (exterior first) as arcs.
type PolygonArcs = Vec<Vec<ArcRef>>;

/// A polygon layer cut into shared arcs; see the module comment.
#[derive(Debug)]
pub struct Topology {
    /// Arcs in normalised Mercator coordinates, each with at least two points and distinct ends.
    arcs: Vec<Vec<Pt>>,
    /// Per feature, its polygons.
    features: Vec<Vec<PolygonArcs>>,
    /// Per arc, the features using it (in order, without repeats).
    users: Vec<Vec<u32>>,
    /// Per feature, its bounding box in normalised Mercator [min x, min y, max x, max y] (`None` when empty).
    bboxes: Vec<Option<[f64; 4]>>,
}

fn key(c: Coord<f64>) -> Key {
    (c.x.to_bits(), c.y.to_bits())
}

/// A ring's vertices (lon/lat) without the closing point and without repeats.
fn ring_keys(ring: &LineString<f64>) -> Vec<(Key, Pt)> {
    let mut out: Vec<(Key, Pt)> = Vec::with_capacity(ring.0.len());
    for c in &ring.0 {
        if !(c.x.is_finite() && c.y.is_finite()) {
            continue;
        }
        let k = key(*c);
        if out.last().is_some_and(|l| l.0 == k) {
            continue;
        }
        out.push((k, [c.x, c.y]));
    }
    while out.len() > 1 && out.first().map(|f| f.0) == out.last().map(|l| l.0) {
        out.pop();
    }
    out
}

/// Builds arcs, interning each once in a canonical direction.
#[derive(Default)]
struct Arcs {
    points: Vec<Vec<Pt>>,
    by_keys: HashMap<Vec<Key>, u32>,
}

impl Arcs {
    fn intern(&mut self, piece: &[(Key, Pt)]) -> ArcRef {
        let forward: Vec<Key> = piece.iter().map(|p| p.0).collect();
        let backward: Vec<Key> = forward.iter().rev().copied().collect();
        let reversed = backward < forward;
        let canonical = if reversed { backward } else { forward };
        if let Some(&arc) = self.by_keys.get(&canonical) {
            return ArcRef { arc, reversed };
        }
        let mut pts: Vec<Pt> = piece
            .iter()
            .map(|p| {
                let (x, y) = super::xyz::project(p.1[0], p.1[1]);
                [x, y]
            })
            .collect();
        if reversed {
            pts.reverse();
        }
        let arc = self.points.len() as u32;
        self.points.push(pts);
        self.by_keys.insert(canonical, arc);
        ArcRef { arc, reversed }
    }

    /// Cuts a closed piece (first point == last point) in three at fixed places of its canonical direction.
    fn intern_closed(&mut self, piece: &[(Key, Pt)], out: &mut Vec<ArcRef>) {
        let n = piece.len() - 1;
        let forward: Vec<Key> = piece.iter().map(|p| p.0).collect();
        let backward: Vec<Key> = forward.iter().rev().copied().collect();
        let owned: Vec<(Key, Pt)>;
        let (canon, flipped) = if backward < forward {
            owned = piece.iter().rev().copied().collect();
            (owned.as_slice(), true)
        } else {
            (piece, false)
        };
        let cuts = [0, n / 3, 2 * n / 3, n];
        let mut refs: Vec<ArcRef> = cuts
            .windows(2)
            .filter(|w| w[0] < w[1])
            .map(|w| self.intern(&canon[w[0]..=w[1]]))
            .collect();
        if flipped {
            refs.reverse();
            for r in &mut refs {
                r.reversed = !r.reversed;
            }
        }
        out.extend(refs);
    }
}

impl Topology {
    /// Builds the topology of a layer (WGS-84 lon/lat polygons, one multipolygon per feature).
    pub fn new(shapes: &[MultiPolygon<f64>]) -> Topology {
        let rings: Vec<Vec<Vec<Ring>>> = shapes
            .iter()
            .map(|mp| {
                mp.0.iter()
                    .map(|p| {
                        std::iter::once(p.exterior())
                            .chain(p.interiors())
                            .map(ring_keys)
                            .filter(|r| r.len() >= 3)
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let mut rings = rings;
        node(&mut rings);
        // Junctions: a vertex met with more than one pair of neighbours. `None` marks a junction.
        let mut seen: HashMap<Key, Option<(Key, Key)>> = HashMap::new();
        for ring in rings.iter().flatten().flatten() {
            let n = ring.len();
            for i in 0..n {
                let (p, v, q) = (ring[(i + n - 1) % n].0, ring[i].0, ring[(i + 1) % n].0);
                let pair = if p < q { (p, q) } else { (q, p) };
                seen.entry(v)
                    .and_modify(|e| {
                        if *e != Some(pair) {
                            *e = None;
                        }
                    })
                    .or_insert(Some(pair));
            }
        }
        let is_junction = |k: &Key| seen.get(k).is_some_and(Option::is_none);
        let mut arcs = Arcs::default();
        let mut features = Vec::with_capacity(rings.len());
        for feature in &rings {
            let mut polys = Vec::with_capacity(feature.len());
            for poly in feature {
                let mut out_rings = Vec::with_capacity(poly.len());
                for ring in poly {
                    out_rings.push(cut_ring(ring, &is_junction, &mut arcs));
                }
                // A polygon whose exterior was degenerate was filtered out above; skip one left without rings.
                if !out_rings.is_empty() {
                    polys.push(out_rings);
                }
            }
            features.push(polys);
        }
        let mut users: Vec<Vec<u32>> = vec![Vec::new(); arcs.points.len()];
        let mut bboxes = Vec::with_capacity(features.len());
        for (f, polys) in features.iter().enumerate() {
            let mut bbox: Option<[f64; 4]> = None;
            for r in polys.iter().flatten().flatten() {
                let u = &mut users[r.arc as usize];
                if u.last() != Some(&(f as u32)) {
                    u.push(f as u32);
                }
                for p in &arcs.points[r.arc as usize] {
                    let b = bbox.get_or_insert([p[0], p[1], p[0], p[1]]);
                    *b = [
                        b[0].min(p[0]),
                        b[1].min(p[1]),
                        b[2].max(p[0]),
                        b[3].max(p[1]),
                    ];
                }
            }
            bboxes.push(bbox);
        }
        for u in &mut users {
            u.sort_unstable();
            u.dedup();
        }
        Topology {
            arcs: arcs.points,
            features,
            users,
            bboxes,
        }
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// Whether the layer has no feature.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// Number of distinct arcs (a shared edge counts once).
    pub fn arc_count(&self) -> usize {
        self.arcs.len()
    }

    /// A feature's bounding box in normalised Mercator [min x, min y, max x, max y].
    pub fn bbox(&self, feature: usize) -> Option<[f64; 4]> {
        self.bboxes.get(feature).copied().flatten()
    }

    /// Every feature simplified for zoom `z`, in integer world units (see the module comment). Each polygon of
    /// the answer is valid; parts too small for the zoom are left out.
    pub fn at_zoom(&self, z: u8) -> Vec<MultiPolygon<f64>> {
        let scale = f64::from(EXTENT) * f64::from(super::xyz::TileId::count(z));
        let scaled =
            |a: &Vec<Pt>| -> Vec<Pt> { a.iter().map(|p| [p[0] * scale, p[1] * scale]).collect() };
        let simplified: Vec<Vec<Pt>> = self
            .arcs
            .iter()
            .map(|a| round_dedup(&douglas_peucker(&scaled(a), TOLERANCE)))
            .collect();
        let rounded: Vec<Vec<Pt>> = self.arcs.iter().map(|a| round_dedup(&scaled(a))).collect();
        let mut restored = vec![false; self.arcs.len()];
        let mut out: Vec<(MultiPolygon<f64>, bool)> = (0..self.features.len())
            .map(|f| self.assemble(f, &simplified, &rounded, &restored))
            .collect();
        let mut bad: Vec<usize> = (0..out.len()).filter(|&f| !out[f].1).collect();
        while !bad.is_empty() {
            let mut changed = Vec::new();
            for &f in &bad {
                for r in self.features[f].iter().flatten().flatten() {
                    if !restored[r.arc as usize] {
                        restored[r.arc as usize] = true;
                        changed.push(r.arc);
                    }
                }
            }
            if changed.is_empty() {
                break;
            }
            let mut affected: Vec<usize> = changed
                .iter()
                .flat_map(|&a| self.users[a as usize].iter().map(|&f| f as usize))
                .collect();
            affected.sort_unstable();
            affected.dedup();
            for &f in &affected {
                out[f] = self.assemble(f, &simplified, &rounded, &restored);
            }
            bad = affected.into_iter().filter(|&f| !out[f].1).collect();
        }
        out.into_iter()
            .map(|(mp, ok)| {
                if ok {
                    mp
                } else {
                    MultiPolygon(mp.0.into_iter().filter(polygon_ok).collect())
                }
            })
            .collect()
    }

    /// A feature's polygons from the current arcs, and whether every one of them is valid.
    fn assemble(
        &self,
        f: usize,
        simplified: &[Vec<Pt>],
        rounded: &[Vec<Pt>],
        restored: &[bool],
    ) -> (MultiPolygon<f64>, bool) {
        let mut ok = true;
        let mut polys = Vec::with_capacity(self.features[f].len());
        for poly in &self.features[f] {
            let mut rings = poly.iter().map(|ring| {
                let mut pts: Vec<Coord<f64>> = Vec::new();
                for r in ring {
                    let a = r.arc as usize;
                    let arc = if restored[a] {
                        &rounded[a]
                    } else {
                        &simplified[a]
                    };
                    let mut push = |p: &Pt| {
                        let c = Coord { x: p[0], y: p[1] };
                        if pts.last() != Some(&c) {
                            pts.push(c);
                        }
                    };
                    if r.reversed {
                        arc.iter().rev().for_each(&mut push);
                    } else {
                        arc.iter().for_each(&mut push);
                    }
                }
                LineString::new(pts)
            });
            let Some(exterior) = rings.next() else {
                continue;
            };
            let polygon = Polygon::new(exterior, rings.collect());
            ok &= polygon_ok(&polygon);
            polys.push(polygon);
        }
        (MultiPolygon(polys), ok)
    }
}

/// Adds to every ring the vertices of other rings that lie inside its edges (a T-junction: two polygons meet a
/// third along a straight edge of the third that has no vertex there), so that both sides of a shared boundary
/// have the same vertices. A vertex counts as on an edge within 1e-9° (0.1 mm).
fn node(rings: &mut [Vec<Vec<Ring>>]) {
    let mut all: HashMap<Key, Pt> = HashMap::new();
    for r in rings.iter().flatten().flatten() {
        for &(k, p) in r {
            all.insert(k, p);
        }
    }
    let tree: RTree<GeomWithData<Pt, Key>> = RTree::bulk_load(
        all.into_iter()
            .map(|(k, p)| GeomWithData::new(p, k))
            .collect(),
    );
    const EPS: f64 = 1e-9;
    for ring in rings.iter_mut().flatten().flatten() {
        let n = ring.len();
        let mut out: Ring = Vec::with_capacity(n);
        for i in 0..n {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            out.push(a);
            let env = AABB::from_corners(
                [a.1[0].min(b.1[0]) - EPS, a.1[1].min(b.1[1]) - EPS],
                [a.1[0].max(b.1[0]) + EPS, a.1[1].max(b.1[1]) + EPS],
            );
            let mut on: Vec<(f64, Key, Pt)> = tree
                .locate_in_envelope(&env)
                .filter(|e| e.data != a.0 && e.data != b.0)
                .filter_map(|e| {
                    let p = *e.geom();
                    on_segment(p, a.1, b.1, EPS).map(|t| (t, e.data, p))
                })
                .collect();
            on.sort_by(|x, y| x.0.total_cmp(&y.0));
            out.extend(on.into_iter().map(|(_, k, p)| (k, p)));
        }
        *ring = out;
    }
}

/// Where `p` lies along the segment a→b (0..1, ends excluded) when it is within `eps` of it.
fn on_segment(p: Pt, a: Pt, b: Pt, eps: f64) -> Option<f64> {
    let (vx, vy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = vx * vx + vy * vy;
    if len2 == 0.0 {
        return None;
    }
    let (wx, wy) = (p[0] - a[0], p[1] - a[1]);
    let t = (wx * vx + wy * vy) / len2;
    let cross = wx * vy - wy * vx;
    (t > 0.0 && t < 1.0 && cross.abs() <= eps * len2.sqrt()).then_some(t)
}

/// Cuts one ring (without closing point, at least three vertices) into interned arcs.
fn cut_ring(
    ring: &[(Key, Pt)],
    is_junction: &impl Fn(&Key) -> bool,
    arcs: &mut Arcs,
) -> Vec<ArcRef> {
    let n = ring.len();
    let mut out = Vec::new();
    let Some(first) = (0..n).find(|&i| is_junction(&ring[i].0)) else {
        // No junction: start at the smallest vertex, so every ring with these vertices is cut alike.
        let start = (0..n).min_by_key(|&i| ring[i].0).unwrap_or(0);
        let mut closed: Vec<(Key, Pt)> = (0..=n).map(|i| ring[(start + i) % n]).collect();
        closed[n] = closed[0];
        arcs.intern_closed(&closed, &mut out);
        return out;
    };
    let mut piece: Vec<(Key, Pt)> = vec![ring[first]];
    for step in 1..=n {
        let v = ring[(first + step) % n];
        piece.push(v);
        if step == n || is_junction(&v.0) {
            if piece.first().map(|p| p.0) == piece.last().map(|p| p.0) {
                arcs.intern_closed(&piece, &mut out);
            } else {
                out.push(arcs.intern(&piece));
            }
            piece = vec![v];
        }
    }
    out
}

/// Whether a polygon can be drawn: rings of at least three distinct points and non-zero area, valid by OGC rules.
fn polygon_ok(p: &Polygon<f64>) -> bool {
    let ring_ok = |r: &LineString<f64>| {
        r.0.len() >= 4 && Polygon::new(r.clone(), Vec::new()).unsigned_area() > 0.0
    };
    ring_ok(p.exterior()) && p.interiors().iter().all(ring_ok) && p.is_valid()
}

/// Rounds to integers and drops repeated points, keeping the first and last point.
fn round_dedup(pts: &[Pt]) -> Vec<Pt> {
    let mut out: Vec<Pt> = Vec::with_capacity(pts.len());
    for p in pts {
        let r = [p[0].round(), p[1].round()];
        if out.last() != Some(&r) {
            out.push(r);
        }
    }
    out
}

/// Douglas–Peucker keeping both end points: iterative, so a long arc cannot overflow the stack.
fn douglas_peucker(pts: &[Pt], tolerance: f64) -> Vec<Pt> {
    let n = pts.len();
    if n < 3 {
        return pts.to_vec();
    }
    let mut keep = vec![false; n];
    keep[0] = true;
    keep[n - 1] = true;
    let mut stack = vec![(0usize, n - 1)];
    while let Some((a, b)) = stack.pop() {
        let (mut best, mut best_d) = (0, tolerance);
        for i in a + 1..b {
            let d = segment_distance(pts[i], pts[a], pts[b]);
            if d > best_d {
                best = i;
                best_d = d;
            }
        }
        if best != 0 {
            keep[best] = true;
            stack.push((a, best));
            stack.push((best, b));
        }
    }
    pts.iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(p, _)| *p)
        .collect()
}

fn segment_distance(p: Pt, a: Pt, b: Pt) -> f64 {
    let (vx, vy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = vx * vx + vy * vy;
    let t = if len2 > 0.0 {
        (((p[0] - a[0]) * vx + (p[1] - a[1]) * vy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (dx, dy) = (p[0] - a[0] - t * vx, p[1] - a[1] - t * vy);
    (dx * dx + dy * dy).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, polygon};

    /// Lon/lat of the point `(u, v)` world units of zoom `z` east and north of a whole unit near (116.4, 39.9): the
    /// tests reason in the zoom's units, and whole units come back whole.
    fn at(z: u8, u: f64, v: f64) -> (f64, f64) {
        let scale = f64::from(EXTENT) * f64::from(super::super::xyz::TileId::count(z));
        let (x0, y0) = super::super::xyz::project(116.4, 39.9);
        let (x0, y0) = ((x0 * scale).floor(), (y0 * scale).floor());
        super::super::xyz::unproject((x0 + u) / scale, (y0 - v) / scale)
    }

    fn ring(z: u8, pts: &[(f64, f64)]) -> LineString<f64> {
        LineString::from(pts.iter().map(|&(u, v)| at(z, u, v)).collect::<Vec<_>>())
    }

    fn square(z: u8, pts: &[(f64, f64)]) -> MultiPolygon<f64> {
        MultiPolygon(vec![Polygon::new(ring(z, pts), Vec::new())])
    }

    /// The directed edges of a feature's rings, as integer point pairs.
    fn edges(mp: &MultiPolygon<f64>) -> Vec<((i64, i64), (i64, i64))> {
        mp.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|r| {
                r.lines().map(|l| {
                    (
                        (l.start.x as i64, l.start.y as i64),
                        (l.end.x as i64, l.end.y as i64),
                    )
                })
            })
            .collect()
    }

    /// Two neighbours along a zigzag boundary finer than the tolerance: both outlines simplified, and every edge
    /// of the one's shared boundary is an edge of the other, reversed (no gap, no overlap).
    #[test]
    fn two_neighbours_still_share_their_edge_after_simplification() {
        let z = 10;
        // A zigzag from (0,0) to (0,100) with 1-unit teeth: Douglas–Peucker with tolerance 4 flattens it.
        let zig: Vec<(f64, f64)> = (0..=100)
            .map(|i| (if i % 2 == 0 { 0.0 } else { 1.0 }, f64::from(i)))
            .collect();
        let mut west: Vec<(f64, f64)> = vec![(-100.0, 100.0), (-100.0, 0.0)];
        west.extend(zig.iter().copied());
        west.push((-100.0, 100.0));
        let mut east: Vec<(f64, f64)> = zig.iter().rev().copied().collect();
        east.extend([(100.0, 0.0), (100.0, 100.0), (0.0, 100.0)]);
        let topo = Topology::new(&[square(z, &west), square(z, &east)]);
        // The two outer outlines and the shared zigzag.
        assert_eq!(
            topo.arc_count(),
            3,
            "two outlines and the shared zigzag, stored once"
        );
        let out = topo.at_zoom(z);
        let (w, e) = (&out[0], &out[1]);
        let we = edges(w);
        let ee = edges(e);
        let vertices = |mp: &MultiPolygon<f64>| mp.0[0].exterior().0.len();
        assert!(
            vertices(w) < 10 && vertices(e) < 10,
            "the teeth are gone: {w:?}"
        );
        let shared: Vec<_> = we.iter().filter(|(a, b)| ee.contains(&(*b, *a))).collect();
        assert!(!shared.is_empty());
        // Every west edge is either on the outline (x ≠ the shared line's) or the reverse of an east edge.
        let x_shared = w.0[0]
            .exterior()
            .0
            .iter()
            .map(|c| c.x as i64)
            .max()
            .unwrap();
        for (a, b) in &we {
            if a.0 >= x_shared - 1 && b.0 >= x_shared - 1 {
                assert!(ee.contains(&(*b, *a)), "edge {a:?}→{b:?} is not shared");
            }
        }
        assert!(w.0.iter().chain(&e.0).all(|p| p.is_valid()));
    }

    /// A bump 3 units deep (below the tolerance) with a hole inside it: flattening the bump would leave the hole
    /// outside the polygon, so the arc is kept unsimplified and the polygon comes back valid, hole and all.
    #[test]
    fn simplification_never_leaves_an_invalid_polygon() {
        let z = 12;
        let exterior = ring(
            z,
            &[
                (0.0, 0.0),
                (30.0, 0.0),
                (50.0, -3.0),
                (70.0, 0.0),
                (100.0, 0.0),
                (100.0, 50.0),
                (0.0, 50.0),
                (0.0, 0.0),
            ],
        );
        let hole = ring(z, &[(46.0, -1.0), (50.0, -2.0), (54.0, -1.0), (46.0, -1.0)]);
        let shape = MultiPolygon(vec![Polygon::new(exterior, vec![hole])]);
        let out = Topology::new(&[shape]).at_zoom(z);
        assert_eq!(out[0].0.len(), 1);
        let p = &out[0].0[0];
        assert!(p.is_valid(), "{p:?}");
        assert_eq!(p.interiors().len(), 1);
        assert_eq!(p.exterior().0.len(), 8, "the bump is kept: {p:?}");
        // Without the hole, the same outline loses its bump.
        let bare = square(
            z,
            &[
                (0.0, 0.0),
                (30.0, 0.0),
                (50.0, -3.0),
                (70.0, 0.0),
                (100.0, 0.0),
                (100.0, 50.0),
                (0.0, 50.0),
                (0.0, 0.0),
            ],
        );
        assert_eq!(
            Topology::new(&[bare]).at_zoom(z)[0].0[0].exterior().0.len(),
            6,
            "the bump is gone (the arc ends where the ring was cut stay)"
        );
    }

    /// One polygon on the west whose east edge is a single segment, two on the east meeting it halfway (a
    /// T-junction): the west polygon gains the vertex, and both halves of its edge are shared.
    #[test]
    fn a_t_junction_is_noded_so_both_sides_share_the_edge() {
        let z = 12;
        let a = square(
            z,
            &[
                (0.0, 0.0),
                (100.0, 0.0),
                (100.0, 100.0),
                (0.0, 100.0),
                (0.0, 0.0),
            ],
        );
        let b = square(
            z,
            &[
                (100.0, 0.0),
                (200.0, 0.0),
                (200.0, 50.0),
                (100.0, 50.0),
                (100.0, 0.0),
            ],
        );
        let c = square(
            z,
            &[
                (100.0, 50.0),
                (200.0, 50.0),
                (200.0, 100.0),
                (100.0, 100.0),
                (100.0, 50.0),
            ],
        );
        let out = Topology::new(&[a, b, c]).at_zoom(z);
        let east: Vec<_> = edges(&out[1]).into_iter().chain(edges(&out[2])).collect();
        let x = out[0].0[0]
            .exterior()
            .0
            .iter()
            .map(|c| c.x as i64)
            .max()
            .unwrap();
        let shared: Vec<_> = edges(&out[0])
            .into_iter()
            .filter(|(p, q)| p.0 == x && q.0 == x)
            .collect();
        assert_eq!(shared.len(), 2, "{:?}", out[0]);
        for (p, q) in shared {
            assert!(
                east.contains(&(q, p)),
                "{p:?}→{q:?} is not an edge of the east side"
            );
        }
    }

    #[test]
    fn a_part_smaller_than_the_grid_unit_is_left_out() {
        let z = 0;
        // A 100 m square is far below one world unit at zoom 0 (about 10 km).
        let tiny = MultiPolygon(vec![polygon![
            (x: 116.4, y: 39.9), (x: 116.401, y: 39.9), (x: 116.401, y: 39.901), (x: 116.4, y: 39.901)
        ]]);
        let out = Topology::new(&[tiny]).at_zoom(z);
        assert!(out[0].0.is_empty());
    }

    #[test]
    fn douglas_peucker_keeps_ends_and_far_points() {
        let pts = [
            [0.0, 0.0],
            [5.0, 1.0],
            [10.0, 0.0],
            [15.0, 9.0],
            [20.0, 0.0],
        ];
        assert_eq!(
            douglas_peucker(&pts, 2.0),
            vec![[0.0, 0.0], [10.0, 0.0], [15.0, 9.0], [20.0, 0.0]]
        );
        assert_eq!(douglas_peucker(&pts[..2], 2.0), pts[..2].to_vec());
    }
}
