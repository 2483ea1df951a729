//! Bearer-token rules (docs/api.md#authorization-header): who gets in, who gets a 401 (or 400), and why.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{SECRET, TestApp, mint, new_user, request_id, spawn_app, spawn_app_with, token_for};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn sign(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

/// Sends `GET /api/{user}/tasks` with the given raw `Authorization` header values.
async fn list_with(app: &TestApp, user: &str, authorization: &[&str]) -> reqwest::Response {
    let mut request = app.request(Method::GET, &TestApp::tasks_path(user));
    for value in authorization {
        request = request.header("authorization", *value);
    }
    request.send().await.expect("request")
}

/// Asserts a 401 with `WWW-Authenticate: Bearer`, the documented body, and one security event
/// with `reason`.
async fn assert_refused(app: &TestApp, response: reqwest::Response, reason: &str) {
    assert_eq!(response.status(), 401, "expected 401 for {reason}");
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let id = request_id(&response);
    let body: Value = response.json().await.expect("json");
    assert!(
        body["detail"].is_string() && body["message"].is_string(),
        "{body}"
    );
    let events = app.security_events(&id);
    assert_eq!(events.len(), 1, "exactly one event: {events:?}");
    assert_eq!(events[0]["event"], "auth_failed");
    assert_eq!(events[0]["reason"], reason);
    assert_eq!(events[0]["status"], 401);
}

#[tokio::test]
async fn a_valid_token_is_accepted_with_any_case_of_bearer() {
    let app = spawn_app().await;
    let user = new_user();
    let token = token_for(&user);
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let response = list_with(&app, &user, &[&format!("{scheme} {token}")]).await;
        assert_eq!(response.status(), 200, "{scheme}");
    }
}

#[tokio::test]
async fn no_token_is_401_missing_token() {
    let app = spawn_app().await;
    let user = new_user();
    let response = list_with(&app, &user, &[]).await;
    assert_refused(&app, response, "missing_token").await;
}

#[tokio::test]
async fn tokens_in_the_query_string_or_a_cookie_are_ignored() {
    let app = spawn_app().await;
    let user = new_user();
    let token = token_for(&user);
    let response = app
        .request(
            Method::GET,
            &format!(
                "{}?access_token={token}&token={token}",
                TestApp::tasks_path(&user)
            ),
        )
        .header("cookie", format!("token={token}; access_token={token}"))
        .send()
        .await
        .expect("request");
    assert_refused(&app, response, "missing_token").await;
}

#[tokio::test]
async fn two_authorization_headers_are_400() {
    let app = spawn_app().await;
    let user = new_user();
    let token = token_for(&user);
    let response = list_with(
        &app,
        &user,
        &[&format!("Bearer {token}"), &format!("Bearer {token}")],
    )
    .await;
    assert_eq!(response.status(), 400);
    let id = request_id(&response);
    let body: Value = response.json().await.expect("json");
    assert!(body["detail"].is_string());
    let events = app.security_events(&id);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["reason"], "multiple_credentials");
    assert_eq!(events[0]["status"], 400);
}

#[tokio::test]
async fn malformed_credentials_are_401_malformed() {
    let app = spawn_app().await;
    let user = new_user();
    for value in [
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Bearer ....",
        "Token abc",
    ] {
        let response = list_with(&app, &user, &[value]).await;
        assert_refused(&app, response, "malformed").await;
    }
}

#[tokio::test]
async fn a_token_over_8_kib_is_refused_unparsed() {
    let app = spawn_app().await;
    let user = new_user();
    let huge = format!("Bearer {}", "a".repeat(8193));
    let response = list_with(&app, &user, &[&huge]).await;
    assert_refused(&app, response, "too_large").await;
}

#[tokio::test]
async fn a_wrong_signature_or_tampered_payload_is_bad_signature() {
    let app = spawn_app().await;
    let user = new_user();
    let exp = now() + 600;
    let forged = sign(
        &json!({"sub": user, "exp": exp}),
        "another-secret-another-secret-0123456789",
    );
    let response = list_with(&app, &user, &[&format!("Bearer {forged}")]).await;
    assert_refused(&app, response, "bad_signature").await;

    let genuine = token_for("someone-else");
    let mut parts: Vec<String> = genuine.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(json!({"sub": user, "exp": exp}).to_string());
    let tampered = parts.join(".");
    let response = list_with(&app, &user, &[&format!("Bearer {tampered}")]).await;
    assert_refused(&app, response, "bad_signature").await;

    let stripped = format!("{}.{}.", parts[0], parts[1]);
    let response = list_with(&app, &user, &[&format!("Bearer {stripped}")]).await;
    assert_refused(&app, response, "bad_signature").await;
}

#[tokio::test]
async fn alg_none_and_other_algorithms_are_not_allowed() {
    let app = spawn_app().await;
    let user = new_user();
    let payload = URL_SAFE_NO_PAD.encode(json!({"sub": user, "exp": now() + 600}).to_string());
    for alg in ["none", "NONE", "nOnE", "HS512", "RS256", "EdDSA"] {
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "typ": "JWT"}).to_string());
        let token = format!("{header}.{payload}.c2lnbmF0dXJl");
        let response = list_with(&app, &user, &[&format!("Bearer {token}")]).await;
        assert_refused(&app, response, "alg_not_allowed").await;
    }
}

