//! Security events (docs/api.md#security-events): exactly one structured event per refusal on the `security`
//! tracing target. Never the token, a secret, a query string or a body.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath};
use axum::http::request::Parts;

use super::AuthFailure;
use crate::client_addr::TrustedProxies;

/// What a security event says about the request that caused it.
#[derive(Clone, Debug)]
pub struct RequestMeta {
    pub request_id: String,
    /// The client as `TRUSTED_PROXIES` lets us see it (see [`crate::client_addr`]); `None`
    /// when the router was served without connection info.
    pub client_addr: Option<IpAddr>,
    pub method: String,
    /// The path alone, still percent-encoded (so it holds no line breaks): a query string may
    /// carry secrets.
    pub path: String,
    /// The route template, e.g. `/api/{user_id}/tasks`; `-` when no route matched.
    pub route: String,
}

impl RequestMeta {
    /// Built for refused requests only, so an accepted one never pays for reading the
    /// forwarding headers.
    pub fn from_parts(parts: &Parts, trusted_proxies: &TrustedProxies) -> Self {
        let request_id = parts
            .headers
            .get(crate::app::REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        Self {
            request_id,
            client_addr: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| trusted_proxies.client_addr(peer.ip(), &parts.headers)),
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            route: parts
                .extensions
                .get::<MatchedPath>()
                .map_or_else(|| "-".to_owned(), |route| route.as_str().to_owned()),
        }
    }

    fn client_ip(&self) -> String {
        self.client_addr
            .map_or_else(|| "-".to_owned(), |addr| addr.to_string())
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
        client_ip = %meta.client_ip(),
        method = %meta.method,
        path = %meta.path,
        route = %meta.route,
        status,
        "authentication failed"
    );
}

/// An address over its failure budget: logged once a minute at most, with how many failures
/// went unlogged since the last report (see `throttle`).
pub fn auth_throttled(meta: &RequestMeta, failure: AuthFailure, suppressed: u64, retry_after: Duration) {
    tracing::warn!(
        target: "security",
        event = "auth_throttled",
        reason = failure.reason(),
        request_id = %meta.request_id,
        client_ip = %meta.client_ip(),
        method = %meta.method,
        path = %meta.path,
        route = %meta.route,
        status = 429u16,
        suppressed,
        retry_after_seconds = retry_after.as_secs(),
        "authentication failures throttled"
    );
}

/// A verified user asking for another user's data by path (403).
pub fn access_denied(meta: &RequestMeta, user_id: &str, path_user_id: &str) {
    tracing::warn!(
        target: "security",
        event = "access_denied",
        reason = "user_mismatch",
        request_id = %meta.request_id,
        client_ip = %meta.client_ip(),
        method = %meta.method,
        path = %meta.path,
        route = %meta.route,
        status = 403u16,
        user_id,
        // Decoded from the path, so it may hold any character: escaped for the log.
        path_user_id = %path_user_id.escape_debug(),
        "access denied"
    );
}
