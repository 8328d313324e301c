//! `geodata check` and `geodata import`: problems are reported with codes, a failing file changes nothing,
//! a good file replaces its level, and lower levels that would no longer nest are protected.

use crate::common;

use common::TestDb;
use gridline::geo::layers;
use gridline::geo::place::Level;
use gridline::service::admin::geodata::{self, ImportError};
use gridline::store::places as store;
use serde_json::json;

fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

fn layer_bytes(level: Level) -> Vec<u8> {
    gridline::geo::dataset::LAYERS
        .iter()
        .find(|(l, _)| *l == level)
        .unwrap()
        .1
        .to_vec()
}

fn district_layer_with_swapped_outlines() -> Vec<u8> {
    let mut fc: serde_json::Value =
        serde_json::from_slice(&layers::decode_bytes(&layer_bytes(Level::District)).unwrap())
            .unwrap();
    let features = fc["features"].as_array_mut().unwrap();
    let g0 = features[0]["geometry"].clone();
    features[0]["geometry"] = features[1]["geometry"].clone();
    features[1]["geometry"] = g0;
    serde_json::to_vec(&fc).unwrap()
}

fn bad_file() -> Vec<u8> {
    serde_json::to_vec(&json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "110101", "name": "东城区"},
         "geometry": {"type": "Polygon", "coordinates": [[[116.38, 39.86], [116.45, 39.97], [116.45, 39.86], [116.38, 39.97], [116.38, 39.86]]]}},
        {"type": "Feature", "properties": {"code": "110102", "name": "西城区"},
         "geometry": {"type": "Polygon", "coordinates": [[[39.87, 116.30], [39.87, 116.39], [39.97, 116.39], [39.97, 116.30], [39.87, 116.30]]]}}
    ]}))
    .unwrap()
}

fn snapshot(db: &gridline::db::Db) -> (i64, i64, String) {
    let mut c = db.reader().unwrap();
    (
        store::count(&mut c).unwrap(),
        store::count_buildings(&mut c).unwrap(),
        store::get(&mut c, "110101").unwrap().unwrap().geometry,
    )
}

#[test]
fn a_file_with_problems_is_refused_and_nothing_changes() {
    let t = TestDb::beijing();
    let db = t.open();
    let before = snapshot(&db);
    let Err(ImportError::Refused(problems)) =
        geodata::import(&db, &bad_file(), Level::District, false, now())
    else {
        panic!("the bad file was imported");
    };
    let kinds: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| (p.feature.as_str(), p.kind))
        .collect();
    assert!(
        kinds.contains(&("110101", "self_intersection")),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("110102", "coordinates_swapped")),
        "{kinds:?}"
    );
    assert_eq!(snapshot(&db), before);
    // --drop-below does not bypass the check.
    assert!(matches!(
        geodata::import(&db, &bad_file(), Level::District, true, now()),
        Err(ImportError::Refused(_))
    ));
    assert_eq!(snapshot(&db), before);
}

#[test]
fn reimporting_the_districts_replaces_them_and_keeps_what_nests_below() {
    let t = TestDb::beijing();
    let db = t.open();
    let before = snapshot(&db);
    let report = geodata::import(
        &db,
        &layer_bytes(Level::District),
        Level::District,
        false,
        now(),
    )
    .unwrap();
    assert_eq!(
        (report.removed, report.inserted, report.dropped_below),
        (16, 16, 0)
    );
    assert_eq!(snapshot(&db), before);
    let mut c = db.reader().unwrap();
    assert!(store::meta(&mut c, "imported:district").unwrap().is_some());
    assert_eq!(
        store::meta(&mut c, "dataset").unwrap().as_deref(),
        Some("imported")
    );
}

#[test]
fn districts_that_would_orphan_the_streets_below_are_refused_unless_lower_levels_are_dropped() {
    let t = TestDb::beijing();
    let db = t.open();
    let before = snapshot(&db);
    let file = district_layer_with_swapped_outlines();
    let Err(ImportError::Refused(problems)) =
        geodata::import(&db, &file, Level::District, false, now())
    else {
        panic!("streets would no longer nest, yet the import went through");
    };
    assert!(
        problems
            .iter()
            .any(|p| p.kind == "not_within_parent" && p.feature.starts_with("110101")),
        "{problems:?}"
    );
    assert_eq!(snapshot(&db), before);
    let report = geodata::import(&db, &file, Level::District, true, now()).unwrap();
    assert_eq!(report.inserted, 16);
    assert!(report.dropped_below > 28_000 - 20);
    assert!(report.dropped_buildings >= 100_000);
    let mut c = db.reader().unwrap();
    assert_eq!(
        store::count(&mut c).unwrap(),
        17,
        "the city and its districts remain"
    );
    assert_eq!(store::count_buildings(&mut c).unwrap(), 0);
}

