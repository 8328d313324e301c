//! A thousand phones syncing at once over loopback (release build): each reference phone (`gridline::phone`, its
//! own SQLite file) records four patrol reports, an edit of each and a photo offline, then all sync at the same
//! moment against one server (actix, 2 workers, SQLite). Checks that no operation is lost or duplicated (one
//! decision per operation, in each device's order; one report per report id; every photo stored), then prints the
//! wall time and the rate.
//!
//! Run: `cargo bench --bench phones` (`GRIDLINE_BENCH_PHONES=200` for fewer phones).

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark stops at the first failure: unwrap says where"
)]

use diesel::prelude::*;
use gridline::db::schema::{photos, reports, sync_ops};
use gridline::domain::access::Role;
use gridline::phone::client::Transport;
use gridline::phone::{Phone, Retry, SyncOptions};
use gridline::service::auth;
use gridline::service::intake::{LocationInput, ReportInput};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const PER_MEMBER: usize = 20;

fn jpeg(seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    let mut data = Vec::with_capacity(32 * 24 * 3);
    for _ in 0..32 * 24 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data.extend_from_slice(&[(x % 200) as u8, (x >> 8) as u8 % 200, (x >> 16) as u8 % 200]);
    }
    gridline::media::ingest::encode_rgb(&data, 32, 24, 85).unwrap()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let phones: usize = std::env::var("GRIDLINE_BENCH_PHONES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("bench.db").to_string_lossy().into_owned();
    let state = gridline::http::state::prepare(&url, 8).unwrap();
    // Photos go next to the database file (`photos/`), as `serve` keeps them by default.
    let db = state.db.clone();
    let (lon, lat) = gridline::geo::grid::center(862, 566);
    let cell = state
        .index
        .cell_at(lon, lat)
        .map(|c| state.index.cell_code(c).to_owned())
        .unwrap();

    let (tx, rx) = std::sync::mpsc::channel();
    let st = state.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let bind: SocketAddr = "127.0.0.1:0".parse().unwrap();
            let (server, addr) = gridline::app::server(st, bind, 2).unwrap();
            tx.send(addr).unwrap();
            let _ = server.await;
        });
    });
    let base = format!("http://{}", rx.recv().unwrap());

    let members: Vec<String> = (0..phones.div_ceil(PER_MEMBER))
        .map(|m| {
            let name = format!("member{m}");
            auth::add_user(
                &db,
                &name,
                &name,
                Role::GridMember,
                "bench password 1",
                chrono::Utc::now().naive_utc(),
            )
            .unwrap();
            auth::set_scopes(&db, &name, std::slice::from_ref(&cell), &[]).unwrap();
            auth::login(
                &db,
                &name,
                "bench password 1",
                "bench",
                chrono::Utc::now().naive_utc(),
            )
            .unwrap()
            .token
        })
        .collect();
    let transport = |attempts| {
        Transport::new(&base, Duration::from_secs(120)).with_retry(Retry {
            attempts,
            backoff: Duration::from_millis(200),
        })
    };
    let setup = Instant::now();
    let mut ready = Vec::with_capacity(phones);
    for i in 0..phones {
        let path = dir.path().join(format!("phone{i}.sqlite"));
        let mut p = Phone::open(&path).unwrap();
        p.register(
            &transport(3),
            &members[i / PER_MEMBER],
            &format!("phone {i}"),
        )
        .unwrap();
        let sha = p.add_photo(&jpeg(i as u32 + 1), "image/jpeg").unwrap();
        for n in 0..4 {
            let op = p
                .create_report(ReportInput {
                    id: None,
                    reported_at: None,
                    topic: "0103".into(),
                    text: format!("机{i} 路灯不亮 {n}"),
                    location: LocationInput {
                        lon,
                        lat,
                        crs: None,
                    },
                    photos: vec![],
                    fixed_on_the_spot: false,
                })
                .unwrap();
            p.update_report(&op.entity_id, 1, &format!("机{i} 路灯不亮，整条街 {n}"))
                .unwrap();
            if n == 0 {
                p.attach_photo(&op.entity_id, &sha).unwrap();
            }
        }
        ready.push(p);
    }
    eprintln!(
        "{phones} phones registered and filled offline in {:?}",
        setup.elapsed()
    );

    let start = std::sync::Arc::new(std::sync::Barrier::new(phones + 1));
    let options = SyncOptions {
        pull: false,
        ..SyncOptions::default()
    };
    let handles: Vec<_> = ready
        .into_iter()
        .map(|mut p| {
            let start = start.clone();
            let t = transport(30);
            std::thread::Builder::new()
                .stack_size(256 << 10)
                .spawn(move || {
                    start.wait();
                    let began = Instant::now();
                    p.sync(&t, &options, &mut |_| {}).unwrap();
                    (p, began, Instant::now())
                })
                .unwrap()
        })
        .collect();
    start.wait();
    let mut done: Vec<(Phone, Instant, Instant)> =
        handles.into_iter().map(|h| h.join().unwrap()).collect();
    // From the first phone's start to the last phone's end.
    let first = done.iter().map(|d| d.1).min().unwrap();
    let wall = done.iter().map(|d| d.2).max().unwrap() - first;

    let mut c = db.reader().unwrap();
    let ops: i64 = sync_ops::table.count().get_result(&mut *c).unwrap();
    let decided: Vec<(String, i64, Option<i64>)> = sync_ops::table
        .select((
            sync_ops::device_id,
            sync_ops::device_seq,
            sync_ops::result_seq,
        ))
        .load(&mut *c)
        .unwrap();
    let reports: i64 = reports::table.count().get_result(&mut *c).unwrap();
    let stored: i64 = photos::table.count().get_result(&mut *c).unwrap();
    drop(c);
    assert_eq!(ops as usize, phones * 9, "one decision per operation");
    assert!(
        decided.iter().all(|(_, seq, r)| Some(*seq) == *r),
        "decided in device order"
    );
    assert_eq!(reports as usize, phones * 4, "one report per report id");
    assert_eq!(stored as usize, phones, "every photo stored");
    for (p, _, _) in &mut done {
        let local = p.queue().ops().unwrap();
        assert!(
            local
                .iter()
                .all(|o| o.state == "done" && o.status.as_deref() == Some("applied")),
            "every operation applied and acknowledged"
        );
    }
    let mut each: Vec<Duration> = done.iter().map(|(_, b, e)| *e - *b).collect();
    each.sort();
    let total = phones * 9;
    println!(
        "phones: {phones} phones synced {total} operations and {phones} photos at once in {:.1} s \
         ({:.0} ops/s); per phone median {:.2} s, p95 {:.2} s, max {:.2} s; nothing lost or duplicated",
        wall.as_secs_f64(),
        total as f64 / wall.as_secs_f64(),
        each[each.len() / 2].as_secs_f64(),
        each[each.len() * 95 / 100].as_secs_f64(),
        each[each.len() - 1].as_secs_f64(),
    );
}
