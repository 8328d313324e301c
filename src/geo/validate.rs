//! Checking a user's GeoJSON boundary layer before it may be imported (`gridline geodata check FILE`).
//!
//! What is checked, per feature: the code (present, well-formed, of the expected level, unique, consistent with a
//! `parent` property), the name, the geometry (readable, non-empty, finite, valid by OGC rules) and the coordinate
//! system (WGS-84 lon/lat, not swapped, inside Beijing). Across the features of one level: overlaps and gaps
//! (holes inside the union). Against the places of the level above, when given: every feature's parent exists,
//! every feature lies within its parent, and every parent is covered by its children.
//!
//! Guarantees: [`check`] reports every problem it finds rather than stopping at the first; problems come out
//! grouped by feature in file order, then the whole-file and parent problems, and the same input always gives the
//! same report. It does not panic on bad input: nothing here unwraps, and geo's algorithms are only given finite
//! coordinates, the boolean operations only shapes that passed validation (and the trusted parents). A feature
//! whose geometry is unusable (unreadable, invalid, not lon/lat, outside Beijing) is left out of the overlap, gap
//! and nesting checks, because their results on such a shape would be noise; its own problems say what to fix
//! first. A clean partition, such as the generated default layers, gives no problem at all: shared edges are
//! compared exactly (in a fixed-point frame, see `FRAME_SCALE`), and areas of 1 m² or less are not reported.
//!
//! Areas are planar, converted to m² at the latitude of the measured shape (1° of latitude ≈ 110,574 m, 1° of
//! longitude ≈ 111,320 m · cos φ); over the extent of a community or a gap this is within a fraction of a percent
//! of the geodesic area. Checking the default cell layer (~20,000 cells) against its communities takes about 8 s in
//! the dev profile.

use crate::geo::layers::RawFeature;
use crate::geo::place::{Level, Place, PlaceCode};
use geo::algorithm::coordinate_position::CoordPos;
use geo::algorithm::dimensions::{Dimensions, HasDimensions};
use geo::algorithm::sweep::{Cross, Intersections};
use geo::algorithm::validation::{
    CoordIndex, GeometryIndex, InvalidMultiPolygon, InvalidPolygon, RingRole,
};
use geo::line_intersection::LineIntersection;
use geo::orient::Direction;
use geo::{
    Area, BooleanOps, BoundingRect, Coord, InteriorPoint, Line, LineString, MapCoords,
    MultiPolygon, Orient, Polygon, PreparedGeometry, Rect, Relate, RemoveRepeatedPoints,
};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use std::collections::{BTreeMap, HashMap};

/// Metres per degree of latitude.
const M_PER_DEG_LAT: f64 = 110_574.0;
/// Metres per degree of longitude at the equator.
const M_PER_DEG_LON: f64 = 111_320.0;
/// Overlaps, gaps and parts outside a parent at or below this area (m²) are rounding, not mistakes.
const MIN_AREA_M2: f64 = 1.0;
/// A parent may be left uncovered by its children up to this share of its area ...
const COVER_TOLERANCE_SHARE: f64 = 0.001;
/// ... or this many m², whichever is larger.
const COVER_TOLERANCE_M2: f64 = 1_000.0;
/// Beijing's extent in degrees (lon min, lon max, lat min, lat max).
const EXTENT: (f64, f64, f64, f64) = (115.0, 118.0, 39.0, 41.5);
/// Where lon/lat swapped into lat/lon order land for anywhere in China (x is the latitude range, y the longitude).
const SWAPPED: (f64, f64, f64, f64) = (3.0, 54.0, 73.0, 136.0);

/// One problem found in a file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Problem {
    /// The feature's code, or "feature #N" (RawFeature::label), or "file" for whole-file problems.
    pub feature: String,
    /// A stable snake_case code, e.g. "invalid_geometry", "self_intersection", "overlap", "gap", "duplicate_code",
    /// "missing_code", "malformed_code", "wrong_level", "parent_missing", "not_within_parent", "parent_not_covered",
    /// "coordinates_swapped", "not_lon_lat", "outside_extent", "missing_name", "empty_file".
    /// [`PROBLEM_KINDS`] lists them all.
    pub kind: &'static str,
    /// A sentence a person can act on (English), naming coordinates/areas where useful.
    pub message: String,
}

/// Every problem kind [`check`] can report, in the order of the checks.
pub const PROBLEM_KINDS: [&str; 18] = [
    "empty_file",
    "missing_code",
    "malformed_code",
    "wrong_level",
    "duplicate_code",
    "parent_mismatch",
    "missing_name",
    "invalid_geometry",
    "self_intersection",
    "coordinates_swapped",
    "not_lon_lat",
    "outside_extent",
    "overlap",
    "gap",
    "parent_missing",
    "not_within_parent",
    "parent_not_covered",
    "parent_unchecked",
];

/// What the file is checked against.
pub struct CheckContext<'a> {
    /// The level every feature must have (`--level`), or None to infer each feature's level from its code length.
    pub level: Option<Level>,
    /// Places of the level above that the features must nest in (by code prefix and geometrically), when known.
    pub parents: Option<&'a [Place]>,
}

/// What pass 1 learnt about one feature.
struct Item<'a> {
    raw: &'a RawFeature,
    label: String,
    /// The parsed code and its level, when it parses.
    code: Option<(PlaceCode, Level)>,
    /// The code is present, well-formed, of the right level, not the city and not a repeat: it can be nested.
    code_ok: bool,
    /// The first feature with this code (repeats are not built into places).
    first_of_code: bool,
    /// The level this feature is compared with others under: `--level`, else the level of its code.
    group: Option<Level>,
    /// The outline in the fixed-point frame ([`to_frame`]), exteriors counter-clockwise, when it is fit for the
    /// geometric checks.
    geometry: Option<MultiPolygon<f64>>,
    /// Its bounding box, in the frame.
    bbox: Option<Rect<f64>>,
}

/// Problems with the position they sort at: a feature's index, or after every feature.
struct Report {
    problems: Vec<(usize, Problem)>,
    after_features: usize,
}

impl Report {
    fn feature(&mut self, item: &Item<'_>, kind: &'static str, message: String) {
        self.problems.push((
            item.raw.index,
            Problem {
                feature: item.label.clone(),
                kind,
                message,
            },
        ));
    }

    fn other(&mut self, feature: &str, kind: &'static str, message: String) {
        self.problems.push((
            self.after_features,
            Problem {
                feature: feature.to_owned(),
                kind,
                message,
            },
        ));
    }
}

