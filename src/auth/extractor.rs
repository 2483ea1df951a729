//! The `Authorization` header rules (contract §2, §6) and the extractor built on them.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::events::{RequestMeta, auth_failed};
use super::token::MAX_TOKEN_BYTES;
use super::{AuthFailure, TokenVerifier};
use crate::app::AppState;
use crate::domain::{Owner, UserProfile};
use crate::error::AppError;

/// The verified caller of a request.
#[derive(Clone, Debug)]
pub struct AuthUser {
    pub owner: Owner,
    pub profile: UserProfile,
}

/// Reads and verifies the bearer credential of a request; on refusal, emits the security event
/// and says why. Nothing but the `Authorization` header is ever read (no query string, no
/// cookie).
pub fn authenticate(parts: &Parts, verifier: &TokenVerifier) -> Result<AuthUser, AuthFailure> {
    verify_header(parts, verifier).inspect_err(|failure| {
        let status = if failure.is_bad_request() { 400 } else { 401 };
        auth_failed(&RequestMeta::from_parts(parts), *failure, status);
    })
}

fn verify_header(parts: &Parts, verifier: &TokenVerifier) -> Result<AuthUser, AuthFailure> {
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
    let verified = verifier.verify(token)?;
    Ok(AuthUser {
        owner: Owner::verified(verified.user_id),
        profile: verified.profile,
    })
}

impl<S> FromRequestParts<S> for AuthUser
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        authenticate(parts, &state.verifier).map_err(|failure| {
            if failure.is_bad_request() {
                AppError::BadRequest(failure.message())
            } else {
                AppError::Unauthenticated(failure)
            }
        })
    }
}
