//! Better Auth's real tokens: JWKS keys (EdDSA, ES256, RS256), rotation, refetch limits, an
//! auth server that is down, key-confusion attacks, and throttling of repeated failures.

use std::net::IpAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{SECRET, TestApp, new_user, request_id, spawn_app_with, token_for};
use crate::jwks_support::{ATTACKER, ED25519, ED25519_ROTATED, ES256, JwksServer, RS256};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims shaped like Better Auth's JWT plugin: the whole user object, iss = aud = base URL.
fn better_auth_claims(base_url: &str, user: &str) -> Value {
    json!({
        "id": user, "sub": user, "name": "Grace Hopper", "email": "grace@example.com",
        "emailVerified": true, "image": null,
        "createdAt": "2026-01-18T10:00:00.000Z", "updatedAt": "2026-01-18T10:00:00.000Z",
        "iat": now(), "exp": now() + 900, "iss": base_url, "aud": base_url,
    })
}

/// An app that trusts `jwks` through `BETTER_AUTH_URL` alone (no shared secret), once its
/// start-up fetch has happened.
async fn spawn_with_jwks(jwks: &JwksServer, adjust: impl FnOnce(&mut todo_api::config::Config)) -> TestApp {
    let base_url = jwks.base_url.clone();
    let app = spawn_app_with(|config| {
        config.better_auth_secret = None;
        config.better_auth_url = Some(base_url);
        adjust(config);
    })
    .await;
    wait_for_fetches(jwks, 1).await;
    app
}

