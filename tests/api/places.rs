//! `GET /api/v1/places/{code}` and `/children`.

use crate::common;

use common::TestApp;

#[actix_web::test]
async fn the_city_is_the_root_with_16_districts() {
    let app = TestApp::beijing();
    let admin = app.token(gridline::domain::access::Role::Admin, &[]);
    let r = app.get_as(&admin, "/api/v1/places/110000").await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["properties"]["level"], "city");
    assert_eq!(r.json["properties"]["parent"], serde_json::Value::Null);
    assert_eq!(r.json["properties"]["child_counts"]["children"], 16);
    assert_eq!(r.json["properties"]["child_counts"]["street"], 349);
    assert_eq!(r.json["properties"]["child_counts"]["community"], 7535);
    let area = r.json["properties"]["area_km2"].as_f64().unwrap();
    assert!((15_500.0..17_500.0).contains(&area), "{area}");
    let r = app.get_as(&admin, "/api/v1/places/110000/children").await;
    assert_eq!(r.json["features"].as_array().unwrap().len(), 16);
    assert_eq!(r.json["features"][0]["properties"]["code"], "110101");
    assert_eq!(r.json["features"][0]["properties"]["name"], "东城区");
}

#[actix_web::test]
async fn a_district_feature_has_its_outline_area_and_counts() {
    let app = TestApp::beijing();
    let admin = app.token(gridline::domain::access::Role::Admin, &[]);
    let r = app.get_as(&admin, "/api/v1/places/110105").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["properties"]["name"], "朝阳区");
    assert_eq!(r.json["properties"]["parent"], "110000");
    assert_eq!(
        r.json["geometry"]["type"], "MultiPolygon",
        "Chaoyang keeps its airport exclave"
    );
    let streets = r.json["properties"]["child_counts"]["street"]
        .as_i64()
        .unwrap();
    assert_eq!(r.json["properties"]["child_counts"]["children"], streets);
    let kids = app.get_as(&admin, "/api/v1/places/110105/children").await;
    assert_eq!(
        kids.json["features"].as_array().unwrap().len() as i64,
        streets
    );
}

#[actix_web::test]
async fn simplify_reduces_vertices_and_is_bounded() {
    let app = TestApp::beijing();
    let admin = app.token(gridline::domain::access::Role::Admin, &[]);
    let count = |v: &serde_json::Value| v.to_string().matches('[').count();
    let full = app.get_as(&admin, "/api/v1/places/110119").await;
    let simple = app
        .get_as(&admin, "/api/v1/places/110119?simplify=500")
        .await;
    assert_eq!(simple.status, 200);
    assert!(count(&simple.json["geometry"]) * 2 < count(&full.json["geometry"]));
    for bad in ["0", "-5", "abc", "20000", "NaN"] {
        let r = app
            .get_as(&admin, &format!("/api/v1/places/110119?simplify={bad}"))
            .await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.json["code"], "invalid_simplify");
    }
}

#[actix_web::test]
async fn a_cells_children_are_its_buildings() {
    let app = TestApp::beijing();
    let admin = app.token(gridline::domain::access::Role::Admin, &[]);
    let b = &gridline::geo::dataset::buildings().unwrap()[99];
    let r = app
        .get_as(&admin, &format!("/api/v1/places/{}/children", b.cell))
        .await;
    assert_eq!(r.status, 200);
    let features = r.json["features"].as_array().unwrap();
    assert!(
        features
            .iter()
            .any(|f| f["properties"]["code"] == b.code.as_str())
    );
    assert!(features.iter().all(|f| f["geometry"]["type"] == "Point"));
    let cell = app
        .get_as(&admin, &format!("/api/v1/places/{}", b.cell))
        .await;
    assert_eq!(
        cell.json["properties"]["child_counts"]["building"]
            .as_u64()
            .unwrap() as usize,
        features.len()
    );
}

#[actix_web::test]
async fn unknown_and_malformed_codes_are_told_apart() {
    let app = TestApp::beijing();
    let admin = app.token(gridline::domain::access::Role::Admin, &[]);
    let r = app.get_as(&admin, "/api/v1/places/110199").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json["code"], "place_not_found");
    for bad in ["abc", "1101", "11010500", "110105%27%20OR%201=1"] {
        let r = app.get_as(&admin, &format!("/api/v1/places/{bad}")).await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.json["code"], "invalid_place_code");
    }
    let r = app
        .get_as(&admin, "/api/v1/places/110105999999/children")
        .await;
    assert_eq!(r.status, 404);
}

#[actix_web::test]
async fn a_buildings_18_digit_code_is_a_place_code_too() {
    let app = TestApp::beijing();
    let b = &gridline::geo::dataset::buildings().unwrap()[99];
    assert_eq!(b.code.len(), 18);
    let admin = app.token(gridline::domain::access::Role::Admin, &[]);
    let r = app
        .get_as(&admin, &format!("/api/v1/places/{}", b.code))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["properties"]["code"], b.code.as_str());
    assert_eq!(r.json["properties"]["level"], "building");
    assert_eq!(r.json["properties"]["parent"], b.cell.as_str());
    assert_eq!(r.json["geometry"]["type"], "Point");
    let r = app
        .get_as(&admin, &format!("/api/v1/places/{}/children", b.code))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["features"], serde_json::json!([]));

    let unknown = format!("{}999", b.cell);
    let r = app
        .get_as(&admin, &format!("/api/v1/places/{unknown}"))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].as_str()),
        (404, Some("place_not_found"))
    );

    let elsewhere = if b.cell.as_str().starts_with("110108") {
        "110105"
    } else {
        "110108"
    };
    let outsider = app.token(gridline::domain::access::Role::Leader, &[elsewhere]);
    let r = app
        .get_as(&outsider, &format!("/api/v1/places/{}", b.code))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].as_str()),
        (404, Some("place_not_found"))
    );
}
