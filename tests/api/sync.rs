//! Phones through the real routes: registering and revoking devices, pushing operations (reports, edits, photos,
//! case steps) with one result each, replays that change nothing, reused ids, device order with operations that
//! arrive early, malformed operations that block nothing, two phones editing one report, and reading every result
//! back.

use crate::common;

use common::{Resp, TestApp};
use gridline::domain::access::Role;
use serde_json::{Value, json};

const PHOTO_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const PHOTO_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// A registered phone of a new grid member of the test cell: (member's sign-in token, device token, device id).
async fn phone(app: &TestApp, member: &str) -> (String, String) {
    let r = app
        .post_as(member, "/api/v1/devices", json!({"name": "华为 Mate 60"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    (
        r.json["token"].as_str().unwrap().to_owned(),
        r.json["device"]["id"].as_str().unwrap().to_owned(),
    )
}

async fn push(app: &TestApp, device: &str, ops: Vec<Value>) -> Resp {
    app.post_as(device, "/api/v1/sync/push", json!({ "ops": ops }))
        .await
}

async fn ok_push(app: &TestApp, device: &str, ops: Vec<Value>) -> Vec<Value> {
    let r = push(app, device, ops).await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["results"].as_array().unwrap().clone()
}

fn uuid(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn op(n: u32, seq: i64, kind: &str, entity: &str, base: Option<i32>, payload: Value) -> Value {
    json!({"op_id": uuid(n), "device_seq": seq, "kind": kind, "entity_id": entity,
           "base_version": base, "payload": payload})
}

fn report_payload(text: &str) -> Value {
    let (lon, lat, _) = common::spot();
    json!({"topic": "0103", "text": text, "location": {"lon": lon, "lat": lat}, "photos": [PHOTO_A]})
}

fn statuses(results: &[Value]) -> Vec<String> {
    results
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect()
}

async fn report(app: &TestApp, token: &str, case: &str, id: &str) -> Value {
    let r = app.get_as(token, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no report {id} in {}", r.json))
}

#[actix_web::test]
async fn devices_are_registered_listed_and_revoked_and_a_revoked_device_cannot_push() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let member = app.token(Role::GridMember, &[&cell]);
    let other = app.token(Role::GridMember, &[&cell]);
    let admin = app.token(Role::Admin, &[]);
    let (device, id) = phone(&app, &member).await;
    phone(&app, &other).await;
    assert!(device.starts_with("gld_"));

    // One's own devices; an admin sees everyone's.
    let mine = app.get_as(&member, "/api/v1/devices").await;
    assert_eq!(mine.status, 200, "{}", mine.json);
    assert_eq!(mine.json["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine.json["items"][0]["next_seq"], 1);
    let all = app.get_as(&admin, "/api/v1/devices").await;
    assert_eq!(all.json["items"].as_array().unwrap().len(), 2);
    // The device token stands for its member.
    let me = app.get_as(&device, "/api/v1/auth/me").await;
    assert_eq!(me.status, 200, "{}", me.json);

    // Only roles that file reports register phones; names are bounded.
    let dispatcher = app.token(Role::Dispatcher, &["110101"]);
    let r = app
        .post_as(&dispatcher, "/api/v1/devices", json!({"name": "x"}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].clone()),
        (403, json!("forbidden"))
    );
    let r = app
        .post_as(&member, "/api/v1/devices", json!({"name": "x".repeat(101)}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].clone()),
        (400, json!("invalid_field"))
    );

    // Sync needs the device's token, not a sign-in token.
    let r = push(&app, &member, vec![]).await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].clone()),
        (403, json!("device_required"))
    );

    // Another member cannot revoke it; its owner (or an admin) can, and its pushes are refused from then on.
    let r = app
        .post_as(&other, &format!("/api/v1/devices/{id}/revoke"), json!({}))
        .await;
    assert_eq!(r.status, 404, "{}", r.json);
    let r = app
        .post_as(&admin, &format!("/api/v1/devices/{id}/revoke"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(r.json["revoked_at"].is_string());
    let r = push(
        &app,
        &device,
        vec![op(
            1,
            1,
            "create_report",
            &uuid(101),
            None,
            report_payload("小广告"),
        )],
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].clone()),
        (401, json!("device_revoked"))
    );
    let r = app.get_as(&member, "/api/v1/cases").await;
    assert_eq!(
        r.json["cases"].as_array().unwrap().len(),
        0,
        "nothing was filed"
    );

    // A revoked device no longer counts against the limit of live devices.
    for _ in 0..20 {
        phone(&app, &member).await;
    }
    let r = app
        .post_as(&member, "/api/v1/devices", json!({"name": "第21台"}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].clone()),
        (409, json!("too_many_devices"))
    );
}

