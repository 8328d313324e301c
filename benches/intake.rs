//! Load test of `POST /api/v1/tickets` over loopback against a real server on SQLite (2 workers), as issue 4 asks:
//! sustained throughput with many tickets in flight, and latency percentiles at a fixed 500 tickets per second.
//!
//! Run: `cargo bench --bench intake` (prints its figures; not criterion, because the point is an open-loop rate).
//! `GRIDLINE_BENCH_TICKETS` sets the number of tickets of the throughput run (default 20,000).
//!
//! The heat-map counts are kept as the server keeps them (a thread catching up every half second); the two
//! throughput figures include catching up with the last tickets, so that they are tickets filed and counted.

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark stops at the first failure: unwrap says where"
)]

use futures_util::StreamExt;
use gridline::domain::access::Role;
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};

const TOPICS: [&str; 10] = [
    "0101", "0102", "0201", "0203", "0303", "0601", "0701", "0801", "0901", "1003",
];

fn tickets(prefix: &str, n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            // Urban Beijing, where most tickets come from.
            let lon = rng.random_range(116.20..116.55);
            let lat = rng.random_range(39.80..40.05);
            let body = serde_json::json!({
                "ticket_no": format!("{prefix}-{i}"),
                "channel": "phone",
                "request_type": "complaint",
                "topic": TOPICS[rng.random_range(0..TOPICS.len())],
                "text": "小区门口垃圾堆放多日无人清理，气味很大",
                "caller": { "name": "王小明", "phone": format!("138{:08}", rng.random_range(0..100_000_000u32)) },
                "address": "朝阳区望京街道",
                "location": { "lon": lon, "lat": lat }
            });
            serde_json::to_vec(&body).unwrap()
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("bench.db").to_string_lossy().into_owned();
    let state = gridline::http::state::prepare(&url, 8).unwrap();
    let key = gridline::service::auth::create_api_key(
        &state.db,
        "hotline",
        Role::HotlineOperator,
        state.clock.now(),
    )
    .unwrap()
    .key;
    let clock = state.clock.clone();
    let _counts = gridline::service::analytics::counts::keep_up(
        state.db.clone(),
        gridline::service::analytics::counts::CATCH_UP_EVERY,
        move || clock.now(),
    )
    .unwrap();
    let db = state.db.clone();
    let catch_up = move || {
        gridline::service::analytics::counts::catch_up(&db, chrono::Utc::now().naive_utc()).unwrap()
    };

    // 0. The service alone, one thread, no HTTP: what one ticket costs the database path.
    {
        let actor =
            gridline::service::auth::authenticate(&state.db, &key, state.clock.now()).unwrap();
        let inputs: Vec<gridline::service::intake::TicketInput> = tickets("svc", 5_000, 9)
            .iter()
            .map(|b| serde_json::from_slice(b).unwrap())
            .collect();
        let started = Instant::now();
        for t in &inputs {
            let p = gridline::service::intake::prepare_ticket(
                &state.geo(),
                t,
                &actor,
                state.clock.now(),
            );
            let mut r = gridline::service::intake::file_tickets(
                &state.db,
                chrono::Utc::now().naive_utc(),
                vec![p],
            )
            .unwrap();
            r.pop().unwrap().unwrap();
        }
        let left = catch_up();
        let secs = started.elapsed().as_secs_f64();
        println!(
            "service::intake::file_tickets, one ticket per transaction, one thread, no HTTP: {} tickets in {secs:.1} s = {:.0} tickets/s (counted; {left} cases left to count at the end)",
            inputs.len(),
            inputs.len() as f64 / secs
        );
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let (server, addr) =
                gridline::app::server(state, "127.0.0.1:0".parse().unwrap(), 2).unwrap();
            tx.send(addr).unwrap();
            server.await.unwrap();
        })
    });
    let addr = rx.recv().unwrap();
    let target = format!("http://{addr}/api/v1/tickets");
    let n: usize = std::env::var("GRIDLINE_BENCH_TICKETS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);

    actix_web::rt::System::new().block_on(async move {
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(60))
            .connector(awc::Connector::new().limit(512))
            .finish();
        let post = |body: Vec<u8>| {
            let req = client
                .post(&target)
                .insert_header(("content-type", "application/json"))
                .insert_header(("authorization", format!("Bearer {key}")));
            async move {
                let started = Instant::now();
                let mut res = req.send_body(body).await.unwrap();
                let status = res.status();
                let _ = res.body().await;
                assert!(status.is_success(), "{status}");
                started.elapsed()
            }
        };

        // Warm up: connections, caches.
        let warm = tickets("warm", 500, 1);
        futures_util::stream::iter(warm.into_iter().map(&post))
            .buffer_unordered(32)
            .count()
            .await;

        // 1. Latency at a fixed rate of 500 tickets per second for 20 s (open loop: sends do not wait for answers).
        let rate = 500.0;
        let paced = tickets("paced", 10_000, 3);
        let start = Instant::now();
        let mut handles = Vec::with_capacity(paced.len());
        for (i, body) in paced.into_iter().enumerate() {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            actix_web::rt::time::sleep_until(due.into()).await;
            handles.push(actix_web::rt::spawn(post(body)));
        }
        let mut lat = Vec::with_capacity(handles.len());
        for h in handles {
            lat.push(h.await.unwrap());
        }
        lat.sort();
        println!(
            "POST /api/v1/tickets at {rate:.0}/s for {:.0} s: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            start.elapsed().as_secs_f64(),
            percentile(&lat, 0.50).as_secs_f64() * 1e3,
            percentile(&lat, 0.95).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3,
            lat.last().unwrap().as_secs_f64() * 1e3,
        );
        // 2. Throughput: 64 tickets in flight.
        let load = tickets("load", n, 2);
        let started = Instant::now();
        let done = futures_util::stream::iter(load.into_iter().map(&post))
            .buffer_unordered(64)
            .count()
            .await;
        let left = catch_up();
        let secs = started.elapsed().as_secs_f64();
        println!(
            "POST /api/v1/tickets, SQLite, 2 workers, 64 in flight: {done} tickets in {secs:.1} s = {:.0} tickets/s (counted; {left} cases left to count at the end)",
            done as f64 / secs
        );

    });
}
