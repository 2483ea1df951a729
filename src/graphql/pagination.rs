//! The task connection (Relay's cursor connection) over keyset pages from the service.

use async_graphql::{Context, Object, SimpleObject};

use super::cursor::{self, Ordering};
use super::error::{GqlResult, bad_input};
use super::scope::require_owner;
use super::types::{Task, TaskFilterInput, TaskOrderInput, saturating_i32};
use crate::domain::TaskFilter;
use crate::error::AppError;
use crate::service::tasks::{self as service, Keyset, KeysetRequest, PageTake};

/// Page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: i32 = 20;
/// The largest `first` or `last` accepted.
pub const MAX_PAGE_SIZE: i32 = 100;

/// The paging arguments of a connection field, as sent.
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl PageArgs {
    fn take(&self) -> Result<PageTake, AppError> {
        let size = |field: &'static str, n: i32| {
            u64::try_from(n)
                .ok()
                .filter(|_| n <= MAX_PAGE_SIZE)
                .ok_or_else(|| bad_input(field, format!("{field} must be between 0 and {MAX_PAGE_SIZE}")))
        };
        match (self.first, self.last) {
            (Some(_), Some(_)) => Err(bad_input(
                "last",
                "pass either first (with after) or last (with before), not both",
            )),
            (Some(first), None) => size("first", first).map(PageTake::First),
            (None, Some(last)) => size("last", last).map(PageTake::Last),
            (None, None) => size("first", DEFAULT_PAGE_SIZE).map(PageTake::First),
        }
    }
}

/// Resolves a task connection field (`Query.tasks`, `User.tasks`) for the caller.
pub async fn tasks(
    ctx: &Context<'_>,
    filter: Option<TaskFilterInput>,
    order_by: Option<TaskOrderInput>,
    page: PageArgs,
) -> GqlResult<TaskConnection> {
    let filter = TaskFilterInput::parse(filter)?;
    let order = order_by.unwrap_or_default();
    let ordering = Ordering {
        sort: order.field.into(),
        direction: order.direction.into(),
    };
    let scope = require_owner(ctx)?;
    let take = page.take()?;
    // Whether rows lie on the cursor's side of the page (`hasPreviousPage` after `after`,
    // `hasNextPage` before `before`) costs a probe of its own: made only when selected.
    let outside_flag = match take {
        PageTake::First(_) => "hasPreviousPage",
        PageTake::Last(_) => "hasNextPage",
    };
    let probe_outside = ctx.look_ahead().field("pageInfo").field(outside_flag).exists();
    let decode = |field, cursor: &Option<String>| {
        cursor
            .as_deref()
            .map(|c| cursor::decode(field, c, ordering))
            .transpose()
    };
    let request = KeysetRequest {
        sort: ordering.sort,
        direction: ordering.direction,
        after: decode("after", &page.after)?,
        before: decode("before", &page.before)?,
        take,
        probe_outside,
    };
    let page = service::list_keyset(&scope.db, &scope.owner, &filter, &request).await?;
    let edges: Vec<TaskEdge> = page
        .tasks
        .into_iter()
        .map(|task| TaskEdge {
            cursor: cursor::encode(ordering, &Keyset::of(&task, ordering.sort)),
            node: Task(task),
        })
        .collect();
    let page_info = PageInfo {
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
        start_cursor: edges.first().map(|edge| edge.cursor.clone()),
        end_cursor: edges.last().map(|edge| edge.cursor.clone()),
    };
    Ok(TaskConnection {
        edges,
        page_info,
        filter,
    })
}

/// A page of tasks.
pub struct TaskConnection {
    edges: Vec<TaskEdge>,
    page_info: PageInfo,
    /// Kept for `totalCount`, which counts lazily.
    filter: TaskFilter,
}

/// A page of tasks (a Relay cursor connection).
#[Object]
impl TaskConnection {
    /// The tasks of this page, each with its cursor.
    async fn edges(&self) -> &[TaskEdge] {
        &self.edges
    }

    /// The tasks of this page (the same as `edges { node }`).
    async fn nodes(&self) -> Vec<&Task> {
        self.edges.iter().map(|edge| &edge.node).collect()
    }

    /// Where this page sits in the whole list.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }

    /// How many tasks match the filter across all pages. Counted only when asked for.
    async fn total_count(&self, ctx: &Context<'_>) -> GqlResult<i32> {
        let scope = require_owner(ctx)?;
        let count = service::count(&scope.db, &scope.owner, &self.filter).await?;
        Ok(saturating_i32(count))
    }
}

/// A task and its position in the list.
#[derive(SimpleObject)]
pub struct TaskEdge {
    /// Opaque; pass it as `after` (or `before`) to continue from this task with the same
    /// `orderBy`.
    cursor: String,
    /// The task.
    node: Task,
}

/// Paging state of a connection (Relay).
#[derive(SimpleObject, Clone, Debug)]
pub struct PageInfo {
    /// More items follow the last one of this page.
    pub(super) has_next_page: bool,
    /// Items precede the first one of this page.
    pub(super) has_previous_page: bool,
    /// The cursor of the first item of this page; null when the page is empty.
    pub(super) start_cursor: Option<String>,
    /// The cursor of the last item of this page; null when the page is empty.
    pub(super) end_cursor: Option<String>,
}
