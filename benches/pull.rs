//! The pull feed (`service::pull::pull`) over simulated, handled traffic on SQLite (release build):
//! 1. `gridline simulate` files the last `GRIDLINE_BENCH_DAYS` days (default 14) of November 2026 at scale 1
//!    through intake into a fresh database, and `simulate::work::play` takes the cases along the workflow (every
//!    change lands in the change log through the triggers);
//! 2. a grid member scoped to the community with the most changes pulls everything from scratch in pages of 500
//!    (the first page also carries the reference data), then again from each page's cursor, several rounds;
//!    the same for a street-scoped handler.
//!
//! Run: `cargo bench --bench pull` (prints its figures). `GRIDLINE_BENCH_DB=PATH` keeps the database there and
//! reuses it when it already holds data. The time is the service's (one read transaction per page, rows to
//! page structs); JSON encoding is not included.

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark stops at the first failure: unwrap says where"
)]

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use gridline::domain::access::Principal;
use gridline::domain::access::Role;
use gridline::service::simulate::{self, traffic::Plan};
use gridline::service::sync::pull::{self, PullInput};
use std::time::Instant;

#[derive(QueryableByName)]
struct Busiest {
    #[diesel(sql_type = diesel::sql_types::Text)]
    code: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn busiest(db: &gridline::db::Db, digits: i32) -> Busiest {
    diesel::sql_query(format!(
        "SELECT substr(place_code, 1, {digits}) AS code, COUNT(*) AS n FROM changes \
         WHERE length(place_code) >= {digits} GROUP BY 1 ORDER BY n DESC LIMIT 1"
    ))
    .get_result(&mut *db.reader().unwrap())
    .unwrap()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let days: u32 = std::env::var("GRIDLINE_BENCH_DAYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(14);
    let dir = tempfile::tempdir().unwrap();
    let path = std::env::var("GRIDLINE_BENCH_DB")
        .unwrap_or_else(|_| dir.path().join("pull.db").to_string_lossy().into_owned());
    let state = gridline::http::state::prepare(&path, 4).unwrap();
    let db = &state.db;
    let filled: i64 = gridline::db::schema::changes::table
        .count()
        .get_result(&mut *db.reader().unwrap())
        .unwrap();
    if filled == 0 {
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
            db,
            &state.geo(),
            plan,
            chrono::Utc::now().naive_utc(),
            |_| {},
        )
        .unwrap();
        println!(
            "simulated {days} days: {} tickets, {} patrol reports in {:.1} s",
            sum.tickets,
            sum.reports,
            started.elapsed().as_secs_f64()
        );
        let started = Instant::now();
        let work = simulate::work::play(db, 1, end.and_hms_opt(0, 0, 0).unwrap(), |_| {}).unwrap();
        println!(
            "handled them in {:.1} s: {work:?}",
            started.elapsed().as_secs_f64()
        );
        let mut c = db.writer().unwrap();
        diesel::sql_query("ANALYZE").execute(&mut *c).unwrap();
        diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut *c)
            .unwrap();
    }
    let total: i64 = gridline::db::schema::changes::table
        .count()
        .get_result(&mut *db.reader().unwrap())
        .unwrap();
    println!("change log: {total} rows");

    for (role, digits, what) in [
        (Role::GridMember, 12, "community"),
        (Role::StreetHandler, 9, "street"),
    ] {
        let place = busiest(db, digits);
        let user = Principal {
            id: "bench".into(),
            username: "bench".into(),
            display_name: "bench".into(),
            role,
            places: vec![place.code.clone()],
            topics: Vec::new(),
        };
        let mut first = Vec::new();
        let mut pages = Vec::new();
        let mut changes = 0usize;
        let rounds = 5;
        for round in 0..rounds {
            let mut input = PullInput {
                cursor: None,
                limit: Some(500),
            };
            changes = 0;
            loop {
                let t = Instant::now();
                let page = pull::pull(
                    db,
                    &state.index,
                    &state.chain,
                    &user,
                    &input,
                    state.clock.now(),
                )
                .unwrap();
                let ms = t.elapsed().as_secs_f64() * 1e3;
                let n = page.cases.len() + page.reports.len() + page.tombstones.len();
                changes += n;
                if page.reference.is_some() {
                    first.push(ms);
                } else if round > 0 || n == 500 {
                    pages.push((ms, n));
                }
                if !page.has_more {
                    break;
                }
                input.cursor = Some(page.next_cursor);
            }
        }
        first.sort_by(f64::total_cmp);
        let full: Vec<f64> = {
            let mut v: Vec<f64> = pages
                .iter()
                .filter(|(_, n)| *n == 500)
                .map(|(ms, _)| *ms)
                .collect();
            v.sort_by(f64::total_cmp);
            v
        };
        println!(
            "{what} {} ({} change rows there; {changes} entities pulled per round, {rounds} rounds): first page with \
             reference data median {:.1} ms; full pages of 500: {} pages, median {:.1} ms, p95 {:.1} ms, max {:.1} ms",
            place.code,
            place.n,
            percentile(&first, 0.5),
            full.len(),
            if full.is_empty() {
                f64::NAN
            } else {
                percentile(&full, 0.5)
            },
            if full.is_empty() {
                f64::NAN
            } else {
                percentile(&full, 0.95)
            },
            full.last().copied().unwrap_or(f64::NAN),
        );
    }
}
