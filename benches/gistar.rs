//! Hot spot statistics over the real cell layer of the default Beijing dataset (20,551 cells, queen contiguity):
//! Gi* with 999 permutations on one core, and emerging hot spots over 52 weekly steps of every cell.
//!
//! `cargo bench --bench gistar`, or `scripts/gistar-bench` to time PySAL esda (with numba) on the same input in the
//! same run. The values are synthetic counts from a fixed formula that the script repeats exactly: `value(i, t)` below.

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark stops at the first failure: unwrap says where"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use gridline::analytics::{self, EmergingOptions, Matrix, Options, Weights, WeightsSpec};
use gridline::geo::dataset::{LAYERS, places_from_layer};
use gridline::geo::place::Level;
use std::sync::OnceLock;
use std::time::Duration;

/// The cells' outlines in the file's order.
fn cells() -> &'static Vec<geo::MultiPolygon<f64>> {
    static C: OnceLock<Vec<geo::MultiPolygon<f64>>> = OnceLock::new();
    C.get_or_init(|| {
        let (_, bytes) = LAYERS.iter().find(|(l, _)| *l == Level::Cell).unwrap();
        places_from_layer(Level::Cell, bytes)
            .unwrap()
            .into_iter()
            .map(|p| p.geometry)
            .collect()
    })
}

fn weights() -> &'static Weights {
    static W: OnceLock<Weights> = OnceLock::new();
    W.get_or_init(|| Weights::build(cells(), WeightsSpec::Queen).unwrap())
}

/// A count for cell `i` in week `t`: a hash of (i, t) folded to 0..=19, with a block of cells that grows hot over
/// the last weeks. scripts/gistar-bench computes the same numbers.
fn value(i: u64, t: u64) -> f64 {
    let h = (i.wrapping_mul(2_654_435_761) ^ t.wrapping_mul(40_503)) % 4_294_967_296;
    let base = (h % 20) as f64;
    if (1_000..1_040).contains(&i) && t >= 40 {
        base + 30.0
    } else {
        base
    }
}

fn bench(c: &mut Criterion) {
    let w = weights();
    let n = w.len() as u64;
    eprintln!(
        "{} cells, {} queen links, largest neighbourhood {}, islands {}",
        n,
        w.links(),
        w.max_neighbours(),
        w.islands().len()
    );
    let mut g = c.benchmark_group("gistar");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("queen weights of the cell layer", |b| {
        b.iter(|| Weights::build(cells(), WeightsSpec::Queen).unwrap())
    });
    let y: Vec<f64> = (0..n).map(|i| value(i, 51)).collect();
    let options = Options {
        permutations: 999,
        seed: 1,
        fdr: false,
    };
    g.bench_function("Gi* of every cell, 999 permutations, one core", |b| {
        b.iter(|| analytics::gistar(&y, w, &options).unwrap())
    });
    g.bench_function("Gi* of every cell, no permutations", |b| {
        b.iter(|| {
            analytics::gistar(
                &y,
                w,
                &Options {
                    permutations: 0,
                    ..options
                },
            )
            .unwrap()
        })
    });
    let steps: Vec<Vec<f64>> = (0..52)
        .map(|t| (0..n).map(|i| value(i, t)).collect())
        .collect();
    let m = Matrix::from_steps(w.len(), &steps).unwrap();
    g.bench_function("emerging hot spots, every cell over 52 weeks", |b| {
        b.iter(|| analytics::emerging(&m, w, &EmergingOptions::default()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
