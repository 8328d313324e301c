//! `gridline geodata build`: the default Beijing dataset, generated deterministically from the real district
//! outlines and the real names and codes of streets and communities.
//!
//! Coordinate system: WGS-84 lon/lat; the work happens on the 100 m unit grid of [`crate::geo::grid`].
//!
//! Steps:
//! 1. Rasterise the 16 source district polygons: a square belongs to a district when its centre is inside (even-odd
//!    rule, so self-intersecting rings still have an inside). A square claimed by two districts goes to the lower
//!    code (the overlap is reported).
//! 2. Flood the empty squares from the edge of the grid: what the flood reaches is outside the city; every other
//!    empty square is a gap between districts and takes the label of its nearest labelled neighbour (BFS).
//! 3. Fragments of a district smaller than [`MIN_EXCLAVE_SQUARES`] that are cut off from its main body go to the
//!    district around them; real exclaves (Chaoyang's airport area) stay.
//! 4. Streets grow inside their district, communities inside their street, cells inside their community: seeds are
//!    placed (urban units near the parent's core, villages farther out), then regions grow square by square
//!    through 4-neighbours in order of weighted distance to their seed (a connected, multiplicatively weighted
//!    Voronoi diagram), and a few Lloyd rounds move seeds and adjust weights toward each unit's target area. Every level therefore
//!    nests exactly, with no gap and no overlap, and every unit is one 4-connected piece.
//! 5. Cells are numbered west→east, north→south inside their community; buildings are scattered inside cells.
//! 6. Every region is traced into a polygon ([`crate::geo::grid::trace`]).

use crate::geo::grid::{self, NONE, NX, NY};
use crate::geo::layers;
use crate::geo::place::{Building, CITY_CODE, Level, Place, PlaceCode};
use anyhow::{Context, Result, bail};
use geo::{MultiPolygon, Validation};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

/// Fragments of a district smaller than this (in 100 m squares, i.e. 1 km²) are given to their neighbours.
pub const MIN_EXCLAVE_SQUARES: usize = 100;

/// Lloyd rounds of every split.
const ROUNDS: usize = 4;

/// The default seed of `geodata build`.
pub const DEFAULT_SEED: u64 = 20_260_101;

/// A row of the divisions table.
#[derive(Debug, Clone)]
pub struct Division {
    /// district, street or community.
    pub level: Level,
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its parent's code.
    pub parent: String,
}

/// Reads `level,code,name,parent_code` rows.
pub fn read_divisions(csv_text: &str) -> Result<Vec<Division>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(csv_text.as_bytes());
    let mut out = Vec::new();
    for (k, rec) in rdr.records().enumerate() {
        let rec = rec.with_context(|| format!("divisions line {}", k + 2))?;
        let f = |n: usize| rec.get(n).map(|s| s.trim().to_owned()).unwrap_or_default();
        let Some(level) = Level::parse(&f(0)) else {
            bail!("divisions line {}: unknown level {:?}", k + 2, f(0));
        };
        out.push(Division {
            level,
            code: f(1),
            name: f(2),
            parent: f(3),
        });
    }
    Ok(out)
}

/// What the repair of one district did.
#[derive(Debug, Clone, Default)]
pub struct DistrictRepair {
    /// District code.
    pub code: String,
    /// District name.
    pub name: String,
    /// Validity problems of the source polygon (self-intersections and the like).
    pub source_problems: Vec<String>,
    /// Squares this district claimed that a lower code already held (given to the lower code).
    pub overlap_squares_lost: usize,
    /// Gap squares between districts given to this district.
    pub gap_squares_gained: usize,
    /// Squares of cut-off fragments moved away from this district.
    pub fragment_squares_lost: usize,
    /// Squares of other districts' fragments given to this district.
    pub fragment_squares_gained: usize,
    /// Parts of the repaired district (more than one for a real exclave).
    pub parts: usize,
    /// Area after repair, km².
    pub area_km2: f64,
}