/// Checks features; returns the places that could be built from them (even if there are problems) and every problem.
///
/// A place is built from every feature whose code parses and whose geometry could be read and has finite
/// coordinates, once per code (the first feature with a code wins), with its level taken from its code, its parent
/// from the code's prefix, exteriors counter-clockwise (RFC 7946) and an empty name when the feature has none.
/// Whether to import despite problems is the caller's decision.
pub fn check(features: &[RawFeature], ctx: &CheckContext<'_>) -> (Vec<Place>, Vec<Problem>) {
    let mut report = Report {
        problems: Vec::new(),
        after_features: features.iter().map(|f| f.index + 1).max().unwrap_or(0),
    };
    if features.is_empty() {
        report.other(
            "file",
            "empty_file",
            "the file has no features; a boundary layer needs at least one Polygon or MultiPolygon feature".to_owned(),
        );
        return (Vec::new(), finish(report));
    }

    let mut first_index: HashMap<&str, usize> = HashMap::new();
    let items: Vec<Item<'_>> = features
        .iter()
        .map(|f| check_feature(f, ctx, &mut first_index, &mut report))
        .collect();

    let places = items
        .iter()
        .filter(|it| it.first_of_code)
        .filter_map(|it| {
            let (code, level) = it.code.clone()?;
            // Orienting compares coordinates and would panic on NaN.
            let geometry = it
                .raw
                .geometry
                .as_ref()
                .ok()
                .filter(|g| !g.0.is_empty() && all_finite(g))?
                .orient(Direction::Default);
            Some(Place {
                parent: code.parent(),
                code,
                name: it.raw.name.clone().unwrap_or_default(),
                level,
                geometry,
            })
        })
        .collect();

    let mut groups: BTreeMap<Option<Level>, Vec<usize>> = BTreeMap::new();
    for (k, it) in items.iter().enumerate() {
        if it.geometry.is_some() {
            groups.entry(it.group).or_default().push(k);
        }
    }
    for members in groups.values() {
        check_overlaps_and_gaps(&items, members, &mut report);
    }
    if let Some(parents) = ctx.parents {
        check_nesting(&items, parents, ctx.level, &mut report);
    }
    (places, finish(report))
}

fn finish(mut report: Report) -> Vec<Problem> {
    // Stable: within one position, problems stay in the order of the checks.
    report.problems.sort_by_key(|(pos, _)| *pos);
    report.problems.into_iter().map(|(_, p)| p).collect()
}

/// Pass 1: everything that can be said about a feature on its own.
fn check_feature<'a>(
    f: &'a RawFeature,
    ctx: &CheckContext<'_>,
    first_index: &mut HashMap<&'a str, usize>,
    report: &mut Report,
) -> Item<'a> {
    let mut it = Item {
        raw: f,
        label: f.label(),
        code: None,
        code_ok: false,
        first_of_code: false,
        group: ctx.level,
        geometry: None,
        bbox: None,
    };
    check_code(&mut it, ctx, first_index, report);
    if f.name.as_deref().is_none_or(str::is_empty) {
        report.feature(
            &it,
            "missing_name",
            "the feature has no `name` property; give every place its official name".to_owned(),
        );
    }
    if let Some(mp) = usable_geometry(&it, report) {
        let framed = to_frame(&mp.orient(Direction::Default));
        it.bbox = framed.bounding_rect();
        it.geometry = Some(framed);
    }
    it
}

fn check_code<'a>(
    it: &mut Item<'a>,
    ctx: &CheckContext<'_>,
    first_index: &mut HashMap<&'a str, usize>,
    report: &mut Report,
) {
    let f = it.raw;
    let Some(text) = f.code.as_deref().filter(|c| !c.is_empty()) else {
        report.feature(
            it,
            "missing_code",
            "the feature has no `code` property (or feature id); give it its 6-, 9-, 12- or 15-digit place code"
                .to_owned(),
        );
        return;
    };
    let Some((code, level)) = PlaceCode::parse(text) else {
        report.feature(
            it,
            "malformed_code",
            format!(
                "the code \"{text}\" is not a place code: expected only digits, 6 for a district (not ending in 00), \
                 9 for a street, 12 for a community or 15 for a grid cell"
            ),
        );
        return;
    };
    let mut ok = true;
    match ctx.level {
        Some(want) if want != level => {
            report.feature(
                it,
                "wrong_level",
                format!(
                    "the code {code} is a {level} code ({} digits) but this file is checked as a {want} layer \
                     ({} digits)",
                    level.code_len(),
                    want.code_len()
                ),
            );
            ok = false;
        }
        None if level == Level::City => {
            report.feature(
                it,
                "wrong_level",
                format!("the code {code} is the city itself, which is not imported from a file; use district codes"),
            );
            ok = false;
        }
        _ => {}
    }
    if ctx.level.is_none() {
        it.group = Some(level);
    }
    match first_index.get(text) {
        Some(first) => {
            report.feature(
                it,
                "duplicate_code",
                format!(
                    "the code {code} is also used by feature #{first}; every place needs its own code (merge the two \
                     outlines into one MultiPolygon if they are parts of one place)"
                ),
            );
            ok = false;
        }
        None => {
            first_index.insert(text, f.index);
            it.first_of_code = true;
        }
    }
    if let Some(given) = f.parent.as_deref().filter(|p| !p.is_empty()) {
        let expected = code.parent();
        if expected.as_ref().map(PlaceCode::as_str) != Some(given) {
            let by_rule = match &expected {
                Some(p) => format!("its code says {p}"),
                None => "the city has no parent".to_owned(),
            };
            report.feature(
                it,
                "parent_mismatch",
                format!(
                    "the `parent` property is {given} but {by_rule}; a place's parent is the prefix of its code, so \
                     fix the code or the parent"
                ),
            );
        }
    }
    it.code_ok = ok && level != Level::City;
    it.code = Some((code, level));
}

fn all_finite(mp: &MultiPolygon<f64>) -> bool {
    mp.0.iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| r.0.iter())
        .all(|c| c.x.is_finite() && c.y.is_finite())
}

/// Checks the geometry and its coordinate system; returns it when it is fit for the checks across features.
fn usable_geometry(it: &Item<'_>, report: &mut Report) -> Option<MultiPolygon<f64>> {
    let mp = match &it.raw.geometry {
        Ok(mp) => mp,
        Err(e) => {
            report.feature(
                it,
                "invalid_geometry",
                format!("the geometry cannot be read: {e}"),
            );
            return None;
        }
    };
    let rings = || {
        mp.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
    };
    if mp.0.is_empty() || mp.0.iter().all(|p| p.exterior().0.is_empty()) {
        report.feature(
            it,
            "invalid_geometry",
            "the geometry is empty; draw the place's outline".to_owned(),
        );
        return None;
    }
    if let Some(c) = rings()
        .flat_map(|r| r.0.iter())
        .find(|c| !c.x.is_finite() || !c.y.is_finite())
    {
        report.feature(
            it,
            "invalid_geometry",
            format!(
                "the geometry has a coordinate that is not a finite number ({}, {})",
                c.x, c.y
            ),
        );
        return None;
    }

    let mut usable = true;
    let mut crossings = Vec::new();
    let mut others = Vec::new();
    for e in validation_errors(mp) {
        let text = e.to_string();
        if text.contains("self-intersection") {
            &mut crossings
        } else {
            &mut others
        }
        .push(text);
    }
    if !crossings.is_empty() {
        let at = self_intersection_point(mp)
            .map(|c| format!(" near {}", fmt_coord(c)))
            .unwrap_or_default();
        report.feature(
            it,
            "self_intersection",
            format!(
                "the outline crosses or touches itself{at} ({}); redraw it so that no edge crosses another",
                crossings.join("; ")
            ),
        );
        usable = false;
    }
    if !others.is_empty() {
        report.feature(
            it,
            "invalid_geometry",
            format!(
                "the geometry is not valid: {}; repair it (e.g. QGIS \"Fix geometries\")",
                others.join("; ")
            ),
        );
        usable = false;
    }

    let Some(bbox) = mp.bounding_rect() else {
        report.feature(
            it,
            "invalid_geometry",
            "the geometry has no coordinates".to_owned(),
        );
        return None;
    };
    let (min, max) = (bbox.min(), bbox.max());
    let within =
        |b: (f64, f64, f64, f64)| min.x >= b.0 && max.x <= b.1 && min.y >= b.2 && max.y <= b.3;
    let extent = format!(
        "x {:.6} to {:.6}, y {:.6} to {:.6}",
        min.x, max.x, min.y, max.y
    );
    // Swapped first: latitude-longitude order puts longitudes above 90 into y, which otherwise reads as metres.
    if within(SWAPPED) {
        report.feature(
            it,
            "coordinates_swapped",
            format!(
                "the coordinates ({extent}) look like latitude, longitude; GeoJSON wants longitude first, so swap \
                 the axes"
            ),
        );
        usable = false;
    } else if min.x.abs().max(max.x.abs()) > 180.0 || min.y.abs().max(max.y.abs()) > 90.0 {
        report.feature(
            it,
            "not_lon_lat",
            format!(
                "the coordinates ({extent}) are not degrees of longitude and latitude, probably projected metres; \
                 export the layer as WGS-84 (EPSG:4326)"
            ),
        );
        usable = false;
    } else if !within(EXTENT) {
        report.feature(
            it,
            "outside_extent",
            format!(
                "the feature lies at {extent}, outside Beijing (longitude {} to {}, latitude {} to {}); check that \
                 the file is a Beijing layer in WGS-84 lon/lat and that this feature's coordinates are right",
                EXTENT.0, EXTENT.1, EXTENT.2, EXTENT.3
            ),
        );
        usable = false;
    }
    usable.then(|| mp.clone())
}

