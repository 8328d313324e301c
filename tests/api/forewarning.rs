//! Seasonal forewarning (冬病夏治) through the real routes and the command line: last winter's heating calls at one
//! place become a proposal once the policy's weeks before the heating season have come, once; a leader of the
//! district sees it and accepts its cluster as a proactive case, a leader of another district sees nothing; the
//! taxonomy carries the seasons and refuses a bad one by line.

use crate::common;

use chrono::{NaiveDate, NaiveDateTime};
use common::{TestApp, gridline, text};
use gridline::domain::access::Role;
use gridline::geo::grid;
use gridline::service::hotspots::forewarning;
use serde_json::{Value, json};

pub(crate) const HEATING: &str = "0701";

pub(crate) fn at(day: &str, hour: u32) -> NaiveDateTime {
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .unwrap()
        .and_hms_opt(hour, 0, 0)
        .unwrap()
}

/// `n` points in distinct cells whose codes start with `prefix`, none within 3 km of the test spot: a coarse walk
/// over the grid.
fn points_in(prefix: &str, n: usize) -> Vec<(f64, f64)> {
    let index = common::beijing_index();
    let (mut out, mut cells) = (Vec::new(), Vec::new());
    for i in (0..grid::NX).step_by(15) {
        for j in (0..grid::NY).step_by(15) {
            if i.abs_diff(862) < 30 && j.abs_diff(566) < 30 {
                continue;
            }
            let (lon, lat) = grid::center(i, j);
            let Some(id) = index.cell_at(lon, lat) else {
                continue;
            };
            let code = index.cell_code(id).to_owned();
            if code.starts_with(prefix) && !cells.contains(&code) {
                cells.push(code);
                out.push((lon, lat));
                if out.len() == n {
                    return out;
                }
            }
        }
    }
    panic!("fewer than {n} cells of {prefix} found");
}

/// Three districts: the test spot's, one more the policy names, and one it does not.
pub(crate) fn districts(app: &TestApp) -> (String, String, String) {
    let (_, _, cell) = common::spot();
    let mine = cell[..6].to_owned();
    let others: Vec<String> = common::other_districts(&app.state.index, &mine)
        .take(2)
        .collect();
    (mine, others[0].clone(), others[1].clone())
}

/// The cluster of a proposal (`GET /api/v1/forewarnings` item) whose units hold `cell`.
pub(crate) fn cluster_holding<'a>(proposal: &'a Value, cell: &str) -> &'a Value {
    proposal["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["units"].as_array().unwrap().iter().any(|u| u == cell))
        .unwrap_or_else(|| panic!("no cluster holds {cell}: {proposal}"))
}

/// Last winter's heating calls: 18 at the test spot over six days of December 2025, one each at six other places of
/// its district and at eight places of `other`.
pub(crate) async fn last_winter(app: &TestApp, other: &str) {
    let (lon, lat, cell) = common::spot();
    for day in 1..=6 {
        for k in 0..3 {
            let n = day * 10 + k;
            common::file_ticket_at(
                app,
                &format!("W-{n}"),
                HEATING,
                &format!("1390000{n:04}"),
                (lon, lat),
                at(&format!("2025-12-{day:02}"), 1 + k),
            )
            .await;
        }
    }
    for (k, p) in points_in(&cell[..6], 6).into_iter().enumerate() {
        let day = format!("2025-12-{:02}", 10 + k);
        common::file_ticket_at(
            app,
            &format!("B-{k}"),
            HEATING,
            "13911110000",
            p,
            at(&day, 3),
        )
        .await;
    }
    for (k, p) in points_in(other, 8).into_iter().enumerate() {
        let day = format!("2026-01-{:02}", 10 + k);
        common::file_ticket_at(
            app,
            &format!("O-{k}"),
            HEATING,
            "13922220000",
            p,
            at(&day, 3),
        )
        .await;
    }
}

