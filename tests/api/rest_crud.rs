//! The six REST routes: status codes, headers and body shapes (docs/api.md#routes).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, new_user, spawn_app};

fn assert_task_shape(task: &Value) {
    let object = task.as_object().expect("a task is an object");
    for key in [
        "id",
        "user_id",
        "title",
        "description",
        "completed",
        "created_at",
        "updated_at",
    ] {
        assert!(object.contains_key(key), "task lacks {key}: {task}");
    }
    let id = task["id"].as_str().expect("string id");
    assert_eq!(uuid::Uuid::parse_str(id).expect("uuid").get_version_num(), 7);
    for stamp in ["created_at", "updated_at"] {
        let text = task[stamp].as_str().expect("timestamp string");
        assert!(text.ends_with('Z'), "UTC with Z: {text}");
        chrono::DateTime::parse_from_rfc3339(text).expect("RFC 3339");
    }
}

#[tokio::test]
async fn create_returns_201_with_the_task_and_its_location() {
    let app = spawn_app().await;
    let user = new_user();
    let response = app
        .as_user(&user, Method::POST, &TestApp::tasks_path(&user))
        .json(&json!({"title": "  Buy milk  ", "description": "2 litres"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().expect("ascii").to_owned();
    let task: Value = response.json().await.expect("json");
    assert_task_shape(&task);
    assert_eq!(task["title"], "Buy milk", "the title is trimmed");
    assert_eq!(task["description"], "2 litres");
    assert_eq!(task["completed"], false);
    assert_eq!(task["user_id"], user.as_str());
    assert_eq!(task["created_at"], task["updated_at"]);
    assert_eq!(
        location,
        format!("/api/{user}/tasks/{}", task["id"].as_str().expect("id"))
    );

    let fetched: Value = app
        .as_user(&user, Method::GET, &location)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(fetched, task, "the Location names the created task");
}

#[tokio::test]
async fn create_accepts_completed_and_a_null_description() {
    let app = spawn_app().await;
    let user = new_user();
    let task = app
        .create_task(
            &user,
            json!({"title": "Done already", "description": null, "completed": true}),
        )
        .await;
    assert_eq!(task["completed"], true);
    assert_eq!(task["description"], Value::Null);
}

#[tokio::test]
async fn client_sent_ids_owner_and_timestamps_are_ignored() {
    let app = spawn_app().await;
    let user = new_user();
    let task = app
        .create_task(
            &user,
            json!({
                "title": "Mine", "id": "00000000-0000-7000-8000-000000000000", "user_id": "someone-else",
                "created_at": "2001-01-01T00:00:00Z", "updated_at": "2001-01-01T00:00:00Z", "colour": "red"
            }),
        )
        .await;
    assert_ne!(task["id"], "00000000-0000-7000-8000-000000000000");
    assert_eq!(task["user_id"], user.as_str());
    assert!(!task["created_at"].as_str().expect("ts").starts_with("2001"));
    assert!(task.get("colour").is_none());
    assert_eq!(app.rows_of("someone-else").await.len(), 0);
}

#[tokio::test]
async fn get_returns_the_task_and_404_for_missing_or_malformed_ids() {
    let app = spawn_app().await;
    let user = new_user();
    let task = app.create_task(&user, json!({"title": "Read me"})).await;
    let path = format!(
        "{}/{}",
        TestApp::tasks_path(&user),
        task["id"].as_str().expect("id")
    );
    let response = app
        .as_user(&user, Method::GET, &path)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.expect("json"), task);

    for missing in [
        uuid::Uuid::now_v7().to_string(),
        "not-a-uuid".to_owned(),
        "1".to_owned(),
    ] {
        let response = app
            .as_user(
                &user,
                Method::GET,
                &format!("{}/{missing}", TestApp::tasks_path(&user)),
            )
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 404, "{missing}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(
            body,
            json!({"detail": "Task not found", "message": "Task not found"})
        );
    }
}

#[tokio::test]
async fn put_changes_only_the_given_fields_and_bumps_updated_at() {
    let app = spawn_app().await;
    let user = new_user();
    let task = app
        .create_task(&user, json!({"title": "Original", "description": "keep me"}))
        .await;
    let path = format!(
        "{}/{}",
        TestApp::tasks_path(&user),
        task["id"].as_str().expect("id")
    );

    let response = app
        .as_user(&user, Method::PUT, &path)
        .json(&json!({"completed": true}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.expect("json");
    assert_eq!(updated["completed"], true);
    assert_eq!(updated["title"], "Original");
    assert_eq!(updated["description"], "keep me");
    assert_eq!(updated["created_at"], task["created_at"]);
    assert!(
        updated["updated_at"].as_str() > task["updated_at"].as_str(),
        "updated_at moves forward"
    );

    let renamed: Value = app
        .as_user(&user, Method::PUT, &path)
        .json(&json!({"title": " Renamed "}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(renamed["title"], "Renamed");
    assert_eq!(renamed["completed"], true);
}

#[tokio::test]
async fn put_with_null_description_clears_it() {
    let app = spawn_app().await;
    let user = new_user();
    let task = app
        .create_task(&user, json!({"title": "T", "description": "gone soon"}))
        .await;
    let path = format!(
        "{}/{}",
        TestApp::tasks_path(&user),
        task["id"].as_str().expect("id")
    );
    let updated: Value = app
        .as_user(&user, Method::PUT, &path)
        .json(&json!({"description": null}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(updated["description"], Value::Null);
    assert_eq!(app.rows_of(&user).await[0]["description"], Value::Null);
}

#[tokio::test]
async fn an_empty_put_changes_nothing_not_even_updated_at() {
    let app = spawn_app().await;
    let user = new_user();
    let task = app.create_task(&user, json!({"title": "Still"})).await;
    let before = app.rows_of(&user).await;
    let path = format!(
        "{}/{}",
        TestApp::tasks_path(&user),
        task["id"].as_str().expect("id")
    );
    let response = app
        .as_user(&user, Method::PUT, &path)
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.expect("json"), task);
    assert_eq!(app.rows_of(&user).await, before);
}

#[tokio::test]
async fn delete_answers_with_a_message_and_the_id_then_the_task_is_gone() {
    let app = spawn_app().await;
    let user = new_user();
    let task = app.create_task(&user, json!({"title": "Bye"})).await;
    let id = task["id"].as_str().expect("id");
    let path = format!("{}/{id}", TestApp::tasks_path(&user));
    let response = app
        .as_user(&user, Method::DELETE, &path)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.expect("json"),
        json!({"message": "Task deleted successfully", "id": id})
    );
    let again = app
        .as_user(&user, Method::DELETE, &path)
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), 404);
    let get = app
        .as_user(&user, Method::GET, &path)
        .send()
        .await
        .expect("request");
    assert_eq!(get.status(), 404);
    assert!(app.rows_of(&user).await.is_empty());
}

#[tokio::test]
async fn patch_complete_flips_the_flag_both_ways_and_ignores_any_body() {
    let app = spawn_app().await;
    let user = new_user();
    let task = app.create_task(&user, json!({"title": "Flip"})).await;
    let path = format!(
        "{}/{}/complete",
        TestApp::tasks_path(&user),
        task["id"].as_str().expect("id")
    );

    let first = app
        .as_user(&user, Method::PATCH, &path)
        .header("content-type", "text/plain")
        .body("{\"completed\": false, ignored")
        .send()
        .await
        .expect("request");
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.expect("json");
    assert_eq!(first["completed"], true);
    assert_eq!(first["message"], "Task completion status updated");
    assert_eq!(first["id"], task["id"]);
    assert_eq!(first["title"], "Flip");
    assert!(first["updated_at"].as_str() > task["updated_at"].as_str());

    let second: Value = app
        .as_user(&user, Method::PATCH, &path)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(second["completed"], false);
}

#[tokio::test]
async fn every_route_answers_404_for_a_task_that_does_not_exist() {
    let app = spawn_app().await;
    let user = new_user();
    let missing = format!("{}/{}", TestApp::tasks_path(&user), uuid::Uuid::now_v7());
    let cases = [
        (Method::GET, missing.clone(), None),
        (Method::PUT, missing.clone(), Some(json!({"title": "x"}))),
        (Method::DELETE, missing.clone(), None),
        (Method::PATCH, format!("{missing}/complete"), None),
    ];
    for (method, path, body) in cases {
        let mut request = app.as_user(&user, method.clone(), &path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), 404, "{method} {path}");
    }
}
