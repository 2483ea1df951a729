//! A small GraphQL client: creates tasks, pages through them with cursors, toggles one and
//! deletes them again.
//!
//! ```sh
//! cargo run                                  # a dev-mode server in one terminal
//! cargo run --example graphql_client         # in another, from the same directory
//! cargo run --example graphql_client -- http://127.0.0.1:8000
//! ```
//!
//! The token is `TODO_API_TOKEN` if set; otherwise one is minted for `TODO_API_USER` (default
//! `demo-user`) with `BETTER_AUTH_SECRET`, or with the dev-mode secret the server keeps in
//! `.todo-api-dev-secret`.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use todo_api::config::Secret;
use todo_api::token::{MintRequest, mint_hs256};

struct Client {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Client {
    /// Runs one operation and returns its `data`, failing on any error.
    async fn run(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if let Some(errors) = body.get("errors") {
            bail!("HTTP {status}: {errors}");
        }
        match body.get("data") {
            Some(data) if status.is_success() => Ok(data.clone()),
            _ => bail!("HTTP {status}: {body}"),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let base = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("TODO_API_URL").ok())
        .unwrap_or_else(|| "http://127.0.0.1:8000".to_owned());
    let client = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?,
        url: format!("{}/graphql", base.trim_end_matches('/')),
        token: token()?,
    };

    let me = client.run("{ me { id } }", json!({})).await?;
    println!("signed in as {}", me["me"]["id"]);

    let mut created = Vec::new();
    for title in [
        "Buy milk",
        "Write the report",
        "Call the plumber",
        "Book flights",
        "Water plants",
    ] {
        let data = client
            .run(
                "mutation($input: CreateTaskInput!) { createTask(input: $input) { id title } }",
                json!({"input": {"title": title, "description": "created by examples/graphql_client.rs"}}),
            )
            .await?;
        println!(
            "created {} {}",
            data["createTask"]["id"], data["createTask"]["title"]
        );
        created.push(data["createTask"]["id"].clone());
    }

    // Oldest first, two per page, following `endCursor` until `hasNextPage` is false.
    let mut after = Value::Null;
    for page in 1.. {
        let data = client
            .run(
                "query($after: String) {
                   tasks(first: 2, after: $after, orderBy: {field: CREATED_AT, direction: ASC}) {
                     totalCount
                     nodes { title completed }
                     pageInfo { hasNextPage endCursor }
                   }
                 }",
                json!({"after": after}),
            )
            .await?;
        let tasks = &data["tasks"];
        let titles: Vec<&str> = tasks["nodes"]
            .as_array()
            .context("nodes")?
            .iter()
            .filter_map(|n| n["title"].as_str())
            .collect();
        println!("page {page} of {} tasks: {titles:?}", tasks["totalCount"]);
        if tasks["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = tasks["pageInfo"]["endCursor"].clone();
    }

    let toggled = client
        .run(
            "mutation($id: ID!) { toggleTask(id: $id) { title completed } }",
            json!({"id": created[0]}),
        )
        .await?;
    println!("toggled: {}", toggled["toggleTask"]);

    // A weekly task due tomorrow morning: completing it brings the next one back by itself.
    let due = (chrono::Utc::now() + chrono::TimeDelta::days(1)).to_rfc3339();
    let weekly = client
        .run(
            "mutation($input: CreateTaskInput!) {
               createTask(input: $input) { id priority dueAt tags repeat }
             }",
            json!({"input": {
                "title": "Water the plants",
                "priority": "HIGH",
                "dueAt": due,
                "tags": ["home", "Garden", "HOME"],
                "repeat": "WEEKLY",
            }}),
        )
        .await?;
    println!("repeating task: {}", weekly["createTask"]);
    let weekly_id = weekly["createTask"]["id"].clone();
    created.push(weekly_id.clone());
    client
        .run(
            "mutation($id: ID!) { setTaskCompleted(id: $id, completed: true) { id } }",
            json!({"id": weekly_id}),
        )
        .await?;
    let next = client
        .run(
            "{ tasks(filter: {status: PENDING, tags: [\"home\", \"garden\"]}, orderBy: {field: DUE_AT, direction: ASC}) {
                 nodes { id title dueAt repeat }
               }
               me { tags { tag count } } }",
            json!({}),
        )
        .await?;
    println!("next occurrence: {}", next["tasks"]["nodes"]);
    println!("tags: {}", next["me"]["tags"]);
    if let Some(id) = next["tasks"]["nodes"][0].get("id") {
        created.push(id.clone());
    }

    let stats = client
        .run("{ taskStats { total completed pending overdue } }", json!({}))
        .await?;
    println!("stats: {}", stats["taskStats"]);

    for id in &created {
        let data = client
            .run("mutation($id: ID!) { deleteTask(id: $id) }", json!({"id": id}))
            .await?;
        println!("deleted {}", data["deleteTask"]);
    }
    Ok(())
}

/// `TODO_API_TOKEN`, or a token minted for `TODO_API_USER` with `BETTER_AUTH_SECRET` or the dev
/// secret file.
fn token() -> anyhow::Result<String> {
    if let Ok(token) = std::env::var("TODO_API_TOKEN") {
        return Ok(token);
    }
    let secret = match std::env::var("BETTER_AUTH_SECRET") {
        Ok(secret) => secret,
        Err(_) => std::fs::read_to_string(todo_api::cli::DEV_SECRET_FILE)
            .map(|s| s.trim().to_owned())
            .context(
                "set TODO_API_TOKEN, or BETTER_AUTH_SECRET, or run from the directory of a dev-mode server",
            )?,
    };
    let user = std::env::var("TODO_API_USER").unwrap_or_else(|_| "demo-user".to_owned());
    mint_hs256(
        &Secret::new(secret),
        &MintRequest {
            user_id: &user,
            email: None,
            name: None,
            ttl: Duration::from_secs(600),
            issuer: std::env::var("JWT_ISSUER").ok().as_deref(),
            audience: std::env::var("JWT_AUDIENCE").ok().as_deref(),
        },
    )
}
