//! The command line, run as a user would run it.

use crate::common;

use common::{TestDb, gridline, text};

#[test]
fn locate_prints_the_place_chain_of_a_point() {
    let t = TestDb::beijing();
    let index = common::beijing_index();
    let (lon, lat) = gridline::geo::grid::center(862, 566);
    let cell = index.cell_code(index.cell_at(lon, lat).unwrap()).to_owned();
    let out = gridline(
        &["locate", &lon.to_string(), &lat.to_string()],
        &[("DATABASE_URL", &t.url)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains(&format!("cell       {cell}")), "{stdout}");
    assert!(
        stdout.contains(&format!("district   {}", &cell[..6])),
        "{stdout}"
    );
    assert!(stdout.contains("method     exact"), "{stdout}");
}

#[test]
fn locate_refuses_swapped_coordinates_and_points_outside_the_city() {
    let t = TestDb::beijing();
    let out = gridline(&["locate", "39.9", "116.4"], &[("DATABASE_URL", &t.url)]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("coordinates_swapped"));
    let out = gridline(&["locate", "121.47", "31.23"], &[("DATABASE_URL", &t.url)]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("outside_jurisdiction"));
}

#[test]
fn a_bad_configuration_stops_the_start_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = gridline(
        &["serve"],
        &[
            ("GRIDLINE_BIND", "not-an-address"),
            ("GRIDLINE_DATA_DIR", data),
        ],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("not-an-address") && err.contains("bind"),
        "{err}"
    );
    let out = gridline(
        &["migrate"],
        &[("DATABASE_URL", "mysql://root@localhost/x")],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("unsupported database URL scheme \"mysql\""),
        "{err}"
    );
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let out = gridline(
        &[
            "migrate",
            "--data-dir",
            blocker.join("sub").to_str().unwrap(),
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("GRIDLINE_DATA_DIR"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_first_migrate_creates_admin_with_a_password_printed_once_and_never_logged() {
    let t = TestDb::beijing();
    let out = gridline(
        &["migrate"],
        &[("DATABASE_URL", &t.url), ("RUST_LOG", "debug")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("created user \"admin\""))
        .unwrap_or_else(|| panic!("{stdout}"));
    let password = line
        .split("with password ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    assert_eq!(password.len(), 20);
    assert!(
        !text(&out.stderr).contains(password),
        "the password is not in the logs"
    );
    let db = t.open();
    assert!(
        gridline::service::auth::login(
            &db,
            "admin",
            password,
            "127.0.0.1",
            chrono::Utc::now().naive_utc()
        )
        .is_ok()
    );
    let again = gridline(&["migrate"], &[("DATABASE_URL", &t.url)]);
    assert!(!text(&again.stdout).contains("admin"), "only once");
}

#[test]
fn users_are_added_listed_and_disabled_from_the_command_line() {
    let t = TestDb::beijing();
    let env = [
        ("DATABASE_URL", t.url.as_str()),
        ("GRIDLINE_USER_PASSWORD", "a long enough password"),
    ];
    let out = gridline(
        &[
            "user",
            "add",
            "wang.wu",
            "--role",
            "grid_member",
            "--name",
            "王五",
        ],
        &env,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("a long enough password"));
    let out = gridline(&["user", "add", "wang.wu", "--role", "grid_member"], &env);
    assert!(!out.status.success(), "a taken name is refused");
    let out = gridline(&["user", "add", "x", "--role", "mayor"], &env);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("is not a role"));
    assert!(
        gridline(&["user", "disable", "wang.wu"], &env)
            .status
            .success()
    );
    let list = text(&gridline(&["user", "list"], &env).stdout);
    assert!(
        list.lines().any(|l| l.starts_with("wang.wu")
            && l.contains("grid_member")
            && l.contains("disabled")),
        "{list}"
    );
    let db = t.open();
    assert!(
        gridline::service::auth::login(
            &db,
            "wang.wu",
            "a long enough password",
            "127.0.0.1",
            chrono::Utc::now().naive_utc()
        )
        .is_err()
    );
    assert!(
        gridline(&["user", "disable", "wang.wu", "--enable"], &env)
            .status
            .success()
    );
    assert!(
        gridline::service::auth::login(
            &db,
            "wang.wu",
            "a long enough password",
            "127.0.0.1",
            chrono::Utc::now().naive_utc()
        )
        .is_ok()
    );
}

#[test]
fn api_keys_are_made_listed_without_secrets_and_revoked_from_the_command_line() {
    let t = TestDb::beijing();
    let env = [("DATABASE_URL", t.url.as_str())];
    let out = gridline(
        &[
            "apikey",
            "add",
            "12345 hotline",
            "--role",
            "hotline_operator",
        ],
        &env,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let secret = stdout
        .split_whitespace()
        .find(|w| w.starts_with("glk_"))
        .unwrap()
        .to_owned();
    let id = stdout.split_whitespace().nth(2).unwrap().to_owned();
    let db = t.open();
    assert_eq!(
        gridline::service::auth::authenticate(&db, &secret, chrono::Utc::now().naive_utc())
            .unwrap()
            .role,
        gridline::domain::access::Role::HotlineOperator
    );
    let list = text(&gridline(&["apikey", "list"], &env).stdout);
    assert!(
        list.contains(&id) && list.contains("active") && !list.contains(&secret[4..]),
        "{list}"
    );
    assert!(gridline(&["apikey", "revoke", &id], &env).status.success());
    assert!(
        gridline::service::auth::authenticate(&db, &secret, chrono::Utc::now().naive_utc())
            .is_err()
    );
    assert!(!gridline(&["apikey", "revoke", &id], &env).status.success());
}

#[test]
fn a_user_added_with_a_scope_sees_only_inside_it() {
    let t = TestDb::beijing();
    let env = [
        ("DATABASE_URL", t.url.as_str()),
        ("GRIDLINE_USER_PASSWORD", "a long enough password"),
    ];
    let out = gridline(
        &[
            "user",
            "add",
            "sec",
            "--role",
            "community_secretary",
            "--scope",
            "110101001001",
        ],
        &env,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = gridline(
        &[
            "user", "add", "bad", "--role", "leader", "--scope", "110199",
        ],
        &env,
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("110199"));
    assert!(
        !text(&gridline(&["user", "list"], &env).stdout).contains("bad"),
        "refused whole: no user without its scope"
    );
    let db = t.open();
    let s = gridline::service::auth::login(
        &db,
        "sec",
        "a long enough password",
        "127.0.0.1",
        chrono::Utc::now().naive_utc(),
    )
    .unwrap();
    let me = gridline::service::auth::authenticate(&db, &s.token, chrono::Utc::now().naive_utc())
        .unwrap();
    assert_eq!(me.places, ["110101001001"]);
    assert!(gridline::domain::access::can_see_place(
        &me,
        "110101001001002"
    ));
    assert!(!gridline::domain::access::can_see_place(
        &me,
        "110101001002001"
    ));
}

#[test]
fn a_user_added_with_a_scope_named_twice_is_added_whole_with_it_once() {
    let t = TestDb::beijing();
    let env = [
        ("DATABASE_URL", t.url.as_str()),
        ("GRIDLINE_USER_PASSWORD", "a long enough password"),
    ];
    let out = gridline(
        &[
            "user", "add", "twice", "--role", "admin", "--scope", "110105", "--scope", "110105",
        ],
        &env,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("added twice (an admin)"),
        "{}",
        text(&out.stdout)
    );
    let db = t.open();
    let s = gridline::service::auth::login(
        &db,
        "twice",
        "a long enough password",
        "127.0.0.1",
        chrono::Utc::now().naive_utc(),
    )
    .unwrap();
    let me = gridline::service::auth::authenticate(&db, &s.token, chrono::Utc::now().naive_utc())
        .unwrap();
    assert_eq!(me.places, ["110105"]);
}

#[test]
fn a_user_add_that_fails_leaves_no_account_and_says_nothing_was_added() {
    let t = TestDb::beijing();
    let env = [
        ("DATABASE_URL", t.url.as_str()),
        ("GRIDLINE_USER_PASSWORD", "a long enough password"),
        ("RUST_LOG", "info"),
    ];
    let db = t.open();
    let water = gridline::service::admin::org::units(&db, Some("department"), Some("110105"))
        .unwrap()
        .into_iter()
        .find(|u| u.topics.contains("0702"))
        .unwrap()
        .id;
    let out = gridline(
        &[
            "user",
            "add",
            "half",
            "--role",
            "department_handler",
            "--topic",
            "07",
            "--unit",
            &water,
            "--unit",
            "unit_nosuchunit",
        ],
        &env,
    );
    assert!(!out.status.success());
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stderr.contains("unit_nosuchunit"), "{stderr}");
    assert!(
        !stdout.contains("added") && !stderr.contains("added"),
        "{stdout}{stderr}"
    );
    assert!(
        !text(&gridline(&["user", "list"], &env).stdout).contains("half"),
        "no account without its units"
    );

    let out = gridline(
        &[
            "user",
            "add",
            "water",
            "--role",
            "department_handler",
            "--topic",
            "07",
            "--unit",
            &water,
        ],
        &env,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let member = gridline::service::auth::list_users_with_units(&db)
        .unwrap()
        .into_iter()
        .find(|(u, _)| u.username == "water")
        .unwrap();
    assert_eq!(member.1, [water]);
}

#[test]
fn the_taxonomy_is_exported_changed_and_imported_all_or_nothing() {
    let t = TestDb::beijing();
    let env = [("DATABASE_URL", t.url.as_str())];
    let out = gridline(&["topics", "export"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    assert!(csv.contains("0101,01,暴露垃圾"), "{csv}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("topics.csv");

    // A wider merge radius for 0101 and a new topic 0106.
    let changed = csv.replace(
        "0101,01,暴露垃圾,exposed rubbish,7d,event,城市管理委员会,150,",
        "0101,01,暴露垃圾,exposed rubbish,7d,event,城市管理委员会,300,",
    ) + "0106,01,垃圾分类,waste sorting,7d,event,城市管理委员会,100,168,false\n";
    std::fs::write(&file, &changed).unwrap();
    let out = gridline(&["topics", "import", file.to_str().unwrap()], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let db = t.open();
    let rows = gridline::service::admin::topics::list(&db).unwrap();
    let rubbish = rows.iter().find(|r| r.code == "0101").unwrap();
    assert_eq!(rubbish.merge_radius_m, 300);
    assert!(rows.iter().any(|r| r.code == "0106" && r.active));

    // One bad line: nothing changes, and the line is named.
    std::fs::write(&file, changed.replace(",300,", ",-1,")).unwrap();
    let out = gridline(&["topics", "import", file.to_str().unwrap()], &env);
    assert!(!out.status.success());
    assert!(
        text(&out.stdout).contains("line 3:"),
        "{}",
        text(&out.stdout)
    );
    let rows = gridline::service::admin::topics::list(&db).unwrap();
    assert_eq!(
        rows.iter()
            .find(|r| r.code == "0101")
            .unwrap()
            .merge_radius_m,
        300
    );
}

fn jsonl_ticket(no: &str, lon: f64, lat: f64) -> String {
    serde_json::json!({
        "ticket_no": no,
        "received_at": "2026-03-03T09:00:00+08:00",
        "channel": "phone",
        "request_type": "complaint",
        "topic": "0101",
        "text": "垃圾",
        "caller": { "name": "李四", "phone": "13800000000" },
        "location": { "lon": lon, "lat": lat }
    })
    .to_string()
}

fn stored(t: &TestDb, nos: &[String]) -> usize {
    let db = t.open();
    let mut c = db.reader().unwrap();
    gridline::store::cases::stored_ticket_nos(&mut c, nos)
        .unwrap()
        .len()
}

#[test]
fn a_ticket_import_keeps_good_rows_reports_bad_ones_and_resumes_without_duplicates() {
    let t = TestDb::beijing();
    let env = [("DATABASE_URL", t.url.as_str())];
    let (lon, lat) = gridline::geo::grid::center(862, 566);
    let mut lines = Vec::new();
    let mut good = Vec::new();
    for i in 0..300 {
        let no = format!("IMP-{i}");
        let line = match i {
            17 => "{not json".to_owned(),
            42 => jsonl_ticket(&no, lon, lat).replace("0101", "0100"),
            99 => jsonl_ticket(&no, lat, lon),
            _ => {
                good.push(no.clone());
                jsonl_ticket(&no, lon + f64::from(i) * 1e-4, lat)
            }
        };
        lines.push(line);
    }
    // The same ticket twice in one file is stored once.
    lines.push(jsonl_ticket("IMP-0", lon, lat));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.jsonl");

    // An import that stopped part way (the first 120 lines), then the whole file.
    std::fs::write(&file, lines[..120].join("\n")).unwrap();
    let out = gridline(
        &["import", "tickets", file.to_str().unwrap(), "--batch", "50"],
        &env,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("117 imported"),
        "{}",
        text(&out.stdout)
    );
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let out = gridline(
        &["import", "tickets", file.to_str().unwrap(), "--batch", "50"],
        &env,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert!(
        summary.contains("301 rows")
            && summary.contains("180 imported")
            && summary.contains("118 already there")
            && summary.contains("3 rejected"),
        "{summary}"
    );
    assert_eq!(stored(&t, &good), good.len());
    assert_eq!(
        stored(&t, &["IMP-17".into(), "IMP-42".into(), "IMP-99".into()]),
        0
    );

    let rejects = std::fs::read_to_string(dir.path().join("export.jsonl.rejects.csv")).unwrap();
    let lines: Vec<&str> = rejects.lines().collect();
    assert_eq!(lines[0], "line,ticket_no,code,reason");
    assert!(lines[1].starts_with("18,,malformed_row,"), "{rejects}");
    assert!(
        lines[2].starts_with("43,IMP-42,unknown_topic,"),
        "{rejects}"
    );
    assert!(
        lines[3].starts_with("100,IMP-99,coordinates_swapped,"),
        "{rejects}"
    );
    assert_eq!(lines.len(), 4);
}

#[test]
fn an_import_refuses_tickets_dated_in_the_future_or_before_the_floor_with_their_codes() {
    let t = TestDb::beijing();
    let env = [("DATABASE_URL", t.url.as_str())];
    let (lon, lat) = gridline::geo::grid::center(862, 566);
    let dated =
        |no: &str, at: &str| jsonl_ticket(no, lon, lat).replace("2026-03-03T09:00:00+08:00", at);
    let lines = [
        jsonl_ticket("D-OK", lon, lat),
        dated("D-2030", "2030-01-01T09:00:00+08:00"),
        dated("D-9999", "9999-12-31T23:59:59+08:00"),
        dated("D-0001", "0001-01-01T00:00:00Z"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dated.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let out = gridline(&["import", "tickets", file.to_str().unwrap()], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert!(
        summary.contains("1 imported") && summary.contains("3 rejected"),
        "{summary}"
    );
    assert_eq!(
        stored(&t, &["D-2030".into(), "D-9999".into(), "D-0001".into()]),
        0
    );
    let rejects = std::fs::read_to_string(dir.path().join("dated.jsonl.rejects.csv")).unwrap();
    for row in [
        "2,D-2030,time_in_future,",
        "3,D-9999,time_in_future,",
        "4,D-0001,time_before_floor,",
    ] {
        assert!(rejects.contains(row), "{row} in {rejects}");
    }
}

#[test]
fn a_csv_export_imports_with_address_only_rows() {
    let t = TestDb::beijing();
    let env = [("DATABASE_URL", t.url.as_str())];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.csv");
    std::fs::write(
        &file,
        "ticket_no,received_at,channel,request_type,topic,text,caller_name,caller_phone,caller_confidential,address,lon,lat,crs\n\
         C-1,2026-03-03T09:00:00+08:00,phone,complaint,0801,\"电梯坏了,三天\",王五,13900000000,false,朝阳区望京街道花家地社区,,,\n\
         C-2,2026-03-03T09:00:00+08:00,fax,complaint,0801,电梯,王五,13900000000,false,,,,\n",
    )
    .unwrap();
    let out = gridline(&["import", "tickets", file.to_str().unwrap()], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("1 imported"),
        "{}",
        text(&out.stdout)
    );
    let rejects = std::fs::read_to_string(dir.path().join("export.csv.rejects.csv")).unwrap();
    assert!(
        rejects.contains("3,C-2,invalid_field,\"channel"),
        "{rejects}"
    );
    let db = t.open();
    let mut c = db.reader().unwrap();
    let ticket = gridline::store::cases::ticket_by_no(&mut c, "C-1")
        .unwrap()
        .unwrap();
    assert_eq!(ticket.place_code.as_deref(), Some("110105026041"));
    assert_eq!(ticket.location_precision, "community");
    assert_eq!(ticket.body, "电梯坏了,三天");
}

#[test]
fn simulated_tickets_export_import_and_are_recognised_when_simulated_again() {
    let t = TestDb::beijing();
    let env = [("DATABASE_URL", t.url.as_str())];
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("sim.jsonl");
    let truth = dir.path().join("not-yet").join("truth.json");
    let plan = [
        "--days",
        "1",
        "--scale",
        "0.01",
        "--start",
        "2026-07-01",
        "--seed",
        "3",
        "--truth",
    ];
    let mut args = vec!["simulate"];
    args.extend(plan);
    args.push(truth.to_str().unwrap());
    let mut export_args = args.clone();
    export_args.extend(["--export", export.to_str().unwrap()]);

    let out = gridline(&export_args, &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = std::fs::read_to_string(&export).unwrap().lines().count();
    assert!(lines > 50, "{lines}");
    assert!(text(&out.stdout).contains(&format!("{lines} tickets written")));
    // The truth file's folder is made when it does not exist yet.
    let planted: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&truth).unwrap()).unwrap();
    assert_eq!(planted["seed"], 3);
    assert_eq!(planted["hotspots"].as_array().unwrap().len(), 6);

    let out = gridline(&["import", "tickets", export.to_str().unwrap()], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("{lines} imported")),
        "{}",
        text(&out.stdout)
    );

    // Filing the same plan finds every ticket already there and adds only the patrol reports.
    let out = gridline(&args, &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("0 tickets and "), "{stdout}");
    assert!(
        stdout.contains(&format!("{lines} already there")),
        "{stdout}"
    );
    assert!(!stdout.contains("and 0 patrol reports"), "{stdout}");

    // A bad scale is refused before anything runs.
    let out = gridline(&["simulate", "--scale", "0"], &env);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("above 0"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn work_tick_dispatches_and_escalates_once_across_separate_runs() {
    let t = TestDb::beijing();
    let env = [("DATABASE_URL", t.url.as_str())];
    let (lon, lat) = gridline::geo::grid::center(862, 566);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one.jsonl");
    std::fs::write(&file, jsonl_ticket("TICK-1", lon, lat)).unwrap();
    let out = gridline(&["import", "tickets", file.to_str().unwrap()], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // Each run is a fresh process: what one run did, the next one knows.
    let tick = |now: &str| -> serde_json::Value {
        let out = gridline(&["work", "tick", "--now", now], &env);
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_str(text(&out.stdout).trim()).unwrap()
    };
    let first = tick("2026-03-03T02:00:00Z");
    assert_eq!(first["dispatched"], 1, "{first}");
    assert_eq!(first["escalations_deferred"], 0, "{first}");
    assert_eq!(tick("2026-03-03T02:00:00Z")["dispatched"], 0);
    assert_eq!(tick("2026-03-04T02:00:00Z")["escalated"], 0);
    assert_eq!(
        tick("2026-03-05T02:00:01Z")["escalated"],
        1,
        "remind at 2 days"
    );
    assert_eq!(tick("2026-03-05T02:00:01Z")["escalated"], 0, "not twice");
    assert_eq!(
        tick("2026-03-12T00:00:00Z")["escalated"],
        2,
        "supervise and investigate"
    );
    assert_eq!(tick("2026-04-01T00:00:00Z")["escalated"], 0);

    // A shorter ladder set from the command line governs the next pass.
    let out = gridline(&["policy", "set", "work.7d.ladder", "remind:30"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = gridline(&["policy", "set", "work.7d.ladder", "remind"], &env);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("name:minutes"),
        "{}",
        text(&out.stderr)
    );
    let out = gridline(&["policy", "list"], &env);
    assert_eq!(text(&out.stdout), "work.7d.ladder=remind:30\n");

    let out = gridline(&["work", "tick", "--now", "tomorrow"], &env);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("RFC 3339"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn user_unlock_forgets_the_failed_sign_ins_of_an_account() {
    use gridline::service::auth;
    let t = TestDb::beijing();
    let db = t.open();
    let pw = "a long enough password";
    auth::add_user(
        &db,
        "kong",
        "孔",
        gridline::domain::access::Role::Admin,
        pw,
        chrono::Utc::now().naive_utc(),
    )
    .unwrap();
    for _ in 0..gridline::domain::throttle::PER_PAIR {
        assert!(
            auth::login(
                &db,
                "kong",
                "wrong",
                "192.0.2.1",
                chrono::Utc::now().naive_utc()
            )
            .is_err()
        );
    }
    assert!(matches!(
        auth::login(&db, "kong", pw, "192.0.2.1", chrono::Utc::now().naive_utc()),
        Err(auth::AuthError::Throttled(_))
    ));
    let out = gridline(&["user", "unlock", "kong"], &[("DATABASE_URL", &t.url)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("kong unlocked"),
        "{}",
        text(&out.stdout)
    );
    assert!(auth::login(&db, "kong", pw, "192.0.2.1", chrono::Utc::now().naive_utc()).is_ok());
    let out = gridline(&["user", "unlock", "nobody"], &[("DATABASE_URL", &t.url)]);
    assert!(!out.status.success());
}

#[test]
fn a_trusted_proxy_list_that_does_not_parse_stops_the_start() {
    let out = gridline(&["serve", "--trusted-proxies", "10.0.0.1,proxy.local"], &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("\"proxy.local\" is not an IP address or CIDR network"),
        "{}",
        text(&out.stderr)
    );
}