#[actix_web::test]
async fn last_winter_s_hot_place_is_proposed_before_the_heating_season_once_and_its_leader_accepts_it()
 {
    let app = TestApp::beijing();
    let (district, other, stranger) = districts(&app);
    let (_, _, cell) = common::spot();
    // 20 September 2026, noon in Beijing: the heating season (15 November) is eight weeks away.
    common::set_clock(&app, at("2026-09-20", 4));
    last_winter(&app, &other).await;
    let admin = app.token(Role::Admin, &[]);
    for (key, value) in [
        (forewarning::DISTRICTS_POLICY, district.as_str()),
        (forewarning::WEEKS_POLICY, "6"),
    ] {
        let r = common::put_policy(&app, &admin, key, value).await;
        assert!(r.status.is_success(), "{key}: {}", r.json);
    }
    for (key, bad) in [
        (forewarning::WEEKS_POLICY, "27"),
        (forewarning::WEEKS_POLICY, "six"),
        (forewarning::DISTRICTS_POLICY, "chaoyang"),
    ] {
        let r = common::put_policy(&app, &admin, key, bad).await;
        assert_eq!(r.status, 400, "{key}={bad}: {}", r.json);
        assert!(
            r.json["message"].as_str().unwrap().contains(key),
            "{}",
            r.json
        );
    }
    let (db, index, clock) = (&app.state.db, &app.state.index, &app.state.clock);

    // Before the window (it opens on 4 October): nothing, from the scheduler's hook or the command line.
    assert_eq!(forewarning::propose(db, index, clock).unwrap(), 0);
    let env = [("DATABASE_URL", app.db.url.as_str())];
    let out = gridline(&["scan", "forewarning", "--date", "2026-10-03"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("0 forewarning(s) proposed as of 2026-10-03"),
        "{}",
        text(&out.stdout)
    );
    let leader = app.token(Role::Leader, &[&district]);
    let r = app.get_as(&leader, "/api/v1/forewarnings").await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["total"], 0);

    // Inside it: one proposal per district of the policy, for the one seasonal topic due (heating); first from the
    // command line, then, with a second district in the policy, from the scheduler's hook.
    common::set_clock(&app, at("2026-10-10", 4));
    let leader = app.sign_in_again(&leader);
    let out = gridline(&["scan", "forewarning", "--date", "2026-10-10"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(
        printed.starts_with("1 forewarning(s) proposed as of 2026-10-10"),
        "{printed}"
    );
    assert!(
        printed.contains(&format!(
            "district {district} topic {HEATING} season starts 2026-11-15: last season 2025-11-15 to 2026-03-15, scan "
        )),
        "{printed}"
    );
    assert!(
        printed.contains(&format!("  #1 topic {HEATING} centre ")),
        "{printed}"
    );
    let both = format!("{district},{other}");
    let admin = app.sign_in_again(&admin);
    let r = common::put_policy(&app, &admin, forewarning::DISTRICTS_POLICY, &both).await;
    assert!(r.status.is_success(), "{}", r.json);
    assert_eq!(forewarning::propose(db, index, clock).unwrap(), 1);
    // A second pass, and the command line on a later day of the same window, propose nothing new.
    assert_eq!(forewarning::propose(db, index, clock).unwrap(), 0);
    let out = gridline(&["scan", "forewarning", "--date", "2026-10-20"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("0 forewarning(s)"),
        "{}",
        text(&out.stdout)
    );

    let r = app.get_as(&leader, "/api/v1/forewarnings").await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["total"], 1, "{}", r.json);
    let p = &r.json["forewarnings"][0];
    assert_eq!(p["status"], "finished", "{p}");
    assert_eq!(p["district_code"], district.as_str());
    assert_eq!(p["topic"]["code"], HEATING);
    assert_eq!(p["topic"]["name_zh"], "供暖不热");
    assert_eq!(p["season"], "11-15..03-15");
    assert_eq!(p["season_starts"], "2026-11-15");
    assert_eq!(
        p["last_season"],
        json!({"from": "2025-11-15", "to": "2026-03-15"})
    );
    let hot = cluster_holding(p, &cell);
    assert!(hot["observed"].as_i64().unwrap() >= 18, "{hot}");
    assert_eq!(hot["tasked"], false);
    assert_eq!(hot["case_id"], json!(null));
    let scan = p["scan_id"].as_str().unwrap().to_owned();
    let rank = hot["rank"].as_i64().unwrap();
    let s = app.get_as(&leader, &format!("/api/v1/scans/{scan}")).await;
    assert_eq!(s.status, 200, "{}", s.json);
    assert_eq!(s.json["parameters"]["topics"], json!([HEATING]));
    assert_eq!(s.json["parameters"]["history"], 0);

    // The city sees both districts' proposals; the other district's leader their own; a third district's none.
    let city = app.token(Role::Leader, &["110000"]);
    let r = app.get_as(&city, "/api/v1/forewarnings?per_page=1").await;
    assert_eq!(r.json["total"], 2, "{}", r.json);
    assert_eq!(r.json["forewarnings"].as_array().unwrap().len(), 1);
    let theirs = app.token(Role::Leader, &[&other]);
    let r = app.get_as(&theirs, "/api/v1/forewarnings").await;
    assert_eq!(r.json["total"], 1, "{}", r.json);
    assert_eq!(r.json["forewarnings"][0]["district_code"], other.as_str());
    assert_eq!(r.json["forewarnings"][0]["status"], "finished");
    let outsider = app.token(Role::Leader, &[&stranger]);
    let r = app.get_as(&outsider, "/api/v1/forewarnings").await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["total"], 0);
    assert_eq!(r.json["forewarnings"], json!([]));
    let r = app
        .get_as(&outsider, &format!("/api/v1/scans/{scan}"))
        .await;
    assert_eq!(r.status, 404, "{}", r.json);
    let r = app
        .post_as(
            &outsider,
            &format!("/api/v1/scans/{scan}/tasks"),
            json!({"clusters": [rank]}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.json);
    let r = app
        .get_as(&leader, "/api/v1/forewarnings?per_page=500")
        .await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert_eq!(r.json["code"], "invalid_page");

    // The district's leader accepts the cluster: a proactive case, and the proposal says so.
    let r = app
        .post_as(
            &leader,
            &format!("/api/v1/scans/{scan}/tasks"),
            json!({"clusters": [rank]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let case = r.json["tasks"][0]["case_id"].as_str().unwrap().to_owned();
    assert_eq!(r.json["tasks"][0]["topic"], HEATING);
    let d = app.get_as(&leader, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(d.status, 200, "{}", d.json);
    assert_eq!(d.json["case"]["source"], "proactive");
    let r = app.get_as(&leader, "/api/v1/forewarnings").await;
    let accepted = r.json["forewarnings"][0]["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rank"] == rank)
        .unwrap()
        .clone();
    assert_eq!(accepted["tasked"], true);
    assert_eq!(accepted["case_id"], case.as_str());

    // Street leaders of the district see the proposal with the clusters inside their street only, each with its
    // task: the accepted one where it lies wholly in theirs, nowhere else.
    let street = cell[..9].to_owned();
    let other_street = app
        .state
        .index
        .places()
        .iter()
        .find(|p| p.code.len() == 9 && p.code.starts_with(&district) && p.code != street)
        .unwrap()
        .code
        .clone();
    let units = |c: &Value| -> Vec<String> {
        c["units"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap().to_owned())
            .collect()
    };
    // The accepted cluster lies in the test spot's street (its calls are all at one cell): one street sees it, the
    // other not.
    assert!(
        units(&accepted).iter().all(|u| u.starts_with(&street)),
        "{accepted}"
    );
    for place in [&street, &other_street] {
        let reader = app.token(Role::Leader, &[place]);
        let r = app.get_as(&reader, "/api/v1/forewarnings").await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["total"], 1, "{place}: {}", r.json);
        let clusters = r.json["forewarnings"][0]["clusters"].as_array().unwrap();
        for c in clusters {
            assert!(
                units(c).iter().all(|u| u.starts_with(place.as_str())),
                "{place}: {c}"
            );
        }
        let theirs = units(&accepted)
            .iter()
            .all(|u| u.starts_with(place.as_str()));
        let seen = clusters.iter().find(|c| c["rank"] == rank);
        assert_eq!(seen.is_some(), theirs, "{place}");
        if let Some(c) = seen {
            assert_eq!(c["case_id"], case.as_str());
        }
    }
}

#[actix_web::test]
async fn the_taxonomy_carries_seasons_refuses_a_bad_one_by_line_and_reads_a_file_without_them() {
    let app = TestApp::beijing();
    let r = app.get("/api/v1/topics").await;
    assert_eq!(r.status, 200, "{}", r.json);
    let season = |json: &serde_json::Value, code: &str| {
        json["topics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["code"] == code)
            .unwrap()["season"]
            .clone()
    };
    assert_eq!(season(&r.json, "0701"), "11-15..03-15");
    assert_eq!(season(&r.json, "0304"), "06-01..09-15");
    assert_eq!(season(&r.json, "0101"), json!(null));

    let db = &app.state.db;
    let current = gridline::service::admin::topics::export_csv(db).unwrap();
    assert!(current.contains(",true,11-15..03-15\n"), "{current}");
    let bad = current.replace("11-15..03-15", "11-15..02-30");
    let line = bad.lines().position(|l| l.contains("02-30")).unwrap() + 1;
    match gridline::service::admin::topics::import_csv(db, &bad) {
        Err(gridline::service::admin::topics::TopicError::Invalid(errors)) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].line, line);
            assert!(errors[0].message.contains("season"), "{errors:?}");
        }
        other => panic!("a bad season was taken: {other:?}"),
    }
    // Nothing changed.
    let r = app.get("/api/v1/topics").await;
    assert_eq!(season(&r.json, "0701"), "11-15..03-15");

    // A file of the ten columns from before seasons: it imports, and no topic is seasonal any more.
    let old: String = current
        .lines()
        .map(|l| format!("{}\n", &l[..l.rfind(',').unwrap()]))
        .collect();
    assert!(old.starts_with(
        "code,parent_code,name_zh,name_en,time_class,grid_class,department,merge_radius_m,merge_window_hours,merge_same_building\n"
    ));
    let n = gridline::service::admin::topics::import_csv(db, &old).unwrap();
    assert!(n > 50, "{n}");
    let r = app.get("/api/v1/topics").await;
    assert_eq!(season(&r.json, "0701"), json!(null));
    assert!(
        r.json["topics"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["season"].is_null() && t["active"] == true)
    );
    // Without seasonal topics there is nothing to propose, whatever the day.
    gridline::service::admin::policy::set(db, forewarning::DISTRICTS_POLICY, "110105").unwrap();
    common::set_clock(&app, at("2026-10-10", 4));
    assert_eq!(
        forewarning::propose(db, &app.state.index, &app.state.clock).unwrap(),
        0
    );
}
