//! Safe writes: `tasks` gains `version` (every existing row starts at 1, as a new task does), and
//! `idempotency_keys` remembers, per user and key, the create a key made.
//!
//! - `version`: 1 at creation, +1 with every change, written by the same `UPDATE` that changes
//!   the row (`… SET version = version + 1 WHERE … AND version = $expected` when the client sent
//!   a precondition), so a check and its write are one statement.
//! - `idempotency_keys (user_id, key)`: the primary key, since keys are per user. `request` is
//!   the create as the server understood it (its normalised fields, as JSON), so a retry with the
//!   same body is recognised and one with another body refused; `task` is the task as that
//!   create made it (JSON), what a retry is answered with, whatever happened to the task since.
//!   The row is inserted in the transaction that inserts the task: both exist, or neither.
//!   `created_at` dates the key: older than 24 hours, it is forgotten (`(created_at)` serves the
//!   purge). Deleting a user deletes their keys.
//!
//! `down` drops exactly this: the table, then the column.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Version,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    UserId,
    Key,
    Request,
    Task,
    CreatedAt,
}

const FIRST_VERSION: i32 = 1;
const KEY_LEN: u32 = 255;
const CREATED_INDEX: &str = "idx_idempotency_keys_created_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Tasks::Table)
                    .add_column(
                        ColumnDef::new(Tasks::Version)
                            .integer()
                            .not_null()
                            .default(FIRST_VERSION),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(ColumnDef::new(IdempotencyKeys::UserId).string_len(255).not_null())
                    .col(
                        ColumnDef::new(IdempotencyKeys::Key)
                            .string_len(KEY_LEN)
                            .not_null(),
                    )
                    .col(ColumnDef::new(IdempotencyKeys::Request).text().not_null())
                    .col(ColumnDef::new(IdempotencyKeys::Task).text().not_null())
                    .col(
                        ColumnDef::new(IdempotencyKeys::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(IdempotencyKeys::UserId)
                            .col(IdempotencyKeys::Key),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_idempotency_keys_user_id")
                            .from(IdempotencyKeys::Table, IdempotencyKeys::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(CREATED_INDEX)
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Dropping the table drops its index and foreign key with it.
        manager
            .drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Tasks::Table)
                    .drop_column(Tasks::Version)
                    .to_owned(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