#[actix_web::test]
async fn each_operation_gets_its_own_result_in_device_order_and_replays_change_nothing() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let member = app.token(Role::GridMember, &[&cell]);
    let (device, _) = phone(&app, &member).await;
    let report_id = uuid(100);

    // Sent out of order: 3 and 2 wait for 1; 1 comes with a malformed op (4) and one that is refused (5).
    let later = vec![
        op(
            3,
            3,
            "attach_photo",
            &report_id,
            None,
            json!({"sha256": PHOTO_B}),
        ),
        op(
            2,
            2,
            "update_report",
            &report_id,
            Some(1),
            json!({"text": "小广告，已拍照"}),
        ),
    ];
    let r = ok_push(&app, &device, later.clone()).await;
    assert_eq!(statuses(&r), ["waiting", "waiting"]);
    assert!(
        r[0]["message"].as_str().unwrap().contains("device_seq 1"),
        "{}",
        r[0]
    );
    let first = vec![
        op(
            1,
            1,
            "create_report",
            &report_id,
            None,
            report_payload("小广告"),
        ),
        json!({"op_id": uuid(4), "device_seq": 4, "kind": "create_report", "entity_id": uuid(104),
               "payload": {"topic": "0103"}}),
        op(
            5,
            5,
            "update_report",
            &uuid(999),
            Some(1),
            json!({"text": "没有这个报告"}),
        ),
        json!({"op_id": "not-a-uuid", "device_seq": 6, "kind": "create_report", "entity_id": "x", "payload": {}}),
        json!("not an object"),
        op(7, 6, "teleport", &report_id, None, json!({})),
    ];
    let r = ok_push(&app, &device, first.clone()).await;
    assert_eq!(
        statuses(&r),
        [
            "applied", "rejected", "rejected", "rejected", "rejected", "rejected"
        ],
        "{r:?}"
    );
    assert_eq!(r[1]["code"], "malformed_op");
    assert_eq!(r[2]["code"], "report_not_found");
    assert_eq!(r[3]["code"], "malformed_op");
    assert_eq!(r[3]["op_id"], "not-a-uuid");
    assert_eq!(r[4]["op_id"], Value::Null);
    assert_eq!(
        r[5]["code"], "malformed_op",
        "an unknown kind is decided at its turn"
    );
    let case = r[0]["result"]["case_id"].as_str().unwrap().to_owned();

    // The waiting ones were applied when 1 arrived: the report has both edits.
    let rep = report(&app, &member, &case, &report_id).await;
    assert_eq!(rep["text"], "小广告，已拍照");
    assert_eq!(rep["photos"], json!([PHOTO_A, PHOTO_B]));
    assert_eq!(rep["version"], 3);

    // Every result can be read back, in the order decided: 1, 2, 3, 4, 5, 7 (seq 6).
    let ops = app.get_as(&device, "/api/v1/sync/ops?since=0").await;
    assert_eq!(ops.status, 200, "{}", ops.json);
    let items = ops.json["items"].as_array().unwrap();
    let order: Vec<i64> = items
        .iter()
        .map(|i| i["device_seq"].as_i64().unwrap())
        .collect();
    assert_eq!(order, [1, 2, 3, 4, 5, 6]);
    assert_eq!(
        statuses(items),
        [
            "applied", "applied", "applied", "rejected", "rejected", "rejected"
        ]
    );
    assert_eq!(ops.json["next_since"], 6);
    let rest = app
        .get_as(&device, "/api/v1/sync/ops?since=4&limit=1")
        .await;
    assert_eq!(rest.json["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest.json["items"][0]["device_seq"], 5);
    let r = app.get_as(&device, "/api/v1/sync/ops?limit=0").await;
    assert_eq!(r.status, 400, "{}", r.json);

    // Every push sent again (three times): duplicates with the original results; nothing changes.
    for _ in 0..3 {
        let again = ok_push(&app, &device, [first.clone(), later.clone()].concat()).await;
        let s = statuses(&again);
        assert_eq!(&s[..3], ["duplicate", "duplicate", "duplicate"]);
        assert_eq!(again[0]["original_status"], "applied");
        assert_eq!(again[0]["result"]["case_id"], case.as_str());
        assert_eq!(again[2]["original_status"], "rejected");
        assert_eq!(again[2]["code"], "report_not_found");
        assert_eq!(&s[6..], ["duplicate", "duplicate"]);
    }
    let rep = report(&app, &member, &case, &report_id).await;
    assert_eq!(rep["version"], 3);
    let cases = app.get_as(&member, "/api/v1/cases").await;
    assert_eq!(cases.json["cases"].as_array().unwrap().len(), 1);
    let ops = app.get_as(&device, "/api/v1/sync/ops").await;
    assert_eq!(ops.json["items"].as_array().unwrap().len(), 6);

    // The same op_id with other content is refused; a used sequence number too.
    let r = ok_push(
        &app,
        &device,
        vec![
            op(
                1,
                1,
                "create_report",
                &report_id,
                None,
                report_payload("别的内容"),
            ),
            op(
                50,
                2,
                "attach_photo",
                &report_id,
                None,
                json!({"sha256": PHOTO_A}),
            ),
        ],
    )
    .await;
    assert_eq!(r[0]["code"], "op_id_reused");
    assert_eq!(r[1]["code"], "seq_reused");
    assert_eq!(
        report(&app, &member, &case, &report_id).await["text"],
        "小广告，已拍照"
    );

    // Too many operations at once.
    let many: Vec<Value> = (0..501)
        .map(|i| {
            op(
                1000 + i,
                100 + i64::from(i),
                "attach_photo",
                &report_id,
                None,
                json!({}),
            )
        })
        .collect();
    let r = push(&app, &device, many).await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].clone()),
        (400, json!("invalid_field"))
    );
}

