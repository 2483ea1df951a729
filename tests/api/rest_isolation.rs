//! Tenant isolation: another user's path is 403 (a `user_id` that is not UTF-8 too), another
//! user's task under your own path is a 404 indistinguishable from a task that never existed, and
//! lists never mix tenants.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, new_user, request_id, spawn_app};

#[tokio::test]
async fn every_route_on_another_users_path_is_403_and_changes_nothing() {
    let app = spawn_app().await;
    let (alice, bob) = (new_user(), new_user());
    let bobs = app.create_task(&bob, json!({"title": "Bob's"})).await;
    let bob_task = format!(
        "{}/{}",
        TestApp::tasks_path(&bob),
        bobs["id"].as_str().expect("id")
    );
    let before = app.rows_of(&bob).await;
    let cases = [
        (Method::GET, TestApp::tasks_path(&bob), None),
        (
            Method::POST,
            TestApp::tasks_path(&bob),
            Some(json!({"title": "planted"})),
        ),
        (Method::GET, bob_task.clone(), None),
        (Method::PUT, bob_task.clone(), Some(json!({"title": "hijacked"}))),
        (Method::DELETE, bob_task.clone(), None),
        (Method::PATCH, format!("{bob_task}/complete"), None),
    ];
    for (method, path, body) in cases {
        let mut request = app.as_user(&alice, method.clone(), &path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), 403, "{method} {path}");
        let id = request_id(&response);
        let answer: Value = response.json().await.expect("json");
        assert_eq!(
            answer["detail"],
            "Access denied: cannot access another user's tasks"
        );
        let events = app.security_events(&id);
        assert_eq!(events.len(), 1, "{method} {path}");
        assert_eq!(events[0]["event"], "access_denied");
        assert_eq!(events[0]["reason"], "user_mismatch");
        assert_eq!(events[0]["user_id"], alice.as_str());
        assert_eq!(events[0]["path_user_id"], bob.as_str());
        assert_eq!(events[0]["status"], 403);
    }
    assert_eq!(app.rows_of(&bob).await, before);
    assert!(app.rows_of(&alice).await.is_empty());
}

#[tokio::test]
async fn a_foreign_path_is_403_even_with_an_invalid_body() {
    let app = spawn_app().await;
    let (alice, bob) = (new_user(), new_user());
    let response = app
        .as_user(&alice, Method::POST, &TestApp::tasks_path(&bob))
        .json(&json!({"title": ""}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 403, "403 comes before 422");
}

#[tokio::test]
async fn user_ids_in_paths_are_case_sensitive() {
    let app = spawn_app().await;
    let user = format!("User-{}", uuid::Uuid::new_v4().simple());
    let response = app
        .as_user(&user, Method::GET, &TestApp::tasks_path(&user.to_lowercase()))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 403);
}

/// A `{user_id}` that is not UTF-8 once percent-decoded (`/api/%FF/tasks`) names someone other
/// than the caller: a 403 on every route (checked before the body: 403 comes before 422) with an
/// `access_denied` event, not a 404 "Task not found" that `list_tasks` and `create_task` do not
/// document.
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

#[tokio::test]
async fn another_users_task_under_your_own_path_looks_exactly_like_a_missing_task() {
    let app = spawn_app().await;
    let (alice, bob) = (new_user(), new_user());
    let bobs = app
        .create_task(&bob, json!({"title": "Bob's", "description": "private"}))
        .await;
    let before = app.rows_of(&bob).await;
    let foreign = format!(
        "{}/{}",
        TestApp::tasks_path(&alice),
        bobs["id"].as_str().expect("id")
    );
    let missing = format!("{}/{}", TestApp::tasks_path(&alice), uuid::Uuid::now_v7());
    for (method, suffix, body) in [
        (Method::GET, "", None),
        (
            Method::PUT,
            "",
            Some(json!({"title": "hijacked", "completed": true})),
        ),
        (Method::DELETE, "", None),
        (Method::PATCH, "/complete", None),
    ] {
        let mut answers = Vec::new();
        for path in [&foreign, &missing] {
            let mut request = app.as_user(&alice, method.clone(), &format!("{path}{suffix}"));
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.expect("request");
            let status = response.status();
            let id = request_id(&response);
            let answer: Value = response.json().await.expect("json");
            assert!(
                app.security_events(&id).is_empty(),
                "a foreign task id emits nothing"
            );
            answers.push((status, answer));
        }
        assert_eq!(answers[0].0, 404, "{method}");
        assert_eq!(
            answers[0], answers[1],
            "{method}: foreign and missing answer the same"
        );
    }
    assert_eq!(app.rows_of(&bob).await, before, "Bob's task is untouched");
}

#[tokio::test]
async fn lists_never_mix_tenants() {
    let app = spawn_app().await;
    let (alice, bob) = (new_user(), new_user());
    for index in 0..3 {
        app.create_task(
            &alice,
            json!({"title": format!("alice {index}"), "description": "shared word"}),
        )
        .await;
        app.create_task(
            &bob,
            json!({"title": format!("bob {index}"), "description": "shared word"}),
        )
        .await;
    }
    for (user, prefix) in [(&alice, "alice"), (&bob, "bob")] {
        for query in [
            "",
            "search=shared",
            "status=pending",
            "sort=title&order=asc",
            "limit=1000",
        ] {
            let (headers, tasks) = app.list_tasks(user, query).await;
            assert_eq!(tasks.len(), 3, "{prefix} {query}");
            assert_eq!(headers["x-total-count"], "3");
            for task in &tasks {
                assert_eq!(task["user_id"], user.as_str());
                assert!(task["title"].as_str().expect("title").starts_with(prefix));
            }
        }
    }
}

/// A user id is the token's `sub`: any text. On PostgreSQL it names the owner of each
/// transaction for row-level security (`service::tenant`), so ids with quotes, backslashes,
/// SQL and non-ASCII text must work there as on SQLite, and stay apart from look-alikes.
#[tokio::test]
async fn user_ids_with_quotes_backslashes_and_non_ascii_text_are_owners_like_any_other() {
    let app = spawn_app().await;
    let suffix = new_user();
    let odd = [
        format!("o'brien\\'; SET app.user_id = 'x' -- {suffix}"),
        format!("o'brien\\\\'; SET app.user_id = 'x' -- {suffix}"),
        format!("ünïcødé 🙂 \"{suffix}\""),
    ];
    for user in &odd {
        let path = format!(
            "/api/{}/tasks",
            percent_encoding::utf8_percent_encode(user, percent_encoding::NON_ALPHANUMERIC)
        );
        let created = app
            .as_user(user, Method::POST, &path)
            .json(&json!({"title": format!("task of {user}")}))
            .send()
            .await
            .expect("request");
        assert_eq!(created.status(), 201, "{user}");
        let listed = app
            .as_user(user, Method::GET, &path)
            .send()
            .await
            .expect("request");
        assert_eq!(listed.status(), 200, "{user}");
        let tasks: Vec<Value> = listed.json().await.expect("json");
        let titles: Vec<&str> = tasks.iter().filter_map(|t| t["title"].as_str()).collect();
        assert_eq!(
            titles,
            [format!("task of {user}")],
            "{user} sees exactly its own task"
        );
    }
}
