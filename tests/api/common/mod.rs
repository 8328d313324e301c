//! Shared test helpers: a fresh database per test (SQLite, or PostgreSQL when `GRIDLINE_TEST_POSTGRES_URL` is
//! set), the app in process, and validation of every response against `api-spec/openapi.yaml`.
//!
//! Loading the whole Beijing dataset takes seconds, so each test process loads it once into a template (a SQLite
//! file, or a PostgreSQL template database) and every test gets its own copy: `VACUUM INTO` on SQLite,
//! `CREATE DATABASE ... TEMPLATE` on PostgreSQL. Each test's database is dropped when the test ends.

pub mod live;
pub mod spec;

use actix_web::http::{Method, StatusCode};
use actix_web::{App, test, web};
use diesel::prelude::*;
use gridline::app;
use gridline::db::Db;
use gridline::geo::index::PlaceIndex;
use gridline::http::state::AppState;
use std::sync::{Arc, Mutex, OnceLock};

/// The PostgreSQL server to test against, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var("GRIDLINE_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        rand_suffix()
    )
}

fn rand_suffix() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    t % 1_000_000
}

/// Drops the templates of test runs that are no longer running, so that concurrent runs (two checkouts, or the
/// SQLite and PostgreSQL suites side by side) each keep their own template and none is left behind for long.
fn drop_stale_templates(url: &str) {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let Ok(mut c) = PgConnection::establish(url) else {
        return;
    };
    let names: Vec<Name> =
        diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'gridline_tpl_%'")
            .load(&mut c)
            .unwrap_or_default();
    for Name { datname } in names {
        let alive = datname
            .rsplit('_')
            .next()
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {datname} WITH (FORCE)"))
                .execute(&mut c);
        }
    }
}

/// Replaces the database name of a PostgreSQL URL.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let cut = base
        .rfind('/')
        .filter(|&i| i > "postgres://".len())
        .unwrap_or(base.len());
    let mut out = format!("{}/{db}", &base[..cut]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn pg_admin(url: &str, sql: &str) {
    let mut c = PgConnection::establish(url).expect("connect to the PostgreSQL test server");
    diesel::sql_query(sql)
        .execute(&mut c)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

enum Template {
    Sqlite(
        #[expect(
            dead_code,
            reason = "held, not read: the template's folder lives as long as the run"
        )]
        tempfile::TempDir,
        String,
    ),
    Postgres(String),
}

/// The template database with the default dataset loaded, made once per test process.
fn template() -> &'static Template {
    static T: OnceLock<Template> = OnceLock::new();
    T.get_or_init(|| match postgres_url() {
        Some(url) => {
            // One template per test process, named by its pid (see `drop_stale_templates`).
            drop_stale_templates(&url);
            let name = format!("gridline_tpl_{}", std::process::id());
            pg_admin(&url, &format!("CREATE DATABASE {name}"));
            {
                let db = Db::connect(&with_database(&url, &name), 2).expect("template database");
                gridline::service::admin::geodata::ensure_loaded(&db).expect("load the dataset");
                gridline::service::admin::topics::ensure_loaded(&db).expect("load the topics");
            }
            Template::Postgres(name)
        }
        None => {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir
                .path()
                .join("template.db")
                .to_string_lossy()
                .into_owned();
            {
                let db = Db::connect(&path, 1).expect("template database");
                gridline::service::admin::geodata::ensure_loaded(&db).expect("load the dataset");
                gridline::service::admin::topics::ensure_loaded(&db).expect("load the topics");
            }
            Template::Sqlite(dir, path)
        }
    })
}

