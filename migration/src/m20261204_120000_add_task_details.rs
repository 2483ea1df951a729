//! Richer tasks: `tasks` gains `priority`, `due_at`, `repeat` and `tags` (every existing row gets
//! the defaults: medium, no due date, no repetition, no tags), and a `task_tags` table holds each
//! task's tags again, one row per tag, for finding tasks by tag.
//!
//! Encodings (the application's `domain` types are their only writers, and check them; the columns
//! carry no `CHECK` constraint because PostgreSQL prepares a table's check expressions anew for
//! every execution of an `INSERT`, which made a single-task create a quarter slower):
//! - `priority`: 0 low, 1 medium, 2 high, so ordering by the column orders by urgency;
//! - `repeat`: the lower-case names clients use (`none`, `daily`, `weekly`, `monthly`, `yearly`);
//! - `due_at`: UTC with microseconds, written by the application (SQLite compares it as text);
//! - `tags`: the task's tags as a JSON array of strings (first spellings, sorted by key), what
//!   every read of a task answers with: reading it costs nothing more than the row. The
//!   application writes it and the task's `task_tags` rows in the same statement or transaction.
//!
//! `task_tags` rows carry their task's owner, and every statement of the application filters by
//! it. The index `(user_id, tag_key, task_id)` serves "the owner's tasks with tag X" (and, grouped,
//! with X and Y) from the index alone. The primary key `(task_id, tag_key)` (one row per tag of a
//! task) serves replacing a task's tags and, leading with `task_id`, the cascade when a task is
//! deleted: a key `(user_id, task_id, …)` would leave that cascade (`DELETE … WHERE task_id = $1`,
//! issued by the database itself, without the owner) a scan of the whole table.
//!
//! Sorting by due date puts tasks without one last in both directions, so a keyset page is the
//! dated segment (`due_at IS NOT NULL`, ordered by `due_at, id`) followed by the undated one
//! (`due_at IS NULL`, ordered by `id`). Two partial indexes partition the owner's tasks along
//! that line: `(user_id, due_at, id) WHERE due_at IS NOT NULL` and `(user_id, id) WHERE due_at
//! IS NULL`; each segment is a range of one of them in either direction, and together they hold
//! one entry per task, as a single index on `(user_id, due_at, id)` would. That single index
//! would not do on PostgreSQL: its planner treats `due_at IS NULL` as no equality, so it cannot
//! read the undated segment in `id` order from it and falls back to sorting or to walking the
//! primary key across every user's tasks. An index leading with `due_at IS NULL` has the same
//! problem and serves only one direction. `(user_id, priority, id)` serves "most urgent first".
//!
//! `down` drops exactly this: the table, the indexes, then the columns (SQLite ≥ 3.35 drops a
//! column only once no index uses it, hence that order).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
    UserId,
    Priority,
    DueAt,
    Repeat,
    Tags,
}

#[derive(DeriveIden)]
enum TaskTags {
    Table,
    UserId,
    TaskId,
    TagKey,
    Tag,
}

/// Medium, in the column's encoding.
const PRIORITY_DEFAULT: i16 = 1;
const REPEAT_DEFAULT: &str = "none";
/// Long enough for every repetition's name (`none`, `daily`, `weekly`, `monthly`, `yearly`).
const REPEAT_LEN: u32 = 16;
/// No tags, as the `tags` column encodes them.
const TAGS_DEFAULT: &str = "[]";
/// Tags are at most 50 characters; the column bounds characters on PostgreSQL (SQLite ignores
/// lengths), so 50 is exact there too.
const TAG_LEN: u32 = 50;

const OWNER_DUE_INDEX: &str = "idx_tasks_user_id_due_at_id";
const OWNER_UNDATED_INDEX: &str = "idx_tasks_user_id_undated_id";
const OWNER_PRIORITY_INDEX: &str = "idx_tasks_user_id_priority_id";
const TAG_LOOKUP_INDEX: &str = "idx_task_tags_user_id_tag_key_task_id";
const TAG_PRIMARY_KEY: &str = "pk_task_tags";
const TAG_TASK_FOREIGN_KEY: &str = "fk_task_tags_task_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE takes one change at a time.
        let columns = [
            ColumnDef::new(Tasks::Priority)
                .small_integer()
                .not_null()
                .default(PRIORITY_DEFAULT)
                .to_owned(),
            ColumnDef::new(Tasks::DueAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(Tasks::Repeat)
                .string_len(REPEAT_LEN)
                .not_null()
                .default(REPEAT_DEFAULT)
                .to_owned(),
            ColumnDef::new(Tasks::Tags)
                .text()
                .not_null()
                .default(TAGS_DEFAULT)
                .to_owned(),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tasks::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        let indexes = [
            Index::create()
                .name(OWNER_DUE_INDEX)
                .table(Tasks::Table)
                .col(Tasks::UserId)
                .col(Tasks::DueAt)
                .col(Tasks::Id)
                .and_where(Expr::col(Tasks::DueAt).is_not_null())
                .to_owned(),
            Index::create()
                .name(OWNER_UNDATED_INDEX)
                .table(Tasks::Table)
                .col(Tasks::UserId)
                .col(Tasks::Id)
                .and_where(Expr::col(Tasks::DueAt).is_null())
                .to_owned(),
            Index::create()
                .name(OWNER_PRIORITY_INDEX)
                .table(Tasks::Table)
                .col(Tasks::UserId)
                .col(Tasks::Priority)
                .col(Tasks::Id)
                .to_owned(),
        ];
        for index in indexes {
            manager.create_index(index).await?;
        }

        let mut tag_key = ColumnDef::new(TaskTags::TagKey);
        tag_key.string_len(TAG_LEN).not_null();
        if manager.get_database_backend() == DbBackend::Postgres {
            // Byte order, as SQLite's BINARY collation and Rust's `str` ordering: tags sort the
            // same on both backends and in the application, whatever the server's locale.
            tag_key.extra("COLLATE \"C\"");
        }
        manager
            .create_table(
                Table::create()
                    .table(TaskTags::Table)
                    .col(ColumnDef::new(TaskTags::UserId).string_len(255).not_null())
                    .col(ColumnDef::new(TaskTags::TaskId).uuid().not_null())
                    .col(&mut tag_key)
                    .col(ColumnDef::new(TaskTags::Tag).string_len(TAG_LEN).not_null())
                    .primary_key(
                        Index::create()
                            .name(TAG_PRIMARY_KEY)
                            .col(TaskTags::TaskId)
                            .col(TaskTags::TagKey),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name(TAG_TASK_FOREIGN_KEY)
                            .from(TaskTags::Table, TaskTags::TaskId)
                            .to(Tasks::Table, Tasks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(TAG_LOOKUP_INDEX)
                    .table(TaskTags::Table)
                    .col(TaskTags::UserId)
                    .col(TaskTags::TagKey)
                    .col(TaskTags::TaskId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Dropping the table drops its index and foreign key with it.
        manager
            .drop_table(Table::drop().table(TaskTags::Table).to_owned())
            .await?;
        for name in [OWNER_DUE_INDEX, OWNER_UNDATED_INDEX, OWNER_PRIORITY_INDEX] {
            manager
                .drop_index(Index::drop().name(name).table(Tasks::Table).to_owned())
                .await?;
        }
        for column in [Tasks::Priority, Tasks::DueAt, Tasks::Repeat, Tasks::Tags] {
            manager
                .alter_table(Table::alter().table(Tasks::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
