//! The web app's first view on a month of full-volume Beijing, in headless Chromium over loopback (release build,
//! SQLite):
//! 1. `gridline simulate` files the 30 days up to yesterday (Beijing) of all Beijing's traffic (scale 1), unless
//!    `GRIDLINE_BENCH_DB=PATH` already holds cases;
//! 2. the server starts with its counting thread as `gridline serve` does (it loads the counts into memory in the
//!    background; the time it took is printed); the tile layers are not built ahead, so the first run builds them;
//! 3. for a city leader and a district leader (朝阳, the busiest district), `RUNS` times (default 5) each in a new
//!    Chromium (an empty browser cache: every script, style, tile and answer fetched): the page is opened, then the
//!    sign-in form is filled and sent, and the time is taken in the page from sending it to the first moment the
//!    leader's map is usable: the choropleth painted from the heat map, its legend drawn and every tile in view
//!    loaded (MapLibre's first `idle` after painting, `performance.mark("gridline-choropleth")` in web/leaders.js).
//!    The page's own load (navigation start to its load event) is printed beside it.
//!
//! Run: `cargo bench --bench first_view` (needs Debian's chromium; says so and stops when it is missing).

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark stops at the first failure: unwrap says where"
)]

use chrono::Duration;
use gridline::domain::access::Role;
use gridline::service::simulate::{self, traffic::Plan};
use headless_chrome::{Browser, LaunchOptions};
use std::net::SocketAddr;
use std::time::Instant;

const CHROMIUM: &str = "/usr/bin/chromium";

fn launch() -> Browser {
    let args = [
        "--enable-unsafe-swiftshader",
        "--use-angle=swiftshader",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--lang=zh-CN",
    ];
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    let options = LaunchOptions::default_builder()
        .path(Some(CHROMIUM.into()))
        .headless(true)
        .sandbox(false)
        .window_size(Some((1366, 768)))
        .idle_browser_timeout(std::time::Duration::from_secs(120))
        .args(args)
        .build()
        .unwrap();
    Browser::new(options).unwrap()
}

/// Opens the app in a new browser, signs in as `user` and answers (sign-in sent → map usable, page load), in ms.
fn first_view(origin: &str, user: &str) -> (f64, f64) {
    let browser = launch();
    let tab = browser.new_tab().unwrap();
    tab.set_default_timeout(std::time::Duration::from_secs(60));
    tab.navigate_to(&format!("{origin}/"))
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    tab.wait_for_element("input[name=username]").unwrap();
    let script = format!(
        r#"new Promise((resolve, reject) => {{
            const form = document.querySelector("input[name=username]").form;
            form.username.value = "{user}";
            form.password.value = "{user} password 1";
            const t0 = performance.now();
            form.requestSubmit();
            const poll = () => {{
                const m = performance.getEntriesByName("gridline-choropleth")[0];
                if (m) {{
                    const nav = performance.getEntriesByType("navigation")[0];
                    return resolve(JSON.stringify([m.startTime - t0, nav.loadEventEnd]));
                }}
                if (performance.now() - t0 > 60000) return reject(new Error(document.body.innerText.slice(0, 400)));
                setTimeout(poll, 5);
            }};
            poll();
        }})"#
    );
    let value = tab.evaluate(&script, true).unwrap().value.unwrap();
    let [map, page]: [f64; 2] = serde_json::from_str(value.as_str().unwrap()).unwrap();
    (map, page)
}

fn main() {
    if !std::path::Path::new(CHROMIUM).exists() {
        eprintln!(
            "the first-view bench needs Debian's chromium (apt-get install chromium fonts-wqy-microhei)"
        );
        return;
    }
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let path = std::env::var("GRIDLINE_BENCH_DB").unwrap_or_else(|_| {
        dir.path()
            .join("first-view.db")
            .to_string_lossy()
            .into_owned()
    });
    let state = gridline::http::state::prepare(&path, 8).unwrap();
    let now = state.clock.now();
    let today = gridline::analytics::counts::local_day(now);
    if !gridline::store::cases::any_case(&mut state.db.reader().unwrap()).unwrap() {
        let plan = Plan {
            start: today - Duration::days(30),
            days: 30,
            seed: 1,
            scale: 1.0,
            hotspots: 6,
        };
        let started = Instant::now();
        let (sum, _) = simulate::run(&state.db, &state.geo(), plan, now, |_| {}).unwrap();
        eprintln!(
            "simulated 30 days up to {}: {} tickets, {} patrol reports in {:.1} s",
            today - Duration::days(1),
            sum.tickets,
            sum.reports,
            started.elapsed().as_secs_f64()
        );
    }
    for (user, display, place) in [
        ("shi", "市领导", gridline::geo::place::CITY_CODE),
        ("chaoyang", "朝阳区领导", "110105"),
    ] {
        let password = format!("{user} password 1");
        if gridline::service::auth::add_user(&state.db, user, display, Role::Leader, &password, now)
            .is_ok()
        {
            gridline::service::auth::set_scopes(&state.db, user, &[place.to_owned()], &[]).unwrap();
        }
    }

    // As `gridline serve`: the counting thread catches up and loads the counts into memory.
    let started = Instant::now();
    let clock = state.clock.clone();
    let _counts = gridline::service::analytics::counts::keep_up(
        state.db.clone(),
        gridline::service::analytics::counts::CATCH_UP_EVERY,
        move || clock.now(),
    )
    .unwrap();
    while state
        .db
        .counts_in_memory()
        .is_some_and(|held| held.read().unwrap().is_none())
    {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    eprintln!(
        "the counts were in memory {:.0} ms after the start",
        started.elapsed().as_secs_f64() * 1e3
    );

    let (tx, rx) = std::sync::mpsc::channel();
    let data = state.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let bind: SocketAddr = "127.0.0.1:0".parse().unwrap();
            let (server, addr) = gridline::app::server(data, bind, 2).unwrap();
            tx.send(addr).unwrap();
            let _ = server.await;
        });
    });
    let origin = format!("http://{}", rx.recv().unwrap());
    for user in ["shi", "chaoyang"] {
        let mut maps = Vec::new();
        for run in 0..runs {
            let (map, page) = first_view(&origin, user);
            eprintln!(
                "{user} run {}: sign-in sent → map usable {map:.0} ms; page loaded in {page:.0} ms",
                run + 1
            );
            maps.push(map);
        }
        maps.sort_by(f64::total_cmp);
        eprintln!(
            "{user}: sign-in sent → map usable, median {:.0} ms, slowest {:.0} ms over {runs} runs",
            maps[maps.len() / 2],
            maps[maps.len() - 1]
        );
    }
}