#[actix_web::test]
async fn two_phones_editing_one_report_give_one_edit_and_one_conflict_that_both_sides_see() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let first = app.token(Role::GridMember, &[&cell]);
    let second = app.token(Role::GridMember, &[&cell]);
    let secretary = app.token(Role::CommunitySecretary, &[&cell[..12]]);
    let elsewhere = app.token(Role::CommunitySecretary, &["110119"]);
    let (phone1, _) = phone(&app, &first).await;
    let (phone2, _) = phone(&app, &second).await;
    let report_id = uuid(200);
    let r = ok_push(
        &app,
        &phone1,
        vec![op(
            1,
            1,
            "create_report",
            &report_id,
            None,
            report_payload("井盖破损"),
        )],
    )
    .await;
    let case = r[0]["result"]["case_id"].as_str().unwrap().to_owned();

    let r = ok_push(
        &app,
        &phone1,
        vec![op(
            2,
            2,
            "update_report",
            &report_id,
            Some(1),
            json!({"text": "井盖破损，已设围挡"}),
        )],
    )
    .await;
    assert_eq!(statuses(&r), ["applied"]);
    assert_eq!(r[0]["result"]["version"], 2);
    let r = ok_push(
        &app,
        &phone2,
        vec![op(
            3,
            1,
            "update_report",
            &report_id,
            Some(1),
            json!({"text": "井盖丢失"}),
        )],
    )
    .await;
    assert_eq!(statuses(&r), ["conflict"], "{r:?}");
    assert_eq!(r[0]["result"]["server"]["version"], 2);
    assert_eq!(r[0]["result"]["server"]["text"], "井盖破损，已设围挡");
    assert_eq!(r[0]["result"]["phone"]["text"], "井盖丢失");
    assert_eq!(r[0]["result"]["phone"]["base_version"], 1);
    // The first edit stands; the second is kept for review by the members and their supervisor, not elsewhere.
    assert_eq!(
        report(&app, &first, &case, &report_id).await["text"],
        "井盖破损，已设围挡"
    );
    for (token, n) in [(&first, 1), (&second, 1), (&secretary, 1), (&elsewhere, 0)] {
        let c = app.get_as(token, "/api/v1/sync/conflicts").await;
        assert_eq!(c.status, 200, "{}", c.json);
        let items = c.json["items"].as_array().unwrap();
        assert_eq!(items.len(), n, "{}", c.json);
        if n == 1 {
            assert_eq!(items[0]["result"]["phone"]["text"], "井盖丢失");
        }
    }
    // The second phone reads its conflict back, and an edit against the current version applies.
    let ops = app.get_as(&phone2, "/api/v1/sync/ops").await;
    assert_eq!(
        statuses(ops.json["items"].as_array().unwrap()),
        ["conflict"]
    );
    let r = ok_push(
        &app,
        &phone2,
        vec![op(
            4,
            2,
            "update_report",
            &report_id,
            Some(2),
            json!({"text": "井盖丢失，已设围挡"}),
        )],
    )
    .await;
    assert_eq!(statuses(&r), ["applied"]);
    assert_eq!(report(&app, &second, &case, &report_id).await["version"], 3);
}

