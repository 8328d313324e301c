//! The default Beijing dataset: counts, codes, a clean partition, and the index against brute force.

use crate::common;

use geo::{
    BoundingRect, Contains, CoordinatePosition, GeodesicArea, coordinate_position::CoordPos,
};
use gridline::geo::dataset;
use gridline::geo::place::{Level, Place};
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};

fn places() -> &'static [Place] {
    static P: std::sync::OnceLock<Vec<Place>> = std::sync::OnceLock::new();
    P.get_or_init(|| dataset::places().unwrap())
}

fn of_level(level: Level) -> Vec<&'static Place> {
    places().iter().filter(|p| p.level == level).collect()
}

#[test]
fn the_dataset_has_the_real_districts_streets_and_communities_and_enough_cells_and_buildings() {
    assert_eq!(of_level(Level::City).len(), 1);
    assert_eq!(of_level(Level::District).len(), 16);
    assert_eq!(of_level(Level::Street).len(), 349);
    assert_eq!(of_level(Level::Community).len(), 7535);
    let cells = of_level(Level::Cell).len();
    assert!((15_000..=40_000).contains(&cells), "{cells} cells");
    let csv = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/geodata/source/beijing-divisions.csv"
    ))
    .unwrap();
    let real: BTreeMap<String, String> = csv
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.trim().split(',').collect();
            Some((f.get(1)?.to_string(), f.get(2)?.to_string()))
        })
        .collect();
    for p in places()
        .iter()
        .filter(|p| matches!(p.level, Level::District | Level::Street | Level::Community))
    {
        assert_eq!(
            real.get(p.code.as_str()),
            Some(&p.name),
            "{} has its real name",
            p.code
        );
    }
    assert!(dataset::buildings().unwrap().len() >= 100_000);
}

#[test]
fn codes_are_unique_and_nest_and_cells_are_numbered_from_one_in_each_community() {
    let mut seen = BTreeSet::new();
    let by_code: BTreeMap<&str, &Place> = places().iter().map(|p| (p.code.as_str(), p)).collect();
    for p in places() {
        assert!(seen.insert(p.code.as_str()), "duplicate {}", p.code);
        assert_eq!(p.code.as_str().len(), p.level.code_len());
        if let Some(parent) = &p.parent {
            let parent = by_code
                .get(parent.as_str())
                .unwrap_or_else(|| panic!("{} has no parent", p.code));
            assert_eq!(
                Some(parent.level),
                p.level.parent(),
                "{} nests one level down",
                p.code
            );
        } else {
            assert_eq!(p.level, Level::City);
        }
    }
    let mut serials: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for c in of_level(Level::Cell) {
        serials
            .entry(&c.code.as_str()[..12])
            .or_default()
            .push(c.code.as_str()[12..].parse().unwrap());
    }
    assert_eq!(serials.len(), 7535, "every community has cells");
    for (community, mut s) in serials {
        s.sort_unstable();
        assert_eq!(
            s,
            (1..=s.len() as u32).collect::<Vec<_>>(),
            "{community}: serials 001.."
        );
    }
}

#[test]
fn every_polygon_is_valid_and_the_levels_have_the_same_area() {
    use geo::Validation;
    let mut total: BTreeMap<Level, f64> = BTreeMap::new();
    for p in places() {
        assert!(
            p.geometry.is_valid(),
            "{} is invalid: {:?}",
            p.code,
            p.geometry.validation_errors()
        );
        *total.entry(p.level).or_default() += p.geometry.geodesic_area_unsigned();
    }
    let city = total[&Level::City];
    assert!((15_000e6..18_000e6).contains(&city), "city area {city} m²");
    for (level, area) in &total {
        assert!(
            (area - city).abs() / city < 0.001,
            "{level}: {area} vs city {city}"
        );
    }
}

#[test]
fn children_exactly_cover_their_parent() {
    // Planar area in degrees²: the partition is exact, so the sums agree to rounding (geodesic areas would differ
    // by metres because a long parent edge and the same edge cut at children's vertices are different geodesics).
    use geo::Area;
    let mut sum: BTreeMap<&str, f64> = BTreeMap::new();
    for p in places() {
        if let Some(parent) = &p.parent {
            *sum.entry(parent.as_str()).or_default() += p.geometry.unsigned_area();
        }
    }
    for p in places().iter().filter(|p| p.level != Level::Cell) {
        let own = p.geometry.unsigned_area();
        let kids = sum.get(p.code.as_str()).copied().unwrap_or(0.0);
        assert!(
            (own - kids).abs() <= own * 1e-9,
            "{}: {own} vs children {kids} (degrees²)",
            p.code
        );
    }
}

