//! The browser app: its files served from the binary (types, ETag and 304, gzip, a policy that allows only this
//! server, the app's own files under 300 KB compressed), the routes it relies on (`callers=masked`, the reader's
//! places in `/auth/me`), and end to end in headless Chromium against the real server on a real database: the
//! command centre's case desk, the caller's status page, the leaders' map (tiles, choropleth pixels, legend by
//! topic, a street's numbers and chain, the keyboard), a street's reader seeing nothing of another street, and the
//! seasonal forewarning card (a district leader accepts a cluster, a community secretary may not), with no request
//! leaving gridline.

use crate::common;
use crate::common::live::LiveServer;

use common::{Req, TestApp};
use gridline::domain::access::Role;
use serde_json::{Value, json};

#[actix_web::test]
async fn the_app_is_served_from_the_binary_with_types_etags_and_a_same_origin_policy() {
    let app = TestApp::beijing();
    let r = app.get("/").await;
    assert_eq!(r.status, 200);
    let h = |r: &common::Resp, name: &str| {
        r.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(h(&r, "content-type"), "text/html; charset=utf-8");
    assert_eq!(h(&r, "cache-control"), "no-cache");
    let csp = h(&r, "content-security-policy");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("connect-src 'self'"), "{csp}");
    let etag = h(&r, "etag");
    assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");

    let again = app
        .send(Req {
            uri: "/",
            headers: &[("If-None-Match", &etag)],
            ..Req::default()
        })
        .await;
    assert_eq!(again.status, 304);

    let js = app
        .send(Req {
            uri: "/web/app.js",
            headers: &[("Accept-Encoding", "gzip, deflate")],
            ..Req::default()
        })
        .await;
    assert_eq!(js.status, 200);
    assert_eq!(h(&js, "content-type"), "text/javascript; charset=utf-8");
    assert_eq!(h(&js, "content-encoding"), "gzip");

    let lib = app
        .get("/web/vendor/maplibre-gl/maplibre-gl-worker.mjs")
        .await;
    assert_eq!(lib.status, 200);
    assert_eq!(h(&lib, "content-type"), "text/javascript; charset=utf-8");
    assert_eq!(h(&lib, "cache-control"), "public, max-age=86400");
    assert_eq!(
        app.get("/web/vendor/maplibre-gl/LICENSE.txt").await.status,
        200
    );

    let missing = app.get("/web/nothing.js").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json["code"], "file_not_found");
    assert_eq!(
        app.get("/web/vendor/maplibre-gl/../app.js").await.status,
        404
    );
}

#[test]
fn the_apps_own_files_stay_under_300_kb_compressed() {
    let files = gridline::http::webapp::own_files();
    let gz: usize = files.iter().map(|(_, _, gz)| gz).sum();
    assert!(files.iter().any(|(p, _, _)| *p == "app.js"), "{files:?}");
    assert!(gz < 300 * 1024, "{gz} bytes gzipped: {files:?}");
}

#[actix_web::test]
async fn me_names_the_readers_places_and_a_masked_case_read_writes_no_audit_entry() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let filed = common::file_ticket(&app, "BJ20261206-8101", "0101", "13812345678", "垃圾").await;
    let case = filed.json["case"]["id"].as_str().unwrap().to_owned();
    let street = app.token(Role::StreetHandler, &[&cell[..9]]);

    let me = app.get_as(&street, "/api/v1/auth/me").await;
    assert_eq!(me.status, 200, "{}", me.json);
    assert_eq!(me.json["places"], json!([&cell[..9]]));

    let masked = app
        .get_as(&street, &format!("/api/v1/cases/{case}?callers=masked"))
        .await;
    assert_eq!(masked.status, 200, "{}", masked.json);
    assert_eq!(masked.json["tickets"][0]["caller"]["masked"], true);
    assert!(!masked.json.to_string().contains("13812345678"));
    let admin = app.token(Role::Admin, &[]);
    let log = app.get_as(&admin, "/api/v1/admin/pii-reads").await;
    assert_eq!(log.json["reads"], json!([]), "a masked read is not a read");

    let shown = app
        .get_as(
            &street,
            &format!("/api/v1/cases/{case}?callers=shown&reason=%E5%9B%9E%E8%AE%BF"),
        )
        .await;
    assert_eq!(shown.json["tickets"][0]["caller"]["phone"], "13812345678");
    let log = app.get_as(&admin, "/api/v1/admin/pii-reads").await;
    assert_eq!(log.json["reads"][0]["reason"], "回访", "{}", log.json);

    let bad = app
        .get_as(&street, &format!("/api/v1/cases/{case}?callers=all"))
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json["code"], "invalid_query_value");
    let other = if cell.starts_with("110108") {
        "110105"
    } else {
        "110108"
    };
    let elsewhere = app.token(Role::Dispatcher, &[other]);
    let r = app
        .get_as(&elsewhere, &format!("/api/v1/cases/{case}?callers=masked"))
        .await;
    assert_eq!(r.status, 404, "another district's reader does not see it");
}

// ------------------------------------------------------------------------------------------ in Chromium

