//! The token rejection catalogue again, through `POST /graphql`: every refusal is HTTP 401 with
//! an `UNAUTHENTICATED` error (400 for two `Authorization` headers), one security event with
//! the right reason, and nothing written.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{SECRET, TestApp, new_user, request_id, spawn_app_with, token_for};
use crate::jwks_support::{ATTACKER, ED25519, ES256, JwksServer};

const CREATE: &str = r#"mutation { createTask(input: {title: "should never exist"}) { id } }"#;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn hs256(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

/// Sends the create mutation with these raw `Authorization` values and checks the refusal.
async fn assert_refused(app: &TestApp, user: &str, authorization: &[String], status: u16, reason: &str) {
    let mut request = app
        .request(Method::POST, "/graphql")
        .json(&json!({"query": CREATE}));
    for value in authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.expect("request");
    assert_eq!(response.status(), status, "{reason}");
    if status == 401 {
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{reason}");
    }
    let events = app.security_events(&request_id(&response));
    let body: Value = response.json().await.expect("json");
    let expected_code = if status == 401 {
        "UNAUTHENTICATED"
    } else {
        "BAD_REQUEST"
    };
    assert_eq!(
        body["errors"][0]["extensions"]["code"], expected_code,
        "{reason}: {body}"
    );
    assert!(
        body.get("data").is_none_or(Value::is_null),
        "nothing executed: {body}"
    );
    assert_eq!(events.len(), 1, "{reason}: {events:?}");
    assert_eq!(events[0]["event"], "auth_failed");
    assert_eq!(events[0]["reason"], reason);
    assert!(app.rows_of(user).await.is_empty(), "{reason}: nothing written");
}

fn bearer(token: &str) -> Vec<String> {
    vec![format!("Bearer {token}")]
}

#[tokio::test]
async fn every_hs256_rejection_is_a_graphql_401_with_its_reason() {
    let app = spawn_app_with(|config| config.auth_failures_per_minute = 0).await;
    let user = new_user();
    let exp = now() + 600;
    let genuine = token_for(&user);
    let parts: Vec<&str> = genuine.split('.').collect();
    let tampered_payload = URL_SAFE_NO_PAD.encode(json!({"sub": "someone-else", "exp": exp}).to_string());
    let none_header = URL_SAFE_NO_PAD.encode(json!({"alg": "none"}).to_string());
    let cases: Vec<(Vec<String>, u16, &str)> = vec![
        (vec![], 401, "missing_token"),
        (vec!["Basic dXNlcjpwYXNz".into()], 401, "malformed"),
        (bearer("not.a.jwt"), 401, "malformed"),
        (bearer(&"a".repeat(8193)), 401, "too_large"),
        (
            vec![format!("Bearer {genuine}"), format!("Bearer {genuine}")],
            400,
            "multiple_credentials",
        ),
        (
            bearer(&hs256(
                &json!({"sub": user, "exp": exp}),
                "wrong-secret-wrong-secret-wrong-secret!",
            )),
            401,
            "bad_signature",
        ),
        (
            bearer(&format!("{}.{tampered_payload}.{}", parts[0], parts[2])),
            401,
            "bad_signature",
        ),
        (
            bearer(&format!("{}.{}.", parts[0], parts[1])),
            401,
            "bad_signature",
        ),
        (
            bearer(&format!("{none_header}.{}.", parts[1])),
            401,
            "alg_not_allowed",
        ),
        (
            bearer(&hs256(&json!({"sub": user, "exp": now() - 120}), SECRET)),
            401,
            "expired",
        ),
        (bearer(&hs256(&json!({"sub": user}), SECRET)), 401, "malformed"),
        (
            bearer(&hs256(&json!({"sub": user, "exp": "later"}), SECRET)),
            401,
            "malformed",
        ),
        (
            bearer(&hs256(
                &json!({"sub": user, "exp": exp, "nbf": now() + 300}),
                SECRET,
            )),
            401,
            "not_yet_valid",
        ),
        (
            bearer(&hs256(
                &json!({"sub": user, "exp": exp, "iat": now() + 300}),
                SECRET,
            )),
            401,
            "not_yet_valid",
        ),
        (
            bearer(&hs256(&json!({"sub": "", "exp": exp}), SECRET)),
            401,
            "bad_subject",
        ),
        (bearer(&hs256(&json!({"exp": exp}), SECRET)), 401, "bad_subject"),
    ];
    for (authorization, status, reason) in cases {
        assert_refused(&app, &user, &authorization, status, reason).await;
    }
}