async fn wait_for_fetches(jwks: &JwksServer, at_least: usize) {
    for _ in 0..100 {
        if jwks.fetches() >= at_least {
            // Let the fetch's response be stored.
            tokio::time::sleep(Duration::from_millis(50)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "the JWKS was fetched {} times, expected {at_least}",
        jwks.fetches()
    );
}

async fn list(app: &TestApp, user: &str, token: &str) -> reqwest::Response {
    app.request(Method::GET, &TestApp::tasks_path(user))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
}

/// 401 with one `auth_failed` event of `reason`, and nothing written for `user`.
async fn assert_refused(app: &TestApp, user: &str, response: reqwest::Response, reason: &str) {
    assert_eq!(response.status(), 401, "expected a 401 for {reason}");
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let events = app.security_events(&request_id(&response));
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["event"], "auth_failed");
    assert_eq!(events[0]["reason"], reason);
    assert!(app.rows_of(user).await.is_empty());
    use sea_orm::EntityTrait;
    let row = todo_api::testing::user::Entity::find_by_id(user.to_owned())
        .one(&app.db)
        .await
        .expect("query");
    assert!(row.is_none(), "a refused token provisions nobody");
}

#[tokio::test]
async fn a_token_shaped_like_better_auths_is_accepted_and_fills_the_user_row() {
    let jwks = JwksServer::start(vec![ED25519.jwk("ba-key-1")]).await;
    let app = spawn_with_jwks(&jwks, |_| {}).await;
    let user = new_user();
    let token = ED25519.sign(Some("ba-key-1"), &better_auth_claims(&jwks.base_url, &user));
    let created = app
        .request(Method::POST, &TestApp::tasks_path(&user))
        .bearer_auth(&token)
        .json(&json!({"title": "From Better Auth"}))
        .send()
        .await
        .expect("request");
    assert_eq!(created.status(), 201);
    use sea_orm::EntityTrait;
    let row = todo_api::testing::user::Entity::find_by_id(user.clone())
        .one(&app.db)
        .await
        .expect("query")
        .expect("provisioned");
    assert_eq!(row.email.as_deref(), Some("grace@example.com"));
    assert_eq!(row.name.as_deref(), Some("Grace Hopper"));
}

#[tokio::test]
async fn es256_and_rs256_keys_verify_too() {
    let jwks = JwksServer::start(vec![ES256.jwk("ec-1"), RS256.jwk("rsa-1")]).await;
    let app = spawn_with_jwks(&jwks, |_| {}).await;
    let user = new_user();
    for (key, kid) in [(ES256, "ec-1"), (RS256, "rsa-1")] {
        let token = key.sign(Some(kid), &better_auth_claims(&jwks.base_url, &user));
        assert_eq!(list(&app, &user, &token).await.status(), 200, "{kid}");
    }
}

#[tokio::test]
async fn a_rotated_key_works_after_one_refetch_and_old_keys_work_while_published() {
    let jwks = JwksServer::start(vec![ED25519.jwk("old")]).await;
    let app = spawn_with_jwks(&jwks, |config| {
        config.jwks_refetch_interval = Duration::from_millis(300)
    })
    .await;
    let user = new_user();
    let claims = better_auth_claims(&jwks.base_url, &user);
    let old = ED25519.sign(Some("old"), &claims);
    assert_eq!(list(&app, &user, &old).await.status(), 200);
    assert_eq!(jwks.fetches(), 1);

    jwks.publish(vec![ED25519.jwk("old"), ED25519_ROTATED.jwk("new")]);
    tokio::time::sleep(Duration::from_millis(350)).await;
    let new = ED25519_ROTATED.sign(Some("new"), &claims);
    assert_eq!(
        list(&app, &user, &new).await.status(),
        200,
        "the new kid after one refetch"
    );
    assert_eq!(jwks.fetches(), 2);
    assert_eq!(
        list(&app, &user, &old).await.status(),
        200,
        "the old key is still published"
    );
    assert_eq!(list(&app, &user, &new).await.status(), 200);
    assert_eq!(jwks.fetches(), 2, "known kids cause no fetch");

    // The old key is withdrawn; the next refetch (caused by an unknown kid) drops it.
    jwks.publish(vec![ED25519_ROTATED.jwk("new")]);
    tokio::time::sleep(Duration::from_millis(350)).await;
    let unknown = ED25519.sign(Some("unknown"), &claims);
    assert_refused(
        &app,
        &new_user(),
        list(&app, &user, &unknown).await,
        "unknown_kid",
    )
    .await;
    assert_eq!(jwks.fetches(), 3);
    let response = list(&app, &user, &old).await;
    assert_eq!(response.status(), 401, "a withdrawn key stops working");
}

#[tokio::test]
async fn fifty_unknown_kids_cause_at_most_one_refetch() {
    let jwks = JwksServer::start(vec![ED25519.jwk("real")]).await;
    let app = spawn_with_jwks(&jwks, |config| config.auth_failures_per_minute = 0).await;
    let user = new_user();
    let claims = better_auth_claims(&jwks.base_url, &user);
    let requests = (0..50).map(|_| {
        let token = ED25519.sign(Some(&uuid::Uuid::new_v4().to_string()), &claims);
        let app = &app;
        let user = &user;
        async move { list(app, user, &token).await.status() }
    });
    let statuses = futures::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 401));
    assert!(
        jwks.fetches() <= 2,
        "start-up fetch plus at most one refetch: {}",
        jwks.fetches()
    );
    let good = ED25519.sign(Some("real"), &claims);
    assert_eq!(
        list(&app, &user, &good).await.status(),
        200,
        "the cached set still works"
    );
}

#[tokio::test]
async fn with_the_auth_server_down_at_start_hs256_works_and_jwks_tokens_work_once_it_is_up() {
    let jwks = JwksServer::start(vec![ED25519.jwk("k1")]).await;
    jwks.set_down(true);
    let base_url = jwks.base_url.clone();
    let app = spawn_app_with(|config| {
        config.better_auth_url = Some(base_url);
        config.jwt_issuer = None;
        config.jwt_audience = None;
        config.jwks_refetch_interval = Duration::from_millis(300);
    })
    .await;
    wait_for_fetches(&jwks, 1).await;
    let user = new_user();
    // HS256 tokens carry the issuer and audience that BETTER_AUTH_URL implies.
    let hs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": user, "exp": now() + 600, "iss": jwks.base_url, "aud": jwks.base_url}),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("sign");
    assert_eq!(
        list(&app, &user, &hs256).await.status(),
        200,
        "HS256 does not need the auth server"
    );

    let eddsa = ED25519.sign(Some("k1"), &better_auth_claims(&jwks.base_url, &user));
    assert_eq!(list(&app, &user, &eddsa).await.status(), 401, "no keys yet");
    jwks.set_down(false);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        list(&app, &user, &eddsa).await.status(),
        200,
        "works once the server is up"
    );
}

