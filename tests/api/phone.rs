//! The reference phone (`gridline::phone`) against a real server over real HTTP: three days offline then a sync
//! over a connection that drops every few requests, every push sent three times, the server killed with SIGKILL in
//! the middle of a sync storm and restarted, and many phones syncing at once. Each checks the server's own rows:
//! every operation applied exactly once and in device order, every photo file hashing to its name.

use crate::common;

use common::live::{FlakyProxy, LiveServer, Plan};
use common::{TestApp, jpeg};
use diesel::prelude::*;
use gridline::db::Db;
use gridline::db::schema::{case_transitions, devices, photo_uploads, photos, reports, sync_ops};
use gridline::domain::access::Role;
use gridline::phone::client::Transport;
use gridline::phone::{Phone, Retry, SyncOptions};
use gridline::service::intake::{LocationInput, ReportInput};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

fn hex_sha(bytes: &[u8]) -> String {
    gridline::auth::token::hex(&Sha256::digest(bytes))
}

fn transport(url: &str, attempts: u32) -> Transport {
    Transport::new(url, Duration::from_secs(60)).with_retry(Retry {
        attempts,
        backoff: Duration::from_millis(10),
    })
}

fn report(text: &str, on_the_spot: bool) -> ReportInput {
    let (lon, lat, _) = common::spot();
    ReportInput {
        id: None,
        reported_at: None,
        topic: "0103".into(),
        text: text.into(),
        location: LocationInput {
            lon,
            lat,
            crs: None,
        },
        photos: vec![],
        fixed_on_the_spot: on_the_spot,
    }
}

fn quiet(_: gridline::phone::Progress) {}

/// The server's decisions for a device, in the order decided: (op_id, device_seq, status, result_seq).
fn server_ops(db: &Db, device: &str) -> Vec<(String, i64, String, Option<i64>)> {
    sync_ops::table
        .filter(sync_ops::device_id.eq(device))
        .order((sync_ops::result_seq.asc(), sync_ops::device_seq.asc()))
        .select((
            sync_ops::op_id,
            sync_ops::device_seq,
            sync_ops::status,
            sync_ops::result_seq,
        ))
        .load(&mut *db.reader().unwrap())
        .unwrap()
}

/// Checks that the server holds each of the phone's operations exactly once, decided in device order as the
/// phone recorded them, and that the phone holds the server's decision for each. Returns the device id.
fn assert_exactly_once_in_order(db: &Db, phone: &mut Phone) -> String {
    let device = phone.status().unwrap().device_id.unwrap();
    let local = phone.queue().ops().unwrap();
    let server = server_ops(db, &device);
    assert_eq!(server.len(), local.len(), "one server row per operation");
    for (i, (l, s)) in local.iter().zip(&server).enumerate() {
        let n = i as i64 + 1;
        assert_eq!(
            (l.seq, s.0.as_str(), s.1, s.3),
            (n, l.op_id.as_str(), n, Some(n)),
            "decided in device order"
        );
        assert_eq!(l.state, "done", "{l:?}");
        assert_eq!(l.status.as_deref(), Some(s.2.as_str()), "{l:?}");
        assert_eq!(l.result_seq, s.3);
    }
    let (next_seq, last): (i64, i64) = devices::table
        .find(&device)
        .select((devices::next_seq, devices::last_result_seq))
        .first(&mut *db.reader().unwrap())
        .unwrap();
    assert_eq!(
        (next_seq, last),
        (local.len() as i64 + 1, local.len() as i64),
        "no decision beyond the phone's operations"
    );
    device
}

/// Every original under the photo directory hashes to its name; returns (originals, temp files) found.
fn photo_files(dir: &Path) -> (usize, Vec<String>) {
    let (mut originals, mut temps) = (0, Vec::new());
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if name.starts_with('.') || name.ends_with(".tmp") {
                temps.push(rel);
            } else if rel.starts_with("original/") {
                assert_eq!(
                    hex_sha(&std::fs::read(&p).unwrap()),
                    name,
                    "{rel}: a file under a photo's name holds other bytes"
                );
                originals += 1;
            }
        }
    }
    (originals, temps)
}

