//! Rules of the HTTP surface that are not about tasks: JSON 404/405, check order, CORS,
//! request ids, health endpoints.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{TestApp, new_user, spawn_app};

#[tokio::test]
async fn unknown_routes_are_json_404_before_authentication() {
    let app = spawn_app().await;
    for path in ["/nope", "/api", "/api/u/tasks/x/y/z", "/api/u/things"] {
        let response = app.request(Method::GET, path).send().await.expect("request");
        assert_eq!(response.status(), 404, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with("application/json")
        );
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["detail"], "Not Found");
        assert_eq!(body["message"], "Not Found");
    }
}

#[tokio::test]
async fn wrong_methods_are_json_405_with_allow_before_authentication() {
    let app = spawn_app().await;
    let user = new_user();
    let cases = [
        (Method::DELETE, TestApp::tasks_path(&user)),
        (Method::PATCH, format!("{}/x", TestApp::tasks_path(&user))),
        (Method::POST, format!("{}/x/complete", TestApp::tasks_path(&user))),
    ];
    for (method, path) in cases {
        let response = app.request(method.clone(), &path).send().await.expect("request");
        assert_eq!(response.status(), 405, "{method} {path}");
        assert!(response.headers().contains_key("allow"), "{method} {path}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["detail"], "Method Not Allowed");
    }
}

#[tokio::test]
async fn cors_preflight_is_answered_for_allowed_origins_only() {
    let app = spawn_app().await;
    let user = new_user();
    let preflight = |origin: &'static str| {
        app.request(Method::OPTIONS, &TestApp::tasks_path(&user))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization,content-type")
            .send()
    };
    let allowed = preflight("http://localhost:3000").await.expect("request");
    assert!(allowed.status().is_success());
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    let methods = allowed.headers()["access-control-allow-methods"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(methods.contains("POST") && methods.contains("PATCH"), "{methods}");

    let foreign = preflight("https://evil.example").await.expect("request");
    assert!(!foreign.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn every_response_has_a_request_id_and_a_well_formed_client_one_is_kept() {
    let app = spawn_app().await;
    let generated = app
        .request(Method::GET, "/healthz")
        .send()
        .await
        .expect("request");
    let id = generated.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");

    let kept = app
        .request(Method::GET, "/healthz")
        .header("x-request-id", "client-abc.123")
        .send()
        .await
        .expect("request");
    assert_eq!(kept.headers()["x-request-id"], "client-abc.123");

    let replaced = app
        .request(Method::GET, "/healthz")
        .header("x-request-id", "bad id\"with quotes")
        .send()
        .await
        .expect("request");
    assert_ne!(replaced.headers()["x-request-id"], "bad id\"with quotes");
}

#[tokio::test]
async fn health_and_readiness_are_public() {
    let app = spawn_app().await;
    let health = app
        .request(Method::GET, "/healthz")
        .send()
        .await
        .expect("request");
    assert_eq!(health.status(), 200);
    let ready = app.request(Method::GET, "/readyz").send().await.expect("request");
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "ready");
}
