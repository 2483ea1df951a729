//! Schema history operations shared by `serve` and `todo-api migrate`: apply, roll back, check.
//!
//! sea-orm-migration keeps the books (`seaql_migrations`, which migrations are applied or
//! pending, each one applied or rolled back in its own transaction). This module adds only what
//! it lacks: on PostgreSQL a session advisory lock held on a dedicated connection, so several
//! instances starting at once apply each migration exactly once; a typed refusal of a schema
//! newer than this binary; `--to VERSION`; and one event per applied, rolled back or failed
//! migration on the tracing target `migration`. Everything is generic over the
//! [`MigratorTrait`] so tests can run a migrator of their own (a deliberately failing migration,
//! say) through exactly the code production uses.

use std::time::Duration;

use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::{self, ConnectOptions as _, Connection as _};
use sea_orm::{DatabaseConnection, DbBackend, DbErr, EntityName, EntityTrait, QueryOrder, RuntimeErr};
use sea_orm_migration::{MigratorTrait, SchemaManager, seaql_migrations};

use crate::error::is_unavailable;

/// Key of the advisory lock that serialises migrators on one PostgreSQL database ("todomigr").
const LOCK_KEY: i64 = 0x746f_646f_6d69_6772;
/// How long the dedicated migration connection may take to open (Neon may be waking up).
const LOCK_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How sea-orm-migration begins each line of its refusal of a version it has no migration for
/// ("Migration file of version 'V' is missing, this migration has been applied but …").
const MISSING_VERSION_PREFIX: &str = "Migration file of version '";

/// Why the schema could not be brought to (or confirmed at) this binary's version.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The database did not answer; worth retrying later.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] DbErr),
    /// The database has migrations this binary does not know: it is older than the schema.
    #[error(
        "the database schema is newer than this binary: it has migration(s) {} that this binary \
         does not know (it knows up to {}); run a newer todo-api",
        .unknown.join(", "), .latest_known
    )]
    UnknownVersions {
        unknown: Vec<String>,
        latest_known: String,
    },
    /// Migrations are pending and this process may not apply them.
    #[error(
        "AUTO_MIGRATE=false and the database lacks migration(s) {}: run `todo-api migrate up`",
        .0.join(", ")
    )]
    Pending(Vec<String>),
    /// A migration failed; its transaction was rolled back.
    #[error("migration {version} failed and was rolled back: {source}")]
    Failed {
        version: String,
        #[source]
        source: DbErr,
    },
    /// The migration lock cannot be held through a transaction-mode pooler.
    #[error(
        "migrations need a direct database connection for their lock, but {host} is a connection \
         pooler (Neon `-pooler`): set MIGRATION_DATABASE_URL to the direct URL, or run \
         `todo-api migrate up` over it and serve with AUTO_MIGRATE=false"
    )]
    PooledConnection { host: String },
    #[error("unknown migration version {0:?}")]
    UnknownTarget(String),
    #[error("database error: {0}")]
    Db(#[source] DbErr),
}

impl MigrateError {
    /// True when the database, not the schema, is the problem: try again when it answers.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Failed { source, .. } | Self::Db(source) => is_unavailable(source),
            _ => false,
        }
    }
}

impl From<DbErr> for MigrateError {
    fn from(error: DbErr) -> Self {
        if is_unavailable(&error) {
            Self::Unavailable(error)
        } else {
            Self::Db(error)
        }
    }
}

/// What `serve` does with the schema at start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Apply pending migrations (`AUTO_MIGRATE=true`).
    Migrate,
    /// Only check that nothing is pending (`AUTO_MIGRATE=false`).
    CheckOnly,
}

/// Brings the schema to this binary's version (or checks it is there), refusing a schema newer
/// than the binary.
pub async fn prepare<M: MigratorTrait>(
    db: &DatabaseConnection,
    url: &str,
    policy: Policy,
) -> Result<(), MigrateError> {
    match policy {
        Policy::Migrate => up::<M>(db, url, None).await.map(|_| ()),
        Policy::CheckOnly => {
            let pending = pending_versions::<M>(db).await?;
            if pending.is_empty() {
                Ok(())
            } else {
                Err(MigrateError::Pending(pending))
            }
        }
    }
}