#[tokio::test]
async fn every_jwks_rejection_is_a_graphql_401_with_its_reason() {
    let jwks = JwksServer::start(vec![ED25519.jwk("k1"), ES256.jwk("ec")]).await;
    let elsewhere = JwksServer::start(vec![ATTACKER.jwk("k1")]).await;
    let base = jwks.base_url.clone();
    let app = spawn_app_with(|config| {
        config.better_auth_secret = None;
        config.better_auth_url = Some(base.clone());
        config.auth_failures_per_minute = 0;
    })
    .await;
    for _ in 0..100 {
        if jwks.fetches() > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let user = new_user();
    let claims = json!({"sub": user, "exp": now() + 600, "iss": base, "aud": base});
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = claims.clone();
        change(&mut claims);
        claims
    };
    let raw_public_key = URL_SAFE_NO_PAD
        .decode(ED25519.jwk("k1")["x"].as_str().expect("x"))
        .expect("raw");
    let mut confused = Header::new(Algorithm::HS256);
    confused.kid = Some("k1".into());
    let key_confusion =
        jsonwebtoken::encode(&confused, &claims, &EncodingKey::from_secret(&raw_public_key)).expect("sign");
    let mut smuggled = Header::new(Algorithm::EdDSA);
    smuggled.kid = Some("k1".into());
    smuggled.jwk = Some(serde_json::from_value::<Jwk>(ATTACKER.jwk("k1")).expect("jwk"));
    smuggled.jku = Some(format!("{}/api/auth/jwks", elsewhere.base_url));
    let cases: Vec<(String, &str)> = vec![
        (ED25519.sign(Some("no-such-kid"), &claims), "unknown_kid"),
        (key_confusion, "alg_not_allowed"),
        (ES256.sign(Some("k1"), &claims), "alg_not_allowed"),
        (ATTACKER.sign_with_header(smuggled, &claims), "bad_signature"),
        (
            ED25519.sign(Some("k1"), &with(&|c| c["iss"] = "https://evil.example".into())),
            "bad_issuer",
        ),
        (
            ED25519.sign(Some("k1"), &with(&|c| c["aud"] = "https://evil.example".into())),
            "bad_audience",
        ),
        (
            ED25519.sign(Some("k1"), &with(&|c| c["exp"] = (now() - 120).into())),
            "expired",
        ),
    ];
    for (token, reason) in cases {
        assert_refused(&app, &user, &bearer(&token), 401, reason).await;
    }
    assert_eq!(
        elsewhere.fetches(),
        0,
        "no key is ever fetched from a token-named address"
    );
    // The same key, used properly, is accepted through GraphQL.
    let good = ED25519.sign(Some("k1"), &claims);
    let response = app
        .request(Method::POST, "/graphql")
        .bearer_auth(good)
        .json(&json!({"query": CREATE}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(app.rows_of(&user).await.len(), 1);
}

#[tokio::test]
async fn throttled_graphql_failures_are_429_with_retry_after() {
    let app = spawn_app_with(|config| config.auth_failures_per_minute = 2).await;
    let user = new_user();
    let bad = bearer("not.a.jwt");
    for _ in 0..2 {
        assert_refused(&app, &user, &bad, 401, "malformed").await;
    }
    let response = app
        .request(Method::POST, "/graphql")
        .header("authorization", &bad[0])
        .json(&json!({"query": CREATE}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], "TOO_MANY_REQUESTS");
}
