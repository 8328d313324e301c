//! Open311 GeoReport v2 through the real routes, as a client following the published spec uses it: discovery, the
//! services (the topics), posting a request with an API key and reading it back — with no personal data in any
//! public answer — and the request list's filters and paging. Errors come in the spec's `[{"code","description"}]`.

use crate::common;

use actix_web::http::Method;
use common::{Req, Resp, TestApp};
use gridline::domain::access::Role;
use serde_json::{Value, json};

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

/// The district, street and community names of a cell, as one line; and the district and street.
fn names_of(cell: &str) -> (String, String) {
    let index = common::beijing_index();
    let name = |code: &str| index.place(code).unwrap().name.clone();
    let (d, s, c) = (name(&cell[..6]), name(&cell[..9]), name(&cell[..12]));
    (format!("{d}{s}{c}"), format!("{d}{s}"))
}

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    serde_urlencoded::to_string(pairs).unwrap().into_bytes()
}

async fn post_form(app: &TestApp, pairs: &[(&str, &str)]) -> Resp {
    app.send_raw(
        Method::POST,
        "/open311/v2/requests.json",
        &[FORM],
        Some(form(pairs)),
    )
    .await
}

/// Asserts the spec's error body with this status.
fn assert_error(r: &Resp, status: u16) {
    assert_eq!(r.status.as_u16(), status, "{}", r.json);
    let errors = r.json.as_array().unwrap_or_else(|| panic!("{}", r.json));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["code"], status);
    assert!(!errors[0]["description"].as_str().unwrap().is_empty());
}

fn request_id(r: &Resp) -> String {
    assert_eq!(r.status, 201, "{}", r.json);
    r.json[0]["service_request_id"].as_str().unwrap().to_owned()
}

async fn post_ticket(app: &TestApp, token: &str, body: Value) -> Resp {
    app.send(Req {
        method: Method::POST,
        uri: "/api/v1/tickets",
        body: Some(body),
        token: Some(token),
        ..Req::default()
    })
    .await
}

fn hotline_ticket(no: &str, topic: &str, at: &str, lon: f64, lat: f64) -> Value {
    json!({
        "ticket_no": no,
        "received_at": at,
        "channel": "phone",
        "request_type": "complaint",
        "topic": topic,
        "text": "路灯不亮",
        "caller": { "name": "李四", "phone": "13700000000" },
        "location": { "lon": lon, "lat": lat }
    })
}

#[actix_web::test]
async fn discovery_names_the_spec_and_the_endpoint_of_this_server() {
    let app = TestApp::beijing();
    let r = app
        .send_raw(
            Method::GET,
            "/open311/v2/discovery.json",
            &[("host", "12345.example.org")],
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let e = &r.json["endpoints"][0];
    assert_eq!(e["specification"], "http://wiki.open311.org/GeoReport_v2");
    assert_eq!(e["url"], "http://12345.example.org/open311/v2");
    assert_eq!(e["formats"], json!(["application/json"]));
    assert!(r.json["contact"].as_str().unwrap().contains("12345"));
}

#[actix_web::test]
async fn the_services_are_the_active_topics_with_their_class_as_group() {
    let app = TestApp::beijing();
    let topics = app.get("/api/v1/topics").await.json["topics"].clone();
    let topics = topics.as_array().unwrap();
    let r = app.get("/open311/v2/services.json").await;
    assert_eq!(r.status, 200);
    let services = r.json.as_array().unwrap();
    let expected: Vec<&Value> = topics
        .iter()
        .filter(|t| t["active"] == true && t["code"].as_str().unwrap().len() == 4)
        .collect();
    assert_eq!(services.len(), expected.len());
    for (s, t) in services.iter().zip(expected) {
        assert_eq!(s["service_code"], t["code"]);
        assert_eq!(s["service_name"], t["name_zh"]);
        assert_eq!(s["description"], t["name_en"]);
        let class = topics
            .iter()
            .find(|c| c["code"] == t["parent_code"])
            .unwrap();
        assert_eq!(s["group"], class["name_zh"]);
        assert_eq!(s["type"], "realtime");
        assert_eq!(s["metadata"], false);
    }
    let rubbish = services
        .iter()
        .find(|s| s["service_code"] == "0101")
        .unwrap();
    assert_eq!(rubbish["service_name"], "暴露垃圾");
    assert!(
        rubbish["keywords"]
            .as_str()
            .unwrap()
            .contains("exposed rubbish")
    );
}

#[actix_web::test]
async fn a_service_definition_has_no_attributes_and_an_unknown_code_is_a_404() {
    let app = TestApp::beijing();
    let r = app.get("/open311/v2/services/0302.json").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json, json!({"service_code": "0302", "attributes": []}));
    for unknown in ["9998", "0199", "01", "abc"] {
        let r = app
            .get(&format!("/open311/v2/services/{unknown}.json"))
            .await;
        assert_error(&r, 404);
    }
}