/// A database of its own for one test; dropped with it.
pub struct TestDb {
    /// The URL to connect to.
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A copy of the template: migrated, with the default Beijing dataset.
    pub fn beijing() -> TestDb {
        match template() {
            Template::Postgres(tpl) => {
                let base = postgres_url().expect("postgres url");
                let name = unique("gridline_t");
                // CREATE DATABASE ... TEMPLATE fails while another copy is being made from the same template.
                static LOCK: Mutex<()> = Mutex::new(());
                let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
                pg_admin(&base, &format!("CREATE DATABASE {name} TEMPLATE {tpl}"));
                TestDb {
                    url: with_database(&base, &name),
                    pg_name: Some(name),
                    _dir: None,
                }
            }
            Template::Sqlite(_, path) => {
                let dir = tempfile::tempdir().expect("temp dir");
                let copy = dir.path().join("test.db").to_string_lossy().into_owned();
                // One copy at a time: concurrent readers of the template can meet its WAL checkpoint.
                static LOCK: Mutex<()> = Mutex::new(());
                let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
                let mut c = SqliteConnection::establish(path).expect("open template");
                diesel::sql_query("PRAGMA busy_timeout = 10000")
                    .execute(&mut c)
                    .expect("busy timeout");
                diesel::sql_query(format!("VACUUM INTO '{copy}'"))
                    .execute(&mut c)
                    .expect("copy template");
                TestDb {
                    url: copy,
                    pg_name: None,
                    _dir: Some(dir),
                }
            }
        }
    }

    /// An empty database (no migrations run yet).
    pub fn empty() -> TestDb {
        match postgres_url() {
            Some(base) => {
                let name = unique("gridline_e");
                pg_admin(&base, &format!("CREATE DATABASE {name}"));
                TestDb {
                    url: with_database(&base, &name),
                    pg_name: Some(name),
                    _dir: None,
                }
            }
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("empty.db").to_string_lossy().into_owned();
                TestDb {
                    url: path,
                    pg_name: None,
                    _dir: Some(dir),
                }
            }
        }
    }

    /// Opens it (applying migrations).
    pub fn open(&self) -> Db {
        Db::connect(&self.url, 4).expect("open test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let (Some(name), Some(base)) = (&self.pg_name, postgres_url())
            && let Ok(mut c) = PgConnection::establish(&base)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut c);
        }
    }
}

/// The index of the default dataset, built once per process.
pub fn beijing_index() -> Arc<PlaceIndex> {
    static I: OnceLock<Arc<PlaceIndex>> = OnceLock::new();
    I.get_or_init(|| {
        let places = gridline::geo::dataset::places().expect("dataset places");
        let buildings = gridline::geo::dataset::buildings().expect("dataset buildings");
        Arc::new(PlaceIndex::new(&places, &buildings))
    })
    .clone()
}

/// Districts of the default dataset other than `district`, in the dataset's order.
pub fn other_districts<'a>(
    index: &'a PlaceIndex,
    district: &'a str,
) -> impl Iterator<Item = String> + 'a {
    index
        .places()
        .iter()
        .filter(move |p| p.code.len() == 6 && p.code != district && p.code != "110000")
        .map(|p| p.code.clone())
}

/// A district of the default dataset other than `district`.
pub fn other_district(index: &PlaceIndex, district: &str) -> String {
    other_districts(index, district)
        .next()
        .expect("another district")
}

/// A point well inside a cell of the default dataset, and that cell's code.
pub fn spot() -> (f64, f64, String) {
    let index = beijing_index();
    let (lon, lat) = gridline::geo::grid::center(862, 566);
    let cell = index.cell_code(index.cell_at(lon, lat).unwrap()).to_owned();
    (lon, lat, cell)
}

/// The app in process over a test database.
pub struct TestApp {
    /// The database (kept alive for the test).
    pub db: TestDb,
    /// The state handlers see.
    pub state: web::Data<AppState>,
    /// Where its photos are kept (removed with it).
    pub photo_dir: tempfile::TempDir,
    /// The user name behind each token the helpers signed in (to sign the same person in again).
    signed_in: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

/// A response: status and JSON body (Null when the body is not JSON).
#[derive(Debug)]
pub struct Resp {
    /// The status.
    pub status: StatusCode,
    /// The body.
    pub json: serde_json::Value,
    /// The headers.
    pub headers: actix_web::http::header::HeaderMap,
}

/// A request to send.
pub struct Req<'a> {
    /// Method.
    pub method: Method,
    /// Path and query.
    pub uri: &'a str,
    /// JSON body.
    pub body: Option<serde_json::Value>,
    /// Bearer token.
    pub token: Option<&'a str>,
    /// Client address.
    pub peer: Option<std::net::SocketAddr>,
    /// More headers.
    pub headers: &'a [(&'a str, &'a str)],
}

