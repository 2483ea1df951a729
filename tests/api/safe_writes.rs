//! Safe writes over HTTP, on both front ends: versions and `ETag`s, `If-Match` (412) and
//! `If-None-Match` (304), `expectedVersion` (`CONFLICT`), concurrent writers with one
//! precondition, and idempotent creates (replays, refusals, concurrency, a second server
//! process on the same database).

use std::time::Duration;

use futures::future::join_all;
use reqwest::{Method, Response, StatusCode};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, TransactionTrait};
use serde_json::{Value, json};
use todo_api::testing::{idempotency_key, purge_expired_keys};

use crate::graphql_helpers::{codes, data, graphql, only_error};
use crate::helpers::{TestApp, new_user, spawn_app};
use crate::shutdown::Server;

fn task_path(user: &str, task: &Value) -> String {
    format!(
        "{}/{}",
        TestApp::tasks_path(user),
        task["id"].as_str().expect("id")
    )
}

fn etag(response: &Response) -> Option<String> {
    response
        .headers()
        .get("etag")
        .map(|value| value.to_str().expect("ascii").to_owned())
}

/// Sends `method` to one task with `If-Match: if_match` (when given) and an optional body.
async fn conditional(
    app: &TestApp,
    user: &str,
    method: Method,
    path: &str,
    if_match: Option<&str>,
    body: Option<Value>,
) -> Response {
    let mut request = app.as_user(user, method, path);
    if let Some(if_match) = if_match {
        request = request.header("If-Match", if_match);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

/// `PUT` of one task without a precondition.
async fn update(app: &TestApp, user: &str, path: &str, body: Value) -> Response {
    conditional(app, user, Method::PUT, path, None, Some(body)).await
}

#[tokio::test]
async fn versions_start_at_one_and_move_by_one_per_change_with_an_etag_on_every_task_answer() {
    let app = spawn_app().await;
    let user = new_user();
    let created = app
        .as_user(&user, Method::POST, &TestApp::tasks_path(&user))
        .json(&json!({"title": "counted"}))
        .send()
        .await
        .expect("request");
    assert_eq!(created.status(), 201);
    assert_eq!(etag(&created).as_deref(), Some("\"1\""));
    let task: Value = created.json().await.expect("json");
    assert_eq!(task["version"], 1);
    let path = task_path(&user, &task);

    let steps: [(Method, &str, Option<Value>, i64); 5] = [
        (Method::PUT, "", Some(json!({"title": "renamed"})), 2),
        // `{}` changes nothing: no new version.
        (Method::PUT, "", Some(json!({})), 2),
        (Method::PATCH, "/complete", None, 3),
        (
            Method::PUT,
            "",
            Some(json!({"completed": false, "priority": "high"})),
            4,
        ),
        (Method::GET, "", None, 4),
    ];
    for (method, suffix, body, version) in steps {
        let response = conditional(
            &app,
            &user,
            method.clone(),
            &format!("{path}{suffix}"),
            None,
            body,
        )
        .await;
        assert_eq!(response.status(), 200, "{method} {suffix}");
        assert_eq!(
            etag(&response),
            Some(format!("\"{version}\"")),
            "{method} {suffix}"
        );
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["version"], version, "{method} {suffix}");
    }
    let (_, listed) = app.list_tasks(&user, "").await;
    assert_eq!(listed[0]["version"], 4);
}

#[tokio::test]
async fn completing_a_repeating_task_by_put_is_one_change_and_its_next_occurrence_starts_at_one() {
    let app = spawn_app().await;
    let user = new_user();
    let task = app
        .create_task(
            &user,
            json!({"title": "weekly", "repeat": "weekly", "due_at": "2026-01-05T09:00:00Z"}),
        )
        .await;
    let response = conditional(
        &app,
        &user,
        Method::PUT,
        &task_path(&user, &task),
        Some("\"1\""),
        Some(json!({"title": "weekly, done", "completed": true})),
    )
    .await;
    assert_eq!(response.status(), 200);
    let done: Value = response.json().await.expect("json");
    assert_eq!(
        (done["version"].clone(), done["completed"].clone()),
        (json!(2), json!(true))
    );
    let (_, tasks) = app.list_tasks(&user, "completed=false").await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["version"], 1);
}

