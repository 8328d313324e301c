//! Every shell example of README.md, run as written against a fresh server: the `sh` blocks are read from the
//! README itself, split into commands as bash would, and run one by one with bash and curl (and the `gridline`
//! binary for the command-line examples) against the real server on a real socket, over a fresh copy of the
//! Beijing database (SQLite, or PostgreSQL with `GRIDLINE_TEST_POSTGRES_URL`). Values flow as they do for a
//! reader: the token from the sign-in answer, the unit, person, case, ticket and upload ids from the answers that
//! created them, `$NEXT` from the pull feed, `$ETAG` from the last answer's headers; the README's `…` placeholders
//! are filled with those values, and any other placeholder fails the test. Every curl must answer below 400 unless
//! it is one of the few refusals the README itself describes ([`EXPECTED_REFUSALS`]); every other command must
//! exit 0. Blocks that are not examples to run against a server are listed in [`SKIPPED_BLOCKS`] with the reason.

use crate::common::{self, TestApp, live::LiveServer};
use gridline::domain::access::Role;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// Blocks not run, by their first line's start, and why.
const SKIPPED_BLOCKS: &[(&str, &str)] = &[
    (
        "cargo run --release -- serve",
        "builds the release binary and serves on port 8080: this test starts its own server",
    ),
    ("cargo test", "runs this very suite"),
    (
        "GRIDLINE_TEST_POSTGRES_URL=",
        "runs this very suite on PostgreSQL",
    ),
    (
        "gridline serve ",
        "the command-line synopsis (optional flags in brackets, files to supply); the commands are tested in cli.rs and their own modules",
    ),
    (
        "gridline phone --db phone.sqlite register",
        "the reference phone needs photo files and a phone database; phone.rs drives the same commands",
    ),
];

/// Commands of runnable blocks that are not run, by a fragment of their text, and why.
const SKIPPED_COMMANDS: &[(&str, &str)] = &[(
    "curl -X POST …/transitions",
    "shorthand for the transitions call above it (\"sent the same way\"); work.rs and workflow.rs take each step",
)];

/// Curl answers at or above 400 that the README itself describes, by a fragment of the command, with the status.
const EXPECTED_REFUSALS: &[(&str, u16, &str)] = &[
    (
        "curl -I localhost:8080/api/v1/photos/$SHA ",
        404,
        "the README's \"404 send it\": the photo is not stored yet",
    ),
    (
        "/unmerge",
        409,
        "the README's case holds one ticket: nothing to split out (the call's shape is the example)",
    ),
];

/// One command of a block: the text bash runs (comments removed) and its first line as written.
struct Cmd {
    code: String,
    written: String,
}

/// Splits a block into commands as bash reads them: a line ending in `\` or inside an open quote continues.
fn commands(block: &str) -> Vec<Cmd> {
    let mut out = Vec::new();
    let (mut code, mut written) = (String::new(), String::new());
    let (mut single, mut double) = (false, false);
    for line in block.lines() {
        if written.is_empty() {
            written = line.to_owned();
        }
        let mut prev = ' ';
        let mut kept = String::new();
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if single {
                single = c != '\'';
            } else if double {
                if c == '\\' {
                    kept.push(c);
                    if let Some(n) = chars.next() {
                        kept.push(n);
                    }
                    prev = ' ';
                    continue;
                }
                double = c != '"';
            } else if c == '#' && prev.is_whitespace() {
                break;
            } else if c == '\'' {
                single = true;
            } else if c == '"' {
                double = true;
            }
            kept.push(c);
            prev = c;
        }
        code.push_str(&kept);
        code.push('\n');
        let continues = single || double || kept.trim_end().ends_with('\\');
        if !continues {
            if !code.trim().is_empty() {
                out.push(Cmd {
                    code: std::mem::take(&mut code),
                    written: std::mem::take(&mut written),
                });
            }
            code.clear();
            written.clear();
        }
    }
    assert!(code.trim().is_empty(), "an unterminated command: {code}");
    out
}

/// The `sh` blocks of the README.
fn blocks(readme: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = readme;
    while let Some(start) = rest.find("```sh\n") {
        let body = &rest[start + 6..];
        let end = body.find("```").expect("a closed code block");
        out.push(body[..end].to_owned());
        rest = &body[end + 3..];
    }
    out
}

