//! Heat maps of a month of all Beijing on SQLite, read from the kept counts (release build, criterion):
//! 1. `gridline simulate` files `GRIDLINE_BENCH_DAYS` days (default 61) of all Beijing's traffic (scale 1) up to the
//!    end of November 2026 through intake, which keeps the counts as it goes;
//! 2. `service::heatmap::heatmap` for November (30 days, with the 30 days before for the change) at street level
//!    (349 streets) and at cell level (every cell), as an admin (the whole city): as the server reads it, from the
//!    counts it keeps in memory (the first read, which loads them, is timed and printed), and side by side from the
//!    stored rows (a database handle that keeps no copy, as a command does).
//!
//! Run: `cargo bench --bench heatmap`. `GRIDLINE_BENCH_DB=PATH` keeps the database there and reuses it when it
//! already holds the data (the simulation takes minutes).

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark stops at the first failure: unwrap says where"
)]

use chrono::{Duration, NaiveDate};
use criterion::{Criterion, criterion_group, criterion_main};
use gridline::domain::access::Principal;
use gridline::domain::access::Role;
use gridline::service::analytics::heatmap::{self, HeatRequest};
use gridline::service::simulate::{self, traffic::Plan};
use std::time::Instant;

fn bench(c: &mut Criterion) {
    let days: u32 = std::env::var("GRIDLINE_BENCH_DAYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(61);
    let dir = tempfile::tempdir().unwrap();
    let path = std::env::var("GRIDLINE_BENCH_DB")
        .unwrap_or_else(|_| dir.path().join("heatmap.db").to_string_lossy().into_owned());
    let state = gridline::http::state::prepare(&path, 4).unwrap();
    let any = gridline::store::cases::any_case(&mut state.db.reader().unwrap()).unwrap();
    if !any {
        let end = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let plan = Plan {
            start: end - Duration::days(i64::from(days)),
            days,
            seed: 1,
            scale: 1.0,
            hotspots: 6,
        };
        let started = Instant::now();
        let (sum, _) = simulate::run(
            &state.db,
            &state.geo(),
            plan,
            chrono::Utc::now().naive_utc(),
            |_| {},
        )
        .unwrap();
        eprintln!(
            "simulated {days} days: {} tickets, {} patrol reports in {:.1} s",
            sum.tickets,
            sum.reports,
            started.elapsed().as_secs_f64()
        );
    }
    let admin = Principal::machine("bench", "bench", Role::Admin);
    let now = state.clock.now();
    let stored = gridline::db::Db::connect(&path, 4).unwrap();
    assert!(stored.counts_in_memory().is_none());
    for (level, name) in [("street", "street level"), ("cell", "cell level")] {
        let req = HeatRequest {
            level: Some(level.into()),
            from: Some("2026-11-01".into()),
            to: Some("2026-11-30".into()),
            ..HeatRequest::default()
        };
        let started = Instant::now();
        let h = heatmap::heatmap(&state.db, &state.index, &admin, &req, now).unwrap();
        let first = started.elapsed();
        let tickets: i64 = h.rows.iter().map(|r| r.now.tickets).sum();
        let (rows, bytes) = state
            .db
            .counts_in_memory()
            .and_then(|held| {
                held.read()
                    .unwrap()
                    .as_ref()
                    .map(|c| (c.rows(), c.row_bytes()))
            })
            .unwrap();
        eprintln!(
            "{name}: {} places, {tickets} tickets in November; first read {:.1} ms; the copy in memory: {rows} rows, \
             {:.1} MiB of rows",
            h.rows.len(),
            first.as_secs_f64() * 1e3,
            bytes as f64 / f64::from(1 << 20)
        );
        let from_rows = heatmap::heatmap(&stored, &state.index, &admin, &req, now).unwrap();
        assert_eq!(
            from_rows, h,
            "the copy in memory and the stored rows disagree"
        );
        c.bench_function(&format!("heat map, November, all Beijing, {name}"), |b| {
            b.iter(|| heatmap::heatmap(&state.db, &state.index, &admin, &req, now).unwrap())
        });
        c.bench_function(
            &format!("heat map, November, all Beijing, {name}, from the stored rows"),
            |b| b.iter(|| heatmap::heatmap(&stored, &state.index, &admin, &req, now).unwrap()),
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
