//! One error type for the whole request path. Each variant knows its HTTP status, its GraphQL
//! `extensions.code` and the headers that go with it; the two front ends only lay it out in
//! their body shape (`rest::errors` for FastAPI's `{"detail", "message"}`, `graphql::error` for
//! `{"errors": [...]}`), wherever it arises: a handler, an extractor, a resolver or a middleware.
//! Internal causes are logged when the error is rendered, never shown.

use std::borrow::Cow;
use std::time::Duration;

use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use sea_orm::DbErr;

use crate::auth::AuthFailure;
use crate::domain::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No valid credential (401 + `WWW-Authenticate: Bearer`).
    #[error("{}", .0.message())]
    Unauthenticated(AuthFailure),
    /// A request this server will not interpret at all: two `Authorization` headers, an
    /// unreadable body, a GraphQL body that is not a request (400).
    #[error("{0}")]
    BadRequest(Cow<'static, str>),
    /// Too many failed authentications from this client address lately (429 + Retry-After).
    #[error("Too many failed authentication attempts: retry later")]
    TooManyRequests { retry_after: Duration },
    /// A valid user asking for another user's data by path (403).
    #[error("Access denied: cannot access another user's tasks")]
    Forbidden,
    /// A WebSocket upgrade from a browser origin not in `CORS_ORIGINS` (403).
    #[error("This origin may not open a socket: it is not in CORS_ORIGINS")]
    OriginNotAllowed,
    /// Input that breaks a rule (422 / `BAD_USER_INPUT`), every problem found. Never empty.
    #[error("{}", FieldError::summary(.0))]
    Validation(Vec<FieldError>),
    /// A task that does not exist, is malformed, or belongs to someone else (404).
    #[error("Task not found")]
    NotFound,
    /// A path no route serves (404).
    #[error("Not Found")]
    RouteNotFound,
    /// The task exists, but not at a version the change required (412 with its `ETag`;
    /// GraphQL `CONFLICT` with `currentVersion`). Nothing was changed.
    #[error("Precondition failed: the task has changed")]
    PreconditionFailed { current_version: i32 },
    /// A create with this idempotency key is still being made, here or on another replica
    /// (409 + Retry-After). Retrying once it is done replays its answer.
    #[error("A request with this idempotency key is still in progress: retry shortly")]
    CreateInProgress,
    /// An events cursor older than the retention: events after it were purged, so the client
    /// reloads its list instead of resuming (410 / `CURSOR_EXPIRED`).
    #[error("The cursor is older than the retained events: reload, then resume from a new cursor")]
    CursorExpired,
    /// A subscriber fell too far behind its events: its subscription ends, and it resumes from
    /// its last cursor (`SLOW_CONSUMER`).
    #[error("Too far behind the events: resume from the last cursor received")]
    SlowConsumer,
    /// A method the route does not take (405 + `Allow`).
    #[error("{message}")]
    MethodNotAllowed {
        allow: Option<&'static str>,
        message: &'static str,
    },
    /// A body of a media type the route does not read (415).
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
    /// A request body over the limit (413).
    #[error("Request body too large: at most 65536 bytes are accepted")]
    PayloadTooLarge,
    /// The database cannot be reached or is saturated (503 + Retry-After).
    #[error("Service temporarily unavailable, retry shortly")]
    DatabaseUnavailable(#[source] DbErr),
    /// The database answered, but its schema is not (yet) one this binary can use (503).
    #[error("Service temporarily unavailable, retry shortly")]
    SchemaNotReady(String),
    /// More API requests in progress than the server admits at once (503 + Retry-After).
    #[error("Service temporarily unavailable, retry shortly")]
    Overloaded,
    /// The request was not answered within the configured time (504).
    #[error("Request timed out: not answered within {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    /// Anything else: logged with its cause, shown as a generic message (500).
    #[error("Internal server error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    /// Seconds a client should wait before retrying a 503.
    pub const RETRY_AFTER_SECONDS: u64 = 2;

    pub fn invalid(error: FieldError) -> Self {
        Self::Validation(vec![error])
    }

    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::BadRequest(message.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Forbidden | Self::OriginNotAllowed => StatusCode::FORBIDDEN,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound | Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Self::CreateInProgress => StatusCode::CONFLICT,
            Self::CursorExpired => StatusCode::GONE,
            Self::SlowConsumer => StatusCode::SERVICE_UNAVAILABLE,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::DatabaseUnavailable(_) | Self::SchemaNotReady(_) | Self::Overloaded => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// GraphQL's `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::BadRequest(_) => "BAD_REQUEST",
            Self::TooManyRequests { .. } => "TOO_MANY_REQUESTS",
            Self::Forbidden | Self::OriginNotAllowed => "FORBIDDEN",
            Self::Validation(_) => "BAD_USER_INPUT",
            Self::NotFound | Self::RouteNotFound => "NOT_FOUND",
            Self::PreconditionFailed { .. } | Self::CreateInProgress => "CONFLICT",
            Self::CursorExpired => "CURSOR_EXPIRED",
            Self::SlowConsumer => "SLOW_CONSUMER",
            Self::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            Self::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::DatabaseUnavailable(_) | Self::SchemaNotReady(_) | Self::Overloaded => {
                "SERVICE_UNAVAILABLE"
            }
            Self::Timeout(_) => "TIMEOUT",
            Self::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The headers that go with the status, whichever front end answers.
    pub fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        match self {
            Self::Unauthenticated(_) => vec![(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
            Self::TooManyRequests { retry_after } => {
                vec![(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_seconds(*retry_after)),
                )]
            }
            Self::DatabaseUnavailable(_) | Self::SchemaNotReady(_) | Self::Overloaded => {
                vec![(header::RETRY_AFTER, HeaderValue::from(Self::RETRY_AFTER_SECONDS))]
            }
            Self::CreateInProgress => vec![(header::RETRY_AFTER, HeaderValue::from(1))],
            Self::PreconditionFailed { current_version } => {
                let tag = crate::domain::entity_tag(*current_version);
                HeaderValue::from_str(&tag)
                    .map(|tag| vec![(header::ETAG, tag)])
                    .unwrap_or_default()
            }
            Self::MethodNotAllowed {
                allow: Some(allow), ..
            } => {
                vec![(header::ALLOW, HeaderValue::from_static(allow))]
            }
            _ => Vec::new(),
        }
    }

    /// Logs what the client is not told: the cause of a 503 or a 500. Called once, by the
    /// renderer that turns the error into a response.
    pub fn log_cause(&self) {
        match self {
            Self::DatabaseUnavailable(cause) => tracing::warn!(error = %cause, "database unavailable"),
            Self::SchemaNotReady(reason) => tracing::warn!(reason, "database schema not ready"),
            Self::Overloaded => tracing::warn!("too many requests in progress: refused"),
            Self::Timeout(limit) => tracing::warn!(timeout = ?limit, "request timed out"),
            Self::Internal(cause) => tracing::error!(error = ?cause, "internal error"),
            _ => {}
        }
    }
}

/// Reading a request body failed: it is over the limit (413), or the connection broke (400).
impl From<BytesRejection> for AppError {
    fn from(rejection: BytesRejection) -> Self {
        match rejection {
            BytesRejection::FailedToBufferBody(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::PayloadTooLarge
            }
            _ => Self::bad_request("The request body could not be read"),
        }
    }
}

/// Whole seconds for a `Retry-After` header, rounded up so a client never retries too early.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

impl From<DbErr> for AppError {
    fn from(error: DbErr) -> Self {
        if is_unavailable(&error) {
            Self::DatabaseUnavailable(error)
        } else {
            Self::Internal(error.into())
        }
    }
}

/// Pool exhausted, server unreachable, shutting down or out of connection slots, or the
/// connection lost mid-statement: the database, not the request, is at fault, and the client may
/// retry.
pub fn is_unavailable(error: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as SqlxError;
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => match e.as_ref() {
            SqlxError::Io(_)
            | SqlxError::Tls(_)
            | SqlxError::PoolTimedOut
            | SqlxError::PoolClosed
            | SqlxError::WorkerCrashed => true,
            // SQLSTATE class 08 (connection exception), 57P01..57P03 (admin shutdown, crash
            // shutdown, cannot connect now: a restarting or waking server), 53300 (too many
            // connections).
            SqlxError::Database(db) => db.code().is_some_and(|code| {
                code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
            }),
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unavailability_is_a_503_with_retry_after() {
        for error in [
            AppError::DatabaseUnavailable(DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout)),
            AppError::SchemaNotReady("pending migrations".into()),
            AppError::Overloaded,
        ] {
            assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(error.code(), "SERVICE_UNAVAILABLE");
            assert_eq!(
                error.headers(),
                [(
                    header::RETRY_AFTER,
                    HeaderValue::from(AppError::RETRY_AFTER_SECONDS)
                )]
            );
            // The cause is for the log, not the client.
            assert_eq!(
                error.to_string(),
                "Service temporarily unavailable, retry shortly"
            );
        }
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_seconds(Duration::from_millis(2001)), 3);
        let throttled = AppError::TooManyRequests {
            retry_after: Duration::from_millis(1500),
        };
        assert_eq!(
            throttled.headers(),
            [(header::RETRY_AFTER, HeaderValue::from(2u64))]
        );
    }

    #[test]
    fn a_timeout_says_how_long_it_waited() {
        let error = AppError::Timeout(Duration::from_secs(30));
        assert_eq!(error.status(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(error.code(), "TIMEOUT");
        assert_eq!(error.to_string(), "Request timed out: not answered within 30s");
    }
}
