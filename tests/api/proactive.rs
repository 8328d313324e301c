//! Proactive tasks (未诉先办) through the real routes: a street's leader turns a cluster of their district's finished
//! scan into a case that is dispatched to the street, reaches the grid member's phone, is worked with evidence
//! photos and closed; its "did it work" figures are "not yet" until the days after it closed are over and then
//! equal the tickets counted straight from the rows; tasking the same cluster again answers the same case; a reader
//! of another street can neither task it nor see it; bad requests answer a code.

use crate::common;

use chrono::{Duration, NaiveDate};
use common::TestApp;
use gridline::analytics::counts::local_day;
use gridline::domain::access::{Principal, Role};
use gridline::service::hotspots::params::{self, ScanRequest};
use gridline::service::hotspots::scan::{
    Baseline, Centre, Cluster, Clusters, EmergingScan, ScanResult, TopicCount, UnitPattern,
};
use gridline::store::scans::{self as scan_store, NewScan};
use serde_json::json;

const TOPIC: &str = "0101";
/// The scan's window, days.
const WINDOW: i64 = 7;

fn leader_of(place: &str) -> Principal {
    Principal {
        places: vec![place.to_owned()],
        ..Principal::machine("district-leader", "区领导", Role::Leader)
    }
}

/// The scan's window: the `WINDOW` days up to yesterday.
fn window(app: &TestApp) -> (NaiveDate, NaiveDate) {
    let to = local_day(app.state.clock.now()) - Duration::days(1);
    (to - Duration::days(WINDOW - 1), to)
}

/// A scan of `district` asked for as `req` (its window filled in), stored queued; answers its id.
fn queued_scan(app: &TestApp, district: &str, req: ScanRequest) -> String {
    let (from, to) = window(app);
    let req = ScanRequest {
        from: Some(from.to_string()),
        to: Some(to.to_string()),
        ..req
    };
    let mut c = app.state.db.writer().unwrap();
    let p = params::check(&mut c, &leader_of(district), &req).unwrap();
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    scan_store::insert(
        &mut c,
        &NewScan {
            id: &id,
            kind: p.kind.as_str(),
            status: "queued",
            progress: 0,
            params: &serde_json::to_string(&p).unwrap(),
            coverage: district,
            created_by: "district-leader",
            created_at: app.state.clock.now(),
            schedule_key: None,
        },
    )
    .unwrap();
    id
}

/// Stores `result` as the finished result of scan `id`.
fn finish(app: &TestApp, id: &str, result: &ScanResult) {
    let mut c = app.state.db.writer().unwrap();
    scan_store::finish(
        &mut c,
        id,
        &serde_json::to_string(result).unwrap(),
        app.state.clock.now(),
    )
    .unwrap();
}

/// A scan of `district` stored as `status` (with one cluster over `cells` when finished); answers its id.
fn stored_scan(app: &TestApp, district: &str, cells: &[String], status: &str) -> String {
    let req = ScanRequest {
        topics: vec![TOPIC.into()],
        ..ScanRequest::default()
    };
    let id = queued_scan(app, district, req);
    if status == "finished" {
        let (from, to) = window(app);
        let (lon, lat, _) = common::spot();
        let result = ScanResult::Gistar(Clusters {
            layer: "cell".into(),
            from,
            to,
            baseline: Baseline {
                kind: "households".into(),
                windows: 0,
                from: None,
                to: None,
            },
            units: 100,
            islands: vec![],
            topics: vec![TOPIC.into()],
            fdr: true,
            cutoffs: [0.001, 0.01, 0.05],
            candidates: 1,
            clusters: vec![Cluster {
                rank: 1,
                topic: TOPIC.into(),
                baseline: "households".into(),
                units: cells.to_vec(),
                centre: Centre {
                    code: cells[0].clone(),
                    lon,
                    lat,
                },
                strongest_z: 4.2,
                bin: 3,
                observed: 3,
                counted: 3,
                expected: 0.5,
                p_value: 0.014,
                busiest_day: 3,
                counts: vec![TopicCount {
                    topic: TOPIC.into(),
                    window: 3,
                    counted: 3,
                    baseline: 0.5,
                }],
            }],
        });
        finish(app, &id, &result);
    }
    id
}