impl Default for Req<'_> {
    fn default() -> Self {
        Req {
            method: Method::GET,
            uri: "/",
            body: None,
            token: None,
            peer: None,
            headers: &[],
        }
    }
}

impl TestApp {
    /// The app over a fresh copy of the Beijing database.
    pub fn beijing() -> TestApp {
        TestApp::beijing_behind("")
    }

    /// The app over a fresh copy of the Beijing database, believing `X-Forwarded-For` from `proxies` (a
    /// `--trusted-proxies` list).
    pub fn beijing_behind(proxies: &str) -> TestApp {
        let db = TestDb::beijing();
        let photo_dir = tempfile::tempdir().expect("photo dir");
        let proxies =
            gridline::http::client_addr::TrustedProxies::parse(proxies).expect("proxy list");
        let state = web::Data::new(
            AppState::new(db.open(), beijing_index())
                .and_then(|s| s.with_photo_dir(photo_dir.path()))
                .map(|s| s.with_trusted_proxies(proxies))
                .expect("state over the test database"),
        );
        TestApp {
            db,
            state,
            photo_dir,
            signed_in: std::sync::Mutex::default(),
        }
    }

    /// Sends a request through the real routes and checks the answer against the spec.
    pub async fn call(&self, method: Method, uri: &str, body: Option<serde_json::Value>) -> Resp {
        self.send(Req {
            method,
            uri,
            body,
            ..Req::default()
        })
        .await
    }

    /// Sends a request with a token and a client address.
    pub async fn send(&self, r: Req<'_>) -> Resp {
        let mut req = test::TestRequest::default()
            .method(r.method.clone())
            .uri(r.uri);
        if let Some(b) = r.body {
            req = req.set_json(b);
        }
        if let Some(token) = r.token {
            req = req.insert_header(("Authorization", format!("Bearer {token}")));
        }
        if let Some(addr) = r.peer {
            req = req.peer_addr(addr);
        }
        for (name, value) in r.headers {
            req = req.insert_header((*name, *value));
        }
        self.answer(req, &r.method, r.uri).await
    }

    /// POSTs a JSON body with a bearer token.
    pub async fn post_as(&self, token: &str, uri: &str, body: serde_json::Value) -> Resp {
        self.send(Req {
            method: Method::POST,
            uri,
            body: Some(body),
            token: Some(token),
            ..Req::default()
        })
        .await
    }

