//! Security events: their fields in the JSON log, and that no token ever reaches a log line.

use reqwest::Method;

use crate::helpers::{SECRET, TestApp, new_user, request_id, spawn_app, token_for};

#[tokio::test]
async fn an_auth_failure_is_one_json_line_with_the_contract_fields() {
    let app = spawn_app().await;
    let user = new_user();
    let response = app
        .request(
            Method::GET,
            &format!("{}?secret=query-value", TestApp::tasks_path(&user)),
        )
        .header("authorization", "Bearer definitely.not.valid")
        .header("x-request-id", "audit-1234")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    let events = app.security_events(&request_id(&response));
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event["event"], "auth_failed");
    assert_eq!(event["reason"], "malformed");
    assert_eq!(event["request_id"], "audit-1234");
    assert_eq!(event["client_ip"], "127.0.0.1");
    assert_eq!(event["method"], "GET");
    assert_eq!(event["path"], TestApp::tasks_path(&user).as_str());
    assert_eq!(event["status"], 401);
    assert!(event.get("user_id").is_none(), "no verified user");
    let line = event.to_string();
    assert!(!line.contains("query-value"), "never the query string");
    assert!(!line.contains("definitely"), "never the token");
}

#[tokio::test]
async fn no_token_or_secret_ever_appears_in_any_log_line() {
    let app = spawn_app().await;
    let (alice, bob) = (new_user(), new_user());
    let token = token_for(&alice);
    let signature = token.rsplit('.').next().expect("signature").to_owned();
    // Success, 403, 404 and a tampered token (signature kept) all log something.
    app.as_user(&alice, Method::GET, &TestApp::tasks_path(&alice))
        .send()
        .await
        .expect("request");
    app.as_user(&alice, Method::GET, &TestApp::tasks_path(&bob))
        .send()
        .await
        .expect("request");
    let tampered = format!("{}x", token);
    let response = app
        .request(Method::GET, &TestApp::tasks_path(&alice))
        .header("authorization", format!("Bearer {tampered}"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    let lines = app.logs.lines();
    assert!(!lines.is_empty());
    for line in &lines {
        assert!(!line.contains(&token), "token in log: {line}");
        assert!(!line.contains(&signature), "signature in log: {line}");
        assert!(!line.contains(SECRET), "secret in log: {line}");
    }
}

#[tokio::test]
async fn line_breaks_and_quotes_in_a_request_cannot_forge_a_log_line() {
    let app = spawn_app().await;
    let user = new_user();
    let forged_tail = r#"{"event":"auth_failed","reason":"forged"}"#;
    let injected = format!("/api/x%22%0D%0A{}/tasks", percent_encode(forged_tail));
    let refused = app.request(Method::GET, &injected).send().await.expect("request");
    assert_eq!(refused.status(), 401);
    let denied = app
        .as_user(&user, Method::GET, &injected)
        .send()
        .await
        .expect("request");
    assert_eq!(denied.status(), 403);
    for response in [&refused, &denied] {
        assert_eq!(app.security_events(&request_id(response)).len(), 1);
    }
    for line in app.logs.lines() {
        let parsed: serde_json::Value =
            serde_json::from_str(&line).expect("every log line is one JSON object");
        assert_ne!(parsed["reason"], "forged", "no forged event: {line}");
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}
