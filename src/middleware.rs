//! What runs around the handlers. The API layers ([`api`]) wrap each front end's router and
//! answer in that front end's shape: they tag the request with its [`FrontEnd`], bound its
//! time, refuse oversized bodies and admit it. The app-wide layers (request ids, CORS) are
//! here too; `routes` assembles them.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::{Extension, Router};
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::app::{AppState, MAX_BODY_BYTES, REQUEST_ID_HEADER};
use crate::error::AppError;
use crate::limit::{self, InFlight};
use crate::rest;

/// The front end a request was routed to: which body shape its errors take. Each router puts it
/// into the request's extensions, so a middleware answering before the handler knows it
/// without looking at the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrontEnd {
    Rest,
    Graphql,
}

impl FrontEnd {
    /// The answer to `error` in this front end's shape.
    pub fn render(self, error: AppError) -> axum::response::Response {
        match self {
            Self::Rest => crate::rest::render(error),
            Self::Graphql => crate::graphql::render(error),
        }
    }
}

/// The front end a request was routed to (REST when no router tagged it: the fallbacks).
pub fn front_end_of(request: &Request) -> FrontEnd {
    request
        .extensions()
        .get::<FrontEnd>()
        .copied()
        .unwrap_or(FrontEnd::Rest)
}

/// Wraps one front end's routes: the tag first, so every answer below it, the time limit's
/// included, takes that front end's shape; then the time limit, the body size, admission.
pub fn api(
    routes: Router<AppState>,
    front_end: FrontEnd,
    admission: InFlight,
    time_limit: Duration,
) -> Router<AppState> {
    routes.route_layer(
        ServiceBuilder::new()
            .layer(Extension(front_end))
            .layer(middleware::from_fn_with_state(time_limit, limit_time))
            .layer(middleware::from_fn(refuse_oversized_bodies))
            .layer(middleware::from_fn_with_state(admission, limit::admit)),
    )
}

/// A declared body over the limit is refused before authentication or any other work. Bodies
/// without a length are still capped while read (`DefaultBodyLimit`).
async fn refuse_oversized_bodies(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return front_end_of(&request).render(AppError::PayloadTooLarge);
    }
    next.run(request).await
}

/// Every API request is answered within `limit`: beyond it the work is dropped (a transaction
/// in progress rolls back) and the answer is a 504.
async fn limit_time(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let front_end = front_end_of(&request);
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => front_end.render(AppError::Timeout(limit)),
    }
}

/// A client's `X-Request-Id` is kept only when it is short and plain (letters, digits, `-`,
/// `_`, `.`), so it cannot forge or bloat log lines; otherwise a fresh one is generated.
pub async fn drop_malformed_request_id(mut request: Request, next: Next) -> Response {
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

pub fn cors(origins: &[String]) -> CorsLayer {
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
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            HeaderName::from_static(rest::IDEMPOTENCY_KEY),
        ])
        .expose_headers([
            HeaderName::from_static("x-total-count"),
            header::LOCATION,
            HeaderName::from_static(REQUEST_ID_HEADER),
            header::ETAG,
            HeaderName::from_static(rest::IDEMPOTENT_REPLAYED),
            header::RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(600))
}
