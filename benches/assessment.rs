//! The monthly assessment over a month of all Beijing on SQLite (release build, this machine's 2 cores):
//! 1. `gridline simulate` files November 2026 (about 390,000 tickets) through intake into a fresh database;
//! 2. `simulate::work::play` handles the simulated cases as streets would (what `gridline simulate --workflow`
//!    does): dispatched by the rules, accepted, replied, every ticket called back, closed or reopened, patrol cases
//!    partly fixed on the spot, up to the end of November;
//! 3. `service::assessment::assess` for the month at each level (street: all 349 streets), several rounds.
//!
//! Run: `cargo bench --bench assessment` (prints its figures; not criterion: steps 1–2 take minutes).
//! `GRIDLINE_BENCH_DB=PATH` keeps the database there and reuses it when it already holds the data;
//! `GRIDLINE_BENCH_DAYS=61` simulates October too, so that the month-on-month comparison has a month to read.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use gridline::auth::role::Role;
use gridline::db::schema::case_work;
use gridline::domain::assessment::{Level, Month};
use gridline::service::auth::Principal;
use gridline::service::simulate::{self, traffic::Plan};
use std::time::Instant;

const MONTH: &str = "2026-11";

fn plan(days: u32) -> Plan {
    // The last `days` days up to the end of November.
    let end = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    Plan {
        start: end - Duration::days(i64::from(days)),
        days,
        seed: 1,
        scale: 1.0,
        hotspots: 6,
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let days: u32 = std::env::var("GRIDLINE_BENCH_DAYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let dir = tempfile::tempdir().unwrap();
    let path = std::env::var("GRIDLINE_BENCH_DB").unwrap_or_else(|_| {
        dir.path()
            .join("assessment.db")
            .to_string_lossy()
            .into_owned()
    });
    let state = gridline::app::prepare(&path, 4).unwrap();
    let db = &state.db;
    let filled: i64 = case_work::table
        .count()
        .get_result(&mut *db.reader().unwrap())
        .unwrap();
    if filled == 0 {
        let started = Instant::now();
        let (sum, _) = simulate::run(db, &state.geo(), plan(days), |_| {}).unwrap();
        println!(
            "simulated {days} days: {} tickets, {} patrol reports in {:.1} s",
            sum.tickets,
            sum.reports,
            started.elapsed().as_secs_f64()
        );
        let started = Instant::now();
        let end = NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let work = simulate::work::play(db, 1, end, |_| {}).unwrap();
        println!(
            "handled the simulated cases up to {end} in {:.1} s: {work:?}",
            started.elapsed().as_secs_f64()
        );
        let mut c = db.writer().unwrap();
        diesel::sql_query("ANALYZE").execute(&mut *c).unwrap();
    } else {
        println!("reusing {path}: {filled} case_work rows");
    }
    // Each query of the street level alone, on one connection (the service runs volume and callbacks side by side).
    {
        use gridline::store::assessment::{self as q, GroupBy, Rounds, Scope};
        let m = Month::parse(MONTH).unwrap();
        let (from, to) = (m.start_utc(), m.end_utc());
        let mut c = db.reader().unwrap();
        let all = Scope::default();
        for round in 0..2 {
            let t = Instant::now();
            q::volume(&mut c, GroupBy::Street, from, to, &all).unwrap();
            let v = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            q::callbacks(&mut c, GroupBy::Street, from, to, Rounds::All, &all).unwrap();
            let a = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            q::callbacks(&mut c, GroupBy::Street, from, to, Rounds::Superseded, &all).unwrap();
            let s = t.elapsed().as_secs_f64() * 1e3;
            println!(
                "  street queries, round {round}: volume {v:.0} ms, callbacks {a:.0} ms, superseded rounds {s:.0} ms"
            );
        }
    }
    let admin = Principal::machine("bench", "bench", Role::Admin);
    let month = Month::parse(MONTH).unwrap();
    for level in Level::ALL {
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..5 {
            let started = Instant::now();
            let a = gridline::service::assessment::assess(db, &admin, month, level).unwrap();
            times.push(started.elapsed().as_secs_f64() * 1e3);
            last = Some(a);
        }
        let a = last.unwrap();
        times.sort_by(f64::total_cmp);
        let tickets: i64 = a.entries.iter().map(|e| e.counts.tickets).sum();
        let top = a.entries.first();
        println!(
            "assess {MONTH} by {}: {} entries, {tickets} tickets counted; median {:.0} ms, min {:.0} ms, max {:.0} ms (5 runs){}",
            level.as_str(),
            a.entries.len(),
            times[2],
            times[0],
            times[4],
            top.map_or_else(String::new, |t| format!(
                "; first {} {} score {:.2}, response {:.3}, resolution {:.3}, satisfaction {:.3}",
                t.code,
                t.name.as_deref().unwrap_or(""),
                t.rates.score.unwrap_or(f64::NAN),
                t.rates.response.unwrap_or(f64::NAN),
                t.rates.resolution.unwrap_or(f64::NAN),
                t.rates.satisfaction.unwrap_or(f64::NAN),
            ))
        );
    }
}
