//! The work on cases through the real routes and the real scheduler: dual dispatch by the rules, returns and
//! re-dispatch with the buck-passing flag and the dispatcher's queue, a whistle with one department late, an
//! extension, per-ticket callbacks, a failed callback and reopen, with the clocks checked at every turn; the
//! escalation ladder crossed exactly once per rung with a controllable clock, also across a restart; overdue
//! lists; and what each role may not do.

use crate::common;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use common::{Resp, TestApp};
use gridline::domain::access::Role;
use gridline::service::cases::scheduler;
use serde_json::{Value, json};

fn at(v: &Value) -> NaiveDateTime {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("a time: {v}")))
        .unwrap()
        .naive_utc()
}

async fn ticket(app: &TestApp, no: &str, topic: &str, phone: &str) -> Resp {
    common::file_ticket(app, no, topic, phone, "整栋楼停水一天了").await
}

async fn step(app: &TestApp, token: &str, case: &str, body: Value) -> Resp {
    app.post_as(token, &format!("/api/v1/cases/{case}/transitions"), body)
        .await
}

async fn ok_step(app: &TestApp, token: &str, case: &str, body: Value) -> Value {
    let r = step(app, token, case, body.clone()).await;
    assert_eq!(r.status, 201, "{body}: {}", r.json);
    r.json
}

async fn detail(app: &TestApp, token: &str, case: &str) -> Value {
    let r = app.get_as(token, &format!("/api/v1/cases/{case}")).await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json
}

/// The street office and command centre of the test cell's chain.
fn chain_unit(d: &Value, kind: &str) -> String {
    d["chain"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == kind)
        .and_then(|l| l["unit"]["id"].as_str())
        .unwrap_or_else(|| panic!("no {kind} in {}", d["chain"]))
        .to_owned()
}

