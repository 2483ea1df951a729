//! Schema history you can trust: status, refusals, failed migrations rolled back, concurrent
//! migrators, down then up without data loss, and a log event per migration.

// `MigrationTrait` methods take `&SchemaManager` with an elided lifetime (see migration/src/lib.rs).
#![allow(elided_lifetimes_in_paths)]

use std::process::Output;

use chrono::{TimeZone, Utc};
use migration::{
    Alias, ColumnDef, DbErr, Index, MigrationName, MigrationTrait, Migrator, MigratorTrait, SchemaManager,
    Table, async_trait,
};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryOrder, Statement,
};
use serde_json::Value;
use todo_api::app::App;
use todo_api::testing::migrate::{self, MigrateError, known_versions};
use todo_api::testing::{task, user};

use crate::helpers::{TestDatabase, captured_logs, fresh_database, require_postgres, test_config};

const FUTURE_VERSION: &str = "m29990101_000000_from_the_future";

// ---------------------------------------------------------------------------------------------
// Test-only migrations and migrators.

/// Does DDL and DML, then fails: everything it did must be rolled back.
struct FailsHalfway;

impl MigrationName for FailsHalfway {
    fn name(&self) -> &str {
        "m29990101_000001_fails_halfway"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for FailsHalfway {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("doomed"))
                    .col(
                        ColumnDef::new(Alias::new("id"))
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("tasks"))
                    .add_column(
                        ColumnDef::new(Alias::new("doomed_flag"))
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tasks_doomed_flag")
                    .table(Alias::new("tasks"))
                    .col(Alias::new("doomed_flag"))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared("UPDATE tasks SET title = 'overwritten', description = NULL")
            .await?;
        db.execute_unprepared("DELETE FROM users WHERE id = 'alice'")
            .await?;
        db.execute_unprepared("INSERT INTO doomed (id) VALUES (1)")
            .await?;
        Err(DbErr::Migration(
            "deliberate failure after DDL and DML".to_owned(),
        ))
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

/// A later version of the schema: `tasks` gains a column (and loses it again on the way down).
struct AddsArchived;

impl MigrationName for AddsArchived {
    fn name(&self) -> &str {
        "m29990101_000002_add_task_archived"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddsArchived {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("tasks"))
                    .add_column(
                        ColumnDef::new(Alias::new("archived"))
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("tasks"))
                    .drop_column(Alias::new("archived"))
                    .to_owned(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

/// Slow enough that concurrent migrators overlap (PostgreSQL only: `pg_sleep`).
struct TakesItsTime;

impl MigrationName for TakesItsTime {
    fn name(&self) -> &str {
        "m29990101_000003_takes_its_time"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for TakesItsTime {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("SELECT pg_sleep(0.3)").await?;
        db.execute_unprepared("CREATE TABLE slow_marker (id INTEGER PRIMARY KEY)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE slow_marker")
            .await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

/// The real migrations followed by test-only ones.
fn real_then(extra: Vec<Box<dyn MigrationTrait>>) -> Vec<Box<dyn MigrationTrait>> {
    let mut all = Migrator::migrations();
    all.extend(extra);
    all
}

struct FailingMigrator;

impl MigratorTrait for FailingMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        real_then(vec![Box::new(FailsHalfway)])
    }
}

struct NextVersionMigrator;

impl MigratorTrait for NextVersionMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        real_then(vec![Box::new(AddsArchived)])
    }
}

struct SlowMigrator;

impl MigratorTrait for SlowMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        real_then(vec![Box::new(TakesItsTime)])
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// A connection of the test's own; also makes sure log capture is on before anything runs.
pub(crate) async fn connect(database: &TestDatabase) -> DatabaseConnection {
    captured_logs();
    todo_api::testing::connect(&database.url)
        .await
        .expect("test connection")
}

/// Two users, three tasks (one with a description, one completed).
async fn seed(db: &DatabaseConnection) {
    let at = |second| {
        Utc.with_ymd_and_hms(2026, 1, 18, 10, 0, second)
            .single()
            .expect("time")
    };
    for (id, email) in [("alice", Some("alice@example.com")), ("bob", None)] {
        user::Entity::insert(user::ActiveModel {
            id: Set(id.to_owned()),
            email: Set(email.map(str::to_owned)),
            name: Set(Some(format!("{id} name"))),
            created_at: Set(at(0)),
            updated_at: Set(at(1)),
        })
        .exec_without_returning(db)
        .await
        .expect("seed user");
    }
    for (index, (owner, description, completed)) in [
        ("alice", Some("two litres"), false),
        ("alice", None, true),
        ("bob", Some(""), false),
    ]
    .into_iter()
    .enumerate()
    {
        task::Entity::insert(task::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            user_id: Set(owner.to_owned()),
            title: Set(format!("task {index} of {owner}")),
            description: Set(description.map(str::to_owned)),
            completed: Set(completed),
            priority: Set(index as i16 % 3),
            due_at: Set((index == 0).then(|| at(59))),
            repeat: Set(if index == 0 { "weekly" } else { "none" }.to_owned()),
            // No tags: the rows of `task_tags` would have to say the same.
            tags: Set("[]".to_owned()),
            created_at: Set(at(index as u32 + 2)),
            updated_at: Set(at(index as u32 + 3)),
            version: Set(index as i32 + 1),
        })
        .exec_without_returning(db)
        .await
        .expect("seed task");
    }
}

async fn users(db: &DatabaseConnection) -> Vec<user::Model> {
    user::Entity::find()
        .order_by_asc(user::Column::Id)
        .all(db)
        .await
        .expect("users")
}

async fn tasks(db: &DatabaseConnection) -> Vec<task::Model> {
    task::Entity::find()
        .order_by_asc(task::Column::Id)
        .all(db)
        .await
        .expect("tasks")
}

/// Every table, column, index and constraint of the database, as text.
pub(crate) async fn schema(db: &DatabaseConnection) -> Vec<String> {
    let backend = db.get_database_backend();
    let queries: &[&str] = match backend {
        DbBackend::Postgres => &[
            "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' \
             || coalesce(column_default, '') AS item FROM information_schema.columns \
             WHERE table_schema = current_schema()",
            "SELECT indexname || ' ' || indexdef AS item FROM pg_indexes WHERE schemaname = current_schema()",
            "SELECT conname || ' ' || pg_get_constraintdef(oid) AS item FROM pg_constraint \
             WHERE connamespace = current_schema()::regnamespace",
        ],
        _ => &["SELECT type || ' ' || name || ' ' || coalesce(sql, '') AS item FROM sqlite_master"],
    };
    let mut items = Vec::new();
    for sql in queries {
        for row in db
            .query_all_raw(Statement::from_string(backend, *sql))
            .await
            .expect("schema query")
        {
            items.push(row.try_get::<String>("", "item").expect("item"));
        }
    }
    items.sort();
    items
}

async fn recorded_versions(db: &DatabaseConnection) -> Vec<String> {
    migrate::applied_versions(db)
        .await
        .expect("versions")
        .into_iter()
        .map(|(version, _)| version)
        .collect()
}

/// Migration events (target `migration`) logged for `version`.
fn migration_events(version: &str) -> Vec<Value> {
    captured_logs()
        .lines()
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["target"] == "migration" && event["version"] == version)
        .collect()
}

/// Runs the real binary with `DATABASE_URL` set, in an empty directory.
async fn todo_api(database: &TestDatabase, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    tokio::process::Command::new(env!("CARGO_BIN_EXE_todo-api"))
        .args(args)
        .current_dir(dir.path())
        .env("DATABASE_URL", &database.url)
        .env("LOG_FORMAT", "json")
        .env_remove("AUTO_MIGRATE")
        .output()
        .await
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[tokio::test]
async fn migrate_status_lists_every_migration_and_fails_on_one_the_binary_does_not_know() {
    let database = fresh_database().await;
    let versions = known_versions::<Migrator>();

    let status = todo_api(&database, &["migrate", "status"]).await;
    assert!(status.status.success(), "{}", stderr(&status));
    let lines: Vec<String> = stdout(&status).lines().map(str::to_owned).collect();
    let expected: Vec<String> = versions.iter().map(|v| format!("{v} pending")).collect();
    assert_eq!(lines, expected);

    let up = todo_api(&database, &["migrate", "up", "--to", &versions[0]]).await;
    assert!(up.status.success(), "{}", stderr(&up));
    let status = todo_api(&database, &["migrate", "status"]).await;
    let out = stdout(&status);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), versions.len());
    let applied_at = lines[0]
        .strip_prefix(&format!("{} applied ", versions[0]))
        .unwrap_or_else(|| panic!("first applied: {out}"));
    assert!(
        chrono::DateTime::parse_from_rfc3339(applied_at).is_ok(),
        "{applied_at}"
    );
    assert_eq!(lines[1], format!("{} pending", versions[1]));

    let up = todo_api(&database, &["migrate", "up"]).await;
    assert!(up.status.success(), "{}", stderr(&up));
    let db = connect(&database).await;
    db.execute_unprepared(&format!(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('{FUTURE_VERSION}', 0)"
    ))
    .await
    .expect("a newer binary's migration");

    let status = todo_api(&database, &["migrate", "status"]).await;
    assert!(!status.status.success(), "must exit non-zero");
    assert!(
        stdout(&status).contains(&format!("{FUTURE_VERSION} unknown")),
        "{}",
        stdout(&status)
    );
    assert!(stderr(&status).contains(FUTURE_VERSION), "{}", stderr(&status));
    for action in [&["migrate", "up"][..], &["migrate", "down"][..]] {
        let refused = todo_api(&database, action).await;
        assert!(!refused.status.success(), "{action:?} must refuse");
        assert!(stderr(&refused).contains(FUTURE_VERSION), "{}", stderr(&refused));
    }
    assert_eq!(tasks(&db).await, Vec::new(), "nothing was rolled back");
}

#[tokio::test]
async fn a_failing_migration_leaves_schema_and_data_exactly_as_before_and_says_which_and_why() {
    let database = fresh_database().await;
    let db = connect(&database).await;
    migrate::up::<Migrator>(&db, &database.url, None)
        .await
        .expect("real migrations");
    seed(&db).await;
    let (schema_before, users_before, tasks_before) = (schema(&db).await, users(&db).await, tasks(&db).await);

    let error = migrate::up::<FailingMigrator>(&db, &database.url, None)
        .await
        .expect_err("the migration fails");
    match &error {
        MigrateError::Failed { version, source } => {
            assert_eq!(version, FailsHalfway.name());
            assert!(source.to_string().contains("deliberate failure"), "{source}");
        }
        other => panic!("unexpected error: {other}"),
    }
    let message = error.to_string();
    assert!(
        message.contains(FailsHalfway.name()) && message.contains("deliberate failure"),
        "{message}"
    );

    assert_eq!(schema(&db).await, schema_before, "schema rolled back");
    assert_eq!(users(&db).await, users_before, "users rolled back");
    assert_eq!(tasks(&db).await, tasks_before, "tasks rolled back");
    assert_eq!(recorded_versions(&db).await, known_versions::<Migrator>());

    let events = migration_events(FailsHalfway.name());
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["outcome"], "failed");
    assert!(
        events[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("deliberate")),
        "{events:?}"
    );
    // And the real migrations were logged as applied when they ran.
    let applied = migration_events(&known_versions::<Migrator>()[0]);
    assert!(applied.iter().any(|e| e["outcome"] == "applied"), "{applied:?}");
}

#[tokio::test]
async fn the_cli_reports_a_failed_migration_by_name_and_exits_non_zero() {
    // The binary only knows the real migrations; a database whose users table is in the way
    // of the first one makes it fail for real.
    let database = fresh_database().await;
    let db = connect(&database).await;
    db.execute_unprepared("CREATE TABLE users (id INTEGER PRIMARY KEY)")
        .await
        .expect("a conflicting table");
    let up = todo_api(&database, &["migrate", "up"]).await;
    assert!(!up.status.success());
    let first = &known_versions::<Migrator>()[0];
    assert!(
        stderr(&up).contains(&format!("migration {first} failed")),
        "{}",
        stderr(&up)
    );
    assert_eq!(recorded_versions(&db).await, Vec::<String>::new());
}

#[tokio::test]
async fn serve_refuses_a_schema_newer_than_the_binary_and_names_the_versions() {
    let database = fresh_database().await;
    let db = connect(&database).await;
    migrate::up::<Migrator>(&db, &database.url, None)
        .await
        .expect("real migrations");
    db.execute_unprepared(&format!(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('{FUTURE_VERSION}', 0)"
    ))
    .await
    .expect("a newer binary's migration");

    for auto_migrate in [true, false] {
        let mut config = test_config(&database.url);
        config.auto_migrate = auto_migrate;
        let error = App::build(&config).await.err().expect("serve refuses to start");
        let message = format!("{error:#}");
        assert!(message.contains(FUTURE_VERSION), "{message}");
        assert!(message.contains("newer than this binary"), "{message}");
        let latest = known_versions::<Migrator>().last().cloned().expect("a migration");
        assert!(message.contains(&latest), "names the binary's version: {message}");
    }
}

#[tokio::test]
async fn serve_with_auto_migrate_off_refuses_pending_migrations_and_names_them() {
    let database = fresh_database().await;
    let versions = known_versions::<Migrator>();
    let mut config = test_config(&database.url);
    config.auto_migrate = false;

    let error = App::build(&config).await.err().expect("serve refuses to start");
    let message = format!("{error:#}");
    for version in &versions {
        assert!(message.contains(version.as_str()), "{message}");
    }
    assert!(message.contains("AUTO_MIGRATE=false"), "{message}");
    let db = connect(&database).await;
    assert_eq!(
        recorded_versions(&db).await,
        Vec::<String>::new(),
        "nothing applied"
    );

    migrate::up::<Migrator>(&db, &database.url, Some(&versions[0]))
        .await
        .expect("first migration");
    let error = App::build(&config).await.err().expect("serve refuses to start");
    let message = format!("{error:#}");
    assert!(message.contains(&versions[1]), "{message}");
    assert!(!message.contains(&versions[0]), "{message}");

    migrate::up::<Migrator>(&db, &database.url, None)
        .await
        .expect("all migrations");
    assert!(
        App::build(&config).await.is_ok(),
        "starts once nothing is pending"
    );
}

#[tokio::test]
async fn migrate_down_then_up_keeps_every_row_of_the_tables_both_versions_have() {
    let database = fresh_database().await;
    let db = connect(&database).await;
    let applied = migrate::up::<NextVersionMigrator>(&db, &database.url, None)
        .await
        .expect("up");
    assert_eq!(applied, known_versions::<NextVersionMigrator>());
    seed(&db).await;
    let (users_before, tasks_before) = (users(&db).await, tasks(&db).await);

    let rolled_back = migrate::down::<NextVersionMigrator>(&db, &database.url, 1)
        .await
        .expect("down");
    assert_eq!(rolled_back, vec![AddsArchived.name().to_owned()]);
    assert!(!schema(&db).await.iter().any(|item| item.contains("archived")));
    assert_eq!(users(&db).await, users_before);
    assert_eq!(tasks(&db).await, tasks_before);

    migrate::up::<NextVersionMigrator>(&db, &database.url, None)
        .await
        .expect("up again");
    assert_eq!(users(&db).await, users_before);
    assert_eq!(tasks(&db).await, tasks_before);

    let outcomes: Vec<Value> = migration_events(AddsArchived.name())
        .iter()
        .map(|event| event["outcome"].clone())
        .collect();
    assert_eq!(outcomes, ["applied", "rolled_back", "applied"]);

    // With the real history: rolling back `tasks` keeps every user.
    let all_but_the_first = known_versions::<NextVersionMigrator>().len() as u32 - 1;
    migrate::down::<NextVersionMigrator>(&db, &database.url, all_but_the_first)
        .await
        .expect("down to the first real migration");
    assert_eq!(users(&db).await, users_before);
    migrate::up::<Migrator>(&db, &database.url, None)
        .await
        .expect("up");
    assert_eq!(users(&db).await, users_before);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with TEST_DATABASE_URL (scripts/test.sh does); the advisory lock is PostgreSQL's"]
async fn concurrent_migrators_on_one_postgresql_apply_each_migration_exactly_once() {
    require_postgres();
    let database = fresh_database().await;
    let migrators = (0..6).map(|_| {
        let url = database.url.clone();
        tokio::spawn(async move {
            let db = todo_api::testing::connect(&url).await.expect("connect");
            migrate::up::<SlowMigrator>(&db, &url, None).await
        })
    });
    let mut applied_by_someone = Vec::new();
    for migrator in futures::future::join_all(migrators).await {
        let applied = migrator
            .expect("task")
            .expect("every migrator succeeds (later ones wait for the lock)");
        applied_by_someone.extend(applied);
    }
    applied_by_someone.sort();
    assert_eq!(
        applied_by_someone,
        known_versions::<SlowMigrator>(),
        "each applied once"
    );

    let db = connect(&database).await;
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT version, count(*) AS n FROM seaql_migrations GROUP BY version ORDER BY version",
        ))
        .await
        .expect("versions");
    let counted: Vec<(String, i64)> = rows
        .iter()
        .map(|row| {
            (
                row.try_get("", "version").expect("version"),
                row.try_get("", "n").expect("n"),
            )
        })
        .collect();
    let expected: Vec<(String, i64)> = known_versions::<SlowMigrator>()
        .into_iter()
        .map(|version| (version, 1))
        .collect();
    assert_eq!(counted, expected);
}
