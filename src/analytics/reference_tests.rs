//! Checks against PySAL on layers this project did not make: libpysal's Columbus and North Carolina SIDS example
//! datasets, with esda's Gi* and libpysal's weights written by `scripts/esda-reference` into tests/fixtures/esda/.
//! Weights must equal libpysal's neighbour lists; Gi*, its expected value and variance, and z to 1e-9; pseudo
//! p-values within Monte-Carlo error of esda's (both with 9,999 permutations, from different random streams).

use super::gistar::{Options, fdr_cutoff, gistar};
use super::mann_kendall::{Trend, mann_kendall};
use super::weights::{Weights, WeightsSpec};
use geo::MultiPolygon;
use std::path::PathBuf;

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/esda")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Ids, values and polygons of a fixture layer, in file order.
fn layer(name: &str) -> (Vec<i64>, Vec<f64>, Vec<MultiPolygon<f64>>) {
    let fc: geojson::FeatureCollection =
        serde_json::from_str(&fixture(&format!("{name}.geojson"))).unwrap();
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for f in fc.features {
        let p = f.properties.unwrap();
        out.0.push(p["id"].as_i64().unwrap());
        out.1.push(p["value"].as_f64().unwrap());
        let g = f.geometry.unwrap();
        let mp = match &g.value {
            geojson::GeometryValue::Polygon { .. } => {
                MultiPolygon::new(vec![geo::Polygon::try_from(&g.value).unwrap()])
            }
            _ => MultiPolygon::try_from(&g.value).unwrap(),
        };
        out.2.push(mp);
    }
    out
}

struct Row {
    id: i64,
    value: f64,
    neighbours: Vec<i64>,
    gi: f64,
    ei: f64,
    vi: f64,
    z: f64,
    p_norm: f64,
    p_sim: f64,
}

fn rows(name: &str) -> Vec<Row> {
    let text = fixture(name);
    let mut r = csv::Reader::from_reader(text.as_bytes());
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            let f = |k: usize| rec[k].parse::<f64>().unwrap();
            Row {
                id: rec[0].parse().unwrap(),
                value: f(1),
                neighbours: rec[2]
                    .split_whitespace()
                    .map(|s| s.parse().unwrap())
                    .collect(),
                gi: f(3),
                ei: f(4),
                vi: f(5),
                z: f(6),
                p_norm: f(7),
                p_sim: f(8),
            }
        })
        .collect()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-300) || (a - b).abs() < 1e-300
}

const PERMUTATIONS: u32 = 9_999;

fn check(layer_name: &str, weights: &str) {
    let (ids, values, polygons) = layer(layer_name);
    let spec: WeightsSpec = weights.parse().unwrap();
    let w = Weights::build(&polygons, spec).unwrap();
    let expected = rows(&format!("{layer_name}-{}.csv", weights.replace(':', "-")));
    assert_eq!(expected.len(), ids.len());
    for (i, row) in expected.iter().enumerate() {
        assert_eq!(row.id, ids[i]);
        assert_eq!(row.value, values[i]);
        let mut ours: Vec<i64> = w.neighbours(i).iter().map(|&j| ids[j as usize]).collect();
        ours.sort_unstable();
        assert_eq!(
            ours, row.neighbours,
            "{layer_name} {weights}: neighbours of {}",
            row.id
        );
    }
    let options = Options {
        permutations: PERMUTATIONS,
        seed: 20_261_206,
        fdr: false,
    };
    let g = gistar(&values, &w, &options).unwrap();
    let p_sim = g.p_sim.as_ref().unwrap();
    let mut worst = 0.0f64;
    for (i, row) in expected.iter().enumerate() {
        let at = format!("{layer_name} {weights} unit {}", row.id);
        assert!(
            close(g.gi[i], row.gi, 1e-9),
            "{at}: Gi {} vs {}",
            g.gi[i],
            row.gi
        );
        assert!(
            close(g.expected[i], row.ei, 1e-9),
            "{at}: E {} vs {}",
            g.expected[i],
            row.ei
        );
        assert!(
            close(g.variance[i], row.vi, 1e-9),
            "{at}: Var {} vs {}",
            g.variance[i],
            row.vi
        );
        assert!(
            (g.z[i] - row.z).abs() <= 1e-9,
            "{at}: z {} vs {}",
            g.z[i],
            row.z
        );
        assert!(
            close(g.p_norm[i], row.p_norm, 1e-9),
            "{at}: p_norm {} vs {}",
            g.p_norm[i],
            row.p_norm
        );
        // Two independent estimates of the same p: their difference has standard error √(2 p (1 − p) / P).
        let p = row.p_sim;
        let se = (2.0 * p * (1.0 - p) / f64::from(PERMUTATIONS)).sqrt();
        let gap = (p_sim[i] - p).abs();
        assert!(
            gap <= 5.0 * se + 2.0 / f64::from(PERMUTATIONS + 1),
            "{at}: p_sim {} vs esda {p}",
            p_sim[i]
        );
        worst = worst.max(gap / (se + 1e-12));
    }
    assert!(
        worst > 0.0,
        "the pseudo p-values cannot all equal esda's: the random streams differ"
    );
}

