//! Task events: every change of a task is recorded, in the transaction that makes it, as one row
//! of `task_events` (an outbox), numbered within its user's stream.
//!
//! - `task_event_streams (user_id)`: each user's counter. A change takes the next number with an
//!   upsert (`… ON CONFLICT (user_id) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq`),
//!   which locks the user's row until the transaction ends (PostgreSQL; SQLite runs one writer
//!   at a time): a user's events get their numbers in commit order, so a reader that resumes
//!   "after N" never skips an event that commits later, as it would with a sequence (numbers
//!   taken at insert, commits in any order). `last_at` is the time of the user's newest event:
//!   each event is dated no earlier, so a user's events are in time order too and the purge by
//!   age removes a prefix of the stream.
//! - `task_events (user_id, seq)`: the stream. `kind` is `created`, `updated` or `deleted`;
//!   `task` is the task as the change left it (JSON, as the API answers it), null for a
//!   deletion. `(occurred_at)` serves the purge of events past their retention.
//!
//! PostgreSQL: both tables get row-level security like the other tables holding user rows (a
//! row only in a transaction whose `app.user_id` names its user), and the purge, which works on
//! behalf of no user, may read and delete the events older than the transaction's
//! `app.purge_events_before`.
//!
//! Replicas hear of new events from the application, which announces its commits on the
//! `LISTEN` channel `task_events` in batches after they commit (no trigger: a `NOTIFY` inside the
//! writing transaction would take PostgreSQL's global notification lock at every change's
//! commit, and cost a change a third of its throughput).
//!
//! `down` drops exactly the two tables (and with them their indexes and policies).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum TaskEventStreams {
    Table,
    UserId,
    LastSeq,
    LastAt,
}

#[derive(DeriveIden)]
enum TaskEvents {
    Table,
    UserId,
    Seq,
    Kind,
    TaskId,
    Task,
    OccurredAt,
}

const USER_ID_LEN: u32 = 255;
/// Long enough for every kind's name (`created`, `updated`, `deleted`).
const KIND_LEN: u32 = 16;
const OCCURRED_INDEX: &str = "idx_task_events_occurred_at";

/// The setting the application sets per transaction; unset (or empty) matches no row.
const CALLER: &str = "current_setting('app.user_id', true)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TaskEventStreams::Table)
                    .col(
                        ColumnDef::new(TaskEventStreams::UserId)
                            .string_len(USER_ID_LEN)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(TaskEventStreams::LastSeq).big_integer().not_null())
                    .col(
                        ColumnDef::new(TaskEventStreams::LastAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_task_event_streams_user_id")
                            .from(TaskEventStreams::Table, TaskEventStreams::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TaskEvents::Table)
                    .col(
                        ColumnDef::new(TaskEvents::UserId)
                            .string_len(USER_ID_LEN)
                            .not_null(),
                    )
                    .col(ColumnDef::new(TaskEvents::Seq).big_integer().not_null())
                    .col(ColumnDef::new(TaskEvents::Kind).string_len(KIND_LEN).not_null())
                    .col(ColumnDef::new(TaskEvents::TaskId).uuid().not_null())
                    .col(ColumnDef::new(TaskEvents::Task).text().null())
                    .col(
                        ColumnDef::new(TaskEvents::OccurredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(Index::create().col(TaskEvents::UserId).col(TaskEvents::Seq))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_task_events_user_id")
                            .from(TaskEvents::Table, TaskEvents::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(OCCURRED_INDEX)
                    .table(TaskEvents::Table)
                    .col(TaskEvents::OccurredAt)
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            let db = manager.get_connection();
            for table in ["task_event_streams", "task_events"] {
                db.execute_unprepared(&format!(
                    "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
                     ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
                     CREATE POLICY {table}_owner_only ON {table}
                         USING (user_id = {CALLER})
                         WITH CHECK (user_id = {CALLER});"
                ))
                .await?;
            }
            let expired =
                "occurred_at < NULLIF(current_setting('app.purge_events_before', true), '')::timestamptz";
            db.execute_unprepared(&format!(
                "CREATE POLICY task_events_expired_read ON task_events FOR SELECT USING ({expired});
                 CREATE POLICY task_events_expired_purge ON task_events FOR DELETE USING ({expired});"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TaskEvents::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(TaskEventStreams::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
