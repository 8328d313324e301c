//! The responsibility chain: assignments with history, sections, fallback, and the chain of a place or point.

use crate::common;

use actix_web::http::Method;
use common::{Req, Resp, TestApp};
use gridline::domain::access::Role;
use serde_json::{Value, json};

struct World {
    app: TestApp,
    admin: String,
    member: String,
    cell: String,
    point: (f64, f64),
}

impl World {
    async fn new() -> World {
        let app = TestApp::beijing();
        let index = common::beijing_index();
        let point = gridline::geo::grid::center(862, 566);
        let cell = index
            .cell_code(index.cell_at(point.0, point.1).unwrap())
            .to_owned();
        let admin = app.token(Role::Admin, &[]);
        // A community secretary whose jurisdiction is the cell's community.
        let member = app.token(Role::CommunitySecretary, &[&cell[..12]]);
        World {
            app,
            admin,
            member,
            cell,
            point,
        }
    }

    async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> Resp {
        self.app
            .send(Req {
                method,
                uri,
                body,
                token: Some(&self.admin),
                ..Req::default()
            })
            .await
    }

    async fn unit(&self, kind: &str, name: &str, place: &str) -> String {
        let r = self
            .call(
                Method::POST,
                "/api/v1/units",
                Some(json!({"kind": kind, "name": name, "place_code": place})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        r.json["id"].as_str().unwrap().to_owned()
    }

    async fn person(&self, name: &str, role: &str, unit: &str) -> String {
        let r = self
            .call(
                Method::POST,
                "/api/v1/people",
                Some(json!({"name": name, "phone": "13800000000", "unit_id": unit, "role": role})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        r.json["id"].as_str().unwrap().to_owned()
    }

    async fn assign(&self, kind: &str, target: &str, who: (&str, &str), from: &str) -> Resp {
        self.call(
            Method::POST,
            "/api/v1/assignments",
            Some(json!({"kind": kind, "target": target, who.0: who.1, "valid_from": from})),
        )
        .await
    }

    async fn chain(&self, at: &str) -> Resp {
        self.call(
            Method::GET,
            &format!("/api/v1/places/{}/chain?at={at}", self.cell),
            None,
        )
        .await
    }
}

fn link<'a>(chain: &'a Value, kind: &str) -> &'a Value {
    chain["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {chain}"))
}

/// Staffs every link of the world's cell from 2026-01-01; returns the grid member's and household member's ids.
async fn staff(w: &World) -> (String, String) {
    let (district, street, community) = (&w.cell[..6], &w.cell[..9], &w.cell[..12]);
    let centre = w
        .unit("command_centre", "东城区接诉即办指挥中心", district)
        .await;
    let office = w.unit("street_office", "街道办事处", street).await;
    let committee = w.unit("community_committee", "社区居委会", community).await;
    let leader = w.person("刘领导", "leader", &office).await;
    let cadre = w.person("陈干部", "cadre", &office).await;
    let secretary = w.person("张书记", "community_secretary", &committee).await;
    let grid = w.person("王网格", "grid_member", &committee).await;
    let household = w.person("赵委员", "committee_member", &committee).await;
    // The street already lies in a generated section: its leader is replaced.
    let sections = w
        .call(
            Method::GET,
            &format!("/api/v1/sections?place={street}"),
            None,
        )
        .await;
    let section = sections.json["sections"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let from = "2026-01-01T00:00:00Z";
    for (kind, target, who) in [
        ("command_centre", district, ("unit_id", centre.as_str())),
        (
            "section_leader",
            section.as_str(),
            ("person_id", leader.as_str()),
        ),
        ("street_office", street, ("unit_id", office.as_str())),
        ("village_cadre", community, ("person_id", cadre.as_str())),
        (
            "community_secretary",
            community,
            ("person_id", secretary.as_str()),
        ),
        ("grid_member", &w.cell, ("person_id", grid.as_str())),
        (
            "household_member",
            &w.cell,
            ("person_id", household.as_str()),
        ),
    ] {
        let r = w.assign(kind, target, who, from).await;
        assert_eq!(r.status, 201, "{kind}: {}", r.json);
    }
    (grid, household)
}

#[actix_web::test]
async fn a_staffed_cell_resolves_every_link_with_who_and_since_when() {
    let w = World::new().await;
    staff(&w).await;
    let r = w.chain("2026-06-01T00:00:00Z").await;
    assert_eq!(r.status, 200, "{}", r.json);
    let kinds: Vec<&str> = r.json["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "command_centre",
            "section_leader",
            "street_office",
            "village_cadre",
            "community_secretary",
            "grid_member",
            "household_member"
        ]
    );
    assert!(
        r.json["links"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["fallback"] == false && l["since"] == "2026-01-01T00:00:00Z")
    );
    assert_eq!(link(&r.json, "grid_member")["person"]["name"], "王网格");
    assert_eq!(link(&r.json, "section_leader")["person"]["name"], "刘领导");
    assert_eq!(link(&r.json, "street_office")["unit"]["name"], "街道办事处");
    assert_eq!(
        link(&r.json, "grid_member")["unit"]["name"],
        "社区居委会",
        "a person's link names their unit"
    );
    // Before anyone was assigned, nobody answers.
    let before = w.chain("2024-06-01T00:00:00Z").await;
    assert!(
        before.json["links"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["person"].is_null() && l["unit"].is_null())
    );
    // A community's chain stops at the community.
    let r = w
        .call(
            Method::GET,
            &format!(
                "/api/v1/places/{}/chain?at=2026-06-01T00:00:00Z",
                &w.cell[..12]
            ),
            None,
        )
        .await;
    assert_eq!(r.json["links"].as_array().unwrap().len(), 5);
}

#[actix_web::test]
async fn replacing_a_grid_member_keeps_the_old_one_in_the_past() {
    let w = World::new().await;
    let (old, _) = staff(&w).await;
    let committee = link(&w.chain("2026-06-01T00:00:00Z").await.json, "grid_member")["unit"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let new = w.person("孙网格", "grid_member", &committee).await;
    let r = w
        .assign(
            "grid_member",
            &w.cell.clone(),
            ("person_id", &new),
            "2026-03-03T00:00:00+08:00",
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let closed = r.json["closed"].as_str().unwrap().to_owned();
    assert_eq!(
        link(&w.chain("2026-03-02T12:00:00Z").await.json, "grid_member")["person"]["id"],
        old.as_str()
    );
    let now = w.chain("2026-06-01T00:00:00Z").await;
    assert_eq!(link(&now.json, "grid_member")["person"]["id"], new.as_str());
    assert_eq!(
        link(&now.json, "grid_member")["since"],
        "2026-03-02T16:00:00Z"
    );
    let h = w
        .call(
            Method::GET,
            &format!("/api/v1/assignments?kind=grid_member&target={}", w.cell),
            None,
        )
        .await;
    let h = h.json["assignments"].as_array().unwrap();
    // The generated member (2025), the one staffed in 2026, the replacement.
    assert_eq!(h.len(), 3);
    assert_eq!(h[0]["valid_to"], "2026-01-01T00:00:00Z");
    assert_eq!(h[1]["id"], closed.as_str());
    assert_eq!(h[1]["valid_to"], "2026-03-02T16:00:00Z");
    assert_eq!(h[2]["valid_to"], Value::Null);
    // Rewriting history is refused.
    let r = w
        .assign(
            "grid_member",
            &w.cell.clone(),
            ("person_id", &old),
            "2026-02-01T00:00:00Z",
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json["code"], "overlapping_assignment");
}

#[actix_web::test]
async fn with_nobody_assigned_the_level_above_answers_and_says_so() {
    let w = World::new().await;
    staff(&w).await;
    let chain = w.chain("2026-06-01T00:00:00Z").await.json;
    let household = link(&chain, "household_member")["assignment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let grid = link(&chain, "grid_member")["assignment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for id in [&household, &grid] {
        let r = w
            .call(
                Method::POST,
                &format!("/api/v1/assignments/{id}/end"),
                Some(json!({"at": "2026-05-01T00:00:00Z"})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
    }
    let chain = w.chain("2026-06-01T00:00:00Z").await.json;
    for kind in ["grid_member", "household_member"] {
        let l = link(&chain, kind);
        assert_eq!(l["fallback"], true, "{kind}");
        assert_eq!(
            l["person"]["name"], "张书记",
            "{kind}: the community secretary answers"
        );
    }
    assert_eq!(
        link(&w.chain("2026-04-01T00:00:00Z").await.json, "grid_member")["fallback"],
        false
    );
}

#[actix_web::test]
async fn the_chain_of_a_point_is_the_chain_of_its_cell() {
    let w = World::new().await;
    staff(&w).await;
    let (lon, lat) = w.point;
    let r = w
        .call(
            Method::GET,
            &format!("/api/v1/chain?lon={lon}&lat={lat}&at=2026-06-01T00:00:00Z"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["place"]["code"], w.cell.as_str());
    assert_eq!(
        link(&r.json, "household_member")["person"]["name"],
        "赵委员"
    );
    let r = w
        .app
        .send(Req {
            uri: &format!("/api/v1/chain?lon={lon}&lat={lat}"),
            token: Some(&w.member),
            ..Req::default()
        })
        .await;
    assert_eq!(r.status, 200);
    let r = w
        .app
        .send(Req {
            uri: &format!("/api/v1/chain?lon={lon}&lat={lat}"),
            ..Req::default()
        })
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(
        w.call(Method::GET, "/api/v1/chain?lon=0&lat=0", None)
            .await
            .json["code"],
        "outside_jurisdiction"
    );
    assert_eq!(
        w.call(
            Method::GET,
            &format!("/api/v1/places/{}/chain?at=yesterday", w.cell),
            None
        )
        .await
        .json["code"],
        "invalid_time"
    );
}

#[actix_web::test]
async fn assignments_name_the_right_kind_of_person_or_unit_for_the_right_place() {
    let w = World::new().await;
    let committee = w
        .unit("community_committee", "社区居委会", &w.cell[..12])
        .await;
    let grid = w.person("王网格", "grid_member", &committee).await;
    let r = w
        .assign(
            "community_secretary",
            &w.cell[..12],
            ("person_id", &grid),
            "2026-01-01T00:00:00Z",
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].as_str()),
        (400, Some("invalid_field"))
    );
    let r = w
        .assign(
            "grid_member",
            &w.cell[..12],
            ("person_id", &grid),
            "2026-01-01T00:00:00Z",
        )
        .await;
    assert_eq!(
        r.json["code"], "invalid_field",
        "a grid member answers for a cell"
    );
    let r = w
        .assign(
            "grid_member",
            "110101001001999",
            ("person_id", &grid),
            "2026-01-01T00:00:00Z",
        )
        .await;
    assert_eq!(r.json["code"], "unknown_reference");
    let r = w
        .assign(
            "street_office",
            &w.cell[..9],
            ("unit_id", &committee),
            "2026-01-01T00:00:00Z",
        )
        .await;
    assert_eq!(
        r.json["code"], "invalid_field",
        "a committee is not a street office"
    );
    let r = w
        .assign(
            "mayor",
            &w.cell,
            ("person_id", &grid),
            "2026-01-01T00:00:00Z",
        )
        .await;
    assert_eq!(r.json["code"], "invalid_field");
    let r = w
        .app
        .send(Req {
            method: Method::POST,
            uri: "/api/v1/assignments",
            token: Some(&w.member),
            body: Some(json!({"kind": "grid_member", "target": w.cell, "person_id": grid})),
            ..Req::default()
        })
        .await;
    assert_eq!(r.status, 403);
}

#[actix_web::test]
async fn every_place_of_the_default_dataset_has_a_full_generated_chain() {
    let w = World::new().await;
    let r = w.chain("2026-06-01T00:00:00Z").await;
    assert_eq!(r.status, 200);
    for l in r.json["links"].as_array().unwrap() {
        assert_eq!(l["fallback"], false, "{l}");
        assert!(l["person"].is_object() || l["unit"].is_object(), "{l}");
    }
    let (lon, lat) = w.point;
    let r = w
        .call(
            Method::GET,
            &format!("/api/v1/chain?lon={lon}&lat={lat}"),
            None,
        )
        .await;
    assert_eq!(
        link(&r.json, "grid_member")["person"]["role"],
        "grid_member"
    );
    let r = w
        .call(
            Method::POST,
            "/api/v1/sections",
            Some(json!({"name": "新片区", "places": [&w.cell[..9], "110105001"]})),
        )
        .await;
    assert_eq!(
        r.json["code"], "invalid_field",
        "a section lies in one district"
    );
}