/// The validity problems of a multipolygon: exactly what geo's `Validation::validation_errors` reports, in the
/// same order, but near-linear in the number of vertices.
///
/// Why not geo's own: its ring check compares every edge with every other edge (40,000 vertices took 9.5 s, a
/// million would take hours). Here each ring's edges go into an R-tree of their bounding boxes and only edges whose
/// boxes meet are compared, with geo's own rule for what counts as a crossing ([`ring_crosses_itself`]). The pairs
/// of polygons are first compared by bounding box, which cannot change an answer: polygons whose boxes do not meet
/// neither overlap nor touch. The other rules (too few points, rings crossing rings, holes outside the shell) are
/// geo's, called the same way.
pub fn validation_errors(mp: &MultiPolygon<f64>) -> Vec<InvalidMultiPolygon> {
    let mut out = Vec::new();
    let boxes: Vec<Option<Rect<f64>>> = mp.0.iter().map(BoundingRect::bounding_rect).collect();
    for (i, polygon) in mp.0.iter().enumerate() {
        out.extend(
            polygon_errors(polygon)
                .into_iter()
                .map(|e| InvalidMultiPolygon::InvalidPolygon(GeometryIndex(i), e)),
        );
        for (j, other) in mp.0.iter().enumerate().skip(i + 1) {
            let meet = match (
                boxes.get(i).copied().flatten(),
                boxes.get(j).copied().flatten(),
            ) {
                (Some(a), Some(b)) => geo::Intersects::intersects(&a, &b),
                _ => true,
            };
            if !meet {
                continue;
            }
            let im = polygon.relate(other);
            if im.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional {
                out.push(InvalidMultiPolygon::ElementsOverlaps(
                    GeometryIndex(i),
                    GeometryIndex(j),
                ));
            }
            if im.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional {
                out.push(InvalidMultiPolygon::ElementsTouchOnALine(
                    GeometryIndex(i),
                    GeometryIndex(j),
                ));
            }
        }
    }
    out
}

/// The problems of one polygon, as geo's `Validation for Polygon` reports them.
fn polygon_errors(polygon: &Polygon<f64>) -> Vec<InvalidPolygon> {
    let mut out = Vec::new();
    if polygon.is_empty() {
        return out;
    }
    for (k, ring) in std::iter::once(polygon.exterior())
        .chain(polygon.interiors())
        .enumerate()
    {
        if ring.is_empty() {
            continue;
        }
        let role = match k {
            0 => RingRole::Exterior,
            n => RingRole::Interior(n - 1),
        };
        if ring.remove_repeated_points().0.len() < 4 {
            out.push(InvalidPolygon::TooFewPointsInRing(role));
        }
        if ring_crosses_itself(ring) {
            out.push(InvalidPolygon::SelfIntersection(role));
        }
        for (c, coord) in ring.0.iter().enumerate() {
            if !coord.x.is_finite() || !coord.y.is_finite() {
                out.push(InvalidPolygon::NonFiniteCoord(role, CoordIndex(c)));
            }
        }
    }
    if !polygon.interiors().iter().any(|r| !r.is_empty()) {
        return out;
    }
    let shell = Polygon::new(polygon.exterior().clone(), Vec::new());
    let shell = PreparedGeometry::from(&shell);
    for (a, hole) in polygon.interiors().iter().enumerate() {
        if hole.is_empty() {
            continue;
        }
        let hole_polygon = Polygon::new(hole.clone(), Vec::new());
        let prepared_hole = PreparedGeometry::from(&hole_polygon);
        let im = shell.relate(&prepared_hole);
        if !im.is_contains() {
            out.push(InvalidPolygon::InteriorRingNotContainedInExteriorRing(
                RingRole::Interior(a),
            ));
        }
        if im.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional {
            out.push(InvalidPolygon::IntersectingRingsOnALine(
                RingRole::Exterior,
                RingRole::Interior(a),
            ));
        }
        for (b, other) in polygon.interiors().iter().enumerate().skip(a + 1) {
            if other.is_empty() {
                continue;
            }
            let im = prepared_hole.relate(&Polygon::new(other.clone(), Vec::new()));
            if im.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional {
                out.push(InvalidPolygon::IntersectingRingsOnAnArea(
                    RingRole::Interior(a),
                    RingRole::Interior(b),
                ));
            }
            if im.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional {
                out.push(InvalidPolygon::IntersectingRingsOnALine(
                    RingRole::Interior(a),
                    RingRole::Interior(b),
                ));
            }
        }
    }
    out
}

/// An edge of a ring in the R-tree: its bounding box and its position in the ring.
type EdgeBox = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// Whether a ring crosses or touches itself, by geo's rule: two different edges intersect, and neither ends where
/// the other starts (which is how consecutive edges meet). Only edges whose bounding boxes meet are compared, so a
/// ring of n vertices takes about n log n steps instead of n².
fn ring_crosses_itself(ring: &LineString<f64>) -> bool {
    let edges: Vec<Line<f64>> = ring.lines().collect();
    let tree: RTree<EdgeBox> = RTree::bulk_load(
        edges
            .iter()
            .enumerate()
            .map(|(k, e)| {
                EdgeBox::new(
                    Rectangle::from_corners([e.start.x, e.start.y], [e.end.x, e.end.y]),
                    k,
                )
            })
            .collect(),
    );
    edges.iter().enumerate().any(|(i, a)| {
        let envelope = AABB::from_corners([a.start.x, a.start.y], [a.end.x, a.end.y]);
        tree.locate_in_envelope_intersecting(&envelope).any(|hit| {
            let j = hit.data;
            // The rule is symmetric in the two edges, so each pair is decided once.
            j > i
                && edges.get(j).is_some_and(|b| {
                    geo::Intersects::intersects(a, b) && a.start != b.end && a.end != b.start
                })
        })
    })
}

