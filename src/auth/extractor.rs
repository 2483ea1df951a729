//! The `Authorization` header rules (docs/api.md#authorization-header) and the extractor built on them.

use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::events::{RequestMeta, auth_failed, auth_throttled};
use super::token::MAX_TOKEN_BYTES;
use super::{AuthFailure, Authenticator, TokenVerifier};
use crate::app::AppState;
use crate::domain::{Owner, UserProfile};
use crate::error::AppError;
use crate::rest::RestError;

/// The verified caller of a request.
#[derive(Clone, Debug)]
pub struct AuthUser {
    pub owner: Owner,
    pub profile: UserProfile,
    /// When the token expires (seconds since the epoch; `None` if its `exp` is too odd to hold).
    pub expires_at: Option<u64>,
}

/// Why a request is not authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthRejection {
    /// The credential was refused (401, or 400 for two `Authorization` headers).
    Refused(AuthFailure),
    /// The client address has failed too often lately (429).
    Throttled { retry_after: Duration },
}

impl From<AuthRejection> for AppError {
    fn from(rejection: AuthRejection) -> Self {
        match rejection {
            AuthRejection::Refused(failure) if failure.is_bad_request() => {
                AppError::bad_request(failure.message())
            }
            AuthRejection::Refused(failure) => AppError::Unauthenticated(failure),
            AuthRejection::Throttled { retry_after } => AppError::TooManyRequests { retry_after },
        }
    }
}

/// Reads and verifies the bearer credential of a request. On refusal it counts the failure
/// against the client address (unless it is one that never counts) and emits the security
/// event. Nothing but the `Authorization` header is ever read for the credential (no query
/// string, no cookie).
pub async fn authenticate(parts: &Parts, auth: &Authenticator) -> Result<AuthUser, AuthRejection> {
    let failure = match verify_header(parts, &auth.verifier).await {
        Ok(user) => return Ok(user),
        Err(failure) => failure,
    };
    let meta = RequestMeta::from_parts(parts, &auth.trusted_proxies);
    if failure.counts_toward_throttle()
        && let Some(address) = meta.client_addr
        && let Err(throttled) = auth.throttle.record_failure(address)
    {
        if let Some(suppressed) = throttled.report {
            auth_throttled(&meta, failure, suppressed, throttled.retry_after);
        }
        return Err(AuthRejection::Throttled {
            retry_after: throttled.retry_after,
        });
    }
    let status = if failure.is_bad_request() { 400 } else { 401 };
    auth_failed(&meta, failure, status);
    Err(AuthRejection::Refused(failure))
}

async fn verify_header(parts: &Parts, verifier: &TokenVerifier) -> Result<AuthUser, AuthFailure> {
    let mut headers = parts.headers.get_all(AUTHORIZATION).iter();
    let header = headers.next().ok_or(AuthFailure::MissingToken)?;
    if headers.next().is_some() {
        return Err(AuthFailure::MultipleCredentials);
    }
    let bytes = header.as_bytes();
    const SCHEME: &[u8] = b"bearer ";
    if bytes.len() < SCHEME.len() || !bytes[..SCHEME.len()].eq_ignore_ascii_case(SCHEME) {
        return Err(AuthFailure::Malformed);
    }
    let credential = bytes[SCHEME.len()..].trim_ascii();
    if credential.len() > MAX_TOKEN_BYTES {
        return Err(AuthFailure::TooLarge);
    }
    if credential.is_empty() {
        return Err(AuthFailure::MissingToken);
    }
    let token = std::str::from_utf8(credential).map_err(|_| AuthFailure::Malformed)?;
    let verified = verifier.verify(token).await?;
    Ok(AuthUser {
        owner: Owner::verified(verified.user_id),
        profile: verified.profile,
        expires_at: verified.expires_at,
    })
}

impl<S> FromRequestParts<S> for AuthUser
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        Ok(authenticate(parts, &state.auth).await?)
    }
}
