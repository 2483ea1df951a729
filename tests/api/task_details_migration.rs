//! The migration that gives tasks a priority, a due date, a repetition and tags: every row a
//! client wrote keeps every byte, old rows get the defaults, `down` takes back exactly what `up`
//! added, and the new table is owned, cascaded and indexed as the queries need.

use chrono::{TimeZone, Utc};
use migration::Migrator;
use reqwest::Method;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use serde_json::{Value, json};
use todo_api::testing::migrate::{self, known_versions};
use todo_api::testing::{Owner, TaskTags, UserId, provision_user, task, task_tag};

use crate::helpers::{TestApp, fresh_database, new_user, spawn_app_in};
use crate::migrations::{connect, schema};

const THIS_VERSION: &str = "m20261204_120000_add_task_details";

/// The columns every version of the schema since `tasks` was created has.
const OLD_TASK_COLUMNS: [&str; 7] = [
    "id",
    "user_id",
    "title",
    "description",
    "completed",
    "created_at",
    "updated_at",
];
pub(crate) const USER_COLUMNS: [&str; 5] = ["id", "email", "name", "created_at", "updated_at"];

/// Every row of `table`, each `columns` value quoted as an SQL literal by the database itself
/// (SQLite's `quote`: text, blobs as `X'…'`; PostgreSQL's `quote_nullable` of the value's text),
/// ordered by `id`: two dumps are equal only if every stored byte is.
pub(crate) async fn dump(db: &DatabaseConnection, table: &str, columns: &[&str]) -> Vec<String> {
    let backend = db.get_database_backend();
    let quoted: Vec<String> = columns
        .iter()
        .map(|column| match backend {
            DbBackend::Postgres => format!("quote_nullable(\"{column}\"::text)"),
            _ => format!("quote(\"{column}\")"),
        })
        .collect();
    let sql = format!(
        "SELECT {} AS item FROM {table} ORDER BY id",
        quoted.join(" || '|' || ")
    );
    db.query_all_raw(Statement::from_string(backend, sql))
        .await
        .expect("dump")
        .iter()
        .map(|row| row.try_get::<String>("", "item").expect("item"))
        .collect()
}

/// The version before this migration, and the versions after it.
fn neighbours() -> (String, Vec<String>) {
    let versions = known_versions::<Migrator>();
    let this = versions
        .iter()
        .position(|version| version == THIS_VERSION)
        .expect("this migration is known");
    (versions[this - 1].clone(), versions[this + 1..].to_vec())
}

/// The schema of a fresh database migrated up to (and including) `version`.
async fn schema_at(version: &str) -> Vec<String> {
    let database = fresh_database().await;
    let db = connect(&database).await;
    migrate::up::<Migrator>(&db, &database.url, Some(version))
        .await
        .expect("migrate to the version");
    schema(&db).await
}

fn owner(user: &str) -> Owner {
    Owner::verified(UserId::parse(user).expect("user id"))
}

