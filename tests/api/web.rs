//! The browser app: its files served from the binary (types, ETag and 304, gzip, a policy that allows only this
//! server, the app's own files under 300 KB compressed), the routes it relies on (`callers=masked`, the reader's
//! places in `/auth/me`), and end to end in headless Chromium against the real server on a real database: the
//! command centre's case desk and the caller's status page, with no request leaving gridline.

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

    /// Debian's Chromium, if installed.
    pub fn chromium() -> Option<PathBuf> {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
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
        assert!(
            std::env::var_os("CI").is_none(),
            "CI: chromium is missing (.ci/run installs it)"
        );
        eprintln!(
            "SKIPPED: the web app's browser tests need Debian's chromium (apt-get install chromium)"
        );
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
    tab.navigate_to(&format!("{origin}/"))
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    tab.wait_for_element("input[name=username]")
        .unwrap()
        .click()
        .unwrap();
    tab.type_str("desk").unwrap();
    tab.wait_for_element("input[name=password]")
        .unwrap()
        .click()
        .unwrap();
    tab.type_str("desk password 1")
        .unwrap()
        .press_key("Enter")
        .unwrap();
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