#[tokio::test]
async fn expiry_is_required_and_enforced_with_60_seconds_of_leeway() {
    let app = spawn_app().await;
    let user = new_user();
    let expired = sign(&json!({"sub": user, "exp": now() - 120}), SECRET);
    assert_refused(
        &app,
        list_with(&app, &user, &[&format!("Bearer {expired}")]).await,
        "expired",
    )
    .await;

    let within_leeway = sign(&json!({"sub": user, "exp": now() - 30}), SECRET);
    assert_eq!(
        list_with(&app, &user, &[&format!("Bearer {within_leeway}")])
            .await
            .status(),
        200
    );

    let no_exp = sign(&json!({"sub": user}), SECRET);
    assert_refused(
        &app,
        list_with(&app, &user, &[&format!("Bearer {no_exp}")]).await,
        "malformed",
    )
    .await;

    let string_exp = sign(&json!({"sub": user, "exp": "tomorrow"}), SECRET);
    assert_refused(
        &app,
        list_with(&app, &user, &[&format!("Bearer {string_exp}")]).await,
        "malformed",
    )
    .await;
}

#[tokio::test]
async fn nbf_and_iat_in_the_future_are_not_yet_valid() {
    let app = spawn_app().await;
    let user = new_user();
    let exp = now() + 3600;
    for claims in [
        json!({"sub": user, "exp": exp, "nbf": now() + 300}),
        json!({"sub": user, "exp": exp, "iat": now() + 300}),
    ] {
        let token = sign(&claims, SECRET);
        let response = list_with(&app, &user, &[&format!("Bearer {token}")]).await;
        assert_refused(&app, response, "not_yet_valid").await;
    }
    let skewed = sign(
        &json!({"sub": user, "exp": exp, "nbf": now() + 30, "iat": now() + 30}),
        SECRET,
    );
    assert_eq!(
        list_with(&app, &user, &[&format!("Bearer {skewed}")])
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn the_user_id_comes_from_sub_then_user_id_then_id_without_fallback_past_a_bad_one() {
    let app = spawn_app().await;
    let user = new_user();
    let exp = now() + 600;
    for claims in [
        json!({"user_id": user, "exp": exp}),
        json!({"id": user, "exp": exp}),
    ] {
        let token = sign(&claims, SECRET);
        assert_eq!(
            list_with(&app, &user, &[&format!("Bearer {token}")])
                .await
                .status(),
            200,
            "{claims}"
        );
    }
    for claims in [
        json!({"exp": exp}),
        json!({"sub": "", "user_id": user, "exp": exp}),
        json!({"sub": "   ", "exp": exp}),
        json!({"sub": 42, "exp": exp}),
        json!({"sub": "x".repeat(256), "exp": exp}),
        json!({"sub": null, "id": user, "exp": exp}),
    ] {
        let token = sign(&claims, SECRET);
        let response = list_with(&app, &user, &[&format!("Bearer {token}")]).await;
        assert_refused(&app, response, "bad_subject").await;
    }
}

#[tokio::test]
async fn configured_issuer_and_audience_must_match() {
    let app = spawn_app_with(|config| {
        config.jwt_issuer = Some("https://auth.example.com".into());
        config.jwt_audience = Some("todo-api".into());
    })
    .await;
    let user = new_user();
    let exp = now() + 600;
    let good = sign(
        &json!({"sub": user, "exp": exp, "iss": "https://auth.example.com", "aud": ["todo-api", "x"]}),
        SECRET,
    );
    assert_eq!(
        list_with(&app, &user, &[&format!("Bearer {good}")])
            .await
            .status(),
        200
    );
    let cases = [
        (json!({"sub": user, "exp": exp, "aud": "todo-api"}), "bad_issuer"),
        (
            json!({"sub": user, "exp": exp, "iss": "https://evil.example.com", "aud": "todo-api"}),
            "bad_issuer",
        ),
        (
            json!({"sub": user, "exp": exp, "iss": "https://auth.example.com"}),
            "bad_audience",
        ),
        (
            json!({"sub": user, "exp": exp, "iss": "https://auth.example.com", "aud": "other"}),
            "bad_audience",
        ),
    ];
    for (claims, reason) in cases {
        let token = sign(&claims, SECRET);
        let response = list_with(&app, &user, &[&format!("Bearer {token}")]).await;
        assert_refused(&app, response, reason).await;
    }
}

#[tokio::test]
async fn jku_x5u_and_jwk_headers_are_ignored_on_a_validly_signed_token() {
    let app = spawn_app().await;
    let user = new_user();
    let mut header = Header::new(Algorithm::HS256);
    header.jku = Some("http://127.0.0.1:1/keys".into());
    header.x5u = Some("http://127.0.0.1:1/cert".into());
    let token = jsonwebtoken::encode(
        &header,
        &json!({"sub": user, "exp": now() + 600}),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("sign");
    assert_eq!(
        list_with(&app, &user, &[&format!("Bearer {token}")])
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn the_first_request_provisions_the_user_with_profile_claims() {
    let app = spawn_app().await;
    let user = new_user();
    let token = sign(
        &json!({"sub": user, "exp": now() + 600, "email": "ada@example.com", "name": "Ada"}),
        SECRET,
    );
    assert_eq!(
        list_with(&app, &user, &[&format!("Bearer {token}")])
            .await
            .status(),
        200
    );
    use sea_orm::EntityTrait;
    let row = todo_api::testing::user::Entity::find_by_id(user.clone())
        .one(&app.db)
        .await
        .expect("query")
        .expect("the user row exists");
    assert_eq!(row.email.as_deref(), Some("ada@example.com"));
    assert_eq!(row.name.as_deref(), Some("Ada"));
    let short = mint(&user, Duration::from_secs(60));
    assert_eq!(
        list_with(&app, &user, &[&format!("Bearer {short}")])
            .await
            .status(),
        200
    );
}
