//! The monthly assessment (一份卷子) over a hand-made month: three streets in two districts, four handlers, three
//! departments; tickets answered on time, late and never, callbacks with every resolved/satisfaction combination,
//! a caller not reached and one not called back, a reopened case called back twice, replies without evidence, a
//! case with two tickets, whistles reported on time, late and never, and a previous month to compare with. Every
//! expected figure is worked out by hand below; the service must agree at every level, within each reader's
//! jurisdiction, and in the command line's CSV and JSON. A case driven through the real routes (a caller joining
//! after dispatch, a failed callback, reopen, a second round) moves the sums as it goes.

use crate::common;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use common::TestApp;
use diesel::prelude::*;
use gridline::domain::access::Role;
use gridline::store::work::{self, CallbackRow, WhistleCallRow, WorkRow};
use serde_json::{Value, json};
use std::collections::HashMap;

const S1: &str = "110101001"; // 东华门街道, 东城区
const S2: &str = "110101002"; // 景山街道, 东城区
const S3: &str = "110105001"; // 建外街道, 朝阳区

#[derive(Clone, Copy)]
enum Accept {
    OnTime,
    Late,
    Never,
}

/// A latest-or-earlier callback: `None` = caller not reached.
type Round = Option<(&'static str, &'static str)>;

/// One case of the fixture.
struct Spec {
    key: &'static str,
    dispatched: NaiveDateTime,
    street: &'static str,
    handler: Option<&'static str>,
    accept: Accept,
    departments: &'static [&'static str],
    evidence_missing: bool,
    /// Per ticket, its callback rounds in order (empty: not called back).
    tickets: Vec<Vec<Round>>,
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, min, s)
        .unwrap()
}

const YS: Round = Some(("yes", "satisfied"));

fn specs() -> Vec<Spec> {
    let nov = |day: u32| utc(2026, 11, day, 2, 0, 0);
    let oct = |day: u32| utc(2026, 10, day, 2, 0, 0);
    let s = |key,
             dispatched,
             street,
             handler,
             accept,
             departments,
             evidence_missing,
             tickets: Vec<Vec<Round>>| Spec {
        key,
        dispatched,
        street,
        handler,
        accept,
        departments,
        evidence_missing,
        tickets,
    };
    use Accept::*;
    vec![
        // November in 东华门 (S1). Case 1 is dispatched at 00:30 on 1 November, Beijing time (16:30 UTC the day
        // before): it belongs to November.
        s(
            "1",
            utc(2026, 10, 31, 16, 30, 0),
            S1,
            Some("h1"),
            OnTime,
            &[],
            false,
            vec![vec![YS]],
        ),
        s(
            "2",
            nov(2),
            S1,
            Some("h1"),
            OnTime,
            &[],
            false,
            vec![vec![Some(("yes", "basically_satisfied"))]],
        ),
        s(
            "3",
            nov(3),
            S1,
            Some("h1"),
            Late,
            &[],
            false,
            vec![vec![Some(("partly", "satisfied"))]],
        ),
        s(
            "4",
            nov(4),
            S1,
            Some("h1"),
            OnTime,
            &[],
            true,
            vec![vec![Some(("no", "dissatisfied"))]],
        ),
        s(
            "5",
            nov(5),
            S1,
            Some("h2"),
            OnTime,
            &[],
            false,
            vec![vec![None]],
        ),
        s("6", nov(6), S1, None, Never, &[], false, vec![vec![]]),
        // Reopened after a failed callback; the second round counts.
        s(
            "7",
            nov(7),
            S1,
            Some("h2"),
            OnTime,
            &["D1"],
            false,
            vec![vec![Some(("no", "dissatisfied")), YS]],
        ),
        s(
            "8",
            nov(8),
            S1,
            Some("h2"),
            Late,
            &[],
            false,
            vec![vec![Some(("no", "basically_satisfied"))]],
        ),
        // November in 景山 (S2).
        s(
            "9",
            nov(9),
            S2,
            Some("h3"),
            OnTime,
            &["D1", "D2"],
            false,
            vec![vec![Some(("yes", "dissatisfied"))]],
        ),
        s(
            "10",
            nov(10),
            S2,
            Some("h3"),
            Late,
            &[],
            false,
            vec![vec![Some(("partly", "basically_satisfied"))]],
        ),
        s(
            "11",
            nov(11),
            S2,
            Some("h3"),
            OnTime,
            &[],
            false,
            vec![vec![Some(("no", "satisfied"))]],
        ),
        s(
            "12",
            nov(12),
            S2,
            Some("h3"),
            OnTime,
            &[],
            true,
            vec![vec![YS], vec![Some(("partly", "dissatisfied"))]],
        ),
        // November in 建外 (S3, 朝阳区).
        s(
            "13",
            nov(13),
            S3,
            Some("h4"),
            OnTime,
            &["D2"],
            false,
            vec![vec![YS]],
        ),
        s(
            "14",
            nov(14),
            S3,
            Some("h4"),
            OnTime,
            &[],
            false,
            vec![vec![YS]],
        ),
        s(
            "15",
            nov(15),
            S3,
            Some("h4"),
            Late,
            &[],
            false,
            vec![vec![Some(("no", "dissatisfied"))]],
        ),
        // October: the month before.
        s(
            "P1",
            oct(1),
            S1,
            Some("h1"),
            OnTime,
            &[],
            false,
            vec![vec![YS]],
        ),
        s(
            "P2",
            oct(2),
            S1,
            Some("h1"),
            Late,
            &[],
            false,
            vec![vec![Some(("no", "dissatisfied"))]],
        ),
        s(
            "P3",
            oct(3),
            S3,
            Some("h4"),
            OnTime,
            &[],
            false,
            vec![vec![YS]],
        ),
        // 23:59:59 on 31 October, Beijing time: October, the caller not reached.
        s(
            "X2",
            utc(2026, 10, 31, 15, 59, 59),
            S2,
            Some("h3"),
            OnTime,
            &[],
            false,
            vec![vec![None]],
        ),
        // December: counts for neither month.
        s(
            "X1",
            utc(2026, 12, 5, 2, 0, 0),
            S1,
            Some("h1"),
            OnTime,
            &[],
            false,
            vec![vec![YS]],
        ),
    ]
}

