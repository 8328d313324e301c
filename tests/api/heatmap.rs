//! The leaders' heat maps: the kept counts equal counts made directly from the raw rows (an independent query, on
//! either database) after simulated days with the workflow, merges, unmerges, reopens and an import, and
//! `analytics rebuild` finds no difference; every reader sees only their jurisdiction and a request beyond it is
//! refused; bad parameters answer stable codes.

use crate::common;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use common::TestApp;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use gridline::db::DbConnection;
use gridline::domain::access::Principal;
use gridline::domain::access::Role;
use gridline::service::cases::workflow::{self, TransitionInput};
use gridline::service::intake::Geo;
use gridline::service::simulate::{self, traffic::Plan};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const START: &str = "2026-11-20";
const DAYS: u32 = 4;

#[derive(QueryableByName)]
struct KeyCount {
    #[diesel(sql_type = Text)]
    k: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The UTC bounds of Beijing days `from..=to`, as SQL literals.
fn utc_bounds(from: NaiveDate, to: NaiveDate) -> (String, String) {
    let start = from.and_hms_opt(0, 0, 0).unwrap() - Duration::hours(8);
    let end = (to + Duration::days(1)).and_hms_opt(0, 0, 0).unwrap() - Duration::hours(8);
    let f = |t: NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
    (f(start), f(end))
}

/// Tickets and cases per place prefix of `len` digits, counted straight from the raw rows.
fn raw_counts(
    c: &mut DbConnection,
    len: usize,
    from: NaiveDate,
    to: NaiveDate,
    status: Option<&str>,
) -> BTreeMap<String, (i64, i64)> {
    let (start, end) = utc_bounds(from, to);
    let class = match status {
        Some("closed") => "AND c.status IN ('closed', 'self_resolved')",
        Some(_) => unreachable!(),
        None => "",
    };
    let place = |t: &str| format!("COALESCE({t}.place_code, {t}.district_code)");
    let tickets = format!(
        "SELECT substr({p}, 1, {len}) AS k, COUNT(*) AS n FROM tickets t JOIN cases c ON c.id = t.case_id \
         WHERE c.status <> 'merged' {class} AND t.received_at >= '{start}' AND t.received_at < '{end}' \
         AND length({p}) >= {len} GROUP BY substr({p}, 1, {len})",
        p = place("t")
    );
    let cases = format!(
        "SELECT substr({p}, 1, {len}) AS k, COUNT(*) AS n FROM cases c \
         WHERE c.status <> 'merged' {class} AND c.opened_at >= '{start}' AND c.opened_at < '{end}' \
         AND length({p}) >= {len} GROUP BY substr({p}, 1, {len})",
        p = place("c")
    );
    let mut out: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for r in diesel::sql_query(tickets).load::<KeyCount>(c).unwrap() {
        out.entry(r.k).or_default().0 = r.n;
    }
    for r in diesel::sql_query(cases).load::<KeyCount>(c).unwrap() {
        out.entry(r.k).or_default().1 = r.n;
    }
    out
}

fn from_map(r: &Value) -> BTreeMap<String, (i64, i64)> {
    r["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = &f["properties"];
            (
                p["code"].as_str().unwrap().to_owned(),
                (p["tickets"].as_i64().unwrap(), p["cases"].as_i64().unwrap()),
            )
        })
        .filter(|(_, v)| *v != (0, 0))
        .collect()
}