/// Tasks of two users written through the REST API: created, edited, completed, with titles and
/// descriptions that exercise quoting and encodings.
async fn seed_through_the_api(app: &TestApp) -> Vec<(String, Vec<Value>)> {
    let (alice, bob) = (new_user(), new_user());
    let mut created = Vec::new();
    for (user, body) in [
        (&alice, json!({"title": "Buy milk"})),
        (
            &alice,
            json!({"title": "  Ünïcödé ✓ 🧪 ", "description": "two\nlines\tand 'quotes' \"too\""}),
        ),
        (
            &alice,
            json!({"title": "Done already", "description": "", "completed": true}),
        ),
        (
            &alice,
            json!({"title": "O'Brien; DROP TABLE tasks;--", "description": null}),
        ),
        (
            &bob,
            json!({"title": "bob's only task", "description": "%_\\ literal"}),
        ),
    ] {
        let task = app.create_task(user, body).await;
        created.push((user.clone(), task["id"].as_str().expect("id").to_owned()));
    }
    // Edits and completions go through the API too, so `updated_at` differs from `created_at`.
    let (user, id) = &created[0];
    let response = app
        .as_user(user, Method::PUT, &format!("{}/{id}", TestApp::tasks_path(user)))
        .json(&json!({"title": "Buy oat milk", "description": "2 litres"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let (user, id) = &created[1];
    let response = app
        .as_user(
            user,
            Method::PATCH,
            &format!("{}/{id}/complete", TestApp::tasks_path(user)),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);

    let mut listings = Vec::new();
    for user in [alice, bob] {
        let (_, tasks) = app.list_tasks(&user, "sort=title&order=asc").await;
        listings.push((user, tasks));
    }
    listings
}

/// Gives some of the seeded tasks non-default details, as a later version of the API would.
async fn set_details(db: &DatabaseConnection, user: &str) {
    let ids: Vec<uuid::Uuid> = task::Entity::find_for_owner(&owner(user))
        .all(db)
        .await
        .expect("tasks")
        .into_iter()
        .map(|task| task.id)
        .collect();
    let due = Utc
        .with_ymd_and_hms(2026, 12, 24, 18, 0, 0)
        .single()
        .expect("time");
    let tags = TaskTags::parse(vec!["Work".into(), "home".into()]).expect("tags");
    task::Entity::update_one_for_owner(&owner(user), ids[0])
        .col_expr(task::Column::Priority, 2.into())
        .col_expr(task::Column::DueAt, due.into())
        .col_expr(task::Column::Repeat, "weekly".into())
        .col_expr(task::Column::Tags, tags.to_column().into())
        .exec(db)
        .await
        .expect("details");
    task_tag::Entity::insert_many(task_tag::Entity::rows_for_task(&owner(user), ids[0], &tags))
        .exec_without_returning(db)
        .await
        .expect("tags");
}

/// Every task has the defaults of the new columns (no tags on the row) and no task has a tag row.
/// Reads those columns only: the schema may be this migration's, without later columns.
async fn assert_new_columns_hold_the_defaults(db: &DatabaseConnection) {
    let details = task::Entity::find()
        .select_only()
        .columns([
            task::Column::Priority,
            task::Column::DueAt,
            task::Column::Repeat,
            task::Column::Tags,
        ])
        .into_tuple::<(i16, Option<chrono::DateTime<Utc>>, String, String)>()
        .all(db)
        .await
        .expect("tasks");
    assert_eq!(details.len(), 5);
    for row in details {
        assert_eq!(row, (1, None, "none".to_owned(), "[]".to_owned()));
    }
    assert_eq!(task_tag::Entity::find().count(db).await.expect("count"), 0);
}

#[tokio::test]
async fn the_task_details_migration_keeps_every_old_byte_and_down_removes_exactly_what_it_added() {
    let (previous, later) = neighbours();

    let database = fresh_database().await;
    let app = spawn_app_in(database, |_| {}).await;
    let db = &app.db;
    let url = app.database.url.clone();
    let listings = seed_through_the_api(&app).await;
    set_details(db, &listings[0].0).await;
    // Back to this migration's schema: the rounds below go down one step from it and up again.
    migrate::down::<Migrator>(db, &url, later.len() as u32)
        .await
        .expect("down to this version");
    let schema_with_details = schema(db).await;
    let schema_without = schema_at(&previous).await;
    let (tasks_before, users_before) = (
        dump(db, "tasks", &OLD_TASK_COLUMNS).await,
        dump(db, "users", &USER_COLUMNS).await,
    );
    assert_eq!(tasks_before.len(), 5);
    assert_eq!(users_before.len(), 2);

    for round in 1..=2 {
        let rolled_back = migrate::down::<Migrator>(db, &url, 1).await.expect("down");
        assert_eq!(rolled_back, [THIS_VERSION], "round {round}");
        assert_eq!(
            schema(db).await,
            schema_without,
            "round {round}: the schema is the previous version's, item for item"
        );
        assert_eq!(
            dump(db, "tasks", &OLD_TASK_COLUMNS).await,
            tasks_before,
            "round {round}"
        );
        assert_eq!(
            dump(db, "users", &USER_COLUMNS).await,
            users_before,
            "round {round}"
        );

        let applied = migrate::up::<Migrator>(db, &url, Some(THIS_VERSION))
            .await
            .expect("up");
        assert_eq!(applied, [THIS_VERSION], "round {round}");
        assert_eq!(schema(db).await, schema_with_details, "round {round}");
        assert_eq!(
            dump(db, "tasks", &OLD_TASK_COLUMNS).await,
            tasks_before,
            "round {round}"
        );
        assert_eq!(
            dump(db, "users", &USER_COLUMNS).await,
            users_before,
            "round {round}"
        );
        assert_new_columns_hold_the_defaults(db).await;
    }

    // The API answers exactly as it did before the round trips, but for what the later
    // migrations added and took back with them (versions start again at 1).
    let applied = migrate::up::<Migrator>(db, &url, None).await.expect("up");
    assert_eq!(applied, later);
    let without_versions = |tasks: &[Value]| -> Vec<Value> {
        tasks
            .iter()
            .map(|task| {
                let mut task = task.clone();
                task.as_object_mut().expect("an object").remove("version");
                task
            })
            .collect()
    };
    for (user, before) in &listings {
        let (_, after) = app.list_tasks(user, "sort=title&order=asc").await;
        assert_eq!(without_versions(&after), without_versions(before));
    }
}

/// `INSERT INTO tasks` naming only the columns the previous version had, as its server did.
fn old_style_task_insert(backend: DbBackend, id_suffix: u8, title: &str) -> String {
    let (id, completed) = match backend {
        DbBackend::Postgres => (
            format!("'0190f0c4-0000-7000-8000-0000000000{id_suffix:02x}'"),
            "true",
        ),
        _ => (format!("X'0190f0c400007000800000000000000{id_suffix:01x}'"), "1"),
    };
    format!(
        "INSERT INTO tasks (id, user_id, title, description, completed, created_at, updated_at) \
         VALUES ({id}, 'old-user', '{title}', 'kept', {completed}, \
         '2026-01-18 10:00:00.000001+00:00', '2026-01-18 10:00:00.000002+00:00')"
    )
}

#[tokio::test]
async fn rows_written_before_the_migration_get_the_defaults_and_so_do_inserts_naming_only_old_columns() {
    let database = fresh_database().await;
    let db = connect(&database).await;
    let backend = db.get_database_backend();
    let (previous, _) = neighbours();
    migrate::up::<Migrator>(&db, &database.url, Some(&previous))
        .await
        .expect("the previous version");
    db.execute_unprepared(
        "INSERT INTO users (id, email, name, created_at, updated_at) VALUES \
         ('old-user', NULL, 'Old', '2026-01-18 10:00:00.000001+00:00', '2026-01-18 10:00:00.000001+00:00')",
    )
    .await
    .expect("user");
    db.execute_unprepared(&old_style_task_insert(
        backend,
        1,
        "written by the previous version",
    ))
    .await
    .expect("task");
    let (users_before, tasks_before) = (
        dump(&db, "users", &USER_COLUMNS).await,
        dump(&db, "tasks", &OLD_TASK_COLUMNS).await,
    );
    assert_eq!(tasks_before.len(), 1);

    migrate::up::<Migrator>(&db, &database.url, None)
        .await
        .expect("up");
    assert_eq!(dump(&db, "users", &USER_COLUMNS).await, users_before);
    assert_eq!(dump(&db, "tasks", &OLD_TASK_COLUMNS).await, tasks_before);

    // A writer that knows only the old columns (an older binary mid-deploy) still inserts.
    db.execute_unprepared(&old_style_task_insert(
        backend,
        2,
        "written without the new columns",
    ))
    .await
    .expect("an insert naming only the old columns");
    let tasks = task::Entity::find_for_owner(&owner("old-user"))
        .all(&db)
        .await
        .expect("read");
    assert_eq!(tasks.len(), 2);
    for task in tasks {
        assert_eq!(
            (
                task.priority,
                task.due_at,
                task.repeat.as_str(),
                task.tags.as_str()
            ),
            (1, None, "none", "[]"),
            "{task:?}"
        );
        assert!(
            task.completed && task.description.as_deref() == Some("kept"),
            "{task:?}"
        );
    }
    assert_eq!(task_tag::Entity::find().count(&db).await.expect("count"), 0);
}

#[tokio::test]
async fn tags_belong_to_one_task_once_per_key_and_go_with_their_task() {
    let database = fresh_database().await;
    let app = spawn_app_in(database, |_| {}).await;
    let db = &app.db;
    let user = new_user();
    let first = app.create_task(&user, json!({"title": "first"})).await;
    let second = app.create_task(&user, json!({"title": "second"})).await;
    let id = |task: &Value| uuid::Uuid::parse_str(task["id"].as_str().expect("id")).expect("uuid");
    let (first, second) = (id(&first), id(&second));
    let owner = owner(&user);

    let tags = TaskTags::parse(vec!["Work".into(), "errands".into(), "WORK".into()]).expect("tags");
    for task_id in [first, second] {
        task_tag::Entity::insert_many(task_tag::Entity::rows_for_task(&owner, task_id, &tags))
            .exec_without_returning(db)
            .await
            .expect("tags");
    }
    let stored = task_tag::Entity::find_for_owner(&owner)
        .filter(task_tag::Column::TaskId.eq(first))
        .order_by_asc(task_tag::Column::TagKey)
        .all(db)
        .await
        .expect("tags");
    let texts: Vec<(&str, &str)> = stored
        .iter()
        .map(|row| (row.tag.as_str(), row.tag_key.as_str()))
        .collect();
    assert_eq!(texts, [("errands", "errands"), ("Work", "work")]);

    // One row per task and key: the same key again is a constraint violation.
    let duplicate = task_tag::Entity::insert(task_tag::ActiveModel {
        user_id: Set(user.clone()),
        task_id: Set(first),
        tag_key: Set("work".into()),
        tag: Set("wOrK".into()),
    })
    .exec_without_returning(db)
    .await;
    assert!(duplicate.is_err(), "a second row for one key");

    // Another user's constructors see none of them.
    let stranger = self::owner(&new_user());
    assert_eq!(
        task_tag::Entity::find_for_owner(&stranger)
            .filter(task_tag::Column::TaskId.is_in([first, second]))
            .count(db)
            .await
            .expect("count"),
        0
    );
    let both =
        task_tag::Entity::task_ids_with_every_key_for_owner(&owner, &["work".into(), "errands".into()]);
    let with_both = task::Entity::find_for_owner(&owner)
        .filter(task::Column::Id.in_subquery(both))
        .count(db)
        .await
        .expect("count");
    assert_eq!(with_both, 2);
    let none = task_tag::Entity::task_ids_with_every_key_for_owner(&stranger, &["work".into()]);
    let for_stranger = task::Entity::find()
        .filter(task::Column::Id.in_subquery(none))
        .count(db)
        .await
        .expect("count");
    assert_eq!(for_stranger, 0);

    // Deleting a task through the API deletes its tags, and only its tags.
    let response = app
        .as_user(
            &user,
            Method::DELETE,
            &format!("{}/{first}", TestApp::tasks_path(&user)),
        )
        .send()
        .await
        .expect("request");
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(
        task_tag::Entity::find_for_owner(&owner)
            .filter(task_tag::Column::TaskId.eq(first))
            .count(db)
            .await
            .expect("count"),
        0
    );
    assert_eq!(
        task_tag::Entity::find_for_owner(&owner)
            .filter(task_tag::Column::TaskId.eq(second))
            .count(db)
            .await
            .expect("count"),
        2
    );
    task_tag::Entity::delete_for_task(&owner, second)
        .exec(db)
        .await
        .expect("delete");
    assert_eq!(
        task_tag::Entity::find_for_owner(&owner)
            .count(db)
            .await
            .expect("count"),
        0
    );
}

/// The plan of `sql` as text: SQLite's `EXPLAIN QUERY PLAN` details or PostgreSQL's `EXPLAIN`.
async fn plan(db: &DatabaseConnection, sql: &str) -> String {
    let backend = db.get_database_backend();
    let (explain, column) = match backend {
        DbBackend::Postgres => (format!("EXPLAIN (COSTS OFF) {sql}"), "QUERY PLAN"),
        _ => (format!("EXPLAIN QUERY PLAN {sql}"), "detail"),
    };
    db.query_all_raw(Statement::from_string(backend, explain))
        .await
        .expect("explain")
        .iter()
        .map(|row| row.try_get::<String>("", column).expect("plan line"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `users` × `per_user` tasks, a third without a due date, and tags `t0`..`t9` spread over them.
async fn seed_volume(db: &DatabaseConnection, users: &[String], per_user: usize) {
    let base = Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).single().expect("time");
    for user in users {
        provision_user(db, user).await.expect("user");
        let tasks: Vec<task::Model> = (0..per_user)
            .map(|i| task::Model {
                id: uuid::Uuid::now_v7(),
                user_id: user.clone(),
                title: format!("task {i}"),
                description: None,
                completed: i % 4 == 0,
                priority: (i % 3) as i16,
                due_at: (i % 3 != 0).then(|| base + chrono::Duration::hours((i * 7919 % 8760) as i64)),
                repeat: "none".into(),
                tags: TaskTags::parse(vec![format!("t{}", i % 10), format!("t{}", i % 7)])
                    .expect("tags")
                    .to_column(),
                created_at: base,
                updated_at: base,
                version: 1,
            })
            .collect();
        for chunk in tasks.chunks(250) {
            task::Entity::insert_many(chunk.iter().map(|t| task::ActiveModel {
                id: Set(t.id),
                user_id: Set(t.user_id.clone()),
                title: Set(t.title.clone()),
                description: Set(None),
                completed: Set(t.completed),
                priority: Set(t.priority),
                due_at: Set(t.due_at),
                repeat: Set(t.repeat.clone()),
                tags: Set(t.tags.clone()),
                created_at: Set(t.created_at),
                updated_at: Set(t.updated_at),
                version: Set(t.version),
            }))
            .exec_without_returning(db)
            .await
            .expect("tasks");
            let tags = chunk.iter().flat_map(|t| {
                let tags = TaskTags::from_column(&t.tags).expect("tags");
                task_tag::Entity::rows_for_task(&owner(user), t.id, &tags)
            });
            task_tag::Entity::insert_many(tags)
                .exec_without_returning(db)
                .await
                .expect("tags");
        }
    }
    // Statistics as a live database has them. On PostgreSQL that includes the visibility map
    // autovacuum maintains: without it, the planner prices every index-only scan as if each
    // row's page had to be read, and on a table this small prefers walking the primary key.
    let statistics = match db.get_database_backend() {
        DbBackend::Postgres => "VACUUM ANALYZE",
        _ => "ANALYZE",
    };
    db.execute_unprepared(statistics).await.expect("statistics");
}

#[tokio::test]
async fn tag_intersections_and_the_new_sorts_are_index_range_scans_not_scans_of_the_users_tasks() {
    let database = fresh_database().await;
    let db = connect(&database).await;
    migrate::up::<Migrator>(&db, &database.url, None)
        .await
        .expect("up");
    let users: Vec<String> = (0..10).map(|_| new_user()).collect();
    seed_volume(&db, &users, 400).await;
    let user = &users[1];
    let postgres = db.get_database_backend() == DbBackend::Postgres;

    let with_both_tags = format!(
        "SELECT id FROM tasks WHERE user_id = '{user}' AND id IN (\
         SELECT task_id FROM task_tags WHERE user_id = '{user}' AND tag_key IN ('t3', 't5') \
         GROUP BY task_id HAVING COUNT(task_id) = 2)"
    );
    let dated_ascending = format!(
        "SELECT id FROM tasks WHERE user_id = '{user}' AND due_at IS NOT NULL \
         AND due_at > '2026-06-01T00:00:00Z' ORDER BY due_at ASC, id ASC LIMIT 20"
    );
    let dated_descending = format!(
        "SELECT id FROM tasks WHERE user_id = '{user}' AND due_at IS NOT NULL \
         AND due_at < '2026-06-01T00:00:00Z' ORDER BY due_at DESC, id DESC LIMIT 20"
    );
    let undated_descending =
        format!("SELECT id FROM tasks WHERE user_id = '{user}' AND due_at IS NULL ORDER BY id DESC LIMIT 20");
    let most_urgent_first = format!(
        "SELECT id FROM tasks WHERE user_id = '{user}' AND priority <= 1 ORDER BY priority DESC, id DESC LIMIT 20"
    );
    for (sql, index) in [
        (&with_both_tags, "idx_task_tags_user_id_tag_key_task_id"),
        (&dated_ascending, "idx_tasks_user_id_due_at_id"),
        (&dated_descending, "idx_tasks_user_id_due_at_id"),
        (&undated_descending, "idx_tasks_user_id_undated_id"),
        (&most_urgent_first, "idx_tasks_user_id_priority_id"),
    ] {
        let plan = plan(&db, sql).await;
        assert!(plan.contains(index), "{sql}\n{plan}");
        if postgres {
            assert!(!plan.contains("Seq Scan"), "{sql}\n{plan}");
        } else {
            // `SCAN` is a full pass over a table or index; `SEARCH` is a range of an index.
            assert!(
                !plan.lines().any(|line| line.starts_with("SCAN")),
                "{sql}\n{plan}"
            );
        }
        if sql != &with_both_tags {
            // Pages come in index order: no sort of the owner's rows.
            assert!(
                !plan.contains("Sort") && !plan.contains("TEMP B-TREE"),
                "{sql}\n{plan}"
            );
        }
    }
}