/// Every stored photo row has its three files, the original hashing to its name.
fn assert_photo_rows_whole(db: &Db, dir: &Path) -> usize {
    use gridline::media::PhotoHash;
    use gridline::media::store::{LocalPhotoStore, Variant};
    let store = LocalPhotoStore::open(dir).unwrap();
    let shas: Vec<String> = photos::table
        .select(photos::sha256)
        .load(&mut *db.reader().unwrap())
        .unwrap();
    for sha in &shas {
        let h = PhotoHash::parse(sha).unwrap();
        let bytes = std::fs::read(store.path(&h, Variant::Original)).unwrap();
        assert_eq!(&hex_sha(&bytes), sha);
        assert!(store.path(&h, Variant::Display).is_file());
        assert!(store.path(&h, Variant::Thumb).is_file());
    }
    shas.len()
}

fn state_of(db: &Db, app_dir: &Path) -> String {
    let mut c = db.reader().unwrap();
    let r: Vec<(String, i32, String, String)> = reports::table
        .order(reports::id)
        .select((
            reports::id,
            reports::version,
            reports::body,
            reports::photos,
        ))
        .load(&mut *c)
        .unwrap();
    let t: i64 = case_transitions::table.count().get_result(&mut *c).unwrap();
    let o: Vec<(String, String, Option<i64>)> = sync_ops::table
        .order(sync_ops::op_id)
        .select((sync_ops::op_id, sync_ops::status, sync_ops::result_seq))
        .load(&mut *c)
        .unwrap();
    let p: i64 = photos::table.count().get_result(&mut *c).unwrap();
    format!("{r:?} {t} {o:?} {p} {:?}", photo_files(app_dir))
}

