//! How an [`AppError`] becomes a GraphQL error: one `extensions.code` per variant, the input
//! field for `BAD_USER_INPUT`, and a generic message (with the cause logged) for anything
//! internal.

use std::sync::Arc;

use async_graphql::ErrorExtensions;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

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

/// The code and message a client sees for `error`: the `AppError`'s own message (never a
/// cause), its code, and for `BAD_USER_INPUT` the input field. The cause of a 503 or 500 is
/// logged here.
pub fn to_graphql(error: &AppError) -> async_graphql::Error {
    error.log_cause();
    let code = error.code();
    let field = match error {
        AppError::Validation(fields) => fields.first().map(FieldError::field),
        _ => None,
    };
    let current_version = match error {
        AppError::PreconditionFailed { current_version } => Some(*current_version),
        _ => None,
    };
    async_graphql::Error::new(error.to_string()).extend_with(|_, extensions| {
        extensions.set("code", code);
        if let Some(field) = &field {
            extensions.set("field", field.as_str());
        }
        if let Some(version) = current_version {
            extensions.set("currentVersion", version);
        }
    })
}

/// The one place an [`AppError`] met outside execution (the transport, authentication,
/// provisioning the caller, every middleware answer on `/graphql`) becomes an HTTP answer:
/// `{"errors": [{"message", "extensions": {"code"}}]}` with the error's status and headers.
pub fn render(error: AppError) -> Response {
    let status = error.status();
    let headers = error.headers();
    let coded = to_graphql(&error);
    // No `locations`: the error is about the request, not a place in the document.
    let mut error = async_graphql::ServerError::new(coded.message, None);
    error.extensions = coded.extensions;
    let mut response = (status, axum::Json(json!({ "errors": [error] }))).into_response();
    response.headers_mut().extend(headers);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
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