/// A segment of a ring with its position, for finding where a ring crosses itself.
#[derive(Clone)]
struct Segment {
    index: usize,
    line: Line<f64>,
}

impl Cross for Segment {
    type Scalar = f64;

    fn line(&self) -> Line<f64> {
        self.line
    }
}

/// A point where a ring of the geometry crosses or touches itself, for the report.
fn self_intersection_point(mp: &MultiPolygon<f64>) -> Option<Coord<f64>> {
    mp.0.iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .find_map(ring_self_intersection)
}

fn ring_self_intersection(ring: &LineString<f64>) -> Option<Coord<f64>> {
    let n = ring.0.len().saturating_sub(1);
    let segments = ring
        .lines()
        .enumerate()
        .map(|(index, line)| Segment { index, line });
    Intersections::from_iter(segments).find_map(|(a, b, x)| {
        let (i, j) = (a.index.min(b.index), a.index.max(b.index));
        // Consecutive segments (including the last with the first) share a vertex; only that point is allowed.
        let shared = if j == i + 1 {
            ring.0.get(j).copied()
        } else if i == 0 && j + 1 == n {
            ring.0.first().copied()
        } else {
            None
        };
        match x {
            LineIntersection::SinglePoint { intersection, .. } if Some(intersection) == shared => {
                None
            }
            LineIntersection::SinglePoint { intersection, .. } => Some(intersection),
            LineIntersection::Collinear { intersection } => Some(intersection.start),
        }
    })
}

/// The fixed-point frame the geometric checks work in: units of 1e-8° (about 1 mm) from 115°E, 39°N, rounded to
/// whole units.
///
/// Why: the boolean operations (i_overlay) snap every input to an integer grid chosen from the bounding box of
/// that one operation. In degrees, two operations snap the same shared edge differently, and chained unions
/// leave sliver "gaps" of up to a square metre along boundaries that in fact coincide. With whole-number
/// coordinates below 2^28 every such grid holds the input vertices exactly, so edges shared bit for bit stay
/// shared through any number of operations.
const FRAME_ORIGIN: Coord<f64> = Coord { x: 115.0, y: 39.0 };
/// Frame units per degree.
const FRAME_SCALE: f64 = 1e8;

fn to_frame(mp: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    mp.map_coords(|c| Coord {
        x: ((c.x - FRAME_ORIGIN.x) * FRAME_SCALE).round(),
        y: ((c.y - FRAME_ORIGIN.y) * FRAME_SCALE).round(),
    })
}

fn to_lon_lat(c: Coord<f64>) -> Coord<f64> {
    Coord {
        x: c.x / FRAME_SCALE + FRAME_ORIGIN.x,
        y: c.y / FRAME_SCALE + FRAME_ORIGIN.y,
    }
}

/// m² per square frame unit at a frame y.
fn m2_per_unit2(y: f64) -> f64 {
    let lat = y / FRAME_SCALE + FRAME_ORIGIN.y;
    M_PER_DEG_LAT * M_PER_DEG_LON * lat.to_radians().cos() / (FRAME_SCALE * FRAME_SCALE)
}

fn mid_y(r: &Rect<f64>) -> f64 {
    (r.min().y + r.max().y) / 2.0
}

/// Area in m² of a frame geometry, each polygon converted at its own latitude.
fn area_m2(mp: &MultiPolygon<f64>) -> f64 {
    mp.0.iter().map(polygon_m2).sum()
}

fn polygon_m2(p: &Polygon<f64>) -> f64 {
    p.bounding_rect()
        .map_or(0.0, |r| p.unsigned_area() * m2_per_unit2(mid_y(&r)))
}

fn fmt_coord(c: Coord<f64>) -> String {
    format!("({:.6}, {:.6})", c.x, c.y)
}

fn fmt_area(m2: f64) -> String {
    if m2 >= 1e6 {
        format!("{:.3} km²", m2 / 1e6)
    } else {
        format!("{m2:.0} m²")
    }
}

/// " around (lon, lat)": a point inside the largest part of a frame geometry, to say where an area is.
fn location(mp: &MultiPolygon<f64>) -> String {
    mp.0.iter()
        .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))
        .and_then(|p| p.interior_point())
        .map(|p| format!(" around {}", fmt_coord(to_lon_lat(p.0))))
        .unwrap_or_default()
}

/// Interleaves the bits of two 16-bit numbers (Z-order), so that sorting by it keeps neighbours near each other.
fn z_order(x: u16, y: u16) -> u32 {
    fn spread(v: u16) -> u32 {
        let mut v = u32::from(v);
        v = (v | (v << 8)) & 0x00ff_00ff;
        v = (v | (v << 4)) & 0x0f0f_0f0f;
        v = (v | (v << 2)) & 0x3333_3333;
        (v | (v << 1)) & 0x5555_5555
    }
    spread(x) | (spread(y) << 1)
}

/// The union of frame geometries, by merging neighbours pairwise, level by level.
///
/// Why not `geo::unary_union` in one go: on the default community layer (7,535 polygons) it does not return
/// (i_overlay 4.5.2), while pairwise unions of spatially close groups finish in about a second. Sorting by Z-order
/// first keeps every intermediate result compact, so each merge stays small.
fn union_all(shapes: &[&MultiPolygon<f64>]) -> MultiPolygon<f64> {
    // The frame spans 3° × 2.5° = 3e8 × 2.5e8 units; 2^13 units ≈ 80 m per Z-order step is fine enough.
    let key = |mp: &MultiPolygon<f64>| {
        mp.bounding_rect().map_or(0, |r| {
            let c = r.center();
            z_order(
                (c.x / 8192.0).clamp(0.0, 65535.0) as u16,
                (c.y / 8192.0).clamp(0.0, 65535.0) as u16,
            )
        })
    };
    let mut order: Vec<(u32, usize)> = shapes
        .iter()
        .enumerate()
        .map(|(k, mp)| (key(mp), k))
        .collect();
    order.sort_unstable();
    let mut layer: Vec<MultiPolygon<f64>> = order.iter().map(|&(_, k)| shapes[k].clone()).collect();
    while layer.len() > 1 {
        layer = layer
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => a.union(b),
                [a] => a.clone(),
                _ => MultiPolygon::new(Vec::new()),
            })
            .collect();
    }
    layer.pop().unwrap_or_else(|| MultiPolygon::new(Vec::new()))
}

type BoxTree = RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>;

fn aabb(r: &Rect<f64>) -> AABB<[f64; 2]> {
    AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y])
}

/// The box grown by about 1 cm (10 frame units), so that the features merely touching a gap are found around it
/// even where a boolean operation had to round a crossing point.
fn grown(r: &Rect<f64>) -> AABB<[f64; 2]> {
    const MARGIN: f64 = 10.0;
    AABB::from_corners(
        [r.min().x - MARGIN, r.min().y - MARGIN],
        [r.max().x + MARGIN, r.max().y + MARGIN],
    )
}