/// The repair report printed by `geodata build`.
#[derive(Debug, Clone, Default)]
pub struct RepairReport {
    /// Per district.
    pub districts: Vec<DistrictRepair>,
    /// Gap regions (4-connected groups of empty squares enclosed by the city) that were closed.
    pub gap_regions: usize,
}

impl std::fmt::Display for RepairReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "district repair report (unit: 100 m squares, about 1 ha each)"
        )?;
        writeln!(
            f,
            "code    name        problems  overlap-lost  gap-gained  fragments-lost/gained  parts  area km²"
        )?;
        for d in &self.districts {
            writeln!(
                f,
                "{}  {:<8}  {:>8}  {:>12}  {:>10}  {:>10}/{:<10}  {:>5}  {:>8.1}",
                d.code,
                d.name,
                d.source_problems.len(),
                d.overlap_squares_lost,
                d.gap_squares_gained,
                d.fragment_squares_lost,
                d.fragment_squares_gained,
                d.parts,
                d.area_km2
            )?;
            for p in &d.source_problems {
                writeln!(f, "        source: {p}")?;
            }
        }
        writeln!(
            f,
            "gap regions closed inside the city: {}",
            self.gap_regions
        )
    }
}

/// The built dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The city, districts, streets, communities and cells.
    pub places: Vec<Place>,
    /// Buildings, each inside a cell.
    pub buildings: Vec<Building>,
    /// What the district repair did.
    pub report: RepairReport,
}

/// Approximate seats of the district governments: the cores around which urban streets are placed.
fn district_core(code: &str) -> (f64, f64) {
    match code {
        "110101" => (116.416, 39.928),
        "110102" => (116.366, 39.912),
        "110105" => (116.443, 39.921),
        "110106" => (116.286, 39.858),
        "110107" => (116.223, 39.906),
        "110108" => (116.298, 39.959),
        "110109" => (116.102, 39.941),
        "110111" => (116.143, 39.748),
        "110112" => (116.659, 39.909),
        "110113" => (116.655, 40.130),
        "110114" => (116.231, 40.220),
        "110115" => (116.341, 39.727),
        "110116" => (116.631, 40.316),
        "110117" => (117.121, 40.140),
        "110118" => (116.843, 40.377),
        "110119" => (115.975, 40.457),
        _ => (116.397, 39.909),
    }
}

fn is_village(code: &str) -> bool {
    code.get(9..12)
        .and_then(|s| s.parse::<u32>().ok())
        .is_some_and(|n| (200..400).contains(&n))
}

/// A unit to grow inside its parent.
struct Child {
    weight: f64,
    urban: bool,
}

/// Scratch state shared by every growth (reused to avoid reallocating grid-sized arrays).
struct Grower {
    stamp: Vec<u32>,
    cur: u32,
    owner: Vec<u32>,
}

fn dist(a: u32, b: u32) -> f64 {
    let (ai, aj) = grid::ij(a);
    let (bi, bj) = grid::ij(b);
    let (dx, dy) = (ai as f64 - bi as f64, aj as f64 - bj as f64);
    (dx * dx + dy * dy).sqrt()
}

fn centroid_square(squares: &[u32]) -> (f64, f64) {
    let n = squares.len().max(1) as f64;
    let (si, sj) = squares.iter().fold((0.0, 0.0), |(a, b), &s| {
        let (i, j) = grid::ij(s);
        (a + i as f64, b + j as f64)
    });
    (si / n, sj / n)
}

fn nearest_to(squares: &[u32], p: (f64, f64)) -> u32 {
    let mut best = (f64::INFINITY, 0);
    for &s in squares {
        let (i, j) = grid::ij(s);
        let d = (i as f64 - p.0).powi(2) + (j as f64 - p.1).powi(2);
        if d < best.0 {
            best = (d, s);
        }
    }
    best.1
}

impl Grower {
    fn new() -> Grower {
        Grower {
            stamp: vec![0; NX * NY],
            cur: 0,
            owner: vec![NONE; NX * NY],
        }
    }

