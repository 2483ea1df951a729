//! `GET /api/{user_id}/tasks`: filters, sorting, search, paging, aliases and `X-Total-Count`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, new_user, spawn_app};

fn titles(tasks: &[Value]) -> Vec<&str> {
    tasks
        .iter()
        .map(|t| t["title"].as_str().expect("title"))
        .collect()
}

fn total(headers: &reqwest::header::HeaderMap) -> u64 {
    headers["x-total-count"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("a number")
}

/// Creates `titles` in order, completing those whose index is odd.
async fn seed(app: &TestApp, user: &str, titles: &[&str]) -> Vec<Value> {
    let mut created = Vec::new();
    for (index, title) in titles.iter().enumerate() {
        created.push(
            app.create_task(user, json!({"title": title, "completed": index % 2 == 1}))
                .await,
        );
    }
    created
}

#[tokio::test]
async fn the_default_list_is_newest_first_with_the_total_count() {
    let app = spawn_app().await;
    let user = new_user();
    seed(&app, &user, &["one", "two", "three"]).await;
    let (headers, tasks) = app.list_tasks(&user, "").await;
    assert_eq!(titles(&tasks), ["three", "two", "one"]);
    assert_eq!(total(&headers), 3);
    assert_eq!(tasks[0]["user_id"], user.as_str());
}

#[tokio::test]
async fn status_and_its_completed_alias_filter_and_status_wins() {
    let app = spawn_app().await;
    let user = new_user();
    seed(&app, &user, &["p0", "c1", "p2", "c3"]).await;
    let cases = [
        ("status=all", vec!["c3", "p2", "c1", "p0"]),
        ("status=pending", vec!["p2", "p0"]),
        ("status=completed", vec!["c3", "c1"]),
        ("completed=true", vec!["c3", "c1"]),
        ("completed=false", vec!["p2", "p0"]),
        ("status=pending&completed=true", vec!["p2", "p0"]),
    ];
    for (query, expected) in cases {
        let (headers, tasks) = app.list_tasks(&user, query).await;
        assert_eq!(titles(&tasks), expected, "{query}");
        assert_eq!(total(&headers), expected.len() as u64, "{query}");
    }
}

#[tokio::test]
async fn sorting_by_each_field_in_each_direction_and_the_old_names() {
    let app = spawn_app().await;
    let user = new_user();
    let created = seed(&app, &user, &["banana", "Apple", "cherry"]).await;
    // Touch "banana" last so that updated order differs from created order.
    let banana = format!(
        "{}/{}",
        TestApp::tasks_path(&user),
        created[0]["id"].as_str().expect("id")
    );
    let response = app
        .as_user(&user, Method::PUT, &banana)
        .json(&json!({"description": "ripe"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);

    let cases = [
        ("sort=created&order=asc", vec!["banana", "Apple", "cherry"]),
        ("sort=created_at&order=desc", vec!["cherry", "Apple", "banana"]),
        ("sort=updated", vec!["banana", "cherry", "Apple"]),
        ("sort=updated_at&order=asc", vec!["Apple", "cherry", "banana"]),
        // Titles sort by code point on both backends: capitals first.
        ("sort=title&order=asc", vec!["Apple", "banana", "cherry"]),
        ("sort=title", vec!["cherry", "banana", "Apple"]),
    ];
    for (query, expected) in cases {
        let (_, tasks) = app.list_tasks(&user, query).await;
        assert_eq!(titles(&tasks), expected, "{query}");
    }
}

#[tokio::test]
async fn ties_are_broken_by_id_in_the_same_direction() {
    let app = spawn_app().await;
    let user = new_user();
    let created = seed(&app, &user, &["same", "same", "same"]).await;
    let mut ids: Vec<&str> = created.iter().map(|t| t["id"].as_str().expect("id")).collect();
    ids.sort_unstable();
    let (_, ascending) = app.list_tasks(&user, "sort=title&order=asc").await;
    let got: Vec<&str> = ascending.iter().map(|t| t["id"].as_str().expect("id")).collect();
    assert_eq!(got, ids);
    let (_, descending) = app.list_tasks(&user, "sort=title&order=desc").await;
    let got: Vec<&str> = descending.iter().map(|t| t["id"].as_str().expect("id")).collect();
    ids.reverse();
    assert_eq!(got, ids);
}

#[tokio::test]
async fn search_is_case_insensitive_over_title_and_description_with_literal_wildcards() {
    let app = spawn_app().await;
    let user = new_user();
    app.create_task(&user, json!({"title": "Buy MILK"})).await;
    app.create_task(
        &user,
        json!({"title": "Call mum", "description": "about the milk"}),
    )
    .await;
    app.create_task(&user, json!({"title": "100% done"})).await;
    app.create_task(&user, json!({"title": "snake_case"})).await;
    app.create_task(&user, json!({"title": "snakeXcase"})).await;
    app.create_task(&user, json!({"title": "back\\slash"})).await;
    app.create_task(&user, json!({"title": "Ünïcode ÉCOLE"})).await;

    let cases = [
        ("search=milk", vec!["Call mum", "Buy MILK"]),
        ("search=MiLk", vec!["Call mum", "Buy MILK"]),
        ("search=100%25", vec!["100% done"]),
        ("search=%25", vec!["100% done"]),
        ("search=_", vec!["snake_case"]),
        ("search=e_c", vec!["snake_case"]),
        ("search=%5C", vec!["back\\slash"]),
        ("search=%C3%A9cole", vec![]),
        ("search=%C3%89COLE", vec!["Ünïcode ÉCOLE"]),
        ("search=%C3%89cole", vec!["Ünïcode ÉCOLE"]),
        ("search=nothing-like-this", vec![]),
        (
            "search=",
            vec![
                "Ünïcode ÉCOLE",
                "back\\slash",
                "snakeXcase",
                "snake_case",
                "100% done",
                "Call mum",
                "Buy MILK",
            ],
        ),
    ];
    for (query, expected) in cases {
        let (headers, tasks) = app.list_tasks(&user, query).await;
        assert_eq!(titles(&tasks), expected, "{query}");
        assert_eq!(total(&headers), expected.len() as u64, "{query}");
    }
}

#[tokio::test]
async fn limit_offset_and_the_skip_alias_page_through_the_list() {
    let app = spawn_app().await;
    let user = new_user();
    let names: Vec<String> = (0..7).map(|i| format!("task {i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    seed(&app, &user, &refs).await;
    let cases = [
        ("limit=3&order=asc", vec!["task 0", "task 1", "task 2"]),
        ("limit=3&offset=3&order=asc", vec!["task 3", "task 4", "task 5"]),
        ("limit=3&skip=6&order=asc", vec!["task 6"]),
        (
            "limit=3&offset=1&skip=6&order=asc",
            vec!["task 1", "task 2", "task 3"],
        ),
        ("offset=100", vec![]),
    ];
    for (query, expected) in cases {
        let (headers, tasks) = app.list_tasks(&user, query).await;
        assert_eq!(titles(&tasks), expected, "{query}");
        assert_eq!(
            total(&headers),
            7,
            "X-Total-Count counts matches before paging: {query}"
        );
    }
}

#[tokio::test]
async fn the_default_limit_is_100_and_1000_is_the_most() {
    let app = spawn_app().await;
    let user = new_user();
    for index in 0..105 {
        app.create_task(&user, json!({"title": format!("t{index}")}))
            .await;
    }
    let (headers, tasks) = app.list_tasks(&user, "").await;
    assert_eq!(tasks.len(), 100);
    assert_eq!(total(&headers), 105);
    let (_, tasks) = app.list_tasks(&user, "limit=1000").await;
    assert_eq!(tasks.len(), 105);
}

#[tokio::test]
async fn unknown_query_values_are_422_and_unknown_parameters_are_ignored() {
    let app = spawn_app().await;
    let user = new_user();
    let cases = [
        ("status=done", "status", "enum"),
        ("status=ALL", "status", "enum"),
        ("completed=maybe", "completed", "enum"),
        ("sort=urgency", "sort", "enum"),
        ("priority=urgent", "priority", "enum"),
        ("overdue=yes", "overdue", "enum"),
        ("due_before=tomorrow", "due_before", "datetime_parsing"),
        ("order=up", "order", "enum"),
        ("limit=0", "limit", "greater_than_equal"),
        ("limit=1001", "limit", "less_than_equal"),
        ("limit=ten", "limit", "int_parsing"),
        ("limit=-1", "limit", "greater_than_equal"),
        ("offset=-1", "offset", "greater_than_equal"),
        ("skip=x", "skip", "int_parsing"),
        ("search=a%00b", "search", "value_error"),
    ];
    for (query, field, kind) in cases {
        let response = app
            .as_user(
                &user,
                Method::GET,
                &format!("{}?{query}", TestApp::tasks_path(&user)),
            )
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 422, "{query}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["detail"][0]["loc"], json!(["query", field]), "{query}");
        assert_eq!(body["detail"][0]["type"], kind, "{query}");
        assert!(body["message"].is_string());
    }
    let (_, tasks) = app.list_tasks(&user, "colour=red&page=2").await;
    assert!(tasks.is_empty());
}