/// Applies pending migrations, all or up to and including `to`, under the migration lock.
/// Returns the versions applied.
pub async fn up<M: MigratorTrait>(
    db: &DatabaseConnection,
    url: &str,
    to: Option<&str>,
) -> Result<Vec<String>, MigrateError> {
    let lock = MigrationLock::acquire(db, url).await?;
    let result = up_locked::<M>(db, to).await;
    lock.release().await;
    result
}

async fn up_locked<M: MigratorTrait>(
    db: &DatabaseConnection,
    to: Option<&str>,
) -> Result<Vec<String>, MigrateError> {
    let pending = pending_versions::<M>(db).await?;
    let count = match to {
        None => pending.len(),
        Some(target) => match pending.iter().position(|version| version == target) {
            Some(index) => index + 1,
            // Already applied: nothing to do.
            None if known_versions::<M>().iter().any(|v| v == target) => 0,
            None => return Err(MigrateError::UnknownTarget(target.to_owned())),
        },
    };
    let mut applied = Vec::new();
    for version in pending.into_iter().take(count) {
        // One step at a time: SeaORM applies the oldest pending migration in its own
        // transaction (every migration sets `use_transaction`), and we learn which one failed.
        match M::up(db, Some(1)).await {
            Ok(()) => {
                tracing::info!(target: "migration", version = %version, outcome = "applied", "migration applied");
                applied.push(version);
            }
            Err(error) => {
                tracing::error!(
                    target: "migration", version = %version, outcome = "failed", error = %error,
                    "migration failed and was rolled back"
                );
                return Err(MigrateError::Failed {
                    version,
                    source: error,
                });
            }
        }
    }
    Ok(applied)
}

/// Rolls back the newest `steps` applied migrations under the migration lock. Returns the
/// versions rolled back.
pub async fn down<M: MigratorTrait>(
    db: &DatabaseConnection,
    url: &str,
    steps: u32,
) -> Result<Vec<String>, MigrateError> {
    let lock = MigrationLock::acquire(db, url).await?;
    let result = down_locked::<M>(db, steps).await;
    lock.release().await;
    result
}

async fn down_locked<M: MigratorTrait>(
    db: &DatabaseConnection,
    steps: u32,
) -> Result<Vec<String>, MigrateError> {
    let applied = M::get_applied_migrations_read_only(db)
        .await
        .map_err(refusal::<M>)?;
    let mut rolled_back = Vec::new();
    // SeaORM rolls back in the migrator's order, newest first; so does this loop.
    for migration in applied.iter().rev().take(steps as usize) {
        let version = migration.name().to_owned();
        match M::down(db, Some(1)).await {
            Ok(()) => {
                tracing::info!(target: "migration", version = %version, outcome = "rolled_back", "migration rolled back");
                rolled_back.push(version);
            }
            Err(error) => {
                tracing::error!(
                    target: "migration", version = %version, outcome = "failed", error = %error,
                    "migration rollback failed and was undone"
                );
                return Err(MigrateError::Failed {
                    version,
                    source: error,
                });
            }
        }
    }
    Ok(rolled_back)
}

/// The versions this binary knows, oldest first.
pub fn known_versions<M: MigratorTrait>() -> Vec<String> {
    M::get_migration_files()
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect()
}

/// Versions recorded in the database with their time (Unix seconds), oldest first, including
/// any this binary does not know (sea-orm-migration's status API refuses those; `migrate status`
/// lists them). Read-only: a database without the migrations table has none.
pub async fn applied_versions(db: &DatabaseConnection) -> Result<Vec<(String, i64)>, MigrateError> {
    let table = seaql_migrations::Entity.table_name();
    if !SchemaManager::new(db).has_table(table).await? {
        return Ok(Vec::new());
    }
    let rows = seaql_migrations::Entity::find()
        .order_by_asc(seaql_migrations::Column::Version)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.version, row.applied_at))
        .collect())
}

/// Known versions not yet recorded in the database, oldest first. Read-only (the migrations
/// table is not created); refuses a schema newer than the binary.
pub async fn pending_versions<M: MigratorTrait>(
    db: &DatabaseConnection,
) -> Result<Vec<String>, MigrateError> {
    let pending = M::get_pending_migrations_read_only(db)
        .await
        .map_err(refusal::<M>)?;
    Ok(pending
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect())
}

/// Fails, naming the versions, when the database records migrations this binary does not know.
pub async fn check_known_versions<M: MigratorTrait>(db: &DatabaseConnection) -> Result<(), MigrateError> {
    M::get_migration_with_status_read_only(db)
        .await
        .map(drop)
        .map_err(refusal::<M>)
}

