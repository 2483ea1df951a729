//! Metrics in Prometheus' text format at `/metrics`, through the `metrics` facade and
//! `metrics-exporter-prometheus` (docs/api.md#metrics):
//!
//! - `http_requests_total{method,route,status}`: `route` is the route template
//!   (`/api/{user_id}/tasks`), never the raw path, or `unmatched`;
//! - `http_request_duration_seconds{method,route}`: a histogram;
//! - `db_pool_connections{state="in_use"|"idle"}`: read from the pool at each scrape;
//! - `auth_failures_total{reason}`: counted where security events are emitted;
//! - the real-time ones of [`crate::realtime::metrics`]: `ws_open_sockets`,
//!   `ws_active_subscriptions`, `task_events_delivered_total`, `ws_slow_consumer_closes_total`,
//!   `event_listener_reconnects_total`.
//!
//! The recorder is process-global: it is installed once, on first use, whatever the number of
//! apps a process builds (the tests build many).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::{DatabaseConnection, DbBackend};

use crate::app::AppState;

const REQUESTS: &str = "http_requests_total";
const DURATION: &str = "http_request_duration_seconds";
const POOL: &str = "db_pool_connections";
pub const AUTH_FAILURES: &str = "auth_failures_total";

/// Latency buckets (seconds): from a fast indexed read to the request timeout.
const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Histograms are folded into their buckets this often (and at each scrape), so memory stays
/// bounded when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The process-wide recorder's handle, installing the recorder on first use.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(install)
}

fn install() -> PrometheusHandle {
    let builder = PrometheusBuilder::new();
    let builder = match builder.set_buckets_for_metric(Matcher::Full(DURATION.to_owned()), &DURATION_BUCKETS)
    {
        Ok(builder) => builder,
        // Only refused for an empty list of buckets, which this is not.
        Err(_) => PrometheusBuilder::new(),
    };
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        tracing::warn!("another metrics recorder is installed: /metrics will be empty");
    }
    metrics::describe_counter!(
        REQUESTS,
        "HTTP requests answered, by method, route template and status"
    );
    metrics::describe_histogram!(
        DURATION,
        metrics::Unit::Seconds,
        "HTTP request latency, by method and route template"
    );
    metrics::describe_gauge!(POOL, "Database pool connections, by state (in_use, idle)");
    metrics::describe_counter!(AUTH_FAILURES, "Refused credentials, by reason");
    crate::realtime::metrics::describe();
    let upkeep = handle.clone();
    // A thread, not a task: it outlives any one runtime (tests run many).
    let _ = std::thread::Builder::new()
        .name("metrics-upkeep".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        });
    handle
}

/// Counts and times every request, labelled with the route template it matched.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(REQUESTS, "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(DURATION, "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The standard methods by name; anything else is `other`, so a client cannot grow the label set.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `GET /metrics`: the pool gauges are read now, then everything is rendered.
pub async fn render(State(state): State<AppState>) -> Response {
    state.record_pool_metrics();
    let handle = handle();
    handle.run_upkeep();
    let mut response = handle.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

pub fn record_pool(db: &DatabaseConnection) {
    let (size, idle) = match db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => return,
    };
    let idle = u32::try_from(idle).unwrap_or(u32::MAX);
    metrics::gauge!(POOL, "state" => "in_use").set(f64::from(size.saturating_sub(idle)));
    metrics::gauge!(POOL, "state" => "idle").set(f64::from(idle));
}