    /// Grows `seeds.len()` connected regions over the 4-connected `squares` in order of weighted distance
    /// (`d / w`, in squares) to their seeds; returns each square's region (in the order of `squares`).
    fn grow(&mut self, squares: &[u32], seeds: &[u32], weights: &[f64]) -> Vec<u32> {
        self.cur += 1;
        for &s in squares {
            self.stamp[s as usize] = self.cur;
            self.owner[s as usize] = NONE;
        }
        let mut heap = BinaryHeap::new();
        for (k, &s) in seeds.iter().enumerate() {
            heap.push(Reverse((i64::MIN, s, k as u32)));
        }
        while let Some(Reverse((_, s, k))) = heap.pop() {
            if self.owner[s as usize] != NONE {
                continue;
            }
            self.owner[s as usize] = k;
            for n in grid::neighbours4(s) {
                if self.stamp[n as usize] == self.cur && self.owner[n as usize] == NONE {
                    let cost = dist(seeds[k as usize], n) / weights[k as usize];
                    heap.push(Reverse(((cost * 4096.0).round() as i64, n, k)));
                }
            }
        }
        squares.iter().map(|&s| self.owner[s as usize]).collect()
    }

    /// Splits one 4-connected component among `children`; returns each square's child (index into `children`).
    ///
    /// A connected, multiplicatively weighted Voronoi diagram (every region keeps at least its seed, which a power
    /// diagram does not guarantee): seeds start spread out (urban children near the core), then [`ROUNDS`] rounds
    /// move each seed to its region's centre (Lloyd) and scale its weight by the square root of target over area.
    fn split(&mut self, squares: &[u32], children: &[Child], core: (f64, f64)) -> Vec<u32> {
        let m = children.len();
        if m == 1 {
            return vec![0; squares.len()];
        }
        let total_w: f64 = children.iter().map(|c| c.weight).sum();
        let targets: Vec<f64> = children
            .iter()
            .map(|c| c.weight / total_w * squares.len() as f64)
            .collect();
        // Squares by distance to the core: urban units take the nearest ones.
        let core_sq = nearest_to(squares, core);
        let mut by_dist: Vec<(u64, u32)> = squares
            .iter()
            .map(|&s| (dist(core_sq, s).to_bits(), s))
            .collect();
        by_dist.sort_unstable();
        let urban: Vec<usize> = (0..m).filter(|&k| children[k].urban).collect();
        let rural: Vec<usize> = (0..m).filter(|&k| !children[k].urban).collect();
        let urban_area: f64 = urban.iter().map(|&k| targets[k]).sum();
        let split_at =
            (urban_area.round() as usize).clamp(urban.len(), squares.len() - rural.len());
        let (near, far): (Vec<u32>, Vec<u32>) = {
            let (a, b) = by_dist.split_at(split_at);
            (
                a.iter().map(|x| x.1).collect(),
                b.iter().map(|x| x.1).collect(),
            )
        };
        let mut seeds = vec![0u32; m];
        for (zone, members, from_core) in [(&near, &urban, true), (&far, &rural, false)] {
            let picked = farthest_points(zone, members.len(), from_core);
            for (slot, &k) in members.iter().enumerate() {
                seeds[k] = picked[slot];
            }
        }
        // The reach of a region grows with the square root of its target area.
        let mut weights: Vec<f64> = targets.iter().map(|t| t.sqrt()).collect();
        let mut owner = self.grow(squares, &seeds, &weights);
        for _ in 0..ROUNDS {
            let mut members: Vec<Vec<u32>> = vec![Vec::new(); m];
            for (&s, &k) in squares.iter().zip(&owner) {
                members[k as usize].push(s);
            }
            for k in 0..m {
                seeds[k] = nearest_to(&members[k], centroid_square(&members[k]));
                weights[k] *= (targets[k] / members[k].len().max(1) as f64)
                    .sqrt()
                    .clamp(0.7, 1.4);
            }
            owner = self.grow(squares, &seeds, &weights);
        }
        owner
    }
}