#[test]
fn three_days_offline_then_a_flaky_connection_delivers_everything_once_in_order() {
    let started = Instant::now();
    let app = TestApp::beijing();
    let server = LiveServer::start(app.state.clone(), 2);
    let proxy = FlakyProxy::start(
        server.addr,
        Plan {
            cut_every: 6,
            push_copies: 1,
        },
    );
    let (_, _, cell) = common::spot();
    let member = app.token(Role::GridMember, &[&cell]);
    let dir = tempfile::tempdir().unwrap();
    let mut phone = Phone::open(&dir.path().join("phone.sqlite")).unwrap();
    let direct = transport(&server.url(), 3);
    phone.register(&direct, &member, "华为 Mate 60").unwrap();

    // Day 0, online: three cases fixed on the spot, dispatched by the rules — the member's work for the days away.
    for n in 0..3 {
        phone
            .create_report(report(&format!("第0天 电线杆小广告 {n}"), true))
            .unwrap();
    }
    phone
        .sync(&direct, &SyncOptions::default(), &mut quiet)
        .unwrap();
    gridline::service::cases::scheduler::tick(&app.state.db, app.state.clock.now()).unwrap();
    let mut cases: Vec<String> = phone
        .queue()
        .ops()
        .unwrap()
        .iter()
        .map(|o| {
            let r: Value = serde_json::from_str(o.result.as_deref().unwrap()).unwrap();
            r["case_id"].as_str().unwrap().to_owned()
        })
        .collect();
    cases.sort();
    cases.dedup();

    // Days 1–3 offline: 300 operations — 60 reports, 200 photos attached, 20 edits, 20 progress notes — and 10 more
    // below.
    let mut versions: BTreeMap<String, i32> = BTreeMap::new();
    let mut expected_photos: HashMap<String, Vec<String>> = HashMap::new();
    let mut expected_text: HashMap<String, String> = HashMap::new();
    let mut notes: Vec<(String, String)> = Vec::new();
    let mut last_report = String::new();
    let mut photo_n = 0u32;
    for s in 0..300u32 {
        let day = s / 100 + 1;
        if s % 5 == 0 {
            let text = format!("第{day}天 巡查 {s}: 井盖缺失");
            let op = phone.create_report(report(&text, false)).unwrap();
            last_report = op.entity_id.clone();
            versions.insert(last_report.clone(), 1);
            expected_text.insert(last_report.clone(), text);
            expected_photos.insert(last_report.clone(), vec![]);
        } else if s % 15 == 7 {
            let text = format!("第{day}天 补充说明 {s}");
            let v = versions.get_mut(&last_report).unwrap();
            phone.update_report(&last_report, *v, &text).unwrap();
            *v += 1;
            expected_text.insert(last_report.clone(), text);
        } else if s % 15 == 11 {
            let case = &cases[s as usize % cases.len()];
            let note = format!("第{day}天 进展 {s}");
            phone
                .transition(case, None, &json!({"action": "note", "note": note}))
                .unwrap();
            notes.push((case.clone(), note));
        } else {
            photo_n += 1;
            let bytes = jpeg(40 + (photo_n % 4) as u16 * 8, 32, photo_n);
            let sha = phone.add_photo(&bytes, "image/jpeg").unwrap();
            phone.attach_photo(&last_report, &sha).unwrap();
            *versions.get_mut(&last_report).unwrap() += 1;
            expected_photos.get_mut(&last_report).unwrap().push(sha);
        }
    }
    assert_eq!(photo_n, 200);
    assert_eq!(versions.len(), 60);
    assert_eq!(notes.len(), 20);
    // And five problems fixed on the spot (随手做): a report, then self_resolve addressed by the report's UUID (the
    // case's id is the server's to give), with before and after photos taken among those above.
    let mut taken: Vec<String> = expected_photos.values().flatten().cloned().collect();
    taken.sort();
    let mut fixed: Vec<(String, [String; 2])> = Vec::new();
    for n in 0..5 {
        // Another topic than the reports above, so that each opens a case of its own.
        let mut fix = report(&format!("第3天 随手清理垃圾 {n}"), true);
        fix.topic = "0101".into();
        let op = phone.create_report(fix).unwrap();
        let evidence = [taken[2 * n].clone(), taken[2 * n + 1].clone()];
        phone
            .transition(
                &op.entity_id,
                None,
                &json!({"action": "self_resolve", "note": "已清除", "evidence": evidence}),
            )
            .unwrap();
        fixed.push((op.entity_id, evidence));
    }
    assert_eq!(
        phone.queue().photos().unwrap().len(),
        200,
        "200 distinct photos"
    );

    // The network is up, but the connection drops every few requests.
    let flaky = transport(&proxy.url(), 12);
    let options = SyncOptions {
        batch: 40,
        piece: 1024,
        pull: true,
        pull_limit: 50,
    };
    let done = phone.sync(&flaky, &options, &mut quiet).unwrap();
    assert_eq!(done.photos_sent, 200, "{done:?}");
    assert_eq!(done.decided, 310, "{done:?}");
    let stats = &proxy.stats;
    let cuts = [&stats.cut_before, &stats.cut_after, &stats.cut_mid]
        .map(|c| c.load(std::sync::atomic::Ordering::SeqCst));
    assert!(
        cuts.iter().all(|&n| n > 0),
        "every kind of cut happened: {cuts:?}"
    );

    // Exactly once, in order, everything applied.
    let db = &app.state.db;
    assert_exactly_once_in_order(db, &mut phone);
    let local = phone.queue().ops().unwrap();
    assert!(
        local.iter().all(|o| o.status.as_deref() == Some("applied")),
        "{:?}",
        local
            .iter()
            .find(|o| o.status.as_deref() != Some("applied"))
    );
    assert!(local.iter().any(|o| o.sends > 1), "some were sent again");
    let mut c = db.reader().unwrap();
    for (id, version) in &versions {
        let rows: Vec<(i32, String, String)> = reports::table
            .filter(reports::id.eq(id))
            .select((reports::version, reports::body, reports::photos))
            .load(&mut *c)
            .unwrap();
        assert_eq!(rows.len(), 1, "report {id} stored once");
        let (v, body, photos) = &rows[0];
        assert_eq!(v, version, "report {id}: one version per edit and photo");
        assert_eq!(body, &expected_text[id]);
        let photos: Vec<String> = serde_json::from_str(photos).unwrap();
        assert_eq!(photos, expected_photos[id], "photos once each, in order");
    }
    for (case, note) in &notes {
        let n: i64 = case_transitions::table
            .filter(case_transitions::case_id.eq(case))
            .filter(case_transitions::action.eq("note"))
            .filter(case_transitions::note.eq(note))
            .count()
            .get_result(&mut *c)
            .unwrap();
        assert_eq!(n, 1, "note {note} once");
    }
    for (report, evidence) in &fixed {
        let case: String = reports::table
            .filter(reports::id.eq(report))
            .select(reports::case_id)
            .first(&mut *c)
            .unwrap();
        let steps: Vec<(String, String)> = case_transitions::table
            .filter(case_transitions::case_id.eq(&case))
            .select((case_transitions::action, case_transitions::evidence))
            .load(&mut *c)
            .unwrap();
        assert_eq!(
            steps,
            [(
                "self_resolve".to_owned(),
                serde_json::to_string(evidence).unwrap()
            )],
            "report {report}: fixed once, with its before and after photos"
        );
    }
    let uploads: i64 = photo_uploads::table.count().get_result(&mut *c).unwrap();
    drop(c);
    assert_eq!(uploads, 0, "every upload finished");
    assert_eq!(assert_photo_rows_whole(db, app.photo_dir.path()), 200);
    let (originals, temps) = photo_files(app.photo_dir.path());
    assert_eq!((originals, temps), (200, vec![]));
    let status = phone.status().unwrap();
    assert_eq!(status.photos, [("stored".to_owned(), 200)]);
    assert!(status.cursor.is_some(), "pulled");
    eprintln!("offline days: {:?}, proxy {cuts:?}", started.elapsed());
}