#[actix_web::test]
async fn case_steps_pushed_from_a_phone_follow_the_state_machine() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let member = app.token(Role::GridMember, &[&cell]);
    let (device, _) = phone(&app, &member).await;
    // Before and after: the before photo is uploaded, the after one not yet.
    let before = common::stored_photo(&app, &member, 1).await;
    let after = gridline::media::PhotoHash::of(&common::jpeg(64, 48, 2)).to_string();
    let report_id = uuid(300);
    let mut payload = report_payload("电线杆上的小广告");
    payload["fixed_on_the_spot"] = json!(true);
    let r = ok_push(
        &app,
        &device,
        vec![op(1, 1, "create_report", &report_id, None, payload)],
    )
    .await;
    let case = r[0]["result"]["case_id"].as_str().unwrap().to_owned();
    // The rules dispatch it (a patrol case is still the member's to fix on the spot).
    gridline::service::cases::scheduler::tick(&app.state.db, app.state.clock.now()).unwrap();
    let version = app
        .get_as(&member, &format!("/api/v1/cases/{case}"))
        .await
        .json["case"]["version"]
        .as_i64()
        .unwrap() as i32;

    let r = ok_push(
        &app,
        &device,
        vec![
            // Closing is not a grid member's step; a progress note needs its words, then keeps the status; without
            // photos self-resolve is refused; then with them.
            op(2, 2, "transition", &case, None, json!({"action": "close"})),
            op(3, 3, "transition", &case, None, json!({"action": "note"})),
            op(
                4,
                4,
                "transition",
                &case,
                Some(version),
                json!({"action": "note", "note": "已联系物业"}),
            ),
            op(
                5,
                5,
                "transition",
                &case,
                None,
                json!({"action": "self_resolve"}),
            ),
            op(
                6,
                6,
                "transition",
                &case,
                None,
                json!({"action": "self_resolve", "note": "已清除", "evidence": [before, after]}),
            ),
        ],
    )
    .await;
    assert_eq!(
        statuses(&r),
        ["rejected", "rejected", "applied", "rejected", "rejected"],
        "{r:?}"
    );
    assert_eq!(r[4]["code"], "photos_missing", "{}", r[4]);
    assert!(r[4]["message"].as_str().unwrap().contains(&after));
    // The phone uploads the after photo, then sends the step again as a new operation.
    assert_eq!(common::stored_photo(&app, &member, 2).await, after);
    let r = [
        r,
        ok_push(
            &app,
            &device,
            vec![
                op(
                    9,
                    7,
                    "transition",
                    &case,
                    None,
                    json!({"action": "self_resolve", "note": "已清除", "evidence": [before, after]}),
                ),
                // Made against the case before the steps above: a conflict.
                op(
                    7,
                    8,
                    "transition",
                    &case,
                    Some(version),
                    json!({"action": "verify", "evidence": [after]}),
                ),
            ],
        )
        .await,
    ]
    .concat();
    assert_eq!(statuses(&r)[5..], ["applied", "conflict"], "{r:?}");
    assert!(
        ["illegal_transition", "forbidden_transition"].contains(&r[0]["code"].as_str().unwrap()),
        "{}",
        r[0]
    );
    assert_eq!(r[1]["code"], "invalid_field");
    assert_eq!(r[2]["result"]["status"], "dispatched");
    assert_eq!(r[3]["code"], "invalid_field");
    assert_eq!(r[5]["result"]["status"], "self_resolved");
    assert_eq!(r[6]["result"]["server"]["status"], "self_resolved");
    assert_eq!(r[6]["result"]["phone"]["base_version"], version);
    let d = app.get_as(&member, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(d.json["case"]["status"], "self_resolved");
    let steps: Vec<&str> = d.json["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["dispatch", "note", "self_resolve"],
        "refused steps leave no trace"
    );

    // A case outside the member's cells.
    let far = app.token(Role::GridMember, &["110119"]);
    let (far_device, _) = phone(&app, &far).await;
    let r = ok_push(
        &app,
        &far_device,
        vec![op(
            8,
            1,
            "transition",
            &case,
            None,
            json!({"action": "verify"}),
        )],
    )
    .await;
    assert_eq!(r[0]["code"], "out_of_scope");
}

#[actix_web::test]
async fn a_pushed_report_dated_in_the_future_or_before_the_floor_is_rejected_with_its_code() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let member = app.token(Role::GridMember, &[&cell]);
    let (device, _) = phone(&app, &member).await;
    let dated = |at: &str| {
        let mut p = report_payload("井盖缺失");
        p["reported_at"] = json!(at);
        p
    };
    let r = ok_push(
        &app,
        &device,
        vec![
            op(
                1,
                1,
                "create_report",
                &uuid(101),
                None,
                dated("2030-01-01T08:00:00+08:00"),
            ),
            op(
                2,
                2,
                "create_report",
                &uuid(102),
                None,
                dated("0001-01-01T00:00:00Z"),
            ),
            op(
                3,
                3,
                "create_report",
                &uuid(103),
                None,
                report_payload("井盖缺失"),
            ),
        ],
    )
    .await;
    assert_eq!(statuses(&r), ["rejected", "rejected", "applied"], "{r:?}");
    assert_eq!(r[0]["code"], "time_in_future");
    assert_eq!(r[1]["code"], "time_before_floor");
}
