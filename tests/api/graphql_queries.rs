//! Every query and mutation of the GraphQL API, and agreement with the REST layer.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use todo_api::config::Secret;
use todo_api::token::{MintRequest, mint_hs256};

use crate::graphql_helpers::{codes, create, data, graphql, only_error};
use crate::helpers::{SECRET, TestApp, new_user, spawn_app};

const TASK_FIELDS: &str = "id title description completed createdAt updatedAt";

/// RFC 3339 UTC with microseconds and a `Z`, as REST writes timestamps.
fn assert_timestamp(value: &Value) {
    let text = value.as_str().expect("a string timestamp");
    assert!(
        chrono::DateTime::parse_from_rfc3339(text).is_ok()
            && text.ends_with('Z')
            && text.split('.').nth(1).is_some_and(|f| f.len() == 7),
        "{text}"
    );
}

async fn task_by_id(app: &TestApp, user: &str, id: &Value) -> Value {
    data(
        app,
        user,
        &format!("query($id: ID!) {{ task(id: $id) {{ {TASK_FIELDS} }} }}"),
        json!({"id": id}),
    )
    .await["task"]
        .clone()
}

#[tokio::test]
async fn me_is_the_caller_with_the_profile_from_their_first_token() {
    let app = spawn_app().await;
    let user = new_user();
    let token = mint_hs256(
        &Secret::new(SECRET.to_owned()),
        &MintRequest {
            user_id: &user,
            email: Some("ada@example.com"),
            name: Some("Ada"),
            ttl: Duration::from_secs(600),
            issuer: None,
            audience: None,
        },
    )
    .expect("mint");
    let response = app
        .request(Method::POST, "/graphql")
        .bearer_auth(token)
        .json(&json!({"query": "{ me { id email name createdAt } }"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["data"]["me"]["id"], user.as_str());
    assert_eq!(body["data"]["me"]["email"], "ada@example.com");
    assert_eq!(body["data"]["me"]["name"], "Ada");
    assert_timestamp(&body["data"]["me"]["createdAt"]);
}

#[tokio::test]
async fn create_task_trims_the_title_and_applies_defaults() {
    let app = spawn_app().await;
    let user = new_user();
    let task = create(&app, &user, json!({"title": "  Buy milk \n"})).await;
    assert_eq!(task["title"], "Buy milk");
    assert_eq!(task["description"], Value::Null);
    assert_eq!(task["completed"], false);
    assert_timestamp(&task["createdAt"]);
    assert_eq!(task["createdAt"], task["updatedAt"]);
    assert_eq!(task_by_id(&app, &user, &task["id"]).await, task);

    let done = create(
        &app,
        &user,
        json!({"title": "Done", "description": "  kept as sent  ", "completed": true}),
    )
    .await;
    assert_eq!(done["completed"], true);
    assert_eq!(done["description"], "  kept as sent  ");
    assert_eq!(app.rows_of(&user).await.len(), 2);
}

#[tokio::test]
async fn invalid_input_is_bad_user_input_naming_the_field_and_creates_nothing() {
    let app = spawn_app().await;
    let user = new_user();
    let cases = [
        (json!({"title": " \t "}), "title"),
        (json!({"title": "a".repeat(201)}), "title"),
        (json!({"title": "bell\u{7}"}), "title"),
        (
            json!({"title": "ok", "description": "d".repeat(1001)}),
            "description",
        ),
        (json!({"title": "ok", "description": "nul\u{0}"}), "description"),
    ];
    for (input, field) in cases {
        let (status, body) = graphql(
            &app,
            &user,
            "mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }",
            json!({"input": input}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let error = only_error(&body);
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{body}");
        assert_eq!(error["extensions"]["field"], field, "{body}");
        assert_eq!(body["data"], Value::Null);
    }
    // A wrong type never reaches the resolver: GraphQL validation refuses it.
    let (_, body) = graphql(
        &app,
        &user,
        "mutation { createTask(input: {title: 5}) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(codes(&body), ["GRAPHQL_VALIDATION_FAILED"], "{body}");
    assert!(app.rows_of(&user).await.is_empty());
}

#[tokio::test]
async fn task_is_null_for_a_missing_or_malformed_id_without_an_error() {
    let app = spawn_app().await;
    let user = new_user();
    create(&app, &user, json!({"title": "mine"})).await;
    for id in [
        uuid::Uuid::now_v7().to_string(),
        "not-a-uuid".to_owned(),
        String::new(),
    ] {
        assert_eq!(task_by_id(&app, &user, &json!(id)).await, Value::Null, "{id:?}");
    }
}

#[tokio::test]
async fn update_task_changes_only_the_given_fields() {
    let app = spawn_app().await;
    let user = new_user();
    let task = create(&app, &user, json!({"title": "Old", "description": "keep me"})).await;
    let update = |input: Value| {
        let (app, user, id) = (&app, &user, task["id"].clone());
        async move {
            graphql(
                app,
                user,
                &format!(
                    "mutation($id: ID!, $input: UpdateTaskInput!) {{ updateTask(id: $id, input: $input) {{ {TASK_FIELDS} }} }}"
                ),
                json!({"id": id, "input": input}),
            )
            .await
        }
    };

    let (_, body) = update(json!({"title": "  New  "})).await;
    let renamed = &body["data"]["updateTask"];
    assert_eq!(renamed["title"], "New", "{body}");
    assert_eq!(renamed["description"], "keep me");
    assert_eq!(renamed["completed"], false);
    assert_eq!(renamed["createdAt"], task["createdAt"]);
    assert!(renamed["updatedAt"].as_str() > task["updatedAt"].as_str());

    let (_, body) = update(json!({"completed": true})).await;
    assert_eq!(body["data"]["updateTask"]["completed"], true, "{body}");
    assert_eq!(body["data"]["updateTask"]["description"], "keep me");

    // An explicit null clears the description; leaving it out keeps it.
    let (_, body) = update(json!({"description": null})).await;
    assert_eq!(body["data"]["updateTask"]["description"], Value::Null, "{body}");
    assert_eq!(body["data"]["updateTask"]["title"], "New");

    // An empty input changes nothing, not even updatedAt.
    let before = task_by_id(&app, &user, &task["id"]).await;
    let (_, body) = update(json!({})).await;
    assert_eq!(body["data"]["updateTask"], before, "{body}");
    assert_eq!(task_by_id(&app, &user, &task["id"]).await, before);

    // title and completed cannot be null; invalid values are refused; nothing changes.
    let rows = app.rows_of(&user).await;
    for (input, field) in [
        (json!({"title": null}), "title"),
        (json!({"completed": null}), "completed"),
        (json!({"title": "", "description": "fine"}), "title"),
        (json!({"description": "x".repeat(1001)}), "description"),
    ] {
        let (status, body) = update(input.clone()).await;
        assert_eq!(status, 200);
        let error = only_error(&body);
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{input}: {body}");
        assert_eq!(error["extensions"]["field"], field, "{input}: {body}");
    }
    assert_eq!(app.rows_of(&user).await, rows);
}

#[tokio::test]
async fn toggle_flips_and_set_completed_is_idempotent() {
    let app = spawn_app().await;
    let user = new_user();
    let task = create(&app, &user, json!({"title": "t"})).await;
    let vars = json!({"id": task["id"]});

    let toggle = "mutation($id: ID!) { toggleTask(id: $id) { completed updatedAt } }";
    let once = data(&app, &user, toggle, vars.clone()).await;
    assert_eq!(once["toggleTask"]["completed"], true);
    let twice = data(&app, &user, toggle, vars.clone()).await;
    assert_eq!(twice["toggleTask"]["completed"], false);

    let set = "mutation($id: ID!, $c: Boolean!) { setTaskCompleted(id: $id, completed: $c) { completed updatedAt } }";
    let done = data(&app, &user, set, json!({"id": task["id"], "c": true})).await;
    assert_eq!(done["setTaskCompleted"]["completed"], true);
    let again = data(&app, &user, set, json!({"id": task["id"], "c": true})).await;
    assert_eq!(
        again["setTaskCompleted"], done["setTaskCompleted"],
        "a retry changes nothing"
    );
    let undone = data(&app, &user, set, json!({"id": task["id"], "c": false})).await;
    assert_eq!(undone["setTaskCompleted"]["completed"], false);
    assert!(
        undone["setTaskCompleted"]["updatedAt"].as_str() > done["setTaskCompleted"]["updatedAt"].as_str()
    );
}

#[tokio::test]
async fn delete_task_returns_the_id_and_the_task_is_gone() {
    let app = spawn_app().await;
    let user = new_user();
    let task = create(&app, &user, json!({"title": "t"})).await;
    let keep = create(&app, &user, json!({"title": "keep"})).await;
    let delete = "mutation($id: ID!) { deleteTask(id: $id) }";
    let deleted = data(&app, &user, delete, json!({"id": task["id"]})).await;
    assert_eq!(deleted["deleteTask"], task["id"]);
    assert_eq!(task_by_id(&app, &user, &task["id"]).await, Value::Null);
    assert_eq!(task_by_id(&app, &user, &keep["id"]).await["title"], "keep");
    let (_, body) = graphql(&app, &user, delete, json!({"id": task["id"]})).await;
    assert_eq!(codes(&body), ["NOT_FOUND"], "{body}");
}

#[tokio::test]
async fn mutations_on_missing_or_malformed_ids_are_not_found() {
    let app = spawn_app().await;
    let user = new_user();
    create(&app, &user, json!({"title": "untouched"})).await;
    let rows = app.rows_of(&user).await;
    let mutations = [
        "mutation($id: ID!) { updateTask(id: $id, input: {title: \"x\"}) { id } }",
        "mutation($id: ID!) { toggleTask(id: $id) { id } }",
        "mutation($id: ID!) { setTaskCompleted(id: $id, completed: true) { id } }",
        "mutation($id: ID!) { deleteTask(id: $id) }",
    ];
    for id in [
        uuid::Uuid::now_v7().to_string(),
        "42".to_owned(),
        "' OR 1=1 --".to_owned(),
    ] {
        for mutation in mutations {
            let (status, body) = graphql(&app, &user, mutation, json!({"id": id})).await;
            assert_eq!(status, 200);
            let error = only_error(&body);
            assert_eq!(
                error["extensions"]["code"], "NOT_FOUND",
                "{mutation} {id}: {body}"
            );
            assert_eq!(error["message"], "Task not found");
            assert_eq!(body["data"], Value::Null);
        }
    }
    assert_eq!(app.rows_of(&user).await, rows);
}

#[tokio::test]
async fn task_stats_count_total_completed_and_pending() {
    let app = spawn_app().await;
    let user = new_user();
    let query = "{ taskStats { total completed pending } me { taskStats { total completed pending } } }";
    let empty = data(&app, &user, query, json!({})).await;
    assert_eq!(
        empty["taskStats"],
        json!({"total": 0, "completed": 0, "pending": 0})
    );
    for (i, completed) in [true, false, true, false, false].into_iter().enumerate() {
        create(
            &app,
            &user,
            json!({"title": format!("t{i}"), "completed": completed}),
        )
        .await;
    }
    create(
        &app,
        &new_user(),
        json!({"title": "someone else's", "completed": true}),
    )
    .await;
    let stats = data(&app, &user, query, json!({})).await;
    assert_eq!(
        stats["taskStats"],
        json!({"total": 5, "completed": 2, "pending": 3})
    );
    assert_eq!(stats["me"]["taskStats"], stats["taskStats"]);
}

#[tokio::test]
async fn tasks_filter_by_status_and_search_and_count_the_matches() {
    let app = spawn_app().await;
    let user = new_user();
    for (title, description, completed) in [
        ("Buy MILK", None, false),
        ("call mom", Some("about milk"), true),
        ("100% done", None, true),
        ("write_tests", None, false),
    ] {
        create(
            &app,
            &user,
            json!({"title": title, "description": description, "completed": completed}),
        )
        .await;
    }
    let titles = |filter: Value| {
        let (app, user) = (&app, &user);
        async move {
            let data = data(
                app,
                user,
                "query($f: TaskFilter) { tasks(filter: $f, orderBy: {field: TITLE, direction: ASC}) { totalCount nodes { title } } }",
                json!({"f": filter}),
            )
            .await;
            let titles: Vec<String> = data["tasks"]["nodes"]
                .as_array()
                .expect("nodes")
                .iter()
                .map(|n| n["title"].as_str().expect("title").to_owned())
                .collect();
            assert_eq!(
                data["tasks"]["totalCount"],
                titles.len(),
                "one page holds them all"
            );
            titles
        }
    };
    assert_eq!(
        titles(json!(null)).await,
        ["100% done", "Buy MILK", "call mom", "write_tests"]
    );
    assert_eq!(
        titles(json!({"status": "PENDING"})).await,
        ["Buy MILK", "write_tests"]
    );
    assert_eq!(
        titles(json!({"status": "COMPLETED"})).await,
        ["100% done", "call mom"]
    );
    assert_eq!(titles(json!({"search": "milk"})).await, ["Buy MILK", "call mom"]);
    assert_eq!(
        titles(json!({"search": "milk", "status": "COMPLETED"})).await,
        ["call mom"]
    );
    assert_eq!(titles(json!({"search": "%"})).await, ["100% done"]);
    assert_eq!(titles(json!({"search": "_"})).await, ["write_tests"]);
    let (_, body) = graphql(
        &app,
        &user,
        "query($s: String) { tasks(filter: {search: $s}) { totalCount } }",
        json!({"s": "x".repeat(1001)}),
    )
    .await;
    assert_eq!(only_error(&body)["extensions"]["field"], "search", "{body}");
}

#[tokio::test]
async fn user_tasks_and_owner_are_the_callers() {
    let app = spawn_app().await;
    let user = new_user();
    let created = create(&app, &user, json!({"title": "t"})).await;
    let data = data(
        &app,
        &user,
        "{ me { id tasks { totalCount nodes { id owner { id } } } } tasks { nodes { id } } }",
        json!({}),
    )
    .await;
    assert_eq!(data["me"]["tasks"]["totalCount"], 1);
    assert_eq!(data["me"]["tasks"]["nodes"][0]["id"], created["id"]);
    assert_eq!(data["me"]["tasks"]["nodes"][0]["owner"]["id"], user.as_str());
    assert_eq!(data["tasks"]["nodes"], json!([{"id": created["id"]}]));
}

/// The REST body of a task, in GraphQL's field names, for comparison.
fn rest_as_graphql(rest: &Value) -> Value {
    json!({
        "id": rest["id"], "title": rest["title"], "description": rest["description"],
        "completed": rest["completed"], "createdAt": rest["created_at"], "updatedAt": rest["updated_at"],
    })
}

#[tokio::test]
async fn rest_and_graphql_read_the_same_task_identically() {
    let app = spawn_app().await;
    let user = new_user();

    let from_rest = app
        .create_task(
            &user,
            json!({"title": " via REST ", "description": "d", "completed": true}),
        )
        .await;
    let read = task_by_id(&app, &user, &from_rest["id"]).await;
    assert_eq!(read, rest_as_graphql(&from_rest));

    let from_graphql = create(&app, &user, json!({"title": "via GraphQL", "description": null})).await;
    let response = app
        .as_user(
            &user,
            Method::GET,
            &format!(
                "{}/{}",
                TestApp::tasks_path(&user),
                from_graphql["id"].as_str().expect("id")
            ),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let rest: Value = response.json().await.expect("json");
    assert_eq!(rest_as_graphql(&rest), from_graphql);
    assert_eq!(rest["user_id"], user.as_str());

    // A change through one front end shows through the other.
    data(
        &app,
        &user,
        "mutation($id: ID!) { updateTask(id: $id, input: {description: \"changed\"}) { id } }",
        json!({"id": from_rest["id"]}),
    )
    .await;
    let (_, listed) = app.list_tasks(&user, "sort=title&order=asc").await;
    let graphql_list = data(
        &app,
        &user,
        &format!("{{ tasks(orderBy: {{field: TITLE, direction: ASC}}) {{ nodes {{ {TASK_FIELDS} }} }} }}"),
        json!({}),
    )
    .await;
    let rest_list: Vec<Value> = listed.iter().map(rest_as_graphql).collect();
    assert_eq!(graphql_list["tasks"]["nodes"], json!(rest_list));
    assert_eq!(rest_list[1]["description"], "changed");
}

#[tokio::test]
async fn a_refused_search_names_the_field_and_says_why_in_plain_words() {
    let app = spawn_app().await;
    let user = new_user();
    let query = "query($s: String) { tasks(filter: {search: $s}) { totalCount } }";
    let cases = [
        (
            "a\u{0}b".to_owned(),
            "search: search must not contain control characters",
        ),
        ("x".repeat(1001), "search: search must be at most 1000 characters"),
        (
            format!("{}\u{1}", "x".repeat(1001)),
            "search: search must not contain control characters",
        ),
    ];
    for (search, message) in cases {
        let (status, body) = graphql(&app, &user, query, json!({"s": search})).await;
        assert_eq!(status, 200, "{body}");
        let error = only_error(&body);
        assert_eq!(error["message"], message, "{body}");
        assert_eq!(
            error["extensions"],
            json!({"code": "BAD_USER_INPUT", "field": "search"}),
            "{body}"
        );
    }
    let accepted = data(&app, &user, query, json!({"s": "x".repeat(1000)})).await;
    assert_eq!(accepted["tasks"]["totalCount"], 0);
}
