//! The pull feed of offline sync (`GET /api/v1/sync/pull`), over real HTTP and a real database: a grid member's
//! first pull pages through everything in their cell and nothing else; later changes come exactly once; what
//! leaves their places comes as a tombstone; concurrent writers never make a reader skip a committed change; bad
//! cursors and limits are refused.

use crate::common;

use common::{Resp, TestApp};
use diesel::RunQueryDsl;
use gridline::domain::access::Role;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Degrees of latitude for `m` metres north.
fn north(lat: f64, m: f64) -> f64 {
    lat + m / 111_195.0
}

fn ticket(no: &str, topic: &str, lon: f64, lat: f64) -> Value {
    json!({
        "ticket_no": no, "channel": "phone", "request_type": "complaint", "topic": topic,
        "text": "有问题", "caller": { "name": "王小明", "phone": format!("138{:08}", no.bytes().map(u64::from).sum::<u64>()) },
        "location": { "lon": lon, "lat": lat }
    })
}

async fn file(app: &TestApp, op: &str, body: Value) -> String {
    let r = app.post_as(op, "/api/v1/tickets", body).await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.json["case"]["id"].as_str().unwrap().to_owned()
}

/// Everything a sequence of pulls brought, keyed by id, as the phone would keep it.
#[derive(Debug, Default)]
struct Phone {
    cursor: Option<String>,
    cases: BTreeMap<String, Value>,
    reports: BTreeMap<String, Value>,
    tombstones: Vec<(String, String)>,
    pages: usize,
}

impl Phone {
    async fn pull_once(&mut self, app: &TestApp, token: &str, limit: usize) -> Resp {
        let uri = match &self.cursor {
            Some(c) => format!("/api/v1/sync/pull?limit={limit}&cursor={c}"),
            None => format!("/api/v1/sync/pull?limit={limit}"),
        };
        let r = app.get_as(token, &uri).await;
        assert_eq!(r.status, 200, "{}", r.json);
        let j = &r.json;
        let n = j["cases"].as_array().unwrap().len()
            + j["reports"].as_array().unwrap().len()
            + j["tombstones"].as_array().unwrap().len();
        assert!(n <= limit, "a page holds at most {limit}: {n}");
        assert_eq!(j["reference"].is_object(), self.cursor.is_none());
        for c in j["cases"].as_array().unwrap() {
            self.cases
                .insert(c["id"].as_str().unwrap().to_owned(), c.clone());
        }
        for x in j["reports"].as_array().unwrap() {
            self.reports
                .insert(x["id"].as_str().unwrap().to_owned(), x.clone());
        }
        for t in j["tombstones"].as_array().unwrap() {
            let id = t["id"].as_str().unwrap().to_owned();
            self.cases.remove(&id);
            self.tombstones
                .push((t["kind"].as_str().unwrap().to_owned(), id));
        }
        self.cursor = Some(j["next_cursor"].as_str().unwrap().to_owned());
        self.pages += 1;
        r
    }

    /// Pulls until nothing more waits; returns the pages' answers.
    async fn pull_all(&mut self, app: &TestApp, token: &str, limit: usize) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let r = self.pull_once(app, token, limit).await;
            let more = r.json["has_more"].as_bool().unwrap();
            out.push(r.json);
            if !more {
                return out;
            }
            assert!(out.len() < 1000, "the feed does not end");
        }
    }
}