#[actix_web::test]
async fn a_posted_request_is_filed_as_a_ticket_and_read_back_without_any_caller_data() {
    let app = TestApp::beijing();
    let key = app.api_key(Role::HotlineOperator);
    let (lon, lat, cell) = common::spot();
    let (lon_s, lat_s) = (lon.to_string(), lat.to_string());
    let r = post_form(
        &app,
        &[
            ("api_key", &key),
            ("service_code", "0101"),
            ("lat", &lat_s),
            ("long", &lon_s),
            (
                "description",
                "楼下垃圾三天没人清，请打 13812345678 或 010-6512 3456，邮件 lao.wang@example.com",
            ),
            ("first_name", "三丰"),
            ("last_name", "张"),
            ("phone", "13912345678"),
            ("email", "zhang.sanfeng@example.com"),
            ("device_id", "device-42"),
            ("media_url", "https://img.example.com/p/1.jpg"),
        ],
    )
    .await;
    let id = request_id(&r);
    assert!(id.starts_with("tkt_"), "{id}");
    assert!(r.json[0]["account_id"].is_null());
    assert!(
        r.json[0]["service_notice"]
            .as_str()
            .unwrap()
            .contains("7 天")
    );

    let got = app.get(&format!("/open311/v2/requests/{id}.json")).await;
    assert_eq!(got.status, 200);
    let all = got.json.as_array().unwrap();
    assert_eq!(all.len(), 1);
    let req = &all[0];
    assert_eq!(req["service_request_id"], id.as_str());
    assert_eq!(req["status"], "open");
    assert_eq!(req["status_notes"], "已受理");
    assert_eq!(req["service_code"], "0101");
    assert_eq!(req["service_name"], "暴露垃圾");
    let (address, street) = names_of(&cell);
    assert_eq!(req["address"], address.as_str());
    assert_eq!(req["agency_responsible"], street.as_str());
    assert_eq!(req["media_url"], "https://img.example.com/p/1.jpg");
    let text = req["description"].as_str().unwrap();
    assert!(
        text.starts_with("楼下垃圾三天没人清，请打 *********** 或 ***-**** ****"),
        "{text}"
    );
    assert!(text.ends_with("邮件 ***@***"), "{text}");
    // Rounded to 3 decimals: within about 60 m of the point, and not the point itself.
    let (plat, plon) = (req["lat"].as_f64().unwrap(), req["long"].as_f64().unwrap());
    assert!((plat - lat).abs() <= 0.0005 && (plon - lon).abs() <= 0.0005);
    assert_eq!(plat, (lat * 1000.0).round() / 1000.0);
    let requested =
        chrono::DateTime::parse_from_rfc3339(req["requested_datetime"].as_str().unwrap()).unwrap();
    let expected =
        chrono::DateTime::parse_from_rfc3339(req["expected_datetime"].as_str().unwrap()).unwrap();
    assert_eq!(expected - requested, chrono::Duration::days(7));
    let body = got.json.to_string();
    for private in [
        "13812345678",
        "6512 3456",
        "13912345678",
        "三丰",
        "zhang",
        "lao.wang",
        "device-42",
        &lon_s,
        &lat_s,
    ] {
        assert!(!body.contains(private), "{private:?} leaked: {body}");
    }

    // It is a hotline ticket like any other: channel app, an Open311 number, the caller kept for those who may
    // read them.
    let op = app.token(Role::HotlineOperator, &[]);
    let cases = app.get_as(&op, "/api/v1/cases").await;
    let case_id = cases.json["cases"][0]["id"].as_str().unwrap().to_owned();
    let detail = app.get_as(&op, &format!("/api/v1/cases/{case_id}")).await;
    let t = &detail.json["tickets"][0];
    assert_eq!(t["id"], id.as_str());
    assert_eq!(t["channel"], "app");
    assert_eq!(t["request_type"], "complaint");
    assert!(t["ticket_no"].as_str().unwrap().starts_with("O311-"));
    assert_eq!(t["caller"]["name"], "张三丰");
    assert_eq!(t["caller"]["phone"], "13912345678");
    assert_eq!(t["place"]["code"], cell.as_str());

    // And it is in the public list of the last 90 days.
    let list = app.get("/open311/v2/requests.json").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.json.as_array().unwrap().len(), 1);
    assert_eq!(list.json[0]["service_request_id"], id.as_str());
}