mod browser {
    use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
    use headless_chrome::{Browser, LaunchOptions, Tab};
    use serde_json::Value;
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// Debian's Chromium. When it is not installed: in CI (`CI` set) the test fails, elsewhere it says it skips
    /// and the caller returns.
    pub fn chromium() -> Option<PathBuf> {
        let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists());
        if found.is_none() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI: chromium is missing (.ci/run installs it)"
            );
            eprintln!(
                "SKIPPED: the web app's browser tests need Debian's chromium (apt-get install chromium)"
            );
        }
        found
    }

    /// One headless Chromium for the run: WebGL through SwiftShader, and every host but the test server's
    /// unresolvable, so nothing could be fetched from outside even if the page asked.
    pub fn launch(path: PathBuf) -> Browser {
        let args = [
            "--enable-unsafe-swiftshader",
            "--use-angle=swiftshader",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--lang=zh-CN",
            "--hide-scrollbars",
        ];
        let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        let options = LaunchOptions::default_builder()
            .path(Some(path))
            .headless(true)
            .sandbox(false)
            .window_size(Some((1366, 768)))
            .idle_browser_timeout(Duration::from_secs(120))
            .args(args)
            .build()
            .expect("launch options");
        Browser::new(options).expect("start chromium")
    }

    /// Evaluates `expr` in the page (awaiting a promise) and answers its JSON value.
    pub fn js(tab: &Tab, expr: &str) -> Value {
        tab.evaluate(expr, true)
            .unwrap_or_else(|e| panic!("{expr}: {e}"))
            .value
            .unwrap_or(Value::Null)
    }

    /// Waits until `expr` is true in the page (10 s at most, else the page's text is shown).
    pub fn until(tab: &Tab, what: &str, expr: &str) {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(15) {
            if js(tab, expr) == Value::Bool(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "waited in vain for {what} ({expr}); the page says: {}",
            js(tab, "document.body.innerText")
        );
    }

    /// Saves a PNG of the viewport under target/screenshots (or `GRIDLINE_SCREENSHOTS`).
    pub fn screenshot(tab: &Tab, name: &str) {
        let dir = std::env::var_os("GRIDLINE_SCREENSHOTS").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots"),
            PathBuf::from,
        );
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let png = tab
            .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
            .expect("screenshot");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Sets the viewport (CSS pixels) the page lays itself out in.
    pub fn viewport(tab: &Tab, width: u32, height: u32, mobile: bool) {
        use headless_chrome::protocol::cdp::Emulation::SetDeviceMetricsOverride;
        tab.call_method(SetDeviceMetricsOverride {
            width,
            height,
            device_scale_factor: 1.0,
            mobile,
            scale: None,
            screen_width: None,
            screen_height: None,
            position_x: None,
            position_y: None,
            dont_set_visible_size: None,
            screen_orientation: None,
            viewport: None,
            display_feature: None,
            device_posture: None,
        })
        .expect("viewport");
    }

    /// A new tab that records the URL of every request the page (and its workers) sends.
    pub fn tab(browser: &Browser) -> (Arc<Tab>, Arc<std::sync::Mutex<Vec<String>>>) {
        use headless_chrome::protocol::cdp::types::Event;
        let tab = browser.new_tab().expect("tab");
        tab.set_default_timeout(Duration::from_secs(15));
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = seen.clone();
        tab.call_method(headless_chrome::protocol::cdp::Network::Enable {
            max_total_buffer_size: None,
            max_resource_buffer_size: None,
            max_post_data_size: None,
            report_direct_socket_traffic: None,
            enable_durable_messages: None,
        })
        .expect("network events");
        tab.add_event_listener(Arc::new(move |e: &Event| {
            if let Event::NetworkRequestWillBeSent(r) = e {
                sink.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(r.params.request.url.clone());
            }
        }))
        .expect("listener");
        (tab, seen)
    }

    /// Panics when the page asked for anything but `origin` (its own data: and blob: URLs aside), by the browser's
    /// own request log and by the page's resource timing (which also sees what its workers fetched).
    pub fn only_gridline(tab: &Tab, seen: &std::sync::Mutex<Vec<String>>, origin: &str) {
        let mut urls = seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let timing = js(
            tab,
            "JSON.stringify(performance.getEntriesByType('resource').map(e => e.name))",
        );
        let timing: Vec<String> =
            serde_json::from_str(timing.as_str().unwrap_or("[]")).unwrap_or_default();
        urls.extend(timing);
        assert!(!urls.is_empty(), "requests were recorded");
        let foreign: Vec<&String> = urls
            .iter()
            .filter(|u| {
                !(u.starts_with(&format!("{origin}/"))
                    || u.starts_with("data:")
                    || u.starts_with("blob:"))
            })
            .collect();
        assert!(foreign.is_empty(), "requests outside gridline: {foreign:?}");
    }
}

