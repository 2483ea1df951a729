//! Every validation rule of docs/api.md#validation: a 422 in FastAPI's shape, and nothing changed.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, new_user, spawn_app};

/// POSTs `body` (raw) and returns the status and JSON answer, checking that no row appeared.
async fn refused_create(app: &TestApp, user: &str, content_type: Option<&str>, body: String) -> (u16, Value) {
    let before = app.rows_of(user).await;
    let mut request = app
        .as_user(user, Method::POST, &TestApp::tasks_path(user))
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON error body");
    assert_eq!(
        app.rows_of(user).await,
        before,
        "a refused request changed nothing"
    );
    (status, body)
}

fn first_issue(body: &Value) -> &Value {
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "a message: {body}"
    );
    &body["detail"][0]
}

#[tokio::test]
async fn titles_that_break_the_rules_are_refused_with_the_field_named() {
    let app = spawn_app().await;
    let user = new_user();
    let cases = [
        (json!(""), "string_too_short"),
        (json!("   \t\n "), "string_too_short"),
        (json!("a".repeat(201)), "string_too_long"),
        (json!("🦀".repeat(201)), "string_too_long"),
        (json!("nul\u{0}inside"), "value_error"),
        (json!("bell\u{7}"), "value_error"),
        (json!("escape\u{1b}[0m"), "value_error"),
        (json!("c1\u{85}control"), "value_error"),
        (json!(42), "string_type"),
        (json!(null), "string_type"),
        (json!(["list"]), "string_type"),
    ];
    for (title, kind) in cases {
        let (status, body) = refused_create(
            &app,
            &user,
            Some("application/json"),
            json!({"title": title}).to_string(),
        )
        .await;
        assert_eq!(status, 422, "{title}: {body}");
        let issue = first_issue(&body);
        assert_eq!(issue["loc"], json!(["body", "title"]), "{title}");
        assert_eq!(issue["type"], kind, "{title}");
        assert!(issue["msg"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[tokio::test]
async fn a_title_of_200_characters_is_accepted_whatever_their_byte_length() {
    let app = spawn_app().await;
    let user = new_user();
    for title in ["a".repeat(200), "🦀".repeat(200), "é".repeat(200)] {
        let task = app
            .create_task(&user, json!({"title": format!(" {title} ")}))
            .await;
        assert_eq!(task["title"], title.as_str(), "trimmed, stored exactly");
    }
    let emoji = app.create_task(&user, json!({"title": "👩‍👩‍👧 family"})).await;
    assert_eq!(emoji["title"], "👩‍👩‍👧 family");
}

#[tokio::test]
async fn descriptions_are_bounded_and_kept_exactly() {
    let app = spawn_app().await;
    let user = new_user();
    let (status, body) = refused_create(
        &app,
        &user,
        Some("application/json"),
        json!({"title": "t", "description": "d".repeat(1001)}).to_string(),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(first_issue(&body)["loc"], json!(["body", "description"]));
    assert_eq!(first_issue(&body)["type"], "string_too_long");

    let (status, body) = refused_create(
        &app,
        &user,
        None,
        json!({"title": "t", "description": "x\u{0}y"}).to_string(),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(first_issue(&body)["loc"], json!(["body", "description"]));

    let exact = "  spaced\r\n\ttabbed  ";
    let task = app
        .create_task(&user, json!({"title": "t", "description": exact}))
        .await;
    assert_eq!(task["description"], exact);
    let empty = app
        .create_task(&user, json!({"title": "t", "description": ""}))
        .await;
    assert_eq!(empty["description"], "");
    let longest = app
        .create_task(&user, json!({"title": "t", "description": "d".repeat(1000)}))
        .await;
    assert_eq!(longest["description"].as_str().map(str::len), Some(1000));
}

#[tokio::test]
async fn wrong_types_missing_titles_and_non_objects_are_422() {
    let app = spawn_app().await;
    let user = new_user();
    let cases = [
        (
            json!({"title": "t", "completed": "yes"}),
            json!(["body", "completed"]),
            "bool_type",
        ),
        (
            json!({"title": "t", "completed": null}),
            json!(["body", "completed"]),
            "bool_type",
        ),
        (
            json!({"title": "t", "description": 5}),
            json!(["body", "description"]),
            "string_type",
        ),
        (
            json!({"description": "no title"}),
            json!(["body", "title"]),
            "missing",
        ),
        (json!(["title"]), json!(["body"]), "model_attributes_type"),
        (json!("title"), json!(["body"]), "model_attributes_type"),
    ];
    for (body, loc, kind) in cases {
        let (status, answer) = refused_create(&app, &user, Some("application/json"), body.to_string()).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(first_issue(&answer)["loc"], loc, "{body}");
        assert_eq!(first_issue(&answer)["type"], kind, "{body}");
    }
}

#[tokio::test]
async fn malformed_json_an_empty_body_and_wrong_content_types_are_422() {
    let app = spawn_app().await;
    let user = new_user();
    let (status, body) = refused_create(&app, &user, Some("application/json"), "{\"title\": ".into()).await;
    assert_eq!(status, 422);
    assert_eq!(first_issue(&body)["type"], "json_invalid");
    assert_eq!(first_issue(&body)["loc"][0], "body");

    let (status, body) = refused_create(&app, &user, Some("application/json"), String::new()).await;
    assert_eq!(status, 422);
    assert_eq!(first_issue(&body)["type"], "missing");

    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let (status, body) =
            refused_create(&app, &user, Some(content_type), json!({"title": "t"}).to_string()).await;
        assert_eq!(status, 422, "{content_type}");
        assert_eq!(first_issue(&body)["loc"], json!(["body"]));
    }
}

#[tokio::test]
async fn a_body_without_content_type_is_read_as_json() {
    let app = spawn_app().await;
    let user = new_user();
    let response = app
        .as_user(&user, Method::POST, &TestApp::tasks_path(&user))
        .body(json!({"title": "no header"}).to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    let charset = app
        .as_user(&user, Method::POST, &TestApp::tasks_path(&user))
        .header("content-type", "application/json; charset=utf-8")
        .body(json!({"title": "with charset"}).to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(charset.status(), 201);
}

#[tokio::test]
async fn put_refuses_null_title_or_completed_and_bad_values_without_changing_the_task() {
    let app = spawn_app().await;
    let user = new_user();
    let task = app
        .create_task(&user, json!({"title": "Stable", "description": "d"}))
        .await;
    let path = format!(
        "{}/{}",
        TestApp::tasks_path(&user),
        task["id"].as_str().expect("id")
    );
    let before = app.rows_of(&user).await;
    let cases = [
        (json!({"title": null}), "title"),
        (json!({"completed": null}), "completed"),
        (json!({"title": ""}), "title"),
        (
            json!({"title": "ok", "description": "d".repeat(1001)}),
            "description",
        ),
        (json!({"completed": "true"}), "completed"),
        (json!({"title": "fine", "completed": 1}), "completed"),
    ];
    for (body, field) in cases {
        let response = app
            .as_user(&user, Method::PUT, &path)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 422, "{body}");
        let answer: Value = response.json().await.expect("json");
        assert_eq!(first_issue(&answer)["loc"], json!(["body", field]), "{body}");
        assert_eq!(app.rows_of(&user).await, before, "nothing half-written by {body}");
    }
}

#[tokio::test]
async fn validation_comes_before_not_found() {
    let app = spawn_app().await;
    let user = new_user();
    let path = format!("{}/{}", TestApp::tasks_path(&user), uuid::Uuid::now_v7());
    let response = app
        .as_user(&user, Method::PUT, &path)
        .json(&json!({"title": ""}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn bodies_over_64_kib_are_413_and_the_limit_itself_is_accepted() {
    let app = spawn_app().await;
    let user = new_user();
    let padding = |total: usize| {
        let shell = json!({"title": "big", "pad": ""}).to_string();
        json!({"title": "big", "pad": "p".repeat(total - shell.len())}).to_string()
    };
    let at_limit = padding(65_536);
    assert_eq!(at_limit.len(), 65_536);
    let response = app
        .as_user(&user, Method::POST, &TestApp::tasks_path(&user))
        .header("content-type", "application/json")
        .body(at_limit)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);

    let over = padding(65_537);
    let response = app
        .as_user(&user, Method::POST, &TestApp::tasks_path(&user))
        .header("content-type", "application/json")
        .body(over.clone())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.expect("json");
    assert!(body["detail"].is_string() && body["message"].is_string());

    // Oversize is refused before authentication.
    let anonymous = app
        .request(Method::POST, &TestApp::tasks_path(&user))
        .body(over)
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), 413);
    assert_eq!(app.rows_of(&user).await.len(), 1);
}
