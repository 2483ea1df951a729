//! Builds the application (state, pool, schema step, listener) and runs it until shutdown. The
//! routes are in `routes`, the layers in `middleware`, the drain at shutdown in [`shutdown`].
//! `main` and the tests use the same [`App::build`], the tests on port 0.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use migration::Migrator;
use sea_orm::{DatabaseConnection, DbBackend};
use tokio::net::TcpListener;

use crate::auth::{Authenticator, FailureThrottle, JwksKeys, TokenVerifier};
use crate::config::Config;
use crate::db::SchemaGate;
use crate::error::AppError;
use crate::migrate::Policy;
use crate::realtime::{Realtime, listener};
use crate::service::tasks::CreatesInFlight;
use crate::service::tenant;
use crate::service::users::KnownUsers;
use crate::{db, prometheus, routes, shutdown};

pub(crate) const REQUEST_ID_HEADER: &str = "x-request-id";
/// The largest request body accepted (REST and GraphQL); larger ones get 413.
pub(crate) const MAX_BODY_BYTES: usize = 65_536;

/// What every handler can reach.
#[derive(Clone)]
pub(crate) struct AppState {
    /// The pool, reachable only through [`AppState::database`], which answers 503 while the
    /// schema is not confirmed.
    db: DatabaseConnection,
    schema: SchemaGate,
    pub auth: Arc<Authenticator>,
    pub known_users: KnownUsers,
    /// Idempotent creates running in this process (a repeat of one is refused with 409).
    pub creates_in_flight: CreatesInFlight,
    /// The event hub, the sockets' limits and their shutdown signal.
    pub realtime: Realtime,
}

impl AppState {
    /// Reads the pool's gauges for `/metrics` (whatever the schema's state; no query runs).
    pub fn record_pool_metrics(&self) {
        prometheus::record_pool(&self.db);
    }

    /// The database, once the schema is confirmed; until then the 503 to answer. Call it after
    /// authentication, so a request without a valid token is still a 401.
    pub fn database(&self) -> Result<&DatabaseConnection, AppError> {
        self.schema.require_ready()?;
        Ok(&self.db)
    }
}

/// A bound, ready-to-serve application.
pub struct App {
    listener: TcpListener,
    router: Router,
    db: DatabaseConnection,
    /// Keeps trying the schema step while the database does not answer; stopped with the app.
    supervisor: Option<AbortOnDrop>,
    /// Checks the database role, then deletes expired idempotency keys, in the background.
    key_sweeper: AbortOnDrop,
    /// PostgreSQL: the announcer of this process's commits and the listener to every replica's.
    event_listener: Vec<AbortOnDrop>,
    realtime: Realtime,
    /// Closes every socket with 1001 when the shutdown starts.
    close_sockets: tokio::sync::watch::Sender<bool>,
    shutdown_timeout: Duration,
    statements: StatementCounter,
}