#[tokio::test]
async fn the_last_good_key_set_is_kept_when_a_refetch_fails() {
    let jwks = JwksServer::start(vec![ED25519.jwk("k1")]).await;
    let app = spawn_with_jwks(&jwks, |config| {
        config.jwks_refetch_interval = Duration::from_millis(200)
    })
    .await;
    let user = new_user();
    let claims = better_auth_claims(&jwks.base_url, &user);
    jwks.set_down(true);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let unknown = ED25519.sign(Some("k2"), &claims);
    assert_eq!(list(&app, &user, &unknown).await.status(), 401);
    assert_eq!(jwks.fetches(), 2, "the refetch was tried");
    let known = ED25519.sign(Some("k1"), &claims);
    assert_eq!(list(&app, &user, &known).await.status(), 200);
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_refused_in_every_form() {
    let jwks = JwksServer::start(vec![ED25519.jwk("k1"), RS256.jwk("r1")]).await;
    let jwks_only = spawn_with_jwks(&jwks, |_| {}).await;
    let both = spawn_with_jwks(&jwks, |config| {
        config.better_auth_secret = Some(todo_api::config::Secret::new(SECRET.into()))
    })
    .await;
    let user = new_user();
    let claims = better_auth_claims(&jwks.base_url, &user);
    let ed_jwk = ED25519.jwk("k1");
    let raw = URL_SAFE_NO_PAD
        .decode(ed_jwk["x"].as_str().expect("x"))
        .expect("raw key");
    let forms: Vec<Vec<u8>> = vec![
        raw.clone(),
        STANDARD.encode(&raw).into_bytes(),
        ed_jwk["x"].as_str().expect("x").as_bytes().to_vec(),
        include_bytes!("../fixtures/keys/ed25519.pub.pem").to_vec(),
        include_bytes!("../fixtures/keys/rs256.pub.pem").to_vec(),
        serde_json::to_vec(&ed_jwk).expect("json"),
    ];
    for secret in forms {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret)).expect("sign");
        assert_refused(
            &jwks_only,
            &user,
            list(&jwks_only, &user, &token).await,
            "alg_not_allowed",
        )
        .await;
        assert_refused(&both, &user, list(&both, &user, &token).await, "bad_signature").await;
    }
}

#[tokio::test]
async fn keys_named_by_jwk_jku_or_x5u_headers_are_never_used_nor_fetched() {
    let jwks = JwksServer::start(vec![ED25519.jwk("k1")]).await;
    let elsewhere = JwksServer::start(vec![ATTACKER.jwk("k1")]).await;
    let app = spawn_with_jwks(&jwks, |_| {}).await;
    let user = new_user();
    let claims = better_auth_claims(&jwks.base_url, &user);
    let attacker_jwk: Jwk = serde_json::from_value(ATTACKER.jwk("evil")).expect("jwk");
    let cases = [(Some("k1"), "bad_signature"), (Some("evil"), "unknown_kid")];
    for (kid, reason) in cases {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = kid.map(str::to_owned);
        header.jwk = Some(attacker_jwk.clone());
        header.jku = Some(format!("{}/api/auth/jwks", elsewhere.base_url));
        header.x5u = Some(format!("{}/cert.pem", elsewhere.base_url));
        let token = ATTACKER.sign_with_header(header, &claims);
        assert_refused(&app, &user, list(&app, &user, &token).await, reason).await;
    }
    assert_eq!(
        elsewhere.fetches(),
        0,
        "no request ever went to a token-named address"
    );
}

