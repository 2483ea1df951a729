//! Database connection and schema readiness, for SQLite and PostgreSQL alike.
//!
//! The pool is lazy: `serve` starts while the database is asleep or down, answers API requests
//! with 503 until the schema is confirmed (see [`SchemaGate`]), and a background task applies or
//! checks the migrations as soon as the database answers.

use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use migration::MigratorTrait;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

use crate::error::AppError;
use crate::migrate::{self, MigrateError, Policy};

/// How long a request waits for a pooled connection (opening one included) before it is
/// answered 503: well inside the documented 5 s (docs/api.md#limits-and-timeouts).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// Idle connections are closed after this: under Neon's 5 minutes, so a quiet server lets the
/// database scale to zero.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(240);
/// Connections are renewed after this, whatever their use (a server-side restart or fail-over
/// never pins a stale connection for long).
pub const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// Delays between schema attempts while the database does not answer.
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// Delay between checks while the schema is refused (an operator may migrate meanwhile).
const RECHECK_REFUSED: Duration = Duration::from_secs(30);

/// A pooled connection idle at least this long is pinged before use (one that went stale while
/// idle is replaced instead of failing a request); busier ones are handed out as they are.
pub const IDLE_BEFORE_PING: Duration = Duration::from_secs(10);

/// The pool size when `DATABASE_MAX_CONNECTIONS` is not set: small, sized for the database's
/// cores rather than for the clients (on the 2-core benchmark machine 4 beat 20 on PostgreSQL;
/// on SQLite, WAL lets 4 readers beat a pool of 1: BENCHMARKS.md).
pub const DEFAULT_MAX_CONNECTIONS_POSTGRES: u32 = 10;
pub const DEFAULT_MAX_CONNECTIONS_SQLITE: u32 = 4;

/// The connections the pool for `url` may open: `DATABASE_MAX_CONNECTIONS`, or the backend's
/// default.
pub fn pool_size(url: &str, max_connections: Option<NonZeroU32>) -> u32 {
    let default_size = if url.starts_with("sqlite:") {
        DEFAULT_MAX_CONNECTIONS_SQLITE
    } else {
        DEFAULT_MAX_CONNECTIONS_POSTGRES
    };
    max_connections.map_or(default_size, NonZeroU32::get)
}

/// Opens a lazy pool suited to the backend: nothing is connected until first use (PostgreSQL),
/// a small pool that keeps no idle minimum and lets idle connections go (Neon scales to zero);
/// WAL, full fsync on commit and a busy timeout on SQLite. `max_connections` is
/// `DATABASE_MAX_CONNECTIONS` (`Config::database_max_connections`); `None` takes the backend's
/// default.
pub async fn connect(url: &str, max_connections: Option<NonZeroU32>) -> Result<DatabaseConnection, DbErr> {
    install_tls_provider();
    let mut options = ConnectOptions::new(url);
    options
        .connect_lazy(true)
        .max_connections(pool_size(url, max_connections))
        .min_connections(0)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .idle_timeout(IDLE_TIMEOUT)
        .max_lifetime(MAX_LIFETIME)
        // sqlx pings every connection it hands out (a round trip per statement) unless told
        // otherwise; a connection used moments ago (and pinged when it was returned) is fine.
        .test_before_acquire_if_idle_for(IDLE_BEFORE_PING)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|sqlite| {
            sqlite
                .journal_mode(SqliteJournalMode::Wal)
                // An acknowledged write survives a power loss, not only a crash of the process.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
        });
    Database::connect(options).await
}

/// Makes `ring` the process-wide rustls provider. sqlx picks its provider itself, but any other
/// rustls user in the process that relies on the default (`ClientConfig::builder()`) would panic
/// if two providers were ever compiled in. Idempotent.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Whether the schema has been confirmed at this binary's version. Until it is, API requests
/// are answered 503 (after authentication) and `/readyz` is 503; once confirmed it stays so
/// (later database outages surface as 503s of the queries themselves).
#[derive(Clone, Default)]
pub struct SchemaGate(Arc<RwLock<SchemaState>>);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SchemaState {
    /// The database has not answered yet.
    #[default]
    Waiting,
    Ready,
    /// The database answered but the schema cannot be used by this binary (newer than it, or
    /// pending migrations with `AUTO_MIGRATE=false`); rechecked periodically.
    Refused(String),
}

impl SchemaGate {
    pub fn state(&self) -> SchemaState {
        self.0.read().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn is_ready(&self) -> bool {
        self.state() == SchemaState::Ready
    }

    fn set(&self, state: SchemaState) {
        if let Ok(mut current) = self.0.write() {
            *current = state;
        }
    }

    /// `Ok` when requests may use the database, else the 503 to answer.
    pub fn require_ready(&self) -> Result<(), AppError> {
        match self.state() {
            SchemaState::Ready => Ok(()),
            SchemaState::Waiting => Err(AppError::SchemaNotReady(
                "the database has not answered since start".to_owned(),
            )),
            SchemaState::Refused(reason) => Err(AppError::SchemaNotReady(reason)),
        }
    }
}

/// The first schema attempt at start. `Ok(gate)` when the server may start: the gate is ready,
/// or the database did not answer and [`supervise`] must keep trying. `Err` when the database
/// answered and refused: the server must not start.
pub async fn prepare_at_start<M: MigratorTrait>(
    db: &DatabaseConnection,
    url: &str,
    policy: Policy,
) -> Result<SchemaGate, MigrateError> {
    let gate = SchemaGate::default();
    match migrate::prepare::<M>(db, url, policy).await {
        Ok(()) => gate.set(SchemaState::Ready),
        Err(error) if error.is_unavailable() => {
            tracing::warn!(
                error = %error,
                "the database does not answer: starting anyway; API requests get 503 until it does"
            );
        }
        Err(error) => return Err(error),
    }
    Ok(gate)
}

/// Retries the schema step until the gate is ready: with backoff while the database does not
/// answer, every [`RECHECK_REFUSED`] while the schema is refused.
pub async fn supervise<M: MigratorTrait>(
    db: DatabaseConnection,
    url: String,
    policy: Policy,
    gate: SchemaGate,
) {
    let mut delay = RETRY_FIRST;
    let mut waited = Duration::ZERO;
    let mut last_warning = Duration::ZERO;
    while !gate.is_ready() {
        tokio::time::sleep(delay).await;
        waited += delay;
        match migrate::prepare::<M>(&db, &url, policy).await {
            Ok(()) => {
                gate.set(SchemaState::Ready);
                tracing::info!("the database answers and the schema is ready: serving API requests");
            }
            Err(error) if error.is_unavailable() => {
                // Once a minute, so a lasting outage (or a wrong password) stays visible.
                if waited - last_warning >= Duration::from_secs(60) {
                    last_warning = waited;
                    tracing::warn!(error = %error, waited = ?waited, "the database still does not answer");
                } else {
                    tracing::debug!(error = %error, "the database still does not answer");
                }
                delay = (delay * 2).min(RETRY_MAX);
            }
            Err(error) => {
                tracing::error!(error = %error, "the database schema cannot be used: API requests get 503");
                gate.set(SchemaState::Refused(error.to_string()));
                delay = RECHECK_REFUSED;
            }
        }
    }
}
