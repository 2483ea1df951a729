//! Row-level security on PostgreSQL, the wall behind the owner filters: every table holding user
//! rows has it enabled and forced, the server's role passes neither as a superuser nor with
//! `BYPASSRLS`, and a statement without any owner filter, run through a request's own path,
//! reads only the caller's rows. (The whole PostgreSQL run of this suite serves with that role:
//! every other test shows the scoped operations still work behind the wall.)

use reqwest::Method;
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use serde_json::json;

use crate::helpers::{SERVER_ROLE, TestApp, new_user, require_postgres, spawn_app_with};

const OWNED_TABLES: [&str; 6] = [
    "users",
    "tasks",
    "task_tags",
    "idempotency_keys",
    "task_events",
    "task_event_streams",
];

/// Creates `n` tasks (with tags, so `task_tags` has rows too) and one keyed create for `user`;
/// returns the task ids.
async fn seed(app: &TestApp, user: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let task = app
            .create_task(user, json!({"title": format!("{user} {i}"), "tags": ["shared"]}))
            .await;
        ids.push(task["id"].as_str().expect("id").to_owned());
    }
    let keyed = app
        .as_user(user, Method::POST, &TestApp::tasks_path(user))
        .header("idempotency-key", "k")
        .json(&json!({"title": "keyed"}))
        .send()
        .await
        .expect("request");
    assert_eq!(keyed.status(), 201);
    let keyed: serde_json::Value = keyed.json().await.expect("json");
    ids.push(keyed["id"].as_str().expect("id").to_owned());
    ids.sort();
    ids
}

/// The ids a statement without an owner filter sees through `user`'s own request.
async fn unscoped_ids(app: &TestApp, user: &str) -> Vec<String> {
    let response = app
        .as_user(user, Method::GET, &format!("/api/{user}/unscoped-task-ids"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let mut ids: Vec<String> = response.json().await.expect("json");
    ids.sort();
    ids
}

async fn count(db: &impl ConnectionTrait, table: &str) -> i64 {
    db.query_one_raw(Statement::from_string(
        DbBackend::Postgres,
        format!("SELECT count(*) AS n FROM {table}"),
    ))
    .await
    .expect("count")
    .expect("a row")
    .try_get::<i64>("", "n")
    .expect("n")
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with TEST_DATABASE_URL (scripts/test.sh does); SQLite has no row-level security"]
async fn a_statement_without_an_owner_filter_reads_only_the_callers_rows() {
    require_postgres();
    let app = spawn_app_with(|config| config.unscoped_probe = true).await;
    let (alice, bob) = (new_user(), new_user());
    let alice_ids = seed(&app, &alice, 2).await;
    let bob_ids = seed(&app, &bob, 3).await;

    // The probe's statement has no owner filter: the table's owner (the tests' superuser)
    // sees everyone's rows with it...
    let unscoped = "SELECT id FROM tasks";
    let everyone = app
        .db
        .query_all_raw(Statement::from_string(DbBackend::Postgres, unscoped))
        .await
        .expect("query");
    assert_eq!(everyone.len(), alice_ids.len() + bob_ids.len());
    // ...and through each caller's request, the database confines it to the caller's.
    assert_eq!(unscoped_ids(&app, &alice).await, alice_ids);
    assert_eq!(unscoped_ids(&app, &bob).await, bob_ids);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with TEST_DATABASE_URL (scripts/test.sh does); SQLite has no row-level security"]
async fn the_server_role_sees_nothing_outside_a_scope_and_writes_nothing_for_another_user() {
    require_postgres();
    let app = spawn_app_with(|_| {}).await;
    let (alice, bob) = (new_user(), new_user());
    seed(&app, &alice, 2).await;
    seed(&app, &bob, 1).await;
    let server = todo_api::testing::connect(&app.database.server_url)
        .await
        .expect("the server's role connects");

    // Without `app.user_id` no policy admits a row, on any table.
    for table in OWNED_TABLES {
        assert!(count(&app.db, table).await > 0, "{table} has rows");
        assert_eq!(count(&server, table).await, 0, "{table} without a scope");
    }

    // In Alice's scope: her rows only, on every table, and no row can be written as Bob's.
    let alice_scope = server.begin().await.expect("begin");
    alice_scope
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT set_config('app.user_id', $1, true)",
            [alice.clone().into()],
        ))
        .await
        .expect("name the owner");
    assert_eq!(count(&alice_scope, "users").await, 1);
    assert_eq!(count(&alice_scope, "tasks").await, 3);
    assert_eq!(count(&alice_scope, "task_tags").await, 2);
    assert_eq!(count(&alice_scope, "idempotency_keys").await, 1);
    assert_eq!(count(&alice_scope, "task_events").await, 3);
    assert_eq!(count(&alice_scope, "task_event_streams").await, 1);
    let moved = alice_scope
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE tasks SET title = 'taken' WHERE user_id = $1",
            [bob.clone().into()],
        ))
        .await
        .expect("an update that finds nothing");
    assert_eq!(moved.rows_affected(), 0, "Bob's rows are not Alice's to change");
    let forged = alice_scope
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE tasks SET user_id = $1",
            [bob.clone().into()],
        ))
        .await;
    assert!(
        forged.is_err(),
        "Alice's rows cannot be handed to Bob: {forged:?}"
    );
    drop(alice_scope);
    assert_eq!(app.rows_of(&bob).await.len(), 2);
    assert!(app.rows_of(&bob).await.iter().all(|row| row["title"] != "taken"));
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with TEST_DATABASE_URL (scripts/test.sh does); SQLite has no row-level security"]
async fn row_level_security_is_forced_on_every_table_holding_user_rows_and_binds_the_server_role() {
    require_postgres();
    let app = spawn_app_with(|_| {}).await;
    for table in OWNED_TABLES {
        let row = app
            .db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT relrowsecurity, relforcerowsecurity,
                        (SELECT count(*) FROM pg_policies WHERE tablename = $1) AS policies
                 FROM pg_class WHERE oid = $1::regclass",
                [table.into()],
            ))
            .await
            .expect("catalog")
            .expect("the table");
        let enabled: bool = row.try_get("", "relrowsecurity").expect("flag");
        let forced: bool = row.try_get("", "relforcerowsecurity").expect("flag");
        let policies: i64 = row.try_get("", "policies").expect("count");
        assert!(enabled && forced, "{table}: enabled {enabled}, forced {forced}");
        assert!(policies >= 1, "{table} has its owner policy");
    }
    let role = app
        .db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1",
            [SERVER_ROLE.into()],
        ))
        .await
        .expect("catalog")
        .expect("the server role");
    assert!(!role.try_get::<bool>("", "rolsuper").expect("flag"));
    assert!(!role.try_get::<bool>("", "rolbypassrls").expect("flag"));
    // The role the app serves with is that one.
    let server = todo_api::testing::connect(&app.database.server_url)
        .await
        .expect("connect");
    let user = server
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_user AS u",
        ))
        .await
        .expect("query")
        .expect("row")
        .try_get::<String>("", "u")
        .expect("name");
    assert_eq!(user, SERVER_ROLE);
}