fn ids(c: &mut DbConnection, sql: &str) -> Vec<String> {
    diesel::sql_query(sql)
        .load::<Id>(c)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

fn step(action: &str) -> TransitionInput {
    serde_json::from_value(json!({ "action": action, "note": "test" })).unwrap()
}

/// Simulated days (with the workflow) plus merges, unmerges, reopens and an import, on the app's database.
fn busy_days(app: &TestApp, now: NaiveDateTime) {
    let db = &app.state.db;
    let geo = Geo {
        index: &app.state.index,
        addresses: &app.state.addresses,
        chain: &app.state.chain,
    };
    let plan = Plan {
        start: day(START),
        days: DAYS,
        seed: 11,
        scale: 0.02,
        hotspots: 2,
    };
    simulate::run(db, &geo, plan, now, |_| ()).unwrap();
    simulate::work::play(db, 11, now, |_| ()).unwrap();
    let mut c = db.writer().unwrap();
    // Merges by hand: pairs of open cases on the same topic.
    let open = ids(
        &mut c,
        "SELECT id FROM cases WHERE status IN ('received', 'dispatched', 'accepted') ORDER BY topic_code, id",
    );
    drop(c);
    let dispatcher = Principal::machine("t-dispatch", "dispatcher", Role::Dispatcher);
    let mut merged = 0;
    for pair in open.chunks(2).take(12) {
        let [a, b] = pair else { continue };
        let mut input = step("merge");
        input.into_case = Some(b.clone());
        if workflow::transition(db, &dispatcher, a, &input, now).is_ok() {
            merged += 1;
        }
    }
    assert!(merged >= 3, "only {merged} merges were taken");
    // Unmerges: a ticket out of cases with several items.
    let mut c = db.writer().unwrap();
    let tickets = ids(
        &mut c,
        "SELECT MIN(t.id) AS id FROM tickets t JOIN cases c ON c.id = t.case_id \
         WHERE c.ticket_count + c.report_count >= 2 AND c.status <> 'merged' GROUP BY t.case_id ORDER BY 1 LIMIT 8",
    );
    drop(c);
    assert!(tickets.len() >= 3, "{} cases to unmerge", tickets.len());
    for t in &tickets {
        let case_id: String = {
            let mut c = db.writer().unwrap();
            ids(
                &mut c,
                &format!("SELECT case_id AS id FROM tickets WHERE id = '{t}'"),
            )
            .remove(0)
        };
        gridline::service::cases::merge::unmerge(
            db,
            &dispatcher,
            &case_id,
            &gridline::service::cases::merge::UnmergeInput {
                ticket_id: Some(t.clone()),
                report_id: None,
                reason: "not the same problem".into(),
            },
            now,
        )
        .unwrap();
    }
    // Reopens of closed hotline cases.
    let mut c = db.writer().unwrap();
    let closed = ids(
        &mut c,
        "SELECT id FROM cases WHERE status = 'closed' AND source = 'hotline' ORDER BY id LIMIT 6",
    );
    drop(c);
    assert!(!closed.is_empty(), "the simulated workflow closed no case");
    let operator = Principal::machine("t-hotline", "hotline", Role::HotlineOperator);
    for id in &closed {
        workflow::transition(db, &operator, id, &step("reopen"), now).unwrap();
    }
    // An import of a few tickets.
    let (lon, lat, _) = common::spot();
    let mut lines = String::new();
    for i in 0..5 {
        lines.push_str(
            &json!({
                "ticket_no": format!("IMP-{i}"),
                "received_at": "2026-11-21T10:00:00+08:00",
                "channel": "phone",
                "request_type": "complaint",
                "topic": if i % 2 == 0 { "0101" } else { "0601" },
                "text": "导入的工单",
                "caller": { "name": "李四", "phone": format!("1390000000{i}") },
                "location": { "lon": lon + f64::from(i) * 0.002, "lat": lat }
            })
            .to_string(),
        );
        lines.push('\n');
    }
    let rows = gridline::service::intake::ticket_import::rows(
        std::io::Cursor::new(lines.into_bytes()),
        gridline::service::intake::ticket_import::Format::JsonLines,
    );
    let sum = gridline::service::intake::ticket_import::import(
        db,
        &geo,
        &operator,
        rows,
        100,
        || now,
        |_| (),
        |r| panic!("refused: {r:?}"),
    )
    .unwrap();
    assert_eq!(sum.imported, 5);
    gridline::service::cases::scheduler::tick(db, now).unwrap();
}

#[actix_web::test]
async fn the_heat_map_equals_the_raw_rows_after_merges_unmerges_reopens_and_an_import() {
    let app = TestApp::beijing();
    let now = chrono::Utc::now().naive_utc();
    let admin = app.token(Role::Admin, &[]);
    let (from, to) = (day(START), day(START) + Duration::days(i64::from(DAYS) - 1));
    // The server keeps the counts in memory from its first read on: every change after it must reach the copy.
    let r = app
        .get_as(
            &admin,
            &format!("/api/v1/heatmap?level=street&from={from}&to={to}"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(from_map(&r.json).is_empty(), "{}", r.json);
    busy_days(&app, now);
    let diffs = gridline::service::analytics::counts::rebuild(&app.state.db, now, false).unwrap();
    assert!(
        diffs.is_empty(),
        "rebuild found {} differences: {:?}",
        diffs.len(),
        &diffs[..diffs.len().min(5)]
    );
    let held = app.state.db.counts_in_memory().unwrap();
    let version = gridline::store::counts::version(&mut app.state.db.reader().unwrap()).unwrap();
    assert_eq!(
        held.read().unwrap().as_ref().map(|c| c.version()),
        Some(version),
        "the copy follows the counting passes"
    );

    let mut c = app.state.db.reader().unwrap();
    for (level, len) in [("district", 6), ("street", 9)] {
        let r = app
            .get_as(
                &admin,
                &format!("/api/v1/heatmap?level={level}&from={from}&to={to}"),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        let raw = raw_counts(&mut c, len, from, to, None);
        assert!(
            raw.values().map(|v| v.0).sum::<i64>() > 100,
            "too little traffic"
        );
        assert_eq!(from_map(&r.json), raw, "{level}");
        let r = app
            .get_as(
                &admin,
                &format!("/api/v1/heatmap?level={level}&from={from}&to={to}&status=closed"),
            )
            .await;
        assert_eq!(
            from_map(&r.json),
            raw_counts(&mut c, len, from, to, Some("closed")),
            "{level}, closed"
        );
    }
    // Every street of the city appears, zeros included; the previous period is the same length before.
    let r = app
        .get_as(
            &admin,
            &format!("/api/v1/heatmap?level=street&from={from}&to={to}"),
        )
        .await;
    assert_eq!(
        r.json["features"].as_array().unwrap().len(),
        app.state
            .index
            .places()
            .iter()
            .filter(|p| p.level == gridline::geo::place::Level::Street)
            .count()
    );
    assert_eq!(r.json["previous_to"], "2026-11-19");
    assert_eq!(r.json["previous_from"], "2026-11-16");
    // The series of a district adds up to its heat-map numbers.
    let first = &r.json["features"][0]["properties"];
    let district = &first["code"].as_str().unwrap()[..6];
    let d = app
        .get_as(
            &admin,
            &format!("/api/v1/heatmap?level=district&from={from}&to={to}"),
        )
        .await;
    let want = from_map(&d.json).get(district).copied().unwrap_or((0, 0));
    let t = app
        .get_as(
            &admin,
            &format!("/api/v1/places/{district}/trend?from={from}&to={to}&step=day"),
        )
        .await;
    assert_eq!(t.status, 200, "{}", t.json);
    assert_eq!(t.json["points"].as_array().unwrap().len(), DAYS as usize);
    assert_eq!(
        (
            t.json["tickets"].as_i64().unwrap(),
            t.json["cases"].as_i64().unwrap()
        ),
        want
    );
}

#[actix_web::test]
async fn a_filed_ticket_counts_at_once_and_a_rebuild_of_a_broken_count_reports_it() {
    let app = TestApp::beijing();
    let op = app.token(Role::HotlineOperator, &[]);
    let (lon, lat, cell) = common::spot();
    let r = app
        .post_as(
            &op,
            "/api/v1/tickets",
            json!({
                "ticket_no": "H-1",
                "received_at": "2026-11-25T09:00:00+08:00",
                "channel": "phone",
                "request_type": "complaint",
                "topic": "0101",
                "text": "楼下垃圾堆了三天没人清",
                "caller": { "name": "张三丰", "phone": "13812345678" },
                "location": { "lon": lon, "lat": lat }
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    // The server's counting thread loads the copy in memory before anyone asks; the read below catches up first
    // and adds the ticket to it.
    let db = &app.state.db;
    let today = gridline::analytics::counts::local_day(chrono::Utc::now().naive_utc());
    gridline::service::analytics::counts::warm(db, today).unwrap();
    let version = gridline::store::counts::version(&mut db.reader().unwrap()).unwrap();
    let held = db.counts_in_memory().unwrap();
    assert_eq!(
        held.read().unwrap().as_ref().map(|c| c.version()),
        Some(version)
    );
    let admin = app.token(Role::Admin, &[]);
    let uri = format!(
        "/api/v1/heatmap?level=cell&from=2026-11-25&to=2026-11-25&within={}",
        &cell[..12]
    );
    let r = app.get_as(&admin, &uri).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(from_map(&r.json), BTreeMap::from([(cell.clone(), (1, 1))]));
    let r = app.get_as(&admin, &format!("{uri}&topic=02")).await;
    assert!(from_map(&r.json).is_empty());
    let r = app
        .get_as(
            &admin,
            &format!("{uri}&topic=01&source=hotline&status=open"),
        )
        .await;
    assert_eq!(from_map(&r.json).len(), 1);

    // Someone edits the counts behind the server's back, as a writer that keeps no copy in memory (another
    // process) would, version included: the server reads them again; the rebuild reports the edit and repairs it.
    let now = chrono::Utc::now().naive_utc();
    common::set_counted_tickets(&app.db.open(), &cell, 7);
    let r = app.get_as(&admin, &uri).await;
    assert_eq!(from_map(&r.json), BTreeMap::from([(cell.clone(), (7, 1))]));
    let diffs = gridline::service::analytics::counts::rebuild(&app.state.db, now, true).unwrap();
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    assert_eq!((diffs[0].stored.tickets, diffs[0].counted.tickets), (7, 1));
    assert!(
        gridline::service::analytics::counts::rebuild(&app.state.db, now, false)
            .unwrap()
            .is_empty()
    );
    let r = app.get_as(&admin, &uri).await;
    assert_eq!(from_map(&r.json), BTreeMap::from([(cell.clone(), (1, 1))]));

    // A window older than the days the server holds in memory is summed from the stored rows.
    let two_years_ago = day("2024-06-03").and_hms_opt(1, 0, 0).unwrap();
    common::file_ticket_at(
        &app,
        "H-2",
        "0101",
        "13812345679",
        (lon, lat),
        two_years_ago,
    )
    .await;
    let old = format!(
        "/api/v1/heatmap?level=cell&from=2024-06-03&to=2024-06-03&within={}",
        &cell[..12]
    );
    let r = app.get_as(&admin, &old).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(from_map(&r.json), BTreeMap::from([(cell.clone(), (1, 1))]));
    let held = app.state.db.counts_in_memory().unwrap().read().unwrap();
    let first = held.as_ref().map(|c| c.first_day()).unwrap();
    assert!(first > day("2024-06-03"), "{first}");
}

/// Tickets at the city level in the stored counts (what a heat map adds up), read straight from the table.
fn counted_tickets(db: &gridline::db::Db) -> i64 {
    let mut c = db.reader().unwrap();
    diesel::sql_query(
        "SELECT 'city' AS k, CAST(COALESCE(SUM(tickets), 0) AS BIGINT) AS n FROM place_counts WHERE level = 'city'",
    )
    .get_result::<KeyCount>(&mut c)
    .unwrap()
    .n
}

#[actix_web::test]
async fn filings_not_counted_yet_are_counted_after_a_restart() {
    let app = TestApp::beijing();
    let op = app.token(Role::HotlineOperator, &[]);
    let (lon, lat, _) = common::spot();
    for i in 0..3 {
        let r = app
            .post_as(
                &op,
                "/api/v1/tickets",
                json!({
                    "ticket_no": format!("R-{i}"),
                    "received_at": "2026-11-25T09:00:00+08:00",
                    "channel": "phone",
                    "request_type": "complaint",
                    "topic": if i == 0 { "0101" } else { "0601" },
                    "text": "路灯坏了一个星期",
                    "caller": { "name": "王五", "phone": format!("1370000000{i}") },
                    "location": { "lon": lon + f64::from(i) * 0.01, "lat": lat }
                }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
    }
    // Filing counts nothing in its own transaction (the test app runs no counting thread): the three wait after
    // the counts' cursor.
    assert_eq!(counted_tickets(&app.state.db), 0);
    // The server stops there; the next process to open the database counts them.
    let now = app.state.clock.now();
    let again = app.db.open();
    assert!(gridline::service::analytics::counts::catch_up(&again, now).unwrap() >= 1);
    assert_eq!(counted_tickets(&again), 3);
    assert_eq!(
        gridline::service::analytics::counts::catch_up(&again, now).unwrap(),
        0,
        "a second pass found work left"
    );
    assert!(
        gridline::service::analytics::counts::rebuild(&again, now, false)
            .unwrap()
            .is_empty()
    );
}

#[actix_web::test]
async fn a_pass_read_before_another_write_of_the_counts_is_worked_out_again_under_the_lock() {
    use gridline::service::analytics::counts::{catch_up, read_pass, rebuild, write_pass};
    let app = TestApp::beijing();
    let (lon, lat, cell) = common::spot();
    let at = day("2026-11-25").and_hms_opt(1, 0, 0).unwrap();
    let file = |i: u32| {
        let app = &app;
        async move {
            let topic = if i.is_multiple_of(2) { "0101" } else { "0601" };
            let spot = (lon + f64::from(i) * 0.01, lat);
            let r = common::file_ticket_at(
                app,
                &format!("P-{i}"),
                topic,
                &format!("1370000010{i}"),
                spot,
                at,
            )
            .await;
            assert_eq!(r.status, 201, "{}", r.json);
        }
    };
    let db = &app.state.db;
    let now = app.state.clock.now();

    // Nothing between the read and the write: written as worked out.
    file(0).await;
    let pass = read_pass(db, now)
        .unwrap()
        .expect("a filed ticket waits to be counted");
    let wrote = write_pass(db, pass, now).unwrap();
    assert_eq!((wrote.cases, wrote.done, wrote.again), (1, true, false));
    assert_eq!(counted_tickets(db), 1);
    assert!(read_pass(db, now).unwrap().is_none());

    // A pass that changes no count comes between (a case touched without a change to what it adds): the cursor
    // moves, the counts' version does not; the pass read before it is worked out again all the same.
    let version = || gridline::store::counts::version(&mut db.reader().unwrap()).unwrap();
    let before = version();
    let touched = ids(&mut db.writer().unwrap(), "SELECT id FROM cases");
    diesel::sql_query(format!(
        "UPDATE cases SET status = status WHERE id = '{}'",
        touched[0]
    ))
    .execute(&mut *db.writer().unwrap())
    .unwrap();
    let stale = read_pass(db, now).unwrap().unwrap();
    assert_eq!(catch_up(db, now).unwrap(), 1);
    assert_eq!(version(), before);
    let wrote = write_pass(db, stale, now).unwrap();
    assert_eq!((wrote.cases, wrote.again), (0, true));
    assert_eq!(counted_tickets(db), 1);

    // Another pass counts the same change between the read and the write (the cursor and the version moved): the
    // pass read before it is worked out again, and counts nothing twice.
    file(1).await;
    let stale = read_pass(db, now).unwrap().unwrap();
    assert_eq!(catch_up(db, now).unwrap(), 1);
    let wrote = write_pass(db, stale, now).unwrap();
    assert_eq!((wrote.cases, wrote.again), (0, true));
    assert_eq!(counted_tickets(db), 2);

    // A write of the counts that moves only their version (as an overdue pass or a rebuild does) between the read
    // and the write: worked out again too; the edit is the rebuild's to find, the filing is counted once.
    file(2).await;
    let stale = read_pass(db, now).unwrap().unwrap();
    common::set_counted_tickets(db, &cell, 5);
    let wrote = write_pass(db, stale, now).unwrap();
    assert_eq!((wrote.cases, wrote.again), (1, true));
    let diffs = rebuild(db, now, true).unwrap();
    assert_eq!(
        diffs.iter().filter(|d| d.key.place == cell).count(),
        1,
        "{diffs:?}"
    );
    assert_eq!(counted_tickets(db), 3);
    assert!(rebuild(db, now, false).unwrap().is_empty());
}

#[actix_web::test]
async fn each_reader_sees_only_their_jurisdiction_and_a_request_beyond_it_is_refused() {
    let app = TestApp::beijing();
    let now = chrono::Utc::now().naive_utc();
    let geo = Geo {
        index: &app.state.index,
        addresses: &app.state.addresses,
        chain: &app.state.chain,
    };
    let plan = Plan {
        start: day(START),
        days: 2,
        seed: 5,
        scale: 0.02,
        hotspots: 0,
    };
    simulate::run(&app.state.db, &geo, plan, now, |_| ()).unwrap();
    let q = "from=2026-11-20&to=2026-11-21";
    let (_, _, cell) = common::spot();
    let (community, street, district) = (&cell[..12], &cell[..9], &cell[..6]);
    let places = app.state.index.places();
    let other_community = &places
        .iter()
        .find(|p| p.code.len() == 12 && p.code.starts_with(street) && p.code != community)
        .unwrap()
        .code;
    let other_district = &common::other_district(&app.state.index, district);
    let admin = app.token(Role::Admin, &[]);
    let secretary = app.token(Role::CommunitySecretary, &[community]);
    let street_leader = app.token(Role::Leader, &[street]);
    let district_leader = app.token(Role::Leader, &[district]);

    // A community secretary: their cells, no more; the numbers are the city's numbers for those cells.
    let r = app
        .get_as(&secretary, &format!("/api/v1/heatmap?level=cell&{q}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let cells = r.json["features"].as_array().unwrap();
    assert!(!cells.is_empty());
    assert!(
        cells
            .iter()
            .all(|f| f["id"].as_str().unwrap().starts_with(community))
    );
    let all = app
        .get_as(&admin, &format!("/api/v1/heatmap?level=cell&{q}"))
        .await;
    let city: BTreeMap<String, (i64, i64)> = from_map(&all.json)
        .into_iter()
        .filter(|(k, _)| k.starts_with(community))
        .collect();
    assert_eq!(from_map(&r.json), city);
    let r = app
        .get_as(&secretary, &format!("/api/v1/heatmap?level=community&{q}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["features"].as_array().unwrap().len(), 1);
    for level in ["street", "district"] {
        let r = app
            .get_as(&secretary, &format!("/api/v1/heatmap?level={level}&{q}"))
            .await;
        assert_eq!(
            (r.status.as_u16(), r.json["code"].as_str()),
            (403, Some("outside_jurisdiction")),
            "{level}"
        );
    }
    let r = app
        .get_as(
            &secretary,
            &format!("/api/v1/heatmap?level=cell&{q}&within={other_community}"),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].as_str()),
        (404, Some("place_not_found"))
    );
    let r = app
        .get_as(
            &secretary,
            &format!("/api/v1/places/{other_community}/trend?{q}"),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = app
        .get_as(
            &secretary,
            &format!("/api/v1/places/{community}/trend?{q}&step=week"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);

    // A street leader: communities and cells of the street; a district leader: streets of the district.
    let r = app
        .get_as(
            &street_leader,
            &format!("/api/v1/heatmap?level=community&{q}"),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(
        r.json["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["id"].as_str().unwrap().starts_with(street))
    );
    let r = app
        .get_as(
            &street_leader,
            &format!("/api/v1/heatmap?level=district&{q}"),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = app
        .get_as(
            &district_leader,
            &format!("/api/v1/heatmap?level=street&{q}"),
        )
        .await;
    let streets = r.json["features"].as_array().unwrap();
    assert!(streets.len() > 10);
    assert!(
        streets
            .iter()
            .all(|f| f["id"].as_str().unwrap().starts_with(district))
    );
    let r = app
        .get_as(
            &district_leader,
            &format!("/api/v1/heatmap?level=street&{q}&within={other_district}"),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = app
        .get_as(
            &district_leader,
            &format!("/api/v1/places/110000/trend?{q}"),
        )
        .await;
    assert_eq!(r.status, 404);
    // The city's readers see every district.
    let r = app
        .get_as(&admin, &format!("/api/v1/heatmap?level=district&{q}"))
        .await;
    assert_eq!(r.json["features"].as_array().unwrap().len(), 16);
    // A department handler: only their topics.
    let dept = app.token_with_topics(Role::DepartmentHandler, &[], &["07"]);
    let r = app
        .get_as(&dept, &format!("/api/v1/heatmap?level=district&{q}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["topics"], json!(["07"]));
    let r = app
        .get_as(
            &dept,
            &format!("/api/v1/heatmap?level=district&{q}&topic=01"),
        )
        .await;
    assert_eq!(r.status, 403);
}

#[actix_web::test]
async fn bad_parameters_answer_stable_codes() {
    let app = TestApp::beijing();
    let admin = app.token(Role::Admin, &[]);
    for (query, status, code) in [
        (
            "level=street&from=2026-03-02&to=2026-03-01",
            400,
            "window_reversed",
        ),
        (
            "level=street&from=2025-01-01&to=2026-03-01",
            400,
            "window_too_long",
        ),
        (
            "level=street&from=2026-03-01&to=2026-03-31&topic=0199",
            400,
            "unknown_topic",
        ),
        (
            "level=street&from=2026-03-01&to=2026-03-31&topic=abc",
            400,
            "unknown_topic",
        ),
        (
            "level=province&from=2026-03-01&to=2026-03-31",
            400,
            "unknown_level",
        ),
        (
            "level=city&from=2026-03-01&to=2026-03-31",
            400,
            "unknown_level",
        ),
        (
            "level=street&from=2026-3-1x&to=2026-03-31",
            400,
            "invalid_date",
        ),
        ("level=street&to=2026-03-31", 400, "missing_parameter"),
        (
            "level=street&from=2026-03-01&to=2026-03-31&source=fax",
            400,
            "unknown_source",
        ),
        (
            "level=street&from=2026-03-01&to=2026-03-31&status=late",
            400,
            "unknown_status",
        ),
        (
            "level=street&from=2026-03-01&to=2026-03-31&format=pdf",
            400,
            "invalid_query_value",
        ),
        (
            "level=street&from=2026-03-01&to=2026-03-31&colour=red",
            400,
            "unknown_query_parameter",
        ),
        (
            "level=cell&from=2026-03-01&to=2026-03-31&within=999999",
            404,
            "place_not_found",
        ),
    ] {
        let r = app
            .get_as(&admin, &format!("/api/v1/heatmap?{query}"))
            .await;
        assert_eq!(
            (r.status.as_u16(), r.json["code"].as_str()),
            (status, Some(code)),
            "{query}: {}",
            r.json
        );
    }
    for (query, code) in [
        ("from=2026-03-01&to=2026-03-31&step=hour", "unknown_step"),
        ("from=2026-03-31&to=2026-03-01", "window_reversed"),
        ("from=2026-03-01&to=2026-03-31&topic=7777", "unknown_topic"),
    ] {
        let r = app
            .get_as(&admin, &format!("/api/v1/places/110105/trend?{query}"))
            .await;
        assert_eq!(
            (r.status.as_u16(), r.json["code"].as_str()),
            (400, Some(code)),
            "{query}"
        );
    }
    // A value outside a fixed set names the values the parameter takes.
    for (path, accepted) in [
        (
            "/api/v1/heatmap?level=province&from=2026-03-01&to=2026-03-31",
            vec!["district", "street", "community", "cell"],
        ),
        (
            "/api/v1/heatmap?level=street&from=2026-03-01&to=2026-03-31&source=fax",
            vec!["hotline", "patrol", "mixed", "proactive"],
        ),
        (
            "/api/v1/heatmap?level=street&from=2026-03-01&to=2026-03-31&status=late",
            vec!["open", "closed", "overdue"],
        ),
        (
            "/api/v1/places/110105/trend?from=2026-03-01&to=2026-03-31&step=hour",
            vec!["day", "week", "month"],
        ),
    ] {
        let r = app.get_as(&admin, path).await;
        assert_eq!(r.status.as_u16(), 400, "{path}");
        assert_eq!(r.json["accepted"], serde_json::json!(accepted), "{path}");
    }
    let r = app
        .get_as(
            &admin,
            "/api/v1/places/110105999/trend?from=2026-03-01&to=2026-03-02",
        )
        .await;
    assert_eq!(r.status, 404);
    let r = app
        .get("/api/v1/heatmap?level=street&from=2026-03-01&to=2026-03-31")
        .await;
    assert_eq!(r.status, 401);
}

#[actix_web::test]
async fn the_csv_has_one_line_per_place_and_the_geojson_says_where_households_are_missing() {
    let app = TestApp::beijing();
    let admin = app.token(Role::Admin, &[]);
    let r = app
        .get_as(
            &admin,
            "/api/v1/heatmap?level=district&from=2026-03-01&to=2026-03-31&format=csv",
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers.get("content-type").unwrap(),
        "text/csv; charset=utf-8"
    );
    let everyone = Principal::machine("t", "t", Role::Admin);
    let req = gridline::service::analytics::heatmap::HeatRequest {
        level: Some("street".into()),
        from: Some("2026-03-01".into()),
        to: Some("2026-03-31".into()),
        ..Default::default()
    };
    let h = gridline::service::analytics::heatmap::heatmap(
        &app.state.db,
        &app.state.index,
        &everyone,
        &req,
        app.state.clock.now(),
    )
    .unwrap();
    let text = gridline::http::heatmap::csv(&h.into());
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("code,name,level,parent,tickets,cases,households,"));
    assert_eq!(
        lines.len() - 1,
        app.state
            .index
            .places()
            .iter()
            .filter(|p| p.code.len() == 9)
            .count()
    );
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.split(',').count() == 13 && l.contains(",street,"))
    );
    let r = app
        .get_as(
            &admin,
            "/api/v1/heatmap?level=district&from=2026-03-01&to=2026-03-31&topic=01&topic=0702",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["topics"], json!(["01", "0702"]));
    let f = &r.json["features"][0]["properties"];
    assert_eq!(f["tickets"], 0);
    assert!(f["tickets_change_pct"].is_null());
    let with = r.json["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["households"].is_i64())
        .count();
    assert_eq!(
        with + r.json["without_households"].as_array().unwrap().len(),
        16
    );
}

#[actix_web::test]
async fn the_overview_shows_the_readers_places_their_open_cases_and_todays_patrols_and_nothing_else()
 {
    let app = TestApp::beijing();
    // Late in today's Beijing day, so that today has its patrols.
    let today = gridline::analytics::counts::local_day(app.state.clock.now());
    let evening = today.and_hms_opt(20, 0, 0).unwrap() - Duration::hours(8);
    let now = app.state.clock.now();
    if evening > now {
        app.state.clock.advance(evening - now);
    }
    let now = app.state.clock.now();
    let geo = Geo {
        index: &app.state.index,
        addresses: &app.state.addresses,
        chain: &app.state.chain,
    };
    let plan = Plan {
        start: today - Duration::days(1),
        days: 2,
        seed: 3,
        scale: 0.05,
        hotspots: 0,
    };
    simulate::run(&app.state.db, &geo, plan, now, |_| ()).unwrap();
    let community = {
        // The community with the most patrol reports today, so that coverage has something to show.
        let mut c = app.state.db.reader().unwrap();
        let (start, end) = utc_bounds(today, today);
        ids(
            &mut c,
            &format!(
                "SELECT substr(place_code, 1, 12) AS id FROM reports WHERE reported_at >= '{start}' \
                 AND reported_at < '{end}' GROUP BY substr(place_code, 1, 12) ORDER BY COUNT(*) DESC, 1 LIMIT 1"
            ),
        )
        .remove(0)
    };
    let secretary = app.token(Role::CommunitySecretary, &[&community]);
    let r = app.get_as(&secretary, "/api/v1/my/overview").await;
    assert_eq!(r.status, 200, "{}", r.json);
    let places = r.json["places"].as_array().unwrap();
    assert!(!places.is_empty());
    assert!(
        places
            .iter()
            .all(|p| p["level"] == "cell" && p["code"].as_str().unwrap().starts_with(&community))
    );
    let cells = r.json["cells"].as_array().unwrap();
    assert_eq!(cells.len(), places.len());
    assert_eq!(
        r.json["cells_total"].as_u64().unwrap() as usize,
        cells.len()
    );
    let patrolled = cells
        .iter()
        .filter(|c| c["patrolled_today"] == true)
        .count();
    assert!(patrolled > 0);
    assert_eq!(
        r.json["cells_patrolled"].as_u64().unwrap() as usize,
        patrolled
    );
    // The numbers equal the raw rows of the community.
    let mut c = app.state.db.reader().unwrap();
    let (start, end) = utc_bounds(today, today);
    let raw_reports = diesel::sql_query(format!(
        "SELECT '{community}' AS k, COUNT(*) AS n FROM reports WHERE place_code LIKE '{community}%' \
         AND reported_at >= '{start}' AND reported_at < '{end}'"
    ))
    .load::<KeyCount>(&mut c)
    .unwrap()[0]
        .n;
    let listed: i64 = cells
        .iter()
        .map(|c| c["reports_today"].as_i64().unwrap())
        .sum();
    assert_eq!(listed, raw_reports);
    let raw_open = diesel::sql_query(format!(
        "SELECT '{community}' AS k, COUNT(*) AS n FROM cases WHERE place_code LIKE '{community}%' \
         AND length(place_code) = 15 AND status NOT IN ('closed', 'merged', 'self_resolved')"
    ))
    .load::<KeyCount>(&mut c)
    .unwrap()[0]
        .n;
    let open: i64 = places.iter().map(|p| p["open"].as_i64().unwrap()).sum();
    assert_eq!(open, raw_open);
    assert!(open > 0);

    // A street leader gets the street's communities; the city's readers the districts, without the cell list.
    let street = &community[..9];
    let leader = app.token(Role::Leader, &[street]);
    let r = app.get_as(&leader, "/api/v1/my/overview").await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(
        r.json["places"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["level"] == "community" && p["code"].as_str().unwrap().starts_with(street))
    );
    assert!(
        r.json["cells"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["code"].as_str().unwrap().starts_with(street))
    );
    let admin = app.token(Role::Admin, &[]);
    let r = app.get_as(&admin, "/api/v1/my/overview").await;
    assert_eq!(r.json["places"].as_array().unwrap().len(), 16);
    assert_eq!(r.json["cells_truncated"], true);
    // Another community's secretary sees none of these cells.
    let far = app
        .state
        .index
        .places()
        .iter()
        .find(|p| p.code.len() == 12 && !p.code.starts_with(street))
        .unwrap()
        .code
        .clone();
    let other = app.token(Role::CommunitySecretary, &[&far]);
    let r = app.get_as(&other, "/api/v1/my/overview").await;
    assert_eq!(r.status, 200, "{}", r.json);
    let theirs = r.json["cells"].as_array().unwrap();
    assert!(!theirs.is_empty());
    assert!(
        theirs
            .iter()
            .all(|c| c["code"].as_str().unwrap().starts_with(&far))
    );
}