#[actix_web::test]
async fn a_case_goes_every_path_and_its_clocks_follow() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let district = &cell[..6];
    let dispatcher = app.token(Role::Dispatcher, &[district]);
    let street = app.token(Role::StreetHandler, &[&cell[..9]]);
    let photo = common::stored_photo(&app, &street, 1).await;
    let hotline = app.token(Role::HotlineOperator, &[]);

    // Two callers about one water cut: one case (0702: 24 h, dual-dispatched to the water company).
    let first = ticket(&app, "WK-1", "0702", "13811112222").await;
    let id = first.json["case"]["id"].as_str().unwrap().to_owned();
    let second = ticket(&app, "WK-2", "0702", "13933334444").await;
    assert_eq!(second.json["case"]["id"], id.as_str());
    let tickets: Vec<String> = [&first, &second]
        .iter()
        .map(|r| r.json["ticket"]["id"].as_str().unwrap().to_owned())
        .collect();

    let d = detail(&app, &dispatcher, &id).await;
    assert_eq!(
        d["work"],
        Value::Null,
        "no clocks before the first dispatch"
    );
    let office = chain_unit(&d, "street_office");
    let centre = chain_unit(&d, "command_centre");
    let departments = common::departments(&app, district).await;
    let water = departments
        .iter()
        .find(|(_, _, topics)| topics.iter().any(|t| t == "0702"))
        .expect("a department answers for water")
        .0
        .clone();
    let water_dept = app.department_handler(&["07"], &[&water]);

    // 首派 + 双派 by the rules: the street office handles it, the water company co-handles, the centre is copied.
    let r = ok_step(&app, &dispatcher, &id, json!({"action": "dispatch"})).await;
    assert_eq!(
        r["transition"]["details"]["targets"],
        json!([office, water])
    );
    assert_eq!(r["transition"]["details"]["copied"], json!([centre]));
    let d = detail(&app, &dispatcher, &id).await;
    let w = &d["work"];
    let dispatched = at(&w["dispatched_at"]);
    assert_eq!(w["time_class"], "24h");
    assert_eq!(w["handler_unit_id"], office.as_str());
    assert_eq!(w["street_code"], &cell[..9]);
    assert_eq!(w["departments"], json!([water]));
    assert_eq!(at(&w["respond_due_at"]), dispatched + Duration::hours(2));
    assert_eq!(at(&w["complete_due_at"]), dispatched + Duration::hours(24));
    assert_eq!(w["respond_late"], false);
    assert_eq!(w["overdue"], false);
    assert_eq!(at(&w["next_rung_at"]), dispatched + Duration::hours(12));

    // 退单 twice: counted, flagged as buck-passing, shown in the dispatcher's queue with the reason.
    let r = step(&app, &street, &id, json!({"action": "return"})).await;
    assert_eq!(r.status, 400, "a return needs a reason: {}", r.json);
    ok_step(
        &app,
        &street,
        &id,
        json!({"action": "return", "note": "供水管线属自来水集团"}),
    )
    .await;
    let q = app
        .get_as(&dispatcher, "/api/v1/dispatch/queue?kind=returned")
        .await;
    assert_eq!(q.status, 200, "{}", q.json);
    let item = &q.json["items"][0];
    assert_eq!(item["case"]["id"], id.as_str());
    assert_eq!(item["note"], "供水管线属自来水集团");
    assert_eq!(
        (item["return_count"].clone(), item["buck_passing"].clone()),
        (json!(1), json!(false))
    );
    app.state.clock.advance(Duration::hours(1));
    let r = ok_step(
        &app,
        &dispatcher,
        &id,
        json!({"action": "dispatch", "targets": [office]}),
    )
    .await;
    assert_eq!(r["transition"]["details"]["targets"], json!([office]));
    let d = detail(&app, &dispatcher, &id).await;
    let redispatched = at(&d["transitions"][2]["at"]);
    assert_eq!(
        at(&d["work"]["respond_due_at"]),
        redispatched + Duration::hours(2),
        "改派 gives the new unit its own time to respond"
    );
    assert_eq!(
        at(&d["work"]["complete_due_at"]),
        dispatched + Duration::hours(24),
        "the citizen's deadline stands"
    );
    ok_step(
        &app,
        &street,
        &id,
        json!({"action": "return", "note": "仍不属于街道职责"}),
    )
    .await;
    let q = app
        .get_as(&dispatcher, "/api/v1/dispatch/queue?kind=returned")
        .await;
    assert_eq!(q.json["items"][0]["return_count"], 2);
    assert_eq!(q.json["items"][0]["buck_passing"], true);
    ok_step(&app, &dispatcher, &id, json!({"action": "dispatch"})).await;

    // Accepted three hours after the re-dispatch: late for the response clock.
    app.state.clock.advance(Duration::hours(3));
    ok_step(&app, &street, &id, json!({"action": "accept"})).await;
    ok_step(&app, &street, &id, json!({"action": "start"})).await;
    let d = detail(&app, &street, &id).await;
    assert_eq!(d["work"]["respond_late"], true);
    assert!(d["work"]["accepted_by_name"].is_string());

    // 吹哨: two departments summoned; one reports in on time, the other 40 minutes later.
    let gas = departments
        .iter()
        .find(|(_, _, topics)| topics.iter().any(|t| t == "0704"))
        .unwrap()
        .0
        .clone();
    let r = ok_step(
        &app,
        &street,
        &id,
        json!({"action": "whistle", "note": "管线抢修需多部门", "targets": [water, gas, water]}),
    )
    .await;
    assert_eq!(r["case"]["status"], "whistled");
    let r = step(
        &app,
        &street,
        &id,
        json!({"action": "whistle", "note": "x", "targets": [office]}),
    )
    .await;
    assert_eq!(r.status, 409, "already whistled: {}", r.json);
    app.state.clock.advance(Duration::minutes(10));
    ok_step(
        &app,
        &water_dept,
        &id,
        json!({"action": "report_in", "targets": [water]}),
    )
    .await;
    let again = step(
        &app,
        &water_dept,
        &id,
        json!({"action": "report_in", "targets": [water]}),
    )
    .await;
    assert_eq!(again.status, 400, "{}", again.json);
    let stranger = step(
        &app,
        &water_dept,
        &id,
        json!({"action": "report_in", "targets": [office]}),
    )
    .await;
    assert_eq!(
        (stranger.status.as_u16(), stranger.json["code"].clone()),
        (403, json!("not_unit_member")),
        "the water company's handler does not act for the street office"
    );
    app.state.clock.advance(Duration::minutes(30));
    let d = detail(&app, &street, &id).await;
    let calls = d["whistle_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    let call = |unit: &str| calls.iter().find(|c| c["unit_id"] == unit).unwrap().clone();
    assert_eq!(
        (
            call(&water)["late"].clone(),
            call(&water)["missing"].clone()
        ),
        (json!(false), json!(false))
    );
    assert_eq!(call(&gas)["missing"], true, "40 minutes without a report");
    let gas_dept = app.department_handler(&["07"], &[&gas]);
    ok_step(
        &app,
        &gas_dept,
        &id,
        json!({"action": "report_in", "targets": [gas]}),
    )
    .await;
    let d = detail(&app, &street, &id).await;
    let late = d["whistle_calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["unit_id"] == gas.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (late["late"].clone(), late["missing"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(
        at(&late["due_at"]),
        at(&late["summoned_at"]) + Duration::minutes(30)
    );

    // 延期: the completion deadline and the ladder move by the days granted.
    let before = detail(&app, &street, &id).await["work"].clone();
    ok_step(
        &app,
        &street,
        &id,
        json!({"action": "extend", "note": "更换主管道", "days": 2}),
    )
    .await;
    let d = detail(&app, &street, &id).await;
    assert_eq!(d["work"]["extension_days"], 2);
    assert_eq!(
        at(&d["work"]["complete_due_at"]),
        at(&before["complete_due_at"]) + Duration::days(2)
    );
    ok_step(&app, &street, &id, json!({"action": "end_whistle"})).await;
    ok_step(
        &app,
        &street,
        &id,
        json!({"action": "reply", "note": "已恢复供水", "evidence": [photo]}),
    )
    .await;
    let d = detail(&app, &street, &id).await;
    assert_eq!(
        d["work"]["next_rung_at"],
        Value::Null,
        "replied work is not escalated"
    );
    assert!(d["work"]["replied_at"].is_string());

    // 回访 per ticket: one caller says it is not solved, the other is not reached; then reopen.
    let r = step(
        &app,
        &hotline,
        &id,
        json!({"action": "call_back", "callbacks": [{"ticket_id": tickets[0], "contacted": true, "resolved": "no", "satisfaction": "dissatisfied"}]}),
    )
    .await;
    assert_eq!(r.status, 400, "every ticket needs a result: {}", r.json);
    let r = step(
        &app,
        &hotline,
        &id,
        json!({"action": "call_back", "callbacks": [{"ticket_id": tickets[0], "contacted": false, "resolved": "yes"}], "callback": {"contacted": false}}),
    )
    .await;
    assert_eq!(
        r.status, 400,
        "an unreached caller gives no answer: {}",
        r.json
    );
    ok_step(
        &app,
        &hotline,
        &id,
        json!({"action": "call_back",
               "callbacks": [{"ticket_id": tickets[0], "contacted": true, "resolved": "no", "satisfaction": "dissatisfied"}],
               "callback": {"contacted": false}}),
    )
    .await;
    ok_step(
        &app,
        &hotline,
        &id,
        json!({"action": "reopen", "note": "市民反映仍然停水"}),
    )
    .await;
    let d = detail(&app, &street, &id).await;
    assert_eq!(d["work"]["replied_at"], Value::Null);
    // A new handling cycle: its clocks start at the reopen, its extensions from none (the extension stays in the
    // history).
    let reopened = at(&d["transitions"].as_array().unwrap().last().unwrap()["at"]);
    assert_eq!(d["work"]["cycle"], 2);
    assert_eq!(at(&d["work"]["cycle_started_at"]), reopened);
    assert_eq!(d["work"]["extension_days"], 0);
    assert_eq!(
        at(&d["work"]["complete_due_at"]),
        reopened + Duration::hours(24)
    );
    assert_eq!(
        at(&d["work"]["next_rung_at"]),
        reopened + Duration::hours(12)
    );
    ok_step(&app, &street, &id, json!({"action": "accept"})).await;
    ok_step(&app, &street, &id, json!({"action": "start"})).await;
    ok_step(
        &app,
        &street,
        &id,
        json!({"action": "reply", "note": "更换水泵", "evidence": [photo]}),
    )
    .await;
    ok_step(
        &app,
        &hotline,
        &id,
        json!({"action": "call_back", "callback": {"contacted": true, "resolved": "yes", "satisfaction": "satisfied"}}),
    )
    .await;
    ok_step(&app, &hotline, &id, json!({"action": "close"})).await;

    let d = detail(&app, &hotline, &id).await;
    let actions: Vec<&str> = d["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "dispatch",
            "return",
            "dispatch",
            "return",
            "dispatch",
            "accept",
            "start",
            "whistle",
            "report_in",
            "report_in",
            "extend",
            "end_whistle",
            "reply",
            "call_back",
            "reopen",
            "accept",
            "start",
            "reply",
            "call_back",
            "close"
        ]
    );
    for pair in d["transitions"].as_array().unwrap().windows(2) {
        assert_eq!(pair[0]["to"], pair[1]["from"]);
        assert!(at(&pair[0]["at"]) <= at(&pair[1]["at"]));
    }
    let callbacks: Vec<(String, i64, bool, Value)> = d["callbacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["ticket_id"].as_str().unwrap().to_owned(),
                c["round"].as_i64().unwrap(),
                c["contacted"].as_bool().unwrap(),
                c["resolved"].clone(),
            )
        })
        .collect();
    let mut expected = vec![
        (tickets[0].clone(), 1, true, json!("no")),
        (tickets[0].clone(), 2, true, json!("yes")),
        (tickets[1].clone(), 1, false, Value::Null),
        (tickets[1].clone(), 2, true, json!("yes")),
    ];
    expected.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    assert_eq!(callbacks, expected);
    assert!(d["work"]["closed_at"].is_string());
    assert_eq!(d["work"]["return_count"], 2);
    assert_eq!(d["work"]["buck_passing"], true);
}