fn handler_name(h: &str) -> String {
    match h {
        "h1" => "王一".into(),
        "h2" => "李二".into(),
        "h3" => "张三".into(),
        _ => "赵四".into(),
    }
}

/// The fixture: the app, the department ids (D1 city, D2 东城, D3 朝阳).
struct Fixture {
    app: TestApp,
    units: HashMap<&'static str, String>,
}

async fn file_ticket(
    app: &TestApp,
    token: &str,
    no: String,
    at: NaiveDateTime,
) -> (String, String) {
    let (lon, lat, _) = common::spot();
    let r = app
        .post_as(
            token,
            "/api/v1/tickets",
            json!({
                "ticket_no": no,
                "received_at": format!("{}Z", at.format("%Y-%m-%dT%H:%M:%S")),
                "channel": "phone",
                "request_type": "complaint",
                "topic": "0101",
                "text": "楼下垃圾没人清",
                "caller": { "name": "市民", "phone": "13800001234" },
                "location": { "lon": lon, "lat": lat }
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    (
        r.json["case"]["id"].as_str().unwrap().to_owned(),
        r.json["ticket"]["id"].as_str().unwrap().to_owned(),
    )
}

async fn fixture() -> Fixture {
    let app = TestApp::beijing();
    let admin = app.token(Role::Admin, &[]);
    let mut units = HashMap::new();
    for (key, name, place) in [
        ("D1", "市城管委", "110000"),
        ("D2", "东城区住建委", "110101"),
        ("D3", "朝阳区水务局", "110105"),
    ] {
        let r = app
            .post_as(
                &admin,
                "/api/v1/units",
                json!({"kind": "department", "name": name, "place_code": place, "topics": ["01"]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        units.insert(key, r.json["id"].as_str().unwrap().to_owned());
    }
    let operator = app.api_key(Role::HotlineOperator);
    let mut received = utc(2026, 1, 1, 1, 0, 0);
    for spec in specs() {
        // Ten days apart, so that no case takes another's ticket; a case's own tickets an hour apart.
        received += Duration::days(10);
        let mut case_id = None;
        let mut ticket_ids = Vec::new();
        for k in 0..spec.tickets.len() {
            let (case, ticket) = file_ticket(
                &app,
                &operator,
                format!("AS-{}-{k}", spec.key),
                received + Duration::hours(k as i64),
            )
            .await;
            assert!(
                case_id.as_ref().is_none_or(|c| *c == case),
                "case {}: its tickets went to different cases",
                spec.key
            );
            case_id = Some(case);
            ticket_ids.push(ticket);
        }
        let case_id = case_id.unwrap();
        // Taken only now: on SQLite the one writer also files the tickets.
        let mut conn = app.state.db.writer().unwrap();
        let respond_due = spec.dispatched + Duration::hours(2);
        let accepted_at = match spec.accept {
            Accept::OnTime => Some(respond_due), // exactly at the deadline still counts
            Accept::Late => Some(respond_due + Duration::seconds(1)),
            Accept::Never => None,
        };
        let departments: Vec<&str> = spec.departments.iter().map(|d| units[d].as_str()).collect();
        work::put(
            &mut conn,
            &WorkRow {
                case_id: case_id.clone(),
                district_code: spec.street[..6].to_owned(),
                street_code: Some(spec.street.to_owned()),
                handler_unit_id: None,
                departments: serde_json::to_string(&departments).unwrap(),
                copied: "[]".into(),
                time_class: "7d".into(),
                dispatched_at: spec.dispatched,
                respond_due_at: respond_due,
                complete_due_at: spec.dispatched + Duration::days(7),
                extension_days: 0,
                accepted_at,
                accepted_by: spec.handler.map(|h| format!("user_{h}")),
                accepted_by_name: spec.handler.map(handler_name),
                replied_at: Some(spec.dispatched + Duration::days(1)),
                closed_at: None,
                return_count: 0,
                buck_passing: false,
                evidence_missing: spec.evidence_missing,
                rung: 0,
                next_rung_at: None,
                cycle: 1,
                cycle_started_at: spec.dispatched,
                extension_pending_days: None,
            },
        )
        .unwrap();
        let mut rows = Vec::new();
        for (ticket, rounds) in ticket_ids.iter().zip(&spec.tickets) {
            for (i, round) in rounds.iter().enumerate() {
                rows.push(CallbackRow {
                    ticket_id: ticket.clone(),
                    round: i as i32 + 1,
                    case_id: case_id.clone(),
                    district_code: spec.street[..6].to_owned(),
                    at: spec.dispatched + Duration::days(2 + i as i64),
                    actor_id: "hotline".into(),
                    contacted: round.is_some(),
                    resolved: round.map(|r| r.0.to_owned()),
                    satisfaction: round.map(|r| r.1.to_owned()),
                    note: String::new(),
                });
            }
        }
        work::insert_callbacks(&mut conn, &rows).unwrap();
        let whistle =
            |unit: &str, at: NaiveDateTime, reported: Option<NaiveDateTime>| WhistleCallRow {
                case_id: case_id.clone(),
                whistle_seq: 1,
                unit_id: units[unit].clone(),
                unit_name: unit.to_owned(),
                district_code: spec.street[..6].to_owned(),
                summoned_at: at,
                due_at: at + Duration::minutes(30),
                reported_at: reported,
                reported_by: reported.map(|_| "user_d".to_owned()),
                reported_by_name: reported.map(|_| "部门".to_owned()),
            };
        let calls = match spec.key {
            // D1: on time (20 minutes), and late on case 9; D2 never reported on case 9; D3 on time in 朝阳; D1
            // missing in October (not November's).
            "7" => vec![whistle(
                "D1",
                utc(2026, 11, 7, 3, 0, 0),
                Some(utc(2026, 11, 7, 3, 20, 0)),
            )],
            "9" => vec![
                whistle(
                    "D1",
                    utc(2026, 11, 9, 3, 0, 0),
                    Some(utc(2026, 11, 9, 3, 31, 0)),
                ),
                whistle("D2", utc(2026, 11, 9, 3, 0, 0), None),
            ],
            "13" => vec![whistle(
                "D3",
                utc(2026, 11, 13, 3, 0, 0),
                Some(utc(2026, 11, 13, 3, 30, 0)),
            )],
            "P1" => vec![whistle("D1", utc(2026, 10, 1, 3, 0, 0), None)],
            _ => vec![],
        };
        work::insert_whistle_calls(&mut conn, &calls).unwrap();
    }
    Fixture { app, units }
}

fn close(v: &Value, expected: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - expected).abs() < 1e-9)
}

/// The expected figures of one entity.
struct Expected {
    code: String,
    name: &'static str,
    counts: [i64; 9],
    response: Option<f64>,
    resolution: Option<f64>,
    satisfaction: Option<f64>,
    score: Option<f64>,
    points: f64,
    rank: Option<i64>,
    change: [Option<f64>; 4],
}

fn check(entry: &Value, e: &Expected) {
    let ctx = format!("{} in {entry}", e.code);
    assert_eq!(entry["code"], e.code.as_str(), "{ctx}");
    assert_eq!(entry["name"], e.name, "{ctx}");
    let fields = [
        "tickets",
        "responded",
        "reached",
        "resolved",
        "partly_resolved",
        "unresolved",
        "satisfied",
        "basically_satisfied",
        "dissatisfied",
    ];
    for (f, n) in fields.iter().zip(e.counts) {
        assert_eq!(entry[*f], n, "{f} of {ctx}");
    }
    let opt = |v: &Value, x: Option<f64>, what: &str| match x {
        Some(x) => assert!(close(v, x), "{what} of {ctx}: expected {x}"),
        None => assert!(v.is_null(), "{what} of {ctx}: expected null"),
    };
    opt(&entry["response_rate"], e.response, "response_rate");
    opt(&entry["resolution_rate"], e.resolution, "resolution_rate");
    opt(
        &entry["satisfaction_rate"],
        e.satisfaction,
        "satisfaction_rate",
    );
    opt(&entry["score"], e.score, "score");
    assert!(close(&entry["points"], e.points), "points of {ctx}");
    match e.rank {
        Some(r) => assert_eq!(entry["rank"], r, "rank of {ctx}"),
        None => assert!(entry["rank"].is_null(), "rank of {ctx}"),
    }
    for (f, x) in [
        "response_rate",
        "resolution_rate",
        "satisfaction_rate",
        "score",
    ]
    .iter()
    .zip(e.change)
    {
        opt(&entry["change"][*f], x, &format!("change.{f}"));
    }
}

fn score(response: f64, resolution: f64, satisfaction: f64) -> f64 {
    10.0 * response + 45.0 * resolution + 45.0 * satisfaction
}

/// 东华门 (S1), November: tickets 1–8. Responded on time: 1, 2, 4, 5, 7 (3 and 8 late, 6 never accepted) = 5/8.
/// Reached: 1, 2, 3, 4, 7 (second round), 8 = 6 (5 not reached, 6 not called back). Resolved yes 1, 2, 7; partly 3;
/// not 4, 8. Satisfied 1, 3, 7; basically 2, 8; dissatisfied 4. Points: 1 +1, 2 +1, 3 −0.5, 4 −1 −0.5 (no
/// evidence), 5 and 6 nothing, 7 +1, 8 −0.5 = 0.5. October (P1 on time and resolved and satisfied, P2 late and
/// neither): 1/2, 1/2, 1/2, score 50.
fn s1() -> Expected {
    let (a, b, c) = (5.0 / 8.0, (3.0 + 0.5) / 6.0, (3.0 + 0.8 * 2.0) / 6.0);
    Expected {
        code: S1.into(),
        name: "东华门街道",
        counts: [8, 5, 6, 3, 1, 2, 3, 2, 1],
        response: Some(a),
        resolution: Some(b),
        satisfaction: Some(c),
        score: Some(score(a, b, c)), // 6.25 + 26.25 + 34.5 = 67
        points: 0.5,
        rank: Some(1),
        change: [
            Some(a - 0.5),
            Some(b - 0.5),
            Some(c - 0.5),
            Some(score(a, b, c) - 50.0),
        ],
    }
}

/// 景山 (S2), November: tickets 9, 10, 11 and the two of case 12. Responded 4/5 (10 late). Reached 5. Resolved yes
/// 9, 12a; partly 10, 12b; not 11. Satisfied 11, 12a; basically 10; dissatisfied 9, 12b. Points: 9 −0.5, 10 −0.5,
/// 11 −0.5, 12a +1 −0.5, 12b −1 −0.5 = −2.5. October: X2 only (on time, caller not reached): response 1, the
/// other rates and the score unknown.
fn s2() -> Expected {
    let (a, b, c) = (4.0 / 5.0, (2.0 + 0.5 * 2.0) / 5.0, (2.0 + 0.8) / 5.0);
    Expected {
        code: S2.into(),
        name: "景山街道",
        counts: [5, 4, 5, 2, 2, 1, 2, 1, 2],
        response: Some(a),
        resolution: Some(b),
        satisfaction: Some(c),
        score: Some(score(a, b, c)), // 8 + 27 + 25.2 = 60.2
        points: -2.5,
        rank: Some(3),
        change: [Some(a - 1.0), None, None, None],
    }
}

/// 建外 (S3), November: 13 and 14 on time, resolved and satisfied; 15 late, neither. October: P3, perfect.
fn s3() -> Expected {
    let t = 2.0 / 3.0;
    Expected {
        code: S3.into(),
        name: "建外街道",
        counts: [3, 2, 3, 2, 0, 1, 2, 0, 1],
        response: Some(t),
        resolution: Some(t),
        satisfaction: Some(t),
        score: Some(score(t, t, t)), // 66.67
        points: 1.0,
        rank: Some(2),
        change: [
            Some(t - 1.0),
            Some(t - 1.0),
            Some(t - 1.0),
            Some(score(t, t, t) - 100.0),
        ],
    }
}

async fn assessment(app: &TestApp, token: &str, query: &str) -> Value {
    let r = app
        .get_as(token, &format!("/api/v1/assessment?{query}"))
        .await;
    assert_eq!(r.status, 200, "{query}: {}", r.json);
    r.json
}

fn entries(v: &Value) -> &Vec<Value> {
    v["entries"].as_array().unwrap()
}

#[actix_web::test]
async fn a_hand_made_month_gives_the_rates_points_ranks_and_changes_worked_out_by_hand() {
    let f = fixture().await;
    let leader = f.app.token(Role::Leader, &["110000"]);

    // Streets: ranked 东华门 67, 建外 66.67, 景山 60.2.
    let v = assessment(&f.app, &leader, "month=2026-11&level=street").await;
    assert_eq!(v["month"], "2026-11");
    assert_eq!(v["previous_month"], "2026-10");
    assert_eq!(v["level"], "street");
    assert_eq!(v["policy"]["partly_weight"], 0.5);
    assert_eq!(v["policy"]["basic_weight"], 0.8);
    let e = entries(&v);
    assert_eq!(e.len(), 3, "{v}");
    check(&e[0], &s1());
    check(&e[1], &s3());
    check(&e[2], &s2());
    assert!(e[0].get("whistles").is_none());
    // The default level is street.
    let default = assessment(&f.app, &leader, "month=2026-11").await;
    assert_eq!(default, v);

    // Districts: 东城 = 东华门 + 景山; 朝阳 = 建外. 东城 in October: P1, P2 and X2 (responded 2 of 3; reached 2,
    // one resolved and satisfied).
    let v = assessment(&f.app, &leader, "month=2026-11&level=district").await;
    let e = entries(&v);
    assert_eq!(e.len(), 2);
    let (a, b, c) = (
        9.0 / 13.0,
        (5.0 + 0.5 * 3.0) / 11.0,
        (5.0 + 0.8 * 3.0) / 11.0,
    );
    let dongcheng_before = score(2.0 / 3.0, 0.5, 0.5);
    let t = 2.0 / 3.0;
    check(
        &e[0],
        &Expected {
            code: "110105".into(),
            name: "朝阳区",
            rank: Some(1),
            ..s3()
        },
    );
    check(
        &e[1],
        &Expected {
            code: "110101".into(),
            name: "东城区",
            counts: [13, 9, 11, 5, 3, 3, 5, 3, 3],
            response: Some(a),
            resolution: Some(b),
            satisfaction: Some(c),
            score: Some(score(a, b, c)), // 63.79
            points: 0.5 - 2.5,
            rank: Some(2),
            change: [
                Some(a - t),
                Some(b - 0.5),
                Some(c - 0.5),
                Some(score(a, b, c) - dongcheng_before),
            ],
        },
    );

    // Handlers: 李二 (h2: 5, 7, 8; case 6 had nobody) 69.67, 王一 (h1: 1–4) 67.125, 赵四 (h4) 66.67, 张三 (h3) 60.2.
    let v = assessment(&f.app, &leader, "month=2026-11&level=handler").await;
    let e = entries(&v);
    assert_eq!(e.len(), 4, "{v}");
    let h2 = (2.0 / 3.0, 1.0 / 2.0, (1.0 + 0.8) / 2.0);
    check(
        &e[0],
        &Expected {
            code: "user_h2".into(),
            name: "李二",
            counts: [3, 2, 2, 1, 0, 1, 1, 1, 0],
            response: Some(h2.0),
            resolution: Some(h2.1),
            satisfaction: Some(h2.2),
            score: Some(score(h2.0, h2.1, h2.2)),
            points: 1.0 - 0.5,
            rank: Some(1),
            change: [None; 4],
        },
    );
    let h1 = (3.0 / 4.0, (2.0 + 0.5) / 4.0, (2.0 + 0.8) / 4.0);
    check(
        &e[1],
        &Expected {
            code: "user_h1".into(),
            name: "王一",
            counts: [4, 3, 4, 2, 1, 1, 2, 1, 1],
            response: Some(h1.0),
            resolution: Some(h1.1),
            satisfaction: Some(h1.2),
            score: Some(score(h1.0, h1.1, h1.2)), // 67.125
            points: 1.0 + 1.0 - 0.5 - 1.5,
            rank: Some(2),
            change: [
                Some(h1.0 - 0.5),
                Some(h1.1 - 0.5),
                Some(h1.2 - 0.5),
                Some(score(h1.0, h1.1, h1.2) - 50.0),
            ],
        },
    );
    check(
        &e[2],
        &Expected {
            code: "user_h4".into(),
            name: "赵四",
            rank: Some(3),
            ..s3()
        },
    );
    check(
        &e[3],
        &Expected {
            code: "user_h3".into(),
            name: "张三",
            rank: Some(4),
            ..s2()
        },
    );

    // Departments (一单多考): D1 has tickets 7 (resolved, satisfied in the second round) and 9 (resolved,
    // dissatisfied); D2 has 9 and 13 (resolved, satisfied): both score 10 + 45 + 22.5 = 77.5 with 0.5 points, so
    // the lower unit id ranks first. D3 was only whistled: no score, no rank, last.
    let v = assessment(&f.app, &leader, "month=2026-11&level=department").await;
    let e = entries(&v);
    assert_eq!(e.len(), 3, "{v}");
    let (first, second) = if f.units["D1"] < f.units["D2"] {
        ("D1", "D2")
    } else {
        ("D2", "D1")
    };
    let dept = |key: &str, rank: i64| Expected {
        code: f.units[key].clone(),
        name: if key == "D1" {
            "市城管委"
        } else {
            "东城区住建委"
        },
        counts: [2, 2, 2, 2, 0, 0, 1, 0, 1],
        response: Some(1.0),
        resolution: Some(1.0),
        satisfaction: Some(0.5),
        score: Some(77.5),
        points: 0.5,
        rank: Some(rank),
        change: [None; 4],
    };
    check(&e[0], &dept(first, 1));
    check(&e[1], &dept(second, 2));
    check(
        &e[2],
        &Expected {
            code: f.units["D3"].clone(),
            name: "朝阳区水务局",
            counts: [0; 9],
            response: None,
            resolution: None,
            satisfaction: None,
            score: None,
            points: 0.0,
            rank: None,
            change: [None; 4],
        },
    );
    let whistles: HashMap<&str, &Value> = e
        .iter()
        .map(|x| (x["code"].as_str().unwrap(), &x["whistles"]))
        .collect();
    // D1: twice in November (on time, late; October's missing one is October's); D2 once, never reported; D3 once,
    // exactly at the deadline (on time).
    assert_eq!(
        *whistles[f.units["D1"].as_str()],
        json!({"summoned": 2, "late": 1, "missing": 0})
    );
    assert_eq!(
        *whistles[f.units["D2"].as_str()],
        json!({"summoned": 1, "late": 0, "missing": 1})
    );
    assert_eq!(
        *whistles[f.units["D3"].as_str()],
        json!({"summoned": 1, "late": 0, "missing": 0})
    );

    // A month without work has no entries; December holds X1 alone.
    let v = assessment(&f.app, &leader, "month=2027-03&level=street").await;
    assert!(entries(&v).is_empty());
    let v = assessment(&f.app, &leader, "month=2026-12&level=street").await;
    let e = entries(&v);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["tickets"], 1);
    assert!(close(
        &e[0]["change"]["score"],
        100.0 - score(5.0 / 8.0, 3.5 / 6.0, 4.6 / 6.0)
    ));
}

#[actix_web::test]
async fn a_reader_sees_only_the_work_of_their_jurisdiction() {
    let f = fixture().await;
    let chaoyang = f.app.token(Role::Dispatcher, &["110105"]);
    let codes = |v: &Value| -> Vec<String> {
        entries(v)
            .iter()
            .map(|e| e["code"].as_str().unwrap().to_owned())
            .collect()
    };
    let v = assessment(&f.app, &chaoyang, "month=2026-11&level=street").await;
    assert_eq!(codes(&v), [S3]);
    check(
        &entries(&v)[0],
        &Expected {
            rank: Some(1),
            ..s3()
        },
    );
    let v = assessment(&f.app, &chaoyang, "month=2026-11&level=district").await;
    assert_eq!(codes(&v), ["110105"]);
    let v = assessment(&f.app, &chaoyang, "month=2026-11&level=handler").await;
    assert_eq!(codes(&v), ["user_h4"]);
    // Departments: only 朝阳's tickets (13, for D2) and whistles (D3); D2's whistle on a 东城 case is not counted.
    let v = assessment(&f.app, &chaoyang, "month=2026-11&level=department").await;
    let e = entries(&v);
    assert_eq!(e.len(), 2, "{v}");
    assert_eq!(e[0]["code"], f.units["D2"].as_str());
    assert_eq!(e[0]["tickets"], 1);
    assert!(close(&e[0]["score"], 100.0));
    assert_eq!(
        e[0]["whistles"],
        json!({"summoned": 0, "late": 0, "missing": 0})
    );
    assert_eq!(e[1]["code"], f.units["D3"].as_str());
    assert_eq!(e[1]["whistles"]["summoned"], 1);

    let street = f.app.token(Role::StreetHandler, &[S1]);
    let v = assessment(&f.app, &street, "month=2026-11").await;
    assert_eq!(codes(&v), [S1]);
    let v = assessment(&f.app, &street, "month=2026-11&level=district").await;
    // A street's reader sees its district's figures made of that street alone.
    assert_eq!(codes(&v), ["110101"]);
    assert_eq!(entries(&v)[0]["tickets"], 8);

    // A community is finer than the assessment: nothing.
    let secretary = f.app.token(Role::CommunitySecretary, &["110101001001"]);
    let v = assessment(&f.app, &secretary, "month=2026-11").await;
    assert!(entries(&v).is_empty());

    // City-wide roles see all three streets.
    let operator = f.app.api_key(Role::HotlineOperator);
    let v = assessment(&f.app, &operator, "month=2026-11").await;
    assert_eq!(codes(&v), [S1, S3, S2]);

    // Without a token: 401.
    let r = f.app.get("/api/v1/assessment?month=2026-11").await;
    assert_eq!(r.status, 401);
}

/// The street's counts `[tickets, responded, reached, resolved, unresolved, satisfied, dissatisfied]` in the month.
async fn street_counts(app: &TestApp, token: &str, month: &str, street: &str) -> [i64; 7] {
    let v = assessment(app, token, &format!("month={month}&level=street")).await;
    let e = entries(&v)
        .iter()
        .find(|e| e["code"] == street)
        .unwrap_or_else(|| panic!("no {street} in {v}"));
    [
        "tickets",
        "responded",
        "reached",
        "resolved",
        "unresolved",
        "satisfied",
        "dissatisfied",
    ]
    .map(|f| e[f].as_i64().unwrap_or_else(|| panic!("{f} in {e}")))
}

#[actix_web::test]
async fn the_sums_follow_the_case_through_the_real_routes() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let street_code = &cell[..9];
    let leader = app.token(Role::Leader, &["110000"]);
    let dispatcher = app.token(Role::Dispatcher, &[&cell[..6]]);
    let street = app.token(Role::StreetHandler, &[street_code]);
    let hotline = app.token(Role::HotlineOperator, &[]);
    let step = |token: &str, case: &str, body: Value| {
        let (token, path) = (
            token.to_owned(),
            format!("/api/v1/cases/{case}/transitions"),
        );
        let app = &app;
        async move {
            let r = app.post_as(&token, &path, body.clone()).await;
            assert_eq!(r.status, 201, "{body}: {}", r.json);
        }
    };
    let photo = common::stored_photo(&app, &street, 1).await;

    let first = common::file_ticket(&app, "SUM-1", "0101", "13811110001", "路灯不亮").await;
    let case = first.json["case"]["id"].as_str().unwrap().to_owned();
    let first_ticket = first.json["ticket"]["id"].as_str().unwrap().to_owned();
    step(&dispatcher, &case, json!({"action": "dispatch"})).await;
    let d = app
        .get_as(&leader, &format!("/api/v1/cases/{case}"))
        .await
        .json;
    let dispatched =
        chrono::DateTime::parse_from_rfc3339(d["work"]["dispatched_at"].as_str().unwrap())
            .unwrap()
            .naive_utc();
    let month = (dispatched + Duration::hours(8))
        .format("%Y-%m")
        .to_string();
    assert_eq!(
        street_counts(&app, &leader, &month, street_code).await,
        [1, 0, 0, 0, 0, 0, 0]
    );

    step(&street, &case, json!({"action": "accept"})).await;
    step(&street, &case, json!({"action": "start"})).await;
    // A second caller joins the dispatched case: the volume and the response follow.
    let second = common::file_ticket(&app, "SUM-2", "0101", "13811110002", "路灯不亮").await;
    assert_eq!(second.json["case"]["id"], case.as_str());
    let second_ticket = second.json["ticket"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        street_counts(&app, &leader, &month, street_code).await,
        [2, 2, 0, 0, 0, 0, 0]
    );

    step(
        &street,
        &case,
        json!({"action": "reply", "note": "已修复", "evidence": [photo]}),
    )
    .await;
    step(
        &hotline,
        &case,
        json!({"action": "call_back", "callbacks": [
            {"ticket_id": first_ticket, "contacted": true, "resolved": "no", "satisfaction": "dissatisfied"},
            {"ticket_id": second_ticket, "contacted": false}]}),
    )
    .await;
    assert_eq!(
        street_counts(&app, &leader, &month, street_code).await,
        [2, 2, 1, 0, 1, 0, 1]
    );

    // Reopened and called back again: the second round replaces the first for both callers.
    step(
        &hotline,
        &case,
        json!({"action": "reopen", "note": "仍然不亮"}),
    )
    .await;
    step(&street, &case, json!({"action": "accept"})).await;
    step(&street, &case, json!({"action": "start"})).await;
    step(
        &street,
        &case,
        json!({"action": "reply", "note": "更换灯具", "evidence": [photo]}),
    )
    .await;
    step(
        &hotline,
        &case,
        json!({"action": "call_back", "callbacks": [
            {"ticket_id": first_ticket, "contacted": true, "resolved": "yes", "satisfaction": "satisfied"},
            {"ticket_id": second_ticket, "contacted": true, "resolved": "yes", "satisfaction": "satisfied"}]}),
    )
    .await;
    assert_eq!(
        street_counts(&app, &leader, &month, street_code).await,
        [2, 2, 2, 2, 0, 2, 0]
    );
}

#[actix_web::test]
async fn bad_months_are_refused_with_invalid_field_and_unknown_levels_with_the_levels() {
    let app = TestApp::beijing();
    let admin = app.token(Role::Admin, &[]);
    for (query, field) in [
        ("", "month"),
        ("month=", "month"),
        ("month=2026-13", "month"),
        ("month=2026-1", "month"),
        ("month=26-11", "month"),
        ("month=2026-11-01", "month"),
        ("month=%E4%B8%80%E6%9C%88", "month"),
        ("month=2026-11&level=community", "level"),
        ("month=2026-11&level=STREET", "level"),
    ] {
        let r = app
            .get_as(&admin, &format!("/api/v1/assessment?{query}"))
            .await;
        assert_eq!(r.status, 400, "{query}: {}", r.json);
        let message = r.json["message"].as_str().unwrap();
        assert!(message.starts_with(field), "{query}: {message}");
        if field == "level" {
            // A value outside the levels: the levels are listed.
            assert_eq!(r.json["code"], "invalid_query_value", "{query}");
            assert_eq!(
                r.json["accepted"],
                serde_json::json!(["street", "district", "department", "handler"])
            );
        } else {
            assert_eq!(r.json["code"], "invalid_field", "{query}");
        }
    }
}

#[actix_web::test]
async fn stored_policy_values_change_the_weights_and_bad_ones_are_ignored() {
    let f = fixture().await;
    {
        use gridline::db::schema::policy;
        let mut c = f.app.state.db.writer().unwrap();
        for (key, value) in [
            ("assessment.basic_weight", "1"),
            ("assessment.points_no_evidence", "-2"),
            ("assessment.partly_weight", "2"),
        ] {
            diesel::insert_into(policy::table)
                .values((policy::key.eq(key), policy::value.eq(value)))
                .execute(&mut *c)
                .unwrap();
        }
    }
    let admin = f.app.token(Role::Admin, &[]);
    let v = assessment(&f.app, &admin, "month=2026-11").await;
    assert_eq!(v["policy"]["basic_weight"], 1.0);
    assert_eq!(v["policy"]["partly_weight"], 0.5);
    assert_eq!(v["policy"]["points_no_evidence"], -2.0);
    let s1 = &entries(&v)[0];
    assert_eq!(s1["code"], S1);
    // Basically satisfied now counts in full: (3 + 2) / 6; case 4's missing evidence costs 2.
    assert!(close(&s1["satisfaction_rate"], 5.0 / 6.0));
    assert!(close(&s1["points"], 0.5 - 1.5));
}

fn gridline(args: &[&str], url: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_gridline"))
        .args(args)
        .env_remove("GRIDLINE_BIND")
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

#[actix_web::test]
async fn the_command_line_writes_the_assessment_as_csv_or_json() {
    let f = fixture().await;
    let url = f.app.db.url.clone();
    let out = gridline(
        &[
            "report",
            "assessment",
            "--month",
            "2026-11",
            "--format",
            "csv",
        ],
        &url,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(
        lines[0],
        "rank,code,name,tickets,responded,reached,resolved,partly_resolved,unresolved,satisfied,\
         basically_satisfied,dissatisfied,response_rate,resolution_rate,satisfaction_rate,score,points,\
         response_rate_change,resolution_rate_change,satisfaction_rate_change,score_change,whistles_summoned,\
         whistles_late,whistles_missing"
    );
    // 东华门: 5/8, 3.5/6, 4.6/6, score 67, points 0.5; changes 0.125, 0.0833, 0.2667, 17.
    assert_eq!(
        lines[1],
        "1,110101001,东华门街道,8,5,6,3,1,2,3,2,1,0.6250,0.5833,0.7667,67.00,0.50,0.1250,0.0833,0.2667,17.00,,,"
    );
    assert!(
        lines[2].starts_with("2,110105001,建外街道,3,2,3,"),
        "{}",
        lines[2]
    );
    // 景山 had no score in October: its changes other than the response rate's are empty.
    assert_eq!(
        lines[3],
        "3,110101002,景山街道,5,4,5,2,2,1,2,1,2,0.8000,0.6000,0.5600,60.20,-2.50,-0.2000,,,,,,"
    );

    let out = gridline(
        &[
            "report",
            "assessment",
            "--month",
            "2026-11",
            "--level",
            "department",
            "--format",
            "json",
        ],
        &url,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["level"], "department");
    assert_eq!(entries(&v).len(), 3);
    assert_eq!(entries(&v)[2]["code"], f.units["D3"].as_str());
    // The same document the API answers.
    let admin = f.app.token(Role::Admin, &[]);
    let api = assessment(&f.app, &admin, "month=2026-11&level=department").await;
    assert_eq!(v, api);

    for (args, says) in [
        (vec!["--month", "2026-13"], "month"),
        (vec!["--month", "2026-11", "--level", "community"], "level"),
        (vec!["--month", "2026-11", "--format", "xml"], "xml"),
    ] {
        let mut all = vec!["report", "assessment"];
        all.extend(args);
        let out = gridline(&all, &url);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{err}");
    }
}