    /// Sends a request with a raw body and any headers through the real routes, and checks the answer against the
    /// spec.
    pub async fn send_raw(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Resp {
        let mut req = test::TestRequest::default().method(method.clone()).uri(uri);
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        if let Some(b) = body {
            req = req.set_payload(b);
        }
        self.answer(req, &method, uri).await
    }

    /// Runs a request through the real routes and checks the answer against the spec.
    async fn answer(&self, req: test::TestRequest, method: &Method, uri: &str) -> Resp {
        let state = self.state.clone();
        let svc =
            test::init_service(App::new().configure(move |cfg| app::configure(cfg, state))).await;
        let res = test::call_service(&svc, req.to_request()).await;
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = test::read_body(res).await;
        let json: serde_json::Value =
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        spec::check_response(method, uri, status.as_u16(), &json);
        Resp {
            status,
            json,
            headers,
        }
    }

    /// An API key of `role` (as `gridline apikey add` makes one).
    pub fn api_key(&self, role: gridline::domain::access::Role) -> String {
        gridline::service::auth::create_api_key(
            &self.state.db,
            "test client",
            role,
            self.state.clock.now(),
        )
        .expect("api key")
        .key
    }

    /// Signs in a new user of `role` whose jurisdiction is `places`; returns the token.
    pub fn token(&self, role: gridline::domain::access::Role, places: &[&str]) -> String {
        self.token_with_topics(role, places, &[])
    }

    /// A signed-in user with a role, places and topics (department handlers answer for topics).
    pub fn token_with_topics(
        &self,
        role: gridline::domain::access::Role,
        places: &[&str],
        topics: &[&str],
    ) -> String {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let db = &self.state.db;
        let name = format!("{}{}", role.as_str(), N.fetch_add(1, Ordering::SeqCst));
        gridline::service::auth::add_user(
            db,
            &name,
            &name,
            role,
            "test password 1",
            self.state.clock.now(),
        )
        .expect("add user");
        let places: Vec<String> = places.iter().map(|p| (*p).to_owned()).collect();
        let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
        gridline::service::auth::set_scopes(db, &name, &places, &topics).expect("scopes");
        self.sign_in(&name)
    }

    /// Signs the helpers' user `name` in at the app's clock; returns the token.
    fn sign_in(&self, name: &str) -> String {
        let token = gridline::service::auth::login(
            &self.state.db,
            name,
            "test password 1",
            "test",
            self.state.clock.now(),
        )
        .expect("login")
        .token;
        self.signed_in
            .lock()
            .unwrap()
            .insert(token.clone(), name.to_owned());
        token
    }

    /// Signs the person behind `token` (one the helpers made) in again at the app's clock, as they do once their
    /// token has expired (tokens last [`gridline::service::auth::TOKEN_TTL`]); returns the new token.
    pub fn sign_in_again(&self, token: &str) -> String {
        let name = self.signed_in.lock().unwrap().get(token).cloned();
        self.sign_in(&name.expect("a token the helpers signed in"))
    }

    /// A signed-in department handler answering for `topics` and acting for `units` (as `gridline user add
    /// --topic --unit` makes one); returns the token.
    pub fn department_handler(&self, topics: &[&str], units: &[&str]) -> String {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let db = &self.state.db;
        let name = format!("dept{}", N.fetch_add(1, Ordering::SeqCst));
        let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();
        gridline::service::auth::create_user(
            db,
            &gridline::service::auth::NewUser {
                username: &name,
                display_name: &name,
                role: gridline::domain::access::Role::DepartmentHandler,
                password: "test password 1",
                places: &[],
                topics: &owned(topics),
                units: &owned(units),
            },
            self.state.clock.now(),
        )
        .expect("add user");
        self.sign_in(&name)
    }

    /// GET with a token.
    pub async fn get_as(&self, token: &str, uri: &str) -> Resp {
        self.send(Req {
            method: Method::GET,
            uri,
            token: Some(token),
            ..Req::default()
        })
        .await
    }

    /// GET.
    pub async fn get(&self, uri: &str) -> Resp {
        self.call(Method::GET, uri, None).await
    }

    /// POST JSON.
    pub async fn post(&self, uri: &str, body: serde_json::Value) -> Resp {
        self.call(Method::POST, uri, Some(body)).await
    }
}

/// The departments of a district as (id, name, topics), in the order the API lists them.
pub async fn departments(app: &TestApp, district: &str) -> Vec<(String, String, Vec<String>)> {
    let admin = app.token(gridline::domain::access::Role::Admin, &[]);
    let r = app
        .get_as(
            &admin,
            &format!("/api/v1/units?kind=department&place={district}"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["units"]
        .as_array()
        .expect("units")
        .iter()
        .map(|u| {
            (
                u["id"].as_str().unwrap_or_default().to_owned(),
                u["name"].as_str().unwrap_or_default().to_owned(),
                serde_json::from_value(u["topics"].clone()).unwrap_or_default(),
            )
        })
        .collect()
}

/// Files a hotline complaint at the test spot (`spot()`) as a hotline operator; panics unless it is filed.
pub async fn file_ticket(app: &TestApp, no: &str, topic: &str, phone: &str, text: &str) -> Resp {
    let (lon, lat, _) = spot();
    file(app, ticket_body(no, topic, phone, text, lon, lat)).await
}

/// Files a hotline complaint at (`lon`, `lat`) received at `at` (UTC) as a hotline operator; panics unless it is
/// filed.
pub async fn file_ticket_at(
    app: &TestApp,
    no: &str,
    topic: &str,
    phone: &str,
    (lon, lat): (f64, f64),
    at: chrono::NaiveDateTime,
) -> Resp {
    let mut body = ticket_body(no, topic, phone, "诉求", lon, lat);
    body["received_at"] = serde_json::json!(format!("{}Z", at.format("%Y-%m-%dT%H:%M:%S")));
    file(app, body).await
}

fn ticket_body(
    no: &str,
    topic: &str,
    phone: &str,
    text: &str,
    lon: f64,
    lat: f64,
) -> serde_json::Value {
    serde_json::json!({
        "ticket_no": no,
        "channel": "phone",
        "request_type": "complaint",
        "topic": topic,
        "text": text,
        "caller": { "name": "王小明", "phone": phone },
        "location": { "lon": lon, "lat": lat }
    })
}

async fn file(app: &TestApp, body: serde_json::Value) -> Resp {
    let op = app.token(gridline::domain::access::Role::HotlineOperator, &[]);
    let r = app.post_as(&op, "/api/v1/tickets", body).await;
    assert_eq!(r.status, 201, "{}", r.json);
    r
}

/// Runs the `gridline` binary with `args` and the environment `env` only (no inherited database URL or bind
/// address; warnings and errors logged).
pub fn gridline(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gridline"));
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env_remove("GRIDLINE_BIND")
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// Output bytes as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Moves the app's clock to `at` (UTC).
pub fn set_clock(app: &TestApp, at: chrono::NaiveDateTime) {
    let clock = &app.state.clock;
    clock.advance(at - clock.now());
}

/// A small noisy photo-like JPEG of `w`×`h` (left half reddish, right half bluish); each seed gives other bytes.
pub fn jpeg(w: u16, h: u16, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    let mut data = Vec::with_capacity(usize::from(w) * usize::from(h) * 3);
    for _row in 0..h {
        for col in 0..w {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let noise = (x % 40) as u8;
            if col < w / 2 {
                data.extend_from_slice(&[200 + noise / 2, noise, noise]);
            } else {
                data.extend_from_slice(&[noise, noise, 200 + noise / 2]);
            }
        }
    }
    gridline::media::ingest::encode_rgb(&data, w.into(), h.into(), 90).unwrap()
}

/// Uploads a small JPEG (made from `seed`) through the real upload routes as the holder of `token`; its SHA-256.
/// Evidence photos must be on the server before a step names them.
pub async fn stored_photo(app: &TestApp, token: &str, seed: u32) -> String {
    let bytes = jpeg(64, 48, seed);
    let sha = gridline::media::PhotoHash::of(&bytes).to_string();
    let r = app
        .post_as(
            token,
            "/api/v1/photo-uploads",
            serde_json::json!({"sha256": sha, "size": bytes.len(), "mime": "image/jpeg"}),
        )
        .await;
    if r.json["complete"] == true {
        return sha;
    }
    assert_eq!(r.status, 201, "{}", r.json);
    let uri = format!("/api/v1/photo-uploads/{}", r.json["id"].as_str().unwrap());
    let auth = format!("Bearer {token}");
    let r = app
        .send_raw(
            Method::PATCH,
            &uri,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/offset+octet-stream"),
                ("Upload-Offset", "0"),
            ],
            Some(bytes),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["complete"], true, "{}", r.json);
    sha
}

/// Stores a policy value through `PUT /api/v1/policy/{key}` as the holder of `token` (an admin).
pub async fn put_policy(app: &TestApp, token: &str, key: &str, value: &str) -> Resp {
    app.send(Req {
        method: Method::PUT,
        uri: &format!("/api/v1/policy/{key}"),
        body: Some(serde_json::json!({ "value": value })),
        token: Some(token),
        ..Req::default()
    })
    .await
}

/// Sets the counted tickets of every stored count row of `place` to `tickets` and moves the counts' version on, as a
/// writer behind the server's back (another process, through `db`) would.
pub fn set_counted_tickets(db: &Db, place: &str, tickets: i64) {
    let mut c = db.writer().unwrap();
    diesel::sql_query(format!(
        "UPDATE place_counts SET tickets = {tickets} WHERE place_code = '{place}'"
    ))
    .execute(&mut *c)
    .unwrap();
    diesel::sql_query("UPDATE count_cursor SET version = version + 1")
        .execute(&mut *c)
        .unwrap();
}
