//! The REST compatibility layer (docs/api.md#rest): the routes legacy clients call, in FastAPI's
//! shapes, over the same services as GraphQL.

mod docs;
mod errors;
mod extract;
pub mod openapi;
mod tasks;

pub use errors::{RestError, method_not_allowed, not_found, render};

/// The request header naming one create, so that retries of it create nothing more.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The response header saying a create's answer repeats the first answer to its key.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

use axum::Router;
use axum::routing::{get, patch};

use crate::app::AppState;

/// The REST routes; with `unscoped_probe` (tests only, `Config::unscoped_probe`) also the probe of
/// row-level security.
pub fn router(unscoped_probe: bool) -> Router<AppState> {
    let router = Router::new()
        .route("/api/{user_id}/tasks", get(tasks::list).post(tasks::create))
        .route(
            "/api/{user_id}/tasks/{task_id}",
            get(tasks::get_one).put(tasks::update).delete(tasks::delete),
        )
        .route("/api/{user_id}/tasks/{task_id}/complete", patch(tasks::toggle))
        // The REST documentation (public).
        .merge(docs::router());
    if unscoped_probe {
        router.route("/api/{user_id}/unscoped-task-ids", get(tasks::unscoped_task_ids))
    } else {
        router
    }
}
