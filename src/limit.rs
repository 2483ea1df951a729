//! A bound on the API requests being worked on at once. Beyond it a request waits here, holding
//! only its head, before any handler state (extractors, queries, response buffers) exists:
//! under a thousand concurrent clients the server's memory stays that of the admitted few, and
//! the order of service stays first come, first served. A request admitted only after waiting
//! longer than the pool's acquire timeout gets the same 503 as one that finds no database
//! connection in time (checked on admission, so no timer is armed per request).
//!
//! Why a semaphore of our own rather than tower's `ConcurrencyLimitLayer`: tower waits for the
//! permit in `poll_ready` and then runs the request however long it waited, and its `Timeout`
//! arms its timer only in `call`, so it cannot bound the wait. Here a request that waited too
//! long is shed with a 503 (and `Retry-After`) the moment it is admitted, so an overload drains
//! at the speed of a refusal instead of doing work for clients that have likely given up (the
//! wait itself ends at the request timeout around it, in `middleware.rs`). Getting that from
//! tower takes `Buffer` + `Timeout` (which would also cut admitted requests at the acquire
//! timeout, and adds a hop through a worker task per request) or a readiness check written by
//! hand, no shorter than this middleware. Nor would tower be faster. Measured with release
//! builds over loopback (`bench/run.sh --db sqlite --users 50 --tasks 20 --duration 5s --runs 1
//! --workloads list --connections 1000`, three alternating runs each on 2 shared cores,
//! medians): this gate 5,046 req/s, p99 226 ms, peak RSS 59 MB; tower's
//! `GlobalConcurrencyLimitLayer` on the same semaphore 4,914 req/s, p99 228 ms, 61 MB: the same
//! within the noise.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::Semaphore;

use crate::config::Config;
use crate::db::{self, ACQUIRE_TIMEOUT};
use crate::error::AppError;
use crate::middleware::front_end_of;

/// Fewest requests admitted at once, whatever the pool.
pub const MIN_IN_FLIGHT: usize = 32;

/// Requests admitted at once: half as many again as the database pool has connections (requests
/// also spend time outside the database: parsing, serialising, sending), and at least
/// [`MIN_IN_FLIGHT`]; few enough that their working state is a few megabytes. It was 128: under
/// 1000 connections that many GraphQL requests in progress at once held 6 MB more than 32 do,
/// for no more throughput (BENCHMARKS.md, "Performance, round 3").
pub fn admitted_at_once(config: &Config) -> usize {
    let pool = usize::try_from(db::pool_size(
        &config.database_url,
        config.database_max_connections,
    ))
    .unwrap_or(usize::MAX);
    MIN_IN_FLIGHT.max(pool.saturating_mul(3) / 2)
}

/// The admission gate shared by every route it wraps.
#[derive(Clone)]
pub struct InFlight(Arc<Semaphore>);

impl InFlight {
    pub fn new(permits: usize) -> Self {
        Self(Arc::new(Semaphore::new(permits)))
    }
}

impl InFlight {
    /// The gate for this configuration's pool ([`admitted_at_once`]).
    pub fn for_config(config: &Config) -> Self {
        Self::new(admitted_at_once(config))
    }
}

/// Middleware: waits for a permit, then runs the request with it; one that waited longer than
/// [`ACQUIRE_TIMEOUT`] is answered 503 instead (the server is overloaded; the client may retry).
pub async fn admit(State(gate): State<InFlight>, request: Request, next: Next) -> Response {
    let front_end = front_end_of(&request);
    let arrived = Instant::now();
    match gate.0.acquire().await {
        Ok(_permit) if arrived.elapsed() <= ACQUIRE_TIMEOUT => next.run(request).await,
        _ => front_end.render(AppError::Overloaded),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    #[test]
    fn the_gate_admits_half_as_many_again_as_the_pool_and_at_least_32() {
        let with_pool = |url: &str, pool: Option<u32>| {
            admitted_at_once(&Config {
                database_url: url.to_owned(),
                database_max_connections: pool.and_then(std::num::NonZeroU32::new),
                ..Config::default()
            })
        };
        assert_eq!(with_pool("postgres://db/todo", None), MIN_IN_FLIGHT);
        assert_eq!(with_pool("sqlite://todo.db", None), MIN_IN_FLIGHT);
        assert_eq!(with_pool("postgres://db/todo", Some(20)), MIN_IN_FLIGHT);
        assert_eq!(with_pool("postgres://db/todo", Some(40)), 60);
    }

    /// A one-permit gate in front of a handler that takes `work` to answer.
    fn gated(gate: &InFlight, work: Duration) -> Router {
        Router::new()
            .route(
                "/",
                get(move || async move {
                    tokio::time::sleep(work).await;
                    "done"
                }),
            )
            .route_layer(axum::middleware::from_fn_with_state(gate.clone(), admit))
    }

    /// Starts one request and returns once it holds the gate's only permit.
    async fn occupy(app: &Router, gate: &InFlight) -> tokio::task::JoinHandle<StatusCode> {
        let app = app.clone();
        let first = tokio::spawn(async move {
            let response = app.oneshot(Request::new(Body::empty())).await;
            response.expect("infallible").status()
        });
        while gate.0.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        first
    }

    #[tokio::test]
    async fn a_request_that_waited_past_the_acquire_timeout_is_refused_503_when_admitted() {
        let gate = InFlight::new(1);
        let app = gated(&gate, ACQUIRE_TIMEOUT + Duration::from_millis(300));
        let first = occupy(&app, &gate).await;
        let second = app
            .oneshot(Request::new(Body::empty()))
            .await
            .expect("infallible");
        assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            first.await.expect("task"),
            StatusCode::OK,
            "the admitted one is served"
        );
    }

    #[tokio::test]
    async fn a_request_that_waited_less_is_served_after_the_one_ahead_of_it() {
        let gate = InFlight::new(1);
        let app = gated(&gate, Duration::from_millis(100));
        let first = occupy(&app, &gate).await;
        let second = app
            .oneshot(Request::new(Body::empty()))
            .await
            .expect("infallible");
        assert_eq!(second.status(), StatusCode::OK);
        assert_eq!(first.await.expect("task"), StatusCode::OK);
    }
}
