//! How an [`AppError`] becomes a GraphQL error: one `extensions.code` per variant, the input
//! field for `BAD_USER_INPUT`, and a generic message (with the cause logged) for anything
//! internal.

use std::sync::Arc;

use async_graphql::ErrorExtensions;

use crate::domain::FieldError;
use crate::error::AppError;

/// A resolver's error.
///
/// Deliberately not `Display`: async-graphql turns any `Display` error into a client message
/// carrying its text (that is how `DbErr` text leaks). This type only becomes an
/// `async_graphql::Error` through `From<GqlError>`, and only `From<AppError>` builds one, so a
/// `?` in a resolver always goes through [`to_graphql`].
#[derive(Clone)]
pub struct GqlError(async_graphql::Error);

pub type GqlResult<T> = Result<T, GqlError>;

impl From<AppError> for GqlError {
    fn from(error: AppError) -> Self {
        Self(to_graphql(&error))
    }
}

/// DataLoader errors are shared between the fields that waited on one load.
impl From<Arc<AppError>> for GqlError {
    fn from(error: Arc<AppError>) -> Self {
        Self(to_graphql(&error))
    }
}

impl From<GqlError> for async_graphql::Error {
    fn from(error: GqlError) -> Self {
        error.0
    }
}

/// The code and message a client sees for `error`.
pub fn to_graphql(error: &AppError) -> async_graphql::Error {
    let code = code(error);
    match error {
        AppError::Validation(fields) => {
            let field = fields.first().map(|f| f.field).unwrap_or_default();
            async_graphql::Error::new(error.to_string()).extend_with(|_, extensions| {
                extensions.set("code", code);
                extensions.set("field", field);
            })
        }
        AppError::Unavailable(cause) => {
            tracing::warn!(error = %cause, "database unavailable");
            coded(error, code)
        }
        AppError::Internal(cause) => {
            tracing::error!(error = ?cause, "internal error");
            coded(error, code)
        }
        _ => coded(error, code),
    }
}

/// `extensions.code` of each variant. The messages are the `AppError`'s own, which never carry
/// a cause.
pub fn code(error: &AppError) -> &'static str {
    match error {
        AppError::Unauthenticated(_) => "UNAUTHENTICATED",
        AppError::BadRequest(_) => "BAD_REQUEST",
        AppError::TooManyRequests { .. } => "TOO_MANY_REQUESTS",
        AppError::Forbidden => "FORBIDDEN",
        AppError::Validation(_) => "BAD_USER_INPUT",
        AppError::NotFound => "NOT_FOUND",
        AppError::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
        AppError::Unavailable(_) => "SERVICE_UNAVAILABLE",
        AppError::Internal(_) => "INTERNAL_SERVER_ERROR",
    }
}

fn coded(error: &AppError, code: &'static str) -> async_graphql::Error {
    async_graphql::Error::new(error.to_string()).extend_with(|_, extensions| extensions.set("code", code))
}

/// A `BAD_USER_INPUT` refusal of one input field.
pub fn bad_input(field: &'static str, message: impl Into<String>) -> AppError {
    AppError::invalid(FieldError::new(field, "value_error", message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_say_nothing_about_their_cause() {
        let error = to_graphql(&AppError::Internal(anyhow::anyhow!(
            "relation \"tasks\" does not exist"
        )));
        assert_eq!(error.message, "Internal server error");
        let extensions = format!("{:?}", error.extensions);
        assert!(extensions.contains("INTERNAL_SERVER_ERROR"), "{extensions}");
        assert!(!extensions.contains("tasks"), "{extensions}");
    }

    #[test]
    fn validation_errors_name_the_field() {
        let error = to_graphql(&bad_input("first", "first must be between 0 and 100"));
        let extensions = serde_json::to_value(&error.extensions).expect("json");
        assert_eq!(extensions["code"], "BAD_USER_INPUT");
        assert_eq!(extensions["field"], "first");
        assert_eq!(error.message, "first: first must be between 0 and 100");
    }
}
