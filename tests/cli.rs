//! The command line, run as a user would run it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestDb;
use std::process::{Command, Output};

fn gridline(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gridline"));
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env_remove("GRIDLINE_BIND")
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

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
    assert!(gridline::service::auth::login(&db, "admin", password, "127.0.0.1").is_ok());
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
        gridline::service::auth::login(&db, "wang.wu", "a long enough password", "127.0.0.1")
            .is_err()
    );
    assert!(
        gridline(&["user", "disable", "wang.wu", "--enable"], &env)
            .status
            .success()
    );
    assert!(
        gridline::service::auth::login(&db, "wang.wu", "a long enough password", "127.0.0.1")
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
        gridline::service::auth::authenticate(&db, &secret)
            .unwrap()
            .role,
        gridline::auth::role::Role::HotlineOperator
    );
    let list = text(&gridline(&["apikey", "list"], &env).stdout);
    assert!(
        list.contains(&id) && list.contains("active") && !list.contains(&secret[4..]),
        "{list}"
    );
    assert!(gridline(&["apikey", "revoke", &id], &env).status.success());
    assert!(gridline::service::auth::authenticate(&db, &secret).is_err());
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
    let s =
        gridline::service::auth::login(&db, "sec", "a long enough password", "127.0.0.1").unwrap();
    let me = gridline::service::auth::authenticate(&db, &s.token).unwrap();
    assert_eq!(me.places, ["110101001001"]);
    assert!(gridline::auth::policy::can_see_place(
        &me,
        "110101001001002"
    ));
    assert!(!gridline::auth::policy::can_see_place(
        &me,
        "110101001002001"
    ));
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
    let rows = gridline::service::topics::list(&db).unwrap();
    let rubbish = rows.iter().find(|r| r.code == "0101").unwrap();
    assert_eq!(rubbish.merge_radius_m, 300);
    assert!(rows.iter().any(|r| r.code == "0106" && r.active));

    // One bad line: nothing changes, and the line is named.
    std::fs::write(&file, changed.replace(",300,", ",-1,")).unwrap();
    let out = gridline(&["topics", "import", file.to_str().unwrap()], &env);
    assert!(!out.status.success());
    assert!(text(&out.stdout).contains("line 3:"), "{}", text(&out.stdout));
    let rows = gridline::service::topics::list(&db).unwrap();
    assert_eq!(rows.iter().find(|r| r.code == "0101").unwrap().merge_radius_m, 300);
}
