//! `GET /api/v1/locate` and `POST /api/v1/locate/batch` through the real routes.

use crate::common;

use common::TestApp;
use gridline::geo::crs::{Crs, from_wgs84};
use gridline::geo::place::Level;
use serde_json::json;

/// A point well inside a cell of Dongcheng (the centre of one of its squares).
fn inner_point() -> (f64, f64, String) {
    let index = common::beijing_index();
    let (lon, lat) = gridline::geo::grid::center(862, 566);
    let cell = index
        .cell_at(lon, lat)
        .map(|c| index.cell_code(c).to_owned())
        .unwrap();
    (lon, lat, cell)
}

#[actix_web::test]
async fn a_point_in_a_cell_gets_the_whole_chain_exactly() {
    let app = TestApp::beijing();
    let (lon, lat, cell) = inner_point();
    let r = app
        .get(&format!("/api/v1/locate?lon={lon}&lat={lat}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["method"], "exact");
    assert_eq!(r.json["cell"]["code"], cell.as_str());
    assert_eq!(r.json["community"]["code"], &cell[..12]);
    assert_eq!(r.json["street"]["code"], &cell[..9]);
    assert_eq!(r.json["district"]["code"], &cell[..6]);
    let index = common::beijing_index();
    assert_eq!(
        r.json["district"]["name"],
        index.place(&cell[..6]).unwrap().name.as_str()
    );
}

#[actix_web::test]
async fn the_same_place_in_gcj02_and_bd09_finds_the_same_cell() {
    let app = TestApp::beijing();
    let (lon, lat, cell) = inner_point();
    for crs in [Crs::Gcj02, Crs::Bd09] {
        let (x, y) = from_wgs84(crs, lon, lat);
        let r = app
            .get(&format!(
                "/api/v1/locate?lon={x}&lat={y}&crs={}",
                crs.as_str()
            ))
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json["cell"]["code"], cell.as_str(), "{crs:?}");
        let back = (
            r.json["lon"].as_f64().unwrap(),
            r.json["lat"].as_f64().unwrap(),
        );
        assert!(
            gridline::geo::crs::haversine_m(back, (lon, lat)) < 0.5,
            "{crs:?} round trip {back:?}"
        );
        // Unconverted, the offset point (~600 m away) lands elsewhere.
        let raw = app.get(&format!("/api/v1/locate?lon={x}&lat={y}")).await;
        assert_ne!(raw.json["cell"]["code"], cell.as_str());
    }
}

#[actix_web::test]
async fn the_nearest_building_within_50_m_is_reported() {
    let app = TestApp::beijing();
    let b = &gridline::geo::dataset::buildings().unwrap()[1234];
    let r = app
        .get(&format!(
            "/api/v1/locate?lon={}&lat={}",
            b.lon + 0.0001,
            b.lat
        ))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["building"]["code"], b.code.as_str());
    let d = r.json["building"]["distance_m"].as_f64().unwrap();
    assert!((5.0..12.0).contains(&d), "about 8.5 m: {d}");
}