/// The values a reader carries from one example to the next.
#[derive(Default)]
struct Carried {
    vars: HashMap<&'static str, String>,
}

impl Carried {
    /// Takes what a reader would from an answer: the sign-in token, the device token, ids of what was created
    /// (the first of each kind), the pull feed's cursor, the ETag.
    fn take(&mut self, command: &str, body: &str, headers: &str) {
        if let Some(etag) = headers.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("etag")
                .then(|| value.trim().to_owned())
        }) {
            self.vars.insert("ETAG", etag);
        }
        let Ok(json) = serde_json::from_str::<serde_json::Value>(body) else {
            return;
        };
        if let Some(t) = json["token"].as_str() {
            if t.starts_with("glt_") && command.contains("/auth/login") {
                self.vars.insert("TOKEN", t.to_owned());
            }
            if t.starts_with("gld_") {
                self.vars.insert("DEVICE_TOKEN", t.to_owned());
            }
        }
        if command.contains("sync/pull")
            && let Some(next) = json["next_cursor"].as_str()
        {
            self.vars.insert("NEXT", next.to_owned());
        }
        let mut strings = Vec::new();
        collect_strings(&json, &mut strings);
        for (prefix, var) in [
            ("unit_", "UNIT"),
            ("person_", "PERSON"),
            ("case_", "CASE"),
            ("tkt_", "TICKET"),
            ("upl_", "UPLOAD"),
        ] {
            if !self.vars.contains_key(var)
                && let Some(id) = strings.iter().find(|s| s.starts_with(prefix))
            {
                self.vars.insert(var, id.clone());
            }
        }
    }

    fn get(&self, var: &str, command: &str) -> String {
        self.vars
            .get(var)
            .cloned()
            .unwrap_or_else(|| panic!("{command}: no earlier example gave a {var}"))
    }
}

fn collect_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// The command with the README's placeholders filled as a reader fills them.
fn fill(code: &str, carried: &Carried, addr: &str, password: &str, report: &str) -> String {
    let mut s = code
        .replace("localhost:8080", addr)
        .replace("127.0.0.1:8080", addr)
        .replace(
            "\"password\":\"...\"",
            &format!("\"password\":\"{password}\""),
        )
        .replace("…report uuid…", report)
        .replace("…sha256…", &carried.get("SHA", code))
        .replace("<sha256>", &carried.get("SHA", code));
    while s.contains("…uuid…") {
        s = s.replacen("…uuid…", &uuid::Uuid::new_v4().to_string(), 1);
    }
    for (placeholder, var) in [
        ("unit_…", "UNIT"),
        ("person_…", "PERSON"),
        ("case_…", "CASE"),
        ("tkt_…", "TICKET"),
        ("upl_…", "UPLOAD"),
    ] {
        if s.contains(placeholder) {
            s = s.replace(placeholder, &carried.get(var, code));
        }
    }
    assert!(
        !s.contains('…') && !s.contains("..."),
        "a placeholder nobody fills: {code}"
    );
    s
}

/// What bash prints for one command: the curl answers (status, body) and the exit status.
struct Ran {
    answers: Vec<(u16, String)>,
    rc: i32,
    stderr: String,
}

