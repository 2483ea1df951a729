//! `/healthz` (the process serves) and `/readyz` (the database answers): public, outside the
//! API layers, never behind admission. Their OpenAPI description sits on them, with the types
//! they send.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::error::AppError;

/// `{"status": "ok"}` or `{"status": "ready"}`.
#[derive(Serialize, ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    status: &'static str,
}

/// `/readyz` while the database does not answer.
#[derive(Serialize, ToSchema)]
#[schema(example = json!(NotReady::NOW))]
pub struct NotReady {
    #[schema(example = "unavailable")]
    status: &'static str,
    detail: &'static str,
    message: &'static str,
}

impl NotReady {
    const MESSAGE: &'static str = "database unavailable";
    /// The one answer there is.
    const NOW: Self = Self {
        status: "unavailable",
        detail: Self::MESSAGE,
        message: Self::MESSAGE,
    };
}

/// Liveness
///
/// 200 while the process serves; never touches the database. Public.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    responses((status = 200, description = "The process is serving", body = Status,
        example = json!({"status": "ok"}))),
)]
pub async fn healthz() -> Json<Status> {
    Json(Status { status: "ok" })
}

/// Readiness
///
/// 200 when the database answers a ping within a second, else 503. Public.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    responses(
        (status = 200, description = "The database answers", body = Status,
            example = json!({"status": "ready"})),
        (status = 503, description = "The database does not answer", body = NotReady,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))),
    ),
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    // Ready when the schema is confirmed and the database answers a ping within a second.
    let ping = async { state.database().map_err(|_| ())?.ping().await.map_err(|_| ()) };
    match tokio::time::timeout(Duration::from_secs(1), ping).await {
        Ok(Ok(())) => Json(Status { status: "ready" }).into_response(),
        _ => {
            let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(NotReady::NOW)).into_response();
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(AppError::RETRY_AFTER_SECONDS),
            );
            response
        }
    }
}
