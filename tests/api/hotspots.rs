//! Hot spot scans of the city's own data: the hotspots `simulate` plants are found as clusters (recall and
//! precision on several seeds, at a volume a test can afford; `scripts/hotspot-recall` measures a full-volume
//! month); scans run as background jobs through the real routes, within the reader's jurisdiction; a restart leaves
//! no scan running; the scheduler starts the monthly scans the policy names; bad input answers a code.

use crate::common;

use chrono::NaiveDate;
use common::TestApp;
use gridline::domain::access::{Principal, Role};
use gridline::service::hotspots::params::{self, ScanRequest};
use gridline::service::hotspots::scan::{self, ScanResult};
use gridline::service::hotspots::{ScanError, jobs};
use gridline::service::intake::Geo;
use gridline::service::simulate::{self, GroundTruth, traffic::Plan};
use serde_json::{Value, json};

const START: &str = "2026-05-04";

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Simulated days with planted hotspots on the app's database; answers the ground truth.
fn simulated(app: &TestApp, seed: u64, days: u32, scale: f64, hotspots: usize) -> GroundTruth {
    let geo = Geo {
        index: &app.state.index,
        addresses: &app.state.addresses,
        chain: &app.state.chain,
    };
    let plan = Plan {
        start: day(START),
        days,
        seed,
        scale,
        hotspots,
    };
    let (_, truth) = simulate::run(
        &app.state.db,
        &geo,
        plan,
        chrono::Utc::now().naive_utc(),
        |_| (),
    )
    .unwrap();
    truth
}

fn city() -> Principal {
    Principal::machine("test", "test", Role::Leader)
}

fn last_day(days: u32) -> String {
    (day(START) + chrono::Duration::days(i64::from(days) - 1)).to_string()
}

/// The clusters a default scan of the simulated days finds.
fn clusters(app: &TestApp, days: u32) -> scan::Clusters {
    let req = ScanRequest {
        from: Some(START.into()),
        to: Some(last_day(days)),
        ..ScanRequest::default()
    };
    let p = params::check(&mut app.state.db.reader().unwrap(), &city(), &req).unwrap();
    match scan::run(&app.state.db, &app.state.index, &p, &mut |_| ()).unwrap() {
        ScanResult::Gistar(c) => c,
        other => panic!("{other:?}"),
    }
}

#[test]
fn planted_hotspots_are_found_as_clusters_at_the_95_percent_bin_on_two_seeds() {
    const DAYS: u32 = 14;
    for seed in [3, 8] {
        let app = TestApp::beijing();
        let truth = simulated(&app, seed, DAYS, 0.02, 5);
        assert_eq!(truth.hotspots.len(), 5);
        let found = clusters(&app, DAYS);
        // No history before the simulated days: the baseline is the households.
        assert_eq!(found.baseline.kind, "households");
        assert!(found.clusters.iter().all(|c| c.bin >= 2));
        let hits = truth
            .hotspots
            .iter()
            .filter(|h| found.clusters.iter().any(|c| c.units.contains(&h.cell)))
            .count();
        let true_clusters = found
            .clusters
            .iter()
            .filter(|c| truth.hotspots.iter().any(|h| c.units.contains(&h.cell)))
            .count();
        let recall = hits as f64 / truth.hotspots.len() as f64;
        let precision = true_clusters as f64 / found.clusters.len().max(1) as f64;
        let planted: Vec<(&str, &str)> = truth
            .hotspots
            .iter()
            .map(|h| (h.cell.as_str(), h.topic.as_str()))
            .collect();
        let reported: Vec<(&str, &str, usize)> = found
            .clusters
            .iter()
            .map(|c| (c.centre.code.as_str(), c.topic.as_str(), c.units.len()))
            .collect();
        assert!(
            recall >= 0.9 && precision >= 0.8,
            "seed {seed}: recall {recall}, precision {precision}; planted {planted:?}, reported {reported:?}"
        );
        // A cluster found on a planted hotspot names its topic and holds more calls than expected.
        for h in &truth.hotspots {
            let c = found
                .clusters
                .iter()
                .find(|c| c.units.contains(&h.cell))
                .unwrap();
            assert_eq!(c.topic, h.topic);
            assert!(c.observed as f64 > c.expected + 5.0, "{c:?}");
            assert!(c.units.contains(&c.centre.code));
            let t = c.counts.iter().find(|t| t.topic == h.topic).unwrap();
            assert_eq!(t.window, c.observed);
        }
    }
}

