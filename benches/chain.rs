//! Hot path of the responsibility chain: resolving the chain of a random point of Beijing in memory, on top of
//! locating it, and loading the chain index from the database at start.
//!
//! `cargo bench --bench chain`; figures go in README.md's Performance section. The index's size (estimated heap
//! bytes; the resident set is no guide, as the allocator reuses what loading the dataset freed) is printed once.

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark stops at the first failure: unwrap says where"
)]

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use gridline::db::Db;
use gridline::geo::index::PlaceIndex;
use gridline::service::chain::index::{ChainIndex, SharedChainIndex};
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::sync::{Arc, OnceLock};

fn places() -> Arc<PlaceIndex> {
    static I: OnceLock<Arc<PlaceIndex>> = OnceLock::new();
    I.get_or_init(|| {
        let places = gridline::geo::dataset::places().unwrap();
        let buildings = gridline::geo::dataset::buildings().unwrap();
        Arc::new(PlaceIndex::new(&places, &buildings))
    })
    .clone()
}

/// Random points inside the city (rejection sampling over its bounding box).
fn points(n: usize) -> Vec<(f64, f64)> {
    let index = places();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let p = (
            rng.random_range(115.42..117.51),
            rng.random_range(39.44..41.06),
        );
        if index.cell_at(p.0, p.1).is_some() {
            out.push(p);
        }
    }
    out
}

/// A SQLite database with the default dataset and its generated chain.
fn database() -> &'static Db {
    static D: OnceLock<(tempfile::TempDir, Db)> = OnceLock::new();
    &D.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bench.db").to_string_lossy().into_owned();
        let db = Db::connect(&path, 2).unwrap();
        gridline::service::admin::geodata::ensure_loaded(&db).unwrap();
        (dir, db)
    })
    .1
}

fn chains() -> &'static SharedChainIndex {
    static C: OnceLock<SharedChainIndex> = OnceLock::new();
    C.get_or_init(|| {
        let db = database();
        let started = std::time::Instant::now();
        let index = ChainIndex::load(db).unwrap();
        let elapsed = started.elapsed();
        eprintln!(
            "chain index: {:?}; loaded in {:.0} ms; about {:.1} MiB of heap by estimate",
            index.stats(),
            elapsed.as_secs_f64() * 1e3,
            index.heap_bytes() as f64 / (1 << 20) as f64,
        );
        SharedChainIndex::new(index)
    })
}

fn bench_lookup(c: &mut Criterion) {
    let places = places();
    let chains = chains();
    let pts = points(100_000);
    let cells: Vec<String> = pts
        .iter()
        .map(|(x, y)| places.locate(*x, *y).unwrap().cell.code.clone())
        .collect();
    let at = NaiveDate::from_ymd_opt(2026, 6, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap();
    let mut g = c.benchmark_group("chain");
    g.bench_function("locate only (one random point, one core)", |b| {
        let mut k = 0;
        b.iter(|| {
            k = (k + 1) % pts.len();
            let (x, y) = pts[k];
            black_box(places.locate(x, y).map(|l| l.chain.len()))
        })
    });
    g.bench_function("chain_at of a cell (one random cell, one core)", |b| {
        let mut k = 0;
        b.iter(|| {
            k = (k + 1) % cells.len();
            black_box(
                chains
                    .chain_at(&places, &cells[k], at)
                    .map(|c| c.links.len()),
            )
        })
    });
    g.bench_function("locate then chain_at (one random point, one core)", |b| {
        let mut k = 0;
        b.iter(|| {
            k = (k + 1) % pts.len();
            let (x, y) = pts[k];
            let cell = places.locate(x, y).map(|l| l.cell.code.as_str());
            black_box(
                cell.and_then(|c| chains.chain_at(&places, c, at))
                    .map(|c| c.links.len()),
            )
        })
    });
    g.finish();
}

fn bench_load(c: &mut Criterion) {
    let db = database();
    let mut g = c.benchmark_group("chain load");
    g.sample_size(10);
    g.bench_function(
        "ChainIndex::load from SQLite (57k assignments, 56k people)",
        |b| b.iter(|| ChainIndex::load(db).unwrap().stats()),
    );
    g.finish();
}

criterion_group!(benches, bench_lookup, bench_load);
criterion_main!(benches);
