//! Bulk figures of issue 4 on SQLite (release build, this machine's 2 cores):
//! 1. `gridline simulate` for all of Beijing for 30 days (about 400,000 tickets and 85,000 patrol reports);
//! 2. importing 1,000,000 tickets from JSON Lines (written by the simulator's export) into a fresh database;
//! 3. the case list (`service::cases::read::list`, what `GET /api/v1/cases` runs) with those tickets stored: p50/p95/p99
//!    over typical queries (city, district, street, topic, class, flags, time window, deep pages).
//!
//! Run: `cargo bench --bench bulk` (prints its figures; not criterion: each step runs once, at full size).
//! `GRIDLINE_BENCH_TICKETS` sets the import size (default 1,000,000); `GRIDLINE_BENCH_STEPS` picks steps
//! (default `simulate,import,list`).

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark stops at the first failure: unwrap says where"
)]

use chrono::NaiveDate;
use gridline::domain::access::Principal;
use gridline::domain::access::Role;
use gridline::service::simulate::{self, traffic::Plan};
use gridline::store::cases::CaseFilter;
use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn month(scale: f64, seed: u64) -> Plan {
    Plan {
        start: NaiveDate::from_ymd_opt(2026, 10, 27).unwrap(),
        days: 30,
        seed,
        scale,
        hotspots: 6,
    }
}

fn simulate_month() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("sim.db").to_string_lossy().into_owned();
    let state = gridline::http::state::prepare(&url, 4).unwrap();
    let started = Instant::now();
    let (sum, _) = simulate::run(
        &state.db,
        &state.geo(),
        month(1.0, 1),
        chrono::Utc::now().naive_utc(),
        |_| {},
    )
    .unwrap();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "simulate 30 days, all of Beijing: {} tickets + {} patrol reports in {secs:.1} s ({:.0} items/s; target < 120 s)",
        sum.tickets,
        sum.reports,
        (sum.tickets + sum.reports) as f64 / secs
    );
}

fn import_and_list(tickets: usize, list: bool) {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("bulk.db").to_string_lossy().into_owned();
    let state = gridline::http::state::prepare(&url, 4).unwrap();
    let geo = state.geo();

    // The file: the simulator's tickets for a month at the scale that gives about `tickets` of them.
    let file = dir.path().join("tickets.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    // At scale 1 the month from 27 October holds 387,595 tickets; a little over asks for at least `tickets`.
    let scale = (tickets as f64 / 387_000.0).clamp(0.001, 10.0);
    let (written, _) =
        simulate::export(&state.db, &geo, month(scale, 2), &mut out, |_| {}).unwrap();
    drop(out);
    let rows = gridline::service::intake::ticket_import::rows(
        std::io::BufReader::new(std::fs::File::open(&file).unwrap()),
        gridline::service::intake::ticket_import::Format::JsonLines,
    );
    let actor = Principal::machine("bench", "bench import", Role::HotlineOperator);
    let started = Instant::now();
    let sum = gridline::service::intake::ticket_import::import(
        &state.db,
        &geo,
        &actor,
        rows,
        1000,
        || chrono::Utc::now().naive_utc(),
        |_| {},
        |r| panic!("rejected: {r:?}"),
    )
    .unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(sum.imported as u64, written);
    println!(
        "import {} tickets from JSON Lines: {secs:.1} s ({:.0} tickets/s; target 1,000,000 in < 180 s)",
        sum.imported,
        sum.imported as f64 / secs
    );
    if list {
        case_list(&state.db);
    }
}

fn case_list(db: &gridline::db::Db) {
    let person = |role, places: &[&str], topics: &[&str]| Principal {
        id: "bench".into(),
        username: "bench".into(),
        display_name: "bench".into(),
        role,
        places: places.iter().map(|s| (*s).to_owned()).collect(),
        topics: topics.iter().map(|s| (*s).to_owned()).collect(),
    };
    let admin = person(Role::Admin, &[], &[]);
    let chaoyang = person(Role::Dispatcher, &["110105"], &[]);
    let street = person(Role::StreetHandler, &["110105001"], &[]);
    let department = person(Role::DepartmentHandler, &["110108"], &["07"]);
    let week = |from: u32| CaseFilter {
        from: NaiveDate::from_ymd_opt(2026, 11, from).and_then(|d| d.and_hms_opt(0, 0, 0)),
        to: NaiveDate::from_ymd_opt(2026, 11, from + 7).and_then(|d| d.and_hms_opt(0, 0, 0)),
        ..CaseFilter::default()
    };
    let shapes: Vec<(&str, &Principal, CaseFilter, usize)> = vec![
        ("city, newest", &admin, CaseFilter::default(), 1),
        ("city, 5 pages deep", &admin, CaseFilter::default(), 5),
        ("district dispatcher", &chaoyang, CaseFilter::default(), 1),
        ("street handler", &street, CaseFilter::default(), 1),
        (
            "department handler (07, 海淀)",
            &department,
            CaseFilter::default(),
            1,
        ),
        (
            "city, topic 0701",
            &admin,
            CaseFilter {
                topic: Some("0701".into()),
                ..CaseFilter::default()
            },
            1,
        ),
        (
            "district, class 10",
            &chaoyang,
            CaseFilter {
                topic: Some("10".into()),
                ..CaseFilter::default()
            },
            1,
        ),
        (
            "city, group requests",
            &admin,
            CaseFilter {
                group_request: Some(true),
                ..CaseFilter::default()
            },
            1,
        ),
        (
            "city, repeat requests",
            &admin,
            CaseFilter {
                repeat_request: Some(true),
                ..CaseFilter::default()
            },
            1,
        ),
        (
            "city, unplaced",
            &admin,
            CaseFilter {
                unplaced: Some(true),
                ..CaseFilter::default()
            },
            1,
        ),
        (
            "city, status received",
            &admin,
            CaseFilter {
                status: Some("received".into()),
                ..CaseFilter::default()
            },
            1,
        ),
        ("city, one week", &admin, week(3), 1),
        (
            "district, one week, 3 pages",
            &chaoyang,
            CaseFilter {
                place: Some("110105".into()),
                ..week(10)
            },
            3,
        ),
    ];
    let rounds = 40;
    let mut all = Vec::new();
    for (name, user, filter, pages) in &shapes {
        let mut times = Vec::new();
        for _ in 0..rounds {
            let mut cursor: Option<String> = None;
            for _ in 0..*pages {
                let started = Instant::now();
                let (rows, next) = gridline::service::cases::read::list(
                    db,
                    user,
                    filter.clone(),
                    cursor.as_deref(),
                    50,
                )
                .unwrap();
                times.push(started.elapsed());
                assert!(!rows.is_empty() || next.is_none());
                cursor = next;
                if cursor.is_none() {
                    break;
                }
            }
        }
        times.sort();
        println!(
            "  case list, {name}: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.95)),
            ms(percentile(&times, 0.99))
        );
        all.extend(times);
    }
    all.sort();
    println!(
        "case list over all shapes ({} queries, 50 per page): p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms (target p95 < 20 ms)",
        all.len(),
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.95)),
        ms(percentile(&all, 0.99))
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let tickets: usize = std::env::var("GRIDLINE_BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let steps =
        std::env::var("GRIDLINE_BENCH_STEPS").unwrap_or_else(|_| "simulate,import,list".into());
    if steps.contains("simulate") {
        simulate_month();
    }
    if steps.contains("import") || steps.contains("list") {
        import_and_list(tickets, steps.contains("list"));
    }
}