/// A building calling together on one day is one incident, not a hotspot; as many calls spread over six days are.
#[actix_web::test]
async fn a_building_calling_together_on_one_day_is_no_hotspot_and_the_same_calls_over_days_are() {
    const DAYS: u32 = 14;
    let app = TestApp::beijing();
    simulated(&app, 6, DAYS, 0.02, 0);
    let index = common::beijing_index();
    let (burst, burst_lat, burst_cell) = common::spot();
    // Another place, far from the first: the grid's cell 300 columns east.
    let (lon, lat) = gridline::geo::grid::center(1162, 566);
    let days_cell = index.cell_code(index.cell_at(lon, lat).unwrap()).to_owned();
    assert_ne!(days_cell[..6], burst_cell[..6]);
    let start = day(START);
    // Twelve leaks (0803) at one building within an afternoon.
    for k in 0..12u32 {
        let at = (start + chrono::Duration::days(5))
            .and_hms_opt(13, k, 0)
            .unwrap();
        let r = common::file_ticket_at(
            &app,
            &format!("BURST-{k}"),
            "0803",
            &format!("1370000{k:04}"),
            (burst, burst_lat),
            at,
        )
        .await;
        assert_eq!(r.status, 201, "{:?}", r.json);
    }
    // Twelve leaks at the other place, two a day over six days.
    for k in 0..12u32 {
        let at = (start + chrono::Duration::days(2 + i64::from(k / 2)))
            .and_hms_opt(9 + k % 2, 0, 0)
            .unwrap();
        let r = common::file_ticket_at(
            &app,
            &format!("DAYS-{k}"),
            "0803",
            &format!("1380000{k:04}"),
            (lon, lat),
            at,
        )
        .await;
        assert_eq!(r.status, 201, "{:?}", r.json);
    }
    // The scan reads the kept counts; the server's counting thread is not running in this test.
    gridline::service::analytics::counts::current(&app.state.db, app.state.clock.now()).unwrap();
    let found = clusters(&app, DAYS);
    let leaks: Vec<&scan::Cluster> = found
        .clusters
        .iter()
        .filter(|c| c.topic == "0803")
        .collect();
    assert!(
        !leaks.iter().any(|c| c.units.contains(&burst_cell)),
        "a one-day burst was reported: {leaks:?}"
    );
    let over_days = leaks
        .iter()
        .find(|c| c.units.contains(&days_cell))
        .unwrap_or_else(|| panic!("the calls over six days were not reported: {found:?}"));
    assert!(
        over_days.observed >= 12 && over_days.counted >= 12,
        "{over_days:?}"
    );
    assert!(over_days.p_value < 0.05 / (found.units * found.topics.len()) as f64);
    assert!(over_days.busiest_day >= 2);
}

#[test]
fn a_window_with_history_takes_each_place_s_own_previous_windows_as_its_usual() {
    let app = TestApp::beijing();
    simulated(&app, 5, 12, 0.01, 0);
    // 4 days scanned after 8 simulated days: two previous windows of 4 days are covered.
    let req = ScanRequest {
        from: Some("2026-05-12".into()),
        to: Some("2026-05-15".into()),
        history: Some(3),
        ..ScanRequest::default()
    };
    let p = params::check(&mut app.state.db.reader().unwrap(), &city(), &req).unwrap();
    let ScanResult::Gistar(found) =
        scan::run(&app.state.db, &app.state.index, &p, &mut |_| ()).unwrap()
    else {
        panic!("not a gistar scan");
    };
    assert_eq!(found.baseline.kind, "history");
    assert_eq!(found.baseline.windows, 2);
    assert_eq!(found.baseline.from, Some(day("2026-05-04")));
    assert_eq!(found.baseline.to, Some(day("2026-05-11")));
    // Nothing was planted: ordinary traffic makes no confirmed cluster.
    assert!(found.clusters.is_empty(), "{:?}", found.clusters);
}

