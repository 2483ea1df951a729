//! Errors in FastAPI's shapes: `{"detail": "..."}`, or for validation
//! `{"detail": [{"loc", "msg", "type"}]}`; every body also carries a one-line `message`. The
//! bodies are the types below, so the OpenAPI document (`super::openapi`) describes exactly
//! what is sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::FieldError;
use crate::error::AppError;

/// Every error but a validation failure: `detail` for FastAPI clients, `message` for the web
/// frontend (the same text).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"detail": "Task not found", "message": "Task not found"}))]
pub struct ErrorMessage {
    /// What went wrong.
    pub detail: String,
    /// A one-line human-readable summary.
    pub message: String,
}

impl ErrorMessage {
    pub fn new(text: &str) -> Self {
        Self {
            detail: text.to_owned(),
            message: text.to_owned(),
        }
    }
}

/// A validation failure (422): every problem found, as FastAPI reports them.
#[derive(Debug, Serialize, ToSchema)]
#[schema(
    as = HTTPValidationError,
    example = json!({
        "detail": [{"loc": ["body", "title"], "msg": "Field required", "type": "missing"}],
        "message": "Validation failed: body.title: Field required"
    })
)]
pub struct HttpValidationError {
    /// The problems, at least one.
    #[schema(min_items = 1)]
    pub detail: Vec<ValidationError>,
    /// A one-line summary of every problem.
    pub message: String,
}

/// One problem with the input (pydantic's error shape).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ValidationError {
    /// Where the value was: `body` or `query`, then the field name (or, for malformed JSON, the
    /// column of the error).
    #[schema(min_items = 1)]
    pub loc: Vec<LocPart>,
    /// What is wrong with it.
    pub msg: String,
    /// pydantic's error type, e.g. `missing`, `string_type`, `string_too_long`, `enum`,
    /// `int_parsing`, `json_invalid`, `content_type`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// A step of a `loc` path: a name, or a position.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LocPart {
    Name(String),
    Index(u64),
}

impl From<&str> for LocPart {
    fn from(name: &str) -> Self {
        Self::Name(name.to_owned())
    }
}

impl From<usize> for LocPart {
    fn from(index: usize) -> Self {
        Self::Index(index as u64)
    }
}

impl std::fmt::Display for LocPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Name(name) => f.write_str(name),
            Self::Index(index) => write!(f, "{index}"),
        }
    }
}

impl ValidationError {
    pub fn new(loc: Vec<LocPart>, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            loc,
            kind,
            msg: message.into(),
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
pub struct ValidationFailed(pub Vec<ValidationError>);

impl IntoResponse for ValidationFailed {
    fn into_response(self) -> Response {
        let summary = self
            .0
            .iter()
            .map(|issue| {
                let loc = issue
                    .loc
                    .iter()
                    .map(LocPart::to_string)
                    .collect::<Vec<_>>()
                    .join(".");
                format!("{loc}: {}", issue.msg)
            })
            .collect::<Vec<_>>()
            .join("; ");
        let body = HttpValidationError {
            detail: self.0,
            message: format!("Validation failed: {summary}"),
        };
        (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
    }
}

fn detail(status: StatusCode, message: &str) -> Response {
    (status, Json(ErrorMessage::new(message))).into_response()
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
                ValidationFailed(fields.iter().map(ValidationError::body).collect()).into_response()
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
