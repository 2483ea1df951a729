//! SeaORM entities. Task queries start only from the owner-scoped constructors in [`task`], so no
//! code outside this module can forget the owner filter; the same holds for [`task_tag`],
//! [`idempotency_key`], [`task_event`] and [`task_event_stream`].

pub mod idempotency_key;
pub mod task;
pub mod task_event;
pub mod task_event_stream;
pub mod task_tag;
pub mod user;