/// Files the scene: a hotline ticket and a grid member's patrol report with two photos (one taken far from the
/// report's point, so doubtful) joined in one case at the test spot; a dispatcher of the spot's district.
async fn scene(app: &TestApp) -> (String, String) {
    let (lon, lat, cell) = common::spot();
    let filed = common::file_ticket(
        app,
        "BJ20261206-8201",
        "0101",
        "13812345678",
        "楼道堆满杂物，没人清理",
    )
    .await;
    let case = filed.json["case"]["id"].as_str().unwrap().to_owned();
    common::file_ticket(app, "BJ20261206-8202", "0302", "13911112222", "路灯不亮").await;
    common::file_ticket(app, "BJ20261206-8203", "0701", "13933334444", "暖气不热").await;
    let member = app.token(Role::GridMember, &[&cell]);
    let now = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y:%m:%d %H:%M:%S")
        .to_string();
    let near = crate::photos::with_exif(&common::jpeg(320, 240, 7), 1, lon, lat, &now);
    let far = crate::photos::with_exif(&common::jpeg(320, 240, 8), 1, lon + 0.2, lat, &now);
    let mut shas = Vec::new();
    for bytes in [&near, &far] {
        let r = crate::photos::upload(app, &member, bytes, "image/jpeg").await;
        assert_eq!(r.json["complete"], true, "{}", r.json);
        shas.push(gridline::media::PhotoHash::of(bytes).to_string());
    }
    let r = app
        .post_as(
            &member,
            "/api/v1/reports",
            json!({
                "topic": "0101",
                "text": "3号楼楼道杂物堆积，已拍照",
                "location": {"lon": lon, "lat": lat},
                "photos": shas
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(
        r.json["case"]["id"],
        case.as_str(),
        "the report joined the ticket's case"
    );
    gridline::service::auth::add_user(
        &app.state.db,
        "desk",
        "调度员王芳",
        Role::Dispatcher,
        "desk password 1",
        app.state.clock.now(),
    )
    .unwrap();
    gridline::service::auth::set_scopes(&app.state.db, "desk", &[cell[..6].to_owned()], &[])
        .unwrap();
    (case, cell)
}

#[actix_web::test]
async fn in_chromium_the_command_centre_dispatches_from_the_desk_and_a_caller_sees_only_the_status()
{
    let Some(chromium) = browser::chromium() else {
        return;
    };
    let app = TestApp::beijing();
    let (case, _) = scene(&app).await;
    let server = LiveServer::start(app.state.clone(), 2);
    let origin = server.url();
    // The browser is driven synchronously; the server answers from its own threads meanwhile.
    let case2 = case.clone();
    let origin2 = origin.clone();
    actix_web::rt::task::spawn_blocking(move || run_in_chromium(chromium, &origin2, &case2))
        .await
        .unwrap();
    // What the page did is on the server: the case was dispatched by the desk's dispatcher.
    let admin = app.token(Role::Admin, &[]);
    let d = app.get_as(&admin, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(d.json["case"]["status"], "dispatched", "{}", d.json);
    assert_eq!(d.json["transitions"][0]["actor_name"], "调度员王芳");
    drop(server);
}

fn run_in_chromium(chromium: std::path::PathBuf, origin: &str, case: &str) {
    use browser::{js, screenshot, until};
    let browser = browser::launch(chromium);

    // The command centre: sign in, open the case from the queue.
    let (tab, seen) = browser::tab(&browser);
    sign_in(&tab, origin, "desk");
    until(
        &tab,
        "the queue",
        "document.querySelectorAll('a.case-link').length === 3",
    );
    screenshot(&tab, "desk");
    // Sorting by topic puts 0101 first, then 0302, then 0701 (descending: the other way round).
    let topics = "[...document.querySelectorAll('table.cases tbody tr td:nth-child(2)')].map(td => td.textContent.slice(0, 4)).join(',')";
    js(
        &tab,
        "(() => { [...document.querySelectorAll('th button')].find(b => b.textContent.startsWith('类别')).click(); return true; })()",
    );
    assert_eq!(js(&tab, topics), Value::String("0701,0302,0101".into()));
    js(
        &tab,
        "(() => { [...document.querySelectorAll('th button')].find(b => b.textContent.startsWith('类别')).click(); return true; })()",
    );
    assert_eq!(js(&tab, topics), Value::String("0101,0302,0701".into()));
    // The topic filter narrows the queue to the case.
    js(
        &tab,
        "(() => { const f = document.querySelector('form.filters'); f.topic.value = '0101'; f.requestSubmit(); return true; })()",
    );
    until(
        &tab,
        "the filtered queue",
        "location.hash.includes('topic=0101') && document.querySelectorAll('a.case-link').length === 1",
    );
    let listed = js(&tab, "document.querySelector('a.case-link').textContent");
    assert_eq!(listed, Value::String(case.to_owned()));
    tab.wait_for_element("a.case-link")
        .unwrap()
        .click()
        .unwrap();
    until(&tab, "the case", "!!document.querySelector('#case-status')");
    let text = js(&tab, "document.body.innerText");
    let text = text.as_str().unwrap();
    assert!(text.contains("已受理"), "{text}");
    assert!(text.contains("立案"), "the timeline: {text}");
    assert!(text.contains("BJ20261206-8201"), "{text}");
    assert!(
        !text.contains("13812345678"),
        "a dispatcher sees the caller masked: {text}"
    );
    until(
        &tab,
        "the photos",
        "document.querySelectorAll('#h-photos ~ .photos img').length === 2 && \
         [...document.querySelectorAll('#h-photos ~ .photos img')].every(i => i.complete && i.naturalWidth > 0)",
    );
    until(
        &tab,
        "the doubtful flag",
        "document.querySelectorAll('#h-photos ~ .photos figure.doubtful').length === 1",
    );
    assert!(text.contains("拍摄位置与上报位置相距过远"), "{text}");
    screenshot(&tab, "case");
    js(
        &tab,
        "(() => { document.querySelector('#h-photos').scrollIntoView(); return true; })()",
    );
    screenshot(&tab, "case-photos");
    js(&tab, "(() => { window.scrollTo(0, 0); return true; })()");

    // Dispatch by the rules, from the step the page offers.
    tab.wait_for_element("button[data-action=dispatch]")
        .unwrap()
        .click()
        .unwrap();
    tab.wait_for_element("form.step[data-action=dispatch] button[type=submit]")
        .unwrap()
        .click()
        .unwrap();
    until(
        &tab,
        "the dispatch",
        "document.querySelector('#case-status')?.textContent === '已派单'",
    );
    let text = js(&tab, "document.body.innerText");
    assert!(text.as_str().unwrap().contains("已完成：派单"), "{text}");

    // An illegal step: closing a case that was only dispatched. The refusal is shown in words.
    js(
        &tab,
        "(() => { const s = document.querySelector('select[name=other]'); s.value = 'close'; \
         s.dispatchEvent(new Event('change')); return true; })()",
    );
    tab.wait_for_element("form.step[data-action=close] button[type=submit]")
        .unwrap()
        .click()
        .unwrap();
    until(&tab, "the refusal", "!!document.querySelector('p.error')");
    let refusal = js(&tab, "document.querySelector('p.error').textContent");
    let refusal = refusal.as_str().unwrap();
    assert!(
        refusal.contains("不能执行此操作") && refusal.contains("可执行："),
        "{refusal}"
    );
    screenshot(&tab, "case-refused");
    browser::only_gridline(&tab, &seen, origin);

    // The map skeleton draws the reader's district on MapLibre from gridline alone.
    tab.evaluate("location.hash = '#/map'", false).unwrap();
    until(
        &tab,
        "the map",
        "document.querySelector('#map')?.dataset.ready === 'true'",
    );
    screenshot(&tab, "map");
    browser::only_gridline(&tab, &seen, origin);

    // The caller's page, on a phone-sized screen, signed out.
    let (tab, seen) = browser::tab(&browser);
    browser::viewport(&tab, 390, 844, true);
    tab.navigate_to(&format!("{origin}/#/status"))
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    let ask = |digits: &str| {
        js(
            &tab,
            &format!(
                "(() => {{ const f = document.querySelector('form'); f.ticket_no.value = 'BJ20261206-8201'; \
                 f.phone_last4.value = '{digits}'; f.requestSubmit(); return true; }})()"
            ),
        );
    };
    tab.wait_for_element("input[name=ticket_no]").unwrap();
    ask("0000");
    until(&tab, "the refusal", "!!document.querySelector('p.error')");
    let refusal = js(&tab, "document.querySelector('p.error').textContent");
    assert!(
        refusal.as_str().unwrap().contains("未找到该工单"),
        "{refusal}"
    );
    ask("5678");
    until(
        &tab,
        "the status",
        "!!document.querySelector('.status-note')",
    );
    let text = js(&tab, "document.body.innerText");
    let text = text.as_str().unwrap();
    assert!(text.contains("BJ20261206-8201"), "{text}");
    let note = js(&tab, "document.querySelector('.status-note').textContent");
    assert!(!note.as_str().unwrap().is_empty(), "{text}");
    for private in ["13812345678", "5678", "王小明", "楼道堆满杂物"] {
        assert!(
            !text.contains(private),
            "{private} on the caller's page: {text}"
        );
    }
    let html = js(&tab, "document.documentElement.outerHTML");
    assert!(!html.as_str().unwrap().contains("13812345678"));
    let fits = js(
        &tab,
        "document.documentElement.scrollWidth <= window.innerWidth",
    );
    assert_eq!(fits, Value::Bool(true), "the caller's page fits a phone");
    screenshot(&tab, "status-phone");
    browser::only_gridline(&tab, &seen, origin);
}

// ------------------------------------------------------------------------------------------ the leaders' map

/// A week of simulated Beijing (ending yesterday, Beijing time) with its workflow played, a patrol report filed
/// today at the test spot, and three accounts: a leader of the spot's district, a leader of its street and the
/// secretary of its community. Answers the spot's cell.
async fn city_week(app: &TestApp) -> String {
    use gridline::service::intake::Geo;
    use gridline::service::simulate::{self, traffic::Plan};
    let now = chrono::Utc::now().naive_utc();
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let geo = Geo {
        index: &app.state.index,
        addresses: &app.state.addresses,
        chain: &app.state.chain,
    };
    let plan = Plan {
        start: today - chrono::Duration::days(7),
        days: 7,
        seed: 21,
        scale: 0.02,
        hotspots: 0,
    };
    simulate::run(&app.state.db, &geo, plan, now, |_| ()).unwrap();
    simulate::work::play(&app.state.db, 21, now, |_| ()).unwrap();
    let (lon, lat, cell) = common::spot();
    let member = app.token(Role::GridMember, &[&cell]);
    let r = app
        .post_as(
            &member,
            "/api/v1/reports",
            json!({"topic": "0101", "text": "今日巡查：垃圾桶满溢", "location": {"lon": lon, "lat": lat}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    for (name, display, role, place) in [
        ("lead", "区领导李强", Role::Leader, &cell[..6]),
        ("jiedao", "街道书记赵敏", Role::Leader, &cell[..9]),
        (
            "shequ",
            "社区书记孙丽",
            Role::CommunitySecretary,
            &cell[..12],
        ),
    ] {
        let password = format!("{name} password 1");
        gridline::service::auth::add_user(
            &app.state.db,
            name,
            display,
            role,
            &password,
            app.state.clock.now(),
        )
        .unwrap();
        gridline::service::auth::set_scopes(&app.state.db, name, &[place.to_owned()], &[]).unwrap();
    }
    cell
}

#[actix_web::test]
async fn in_chromium_a_district_leader_reads_the_map_and_a_street_reader_sees_only_their_street() {
    let Some(chromium) = browser::chromium() else {
        return;
    };
    let app = TestApp::beijing();
    let cell = city_week(&app).await;
    let server = LiveServer::start(app.state.clone(), 2);
    let origin = server.url();
    let lead = app.token(Role::Leader, &[&cell[..6]]);
    let admin = app.token(Role::Admin, &[]);
    let month = (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m")
        .to_string();
    let ranked = app
        .get_as(
            &lead,
            &format!("/api/v1/assessment?month={month}&level=street"),
        )
        .await;
    assert_eq!(ranked.status, 200, "{}", ranked.json);
    let ranked = ranked.json["entries"].as_array().unwrap().len();
    // The first-level topic with the most tickets in the district: switching to it changes the legend.
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let window = format!("from={}&to={today}", today - chrono::Duration::days(29));
    let topics = app.get_as(&lead, "/api/v1/topics").await;
    let mut busiest = (0, String::new());
    for t in topics.json["topics"].as_array().unwrap() {
        let code = t["code"].as_str().unwrap();
        if code.len() != 2 {
            continue;
        }
        let r = app
            .get_as(
                &lead,
                &format!("/api/v1/heatmap?level=district&{window}&topic={code}"),
            )
            .await;
        let n = r.json["features"][0]["properties"]["tickets"]
            .as_i64()
            .unwrap_or(0);
        if n > busiest.0 {
            busiest = (n, code.to_owned());
        }
    }
    assert!(
        busiest.0 > 0,
        "the simulated week has tickets in the district"
    );
    let topic = busiest.1;

    // The browser is driven synchronously; what it read is checked against the API afterwards.
    let origin2 = origin.clone();
    let community = cell[..12].to_owned();
    let seen = actix_web::rt::task::spawn_blocking(move || {
        run_maps_in_chromium(chromium, &origin2, &community, ranked, &topic)
    })
    .await
    .unwrap();

    // The street the leader clicked: the page showed the heat map's numbers for it under the chosen filters.
    let r = app
        .get_as(&lead, &format!("/api/v1/heatmap?{}", seen.query))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let clicked = r.json["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == seen.clicked.as_str())
        .unwrap_or_else(|| panic!("{} is not a street of the district", seen.clicked));
    let tickets = clicked["properties"]["tickets"].as_i64().unwrap();
    assert_eq!(
        seen.clicked_tickets,
        tickets.to_string(),
        "the panel shows the street's tickets: {}",
        seen.clicked_text
    );
    // Every case the street reader was shown lies in their street.
    for case in &seen.street_cases {
        let d = app.get_as(&admin, &format!("/api/v1/cases/{case}")).await;
        let place = d.json["case"]["place"]["code"].as_str().unwrap_or_default();
        assert!(place.starts_with(&cell[..9]), "{case} is in {place}");
    }
    drop(server);
}

/// What the page showed, for checks against the API.
struct Seen {
    /// The heat map query the leader's page ran last (street level, topic chosen).
    query: String,
    /// The street clicked on the map, and the side panel's text then.
    clicked: String,
    clicked_text: String,
    clicked_tickets: String,
    /// The cases linked from the street reader's overview.
    street_cases: Vec<String>,
}

fn sign_in(tab: &headless_chrome::Tab, origin: &str, user: &str) {
    sign_in_at(tab, &format!("{origin}/"), user);
}

/// Opens `url` (a view of the app) and signs in there: the app shows that view once signed in.
fn sign_in_at(tab: &headless_chrome::Tab, url: &str, user: &str) {
    tab.navigate_to(url)
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    // Text goes in as one insertion per field (Input.insertText, as an input method writes it): typed key by key,
    // each key costs the CDP client a round trip of up to 100 ms.
    tab.wait_for_element("input[name=username]")
        .unwrap()
        .click()
        .unwrap();
    tab.send_character(user).unwrap();
    tab.wait_for_element("input[name=password]")
        .unwrap()
        .click()
        .unwrap();
    tab.send_character(&format!("{user} password 1"))
        .unwrap()
        .press_key("Enter")
        .unwrap();
}

/// Pixels of the map (CSS pixels of a 1:1 screenshot) whose colour is one of the choropleth's classes as drawn
/// (the fill at 0.78 over the background), per class.
fn class_pixels(png: &[u8], rect: &Value) -> Vec<usize> {
    const PALETTE: [[f64; 3]; 6] = [
        [254., 229., 217.],
        [252., 187., 161.],
        [252., 146., 114.],
        [251., 106., 74.],
        [222., 45., 38.],
        [165., 15., 21.],
    ];
    const BACKGROUND: [f64; 3] = [238., 241., 244.];
    let img = image::load_from_memory(png).expect("png").to_rgb8();
    let n = |k: &str| rect[k].as_f64().unwrap_or(0.0).max(0.0) as u32;
    let (x0, y0) = (n("left"), n("top"));
    let (x1, y1) = (
        (x0 + n("width")).min(img.width()),
        (y0 + n("height")).min(img.height()),
    );
    let drawn: Vec<[f64; 3]> = PALETTE
        .iter()
        .map(|c| std::array::from_fn(|i| 0.78 * c[i] + 0.22 * BACKGROUND[i]))
        .collect();
    let mut counts = vec![0; PALETTE.len()];
    for y in y0..y1 {
        for x in x0..x1 {
            let p = img.get_pixel(x, y).0;
            if let Some(k) = drawn
                .iter()
                .position(|c| (0..3).all(|i| (c[i] - f64::from(p[i])).abs() <= 6.0))
            {
                counts[k] += 1;
            }
        }
    }
    counts
}

/// Place codes (6 to 18 digits) in the page's text and in its elements' data-code attributes.
const CODES_ON_PAGE: &str = "JSON.stringify([...new Set([...(document.body.innerText.match(/\\b11\\d{4,16}\\b/g) || []), \
     ...[...document.querySelectorAll('[data-code]')].map(e => e.dataset.code)])])";

/// The codes of every feature the map draws now, whatever its layer.
const CODES_DRAWN: &str = "JSON.stringify([...new Set(window.gridlineMap.queryRenderedFeatures().map(f => String(f.properties.code)))])";

/// The JSON an expression answers as a string (objects do not cross the protocol by value).
fn json_of(tab: &headless_chrome::Tab, expr: &str) -> Value {
    let v = browser::js(tab, expr);
    serde_json::from_str(v.as_str().unwrap_or("null")).unwrap_or(Value::Null)
}

fn strings(v: &Value) -> Vec<String> {
    serde_json::from_str(v.as_str().unwrap_or("[]")).unwrap_or_default()
}

fn run_maps_in_chromium(
    chromium: std::path::PathBuf,
    origin: &str,
    community: &str,
    ranked: usize,
    topic: &str,
) -> Seen {
    let street = &community[..9];
    use browser::{js, screenshot, until};
    use headless_chrome::browser::tab::point::Point;
    use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
    let browser = browser::launch(chromium);

    // A district leader lands on the map, drawn from gridline's tiles and coloured from the heat map.
    let (tab, seen) = browser::tab(&browser);
    sign_in(&tab, origin, "lead");
    until(
        &tab,
        "the map",
        "document.querySelector('#map')?.dataset.ready === 'true'",
    );
    js(
        &tab,
        "(() => { const m = window.gridlineMap; if (document.querySelector('#map').dataset.level !== 'street') m.jumpTo({ zoom: 10.6 }); return true; })()",
    );
    until(
        &tab,
        "the streets' choropleth",
        "document.querySelector('#map').dataset.level === 'street' && document.querySelector('#map').dataset.painted === 'true' \
         && document.querySelectorAll('.legend li').length > 1 && window.gridlineMap.areTilesLoaded()",
    );
    until(
        &tab,
        "the ranking",
        "!!document.querySelector('table.rank, .ranking .empty, .ranking .error')",
    );
    // The hot spot card: a leader may turn clusters into proactive tasks, so the page offers the button.
    until(
        &tab,
        "the hot spot card",
        "document.querySelector('.hotspots')?.dataset.ready === 'true'",
    );
    assert_eq!(
        js(&tab, "!!document.querySelector('.hotspots #task-clusters')"),
        Value::Bool(true),
        "a leader has the button that makes proactive tasks"
    );
    let card = js(&tab, "document.querySelector('.hotspots').innerText");
    assert!(
        !card.as_str().unwrap_or_default().contains("null"),
        "the hot spot card shows no stray null: {card}"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    // MapLibre's workers fetch the tiles: what it asked for is kept by the page (its request hook).
    let asked = strings(&js(&tab, "JSON.stringify(window.gridlineMap.requested)"));
    assert!(
        asked
            .iter()
            .any(|u| u.starts_with(&format!("{origin}/tiles/streets/")) && u.ends_with(".mvt")),
        "the street tiles were requested: {asked:?}"
    );
    let foreign: Vec<&String> = asked
        .iter()
        .filter(|u| !u.starts_with(&format!("{origin}/")))
        .collect();
    assert!(
        foreign.is_empty(),
        "MapLibre asked outside gridline: {foreign:?}"
    );
    let rect = json_of(
        &tab,
        "(() => { const r = document.querySelector('#map canvas').getBoundingClientRect(); return JSON.stringify({ left: r.left, top: r.top, width: r.width, height: r.height }); })()",
    );
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .expect("screenshot");
    screenshot(&tab, "leaders-map");
    let classes = class_pixels(&png, &rect);
    assert!(
        classes.iter().filter(|n| **n > 200).count() >= 2,
        "the canvas shows at least two classes of the choropleth: {classes:?}"
    );
    let rows = js(
        &tab,
        "document.querySelectorAll('table.rank tbody tr').length",
    );
    assert_eq!(
        rows.as_u64(),
        Some(ranked.min(30) as u64),
        "the ranking lists the month's streets"
    );

    // Switching the topic changes the legend's numbers.
    let legend = "document.querySelector('.legend').innerText";
    let before = js(&tab, legend);
    let chosen = js(
        &tab,
        &format!(
            "(() => {{ const s = document.querySelector('select[name=topic]'); s.value = '{topic}'; s.dispatchEvent(new Event('change', {{ bubbles: true }})); return s.value === '{topic}'; }})()"
        ),
    );
    assert_eq!(chosen, Value::Bool(true), "topic {topic} is offered");
    until(
        &tab,
        "the legend for the topic",
        &format!(
            "document.querySelector('.legend').innerText !== {before} && !document.querySelector('.map-msg .loading')"
        ),
    );
    let after = js(&tab, legend);
    assert_ne!(before, after, "the legend's numbers follow the topic");

    // Clicking a street shows its numbers, its trend and its chain.
    let hit = json_of(
        &tab,
        "(() => { const m = window.gridlineMap, c = m.getCanvas().getBoundingClientRect();
           for (let y = c.height * 0.3; y < c.height * 0.8; y += 12) for (let x = c.width * 0.3; x < c.width * 0.8; x += 12) {
             const f = m.queryRenderedFeatures([x, y], { layers: ['street-fill'] })[0];
             if (f) return JSON.stringify({ x: c.left + x, y: c.top + y, code: String(f.properties.code) });
           } return 'null'; })()",
    );
    let clicked = hit["code"]
        .as_str()
        .expect("a street under the map")
        .to_owned();
    tab.click_point(Point {
        x: hit["x"].as_f64().unwrap(),
        y: hit["y"].as_f64().unwrap(),
    })
    .unwrap();
    until(
        &tab,
        "the street's panel",
        &format!(
            "document.querySelector('.place-info')?.dataset.code === '{clicked}' && !!document.querySelector('.place-info dl.chain dt') \
             && !!document.querySelector('.place-info svg.spark')"
        ),
    );
    let clicked_text = js(&tab, "document.querySelector('.place-info').innerText");
    let clicked_text = clicked_text.as_str().unwrap().to_owned();
    assert!(clicked_text.contains(&clicked), "{clicked_text}");
    let clicked_tickets = js(
        &tab,
        "document.querySelector('.place-info dd[data-k=tickets] .n').textContent",
    );
    let clicked_tickets = clicked_tickets.as_str().unwrap().to_owned();
    let query = js(
        &tab,
        "(() => { const f = document.querySelector('form.filters'); return `level=street&from=${f.from.value}&to=${f.to.value}&topic=${f.topic.value}`; })()",
    );
    screenshot(&tab, "leaders-street");

    // The keyboard alone reaches a place in the list (Tab) and opens it (Enter).
    js(
        &tab,
        "(() => { document.activeElement?.blur(); window.scrollTo(0, 0); return true; })()",
    );
    let mut reached = false;
    for _ in 0..80 {
        tab.press_key("Tab").unwrap();
        if js(&tab, "document.activeElement.matches('.top-list button')") == Value::Bool(true) {
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab reaches the list of places");
    let code = js(&tab, "document.activeElement.dataset.code");
    tab.press_key("Enter").unwrap();
    until(
        &tab,
        "the place opened by Enter",
        &format!(
            "document.querySelector('.place-info')?.dataset.code === {code} && !!document.querySelector('.place-info dl.chain dt')"
        ),
    );
    browser::only_gridline(&tab, &seen, origin);

    // A street's reader: nothing from another street, on the map or in the page.
    let (tab, seen) = browser::tab(&browser);
    sign_in(&tab, origin, "jiedao");
    until(
        &tab,
        "the street's map",
        "document.querySelector('#map')?.dataset.painted === 'true' && window.gridlineMap.areTilesLoaded()",
    );
    let only_street = |what: &str, codes: Vec<String>| {
        assert!(!codes.is_empty(), "{what}: some place shown");
        let foreign: Vec<&String> = codes
            .iter()
            .filter(|c| !(c.starts_with(street) || street.starts_with(c.as_str())))
            .collect();
        assert!(
            foreign.is_empty(),
            "{what} from outside {street}: {foreign:?}"
        );
    };
    for zoom in [None, Some(14.5)] {
        if let Some(z) = zoom {
            js(
                &tab,
                &format!(
                    "(() => {{ window.gridlineMap.jumpTo({{ zoom: {z} }}); return true; }})()"
                ),
            );
            until(
                &tab,
                "the cells",
                "document.querySelector('#map').dataset.level === 'cell' && window.gridlineMap.areTilesLoaded()",
            );
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        only_street("features drawn", strings(&js(&tab, CODES_DRAWN)));
        only_street("places on the page", strings(&js(&tab, CODES_ON_PAGE)));
    }
    tab.evaluate("location.hash = '#/my'", false).unwrap();
    until(
        &tab,
        "the overview",
        "!!document.querySelector('.stats') && document.querySelector('#map')?.dataset.painted === 'true' && window.gridlineMap.areTilesLoaded()",
    );
    only_street("features drawn", strings(&js(&tab, CODES_DRAWN)));
    only_street("places on the page", strings(&js(&tab, CODES_ON_PAGE)));
    let street_cases = strings(&js(
        &tab,
        "JSON.stringify([...document.querySelectorAll('a.case-link')].map(a => a.textContent))",
    ));
    let text = js(&tab, "document.body.innerText");
    assert!(text.as_str().unwrap().contains("今日未巡查网格"), "{text}");
    screenshot(&tab, "my");
    browser::only_gridline(&tab, &seen, origin);

    // The community secretary on a phone: their cells, today's coverage, the chains.
    let (tab, seen) = browser::tab(&browser);
    browser::viewport(&tab, 390, 844, true);
    sign_in(&tab, origin, "shequ");
    until(
        &tab,
        "the secretary's overview",
        "!!document.querySelector('.stats') && document.querySelector('#map')?.dataset.painted === 'true' && window.gridlineMap.areTilesLoaded()",
    );
    let patrolled = js(
        &tab,
        "[...document.querySelectorAll('details.cell .tag.green')].length",
    );
    assert!(
        patrolled.as_u64().unwrap_or(0) >= 1,
        "the spot's cell was patrolled today"
    );
    let fits = js(
        &tab,
        "document.documentElement.scrollWidth <= window.innerWidth",
    );
    assert_eq!(fits, Value::Bool(true), "the secretary's page fits a phone");
    // Signed in on the same browser right after the street's leader: still only the community's own features.
    let foreign: Vec<String> = strings(&js(&tab, CODES_DRAWN))
        .into_iter()
        .filter(|c| !(c.starts_with(community) || community.starts_with(c.as_str())))
        .collect();
    assert!(foreign.is_empty(), "drawn outside {community}: {foreign:?}");
    screenshot(&tab, "my-phone");
    browser::only_gridline(&tab, &seen, origin);
    // The secretary may read the leaders' map, but not task: no button there.
    js(&tab, "location.hash = '#/map'");
    until(
        &tab,
        "the secretary's hot spot card",
        "document.querySelector('.hotspots')?.dataset.ready === 'true'",
    );
    assert_eq!(
        js(&tab, "!!document.querySelector('#task-clusters')"),
        Value::Bool(false),
        "a community secretary has no button that makes proactive tasks"
    );

    Seen {
        query: query.as_str().unwrap().to_owned(),
        clicked,
        clicked_text,
        clicked_tickets,
        street_cases,
    }
}

// ------------------------------------------------------------------------------------------ seasonal forewarning

#[actix_web::test]
async fn in_chromium_a_district_leader_accepts_a_seasonal_forewarning_and_a_secretary_may_not() {
    use crate::forewarning::{HEATING, at, cluster_holding, districts, last_winter};
    use gridline::service::hotspots::forewarning;
    let Some(chromium) = browser::chromium() else {
        return;
    };
    // Last winter's heating calls, and 10 October 2026: the heating season (15 November) is within six weeks.
    let app = TestApp::beijing();
    let (district, other, _) = districts(&app);
    common::set_clock(&app, at("2026-10-10", 4));
    last_winter(&app, &other).await;
    let (db, index, clock) = (&app.state.db, &app.state.index, &app.state.clock);
    gridline::service::admin::policy::set(db, forewarning::DISTRICTS_POLICY, &district).unwrap();
    assert_eq!(forewarning::propose(db, index, clock).unwrap(), 1);
    let (_, _, cell) = common::spot();
    let leader = app.token(Role::Leader, &[&district]);
    let r = app.get_as(&leader, "/api/v1/forewarnings").await;
    assert_eq!(r.json["total"], 1, "{}", r.json);
    let p = r.json["forewarnings"][0].clone();
    let hot = cluster_holding(&p, &cell).clone();
    assert_eq!(hot["tasked"], false);
    // The secretary's account holds the whole district, so the proposal is shown to them: only their role withholds
    // the accept button.
    // A leader of another district sees none.
    for (name, display, role, place) in [
        ("lead", "区领导李强", Role::Leader, &district),
        ("shequ", "社区书记孙丽", Role::CommunitySecretary, &district),
        ("waiqu", "外区领导周洋", Role::Leader, &other),
    ] {
        let password = format!("{name} password 1");
        gridline::service::auth::add_user(db, name, display, role, &password, clock.now()).unwrap();
        gridline::service::auth::set_scopes(db, name, std::slice::from_ref(place), &[]).unwrap();
    }

    let origin = LiveServer::start(app.state.clone(), 2);
    let url = origin.url();
    let (scan, rank, clusters) = (
        p["scan_id"].as_str().unwrap().to_owned(),
        hot["rank"].as_i64().unwrap(),
        p["clusters"].as_array().unwrap().len(),
    );
    let centre = (
        hot["centre"]["lon"].as_f64().unwrap(),
        hot["centre"]["lat"].as_f64().unwrap(),
    );
    let counts = (
        hot["observed"].as_i64().unwrap(),
        hot["counted"].as_i64().unwrap(),
    );
    assert!(
        counts.1 < counts.0,
        "three calls a day at the spot count as two: {hot}"
    );
    let shown = actix_web::rt::task::spawn_blocking(move || {
        run_forewarning_in_chromium(chromium, &url, &scan, rank, clusters, centre, counts)
    })
    .await
    .unwrap();

    // What the page did is on the server: the cluster was tasked as the case the page showed, a proactive case of
    // the topic in the district.
    let r = app
        .get_as(&app.sign_in_again(&leader), "/api/v1/forewarnings")
        .await;
    let after = r.json["forewarnings"][0]["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rank"] == rank)
        .unwrap()
        .clone();
    assert_eq!(after["tasked"], true, "{after}");
    assert_eq!(after["case_id"], shown.as_str(), "{after}");
    let admin = app.token(Role::Admin, &[]);
    let d = app.get_as(&admin, &format!("/api/v1/cases/{shown}")).await;
    assert_eq!(d.status, 200, "{}", d.json);
    assert_eq!(d.json["case"]["source"], "proactive");
    assert_eq!(d.json["case"]["topic"], HEATING);
    let place = d.json["case"]["place"]["code"].as_str().unwrap_or_default();
    assert!(place.starts_with(&district), "{place}");
    let tasked = r.json["forewarnings"][0]["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["tasked"] == true)
        .count();
    assert_eq!(tasked, 1, "only the chosen cluster was tasked");
    drop(origin);
}

/// The leader sees cluster `rank` of the proposal (scan `scan`, `clusters` clusters) with its calls and counted calls
/// (`counts`) and accepts it after flying the map to its centre; the secretary sees the proposal and its case but nothing to accept with; another district's leader sees
/// the card empty. Answers the case the page showed.
fn run_forewarning_in_chromium(
    chromium: std::path::PathBuf,
    origin: &str,
    scan: &str,
    rank: i64,
    clusters: usize,
    (lon, lat): (f64, f64),
    counts: (i64, i64),
) -> String {
    use browser::{js, screenshot, until};
    let browser = browser::launch(chromium);
    let card = format!(".forewarnings article[data-scan='{scan}']");
    let item = format!("{card} li[data-rank='{rank}']");

    let (tab, seen) = browser::tab(&browser);
    sign_in(&tab, origin, "lead");
    until(
        &tab,
        "the forewarning card",
        &format!(
            "document.querySelector('.forewarnings')?.dataset.ready === 'true' && !!document.querySelector(\"{card}\") \
             && document.querySelector('#map')?.dataset.ready === 'true'"
        ),
    );
    let text = js(
        &tab,
        &format!("document.querySelector(\"{card}\").innerText"),
    );
    let text = text.as_str().unwrap();
    for words in [
        "0701 供暖不热",
        "11月15日至次年3月15日",
        "2026-11-15",
        "2025-11-15 ~ 2026-03-15",
        "已完成",
        "未转任务",
    ] {
        assert!(text.contains(words), "{words} not in the card: {text}");
    }
    let listed = js(
        &tab,
        &format!("document.querySelectorAll(\"{card} li[data-rank]\").length"),
    );
    assert_eq!(listed.as_u64(), Some(clusters as u64), "{text}");
    let calls = js(
        &tab,
        &format!("document.querySelector(\"{item}\").innerText"),
    );
    assert!(
        calls
            .as_str()
            .unwrap()
            .contains(&format!("来电 {} · 计入 {} / 预期 ", counts.0, counts.1)),
        "the cluster's calls and counted calls: {calls}"
    );
    let disabled = js(
        &tab,
        &format!("document.querySelector(\"{card} button.accept\").disabled"),
    );
    assert_eq!(disabled, Value::Bool(true), "nothing chosen yet: {text}");

    // The cluster's centre flies the map there.
    tab.wait_for_element(&format!("{item} button.centre"))
        .unwrap()
        .click()
        .unwrap();
    until(
        &tab,
        "the map at the cluster's centre",
        &format!(
            "(() => {{ const m = window.gridlineMap, c = m.getCenter(); return !m.isMoving() && Math.abs(c.lng - {lon}) < 1e-4 \
             && Math.abs(c.lat - {lat}) < 1e-4 && m.getZoom() > 14; }})()"
        ),
    );

    // Choose it and accept: the list is read again and shows the cluster tasked, with its case.
    tab.wait_for_element(&format!("{item} input[type=checkbox]"))
        .unwrap()
        .click()
        .unwrap();
    tab.wait_for_element(&format!("{card} button.accept:not([disabled])"))
        .unwrap()
        .click()
        .unwrap();
    until(
        &tab,
        "the accepted cluster",
        &format!(
            "document.querySelector('.forewarnings')?.dataset.ready === 'true' && !!document.querySelector(\"{item} a.case-link\")"
        ),
    );
    let result = js(
        &tab,
        "document.querySelector('.forewarnings .task-result').innerText",
    );
    assert!(
        result.as_str().unwrap().contains("已生成 1 件主动治理案件"),
        "{result}"
    );
    let case = js(
        &tab,
        &format!("document.querySelector(\"{item} a.case-link\").textContent"),
    );
    let case = case.as_str().unwrap().to_owned();
    let tasked = js(
        &tab,
        &format!("document.querySelector(\"{item}\").innerText"),
    );
    assert!(tasked.as_str().unwrap().contains("已转任务"), "{tasked}");
    assert_eq!(
        js(&tab, &format!("!!document.querySelector(\"{item} input\")")),
        Value::Bool(false),
        "a tasked cluster is not offered again"
    );
    js(
        &tab,
        "(() => { document.querySelector('.forewarnings').scrollIntoView(); return true; })()",
    );
    screenshot(&tab, "leaders-forewarning");
    browser::only_gridline(&tab, &seen, origin);

    // A community secretary reads the same proposal, with the case made, but may not accept.
    let (tab, seen) = browser::tab(&browser);
    sign_in_at(&tab, &format!("{origin}/#/map"), "shequ");
    until(
        &tab,
        "the secretary's forewarning card",
        &format!(
            "document.querySelector('.forewarnings')?.dataset.ready === 'true' && !!document.querySelector(\"{item} a.case-link\")"
        ),
    );
    let offered = js(
        &tab,
        "document.querySelectorAll('.forewarnings input[type=checkbox], .forewarnings button.accept').length",
    );
    assert_eq!(
        offered.as_u64(),
        Some(0),
        "a community secretary has nothing to accept with"
    );
    let listed = js(
        &tab,
        &format!("document.querySelectorAll(\"{card} li[data-rank]\").length"),
    );
    assert_eq!(listed.as_u64(), Some(clusters as u64));
    browser::only_gridline(&tab, &seen, origin);

    // Another district's leader: no proposal in the card, said in words, in Chinese and after the switch in English.
    let (tab, seen) = browser::tab(&browser);
    sign_in_at(&tab, &format!("{origin}/#/map"), "waiqu");
    let empty = |words: &str| {
        until(
            &tab,
            "the empty forewarning card",
            &format!(
                "document.querySelector('.forewarnings')?.dataset.ready === 'true' && \
                 document.querySelector('.forewarnings .empty')?.textContent === '{words}'"
            ),
        );
        let articles = js(
            &tab,
            "document.querySelectorAll('.forewarnings article').length",
        );
        assert_eq!(
            articles.as_u64(),
            Some(0),
            "another district's proposal shown"
        );
    };
    empty("辖区内暂无季节性预警。");
    tab.wait_for_element("#lang").unwrap().click().unwrap();
    empty("No seasonal forewarning for your places.");
    browser::only_gridline(&tab, &seen, origin);
    case
}
