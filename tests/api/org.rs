//! Units and people through the real routes: create, list, read, change, delete, with their rules and rights.

use crate::common;

use actix_web::http::Method;
use common::{Req, Resp, TestApp};
use gridline::domain::access::Role;
use serde_json::{Value, json};

struct Org {
    app: TestApp,
    admin: String,
    member: String,
}

impl Org {
    async fn new() -> Org {
        let app = TestApp::beijing();
        let admin = app.token(Role::Admin, &[]);
        let member = app.token(Role::GridMember, &[]);
        Org { app, admin, member }
    }

    async fn as_(&self, token: &str, method: Method, uri: &str, body: Option<Value>) -> Resp {
        self.app
            .send(Req {
                method,
                uri,
                body,
                token: Some(token),
                ..Req::default()
            })
            .await
    }

    async fn admin(&self, method: Method, uri: &str, body: Option<Value>) -> Resp {
        self.as_(&self.admin, method, uri, body).await
    }
}

#[actix_web::test]
async fn a_street_office_and_its_handler_are_created_read_changed_and_deleted() {
    let o = Org::new().await;
    let r = o.admin(Method::POST, "/api/v1/units", Some(json!({"kind": "street_office", "name": " 建外街道办事处 ", "place_code": "110105001"}))).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let unit = r.json["id"].as_str().unwrap().to_owned();
    assert_eq!(r.json["name"], "建外街道办事处", "trimmed");
    assert_eq!(r.json["district_code"], "110105");
    let r = o
        .admin(
            Method::POST,
            "/api/v1/people",
            Some(
                json!({"name": "李明", "phone": "13812345678", "unit_id": unit, "role": "handler"}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let person = r.json["id"].as_str().unwrap().to_owned();
    let r = o
        .as_(
            &o.member,
            Method::GET,
            &format!("/api/v1/people?unit={unit}"),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["people"][0]["id"], person.as_str());
    let r = o
        .admin(
            Method::PATCH,
            &format!("/api/v1/people/{person}"),
            Some(json!({"phone": "010-85123456"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["phone"], "010-85123456");
    assert_eq!(r.json["name"], "李明", "absent fields keep their value");
    let r = o
        .admin(Method::DELETE, &format!("/api/v1/units/{unit}"), None)
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json["code"], "unit_in_use");
    assert_eq!(
        o.admin(Method::DELETE, &format!("/api/v1/people/{person}"), None)
            .await
            .status,
        204
    );
    assert_eq!(
        o.admin(Method::DELETE, &format!("/api/v1/units/{unit}"), None)
            .await
            .status,
        204
    );
    let r = o
        .admin(Method::GET, &format!("/api/v1/units/{unit}"), None)
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json["code"], "unit_not_found");
}

#[actix_web::test]
async fn departments_answer_for_topics_and_lists_filter_by_kind_and_place() {
    let o = Org::new().await;
    let r = o.admin(Method::POST, "/api/v1/units", Some(json!({"kind": "department", "name": "朝阳区城管委", "place_code": "110105", "topics": ["0101", "01", "0101"]}))).await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["topics"], json!(["01", "0101"]));
    o.admin(
        Method::POST,
        "/api/v1/units",
        Some(json!({"kind": "hotline_centre", "name": "12345市民热线服务中心"})),
    )
    .await;
    let r = o
        .admin(Method::GET, "/api/v1/units?kind=department", None)
        .await;
    let departments = r.json["units"].as_array().unwrap();
    assert!(departments.iter().all(|u| u["kind"] == "department"));
    assert_eq!(
        departments
            .iter()
            .filter(|u| u["name"] == "朝阳区城管委")
            .count(),
        1
    );
    // Every district has the dispatch catalogue's departments, generated with the dataset.
    let generated = departments.len() - 1;
    assert!(generated > 0 && generated % 16 == 0, "{generated}");
    let r = o
        .admin(Method::GET, "/api/v1/units?place=110105", None)
        .await;
    let names: Vec<&str> = r.json["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2 + generated / 16, "{names:?}");
    assert!(
        names.contains(&"朝阳区城管委") && names.contains(&"朝阳区接诉即办调度指挥中心"),
        "with the generated command centre: {names:?}"
    );
    let r = o
        .admin(Method::GET, "/api/v1/units?kind=hotline_centre", None)
        .await;
    assert_eq!(
        r.json["units"].as_array().unwrap().len(),
        2,
        "the generated hotline centre and the new one"
    );
    let r = o.admin(Method::GET, "/api/v1/units?kind=bank", None).await;
    assert_eq!(r.json["code"], "invalid_query_value");
    assert!(
        r.json["accepted"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("department")),
        "{}",
        r.json
    );
}

#[actix_web::test]
async fn bad_fields_and_unknown_references_are_refused_with_the_field_named() {
    let o = Org::new().await;
    for (body, code, field) in [
        (json!({"name": "x"}), "invalid_field", "kind"),
        (
            json!({"kind": "street_office", "name": "x"}),
            "invalid_field",
            "place_code",
        ),
        (
            json!({"kind": "street_office", "name": "x", "place_code": "110105"}),
            "invalid_field",
            "place_code",
        ),
        (
            json!({"kind": "street_office", "name": "", "place_code": "110105001"}),
            "invalid_field",
            "name",
        ),
        (
            json!({"kind": "street_office", "name": "x", "place_code": "110105001", "topics": ["01"]}),
            "invalid_field",
            "topics",
        ),
        (
            json!({"kind": "department", "name": "x", "place_code": "110105", "topics": ["7"]}),
            "invalid_field",
            "topics",
        ),
        (
            json!({"kind": "street_office", "name": "x", "place_code": "110105999"}),
            "unknown_reference",
            "110105999",
        ),
    ] {
        let r = o
            .admin(Method::POST, "/api/v1/units", Some(body.clone()))
            .await;
        assert_eq!(r.json["code"], code, "{body}");
        assert!(
            r.json["message"].as_str().unwrap().contains(field),
            "{body}: {}",
            r.json["message"]
        );
    }
    let unit = o.admin(Method::POST, "/api/v1/units", Some(json!({"kind": "community_committee", "name": "大江社区居委会", "place_code": "110101011006"}))).await;
    let unit = unit.json["id"].as_str().unwrap();
    for (body, code) in [
        (
            json!({"name": "张三", "phone": "12345", "unit_id": unit, "role": "grid_member"}),
            "invalid_field",
        ),
        (
            json!({"name": "张三", "phone": "13812345678", "unit_id": unit, "role": "mayor"}),
            "invalid_field",
        ),
        (
            json!({"name": "张三", "phone": "13812345678", "role": "grid_member"}),
            "invalid_field",
        ),
        (
            json!({"name": "张三", "phone": "13812345678", "unit_id": "unit_00000000000000000000000000000000", "role": "grid_member"}),
            "unknown_reference",
        ),
    ] {
        let r = o
            .admin(Method::POST, "/api/v1/people", Some(body.clone()))
            .await;
        assert_eq!(r.json["code"], code, "{body}");
    }
    let r = o
        .admin(Method::GET, "/api/v1/people/person_nonsense", None)
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].as_str()),
        (404, Some("person_not_found"))
    );
}

#[actix_web::test]
async fn only_admins_change_the_organisation_and_everyone_must_sign_in() {
    let o = Org::new().await;
    let body = json!({"kind": "hotline_centre", "name": "12345"});
    let r = o
        .as_(&o.member, Method::POST, "/api/v1/units", Some(body.clone()))
        .await;
    assert_eq!(r.status, 403);
    let r = o
        .app
        .send(Req {
            method: Method::GET,
            uri: "/api/v1/units",
            ..Req::default()
        })
        .await;
    assert_eq!(r.status, 401);
    let unit = o
        .admin(Method::POST, "/api/v1/units", Some(body))
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        o.as_(
            &o.member,
            Method::GET,
            &format!("/api/v1/units/{unit}"),
            None
        )
        .await
        .status,
        200
    );
    assert_eq!(
        o.as_(
            &o.member,
            Method::PATCH,
            &format!("/api/v1/units/{unit}"),
            Some(json!({"name": "y"}))
        )
        .await
        .status,
        403
    );
    assert_eq!(
        o.as_(
            &o.member,
            Method::DELETE,
            &format!("/api/v1/units/{unit}"),
            None
        )
        .await
        .status,
        403
    );
}

