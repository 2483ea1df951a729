//! The migration that gives tasks a version and adds the idempotency keys: every row keeps
//! every byte, every existing task starts at version 1, and `down` takes back exactly what `up`
//! added.

use migration::Migrator;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait};
use todo_api::testing::migrate::{self, known_versions};
use todo_api::testing::{idempotency_key, task};

use crate::helpers::fresh_database;
use crate::migrations::{connect, schema};
use crate::task_details_migration::{USER_COLUMNS, dump};

const THIS_VERSION: &str = "m20261204_130000_add_versions_and_idempotency_keys";

/// Every column `tasks` had before this migration.
const TASK_COLUMNS: [&str; 11] = [
    "id",
    "user_id",
    "title",
    "description",
    "completed",
    "created_at",
    "updated_at",
    "priority",
    "due_at",
    "repeat",
    "tags",
];

/// Every byte of every old column of `tasks`, and of `users`, is what it was.
async fn assert_kept(db: &DatabaseConnection, tasks: &[String], users: &[String], round: u32) {
    assert_eq!(dump(db, "tasks", &TASK_COLUMNS).await, tasks, "round {round}");
    assert_eq!(dump(db, "users", &USER_COLUMNS).await, users, "round {round}");
}

#[tokio::test]
async fn the_versions_migration_keeps_every_byte_starts_every_task_at_1_and_down_removes_only_what_it_added()
{
    let versions = known_versions::<Migrator>();
    let this = versions
        .iter()
        .position(|version| version == THIS_VERSION)
        .expect("known");
    let database = fresh_database().await;
    let db = connect(&database).await;
    migrate::up::<Migrator>(&db, &database.url, Some(&versions[this - 1]))
        .await
        .expect("the previous version");
    let (user_time, task_time) = (
        "'2026-01-18 10:00:00.000001+00:00'",
        "'2026-06-01 08:30:00.123456+00:00'",
    );
    db.execute_unprepared(&format!(
        "INSERT INTO users (id, email, name, created_at, updated_at) VALUES \
         ('old-user', 'o@example.com', 'Old', {user_time}, {user_time})"
    ))
    .await
    .expect("user");
    let id = |n: u8| match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => format!("'0190f0c4-0000-7000-8000-0000000000{n:02x}'"),
        _ => format!("X'0190f0c400007000800000000000000{n:01x}'"),
    };
    for (n, title, details) in [
        (1, "plain", "1, NULL, 'none', '[]'"),
        (
            2,
            "detailed",
            "2, '2026-12-24 18:00:00.000000+00:00', 'weekly', '[\"home\",\"Work\"]'",
        ),
    ] {
        db.execute_unprepared(&format!(
            "INSERT INTO tasks (id, user_id, title, description, completed, created_at, updated_at, \
             priority, due_at, repeat, tags) VALUES ({}, 'old-user', '{title}', 'kept', false, \
             {task_time}, {task_time}, {details})",
            id(n)
        ))
        .await
        .expect("task");
    }
    let schema_before = schema(&db).await;
    let (tasks_before, users_before) = (
        dump(&db, "tasks", &TASK_COLUMNS).await,
        dump(&db, "users", &USER_COLUMNS).await,
    );
    assert_eq!(tasks_before.len(), 2);

    for round in 1..=2 {
        let applied = migrate::up::<Migrator>(&db, &database.url, Some(THIS_VERSION))
            .await
            .expect("up");
        assert_eq!(applied, [THIS_VERSION], "round {round}");
        assert_kept(&db, &tasks_before, &users_before, round).await;
        assert_eq!(dump(&db, "tasks", &["version"]).await.len(), 2);
        for version in dump(&db, "tasks", &["version"]).await {
            assert!(version.trim_matches('\'') == "1", "round {round}: {version}");
        }
        assert_eq!(
            idempotency_key::Entity::find().count(&db).await.expect("keys"),
            0,
            "round {round}"
        );

        let rolled_back = migrate::down::<Migrator>(&db, &database.url, 1)
            .await
            .expect("down");
        assert_eq!(rolled_back, [THIS_VERSION], "round {round}");
        assert_eq!(
            schema(&db).await,
            schema_before,
            "round {round}: exactly what it added"
        );
        assert_kept(&db, &tasks_before, &users_before, round).await;
    }
    // The latest schema reads the rows back through the entity.
    migrate::up::<Migrator>(&db, &database.url, None)
        .await
        .expect("up");
    let tasks = task::Entity::find().all(&db).await.expect("tasks");
    assert!(tasks.iter().all(|task| task.version == 1), "{tasks:?}");
}
