//! Task operations. Every one takes the verified [`Owner`](crate::domain::Owner) and starts from
//! an owner-scoped constructor of [`task::Entity`](crate::entity::task::Entity), so another
//! user's task is indistinguishable from a missing one.
//!
//! - `crud`: create, get, update, toggle, set completed, delete (each change checked against
//!   the version the client expects), and the owner's counts;
//! - `events`: the event every change records in its own transaction, and the owner's stream;
//! - `idempotent`: a create named by an idempotency key, made once and replayed to retries;
//! - `listing`: pages by offset with their total (REST);
//! - `keyset`: pages by position (GraphQL connections);
//! - `filter`: the filtered, ordered base query both kinds of list start from;
//! - `tags`: the `task_tags` rows of a task's set, the owner's tags with counts.

mod crud;
mod events;
mod filter;
mod idempotent;
mod keyset;
mod listing;
mod tags;

pub use crud::{
    TaskCounts, counts, create, delete, get, ids_seen_without_an_owner_filter, set_completed, toggle, update,
};
pub use events::{
    EventKind, announcing, cursor_past_the_end, events_after, newest_event, purge_expired_events,
};
pub use idempotent::{CreatesInFlight, create_once, purge_expired_keys};
pub use keyset::{Keyset, KeysetRequest, PageTake, SortKey, list_keyset};
pub use listing::{OffsetPage, count, list_with_total};
pub use tags::{TagCount, tag_counts};