impl Org {
    async fn created(&self, uri: &str, body: Value) -> String {
        let r = self.admin(Method::POST, uri, Some(body)).await;
        assert_eq!(r.status, 201, "{}", r.json);
        r.json["id"].as_str().unwrap().to_owned()
    }
}

#[actix_web::test]
async fn a_person_named_by_an_assignment_is_not_deleted_and_the_answer_says_why() {
    let o = Org::new().await;
    let (_, _, cell) = common::spot();
    let unit = o
        .created(
            "/api/v1/units",
            json!({"kind": "community_committee", "name": "花家地社区居委会", "place_code": &cell[..12]}),
        )
        .await;
    let person = o
        .created(
            "/api/v1/people",
            json!({"name": "王网格", "phone": "13812345678", "unit_id": unit, "role": "grid_member"}),
        )
        .await;
    let r = o
        .admin(
            Method::POST,
            "/api/v1/assignments",
            Some(json!({"kind": "grid_member", "target": cell, "person_id": person})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);

    let r = o
        .admin(Method::DELETE, &format!("/api/v1/people/{person}"), None)
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].clone()),
        (409, json!("person_has_assignments")),
        "{}",
        r.json
    );
    let r = o
        .admin(Method::GET, &format!("/api/v1/people/{person}"), None)
        .await;
    assert_eq!(r.status, 200, "the person is still there");
}

