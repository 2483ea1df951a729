//! Errors in FastAPI's shapes: `{"detail": "..."}`, or for validation
//! `{"detail": [{"loc", "msg", "type"}]}`; every body also carries a one-line `message`. The
//! bodies are the types below, so the OpenAPI document (`super::openapi`) describes exactly
//! what is sent, and its examples are [`ErrorBody`]s of the errors they illustrate.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{FieldError, LocPart};
use crate::error::AppError;

/// Every error but a validation failure: `detail` for FastAPI clients, `message` for the web
/// frontend (the same text).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!(ErrorBody::from(AppError::NotFound)))]
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
#[schema(as = HTTPValidationError, example = json!(ErrorBody::missing_title()))]
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

impl From<FieldError> for ValidationError {
    fn from(error: FieldError) -> Self {
        Self {
            loc: error.loc,
            msg: error.message,
            kind: error.kind,
        }
    }
}

/// An [`AppError`] as a REST answer. Handlers and extractors return it (a `?` on a service call
/// converts), so every REST error goes through [`render`].
#[derive(Debug)]
pub struct RestError(pub AppError);

impl<E: Into<AppError>> From<E> for RestError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        render(self.0)
    }
}

/// The body of a REST error answer.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ErrorBody {
    Message(ErrorMessage),
    Validation(HttpValidationError),
}

/// Validation errors are placed in the request's `body` unless their location already names the
/// part (`body`, `query`, `header`).
impl From<AppError> for ErrorBody {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Validation(errors) => {
                let detail: Vec<ValidationError> = errors
                    .into_iter()
                    .map(|error| match error.loc.first() {
                        Some(LocPart::Name(part)) if ["body", "query", "header"].contains(&part.as_ref()) => {
                            error
                        }
                        _ => error.within("body"),
                    })
                    .map(ValidationError::from)
                    .collect();
                let summary = detail
                    .iter()
                    .map(|issue| {
                        let loc = issue.loc.iter().map(LocPart::to_string).collect::<Vec<_>>();
                        format!("{}: {}", loc.join("."), issue.msg)
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                Self::Validation(HttpValidationError {
                    detail,
                    message: format!("Validation failed: {summary}"),
                })
            }
            error => Self::Message(ErrorMessage::new(&error.to_string())),
        }
    }
}

impl ErrorBody {
    /// The answer to a new task without a title: the document's example of a 422.
    pub fn missing_title() -> Self {
        AppError::invalid(super::extract::missing(vec!["body".into(), "title".into()])).into()
    }
}

/// The one place an [`AppError`] becomes a REST answer: its status and headers, and a
/// FastAPI-shaped body ([`ErrorBody`]).
pub fn render(error: AppError) -> Response {
    error.log_cause();
    let status = error.status();
    let headers = error.headers();
    let mut response = (status, Json(ErrorBody::from(error))).into_response();
    response.headers_mut().extend(headers);
    response
}

/// JSON 404 for any path no route matches.
pub async fn not_found() -> RestError {
    RestError(AppError::RouteNotFound)
}

/// JSON 405 for a known path with a method it does not take (axum adds `Allow`).
pub async fn method_not_allowed() -> RestError {
    RestError(AppError::MethodNotAllowed {
        allow: None,
        message: "Method Not Allowed",
    })
}
