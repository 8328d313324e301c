//! Vector tiles from the in-memory tile index (release build, SQLite, the default Beijing dataset):
//! 1. the sweep: every tile of every layer's zoom band over Beijing's box, through the service as a city-wide
//!    reader; each answer decoded with geozero's MVT reader and every polygon checked valid (a tile that fails
//!    panics); prints per layer the tiles with features, the empty ones, the time to build the layer and
//!    simplify its zooms, and the time per tile. `GRIDLINE_TILES_SWEEP=0` skips it.
//! 2. criterion: a z14 cell tile over Tiananmen with its counts for November 2026: uncached (the tile caches emptied
//!    before each call; the layer and its zoom's simplified arcs, built once per geodata import, stay warm), with its
//!    geometry cached (the finished tiles emptied: the counts are summed at every call, from the copy the server
//!    keeps in memory, which the first call loads), and with the finished tile kept (the counts unchanged) answered
//!    as the route answers it (`Tiles::kept`, from memory, while the last read of the counts' version holds; else
//!    `Tiles::tile`, which reads it again). Each call of the first two reads the counts' version and the geodata's
//!    only when the last read is older than `db::OTHERS_SEEN_WITHIN`, as a map view's tiles do.
//!
//! Run: `cargo bench --bench tiles`. Figures go in README.md's Performance section. `GRIDLINE_BENCH_DB=PATH` opens
//! an existing database instead of a fresh one: the heat map bench's (`GRIDLINE_BENCH_DB=PATH cargo bench --bench
//! heatmap` fills it with 61 simulated days) gives the tiles real counts to read.

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark stops at the first failure: unwrap says where"
)]

use criterion::Criterion;
use geo::{Geometry, Validation};
use geozero::mvt::{Message, Tile};
use gridline::analytics::tiles::TileLayer;
use gridline::analytics::tiles::xyz::{self, TileId};
use gridline::domain::access::Principal;
use gridline::domain::access::Role;
use gridline::service::analytics::tiles::TileFilters;
use std::time::{Duration, Instant};

const BEIJING: [f64; 4] = [115.4, 39.4, 117.56, 41.11];
const CENTRE: (f64, f64) = (116.3975, 39.9087);

fn check(bytes: &[u8]) -> usize {
    let tile = Tile::decode(bytes).unwrap();
    let mut n = 0;
    for f in &tile.layers[0].features {
        let mut w = geozero::geo_types::GeoWriter::new();
        geozero::mvt::process_geom(f, &mut w).unwrap();
        let g = w.take_geometry().unwrap();
        match &g {
            Geometry::Point(_) => {}
            Geometry::Polygon(p) => assert!(p.is_valid(), "{:?}", p.validation_errors()),
            Geometry::MultiPolygon(mp) => {
                for p in &mp.0 {
                    assert!(p.is_valid(), "{:?}", p.validation_errors());
                }
            }
            other => panic!("unexpected geometry {other:?}"),
        }
        n += 1;
    }
    n
}

fn sweep(state: &gridline::http::state::AppState, me: &Principal) {
    let now = chrono::Utc::now().naive_utc();
    for layer in TileLayer::ALL {
        let started = Instant::now();
        state.tiles.warm(&state.db, layer).unwrap();
        let warm = started.elapsed();
        let (mut full, mut empty, mut features) = (0u64, 0u64, 0usize);
        let mut slowest = Duration::ZERO;
        let started = Instant::now();
        for z in layer.zooms() {
            let (xs, ys) = xyz::covering(z, BEIJING);
            for x in xs {
                for y in ys.clone() {
                    let t = TileId::new(z, x, y).unwrap();
                    let one = Instant::now();
                    let answer = state
                        .tiles
                        .tile(&state.db, me, layer, t, &TileFilters::default(), now)
                        .unwrap();
                    slowest = slowest.max(one.elapsed());
                    match answer {
                        Some(tile) => {
                            features += check(&tile.bytes);
                            full += 1;
                        }
                        None => empty += 1,
                    }
                }
            }
        }
        let took = started.elapsed();
        println!(
            "{:<12} z{}-{}: {full} tiles with {features} features, {empty} empty; layer and zooms built in {:.2} s; \
             {:.2} s for all tiles (decoded and checked), {:.3} ms per tile, slowest {:.1} ms",
            layer.name(),
            layer.zooms().start(),
            layer.zooms().end(),
            warm.as_secs_f64(),
            took.as_secs_f64(),
            took.as_secs_f64() * 1e3 / (full + empty).max(1) as f64,
            slowest.as_secs_f64() * 1e3,
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = std::env::var("GRIDLINE_BENCH_DB")
        .unwrap_or_else(|_| dir.path().join("tiles.db").to_string_lossy().into_owned());
    let state = gridline::http::state::prepare(&path, 4).unwrap();
    let me = Principal::machine("bench", "bench", Role::Admin);
    if std::env::var("GRIDLINE_TILES_SWEEP").as_deref() != Ok("0") {
        sweep(&state, &me);
    }
    state.tiles.warm(&state.db, TileLayer::Cells).unwrap();
    let (x, y) = xyz::project(CENTRE.0, CENTRE.1);
    let t = TileId::new(14, (x * 16384.0) as u32, (y * 16384.0) as u32).unwrap();
    let november = TileFilters {
        from: Some("2026-11-01".into()),
        to: Some("2026-11-30".into()),
        ..TileFilters::default()
    };
    let now = chrono::Utc::now().naive_utc();
    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("tiles");
    g.bench_function("cells z14 over Tiananmen, uncached", |b| {
        b.iter(|| {
            state.tiles.forget_tiles();
            state
                .tiles
                .tile(&state.db, &me, TileLayer::Cells, t, &november, now)
                .unwrap()
        })
    });
    g.bench_function("cells z14 over Tiananmen, geometry cached", |b| {
        b.iter(|| {
            state.tiles.forget_finished();
            state
                .tiles
                .tile(&state.db, &me, TileLayer::Cells, t, &november, now)
                .unwrap()
        })
    });
    // As the route answers: from memory while the last read of the counts' version holds, else through `tile`.
    g.bench_function("cells z14 over Tiananmen, finished tile kept", |b| {
        b.iter(|| {
            state
                .tiles
                .kept(&state.db, &me, TileLayer::Cells, t, &november, now)
                .unwrap_or_else(|| {
                    state
                        .tiles
                        .tile(&state.db, &me, TileLayer::Cells, t, &november, now)
                        .unwrap()
                })
        })
    });
    g.finish();
    c.final_summary();
}