#[actix_web::test]
async fn the_ladder_is_climbed_once_per_rung_also_across_a_restart() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let dispatcher = app.token(Role::Dispatcher, &[&cell[..6]]);
    let street = app.token(Role::StreetHandler, &[&cell[..9]]);
    let photo = common::stored_photo(&app, &street, 1).await;
    let slow = ticket(&app, "ESC-1", "0101", "13700001111").await.json["case"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let quick = ticket(&app, "ESC-2", "0401", "13700002222").await.json["case"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(slow, quick);

    // The scheduler dispatches both by the rules, once.
    let t0 = Utc::now().naive_utc();
    let first = scheduler::tick(&app.state.db, t0).unwrap();
    assert_eq!(first.dispatched, 2, "{first:?}");
    assert_eq!(scheduler::tick(&app.state.db, t0).unwrap().dispatched, 0);
    let d = detail(&app, &dispatcher, &slow).await;
    assert_eq!(d["case"]["status"], "dispatched");
    assert_eq!(d["transitions"][0]["actor_name"], "自动派单");
    let dispatched = at(&d["work"]["dispatched_at"]);

    // The quick case is replied before any rung: it never escalates.
    ok_step(&app, &street, &quick, json!({"action": "accept"})).await;
    ok_step(&app, &street, &quick, json!({"action": "start"})).await;
    ok_step(
        &app,
        &street,
        &quick,
        json!({"action": "reply", "note": "已修剪", "evidence": [photo]}),
    )
    .await;

    let day = |n: i64| dispatched + Duration::days(n) + Duration::seconds(1);
    assert_eq!(scheduler::escalate(&app.state.db, day(1)).unwrap().0, 0);
    assert_eq!(
        scheduler::escalate(&app.state.db, day(2)).unwrap().0,
        1,
        "remind"
    );
    assert_eq!(
        scheduler::escalate(&app.state.db, day(2)).unwrap().0,
        0,
        "not twice"
    );

    // A restart: a new pool over the same database knows what was done.
    let reopened = app.db.open();
    assert_eq!(scheduler::escalate(&reopened, day(2)).unwrap().0, 0);
    // Down for days: both rungs that fell due meanwhile are crossed, each once.
    assert_eq!(scheduler::escalate(&reopened, day(6)).unwrap().0, 2);
    assert_eq!(
        scheduler::escalate(&reopened, day(30)).unwrap().0,
        0,
        "the ladder has three rungs"
    );
    drop(reopened);

    let d = detail(&app, &dispatcher, &slow).await;
    let rungs: Vec<(i64, &str)> = d["escalations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["rung"].as_i64().unwrap(), e["name"].as_str().unwrap()))
        .collect();
    assert_eq!(rungs, [(1, "remind"), (2, "supervise"), (3, "investigate")]);
    assert_eq!(
        at(&d["escalations"][0]["due_at"]),
        dispatched + Duration::days(2)
    );
    let kinds = |k: usize| -> Vec<String> {
        d["escalations"][k]["notified"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(kinds(0), ["handler"]);
    assert!(
        kinds(1).contains(&"section_leader".to_owned())
            && !kinds(1).contains(&"command_centre".to_owned())
    );
    assert!(kinds(2).contains(&"command_centre".to_owned()));
    assert_eq!(d["work"]["rung"], 3);
    assert_eq!(d["work"]["next_rung_at"], Value::Null);
    assert_eq!(
        detail(&app, &dispatcher, &quick).await["escalations"],
        json!([])
    );

    // The feed of escalations, paged with its cursor, and polled again from the end.
    let page = app.get_as(&dispatcher, "/api/v1/escalations?limit=2").await;
    assert_eq!(page.status, 200, "{}", page.json);
    assert_eq!(page.json["items"].as_array().unwrap().len(), 2);
    let cursor = page.json["next_cursor"].as_str().unwrap().to_owned();
    let rest = app
        .get_as(&dispatcher, &format!("/api/v1/escalations?cursor={cursor}"))
        .await;
    assert_eq!(rest.json["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest.json["items"][0]["escalation"]["name"], "investigate");
    let end = rest.json["next_cursor"].as_str().unwrap().to_owned();
    let none = app
        .get_as(&dispatcher, &format!("/api/v1/escalations?cursor={end}"))
        .await;
    assert_eq!(none.json["items"], json!([]));
    let other = app.token(Role::Dispatcher, &["110119"]);
    let hidden = app.get_as(&other, "/api/v1/escalations").await;
    assert_eq!(
        hidden.json["items"],
        json!([]),
        "another district's escalations are not shown"
    );
    let bad = app
        .get_as(&dispatcher, "/api/v1/escalations?cursor=x")
        .await;
    assert_eq!(bad.status, 400);

    // Overdue: the slow case once its 7 days have passed, never the replied one.
    assert_eq!(overdue(&app, &dispatcher).await, Vec::<String>::new());
    app.state.clock.advance(Duration::days(8));
    // A week on, the dispatcher's 12 h token has expired: they sign in again.
    let dispatcher = app.sign_in_again(&dispatcher);
    assert_eq!(
        overdue(&app, &dispatcher).await,
        std::slice::from_ref(&slow)
    );
    assert_eq!(
        detail(&app, &dispatcher, &slow).await["work"]["overdue"],
        true
    );
}

async fn overdue(app: &TestApp, token: &str) -> Vec<String> {
    let r = app.get_as(token, "/api/v1/cases?overdue=true").await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn the_queue_holds_what_the_rules_cannot_route_and_roles_keep_to_their_steps() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let op = app.token(Role::HotlineOperator, &[]);
    let r = app
        .post_as(
            &op,
            "/api/v1/tickets",
            json!({
                "ticket_no": "Q-1",
                "channel": "phone",
                "request_type": "complaint",
                "topic": "0601",
                "text": "楼上装修太吵",
                "caller": { "name": "赵四", "phone": "13655556666" },
                "address": "我家楼下"
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let unplaced = r.json["case"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        scheduler::tick(&app.state.db, Utc::now().naive_utc())
            .unwrap()
            .dispatched,
        0
    );

    let city = app.token(Role::Dispatcher, &["110000"]);
    let district = app.token(Role::Dispatcher, &[&cell[..6]]);
    let q = app.get_as(&city, "/api/v1/dispatch/queue").await;
    assert_eq!(q.status, 200, "{}", q.json);
    assert_eq!(q.json["items"][0]["case"]["id"], unplaced.as_str());
    assert_eq!(q.json["items"][0]["reason"], "unplaced");
    let q = app.get_as(&district, "/api/v1/dispatch/queue").await;
    assert_eq!(q.json["items"], json!([]), "unplaced cases are the city's");
    let grid = app.token(Role::GridMember, &[&cell]);
    assert_eq!(
        app.get_as(&grid, "/api/v1/dispatch/queue").await.status,
        403
    );
    assert_eq!(
        app.get_as(&city, "/api/v1/dispatch/queue?kind=all")
            .await
            .status,
        400
    );

    // The rules cannot route it; a dispatcher names the street office.
    let r = step(&app, &city, &unplaced, json!({"action": "dispatch"})).await;
    assert_eq!(r.status, 409, "{}", r.json);
    assert_eq!(r.json["code"], "no_route");
    let placed = ticket(&app, "Q-2", "0101", "13655557777").await.json["case"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let office = chain_unit(&detail(&app, &district, &placed).await, "street_office");
    let r = ok_step(
        &app,
        &city,
        &unplaced,
        json!({"action": "dispatch", "targets": [office]}),
    )
    .await;
    assert_eq!(r["case"]["status"], "dispatched");
    let q = app.get_as(&city, "/api/v1/dispatch/queue").await;
    assert!(
        q.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["case"]["id"] != unplaced.as_str()),
        "a dispatched case leaves the queue"
    );

    // Roles: a grid member cannot dispatch, a department handler cannot close a street's case, a dispatcher of
    // another district cannot touch the case.
    let r = step(&app, &grid, &placed, json!({"action": "dispatch"})).await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].clone()),
        (403, json!("forbidden_transition"))
    );
    ok_step(&app, &district, &placed, json!({"action": "dispatch"})).await;
    let street = app.token(Role::StreetHandler, &[&cell[..9]]);
    ok_step(&app, &street, &placed, json!({"action": "accept"})).await;
    ok_step(&app, &street, &placed, json!({"action": "start"})).await;
    // Evidence is sent by the one who names it (a hash alone proves nothing).
    let photo = common::stored_photo(&app, &street, 1).await;
    ok_step(
        &app,
        &street,
        &placed,
        json!({"action": "reply", "note": "已清理", "evidence": [photo]}),
    )
    .await;
    ok_step(
        &app,
        &op,
        &placed,
        json!({"action": "call_back", "callback": {"contacted": true, "resolved": "yes", "satisfaction": "satisfied"}}),
    )
    .await;
    let dept = app.token_with_topics(Role::DepartmentHandler, &[], &["01"]);
    let r = step(&app, &dept, &placed, json!({"action": "close"})).await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].clone()),
        (403, json!("forbidden_transition"))
    );
    let other = app.token(Role::Dispatcher, &["110119"]);
    let r = step(&app, &other, &placed, json!({"action": "close"})).await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].clone()),
        (404, json!("case_not_found"))
    );
    ok_step(&app, &op, &placed, json!({"action": "close"})).await;
}