#[actix_web::test]
async fn a_unit_named_by_an_assignment_is_not_deleted() {
    let o = Org::new().await;
    let (_, _, cell) = common::spot();
    let street = &cell[..9];
    let unit = o
        .created(
            "/api/v1/units",
            json!({"kind": "street_office", "name": "新街道办事处", "place_code": street}),
        )
        .await;
    let r = o
        .admin(
            Method::POST,
            "/api/v1/assignments",
            Some(json!({"kind": "street_office", "target": street, "unit_id": unit})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);

    let r = o
        .admin(Method::DELETE, &format!("/api/v1/units/{unit}"), None)
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].clone()),
        (409, json!("unit_in_use")),
        "{}",
        r.json
    );
    assert!(
        r.json["message"].as_str().unwrap().contains("assignment"),
        "{}",
        r.json
    );
}

#[actix_web::test]
async fn a_unit_with_a_dispatched_open_case_is_not_deleted_and_the_case_is_listed() {
    let o = Org::new().await;
    let (_, _, cell) = common::spot();
    let unit = o
        .created(
            "/api/v1/units",
            json!({"kind": "department", "name": "临时专班", "place_code": &cell[..6], "topics": ["0101"]}),
        )
        .await;
    let case = common::file_ticket(&o.app, "DEL-1", "0101", "13811112222", "楼下垃圾三天没人清")
        .await
        .json["case"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = o
        .admin(
            Method::POST,
            &format!("/api/v1/cases/{case}/transitions"),
            Some(json!({"action": "dispatch", "targets": [unit]})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);

    let r = o
        .admin(Method::DELETE, &format!("/api/v1/units/{unit}"), None)
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].clone()),
        (409, json!("unit_has_open_work")),
        "{}",
        r.json
    );
    assert_eq!(r.json["cases"], json!([case]));
    let r = o
        .admin(Method::GET, &format!("/api/v1/units/{unit}"), None)
        .await;
    assert_eq!(r.status, 200, "the unit is still there");
}

#[actix_web::test]
async fn a_unit_that_users_act_for_is_not_deleted() {
    let o = Org::new().await;
    let unit = o
        .created(
            "/api/v1/units",
            json!({"kind": "department", "name": "区水务局", "place_code": "110105", "topics": ["0702"]}),
        )
        .await;
    o.app.department_handler(&["07"], &[&unit]);
    let r = o
        .admin(Method::DELETE, &format!("/api/v1/units/{unit}"), None)
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].clone()),
        (409, json!("unit_in_use")),
        "{}",
        r.json
    );
}
