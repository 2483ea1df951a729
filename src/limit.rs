//! A bound on the API requests being worked on at once. Beyond it a request waits here, holding
//! only its head, before any handler state (extractors, queries, response buffers) exists:
//! under a thousand concurrent clients the server's memory stays that of the admitted few, and
//! the order of service stays first come, first served. A request admitted only after waiting
//! longer than the pool's acquire timeout gets the same 503 as one that finds no database
//! connection in time (checked on admission, so no timer is armed per request).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::Semaphore;

use crate::db::ACQUIRE_TIMEOUT;
use crate::error::AppError;
use crate::middleware::front_end_of;

/// Requests admitted at once. Well above any sensible database pool (requests also spend time
/// outside the database: parsing, serialising, sending), small enough that their working state
/// is a few megabytes.
pub const MAX_IN_FLIGHT: usize = 128;

/// The admission gate shared by every route it wraps.
#[derive(Clone)]
pub struct InFlight(Arc<Semaphore>);

impl InFlight {
    pub fn new(permits: usize) -> Self {
        Self(Arc::new(Semaphore::new(permits)))
    }
}

impl Default for InFlight {
    fn default() -> Self {
        Self::new(MAX_IN_FLIGHT)
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
