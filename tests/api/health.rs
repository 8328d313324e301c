//! Health, readiness and unknown routes.

use crate::common;

use common::TestApp;

#[actix_web::test]
async fn healthz_answers_ok_and_readyz_reports_the_loaded_geodata() {
    let app = TestApp::beijing();
    let r = app.get("/healthz").await;
    assert_eq!(r.status, 200);
    let r = app.get("/readyz").await;
    assert_eq!(r.status, 200);
    assert!(r.json["cells"].as_u64().unwrap() > 15_000);
    let expected = if common::postgres_url().is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(r.json["database"], expected);
}

#[actix_web::test]
async fn an_unknown_route_answers_404_with_a_code() {
    let app = TestApp::beijing();
    let r = app.get("/api/v1/nothing-here").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json["code"], "route_not_found");
    let r = app.post("/api/v1/locate", serde_json::json!({})).await;
    assert_eq!(r.status, 404, "wrong method on a known path");
}

#[actix_web::test]
async fn readyz_answers_503_when_no_cells_are_loaded() {
    let mut app = TestApp::beijing();
    let empty = gridline::geo::index::PlaceIndex::new(&[], &[]);
    app.state = actix_web::web::Data::new(
        gridline::http::state::AppState::new(app.db.open(), std::sync::Arc::new(empty)).unwrap(),
    );
    let r = app.get("/readyz").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json["code"], "geodata_not_loaded");
    let r = app.get("/api/v1/locate?lon=116.4&lat=39.9").await;
    assert_eq!(r.json["code"], "outside_jurisdiction");
}
