//! What an operator sees: metrics, request ids in the logs, request timeouts.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, new_user, spawn_app, spawn_app_with, token_for};

/// The value of the sample of `name` whose labels include all of `labels`, if any (labels in
/// any order).
fn sample(body: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    body.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            (metric == name).then_some((rest, value))
        })
        .find(|(rest, _)| {
            labels
                .iter()
                .all(|(key, value)| rest.contains(&format!("{key}=\"{value}\"")))
        })
        .and_then(|(_, value)| value.parse().ok())
}

async fn scrape(app: &TestApp) -> String {
    let response = app
        .request(Method::GET, "/metrics")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.expect("text")
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_status_never_by_raw_path() {
    let app = spawn_app().await;
    let user = new_user();
    let tasks = TestApp::tasks_path(&user);
    let created = app.create_task(&user, json!({"title": "measured"})).await;
    let one = format!("{tasks}/{}", created["id"].as_str().expect("id"));
    app.list_tasks(&user, "").await;
    let get_one = app
        .as_user(&user, Method::GET, &one)
        .send()
        .await
        .expect("request");
    assert_eq!(get_one.status(), 200);
    let anonymous = app.request(Method::GET, &tasks).send().await.expect("request");
    assert_eq!(anonymous.status(), 401);
    let unknown = app
        .request(Method::GET, &format!("/nowhere/{user}"))
        .send()
        .await
        .expect("request");
    assert_eq!(unknown.status(), 404);
    let wrong_method = app.request(Method::DELETE, &tasks).send().await.expect("request");
    assert_eq!(wrong_method.status(), 405);

    let body = scrape(&app).await;
    assert!(!body.contains(&user), "a raw path leaked into the labels");
    let requests = |method, route, status| {
        sample(
            &body,
            "http_requests_total",
            &[("method", method), ("route", route), ("status", status)],
        )
        .unwrap_or(0.0)
    };
    assert!(requests("POST", "/api/{user_id}/tasks", "201") >= 1.0, "{body}");
    assert!(requests("GET", "/api/{user_id}/tasks", "200") >= 1.0, "{body}");
    assert!(
        requests("GET", "/api/{user_id}/tasks/{task_id}", "200") >= 1.0,
        "{body}"
    );
    assert!(requests("GET", "/api/{user_id}/tasks", "401") >= 1.0, "{body}");
    assert!(requests("GET", "unmatched", "404") >= 1.0, "{body}");
    assert!(requests("DELETE", "/api/{user_id}/tasks", "405") >= 1.0, "{body}");

    let bucket = sample(
        &body,
        "http_request_duration_seconds_bucket",
        &[
            ("route", "/api/{user_id}/tasks"),
            ("method", "POST"),
            ("le", "+Inf"),
        ],
    );
    assert!(
        bucket.is_some_and(|count| count >= 1.0),
        "a latency histogram: {body}"
    );
    assert!(
        sample(
            &body,
            "http_request_duration_seconds_count",
            &[("route", "/api/{user_id}/tasks")]
        )
        .is_some()
    );
    for state in ["in_use", "idle"] {
        let connections = sample(&body, "db_pool_connections", &[("state", state)]);
        assert!(connections.is_some_and(|n| n >= 0.0), "pool {state}: {body}");
    }
    let failures = sample(&body, "auth_failures_total", &[("reason", "missing_token")]);
    assert!(
        failures.is_some_and(|n| n >= 1.0),
        "auth failures by reason: {body}"
    );
    assert!(
        body.contains("# TYPE http_request_duration_seconds histogram"),
        "{body}"
    );
}

#[tokio::test]
async fn metrics_are_public() {
    let app = spawn_app().await;
    let response = app
        .request(Method::GET, "/metrics")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn every_log_line_of_a_request_carries_its_request_id() {
    let app = spawn_app().await;
    let user = new_user();
    let request_id = format!("trace-{}", uuid::Uuid::new_v4().simple());
    let response = app
        .request(Method::GET, &TestApp::tasks_path(&user))
        .header("x-request-id", &request_id)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);

    let of_request = |line: &Value| {
        line["spans"]
            .as_array()
            .is_some_and(|spans| spans.iter().any(|span| span["request_id"] == request_id.as_str()))
    };
    let lines: Vec<Value> = app
        .logs
        .lines()
        .iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    // The security event (with its own top-level request_id) and the response line.
    let security = lines
        .iter()
        .find(|line| line["target"] == "security" && line["request_id"] == request_id.as_str())
        .expect("the security event");
    assert!(
        of_request(security),
        "the request's span is on the event: {security}"
    );
    let finished = lines
        .iter()
        .find(|line| of_request(line) && line["message"] == "finished processing request")
        .expect("a response line with the request id");
    assert_eq!(finished["status"], 401, "{finished}");
    assert!(finished.get("latency").is_some(), "{finished}");
}

#[tokio::test]
async fn a_request_over_the_time_limit_is_answered_504_with_a_json_body() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = spawn_app_with(|config| config.request_timeout = Duration::from_secs(1)).await;
    let user = new_user();
    // A request whose body never finishes keeps its handler waiting past the limit.
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\nX-Request-Id: slow-body-1\r\n\r\n{{\"title\": ",
        TestApp::tasks_path(&user),
        app.addr,
        token_for(&user)
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    // Generous bound that only guards against a hang; the limit under test is 1 s.
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .expect("answered, not hung")
        .expect("read");
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 504"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("x-request-id: slow-body-1"),
        "{head}"
    );
    let body: Value = serde_json::from_str(body).expect("a JSON body");
    assert!(
        body["detail"].as_str().is_some_and(|d| d.contains("timed out")),
        "{body}"
    );
    assert!(body["message"].is_string(), "{body}");
    assert!(app.rows_of(&user).await.is_empty(), "nothing written");
}