/// Tickets on `topic` whose place is one of `cells`, received on Beijing days `from..=to`, counted from the rows.
fn tickets_from_rows(app: &TestApp, cells: &[String], topic: &str, from: &str, to: &str) -> i64 {
    use diesel::prelude::*;
    use gridline::db::schema::tickets;
    let (from, to) = (
        NaiveDate::parse_from_str(from, "%Y-%m-%d").unwrap(),
        NaiveDate::parse_from_str(to, "%Y-%m-%d").unwrap(),
    );
    let rows: Vec<(Option<String>, String, chrono::NaiveDateTime)> = tickets::table
        .select((
            tickets::place_code,
            tickets::topic_code,
            tickets::received_at,
        ))
        .load(&mut *app.state.db.reader().unwrap())
        .unwrap();
    rows.iter()
        .filter(|(place, t, at)| {
            place.as_ref().is_some_and(|p| cells.contains(p))
                && t == topic
                && (from..=to).contains(&local_day(*at))
        })
        .count() as i64
}

/// Tasks cluster 1 of the scan at `uri` (`/api/v1/scans/{id}/tasks`) as `token`: a new case on `TOPIC`, dispatched,
/// placed on `cell`; answers the task.
async fn task_first(app: &TestApp, token: &str, uri: &str, cell: &str) -> serde_json::Value {
    let r = app.post_as(token, uri, json!({"clusters": [1]})).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let t = r.json["tasks"][0].clone();
    assert_eq!(t["created"], true);
    assert_eq!(t["status"], "dispatched", "{t}");
    assert_eq!(t["topic"], TOPIC);
    assert_eq!(t["place_code"], cell);
    t
}

async fn step(app: &TestApp, token: &str, case: &str, body: serde_json::Value) {
    let r = app
        .post_as(token, &format!("/api/v1/cases/{case}/transitions"), body)
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
}