/// How many SQL statements the app's connection pool has run since start (sea-orm's metric
/// callback, and `service::tenant` for the PostgreSQL transactions that run sea-orm's statements
/// themselves: one relaxed atomic add per statement). Tests read it to prove that a page of tasks
/// costs the same number of statements whatever its size (DataLoaders, no N+1). The message
/// that opens each operation's row-level security scope on PostgreSQL (`service::tenant`) is
/// not counted: it is one per operation, on one database, whatever the operation reads.
#[derive(Clone, Debug, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Aborts a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl App {
    /// Opens the (lazy) pool, migrates the database (or, with `AUTO_MIGRATE=false`, checks that
    /// nothing is pending) and binds the listener. Refuses to build when the database answers
    /// with a schema this binary cannot use; when it does not answer, builds anyway and keeps
    /// trying in the background (API requests get 503 meanwhile).
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        config.validate()?;
        prometheus::handle();
        let mut db = db::connect(&config.database_url, config.database_max_connections).await?;
        let policy = if config.auto_migrate {
            Policy::Migrate
        } else {
            Policy::CheckOnly
        };
        let migration_url = config.migration_url().to_owned();
        let migration_db = if migration_url == config.database_url {
            db.clone()
        } else {
            db::connect(&migration_url, config.database_max_connections).await?
        };
        let schema = db::prepare_at_start::<Migrator>(&migration_db, &migration_url, policy).await?;
        let supervisor = (!schema.is_ready()).then(|| {
            AbortOnDrop(tokio::spawn(db::supervise::<Migrator>(
                migration_db,
                migration_url,
                policy,
                schema.clone(),
            )))
        });
        // Counted from here on (the start-up schema step is not the API's work); a schema step
        // still waiting runs on a clone made before, so it is not counted either.
        // Maintenance (the role check, the key purge) is not the API's work either.
        let maintenance_db = db.clone();
        // Nor is the event hub's reading on behalf of subscribers.
        let hub_db = db.clone();
        let statements = StatementCounter::default();
        let counter = statements.clone();
        tenant::count_statements(&db, statements.0.clone());
        db.set_metric_callback(move |_| {
            counter.0.fetch_add(1, Ordering::Relaxed);
        });
        let key_sweeper = AbortOnDrop(tokio::spawn(maintain_database(
            maintenance_db,
            schema.clone(),
            chrono::Duration::from_std(config.task_events_retention).unwrap_or(chrono::Duration::MAX),
        )));
        let (realtime, close_sockets, event_listener) = if db.get_database_backend() == DbBackend::Postgres {
            let url = config.listen_url().to_owned();
            listener::refuse_pooler(&url).map_err(anyhow::Error::msg)?;
            // Names this process in its announcements, so its listener can skip its own.
            let instance = uuid::Uuid::new_v4().to_string();
            let (commits, announcements) = tokio::sync::mpsc::unbounded_channel();
            let (realtime, close_sockets) = Realtime::new(hub_db.clone(), config, Some(commits));
            let tasks = vec![
                AbortOnDrop(tokio::spawn(listener::announce(
                    hub_db,
                    instance.clone(),
                    announcements,
                ))),
                AbortOnDrop(tokio::spawn(listener::listen(
                    url,
                    instance,
                    realtime.hub.clone(),
                ))),
                AbortOnDrop(tokio::spawn(listener::catch_up_periodically(
                    realtime.hub.clone(),
                    config.task_events_catch_up_interval,
                ))),
            ];
            (realtime, close_sockets, tasks)
        } else {
            let (realtime, close_sockets) = Realtime::new(hub_db, config, None);
            (realtime, close_sockets, Vec::new())
        };
        let state = AppState {
            db: db.clone(),
            schema,
            auth: Arc::new(authenticator(config)),
            known_users: KnownUsers::default(),
            creates_in_flight: CreatesInFlight::default(),
            realtime: realtime.clone(),
        };
        let listener = TcpListener::bind(config.bind_addr()).await?;
        Ok(Self {
            listener,
            router: routes::router(state, config),
            db,
            supervisor,
            key_sweeper,
            event_listener,
            realtime,
            close_sockets,
            shutdown_timeout: config.shutdown_timeout,
            statements,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn statements(&self) -> StatementCounter {
        self.statements.clone()
    }

    /// Serves until `shutdown` resolves (see [`shutdown`] for the drain and its bound), then
    /// stops the schema supervisor and closes the pool.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let close_sockets = self.close_sockets;
        let shutdown = async move {
            shutdown.await;
            // Sockets are not requests the drain waits for: they close at once, with 1001.
            let _ = close_sockets.send(true);
        };
        let served =
            shutdown::serve_draining(self.listener, self.router, shutdown, self.shutdown_timeout).await;
        self.realtime.sockets_closed(SOCKETS_CLOSE_TIMEOUT).await;
        drop(self.supervisor);
        drop(self.key_sweeper);
        drop(self.event_listener);
        shutdown::close_pool(&self.db).await;
        served
    }
}

/// How long a stopping server waits for its sockets to send their close frames.
const SOCKETS_CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// How often a server deletes the idempotency keys that expired and the task events past their
/// retention (every replica does; the deletes are idempotent).
const KEY_SWEEP_INTERVAL: Duration = Duration::from_secs(600);

/// Once the schema is ready, warns if row-level security does not bind the server's database
/// role; then deletes expired idempotency keys and the task events older than
/// `events_retention` every [`KEY_SWEEP_INTERVAL`]. A failure is logged and retried at the next
/// tick.
async fn maintain_database(db: DatabaseConnection, schema: SchemaGate, events_retention: chrono::Duration) {
    while !schema.is_ready() {
        tokio::time::sleep(SCHEMA_POLL).await;
    }
    tenant::warn_if_the_role_passes_row_security(&db).await;
    let start = tokio::time::Instant::now() + KEY_SWEEP_INTERVAL;
    let mut ticks = tokio::time::interval_at(start, KEY_SWEEP_INTERVAL);
    loop {
        ticks.tick().await;
        if !schema.is_ready() {
            continue;
        }
        match crate::service::tasks::purge_expired_keys(&db).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired idempotency keys deleted"),
            Err(error) => tracing::warn!(error = %error, "expired idempotency keys not deleted"),
        }
        match crate::service::tasks::purge_expired_events(&db, events_retention).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "task events past their retention deleted"),
            Err(error) => tracing::warn!(error = %error, "task events past their retention not deleted"),
        }
    }
}

/// How often [`maintain_database`] looks whether the schema is ready yet.
const SCHEMA_POLL: Duration = Duration::from_secs(1);

/// The configured keys and claim rules; starts the JWKS prefetch when there is a JWKS source.
fn authenticator(config: &Config) -> Authenticator {
    let jwks = config
        .jwks_url()
        .map(|url| JwksKeys::new(url, config.jwks_refetch_interval));
    if let Some(jwks) = &jwks {
        jwks.prefetch();
    }
    Authenticator {
        verifier: TokenVerifier::new(
            config.better_auth_secret.as_ref(),
            jwks,
            config.issuer(),
            config.audience(),
        ),
        throttle: FailureThrottle::new(config.auth_failures_per_minute),
        trusted_proxies: config.trusted_proxies.clone(),
    }
}
