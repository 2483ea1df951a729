//! Task events (the outbox) and `Query.taskEvents`: every change of a task, by REST or GraphQL,
//! records one event with the task as the change left it, in the change's transaction; refused
//! changes record none; a user's stream is theirs alone; cursors resume exactly, also while one
//! user's writers run concurrently; events past their retention are purged and an older cursor
//! is `CURSOR_EXPIRED`. On SQLite and PostgreSQL.

use reqwest::Method;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::graphql_helpers::{codes, data, graphql};
use crate::helpers::{TestApp, new_user, spawn_app};

const EVENTS: &str = "query($after: String, $first: Int) {
  taskEvents(after: $after, first: $first) {
    edges { cursor node { cursor kind taskId occurredAt task { id title completed version dueAt repeat } } }
    nodes { cursor }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}";

/// The caller's events after `after` (every one, page by page of `first`).
async fn events_after(app: &TestApp, user: &str, after: Option<&str>, first: i64) -> Vec<Value> {
    let mut after = after.map(str::to_owned);
    let mut all = Vec::new();
    loop {
        let page = data(app, user, EVENTS, json!({"after": after, "first": first})).await;
        let connection = &page["taskEvents"];
        let edges = connection["edges"].as_array().expect("edges").clone();
        assert_eq!(
            connection["nodes"].as_array().map(Vec::len),
            Some(edges.len()),
            "nodes and edges agree"
        );
        assert_eq!(connection["pageInfo"]["hasPreviousPage"], false);
        for edge in &edges {
            assert_eq!(edge["cursor"], edge["node"]["cursor"]);
        }
        if let Some(last) = edges.last() {
            assert_eq!(connection["pageInfo"]["endCursor"], last["cursor"]);
            after = last["cursor"].as_str().map(str::to_owned);
        }
        let more = connection["pageInfo"]["hasNextPage"] == true;
        all.extend(edges.into_iter().map(|edge| edge["node"].clone()));
        if !more {
            return all;
        }
    }
}

/// `(kind, taskId)` of each event.
fn kinds(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().expect("kind").to_owned(),
                e["taskId"].as_str().expect("taskId").to_owned(),
            )
        })
        .collect()
}

