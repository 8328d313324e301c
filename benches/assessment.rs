//! The monthly assessment over a month of all Beijing on SQLite (release build, this machine's 2 cores):
//! 1. `gridline simulate` files November 2026 (about 390,000 tickets) through intake into a fresh database;
//! 2. every case with tickets gets its work (`case_work`: dispatched ten minutes or so after it opened, the street
//!    office of its place as handler, one of three handlers per street accepting, 10 % also sent to a department)
//!    and every ticket its callbacks (`ticket_callbacks`), drawn deterministically at realistic rates: response
//!    about 99 %, callers reached about 95 %, resolution about 86 %, satisfaction about 90 %, 3 % reopened and
//!    called back twice, 2 % of replies without evidence, 2 % of cases whistled; written in batches through the
//!    store functions;
//! 3. `service::assessment::assess` for the month at each level (street: all 349 streets), several rounds.
//!
//! Run: `cargo bench --bench assessment` (prints its figures; not criterion: steps 1–2 take minutes).
//! `GRIDLINE_BENCH_DB=PATH` keeps the database there and reuses it when it already holds the data;
//! `GRIDLINE_BENCH_DAYS=61` simulates October too, so that the month-on-month comparison has a month to read.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use gridline::auth::role::Role;
use gridline::db::schema::{case_work, cases, tickets, units};
use gridline::domain::assessment::{Level, Month};
use gridline::service::auth::Principal;
use gridline::service::simulate::{self, traffic::Plan};
use gridline::store::org::UnitRow;
use gridline::store::work::{self, CallbackRow, WhistleCallRow, WorkRow};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
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

/// Departments: four city-wide, four per district.
fn departments(conn: &mut gridline::db::DbConnection) -> HashMap<String, Vec<String>> {
    let at = NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let districts: Vec<String> = gridline::db::schema::places::table
        .filter(gridline::db::schema::places::level.eq("district"))
        .select(gridline::db::schema::places::code)
        .load(conn)
        .unwrap();
    let names = ["城管委", "住建委", "水务局", "交通委"];
    let mut rows = Vec::new();
    let mut by_district: HashMap<String, Vec<String>> = HashMap::new();
    for d in std::iter::once("110000".to_owned()).chain(districts) {
        for (k, n) in names.iter().enumerate() {
            let id = format!("unit_bench_{d}_{k}");
            rows.push(UnitRow {
                id: id.clone(),
                kind: "department".into(),
                name: format!("{d}{n}"),
                place_code: Some(d.clone()),
                district_code: d.clone(),
                topics: "[]".into(),
                created_at: at,
                updated_at: at,
            });
            by_district.entry(d.clone()).or_default().push(id);
        }
    }
    gridline::store::org::insert_units(conn, &rows).unwrap();
    by_district
}

