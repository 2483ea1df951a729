//! Row-level security (PostgreSQL): the database's own wall behind the application's owner
//! filters. Every table holding user rows (`users`, `tasks`, `task_tags`, `idempotency_keys`) gets
//! row-level security, enabled and forced (so it binds the tables' owner too; only superusers and
//! `BYPASSRLS` roles pass it), and one policy: a row is visible and writable only in a
//! transaction whose `app.user_id` setting names its user. The application sets it at the start
//! of every operation (`SELECT set_config('app.user_id', $owner, true)`); a statement run without
//! it sees no row and can write none.
//!
//! One exception, on `idempotency_keys`: keys older than their 24-hour lifetime may be read and
//! deleted without a user, so that the background purge (which works on behalf of no user)
//! can remove them. No request reads an expired key.
//!
//! SQLite has no row-level security: this migration changes nothing there. `down` removes
//! exactly the policies and the two switches per table.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables holding user rows, and the column naming each row's user.
const OWNED_TABLES: [(&str, &str); 4] = [
    ("users", "id"),
    ("tasks", "user_id"),
    ("task_tags", "user_id"),
    ("idempotency_keys", "user_id"),
];

/// The setting the application sets per transaction; unset (or empty) matches no row.
const CALLER: &str = "current_setting('app.user_id', true)";

/// Idempotency keys past their lifetime (the application's `KEY_LIFETIME`), which the purge
/// reads and deletes on behalf of no user.
const EXPIRED_KEY: &str = "created_at < now() - interval '24 hours'";

fn owner_policy(table: &str) -> String {
    format!("{table}_owner_only")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for (table, owner_column) in OWNED_TABLES {
            let policy = owner_policy(table);
            db.execute_unprepared(&format!(
                "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
                 ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
                 CREATE POLICY {policy} ON {table}
                     USING ({owner_column} = {CALLER})
                     WITH CHECK ({owner_column} = {CALLER});"
            ))
            .await?;
        }
        db.execute_unprepared(&format!(
            "CREATE POLICY idempotency_keys_expired_read ON idempotency_keys FOR SELECT
                 USING ({EXPIRED_KEY});
             CREATE POLICY idempotency_keys_expired_purge ON idempotency_keys FOR DELETE
                 USING ({EXPIRED_KEY});"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "DROP POLICY idempotency_keys_expired_purge ON idempotency_keys;
             DROP POLICY idempotency_keys_expired_read ON idempotency_keys;",
        )
        .await?;
        for (table, _) in OWNED_TABLES {
            let policy = owner_policy(table);
            db.execute_unprepared(&format!(
                "DROP POLICY {policy} ON {table};
                 ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;
                 ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;"
            ))
            .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