/// Picks `k` distinct, spread-out squares of `zone` (farthest-point sampling), starting at the square nearest the
/// core (`from_core`) or the farthest from it.
fn farthest_points(zone: &[u32], k: usize, from_core: bool) -> Vec<u32> {
    if k == 0 || zone.is_empty() {
        return Vec::new();
    }
    let start = if from_core { 0 } else { zone.len() - 1 };
    let mut picked = vec![zone[start]];
    let mut d: Vec<f64> = zone.iter().map(|&s| dist(s, zone[start])).collect();
    while picked.len() < k {
        let (best, _) = d.iter().enumerate().fold(
            (0, -1.0),
            |acc, (i, &v)| if v > acc.1 { (i, v) } else { acc },
        );
        let s = zone[best];
        picked.push(s);
        for (i, &z) in zone.iter().enumerate() {
            d[i] = d[i].min(dist(z, s));
        }
    }
    picked
}

/// Builds the whole dataset from the two source files.
pub fn build(
    districts_geojson: &[u8],
    divisions_csv: &str,
    seed: u64,
    progress: &dyn Fn(&str),
) -> Result<Dataset> {
    let divisions = read_divisions(divisions_csv)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let district_rows: Vec<&Division> = divisions
        .iter()
        .filter(|d| d.level == Level::District)
        .collect();

    // 1. Source districts, in code order.
    progress("rasterising districts");
    let features = layers::parse_features(&layers::decode_bytes(districts_geojson)?)?;
    let mut sources: Vec<(String, String, MultiPolygon<f64>)> = Vec::new();
    for f in features {
        let name = f.name.clone().unwrap_or_default();
        let Some(row) = district_rows.iter().find(|d| d.name == name) else {
            bail!(
                "district polygon {:?} has no row in the divisions table",
                name
            );
        };
        let geom = f
            .geometry
            .map_err(|e| anyhow::anyhow!("district {name}: {e}"))?;
        sources.push((row.code.clone(), name, geom));
    }
    sources.sort_by(|a, b| a.0.cmp(&b.0));
    if sources.len() != district_rows.len() {
        bail!(
            "{} district polygons for {} districts",
            sources.len(),
            district_rows.len()
        );
    }
    let mut report = RepairReport::default();
    let mut labels = vec![NONE; NX * NY];
    for (k, (code, name, geom)) in sources.iter().enumerate() {
        let mut rep = DistrictRepair {
            code: code.clone(),
            name: name.clone(),
            ..Default::default()
        };
        rep.source_problems = geom
            .validation_errors()
            .iter()
            .map(ToString::to_string)
            .collect();
        grid::scanline_fill(geom, |s| {
            if labels[s as usize] == NONE {
                labels[s as usize] = k as u32;
            } else {
                rep.overlap_squares_lost += 1;
            }
        });
        report.districts.push(rep);
    }

    // 2. Outside and gaps.
    let outside = flood_outside(&labels);
    let mut gap_regions = 0;
    {
        let mut seen = vec![false; NX * NY];
        for s in 0..(NX * NY) as u32 {
            if labels[s as usize] == NONE && !outside[s as usize] && !seen[s as usize] {
                gap_regions += 1;
                let mut q = vec![s];
                seen[s as usize] = true;
                while let Some(c) = q.pop() {
                    for n in grid::neighbours4(c) {
                        if labels[n as usize] == NONE && !outside[n as usize] && !seen[n as usize] {
                            seen[n as usize] = true;
                            q.push(n);
                        }
                    }
                }
            }
        }
    }
    report.gap_regions = gap_regions;
    let gained = fill_from_neighbours(&mut labels, |s, l| {
        l[s as usize] == NONE && !outside[s as usize]
    });
    for (k, n) in gained {
        report.districts[k as usize].gap_squares_gained += n;
    }

    // 3. Fragments.
    progress("removing fragments");
    for _round in 0..5 {
        let mut moved = false;
        let by_label = squares_by_label(&labels, sources.len());
        for (k, squares) in by_label.iter().enumerate() {
            for comp in grid::components(&labels, squares).into_iter().skip(1) {
                if comp.len() < MIN_EXCLAVE_SQUARES {
                    report.districts[k].fragment_squares_lost += comp.len();
                    for &s in &comp {
                        labels[s as usize] = NONE - 1;
                    }
                    moved = true;
                }
            }
        }
        if !moved {
            break;
        }
        let gained = fill_from_neighbours(&mut labels, |s, l| l[s as usize] == NONE - 1);
        for (k, n) in gained {
            report.districts[k as usize].fragment_squares_gained += n;
        }
        // A fragment with no other district beside it (an island) leaves the city.
        for l in labels.iter_mut() {
            if *l == NONE - 1 {
                *l = NONE;
            }
        }
    }
    let district_labels = labels.clone();
    let district_squares = squares_by_label(&district_labels, sources.len());

    // 4. Streets, communities, cells.
    let mut grower = Grower::new();
    let streets: Vec<&Division> = divisions
        .iter()
        .filter(|d| d.level == Level::Street)
        .collect();
    let communities: Vec<&Division> = divisions
        .iter()
        .filter(|d| d.level == Level::Community)
        .collect();
    let mut community_weight: BTreeMap<&str, (f64, bool)> = BTreeMap::new();
    for c in &communities {
        let village = is_village(&c.code);
        let jitter = rng.random_range(0.7..1.3);
        community_weight.insert(
            c.code.as_str(),
            (if village { 8.0 } else { 1.0 } * jitter, !village),
        );
    }
    let mut street_weight: BTreeMap<&str, (f64, usize, usize)> = BTreeMap::new();
    for c in &communities {
        let e = street_weight
            .entry(c.parent.as_str())
            .or_insert((0.0, 0, 0));
        let (w, urban) = community_weight[c.code.as_str()];
        e.0 += w;
        if urban {
            e.1 += 1;
        } else {
            e.2 += 1;
        }
    }

    progress("growing streets");
    let street_children: Vec<Vec<usize>> = sources
        .iter()
        .map(|(code, _, _)| {
            (0..streets.len())
                .filter(|&k| &streets[k].parent == code)
                .collect()
        })
        .collect();
    let street_labels = subdivide(
        &mut grower,
        &district_labels,
        &district_squares,
        &street_children,
        |k| {
            let (w, u, v) = street_weight
                .get(streets[k].code.as_str())
                .copied()
                .unwrap_or((4.0, 0, 1));
            Child {
                weight: w,
                urban: u >= v,
            }
        },
        |p, _| {
            let (lon, lat) = district_core(&sources[p].0);
            (
                (lon - grid::LON0) / grid::DLON,
                (lat - grid::LAT0) / grid::DLAT,
            )
        },
    )?;
    let street_squares = squares_by_label(&street_labels, streets.len());

    progress("growing communities");
    let community_children: Vec<Vec<usize>> = {
        let index: BTreeMap<&str, usize> = streets
            .iter()
            .enumerate()
            .map(|(k, s)| (s.code.as_str(), k))
            .collect();
        let mut v = vec![Vec::new(); streets.len()];
        for (k, c) in communities.iter().enumerate() {
            let Some(&p) = index.get(c.parent.as_str()) else {
                bail!("community {} names an unknown street {}", c.code, c.parent);
            };
            v[p].push(k);
        }
        v
    };
    let community_labels = subdivide(
        &mut grower,
        &street_labels,
        &street_squares,
        &community_children,
        |k| {
            let (w, urban) = community_weight[communities[k].code.as_str()];
            Child { weight: w, urban }
        },
        |_, squares| centroid_square(squares),
    )?;
    let community_squares = squares_by_label(&community_labels, communities.len());

    progress("growing cells");
    let mut cell_parent: Vec<usize> = Vec::new();
    let mut cell_children: Vec<Vec<usize>> = Vec::with_capacity(communities.len());
    for (k, c) in communities.iter().enumerate() {
        let n = if is_village(&c.code) {
            rng.random_range(1..=2)
        } else {
            rng.random_range(2..=6)
        };
        let n = n.min(community_squares[k].len() / 2).max(1);
        cell_children.push((cell_parent.len()..cell_parent.len() + n).collect());
        cell_parent.extend(std::iter::repeat_n(k, n));
    }
    let cell_labels = subdivide(
        &mut grower,
        &community_labels,
        &community_squares,
        &cell_children,
        |_| Child {
            weight: 1.0,
            urban: true,
        },
        |_, squares| centroid_square(squares),
    )?;
    let cell_squares = squares_by_label(&cell_labels, cell_parent.len());

    // 5. Cell codes, west→east, north→south inside each community.
    let mut cell_code: Vec<String> = vec![String::new(); cell_parent.len()];
    for (k, c) in communities.iter().enumerate() {
        let cells = &cell_children[k];
        let area = community_squares[k].len() as f64;
        let band = (area / cells.len() as f64).sqrt().max(1.0);
        let top = community_squares[k]
            .iter()
            .map(|&s| grid::ij(s).1)
            .max()
            .unwrap_or(0) as f64
            + 1.0;
        let mut order: Vec<(i64, i64, usize)> = cells
            .iter()
            .map(|&cell| {
                let (ci, cj) = centroid_square(&cell_squares[cell]);
                (
                    ((top - cj) / band).floor() as i64,
                    (ci * 1000.0) as i64,
                    cell,
                )
            })
            .collect();
        order.sort_unstable();
        for (serial, (_, _, cell)) in order.into_iter().enumerate() {
            cell_code[cell] = format!("{}{:03}", c.code, serial + 1);
        }
    }

    // 6. Tracing.
    progress("tracing outlines");
    let city_labels: Vec<u32> = district_labels
        .iter()
        .map(|&l| if l == NONE { NONE } else { 0 })
        .collect();
    let mut places = Vec::new();
    let city_geom = grid::trace(&city_labels, 1)
        .pop()
        .unwrap_or_else(|| MultiPolygon::new(Vec::new()));
    places.push(Place {
        code: code(CITY_CODE)?,
        name: "北京市".to_owned(),
        level: Level::City,
        parent: None,
        geometry: city_geom,
    });
    for (k, g) in grid::trace(&district_labels, sources.len())
        .into_iter()
        .enumerate()
    {
        report.districts[k].parts = g.0.len();
        report.districts[k].area_km2 =
            district_squares[k].len() as f64 * square_km2(&district_squares[k]);
        places.push(Place {
            code: code(&sources[k].0)?,
            name: sources[k].1.clone(),
            level: Level::District,
            parent: Some(code(CITY_CODE)?),
            geometry: g,
        });
    }
    for (k, g) in grid::trace(&street_labels, streets.len())
        .into_iter()
        .enumerate()
    {
        places.push(place(streets[k], Level::Street, g)?);
    }
    for (k, g) in grid::trace(&community_labels, communities.len())
        .into_iter()
        .enumerate()
    {
        places.push(place(communities[k], Level::Community, g)?);
    }
    for (k, g) in grid::trace(&cell_labels, cell_parent.len())
        .into_iter()
        .enumerate()
    {
        let c = communities[cell_parent[k]];
        let serial = &cell_code[k][12..];
        places.push(Place {
            code: code(&cell_code[k])?,
            name: format!("{}第{}网格", c.name, serial.trim_start_matches('0')),
            level: Level::Cell,
            parent: Some(code(&c.code)?),
            geometry: g,
        });
    }
    for p in &places {
        if p.geometry.0.is_empty() {
            bail!("{} {} has no area", p.level, p.code);
        }
        if !p.geometry.is_valid() {
            bail!("{} {} traced into an invalid polygon", p.level, p.code);
        }
    }

    // 7. Buildings.
    progress("placing buildings");
    let mut buildings = Vec::new();
    for (k, squares) in cell_squares.iter().enumerate() {
        let village = is_village(&communities[cell_parent[k]].code);
        let n = if village {
            rng.random_range(3..=8)
        } else {
            rng.random_range(5..=13)
        };
        for serial in 1..=n {
            let s = squares[rng.random_range(0..squares.len())];
            let (i, j) = grid::ij(s);
            let (x0, y0) = grid::vertex(i, j);
            let fx: f64 = rng.random_range(0.1..0.9);
            let fy: f64 = rng.random_range(0.1..0.9);
            let households = if village {
                rng.random_range(8..=60)
            } else {
                rng.random_range(24..=300)
            };
            buildings.push(Building {
                code: format!("{}{:03}", cell_code[k], serial),
                name: if village {
                    format!("{serial}号院")
                } else {
                    format!("{serial}号楼")
                },
                cell: code(&cell_code[k])?,
                households,
                lon: ((x0 + fx * grid::DLON) * 1e6).round() / 1e6,
                lat: ((y0 + fy * grid::DLAT) * 1e6).round() / 1e6,
            });
        }
    }
    places.sort_by(|a, b| (a.level, &a.code).cmp(&(b.level, &b.code)));
    buildings.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(Dataset {
        places,
        buildings,
        report,
    })
}

