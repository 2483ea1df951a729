//! Helpers for the GraphQL tests: requests as a user, seeded rows, and a second app over a test's
//! database that counts SQL statements.

use std::net::SocketAddr;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use reqwest::Method;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use todo_api::app::{App, StatementCounter};
use todo_api::testing::{Priority, Repeat, TaskTags, provision_user, task};
use uuid::Uuid;

use crate::helpers::{TestApp, server_config, token_for};

/// `POST /graphql` as `user`: the status and the JSON body.
pub async fn graphql(app: &TestApp, user: &str, query: &str, variables: Value) -> (u16, Value) {
    post_json(app, user, &json!({"query": query, "variables": variables})).await
}

/// `POST /graphql` as `user` with any JSON body (a batch, say).
pub async fn post_json(app: &TestApp, user: &str, body: &Value) -> (u16, Value) {
    let response = app
        .as_user(user, Method::POST, "/graphql")
        .json(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, body)
}

/// The `data` of a query that must succeed: 200 and no `errors`.
pub async fn data(app: &TestApp, user: &str, query: &str, variables: Value) -> Value {
    let (status, body) = graphql(app, user, query, variables).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    body["data"].clone()
}

/// The `extensions.code` of every error in a response body.
pub fn codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("<none>").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The single error of a response that must have exactly one.
pub fn only_error(body: &Value) -> &Value {
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{body}");
    &errors[0]
}

/// Creates a task through GraphQL and returns it.
pub async fn create(app: &TestApp, user: &str, input: Value) -> Value {
    data(
        app,
        user,
        "mutation($input: CreateTaskInput!) { createTask(input: $input) { id title description completed createdAt updatedAt } }",
        json!({"input": input}),
    )
    .await["createTask"]
        .clone()
}

/// A row to seed straight into the database.
pub struct Seed {
    pub title: String,
    pub completed: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `n` rows whose sort keys tie often (titles in groups of 7, creation times in groups of 5,
/// update times in groups of 3, each in a different order), so that every ordering must break
/// ties by id to page correctly.
pub fn tied_seeds(n: usize) -> Vec<Seed> {
    let base = Utc::now().trunc_subsecs(6) - Duration::days(1);
    (0..n)
        .map(|i| {
            let i = i as i64;
            Seed {
                title: format!("task {:02}", (i * 13) % (n as i64 / 7 + 1)),
                completed: i % 3 == 0,
                created_at: base + Duration::microseconds((i / 5) * 1_000_001),
                updated_at: base + Duration::milliseconds(((n as i64 - i) / 3) * 7),
            }
        })
        .collect()
}

/// Inserts `seeds` for `user` in one statement (after provisioning the user row, as the API
/// would) and returns the rows as inserted.
pub async fn seed(app: &TestApp, user: &str, seeds: Vec<Seed>) -> Vec<task::Model> {
    provision_user(&app.db, user).await.expect("user row");
    let rows: Vec<task::Model> = seeds
        .into_iter()
        .map(|seed| task::Model {
            id: Uuid::now_v7(),
            user_id: user.to_owned(),
            title: seed.title,
            description: None,
            completed: seed.completed,
            priority: Priority::default().as_column(),
            due_at: None,
            repeat: Repeat::default().as_str().to_owned(),
            tags: TaskTags::default().to_column(),
            created_at: seed.created_at,
            updated_at: seed.updated_at,
            version: 1,
        })
        .collect();
    let active = rows.iter().map(|row| task::ActiveModel {
        id: Set(row.id),
        user_id: Set(row.user_id.clone()),
        title: Set(row.title.clone()),
        description: Set(row.description.clone()),
        completed: Set(row.completed),
        priority: Set(row.priority),
        due_at: Set(row.due_at),
        repeat: Set(row.repeat.clone()),
        tags: Set(row.tags.clone()),
        created_at: Set(row.created_at),
        updated_at: Set(row.updated_at),
        version: Set(row.version),
    });
    task::Entity::insert_many(active)
        .exec_without_returning(&app.db)
        .await
        .expect("seed rows");
    rows
}

/// A second app over `app`'s database, whose statement counter the test can read (the first
/// app's counter is not reachable through `TestApp`). Its requests go to the returned address.
pub async fn counting_app(app: &TestApp) -> (SocketAddr, StatementCounter) {
    let config = server_config(&app.database);
    let second = App::build(&config).await.expect("the app builds");
    let addr = second.local_addr().expect("bound");
    let statements = second.statements();
    tokio::spawn(second.run(std::future::pending()));
    (addr, statements)
}

/// `POST /graphql` as `user` to the app at `addr`.
pub async fn graphql_at(app: &TestApp, addr: SocketAddr, user: &str, query: &str) -> Value {
    let response = app
        .client
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(token_for(user))
        .json(&json!({"query": query}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert!(body.get("errors").is_none(), "{body}");
    body
}