#[tokio::test]
async fn if_match_guards_put_delete_and_complete_and_a_refusal_changes_nothing() {
    let app = spawn_app().await;
    let user = new_user();
    let task = app.create_task(&user, json!({"title": "guarded"})).await;
    let path = task_path(&user, &task);
    let moved = update(&app, &user, &path, json!({"title": "v2"})).await;
    assert_eq!(moved.status(), 200);
    let before = app.rows_of(&user).await;

    // Stale, weak, unquoted, foreign or empty: 412 with the current ETag, nothing changed.
    for if_match in ["\"1\"", "W/\"2\"", "2", "\"abc\"", "\"1\", \"3\""] {
        for (method, suffix, body) in [
            (Method::PUT, "", Some(json!({"title": "lost update"}))),
            (Method::PATCH, "/complete", None),
            (Method::DELETE, "", None),
        ] {
            let response = conditional(
                &app,
                &user,
                method.clone(),
                &format!("{path}{suffix}"),
                Some(if_match),
                body,
            )
            .await;
            assert_eq!(response.status(), 412, "{method} If-Match: {if_match}");
            assert_eq!(etag(&response).as_deref(), Some("\"2\""));
            let body: Value = response.json().await.expect("json");
            assert_eq!(
                body,
                json!({
                    "detail": "Precondition failed: the task has changed",
                    "message": "Precondition failed: the task has changed"
                })
            );
        }
    }
    assert_eq!(
        app.rows_of(&user).await,
        before,
        "a refused write changed nothing"
    );

    // The current version, one of a list, or `*`: the change is made.
    let response = conditional(
        &app,
        &user,
        Method::PUT,
        &path,
        Some("\"7\", \"2\""),
        Some(json!({"title": "v3"})),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(etag(&response).as_deref(), Some("\"3\""));
    let response = conditional(
        &app,
        &user,
        Method::PATCH,
        &format!("{path}/complete"),
        Some("*"),
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(etag(&response).as_deref(), Some("\"4\""));
    let response = conditional(&app, &user, Method::DELETE, &path, Some("\"4\""), None).await;
    assert_eq!(response.status(), 200);
    assert!(app.rows_of(&user).await.is_empty());
}

#[tokio::test]
async fn checks_run_in_order_401_403_422_404_then_412() {
    let app = spawn_app().await;
    let user = new_user();
    let task = app.create_task(&user, json!({"title": "ordered"})).await;
    let path = task_path(&user, &task);
    let stale = Some("\"9\"");

    let anonymous = app
        .request(Method::PUT, &path)
        .header("If-Match", "\"9\"")
        .json(&json!({"title": 5}))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), 401);
    let stranger = conditional(
        &app,
        &new_user(),
        Method::PUT,
        &path,
        stale,
        Some(json!({"title": 5})),
    )
    .await;
    assert_eq!(stranger.status(), 403);
    let invalid = conditional(&app, &user, Method::PUT, &path, stale, Some(json!({"title": 5}))).await;
    assert_eq!(invalid.status(), 422);
    let missing = format!(
        "{}/0190f0c4-0000-7000-8000-000000000000",
        TestApp::tasks_path(&user)
    );
    for method in [Method::PUT, Method::DELETE] {
        let response = conditional(&app, &user, method, &missing, stale, Some(json!({"title": "x"}))).await;
        assert_eq!(response.status(), 404);
    }
    let response = conditional(
        &app,
        &user,
        Method::PATCH,
        &format!("{missing}/complete"),
        Some("*"),
        None,
    )
    .await;
    assert_eq!(response.status(), 404, "`*` matches an existing task only");
    let conflict = conditional(
        &app,
        &user,
        Method::PUT,
        &path,
        stale,
        Some(json!({"title": "x"})),
    )
    .await;
    assert_eq!(conflict.status(), 412);
}

#[tokio::test]
async fn if_none_match_on_a_read_answers_304_with_the_etag_and_no_body() {
    let app = spawn_app().await;
    let user = new_user();
    let task = app.create_task(&user, json!({"title": "cached"})).await;
    let path = task_path(&user, &task);
    let read = |value: &'static str| {
        app.as_user(&user, Method::GET, &path)
            .header("If-None-Match", value)
            .send()
    };
    for held in ["\"1\"", "W/\"1\"", "\"5\", \"1\"", "*"] {
        let response = read(held).await.expect("request");
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{held}");
        assert_eq!(etag(&response).as_deref(), Some("\"1\""));
        assert!(response.bytes().await.expect("body").is_empty());
    }
    let changed = update(&app, &user, &path, json!({"title": "fresh"})).await;
    assert_eq!(changed.status(), 200);
    let response = read("\"1\"").await.expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(etag(&response).as_deref(), Some("\"2\""));
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["title"], "fresh");
}