async fn finished(app: &TestApp, token: &str, id: &str) -> serde_json::Value {
    for _ in 0..600 {
        let r = app.get_as(token, &format!("/api/v1/scans/{id}")).await;
        assert_eq!(r.status, 200, "{}", r.json);
        if r.json["status"] == "finished" || r.json["status"] == "failed" {
            return r.json;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("scan {id} did not end within a minute");
}

#[actix_web::test]
async fn a_scan_runs_in_the_background_and_only_its_places_readers_see_it() {
    let app = TestApp::beijing();
    let truth = simulated(&app, 3, 10, 0.02, 3);
    let leader = app.token(Role::Leader, &["110000"]);
    let body = json!({"kind": "gistar", "from": START, "to": last_day(10), "layer": "cell", "permutations": 99, "seed": 4});
    let r = app.post_as(&leader, "/api/v1/scans", body.clone()).await;
    assert_eq!(r.status, 202, "{}", r.json);
    let id = r.json["id"].as_str().unwrap().to_owned();
    assert!(["queued", "running", "finished"].contains(&r.json["status"].as_str().unwrap()));
    let done = finished(&app, &leader, &id).await;
    assert_eq!(done["status"], "finished", "{done}");
    assert_eq!(done["progress"], 100);
    assert_eq!(done["result"]["kind"], "gistar");
    assert_eq!(done["parameters"]["permutations"], 99);
    let found = done["result"]["clusters"].as_array().unwrap();
    for h in &truth.hotspots {
        assert!(
            found
                .iter()
                .any(|c| c["units"].as_array().unwrap().iter().any(|u| u == &h.cell)),
            "{} not found in {found:?}",
            h.cell
        );
    }
    // The same scan as GeoJSON: one feature per cluster, outlined by its cells.
    let g = app
        .get_as(&leader, &format!("/api/v1/scans/{id}?format=geojson"))
        .await;
    assert_eq!(g.status, 200, "{}", g.json);
    assert_eq!(g.json["features"].as_array().unwrap().len(), found.len());
    assert_eq!(g.json["features"][0]["geometry"]["type"], "MultiPolygon");

    // A district's scan: its leader sees it whole, and the city's scan trimmed to their district; another
    // district's leader sees only the city's scan, trimmed to theirs.
    let cell = &truth.hotspots[0].cell;
    let (district, street) = (&cell[..6], &cell[..9]);
    let other = common::other_district(&app.state.index, district);
    let district_leader = app.token(Role::Leader, &[district]);
    let r = app.post_as(&district_leader, "/api/v1/scans", body).await;
    assert_eq!(r.status, 202, "{}", r.json);
    let mine = r.json["id"].as_str().unwrap().to_owned();
    assert_eq!(r.json["parameters"]["coverage"], json!([district]));
    let done = finished(&app, &district_leader, &mine).await;
    assert_eq!(done["status"], "finished", "{done}");
    for c in done["result"]["clusters"].as_array().unwrap() {
        for u in c["units"].as_array().unwrap() {
            assert!(u.as_str().unwrap().starts_with(district), "{u}");
        }
    }
    assert!(done.get("trimmed_to").is_none(), "{done}");
    let city_clusters = app
        .get_as(&leader, &format!("/api/v1/scans/{id}"))
        .await
        .json["result"]["clusters"]
        .as_array()
        .unwrap()
        .clone();
    for (reader, place) in [
        (&district_leader, district),
        (&app.token(Role::Leader, &[&other]), other.as_str()),
    ] {
        let r = app.get_as(reader, &format!("/api/v1/scans/{id}")).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["trimmed_to"], json!([place]));
        let kept: Vec<&Value> = city_clusters
            .iter()
            .filter(|c| {
                c["units"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|u| u.as_str().unwrap().starts_with(place))
            })
            .collect();
        assert_eq!(
            r.json["result"]["clusters"]
                .as_array()
                .unwrap()
                .iter()
                .collect::<Vec<_>>(),
            kept,
            "{place}"
        );
    }
    let stranger = app.token(Role::Leader, &[&other]);
    let r = app
        .get_as(&stranger, &format!("/api/v1/scans/{mine}"))
        .await;
    assert_eq!(r.status, 404, "{}", r.json);
    assert_eq!(r.json["code"], "scan_not_found");
    let r = app.get_as(&stranger, "/api/v1/scans").await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["total"], 1);
    assert_eq!(r.json["scans"][0]["id"], id.as_str());
    // Lists: newest first, paged, without results.
    let r = app.get_as(&leader, "/api/v1/scans?per_page=1").await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["total"], 2);
    assert_eq!(r.json["scans"][0]["id"], mine.as_str());
    assert!(r.json["scans"][0].get("result").is_none());
    let r = app.get_as(&leader, "/api/v1/scans?page=2&per_page=1").await;
    assert_eq!(r.json["scans"][0]["id"], id.as_str());
    let r = app.get_as(&district_leader, "/api/v1/scans").await;
    assert_eq!(r.json["total"], 2);
    // A street's leader scanning streets: their jurisdiction is one street, a layer of one unit.
    let street_leader = app.token(Role::Leader, &[street]);
    let r = app
        .post_as(
            &street_leader,
            "/api/v1/scans",
            json!({"from": START, "to": last_day(10), "layer": "street"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.json);
    assert_eq!(r.json["code"], "one_unit_layer");
    let r = app
        .post_as(
            &street_leader,
            "/api/v1/scans",
            json!({"from": START, "to": last_day(10), "layer": "street", "kind": "emerging"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.json);
}

#[actix_web::test]
async fn an_emerging_scan_classifies_units_week_by_week() {
    let app = TestApp::beijing();
    simulated(&app, 9, 21, 0.01, 2);
    let leader = app.token(Role::Leader, &["110000"]);
    let r = app
        .post_as(
            &leader,
            "/api/v1/scans",
            json!({"kind": "emerging", "from": START, "to": last_day(21), "layer": "community", "step": "week"}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.json);
    let done = finished(&app, &leader, r.json["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "finished", "{done}");
    let result = &done["result"];
    assert_eq!(result["kind"], "emerging");
    assert_eq!(result["steps"].as_array().unwrap().len(), 3);
    let total: u64 = result["categories"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, result["units"].as_u64().unwrap());
    let g = app
        .get_as(
            &leader,
            &format!(
                "/api/v1/scans/{}?format=geojson",
                done["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(g.status, 200, "{}", g.json);
}

#[actix_web::test]
async fn bad_scans_are_refused_with_a_code_before_they_are_queued() {
    let app = TestApp::beijing();
    simulated(&app, 2, 3, 0.01, 0);
    let leader = app.token(Role::Leader, &["110000"]);
    let to = last_day(3);
    let cases = [
        (
            json!({"from": START, "to": to, "topics": ["7777"]}),
            400,
            "unknown_topic",
        ),
        (json!({"from": to, "to": START}), 400, "window_reversed"),
        (json!({"from": START}), 400, "missing_parameter"),
        (
            json!({"from": START, "to": to, "layer": "district"}),
            400,
            "unknown_layer",
        ),
        (
            json!({"from": START, "to": to, "kind": "lisa"}),
            400,
            "unknown_kind",
        ),
        (
            json!({"from": START, "to": to, "weights": "knn:5"}),
            400,
            "unknown_weights",
        ),
        (
            json!({"from": START, "to": to, "weights": "distance:90000"}),
            400,
            "bad_distance_band",
        ),
        (
            json!({"from": START, "to": to, "permutations": 5}),
            400,
            "permutations_out_of_range",
        ),
        (
            json!({"from": START, "to": to, "history": 40}),
            400,
            "history_out_of_range",
        ),
        // A window without any call: nothing to scan.
        (
            json!({"from": "2020-01-01", "to": "2020-01-31"}),
            422,
            "all_zero",
        ),
    ];
    for (body, status, code) in cases {
        let r = app.post_as(&leader, "/api/v1/scans", body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.json);
        assert_eq!(r.json["code"], code, "{body}");
    }
    // A community secretary scanning communities: their jurisdiction is one unit.
    let community = &app
        .state
        .index
        .places()
        .iter()
        .find(|p| p.code.len() == 12)
        .unwrap()
        .code;
    let secretary = app.token(Role::CommunitySecretary, &[community]);
    let r = app
        .post_as(
            &secretary,
            "/api/v1/scans",
            json!({"from": START, "to": to, "layer": "community"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.json);
    assert_eq!(r.json["code"], "one_unit_layer");
    let r = app.get_as(&leader, "/api/v1/scans/no-such-scan").await;
    assert_eq!(r.status, 404);
    let r = app.get_as(&leader, "/api/v1/scans?per_page=500").await;
    assert_eq!(r.status, 400, "{}", r.json);
    let r = app.get_as(&leader, "/api/v1/scans").await;
    assert_eq!(r.json["total"], 0, "no refused scan was stored");
}

#[test]
fn a_restart_leaves_no_scan_running_and_the_scheduler_runs_the_monthly_scans_once() {
    let app = TestApp::beijing();
    let db = &app.state.db;
    // A month of calls in one district, then the scheduler's pass in the month after.
    simulated(&app, 4, 31, 0.01, 2);
    gridline::service::admin::policy::set(db, jobs::MONTHLY_POLICY, "110105,110108").unwrap();
    assert!(gridline::service::admin::policy::set(db, jobs::MONTHLY_POLICY, "chaoyang").is_err());
    let clock = app.state.clock.clone();
    let now = chrono::Utc::now().naive_utc();
    clock.advance(day("2026-06-02").and_hms_opt(4, 0, 0).unwrap() - now);
    assert_eq!(jobs::monthly(db, &app.state.index, &clock).unwrap(), 2);
    assert_eq!(jobs::monthly(db, &app.state.index, &clock).unwrap(), 0);
    let (scans, total) = jobs::list(db, &city(), 1, 10).unwrap();
    assert_eq!(total, 2);
    for s in &scans {
        assert_eq!(s.status, "finished", "{:?}", s.error);
        assert_eq!(s.params.from, day("2026-05-01"));
        assert_eq!(s.params.to, day("2026-05-31"));
        assert_eq!(s.params.coverage.as_ref().unwrap().len(), 1);
    }
    // A scan queued and one running when the server stopped: both failed at the next start, neither stuck.
    let req = ScanRequest {
        from: Some(START.into()),
        to: Some(last_day(31)),
        ..ScanRequest::default()
    };
    let p = params::check(&mut db.reader().unwrap(), &city(), &req).unwrap();
    for (id, status) in [("cut-1", "queued"), ("cut-2", "running")] {
        let mut c = db.writer().unwrap();
        gridline::store::scans::insert(
            &mut c,
            &gridline::store::scans::NewScan {
                id,
                kind: "gistar",
                status,
                progress: 40,
                params: &serde_json::to_string(&p).unwrap(),
                coverage: "",
                created_by: "test",
                created_at: now,
                schedule_key: None,
            },
        )
        .unwrap();
    }
    assert_eq!(jobs::fail_interrupted(db, now).unwrap(), 2);
    for id in ["cut-1", "cut-2"] {
        let s = jobs::get(db, &city(), id).unwrap();
        assert_eq!(s.status, "failed");
        assert_eq!(s.error.unwrap().0, "interrupted");
    }
    assert_eq!(jobs::fail_interrupted(db, now).unwrap(), 0);
    // A scan outside every call's days is refused before it is stored.
    let empty = ScanRequest {
        from: Some("2020-01-01".into()),
        to: Some("2020-01-02".into()),
        ..ScanRequest::default()
    };
    let p = params::check(&mut db.reader().unwrap(), &city(), &empty).unwrap();
    assert!(matches!(
        jobs::precheck(db, &app.state.index, &p),
        Err(ScanError::Stats(gridline::analytics::Error::AllZero))
    ));
}