#[actix_web::test]
async fn posting_needs_a_valid_api_key_that_may_file_tickets() {
    let app = TestApp::beijing();
    let (lon, lat, _) = common::spot();
    let (lon_s, lat_s) = (lon.to_string(), lat.to_string());
    let fields = [
        ("service_code", "0101"),
        ("lat", lat_s.as_str()),
        ("long", lon_s.as_str()),
    ];
    assert_error(&post_form(&app, &fields).await, 403);

    let mut wrong = fields.to_vec();
    wrong.push(("api_key", "glk_0000000000000000000000000000000000000000000"));
    assert_error(&post_form(&app, &wrong).await, 403);
    let mut junk = fields.to_vec();
    junk.push(("api_key", "letmein"));
    assert_error(&post_form(&app, &junk).await, 403);

    let grid = app.api_key(Role::GridMember);
    let mut weak = fields.to_vec();
    weak.push(("api_key", &grid));
    let r = post_form(&app, &weak).await;
    assert_error(&r, 403);
    assert!(
        r.json[0]["description"]
            .as_str()
            .unwrap()
            .contains("may not")
    );

    // The key may also come as X-Api-Key or as a bearer token, like everywhere else in the API.
    let key = app.api_key(Role::HotlineOperator);
    let r = app
        .send_raw(
            Method::POST,
            "/open311/v2/requests.json",
            &[FORM, ("x-api-key", &key)],
            Some(form(&fields)),
        )
        .await;
    request_id(&r);
    let bearer = format!("Bearer {key}");
    let r = app
        .send_raw(
            Method::POST,
            "/open311/v2/requests.json",
            &[FORM, ("authorization", &bearer)],
            Some(form(&fields)),
        )
        .await;
    request_id(&r);
}