/// Many writers holding the same version: the check and the write are one statement, so exactly
/// one wins and every other one is told the task changed.
#[tokio::test]
async fn of_concurrent_writers_with_the_same_if_match_exactly_one_wins() {
    let app = spawn_app().await;
    let user = new_user();
    let task = app.create_task(&user, json!({"title": "contended"})).await;
    let path = task_path(&user, &task);
    let writers = (0..10).map(|i| {
        let (app, user, path) = (&app, &user, &path);
        async move {
            let (method, suffix, body) = match i % 3 {
                0 => (Method::PUT, "", Some(json!({"title": format!("writer {i}")}))),
                1 => (Method::PATCH, "/complete", None),
                _ => (Method::PUT, "", Some(json!({"priority": "high"}))),
            };
            conditional(app, user, method, &format!("{path}{suffix}"), Some("\"1\""), body)
                .await
                .status()
        }
    });
    let mut statuses: Vec<u16> = join_all(writers).await.iter().map(StatusCode::as_u16).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412, 412, 412, 412, 412, 412, 412, 412, 412]);
    let rows = app.rows_of(&user).await;
    assert_eq!(rows[0]["version"], 2);
}

#[tokio::test]
async fn cors_lets_browsers_send_preconditions_and_keys_and_read_etags() {
    let app = crate::helpers::spawn_app_with(|config| {
        config.cors_origins = vec!["https://app.example".into()];
    })
    .await;
    let user = new_user();
    let preflight = app
        .request(Method::OPTIONS, &TestApp::tasks_path(&user))
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "PUT")
        .header(
            "Access-Control-Request-Headers",
            "if-match,idempotency-key,if-none-match",
        )
        .send()
        .await
        .expect("request");
    let allowed = preflight
        .headers()
        .get("access-control-allow-headers")
        .map(|v| v.to_str().expect("ascii").to_ascii_lowercase())
        .unwrap_or_default();
    for header in ["if-match", "if-none-match", "idempotency-key"] {
        assert!(allowed.contains(header), "{header} in {allowed}");
    }
    let response = app
        .as_user(&user, Method::POST, &TestApp::tasks_path(&user))
        .header("Origin", "https://app.example")
        .json(&json!({"title": "from a browser"}))
        .send()
        .await
        .expect("request");
    let exposed = response
        .headers()
        .get("access-control-expose-headers")
        .map(|v| v.to_str().expect("ascii").to_ascii_lowercase())
        .unwrap_or_default();
    for header in ["etag", "idempotent-replayed", "location"] {
        assert!(exposed.contains(header), "{header} in {exposed}");
    }
}

// ---- GraphQL ------------------------------------------------------------------------------

const TASK: &str = "id title completed version";