fn run(dir: &Path, env: &[(&str, String)], command: &str) -> Ran {
    // Variables a command sets (SHA=...) are exported to the next ones through `state`, under the values the
    // reader carries; `curl` prints its status after each answer and keeps the headers for `$ETAG`.
    let carried: String = env
        .iter()
        .map(|(k, v)| format!("export {k}='{}'\n", v.replace('\'', "'\\''")))
        .collect();
    let script = format!(
        "set -a; [ -f state ] && . ./state; set +a\n{carried}\
         curl() {{ command curl -sS -D headers -w '\\n@@status=%{{http_code}}\\n' \"$@\"; }}\n\
         gridline() {{ \"$GRIDLINE_BIN\" \"$@\"; }}\n\
         set -a\n{command}\nrc=$?\nset +a\n\
         export -p | grep -Ev ' (BASH|SHELL|SHLVL|PWD|OLDPWD|_)=' > state\nexit $rc\n"
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir)
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut answers = Vec::new();
    let mut body = String::new();
    for line in stdout.lines() {
        if let Some(code) = line.strip_prefix("@@status=") {
            answers.push((code.parse().unwrap_or(0), std::mem::take(&mut body)));
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    Ran {
        answers,
        rc: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn every_example_in_the_readme_runs_as_written_against_a_fresh_server() {
    if Command::new("curl").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "curl is needed to run the README's examples"
        );
        eprintln!("skipped: no curl on this machine");
        return;
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let app = TestApp::beijing();
    let password = "readme example password";
    // The first admin, as the first start makes it with GRIDLINE_ADMIN_PASSWORD.
    let now = app.state.clock.now();
    gridline::service::auth::ensure_admin(&app.state.db, Some(password), now)
        .expect("the first admin");
    gridline::service::auth::reset_password(&app.state.db, "admin", password, now)
        .expect("its password");
    // What `gridline apikey add "12345 hotline" --role hotline_operator` prints, for the examples that use keys.
    let hotline_key = app.api_key(Role::HotlineOperator);
    let app_key = app.api_key(Role::HotlineOperator);
    let server = LiveServer::start(app.state.clone(), 2);
    let addr = server.addr.to_string();

    let dir = tempfile::tempdir().expect("work dir");
    let photo = common::jpeg(640, 480, 5);
    std::fs::write(dir.path().join("photo.jpg"), &photo).unwrap();
    let fixtures = dir.path().join("tests/fixtures/esda");
    std::fs::create_dir_all(&fixtures).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/esda/columbus.geojson"
        ),
        fixtures.join("columbus.geojson"),
    )
    .expect("the Columbus fixture");
    let report = uuid::Uuid::new_v4().to_string();
    let mut carried = Carried::default();
    carried
        .vars
        .insert("SHA", gridline::media::PhotoHash::of(&photo).to_string());

    let (mut ran, mut skipped) = (0, 0);
    let mut login: Option<String> = None;
    for block in blocks(&readme) {
        let first = block.lines().next().unwrap_or_default();
        if SKIPPED_BLOCKS
            .iter()
            .any(|(start, _)| first.starts_with(start))
        {
            skipped += 1;
            continue;
        }
        for cmd in commands(&block) {
            if SKIPPED_COMMANDS
                .iter()
                .any(|(fragment, _)| cmd.code.contains(fragment))
            {
                skipped += 1;
                continue;
            }
            let filled = fill(&cmd.code, &carried, &addr, password, &report);
            let mut env: Vec<(&str, String)> = vec![
                ("GRIDLINE_BIN", env!("CARGO_BIN_EXE_gridline").to_owned()),
                ("DATABASE_URL", app.db.url.clone()),
                ("HOTLINE_KEY", hotline_key.clone()),
                ("APP_KEY", app_key.clone()),
            ];
            for (k, v) in &carried.vars {
                env.push((*k, v.clone()));
            }
            let mut result = run(dir.path(), &env, &filled);
            if cmd.code.contains("/auth/login") {
                login = Some(filled.clone());
            }
            assert_eq!(
                result.rc, 0,
                "{}\nexited {}: {}",
                cmd.written, result.rc, result.stderr
            );
            let headers = std::fs::read_to_string(dir.path().join("headers")).unwrap_or_default();
            for (status, body) in &result.answers {
                let expected = EXPECTED_REFUSALS
                    .iter()
                    .find(|(fragment, _, _)| cmd.code.contains(fragment))
                    .map(|(_, s, _)| *s);
                match expected {
                    Some(s) => assert_eq!(*status, s, "{}\n{body}", cmd.written),
                    None => assert!(
                        (200..400).contains(status),
                        "{}\nanswered {status}: {body}",
                        cmd.written
                    ),
                }
                carried.take(&cmd.code, body, &headers);
            }
            if cmd.code.contains("/auth/logout") {
                // The token is gone: a reader signs in again before the next example.
                let again = login.clone().expect("the sign-in example comes first");
                result = run(dir.path(), &env, &again);
                let (status, body) = result.answers.first().expect("an answer");
                assert_eq!(*status, 200, "signing in again: {body}");
                carried.take(&again, body, "");
            }
            ran += 1;
        }
    }
    assert!(ran >= 50, "{ran} commands ran, {skipped} skipped");
    drop(server);
}
