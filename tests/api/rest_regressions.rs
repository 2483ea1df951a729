//! Regressions found while fuzzing the REST contract against its OpenAPI document
//! (`scripts/fuzz-rest.sh`), each pinned by a test named for the rule it broke.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, new_user, request_id, spawn_app};

/// `/api/%FF/tasks` (a `{user_id}` that is not UTF-8 once percent-decoded) was a 404 "Task not
/// found" for every route, an answer `list_tasks` and `create_task` do not document, with no
/// security event. It names someone other than the caller, so it is a 403 (checked before the
/// body: 403 comes before 422), and it emits `access_denied`.
#[tokio::test]
async fn a_path_user_id_that_is_not_utf8_is_a_403_with_an_access_denied_event() {
    let app = spawn_app().await;
    let user = new_user();
    let task = app.create_task(&user, json!({"title": "mine"})).await;
    let id = task["id"].as_str().expect("id");
    let cases = [
        (Method::GET, "/api/%FF/tasks".to_owned(), None),
        (
            Method::POST,
            "/api/%FF/tasks".to_owned(),
            Some(json!({"title": ""})),
        ),
        (Method::GET, format!("/api/{user}%FF/tasks/{id}"), None),
        (
            Method::PUT,
            format!("/api/%C0%AF/tasks/{id}"),
            Some(json!({"title": 42})),
        ),
        (Method::DELETE, format!("/api/%FF/tasks/{id}"), None),
        (Method::PATCH, format!("/api/%FF/tasks/{id}/complete"), None),
    ];
    for (method, path, body) in cases {
        let mut request = app.as_user(&user, method.clone(), &path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), 403, "{method} {path}");
        let events = app.security_events(&request_id(&response));
        let body: Value = response.json().await.expect("json");
        assert_eq!(
            body["detail"], "Access denied: cannot access another user's tasks",
            "{method} {path}"
        );
        assert_eq!(events.len(), 1, "{method} {path}: {events:?}");
        assert_eq!(events[0]["event"], "access_denied");
        assert_eq!(events[0]["reason"], "user_mismatch");
        assert_eq!(events[0]["user_id"], user.as_str());
    }
    let unchanged = app
        .as_user(
            &user,
            Method::GET,
            &format!("{}/{id}", TestApp::tasks_path(&user)),
        )
        .send()
        .await
        .expect("request")
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!(unchanged, task, "a refused request changed nothing");
}

/// The same bytes in `{task_id}` under the caller's own path stay a plain 404 (a malformed id),
/// with no security event.
#[tokio::test]
async fn a_task_id_that_is_not_utf8_is_a_plain_404() {
    let app = spawn_app().await;
    let user = new_user();
    let base = TestApp::tasks_path(&user);
    let cases = [
        (Method::GET, format!("{base}/%FF")),
        (Method::PUT, format!("{base}/%FF")),
        (Method::DELETE, format!("{base}/%C0%AF")),
        (Method::PATCH, format!("{base}/%FF/complete")),
    ];
    for (method, path) in cases {
        let mut request = app.as_user(&user, method.clone(), &path);
        if method == Method::PUT {
            request = request.json(&json!({"completed": true}));
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), 404, "{method} {path}");
        assert!(
            app.security_events(&request_id(&response)).is_empty(),
            "{method} {path}"
        );
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["detail"], "Task not found", "{method} {path}");
    }
}
