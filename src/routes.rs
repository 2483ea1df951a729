//! The whole HTTP surface: each front end's routes inside the API layers, the public
//! operations endpoints, the fallbacks, and the app-wide layers around all of it.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::HeaderName;
use axum::middleware;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use tower_http::LatencyUnit;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::app::{AppState, MAX_BODY_BYTES, REQUEST_ID_HEADER};
use crate::config::Config;
use crate::limit::InFlight;
use crate::middleware::{FrontEnd, api, cors, drop_malformed_request_id};
use crate::{graphql, health, prometheus, rest};

pub fn router(state: AppState, config: &Config) -> Router {
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    // One admission gate for both front ends: the bound is on the API work in progress.
    let admission = InFlight::for_config(config);
    let timeout = config.request_timeout;
    Router::new()
        .merge(api(
            rest::router(config.unscoped_probe),
            FrontEnd::Rest,
            admission.clone(),
            timeout,
        ))
        .merge(api(
            graphql::router(state.clone(), config),
            FrontEnd::Graphql,
            admission,
            timeout,
        ))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(prometheus::render))
        .fallback(rest::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), announce_commits))
        .method_not_allowed_fallback(rest::method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(cors(&config.cors_origins))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let request_id = request
                .headers()
                .get(REQUEST_ID_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
        })
        .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(LatencyUnit::Micros)))
        // Outside the trace span, so it also counts what the layers inside answer (413, 504).
        .layer(middleware::from_fn(prometheus::track))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(middleware::from_fn(drop_malformed_request_id))
}

/// Runs a request so that the changes it commits reach this process's subscribers at once
/// (`service::tasks::announcing`).
async fn announce_commits(State(state): State<AppState>, request: Request, next: Next) -> Response {
    crate::service::tasks::announcing(state.realtime.on_commit(), next.run(request)).await
}
