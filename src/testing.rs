//! The internals this crate's integration tests (`tests/api`) and the benchmark's helper
//! (`bench/tool.rs`) reach below the HTTP API: a direct connection, the entities (to seed rows
//! and check what was stored), the migration steps, provisioning a user, and a GraphQL cursor.
//!
//! **Not a stable API**: it changes whenever those tests or the benchmark do. A user of the
//! library builds and runs the app with [`crate::app`] and [`crate::config`] instead.

use sea_orm::{DatabaseConnection, DbErr};

use crate::domain::{SortDirection, SortField, UserProfile};
use crate::graphql::cursor;
use crate::service::tasks::Keyset;
use crate::service::users::{self, KnownUsers};

pub use crate::db::ACQUIRE_TIMEOUT;
pub use crate::domain::{Owner, Priority, Repeat, TaskTags, UserId, now_micros};
pub use crate::entity::{idempotency_key, task, task_tag, user};
pub use crate::limit::admitted_at_once;
pub use crate::service::tasks::{purge_expired_events, purge_expired_keys};

/// The migration steps `todo-api migrate` and `serve` run, for any migrator (the tests pass
/// failing and slow ones of their own).
pub mod migrate {
    pub use crate::migrate::{MigrateError, applied_versions, down, known_versions, up};
}

/// A pool as the server opens it (lazy, the backend's pragmas), of the default size.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    crate::db::connect(url, None).await
}

/// Creates the user row for `user_id` (with no profile), as the API does on a user's first
/// authenticated request, so tasks can be inserted for that user directly.
pub async fn provision_user(db: &DatabaseConnection, user_id: &str) -> anyhow::Result<()> {
    let id = UserId::parse(user_id).ok_or_else(|| anyhow::anyhow!("{user_id:?} is not a user id"))?;
    let owner = Owner::verified(id);
    users::ensure_exists(db, &KnownUsers::default(), &owner, &UserProfile::default())
        .await
        .map_err(|error| anyhow::anyhow!("provisioning {user_id}: {error}"))?;
    Ok(())
}

/// The GraphQL cursor of `task` in the `tasks` connection's default order (newest first:
/// `created_at` then `id`, descending), made by the server's own encoder.
pub fn default_order_cursor(task: &task::Model) -> String {
    let ordering = cursor::Ordering {
        sort: SortField::CreatedAt,
        direction: SortDirection::Desc,
    };
    cursor::encode(ordering, &Keyset::of(task, ordering.sort))
}