async fn rest(
    app: &TestApp,
    user: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.as_user(user, method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

#[tokio::test]
async fn every_change_on_either_front_end_records_one_event_with_the_task_as_it_left_it() {
    let app = spawn_app().await;
    let user = new_user();
    let tasks = TestApp::tasks_path(&user);

    // REST: create, update, complete, delete.
    let created = app.create_task(&user, json!({"title": "rest"})).await;
    let rest_id = created["id"].as_str().expect("id").to_owned();
    let path = format!("{tasks}/{rest_id}");
    assert_eq!(
        rest(&app, &user, Method::PUT, &path, Some(json!({"title": "renamed"})))
            .await
            .status(),
        200
    );
    assert_eq!(
        rest(&app, &user, Method::PATCH, &format!("{path}/complete"), None)
            .await
            .status(),
        200
    );
    assert_eq!(rest(&app, &user, Method::DELETE, &path, None).await.status(), 200);

    // GraphQL: create, update, toggle, set completed, delete.
    let gql = data(
        &app,
        &user,
        "mutation { createTask(input: {title: \"gql\"}) { id } }",
        json!({}),
    )
    .await;
    let gql_id = gql["createTask"]["id"].as_str().expect("id").to_owned();
    for mutation in [
        "mutation($id: ID!) { updateTask(id: $id, input: {title: \"gql renamed\"}) { id } }",
        "mutation($id: ID!) { toggleTask(id: $id) { id } }",
        "mutation($id: ID!) { setTaskCompleted(id: $id, completed: false) { id } }",
        "mutation($id: ID!) { deleteTask(id: $id) }",
    ] {
        data(&app, &user, mutation, json!({"id": gql_id})).await;
    }

    let events = events_after(&app, &user, None, 50).await;
    let expected: Vec<(String, String)> = [
        ("CREATED", &rest_id),
        ("UPDATED", &rest_id),
        ("UPDATED", &rest_id),
        ("DELETED", &rest_id),
        ("CREATED", &gql_id),
        ("UPDATED", &gql_id),
        ("UPDATED", &gql_id),
        ("UPDATED", &gql_id),
        ("DELETED", &gql_id),
    ]
    .iter()
    .map(|(kind, id)| ((*kind).to_owned(), (*id).clone()))
    .collect();
    assert_eq!(kinds(&events), expected);
    // Each snapshot is the task as that change left it.
    let snapshot = |i: usize| &events[i]["task"];
    assert_eq!(
        (snapshot(0)["title"].clone(), snapshot(0)["version"].clone()),
        (json!("rest"), json!(1))
    );
    assert_eq!(
        (snapshot(1)["title"].clone(), snapshot(1)["version"].clone()),
        (json!("renamed"), json!(2))
    );
    assert_eq!(
        (snapshot(2)["completed"].clone(), snapshot(2)["version"].clone()),
        (json!(true), json!(3))
    );
    assert_eq!(snapshot(3), &Value::Null, "a deletion carries no task");
    assert_eq!(snapshot(6)["completed"], true);
    assert_eq!(snapshot(7)["completed"], false);
    // Cursors increase strictly, and times never go back.
    let cursors: Vec<&str> = events
        .iter()
        .map(|e| e["cursor"].as_str().expect("cursor"))
        .collect();
    let mut unique = cursors.clone();
    unique.dedup();
    assert_eq!(unique.len(), cursors.len());
    let times: Vec<&str> = events
        .iter()
        .map(|e| e["occurredAt"].as_str().expect("time"))
        .collect();
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "{times:?}");
    // Resuming after any event gives exactly the ones after it.
    for (i, cursor) in cursors.iter().enumerate() {
        let rest = events_after(&app, &user, Some(cursor), 2).await;
        assert_eq!(kinds(&rest), kinds(&events[i + 1..]));
    }
}

#[tokio::test]
async fn completing_a_repeating_task_records_its_update_then_its_next_occurrence() {
    let app = spawn_app().await;
    let user = new_user();
    let task = app
        .create_task(
            &user,
            json!({"title": "water", "due_at": "2026-01-05T09:00:00Z", "repeat": "weekly"}),
        )
        .await;
    let id = task["id"].as_str().expect("id").to_owned();
    let path = format!("{}/{id}/complete", TestApp::tasks_path(&user));
    assert_eq!(rest(&app, &user, Method::PATCH, &path, None).await.status(), 200);
    let events = events_after(&app, &user, None, 50).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(
        kinds(&events)[..2],
        [
            ("CREATED".to_owned(), id.clone()),
            ("UPDATED".to_owned(), id.clone())
        ]
    );
    assert_eq!(events[1]["task"]["completed"], true);
    assert_eq!(events[1]["task"]["repeat"], "NONE");
    assert_eq!(events[2]["kind"], "CREATED");
    assert_ne!(events[2]["taskId"], json!(id));
    assert_eq!(events[2]["task"]["repeat"], "WEEKLY");
    assert_eq!(events[2]["task"]["completed"], false);
}

#[tokio::test]
async fn refused_and_empty_changes_record_nothing() {
    let app = spawn_app().await;
    let user = new_user();
    let tasks = TestApp::tasks_path(&user);
    let task = app.create_task(&user, json!({"title": "t"})).await;
    let path = format!("{tasks}/{}", task["id"].as_str().expect("id"));
    let missing = format!("{tasks}/{}", uuid::Uuid::now_v7());
    // 412, 422 (a repeating task without a due date, checked after the UPDATE ran), 404, 422
    // on create, a `{}` PUT that changes nothing, an idempotent un-complete of a pending task.
    let stale = app
        .as_user(&user, Method::PUT, &path)
        .header("if-match", "\"7\"")
        .json(&json!({"title": "x"}))
        .send()
        .await
        .expect("request");
    assert_eq!(stale.status(), 412);
    assert_eq!(
        rest(&app, &user, Method::PUT, &path, Some(json!({"repeat": "daily"})))
            .await
            .status(),
        422
    );
    assert_eq!(
        rest(&app, &user, Method::DELETE, &missing, None).await.status(),
        404
    );
    assert_eq!(
        rest(&app, &user, Method::POST, &tasks, Some(json!({"title": ""})))
            .await
            .status(),
        422
    );
    assert_eq!(
        rest(&app, &user, Method::PUT, &path, Some(json!({})))
            .await
            .status(),
        200
    );
    let (_, body) = graphql(
        &app,
        &user,
        "mutation($id: ID!) { setTaskCompleted(id: $id, completed: false) { id } }",
        json!({"id": task["id"]}),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let events = events_after(&app, &user, None, 50).await;
    assert_eq!(
        kinds(&events),
        [("CREATED".to_owned(), task["id"].as_str().expect("id").to_owned())]
    );
}

#[tokio::test]
async fn a_users_stream_is_theirs_alone_and_a_foreign_cursor_reveals_nothing() {
    let app = spawn_app().await;
    let (alice, bob) = (new_user(), new_user());
    for i in 0..3 {
        app.create_task(&alice, json!({"title": format!("alice {i}")}))
            .await;
    }
    let bob_task = app.create_task(&bob, json!({"title": "bob"})).await;
    let alice_events = events_after(&app, &alice, None, 50).await;
    let bob_events = events_after(&app, &bob, None, 50).await;
    assert_eq!(alice_events.len(), 3);
    assert_eq!(
        kinds(&bob_events),
        [(
            "CREATED".to_owned(),
            bob_task["id"].as_str().expect("id").to_owned()
        )]
    );
    // Alice's last cursor, used by Bob, is past the end of Bob's stream: refused, since taking
    // it as a position would make Bob skip his own next events.
    let alice_last = alice_events[2]["cursor"].as_str().expect("cursor");
    let (_, refused) = graphql(
        &app,
        &bob,
        "query($after: String) { taskEvents(after: $after) { nodes { cursor } } }",
        json!({"after": alice_last}),
    )
    .await;
    assert_eq!(refused["data"], Value::Null, "{refused}");
    assert_eq!(codes(&refused), ["BAD_USER_INPUT"], "{refused}");
    // Bob's first cursor used by Alice: her own events after that position.
    let bob_first = bob_events[0]["cursor"].as_str().expect("cursor");
    let seen = events_after(&app, &alice, Some(bob_first), 50).await;
    assert!(seen.iter().all(|e| {
        e["task"]["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("alice"))
    }));
}

#[tokio::test]
async fn concurrent_writers_of_one_user_never_make_a_resuming_reader_skip_an_event() {
    let app = spawn_app().await;
    let user = new_user();
    const WRITERS: usize = 8;
    const EACH: usize = 6;
    // A reader resumes from its last cursor again and again while the writers run.
    let reader = {
        let (client, addr, user) = (app.client.clone(), app.addr, user.clone());
        tokio::spawn(async move {
            let mut after: Option<String> = None;
            let mut seen: Vec<String> = Vec::new();
            while seen.len() < WRITERS * EACH {
                let response = client
                    .post(format!("http://{addr}/graphql"))
                    .bearer_auth(crate::helpers::token_for(&user))
                    .json(&json!({"query": EVENTS, "variables": {"after": after, "first": 5}}))
                    .send()
                    .await
                    .expect("request");
                let body: Value = response.json().await.expect("json");
                assert!(body.get("errors").is_none(), "{body}");
                for edge in body["data"]["taskEvents"]["edges"].as_array().expect("edges") {
                    seen.push(edge["node"]["taskId"].as_str().expect("id").to_owned());
                    after = edge["cursor"].as_str().map(str::to_owned);
                }
            }
            seen
        })
    };
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (client, addr, user) = (app.client.clone(), app.addr, user.clone());
        writers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..EACH {
                let response = client
                    .post(format!("http://{addr}{}", TestApp::tasks_path(&user)))
                    .bearer_auth(crate::helpers::token_for(&user))
                    .json(&json!({"title": format!("w{w} {i}")}))
                    .send()
                    .await
                    .expect("request");
                assert_eq!(response.status(), 201);
                let task: Value = response.json().await.expect("json");
                ids.push(task["id"].as_str().expect("id").to_owned());
            }
            ids
        }));
    }
    let mut created = Vec::new();
    for writer in writers {
        created.extend(writer.await.expect("writer"));
    }
    let seen = tokio::time::timeout(std::time::Duration::from_secs(60), reader)
        .await
        .expect("the reader saw every event")
        .expect("reader");
    let mut sorted_seen = seen.clone();
    sorted_seen.sort();
    sorted_seen.dedup();
    assert_eq!(sorted_seen.len(), seen.len(), "no event twice");
    created.sort();
    assert_eq!(sorted_seen, created, "every create's event, exactly once");
}