fn code(s: &str) -> Result<PlaceCode> {
    PlaceCode::parse(s)
        .map(|(c, _)| c)
        .with_context(|| format!("malformed code {s:?}"))
}

fn place(d: &Division, level: Level, geometry: MultiPolygon<f64>) -> Result<Place> {
    Ok(Place {
        code: code(&d.code)?,
        name: d.name.clone(),
        level,
        parent: Some(code(&d.parent)?),
        geometry,
    })
}

/// Mean Earth radius (IUGG), km.
const EARTH_RADIUS_KM: f64 = 6_371.008_8;

/// Area of one square in km² at the latitude of these squares' centroid.
fn square_km2(squares: &[u32]) -> f64 {
    let (_, cj) = centroid_square(squares);
    let lat = grid::LAT0 + cj * grid::DLAT;
    let w = grid::DLON.to_radians() * EARTH_RADIUS_KM * lat.to_radians().cos();
    let h = grid::DLAT.to_radians() * EARTH_RADIUS_KM;
    w * h
}

fn squares_by_label(labels: &[u32], n: usize) -> Vec<Vec<u32>> {
    let mut out = vec![Vec::new(); n];
    for (s, &l) in labels.iter().enumerate() {
        if let Some(v) = out.get_mut(l as usize) {
            v.push(s as u32);
        }
    }
    out
}

