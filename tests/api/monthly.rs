//! The monthly topic (每月一题): the ranking's figures equal counts made directly from the raw rows (on either
//! database) for the city and for a district, the month before and the same month a year before; each reader reads
//! only their own scope (another district is 404); bad parameters answer stable codes; and `gridline report monthly`
//! writes one offline HTML file and real PNG maps.

use crate::common;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use common::TestApp;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use gridline::db::DbConnection;
use gridline::domain::access::Role;
use gridline::service::intake::Geo;
use gridline::service::simulate::{self, traffic::Plan};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Command;

const MONTH: &str = "2026-11";

#[derive(QueryableByName)]
struct KeyCount {
    #[diesel(sql_type = Text)]
    k: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    m: i64,
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The UTC bounds of a Beijing month `YYYY-MM`, as SQL literals.
fn month_bounds(month: &str) -> (String, String) {
    let first = day(&format!("{month}-01"));
    let next = first.checked_add_months(chrono::Months::new(1)).unwrap();
    let f = |d: NaiveDate| {
        (d.and_hms_opt(0, 0, 0).unwrap() - Duration::hours(8))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    (f(first), f(next))
}

fn load(c: &mut DbConnection, sql: &str) -> BTreeMap<String, (i64, i64)> {
    diesel::sql_query(sql)
        .load::<KeyCount>(c)
        .unwrap()
        .into_iter()
        .map(|r| (r.k, (r.n, r.m)))
        .collect()
}

/// Per topic, inside `prefix` (`""`: the city), from the raw rows: (tickets received in the month, cases opened in
/// it), and the cases opened in it that hold calls.
fn raw_topics(
    c: &mut DbConnection,
    month: &str,
    prefix: &str,
) -> (BTreeMap<String, (i64, i64)>, BTreeMap<String, i64>) {
    let (s, e) = month_bounds(month);
    let tickets = load(
        c,
        &format!(
            "SELECT t.topic_code AS k, COUNT(*) AS n, CAST(0 AS BIGINT) AS m FROM tickets t \
             JOIN cases c ON c.id = t.case_id WHERE c.status <> 'merged' AND t.received_at >= '{s}' \
             AND t.received_at < '{e}' AND COALESCE(t.place_code, t.district_code) LIKE '{prefix}%' \
             GROUP BY t.topic_code"
        ),
    );
    let cases = load(
        c,
        &format!(
            "SELECT topic_code AS k, COUNT(*) AS n, \
             CAST(SUM(CASE WHEN source IN ('hotline', 'mixed') THEN 1 ELSE 0 END) AS BIGINT) AS m FROM cases \
             WHERE status <> 'merged' AND opened_at >= '{s}' AND opened_at < '{e}' \
             AND COALESCE(place_code, district_code) LIKE '{prefix}%' GROUP BY topic_code"
        ),
    );
    let mut out: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (k, (n, _)) in &tickets {
        out.entry(k.clone()).or_default().0 = *n;
    }
    let mut first = BTreeMap::new();
    for (k, (n, m)) in cases {
        out.entry(k.clone()).or_default().1 = n;
        first.insert(k, m);
    }
    (out, first)
}

/// Per street, the tickets of `topic` received in the month, from the raw rows.
fn raw_streets(c: &mut DbConnection, month: &str, topic: &str) -> BTreeMap<String, (i64, i64)> {
    let (s, e) = month_bounds(month);
    load(
        c,
        &format!(
            "SELECT substr(t.place_code, 1, 9) AS k, COUNT(*) AS n, CAST(0 AS BIGINT) AS m FROM tickets t \
             JOIN cases c ON c.id = t.case_id WHERE c.status <> 'merged' AND t.received_at >= '{s}' \
             AND t.received_at < '{e}' AND t.topic_code = '{topic}' AND length(t.place_code) >= 9 \
             GROUP BY substr(t.place_code, 1, 9)"
        ),
    )
}

/// Per case topic, from the callbacks themselves: tickets whose latest callback reached the caller, and twice the
/// resolved (`yes` 2, `partly` 1), for the cases first dispatched in the month.
fn raw_resolution(c: &mut DbConnection, month: &str) -> BTreeMap<String, (i64, i64)> {
    let (s, e) = month_bounds(month);
    load(
        c,
        &format!(
            "SELECT ca.topic_code AS k, COUNT(*) AS n, CAST(SUM(CASE WHEN cb.resolved = 'yes' THEN 2 \
             WHEN cb.resolved = 'partly' THEN 1 ELSE 0 END) AS BIGINT) AS m FROM ticket_callbacks cb \
             JOIN case_work w ON w.case_id = cb.case_id JOIN cases ca ON ca.id = cb.case_id \
             WHERE cb.contacted AND w.dispatched_at >= '{s}' AND w.dispatched_at < '{e}' \
             AND NOT EXISTS (SELECT 1 FROM ticket_callbacks l WHERE l.ticket_id = cb.ticket_id AND l.round > cb.round) \
             GROUP BY ca.topic_code"
        ),
    )
}

/// Simulated traffic (handled by the simulated workflow) in the month, the month before and a year before.
fn simulated(app: &TestApp, now: NaiveDateTime) {
    let geo = Geo {
        index: &app.state.index,
        addresses: &app.state.addresses,
        chain: &app.state.chain,
    };
    for (start, days, seed) in [
        ("2026-11-09", 3, 31),
        ("2026-10-12", 2, 32),
        ("2025-11-10", 1, 33),
    ] {
        let plan = Plan {
            start: day(start),
            days,
            seed,
            scale: 0.02,
            hotspots: 0,
        };
        simulate::run(&app.state.db, &geo, plan, now, |_| ()).unwrap();
    }
    simulate::work::play(&app.state.db, 31, now, |_| ()).unwrap();
}

fn topics_of(r: &Value) -> BTreeMap<String, &Value> {
    r["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["code"].as_str().unwrap().to_owned(), t))
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// Checks a ranking against the raw rows inside `prefix`.
fn check_against_rows(c: &mut DbConnection, r: &Value, prefix: &str) {
    let (now, first) = raw_topics(c, MONTH, prefix);
    let (before, _) = raw_topics(c, "2026-10", prefix);
    let (year_ago, _) = raw_topics(c, "2025-11", prefix);
    let topics = topics_of(r);
    let listed: BTreeMap<String, (i64, i64)> = topics
        .iter()
        .map(|(k, t)| {
            (
                k.clone(),
                (t["tickets"].as_i64().unwrap(), t["cases"].as_i64().unwrap()),
            )
        })
        .collect();
    assert_eq!(listed, now, "tickets and cases per topic");
    let total: i64 = now.values().map(|v| v.0).sum();
    assert!(total > 100, "too little traffic: {total}");
    assert_eq!(r["tickets"].as_i64().unwrap(), total);
    assert!(before.values().map(|v| v.0).sum::<i64>() > 0 && !year_ago.is_empty());
    for (code, t) in &topics {
        let tickets = now[code].0;
        let prev = before.get(code).map_or(0, |v| v.0);
        let last = year_ago.get(code).map_or(0, |v| v.0);
        assert_eq!(t["previous_tickets"].as_i64().unwrap(), prev, "{code}");
        assert_eq!(t["last_year_tickets"].as_i64().unwrap(), last, "{code}");
        match t["change_previous_pct"].as_f64() {
            Some(x) => assert!(
                close(x, (tickets - prev) as f64 * 100.0 / prev as f64),
                "{code}"
            ),
            None => assert_eq!(prev, 0, "{code}"),
        }
        if tickets > 0 {
            let repeat =
                (tickets - first.get(code).copied().unwrap_or(0)).max(0) as f64 / tickets as f64;
            assert!(close(t["repeat_rate"].as_f64().unwrap(), repeat), "{code}");
        } else {
            assert!(t["repeat_rate"].is_null());
        }
    }
    // Ranked by calls.
    let ranked: Vec<i64> = r["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tickets"].as_i64().unwrap())
        .collect();
    assert!(ranked.windows(2).all(|w| w[0] >= w[1]), "{ranked:?}");
    // Where the first topic concentrates: its busiest streets, from the rows.
    let top = &r["topics"][0];
    let streets = raw_streets(c, MONTH, top["code"].as_str().unwrap());
    let streets: BTreeMap<String, i64> = streets
        .into_iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(k, v)| (k, v.0))
        .collect();
    let sum: i64 = streets.values().sum();
    let busiest = streets.values().max().copied().unwrap();
    let p0 = &top["places"][0];
    assert_eq!(p0["tickets"].as_i64().unwrap(), busiest);
    assert_eq!(streets[p0["code"].as_str().unwrap()], busiest);
    assert!(close(
        p0["share"].as_f64().unwrap(),
        busiest as f64 / sum as f64
    ));
    // The assessment's resolution rate per topic, from the callbacks themselves.
    if prefix.is_empty() {
        let raw = raw_resolution(c, MONTH);
        let mut checked = 0;
        for (code, (reached, twice)) in &raw {
            let Some(t) = topics.get(code) else { continue };
            assert!(
                close(
                    t["resolution_rate"].as_f64().unwrap(),
                    *twice as f64 / (2 * reached) as f64
                ),
                "{code}"
            );
            checked += 1;
        }
        assert!(checked >= 3, "{checked} topics with callbacks");
    }
    // The candidates follow from the listed figures: tickets × growth × difficulty.
    let fallback = r["resolution_rate"].as_f64().unwrap_or(0.0);
    let mut expected: Vec<(String, f64)> = topics
        .iter()
        .filter(|(k, t)| !k.starts_with("99") && t["tickets"].as_i64().unwrap() > 0)
        .map(|(k, t)| {
            let n = t["tickets"].as_i64().unwrap() as f64;
            let g = ((n + 1.0) / (t["previous_tickets"].as_i64().unwrap() as f64 + 1.0))
                .clamp(0.5, 2.0);
            let d = (1.0 - t["resolution_rate"].as_f64().unwrap_or(fallback)).clamp(0.05, 1.0);
            (k.clone(), n * g * d)
        })
        .collect();
    expected.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let cands = r["candidates"].as_array().unwrap();
    assert_eq!(cands.len(), expected.len().min(5));
    for (c, (code, score)) in cands.iter().zip(&expected) {
        assert_eq!(c["code"].as_str().unwrap(), code);
        assert!(close(c["score"].as_f64().unwrap(), *score), "{code}");
    }
}

#[actix_web::test]
async fn the_ranking_equals_counts_made_from_the_raw_rows_for_the_city_and_a_district() {
    let app = TestApp::beijing();
    let now = chrono::Utc::now().naive_utc();
    simulated(&app, now);
    let admin = app.token(Role::Admin, &[]);
    let r = app
        .get_as(
            &admin,
            &format!("/api/v1/topics/ranking?month={MONTH}&level=city"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["level"], "city");
    assert_eq!(r.json["place"]["code"], "110000");
    assert_eq!(r.json["previous_month"], "2026-10");
    assert_eq!(r.json["last_year_month"], "2025-11");
    let mut c = app.state.db.reader().unwrap();
    check_against_rows(&mut c, &r.json, "");

    // The district with the most calls, read by its own leader (the default level for them).
    let (all, _) = raw_topics(&mut c, MONTH, "");
    assert!(!all.is_empty());
    let district = r.json["topics"][0]["places"][0]["code"].as_str().unwrap()[..6].to_owned();
    let leader = app.token(Role::Leader, &[&district]);
    let d = app
        .get_as(&leader, &format!("/api/v1/topics/ranking?month={MONTH}"))
        .await;
    assert_eq!(d.status, 200, "{}", d.json);
    assert_eq!(d.json["level"], "district");
    assert_eq!(d.json["place"]["code"], district.as_str());
    check_against_rows(&mut c, &d.json, &district);
    // The admin asking for the same district reads the same figures.
    let a = app
        .get_as(
            &admin,
            &format!("/api/v1/topics/ranking?month={MONTH}&level=district&district={district}"),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(a.json["topics"], d.json["topics"]);
}

#[actix_web::test]
async fn each_reader_reads_their_own_scope_and_another_district_is_not_found() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let (street, district) = (&cell[..9], &cell[..6]);
    let other = common::other_district(&app.state.index, district);
    let leader = app.token(Role::Leader, &[district]);
    let q = format!("/api/v1/topics/ranking?month={MONTH}");
    let r = app.get_as(&leader, &q).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["place"]["code"], district);
    assert_eq!(r.json["topics"], json!([]));
    for uri in [
        format!("{q}&level=district&district={other}"),
        format!("{q}&level=city"),
        format!("{q}&level=district&district=110999"),
    ] {
        let r = app.get_as(&leader, &uri).await;
        assert_eq!(r.status, 404, "{uri}: {}", r.json);
        assert_eq!(r.json["code"], "place_not_found");
    }
    // A street's leader holds no whole district.
    let street_leader = app.token(Role::Leader, &[street]);
    let r = app.get_as(&street_leader, &q).await;
    assert_eq!(r.status, 404, "{}", r.json);
    // The city's readers read the city by default and any district by name.
    let city = app.token(Role::Leader, &["110000"]);
    let r = app.get_as(&city, &q).await;
    assert_eq!((r.status.as_u16(), &r.json["level"]), (200, &json!("city")));
    let r = app
        .get_as(&city, &format!("{q}&level=district&district={other}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    // Without a token: 401.
    assert_eq!(app.get(&q).await.status, 401);
}

#[actix_web::test]
async fn bad_parameters_answer_stable_codes() {
    let app = TestApp::beijing();
    let admin = app.token(Role::Admin, &[]);
    let next_year = chrono::Utc::now().naive_utc().date() + Duration::days(400);
    for (q, code) in [
        ("", "invalid_month"),
        ("month=2026-13", "invalid_month"),
        ("month=november", "invalid_month"),
        (
            &format!("month={}", next_year.format("%Y-%m")) as &str,
            "month_in_future",
        ),
        ("month=2026-11&level=street", "unknown_level"),
        ("month=2026-11&level=district", "district_required"),
        (
            "month=2026-11&level=district&district=1101",
            "invalid_district",
        ),
        (
            "month=2026-11&level=district&district=110000",
            "invalid_district",
        ),
        (
            "month=2026-11&level=city&district=110105",
            "invalid_district",
        ),
        ("month=2026-11&topic=07", "unknown_query_parameter"),
    ] {
        let r = app
            .get_as(&admin, &format!("/api/v1/topics/ranking?{q}"))
            .await;
        assert_eq!(r.status, 400, "{q}: {}", r.json);
        assert_eq!(r.json["code"], code, "{q}: {}", r.json);
    }
    let r = app
        .get_as(&admin, "/api/v1/topics/ranking?month=2026-11&level=street")
        .await;
    assert_eq!(r.json["accepted"], json!(["city", "district"]));
}

/// The distinct colours of an image.
fn colours(img: &image::RgbaImage) -> std::collections::HashSet<[u8; 4]> {
    img.pixels().map(|p| p.0).collect()
}

#[actix_web::test]
async fn the_monthly_report_is_one_offline_html_file_with_real_maps() {
    let app = TestApp::beijing();
    let now = chrono::Utc::now().naive_utc();
    let geo = Geo {
        index: &app.state.index,
        addresses: &app.state.addresses,
        chain: &app.state.chain,
    };
    let plan = Plan {
        start: day("2026-11-10"),
        days: 10,
        seed: 3,
        scale: 0.02,
        hotspots: 3,
    };
    simulate::run(&app.state.db, &geo, plan, now, |_| ()).unwrap();
    // A finished scan of the month for the hot spot map.
    let leader = app.token(Role::Leader, &["110000"]);
    let r = app
        .post_as(
            &leader,
            "/api/v1/scans",
            json!({"kind": "gistar", "from": "2026-11-10", "to": "2026-11-19", "layer": "cell"}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.json);
    let id = r.json["id"].as_str().unwrap().to_owned();
    let mut done = Value::Null;
    for _ in 0..600 {
        done = app
            .get_as(&leader, &format!("/api/v1/scans/{id}"))
            .await
            .json;
        if done["status"] == "finished" || done["status"] == "failed" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(done["status"], "finished", "{done}");
    assert!(!done["result"]["clusters"].as_array().unwrap().is_empty());

    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gridline"))
        .args([
            "report", "monthly", "--month", MONTH, "--width", "800", "--out",
        ])
        .arg(dir.path())
        .env_remove("GRIDLINE_BIND")
        .env("DATABASE_URL", &app.db.url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("[5/5]"), "progress: {stderr}");

    let city = app
        .get_as(&leader, &format!("/api/v1/topics/ranking?month={MONTH}"))
        .await;
    let top = city.json["topics"][0]["name"].as_str().unwrap().to_owned();
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.contains(&top), "the top topic {top} is in the report");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing fetched from anywhere"
    );
    assert_eq!(html.matches("src=\"data:image/png;base64,").count(), 2);
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains(&top) && md.contains("(choropleth.png)") && md.contains("(hotspots.png)"));

    for name in ["choropleth.png", "hotspots.png"] {
        let img = image::open(dir.path().join(name)).unwrap().to_rgba8();
        assert_eq!(img.width(), 800, "{name}");
        assert!(img.height() > 500, "{name}: {}", img.height());
        let n = colours(&img).len();
        assert!(n >= 5, "{name}: {n} colours");
    }
    // The choropleth uses the classes' colours where there are calls, and grey elsewhere.
    let choro = colours(
        &image::open(dir.path().join("choropleth.png"))
            .unwrap()
            .to_rgba8(),
    );
    let classes = gridline::service::analytics::report::PALETTE
        .iter()
        .filter(|c| choro.contains(&[c.0, c.1, c.2, 255]))
        .count();
    assert!(classes >= 4, "{classes} classes drawn");
    let hot = colours(
        &image::open(dir.path().join("hotspots.png"))
            .unwrap()
            .to_rgba8(),
    );
    let h = gridline::service::analytics::report::HOT_99;
    let h2 = gridline::service::analytics::report::HOT_95;
    assert!(hot.contains(&[h.0, h.1, h.2, 255]) || hot.contains(&[h2.0, h2.1, h2.2, 255]));

    // One district: its streets only, and another district is refused with its code.
    let district = &city.json["topics"][0]["places"][0]["code"]
        .as_str()
        .unwrap()[..6];
    let d = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gridline"))
        .args([
            "report",
            "monthly",
            "--month",
            MONTH,
            "--district",
            district,
            "--out",
        ])
        .arg(d.path())
        .env("DATABASE_URL", &app.db.url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(d.path().join("report.html").exists());
    let out = Command::new(env!("CARGO_BIN_EXE_gridline"))
        .args(["report", "monthly", "--month", "2999-01", "--out"])
        .arg(d.path())
        .env("DATABASE_URL", &app.db.url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("month_in_future"));
}
