//! Errors in FastAPI's shapes: `{"detail": "..."}`, or for validation
//! `{"detail": [{"loc", "msg", "type"}]}`; every body also carries a one-line `message`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::domain::FieldError;
use crate::error::AppError;

/// One entry of a FastAPI validation error list. `loc` is where the value was (`body`, `query`).
#[derive(Debug, Clone)]
pub struct ValidationIssue {
    pub loc: Vec<Value>,
    pub kind: &'static str,
    pub message: String,
}

impl ValidationIssue {
    pub fn new(loc: Vec<Value>, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            loc,
            kind,
            message: message.into(),
        }
    }

    pub fn body(field: &FieldError) -> Self {
        Self::new(
            vec!["body".into(), field.field.into()],
            field.kind,
            field.message.clone(),
        )
    }
}

/// A refusal for invalid input (422), with every problem found.
pub struct ValidationFailed(pub Vec<ValidationIssue>);

impl IntoResponse for ValidationFailed {
    fn into_response(self) -> Response {
        let summary = self
            .0
            .iter()
            .map(|issue| {
                let loc = issue
                    .loc
                    .iter()
                    .map(|part| match part {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(".");
                format!("{loc}: {}", issue.message)
            })
            .collect::<Vec<_>>()
            .join("; ");
        let detail: Vec<Value> = self
            .0
            .into_iter()
            .map(|issue| json!({"loc": issue.loc, "msg": issue.message, "type": issue.kind}))
            .collect();
        let body = json!({"detail": detail, "message": format!("Validation failed: {summary}")});
        (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
    }
}

fn detail(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"detail": message, "message": message}))).into_response()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match &self {
            AppError::Unauthenticated(failure) => {
                let mut response = detail(StatusCode::UNAUTHORIZED, failure.message());
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                response
            }
            AppError::BadRequest(message) => detail(StatusCode::BAD_REQUEST, message),
            AppError::TooManyRequests { retry_after } => {
                let mut response = detail(StatusCode::TOO_MANY_REQUESTS, &self.to_string());
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(crate::error::retry_after_seconds(*retry_after)),
                );
                response
            }
            AppError::Forbidden => detail(StatusCode::FORBIDDEN, &self.to_string()),
            AppError::Validation(fields) => {
                ValidationFailed(fields.iter().map(ValidationIssue::body).collect()).into_response()
            }
            AppError::NotFound => detail(StatusCode::NOT_FOUND, &self.to_string()),
            AppError::PayloadTooLarge => detail(StatusCode::PAYLOAD_TOO_LARGE, &self.to_string()),
            AppError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                let mut response = detail(StatusCode::SERVICE_UNAVAILABLE, &self.to_string());
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(AppError::RETRY_AFTER_SECONDS),
                );
                response
            }
            AppError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                detail(StatusCode::INTERNAL_SERVER_ERROR, &self.to_string())
            }
        }
    }
}

/// JSON 404 for any path no route matches.
pub async fn not_found() -> Response {
    detail(StatusCode::NOT_FOUND, "Not Found")
}

/// JSON 405 for a known path with a method it does not take.
pub async fn method_not_allowed() -> Response {
    detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}
