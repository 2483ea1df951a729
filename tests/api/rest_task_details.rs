//! Priority, due date, tags and repetition over REST: old clients see the defaults and nothing
//! else changes; create, read and partial update of each field; every refusal in pydantic's
//! shape; repeating tasks completed by `PATCH …/complete` and by `PUT`; the list's filters and
//! sorts; and the tags of a page read in one statement whatever its size.

use chrono::{DateTime, Months, TimeDelta, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::graphql_helpers::counting_app;
use crate::helpers::{TestApp, new_user, spawn_app, token_for};

fn task_path(user: &str, id: &Value) -> String {
    format!("{}/{}", TestApp::tasks_path(user), id.as_str().expect("id"))
}

async fn send(app: &TestApp, user: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = app.as_user(user, method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

async fn get(app: &TestApp, user: &str, id: &Value) -> Value {
    let (status, body) = send(app, user, Method::GET, &task_path(user, id), None).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn put(app: &TestApp, user: &str, id: &Value, body: Value) -> (u16, Value) {
    send(app, user, Method::PUT, &task_path(user, id), Some(body)).await
}

async fn toggle(app: &TestApp, user: &str, id: &Value) -> Value {
    let path = format!("{}/complete", task_path(user, id));
    let (status, body) = send(app, user, Method::PATCH, &path, None).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// `(loc, type)` of each problem of a 422 answer, in order.
fn problems(body: &Value) -> Vec<(Value, String)> {
    body["detail"]
        .as_array()
        .unwrap_or_else(|| panic!("a 422 detail: {body}"))
        .iter()
        .map(|issue| {
            (
                issue["loc"].clone(),
                issue["type"].as_str().expect("type").to_owned(),
            )
        })
        .collect()
}

fn problem(loc: Value, kind: &str) -> (Value, String) {
    (loc, kind.to_owned())
}

/// The titles of a list answer, in order.
fn titles(tasks: &[Value]) -> Vec<&str> {
    tasks
        .iter()
        .map(|task| task["title"].as_str().expect("title"))
        .collect()
}

fn total(headers: &reqwest::header::HeaderMap) -> u64 {
    headers["x-total-count"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("a count")
}

fn utc(raw: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(raw.as_str().expect("a timestamp"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

#[tokio::test]
async fn an_old_client_gets_the_defaults_and_every_field_as_before() {
    let app = spawn_app().await;
    let user = new_user();
    let created = app
        .create_task(&user, json!({"title": " Buy milk ", "description": "2 litres"}))
        .await;
    let mut keys: Vec<&str> = created
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "completed",
            "created_at",
            "description",
            "due_at",
            "id",
            "priority",
            "repeat",
            "tags",
            "title",
            "updated_at",
            "user_id",
            "version"
        ]
    );
    assert_eq!(created["title"], "Buy milk");
    assert_eq!(created["description"], "2 litres");
    assert_eq!(created["completed"], false);
    assert_eq!(created["user_id"], user.as_str());
    assert_eq!(
        (
            &created["priority"],
            &created["due_at"],
            &created["tags"],
            &created["repeat"]
        ),
        (&json!("medium"), &Value::Null, &json!([]), &json!("none"))
    );
    assert_eq!(get(&app, &user, &created["id"]).await, created);

    // An old client's update changes only what it names and keeps the new fields' values.
    let (status, updated) = put(&app, &user, &created["id"], json!({"title": "Buy oat milk"})).await;
    assert_eq!(status, 200, "{updated}");
    let mut expected = created.clone();
    expected["title"] = json!("Buy oat milk");
    expected["updated_at"] = updated["updated_at"].clone();
    expected["version"] = json!(2);
    assert_eq!(updated, expected);

    let toggled = toggle(&app, &user, &created["id"]).await;
    assert_eq!(toggled["message"], "Task completion status updated");
    assert_eq!(toggled["completed"], true);
    assert_eq!(toggled["repeat"], "none");
    assert_eq!(toggled["tags"], json!([]));

    let (headers, tasks) = app.list_tasks(&user, "").await;
    assert_eq!(
        total(&headers),
        1,
        "completing a task that does not repeat adds none"
    );
    assert_eq!(tasks[0]["priority"], "medium");
    assert_eq!(tasks[0]["due_at"], Value::Null);
    assert_eq!(tasks[0]["tags"], json!([]));
}

#[tokio::test]
async fn each_new_field_is_created_read_and_changed_only_when_given() {
    let app = spawn_app().await;
    let user = new_user();
    let created = app
        .create_task(
            &user,
            json!({
                "title": "Water the plants",
                "priority": "high",
                "due_at": "2030-12-24T18:00:00.1234567+01:00",
                "tags": [" Work ", "home", "work", "Errands"],
                "repeat": "weekly",
            }),
        )
        .await;
    assert_eq!(created["priority"], "high");
    assert_eq!(created["due_at"], "2030-12-24T17:00:00.123456Z");
    assert_eq!(created["tags"], json!(["Errands", "home", "Work"]));
    assert_eq!(created["repeat"], "weekly");
    let id = created["id"].clone();
    assert_eq!(get(&app, &user, &id).await, created);

    let (status, lowered) = put(&app, &user, &id, json!({"priority": "low"})).await;
    assert_eq!(status, 200, "{lowered}");
    assert_eq!(lowered["priority"], "low");
    for unchanged in ["title", "due_at", "tags", "repeat", "completed", "description"] {
        assert_eq!(lowered[unchanged], created[unchanged], "{unchanged}");
    }

    let (status, retagged) = put(&app, &user, &id, json!({"tags": ["garden", "Home"]})).await;
    assert_eq!(status, 200, "{retagged}");
    assert_eq!(retagged["tags"], json!(["garden", "Home"]), "the set is replaced");
    assert_eq!(get(&app, &user, &id).await["tags"], json!(["garden", "Home"]));

    let (status, moved) = put(
        &app,
        &user,
        &id,
        json!({"due_at": "2031-01-01T00:00:00-05:30", "repeat": "monthly"}),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["due_at"], "2031-01-01T05:30:00.000000Z");
    assert_eq!(moved["repeat"], "monthly");

    let (status, cleared) = put(
        &app,
        &user,
        &id,
        json!({"due_at": null, "repeat": "none", "tags": []}),
    )
    .await;
    assert_eq!(status, 200, "{cleared}");
    assert_eq!(cleared["due_at"], Value::Null);
    assert_eq!(cleared["repeat"], "none");
    assert_eq!(cleared["tags"], json!([]));
    assert_eq!(get(&app, &user, &id).await, cleared);
}

#[tokio::test]
async fn a_bad_new_field_is_a_422_with_every_problem_and_changes_nothing() {
    let app = spawn_app().await;
    let user = new_user();
    let path = TestApp::tasks_path(&user);
    let (status, body) = send(
        &app,
        &user,
        Method::POST,
        &path,
        Some(json!({
            "title": "",
            "priority": "urgent",
            "due_at": "2030-12-24",
            "tags": ["ok", "x".repeat(51), "  ", 7],
            "repeat": "hourly",
        })),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        problems(&body),
        [
            problem(json!(["body", "title"]), "string_too_short"),
            problem(json!(["body", "priority"]), "enum"),
            problem(json!(["body", "due_at"]), "datetime_parsing"),
            problem(json!(["body", "tags", 3]), "string_type"),
            problem(json!(["body", "repeat"]), "enum"),
        ]
    );
    assert_eq!(
        body["detail"][1]["msg"],
        "Input should be one of 'low', 'medium', 'high'"
    );
    assert_eq!(
        body["detail"][4]["msg"],
        "Input should be one of 'none', 'daily', 'weekly', 'monthly', 'yearly'"
    );

    // Once every tag is a string, each bad one is reported at its index.
    let (status, body) = send(
        &app,
        &user,
        Method::POST,
        &path,
        Some(json!({"title": "t", "tags": ["ok", "x".repeat(51), "  ", "a\u{1}b"]})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        problems(&body),
        [
            problem(json!(["body", "tags", 1]), "string_too_long"),
            problem(json!(["body", "tags", 2]), "string_too_short"),
            problem(json!(["body", "tags", 3]), "value_error"),
        ]
    );

    let too_many: Vec<String> = (0..21).map(|i| format!("tag{i}")).collect();
    for (tags, kind) in [(json!(too_many), "too_long"), (json!("work"), "list_type")] {
        let (status, body) = send(
            &app,
            &user,
            Method::POST,
            &path,
            Some(json!({"title": "t", "tags": tags})),
        )
        .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(problems(&body), [problem(json!(["body", "tags"]), kind)]);
    }
    // Twenty-one spellings of twenty tags are twenty tags.
    let mut twenty: Vec<String> = (0..20).map(|i| format!("tag{i}")).collect();
    twenty.push("TAG0".to_owned());
    let created = app
        .create_task(&user, json!({"title": "t", "tags": twenty}))
        .await;
    assert_eq!(created["tags"].as_array().map(Vec::len), Some(20));

    let (status, body) = send(
        &app,
        &user,
        Method::POST,
        &path,
        Some(json!({"title": "t", "repeat": "daily"})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        problems(&body),
        [problem(json!(["body", "repeat"]), "value_error")]
    );
    assert_eq!(
        body["detail"][0]["msg"],
        "Value error, a task that repeats (daily) needs a due date"
    );

    let (_, before) = app.list_tasks(&user, "").await;
    assert_eq!(before.len(), 1, "only the valid create made a task");
    let rows = app.rows_of(&user).await;
    let id = created["id"].clone();
    for (patch, expected) in [
        (
            json!({"priority": null, "tags": null, "repeat": null}),
            vec![
                problem(json!(["body", "priority"]), "string_type"),
                problem(json!(["body", "tags"]), "list_type"),
                problem(json!(["body", "repeat"]), "string_type"),
            ],
        ),
        (
            json!({"title": null, "due_at": "soon", "tags": ["a", ""]}),
            vec![
                problem(json!(["body", "title"]), "string_type"),
                problem(json!(["body", "due_at"]), "datetime_parsing"),
                problem(json!(["body", "tags", 1]), "string_too_short"),
            ],
        ),
        (
            json!({"priority": "HIGH", "due_at": 5}),
            vec![
                problem(json!(["body", "priority"]), "enum"),
                problem(json!(["body", "due_at"]), "string_type"),
            ],
        ),
        (
            json!({"repeat": "yearly", "tags": ["changed"]}),
            vec![problem(json!(["body", "repeat"]), "value_error")],
        ),
    ] {
        let (status, body) = put(&app, &user, &id, patch.clone()).await;
        assert_eq!(status, 422, "{patch}: {body}");
        assert_eq!(problems(&body), expected, "{patch}");
    }
    assert_eq!(app.rows_of(&user).await, rows);
    assert_eq!(
        get(&app, &user, &id).await,
        created,
        "the tags did not change either"
    );

    // A repeating task cannot lose its due date.
    let repeating = app
        .create_task(
            &user,
            json!({"title": "r", "repeat": "daily", "due_at": "2030-01-01T00:00:00Z"}),
        )
        .await;
    let (status, body) = put(&app, &user, &repeating["id"], json!({"due_at": null})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        problems(&body),
        [problem(json!(["body", "repeat"]), "value_error")]
    );
    assert_eq!(get(&app, &user, &repeating["id"]).await, repeating);
}

#[tokio::test]
async fn a_bad_list_filter_is_a_422_with_every_problem() {
    let app = spawn_app().await;
    let user = new_user();
    let path = format!(
        "{}?priority=low,urgent&tag=ok&tag=%20&due_before=2030-01-01&due_after=x&overdue=yes&sort=due",
        TestApp::tasks_path(&user)
    );
    let (status, body) = send(&app, &user, Method::GET, &path, None).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        problems(&body),
        [
            problem(json!(["query", "priority"]), "enum"),
            problem(json!(["query", "tag", 1]), "string_too_short"),
            problem(json!(["query", "due_before"]), "datetime_parsing"),
            problem(json!(["query", "due_after"]), "datetime_parsing"),
            problem(json!(["query", "overdue"]), "enum"),
        ]
    );
    assert_eq!(
        body["detail"][0]["msg"],
        "Input should be one of 'low', 'medium', 'high'"
    );

    let tags: Vec<String> = (0..21).map(|i| format!("tag=t{i}")).collect();
    let path = format!("{}?{}", TestApp::tasks_path(&user), tags.join("&"));
    let (status, body) = send(&app, &user, Method::GET, &path, None).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(problems(&body), [problem(json!(["query", "tag"]), "too_long")]);
    let path = format!("{}?{}", TestApp::tasks_path(&user), tags[..20].join("&"));
    let (status, body) = send(&app, &user, Method::GET, &path, None).await;
    assert_eq!((status, body), (200, json!([])));
}

/// Every task of `user`, oldest first.
async fn all_tasks(app: &TestApp, user: &str) -> Vec<Value> {
    app.list_tasks(user, "sort=created&order=asc").await.1
}

/// The first `old + k × step` (k ≥ 1) after now.
fn next_by_step(old: DateTime<Utc>, step: TimeDelta) -> DateTime<Utc> {
    let now = Utc::now();
    let mut candidate = old + step;
    while candidate <= now {
        candidate += step;
    }
    candidate
}

#[tokio::test]
async fn completing_a_repeating_task_with_patch_complete_creates_its_next_occurrence() {
    let app = spawn_app().await;
    let user = new_user();
    let created = app
        .create_task(
            &user,
            json!({
                "title": "Water the plants", "description": "the ferns too", "priority": "high",
                "tags": ["home", "Garden"], "repeat": "weekly", "due_at": "2021-03-01T09:30:00Z",
            }),
        )
        .await;
    let done = toggle(&app, &user, &created["id"]).await;
    assert_eq!(done["id"], created["id"]);
    assert_eq!(done["completed"], true);
    assert_eq!(done["repeat"], "none", "the done one stops repeating");
    assert_eq!(
        done["due_at"], "2021-03-01T09:30:00.000000Z",
        "and keeps its due date"
    );
    assert_eq!(done["tags"], json!(["Garden", "home"]));

    let tasks = all_tasks(&app, &user).await;
    assert_eq!(tasks.len(), 2, "one next occurrence");
    let next = &tasks[1];
    assert_ne!(next["id"], created["id"]);
    for copied in ["title", "description", "priority", "tags"] {
        assert_eq!(next[copied], created[copied], "{copied}");
    }
    assert_eq!(next["completed"], false);
    assert_eq!(next["repeat"], "weekly");
    let expected = next_by_step(utc(&created["due_at"]), TimeDelta::weeks(1));
    assert_eq!(utc(&next["due_at"]), expected);

    // Un-completing creates nothing, and the old one no longer repeats.
    let undone = toggle(&app, &user, &created["id"]).await;
    assert_eq!(undone["completed"], false);
    toggle(&app, &user, &created["id"]).await;
    assert_eq!(all_tasks(&app, &user).await.len(), 2);
}

#[tokio::test]
async fn completing_a_repeating_task_with_put_creates_its_next_occurrence_once() {
    let app = spawn_app().await;
    let user = new_user();
    let created = app
        .create_task(
            &user,
            json!({
                "title": "Pay rent", "priority": "low", "tags": ["bills"],
                "repeat": "monthly", "due_at": "2024-01-31T08:00:00+00:00",
            }),
        )
        .await;
    let (status, done) = put(&app, &user, &created["id"], json!({"completed": true})).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["completed"], true);
    assert_eq!(done["repeat"], "none");
    assert_eq!(done["due_at"], "2024-01-31T08:00:00.000000Z");

    let tasks = all_tasks(&app, &user).await;
    assert_eq!(tasks.len(), 2);
    let next = &tasks[1];
    assert_eq!(
        (&next["title"], &next["priority"], &next["tags"], &next["repeat"]),
        (
            &json!("Pay rent"),
            &json!("low"),
            &json!(["bills"]),
            &json!("monthly")
        )
    );
    // Calendar months from the old due date, clamped to the month's last day.
    let old = utc(&created["due_at"]);
    let now = Utc::now();
    let expected = (1..)
        .map(|k| old.checked_add_months(Months::new(k)).expect("in range"))
        .find(|candidate| *candidate > now)
        .expect("a future month");
    assert_eq!(utc(&next["due_at"]), expected);

    // Completing it again, or un-completing it, creates nothing.
    for completed in [true, false, true] {
        let (status, body) = put(&app, &user, &created["id"], json!({"completed": completed})).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(all_tasks(&app, &user).await.len(), 2);
}

/// Five tasks covering each filter: `(title, priority, due_at, tags, completed)`.
async fn seed_filters(app: &TestApp, user: &str) {
    let seeds = [
        (
            "a",
            "low",
            json!("2030-01-01T00:00:00Z"),
            json!(["Work", "home"]),
            false,
        ),
        ("b", "high", json!("2020-01-01T00:00:00Z"), json!(["work"]), false),
        ("c", "medium", Value::Null, json!(["HOME"]), false),
        ("d", "high", json!("2030-06-01T00:00:00Z"), json!([]), true),
        ("e", "low", json!("2021-01-01T00:00:00Z"), json!(["home"]), true),
    ];
    for (title, priority, due_at, tags, completed) in seeds {
        app.create_task(
            user,
            json!({"title": title, "priority": priority, "due_at": due_at, "tags": tags, "completed": completed}),
        )
        .await;
    }
}

#[tokio::test]
async fn the_list_filters_by_priority_tags_due_dates_and_overdue() {
    let app = spawn_app().await;
    let user = new_user();
    seed_filters(&app, &user).await;
    let cases = [
        ("priority=low,high", vec!["a", "b", "d", "e"]),
        ("priority=medium", vec!["c"]),
        ("tag=work", vec!["a", "b"]),
        ("tag=WORK&tag=home", vec!["a"]),
        ("tag=home", vec!["a", "c", "e"]),
        ("tag=home&tag=nothing", vec![]),
        ("due_before=2030-01-01T00:00:00Z", vec!["b", "e"]),
        ("due_before=2030-01-01T01:00:00%2B01:00", vec!["b", "e"]),
        ("due_after=2030-01-01T00:00:00Z", vec!["d"]),
        (
            "due_after=2020-01-01T00:00:00Z&due_before=2030-06-01T00:00:00Z",
            vec!["a", "e"],
        ),
        ("overdue=true", vec!["b"]),
        ("overdue=false", vec!["a", "c", "d", "e"]),
        ("priority=high&overdue=false", vec!["d"]),
        ("tag=home&status=completed", vec!["e"]),
    ];
    for (query, expected) in cases {
        let (headers, tasks) = app
            .list_tasks(&user, &format!("{query}&sort=title&order=asc"))
            .await;
        assert_eq!(titles(&tasks), expected, "{query}");
        assert_eq!(total(&headers), expected.len() as u64, "{query}");
    }
    // The total counts every match, not the page.
    let (headers, tasks) = app.list_tasks(&user, "tag=home&limit=1").await;
    assert_eq!((tasks.len(), total(&headers)), (1, 3));
}

#[tokio::test]
async fn the_list_sorts_by_due_date_and_priority_with_undated_tasks_last() {
    let app = spawn_app().await;
    let user = new_user();
    seed_filters(&app, &user).await;
    let cases = [
        ("sort=due&order=asc", vec!["b", "e", "a", "d", "c"]),
        ("sort=due&order=desc", vec!["d", "a", "e", "b", "c"]),
        ("sort=due_at&order=asc", vec!["b", "e", "a", "d", "c"]),
        ("sort=due", vec!["d", "a", "e", "b", "c"]),
        // Ties by id in the same direction (ids grow with creation: a, b, c, d, e).
        ("sort=priority&order=desc", vec!["d", "b", "c", "e", "a"]),
        ("sort=priority&order=asc", vec!["a", "e", "c", "b", "d"]),
    ];
    for (query, expected) in cases {
        let (headers, tasks) = app.list_tasks(&user, query).await;
        assert_eq!(titles(&tasks), expected, "{query}");
        assert_eq!(total(&headers), 5, "{query}");
    }
    let (headers, tasks) = app.list_tasks(&user, "sort=due&order=asc&limit=2&offset=3").await;
    assert_eq!(titles(&tasks), ["d", "c"]);
    assert_eq!(total(&headers), 5);
}

#[tokio::test]
async fn a_page_of_tasks_with_tags_costs_the_same_statements_whatever_its_size() {
    let app = spawn_app().await;
    let user = new_user();
    for i in 0..20 {
        app.create_task(
            &user,
            json!({"title": format!("t{i}"), "tags": [format!("tag{i}"), "all"]}),
        )
        .await;
    }
    let (addr, statements) = counting_app(&app).await;
    let list = |size: usize| {
        app.client
            .get(format!(
                "http://{addr}{}?limit={size}",
                TestApp::tasks_path(&user)
            ))
            .bearer_auth(token_for(&user))
            .send()
    };
    // The first request provisions the caller in the second app's cache.
    assert_eq!(list(1).await.expect("request").status(), 200);
    let mut cost = Vec::new();
    for size in [2, 20] {
        let before = statements.get();
        let response = list(size).await.expect("request");
        assert_eq!(response.status(), 200);
        let tasks: Vec<Value> = response.json().await.expect("json");
        assert_eq!(tasks.len(), size);
        for task in &tasks {
            let n = task["title"].as_str().expect("title").trim_start_matches('t');
            assert_eq!(task["tags"], json!(["all", format!("tag{n}")]));
        }
        cost.push(statements.get() - before);
    }
    // One statement: the page (each task's tags are on its row) and its total.
    assert_eq!(cost, [1, 1]);
}
