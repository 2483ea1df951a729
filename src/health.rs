//! `/healthz` (the process serves) and `/readyz` (the database answers): public, outside the
//! API layers, never behind admission.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::error::AppError;

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Ready when the schema is confirmed and the database answers a ping within a second.
pub async fn readyz(State(state): State<AppState>) -> Response {
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
