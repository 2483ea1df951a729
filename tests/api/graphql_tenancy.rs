//! Tenant isolation through GraphQL: another user's task behaves exactly like a missing one,
//! and nothing of it changes.

use serde_json::{Value, json};

use crate::graphql_helpers::{codes, create, data, graphql};
use crate::helpers::{TestApp, new_user, spawn_app};

struct Tenants {
    app: TestApp,
    alice: String,
    bob: String,
    bobs_ids: Vec<Value>,
}

async fn tenants() -> Tenants {
    let app = spawn_app().await;
    let (alice, bob) = (new_user(), new_user());
    create(&app, &alice, json!({"title": "alice's"})).await;
    let mut bobs_ids = Vec::new();
    for (i, completed) in [false, true, false].into_iter().enumerate() {
        let task = create(
            &app,
            &bob,
            json!({"title": format!("bob {i}"), "description": "private", "completed": completed}),
        )
        .await;
        bobs_ids.push(task["id"].clone());
    }
    Tenants {
        app,
        alice,
        bob,
        bobs_ids,
    }
}

const MUTATIONS: [&str; 6] = [
    "mutation($id: ID!) { updateTask(id: $id, input: {title: \"pwned\", description: null}) { id } }",
    "mutation($id: ID!) { updateTask(id: $id, input: {}) { id title } }",
    "mutation($id: ID!) { toggleTask(id: $id) { id } }",
    "mutation($id: ID!) { setTaskCompleted(id: $id, completed: true) { id } }",
    "mutation($id: ID!) { setTaskCompleted(id: $id, completed: false) { id } }",
    "mutation($id: ID!) { deleteTask(id: $id) }",
];

#[tokio::test]
async fn another_users_task_reads_as_null_and_every_mutation_of_it_is_not_found() {
    let t = tenants().await;
    let bobs_rows = t.app.rows_of(&t.bob).await;
    let alices_rows = t.app.rows_of(&t.alice).await;
    for id in &t.bobs_ids {
        let read = data(
            &t.app,
            &t.alice,
            "query($id: ID!) { task(id: $id) { id title } }",
            json!({"id": id}),
        )
        .await;
        assert_eq!(read["task"], Value::Null);
        for mutation in MUTATIONS {
            let (status, body) = graphql(&t.app, &t.alice, mutation, json!({"id": id})).await;
            assert_eq!(status, 200);
            assert_eq!(codes(&body), ["NOT_FOUND"], "{mutation}: {body}");
            assert_eq!(body["errors"][0]["message"], "Task not found");
            assert_eq!(body["data"], Value::Null);
        }
    }
    assert_eq!(t.app.rows_of(&t.bob).await, bobs_rows, "bob's tasks changed");
    assert_eq!(
        t.app.rows_of(&t.alice).await,
        alices_rows,
        "alice's tasks changed"
    );
}

#[tokio::test]
async fn lists_counts_and_owners_never_show_another_users_data() {
    let t = tenants().await;
    let seen = data(
        &t.app,
        &t.alice,
        "{ tasks(first: 100) { totalCount nodes { title owner { id } } }
           taskStats { total completed }
           me { id tasks { totalCount } taskStats { total } } }",
        json!({}),
    )
    .await;
    assert_eq!(seen["tasks"]["totalCount"], 1);
    assert_eq!(
        seen["tasks"]["nodes"],
        json!([{"title": "alice's", "owner": {"id": t.alice}}])
    );
    assert_eq!(seen["taskStats"], json!({"total": 1, "completed": 0}));
    assert_eq!(seen["me"]["id"], t.alice.as_str());
    assert_eq!(seen["me"]["tasks"]["totalCount"], 1);
    assert_eq!(seen["me"]["taskStats"]["total"], 1);
    let searched = data(
        &t.app,
        &t.alice,
        "{ tasks(filter: {search: \"bob\"}) { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(searched["tasks"]["totalCount"], 0);
}

/// One document with `n` aliased mutations, cycling through every mutation over Bob's ids.
fn aliased_mutations(bobs_ids: &[Value], n: usize) -> String {
    let fields: Vec<String> = (0..n)
        .map(|i| {
            let id = &bobs_ids[i % bobs_ids.len()];
            match i % 5 {
                0 => format!("m{i}: updateTask(id: {id}, input: {{title: \"pwned\"}}) {{ id }}"),
                1 => format!("m{i}: toggleTask(id: {id}) {{ id }}"),
                2 => format!("m{i}: setTaskCompleted(id: {id}, completed: true) {{ id }}"),
                3 => format!("m{i}: setTaskCompleted(id: {id}, completed: false) {{ id }}"),
                _ => format!("m{i}: deleteTask(id: {id})"),
            }
        })
        .collect();
    format!("mutation {{ {} }}", fields.join("\n"))
}

#[tokio::test]
async fn fifty_aliased_mutations_of_another_users_tasks_are_refused_whole() {
    let t = tenants().await;
    let rows = t.app.rows_of(&t.bob).await;
    let (status, body) = graphql(&t.app, &t.alice, &aliased_mutations(&t.bobs_ids, 50), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(codes(&body), ["GRAPHQL_VALIDATION_FAILED"], "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("50 aliased fields")),
        "{body}"
    );
    assert!(body.get("data").is_none_or(Value::is_null), "{body}");
    assert_eq!(t.app.rows_of(&t.bob).await, rows);
}

#[tokio::test]
async fn thirty_aliased_mutations_of_another_users_tasks_are_each_not_found() {
    let t = tenants().await;
    let rows = t.app.rows_of(&t.bob).await;
    let (status, body) = graphql(&t.app, &t.alice, &aliased_mutations(&t.bobs_ids, 30), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(codes(&body), vec!["NOT_FOUND"; 30], "{body}");
    assert_eq!(t.app.rows_of(&t.bob).await, rows);
    // The same document as Bob does change his tasks: the refusals above were about ownership.
    let (_, own) = graphql(&t.app, &t.bob, &aliased_mutations(&t.bobs_ids, 5), json!({})).await;
    assert!(own.get("errors").is_none(), "{own}");
    assert_eq!(t.app.rows_of(&t.bob).await.len(), rows.len() - 1);
}
