//! A phone's push of 500 operations on SQLite (release build), server time (the service, no HTTP): half new patrol
//! reports spread over urban Beijing, half edits and photos of reports filed in an earlier push; then the same
//! batch again (all duplicates), as a phone's retry after a cut connection would send it.
//!
//! Run: `cargo bench --bench sync` (prints its figures; not criterion, because each push changes the database).

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark stops at the first failure: unwrap says where"
)]

use gridline::domain::access::Role;
use gridline::service::auth;
use gridline::service::sync::{devices, push as sync};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::time::Instant;

const TOPICS: [&str; 6] = ["0101", "0102", "0103", "0201", "0203", "0303"];
const ROUNDS: usize = 7;

fn uuid(round: usize, n: usize) -> String {
    format!("00000000-0000-4000-8000-{:06}{n:06}", round)
}

fn photo(round: usize, n: usize) -> String {
    format!("{:064x}", round * 1_000_000 + n)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("bench.db").to_string_lossy().into_owned();
    let state = gridline::http::state::prepare(&url, 4).unwrap();
    let db = &state.db;
    auth::add_user(
        db,
        "member",
        "网格员",
        Role::GridMember,
        "bench password 1",
        chrono::Utc::now().naive_utc(),
    )
    .unwrap();
    auth::set_scopes(db, "member", &["110000".to_owned()], &[]).unwrap();
    let user_id = gridline::store::users::by_username(&mut db.reader().unwrap(), "member")
        .unwrap()
        .unwrap()
        .id;
    let user = auth::principal_by_id(&mut db.reader().unwrap(), &user_id)
        .unwrap()
        .unwrap();
    let device = devices::register(db, &user, "bench phone", chrono::Utc::now().naive_utc())
        .unwrap()
        .device;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
    let mut seq = 0i64;
    let mut next = |kind: &str, entity: &str, base: Option<i32>, payload: Value, round, n| {
        seq += 1;
        json!({"op_id": uuid(round, n), "device_seq": seq, "kind": kind, "entity_id": entity,
               "base_version": base, "payload": payload})
    };
    let mut times = Vec::new();
    let mut replays = Vec::new();
    let mut previous: Vec<String> = Vec::new();
    for round in 0..ROUNDS {
        let mut ops = Vec::with_capacity(500);
        let mut filed = Vec::new();
        for n in 0..250 {
            let id = uuid(round + 100, n);
            let payload = json!({
                "topic": TOPICS[rng.random_range(0..TOPICS.len())],
                "text": "小区门口垃圾堆放多日无人清理",
                "location": {"lon": rng.random_range(116.25..116.50), "lat": rng.random_range(39.85..40.00)},
                "photos": [photo(round, n)],
            });
            ops.push(next("create_report", &id, None, payload, round, n));
            filed.push(id);
        }
        for (n, id) in previous.iter().enumerate() {
            let op = if n % 2 == 0 {
                next(
                    "update_report",
                    id,
                    Some(1),
                    json!({"text": "已清理，附照片"}),
                    round,
                    250 + n,
                )
            } else {
                next(
                    "attach_photo",
                    id,
                    None,
                    json!({"sha256": photo(round + 50, n)}),
                    round,
                    250 + n,
                )
            };
            ops.push(op);
        }
        // One push timed: its results and milliseconds.
        let timed = |ops: Vec<Value>| {
            let t = Instant::now();
            let results = sync::push(
                db,
                &state.geo(),
                &user,
                &device,
                ops,
                chrono::Utc::now().naive_utc(),
            )
            .unwrap();
            (results, t.elapsed().as_secs_f64() * 1e3)
        };
        let (results, ms) = timed(ops.clone());
        times.push(ms);
        assert!(
            results.iter().all(|r| r.status == "applied"),
            "{:?}",
            results.iter().find(|r| r.status != "applied")
        );
        let (again, ms) = timed(ops.clone());
        replays.push(ms);
        assert!(again.iter().all(|r| r.status == "duplicate"));
        println!(
            "round {round}: {} ops pushed in {:.0} ms, replayed in {:.0} ms",
            ops.len(),
            times[round],
            replays[round]
        );
        previous = filed;
    }
    // The first round has no edits (nothing was filed before it): leave it out.
    let mut full: Vec<f64> = times[1..].to_vec();
    full.sort_by(f64::total_cmp);
    replays.sort_by(f64::total_cmp);
    println!(
        "push of 500 operations (250 new reports, 125 edits, 125 photos): median {:.0} ms, max {:.0} ms over {} rounds; \
         the same push replayed (500 duplicates): median {:.0} ms",
        full[full.len() / 2],
        full[full.len() - 1],
        full.len(),
        replays[replays.len() / 2]
    );
}
