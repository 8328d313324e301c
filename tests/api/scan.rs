//! `gridline scan gistar`, run as a GIS analyst would run it on a layer of their own: the numbers in its CSV are
//! esda's (tests/fixtures/esda), and bad layers stop with one line naming the problem and a non-zero exit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn gridline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gridline"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/esda")
        .join(name)
}

/// A layer of `n` unit squares in a row along the equator (lon/lat), with the given properties per feature.
fn squares(dir: &Path, props: &[serde_json::Value]) -> PathBuf {
    let features: Vec<serde_json::Value> = props
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let x = i as f64 * 0.01;
            serde_json::json!({
                "type": "Feature",
                "properties": p,
                "geometry": {"type": "Polygon", "coordinates": [[[x, 0.0], [x + 0.01, 0.0], [x + 0.01, 0.01], [x, 0.01], [x, 0.0]]]}
            })
        })
        .collect();
    let path = dir.join("layer.geojson");
    let fc = serde_json::json!({"type": "FeatureCollection", "features": features});
    std::fs::write(&path, serde_json::to_vec(&fc).unwrap()).unwrap();
    path
}

fn run_on(path: &Path, extra: &[&str], out: &Path) -> Output {
    let mut args = vec![
        "scan",
        "gistar",
        "--polygons",
        path.to_str().unwrap(),
        "--value",
        "n",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    gridline(&args)
}

#[test]
fn gistar_writes_esda_s_z_scores_for_the_columbus_layer_in_feature_order() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("columbus.csv");
    let o = gridline(&[
        "scan",
        "gistar",
        "--polygons",
        fixture("columbus.geojson").to_str().unwrap(),
        "--value",
        "value",
        "--id",
        "id",
        "--weights",
        "rook",
        "--permutations",
        "999",
        "--seed",
        "7",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("49 features"),
        "{}",
        text(&o.stdout)
    );
    let csv = std::fs::read_to_string(&out).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("id,value,gi,z,p_norm,p_sim,bin"));
    let expected = std::fs::read_to_string(fixture("columbus-rook.csv")).unwrap();
    let mut rows = 0;
    for (ours, theirs) in lines.zip(expected.lines().skip(1)) {
        let a: Vec<&str> = ours.split(',').collect();
        let b: Vec<&str> = theirs.split(',').collect();
        assert_eq!(a[0], b[0], "ids in the input's order");
        let (z, ez): (f64, f64) = (a[3].parse().unwrap(), b[6].parse().unwrap());
        assert!((z - ez).abs() < 1e-9, "{ours} vs {theirs}");
        let p_sim: f64 = a[5].parse().unwrap();
        assert!(p_sim > 0.0 && p_sim <= 0.501);
        let bin: i8 = a[6].parse().unwrap();
        let p2 = 2.0 * a[4].parse::<f64>().unwrap();
        let level = if p2 < 0.01 {
            3
        } else if p2 < 0.05 {
            2
        } else if p2 < 0.10 {
            1
        } else {
            0
        };
        assert_eq!(bin, if z < 0.0 { -level } else { level }, "{ours}");
        rows += 1;
    }
    assert_eq!(rows, 49);
}

#[test]
fn gistar_writes_geojson_with_the_results_added_and_fdr_never_adds_significance() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.geojson");
    let fdr = dir.path().join("fdr.geojson");
    let layer = fixture("sids2.geojson");
    let args = |out: &Path, more: &[&str]| {
        let mut a = vec![
            "scan",
            "gistar",
            "--polygons",
            layer.to_str().unwrap(),
            "--value",
            "value",
        ];
        a.extend_from_slice(more);
        a.extend_from_slice(&["--permutations", "0", "--out", out.to_str().unwrap()]);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    for (out, more) in [(&plain, &[][..]), (&fdr, &["--fdr"][..])] {
        let a = args(out, more);
        let o = gridline(&a.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    let read = |p: &Path| -> Vec<serde_json::Value> {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        v["features"].as_array().unwrap().clone()
    };
    let (a, b) = (read(&plain), read(&fdr));
    assert_eq!(a.len(), 100);
    let mut fewer = false;
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x["id"], y["id"]);
        assert!(
            x["properties"]["p_sim"].is_null(),
            "no permutations, no p_sim"
        );
        assert!(x["properties"]["z"].as_f64().unwrap().is_finite());
        let (bx, by) = (
            x["properties"]["bin"].as_i64().unwrap(),
            y["properties"]["bin"].as_i64().unwrap(),
        );
        assert!(by.abs() <= bx.abs());
        fewer |= by.abs() < bx.abs();
        assert_eq!(
            x["properties"]["value"], y["properties"]["value"],
            "the input's properties are kept"
        );
    }
    assert!(
        fewer,
        "the FDR correction lowers at least one bin on this layer"
    );
}