fn ids(pages: &[Value], key: &str) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| p[key].as_array().unwrap().clone())
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn a_grid_members_first_pull_pages_through_their_cell_and_nothing_else() {
    let app = TestApp::beijing();
    let (lon, lat, cell) = common::spot();
    let op = app.token(Role::HotlineOperator, &[]);
    let member = app.token(Role::GridMember, &[&cell]);
    let mut inside = BTreeSet::new();
    for (k, topic) in ["0101", "0102", "0103", "0104", "0201", "0202", "0203"]
        .iter()
        .enumerate()
    {
        inside.insert(file(&app, &op, ticket(&format!("P-{k}"), topic, lon, lat)).await);
    }
    // 3 km north: another cell, another community.
    let outside = file(&app, &op, ticket("P-far", "0101", lon, north(lat, 3000.0))).await;
    let r = app
        .post_as(
            &member,
            "/api/v1/reports",
            json!({"topic": "0105", "text": "垃圾桶满了", "location": {"lon": lon, "lat": lat}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let report = r.json["report"]["id"].as_str().unwrap().to_owned();
    let report_case = r.json["case"]["id"].as_str().unwrap().to_owned();
    inside.insert(report_case.clone());

    let mut phone = Phone::default();
    let pages = phone.pull_all(&app, &member, 3).await;
    // 8 cases and a report: 9 changes, 3 pages of 3 (the last says nothing more waits).
    assert_eq!(pages.len(), 3, "{pages:#?}");
    assert!(pages[..2].iter().all(|p| p["has_more"] == true));
    // The first page says the phone starts from nothing; the pages after it continue.
    assert_eq!(pages[0]["reset"], true);
    assert!(pages[1..].iter().all(|p| p["reset"] == false));
    let got: Vec<String> = ids(&pages, "cases");
    assert_eq!(got.len(), inside.len(), "each case once: {got:?}");
    assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), inside);
    assert!(!got.contains(&outside));
    assert_eq!(ids(&pages, "reports"), vec![report]);

    // The reference data came with the first page: the member's cell and its neighbours, its chain, the topics.
    let reference = &pages[0]["reference"];
    let cells = reference["cells"].as_array().unwrap();
    let mine: Vec<&str> = cells
        .iter()
        .filter(|c| c["in_scope"] == true)
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(mine, vec![cell.as_str()]);
    assert!(cells.len() > 2, "neighbours come too: {}", cells.len());
    assert_eq!(reference["chains"][0]["place"]["code"], cell.as_str());
    assert!(reference["topics"].as_array().unwrap().len() > 50);

    // A patrol-found case is the grid member's task (fix it on the spot); a hotline case is not.
    let actions = |id: &str| -> Vec<String> {
        phone.cases[id]["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["action"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(actions(&report_case), vec!["self_resolve"]);
    let hotline_case = inside.iter().find(|c| **c != report_case).unwrap();
    assert!(actions(hotline_case).is_empty());

    // Nothing new: an empty page with the same cursor.
    let again = phone.pull_once(&app, &member, 3).await;
    assert_eq!(again.json["has_more"], false);
    assert!(again.json["cases"].as_array().unwrap().is_empty());
    assert!(again.json.get("reference").is_none());
}

#[actix_web::test]
async fn changes_after_the_cursor_come_on_the_next_pull_exactly_once() {
    let app = TestApp::beijing();
    let (lon, lat, cell) = common::spot();
    let op = app.token(Role::HotlineOperator, &[]);
    let dispatcher = app.token(Role::Dispatcher, &[&cell[..6]]);
    let member = app.token(Role::GridMember, &[&cell]);
    let first = file(&app, &op, ticket("C-1", "0101", lon, lat)).await;
    let mut phone = Phone::default();
    phone.pull_all(&app, &member, 50).await;
    assert!(phone.cases.contains_key(&first));

    // A new ticket in the cell, and one outside.
    let second = file(&app, &op, ticket("C-2", "0201", lon, lat)).await;
    file(&app, &op, ticket("C-3", "0201", lon, north(lat, 3000.0))).await;
    let pages = phone.pull_all(&app, &member, 50).await;
    assert_eq!(ids(&pages, "cases"), vec![second.clone()]);
    assert!(pages.iter().all(|p| p["reset"] == false));

    // A workflow step on the first case comes with its history.
    let r = app
        .post_as(
            &dispatcher,
            &format!("/api/v1/cases/{first}/transitions"),
            json!({"action": "dispatch"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let pages = phone.pull_all(&app, &member, 50).await;
    assert_eq!(ids(&pages, "cases"), vec![first.clone()]);
    let case = &pages[0]["cases"][0];
    assert_eq!(case["status"], "dispatched");
    let history: Vec<&str> = case["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["action"].as_str().unwrap())
        .collect();
    assert_eq!(history, vec!["dispatch"]);

    // And then nothing.
    let pages = phone.pull_all(&app, &member, 50).await;
    assert!(ids(&pages, "cases").is_empty());
}

#[actix_web::test]
async fn a_case_merged_or_re_placed_out_of_the_members_places_leaves_a_tombstone() {
    let app = TestApp::beijing();
    let (lon, lat, cell) = common::spot();
    let op = app.token(Role::HotlineOperator, &[]);
    let dispatcher = app.token(Role::Dispatcher, &[&cell[..6]]);
    let member = app.token(Role::GridMember, &[&cell]);
    let a = file(&app, &op, ticket("T-1", "0101", lon, lat)).await;
    let moved = file(&app, &op, ticket("T-2", "0201", lon, lat)).await;
    let far = file(&app, &op, ticket("T-3", "0101", lon, north(lat, 3000.0))).await;
    let mut phone = Phone::default();
    phone.pull_all(&app, &member, 50).await;
    assert!(phone.cases.contains_key(&a) && phone.cases.contains_key(&moved));

    // A is merged by hand into the case 3 km away, which then opens with A's earlier ticket: it is placed where
    // that ticket was, in the member's cell.
    let r = app
        .post_as(
            &dispatcher,
            &format!("/api/v1/cases/{a}/transitions"),
            json!({"action": "merge", "note": "同一件事", "into_case": far}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    // The other is re-placed elsewhere (as a dispatcher placing it by hand, or an undone merge, would): written
    // straight to the database, since the triggers cover every path.
    {
        let mut c = app.state.db.writer().unwrap();
        diesel::sql_query(format!(
            "UPDATE cases SET place_code = '110105026041001', district_code = '110105', version = version + 1 \
             WHERE id = '{moved}'"
        ))
        .execute(&mut *c)
        .unwrap();
    }
    let pages = phone.pull_all(&app, &member, 50).await;
    let mut gone: Vec<(String, String)> = phone.tombstones.clone();
    gone.sort();
    let mut want = vec![
        ("case".to_owned(), a.clone()),
        ("case".to_owned(), moved.clone()),
    ];
    want.sort();
    assert_eq!(gone, want, "{pages:#?}");
    assert_eq!(ids(&pages, "cases"), vec![far.clone()], "{pages:#?}");
    assert_eq!(phone.cases.keys().collect::<Vec<_>>(), vec![&far]);

    // Someone whose places include both cells sees the move as a change, not a tombstone.
    let street = app.token(Role::StreetHandler, &[&cell, "110105026041001"]);
    let mut other = Phone::default();
    let pages = other.pull_all(&app, &street, 50).await;
    assert!(ids(&pages, "cases").contains(&moved));
    assert!(other.tombstones.iter().all(|(_, id)| id != &moved));
}

#[actix_web::test]
async fn readers_pulling_while_others_write_miss_nothing_committed() {
    let app = TestApp::beijing();
    let (lon, lat, cell) = common::spot();
    let member = app.token(Role::GridMember, &[&cell]);
    let writers = 4;
    let each = 12;
    let threads: Vec<_> = (0..writers)
        .map(|w| {
            let state = app.state.clone();
            std::thread::spawn(move || {
                let user = gridline::domain::access::Principal {
                    id: format!("writer{w}"),
                    username: format!("writer{w}"),
                    display_name: format!("writer{w}"),
                    role: Role::GridMember,
                    places: vec![],
                    topics: vec![],
                };
                let topics = ["0101", "0102", "0201", "0202"];
                for k in 0..each {
                    let input: gridline::service::intake::ReportInput =
                        serde_json::from_value(json!({
                            "topic": topics[(w + k) % topics.len()],
                            "text": format!("巡查 {w}-{k}"),
                            "location": {"lon": lon + (k as f64) * 1e-5, "lat": lat},
                        }))
                        .unwrap();
                    gridline::service::intake::file_report(
                        &state.db,
                        &state.geo(),
                        &input,
                        &user,
                        chrono::Utc::now().naive_utc(),
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    let mut phone = Phone::default();
    while !threads.iter().all(|t| t.is_finished()) {
        phone.pull_once(&app, &member, 5).await;
    }
    for t in threads {
        t.join().unwrap();
    }
    phone.pull_all(&app, &member, 5).await;

    // What is committed in the cell, read straight from the tables.
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    let mut c = app.state.db.reader().unwrap();
    let reports: BTreeSet<String> = diesel::sql_query(format!(
        "SELECT id FROM reports WHERE place_code = '{cell}'"
    ))
    .load::<Id>(&mut *c)
    .unwrap()
    .into_iter()
    .map(|r| r.id)
    .collect();
    let cases: BTreeSet<String> = diesel::sql_query(format!(
        "SELECT id FROM cases WHERE place_code = '{cell}' AND status <> 'merged'"
    ))
    .load::<Id>(&mut *c)
    .unwrap()
    .into_iter()
    .map(|r| r.id)
    .collect();
    assert_eq!(reports.len(), writers * each);
    assert_eq!(
        phone.reports.keys().cloned().collect::<BTreeSet<_>>(),
        reports
    );
    assert_eq!(phone.cases.keys().cloned().collect::<BTreeSet<_>>(), cases);
    // Every report's case as the phone holds it is the case as stored now (counts included).
    for (id, case) in &phone.cases {
        let r = app.get_as(&member, &format!("/api/v1/cases/{id}")).await;
        assert_eq!(r.json["case"]["version"], case["version"], "{id}");
        assert_eq!(r.json["case"]["report_count"], case["report_count"], "{id}");
    }
    assert!(phone.pages > 1);
}

#[actix_web::test]
async fn bad_cursors_and_limits_are_refused() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let member = app.token(Role::GridMember, &[&cell]);
    for uri in [
        "/api/v1/sync/pull?cursor=abc",
        "/api/v1/sync/pull?cursor=12",
        "/api/v1/sync/pull?cursor=-1.0123456789abcdef",
        "/api/v1/sync/pull?cursor=1.zz23456789abcdef",
    ] {
        let r = app.get_as(&member, uri).await;
        assert_eq!(r.status, 400, "{uri}");
        assert_eq!(r.json["code"], "invalid_cursor", "{uri}");
    }
    for uri in [
        "/api/v1/sync/pull?limit=0",
        "/api/v1/sync/pull?limit=501",
        "/api/v1/sync/pull?limit=ten",
    ] {
        let r = app.get_as(&member, uri).await;
        assert_eq!(r.status, 400, "{uri}");
        assert_eq!(r.json["code"], "invalid_field", "{uri}");
    }
    let r = app.get("/api/v1/sync/pull").await;
    assert_eq!(r.status, 401);
    // A cursor made for another jurisdiction starts afresh rather than missing what the new places hold.
    let r = app.get_as(&member, "/api/v1/sync/pull?limit=500").await;
    assert_eq!(r.status, 200);
    let cursor = r.json["next_cursor"].as_str().unwrap().to_owned();
    let other = app.token(Role::GridMember, &["110105026041001"]);
    let r = app
        .get_as(&other, &format!("/api/v1/sync/pull?cursor={cursor}"))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["reset"], true);
    assert!(r.json["reference"].is_object());
}