#[actix_web::test]
async fn a_patrol_case_dispatched_by_the_rules_is_still_fixed_on_the_spot() {
    let app = TestApp::beijing();
    let (lon, lat, cell) = common::spot();
    let grid = app.token(Role::GridMember, &[&cell]);
    let (before, after) = (
        common::stored_photo(&app, &grid, 1).await,
        common::stored_photo(&app, &grid, 2).await,
    );
    let r = app
        .post_as(
            &grid,
            "/api/v1/reports",
            json!({
                "id": "6f1d1c1e-8a4b-4c39-9f7e-2a3b4c5d6e7f",
                "topic": "0103",
                "text": "电线杆上的小广告",
                "location": { "lon": lon, "lat": lat },
                "photos": [before],
                "fixed_on_the_spot": true
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.json["case"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        scheduler::tick(&app.state.db, Utc::now().naive_utc())
            .unwrap()
            .dispatched,
        1
    );
    let r = step(&app, &grid, &id, json!({"action": "self_resolve"})).await;
    assert_eq!(r.status, 400, "photos are needed: {}", r.json);
    ok_step(
        &app,
        &grid,
        &id,
        json!({"action": "self_resolve", "note": "已清除", "evidence": [before, after]}),
    )
    .await;
    let d = detail(&app, &grid, &id).await;
    assert_eq!(d["case"]["status"], "self_resolved");
    assert!(d["work"]["replied_at"].is_string());
    assert_eq!(d["work"]["next_rung_at"], Value::Null);
}

#[actix_web::test]
async fn policy_values_are_checked_stored_and_govern_the_clocks() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let admin = app.token(Role::Admin, &[]);
    let dispatcher = app.token(Role::Dispatcher, &[&cell[..6]]);

    let r = common::put_policy(&app, &admin, "work.7d.ladder", "remind:60,supervise:120").await;
    assert_eq!(r.status, 200, "{}", r.json);
    let r = common::put_policy(&app, &admin, "work.7d.respond_minutes", "45").await;
    assert_eq!(r.status, 200, "{}", r.json);
    for (key, value, status, code) in [
        (
            "work.7d.ladder",
            "supervise:120,remind:60",
            400,
            "invalid_field",
        ),
        ("work.7d.respond_minutes", "-5", 400, "invalid_field"),
        ("work.auto_dispatch", "maybe", 400, "invalid_field"),
        ("work.7d.colour", "red", 404, "unknown_policy_key"),
    ] {
        let r = common::put_policy(&app, &admin, key, value).await;
        assert_eq!(
            (r.status.as_u16(), r.json["code"].as_str()),
            (status, Some(code)),
            "{key}={value}"
        );
    }
    let r = common::put_policy(&app, &dispatcher, "work.auto_dispatch", "false").await;
    assert_eq!(r.status, 403);
    let r = app.get_as(&dispatcher, "/api/v1/policy").await;
    assert_eq!(
        r.json["values"],
        json!([
            {"key": "work.7d.ladder", "value": "remind:60,supervise:120"},
            {"key": "work.7d.respond_minutes", "value": "45"}
        ])
    );

    // The stored values govern the next dispatch and the ladder.
    let id = ticket(&app, "POL-1", "0101", "13712341234").await.json["case"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let t0 = Utc::now().naive_utc();
    assert_eq!(scheduler::tick(&app.state.db, t0).unwrap().dispatched, 1);
    let d = detail(&app, &dispatcher, &id).await;
    let dispatched = at(&d["work"]["dispatched_at"]);
    assert_eq!(
        at(&d["work"]["respond_due_at"]),
        dispatched + Duration::minutes(45)
    );
    assert_eq!(
        scheduler::escalate(&app.state.db, dispatched + Duration::minutes(200))
            .unwrap()
            .0,
        2,
        "a two-rung ladder"
    );

    // Removed, the default applies again; removing twice says nothing was stored.
    let del = |key: &'static str| common::Req {
        method: actix_web::http::Method::DELETE,
        uri: key,
        token: Some(&admin),
        ..common::Req::default()
    };
    assert_eq!(
        app.send(del("/api/v1/policy/work.7d.ladder")).await.status,
        204
    );
    let again = app.send(del("/api/v1/policy/work.7d.ladder")).await;
    assert_eq!(
        (again.status.as_u16(), again.json["code"].clone()),
        (404, json!("policy_not_set"))
    );
}

/// A 0702 water case dispatched by the rules (street office + the water department), accepted, started and whistled
/// to the water and gas departments: (case id, water unit, gas unit, street handler token).
async fn whistled_water_case(app: &TestApp) -> (String, String, String, String) {
    let (_, _, cell) = common::spot();
    let district = &cell[..6];
    let dispatcher = app.token(Role::Dispatcher, &[district]);
    let street = app.token(Role::StreetHandler, &[&cell[..9]]);
    let id = ticket(app, "MEM-1", "0702", "13811112222").await.json["case"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let departments = common::departments(app, district).await;
    let unit_for = |topic: &str| {
        departments
            .iter()
            .find(|(_, _, topics)| topics.iter().any(|t| t == topic))
            .unwrap()
            .0
            .clone()
    };
    let (water, gas) = (unit_for("0702"), unit_for("0704"));
    ok_step(app, &dispatcher, &id, json!({"action": "dispatch"})).await;
    ok_step(app, &street, &id, json!({"action": "accept"})).await;
    ok_step(app, &street, &id, json!({"action": "start"})).await;
    ok_step(
        app,
        &street,
        &id,
        json!({"action": "whistle", "note": "管线抢修", "targets": [water, gas]}),
    )
    .await;
    (id, water, gas, street)
}

#[actix_web::test]
async fn a_department_handler_cannot_report_in_for_another_department() {
    let app = TestApp::beijing();
    let (id, water, gas, street) = whistled_water_case(&app).await;
    let gas_handler = app.department_handler(&["07"], &[&gas]);
    let unattached = app.department_handler(&["07"], &[]);
    let before = detail(&app, &street, &id).await;

    for token in [&gas_handler, &unattached] {
        let r = step(
            &app,
            token,
            &id,
            json!({"action": "report_in", "targets": [water]}),
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), r.json["code"].clone()),
            (403, json!("not_unit_member")),
            "{}",
            r.json
        );
    }
    let after = detail(&app, &street, &id).await;
    assert_eq!(
        after["whistle_calls"], before["whistle_calls"],
        "the whistle record is unchanged"
    );
    assert_eq!(after["case"]["version"], before["case"]["version"]);

    let water_handler = app.department_handler(&["07"], &[&water]);
    ok_step(
        &app,
        &water_handler,
        &id,
        json!({"action": "report_in", "targets": [water]}),
    )
    .await;
    ok_step(
        &app,
        &gas_handler,
        &id,
        json!({"action": "report_in", "targets": [gas]}),
    )
    .await;
    let d = detail(&app, &street, &id).await;
    let reported: Vec<(Value, bool)> = d["whistle_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["unit_id"].clone(), c["reported_at"].is_string()))
        .collect();
    assert!(reported.iter().all(|(_, r)| *r), "{reported:?}");
}

#[actix_web::test]
async fn a_department_handler_works_only_cases_sent_or_whistled_to_their_units() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let district = &cell[..6];
    let dispatcher = app.token(Role::Dispatcher, &[district]);
    let id = ticket(&app, "MEM-2", "0702", "13811112222").await.json["case"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = ok_step(&app, &dispatcher, &id, json!({"action": "dispatch"})).await;
    let water = r["transition"]["details"]["targets"][1]
        .as_str()
        .expect("dual-dispatched to the water department")
        .to_owned();
    let other = common::departments(&app, district)
        .await
        .into_iter()
        .find(|(u, _, _)| *u != water)
        .unwrap()
        .0;
    let outsider = app.department_handler(&["07"], &[&other]);
    for body in [
        json!({"action": "note", "note": "已联系"}),
        json!({"action": "accept"}),
    ] {
        let r = step(&app, &outsider, &id, body.clone()).await;
        assert_eq!(
            (r.status.as_u16(), r.json["code"].clone()),
            (403, json!("not_unit_member")),
            "{body}: {}",
            r.json
        );
    }
    let member = app.department_handler(&["07"], &[&water]);
    ok_step(
        &app,
        &member,
        &id,
        json!({"action": "note", "note": "已联系供水抢修"}),
    )
    .await;
    ok_step(&app, &member, &id, json!({"action": "accept"})).await;
}

/// The actions offered for case `id` in `token`'s case detail and in their pull feed (in that order).
async fn offered(app: &TestApp, token: &str, id: &str) -> (Vec<String>, Vec<String>) {
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["action"].as_str().unwrap().to_owned())
            .collect()
    };
    let detail = names(&detail(app, token, id).await["next_steps"]);
    let r = app.get_as(token, "/api/v1/sync/pull?limit=500").await;
    assert_eq!(r.status, 200, "{}", r.json);
    let case = r.json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id)
        .unwrap_or_else(|| panic!("case {id} is in the pull feed: {}", r.json));
    (detail, names(&case["actions"]))
}