#[actix_web::test]
async fn a_request_without_a_service_or_a_location_or_with_bad_values_is_a_400() {
    let app = TestApp::beijing();
    let key = app.api_key(Role::HotlineOperator);
    let (lon, lat, _) = common::spot();
    let (lon_s, lat_s) = (lon.to_string(), lat.to_string());
    let (lon_s, lat_s) = (lon_s.as_str(), lat_s.as_str());
    let long_text = "很".repeat(5001);
    let long_text = long_text.as_str();
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("no service_code", vec![("lat", lat_s), ("long", lon_s)]),
        (
            "unknown service_code",
            vec![("service_code", "9998"), ("lat", lat_s), ("long", lon_s)],
        ),
        (
            "a class, not a service",
            vec![("service_code", "01"), ("lat", lat_s), ("long", lon_s)],
        ),
        ("no location", vec![("service_code", "0101")]),
        (
            "lat without long",
            vec![("service_code", "0101"), ("lat", lat_s)],
        ),
        (
            "lat not a number",
            vec![("service_code", "0101"), ("lat", "north"), ("long", lon_s)],
        ),
        (
            "lat out of range",
            vec![("service_code", "0101"), ("lat", "95"), ("long", lon_s)],
        ),
        (
            "unknown address_id",
            vec![("service_code", "0101"), ("address_id", "999999")],
        ),
        (
            "description too long",
            vec![
                ("service_code", "0101"),
                ("lat", lat_s),
                ("long", lon_s),
                ("description", long_text),
            ],
        ),
        (
            "phone with letters",
            vec![
                ("service_code", "0101"),
                ("lat", lat_s),
                ("long", lon_s),
                ("phone", "call me"),
            ],
        ),
        (
            "media_url not http",
            vec![
                ("service_code", "0101"),
                ("lat", lat_s),
                ("long", lon_s),
                ("media_url", "javascript:alert(1)"),
            ],
        ),
    ];
    for (what, mut fields) in cases {
        fields.push(("api_key", &key));
        let r = post_form(&app, &fields).await;
        assert_eq!(r.status, 400, "{what}: {}", r.json);
        assert_error(&r, 400);
    }
    // A body that is not a form, and one that is too large.
    let r = app
        .send_raw(
            Method::POST,
            "/open311/v2/requests.json",
            &[("content-type", "text/plain"), ("x-api-key", &key)],
            Some(b"service_code=0101".to_vec()),
        )
        .await;
    assert_error(&r, 400);
    let huge = form(&[("api_key", &key), ("description", &"x".repeat(70_000))]);
    let r = app
        .send_raw(
            Method::POST,
            "/open311/v2/requests.json",
            &[FORM],
            Some(huge),
        )
        .await;
    assert_error(&r, 413);
    // Nothing was filed.
    let op = app.token(Role::HotlineOperator, &[]);
    let cases = app.get_as(&op, "/api/v1/cases").await;
    assert_eq!(cases.json["cases"].as_array().unwrap().len(), 0);
}

#[actix_web::test]
async fn a_json_request_placed_by_address_only_is_accepted_and_anonymous_callers_count_one_each() {
    let app = TestApp::beijing();
    let key = app.api_key(Role::HotlineOperator);
    let body = json!({
        "api_key": key,
        "service_code": "0302",
        "address_string": "朝阳区望京街道",
        "description": "路灯坏了"
    });
    let r = app
        .send_raw(
            Method::POST,
            "/open311/v2/requests.json",
            &[("content-type", "application/json")],
            Some(body.to_string().into_bytes()),
        )
        .await;
    let id = request_id(&r);
    let got = app.get(&format!("/open311/v2/requests/{id}.json")).await;
    let req = &got.json[0];
    assert_eq!(req["address"], "朝阳区望京街道");
    assert_eq!(req["agency_responsible"], "朝阳区望京街道");
    assert!(req.get("lat").is_none() && req.get("long").is_none());

    // Three anonymous requests on one problem: the same case, three callers, no repeat; a dispatcher splits one
    // off and two callers remain.
    let (lon, lat, _) = common::spot();
    let (lon_s, lat_s) = (lon.to_string(), lat.to_string());
    let mut last = String::new();
    for _ in 0..3 {
        let r = post_form(
            &app,
            &[
                ("api_key", &key),
                ("service_code", "0101"),
                ("lat", &lat_s),
                ("long", &lon_s),
            ],
        )
        .await;
        last = request_id(&r);
    }
    let op = app.token(Role::HotlineOperator, &[]);
    let cases = app.get_as(&op, "/api/v1/cases?topic=0101").await;
    let case = &cases.json["cases"][0];
    assert_eq!(case["ticket_count"], 3);
    assert_eq!(case["caller_count"], 3);
    assert_eq!(case["repeat_request"], false);
    let dispatcher = app.token(Role::Dispatcher, &["110000"]);
    let r = app
        .send(Req {
            method: Method::POST,
            uri: &format!("/api/v1/cases/{}/unmerge", case["id"].as_str().unwrap()),
            body: Some(json!({"ticket_id": last, "reason": "another bin"})),
            token: Some(&dispatcher),
            ..Req::default()
        })
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["case"]["caller_count"], 2);
    assert_eq!(r.json["split_case"]["caller_count"], 1);

    // The hotline's own calls still need the caller's number.
    let mut call = hotline_ticket("P-1", "0101", "2026-03-03T09:00:00+08:00", lon, lat);
    call["caller"]["phone"] = json!("");
    let r = post_ticket(&app, &op, call).await;
    assert_eq!(r.status, 400, "{}", r.json);
}