#[tokio::test]
async fn graphql_mutations_take_an_expected_version_and_a_mismatch_is_a_conflict_that_changes_nothing() {
    let app = spawn_app().await;
    let user = new_user();
    let created = data(
        &app,
        &user,
        &format!("mutation {{ createTask(input: {{title: \"versioned\"}}) {{ {TASK} }} }}"),
        json!({}),
    )
    .await["createTask"]
        .clone();
    assert_eq!(created["version"], 1);
    let id = created["id"].clone();
    let updated = data(
        &app,
        &user,
        &format!("mutation($id: ID!) {{ updateTask(id: $id, input: {{title: \"v2\"}}, expectedVersion: 1) {{ {TASK} }} }}"),
        json!({"id": id}),
    )
    .await["updateTask"]
        .clone();
    assert_eq!(updated["version"], 2);

    let before = app.rows_of(&user).await;
    for mutation in [
        "updateTask(id: $id, input: {title: \"lost\"}, expectedVersion: 1) { id }",
        "toggleTask(id: $id, expectedVersion: 1) { id }",
        "setTaskCompleted(id: $id, completed: true, expectedVersion: 1) { id }",
        // Already in the state asked for, but not at the version expected: still a conflict.
        "setTaskCompleted(id: $id, completed: false, expectedVersion: 1) { id }",
        "deleteTask(id: $id, expectedVersion: 1)",
    ] {
        let (status, body) = graphql(
            &app,
            &user,
            &format!("mutation($id: ID!) {{ {mutation} }}"),
            json!({"id": id}),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(codes(&body), ["CONFLICT"], "{mutation}: {body}");
        let error = only_error(&body);
        assert_eq!(error["extensions"]["currentVersion"], 2, "{body}");
        assert_eq!(error["message"], "Precondition failed: the task has changed");
    }
    assert_eq!(app.rows_of(&user).await, before);

    let toggled = data(
        &app,
        &user,
        &format!("mutation($id: ID!) {{ toggleTask(id: $id, expectedVersion: 2) {{ {TASK} }} }}"),
        json!({"id": id}),
    )
    .await["toggleTask"]
        .clone();
    assert_eq!(
        (toggled["version"].clone(), toggled["completed"].clone()),
        (json!(3), json!(true))
    );
    // Idempotent at the right version: nothing moves.
    let same = data(
        &app,
        &user,
        &format!("mutation($id: ID!) {{ setTaskCompleted(id: $id, completed: true, expectedVersion: 3) {{ {TASK} }} }}"),
        json!({"id": id}),
    )
    .await["setTaskCompleted"]
        .clone();
    assert_eq!(same["version"], 3);
    let (_, missing) = graphql(
        &app,
        &user,
        "mutation { deleteTask(id: \"0190f0c4-0000-7000-8000-000000000000\", expectedVersion: 1) }",
        json!({}),
    )
    .await;
    assert_eq!(codes(&missing), ["NOT_FOUND"]);
    let deleted = data(
        &app,
        &user,
        "mutation($id: ID!) { deleteTask(id: $id, expectedVersion: 3) }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(deleted["deleteTask"], id);
}

// ---- idempotent creates -------------------------------------------------------------------

async fn keyed_create(
    app: &TestApp,
    addr: Option<std::net::SocketAddr>,
    user: &str,
    key: &str,
    body: Value,
) -> Response {
    let url = match addr {
        Some(addr) => format!("http://{addr}{}", TestApp::tasks_path(user)),
        None => app.url(&TestApp::tasks_path(user)),
    };
    app.client
        .post(url)
        .bearer_auth(crate::helpers::token_for(user))
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn a_keyed_create_is_made_once_and_every_retry_gets_the_first_answer() {
    let app = spawn_app().await;
    let user = new_user();
    let body = json!({"title": "  pay rent ", "tags": ["home"], "priority": "high"});
    let first = keyed_create(&app, None, &user, "rent-2026-12", body.clone()).await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let location = first.headers().get("location").cloned();
    let created: Value = first.json().await.expect("json");

    // The same create, spelled differently (the title is trimmed either way): a replay.
    let retry = keyed_create(
        &app,
        None,
        &user,
        "rent-2026-12",
        json!({"priority": "high", "tags": ["home"], "title": "pay rent"}),
    )
    .await;
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.headers().get("location").cloned(), location);
    assert_eq!(etag(&retry).as_deref(), Some("\"1\""));
    assert_eq!(retry.json::<Value>().await.expect("json"), created);
    assert_eq!(app.rows_of(&user).await.len(), 1);

    // Changed, then deleted: a retry still gets the first answer and creates nothing.
    let path = task_path(&user, &created);
    let changed = update(&app, &user, &path, json!({"title": "paid"})).await;
    assert_eq!(changed.status(), 200);
    let retry = keyed_create(&app, None, &user, "rent-2026-12", body.clone()).await;
    assert_eq!(retry.json::<Value>().await.expect("json"), created);
    let deleted = conditional(&app, &user, Method::DELETE, &path, None, None).await;
    assert_eq!(deleted.status(), 200);
    let retry = keyed_create(&app, None, &user, "rent-2026-12", body.clone()).await;
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.json::<Value>().await.expect("json"), created);
    assert!(app.rows_of(&user).await.is_empty());

    // The same key over GraphQL names the same create.
    let replayed = data(
        &app,
        &user,
        "mutation { createTask(input: {title: \"pay rent\", tags: [\"home\"], priority: HIGH}, idempotencyKey: \"rent-2026-12\") { id version } }",
        json!({}),
    )
    .await;
    assert_eq!(replayed["createTask"]["id"], created["id"]);
    assert!(app.rows_of(&user).await.is_empty());

    // Keys are per user: another user's same key creates their own task.
    let other = new_user();
    let theirs = keyed_create(&app, None, &other, "rent-2026-12", body).await;
    assert_eq!(theirs.status(), 201);
    assert!(theirs.headers().get("idempotent-replayed").is_none());
    assert_eq!(app.rows_of(&other).await.len(), 1);
}

#[tokio::test]
async fn a_key_reused_for_another_create_or_malformed_is_refused_and_nothing_is_created() {
    let app = spawn_app().await;
    let user = new_user();
    let first = keyed_create(&app, None, &user, "k-1", json!({"title": "first"})).await;
    assert_eq!(first.status(), 201);
    let other = keyed_create(&app, None, &user, "k-1", json!({"title": "second"})).await;
    assert_eq!(other.status(), 422);
    let body: Value = other.json().await.expect("json");
    assert_eq!(body["detail"][0]["loc"], json!(["header", "idempotency-key"]));
    assert_eq!(body["detail"][0]["type"], "value_error");
    for key in [
        String::new(),
        "k".repeat(256),
        "naïve".to_owned(),
        "tab\tkey".to_owned(),
    ] {
        let response = app
            .as_user(&user, Method::POST, &TestApp::tasks_path(&user))
            .header(
                "Idempotency-Key",
                reqwest::header::HeaderValue::from_bytes(key.as_bytes()).expect("header"),
            )
            .json(&json!({"title": "never"}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 422, "{key:?}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(
            body["detail"][0]["loc"],
            json!(["header", "idempotency-key"]),
            "{key:?}"
        );
    }
    let twice = app
        .as_user(&user, Method::POST, &TestApp::tasks_path(&user))
        .header("Idempotency-Key", "a")
        .header("Idempotency-Key", "b")
        .json(&json!({"title": "never"}))
        .send()
        .await
        .expect("request");
    assert_eq!(twice.status(), 422);

    let (_, body) = graphql(
        &app,
        &user,
        "mutation { createTask(input: {title: \"second\"}, idempotencyKey: \"k-1\") { id } }",
        json!({}),
    )
    .await;
    assert_eq!(codes(&body), ["BAD_USER_INPUT"], "{body}");
    assert_eq!(only_error(&body)["extensions"]["field"], "idempotencyKey");
    let (_, body) = graphql(
        &app,
        &user,
        "mutation { createTask(input: {title: \"x\"}, idempotencyKey: \"\") { id } }",
        json!({}),
    )
    .await;
    assert_eq!(codes(&body), ["BAD_USER_INPUT"], "{body}");
    assert_eq!(app.rows_of(&user).await.len(), 1);
}

#[tokio::test]
async fn ten_concurrent_requests_with_one_key_create_exactly_one_task() {
    let app = spawn_app().await;
    let user = new_user();
    let body = json!({"title": "tapped ten times"});
    let requests = (0..10).map(|_| keyed_create(&app, None, &user, "double-tap", body.clone()));
    let responses = join_all(requests).await;
    let mut ids = Vec::new();
    let mut created = 0;
    for response in responses {
        match response.status().as_u16() {
            201 => {
                created += usize::from(response.headers().get("idempotent-replayed").is_none());
                let task: Value = response.json().await.expect("json");
                ids.push(task["id"].clone());
            }
            409 => assert!(response.headers().contains_key("retry-after")),
            other => panic!("unexpected {other}: {:?}", response.text().await),
        }
    }
    assert_eq!(
        created, 1,
        "one request created; the others replayed or were told to retry"
    );
    ids.dedup();
    assert_eq!(ids.len(), 1);
    assert_eq!(app.rows_of(&user).await.len(), 1);
}

/// Holds the database's write lock on tasks (SQLite: the one writer; PostgreSQL: a lock that
/// blocks inserts into `tasks`) so that a create stays in flight until the returned
/// transaction ends.
async fn hold_task_inserts(app: &TestApp) -> sea_orm::DatabaseTransaction {
    let txn = app.db.begin().await.expect("begin");
    let sql = match app.db.get_database_backend() {
        DbBackend::Postgres => "LOCK TABLE tasks IN SHARE ROW EXCLUSIVE MODE",
        // Any write takes SQLite's write lock until the transaction ends.
        _ => "UPDATE tasks SET title = title WHERE 0",
    };
    txn.execute_unprepared(sql).await.expect("lock");
    txn
}

#[tokio::test]
async fn a_repeat_while_the_first_create_is_still_running_is_409_here_and_on_another_server() {
    let app = spawn_app().await;
    let user = new_user();
    // The user row exists before the lock, so the first request blocks on the task only.
    app.create_task(&user, json!({"title": "warm-up"})).await;
    let second_server = Server::start_over(Some(&app.database.url), &[]).await;
    let lock = hold_task_inserts(&app).await;
    let body = json!({"title": "slow"});
    let first = tokio::spawn({
        let (client, url, token) = (
            app.client.clone(),
            app.url(&TestApp::tasks_path(&user)),
            crate::helpers::token_for(&user),
        );
        let body = body.clone();
        async move {
            client
                .post(url)
                .bearer_auth(token)
                .header("Idempotency-Key", "slow-one")
                .json(&body)
                .send()
                .await
                .expect("request")
                .status()
        }
    });
    // Wait until the first request holds the key (then it waits on the lock).
    let mut seen_here = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let response = keyed_create(&app, None, &user, "slow-one", body.clone()).await;
        if response.status() == 409 {
            seen_here = Some(response);
            break;
        }
    }
    let here = seen_here.expect("the repeat on the same server is refused while the first runs");
    assert!(here.headers().contains_key("retry-after"));
    let body_here: Value = here.json().await.expect("json");
    assert_eq!(
        body_here["detail"],
        "A request with this idempotency key is still in progress: retry shortly"
    );
    if app.db.get_database_backend() == DbBackend::Postgres {
        // Another replica: the key's advisory lock refuses at once.
        let there = keyed_create(&app, Some(second_server.addr), &user, "slow-one", body.clone()).await;
        assert_eq!(there.status(), 409);
    }
    lock.rollback().await.expect("release");
    assert_eq!(first.await.expect("first request"), 201);
    // Now done: a retry on the other server replays it.
    let replay = keyed_create(&app, Some(second_server.addr), &user, "slow-one", body).await;
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(app.rows_of(&user).await.len(), 2);
}

#[tokio::test]
async fn a_key_older_than_a_day_is_taken_over_by_the_next_create_and_swept_otherwise() {
    let app = spawn_app().await;
    let user = new_user();
    let first = keyed_create(&app, None, &user, "old", json!({"title": "yesterday"})).await;
    assert_eq!(first.status(), 201);
    let other = keyed_create(&app, None, &user, "other", json!({"title": "other"})).await;
    assert_eq!(other.status(), 201);
    // A user who sends no more keys.
    let idle = new_user();
    let idle_key = keyed_create(&app, None, &idle, "idle", json!({"title": "idle"})).await;
    assert_eq!(idle_key.status(), 201);
    // Age both keys past the lifetime.
    let aged = chrono::Utc::now() - chrono::Duration::hours(25);
    let backend = app.db.get_database_backend();
    app.db
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            match backend {
                DbBackend::Postgres => "UPDATE idempotency_keys SET created_at = $1",
                _ => "UPDATE idempotency_keys SET created_at = ?",
            },
            [aged.into()],
        ))
        .await
        .expect("age keys");
    let again = keyed_create(&app, None, &user, "old", json!({"title": "a new create"})).await;
    assert_eq!(again.status(), 201);
    assert!(again.headers().get("idempotent-replayed").is_none());
    assert_eq!(app.rows_of(&user).await.len(), 3);
    let keys: Vec<String> = idempotency_key::Entity::find()
        .all(&app.db)
        .await
        .expect("keys")
        .into_iter()
        .map(|row| row.key)
        .collect();
    assert_eq!(keys.len(), 3, "the expired keys stay until the sweep: {keys:?}");
    // As the server runs it: with the server's role, which row-level security binds on
    // PostgreSQL, on behalf of no user.
    let server = todo_api::testing::connect(&app.database.server_url)
        .await
        .expect("the server's connection");
    assert_eq!(purge_expired_keys(&server).await.expect("sweep"), 2);
    let keys: Vec<String> = idempotency_key::Entity::find()
        .all(&app.db)
        .await
        .expect("keys")
        .into_iter()
        .map(|row| row.key)
        .collect();
    assert_eq!(
        keys,
        ["old"],
        "the sweep deleted the expired keys, and only those"
    );
}