#[actix_web::test]
async fn a_department_handler_is_offered_only_the_steps_their_units_allow() {
    let app = TestApp::beijing();
    let (id, water, gas, _) = whistled_water_case(&app).await;
    let (_, _, cell) = common::spot();
    let other = common::departments(&app, &cell[..6])
        .await
        .into_iter()
        .find(|(u, _, _)| *u != water && *u != gas)
        .unwrap()
        .0;
    // A department the case was neither sent nor whistled to: nothing offered, in the detail or on the phone.
    let outsider = app.department_handler(&["07"], &[&other]);
    assert_eq!(offered(&app, &outsider, &id).await, (vec![], vec![]));
    let r = step(
        &app,
        &outsider,
        &id,
        json!({"action": "report_in", "targets": [water]}),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.json);
    // The summoned gas department is offered its report-in, and once it reported in, no longer.
    let gas_handler = app.department_handler(&["07"], &[&gas]);
    let (detail_steps, actions) = offered(&app, &gas_handler, &id).await;
    assert!(
        detail_steps.contains(&"report_in".to_owned()),
        "{detail_steps:?}"
    );
    assert_eq!(detail_steps, actions);
    let r = ok_step(
        &app,
        &gas_handler,
        &id,
        json!({"action": "report_in", "targets": [gas]}),
    )
    .await;
    let after: Vec<&str> = r["next_steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert!(!after.contains(&"report_in"), "{after:?}");
    let (detail_steps, actions) = offered(&app, &gas_handler, &id).await;
    assert!(
        !detail_steps.contains(&"report_in".to_owned()),
        "{detail_steps:?}"
    );
    assert_eq!(detail_steps, actions);
    // Every step offered to a member is one they may take: none answers not_unit_member.
    let water_handler = app.department_handler(&["07"], &[&water]);
    let (detail_steps, _) = offered(&app, &water_handler, &id).await;
    assert!(
        detail_steps.contains(&"report_in".to_owned()),
        "{detail_steps:?}"
    );
    ok_step(
        &app,
        &water_handler,
        &id,
        json!({"action": "report_in", "targets": [water]}),
    )
    .await;
}

#[actix_web::test]
async fn a_refused_role_is_named_with_the_right_article() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let dispatcher = app.token(Role::Dispatcher, &[&cell[..6]]);
    let admin = app.token(Role::Admin, &[]);
    let id = ticket(&app, "ART-1", "0101", "13811112222").await.json["case"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok_step(&app, &dispatcher, &id, json!({"action": "dispatch"})).await;
    let r = step(&app, &admin, &id, json!({"action": "accept"})).await;
    assert_eq!(r.status, 403, "{}", r.json);
    let message = r.json["message"].as_str().unwrap();
    assert!(message.starts_with("an admin may not accept"), "{message}");
}

#[actix_web::test]
async fn a_reopened_case_is_not_escalated_at_the_next_tick_and_climbs_its_ladder_from_the_reopen() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let dispatcher = app.token(Role::Dispatcher, &[&cell[..6]]);
    let street = app.token(Role::StreetHandler, &[&cell[..9]]);
    let hotline = app.token(Role::HotlineOperator, &[]);
    let photo = common::stored_photo(&app, &street, 1).await;
    let id = ticket(&app, "RO-1", "0101", "13700003333").await.json["case"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let t0 = Utc::now().naive_utc();
    assert_eq!(scheduler::tick(&app.state.db, t0).unwrap().dispatched, 1);
    let dispatched = at(&detail(&app, &dispatcher, &id).await["work"]["dispatched_at"]);

    // Cycle 1: reminded after two days, then replied, called back unsolved and reopened on day 5.
    let report = scheduler::tick(
        &app.state.db,
        dispatched + Duration::days(2) + Duration::seconds(1),
    )
    .unwrap();
    assert_eq!(report.escalated, 1, "{report:?}");
    app.state.clock.advance(Duration::days(5));
    // Five days on, everyone's 12 h token has expired: they sign in again.
    let (dispatcher, street, hotline) = (
        app.sign_in_again(&dispatcher),
        app.sign_in_again(&street),
        app.sign_in_again(&hotline),
    );
    ok_step(&app, &street, &id, json!({"action": "accept"})).await;
    ok_step(&app, &street, &id, json!({"action": "start"})).await;
    ok_step(
        &app,
        &street,
        &id,
        json!({"action": "reply", "note": "已清理", "evidence": [photo]}),
    )
    .await;
    ok_step(
        &app,
        &hotline,
        &id,
        json!({"action": "call_back", "callback": {"contacted": true, "resolved": "no", "satisfaction": "dissatisfied"}}),
    )
    .await;
    let r = ok_step(
        &app,
        &hotline,
        &id,
        json!({"action": "reopen", "note": "垃圾又堆起来了"}),
    )
    .await;
    let reopened = at(&r["transition"]["at"]);
    let d = detail(&app, &dispatcher, &id).await;
    assert_eq!(d["work"]["rung"], 0);
    assert_eq!(at(&d["work"]["next_rung_at"]), reopened + Duration::days(2));

    // The next tick, and the ones before the new cycle's first rung, cross nothing: the first dispatch's ladder no
    // longer counts.
    for later in [
        Duration::seconds(1),
        Duration::days(1),
        Duration::days(2) - Duration::seconds(1),
    ] {
        let report = scheduler::tick(&app.state.db, reopened + later).unwrap();
        assert_eq!(report.escalated, 0, "{later}: {report:?}");
    }
    // Two days after the reopen the new cycle is reminded, from its bottom rung.
    let report = scheduler::tick(
        &app.state.db,
        reopened + Duration::days(2) + Duration::seconds(1),
    )
    .unwrap();
    assert_eq!(report.escalated, 1, "{report:?}");
    let d = detail(&app, &dispatcher, &id).await;
    let rungs: Vec<(i64, i64, String, NaiveDateTime)> = d["escalations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["cycle"].as_i64().unwrap(),
                e["rung"].as_i64().unwrap(),
                e["name"].as_str().unwrap().to_owned(),
                at(&e["due_at"]),
            )
        })
        .collect();
    assert_eq!(
        rungs,
        [
            (1, 1, "remind".to_owned(), dispatched + Duration::days(2)),
            (2, 1, "remind".to_owned(), reopened + Duration::days(2)),
        ]
    );
}