#[actix_web::test]
async fn an_idempotency_key_makes_a_retry_file_once() {
    let app = TestApp::beijing();
    let key = app.api_key(Role::HotlineOperator);
    let (lon, lat, _) = common::spot();
    let (lon_s, lat_s) = (lon.to_string(), lat.to_string());
    let send = |description: &'static str| {
        let (key, lon_s, lat_s) = (key.clone(), lon_s.clone(), lat_s.clone());
        let app = &app;
        async move {
            let body = form(&[
                ("api_key", &key),
                ("service_code", "0101"),
                ("lat", &lat_s),
                ("long", &lon_s),
                ("description", description),
            ]);
            app.send_raw(
                Method::POST,
                "/open311/v2/requests.json",
                &[FORM, ("idempotency-key", "retry-1")],
                Some(body),
            )
            .await
        }
    };
    let first = send("垃圾").await;
    let id = request_id(&first);
    let again = send("垃圾").await;
    assert_eq!(again.status, 200, "{}", again.json);
    assert_eq!(again.json[0]["service_request_id"], id.as_str());
    assert_error(&send("别的事").await, 409);
    let op = app.token(Role::HotlineOperator, &[]);
    let cases = app.get_as(&op, "/api/v1/cases").await;
    assert_eq!(cases.json["cases"][0]["ticket_count"], 1);
}

#[actix_web::test]
async fn a_confidential_callers_request_shows_neither_text_nor_point_nor_photo() {
    let app = TestApp::beijing();
    let op = app.token(Role::HotlineOperator, &[]);
    let (lon, lat, cell) = common::spot();
    let mut t = hotline_ticket("C-1", "0101", "2026-03-03T09:00:00+08:00", lon, lat);
    t["caller"]["confidential"] = json!(true);
    t["text"] = json!("对面饭馆油烟，我住松鹤园");
    let r = post_ticket(&app, &op, t).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.json["ticket"]["id"].as_str().unwrap().to_owned();
    let got = app.get(&format!("/open311/v2/requests/{id}.json")).await;
    let req = &got.json[0];
    assert!(req.get("description").is_none(), "{req}");
    assert!(req.get("lat").is_none() && req.get("long").is_none());
    assert!(req["service_notice"].as_str().unwrap().contains("不公开"));
    assert_eq!(req["address"], names_of(&cell).0.as_str());
    assert!(!got.json.to_string().contains("松鹤园"));
}

