//! Hot paths of locating: the index alone (one core), the whole chain, the batch endpoint over loopback HTTP,
//! and start-up (open an existing database, build the index).
//!
//! `cargo bench --bench locate`; figures go in README.md's Performance section.

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark stops at the first failure: unwrap says where"
)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gridline::geo::index::PlaceIndex;
use rand::{Rng, SeedableRng};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

fn index() -> Arc<PlaceIndex> {
    static I: OnceLock<Arc<PlaceIndex>> = OnceLock::new();
    I.get_or_init(|| {
        let places = gridline::geo::dataset::places().unwrap();
        let buildings = gridline::geo::dataset::buildings().unwrap();
        Arc::new(PlaceIndex::new(&places, &buildings))
    })
    .clone()
}

/// Random points inside the city (rejection sampling over its bounding box).
fn points(n: usize) -> Vec<(f64, f64)> {
    let index = index();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let p = (
            rng.random_range(115.42..117.51),
            rng.random_range(39.44..41.06),
        );
        if index.cell_at(p.0, p.1).is_some() {
            out.push(p);
        }
    }
    out
}

fn database() -> &'static str {
    static D: OnceLock<(tempfile::TempDir, String)> = OnceLock::new();
    &D.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bench.db").to_string_lossy().into_owned();
        let db = gridline::db::Db::connect(&path, 2).unwrap();
        gridline::service::admin::geodata::ensure_loaded(&db).unwrap();
        (dir, path)
    })
    .1
}

fn bench_index(c: &mut Criterion) {
    let index = index();
    let pts = points(100_000);
    let mut g = c.benchmark_group("index");
    g.throughput(Throughput::Elements(pts.len() as u64));
    g.bench_function("cell_at (100k points, one core)", |b| {
        b.iter(|| {
            pts.iter()
                .filter(|(x, y)| index.cell_at(*x, *y).is_some())
                .count()
        })
    });
    g.bench_function("locate with chain and building (100k points)", |b| {
        b.iter(|| {
            pts.iter()
                .filter(|(x, y)| index.locate(*x, *y).is_some())
                .count()
        })
    });
    g.finish();
}

fn bench_http_batch(c: &mut Criterion) {
    let url = database().to_owned();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let state = gridline::http::state::prepare(&url, 8).unwrap();
            let (server, addr) =
                gridline::app::server(state, "127.0.0.1:0".parse().unwrap(), 2).unwrap();
            tx.send(addr).unwrap();
            server.await.unwrap();
        })
    });
    let addr = rx.recv().unwrap();
    let pts = points(10_000);
    let body = serde_json::json!({
        "points": pts.iter().map(|(x, y)| serde_json::json!({"lon": x, "lat": y})).collect::<Vec<_>>()
    });
    let body = serde_json::to_vec(&body).unwrap();
    let rt = actix_web::rt::System::new();
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(60))
        .finish();
    let target = format!("http://{addr}/api/v1/locate/batch");
    let send = || async {
        let mut res = client
            .post(&target)
            .insert_header(("content-type", "application/json"))
            .send_body(body.clone())
            .await
            .unwrap();
        assert!(res.status().is_success());
        res.body().limit(64 << 20).await.unwrap().len()
    };
    let mut g = c.benchmark_group("http");
    g.sample_size(20).measurement_time(Duration::from_secs(15));
    // Two requests in flight, one per server worker.
    g.throughput(Throughput::Elements(2 * pts.len() as u64));
    g.bench_function(
        "POST /api/v1/locate/batch (2 x 10k points, loopback, 2 workers)",
        |b| {
            b.iter(|| {
                rt.block_on(async {
                    let (a, b) = futures_util::future::join(send(), send()).await;
                    a + b
                })
            })
        },
    );
    g.finish();
}

fn bench_startup(c: &mut Criterion) {
    let url = database();
    let mut g = c.benchmark_group("startup");
    g.sample_size(10);
    g.bench_function("open existing SQLite database and build the index", |b| {
        b.iter(|| {
            gridline::http::state::prepare(url, 2)
                .unwrap()
                .index
                .cell_count()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_index, bench_http_batch, bench_startup);
criterion_main!(benches);
