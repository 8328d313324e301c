//! Cutting a feature's geometry to one tile: polygons in integer world units of the tile's zoom go in, polygons
//! in tile coordinates (0..[`EXTENT`], y down) come out, clipped to the tile grown by [`BUFFER`] on every side,
//! with integer vertices, no repeated points, the winding MVT 2.1 asks for (exterior rings of positive area by the
//! surveyor's formula in tile coordinates, holes negative) and every polygon valid.
//!
//! The buffer keeps the cut outside what a map draws, so neighbours cut by the same tile edge line up on screen
//! and strokes do not end at tile seams.

use super::{BUFFER, EXTENT};
use geo::{
    BoundingRect, Coord, LineString, MultiPolygon, Orient, Polygon, Rect, Validation,
    orient::Direction,
};
use i_overlay::core::fill_rule::FillRule;
use i_overlay::core::overlay::ContourDirection;
use i_overlay::core::overlay_rule::OverlayRule;
use i_overlay::core::solver::Solver;
use i_overlay::float::overlay::{FloatOverlay, OverlayOptions};

/// The clip box in tile coordinates.
fn clip_rect() -> Rect<f64> {
    let lo = -f64::from(BUFFER);
    let hi = f64::from(EXTENT + BUFFER);
    Rect::new(Coord { x: lo, y: lo }, Coord { x: hi, y: hi })
}

/// The parts of `polygons` (integer world units) that fall in the tile whose top-left corner is `origin` (world
/// units), in tile coordinates; empty when nothing does.
pub fn clip_polygons(polygons: &MultiPolygon<f64>, origin: (f64, f64)) -> MultiPolygon<f64> {
    let rect = clip_rect();
    let mut out: Vec<Polygon<f64>> = Vec::new();
    for p in &polygons.0 {
        let Some(b) = p.bounding_rect() else {
            continue;
        };
        let (min, max) = (
            Coord {
                x: b.min().x - origin.0,
                y: b.min().y - origin.1,
            },
            Coord {
                x: b.max().x - origin.0,
                y: b.max().y - origin.1,
            },
        );
        if max.x < rect.min().x
            || min.x > rect.max().x
            || max.y < rect.min().y
            || min.y > rect.max().y
        {
            continue;
        }
        let local = translate(p, origin);
        let inside = min.x >= rect.min().x
            && max.x <= rect.max().x
            && min.y >= rect.min().y
            && max.y <= rect.max().y;
        if inside {
            out.push(local);
            continue;
        }
        out.extend(intersect(&local, rect).iter().filter_map(tidy));
    }
    let mut mp = MultiPolygon(out);
    mp = mp.orient(Direction::Default);
    mp
}

/// The parts of a polygon inside a rectangle. Every vertex of the input inside the rectangle stays, collinear or
/// not: a vertex where two neighbours meet along a third's straight edge is collinear for the third, and dropping
/// it there would leave the third's edge unshared (geo's `BooleanOps` drops such vertices, hence i_overlay with
/// options here). Output rings are OGC-valid.
fn intersect(p: &Polygon<f64>, rect: Rect<f64>) -> Vec<Polygon<f64>> {
    let contour = |r: &LineString<f64>| -> Vec<[f64; 2]> {
        let mut pts: Vec<[f64; 2]> = r.0.iter().map(|c| [c.x, c.y]).collect();
        if pts.len() > 1 && pts.first() == pts.last() {
            pts.pop();
        }
        pts
    };
    let subject: Vec<Vec<[f64; 2]>> = std::iter::once(p.exterior())
        .chain(p.interiors())
        .map(contour)
        .collect();
    let (lo, hi) = (rect.min(), rect.max());
    let clip = vec![[lo.x, lo.y], [hi.x, lo.y], [hi.x, hi.y], [lo.x, hi.y]];
    let options = OverlayOptions {
        preserve_input_collinear: true,
        output_direction: ContourDirection::CounterClockwise,
        preserve_output_collinear: true,
        min_output_area: 0.0,
        ogc: true,
        clean_result: false,
    };
    let shapes =
        FloatOverlay::with_subj_and_clip_custom(&subject, &clip, options, Solver::default())
            .overlay(OverlayRule::Intersect, FillRule::EvenOdd);
    shapes
        .into_iter()
        .filter_map(|shape| {
            let mut rings = shape.into_iter().map(|c| {
                let mut pts: Vec<Coord<f64>> =
                    c.iter().map(|p| Coord { x: p[0], y: p[1] }).collect();
                if let Some(&first) = pts.first() {
                    pts.push(first);
                }
                LineString::new(pts)
            });
            let exterior = rings.next()?;
            Some(Polygon::new(exterior, rings.collect()))
        })
        .collect()
}

fn translate(p: &Polygon<f64>, origin: (f64, f64)) -> Polygon<f64> {
    let shift = |r: &LineString<f64>| {
        LineString::new(
            r.0.iter()
                .map(|c| Coord {
                    x: c.x - origin.0,
                    y: c.y - origin.1,
                })
                .collect(),
        )
    };
    Polygon::new(
        shift(p.exterior()),
        p.interiors().iter().map(shift).collect(),
    )
}

