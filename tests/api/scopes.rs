//! Who may see what: each role sees places and chains inside its jurisdiction, and gets 404 (not a leak) outside.

use crate::common;

use common::TestApp;
use gridline::domain::access::Role;

/// A cell, a sibling cell in the same community, and a cell of another community, district and street.
fn places() -> (String, String, String) {
    let index = common::beijing_index();
    let (lon, lat) = gridline::geo::grid::center(862, 566);
    let cell = index.cell_code(index.cell_at(lon, lat).unwrap()).to_owned();
    let all = gridline::geo::dataset::places().unwrap();
    let sibling = all
        .iter()
        .find(|p| {
            p.code.as_str().len() == 15
                && p.code.as_str()[..12] == cell[..12]
                && p.code.as_str() != cell
        })
        .unwrap();
    let far = all
        .iter()
        .find(|p| p.code.as_str().starts_with("110105") && p.code.as_str().len() == 15)
        .unwrap();
    (
        cell,
        sibling.code.as_str().to_owned(),
        far.code.as_str().to_owned(),
    )
}

async fn status(app: &TestApp, token: &str, uri: &str) -> u16 {
    app.get_as(token, uri).await.status.as_u16()
}

#[actix_web::test]
async fn a_community_secretary_sees_their_community_and_nothing_around_it() {
    let app = TestApp::beijing();
    let (cell, sibling, far) = places();
    let community = &cell[..12];
    let t = app.token(Role::CommunitySecretary, &[community]);
    assert_eq!(
        status(&app, &t, &format!("/api/v1/places/{community}")).await,
        200
    );
    assert_eq!(
        status(&app, &t, &format!("/api/v1/places/{community}/children")).await,
        200
    );
    assert_eq!(
        status(&app, &t, &format!("/api/v1/places/{cell}")).await,
        200
    );
    assert_eq!(
        status(&app, &t, &format!("/api/v1/places/{sibling}/chain")).await,
        200
    );
    let r = app.get_as(&t, &format!("/api/v1/places/{far}")).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json["code"], "place_not_found",
        "the same answer as for a place that does not exist"
    );
    assert_eq!(
        status(&app, &t, &format!("/api/v1/places/{far}/chain")).await,
        404
    );
    assert_eq!(
        status(&app, &t, &format!("/api/v1/places/{}", &cell[..9])).await,
        404,
        "not the street around it"
    );
    assert_eq!(status(&app, &t, "/api/v1/places/110000").await, 404);
}

#[actix_web::test]
async fn a_grid_member_sees_only_their_cells() {
    let app = TestApp::beijing();
    let (cell, sibling, _) = places();
    let t = app.token(Role::GridMember, &[&cell]);
    assert_eq!(
        status(&app, &t, &format!("/api/v1/places/{cell}")).await,
        200
    );
    assert_eq!(
        status(&app, &t, &format!("/api/v1/places/{cell}/chain")).await,
        200
    );
    assert_eq!(
        status(&app, &t, &format!("/api/v1/places/{sibling}")).await,
        404
    );
    assert_eq!(
        status(&app, &t, &format!("/api/v1/places/{}", &cell[..12])).await,
        404
    );
    let (lon, lat) = gridline::geo::grid::center(862, 566);
    assert_eq!(
        status(&app, &t, &format!("/api/v1/chain?lon={lon}&lat={lat}")).await,
        200
    );
    assert_eq!(
        status(&app, &t, "/api/v1/chain?lon=116.47&lat=39.93").await,
        404,
        "a point in another cell"
    );
}

#[actix_web::test]
async fn a_leader_sees_their_whole_district() {
    let app = TestApp::beijing();
    let (cell, _, far) = places();
    let t = app.token(Role::Leader, &[&cell[..6]]);
    for code in [&cell[..6], &cell[..9], &cell[..12], cell.as_str()] {
        assert_eq!(
            status(&app, &t, &format!("/api/v1/places/{code}")).await,
            200,
            "{code}"
        );
    }
    assert_eq!(
        status(&app, &t, &format!("/api/v1/places/{far}")).await,
        404
    );
    assert_eq!(
        status(&app, &t, &format!("/api/v1/places/{}", &far[..6])).await,
        404
    );
}

#[actix_web::test]
async fn admins_and_hotline_operators_see_the_whole_city_and_others_see_nothing_without_a_jurisdiction()
 {
    let app = TestApp::beijing();
    let (_, _, far) = places();
    for role in [Role::Admin, Role::HotlineOperator] {
        let t = app.token(role, &[]);
        assert_eq!(
            status(&app, &t, "/api/v1/places/110000").await,
            200,
            "{role}"
        );
        assert_eq!(
            status(&app, &t, &format!("/api/v1/places/{far}/chain")).await,
            200,
            "{role}"
        );
    }
    let t = app.token(Role::Dispatcher, &[]);
    assert_eq!(
        status(&app, &t, &format!("/api/v1/places/{far}")).await,
        404
    );
    let t = app.token(Role::Dispatcher, &["110000"]);
    assert_eq!(
        status(&app, &t, &format!("/api/v1/places/{far}")).await,
        200,
        "a city-wide jurisdiction"
    );
}

#[actix_web::test]
async fn without_a_token_places_and_chains_answer_401_and_the_wrong_role_403() {
    let app = TestApp::beijing();
    let (cell, _, _) = places();
    for uri in [
        format!("/api/v1/places/{cell}"),
        format!("/api/v1/places/{cell}/children"),
        format!("/api/v1/places/{cell}/chain"),
    ] {
        let r = app.get(&uri).await;
        assert_eq!(r.status, 401, "{uri}");
        assert_eq!(r.json["code"], "missing_token");
    }
    let t = app.token(Role::Leader, &[&cell[..6]]);
    assert_eq!(status(&app, &t, "/api/v1/admin/users").await, 403);
    assert_eq!(
        app.get("/api/v1/locate?lon=116.4&lat=39.9").await.status,
        200,
        "locate is public"
    );
}

#[actix_web::test]
async fn an_admin_sets_a_jurisdiction_that_takes_effect_at_once() {
    use actix_web::http::Method;
    let app = TestApp::beijing();
    let (cell, _, far) = places();
    let admin = app.token(Role::Admin, &[]);
    let leader = app.token(Role::Leader, &[]);
    let name = gridline::service::auth::authenticate(&app.state.db, &leader, app.state.clock.now())
        .unwrap()
        .username;
    assert_eq!(
        status(&app, &leader, &format!("/api/v1/places/{far}")).await,
        404
    );
    let put = |token: String, body: serde_json::Value| {
        let app = &app;
        let uri = format!("/api/v1/admin/users/{name}/scopes");
        async move {
            app.send(common::Req {
                method: Method::PUT,
                uri: &uri,
                body: Some(body),
                token: Some(&token),
                ..Default::default()
            })
            .await
        }
    };
    let r = put(
        admin.clone(),
        serde_json::json!({"places": [&far[..6]], "topics": ["0701"]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        status(&app, &leader, &format!("/api/v1/places/{far}")).await,
        200
    );
    assert_eq!(
        status(&app, &leader, &format!("/api/v1/places/{cell}")).await,
        404
    );
    let r = put(admin.clone(), serde_json::json!({"places": ["110199"]})).await;
    assert_eq!(r.json["code"], "invalid_scope");
    assert_eq!(
        status(&app, &leader, &format!("/api/v1/places/{far}")).await,
        200,
        "a refused change changes nothing"
    );
    assert_eq!(
        put(leader.clone(), serde_json::json!({"places": ["110000"]}))
            .await
            .status,
        403
    );
}
