//! Sign-in, tokens, sign-out, throttling and the first admin.

use crate::common;

use actix_web::http::Method;
use common::{Req, TestApp};
use gridline::domain::access::Role;
use gridline::domain::throttle;
use gridline::service::auth;
use serde_json::json;

const PASSWORD: &str = "grid-member-secret";

fn app_with_user(name: &str) -> TestApp {
    let app = TestApp::beijing();
    auth::add_user(
        &app.state.db,
        name,
        "王小网",
        Role::GridMember,
        PASSWORD,
        app.state.clock.now(),
    )
    .unwrap();
    app
}

async fn login(app: &TestApp, user: &str, password: &str, peer: &str) -> common::Resp {
    app.send(Req {
        method: Method::POST,
        uri: "/api/v1/auth/login",
        body: Some(json!({"username": user, "password": password})),
        peer: Some(peer.parse().unwrap()),
        ..Req::default()
    })
    .await
}

async fn me(app: &TestApp, token: Option<&str>) -> common::Resp {
    app.send(Req {
        uri: "/api/v1/auth/me",
        token,
        ..Req::default()
    })
    .await
}

#[actix_web::test]
async fn a_user_signs_in_uses_the_token_and_signs_out() {
    let app = app_with_user("wang");
    let r = login(&app, "wang", PASSWORD, "10.0.0.1:5000").await;
    assert_eq!(r.status, 200, "{}", r.json);
    let token = r.json["token"].as_str().unwrap().to_owned();
    assert_eq!(r.json["user"]["role"], "grid_member");
    let r = me(&app, Some(&token)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["username"], "wang");
    assert!(
        !r.json.to_string().contains(&token),
        "the token is shown only at sign-in"
    );
    let r = app
        .send(Req {
            method: Method::POST,
            uri: "/api/v1/auth/logout",
            token: Some(&token),
            ..Req::default()
        })
        .await;
    assert_eq!(r.status, 204);
    let r = me(&app, Some(&token)).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json["code"], "invalid_token");
}

#[actix_web::test]
async fn missing_malformed_and_unknown_tokens_answer_401() {
    let app = TestApp::beijing();
    let r = me(&app, None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json["code"], "missing_token");
    assert_eq!(r.headers.get("WWW-Authenticate").unwrap(), "Bearer");
    for bad in ["nonsense", &gridline::auth::token::generate()] {
        let r = me(&app, Some(bad)).await;
        assert_eq!(r.status, 401);
        assert_eq!(r.json["code"], "invalid_token");
    }
}

#[actix_web::test]
async fn wrong_passwords_unknown_users_and_disabled_accounts_look_the_same() {
    let app = app_with_user("li");
    let a = login(&app, "li", "wrong password!", "10.0.0.2:1").await;
    let b = login(&app, "nobody", PASSWORD, "10.0.0.2:1").await;
    auth::set_disabled(&app.state.db, "li", true, app.state.clock.now()).unwrap();
    let c = login(&app, "li", PASSWORD, "10.0.0.3:1").await;
    for r in [&a, &b, &c] {
        assert_eq!(r.status, 401);
        assert_eq!(r.json, a.json);
    }
    assert_eq!(a.json["code"], "invalid_credentials");
}