/// Turns sea-orm-migration's refusal of recorded versions it has no migration for (a
/// `DbErr::Custom`, one line per version) into [`MigrateError::UnknownVersions`]: an older
/// binary against a newer schema. Any other error stays a database error.
fn refusal<M: MigratorTrait>(error: DbErr) -> MigrateError {
    if let DbErr::Custom(message) = &error {
        let mut unknown: Vec<String> = message
            .lines()
            .filter_map(|line| {
                let (version, _) = line.strip_prefix(MISSING_VERSION_PREFIX)?.split_once('\'')?;
                Some(version.to_owned())
            })
            .collect();
        if !unknown.is_empty() {
            // sea-orm-migration lists them in hash order.
            unknown.sort();
            return MigrateError::UnknownVersions {
                unknown,
                latest_known: known_versions::<M>().pop().unwrap_or_else(|| "none".to_owned()),
            };
        }
    }
    MigrateError::from(error)
}

/// On PostgreSQL, a session advisory lock held on a connection of its own (never a pooled one:
/// a session lock on a pooled connection would outlive its use or be released by a stranger).
/// Other migrators wait for it. If the process dies, PostgreSQL releases it with the session.
/// SQLite has no equivalent; there `serve` instances share one file on one host.
pub struct MigrationLock {
    connection: Option<PgConnection>,
}

impl MigrationLock {
    pub async fn acquire(db: &DatabaseConnection, url: &str) -> Result<Self, MigrateError> {
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(Self { connection: None });
        }
        let options: PgConnectOptions = url.parse().map_err(conn_err)?;
        // PgBouncer in transaction mode hands each statement to any server session: a session
        // lock would be taken on one and (not) released on another, blocking every later migrator.
        if options.get_host().contains("-pooler") {
            return Err(MigrateError::PooledConnection {
                host: options.get_host().to_owned(),
            });
        }
        let options = options.disable_statement_logging();
        let mut connection = tokio::time::timeout(LOCK_CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .map_err(|_| conn_err(sqlx::Error::PoolTimedOut))?
            .map_err(conn_err)?;
        let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(LOCK_KEY)
            .fetch_one(&mut connection)
            .await
            .map_err(conn_err)?;
        if !free {
            tracing::info!(target: "migration", "another instance is migrating: waiting for the migration lock");
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(LOCK_KEY)
                .execute(&mut connection)
                .await
                .map_err(conn_err)?;
        }
        Ok(Self {
            connection: Some(connection),
        })
    }

    /// Unlocks and closes the dedicated connection. Closing alone would release the lock too;
    /// unlocking first makes the hand-over to a waiting instance immediate.
    pub async fn release(self) {
        if let Some(mut connection) = self.connection {
            let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(LOCK_KEY)
                .execute(&mut connection)
                .await;
            let _ = connection.close().await;
        }
    }
}

fn conn_err(error: sqlx::Error) -> DbErr {
    DbErr::Conn(RuntimeErr::SqlxError(std::sync::Arc::new(error)))
}

#[cfg(test)]
mod tests {
    use sea_orm_migration::MigrationTrait;

    use super::*;

    struct NoMigrations;

    impl MigratorTrait for NoMigrations {
        fn migrations() -> Vec<Box<dyn MigrationTrait>> {
            Vec::new()
        }
    }

    #[test]
    fn every_version_sea_orm_has_no_migration_for_is_named_in_order() {
        // sea-orm-migration's text for two such versions, in the hash order it uses.
        let message = "Migration file of version 'm2' is missing, this migration has been applied but \
                       its file is missing\nMigration file of version 'm1' is missing, this migration \
                       has been applied but its file is missing";
        match refusal::<NoMigrations>(DbErr::Custom(message.to_owned())) {
            MigrateError::UnknownVersions {
                unknown,
                latest_known,
            } => {
                assert_eq!(unknown, ["m1", "m2"]);
                assert_eq!(latest_known, "none");
            }
            other => panic!("unexpected: {other}"),
        }
    }

    #[test]
    fn any_other_error_stays_a_database_error() {
        let error = refusal::<NoMigrations>(DbErr::Custom("something else".to_owned()));
        assert!(matches!(error, MigrateError::Db(_)), "{error}");
    }
}
