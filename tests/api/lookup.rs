//! Finding a ticket by its hotline number: the case list's `ticket_no` filter (scoped like every case read), the
//! caller's own status lookup without signing in (阳光办理), and list routes that refuse unknown parameters and
//! values with what they accept.

use crate::common;

use actix_web::http::Method;
use common::{Req, TestApp};
use gridline::domain::access::Role;
use serde_json::{Value, json};

/// A district other than the test spot's.
fn other_district(cell: &str) -> &'static str {
    if cell.starts_with("110108") {
        "110105"
    } else {
        "110108"
    }
}

#[actix_web::test]
async fn the_case_list_finds_a_case_by_ticket_number_only_inside_the_readers_places() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let filed = common::file_ticket(
        &app,
        "BJ20261206-9001",
        "0101",
        "13812345678",
        "楼道堆满杂物",
    )
    .await;
    let case_id = filed.json["case"]["id"].as_str().unwrap().to_owned();
    common::file_ticket(&app, "BJ20261206-9002", "0302", "13912345678", "路灯不亮").await;

    let inside = app.token(Role::Leader, &[&cell[..6]]);
    let r = app
        .get_as(&inside, "/api/v1/cases?ticket_no=BJ20261206-9001")
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let ids: Vec<&str> = r.json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [case_id.as_str()]);

    let r = app
        .get_as(&inside, "/api/v1/cases?ticket_no=BJ20261206-0000")
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["cases"], json!([]));

    let outside = app.token(Role::Leader, &[other_district(&cell)]);
    let r = app
        .get_as(&outside, "/api/v1/cases?ticket_no=BJ20261206-9001")
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.json["cases"],
        json!([]),
        "a reader elsewhere finds nothing"
    );

    let r = app
        .get_as(&inside, "/api/v1/cases?ticket_no=BJ%20DROP")
        .await;
    assert_eq!(r.status, 400, "{}", r.json);
}

async fn lookup(app: &TestApp, body: Value, peer: &str) -> common::Resp {
    app.send(Req {
        method: Method::POST,
        uri: "/api/v1/public/status",
        body: Some(body),
        peer: Some(peer.parse().unwrap()),
        ..Req::default()
    })
    .await
}

#[actix_web::test]
async fn a_caller_sees_the_status_of_their_ticket_with_the_last_four_digits_of_their_phone() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    common::file_ticket(
        &app,
        "BJ20261206-9101",
        "0101",
        "13812345678",
        "楼下垃圾三天没人清，联系我13812345678",
    )
    .await;
    let r = lookup(
        &app,
        json!({"ticket_no": "BJ20261206-9101", "phone_last4": "5678"}),
        "203.0.113.7:40000",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["ticket_no"], "BJ20261206-9101");
    assert_eq!(r.json["status"], "received");
    assert_eq!(r.json["status_note"], "已受理");
    assert_eq!(r.json["reply"], Value::Null);
    let body = r.json.to_string();
    for private in ["王小明", "13812345678", "5678", "楼下垃圾", &cell[..6]] {
        assert!(!body.contains(private), "{private} leaked: {body}");
    }
}

#[actix_web::test]
async fn a_wrong_second_factor_gets_the_same_404_as_an_unknown_ticket() {
    let app = TestApp::beijing();
    common::file_ticket(&app, "BJ20261206-9201", "0101", "13812345678", "垃圾").await;
    let wrong = lookup(
        &app,
        json!({"ticket_no": "BJ20261206-9201", "phone_last4": "0000"}),
        "203.0.113.8:40000",
    )
    .await;
    let unknown = lookup(
        &app,
        json!({"ticket_no": "BJ20261206-9299", "phone_last4": "5678"}),
        "203.0.113.8:40000",
    )
    .await;
    assert_eq!(wrong.status, 404, "{}", wrong.json);
    assert_eq!((wrong.status, &wrong.json), (unknown.status, &unknown.json));
    assert_eq!(wrong.json["code"], "ticket_not_found");
}

#[actix_web::test]
async fn too_many_lookups_from_one_address_answer_429_with_retry_after() {
    let app = TestApp::beijing();
    let mut statuses = Vec::new();
    for k in 0..12 {
        let r = lookup(
            &app,
            json!({"ticket_no": format!("BJ20261206-{k:04}"), "phone_last4": "1234"}),
            "198.51.100.9:5000",
        )
        .await;
        statuses.push(r.status.as_u16());
        if r.status == 429 {
            assert_eq!(r.json["code"], "too_many_attempts");
            assert!(r.headers.contains_key("retry-after"));
        }
    }
    assert_eq!(statuses[..10], [404; 10]);
    assert_eq!(statuses[10..], [429, 429]);
    let elsewhere = lookup(
        &app,
        json!({"ticket_no": "BJ20261206-0001", "phone_last4": "1234"}),
        "198.51.100.10:5000",
    )
    .await;
    assert_eq!(elsewhere.status, 404, "another address has its own count");
}

#[actix_web::test]
async fn guessing_one_tickets_digits_from_many_addresses_is_stopped_too() {
    let app = TestApp::beijing();
    common::file_ticket(&app, "BJ20261206-9301", "0101", "13812345678", "垃圾").await;
    let mut last = 0;
    for k in 0..11u16 {
        let r = lookup(
            &app,
            json!({"ticket_no": "BJ20261206-9301", "phone_last4": format!("{:04}", k)}),
            &format!("192.0.2.{}:6000", k + 1),
        )
        .await;
        last = r.status.as_u16();
    }
    assert_eq!(last, 429);
}

