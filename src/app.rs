//! Builds the application: state, router, middleware, listener. `main` and the tests use the
//! same [`App::build`], the tests on port 0.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sea_orm::DatabaseConnection;
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::auth::TokenVerifier;
use crate::config::Config;
use crate::error::AppError;
use crate::limit::{self, InFlight};
use crate::service::users::KnownUsers;
use crate::{db, rest};

pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The largest request body accepted (REST and GraphQL); larger ones get 413.
pub const MAX_BODY_BYTES: usize = 65_536;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub verifier: Arc<TokenVerifier>,
    pub known_users: KnownUsers,
}

/// A bound, ready-to-serve application.
pub struct App {
    listener: TcpListener,
    router: Router,
}

impl App {
    /// Connects to the database, migrates it (unless `AUTO_MIGRATE=false`, in which case a
    /// pending migration is an error) and binds the listener.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let db = db::connect(&config.database_url).await?;
        if config.auto_migrate {
            db::migrate_up(&db, None).await?;
        } else {
            db::check_known_versions(&db).await?;
            let pending = db::pending_versions(&db).await?;
            if !pending.is_empty() {
                anyhow::bail!(
                    "AUTO_MIGRATE=false and the database lacks migration(s) {}: run `todo-api migrate up`",
                    pending.join(", ")
                );
            }
        }
        let state = AppState {
            db,
            verifier: Arc::new(TokenVerifier::new(
                config.better_auth_secret.as_ref(),
                config.issuer(),
                config.audience(),
            )),
            known_users: KnownUsers::default(),
        };
        let listener = TcpListener::bind(config.bind_addr()).await?;
        Ok(Self {
            listener,
            router: router(state, config),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        axum::serve(
            self.listener,
            self.router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}

/// The whole HTTP surface with its middleware.
pub fn router(state: AppState, config: &Config) -> Router {
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    Router::new()
        .merge(rest::router().route_layer(middleware::from_fn_with_state(InFlight::default(), limit::admit)))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(rest::not_found)
        .method_not_allowed_fallback(rest::method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(refuse_oversized_bodies))
        .layer(cors(&config.cors_origins))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let request_id = request
                .headers()
                .get(REQUEST_ID_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
        }))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(middleware::from_fn(drop_malformed_request_id))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Ready when the database answers a ping within a second.
async fn readyz(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(Duration::from_secs(1), state.db.ping()).await {
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
        return AppError::PayloadTooLarge.into_response();
    }
    next.run(request).await
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