/// Squares reachable from the grid's edge through empty squares.
fn flood_outside(labels: &[u32]) -> Vec<bool> {
    let mut outside = vec![false; NX * NY];
    let mut q = VecDeque::new();
    for i in 0..NX {
        for j in [0, NY - 1] {
            q.push_back(grid::idx(i, j));
        }
    }
    for j in 0..NY {
        for i in [0, NX - 1] {
            q.push_back(grid::idx(i, j));
        }
    }
    while let Some(s) = q.pop_front() {
        if labels[s as usize] != NONE || outside[s as usize] {
            continue;
        }
        outside[s as usize] = true;
        q.extend(grid::neighbours4(s));
    }
    outside
}

/// Gives every square matching `open` the label of its nearest labelled neighbour (breadth-first, so ties go to
/// the labelled square with the lowest index); returns squares gained per label.
fn fill_from_neighbours(
    labels: &mut [u32],
    open: impl Fn(u32, &[u32]) -> bool,
) -> BTreeMap<u32, usize> {
    let mut q = VecDeque::new();
    let is_open: Vec<bool> = (0..labels.len() as u32).map(|s| open(s, labels)).collect();
    for s in 0..labels.len() as u32 {
        if !is_open[s as usize]
            && labels[s as usize] < NONE - 1
            && grid::neighbours4(s).any(|n| is_open[n as usize])
        {
            q.push_back(s);
        }
    }
    let mut filled = vec![false; labels.len()];
    let mut gained = BTreeMap::new();
    while let Some(s) = q.pop_front() {
        let l = labels[s as usize];
        for n in grid::neighbours4(s) {
            if is_open[n as usize] && !filled[n as usize] {
                filled[n as usize] = true;
                labels[n as usize] = l;
                *gained.entry(l).or_insert(0) += 1;
                q.push_back(n);
            }
        }
    }
    gained
}

