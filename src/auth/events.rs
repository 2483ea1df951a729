//! Security events (contract §7): exactly one structured event per refusal on the `security`
//! tracing target. Never the token, a secret, a query string or a body.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;

use super::AuthFailure;

/// What a security event says about the request that caused it.
#[derive(Clone, Debug)]
pub struct RequestMeta {
    pub request_id: String,
    pub client_ip: String,
    pub method: String,
    /// The path alone: a query string may carry secrets.
    pub path: String,
}

impl RequestMeta {
    pub fn from_parts(parts: &Parts) -> Self {
        let request_id = parts
            .headers
            .get(crate::app::REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        let client_ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string())
            .unwrap_or_else(|| "-".to_owned());
        Self {
            request_id,
            client_ip,
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
        }
    }
}

/// A request refused for its credential (401, or 400 for two `Authorization` headers).
pub fn auth_failed(meta: &RequestMeta, failure: AuthFailure, status: u16) {
    metrics::counter!(crate::prometheus::AUTH_FAILURES, "reason" => failure.reason()).increment(1);
    tracing::warn!(
        target: "security",
        event = "auth_failed",
        reason = failure.reason(),
        request_id = %meta.request_id,
        client_ip = %meta.client_ip,
        method = %meta.method,
        path = %meta.path,
        status,
        "authentication failed"
    );
}

/// A verified user asking for another user's data by path (403).
pub fn access_denied(meta: &RequestMeta, user_id: &str, path_user_id: &str) {
    tracing::warn!(
        target: "security",
        event = "access_denied",
        reason = "user_mismatch",
        request_id = %meta.request_id,
        client_ip = %meta.client_ip,
        method = %meta.method,
        path = %meta.path,
        status = 403u16,
        user_id,
        path_user_id,
        "access denied"
    );
}