#[test]
fn columbus_queen_equals_esda() {
    check("columbus", "queen");
}

#[test]
fn columbus_rook_equals_esda() {
    check("columbus", "rook");
}

#[test]
fn north_carolina_queen_equals_esda() {
    check("sids2", "queen");
}

#[test]
fn north_carolina_rook_equals_esda() {
    check("sids2", "rook");
}

#[test]
fn north_carolina_distance_band_of_60_km_equals_libpysal_arc_distance_band() {
    check("sids2", "distance:60000");
}

#[test]
fn fdr_cutoffs_equal_esda_fdr_on_the_two_sided_p_values() {
    let text = fixture("fdr.csv");
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let mut checked = 0;
    for rec in r.records() {
        let rec = rec.unwrap();
        let (name, weights) = (&rec[0], rec[1].replacen('-', ":", 1));
        let alpha: f64 = rec[2].parse().unwrap();
        let threshold: f64 = rec[3].parse().unwrap();
        let (_, values, polygons) = layer(name);
        let w = Weights::build(&polygons, weights.parse().unwrap()).unwrap();
        let g = gistar(
            &values,
            &w,
            &Options {
                permutations: 0,
                ..Options::default()
            },
        )
        .unwrap();
        let two_sided: Vec<f64> = g.p_norm.iter().map(|p| 2.0 * p).collect();
        let ours = fdr_cutoff(&two_sided, alpha);
        assert!(
            close(ours, threshold, 1e-12),
            "{name} {weights} {alpha}: {ours} vs {threshold}"
        );
        checked += 1;
    }
    assert_eq!(checked, 15);
}

#[test]
fn mann_kendall_equals_pymannkendall() {
    let text = fixture("mann-kendall.csv");
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let mut checked = 0;
    for rec in r.records() {
        let rec = rec.unwrap();
        let series: Vec<f64> = rec[0]
            .split_whitespace()
            .map(|s| s.parse().unwrap())
            .collect();
        let m = mann_kendall(&series, 0.05).unwrap();
        let f = |k: usize| rec[k].parse::<f64>().unwrap();
        assert_eq!(m.s, f(1));
        assert!(close(m.var_s, f(2), 1e-12), "{} vs {}", m.var_s, f(2));
        assert!((m.z - f(3)).abs() < 1e-12, "{} vs {}", m.z, f(3));
        assert!(close(m.p, f(4), 1e-9), "{} vs {}", m.p, f(4));
        let trend = match m.trend {
            Trend::Increasing => "increasing",
            Trend::Decreasing => "decreasing",
            Trend::None => "no trend",
        };
        assert_eq!(trend, &rec[5]);
        checked += 1;
    }
    assert_eq!(checked, 6);
}