#[test]
fn the_committed_community_layer_checks_clean_against_the_stored_streets() {
    let t = TestDb::beijing();
    let db = t.open();
    let (places, problems) =
        geodata::check_file(Some(&db), &layer_bytes(Level::Community), None).unwrap();
    assert_eq!(problems, vec![]);
    assert_eq!(places.len(), 7535);
}

#[test]
fn the_check_command_prints_every_problem_with_the_features_code() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.geojson");
    std::fs::write(&path, bad_file()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridline"))
        .args(["geodata", "check", path.to_str().unwrap(), "--standalone"])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("110101\tself_intersection\t")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("110102\tcoordinates_swapped\t")),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("problem(s)"));
}

#[test]
fn buildings_are_replaced_only_when_every_one_lies_in_its_cell() {
    let t = TestDb::beijing();
    let db = t.open();
    let before = snapshot(&db);
    let mut fc: serde_json::Value =
        serde_json::from_slice(&layers::decode_bytes(gridline::geo::dataset::BUILDINGS).unwrap())
            .unwrap();
    let features = fc["features"].as_array_mut().unwrap();
    features.truncate(2000);
    let good = serde_json::to_vec(&fc).unwrap();
    fc["features"][5]["geometry"]["coordinates"] = json!([121.47, 31.23]);
    fc["features"][6]["properties"]["cell"] = json!("110101999999001");
    let bad = serde_json::to_vec(&fc).unwrap();
    let Err(ImportError::Refused(problems)) = geodata::import_buildings(&db, &bad, now()) else {
        panic!("imported a bad building layer")
    };
    let kinds: Vec<&str> = problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, ["not_within_parent", "parent_missing"]);
    assert_eq!(snapshot(&db), before);
    let (removed, inserted) = geodata::import_buildings(&db, &good, now()).unwrap();
    assert_eq!((removed as i64, inserted), (before.1, 2000));
    assert_eq!(snapshot(&db).1, 2000);
}

#[test]
fn a_check_that_runs_past_its_deadline_ends_with_an_error_instead_of_hanging() {
    let started = std::time::Instant::now();
    let r = geodata::check_file_within(
        None,
        &layer_bytes(Level::Cell),
        None,
        std::time::Duration::from_millis(50),
    );
    let Err(e) = r else {
        panic!("20,000 cells checked in 50 ms?")
    };
    assert!(e.to_string().contains("did not finish"), "{e}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "answered promptly"
    );
}

/// A valid (empty) FeatureCollection padded with `mib` MiB of spaces, gzipped: a few hundred kilobytes.
fn gzip_bomb(mib: usize) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(br#"{"type": "FeatureCollection", "features": []"#)
        .unwrap();
    let block = vec![b' '; 1 << 20];
    for _ in 0..mib {
        gz.write_all(&block).unwrap();
    }
    gz.write_all(b"}").unwrap();
    gz.finish().unwrap()
}

#[test]
fn a_gzip_bomb_is_refused_by_check_and_import_with_the_size_cap() {
    let bomb = gzip_bomb(usize::try_from(layers::MAX_LAYER_BYTES >> 20).unwrap() + 44);
    assert!(bomb.len() < 2 << 20, "{} bytes", bomb.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.geojson.gz");
    std::fs::write(&path, &bomb).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridline"))
        .args(["geodata", "check", path.to_str().unwrap(), "--standalone"])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("larger than 256 MiB once decompressed"),
        "{stderr}"
    );

    let t = TestDb::beijing();
    let db = t.open();
    let before = snapshot(&db);
    let Err(e) = geodata::import(&db, &bomb, Level::District, false, now()) else {
        panic!("a bomb was imported")
    };
    assert!(e.to_string().contains("once decompressed"), "{e}");
    assert_eq!(snapshot(&db), before);
}
