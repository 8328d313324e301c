//! The chain is answered from memory: every write (people, units, sections, assignments), through the API or by
//! calling the use-case directly as the command line and sync do, shows in the very next chain read, of a place and
//! of a point.

use crate::common;

use actix_web::http::Method;
use common::{Req, Resp, TestApp};
use gridline::domain::access::Role;
use serde_json::{Value, json};

struct World {
    app: TestApp,
    admin: String,
    cell: String,
    point: (f64, f64),
}

impl World {
    fn new() -> World {
        let app = TestApp::beijing();
        let index = common::beijing_index();
        let point = gridline::geo::grid::center(862, 566);
        let cell = index
            .cell_code(index.cell_at(point.0, point.1).unwrap())
            .to_owned();
        let admin = app.token(Role::Admin, &[]);
        World {
            app,
            admin,
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

    async fn ok(&self, method: Method, uri: &str, body: Value) -> Value {
        let r = self.call(method, uri, Some(body)).await;
        assert!(r.status.is_success(), "{uri}: {} {}", r.status, r.json);
        r.json
    }

    async fn chain(&self, at: &str) -> Value {
        let r = self
            .call(
                Method::GET,
                &format!("/api/v1/places/{}/chain?at={at}", self.cell),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        r.json
    }

    async fn point_chain(&self, at: &str) -> Value {
        let (lon, lat) = self.point;
        let r = self
            .call(
                Method::GET,
                &format!("/api/v1/chain?lon={lon}&lat={lat}&at={at}"),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        r.json
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

const AT: &str = "2026-06-01T00:00:00Z";

#[actix_web::test]
async fn renaming_or_moving_a_person_and_renaming_a_unit_show_in_the_next_chain() {
    let w = World::new();
    let before = w.chain(AT).await;
    let grid = link(&before, "grid_member");
    let person = grid["person"]["id"].as_str().unwrap().to_owned();
    let unit = grid["unit"]["id"].as_str().unwrap().to_owned();

    w.ok(
        Method::PATCH,
        &format!("/api/v1/people/{person}"),
        json!({"name": "改名网格员", "phone": "010-65123456"}),
    )
    .await;
    let after = w.chain(AT).await;
    assert_eq!(link(&after, "grid_member")["person"]["name"], "改名网格员");
    assert_eq!(
        link(&after, "grid_member")["person"]["phone"],
        "010-65123456"
    );

    w.ok(
        Method::PATCH,
        &format!("/api/v1/units/{unit}"),
        json!({"name": "改名居委会"}),
    )
    .await;
    assert_eq!(
        link(&w.point_chain(AT).await, "grid_member")["unit"]["name"],
        "改名居委会"
    );

    let new_unit = w
        .ok(
            Method::POST,
            "/api/v1/units",
            json!({"kind": "community_committee", "name": "新居委会", "place_code": &w.cell[..12]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.ok(
        Method::PATCH,
        &format!("/api/v1/people/{person}"),
        json!({"unit_id": new_unit}),
    )
    .await;
    let moved = w.chain(AT).await;
    assert_eq!(link(&moved, "grid_member")["unit"]["id"], new_unit.as_str());
    assert_eq!(link(&moved, "grid_member")["unit"]["name"], "新居委会");
}

#[actix_web::test]
async fn a_new_assignment_and_its_end_show_in_the_next_chain_of_a_place_and_of_a_point() {
    let w = World::new();
    let before = w.chain(AT).await;
    let committee = link(&before, "grid_member")["unit"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let old = link(&before, "grid_member")["person"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let new = w
        .ok(
            Method::POST,
            "/api/v1/people",
            json!({"name": "孙网格", "phone": "13800000000", "unit_id": committee, "role": "grid_member"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let assigned = w
        .ok(
            Method::POST,
            "/api/v1/assignments",
            json!({"kind": "grid_member", "target": w.cell, "person_id": new, "valid_from": "2026-03-03T00:00:00+08:00"}),
        )
        .await;
    let id = assigned["assignment"]["id"].as_str().unwrap().to_owned();
    for chain in [w.chain(AT).await, w.point_chain(AT).await] {
        let g = link(&chain, "grid_member");
        assert_eq!(g["person"]["id"], new.as_str());
        assert_eq!(g["assignment_id"], id.as_str());
        assert_eq!(g["since"], "2026-03-02T16:00:00Z");
    }
    assert_eq!(
        link(&w.chain("2026-03-01T00:00:00Z").await, "grid_member")["person"]["id"],
        old.as_str(),
        "the past keeps the old one"
    );

    w.ok(
        Method::POST,
        &format!("/api/v1/assignments/{id}/end"),
        json!({"at": "2026-05-01T00:00:00Z"}),
    )
    .await;
    let ended = w.point_chain(AT).await;
    let g = link(&ended, "grid_member");
    assert_eq!(g["fallback"], true, "{g}");
    assert_eq!(
        g["person"]["role"], "community_secretary",
        "the level above answers"
    );
    assert_eq!(
        link(&w.chain("2026-04-01T00:00:00Z").await, "grid_member")["person"]["id"],
        new.as_str()
    );
}

#[actix_web::test]
async fn a_new_section_and_its_leader_show_in_the_next_chain() {
    let w = World::new();
    let community = &w.cell[..12];
    let generated = link(&w.chain(AT).await, "section_leader").clone();
    let section = w
        .ok(
            Method::POST,
            "/api/v1/sections",
            json!({"name": "新片区", "places": [community]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let office = w
        .ok(
            Method::POST,
            "/api/v1/units",
            json!({"kind": "street_office", "name": "街道办事处", "place_code": &w.cell[..9]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let leader = w
        .ok(
            Method::POST,
            "/api/v1/people",
            json!({"name": "刘领导", "phone": "13800000000", "unit_id": office, "role": "leader"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.ok(
        Method::POST,
        "/api/v1/assignments",
        json!({"kind": "section_leader", "target": section, "person_id": leader, "valid_from": "2026-03-01T00:00:00Z"}),
    )
    .await;
    // The generated section's leader steps down, so the new section's leader is the one who answers.
    let generated_id = generated["assignment_id"].as_str().unwrap();
    w.ok(
        Method::POST,
        &format!("/api/v1/assignments/{generated_id}/end"),
        json!({"at": "2026-04-01T00:00:00Z"}),
    )
    .await;
    let chain = w.chain(AT).await;
    let l = link(&chain, "section_leader");
    assert_eq!(l["fallback"], false, "{l}");
    assert_eq!(l["target"], section.as_str());
    assert_eq!(l["person"]["name"], "刘领导");
    assert_eq!(l["unit"]["id"], office.as_str());
    assert_eq!(
        link(&w.chain("2026-02-15T00:00:00Z").await, "section_leader")["assignment_id"],
        generated_id,
        "before the new leader, the generated one answers"
    );
}

#[actix_web::test]
async fn a_person_and_a_chain_import_written_without_a_handler_show_in_the_next_chain() {
    use gridline::service::{admin::org, chain};
    let w = World::new();
    let st = &w.app.state;
    let committee = link(&w.chain(AT).await, "grid_member")["unit"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let person = org::create_person(
        &st.db,
        &st.chain,
        org::PersonInput {
            name: Some("周导入".into()),
            phone: Some("13800000001".into()),
            unit_id: Some(committee),
            role: Some("grid_member".into()),
        },
        st.clock.now(),
    )
    .unwrap();
    let csv = format!(
        "kind,target,person_id,unit_id,valid_from\ngrid_member,{},{},,2026-04-01T00:00:00Z\n",
        w.cell, person.id
    );
    assert_eq!(
        chain::import_csv(&st.db, &st.chain, &csv, st.clock.now()).unwrap(),
        1
    );
    for chain in [w.chain(AT).await, w.point_chain(AT).await] {
        let g = link(&chain, "grid_member");
        assert_eq!(g["person"]["id"], person.id.as_str(), "{g}");
        assert_eq!(g["person"]["name"], "周导入");
        assert_eq!(g["since"], "2026-04-01T00:00:00Z");
    }
}