#[actix_web::test]
async fn a_pass_over_more_due_escalations_than_the_limit_fires_the_limit_and_reports_the_rest() {
    let app = TestApp::beijing();
    let (_, _, cell) = common::spot();
    let admin = app.token(Role::Admin, &[]);
    let r = common::put_policy(&app, &admin, "work.escalation.max_per_pass", "2").await;
    assert!(r.status.is_success(), "{}", r.json);
    let dispatcher = app.token(Role::Dispatcher, &[&cell[..6]]);
    // Five cases of five topics (none joins another), dispatched together and never handled.
    for (k, topic) in ["0101", "0102", "0103", "0104", "0105"].iter().enumerate() {
        ticket(&app, &format!("LIM-{k}"), topic, &format!("1370000444{k}")).await;
    }
    let t0 = Utc::now().naive_utc();
    assert_eq!(scheduler::tick(&app.state.db, t0).unwrap().dispatched, 5);

    // Two days on all five are due for a reminder: a pass fires two and reports three left, and so on.
    let due = t0 + Duration::days(2) + Duration::minutes(1);
    let passes: Vec<(usize, usize)> = (0..4)
        .map(|_| {
            let r = scheduler::tick(&app.state.db, due).unwrap();
            (r.escalated, r.escalations_deferred)
        })
        .collect();
    assert_eq!(passes, [(2, 3), (2, 1), (1, 0), (0, 0)]);
    let page = app.get_as(&dispatcher, "/api/v1/escalations").await;
    assert_eq!(
        page.json["items"].as_array().unwrap().len(),
        5,
        "{}",
        page.json
    );
}