/// Features of one level must not overlap and must leave no holes between them.
fn check_overlaps_and_gaps(items: &[Item<'_>], members: &[usize], report: &mut Report) {
    let tree: BoxTree = RTree::bulk_load(
        members
            .iter()
            .filter_map(|&k| {
                items[k]
                    .bbox
                    .map(|b| GeomWithData::new(Rectangle::from_aabb(aabb(&b)), k))
            })
            .collect(),
    );
    for &a in members {
        let (Some(ga), Some(ba)) = (&items[a].geometry, &items[a].bbox) else {
            continue;
        };
        let mut near: Vec<usize> = tree
            .locate_in_envelope_intersecting(&aabb(ba))
            .map(|e| e.data)
            .filter(|&b| b > a)
            .collect();
        near.sort_unstable();
        for b in near {
            let (Some(gb), Some(bb)) = (&items[b].geometry, &items[b].bbox) else {
                continue;
            };
            // The common part of the boxes bounds the overlap: boxes that only touch or barely meet need no clipping.
            let w = ba.max().x.min(bb.max().x) - ba.min().x.max(bb.min().x);
            let h = ba.max().y.min(bb.max().y) - ba.min().y.max(bb.min().y);
            if w <= 0.0 || h <= 0.0 || w * h * m2_per_unit2(mid_y(ba)) <= MIN_AREA_M2 {
                continue;
            }
            let shared = ga.intersection(gb);
            let m2 = area_m2(&shared);
            if m2 > MIN_AREA_M2 {
                let at = location(&shared);
                for (me, other) in [(a, b), (b, a)] {
                    report.feature(
                        &items[me],
                        "overlap",
                        format!(
                            "overlaps {} by {}{at}; places of one level must not overlap, so give the shared area \
                             to one of them",
                            items[other].label,
                            fmt_area(m2)
                        ),
                    );
                }
            }
        }
    }

    let shapes: Vec<&MultiPolygon<f64>> = members
        .iter()
        .filter_map(|&k| items[k].geometry.as_ref())
        .collect();
    let union = union_all(&shapes);
    for hole in union.0.iter().flat_map(|p| p.interiors()) {
        let hole = Polygon::new(hole.clone(), Vec::new());
        let m2 = polygon_m2(&hole);
        if m2 <= MIN_AREA_M2 {
            continue;
        }
        let mut around: Vec<&str> = hole
            .bounding_rect()
            .map(|r| {
                tree.locate_in_envelope_intersecting(&grown(&r))
                    .map(|e| items[e.data].label.as_str())
                    .collect()
            })
            .unwrap_or_default();
        around.sort_unstable();
        let total = around.len();
        around.truncate(4);
        let more = if total > around.len() {
            format!(" and {} more", total - around.len())
        } else {
            String::new()
        };
        report.other(
            "file",
            "gap",
            format!(
                "a gap of {}{} is covered by no feature (it lies between {}{more}); extend a neighbour over it",
                fmt_area(m2),
                location(&MultiPolygon::new(vec![hole.clone()])),
                around.join(", ")
            ),
        );
    }
}

/// Each feature must have its parent among `parents`, lie within it, and the parents must be covered.
fn check_nesting(items: &[Item<'_>], parents: &[Place], level: Option<Level>, report: &mut Report) {
    // With `--level`, only the level above counts, so that a caller may pass a whole dataset.
    let above = level.and_then(Level::parent);
    let by_code: BTreeMap<&str, &Place> = parents
        .iter()
        .filter(|p| above.is_none_or(|l| p.level == l))
        .map(|p| (p.code.as_str(), p))
        .collect();

    #[derive(Default)]
    struct Family {
        children: Vec<usize>,
        /// Children whose geometry is unusable: the coverage cannot be judged yet.
        unusable: Vec<usize>,
    }
    let mut families: BTreeMap<&str, Family> = BTreeMap::new();
    for (k, it) in items.iter().enumerate() {
        if !it.code_ok {
            continue;
        }
        let Some(parent) = it.code.as_ref().and_then(|(c, _)| c.parent()) else {
            continue;
        };
        let Some((&key, _)) = by_code.get_key_value(parent.as_str()) else {
            report.feature(
                it,
                "parent_missing",
                format!(
                    "its parent {parent} (the code's prefix) is not among the {} places it must nest in; check the \
                     code, or import the level above first",
                    above.map_or("parent".to_owned(), |l| l.to_string())
                ),
            );
            continue;
        };
        let family = families.entry(key).or_default();
        if it.geometry.is_some() {
            &mut family.children
        } else {
            &mut family.unusable
        }
        .push(k);
    }

    for (&code, parent) in &by_code {
        let Some(family) = families.get(code) else {
            if let Some(l) = level {
                report.other(
                    code,
                    "parent_not_covered",
                    format!(
                        "{code} {} has no {l} in the file; importing replaces the whole {l} level, so it would be \
                         left empty: add its {l}s",
                        parent.name
                    ),
                );
            }
            continue;
        };
        let outline = to_frame(&parent.geometry);
        let children: Vec<&MultiPolygon<f64>> = family
            .children
            .iter()
            .filter_map(|&k| items[k].geometry.as_ref())
            .collect();
        let union = union_all(&children);
        if area_m2(&union.difference(&outline)) > MIN_AREA_M2 {
            // Only now is it worth clipping the children one by one, to say which of them stick out.
            for &k in &family.children {
                let Some(g) = &items[k].geometry else {
                    continue;
                };
                let out = g.difference(&outline);
                let m2 = area_m2(&out);
                if m2 > MIN_AREA_M2 {
                    report.feature(
                        &items[k],
                        "not_within_parent",
                        format!(
                            "{} of it lies outside its parent {code}{}; a place must lie within its parent, so clip \
                             it to the parent's outline",
                            fmt_area(m2),
                            location(&out)
                        ),
                    );
                }
            }
        }
        if !family.unusable.is_empty() {
            let labels: Vec<&str> = family
                .unusable
                .iter()
                .map(|&k| items[k].label.as_str())
                .collect();
            report.other(
                code,
                "parent_unchecked",
                format!(
                    "whether {code} is covered by its children was not checked because the geometry of {} is \
                     unusable; fix it and check again",
                    labels.join(", ")
                ),
            );
            continue;
        }
        // The uncovered part directly rather than the parent's area minus the children's: overlapping children
        // must not hide a hole. Measured at the parent's latitude throughout, so the share does not depend on
        // where the hole is.
        let uncovered = outline.difference(&union);
        let factor = outline
            .bounding_rect()
            .map_or(0.0, |r| m2_per_unit2(mid_y(&r)));
        let parent_m2 = outline.unsigned_area() * factor;
        let missing_m2 = uncovered.unsigned_area() * factor;
        if missing_m2 > (parent_m2 * COVER_TOLERANCE_SHARE).max(COVER_TOLERANCE_M2) {
            report.other(
                code,
                "parent_not_covered",
                format!(
                    "{} of {code} {} ({:.2}% of it) is covered by none of its children{}; extend the children over \
                     the whole parent",
                    fmt_area(missing_m2),
                    parent.name,
                    100.0 * missing_m2 / parent_m2.max(f64::MIN_POSITIVE),
                    location(&uncovered)
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::layers::{self, ring};
    use std::time::Instant;

    const LON: f64 = 116.4;
    const LAT: f64 = 39.9;
    /// About 85 m × 111 m near Beijing.
    const D: f64 = 0.001;

    fn feature(index: usize, code: Option<&str>, geometry: MultiPolygon<f64>) -> RawFeature {
        RawFeature {
            index,
            code: code.map(str::to_owned),
            name: Some(format!("place {index}")),
            parent: None,
            geometry: Ok(geometry),
        }
    }

    /// The square whose south-west corner is `i`, `j` squares of size `D` from (LON, LAT).
    fn square(i: f64, j: f64) -> MultiPolygon<f64> {
        let (x, y) = (LON + i * D, LAT + j * D);
        MultiPolygon::new(vec![Polygon::new(
            ring(&[(x, y), (x + D, y), (x + D, y + D), (x, y + D)]),
            Vec::new(),
        )])
    }

    fn place(code: &str, geometry: MultiPolygon<f64>) -> Place {
        let (code, level) = PlaceCode::parse(code).unwrap();
        Place {
            parent: code.parent(),
            code,
            name: "parent".to_owned(),
            level,
            geometry,
        }
    }

    fn kinds(problems: &[Problem]) -> Vec<&'static str> {
        problems.iter().map(|p| p.kind).collect()
    }

    fn of_kind<'p>(problems: &'p [Problem], kind: &str) -> Vec<&'p Problem> {
        problems.iter().filter(|p| p.kind == kind).collect()
    }

    fn cells(level: Option<Level>) -> CheckContext<'static> {
        CheckContext {
            level,
            parents: None,
        }
    }

    fn load(level: &str) -> Vec<RawFeature> {
        let path = format!(
            "{}/geodata/beijing/{level}.geojson.gz",
            env!("CARGO_MANIFEST_DIR")
        );
        layers::parse_features(&layers::decode_bytes(&std::fs::read(path).unwrap()).unwrap())
            .unwrap()
    }

    /// Checks the default `level` layer against the default layer above it, which must itself be clean.
    fn check_default_layer(parent_level: Level, level: Level) -> Vec<Problem> {
        let (parents, problems) = check(&load(parent_level.as_str()), &cells(Some(parent_level)));
        assert_eq!(problems, Vec::<Problem>::new());
        let features = load(level.as_str());
        let started = Instant::now();
        let (places, problems) = check(
            &features,
            &CheckContext {
                level: Some(level),
                parents: Some(&parents),
            },
        );
        eprintln!(
            "checked {} {level} features in {:?}",
            features.len(),
            started.elapsed()
        );
        assert_eq!(places.len(), features.len());
        problems
    }

    #[test]
    fn the_default_community_layer_checked_against_the_default_street_layer_has_no_problems() {
        assert_eq!(
            check_default_layer(Level::Street, Level::Community),
            Vec::<Problem>::new()
        );
    }

    #[test]
    fn the_default_district_and_street_layers_checked_against_the_level_above_have_no_problems() {
        assert_eq!(
            check_default_layer(Level::City, Level::District),
            Vec::<Problem>::new()
        );
        assert_eq!(
            check_default_layer(Level::District, Level::Street),
            Vec::<Problem>::new()
        );
    }

    #[test]
    fn the_default_cell_layer_checked_against_the_default_community_layer_has_no_problems() {
        assert_eq!(
            check_default_layer(Level::Community, Level::Cell),
            Vec::<Problem>::new()
        );
    }

    #[test]
    fn a_clean_partition_has_no_problems_and_builds_every_place() {
        let features: Vec<_> = (0..4)
            .map(|k| {
                feature(
                    k,
                    Some(&format!("11010500100100{k}")),
                    square(k as f64, 0.0),
                )
            })
            .collect();
        let (places, problems) = check(&features, &cells(Some(Level::Cell)));
        assert_eq!(problems, Vec::<Problem>::new());
        assert_eq!(places.len(), 4);
        assert_eq!(
            places[2].parent.as_ref().map(PlaceCode::as_str),
            Some("110105001001")
        );
        assert_eq!(places[2].level, Level::Cell);
    }

    #[test]
    fn a_self_intersecting_bow_tie_is_reported_as_self_intersection_with_the_features_code() {
        let (x, y) = (LON, LAT);
        let bow_tie = MultiPolygon::new(vec![Polygon::new(
            ring(&[(x, y), (x + D, y + D), (x + D, y), (x, y + D)]),
            Vec::new(),
        )]);
        let (_, problems) = check(
            &[feature(0, Some("110105001001001"), bow_tie)],
            &cells(Some(Level::Cell)),
        );
        let found = of_kind(&problems, "self_intersection");
        assert_eq!(found.len(), 1, "{problems:?}");
        assert_eq!(found[0].feature, "110105001001001");
        assert!(
            found[0].message.contains("(116.400500, 39.900500)"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn two_overlapping_squares_are_reported_as_overlap_on_both() {
        let features = [
            feature(0, Some("110105001001001"), square(0.0, 0.0)),
            feature(1, Some("110105001001002"), square(0.5, 0.0)),
        ];
        let (_, problems) = check(&features, &cells(Some(Level::Cell)));
        assert_eq!(kinds(&problems), ["overlap", "overlap"], "{problems:?}");
        assert_eq!(problems[0].feature, "110105001001001");
        assert!(problems[0].message.contains("110105001001002"));
        // Half a square: 0.0005° × 0.001° at 39.9° ≈ 4,720 m².
        assert!(
            problems[0].message.contains("by 47"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn squares_that_only_share_edges_do_not_overlap() {
        let features = [
            feature(0, Some("110105001001001"), square(0.0, 0.0)),
            feature(1, Some("110105001001002"), square(1.0, 0.0)),
            feature(2, Some("110105001001003"), square(1.0, 1.0)),
        ];
        assert_eq!(
            check(&features, &cells(Some(Level::Cell))).1,
            Vec::<Problem>::new()
        );
    }

    #[test]
    fn a_ring_of_squares_around_an_uncovered_one_reports_a_gap_with_its_location_and_area() {
        let mut features = Vec::new();
        for (i, j) in [
            (0, 0),
            (1, 0),
            (2, 0),
            (0, 1),
            (2, 1),
            (0, 2),
            (1, 2),
            (2, 2),
        ] {
            let k = features.len();
            features.push(feature(
                k,
                Some(&format!("11010500100100{k}")),
                square(f64::from(i), f64::from(j)),
            ));
        }
        let (_, problems) = check(&features, &cells(Some(Level::Cell)));
        assert_eq!(kinds(&problems), ["gap"], "{problems:?}");
        assert_eq!(problems[0].feature, "file");
        let msg = &problems[0].message;
        assert!(msg.contains("9443 m²"), "{msg}");
        assert!(msg.contains("around (116.401"), "{msg}");
    }

    #[test]
    fn lat_lon_swapped_coordinates_are_reported_as_coordinates_swapped() {
        let (x, y) = (LAT, LON);
        let swapped = MultiPolygon::new(vec![Polygon::new(
            ring(&[(x, y), (x, y + D), (x + D, y + D), (x + D, y)]),
            Vec::new(),
        )]);
        let (_, problems) = check(
            &[feature(0, Some("110105001001001"), swapped)],
            &cells(Some(Level::Cell)),
        );
        assert_eq!(kinds(&problems), ["coordinates_swapped"]);
    }

    #[test]
    fn projected_metres_are_reported_as_not_lon_lat() {
        let (x, y) = (448_000.0, 4_417_000.0);
        let metres = MultiPolygon::new(vec![Polygon::new(
            ring(&[(x, y), (x + 90.0, y), (x + 90.0, y + 90.0), (x, y + 90.0)]),
            Vec::new(),
        )]);
        let (_, problems) = check(
            &[feature(0, Some("110105001001001"), metres)],
            &cells(Some(Level::Cell)),
        );
        assert_eq!(kinds(&problems), ["not_lon_lat"]);
    }

    #[test]
    fn a_feature_far_from_beijing_is_reported_as_outside_extent() {
        let shanghai = MultiPolygon::new(vec![Polygon::new(
            ring(&[(121.4, 31.2), (121.5, 31.2), (121.5, 31.3)]),
            Vec::new(),
        )]);
        let (_, problems) = check(
            &[feature(0, Some("110105001001001"), shanghai)],
            &cells(Some(Level::Cell)),
        );
        assert_eq!(kinds(&problems), ["outside_extent"]);
    }

    #[test]
    fn unreadable_empty_and_non_finite_geometries_are_invalid_geometry() {
        let mut unreadable = feature(0, Some("110105001001001"), square(0.0, 0.0));
        unreadable.geometry = Err("the geometry is not a Polygon or MultiPolygon".to_owned());
        let empty = feature(1, Some("110105001001002"), MultiPolygon::new(Vec::new()));
        let mut nan = square(2.0, 0.0);
        nan.0[0].exterior_mut(|r| r.0[1].x = f64::NAN);
        let nan = feature(2, Some("110105001001003"), nan);
        let (places, problems) = check(&[unreadable, empty, nan], &cells(Some(Level::Cell)));
        assert_eq!(kinds(&problems), ["invalid_geometry"; 3], "{problems:?}");
        assert!(problems[0].message.contains("not a Polygon"));
        assert_eq!(places, Vec::<Place>::new(), "none of them can be built");
    }

    #[test]
    fn code_problems_are_reported_per_feature() {
        let mut nameless = feature(4, Some("110105001001004"), square(4.0, 0.0));
        nameless.name = None;
        let features = [
            feature(0, Some("110105001001001"), square(0.0, 0.0)),
            feature(1, Some("110105001001001"), square(1.0, 0.0)),
            feature(2, None, square(2.0, 0.0)),
            feature(3, Some("11010500100A003"), square(3.0, 0.0)),
            nameless,
            feature(5, Some("110105001001"), square(5.0, 0.0)),
        ];
        let (places, problems) = check(&features, &cells(Some(Level::Cell)));
        let got: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.feature.as_str(), p.kind))
            .collect();
        assert_eq!(
            got,
            [
                ("110105001001001", "duplicate_code"),
                ("feature #2", "missing_code"),
                ("11010500100A003", "malformed_code"),
                ("110105001001004", "missing_name"),
                ("110105001001", "wrong_level"),
            ]
        );
        assert!(problems[0].message.contains("feature #0"));
        let built: Vec<&str> = places.iter().map(|p| p.code.as_str()).collect();
        assert_eq!(
            built,
            ["110105001001001", "110105001001004", "110105001001"]
        );
    }

    #[test]
    fn without_a_level_the_city_code_is_the_wrong_level_and_other_levels_are_inferred() {
        let features = [
            feature(0, Some("110000"), square(0.0, 0.0)),
            feature(1, Some("110105"), square(1.0, 0.0)),
        ];
        let (places, problems) = check(&features, &cells(None));
        assert_eq!(kinds(&problems), ["wrong_level"]);
        assert_eq!(problems[0].feature, "110000");
        assert_eq!(places[1].level, Level::District);
        assert_eq!(
            places[1].parent.as_ref().map(PlaceCode::as_str),
            Some("110000")
        );
    }

    #[test]
    fn a_parent_property_that_contradicts_the_code_is_a_parent_mismatch() {
        let mut f = feature(0, Some("110105001001001"), square(0.0, 0.0));
        f.parent = Some("110105001002".to_owned());
        assert_eq!(
            kinds(&check(&[f], &cells(Some(Level::Cell))).1),
            ["parent_mismatch"]
        );
    }

    #[test]
    fn an_empty_file_is_reported() {
        let (places, problems) = check(&[], &cells(Some(Level::Cell)));
        assert!(places.is_empty());
        assert_eq!(kinds(&problems), ["empty_file"]);
        assert_eq!(problems[0].feature, "file");
    }

    /// A community of 2 × 1 squares at the origin.
    fn community() -> Vec<Place> {
        let (x, y) = (LON, LAT);
        vec![place(
            "110105001001",
            MultiPolygon::new(vec![Polygon::new(
                ring(&[(x, y), (x + 2.0 * D, y), (x + 2.0 * D, y + D), (x, y + D)]),
                Vec::new(),
            )]),
        )]
    }

    #[test]
    fn children_that_exactly_tile_their_parent_have_no_problems() {
        let parents = community();
        let features = [
            feature(0, Some("110105001001001"), square(0.0, 0.0)),
            feature(1, Some("110105001001002"), square(1.0, 0.0)),
        ];
        let (_, problems) = check(
            &features,
            &CheckContext {
                level: Some(Level::Cell),
                parents: Some(&parents),
            },
        );
        assert_eq!(problems, Vec::<Problem>::new());
    }

    #[test]
    fn a_code_that_nests_in_no_parent_is_parent_missing() {
        let parents = community();
        let features = [
            feature(0, Some("110105001001001"), square(0.0, 0.0)),
            feature(1, Some("110105001001002"), square(1.0, 0.0)),
            feature(2, Some("110105001002001"), square(0.0, 1.0)),
        ];
        let (_, problems) = check(
            &features,
            &CheckContext {
                level: Some(Level::Cell),
                parents: Some(&parents),
            },
        );
        assert_eq!(kinds(&problems), ["parent_missing"]);
        assert_eq!(problems[0].feature, "110105001002001");
        assert!(problems[0].message.contains("110105001002"));
    }

    #[test]
    fn a_child_poking_outside_its_parent_is_not_within_parent() {
        let parents = community();
        let features = [
            feature(0, Some("110105001001001"), square(0.0, 0.0)),
            feature(1, Some("110105001001002"), square(1.0, 0.5)),
        ];
        let (_, problems) = check(
            &features,
            &CheckContext {
                level: Some(Level::Cell),
                parents: Some(&parents),
            },
        );
        let got: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.feature.as_str(), p.kind))
            .collect();
        // The child sticks out by half a square and leaves half a square of its parent uncovered.
        assert_eq!(
            got,
            [
                ("110105001001002", "not_within_parent"),
                ("110105001001", "parent_not_covered")
            ]
        );
        assert!(
            problems[0].message.contains("4721 m²"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn a_parent_not_fully_covered_by_its_children_is_parent_not_covered() {
        let parents = community();
        let features = [feature(0, Some("110105001001001"), square(0.0, 0.0))];
        let (_, problems) = check(
            &features,
            &CheckContext {
                level: Some(Level::Cell),
                parents: Some(&parents),
            },
        );
        assert_eq!(kinds(&problems), ["parent_not_covered"]);
        assert_eq!(problems[0].feature, "110105001001");
        assert!(
            problems[0].message.contains("50.00%"),
            "{}",
            problems[0].message
        );
        assert!(
            problems[0].message.contains("around (116.401"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn a_parent_without_children_is_not_covered_when_the_whole_level_is_imported() {
        let mut parents = community();
        parents.push(place("110105001002", square(0.0, 1.0)));
        let features = [
            feature(0, Some("110105001001001"), square(0.0, 0.0)),
            feature(1, Some("110105001001002"), square(1.0, 0.0)),
        ];
        let (_, problems) = check(
            &features,
            &CheckContext {
                level: Some(Level::Cell),
                parents: Some(&parents),
            },
        );
        assert_eq!(kinds(&problems), ["parent_not_covered"]);
        assert_eq!(problems[0].feature, "110105001002");
        let (_, problems) = check(
            &features,
            &CheckContext {
                level: None,
                parents: Some(&parents),
            },
        );
        assert_eq!(
            problems,
            Vec::<Problem>::new(),
            "without --level a partial import leaves other parents alone"
        );
    }

    #[test]
    fn a_parent_whose_child_is_unusable_is_reported_as_unchecked_not_uncovered() {
        let parents = community();
        let mut bad = feature(1, Some("110105001001002"), square(1.0, 0.0));
        bad.geometry = Err("broken".to_owned());
        let features = [feature(0, Some("110105001001001"), square(0.0, 0.0)), bad];
        let (_, problems) = check(
            &features,
            &CheckContext {
                level: Some(Level::Cell),
                parents: Some(&parents),
            },
        );
        assert_eq!(kinds(&problems), ["invalid_geometry", "parent_unchecked"]);
    }

    #[test]
    fn every_reported_kind_is_listed() {
        let parents = community();
        let mut all = Vec::new();
        let bow = MultiPolygon::new(vec![Polygon::new(
            ring(&[
                (LON, LAT),
                (LON + D, LAT + D),
                (LON + D, LAT),
                (LON, LAT + D),
            ]),
            Vec::new(),
        )]);
        for features in [
            vec![
                feature(0, None, bow),
                feature(1, Some("1"), square(0.0, 0.0)),
                feature(2, Some("110105001002001"), square(0.5, 0.0)),
            ],
            vec![],
        ] {
            all.extend(
                check(
                    &features,
                    &CheckContext {
                        level: Some(Level::Cell),
                        parents: Some(&parents),
                    },
                )
                .1,
            );
        }
        for p in &all {
            assert!(
                PROBLEM_KINDS.contains(&p.kind),
                "{} is not in PROBLEM_KINDS",
                p.kind
            );
        }
        assert!(all.len() >= 5, "{all:?}");
    }

    /// A circle of `n` vertices around (LON, LAT), about 1 km across; `wobble` pushes every other vertex in.
    fn circle(n: usize, wobble: f64) -> LineString<f64> {
        let coords: Vec<(f64, f64)> = (0..n)
            .map(|k| {
                let a = std::f64::consts::TAU * k as f64 / n as f64;
                let r = 0.005 * if k % 2 == 0 { 1.0 } else { 1.0 - wobble };
                (LON + r * a.cos(), LAT + r * a.sin())
            })
            .collect();
        ring(&coords)
    }

    #[test]
    fn a_ring_of_200_000_vertices_checks_clean_and_builds_its_place() {
        let outline = MultiPolygon::new(vec![Polygon::new(circle(200_000, 0.001), Vec::new())]);
        let (places, problems) = check(
            &[feature(0, Some("110105001001001"), outline)],
            &cells(Some(Level::Cell)),
        );
        assert_eq!(problems, Vec::<Problem>::new());
        assert_eq!(places.len(), 1);
    }

    #[test]
    fn a_long_ring_that_crosses_itself_once_is_still_a_self_intersection() {
        let mut coords = circle(100_000, 0.0).0;
        // Swap two neighbouring vertices half way round: the two edges between them cross.
        coords.swap(50_000, 50_001);
        let outline = MultiPolygon::new(vec![Polygon::new(LineString::new(coords), Vec::new())]);
        let (_, problems) = check(
            &[feature(0, Some("110105001001001"), outline)],
            &cells(Some(Level::Cell)),
        );
        assert_eq!(kinds(&problems), ["self_intersection"], "{problems:?}");
    }

    /// Every shape geo's own validation sees as invalid, and the same report for each.
    #[test]
    fn validity_problems_are_exactly_geos_on_messy_real_and_made_up_shapes() {
        use geo::Validation;
        let path = format!(
            "{}/geodata/source/beijing-districts.geojson",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut shapes: Vec<MultiPolygon<f64>> =
            layers::parse_features(&std::fs::read(path).unwrap())
                .unwrap()
                .into_iter()
                .filter_map(|f| f.geometry.ok())
                .collect();
        assert!(shapes.len() >= 16);
        let sq = |x: f64, y: f64, d: f64| ring(&[(x, y), (x + d, y), (x + d, y + d), (x, y + d)]);
        let made_up = [
            // bow tie
            vec![Polygon::new(
                ring(&[(0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0)]),
                Vec::new(),
            )],
            // spike out and back along one line
            vec![Polygon::new(
                ring(&[
                    (0.0, 0.0),
                    (2.0, 0.0),
                    (3.0, 0.0),
                    (2.0, 0.0),
                    (2.0, 2.0),
                    (0.0, 2.0),
                ]),
                Vec::new(),
            )],
            // repeated vertices and a touch at a vertex (a loop)
            vec![Polygon::new(
                ring(&[
                    (0.0, 0.0),
                    (0.0, 0.0),
                    (2.0, 0.0),
                    (2.0, 2.0),
                    (1.0, 0.0),
                    (0.0, 2.0),
                ]),
                Vec::new(),
            )],
            // too few points
            vec![Polygon::new(
                ring(&[(0.0, 0.0), (1.0, 0.0), (1.0, 0.0)]),
                Vec::new(),
            )],
            // a hole outside the shell, and two holes overlapping each other
            vec![Polygon::new(
                sq(0.0, 0.0, 10.0),
                vec![sq(20.0, 20.0, 1.0), sq(1.0, 1.0, 3.0), sq(2.0, 2.0, 3.0)],
            )],
            // a hole sharing an edge with the shell
            vec![Polygon::new(sq(0.0, 0.0, 10.0), vec![sq(0.0, 1.0, 2.0)])],
            // polygons overlapping, touching on a line, touching at a point, apart
            vec![
                Polygon::new(sq(0.0, 0.0, 2.0), Vec::new()),
                Polygon::new(sq(1.0, 1.0, 2.0), Vec::new()),
                Polygon::new(sq(3.0, 0.0, 1.0), Vec::new()),
                Polygon::new(sq(4.0, 1.0, 1.0), Vec::new()),
                Polygon::new(sq(9.0, 9.0, 1.0), Vec::new()),
            ],
        ];
        shapes.extend(made_up.into_iter().map(MultiPolygon::new));
        let mut invalid = 0;
        for (k, mp) in shapes.iter().enumerate() {
            let theirs = mp.validation_errors();
            invalid += usize::from(!theirs.is_empty());
            assert_eq!(validation_errors(mp), theirs, "shape #{k}");
        }
        assert!(invalid >= 12, "only {invalid} invalid shapes were compared");
    }
}
