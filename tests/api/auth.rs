//! Sign-in, tokens, sign-out, throttling and the first admin.

use crate::common;

use actix_web::http::Method;
use common::{Req, TestApp};
use gridline::auth::role::Role;
use gridline::service::auth;
use serde_json::json;

const PASSWORD: &str = "grid-member-secret";

fn app_with_user(name: &str) -> TestApp {
    let app = TestApp::beijing();
    auth::add_user(&app.state.db, name, "王小网", Role::GridMember, PASSWORD).unwrap();
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
    auth::set_disabled(&app.state.db, "li", true).unwrap();
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
    auth::reset_password(&app.state.db, "zhao", "a brand new password").unwrap();
    assert_eq!(me(&app, Some(&token)).await.status, 401);
    let token = login(&app, "zhao", "a brand new password", "10.0.0.4:1")
        .await
        .json["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(me(&app, Some(&token)).await.status, 200);
    auth::set_disabled(&app.state.db, "zhao", true).unwrap();
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

#[actix_web::test]
async fn repeated_failures_are_throttled_per_account_even_with_the_right_password() {
    let app = app_with_user("zhou");
    for k in 0..auth::MAX_FAILURES_PER_ACCOUNT {
        let r = login(&app, "zhou", "not the password", &format!("10.1.0.{k}:1")).await;
        assert_eq!(r.status, 401);
    }
    let r = login(&app, "zhou", PASSWORD, "10.1.1.1:1").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json["code"], "too_many_attempts");
    let retry: u64 = r
        .headers
        .get("Retry-After")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    // Another account is not affected.
    auth::add_user(&app.state.db, "wu", "吴", Role::Leader, PASSWORD).unwrap();
    assert_eq!(login(&app, "wu", PASSWORD, "10.1.1.1:1").await.status, 200);
}

#[actix_web::test]
async fn repeated_failures_are_throttled_per_address_across_accounts() {
    let app = app_with_user("qian");
    for k in 0..auth::MAX_FAILURES_PER_ADDRESS {
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
        auth::ensure_admin(&db, Some("configured admin pw")).unwrap(),
        None
    );
    assert!(auth::login(&db, "admin", "configured admin pw", "127.0.0.1").is_ok());
    assert_eq!(
        auth::ensure_admin(&db, None).unwrap(),
        None,
        "users exist: nothing happens"
    );
    let t2 = common::TestDb::beijing();
    let db2 = t2.open();
    let generated = auth::ensure_admin(&db2, None).unwrap().unwrap();
    assert_eq!(
        auth::login(&db2, "admin", &generated, "127.0.0.1")
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
        auth::add_user(&db, "bad name", "x", Role::Leader, PASSWORD),
        Err(auth::AuthError::InvalidUsername)
    ));
    assert!(matches!(
        auth::add_user(&db, "ok", "x", Role::Leader, "short"),
        Err(auth::AuthError::Password(_))
    ));
    auth::add_user(&db, "ok", "x", Role::Leader, PASSWORD).unwrap();
    assert!(matches!(
        auth::add_user(&db, "ok", "y", Role::Leader, PASSWORD),
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
    )
    .unwrap();
    assert!(key.key.starts_with("glk_"));
    let r = me(&app, Some(&key.key)).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["role"], "hotline_operator");
    assert_eq!(r.json["display_name"], "12345 hotline integration");
    let listed = auth::list_api_keys(&app.state.db).unwrap();
    assert!(listed.iter().all(|k| !k.key_hash.contains(&key.key[4..])));
    auth::revoke_api_key(&app.state.db, &key.id).unwrap();
    assert_eq!(me(&app, Some(&key.key)).await.json["code"], "invalid_token");
    assert!(
        auth::revoke_api_key(&app.state.db, &key.id).is_err(),
        "already revoked"
    );
}

#[actix_web::test]
async fn only_an_admin_lists_users_and_revokes_their_tokens() {
    let app = app_with_user("chen");
    auth::add_user(&app.state.db, "root", "管理员", Role::Admin, PASSWORD).unwrap();
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