#[tokio::test]
async fn events_past_their_retention_are_purged_and_an_older_cursor_is_expired() {
    let app = spawn_app().await;
    let user = new_user();
    for i in 0..4 {
        app.create_task(&user, json!({"title": format!("t{i}")})).await;
    }
    let events = events_after(&app, &user, None, 50).await;
    // The first two events are made eight days old, then the purge runs as the server does:
    // with the server's own role, on behalf of no user.
    let aged = chrono::Utc::now() - chrono::Duration::days(8);
    let backend = app.db.get_database_backend();
    for event in &events[..2] {
        let id = event["taskId"].as_str().expect("id");
        app.db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                match backend {
                    DbBackend::Postgres => "UPDATE task_events SET occurred_at = $1 WHERE task_id = $2::uuid",
                    _ => "UPDATE task_events SET occurred_at = ? WHERE task_id = ?",
                },
                [aged.into(), uuid::Uuid::parse_str(id).expect("uuid").into()],
            ))
            .await
            .expect("age events");
    }
    let server = todo_api::testing::connect(&app.database.server_url)
        .await
        .expect("the server's connection");
    let purged = todo_api::testing::purge_expired_events(&server, chrono::Duration::days(7))
        .await
        .expect("purge");
    assert_eq!(purged, 2);
    let kept = events_after(&app, &user, None, 50).await;
    assert_eq!(kept, events[2..]);
    // Resuming after the second event still works (nothing after it was purged)...
    let second = events[1]["cursor"].as_str().expect("cursor");
    assert_eq!(events_after(&app, &user, Some(second), 50).await, events[2..]);
    // ...but after the first, an event is missing: the client must reload.
    let first = events[0]["cursor"].as_str().expect("cursor");
    let (_, body) = graphql(&app, &user, EVENTS, json!({"after": first})).await;
    assert_eq!(codes(&body), ["CURSOR_EXPIRED"], "{body}");
    // With every event purged, a cursor before the last one is expired too, and the last one
    // is up to date.
    let last = events[3]["cursor"].as_str().expect("cursor");
    sea_orm::ConnectionTrait::execute_raw(
        &app.db,
        Statement::from_sql_and_values(
            backend,
            match backend {
                DbBackend::Postgres => "UPDATE task_events SET occurred_at = $1",
                _ => "UPDATE task_events SET occurred_at = ?",
            },
            [aged.into()],
        ),
    )
    .await
    .expect("age events");
    todo_api::testing::purge_expired_events(&server, chrono::Duration::days(7))
        .await
        .expect("purge");
    assert!(events_after(&app, &user, Some(last), 50).await.is_empty());
    let (_, body) = graphql(&app, &user, EVENTS, json!({"after": events[2]["cursor"]})).await;
    assert_eq!(codes(&body), ["CURSOR_EXPIRED"], "{body}");
}

#[tokio::test]
async fn malformed_cursors_and_page_sizes_are_bad_user_input() {
    let app = spawn_app().await;
    let user = new_user();
    // A light selection: a page of 500 full events is over the complexity limit.
    let light = "query($after: String, $first: Int) { taskEvents(after: $after, first: $first) { nodes { cursor } } }";
    for variables in [
        json!({"after": "not-a-cursor"}),
        json!({"after": "ZTE6LTE"}), // e1:-1
        json!({"first": 0}),
        json!({"first": 501}),
    ] {
        let (status, body) = graphql(&app, &user, light, variables.clone()).await;
        assert_eq!(status, 200);
        assert_eq!(codes(&body), ["BAD_USER_INPUT"], "{variables}: {body}");
    }
    let page = data(&app, &user, light, json!({"first": 500})).await;
    assert_eq!(page["taskEvents"]["nodes"], json!([]));
}