#[test]
fn without_an_id_field_the_feature_id_or_the_position_is_the_id() {
    let dir = tempfile::tempdir().unwrap();
    let props: Vec<serde_json::Value> = [1, 5, 2, 8, 3]
        .iter()
        .map(|n| serde_json::json!({"n": n}))
        .collect();
    let layer = squares(dir.path(), &props);
    let out = dir.path().join("out.csv");
    let o = run_on(&layer, &["--permutations", "99"], &out);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let csv = std::fs::read_to_string(&out).unwrap();
    let ids: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(ids, ["0", "1", "2", "3", "4"]);
}

#[test]
fn bad_layers_stop_with_a_code_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let cases: Vec<(Vec<serde_json::Value>, Vec<&str>, &str)> = vec![
        (vec![serde_json::json!({"n": 0}); 4], vec![], "all_zero"),
        (
            vec![serde_json::json!({"n": 3}); 4],
            vec![],
            "constant_values",
        ),
        (
            vec![serde_json::json!({"n": 1}), serde_json::json!({"m": 2})],
            vec![],
            "missing_value",
        ),
        (
            vec![
                serde_json::json!({"n": 1}),
                serde_json::json!({"n": "many"}),
            ],
            vec![],
            "non_numeric_value",
        ),
        (
            vec![serde_json::json!({"n": 1}), serde_json::json!({"n": -2})],
            vec![],
            "negative_value",
        ),
        (vec![serde_json::json!({"n": 1})], vec![], "too_few_units"),
        (
            vec![
                serde_json::json!({"n": 1}),
                serde_json::json!({"n": 2}),
                serde_json::json!({"n": 4}),
            ],
            vec!["--permutations", "50"],
            "permutations_out_of_range",
        ),
        (
            vec![
                serde_json::json!({"n": 1}),
                serde_json::json!({"n": 2}),
                serde_json::json!({"n": 4}),
            ],
            vec!["--weights", "distance:10"],
            "islands",
        ),
    ];
    for (props, extra, code) in cases {
        let layer = squares(dir.path(), &props);
        let o = run_on(&layer, &extra, &out);
        assert!(!o.status.success(), "{code}: {}", text(&o.stdout));
        let err = text(&o.stderr);
        assert!(err.contains(code), "{code}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // Islands are named by id.
    let props: Vec<serde_json::Value> = (0..3)
        .map(|i| serde_json::json!({"n": i + 1, "code": format!("c{i}")}))
        .collect();
    let layer = squares(dir.path(), &props);
    let o = run_on(&layer, &["--id", "code", "--weights", "distance:10"], &out);
    assert!(
        text(&o.stderr).contains("c0, c1, c2"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn non_polygon_and_invalid_geometry_are_refused_by_feature() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let square = serde_json::json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]]});
    let bowtie = serde_json::json!({"type": "Polygon", "coordinates": [[[1.0, 0.0], [2.0, 1.0], [2.0, 0.0], [1.0, 1.0], [1.0, 0.0]]]});
    let point = serde_json::json!({"type": "Point", "coordinates": [1.0, 1.0]});
    for (second, code) in [(point, "invalid_geometry"), (bowtie, "invalid_geometry")] {
        let fc = serde_json::json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": "a", "properties": {"n": 1}, "geometry": square},
            {"type": "Feature", "id": "b", "properties": {"n": 2}, "geometry": second},
        ]});
        let layer = dir.path().join("bad.geojson");
        std::fs::write(&layer, serde_json::to_vec(&fc).unwrap()).unwrap();
        let o = run_on(&layer, &[], &out);
        assert!(!o.status.success());
        let err = text(&o.stderr);
        assert!(err.contains(code) && err.contains("feature b"), "{err}");
    }
    let o = run_on(&dir.path().join("missing.geojson"), &[], &out);
    assert!(!o.status.success());
    let o = run_on(
        &fixture("columbus.geojson"),
        &[],
        &dir.path().join("out.txt"),
    );
    assert!(
        text(&o.stderr).contains("unknown_output_format"),
        "{}",
        text(&o.stderr)
    );
}
