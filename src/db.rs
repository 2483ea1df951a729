//! Database connection and schema migration, for SQLite and PostgreSQL alike.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

/// How long a request waits for a pooled connection before it is answered 503.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Opens a pool suited to the backend: a small pool that lets idle connections go (Neon scales
/// to zero), WAL and a busy timeout on SQLite.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url);
    let sqlite = url.starts_with("sqlite:");
    options
        .max_connections(if sqlite { 4 } else { 10 })
        .min_connections(0)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .idle_timeout(Duration::from_secs(240))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|sqlite| {
            sqlite
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
        });
    Database::connect(options).await
}

/// Applies pending migrations. Refuses, naming the versions, when the database holds migrations
/// this binary does not know (it is older than the schema).
pub async fn migrate_up(db: &DatabaseConnection, to: Option<&str>) -> anyhow::Result<()> {
    check_known_versions(db).await?;
    let steps = match to {
        None => None,
        Some(target) => Some(steps_up_to(db, target).await?),
    };
    Migrator::up(db, steps).await?;
    Ok(())
}

/// Number of pending migrations to apply to reach `target` (inclusive).
async fn steps_up_to(db: &DatabaseConnection, target: &str) -> anyhow::Result<u32> {
    let pending = Migrator::get_pending_migrations(db).await?;
    let position = pending.iter().position(|m| m.name() == target);
    match position {
        Some(index) => Ok(u32::try_from(index + 1)?),
        None if Migrator::migrations().iter().any(|m| m.name() == target) => Ok(0),
        None => anyhow::bail!("unknown migration version {target:?}"),
    }
}

/// Fails when the database records a migration this binary does not have.
pub async fn check_known_versions(db: &DatabaseConnection) -> anyhow::Result<()> {
    let known: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let applied = Migrator::get_migration_models(db).await?;
    let unknown: Vec<&str> = applied
        .iter()
        .map(|row| row.version.as_str())
        .filter(|version| !known.iter().any(|k| k == version))
        .collect();
    if !unknown.is_empty() {
        anyhow::bail!(
            "the database schema is newer than this binary: it has migration(s) {} that this \
             binary does not know (it knows up to {}); run a newer todo-api",
            unknown.join(", "),
            known.last().map(String::as_str).unwrap_or("none")
        );
    }
    Ok(())
}

/// Versions pending against the database.
pub async fn pending_versions(db: &DatabaseConnection) -> anyhow::Result<Vec<String>> {
    Ok(Migrator::get_pending_migrations(db)
        .await?
        .iter()
        .map(|m| m.name().to_owned())
        .collect())
}