#[actix_web::test]
async fn list_routes_refuse_unknown_parameters_and_values_with_what_they_accept() {
    let app = TestApp::beijing();
    let admin = app.token(Role::Admin, &[]);
    let r = app.get_as(&admin, "/api/v1/cases?stauts=closed").await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert_eq!(r.json["code"], "unknown_query_parameter");
    let accepted = r.json["accepted"].as_array().unwrap();
    assert!(accepted.contains(&json!("status")) && accepted.contains(&json!("ticket_no")));

    let r = app.get_as(&admin, "/api/v1/cases?status=finished").await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert_eq!(r.json["code"], "invalid_query_value");
    assert!(
        r.json["accepted"]
            .as_array()
            .unwrap()
            .contains(&json!("closed"))
    );
    let r = app.get_as(&admin, "/api/v1/cases?source=fax").await;
    assert_eq!(r.json["code"], "invalid_query_value", "{}", r.json);
    assert_eq!(
        r.json["accepted"],
        json!(["hotline", "patrol", "mixed", "proactive"])
    );

    for uri in [
        "/api/v1/units?knd=street",
        "/api/v1/places/110105/children?simplfy=10",
        "/api/v1/sync/conflicts?limt=5",
        "/api/v1/policy?all=1",
        "/api/v1/topics?lang=en",
    ] {
        let r = app.get_as(&admin, uri).await;
        assert_eq!(r.status, 400, "{uri}: {}", r.json);
        assert_eq!(r.json["code"], "unknown_query_parameter", "{uri}");
        assert!(r.json["accepted"].is_array(), "{uri}");
    }

    let r = app.get("/open311/v2/requests.json?statuss=open").await;
    assert_eq!(r.status, 400, "{}", r.json);
    let description = r.json[0]["description"].as_str().unwrap();
    assert!(
        description.contains("statuss") && description.contains("service_code"),
        "{description}"
    );
}

#[actix_web::test]
async fn every_fixed_value_query_parameter_is_refused_with_the_values_it_accepts() {
    let app = TestApp::beijing();
    let admin = app.token(Role::Admin, &[]);
    for (uri, code, among) in [
        (
            "/api/v1/units?kind=bureau",
            "invalid_query_value",
            "department",
        ),
        (
            "/api/v1/dispatch/queue?kind=stuck",
            "invalid_query_value",
            "returned",
        ),
        (
            "/api/v1/assessment?month=2026-11&level=cell",
            "invalid_query_value",
            "handler",
        ),
        (
            "/api/v1/assignments?kind=boss&target=110105",
            "invalid_query_value",
            "grid_member",
        ),
        (
            "/api/v1/locate?lon=116.3975&lat=39.9087&crs=utm",
            "unknown_crs",
            "gcj02",
        ),
        (
            "/api/v1/chain?lon=116.3975&lat=39.9087&crs=utm",
            "unknown_crs",
            "bd09",
        ),
    ] {
        let r = app.get_as(&admin, uri).await;
        assert_eq!(r.status, 400, "{uri}: {}", r.json);
        assert_eq!(r.json["code"], code, "{uri}: {}", r.json);
        let accepted = r.json["accepted"]
            .as_array()
            .unwrap_or_else(|| panic!("{uri}: no accepted list in {}", r.json));
        assert!(accepted.contains(&json!(among)), "{uri}: {accepted:?}");
    }
    // The accepted values are accepted.
    for uri in [
        "/api/v1/units?kind=department",
        "/api/v1/dispatch/queue?kind=returned",
        "/api/v1/assessment?month=2026-11&level=handler",
        "/api/v1/assignments?kind=grid_member&target=110105001001001",
        "/api/v1/locate?lon=116.3975&lat=39.9087&crs=gcj02",
    ] {
        let r = app.get_as(&admin, uri).await;
        assert_eq!(r.status, 200, "{uri}: {}", r.json);
    }
}

#[actix_web::test]
async fn after_the_reply_the_caller_sees_it_and_the_deadlines_without_contact_details() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let filed = common::file_ticket(&app, "BJ20261206-9401", "0101", "13812345678", "垃圾").await;
    let case = filed.json["case"]["id"].as_str().unwrap().to_owned();
    let op = app.token(Role::HotlineOperator, &[]);
    let d = app.get_as(&op, &format!("/api/v1/cases/{case}")).await;
    let units: Vec<String> = d.json["chain"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["unit"]["id"].as_str().map(str::to_owned))
        .collect();
    let dispatcher = app.token(Role::Dispatcher, &[&cell[..6]]);
    let street = app.token(Role::StreetHandler, &[&cell[..9]]);
    let photo = common::stored_photo(&app, &street, 7).await;
    let uri = format!("/api/v1/cases/{case}/transitions");
    for (token, body) in [
        (
            &dispatcher,
            json!({"action": "dispatch", "targets": [units[1]]}),
        ),
        (&street, json!({"action": "accept"})),
        (&street, json!({"action": "start"})),
        (
            &street,
            json!({"action": "reply", "note": "已清理完毕，如有问题请联系13900001111", "evidence": [photo]}),
        ),
    ] {
        let r = app.post_as(token, &uri, body).await;
        assert!(r.status.is_success(), "{}", r.json);
    }
    let r = lookup(
        &app,
        json!({"ticket_no": "BJ20261206-9401", "phone_last4": "5678"}),
        "203.0.113.20:1",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["status"], "replied");
    assert_eq!(r.json["time_class"], "7d");
    assert!(r.json["complete_due_at"].is_string() && r.json["respond_due_at"].is_string());
    let reply = r.json["reply"].as_str().unwrap();
    assert!(reply.starts_with("已清理完毕"), "{reply}");
    assert!(!reply.contains("13900001111"), "{reply}");
    assert!(r.json["replied_at"].is_string());
}