#[test]
fn every_push_sent_three_times_changes_nothing_after_the_first() {
    let app = TestApp::beijing();
    let server = LiveServer::start(app.state.clone(), 2);
    let proxy = FlakyProxy::start(
        server.addr,
        Plan {
            cut_every: 0,
            push_copies: 3,
        },
    );
    let (_, _, cell) = common::spot();
    let member = app.token(Role::GridMember, &[&cell]);
    let dir = tempfile::tempdir().unwrap();
    let mut phone = Phone::open(&dir.path().join("phone.sqlite")).unwrap();
    let t = transport(&proxy.url(), 3);
    phone.register(&t, &member, "小米 14").unwrap();
    for n in 0..10u32 {
        let op = phone
            .create_report(report(&format!("共享单车乱停 {n}"), false))
            .unwrap();
        let sha = phone
            .add_photo(&jpeg(32, 24, 1000 + n), "image/jpeg")
            .unwrap();
        phone.attach_photo(&op.entity_id, &sha).unwrap();
        phone
            .update_report(&op.entity_id, 2, &format!("共享单车乱停，已拍照 {n}"))
            .unwrap();
        // Made against a version that never was: a conflict, decided once like the rest.
        phone.update_report(&op.entity_id, 9, "stale edit").unwrap();
    }
    let options = SyncOptions {
        batch: 8,
        ..SyncOptions::default()
    };
    phone.sync(&t, &options, &mut quiet).unwrap();

    // Each push reached the server three times: the second and third answers repeat the first decision.
    let replays = proxy.stats.replays.lock().unwrap().clone();
    assert_eq!(replays.len(), 5, "40 operations in pushes of 8");
    for bodies in &replays {
        let answers: Vec<Value> = bodies
            .iter()
            .map(|b| serde_json::from_slice(b).unwrap())
            .collect();
        let first = answers[0]["results"].as_array().unwrap();
        for again in &answers[1..] {
            let again = again["results"].as_array().unwrap();
            assert_eq!(again.len(), first.len());
            for (a, f) in again.iter().zip(first) {
                assert_eq!(a["status"], "duplicate", "{a}");
                assert_eq!(a["original_status"], f["status"], "{a}");
                assert_eq!(
                    (&a["result"], &a["result_seq"], &a["code"]),
                    (&f["result"], &f["result_seq"], &f["code"])
                );
            }
        }
    }
    let db = &app.state.db;
    assert_exactly_once_in_order(db, &mut phone);
    let statuses: Vec<Option<String>> = phone
        .queue()
        .ops()
        .unwrap()
        .into_iter()
        .map(|o| o.status)
        .collect();
    let conflicts = statuses
        .iter()
        .filter(|s| s.as_deref() == Some("conflict"))
        .count();
    let applied = statuses
        .iter()
        .filter(|s| s.as_deref() == Some("applied"))
        .count();
    assert_eq!(
        (applied, conflicts),
        (30, 10),
        "the phone keeps the original decisions"
    );

    // The phone's whole history pushed twice more changes nothing at all.
    let before = state_of(db, app.photo_dir.path());
    let token = phone.queue().get("device_token").unwrap().unwrap();
    let wire: Vec<Value> = phone
        .queue()
        .ops()
        .unwrap()
        .iter()
        .map(|o| o.wire())
        .collect();
    let direct = transport(&server.url(), 3);
    for _ in 0..2 {
        for chunk in wire.chunks(20) {
            let results = direct.push(&token, chunk.to_vec()).unwrap();
            assert!(
                results.iter().all(|r| r.status == "duplicate"),
                "{results:?}"
            );
        }
    }
    assert_eq!(state_of(db, app.photo_dir.path()), before);
}