#[actix_web::test]
async fn a_point_just_outside_the_city_snaps_and_a_far_one_is_outside_the_jurisdiction() {
    let app = TestApp::beijing();
    let index = common::beijing_index();
    // Walk west from a cell on the western edge of the city until the point leaves every cell.
    let city = gridline::geo::dataset::places()
        .unwrap()
        .into_iter()
        .find(|p| p.level == Level::City)
        .unwrap();
    let west = city.geometry.0[0]
        .exterior()
        .0
        .iter()
        .min_by(|a, b| a.x.total_cmp(&b.x))
        .copied()
        .unwrap();
    let lat = west.y + 0.0001;
    let mut lon = west.x + 0.0005;
    while index.cell_at(lon, lat).is_some() {
        lon -= 0.0001;
    }
    let near = lon - 0.0005; // tens of metres outside
    let r = app
        .get(&format!("/api/v1/locate?lon={near}&lat={lat}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["method"], "snapped");
    let d = r.json["snap_distance_m"].as_f64().unwrap();
    assert!(d > 0.0 && d <= 200.0, "{d}");
    let far = lon - 0.01; // about 850 m outside
    let r = app
        .get(&format!("/api/v1/locate?lon={far}&lat={lat}"))
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json["code"], "outside_jurisdiction");
    let r = app.get("/api/v1/locate?lon=121.47&lat=31.23").await;
    assert_eq!(r.json["code"], "outside_jurisdiction");
}

#[actix_web::test]
async fn each_malformed_point_gets_a_400_with_its_own_code() {
    let app = TestApp::beijing();
    for (query, code) in [
        ("lat=39.9", "missing_parameter"),
        ("lon=116.4", "missing_parameter"),
        ("lon=&lat=39.9", "missing_parameter"),
        ("lon=NaN&lat=39.9", "invalid_number"),
        ("lon=116.4&lat=inf", "invalid_number"),
        ("lon=abc&lat=39.9", "invalid_number"),
        ("lon=190&lat=39.9", "out_of_range"),
        ("lon=116.4&lat=-91", "out_of_range"),
        ("lon=39.9&lat=116.4", "coordinates_swapped"),
        ("lon=116.4&lat=39.9&crs=utm50", "unknown_crs"),
    ] {
        let r = app.get(&format!("/api/v1/locate?{query}")).await;
        assert_eq!(r.status, 400, "{query}");
        assert_eq!(r.json["code"], code, "{query}");
        assert!(!r.json["message"].as_str().unwrap().is_empty());
    }
}

#[actix_web::test]
async fn a_batch_answers_every_point_in_order_with_errors_in_place() {
    let app = TestApp::beijing();
    let (lon, lat, cell) = inner_point();
    let (glon, glat) = from_wgs84(Crs::Gcj02, lon, lat);
    let body = json!({"points": [
        {"lon": lon, "lat": lat},
        {"lon": "abc", "lat": 39.9},
        {"lon": glon, "lat": glat, "crs": "gcj02"},
        {"lon": 0.0, "lat": 0.0},
        {"lat": 39.9},
        {"lon": 39.9, "lat": 116.4},
        {"lon": lon, "lat": lat, "crs": "mars"},
        "not an object"
    ]});
    let r = app.post("/api/v1/locate/batch", body).await;
    assert_eq!(r.status, 200, "{}", r.json);
    let results = r.json["results"].as_array().unwrap();
    assert_eq!(results.len(), 8);
    assert_eq!(results[0]["cell"]["code"], cell.as_str());
    assert_eq!(results[1]["error"]["code"], "invalid_number");
    assert_eq!(results[2]["cell"]["code"], cell.as_str());
    assert_eq!(results[3]["error"]["code"], "outside_jurisdiction");
    assert_eq!(results[4]["error"]["code"], "missing_parameter");
    assert_eq!(results[5]["error"]["code"], "coordinates_swapped");
    assert_eq!(results[6]["error"]["code"], "unknown_crs");
    assert_eq!(results[7]["error"]["code"], "missing_parameter");
}

#[actix_web::test]
async fn a_batch_gives_the_same_answers_as_single_calls() {
    let app = TestApp::beijing();
    let points: Vec<(f64, f64)> = (0..40)
        .map(|k| (116.2 + 0.011 * f64::from(k), 39.8 + 0.007 * f64::from(k)))
        .collect();
    let body = json!({"points": points.iter().map(|(x, y)| json!({"lon": x, "lat": y})).collect::<Vec<_>>()});
    let r = app.post("/api/v1/locate/batch", body).await;
    let results = r.json["results"].as_array().unwrap();
    for (k, (x, y)) in points.iter().enumerate() {
        let single = app.get(&format!("/api/v1/locate?lon={x}&lat={y}")).await;
        if single.status == 200 {
            assert_eq!(results[k], single.json);
        } else {
            assert_eq!(results[k]["error"], single.json);
        }
    }
}

#[actix_web::test]
async fn an_oversized_or_malformed_batch_is_refused_whole() {
    let app = TestApp::beijing();
    let many: Vec<_> = (0..10_001)
        .map(|_| json!({"lon": 116.4, "lat": 39.9}))
        .collect();
    let r = app
        .post("/api/v1/locate/batch", json!({ "points": many }))
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json["code"], "batch_too_large");
    let r = app.post("/api/v1/locate/batch", json!({"pts": []})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json["code"], "invalid_json");
    let r = app
        .post("/api/v1/locate/batch", json!({"points": []}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["results"], json!([]));
}
