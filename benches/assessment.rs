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

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark stops at the first failure: unwrap says where"
)]

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use gridline::db::schema::case_work;
use gridline::domain::access::Principal;
use gridline::domain::access::Role;
use gridline::domain::assessment::{Level, Month};
use gridline::service::simulate::{self, traffic::Plan};
use std::time::Instant;

const MONTH: &str = "2026-11";
const PREVIOUS: &str = "2026-10";

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

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
    let state = gridline::http::state::prepare(&path, 4).unwrap();
    let db = &state.db;
    let filled: i64 = case_work::table
        .count()
        .get_result(&mut *db.reader().unwrap())
        .unwrap();
    if filled == 0 {
        let started = Instant::now();
        let (sum, _) = simulate::run(
            db,
            &state.geo(),
            plan(days),
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
        // As a server that has run a while: the bulk load's write-ahead log folded into the database.
        diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut *c)
            .unwrap();
    } else {
        println!("reusing {path}: {filled} case_work rows");
    }
    // The street level's query alone, on one connection, for each month the assessment reads.
    {
        use gridline::store::assessment::{self as q, GroupBy, Scope};
        let mut c = db.reader().unwrap();
        for m in [MONTH, PREVIOUS] {
            let m = Month::parse(m).unwrap();
            let t = Instant::now();
            let rows = q::sums(
                &mut c,
                GroupBy::Street,
                m.start_utc(),
                m.end_utc(),
                &Scope::default(),
            )
            .unwrap();
            println!(
                "  street sums of {m}: {} streets in {:.0} ms",
                rows.len(),
                t.elapsed().as_secs_f64() * 1e3
            );
            // The sums the triggers kept agree with the tickets and callbacks counted one by one.
            let kept: i64 = rows.iter().map(|r| r.tickets).sum();
            let reached: i64 = rows.iter().map(|r| r.reached).sum();
            let counted: Count = diesel::sql_query(
                "SELECT COUNT(*) AS n FROM case_work w JOIN tickets t ON t.case_id = w.case_id \
                 WHERE w.dispatched_at >= ? AND w.dispatched_at < ? AND w.street_code IS NOT NULL",
            )
            .bind::<diesel::sql_types::Timestamp, _>(m.start_utc())
            .bind::<diesel::sql_types::Timestamp, _>(m.end_utc())
            .get_result(&mut *c)
            .unwrap();
            let called: Count = diesel::sql_query(
                "SELECT COUNT(*) AS n FROM case_work w JOIN ticket_callbacks cb ON cb.case_id = w.case_id \
                 WHERE w.dispatched_at >= ? AND w.dispatched_at < ? AND w.street_code IS NOT NULL \
                 AND cb.contacted AND NOT EXISTS (SELECT 1 FROM ticket_callbacks l \
                 WHERE l.ticket_id = cb.ticket_id AND l.round > cb.round)",
            )
            .bind::<diesel::sql_types::Timestamp, _>(m.start_utc())
            .bind::<diesel::sql_types::Timestamp, _>(m.end_utc())
            .get_result(&mut *c)
            .unwrap();
            assert_eq!((kept, reached), (counted.n, called.n), "kept sums of {m}");
        }
    }
    let admin = Principal::machine("bench", "bench", Role::Admin);
    let month = Month::parse(MONTH).unwrap();
    for level in Level::ALL {
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..5 {
            let started = Instant::now();
            let a = gridline::service::assessment::assess(
                db,
                &admin,
                month,
                level,
                chrono::Utc::now().naive_utc(),
            )
            .unwrap();
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
