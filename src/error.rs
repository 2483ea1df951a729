//! One error type for the whole request path: each variant is one HTTP status (REST) and one
//! GraphQL `extensions.code`. Internal causes are logged where they are converted, never shown.

use sea_orm::DbErr;

use crate::auth::AuthFailure;
use crate::domain::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No valid credential (401).
    #[error("{}", .0.message())]
    Unauthenticated(AuthFailure),
    /// A credential this server will not read at all, such as two `Authorization` headers (400).
    #[error("{0}")]
    BadRequest(&'static str),
    /// Too many failed authentications from this client address lately (429 + Retry-After).
    #[error("Too many failed authentication attempts: retry later")]
    TooManyRequests { retry_after: std::time::Duration },
    /// A valid user asking for another user's data by path (403).
    #[error("Access denied: cannot access another user's tasks")]
    Forbidden,
    /// Input that breaks a rule (422 / BAD_USER_INPUT). Never empty.
    #[error("{}", summarize(.0))]
    Validation(Vec<FieldError>),
    /// A task that does not exist, is malformed, or belongs to someone else (404 / NOT_FOUND).
    #[error("Task not found")]
    NotFound,
    /// A request body over the limit (413).
    #[error("Request body too large: at most 65536 bytes are accepted")]
    PayloadTooLarge,
    /// The database cannot be reached or is saturated (503 + Retry-After).
    #[error("Service temporarily unavailable, retry shortly")]
    Unavailable(#[source] DbErr),
    /// Anything else: logged with its cause, shown as a generic message (500).
    #[error("Internal server error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn invalid(error: FieldError) -> Self {
        Self::Validation(vec![error])
    }

    /// Seconds a client should wait before retrying a 503.
    pub const RETRY_AFTER_SECONDS: u64 = 2;
}

/// Whole seconds for a `Retry-After` header, rounded up so a client never retries too early.
pub fn retry_after_seconds(wait: std::time::Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

fn summarize(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<DbErr> for AppError {
    fn from(error: DbErr) -> Self {
        if is_unavailable(&error) {
            Self::Unavailable(error)
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