/// Splits every parent among its children; returns the child label of every square.
fn subdivide(
    grower: &mut Grower,
    parent_labels: &[u32],
    parent_squares: &[Vec<u32>],
    children_of: &[Vec<usize>],
    child: impl Fn(usize) -> Child,
    core: impl Fn(usize, &[u32]) -> (f64, f64),
) -> Result<Vec<u32>> {
    let mut out = vec![NONE; NX * NY];
    for (p, squares) in parent_squares.iter().enumerate() {
        let kids = &children_of[p];
        if squares.is_empty() {
            continue;
        }
        if kids.is_empty() {
            bail!("parent #{p} has area but no children");
        }
        let comps = grid::components(parent_labels, squares);
        if comps.len() > kids.len() {
            bail!(
                "parent #{p} has {} parts but only {} children",
                comps.len(),
                kids.len()
            );
        }
        // Children per part: each part at least one, the rest by area (largest remainder).
        let specs: Vec<Child> = kids.iter().map(|&k| child(k)).collect();
        let mut assign: Vec<Vec<usize>> = vec![Vec::new(); comps.len()];
        let mut free: Vec<usize> = (0..kids.len()).collect();
        for c in (1..comps.len()).rev() {
            // Smaller parts take the child whose target is closest to their size.
            let total_w: f64 = specs.iter().map(|s| s.weight).sum();
            let want = comps[c].len() as f64 / squares.len() as f64 * total_w;
            let pos = free
                .iter()
                .enumerate()
                .min_by(|a, b| {
                    (specs[*a.1].weight - want)
                        .abs()
                        .total_cmp(&(specs[*b.1].weight - want).abs())
                })
                .map(|(i, _)| i)
                .unwrap_or(0);
            assign[c].push(free.remove(pos));
        }
        assign[0] = free;
        let core_p = core(p, squares);
        for (c, comp) in comps.iter().enumerate() {
            let members = &assign[c];
            let local: Vec<Child> = members
                .iter()
                .map(|&i| Child {
                    weight: specs[i].weight,
                    urban: specs[i].urban,
                })
                .collect();
            let owner = if comp.len() < local.len() {
                bail!(
                    "parent #{p} part {c} has {} squares for {} children",
                    comp.len(),
                    local.len()
                );
            } else {
                grower.split(comp, &local, core_p)
            };
            for (&s, &o) in comp.iter().zip(&owner) {
                out[s as usize] = kids[members[o as usize]] as u32;
            }
        }
    }
    Ok(out)
}

