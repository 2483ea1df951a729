//! Concurrent clients: no lost or duplicated rows, every answer a documented status.

use std::collections::HashSet;

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, new_user, spawn_app};

#[tokio::test]
async fn concurrent_creates_toggles_updates_and_deletes_lose_nothing() {
    let app = spawn_app().await;
    let users = [new_user(), new_user()];

    // 2 users × 50 concurrent creates.
    let creates = users.iter().flat_map(|user| {
        let app = &app;
        (0..50).map(move |index| async move {
            let response = app
                .as_user(user, Method::POST, &TestApp::tasks_path(user))
                .json(&json!({"title": format!("task {index}")}))
                .send()
                .await
                .expect("request");
            assert_eq!(response.status(), 201);
            (user.clone(), response.json::<Value>().await.expect("json"))
        })
    });
    let created = join_all(creates).await;
    for user in &users {
        let rows = app.rows_of(user).await;
        assert_eq!(rows.len(), 50, "every acknowledged create is stored once");
        let titles: HashSet<&str> = rows.iter().map(|r| r["title"].as_str().expect("title")).collect();
        assert_eq!(titles.len(), 50, "no duplicates");
    }

    // Each task toggled twice concurrently (back to pending) and, separately, renamed.
    let path_of = |user: &str, task: &Value| {
        format!(
            "{}/{}",
            TestApp::tasks_path(user),
            task["id"].as_str().expect("id")
        )
    };
    let toggles = created.iter().flat_map(|(user, task)| {
        let path = format!("{}/complete", path_of(user, task));
        let app = &app;
        (0..2).map(move |_| {
            let path = path.clone();
            async move {
                app.as_user(user, Method::PATCH, &path)
                    .send()
                    .await
                    .expect("request")
                    .status()
            }
        })
    });
    let renames = created.iter().map(|(user, task)| {
        let path = path_of(user, task);
        let app = &app;
        async move {
            app.as_user(user, Method::PUT, &path)
                .json(&json!({"description": "renamed"}))
                .send()
                .await
                .expect("request")
                .status()
        }
    });
    let (toggled, renamed) = futures::join!(join_all(toggles), join_all(renames));
    assert!(toggled.iter().chain(renamed.iter()).all(|s| *s == 200), "all 200");
    for user in &users {
        for row in app.rows_of(user).await {
            assert_eq!(row["completed"], false, "two toggles cancel out: none lost");
            assert_eq!(row["description"], "renamed");
        }
    }

    // Delete every even task while reading, each delete twice: one 200 and one 404 each.
    let deletes = created
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .flat_map(|(_, (user, task))| {
            let path = path_of(user, task);
            let app = &app;
            (0..2).map(move |_| {
                let path = path.clone();
                async move {
                    app.as_user(user, Method::DELETE, &path)
                        .send()
                        .await
                        .expect("request")
                        .status()
                }
            })
        });
    let statuses = join_all(deletes).await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 50);
    assert_eq!(statuses.iter().filter(|s| **s == 404).count(), 50);
    for user in &users {
        assert_eq!(app.rows_of(user).await.len(), 25);
        let (headers, tasks) = app.list_tasks(user, "limit=1000").await;
        assert_eq!(tasks.len(), 25);
        assert_eq!(headers["x-total-count"], "25");
    }
}
