//! The case workflow through the real routes: a case goes the whole loop (dispatch, accept, whistle, extend, reply,
//! a failed callback, reopen, a good callback, close) and keeps every step; illegal, forbidden, stale and
//! incomplete steps are refused with what is allowed and change nothing; a patrol case is fixed on the spot and
//! verified.

use crate::common;

use common::{Resp, TestApp};
use gridline::domain::access::Role;
use serde_json::{Value, json};

/// A hotline case in the test cell, with the unit ids of its chain (command centre first, then the street office).
async fn hotline_case(app: &TestApp, no: &str) -> (String, Vec<String>) {
    let op = app.token(Role::HotlineOperator, &[]);
    let r = common::file_ticket(app, no, "0101", "13812345678", "楼下垃圾堆了三天没人清").await;
    let id = r.json["case"]["id"].as_str().unwrap().to_owned();
    let d = app.get_as(&op, &format!("/api/v1/cases/{id}")).await;
    let units = d.json["chain"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["unit"]["id"].as_str().map(str::to_owned))
        .collect();
    (id, units)
}

async fn step(app: &TestApp, token: &str, case: &str, body: Value) -> Resp {
    app.post_as(token, &format!("/api/v1/cases/{case}/transitions"), body)
        .await
}

#[actix_web::test]
async fn a_case_goes_the_whole_loop_and_keeps_every_step() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let (id, units) = hotline_case(&app, "WF-1").await;
    let departments = common::departments(&app, &cell[..6]).await;
    let dispatcher = app.token(Role::Dispatcher, &[&cell[..6]]);
    let street = app.token(Role::StreetHandler, &[&cell[..9]]);
    let hotline = app.token(Role::HotlineOperator, &[]);
    let photo_a = common::stored_photo(&app, &street, 1).await;
    let photo_b = common::stored_photo(&app, &street, 2).await;

    let loop_steps: Vec<(&str, Value, &str)> = vec![
        (
            &dispatcher,
            json!({"action": "dispatch", "targets": [units[1]]}),
            "dispatched",
        ),
        (&street, json!({"action": "accept"}), "accepted"),
        (&street, json!({"action": "start"}), "in_progress"),
        (
            &street,
            json!({"action": "whistle", "note": "需要城管执法和环卫一起处理", "targets": [departments[0].0]}),
            "whistled",
        ),
        (
            &street,
            json!({"action": "extend", "note": "等待清运车辆", "days": 3}),
            "whistled",
        ),
        (&street, json!({"action": "end_whistle"}), "in_progress"),
        (
            &street,
            json!({"action": "reply", "note": "已清理", "evidence": [photo_a, photo_b.to_uppercase()]}),
            "replied",
        ),
        (
            &hotline,
            json!({"action": "call_back", "callback": {"contacted": true, "resolved": "no", "satisfaction": "dissatisfied"}}),
            "called_back",
        ),
        (
            &hotline,
            json!({"action": "reopen", "note": "市民反映仍有垃圾"}),
            "dispatched",
        ),
        (&street, json!({"action": "accept"}), "accepted"),
        (&street, json!({"action": "start"}), "in_progress"),
        (
            &street,
            json!({"action": "reply", "note": "再次清理并加装垃圾桶", "evidence": [photo_b]}),
            "replied",
        ),
        (
            &hotline,
            json!({"action": "call_back", "callback": {"contacted": true, "resolved": "yes", "satisfaction": "satisfied"}}),
            "called_back",
        ),
        (&hotline, json!({"action": "close"}), "closed"),
    ];
    let mut version = 1;
    for (k, (token, body, to)) in loop_steps.iter().enumerate() {
        let r = step(&app, token, &id, body.clone()).await;
        assert_eq!(r.status, 201, "step {k} {body}: {}", r.json);
        assert_eq!(r.json["case"]["status"], *to, "step {k}");
        assert_eq!(r.json["transition"]["seq"], k + 1);
        assert_eq!(r.json["transition"]["to"], *to);
        assert!(r.json["case"]["version"].as_i64().unwrap() > version);
        version = r.json["case"]["version"].as_i64().unwrap();
    }

    // The history holds every step, in order, with who did it and what it needed.
    let d = app
        .get_as(&dispatcher, &format!("/api/v1/cases/{id}"))
        .await;
    assert_eq!(d.status, 200);
    let history = d.json["transitions"].as_array().unwrap();
    assert_eq!(history.len(), loop_steps.len());
    assert_eq!(history[0]["from"], "received");
    assert_eq!(history[0]["actor_role"], "dispatcher");
    assert_eq!(history[0]["details"]["targets"][0], units[1].as_str());
    assert_eq!(history[4]["details"]["days"], 3);
    assert_eq!(history[4]["from"], "whistled");
    assert_eq!(history[6]["evidence"], json!([photo_a, photo_b]));
    assert_eq!(history[7]["details"]["callbacks"][0]["resolved"], "no");
    assert_eq!(history[8]["note"], "市民反映仍有垃圾");
    assert_eq!(history[13]["actor_role"], "hotline_operator");
    for pair in history.windows(2) {
        assert_eq!(pair[0]["to"], pair[1]["from"]);
    }
    // A closed case offers the street nothing, the hotline only a reopen.
    let s = app.get_as(&street, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(s.json["next_steps"], json!([]));
    let h = app.get_as(&hotline, &format!("/api/v1/cases/{id}")).await;
    let next: Vec<&str> = h.json["next_steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(next, ["reopen"]);
}

#[actix_web::test]
async fn wrong_steps_are_refused_with_what_is_allowed_and_change_nothing() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let (id, units) = hotline_case(&app, "WF-2").await;
    let dispatcher = app.token(Role::Dispatcher, &[&cell[..6]]);
    let other_district = app.token(Role::Dispatcher, &["110119"]);
    let grid = app.token(Role::GridMember, &[&cell]);
    let street = app.token(Role::StreetHandler, &[&cell[..9]]);

    let r = step(&app, &dispatcher, &id, json!({"action": "close"})).await;
    assert_eq!(r.status, 409, "{}", r.json);
    assert_eq!(r.json["code"], "illegal_transition");
    assert_eq!(r.json["allowed"], json!(["dispatch", "merge"]));

    let r = step(
        &app,
        &grid,
        &id,
        json!({"action": "dispatch", "targets": [units[1]]}),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.json);
    assert_eq!(r.json["code"], "forbidden_transition");
    assert!(r.json["message"].as_str().unwrap().contains("dispatcher"));

    let r = step(
        &app,
        &other_district,
        &id,
        json!({"action": "dispatch", "targets": [units[1]]}),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.json);

    for (body, field) in [
        (
            json!({"action": "dispatch", "targets": [units[0]]}),
            "targets",
        ),
        (
            json!({"action": "dispatch", "targets": ["unit_nope"]}),
            "targets",
        ),
        (json!({"action": "fly"}), "action"),
        (
            json!({"action": "merge", "note": "重复", "into_case": id}),
            "into_case",
        ),
    ] {
        let r = step(&app, &dispatcher, &id, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.json);
        assert!(
            r.json["message"].as_str().unwrap().starts_with(field),
            "{}",
            r.json
        );
    }

    let r = step(
        &app,
        &dispatcher,
        &id,
        json!({"action": "dispatch", "targets": [units[1]], "version": 0}),
    )
    .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json["code"], "version_conflict");

    // Nothing above changed the case.
    let d = app
        .get_as(&dispatcher, &format!("/api/v1/cases/{id}"))
        .await;
    assert_eq!(d.json["case"]["status"], "received");
    assert_eq!(d.json["transitions"], json!([]));

    // Returning needs a reason; with one, the case goes back for re-dispatch.
    let r = step(
        &app,
        &dispatcher,
        &id,
        json!({"action": "dispatch", "targets": [units[1]]}),
    )
    .await;
    assert_eq!(r.status, 201);
    let r = step(
        &app,
        &street,
        &id,
        json!({"action": "return", "note": "  "}),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = step(
        &app,
        &street,
        &id,
        json!({"action": "return", "note": "不属于本街道管辖"}),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json["case"]["status"], "returned");
    let next: Vec<&str> = r.json["next_steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert!(next.is_empty(), "{next:?}");
}

#[actix_web::test]
async fn a_case_merged_by_hand_takes_no_new_items() {
    let app = TestApp::beijing();
    let (lon, lat, cell) = common::spot();
    let op = app.token(Role::HotlineOperator, &[]);
    let dispatcher = app.token(Role::Dispatcher, &[&cell[..6]]);
    let (a, _) = hotline_case(&app, "WF-3").await;
    // A second case on the topic 500 m north: too far to merge by itself.
    let ticket = |no: &str, lat: f64| {
        json!({
            "ticket_no": no, "channel": "phone", "request_type": "complaint", "topic": "0101",
            "text": "垃圾", "caller": { "name": "李四", "phone": "13900000000" },
            "location": { "lon": lon, "lat": lat }
        })
    };
    let r = app
        .post_as(
            &op,
            "/api/v1/tickets",
            ticket("WF-4", lat + 500.0 / 111_195.0),
        )
        .await;
    let b = r.json["case"]["id"].as_str().unwrap().to_owned();
    assert_ne!(a, b);
    let r = step(
        &app,
        &dispatcher,
        &a,
        json!({"action": "merge", "note": "同一堆垃圾", "into_case": b}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["case"]["status"], "merged");
    assert_eq!(r.json["transition"]["details"]["into_case"], b.as_str());
    assert_eq!(r.json["case"]["ticket_count"], 0, "its ticket moved");
    // The ticket moved into B, with a decision saying who merged it and why, undoable.
    let d = app.get_as(&dispatcher, &format!("/api/v1/cases/{b}")).await;
    assert_eq!(d.json["case"]["ticket_count"], 2);
    let moved = d.json["merges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["outcome"] == "merged_by_hand")
        .expect("a merged_by_hand decision")
        .clone();
    assert_eq!(moved["candidate_case_id"], a.as_str());
    assert_eq!(moved["reason"], "同一堆垃圾");
    // A new ticket where case A was does not join the merged case.
    let r = app
        .post_as(&op, "/api/v1/tickets", ticket("WF-5", lat))
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_ne!(r.json["case"]["id"], a.as_str());
    let r = app
        .post_as(
            &dispatcher,
            &format!("/api/v1/cases/{b}/unmerge"),
            json!({"ticket_id": moved["item_id"], "reason": "并错了"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
}

#[actix_web::test]
async fn a_patrol_case_is_fixed_on_the_spot_and_verified() {
    let app = TestApp::beijing();
    let (lon, lat, cell) = common::spot();
    let grid = app.token(Role::GridMember, &[&cell]);
    let secretary = app.token(Role::CommunitySecretary, &[&cell[..12]]);
    let r = app
        .post_as(
            &grid,
            "/api/v1/reports",
            json!({"topic": "0101", "text": "路边垃圾", "location": {"lon": lon, "lat": lat}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.json["case"]["id"].as_str().unwrap().to_owned();

    let r = step(&app, &grid, &id, json!({"action": "self_resolve"})).await;
    assert_eq!(r.status, 400);
    assert!(r.json["message"].as_str().unwrap().starts_with("evidence"));
    let r = step(
        &app,
        &grid,
        &id,
        json!({"action": "self_resolve", "evidence": ["not a hash"]}),
    )
    .await;
    assert_eq!(r.status, 400);
    // Before and after: one photo is not enough (policy `work.evidence.self_resolve`, 2 by default).
    let before = common::stored_photo(&app, &grid, 1).await;
    let r = step(
        &app,
        &grid,
        &id,
        json!({"action": "self_resolve", "note": "随手清理", "evidence": [before, before.to_uppercase()]}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert!(r.json["message"].as_str().unwrap().contains("at least 2"));
    // The after photo is named but not uploaded yet: the answer lists exactly what to send.
    let after_bytes = common::jpeg(64, 48, 2);
    let after = gridline::media::PhotoHash::of(&after_bytes).to_string();
    let r = step(
        &app,
        &grid,
        &id,
        json!({"action": "self_resolve", "note": "随手清理", "evidence": [before, after]}),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.json);
    assert_eq!(r.json["code"], "photos_missing");
    assert_eq!(r.json["missing"], json!([after]));
    let d = app.get_as(&grid, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(
        d.json["case"]["status"], "received",
        "a refused step leaves the case as it was"
    );
    // Sent by someone else, the photo is still missing for this grid member: naming a hash proves nothing, and
    // the answer must not tell that another user's photo exists.
    let stranger = app.token(Role::GridMember, &[]);
    assert_eq!(common::stored_photo(&app, &stranger, 2).await, after);
    let r = step(
        &app,
        &grid,
        &id,
        json!({"action": "self_resolve", "note": "随手清理", "evidence": [before, after]}),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.json);
    assert_eq!(r.json["missing"], json!([after]));
    assert_eq!(common::stored_photo(&app, &grid, 2).await, after);
    let r = step(
        &app,
        &grid,
        &id,
        json!({"action": "self_resolve", "note": "随手清理", "evidence": [before, after]}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["case"]["status"], "self_resolved");

    // The grid member cannot verify their own work; the community secretary can.
    let r = step(
        &app,
        &grid,
        &id,
        json!({"action": "verify", "evidence": [after]}),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = step(&app, &secretary, &id, json!({"action": "verify"})).await;
    assert_eq!(r.status, 400, "verify needs a photo by default: {}", r.json);
    // Policy may make the check's photo optional.
    let admin = app.token(Role::Admin, &[]);
    let r = common::put_policy(&app, &admin, "work.evidence.verify", "0").await;
    assert_eq!(r.status, 200, "{}", r.json);
    let r = step(&app, &secretary, &id, json!({"action": "verify"})).await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["case"]["status"], "closed");
    assert_eq!(r.json["transition"]["actor_role"], "community_secretary");
}

/// Dispatches, accepts and starts a hotline case (7 d class) of the test cell: ready for extensions.
async fn case_in_progress(app: &TestApp, no: &str) -> String {
    let (_, _, cell) = common::spot();
    let (id, units) = hotline_case(app, no).await;
    let dispatcher = app.token(Role::Dispatcher, &[&cell[..6]]);
    let street = app.token(Role::StreetHandler, &[&cell[..9]]);
    for (token, body) in [
        (
            &dispatcher,
            json!({"action": "dispatch", "targets": [units[1]]}),
        ),
        (&street, json!({"action": "accept"})),
        (&street, json!({"action": "start"})),
    ] {
        let r = step(app, token, &id, body.clone()).await;
        assert_eq!(r.status, 201, "{body}: {}", r.json);
    }
    id
}

async fn work_of(app: &TestApp, token: &str, id: &str) -> Value {
    let d = app.get_as(token, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(d.status, 200, "{}", d.json);
    d.json["work"].clone()
}

#[actix_web::test]
async fn a_second_extension_beyond_the_time_class_bound_is_refused_with_a_code() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let street = app.token(Role::StreetHandler, &[&cell[..9]]);
    let id = case_in_progress(&app, "EXT-1").await;

    // General work (7 d): one extension of up to 3 days is granted with the request.
    let r = step(
        &app,
        &street,
        &id,
        json!({"action": "extend", "note": "等待清运车辆", "days": 3}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["transition"]["details"]["extension"], "granted");
    let w = work_of(&app, &street, &id).await;
    assert_eq!(w["extension_days"], 3);

    // A second one, however long, is past what the class allows in one cycle; nothing changes.
    for days in [30, 1] {
        let r = step(
            &app,
            &street,
            &id,
            json!({"action": "extend", "note": "还需要时间", "days": days}),
        )
        .await;
        assert_eq!(r.status, 409, "{days}: {}", r.json);
        assert_eq!(r.json["code"], "extension_limit", "{}", r.json);
    }
    assert_eq!(work_of(&app, &street, &id).await, w);
}

#[actix_web::test]
async fn a_long_extension_by_a_street_handler_waits_for_a_dispatchers_approval_kept_in_the_history()
{
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let street = app.token(Role::StreetHandler, &[&cell[..9]]);
    let dispatcher = app.token(Role::Dispatcher, &[&cell[..6]]);
    let other_district = app.token(Role::Dispatcher, &["110119"]);
    let id = case_in_progress(&app, "EXT-2").await;
    let before = work_of(&app, &street, &id).await;

    // 5 days is above the 7 d class's threshold (3): recorded as pending, not granted.
    let r = step(
        &app,
        &street,
        &id,
        json!({"action": "extend", "note": "需协调产权单位", "days": 5}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["transition"]["details"]["extension"], "pending");
    let w = work_of(&app, &street, &id).await;
    assert_eq!(w["extension_days"], 0);
    assert_eq!(w["extension_pending_days"], 5);
    assert_eq!(w["complete_due_at"], before["complete_due_at"]);

    // While it waits nobody asks again; the street cannot approve its own request; another district sees nothing.
    let r = step(
        &app,
        &street,
        &id,
        json!({"action": "extend", "note": "再延", "days": 1}),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].clone()),
        (409, json!("extension_pending")),
        "{}",
        r.json
    );
    let r = step(&app, &street, &id, json!({"action": "approve_extension"})).await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].clone()),
        (403, json!("forbidden_transition")),
        "{}",
        r.json
    );
    let r = step(
        &app,
        &other_district,
        &id,
        json!({"action": "approve_extension"}),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.json);

    // The dispatcher approves: the days are granted and the deadline moves.
    let r = step(
        &app,
        &dispatcher,
        &id,
        json!({"action": "approve_extension"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["case"]["status"], "in_progress");
    let w = work_of(&app, &street, &id).await;
    assert_eq!(w["extension_days"], 5);
    assert_eq!(w["extension_pending_days"], Value::Null);
    let due = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!(
        due(&w["complete_due_at"]) - due(&before["complete_due_at"]),
        chrono::Duration::days(5)
    );
    // Nothing waits any more.
    let r = step(
        &app,
        &dispatcher,
        &id,
        json!({"action": "refuse_extension", "note": "不同意"}),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].clone()),
        (409, json!("no_pending_extension")),
        "{}",
        r.json
    );

    // The history keeps the request and the decision, with who decided.
    let d = app
        .get_as(&dispatcher, &format!("/api/v1/cases/{id}"))
        .await;
    let history: Vec<(String, String, Value, Value)> = d.json["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["action"].as_str().unwrap().contains("extension") || t["action"] == "extend")
        .map(|t| {
            (
                t["action"].as_str().unwrap().to_owned(),
                t["actor_role"].as_str().unwrap().to_owned(),
                t["details"]["days"].clone(),
                t["details"]["extension"].clone(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            (
                "extend".into(),
                "street_handler".into(),
                json!(5),
                json!("pending")
            ),
            (
                "approve_extension".into(),
                "dispatcher".into(),
                json!(5),
                json!("approved")
            ),
        ]
    );
}

#[actix_web::test]
async fn a_refused_extension_grants_nothing_and_says_why() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let street = app.token(Role::StreetHandler, &[&cell[..9]]);
    let dispatcher = app.token(Role::Dispatcher, &[&cell[..6]]);
    let id = case_in_progress(&app, "EXT-3").await;
    let r = step(
        &app,
        &street,
        &id,
        json!({"action": "extend", "note": "材料未到", "days": 6}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let r = step(
        &app,
        &dispatcher,
        &id,
        json!({"action": "refuse_extension"}),
    )
    .await;
    assert_eq!(r.status, 400, "a refusal needs a reason: {}", r.json);
    let r = step(
        &app,
        &dispatcher,
        &id,
        json!({"action": "refuse_extension", "note": "可先行临时处置"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["transition"]["details"]["extension"], "refused");
    assert_eq!(r.json["transition"]["details"]["days"], 6);
    let w = work_of(&app, &street, &id).await;
    assert_eq!(
        (
            w["extension_days"].clone(),
            w["extension_pending_days"].clone()
        ),
        (json!(0), Value::Null)
    );
    // The refused request used up nothing: a short one is granted.
    let r = step(
        &app,
        &street,
        &id,
        json!({"action": "extend", "note": "材料未到", "days": 2}),
    )
    .await;
    assert_eq!(
        r.json["transition"]["details"]["extension"], "granted",
        "{}",
        r.json
    );
}