/// Runs [`build`] on the files in `source` and writes every layer into `out`, with a progress spinner.
pub fn build_to_dir(source: &std::path::Path, out: &std::path::Path, seed: u64) -> Result<()> {
    let districts = std::fs::read(source.join("beijing-districts.geojson"))
        .context("reading beijing-districts.geojson")?;
    let divisions = std::fs::read_to_string(source.join("beijing-divisions.csv"))
        .context("reading beijing-divisions.csv")?;
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let started = std::time::Instant::now();
    let ds = build(&districts, &divisions, seed, &|step| {
        bar.set_message(step.to_owned());
        tracing::info!(
            step,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "geodata build"
        );
    })?;
    bar.finish_and_clear();
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for level in Level::ALL {
        let places: Vec<Place> = ds
            .places
            .iter()
            .filter(|p| p.level == level)
            .cloned()
            .collect();
        let mut buf = Vec::new();
        layers::write_places(&mut buf, &places)?;
        let path = out.join(format!("{level}.geojson.gz"));
        std::fs::write(&path, layers::gzip(&buf)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!(
            "{:<10} {:>6} features  {}",
            level.as_str(),
            places.len(),
            path.display()
        );
    }
    let mut buf = Vec::new();
    layers::write_buildings(&mut buf, &ds.buildings)?;
    let path = out.join("building.geojson.gz");
    std::fs::write(&path, layers::gzip(&buf)?)?;
    println!(
        "{:<10} {:>6} features  {}",
        "building",
        ds.buildings.len(),
        path.display()
    );
    let report = ds.report.to_string();
    std::fs::write(out.join("repair-report.txt"), &report)?;
    print!("{report}");
    println!(
        "built in {:.1} s (seed {seed})",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