/// Work and callbacks for every case with tickets, in batches of 5,000 cases per transaction.
fn fill(db: &gridline::db::Db) {
    let started = Instant::now();
    let mut conn = db.writer().unwrap();
    let conn = &mut *conn;
    let depts = conn
        .transaction(|c| Ok::<_, diesel::result::Error>(departments(c)))
        .unwrap();
    let offices: HashMap<String, String> = units::table
        .filter(units::kind.eq("street_office"))
        .select((units::place_code.assume_not_null(), units::id))
        .load::<(String, String)>(conn)
        .unwrap()
        .into_iter()
        .collect();
    let all: Vec<(String, String, Option<String>, NaiveDateTime)> = cases::table
        .filter(cases::ticket_count.gt(0))
        .filter(cases::place_code.is_not_null())
        .order(cases::id.asc())
        .select((
            cases::id,
            cases::district_code,
            cases::place_code,
            cases::opened_at,
        ))
        .load(conn)
        .unwrap();
    let mut by_case: HashMap<String, Vec<String>> = HashMap::new();
    for (id, case_id) in tickets::table
        .select((tickets::id, tickets::case_id))
        .load::<(String, String)>(conn)
        .unwrap()
    {
        by_case.entry(case_id).or_default().push(id);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (mut n_work, mut n_callbacks, mut n_whistles) = (0, 0, 0);
    for batch in all.chunks(5000) {
        let mut works = Vec::with_capacity(batch.len());
        let mut callbacks = Vec::new();
        let mut whistles = Vec::new();
        for (case_id, district, place, opened) in batch {
            let street = place
                .as_deref()
                .filter(|p| p.len() >= 9)
                .map(|p| p[..9].to_owned());
            let dispatched = *opened + Duration::minutes(rng.random_range(2..40));
            let respond_due = dispatched + Duration::hours(2);
            let roll: f64 = rng.random();
            let (accepted_at, accepted) = if roll < 0.005 {
                (None, false) // nobody accepted it
            } else if roll < 0.01 {
                (
                    Some(respond_due + Duration::minutes(rng.random_range(1..600))),
                    true,
                )
            } else {
                (
                    Some(dispatched + Duration::minutes(rng.random_range(1..120))),
                    true,
                )
            };
            let handler = street
                .as_ref()
                .map(|s| format!("user_bench_{s}_{}", rng.random_range(0..3)));
            let dual = rng.random_bool(0.10);
            let departments = match (dual, depts.get(district.as_str())) {
                (true, Some(list)) => format!("[\"{}\"]", list[rng.random_range(0..list.len())]),
                _ => "[]".to_owned(),
            };
            let evidence_missing = rng.random_bool(0.02);
            let replied = accepted_at.map(|a| a + Duration::hours(rng.random_range(2..96)));
            works.push(WorkRow {
                case_id: case_id.clone(),
                district_code: district.clone(),
                handler_unit_id: street.as_ref().and_then(|s| offices.get(s).cloned()),
                street_code: street,
                departments,
                copied: "[]".into(),
                time_class: "7d".into(),
                dispatched_at: dispatched,
                respond_due_at: respond_due,
                complete_due_at: dispatched + Duration::days(7),
                extension_days: 0,
                accepted_at,
                accepted_by: if accepted { handler.clone() } else { None },
                accepted_by_name: if accepted {
                    handler
                        .as_ref()
                        .map(|h| format!("经办人{}", &h[h.len() - 6..]))
                } else {
                    None
                },
                replied_at: replied,
                closed_at: replied.map(|r| r + Duration::days(1)),
                return_count: 0,
                buck_passing: false,
                evidence_missing,
                rung: 0,
                next_rung_at: None,
            });
            if rng.random_bool(0.02)
                && let Some(list) = depts.get(district.as_str())
            {
                for unit in list.iter().take(rng.random_range(1..=2usize)) {
                    let at = dispatched + Duration::hours(3);
                    let r: f64 = rng.random();
                    let reported = if r < 0.90 {
                        Some(at + Duration::minutes(rng.random_range(1..30)))
                    } else if r < 0.97 {
                        Some(at + Duration::minutes(rng.random_range(31..180)))
                    } else {
                        None
                    };
                    whistles.push(WhistleCallRow {
                        case_id: case_id.clone(),
                        whistle_seq: 1,
                        unit_id: unit.clone(),
                        unit_name: String::new(),
                        district_code: district.clone(),
                        summoned_at: at,
                        due_at: at + Duration::minutes(30),
                        reported_at: reported,
                        reported_by: reported.map(|_| "bench".to_owned()),
                        reported_by_name: reported.map(|_| "bench".to_owned()),
                    });
                }
            }
            let Some(replied) = replied else { continue };
            for ticket in by_case.get(case_id).map(Vec::as_slice).unwrap_or_default() {
                let r: f64 = rng.random();
                if r < 0.02 {
                    continue; // not called back yet
                }
                let mut round = 1;
                if rng.random_bool(0.03) {
                    callbacks.push(callback(
                        ticket,
                        case_id,
                        district,
                        replied,
                        1,
                        true,
                        "no",
                        "dissatisfied",
                    ));
                    round = 2;
                }
                let contacted = r >= 0.05;
                let resolved = pick(&mut rng, &[(0.80, "yes"), (0.12, "partly"), (0.08, "no")]);
                let satisfaction = pick(
                    &mut rng,
                    &[
                        (0.82, "satisfied"),
                        (0.10, "basically_satisfied"),
                        (0.08, "dissatisfied"),
                    ],
                );
                callbacks.push(callback(
                    ticket,
                    case_id,
                    district,
                    replied + Duration::days(i64::from(round)),
                    round,
                    contacted,
                    resolved,
                    satisfaction,
                ));
            }
        }
        n_work += works.len();
        n_callbacks += callbacks.len();
        n_whistles += whistles.len();
        conn.transaction(|c| {
            for w in &works {
                work::put(c, w)?;
            }
            work::insert_callbacks(c, &callbacks)?;
            work::insert_whistle_calls(c, &whistles)
        })
        .unwrap();
    }
    println!(
        "filled {n_work} case_work rows, {n_callbacks} callbacks, {n_whistles} whistle calls in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn pick(rng: &mut ChaCha8Rng, table: &[(f64, &'static str)]) -> &'static str {
    let mut x: f64 = rng.random();
    for (p, v) in table {
        if x < *p {
            return v;
        }
        x -= p;
    }
    table[table.len() - 1].1
}

#[allow(clippy::too_many_arguments)]
fn callback(
    ticket: &str,
    case_id: &str,
    district: &str,
    at: NaiveDateTime,
    round: i32,
    contacted: bool,
    resolved: &str,
    satisfaction: &str,
) -> CallbackRow {
    CallbackRow {
        ticket_id: ticket.to_owned(),
        round,
        case_id: case_id.to_owned(),
        district_code: district.to_owned(),
        at,
        actor_id: "bench".into(),
        contacted,
        resolved: contacted.then(|| resolved.to_owned()),
        satisfaction: contacted.then(|| satisfaction.to_owned()),
        note: String::new(),
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
        fill(db);
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