#[actix_web::test]
async fn the_request_list_filters_by_service_status_dates_and_ids_and_bounds_its_pages() {
    let app = TestApp::beijing();
    let op = app.token(Role::HotlineOperator, &[]);
    let (lon, lat, _) = common::spot();
    let mut ids = Vec::new();
    // Far apart (about 1 km each) so that each opens its own case.
    for (i, (topic, at)) in [
        ("0101", "2026-03-01T09:00:00+08:00"),
        ("0302", "2026-03-02T09:00:00+08:00"),
        ("0101", "2026-03-03T09:00:00+08:00"),
    ]
    .into_iter()
    .enumerate()
    {
        let north = lat + (i as f64) * 0.01;
        let r = post_ticket(
            &app,
            &op,
            hotline_ticket(&format!("L-{i}"), topic, at, lon, north),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.json);
        ids.push((
            r.json["ticket"]["id"].as_str().unwrap().to_owned(),
            r.json["case"]["id"].as_str().unwrap().to_owned(),
        ));
    }
    // Close the first ticket's case (the workflow that closes cases is not built yet).
    {
        use diesel::prelude::*;
        use gridline::db::schema::cases;
        let mut c = app.state.db.writer().unwrap();
        diesel::update(cases::table.find(&ids[0].1))
            .set(cases::status.eq("closed"))
            .execute(&mut *c)
            .unwrap();
    }
    let window = "start_date=2026-02-28T00:00:00Z&end_date=2026-03-04T00:00:00Z";
    let list = |query: String| {
        let app = &app;
        async move {
            let r = app.get(&format!("/open311/v2/requests.json?{query}")).await;
            assert_eq!(r.status, 200, "{query}: {}", r.json);
            r.json
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["service_request_id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let id = |i: usize| ids[i].0.clone();
    assert_eq!(
        list(window.into()).await,
        [id(2), id(1), id(0)],
        "newest first"
    );
    assert_eq!(
        list(format!("{window}&service_code=0101")).await,
        [id(2), id(0)]
    );
    assert_eq!(
        list(format!("{window}&service_code=0101,0302")).await.len(),
        3
    );
    assert_eq!(list(format!("{window}&status=closed")).await, [id(0)]);
    assert_eq!(list(format!("{window}&status=open")).await, [id(2), id(1)]);
    assert_eq!(list(format!("{window}&status=open,closed")).await.len(), 3);
    let closed = app
        .get(&format!("/open311/v2/requests/{}.json", id(0)))
        .await;
    assert_eq!(closed.json[0]["status"], "closed");
    assert_eq!(closed.json[0]["status_notes"], "已办结");
    assert_eq!(
        list("start_date=2026-03-02T00:00:00Z&end_date=2026-03-02T12:00:00Z".into()).await,
        [id(1)]
    );
    assert_eq!(
        list("start_date=2026-03-02T00:00:00%2B08:00".into()).await,
        [id(2), id(1)],
        "only start_date: the 90 days after it"
    );
    // Ids ignore every other filter, the default 90-day window included.
    assert_eq!(
        list(format!(
            "service_request_id={},{}&service_code=0302",
            id(0),
            id(2)
        ))
        .await,
        [id(2), id(0)]
    );
    assert!(
        list(String::new()).await.is_empty(),
        "March is more than 90 days ago"
    );
    assert_eq!(list(format!("{window}&page_size=2")).await, [id(2), id(1)]);
    assert_eq!(list(format!("{window}&page_size=2&page=2")).await, [id(0)]);
    assert!(
        list(format!("{window}&page_size=2&page=3"))
            .await
            .is_empty()
    );

    for bad in [
        "page_size=201",
        "page_size=0",
        "page=51",
        "page=x",
        "status=pending",
        "service_code=01",
        "start_date=yesterday",
        "start_date=2026-01-01T00:00:00Z&end_date=2026-04-02T00:00:00Z",
        "start_date=2026-03-02T00:00:00Z&end_date=2026-03-01T00:00:00Z",
    ] {
        let r = app.get(&format!("/open311/v2/requests.json?{bad}")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.json);
        assert_error(&r, 400);
    }
}

#[actix_web::test]
async fn unknown_requests_and_paths_answer_404_in_the_open311_shape() {
    let app = TestApp::beijing();
    for uri in [
        "/open311/v2/requests/tkt_00000000000000000000000000000000.json",
        "/open311/v2/requests/nonsense.json",
        "/open311/v2/services.xml",
        "/open311/v2/nothing.json",
    ] {
        let r = app.get(uri).await;
        assert_error(&r, 404);
    }
    let r = app
        .send_raw(Method::DELETE, "/open311/v2/requests.json", &[], None)
        .await;
    assert_error(&r, 404);
}
