//! `tasks`: owned by a user (cascade on delete), listed newest first by owner.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::m20260118_100000_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
    UserId,
    Title,
    Description,
    Completed,
    CreatedAt,
    UpdatedAt,
}

const OWNER_CREATED_INDEX: &str = "idx_tasks_user_id_created_at_id";
const OWNER_UPDATED_INDEX: &str = "idx_tasks_user_id_updated_at_id";
const OWNER_TITLE_INDEX: &str = "idx_tasks_user_id_title_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut title = ColumnDef::new(Tasks::Title);
        title.string_len(200).not_null();
        if manager.get_database_backend() == DbBackend::Postgres {
            // Byte order, as SQLite's BINARY collation: sorting by title (and keyset cursors
            // over it) gives the same order on both backends, whatever the server's locale.
            title.extra("COLLATE \"C\"");
        }
        manager
            .create_table(
                Table::create()
                    .table(Tasks::Table)
                    .col(ColumnDef::new(Tasks::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Tasks::UserId).string_len(255).not_null())
                    .col(&mut title)
                    .col(ColumnDef::new(Tasks::Description).text().null())
                    .col(
                        ColumnDef::new(Tasks::Completed)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(Tasks::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Tasks::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_tasks_user_id")
                            .from(Tasks::Table, Tasks::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The list query filters by owner and orders by one sort key with the id as tie-break:
        // one index per sort key keeps every page (offset or keyset) an index range scan.
        for (name, sort_key) in [
            (OWNER_CREATED_INDEX, Tasks::CreatedAt),
            (OWNER_UPDATED_INDEX, Tasks::UpdatedAt),
            (OWNER_TITLE_INDEX, Tasks::Title),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Tasks::Table)
                        .col(Tasks::UserId)
                        .col(sort_key)
                        .col(Tasks::Id)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Tasks::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