#[tokio::test]
async fn an_algorithm_other_than_the_keys_own_is_not_allowed() {
    let jwks = JwksServer::start(vec![ED25519.jwk("ed"), ES256.jwk("ec")]).await;
    let app = spawn_with_jwks(&jwks, |_| {}).await;
    let user = new_user();
    let claims = better_auth_claims(&jwks.base_url, &user);
    // An ES256 signature presented under the Ed25519 key's kid.
    let token = ES256.sign(Some("ed"), &claims);
    assert_refused(&app, &user, list(&app, &user, &token).await, "alg_not_allowed").await;
    // Algorithms without any configured key.
    for alg in [Algorithm::ES384, Algorithm::PS256, Algorithm::HS512] {
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": format!("{alg:?}"), "kid": "ed"}).to_string());
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let token = format!("{header}.{payload}.AAAA");
        assert_refused(&app, &user, list(&app, &user, &token).await, "alg_not_allowed").await;
    }
}

#[tokio::test]
async fn issuer_and_audience_default_to_the_better_auth_url() {
    let jwks = JwksServer::start(vec![ED25519.jwk("k1")]).await;
    let app = spawn_with_jwks(&jwks, |_| {}).await;
    let user = new_user();
    let base = jwks.base_url.clone();
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = better_auth_claims(&base, &user);
        change(&mut claims);
        ED25519.sign(Some("k1"), &claims)
    };
    let cases: Vec<(String, &str)> = vec![
        (with(&|c| c["iss"] = "https://evil.example".into()), "bad_issuer"),
        (
            with(&|c| {
                c.as_object_mut().map(|o| o.remove("iss"));
            }),
            "bad_issuer",
        ),
        (with(&|c| c["iss"] = format!("{base}/").into()), "bad_issuer"),
        (
            with(&|c| c["aud"] = "https://evil.example".into()),
            "bad_audience",
        ),
        (
            with(&|c| {
                c.as_object_mut().map(|o| o.remove("aud"));
            }),
            "bad_audience",
        ),
        (with(&|c| c["exp"] = (now() - 120).into()), "expired"),
        (with(&|c| c["exp"] = "soon".into()), "malformed"),
        (with(&|c| c["iat"] = "now".into()), "malformed"),
        (
            with(&|c| {
                c.as_object_mut().map(|o| {
                    o.remove("sub");
                    o.remove("id")
                });
            }),
            "bad_subject",
        ),
        (with(&|c| c["sub"] = json!(42)), "bad_subject"),
        // A structure where a registered claim's string belongs: the token cannot be read.
        (with(&|c| c["sub"] = json!({"id": "x"})), "malformed"),
        // Last: a valid token provisions the user, which the refusals above check did not happen.
        (with(&|c| c["aud"] = json!(["other", base.clone()])), ""),
    ];
    for (token, reason) in cases {
        let response = list(&app, &user, &token).await;
        if reason.is_empty() {
            assert_eq!(response.status(), 200, "an aud array containing the base URL");
        } else {
            assert_refused(&app, &user, response, reason).await;
        }
    }
}

#[tokio::test]
async fn repeated_failures_from_one_address_are_throttled_without_slowing_anyone_else() {
    let app = spawn_app_with(|config| config.auth_failures_per_minute = 5).await;
    let user = new_user();
    let bad = format!("{}x", token_for(&user));
    for attempt in 0..5 {
        assert_eq!(list(&app, &user, &bad).await.status(), 401, "attempt {attempt}");
    }
    let throttled = list(&app, &user, &bad).await;
    assert_eq!(throttled.status(), 429);
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let throttled_id = request_id(&throttled);
    let body: Value = throttled.json().await.expect("json");
    assert!(body["detail"].is_string());
    let events = app.security_events(&throttled_id);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["event"], "auth_throttled");
    // Further throttled failures are counted, not logged one by one.
    for _ in 0..20 {
        let again = list(&app, &user, &bad).await;
        assert_eq!(again.status(), 429);
        assert!(app.security_events(&request_id(&again)).is_empty());
    }
    // A valid token from the same address is never throttled.
    assert_eq!(list(&app, &user, &token_for(&user)).await.status(), 200);
    // Another address's failures are its own.
    let other_address: IpAddr = [127, 0, 0, 2].into();
    let other = reqwest::Client::builder()
        .local_address(other_address)
        .build()
        .expect("client");
    let response = other
        .get(app.url(&TestApp::tasks_path(&user)))
        .bearer_auth(&bad)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401, "a different address has its own budget");
}
