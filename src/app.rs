//! Builds the application: state, router, middleware, listener. `main` and the tests use the
//! same [`App::build`], the tests on port 0.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use migration::Migrator;
use sea_orm::DatabaseConnection;
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::LatencyUnit;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::{Authenticator, FailureThrottle, JwksKeys, TokenVerifier};
use crate::config::Config;
use crate::db::SchemaGate;
use crate::error::AppError;
use crate::limit::{self, InFlight};
use crate::migrate::Policy;
use crate::service::users::KnownUsers;
use crate::{db, prometheus, rest};

pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The largest request body accepted (REST and GraphQL); larger ones get 413.
pub const MAX_BODY_BYTES: usize = 65_536;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The pool. Handlers reach it through [`AppState::database`], which answers 503 while the
    /// schema is not confirmed.
    pub db: DatabaseConnection,
    pub schema: SchemaGate,
    pub auth: Arc<Authenticator>,
    pub known_users: KnownUsers,
}

impl AppState {
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
    shutdown_timeout: Duration,
    statements: StatementCounter,
}

/// How many SQL statements the app's connection pool has run since start (sea-orm's metric
/// callback: one relaxed atomic add per statement). Tests read it to prove that a page of tasks
/// costs the same number of statements whatever its size (DataLoaders, no N+1).
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
        let mut db = db::connect(&config.database_url).await?;
        let policy = if config.auto_migrate {
            Policy::Migrate
        } else {
            Policy::CheckOnly
        };
        let migration_url = config.migration_url().to_owned();
        let migration_db = if migration_url == config.database_url {
            db.clone()
        } else {
            db::connect(&migration_url).await?
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
        let statements = StatementCounter::default();
        let counter = statements.clone();
        db.set_metric_callback(move |_| {
            counter.0.fetch_add(1, Ordering::Relaxed);
        });
        let state = AppState {
            db: db.clone(),
            schema,
            auth: Arc::new(authenticator(config)),
            known_users: KnownUsers::default(),
        };
        let listener = TcpListener::bind(config.bind_addr()).await?;
        Ok(Self {
            listener,
            router: router(state, config),
            db,
            supervisor,
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

    /// Serves until `shutdown` resolves; then stops accepting, lets in-flight requests finish
    /// for at most `SHUTDOWN_TIMEOUT` (dropping those still running), and closes the pool.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let _supervisor = self.supervisor;
        let (draining, drain_started) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            shutdown.await;
            let _ = draining.send(());
        };
        let server = axum::serve(
            self.listener,
            self.router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(signal)
        .into_future();
        let limit = self.shutdown_timeout;
        let drain_deadline = async move {
            match drain_started.await {
                Ok(()) => tokio::time::sleep(limit).await,
                // The server ended on its own (an error): nothing to bound.
                Err(_) => std::future::pending().await,
            }
        };
        let served = tokio::select! {
            served = server => served,
            () = drain_deadline => {
                tracing::warn!(timeout = ?limit, "in-flight requests still running at the shutdown timeout: dropping them");
                Ok(())
            }
        };
        if tokio::time::timeout(Duration::from_secs(5), self.db.close_by_ref())
            .await
            .is_err()
        {
            tracing::warn!("the database pool did not close within 5 s");
        }
        served
    }
}

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

/// The whole HTTP surface with its middleware.
pub fn router(state: AppState, config: &Config) -> Router {
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    // One admission gate for both front ends: the bound is on the API work in progress.
    let admission = InFlight::default();
    Router::new()
        .merge(rest::router().route_layer(middleware::from_fn_with_state(admission.clone(), limit::admit)))
        .merge(
            crate::graphql::router(state.clone(), config)
                .route_layer(middleware::from_fn_with_state(admission, limit::admit)),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(prometheus::render))
        .fallback(rest::not_found)
        .method_not_allowed_fallback(rest::method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(refuse_oversized_bodies))
        .layer(middleware::from_fn_with_state(
            config.request_timeout,
            time_limit,
        ))
        .layer(cors(&config.cors_origins))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let request_id = request
                .headers()
                .get(REQUEST_ID_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
        })
        .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(LatencyUnit::Micros)))
        // Outside the trace span, so it also counts what the layers inside answer (413, 504).
        .layer(middleware::from_fn(prometheus::track))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(middleware::from_fn(drop_malformed_request_id))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Ready when the schema is confirmed and the database answers a ping within a second.
async fn readyz(State(state): State<AppState>) -> Response {
    let ping = async { state.database().map_err(|_| ())?.ping().await.map_err(|_| ()) };
    match tokio::time::timeout(Duration::from_secs(1), ping).await {
        Ok(Ok(())) => Json(json!({"status": "ready"})).into_response(),
        _ => {
            let message = "database unavailable";
            let mut response = (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "detail": message, "message": message})),
            )
                .into_response();
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(AppError::RETRY_AFTER_SECONDS),
            );
            response
        }
    }
}

/// A declared body over the limit is refused before authentication or any other work (§8).
/// Bodies without a length are still capped while read (`DefaultBodyLimit`).
async fn refuse_oversized_bodies(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        if request.uri().path() == "/graphql" {
            return crate::graphql::payload_too_large();
        }
        return AppError::PayloadTooLarge.into_response();
    }
    next.run(request).await
}

/// Every request is answered within `limit`: beyond it the work is dropped (a transaction in
/// progress rolls back) and the answer is a 504 with the contract's error body.
async fn time_limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout = ?limit, "request timed out");
            let message = format!(
                "Request timed out: not answered within {}",
                humantime::format_duration(limit)
            );
            (
                StatusCode::GATEWAY_TIMEOUT,
                Json(json!({"detail": message, "message": message})),
            )
                .into_response()
        }
    }
}

/// A client's `X-Request-Id` is kept only when it is short and plain (letters, digits, `-`,
/// `_`, `.`), so it cannot forge or bloat log lines; otherwise a fresh one is generated.
async fn drop_malformed_request_id(mut request: Request, next: Next) -> Response {
    let well_formed = |value: &HeaderValue| {
        let bytes = value.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= 128
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    let headers = request.headers_mut();
    let values: Vec<&HeaderValue> = headers.get_all(REQUEST_ID_HEADER).iter().collect();
    if values.len() != 1 || !well_formed(values[0]) {
        headers.remove(REQUEST_ID_HEADER);
    }
    next.run(request).await
}

fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static(REQUEST_ID_HEADER),
        ])
        .expose_headers([
            HeaderName::from_static("x-total-count"),
            header::LOCATION,
            HeaderName::from_static(REQUEST_ID_HEADER),
        ])
        .max_age(Duration::from_secs(600))
}