#[actix_web::test]
async fn disabling_a_user_or_resetting_the_password_revokes_their_tokens() {
    let app = app_with_user("zhao");
    let token = login(&app, "zhao", PASSWORD, "10.0.0.4:1").await.json["token"]
        .as_str()
        .unwrap()
        .to_owned();
    auth::reset_password(
        &app.state.db,
        "zhao",
        "a brand new password",
        app.state.clock.now(),
    )
    .unwrap();
    assert_eq!(me(&app, Some(&token)).await.status, 401);
    let token = login(&app, "zhao", "a brand new password", "10.0.0.4:1")
        .await
        .json["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(me(&app, Some(&token)).await.status, 200);
    auth::set_disabled(&app.state.db, "zhao", true, app.state.clock.now()).unwrap();
    assert_eq!(me(&app, Some(&token)).await.status, 401);
}

#[actix_web::test]
async fn an_expired_token_stops_working() {
    let app = app_with_user("sun");
    let token = gridline::auth::token::generate();
    let past = chrono::Utc::now().naive_utc() - chrono::Duration::hours(13);
    let user = gridline::store::users::by_username(&mut app.state.db.reader().unwrap(), "sun")
        .unwrap()
        .unwrap();
    gridline::store::users::insert_session(
        &mut app.state.db.writer().unwrap(),
        &gridline::store::users::SessionRow {
            token_hash: gridline::auth::token::hash(&token),
            user_id: user.id,
            created_at: past,
            expires_at: past + auth::TOKEN_TTL,
            revoked_at: None,
        },
    )
    .unwrap();
    assert_eq!(me(&app, Some(&token)).await.json["code"], "invalid_token");
}

fn retry_after(r: &common::Resp) -> u64 {
    r.headers
        .get("Retry-After")
        .expect("a 429 carries Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[actix_web::test]
async fn repeated_failures_from_one_address_are_throttled_even_with_the_right_password() {
    let app = app_with_user("zhou");
    for _ in 0..throttle::PER_PAIR {
        let r = login(&app, "zhou", "not the password", "10.1.0.1:1").await;
        assert_eq!(r.status, 401);
    }
    let r = login(&app, "zhou", PASSWORD, "10.1.0.1:2").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json["code"], "too_many_attempts");
    assert!((1..=900).contains(&retry_after(&r)), "{}", retry_after(&r));
    // The same account from elsewhere, and another account from here, are not affected.
    assert_eq!(
        login(&app, "zhou", PASSWORD, "10.1.0.2:1").await.status,
        200
    );
    auth::add_user(
        &app.state.db,
        "wu",
        "吴",
        Role::Leader,
        PASSWORD,
        app.state.clock.now(),
    )
    .unwrap();
    assert_eq!(login(&app, "wu", PASSWORD, "10.1.0.1:3").await.status, 200);
}

#[actix_web::test]
async fn failures_from_many_addresses_are_throttled_per_account() {
    let app = app_with_user("zheng");
    for k in 0..throttle::PER_ACCOUNT {
        let r = login(&app, "zheng", "not the password", &format!("10.1.1.{k}:1")).await;
        assert_eq!(r.status, 401);
    }
    let r = login(&app, "zheng", PASSWORD, "10.1.2.1:1").await;
    assert_eq!(r.status, 429);
    assert!((1..=900).contains(&retry_after(&r)));
    // An unknown name is counted the same way, so the answers do not tell which names exist.
    for k in 0..throttle::PER_ACCOUNT {
        login(&app, "nobody", "not the password", &format!("10.1.3.{k}:1")).await;
    }
    let r2 = login(&app, "nobody", PASSWORD, "10.1.2.1:2").await;
    assert_eq!((r2.status, &r2.json["code"]), (r.status, &r.json["code"]));
}

#[actix_web::test]
async fn repeated_failures_are_throttled_per_address_across_accounts() {
    let app = app_with_user("qian");
    for k in 0..throttle::PER_ADDRESS {
        login(
            &app,
            &format!("guess{k}"),
            "whatever password",
            "10.2.0.9:1",
        )
        .await;
    }
    assert_eq!(
        login(&app, "qian", PASSWORD, "10.2.0.9:2").await.status,
        429
    );
    assert_eq!(
        login(&app, "qian", PASSWORD, "10.2.0.10:1").await.status,
        200
    );
}

#[actix_web::test]
async fn tokens_and_passwords_are_stored_only_as_hashes() {
    let app = app_with_user("feng");
    let token = login(&app, "feng", PASSWORD, "10.3.0.1:1").await.json["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut c = app.state.db.reader().unwrap();
    let user = gridline::store::users::by_username(&mut c, "feng")
        .unwrap()
        .unwrap();
    assert!(user.password_hash.starts_with("$argon2id$") && !user.password_hash.contains(PASSWORD));
    let live = gridline::store::users::live_session(
        &mut c,
        &gridline::auth::token::hash(&token),
        chrono::Utc::now().naive_utc(),
    )
    .unwrap();
    let (session, _) = live.unwrap();
    assert!(!session.token_hash.contains(&token[4..]));
}

#[test]
fn the_first_admin_is_created_once_with_the_given_or_a_generated_password() {
    let t = common::TestDb::beijing();
    let db = t.open();
    assert_eq!(
        auth::ensure_admin(
            &db,
            Some("configured admin pw"),
            chrono::Utc::now().naive_utc()
        )
        .unwrap(),
        None
    );
    assert!(
        auth::login(
            &db,
            "admin",
            "configured admin pw",
            "127.0.0.1",
            chrono::Utc::now().naive_utc()
        )
        .is_ok()
    );
    assert_eq!(
        auth::ensure_admin(&db, None, chrono::Utc::now().naive_utc()).unwrap(),
        None,
        "users exist: nothing happens"
    );
    let t2 = common::TestDb::beijing();
    let db2 = t2.open();
    let generated = auth::ensure_admin(&db2, None, chrono::Utc::now().naive_utc())
        .unwrap()
        .unwrap();
    assert_eq!(
        auth::login(
            &db2,
            "admin",
            &generated,
            "127.0.0.1",
            chrono::Utc::now().naive_utc()
        )
        .unwrap()
        .user
        .role,
        Role::Admin
    );
}

#[test]
fn user_names_and_passwords_are_checked_when_accounts_are_made() {
    let t = common::TestDb::beijing();
    let db = t.open();
    assert!(matches!(
        auth::add_user(
            &db,
            "bad name",
            "x",
            Role::Leader,
            PASSWORD,
            chrono::Utc::now().naive_utc()
        ),
        Err(auth::AuthError::InvalidUsername)
    ));
    assert!(matches!(
        auth::add_user(
            &db,
            "ok",
            "x",
            Role::Leader,
            "short",
            chrono::Utc::now().naive_utc()
        ),
        Err(auth::AuthError::Password(_))
    ));
    auth::add_user(
        &db,
        "ok",
        "x",
        Role::Leader,
        PASSWORD,
        chrono::Utc::now().naive_utc(),
    )
    .unwrap();
    assert!(matches!(
        auth::add_user(
            &db,
            "ok",
            "y",
            Role::Leader,
            PASSWORD,
            chrono::Utc::now().naive_utc()
        ),
        Err(auth::AuthError::UsernameTaken(_))
    ));
}

#[actix_web::test]
async fn an_api_key_acts_with_its_role_until_revoked() {
    let app = TestApp::beijing();
    let key = auth::create_api_key(
        &app.state.db,
        "12345 hotline integration",
        Role::HotlineOperator,
        app.state.clock.now(),
    )
    .unwrap();
    assert!(key.key.starts_with("glk_"));
    let r = me(&app, Some(&key.key)).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["role"], "hotline_operator");
    assert_eq!(r.json["display_name"], "12345 hotline integration");
    let listed = auth::list_api_keys(&app.state.db).unwrap();
    assert!(listed.iter().all(|k| !k.key_hash.contains(&key.key[4..])));
    auth::revoke_api_key(&app.state.db, &key.id, app.state.clock.now()).unwrap();
    assert_eq!(me(&app, Some(&key.key)).await.json["code"], "invalid_token");
    assert!(
        auth::revoke_api_key(&app.state.db, &key.id, app.state.clock.now()).is_err(),
        "already revoked"
    );
}

#[actix_web::test]
async fn only_an_admin_lists_users_and_revokes_their_tokens() {
    let app = app_with_user("chen");
    auth::add_user(
        &app.state.db,
        "root",
        "管理员",
        Role::Admin,
        PASSWORD,
        app.state.clock.now(),
    )
    .unwrap();
    let member = login(&app, "chen", PASSWORD, "10.4.0.1:1").await.json["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = login(&app, "root", PASSWORD, "10.4.0.2:1").await.json["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = |token: Option<String>| {
        let app = &app;
        async move {
            app.send(Req {
                uri: "/api/v1/admin/users",
                token: token.as_deref(),
                ..Req::default()
            })
            .await
        }
    };
    assert_eq!(list(None).await.status, 401);
    let r = list(Some(member.clone())).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json["code"], "forbidden");
    let r = list(Some(admin.clone())).await;
    assert_eq!(r.status, 200);
    let names: Vec<&str> = r.json["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["chen", "root"]);
    assert!(
        !r.json.to_string().contains("argon2"),
        "hashes are never shown"
    );
    let revoke = |who: &'static str, token: String| {
        let app = &app;
        async move {
            let uri = format!("/api/v1/admin/users/{who}/revoke-tokens");
            app.send(Req {
                method: Method::POST,
                uri: &uri,
                token: Some(&token),
                ..Req::default()
            })
            .await
        }
    };
    assert_eq!(revoke("root", member.clone()).await.status, 403);
    let r = revoke("chen", admin.clone()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["revoked"], 1);
    assert_eq!(me(&app, Some(&member)).await.status, 401);
    assert_eq!(revoke("nobody", admin).await.json["code"], "user_not_found");
}

/// Sends `n` sign-ins with a wrong password for `user` to a live server from `n` threads released at once, the k-th
/// with `X-Forwarded-For: forwarded(k)` when that is some; the statuses answered.
fn wrong_passwords_at_once(
    url: &str,
    user: &str,
    n: usize,
    forwarded: fn(usize) -> Option<String>,
) -> Vec<u16> {
    let start = std::sync::Arc::new(std::sync::Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|k| {
            let (url, user, start) = (url.to_owned(), user.to_owned(), start.clone());
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(std::time::Duration::from_secs(60)))
                    .build()
                    .into();
                let body = json!({"username": user, "password": format!("wrong guess {k}")});
                let mut req = agent.post(format!("{url}/api/v1/auth/login"));
                if let Some(f) = forwarded(k) {
                    req = req.header("X-Forwarded-For", f);
                }
                start.wait();
                let r = req
                    .header("Content-Type", "application/json")
                    .send(body.to_string())
                    .unwrap();
                r.status().as_u16()
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn twenty_wrong_passwords_at_once_for_one_account_get_no_more_checks_than_the_limit() {
    let app = app_with_user("he");
    let server = common::live::LiveServer::start(app.state.clone(), 4);
    let statuses = wrong_passwords_at_once(&server.url(), "he", 20, |_| None);
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!(checked + refused, 20, "{statuses:?}");
    assert!(
        checked <= throttle::PER_PAIR,
        "{checked} of 20 passwords were checked: {statuses:?}"
    );
}

#[actix_web::test]
async fn a_hundred_wrong_passwords_at_once_from_five_addresses_get_no_more_checks_than_the_limit() {
    let app = app_with_user("lv");
    let sends = (0..100).map(|k| {
        let app = &app;
        async move {
            app.send(Req {
                method: Method::POST,
                uri: "/api/v1/auth/login",
                body: Some(json!({"username": "lv", "password": format!("wrong guess {k}")})),
                peer: Some(format!("10.5.0.{}:{}", k % 5, 1000 + k).parse().unwrap()),
                ..Req::default()
            })
            .await
            .status
            .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(sends).await;
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    assert_eq!(
        checked + statuses.iter().filter(|&&s| s == 429).count(),
        100
    );
    assert!(
        checked <= throttle::PER_ACCOUNT,
        "{checked} of 100 passwords were checked: {statuses:?}"
    );
}

#[test]
fn a_hundred_wrong_passwords_at_once_through_a_trusted_proxy_get_no_more_checks_than_the_limit() {
    let app = TestApp::beijing_behind("127.0.0.1");
    auth::add_user(
        &app.state.db,
        "ma",
        "马",
        Role::GridMember,
        PASSWORD,
        app.state.clock.now(),
    )
    .unwrap();
    let server = common::live::LiveServer::start(app.state.clone(), 4);
    let statuses = wrong_passwords_at_once(&server.url(), "ma", 100, |k| {
        Some(format!("198.51.100.{}", k % 5))
    });
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    assert_eq!(
        checked + statuses.iter().filter(|&&s| s == 429).count(),
        100
    );
    assert!(
        checked <= throttle::PER_ACCOUNT,
        "{checked} of 100 passwords were checked: {statuses:?}"
    );
}

#[actix_web::test]
async fn a_strangers_guesses_from_elsewhere_do_not_keep_the_admin_out_of_their_own_address() {
    let app = TestApp::beijing();
    auth::add_user(
        &app.state.db,
        "root",
        "管理员",
        Role::Admin,
        PASSWORD,
        app.state.clock.now(),
    )
    .unwrap();
    assert_eq!(
        login(&app, "root", PASSWORD, "10.7.0.1:1").await.status,
        200
    );
    // A stranger guesses from six addresses, all at once, until everything answers 429.
    let guesses = (0..60).map(|k| {
        let app = &app;
        async move {
            login(
                app,
                "root",
                &format!("guess {k}"),
                &format!("10.8.0.{}:{}", k % 6, 1000 + k),
            )
            .await
            .status
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    assert!(statuses.iter().any(|s| *s == 429), "{statuses:?}");
    assert_eq!(
        login(&app, "root", "one more guess", "10.8.0.7:1")
            .await
            .status,
        429,
        "the account is throttled for addresses it never signed in from"
    );
    // The admin, from where they signed in before, is not held back.
    let r = login(&app, "root", PASSWORD, "10.7.0.1:2").await;
    assert_eq!(r.status, 200, "{}", r.json);
    // From a new address they wait, until an admin unlocks the account.
    assert_eq!(
        login(&app, "root", PASSWORD, "10.7.0.2:1").await.status,
        429
    );
    assert!(auth::unlock(&app.state.db, "root").unwrap() >= throttle::PER_ACCOUNT);
    assert_eq!(
        login(&app, "root", PASSWORD, "10.7.0.2:2").await.status,
        200
    );
}

async fn login_via(
    app: &TestApp,
    user: &str,
    password: &str,
    peer: &str,
    forwarded: &str,
) -> common::Resp {
    app.send(Req {
        method: Method::POST,
        uri: "/api/v1/auth/login",
        body: Some(json!({"username": user, "password": password})),
        peer: Some(peer.parse().unwrap()),
        headers: &[("X-Forwarded-For", forwarded)],
        ..Req::default()
    })
    .await
}

#[actix_web::test]
async fn x_forwarded_for_is_ignored_from_untrusted_peers_and_believed_from_trusted_proxies() {
    let app = TestApp::beijing_behind("10.9.0.0/24");
    auth::add_user(
        &app.state.db,
        "tang",
        "唐",
        Role::GridMember,
        PASSWORD,
        app.state.clock.now(),
    )
    .unwrap();
    // From a peer that is no proxy, a made-up header changes nothing: one address, one budget.
    for k in 0..throttle::PER_PAIR {
        let r = login_via(
            &app,
            "tang",
            "wrong",
            "203.0.113.5:1",
            &format!("192.0.2.{k}"),
        )
        .await;
        assert_eq!(r.status, 401);
    }
    let r = login_via(&app, "tang", PASSWORD, "203.0.113.5:1", "192.0.2.200").await;
    assert_eq!(r.status, 429);
    // Through the proxy each client has its own budget, and what the client wrote left of it is ignored (another
    // account: the ten misses above used up tang's budget for addresses it never signed in from).
    auth::add_user(
        &app.state.db,
        "song",
        "宋",
        Role::GridMember,
        PASSWORD,
        app.state.clock.now(),
    )
    .unwrap();
    for _ in 0..throttle::PER_PAIR {
        let r = login_via(&app, "song", "wrong", "10.9.0.1:1", "198.51.100.1").await;
        assert_eq!(r.status, 401);
    }
    let r = login_via(
        &app,
        "song",
        PASSWORD,
        "10.9.0.1:2",
        "1.2.3.4, 198.51.100.1",
    )
    .await;
    assert_eq!(r.status, 429, "the client is the rightmost untrusted entry");
    let r = login_via(&app, "song", PASSWORD, "10.9.0.1:3", "198.51.100.2").await;
    assert_eq!(r.status, 200, "{}", r.json);
}

#[actix_web::test]
async fn a_successful_sign_in_forgets_the_owners_misses_from_that_address() {
    let app = app_with_user("gao");
    for _ in 0..throttle::PER_PAIR - 1 {
        assert_eq!(login(&app, "gao", "typo", "10.6.0.1:1").await.status, 401);
    }
    assert_eq!(login(&app, "gao", PASSWORD, "10.6.0.1:1").await.status, 200);
    for _ in 0..throttle::PER_PAIR - 1 {
        assert_eq!(login(&app, "gao", "typo", "10.6.0.1:1").await.status, 401);
    }
    assert_eq!(login(&app, "gao", PASSWORD, "10.6.0.1:1").await.status, 200);
}

#[actix_web::test]
async fn resetting_the_password_forgets_the_failed_sign_ins() {
    let app = app_with_user("lin");
    for _ in 0..throttle::PER_PAIR {
        login(&app, "lin", "wrong", "10.6.1.1:1").await;
    }
    assert_eq!(login(&app, "lin", PASSWORD, "10.6.1.1:1").await.status, 429);
    auth::reset_password(
        &app.state.db,
        "lin",
        "another long password",
        app.state.clock.now(),
    )
    .unwrap();
    assert_eq!(
        login(&app, "lin", "another long password", "10.6.1.1:1")
            .await
            .status,
        200
    );
}

async fn put(app: &TestApp, token: &str, uri: &str, body: serde_json::Value) -> common::Resp {
    app.send(Req {
        method: Method::PUT,
        uri,
        body: Some(body),
        token: Some(token),
        ..Req::default()
    })
    .await
}

#[actix_web::test]
async fn a_scope_named_twice_is_kept_once_not_refused_with_a_500() {
    let app = app_with_user("zhao");
    let admin = app.token(Role::Admin, &[]);
    let r = put(
        &app,
        &admin,
        "/api/v1/admin/users/zhao/scopes",
        json!({"places": ["110105", "110105001", "110105"], "topics": ["07", "07"]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(
        r.json,
        json!({"places": ["110105", "110105001"], "topics": ["07"]})
    );
    let s = auth::login(
        &app.state.db,
        "zhao",
        PASSWORD,
        "10.5.0.1",
        app.state.clock.now(),
    )
    .unwrap();
    let me = auth::authenticate(&app.state.db, &s.token, app.state.clock.now()).unwrap();
    assert_eq!(me.places, ["110105", "110105001"]);
    assert_eq!(me.topics, ["07"]);
}

#[actix_web::test]
async fn an_admin_sets_the_units_a_user_acts_for_and_the_user_list_shows_them() {
    let app = app_with_user("sun");
    let admin = app.token(Role::Admin, &[]);
    let departments = common::departments(&app, "110105").await;
    let (water, gas) = (departments[0].0.clone(), departments[1].0.clone());
    let r = put(
        &app,
        &admin,
        "/api/v1/admin/users/sun/units",
        json!({"units": [gas, water, gas]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let mut both = vec![water.clone(), gas.clone()];
    both.sort();
    assert_eq!(r.json["units"], json!(both));
    let list = app.get_as(&admin, "/api/v1/admin/users").await;
    let sun = list.json["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "sun")
        .unwrap()
        .clone();
    assert_eq!(sun["units"], json!(both));

    let r = put(
        &app,
        &admin,
        "/api/v1/admin/users/sun/units",
        json!({"units": [water, "unit_nosuchunit"]}),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].clone()),
        (400, json!("invalid_unit"))
    );
    let list = app.get_as(&admin, "/api/v1/admin/users").await;
    assert!(
        list.json["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "sun" && u["units"] == json!(both)),
        "a refused change changes nothing"
    );
    let r = put(
        &app,
        &admin,
        "/api/v1/admin/users/nobody/units",
        json!({"units": []}),
    )
    .await;
    assert_eq!(r.json["code"], "user_not_found");
    let member = app.token(Role::DepartmentHandler, &[]);
    let r = put(
        &app,
        &member,
        "/api/v1/admin/users/sun/units",
        json!({"units": [water]}),
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json["code"].clone()),
        (403, json!("forbidden"))
    );
}

/// Signs `name` in from `addr` and returns the token.
async fn signed_in(app: &TestApp, name: &str, addr: &str) -> String {
    let r = login(app, name, PASSWORD, addr).await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["token"].as_str().unwrap().to_owned()
}

/// Whether the server would take `token` as kept, without reading its session.
fn kept(app: &TestApp, token: &str) -> bool {
    app.state
        .sign_ins
        .get(&app.state.db, token, app.state.clock.now())
        .is_some()
}

/// Requests one after another with a token until the last answer was kept (a token checked a moment ago is not
/// read again), at most a few times.
async fn kept_after_use(app: &TestApp, token: &str) -> bool {
    for _ in 0..20 {
        assert_eq!(me(app, Some(token)).await.status, 200);
        if kept(app, token) {
            return true;
        }
    }
    false
}

/// The token is no longer taken as kept, and a request with it is refused.
async fn refused(app: &TestApp, token: &str) {
    assert!(!kept(app, token), "the kept answer still holds");
    assert_eq!(me(app, Some(token)).await.status, 401);
}

#[actix_web::test]
async fn a_kept_sign_in_ends_with_a_write_here_at_expiry_and_soon_after_a_revocation_elsewhere() {
    let app = app_with_user("zhou");
    let token = signed_in(&app, "zhou", "10.0.0.9:1").await;
    assert!(
        kept_after_use(&app, &token).await,
        "a token used at once is kept"
    );

    // Disabled through this server: not trusted at once.
    auth::set_disabled(&app.state.db, "zhou", true, app.state.clock.now()).unwrap();
    refused(&app, &token).await;

    // Expiry, with nothing written: the kept answer ends with the token.
    auth::set_disabled(&app.state.db, "zhou", false, app.state.clock.now()).unwrap();
    let token = signed_in(&app, "zhou", "10.0.0.9:1").await;
    assert!(kept_after_use(&app, &token).await);
    app.state
        .clock
        .advance(auth::TOKEN_TTL + chrono::Duration::seconds(1));
    refused(&app, &token).await;

    // Signed out by another process (a second handle on the database): refused once the bound has passed.
    let token = signed_in(&app, "zhou", "10.0.0.9:1").await;
    assert!(kept_after_use(&app, &token).await);
    let other = app.db.open();
    auth::logout(&other, &token, app.state.clock.now()).unwrap();
    std::thread::sleep(gridline::db::OTHERS_SEEN_WITHIN);
    refused(&app, &token).await;
}
