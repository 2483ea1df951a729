//! A small REST client for legacy integrations: creates tasks (one with a priority, a due date
//! and tags, retried safely with an `Idempotency-Key`), pages through them with `limit`/`offset`
//! and `X-Total-Count`, toggles one, renames one only if nobody changed it (`If-Match`), and
//! deletes them again.
//!
//! ```sh
//! cargo run                              # a dev-mode server in one terminal
//! cargo run --example rest_client        # in another, from the same directory
//! cargo run --example rest_client -- http://127.0.0.1:8000
//! ```
//!
//! The token is `TODO_API_TOKEN` if set (its user id is read from the token); otherwise one is
//! minted for `TODO_API_USER` (default `demo-user`) with `BETTER_AUTH_SECRET`, or with the
//! dev-mode secret the server keeps in `.todo-api-dev-secret`.

use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};
use todo_api::config::Secret;
use todo_api::token::{MintRequest, mint_hs256};

struct Client {
    http: reqwest::Client,
    tasks_url: String,
    token: String,
}

impl Client {
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.tasks_url))
            .bearer_auth(&self.token)
    }
}

/// The JSON body of a successful response; the server's `message` otherwise.
async fn ok(response: Response) -> anyhow::Result<Value> {
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() {
        bail!("HTTP {status}: {}", body["message"]);
    }
    Ok(body)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let base = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("TODO_API_URL").ok())
        .unwrap_or_else(|| "http://127.0.0.1:8000".to_owned());
    let (user, token) = credentials()?;
    let client = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?,
        tasks_url: format!("{}/api/{user}/tasks", base.trim_end_matches('/')),
        token,
    };
    println!("signed in as {user}");

    let mut created = Vec::new();
    for title in [
        "Buy milk",
        "Write the report",
        "Call the plumber",
        "Book flights",
        "Water plants",
    ] {
        let task = ok(client
            .request(Method::POST, "")
            .json(&json!({"title": title, "description": "created by examples/rest_client.rs"}))
            .send()
            .await?)
        .await?;
        println!("created {} {}", task["id"], task["title"]);
        created.push(task["id"].as_str().context("id")?.to_owned());
    }

    // Priority, a due date (any offset; it comes back in UTC) and tags (trimmed, sorted), sent
    // with an idempotency key: the second send stands for a retry after a timeout, and creates
    // nothing more.
    let key = format!("rest-client-{}", uuid::Uuid::now_v7());
    let passport = json!({
        "title": "Renew the passport",
        "priority": "high",
        "due_at": "2030-03-01T09:00:00+01:00",
        "tags": ["papers", " Travel "],
    });
    let mut detailed = Value::Null;
    for attempt in 1..=2 {
        let response = client
            .request(Method::POST, "")
            .header("Idempotency-Key", &key)
            .json(&passport)
            .send()
            .await?;
        let replayed = response.headers().contains_key("idempotent-replayed");
        detailed = ok(response).await?;
        println!(
            "attempt {attempt}: task {} (replayed: {replayed})",
            detailed["id"]
        );
    }
    println!(
        "created {} priority={} due_at={} tags={}",
        detailed["title"], detailed["priority"], detailed["due_at"], detailed["tags"]
    );
    created.push(detailed["id"].as_str().context("id")?.to_owned());

    // Oldest first, two per page.
    let mut offset = 0;
    loop {
        let response = client
            .request(Method::GET, "")
            .query(&[("sort", "created"), ("order", "asc"), ("limit", "2")])
            .query(&[("offset", offset)])
            .send()
            .await?;
        let total: u64 = response
            .headers()
            .get("x-total-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .context("X-Total-Count")?;
        let page = ok(response).await?;
        let titles: Vec<&str> = page
            .as_array()
            .context("a JSON array")?
            .iter()
            .filter_map(|t| t["title"].as_str())
            .collect();
        println!(
            "tasks {}..{} of {total}: {titles:?}",
            offset + 1,
            offset + titles.len() as u64
        );
        offset += titles.len() as u64;
        if titles.is_empty() || offset >= total {
            break;
        }
    }

    let toggled = ok(client
        .request(Method::PATCH, &format!("/{}/complete", created[0]))
        .send()
        .await?)
    .await?;
    println!("toggled: {} completed={}", toggled["title"], toggled["completed"]);
    // Rename only if the task is still the version read (`If-Match`); a stale copy gets a 412.
    let read = client
        .request(Method::GET, &format!("/{}", created[1]))
        .send()
        .await?;
    let version = read
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .context("ETag")?
        .to_owned();
    let renamed = ok(client
        .request(Method::PUT, &format!("/{}", created[1]))
        .header("If-Match", &version)
        .json(&json!({"title": "Write the final report"}))
        .send()
        .await?)
    .await?;
    println!("renamed: {} (version {})", renamed["title"], renamed["version"]);
    let stale = client
        .request(Method::PUT, &format!("/{}", created[1]))
        .header("If-Match", &version)
        .json(&json!({"title": "A stale copy"}))
        .send()
        .await?;
    println!("saving a stale copy: HTTP {}", stale.status());

    for id in &created {
        let deleted = ok(client.request(Method::DELETE, &format!("/{id}")).send().await?).await?;
        println!("{}: {}", deleted["message"], deleted["id"]);
    }
    Ok(())
}

/// The user id and token: `TODO_API_TOKEN` (user id from its claims), or a token minted for
/// `TODO_API_USER` with `BETTER_AUTH_SECRET` or the dev secret file.
fn credentials() -> anyhow::Result<(String, String)> {
    if let Ok(token) = std::env::var("TODO_API_TOKEN") {
        return Ok((user_of(&token)?, token));
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
    let token = mint_hs256(
        &Secret::new(secret),
        &MintRequest {
            user_id: &user,
            email: None,
            name: None,
            ttl: Duration::from_secs(600),
            issuer: std::env::var("JWT_ISSUER").ok().as_deref(),
            audience: std::env::var("JWT_AUDIENCE").ok().as_deref(),
        },
    )?;
    Ok((user, token))
}

/// The user id a token speaks for (`sub`, else `user_id`, else `id`), read without verifying
/// it: the server verifies; the client only needs it for the path.
fn user_of(token: &str) -> anyhow::Result<String> {
    let payload = token.split('.').nth(1).context("a JWT has three parts")?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?;
    ["sub", "user_id", "id"]
        .iter()
        .find_map(|claim| claims[claim].as_str().map(str::to_owned))
        .context("the token names no user (sub, user_id or id)")
}