#[test]
fn random_points_fall_in_one_cell_whose_parents_contain_them_too() {
    let index = common::beijing_index();
    let by_code: BTreeMap<&str, &Place> = places().iter().map(|p| (p.code.as_str(), p)).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut inside = 0;
    for _ in 0..20_000 {
        let (lon, lat) = (rng.random_range(115.4..117.6), rng.random_range(39.4..41.1));
        let Some(cell) = index.cell_at(lon, lat) else {
            continue;
        };
        inside += 1;
        let mut code = index.cell_code(cell).to_owned();
        while let Some(p) = by_code.get(code.as_str()) {
            assert_ne!(
                p.geometry
                    .coordinate_position(&geo::coord! { x: lon, y: lat }),
                CoordPos::Outside,
                "{code} holds ({lon}, {lat})"
            );
            match &p.parent {
                Some(parent) => code = parent.as_str().to_owned(),
                None => break,
            }
        }
    }
    assert!(inside > 5_000, "{inside} points inside the city");
}

/// Brute force: every cell polygon, with only a bounding-box test in front.
struct Brute {
    cells: Vec<(geo::Rect<f64>, &'static Place)>,
}

impl Brute {
    fn new() -> Brute {
        let mut cells: Vec<_> = of_level(Level::Cell)
            .into_iter()
            .map(|p| (p.geometry.bounding_rect().unwrap(), p))
            .collect();
        cells.sort_by(|a, b| a.1.code.cmp(&b.1.code));
        Brute { cells }
    }

    fn cell_at(&self, lon: f64, lat: f64) -> (Option<&str>, usize) {
        let c = geo::coord! { x: lon, y: lat };
        let mut inside = None;
        let mut boundary = Vec::new();
        for (rect, p) in &self.cells {
            if c.x < rect.min().x || c.x > rect.max().x || c.y < rect.min().y || c.y > rect.max().y
            {
                continue;
            }
            match p.geometry.coordinate_position(&c) {
                CoordPos::Inside => inside = Some(p.code.as_str()),
                CoordPos::OnBoundary => boundary.push(p.code.as_str()),
                CoordPos::Outside => {}
            }
        }
        match inside {
            Some(code) => (Some(code), 1 + boundary.len()),
            None => (boundary.first().copied(), boundary.len()),
        }
    }
}

#[test]
fn the_index_agrees_with_brute_force_on_100000_random_points() {
    let index = common::beijing_index();
    let brute = Brute::new();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let city = of_level(Level::City)[0].geometry.bounding_rect().unwrap();
    let mut found = 0;
    for _ in 0..100_000 {
        let lon = rng.random_range(city.min().x..city.max().x);
        let lat = rng.random_range(city.min().y..city.max().y);
        let (expected, _) = brute.cell_at(lon, lat);
        let got = index.cell_at(lon, lat).map(|c| index.cell_code(c));
        assert_eq!(got, expected, "({lon}, {lat})");
        found += usize::from(got.is_some());
    }
    assert!(found > 40_000, "{found} of 100000 points in a cell");
}

#[test]
fn points_on_shared_edges_and_vertices_get_exactly_one_cell_the_lowest_code() {
    let index = common::beijing_index();
    let brute = Brute::new();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let cells = of_level(Level::Cell);
    let mut shared = 0;
    for _ in 0..300 {
        let cell = cells[rng.random_range(0..cells.len())];
        let ring = &cell.geometry.0[0].exterior().0;
        for w in ring.windows(2).take(8) {
            let mid = ((w[0].x + w[1].x) / 2.0, (w[0].y + w[1].y) / 2.0);
            for (lon, lat) in [(w[0].x, w[0].y), mid] {
                let (expected, touching) = brute.cell_at(lon, lat);
                let got = index.cell_at(lon, lat).map(|c| index.cell_code(c));
                assert_eq!(got, expected, "({lon}, {lat})");
                assert!(got.is_some());
                if touching >= 2 {
                    shared += 1;
                    assert!(
                        got <= Some(cell.code.as_str()),
                        "lowest code wins at ({lon}, {lat})"
                    );
                }
            }
        }
    }
    assert!(shared > 1000, "{shared} shared boundary points tested");
}

#[test]
fn buildings_lie_inside_their_cells() {
    let cells: BTreeMap<&str, &Place> = of_level(Level::Cell)
        .into_iter()
        .map(|p| (p.code.as_str(), p))
        .collect();
    for b in dataset::buildings().unwrap().iter().step_by(7) {
        let cell = cells[b.cell.as_str()];
        assert!(
            cell.geometry.contains(&geo::point! { x: b.lon, y: b.lat }),
            "{} in {}",
            b.code,
            b.cell
        );
        assert!(b.households > 0);
    }
}

#[test]
fn geodata_build_reproduces_the_committed_dataset_byte_for_byte() {
    let out = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    gridline::geo::build::build_to_dir(
        &root.join("geodata/source"),
        out.path(),
        gridline::geo::build::DEFAULT_SEED,
    )
    .unwrap();
    for name in [
        "city",
        "district",
        "street",
        "community",
        "cell",
        "building",
    ] {
        let file = format!("{name}.geojson.gz");
        let built = std::fs::read(out.path().join(&file)).unwrap();
        let committed = std::fs::read(root.join("geodata/beijing").join(&file)).unwrap();
        assert!(
            built == committed,
            "{file} differs from geodata/beijing: run `gridline geodata build` and commit"
        );
    }
}