/// The `gridline serve` binary on `port`, over the database at `url` and photos in `photos`.
fn spawn_server(url: &str, photos: &Path, port: u16) -> std::process::Child {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_gridline"))
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("GRIDLINE_PHOTO_DIR", photos)
        .env("GRIDLINE_BIND", format!("127.0.0.1:{port}"))
        .env("GRIDLINE_WORKERS", "2")
        .env("GRIDLINE_SCHEDULER_SECS", "0")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .into();
    let deadline = Instant::now() + Duration::from_secs(120);
    while agent
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .call()
        .is_err()
    {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_server_killed_mid_storm_keeps_what_it_acknowledged_and_the_phones_finish_after_restart() {
    const PHONES: usize = 6;
    let t = common::TestDb::beijing();
    let photo_dir = tempfile::tempdir().unwrap();
    let db = t.open();
    let (_, _, cell) = common::spot();
    gridline::service::auth::add_user(
        &db,
        "crash_member",
        "网格员",
        Role::GridMember,
        "test password 1",
        chrono::Utc::now().naive_utc(),
    )
    .unwrap();
    gridline::service::auth::set_scopes(&db, "crash_member", &[cell], &[]).unwrap();
    let member = gridline::service::auth::login(
        &db,
        "crash_member",
        "test password 1",
        "test",
        chrono::Utc::now().naive_utc(),
    )
    .unwrap()
    .token;

    let port = free_port();
    let mut server = spawn_server(&t.url, photo_dir.path(), port);
    let url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let mut phones: Vec<Phone> = (0..PHONES)
        .map(|i| {
            let mut p = Phone::open(&dir.path().join(format!("phone{i}.sqlite"))).unwrap();
            p.register(&transport(&url, 3), &member, &format!("phone {i}"))
                .unwrap();
            for n in 0..15u32 {
                let op = p
                    .create_report(report(&format!("机{i} 渣土遗撒 {n}"), false))
                    .unwrap();
                for k in 0..2u32 {
                    let seed = 10_000 + (i as u32) * 100 + n * 2 + k;
                    let sha = p.add_photo(&jpeg(96, 64, seed), "image/jpeg").unwrap();
                    p.attach_photo(&op.entity_id, &sha).unwrap();
                }
                p.update_report(&op.entity_id, 3, &format!("机{i} 渣土遗撒，已清扫 {n}"))
                    .unwrap();
            }
            p
        })
        .collect();
    let total_ops = PHONES * 60;

    // Two storms: every phone syncs at once and the server is killed — first while photos are being uploaded
    // (a third of them stored), then, restarted, once 60 operations are acknowledged.
    let options = SyncOptions {
        batch: 10,
        piece: 4096,
        pull: false,
        pull_limit: 50,
    };
    let paths: Vec<_> = (0..PHONES)
        .map(|i| dir.path().join(format!("phone{i}.sqlite")))
        .collect();
    for round in 0..2 {
        if round == 1 {
            server = spawn_server(&t.url, photo_dir.path(), port);
        }
        let storm: Vec<_> = phones
            .drain(..)
            .map(|mut p| {
                let url = url.clone();
                std::thread::spawn(move || {
                    let r = p.sync(&transport(&url, 3), &options, &mut quiet);
                    (p, r.is_ok())
                })
            })
            .collect();
        // Watched through the server's database, and the phones' own files (another connection to each).
        let mut watch: Vec<Phone> = paths.iter().map(|p| Phone::open(p).unwrap()).collect();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let enough = if round == 0 {
                let stored: i64 = photos::table
                    .count()
                    .get_result(&mut *db.reader().unwrap())
                    .unwrap();
                stored >= (PHONES * 10) as i64
            } else {
                let acked: i64 = watch
                    .iter_mut()
                    .flat_map(|p| p.queue().counts().unwrap())
                    .filter(|(state, _)| state == "done")
                    .map(|(_, n)| n)
                    .sum();
                acked >= 60
            };
            if enough || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(watch);
        server.kill().unwrap();
        server.wait().unwrap();
        let results: Vec<(Phone, bool)> = storm.into_iter().map(|h| h.join().unwrap()).collect();
        let finished = results.iter().filter(|(_, ok)| *ok).count();
        phones = results.into_iter().map(|(p, _)| p).collect();
        assert!(finished < PHONES, "the kill interrupted the storm");

        // Whatever the server acknowledged is there, as it said; no photo is visible half written.
        let decided_before = server_ops_all(&db);
        let mut acknowledged = 0;
        for p in &mut phones {
            for op in p.queue().ops().unwrap() {
                if op.state == "done" {
                    acknowledged += 1;
                    let row = decided_before
                        .get(&op.op_id)
                        .expect("an acknowledged op is stored");
                    assert_eq!(
                        (row.0.as_str(), row.1),
                        (op.status.as_deref().unwrap(), op.result_seq)
                    );
                }
            }
        }
        assert!(acknowledged < total_ops, "killed mid-storm");
        if round == 1 {
            assert!(acknowledged > 0, "some operations were acknowledged");
        }
        let stored = assert_photo_rows_whole(&db, photo_dir.path());
        assert!(stored < PHONES * 30 || round == 1, "killed mid-upload");
        let (originals, temps) = photo_files(photo_dir.path());
        eprintln!(
            "killed with {acknowledged} of {total_ops} operations acknowledged, {stored} of {} photos stored \
             ({originals} originals on disk, {} temp files)",
            PHONES * 30,
            temps.len()
        );
    }

    // Restarted on the same database; each phone's retry completes the rest.
    let mut server = spawn_server(&t.url, photo_dir.path(), port);
    let again: Vec<_> = phones
        .drain(..)
        .map(|mut p| {
            let url = url.clone();
            std::thread::spawn(move || {
                p.sync(&transport(&url, 8), &options, &mut quiet).unwrap();
                p
            })
        })
        .collect();
    let mut phones: Vec<Phone> = again.into_iter().map(|h| h.join().unwrap()).collect();
    let check = transport(&url, 3);
    for p in &mut phones {
        assert_exactly_once_in_order(&db, p);
        assert!(
            p.queue()
                .ops()
                .unwrap()
                .iter()
                .all(|o| o.status.as_deref() == Some("applied")),
            "every operation applied"
        );
        let token = p.queue().get("device_token").unwrap().unwrap();
        for photo in p.queue().photos().unwrap() {
            assert_eq!(photo.state, "stored");
            assert!(check.photo_stored(&token, &photo.sha256).unwrap());
        }
    }
    let reports: i64 = reports::table
        .count()
        .get_result(&mut *db.reader().unwrap())
        .unwrap();
    assert_eq!(reports, (PHONES * 15) as i64);
    assert_eq!(assert_photo_rows_whole(&db, photo_dir.path()), PHONES * 30);
    let (originals, temps) = photo_files(photo_dir.path());
    assert_eq!(
        (originals, temps),
        (PHONES * 30, vec![]),
        "the restarted server swept what the killed one left half-written"
    );
    server.kill().unwrap();
    server.wait().unwrap();
}

fn server_ops_all(db: &Db) -> HashMap<String, (String, Option<i64>)> {
    sync_ops::table
        .select((sync_ops::op_id, sync_ops::status, sync_ops::result_seq))
        .load::<(String, String, Option<i64>)>(&mut *db.reader().unwrap())
        .unwrap()
        .into_iter()
        .map(|(id, s, r)| (id, (s, r)))
        .collect()
}

#[test]
fn forty_phones_syncing_at_once_lose_and_duplicate_nothing() {
    const PHONES: usize = 40;
    let app = TestApp::beijing();
    let server = LiveServer::start(app.state.clone(), 2);
    let proxy = FlakyProxy::start(
        server.addr,
        Plan {
            cut_every: 13,
            push_copies: 1,
        },
    );
    let (_, _, cell) = common::spot();
    let members: Vec<String> = (0..PHONES.div_ceil(20))
        .map(|_| app.token(Role::GridMember, &[&cell]))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let direct = transport(&server.url(), 3);
    let phones: Vec<Phone> = (0..PHONES)
        .map(|i| {
            let mut p = Phone::open(&dir.path().join(format!("p{i}.sqlite"))).unwrap();
            p.register(&direct, &members[i / 20], &format!("phone {i}"))
                .unwrap();
            for n in 0..4u32 {
                let op = p
                    .create_report(report(&format!("机{i} 路灯不亮 {n}"), false))
                    .unwrap();
                p.update_report(&op.entity_id, 1, &format!("机{i} 路灯不亮，整条街 {n}"))
                    .unwrap();
            }
            let sha = p
                .add_photo(&jpeg(32, 24, 50_000 + i as u32), "image/jpeg")
                .unwrap();
            let first = p.queue().ops().unwrap()[0].entity_id.clone();
            p.attach_photo(&first, &sha).unwrap();
            p
        })
        .collect();
    let url = proxy.url();
    let options = SyncOptions {
        batch: 5,
        piece: 2048,
        pull: false,
        pull_limit: 50,
    };
    let started = Instant::now();
    let handles: Vec<_> = phones
        .into_iter()
        .map(|mut p| {
            let url = url.clone();
            std::thread::spawn(move || {
                p.sync(&transport(&url, 12), &options, &mut quiet).unwrap();
                p
            })
        })
        .collect();
    let mut phones: Vec<Phone> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let took = started.elapsed();
    let db = &app.state.db;
    for p in &mut phones {
        assert_exactly_once_in_order(db, p);
        assert!(
            p.queue()
                .ops()
                .unwrap()
                .iter()
                .all(|o| o.status.as_deref() == Some("applied"))
        );
    }
    let (ops, reports): (i64, i64) = {
        let mut c = db.reader().unwrap();
        (
            sync_ops::table.count().get_result(&mut *c).unwrap(),
            reports::table.count().get_result(&mut *c).unwrap(),
        )
    };
    assert_eq!((ops, reports), ((PHONES * 9) as i64, (PHONES * 4) as i64));
    assert_eq!(assert_photo_rows_whole(db, app.photo_dir.path()), PHONES);
    eprintln!("{PHONES} phones synced in {took:?}");
}

#[test]
fn a_person_drives_the_phone_from_the_command_line() {
    let app = TestApp::beijing();
    let server = LiveServer::start(app.state.clone(), 1);
    let (lon, lat, cell) = common::spot();
    let member = app.token(Role::GridMember, &[&cell]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("phone.sqlite");
    let photo = dir.path().join("a.jpg");
    std::fs::write(&photo, jpeg(32, 24, 7)).unwrap();
    let after = dir.path().join("b.jpg");
    std::fs::write(&after, jpeg(32, 24, 8)).unwrap();
    let phone = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridline"))
            .arg("phone")
            .arg("--db")
            .arg(&db)
            .args(args)
            .env("GRIDLINE_TOKEN", &member)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(phone(&["register", "--server", &server.url()]).contains("registered as device"));
    let (lon, lat) = (lon.to_string(), lat.to_string());
    let recorded = phone(&[
        "report",
        "--topic",
        "0103",
        "--text",
        "小广告",
        "--lon",
        &lon,
        "--lat",
        &lat,
        "--photo",
        photo.to_str().unwrap(),
    ]);
    let id = recorded.split_whitespace().nth(1).unwrap().to_owned();
    phone(&["edit", &id, "--version", "1", "--text", "小广告，已拍照"]);
    // Fixed on the spot, before and after photos as evidence, the case named by the report (it has no id yet).
    phone(&[
        "step",
        &id,
        "--action",
        "self_resolve",
        "--note",
        "已清除",
        "--photo",
        photo.to_str().unwrap(),
        "--photo",
        after.to_str().unwrap(),
    ]);
    assert!(phone(&["status"]).contains("operations pending: 3"));
    let synced = phone(&["sync"]);
    assert!(
        synced.contains("2 photos sent") && synced.contains("3 operations decided"),
        "{synced}"
    );
    assert!(phone(&["status"]).contains("operations done: 3"));
    let status: String = gridline::db::schema::cases::table
        .inner_join(reports::table.on(reports::case_id.eq(gridline::db::schema::cases::id)))
        .filter(reports::id.eq(&id))
        .select(gridline::db::schema::cases::status)
        .first(&mut *app.state.db.reader().unwrap())
        .unwrap();
    assert_eq!(status, "self_resolved");
    let (version, photos): (i32, String) = reports::table
        .find(&id)
        .select((reports::version, reports::photos))
        .first(&mut *app.state.db.reader().unwrap())
        .unwrap();
    assert_eq!(version, 2);
    assert_eq!(
        serde_json::from_str::<Vec<String>>(&photos).unwrap(),
        [hex_sha(&std::fs::read(&photo).unwrap())]
    );
}

#[test]
fn a_phone_killed_mid_sync_loses_nothing_and_its_next_sync_finishes_the_rest() {
    let app = TestApp::beijing();
    let server = LiveServer::start(app.state.clone(), 2);
    let (_, _, cell) = common::spot();
    let member = app.token(Role::GridMember, &[&cell]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.sqlite");
    {
        let mut p = Phone::open(&path).unwrap();
        p.register(&transport(&server.url(), 3), &member, "荣耀")
            .unwrap();
        for n in 0..100u32 {
            let op = p
                .create_report(report(&format!("占道经营 {n}"), false))
                .unwrap();
            if n < 40 {
                let sha = p
                    .add_photo(&jpeg(96, 64, 70_000 + n), "image/jpeg")
                    .unwrap();
                p.attach_photo(&op.entity_id, &sha).unwrap();
            }
            let base = if n < 40 { 2 } else { 1 };
            p.update_report(&op.entity_id, base, &format!("占道经营，已劝离 {n}"))
                .unwrap();
        }
    }
    let sync = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_gridline"))
            .args(["phone", "--db"])
            .arg(&path)
            .args(["sync", "--no-pull", "--batch", "10"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // Killed (SIGKILL) first while sending photos, then while pushing operations.
    let mut watch = Phone::open(&path).unwrap();
    for round in 0..2 {
        let mut child = sync();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let count = |v: Vec<(String, i64)>, s: &str| {
                v.into_iter().find(|(k, _)| k == s).map_or(0, |(_, n)| n)
            };
            let enough = if round == 0 {
                count(watch.queue().photo_counts().unwrap(), "stored") >= 10
            } else {
                count(watch.queue().counts().unwrap(), "done") >= 50
            };
            if enough || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let s = watch.status().unwrap();
        eprintln!("phone killed: {:?} {:?}", s.ops, s.photos);
        assert!(
            s.ops.iter().any(|(k, n)| k != "done" && *n > 0),
            "killed before the end"
        );
    }
    let status = sync().wait().unwrap();
    assert!(status.success());
    drop(watch);
    let mut phone = Phone::open(&path).unwrap();
    assert_exactly_once_in_order(&app.state.db, &mut phone);
    assert!(
        phone
            .queue()
            .ops()
            .unwrap()
            .iter()
            .all(|o| o.status.as_deref() == Some("applied"))
    );
    assert_eq!(phone.status().unwrap().photos, [("stored".to_owned(), 40)]);
    assert_eq!(
        assert_photo_rows_whole(&app.state.db, app.photo_dir.path()),
        40
    );
}