#[actix_web::test]
async fn the_policy_lists_every_key_with_its_default_and_the_value_in_effect() {
    let app = TestApp::beijing();
    let admin = app.token(Role::Admin, &[]);
    let r = common::put_policy(&app, &admin, "work.7d.respond_minutes", "45").await;
    assert_eq!(r.status, 200, "{}", r.json);
    let reader = app.token(Role::Dispatcher, &["110105"]);
    let r = app.get_as(&reader, "/api/v1/policy").await;
    assert_eq!(r.status, 200, "{}", r.json);
    let settings = r.json["settings"].as_array().unwrap();
    let find = |key: &str| {
        settings
            .iter()
            .find(|s| s["key"] == key)
            .unwrap_or_else(|| panic!("{key} is not listed"))
            .clone()
    };
    assert_eq!(
        find("work.7d.respond_minutes"),
        json!({"key": "work.7d.respond_minutes", "default": "1440", "stored": "45", "current": "45"})
    );
    assert_eq!(
        find("work.7d.ladder"),
        json!({"key": "work.7d.ladder", "default": "remind:2880,supervise:4320,investigate:5760", "stored": null, "current": "remind:2880,supervise:4320,investigate:5760"})
    );
    for key in [
        "group_min_callers",
        "photos.doubtful_hours",
        "assessment.points_both",
        "work.2h.complete_minutes",
    ] {
        let s = find(key);
        assert_eq!(s["current"], s["default"], "{key}");
    }
}
