//! The caller's task events (`Query.taskEvents`): every change of their tasks, oldest first, a
//! page at a time, for clients that sync without a socket.
//!
//! A cursor is base64url (no padding) of `e1:<number>`, the event's number in the caller's
//! stream. It carries no owner: another user's cursor only marks a position in the caller's own
//! stream, and can never reveal another user's events.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::error::{GqlResult, bad_input};
use super::pagination::PageInfo;
use super::scope::require_owner;
use super::types::{DateTime, Task};
use crate::entity::{task, task_event};
use crate::error::AppError;
use crate::service::tasks::{self as service, EventKind};

/// Page size of `taskEvents` when `first` is not given.
pub const DEFAULT_EVENTS_PAGE: i32 = 50;
/// The largest `first` of `taskEvents`.
pub const MAX_EVENTS_PAGE: i32 = 500;

const CURSOR_PREFIX: &str = "e1:";
/// Far above any cursor this server makes.
const MAX_CURSOR_CHARS: usize = 64;

/// The cursor of the event numbered `seq`.
fn encode(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{seq}"))
}

/// The event number a cursor names; anything this server did not make is a `BAD_USER_INPUT`.
pub(super) fn decode_cursor(cursor: &str) -> Result<i64, AppError> {
    let malformed = || bad_input("after", "after is not a cursor of taskEvents");
    if cursor.len() > MAX_CURSOR_CHARS {
        return Err(malformed());
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| malformed())?;
    let text = String::from_utf8(bytes).map_err(|_| malformed())?;
    text.strip_prefix(CURSOR_PREFIX)
        .and_then(|seq| seq.parse::<i64>().ok())
        .filter(|seq| *seq >= 0 && encode(*seq) == cursor)
        .ok_or_else(malformed)
}

/// What a change did to a task.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskEventKind {
    /// The task was created (by a create, or as the next occurrence of a repeating task).
    Created,
    /// The task changed.
    Updated,
    /// The task was deleted.
    Deleted,
}

impl From<EventKind> for TaskEventKind {
    fn from(kind: EventKind) -> Self {
        match kind {
            EventKind::Created => Self::Created,
            EventKind::Updated => Self::Updated,
            EventKind::Deleted => Self::Deleted,
        }
    }
}

/// One change of one of the caller's tasks.
pub struct TaskEvent {
    event: task_event::Model,
    kind: TaskEventKind,
    task: Option<task::Model>,
}

impl TryFrom<task_event::Model> for TaskEvent {
    type Error = AppError;

    fn try_from(event: task_event::Model) -> Result<Self, AppError> {
        let kind = EventKind::from_name(&event.kind)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown event kind {:?}", event.kind)))?;
        let task = event
            .task
            .as_deref()
            .map(serde_json::from_str::<task::Model>)
            .transpose()
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored event snapshot unreadable: {e}")))?;
        Ok(Self {
            kind: kind.into(),
            task,
            event,
        })
    }
}

/// One change of one of the caller's tasks.
#[Object]
impl TaskEvent {
    /// Opaque; strictly increasing within the caller's stream. Pass it as `after` to continue
    /// from this event.
    async fn cursor(&self) -> String {
        encode(self.event.seq)
    }

    /// What the change did.
    async fn kind(&self) -> TaskEventKind {
        self.kind
    }

    /// The task the change was made to.
    async fn task_id(&self) -> ID {
        ID(self.event.task_id.to_string())
    }

    /// The task as this change left it; null for a deletion.
    async fn task(&self) -> Option<Task> {
        self.task.clone().map(Task)
    }

    /// When the change was committed (UTC; never earlier than the stream's previous event).
    async fn occurred_at(&self) -> DateTime {
        DateTime(self.event.occurred_at)
    }
}

/// An event and its position in the caller's stream.
#[derive(SimpleObject)]
pub struct TaskEventEdge {
    /// The event's cursor.
    cursor: String,
    /// The event.
    node: TaskEvent,
}

/// A page of the caller's task events, oldest first.
pub struct TaskEventConnection {
    edges: Vec<TaskEventEdge>,
    page_info: PageInfo,
}

/// A page of the caller's task events, oldest first.
#[Object]
impl TaskEventConnection {
    /// The events of this page, each with its cursor.
    async fn edges(&self) -> &[TaskEventEdge] {
        &self.edges
    }

    /// The events of this page (the same as `edges { node }`).
    async fn nodes(&self) -> Vec<&TaskEvent> {
        self.edges.iter().map(|edge| &edge.node).collect()
    }

    /// Where this page sits in the stream. `hasPreviousPage` is always false: the stream is
    /// read forwards.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
}

/// Resolves `Query.taskEvents` for the caller.
pub async fn task_events(
    ctx: &Context<'_>,
    after: Option<String>,
    first: Option<i32>,
) -> GqlResult<TaskEventConnection> {
    let first = first.unwrap_or(DEFAULT_EVENTS_PAGE);
    let first = u64::try_from(first)
        .ok()
        .filter(|n| (1..=MAX_EVENTS_PAGE as u64).contains(n))
        .ok_or_else(|| bad_input("first", format!("first must be between 1 and {MAX_EVENTS_PAGE}")))?;
    let after = after.as_deref().map(decode_cursor).transpose()?;
    let scope = require_owner(ctx)?;
    let page = service::events_after(&scope.db, &scope.owner, after, first).await?;
    let edges = page
        .events
        .into_iter()
        .map(|event| {
            Ok(TaskEventEdge {
                cursor: encode(event.seq),
                node: TaskEvent::try_from(event)?,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    let page_info = PageInfo {
        has_next_page: page.has_next_page,
        has_previous_page: false,
        start_cursor: edges.first().map(|edge| edge.cursor.clone()),
        end_cursor: edges.last().map(|edge| edge.cursor.clone()),
    };
    Ok(TaskEventConnection { edges, page_info })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_anything_else_is_refused() {
        for seq in [0, 1, 42, i64::MAX] {
            assert_eq!(decode_cursor(&encode(seq)).ok(), Some(seq));
        }
        for bad in [
            "",
            "e1:1",
            &URL_SAFE_NO_PAD.encode("e1:-1"),
            &URL_SAFE_NO_PAD.encode("e2:1"),
            &URL_SAFE_NO_PAD.encode("e1:01"),
            &URL_SAFE_NO_PAD.encode("e1:1 "),
            &"A".repeat(100),
        ] {
            assert!(decode_cursor(bad).is_err(), "{bad:?}");
        }
    }
}