/// Rounds a clipped piece's vertices (the cut adds points on the clip box with fractional coordinates along it),
/// drops repeated points and degenerate holes; `None` when the piece is degenerate or invalid once rounded.
fn tidy(p: &Polygon<f64>) -> Option<Polygon<f64>> {
    let round = |r: &LineString<f64>| -> Option<LineString<f64>> {
        let mut pts: Vec<Coord<f64>> = Vec::with_capacity(r.0.len());
        for c in &r.0 {
            let c = Coord {
                x: c.x.round(),
                y: c.y.round(),
            };
            if pts.last() != Some(&c) {
                pts.push(c);
            }
        }
        (pts.len() >= 4).then(|| LineString::new(pts))
    };
    let exterior = round(p.exterior())?;
    let holes: Vec<LineString<f64>> = p.interiors().iter().filter_map(round).collect();
    let poly = Polygon::new(exterior, holes);
    poly.is_valid().then_some(poly)
}

/// The signed area of a ring by MVT's surveyor's formula in tile coordinates (positive for an exterior ring).
pub fn mvt_ring_area(ring: &LineString<f64>) -> f64 {
    ring.lines()
        .map(|l| l.start.x * l.end.y - l.end.x * l.start.y)
        .sum::<f64>()
        / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, polygon};

    #[test]
    fn a_polygon_across_the_tile_edge_is_cut_at_the_buffer() {
        // World units at some zoom; the tile's origin is (8192, 4096): the square spans x = 8000..8400 (tile
        // x = -192..208) and y = 4196..4296 (tile y = 100..200).
        let sq = MultiPolygon(vec![polygon![
            (x: 8000.0, y: 4196.0), (x: 8400.0, y: 4196.0), (x: 8400.0, y: 4296.0), (x: 8000.0, y: 4296.0)
        ]]);
        let out = clip_polygons(&sq, (8192.0, 4096.0));
        assert_eq!(out.0.len(), 1);
        let r = out.0[0].bounding_rect().unwrap();
        assert_eq!((r.min().x, r.max().x), (-64.0, 208.0));
        assert_eq!((r.min().y, r.max().y), (100.0, 200.0));
        assert_eq!(out.0[0].unsigned_area(), 272.0 * 100.0);
        assert!(mvt_ring_area(out.0[0].exterior()) > 0.0, "exterior winding");
        assert!(out.0[0].is_valid());
    }

    #[test]
    fn a_polygon_outside_the_buffer_is_left_out_and_one_inside_kept_whole() {
        let far = MultiPolygon(vec![polygon![
            (x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0)
        ]]);
        assert!(clip_polygons(&far, (8192.0, 4096.0)).0.is_empty());
        // Clockwise in y-up terms (negative MVT area) going in, turned to MVT's exterior winding coming out.
        let inside = MultiPolygon(vec![polygon![
            exterior: [(x: 10.0, y: 10.0), (x: 10.0, y: 100.0), (x: 100.0, y: 100.0), (x: 100.0, y: 10.0)],
            interiors: [[(x: 40.0, y: 40.0), (x: 60.0, y: 40.0), (x: 60.0, y: 60.0), (x: 40.0, y: 60.0)]],
        ]]);
        let out = clip_polygons(&inside, (0.0, 0.0));
        assert_eq!(out.0.len(), 1);
        assert!(mvt_ring_area(out.0[0].exterior()) > 0.0);
        assert!(
            mvt_ring_area(&out.0[0].interiors()[0]) < 0.0,
            "holes wind the other way"
        );
        assert_eq!(out.0[0].unsigned_area(), 90.0 * 90.0 - 20.0 * 20.0);
    }

    #[test]
    fn a_collinear_vertex_inside_the_tile_survives_the_cut() {
        // (50, 10) lies on the straight bottom edge: a neighbour's corner there must stay a vertex.
        let p = MultiPolygon(vec![polygon![
            (x: -200.0, y: 10.0), (x: 50.0, y: 10.0), (x: 100.0, y: 10.0), (x: 100.0, y: 60.0), (x: -200.0, y: 60.0)
        ]]);
        let out = clip_polygons(&p, (0.0, 0.0));
        assert_eq!(out.0.len(), 1);
        assert!(
            out.0[0].exterior().0.contains(&Coord { x: 50.0, y: 10.0 }),
            "{out:?}"
        );
        assert!(out.0[0].is_valid() && mvt_ring_area(out.0[0].exterior()) > 0.0);
    }

    #[test]
    fn a_concave_polygon_cut_in_two_gives_two_valid_pieces() {
        // A U whose arms cross the tile's left buffer line at x = -64 and whose base lies outside it.
        let u = MultiPolygon(vec![polygon![
            (x: -200.0, y: 0.0), (x: 100.0, y: 0.0), (x: 100.0, y: 50.0), (x: -100.0, y: 50.0),
            (x: -100.0, y: 150.0), (x: 100.0, y: 150.0), (x: 100.0, y: 200.0), (x: -200.0, y: 200.0)
        ]]);
        let out = clip_polygons(&u, (0.0, 0.0));
        assert_eq!(out.0.len(), 2);
        assert!(
            out.0
                .iter()
                .all(|p| p.is_valid() && mvt_ring_area(p.exterior()) > 0.0)
        );
    }
}
