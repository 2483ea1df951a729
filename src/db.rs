//! Database connection and schema migration, for SQLite and PostgreSQL alike.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

/// How long a request waits for a pooled connection before it is answered 503.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// A pooled connection idle at least this long is pinged before use (one that went stale while
/// idle is replaced instead of failing a request); busier ones are handed out as they are.
pub const IDLE_BEFORE_PING: Duration = Duration::from_secs(10);

/// Overrides the pool size when set (a positive integer).
pub const MAX_CONNECTIONS_ENV: &str = "DATABASE_MAX_CONNECTIONS";

/// Opens a pool suited to the backend: a small pool that lets idle connections go (Neon scales
/// to zero), WAL and a busy timeout on SQLite. `DATABASE_MAX_CONNECTIONS` sets its size (default
/// 10 on PostgreSQL, 4 on SQLite).
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url);
    let sqlite = url.starts_with("sqlite:");
    options
        .max_connections(max_connections(sqlite)?)
        .min_connections(0)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .idle_timeout(Duration::from_secs(240))
        // sqlx pings every connection it hands out (a round trip per statement) unless told
        // otherwise; a connection used moments ago (and pinged when it was returned) is fine.
        .test_before_acquire_if_idle_for(IDLE_BEFORE_PING)
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

/// The pool size: `DATABASE_MAX_CONNECTIONS` when set, else the backend's default.
fn max_connections(sqlite: bool) -> Result<u32, DbErr> {
    match std::env::var(MAX_CONNECTIONS_ENV) {
        Err(_) => Ok(if sqlite { 4 } else { 10 }),
        Ok(value) => value
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                DbErr::Custom(format!(
                    "{MAX_CONNECTIONS_ENV} must be a positive integer, not {value:?}"
                ))
            }),
    }
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
