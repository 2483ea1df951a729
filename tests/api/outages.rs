//! Database outages: the server starts without its database, answers 503 quickly (never hangs)
//! while it is gone, recovers by itself, and never loses an acknowledged write.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, fresh_database, http_client, new_user, require_postgres, spawn_app_in, start_app, test_config,
    token_for,
};
use crate::proxy::{Proxy, upstream_of};

/// The documented bound for a 503 while the database is down (docs/api.md#limits-and-timeouts).
const UNAVAILABLE_WITHIN: Duration = Duration::from_secs(5);

/// Sends a request and checks it is the documented 503: within 5 s, `Retry-After`, the REST
/// error body.
async fn assert_unavailable(request: reqwest::RequestBuilder) {
    let started = Instant::now();
    let response = request.send().await.expect("request");
    let elapsed = started.elapsed();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(elapsed < UNAVAILABLE_WITHIN, "503 took {elapsed:?}");
    let retry_after = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse::<u64>()
        .expect("Retry-After in seconds");
    assert!(retry_after >= 1);
    let body: Value = response.json().await.expect("json");
    assert!(body["detail"].is_string(), "{body}");
    assert!(body["message"].is_string(), "{body}");
}

#[tokio::test]
async fn the_server_starts_without_its_database_and_answers_503_not_a_hang() {
    // Nothing listens on port 1: on either backend this is a PostgreSQL that is down.
    let config = test_config("postgres://postgres@127.0.0.1:1/todo");
    let addr = start_app(&config).await;
    let client = http_client();
    let url = |path: &str| format!("http://{addr}{path}");
    let user = new_user();
    let tasks = url(&TestApp::tasks_path(&user));

    let health = client.get(url("/healthz")).send().await.expect("request");
    assert_eq!(health.status(), 200);
    let ready = client.get(url("/readyz")).send().await.expect("request");
    assert_eq!(ready.status(), 503);

    assert_unavailable(client.get(&tasks).bearer_auth(token_for(&user))).await;
    assert_unavailable(
        client
            .post(&tasks)
            .bearer_auth(token_for(&user))
            .json(&json!({"title": "kept for later"})),
    )
    .await;

    // Authentication comes first: no valid token is still a 401, database or not.
    let anonymous = client.get(&tasks).send().await.expect("request");
    assert_eq!(anonymous.status(), 401);
    let forged = client
        .get(&tasks)
        .bearer_auth("not.a.token")
        .send()
        .await
        .expect("request");
    assert_eq!(forged.status(), 401);
}

/// Polls `/readyz` until it answers 200 (the app recovered by itself) or a minute passes.
async fn wait_until_ready(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = app.request(Method::GET, "/readyz").send().await.expect("request");
        if ready.status() == 200 {
            return;
        }
        assert!(Instant::now() < deadline, "never became ready again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with TEST_DATABASE_URL (scripts/test.sh does); SQLite has no connection to cut"]
async fn the_server_migrates_and_serves_once_a_database_that_was_down_at_start_returns() {
    require_postgres();
    let database = fresh_database().await;
    let proxy = Proxy::start(upstream_of(&database.url)).await;
    proxy.cut();
    let proxied = proxy.url_for(&database.url);
    let app = spawn_app_in(database, |config| config.database_url = proxied).await;
    let user = new_user();

    let health = app
        .request(Method::GET, "/healthz")
        .send()
        .await
        .expect("request");
    assert_eq!(health.status(), 200);
    let ready = app.request(Method::GET, "/readyz").send().await.expect("request");
    assert_eq!(ready.status(), 503);
    assert_unavailable(app.as_user(&user, Method::GET, &TestApp::tasks_path(&user))).await;
    let anonymous = app
        .request(Method::GET, &TestApp::tasks_path(&user))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), 401);

    proxy.restore();
    wait_until_ready(&app).await;
    let created = app.create_task(&user, json!({"title": "after the outage"})).await;
    assert_eq!(created["title"], "after the outage");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with TEST_DATABASE_URL (scripts/test.sh does); SQLite has no connection to cut"]
async fn acknowledged_writes_survive_the_connection_dropping_and_service_resumes_without_restart() {
    require_postgres();
    let database = fresh_database().await;
    let proxy = Proxy::start(upstream_of(&database.url)).await;
    let proxied = proxy.url_for(&database.url);
    let app = spawn_app_in(database, |config| config.database_url = proxied).await;
    let user = new_user();
    let path = TestApp::tasks_path(&user);

    // A write acknowledged, then the database connection drops right after it.
    let created = app.create_task(&user, json!({"title": "acknowledged"})).await;
    proxy.cut();
    let one = format!("{path}/{}", created["id"].as_str().expect("id"));
    assert_unavailable(app.as_user(&user, Method::GET, &one)).await;
    assert_unavailable(
        app.as_user(&user, Method::POST, &path)
            .json(&json!({"title": "refused"})),
    )
    .await;
    let ready = app.request(Method::GET, "/readyz").send().await.expect("request");
    assert_eq!(ready.status(), 503);

    proxy.restore();
    wait_until_ready(&app).await;
    let read_back: Value = app
        .as_user(&user, Method::GET, &one)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(read_back, created);

    // Writes under load while the connection is cut and restored: each answer is a 201 or a
    // 503 (never a 500), and every 201 is in the database afterwards.
    let writers = (0..8).map(|writer| {
        let (app, user, path) = (&app, &user, &path);
        async move {
            let mut acknowledged = Vec::new();
            for index in 0..25 {
                let response = app
                    .as_user(user, Method::POST, path)
                    .json(&json!({"title": format!("w{writer} #{index}")}))
                    .send()
                    .await
                    .expect("request");
                match response.status() {
                    StatusCode::CREATED => {
                        let body: Value = response.json().await.expect("json");
                        acknowledged.push(body["id"].as_str().expect("id").to_owned());
                    }
                    StatusCode::SERVICE_UNAVAILABLE => {}
                    other => panic!("unexpected {other}: {:?}", response.text().await),
                }
            }
            acknowledged
        }
    });
    let chaos = async {
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            proxy.cut();
            tokio::time::sleep(Duration::from_millis(50)).await;
            proxy.restore();
        }
    };
    let (acknowledged, ()) = futures::join!(join_all(writers), chaos);
    let acknowledged: Vec<String> = acknowledged.into_iter().flatten().collect();
    assert!(!acknowledged.is_empty());
    let stored: HashSet<String> = app
        .rows_of(&user)
        .await
        .iter()
        .map(|row| row["id"].as_str().expect("id").to_owned())
        .collect();
    for id in &acknowledged {
        assert!(stored.contains(id), "acknowledged task {id} was lost");
    }

    // Service resumed by itself: a plain request succeeds.
    wait_until_ready(&app).await;
    app.create_task(&user, json!({"title": "business as usual"}))
        .await;
}