#[actix_web::test]
async fn a_cluster_becomes_a_case_that_goes_to_the_street_is_closed_and_is_judged_from_the_counts()
{
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let (district, street) = (cell[..6].to_owned(), cell[..9].to_owned());
    let index = &app.state.index;
    let neighbour = index
        .cells_under(&street)
        .map(|id| index.cell_code(id).to_owned())
        .find(|c| *c != cell)
        .unwrap();
    let cells = vec![cell.clone(), neighbour];
    // Before: three calls on the topic in the cluster, one on another topic (not counted).
    for k in 0..3 {
        common::file_ticket(&app, &format!("PB-{k}"), TOPIC, "13800000001", "垃圾没人清").await;
    }
    common::file_ticket(&app, "PB-X", "0103", "13800000002", "小广告").await;
    app.state.clock.advance(Duration::days(2));
    let scan = stored_scan(&app, &district, &cells, "finished");

    // A street's leader tasks the cluster of the district's scan that lies in their street.
    let leader = app.token(Role::Leader, &[&street]);
    let uri = format!("/api/v1/scans/{scan}/tasks");
    let t = &task_first(&app, &leader, &uri, &cell).await;
    assert_eq!(t["evidence"]["scan_id"], scan.as_str());
    assert_eq!(t["evidence"]["strongest_z"], 4.2);
    assert_eq!(t["evidence"]["window_tickets"], 3);
    let case = t["case_id"].as_str().unwrap().to_owned();
    // The same cluster again: the same case, nothing new.
    let again = app
        .post_as(&leader, &uri, json!({"clusters": [1, 1]}))
        .await;
    assert_eq!(again.status, 200, "{}", again.json);
    assert_eq!(again.json["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(again.json["tasks"][0]["case_id"], case.as_str());
    assert_eq!(again.json["tasks"][0]["created"], false);

    // An ordinary case of source proactive, with its chain, in the street's grid member's pull.
    let op = app.token(Role::HotlineOperator, &[]);
    let d = app.get_as(&op, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(d.status, 200, "{}", d.json);
    assert_eq!(d.json["case"]["source"], "proactive", "{}", d.json);
    assert!(!d.json["chain"].as_array().unwrap().is_empty());
    let grid = app.token(Role::GridMember, &[&street]);
    let pull = app.get_as(&grid, "/api/v1/sync/pull?limit=500").await;
    assert_eq!(pull.status, 200, "{}", pull.json);
    assert!(
        pull.json["cases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == case.as_str()),
        "{}",
        pull.json["cases"]
    );
    let listed = app.get_as(&op, "/api/v1/cases?source=proactive").await;
    assert_eq!(listed.status, 200, "{}", listed.json);
    assert!(
        listed.json["cases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == case.as_str()),
        "{}",
        listed.json
    );

    // Open: before is counted, after is not yet.
    let r = app.get_as(&leader, "/api/v1/proactive").await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["total"], 1);
    let p = &r.json["tasks"][0];
    assert_eq!(p["case_id"], case.as_str());
    assert_eq!(p["before"]["tickets"], 3, "{p}");
    assert_eq!(p["after"], serde_json::Value::Null);
    assert_eq!(p["outcome"], "not_yet");
    assert!(p["note"].as_str().unwrap().contains("not yet"), "{p}");

    // The street works it with evidence photos; the command centre closes it.
    let handler = app.token(Role::StreetHandler, &[&street]);
    step(&app, &handler, &case, json!({"action": "accept"})).await;
    step(&app, &handler, &case, json!({"action": "start"})).await;
    let photos = [
        common::stored_photo(&app, &handler, 11).await,
        common::stored_photo(&app, &handler, 12).await,
    ];
    step(
        &app,
        &handler,
        &case,
        json!({"action": "reply", "note": "已清理并加装垃圾桶", "evidence": photos}),
    )
    .await;
    let dispatcher = app.token(Role::Dispatcher, &[&district]);
    step(&app, &dispatcher, &case, json!({"action": "close"})).await;

    // After it closed: one call the next day; the figure waits until the window is over.
    app.state.clock.advance(Duration::days(1));
    let leader = app.sign_in_again(&leader);
    common::file_ticket(&app, "PA-1", TOPIC, "13800000003", "又有垃圾").await;
    let r = app.get_as(&leader, "/api/v1/proactive").await;
    assert_eq!(r.status, 200, "{}", r.json);
    let p = &r.json["tasks"][0];
    assert_eq!(p["status"], "closed", "{}", r.json);
    assert_eq!(p["outcome"], "not_yet", "{p}");
    assert_eq!(p["after"]["tickets"], serde_json::Value::Null, "{p}");
    app.state.clock.advance(Duration::days(WINDOW));
    let leader = app.sign_in_again(&leader);
    let r = app.get_as(&leader, "/api/v1/proactive").await;
    assert_eq!(r.status, 200, "{}", r.json);
    let p = &r.json["tasks"][0];
    assert_eq!(p["after"]["tickets"], 1, "{p}");
    assert_eq!(p["outcome"], "cooled", "{p}");
    // The figures equal the tickets counted from the rows over the same days.
    for w in ["before", "after"] {
        let (from, to) = (p[w]["from"].as_str().unwrap(), p[w]["to"].as_str().unwrap());
        assert_eq!(
            p[w]["tickets"].as_i64().unwrap(),
            tickets_from_rows(&app, &cells, TOPIC, from, to),
            "{w}: {p}"
        );
    }
    let s = &r.json["scans"][0];
    assert_eq!(s["scan_id"], scan.as_str());
    assert_eq!(
        (s["tasked"].as_i64(), s["cooled"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(s["share_cooled"], 1.0);

    // The case counts under source proactive, and a rebuild of the counts finds nothing to change.
    let diffs =
        gridline::service::analytics::counts::rebuild(&app.state.db, app.state.clock.now(), false)
            .unwrap();
    assert!(diffs.is_empty(), "{diffs:?}");
    {
        use diesel::prelude::*;
        use gridline::db::schema::place_counts as pc;
        let n: i64 = pc::table
            .filter(pc::level.eq("cell"))
            .filter(pc::place_code.eq(&cell))
            .filter(pc::source.eq("proactive"))
            .select(diesel::dsl::sum(pc::cases))
            .first::<Option<i64>>(&mut *app.state.db.reader().unwrap())
            .unwrap()
            .unwrap_or(0);
        assert_eq!(n, 1);
    }

    // Another street's leader: the cluster is not theirs, and the list shows them nothing.
    let other_street = index
        .places()
        .iter()
        .find(|p| p.code.len() == 9 && p.code.starts_with(&district) && p.code != street)
        .unwrap()
        .code
        .clone();
    let stranger = app.token(Role::Leader, &[&other_street]);
    let r = app.post_as(&stranger, &uri, json!({"clusters": [1]})).await;
    assert_eq!(r.status, 404, "{}", r.json);
    assert_eq!(r.json["code"], "cluster_not_found");
    let r = app.get_as(&stranger, "/api/v1/proactive").await;
    assert_eq!(r.json["total"], 0);
    assert!(r.json["tasks"].as_array().unwrap().is_empty());
    // Both street leaders read the district's scan trimmed to their street: the first finds the cluster they
    // tasked, the other none (its cells are not theirs), in the list and alone.
    for (reader, place, clusters) in [(&leader, &street, 1), (&stranger, &other_street, 0)] {
        let listed = app.get_as(reader, "/api/v1/scans").await;
        assert_eq!(listed.status, 200, "{}", listed.json);
        let entry = listed.json["scans"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == scan.as_str())
            .unwrap_or_else(|| panic!("{place}: the district's scan is listed: {}", listed.json))
            .clone();
        assert_eq!(entry["trimmed_to"], json!([place]));
        let one = app.get_as(reader, &format!("/api/v1/scans/{scan}")).await;
        assert_eq!(one.status, 200, "{}", one.json);
        assert_eq!(one.json["trimmed_to"], json!([place]));
        let found = one.json["result"]["clusters"].as_array().unwrap();
        assert_eq!(found.len(), clusters, "{place}: {}", one.json);
        for k in found {
            for u in k["units"].as_array().unwrap() {
                assert!(u.as_str().unwrap().starts_with(place.as_str()), "{u}");
            }
        }
    }
    // The district's leader reads it whole.
    let whole = app.token(Role::Leader, &[&district]);
    let one = app.get_as(&whole, &format!("/api/v1/scans/{scan}")).await;
    assert_eq!(one.status, 200, "{}", one.json);
    assert!(one.json.get("trimmed_to").is_none(), "{}", one.json);
    assert_eq!(one.json["result"]["clusters"].as_array().unwrap().len(), 1);
    // Another district's leader does not reach the scan at all.
    let other_district = common::other_district(index, &district);
    let far = app.token(Role::Leader, &[&other_district]);
    let r = app.post_as(&far, &uri, json!({"clusters": [1]})).await;
    assert_eq!(r.status, 404, "{}", r.json);
    assert_eq!(r.json["code"], "scan_not_found");
    let r = app.get_as(&far, &format!("/api/v1/scans/{scan}")).await;
    assert_eq!(r.status, 404, "{}", r.json);
    let r = app.get_as(&far, "/api/v1/scans").await;
    assert!(
        !r.json["scans"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == scan.as_str()),
        "{}",
        r.json
    );
    // A community secretary may not task.
    let secretary = app.token(Role::CommunitySecretary, &[&street]);
    let r = app
        .post_as(&secretary, &uri, json!({"clusters": [1]}))
        .await;
    assert_eq!(r.status, 403, "{}", r.json);
}

#[actix_web::test]
async fn bad_task_requests_answer_a_code_and_make_nothing() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let district = cell[..6].to_owned();
    let leader = app.token(Role::Leader, &[&district]);
    let finished = stored_scan(&app, &district, std::slice::from_ref(&cell), "finished");
    let queued = stored_scan(&app, &district, std::slice::from_ref(&cell), "queued");
    let many: Vec<i64> = (1..=51).collect();
    let cases = [
        (
            "no-such-scan",
            json!({"clusters": [1]}),
            404,
            "scan_not_found",
        ),
        (
            queued.as_str(),
            json!({"clusters": [1]}),
            409,
            "scan_not_finished",
        ),
        (
            finished.as_str(),
            json!({"clusters": [7]}),
            404,
            "cluster_not_found",
        ),
        (
            finished.as_str(),
            json!({"clusters": []}),
            400,
            "no_clusters",
        ),
        (
            finished.as_str(),
            json!({"clusters": many}),
            400,
            "too_many_clusters",
        ),
        (
            finished.as_str(),
            json!({"clusters": [0]}),
            400,
            "invalid_cluster",
        ),
        (
            finished.as_str(),
            json!({"clusters": [1], "topic": "0201"}),
            400,
            "invalid_topic",
        ),
    ];
    for (scan, body, status, code) in cases {
        let r = app
            .post_as(
                &leader,
                &format!("/api/v1/scans/{scan}/tasks"),
                body.clone(),
            )
            .await;
        assert_eq!(r.status, status, "{body}: {}", r.json);
        assert_eq!(r.json["code"], code, "{body}: {}", r.json);
    }
    let r = app.get_as(&leader, "/api/v1/proactive?per_page=0").await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert_eq!(r.json["code"], "invalid_page");
    let r = app.get_as(&leader, "/api/v1/proactive").await;
    assert_eq!(r.json["total"], 0);
}

/// An emerging scan's pattern at `code` (the centroid of the test's spot) of `category`.
fn pattern(code: &str, category: &str) -> UnitPattern {
    let (lon, lat, _) = common::spot();
    UnitPattern {
        code: code.to_owned(),
        lon,
        lat,
        category: category.into(),
        hot_steps: 3,
        cold_steps: 0,
        trend_z: 2.4,
        trend_p: 0.016,
    }
}

/// A finished emerging scan of `district` over `topics` with `patterns`; answers its id.
fn emerging_scan(
    app: &TestApp,
    district: &str,
    topics: &[&str],
    patterns: Vec<UnitPattern>,
) -> String {
    let req = ScanRequest {
        kind: Some("emerging".into()),
        topics: topics.iter().map(|t| (*t).to_owned()).collect(),
        ..ScanRequest::default()
    };
    let id = queued_scan(app, district, req);
    let (from, to) = window(app);
    let result = ScanResult::Emerging(EmergingScan {
        layer: "cell".into(),
        from,
        to,
        step: "week".into(),
        steps: vec![from],
        units: 100,
        islands: vec![],
        topics: topics.iter().map(|t| (*t).to_owned()).collect(),
        categories: patterns.iter().map(|p| (p.category.clone(), 1)).collect(),
        patterns,
    });
    finish(app, &id, &result);
    id
}

#[actix_web::test]
async fn an_emerging_hot_spot_becomes_a_case_with_its_category_and_a_cold_one_does_not() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let district = cell[..6].to_owned();
    let index = &app.state.index;
    let other_cell = index
        .cells_under(&cell[..9])
        .map(|id| index.cell_code(id).to_owned())
        .find(|c| *c != cell)
        .unwrap();
    for k in 0..2 {
        common::file_ticket(&app, &format!("EM-{k}"), TOPIC, "13800000001", "垃圾没人清").await;
    }
    app.state.clock.advance(Duration::days(1));
    let one_topic = emerging_scan(
        &app,
        &district,
        &[TOPIC],
        vec![
            pattern(&cell, "new_hot_spot"),
            pattern(&other_cell, "persistent_cold_spot"),
        ],
    );
    let leader = app.token(Role::Leader, &[&district]);
    let uri = format!("/api/v1/scans/{one_topic}/tasks");

    // Position 1, a new hot spot: a proactive case on its cell with the category as evidence and the window's
    // calls counted from the kept counts, equal to the rows.
    let t = &task_first(&app, &leader, &uri, &cell).await;
    assert_eq!(t["evidence"]["trend"], "new_hot_spot", "{t}");
    assert_eq!(t["evidence"]["strongest_z"], serde_json::Value::Null, "{t}");
    let (from, to) = window(&app);
    assert_eq!(
        t["evidence"]["window_tickets"].as_i64(),
        Some(tickets_from_rows(
            &app,
            std::slice::from_ref(&cell),
            TOPIC,
            &from.to_string(),
            &to.to_string()
        )),
        "{t}"
    );
    assert_eq!(t["evidence"]["window_tickets"], 2, "{t}");
    let case = t["case_id"].as_str().unwrap().to_owned();

    // Position 2 is a cold spot, position 3 does not exist: nothing is made.
    let r = app.post_as(&leader, &uri, json!({"clusters": [2]})).await;
    assert_eq!(r.status, 422, "{}", r.json);
    assert_eq!(r.json["code"], "not_a_hot_spot");
    let r = app.post_as(&leader, &uri, json!({"clusters": [3]})).await;
    assert_eq!(r.status, 404, "{}", r.json);
    assert_eq!(r.json["code"], "cluster_not_found");

    // A scan of every topic names none: the leader says which.
    let all_topics = emerging_scan(
        &app,
        &district,
        &[],
        vec![pattern(&cell, "intensifying_hot_spot")],
    );
    let uri = format!("/api/v1/scans/{all_topics}/tasks");
    let r = app.post_as(&leader, &uri, json!({"clusters": [1]})).await;
    assert_eq!(r.status, 422, "{}", r.json);
    assert_eq!(r.json["code"], "topic_required");
    let r = app
        .post_as(&leader, &uri, json!({"clusters": [1], "topic": "0103"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["tasks"][0]["topic"], "0103");
    assert_eq!(
        r.json["tasks"][0]["evidence"]["trend"],
        "intensifying_hot_spot"
    );
    assert_eq!(r.json["tasks"][0]["evidence"]["window_tickets"], 0);

    // Both are listed with their category; another district's leader reaches neither scan nor task.
    let r = app.get_as(&leader, "/api/v1/proactive").await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["total"], 2, "{}", r.json);
    let listed = r.json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["case_id"] == case.as_str())
        .unwrap();
    assert_eq!(listed["evidence"]["trend"], "new_hot_spot", "{listed}");
    let other_district = common::other_district(index, &district);
    let far = app.token(Role::Leader, &[&other_district]);
    let r = app
        .post_as(
            &far,
            &format!("/api/v1/scans/{one_topic}/tasks"),
            json!({"clusters": [1]}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.json);
    assert_eq!(r.json["code"], "scan_not_found");
    let r = app.get_as(&far, "/api/v1/proactive").await;
    assert_eq!(r.json["total"], 0, "{}", r.json);
}
