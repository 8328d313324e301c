//! Intake through the real routes: tickets and reports are placed, merged into cases with their reasons, flagged as
//! group or repeat requests, can be unmerged, are idempotent, and callers stay masked except for those who may
//! read them (each such read audited).

use crate::common;

use common::{Resp, TestApp};
use gridline::domain::access::Role;
use serde_json::{Value, json};

/// `metres` north of a point.
fn north(lat: f64, metres: f64) -> f64 {
    lat + metres / 111_195.0
}

fn ticket(no: &str, topic: &str, phone: &str, lon: f64, lat: f64) -> Value {
    json!({
        "ticket_no": no,
        "received_at": "2026-03-03T09:00:00+08:00",
        "channel": "phone",
        "request_type": "complaint",
        "topic": topic,
        "text": "楼下垃圾堆了三天没人清",
        "caller": { "name": "张三丰", "phone": phone },
        "location": { "lon": lon, "lat": lat }
    })
}

fn case_id(r: &Resp) -> String {
    r.json["case"]["id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn the_taxonomy_is_public_and_complete() {
    let app = TestApp::beijing();
    let r = app.get("/api/v1/topics").await;
    assert_eq!(r.status, 200);
    let topics = r.json["topics"].as_array().unwrap();
    assert_eq!(
        topics.iter().filter(|t| t["parent_code"].is_null()).count(),
        13
    );
    let heating = topics.iter().find(|t| t["code"] == "0701").unwrap();
    assert_eq!(heating["time_class"], "24h");
    assert_eq!(heating["merge_same_building"], true);
}

#[actix_web::test]
async fn a_ticket_is_placed_given_its_chain_and_opens_a_case() {
    let app = TestApp::beijing();
    let op = app.token(Role::HotlineOperator, &[]);
    let (lon, lat, cell) = common::spot();
    let r = app
        .post_as(
            &op,
            "/api/v1/tickets",
            ticket("T-1", "0101", "13812345678", lon, lat),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["created"], true);
    assert_eq!(r.json["ticket"]["location_precision"], "point");
    assert_eq!(r.json["ticket"]["place"]["code"], cell.as_str());
    assert_eq!(r.json["ticket"]["caller"]["phone"], "138****5678");
    assert_eq!(r.json["ticket"]["caller"]["masked"], true);
    assert_eq!(r.json["merge"]["outcome"], "opened");
    assert_eq!(r.json["case"]["ticket_count"], 1);
    assert_eq!(r.json["case"]["opened_at"], "2026-03-03T01:00:00Z");

    // The chain stored with the case is the chain of the cell at that moment: down to the grid member.
    let id = case_id(&r);
    let d = app.get_as(&op, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(d.status, 200);
    let kinds: Vec<&str> = d.json["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"grid_member"), "{kinds:?}");
    assert!(kinds.contains(&"command_centre"), "{kinds:?}");
    let grid = d.json["chain"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "grid_member")
        .unwrap();
    assert_eq!(grid["target"], cell.as_str());
    assert!(grid["person"]["name"].is_string());
}

#[actix_web::test]
async fn the_same_ticket_twice_is_stored_once_and_a_reused_number_is_refused() {
    let app = TestApp::beijing();
    let op = app.token(Role::HotlineOperator, &[]);
    let (lon, lat, _) = common::spot();
    let body = ticket("T-2", "0101", "13812345678", lon, lat);
    let first = app.post_as(&op, "/api/v1/tickets", body.clone()).await;
    assert_eq!(first.status, 201);
    let again = app.post_as(&op, "/api/v1/tickets", body.clone()).await;
    assert_eq!(again.status, 200, "{}", again.json);
    assert_eq!(again.json["created"], false);
    assert_eq!(again.json["ticket"]["id"], first.json["ticket"]["id"]);
    assert_eq!(again.json["case"]["ticket_count"], 1);
    let mut changed = body;
    changed["text"] = json!("另一件事");
    let reused = app.post_as(&op, "/api/v1/tickets", changed).await;
    assert_eq!(reused.status, 409);
    assert_eq!(reused.json["code"], "ticket_no_reused");
    let page = app.get_as(&op, "/api/v1/cases").await;
    assert_eq!(page.json["cases"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn tickets_80_m_apart_merge_and_400_m_apart_or_on_another_topic_do_not() {
    let app = TestApp::beijing();
    let op = app.token(Role::HotlineOperator, &[]);
    let (lon, lat, _) = common::spot();
    let a = app
        .post_as(
            &op,
            "/api/v1/tickets",
            ticket("M-1", "0101", "13800000001", lon, lat),
        )
        .await;
    let near = app
        .post_as(
            &op,
            "/api/v1/tickets",
            ticket("M-2", "0101", "13800000002", lon, north(lat, 80.0)),
        )
        .await;
    assert_eq!(near.status, 201, "{}", near.json);
    assert_eq!(
        case_id(&near),
        case_id(&a),
        "80 m apart on the same topic merge"
    );
    assert_eq!(near.json["merge"]["outcome"], "joined");
    let d = near.json["merge"]["distance_m"].as_f64().unwrap();
    assert!((d - 80.0).abs() < 2.0, "{d}");
    assert!(
        near.json["merge"]["reason"]
            .as_str()
            .unwrap()
            .contains("0101")
    );
    assert_eq!(near.json["case"]["ticket_count"], 2);
    assert_eq!(near.json["case"]["caller_count"], 2);

    let far = app
        .post_as(
            &op,
            "/api/v1/tickets",
            ticket("M-3", "0101", "13800000003", lon, north(lat, 400.0)),
        )
        .await;
    assert_ne!(case_id(&far), case_id(&a), "400 m apart do not merge");
    assert_eq!(far.json["merge"]["outcome"], "opened");
    let other = app
        .post_as(
            &op,
            "/api/v1/tickets",
            ticket("M-4", "0302", "13800000004", lon, lat),
        )
        .await;
    assert_ne!(case_id(&other), case_id(&a), "another topic does not merge");
}

#[actix_web::test]
async fn five_callers_make_a_group_request_and_a_caller_again_is_a_repeat() {
    let app = TestApp::beijing();
    let op = app.token(Role::HotlineOperator, &[]);
    let (lon, lat, _) = common::spot();
    let mut last = None;
    for i in 0..5 {
        let r = app
            .post_as(
                &op,
                "/api/v1/tickets",
                ticket(
                    &format!("G-{i}"),
                    "0101",
                    &format!("1390000000{i}"),
                    lon,
                    north(lat, f64::from(i) * 10.0),
                ),
            )
            .await;
        assert_eq!(r.status, 201);
        assert_eq!(
            r.json["case"]["group_request"],
            i == 4,
            "after {} callers",
            i + 1
        );
        last = Some(r);
    }
    let last = last.unwrap();
    assert_eq!(last.json["case"]["priority"], 1);
    assert_eq!(last.json["case"]["repeat_request"], false);
    // The first caller again, on the same topic: a repeat, in the same case; the group does not grow.
    let mut again = ticket("G-5", "0101", "13900000000", lon, lat);
    again["received_at"] = json!("2026-03-05T09:00:00+08:00");
    let r = app.post_as(&op, "/api/v1/tickets", again).await;
    assert!(r.json["ticket"]["repeat_of"].is_string(), "{}", r.json);
    assert_eq!(r.json["case"]["repeat_request"], true);
    assert_eq!(r.json["case"]["ticket_count"], 6);
    assert_eq!(r.json["case"]["caller_count"], 5);
    let flagged = app.get_as(&op, "/api/v1/cases?group_request=true").await;
    assert_eq!(flagged.json["cases"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn address_only_tickets_are_placed_at_the_community_and_unplaceable_ones_wait() {
    let app = TestApp::beijing();
    let op = app.token(Role::HotlineOperator, &[]);
    let mut t = ticket("A-1", "0801", "13812340000", 0.0, 0.0);
    t.as_object_mut().unwrap().remove("location");
    t["address"] = json!("朝阳区望京街道花家地社区3号楼");
    let r = app.post_as(&op, "/api/v1/tickets", t.clone()).await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["ticket"]["location_precision"], "community");
    assert_eq!(r.json["ticket"]["place"]["code"], "110105026041");
    assert_eq!(r.json["case"]["district_code"], "110105");

    t["ticket_no"] = json!("A-2");
    t["address"] = json!("不知道在哪个地方");
    let r = app.post_as(&op, "/api/v1/tickets", t).await;
    assert_eq!(r.status, 201, "an unplaceable ticket is accepted");
    assert_eq!(r.json["ticket"]["location_precision"], "unknown");
    assert!(r.json["case"]["place"].is_null());
    let queue = app.get_as(&op, "/api/v1/cases?unplaced=true").await;
    let ids: Vec<&str> = queue.json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![case_id(&r).as_str()]);
}

#[actix_web::test]
async fn unmerge_restores_both_cases_and_keeps_the_history() {
    let app = TestApp::beijing();
    let op = app.token(Role::HotlineOperator, &[]);
    let (lon, lat, cell) = common::spot();
    let dispatcher = app.token(Role::Dispatcher, &[&cell[..6]]);
    let a = app
        .post_as(
            &op,
            "/api/v1/tickets",
            ticket("U-1", "0101", "13800000011", lon, lat),
        )
        .await;
    let b = app
        .post_as(
            &op,
            "/api/v1/tickets",
            ticket("U-2", "0101", "13800000012", lon, north(lat, 50.0)),
        )
        .await;
    let id = case_id(&a);
    assert_eq!(case_id(&b), id);
    let b_ticket = b.json["ticket"]["id"].as_str().unwrap().to_owned();

    let uri = format!("/api/v1/cases/{id}/unmerge");
    let grid = app.token(Role::GridMember, &[&cell]);
    let r = app
        .post_as(
            &grid,
            &uri,
            json!({"ticket_id": b_ticket, "reason": "different bins"}),
        )
        .await;
    assert_eq!(r.status, 403, "grid members cannot unmerge");
    let r = app
        .post_as(
            &dispatcher,
            &uri,
            json!({"ticket_id": b_ticket, "reason": "two different bins"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["case"]["ticket_count"], 1);
    assert_eq!(r.json["split_case"]["ticket_count"], 1);
    let split = r.json["split_case"]["id"].as_str().unwrap().to_owned();

    let old = app.get_as(&op, &format!("/api/v1/cases/{id}")).await;
    let outcomes: Vec<(String, bool)> = old.json["merges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["outcome"].as_str().unwrap().to_owned(),
                m["undone_at"].is_null(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("opened".into(), true),
            ("joined".into(), false),
            ("split".into(), true)
        ]
    );
    let new = app.get_as(&op, &format!("/api/v1/cases/{split}")).await;
    assert_eq!(new.json["tickets"][0]["id"], b_ticket.as_str());
    assert_eq!(new.json["case"]["caller_count"], 1);

    let r = app
        .post_as(
            &dispatcher,
            &uri,
            json!({"ticket_id": b_ticket, "reason": "again"}),
        )
        .await;
    assert_eq!(r.json["code"], "item_not_in_case");
    let a_ticket = a.json["ticket"]["id"].as_str().unwrap();
    let r = app
        .post_as(
            &dispatcher,
            &uri,
            json!({"ticket_id": a_ticket, "reason": "alone"}),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json["code"], "nothing_to_unmerge");
}

#[actix_web::test]
async fn callers_are_masked_unless_the_reader_may_see_them_and_every_unmasked_read_is_audited() {
    let app = TestApp::beijing();
    let op = app.token(Role::HotlineOperator, &[]);
    let (lon, lat, cell) = common::spot();
    let street = &cell[..9];
    let open = app
        .post_as(
            &op,
            "/api/v1/tickets",
            ticket("P-1", "0101", "13812345678", lon, lat),
        )
        .await;
    let mut secret = ticket("P-2", "0101", "13987654321", lon, north(lat, 20.0));
    secret["caller"]["confidential"] = json!(true);
    secret["received_at"] = json!("2026-03-03T09:05:00+08:00");
    let secret = app.post_as(&op, "/api/v1/tickets", secret).await;
    let id = case_id(&open);
    assert_eq!(case_id(&secret), id);
    let uri = format!("/api/v1/cases/{id}?reason=callback");

    let callers = |r: &Resp| -> Vec<(String, bool)> {
        r.json["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["caller"]["phone"].as_str().unwrap().to_owned(),
                    t["caller"]["masked"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let handler = app.token(Role::StreetHandler, &[street]);
    let r = app.get_as(&handler, &uri).await;
    assert_eq!(
        callers(&r),
        vec![("13812345678".into(), false), ("139****4321".into(), true)],
        "a handler sees the caller unless the caller asked for confidentiality"
    );
    let secretary = app.token(Role::CommunitySecretary, &[&cell[..12]]);
    let r = app.get_as(&secretary, &uri).await;
    assert_eq!(
        callers(&r),
        vec![("138****5678".into(), true), ("139****4321".into(), true)]
    );
    assert_eq!(r.json["tickets"][0]["caller"]["name"], "张**");
    let r = app.get_as(&op, &uri).await;
    assert_eq!(callers(&r).iter().filter(|(_, m)| !m).count(), 2);
    let list = app.get_as(&op, "/api/v1/cases").await;
    assert!(
        !list.json.to_string().contains("13812345678"),
        "lists never show callers"
    );

    let admin = app.token(Role::Admin, &[]);
    let log = app.get_as(&admin, "/api/v1/admin/pii-reads").await;
    assert_eq!(log.status, 200);
    let reads: Vec<(String, String)> = log.json["reads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["role"].as_str().unwrap().to_owned(),
                r["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        reads,
        vec![
            ("street_handler".into(), "callback".into()),
            ("hotline_operator".into(), "callback".into()),
            ("hotline_operator".into(), "callback".into()),
        ],
        "one row per unmasked ticket read, none for masked reads"
    );
    let page = app.get_as(&admin, "/api/v1/admin/pii-reads?limit=2").await;
    let cursor = page.json["next_cursor"].as_str().unwrap().to_owned();
    let rest = app
        .get_as(
            &admin,
            &format!("/api/v1/admin/pii-reads?limit=2&cursor={cursor}"),
        )
        .await;
    assert_eq!(rest.json["reads"].as_array().unwrap().len(), 1);
    let r = app.get_as(&handler, "/api/v1/admin/pii-reads").await;
    assert_eq!(r.status, 403);
}

#[actix_web::test]
async fn cases_outside_the_jurisdiction_are_not_found_and_not_listed() {
    let app = TestApp::beijing();
    let op = app.token(Role::HotlineOperator, &[]);
    let (lon, lat, cell) = common::spot();
    let r = app
        .post_as(
            &op,
            "/api/v1/tickets",
            ticket("S-1", "0101", "13812345678", lon, lat),
        )
        .await;
    let id = case_id(&r);
    let mine = app.token(Role::CommunitySecretary, &[&cell[..12]]);
    let other = app.token(Role::CommunitySecretary, &["110105026041"]);
    assert_eq!(
        app.get_as(&mine, &format!("/api/v1/cases/{id}"))
            .await
            .status,
        200
    );
    let r = app.get_as(&other, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json["code"], "case_not_found");
    assert_eq!(
        app.get_as(&mine, "/api/v1/cases").await.json["cases"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.get_as(&other, "/api/v1/cases").await.json["cases"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let heating = app.token(Role::DepartmentHandler, &[]);
    assert_eq!(
        app.get_as(&heating, &format!("/api/v1/cases/{id}"))
            .await
            .status,
        404,
        "no topics, no cases"
    );
    assert_eq!(app.get("/api/v1/cases").await.status, 401);
    let grid = app.token(Role::GridMember, &[&cell]);
    let r = app
        .post_as(
            &grid,
            "/api/v1/tickets",
            ticket("S-2", "0101", "1", lon, lat),
        )
        .await;
    assert_eq!(r.status, 403, "grid members do not file hotline tickets");
}

#[actix_web::test]
async fn the_case_list_pages_with_a_cursor_and_filters() {
    let app = TestApp::beijing();
    let op = app.token(Role::HotlineOperator, &[]);
    let (lon, lat, cell) = common::spot();
    for i in 0..5 {
        let mut t = ticket(
            &format!("L-{i}"),
            "0101",
            "13800000000",
            lon,
            north(lat, f64::from(i) * 1000.0),
        );
        t["received_at"] = json!(format!("2026-03-0{}T09:00:00+08:00", i + 1));
        app.post_as(&op, "/api/v1/tickets", t).await;
    }
    let p1 = app.get_as(&op, "/api/v1/cases?limit=2").await;
    let cursor = p1.json["next_cursor"].as_str().unwrap();
    let p2 = app
        .get_as(&op, &format!("/api/v1/cases?limit=2&cursor={cursor}"))
        .await;
    let p3 = app
        .get_as(
            &op,
            &format!(
                "/api/v1/cases?limit=2&cursor={}",
                p2.json["next_cursor"].as_str().unwrap()
            ),
        )
        .await;
    let opened: Vec<String> = [&p1, &p2, &p3]
        .iter()
        .flat_map(|p| p.json["cases"].as_array().unwrap().clone())
        .map(|c| c["opened_at"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(opened.len(), 5);
    assert!(
        opened.windows(2).all(|w| w[0] > w[1]),
        "newest first: {opened:?}"
    );
    assert!(p3.json["next_cursor"].is_null());
    let r = app
        .get_as(
            &op,
            "/api/v1/cases?from=2026-03-03T00:00:00Z&to=2026-03-04T00:00:00Z",
        )
        .await;
    assert_eq!(r.json["cases"].as_array().unwrap().len(), 1);
    let r = app
        .get_as(&op, &format!("/api/v1/cases?place={cell}&topic=01"))
        .await;
    assert_eq!(r.json["cases"].as_array().unwrap().len(), 1);
    let r = app.get_as(&op, "/api/v1/cases?cursor=nonsense").await;
    assert_eq!(r.json["code"], "invalid_cursor");
    let r = app.get_as(&op, "/api/v1/cases?topic=abc").await;
    assert_eq!(r.status, 400);
}

#[actix_web::test]
async fn patrol_reports_merge_with_tickets_and_are_flagged_outside_the_members_cells() {
    let app = TestApp::beijing();
    let op = app.token(Role::HotlineOperator, &[]);
    let (lon, lat, cell) = common::spot();
    let t = app
        .post_as(
            &op,
            "/api/v1/tickets",
            ticket("R-1", "0101", "13812345678", lon, lat),
        )
        .await;
    let member = app.token(Role::GridMember, &[&cell]);
    let report = json!({
        "id": "6f9619ff-8b86-d011-b42d-00c04fc964ff",
        "reported_at": "2026-03-03T10:00:00+08:00",
        "topic": "0101",
        "text": "垃圾堆放",
        "location": { "lon": lon, "lat": north(lat, 30.0) },
        "photos": ["a".repeat(64)]
    });
    let r = app
        .post_as(&member, "/api/v1/reports", report.clone())
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(case_id(&r), case_id(&t));
    assert_eq!(r.json["case"]["source"], "mixed");
    assert_eq!(r.json["report"]["outside_scope"], false);
    let again = app
        .post_as(&member, "/api/v1/reports", report.clone())
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json["case"]["report_count"], 1);
    let mut changed = report;
    changed["text"] = json!("别的");
    let r = app.post_as(&member, "/api/v1/reports", changed).await;
    assert_eq!(r.json["code"], "report_id_reused");

    let elsewhere = app.token(Role::GridMember, &["110105026041001"]);
    let r = app
        .post_as(
            &elsewhere,
            "/api/v1/reports",
            json!({"topic": "0201", "text": "游商", "location": {"lon": lon, "lat": lat}}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json["report"]["outside_scope"], true);
    let r = app
        .post_as(
            &member,
            "/api/v1/reports",
            json!({"topic": "0201", "text": "游商", "location": {"lon": 100.0, "lat": 30.0}}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json["code"], "outside_jurisdiction");
    let r = app
        .post_as(
            &member,
            "/api/v1/reports",
            json!({"topic": "0100", "text": "x", "location": {"lon": lon, "lat": lat}}),
        )
        .await;
    assert_eq!(r.json["code"], "unknown_topic");
}

#[actix_web::test]
async fn tickets_and_reports_dated_in_the_future_or_before_the_floor_are_refused_with_a_code() {
    let app = TestApp::beijing();
    let op = app.token(Role::HotlineOperator, &[]);
    let (lon, lat, cell) = common::spot();
    let member = app.token(Role::GridMember, &[&cell]);
    for (no, at, code) in [
        ("FUT-2030", "2030-01-01T09:00:00+08:00", "time_in_future"),
        ("FUT-9999", "9999-12-31T23:59:59+08:00", "time_in_future"),
        ("OLD-0001", "0001-01-01T00:00:00Z", "time_before_floor"),
        ("OLD-1999", "1999-12-31T23:59:59Z", "time_before_floor"),
    ] {
        let mut t = ticket(no, "0101", "13812345678", lon, lat);
        t["received_at"] = json!(at);
        let r = app.post_as(&op, "/api/v1/tickets", t).await;
        assert_eq!(r.status, 422, "{at}: {}", r.json);
        assert_eq!(r.json["code"], code, "{at}");
        assert!(
            r.json["message"]
                .as_str()
                .unwrap()
                .starts_with("received_at:"),
            "{}",
            r.json
        );
        let r = app
            .post_as(
                &member,
                "/api/v1/reports",
                json!({"topic": "0101", "text": "垃圾", "reported_at": at,
                       "location": {"lon": lon, "lat": lat}}),
            )
            .await;
        assert_eq!(r.status, 422, "report {at}: {}", r.json);
        assert_eq!(r.json["code"], code, "report {at}");
    }
    // A few minutes ahead of the server's clock (a fast phone or switchboard clock) is still taken.
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(2)).to_rfc3339();
    let mut t = ticket("SOON-1", "0101", "13812345678", lon, lat);
    t["received_at"] = json!(soon);
    let r = app.post_as(&op, "/api/v1/tickets", t).await;
    assert_eq!(r.status, 201, "{}", r.json);
    // Nothing refused was stored: the newest-first list holds only the accepted ticket's case.
    let list = app.get_as(&op, "/api/v1/cases").await;
    assert_eq!(list.status, 200);
    assert_eq!(
        list.json["cases"].as_array().unwrap().len(),
        1,
        "{}",
        list.json
    );

    // The floor and the skew are policy.
    let admin = app.token(Role::Admin, &[]);
    let r = common::put_policy(&app, &admin, "intake.received_at.floor", "2026-01-01").await;
    assert!(r.status.is_success(), "{}", r.json);
    let r = common::put_policy(&app, &admin, "intake.received_at.floor", "yesterday").await;
    assert_eq!(r.status, 400, "{}", r.json);
    let mut t = ticket("OLD-2025", "0101", "13812345678", lon, lat);
    t["received_at"] = json!("2025-06-01T09:00:00+08:00");
    let r = app.post_as(&op, "/api/v1/tickets", t).await;
    assert_eq!(r.json["code"], "time_before_floor", "{}", r.json);
}
