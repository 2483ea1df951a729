//! The GraphQL types of contract §4. API types, not database models: each wraps or converts a
//! service result, and inputs convert into the same validated domain types REST uses.

use async_graphql::{
    Context, Enum, ID, InputObject, InputValueError, InputValueResult, MaybeUndefined, Object, Scalar,
    ScalarType, SimpleObject, Value,
};
use chrono::{SecondsFormat, Utc};

use super::error::{GqlResult, bad_input};
use super::pagination::{self, PageArgs, TaskConnection};
use super::scope::require_owner;
use crate::domain::{
    FieldError, NewTask, SearchRefusal, SearchText, SortDirection, SortField, StatusFilter, TaskDescription,
    TaskPatch, TaskTitle,
};
use crate::entity::{task, user};
use crate::error::AppError;
use crate::service::{self, tasks::TaskCounts};

/// An instant in UTC, written as RFC 3339 with microseconds and a `Z`
/// (`2026-01-18T10:00:00.000000Z`), exactly as the REST layer writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// An instant in UTC, written as RFC 3339 with microseconds and a `Z`
/// (`2026-01-18T10:00:00.000000Z`), exactly as the REST layer writes it.
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339"
)]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => chrono::DateTime::parse_from_rfc3339(text)
                .map(|at| Self(at.with_timezone(&Utc)))
                .map_err(|_| InputValueError::custom("expected an RFC 3339 timestamp")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::Micros, true))
    }
}

/// Which tasks a list shows.
#[derive(Enum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TaskStatus {
    /// Every task.
    #[default]
    All,
    /// Tasks not completed yet.
    Pending,
    /// Completed tasks.
    Completed,
}

impl From<TaskStatus> for StatusFilter {
    fn from(status: TaskStatus) -> Self {
        match status {
            TaskStatus::All => Self::All,
            TaskStatus::Pending => Self::Pending,
            TaskStatus::Completed => Self::Completed,
        }
    }
}

/// What a task list is ordered by. Ties are broken by the task id, in the same direction.
#[derive(Enum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TaskOrderField {
    /// When the task was created.
    #[default]
    CreatedAt,
    /// When the task last changed.
    UpdatedAt,
    /// The title, compared byte by byte (UTF-8), so upper case sorts before lower case.
    Title,
}

impl From<TaskOrderField> for SortField {
    fn from(field: TaskOrderField) -> Self {
        match field {
            TaskOrderField::CreatedAt => Self::CreatedAt,
            TaskOrderField::UpdatedAt => Self::UpdatedAt,
            TaskOrderField::Title => Self::Title,
        }
    }
}

/// Ascending or descending.
#[derive(Enum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OrderDirection {
    /// Smallest first (oldest first for times).
    Asc,
    /// Largest first (newest first for times).
    #[default]
    Desc,
}

impl From<OrderDirection> for SortDirection {
    fn from(direction: OrderDirection) -> Self {
        match direction {
            OrderDirection::Asc => Self::Asc,
            OrderDirection::Desc => Self::Desc,
        }
    }
}

/// How a task list is ordered.
#[derive(InputObject, Clone, Copy, Debug, Default)]
#[graphql(name = "TaskOrder")]
pub struct TaskOrderInput {
    /// The sort key.
    #[graphql(default_with = "TaskOrderField::CreatedAt")]
    pub field: TaskOrderField,
    /// The direction; ties on the sort key are broken by id in the same direction.
    #[graphql(default_with = "OrderDirection::Desc")]
    pub direction: OrderDirection,
}

/// Which tasks a list covers.
#[derive(InputObject, Clone, Debug, Default)]
#[graphql(name = "TaskFilter")]
pub struct TaskFilterInput {
    /// Completed, pending or all tasks.
    #[graphql(default_with = "TaskStatus::All")]
    pub status: TaskStatus,
    /// Case-insensitive (ASCII letters) substring of the title or the description; `%` and `_`
    /// match themselves. At most 1000 characters.
    pub search: Option<String>,
}

impl TaskFilterInput {
    /// The domain filter; an absent filter is every task. The search rule is the domain's
    /// ([`SearchText`]), the same REST applies.
    pub fn parse(filter: Option<Self>) -> Result<crate::domain::TaskFilter, AppError> {
        let Self { status, search } = filter.unwrap_or_default();
        let search = search
            .map(SearchText::parse)
            .transpose()
            .map_err(|refusal| bad_input(SearchRefusal::FIELD, refusal.to_string()))?;
        Ok(crate::domain::TaskFilter::new(status.into(), search))
    }
}

/// A task to create.
#[derive(InputObject, Clone, Debug)]
pub struct CreateTaskInput {
    /// Trimmed, then 1 to 200 characters; no control characters other than `\n`, `\r`, `\t`.
    pub title: String,
    /// At most 1000 characters, stored exactly as sent.
    pub description: Option<String>,
    /// Whether the task starts completed.
    #[graphql(default = false)]
    pub completed: bool,
}

impl CreateTaskInput {
    /// Validates with the same parsers as REST, reporting every invalid field.
    pub fn parse(self) -> Result<NewTask, AppError> {
        let mut errors = Vec::new();
        let title = TaskTitle::parse(&self.title).map_err(|e| errors.push(e)).ok();
        let description = self
            .description
            .map(|d| TaskDescription::parse(&d).map_err(|e| errors.push(e)).ok())
            .unwrap_or_default();
        match title {
            Some(title) if errors.is_empty() => Ok(NewTask {
                title,
                description,
                completed: self.completed,
            }),
            _ => Err(AppError::Validation(errors)),
        }
    }
}

/// Changes to a task: only the fields given change. `description: null` clears the
/// description; `title` and `completed` cannot be null.
#[derive(InputObject, Clone, Debug, Default)]
pub struct UpdateTaskInput {
    /// A new title (trimmed, then 1 to 200 characters).
    pub title: MaybeUndefined<String>,
    /// A new description (at most 1000 characters), or `null` to clear it.
    pub description: MaybeUndefined<String>,
    /// Mark the task completed or not.
    pub completed: MaybeUndefined<bool>,
}

impl UpdateTaskInput {
    /// Validates with the same parsers as REST, reporting every invalid field.
    pub fn parse(self) -> Result<TaskPatch, AppError> {
        let mut errors = Vec::new();
        let not_null =
            |field: &'static str| FieldError::new(field, "null", format!("{field} cannot be null"));
        let mut patch = TaskPatch::default();
        match self.title {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => errors.push(not_null("title")),
            MaybeUndefined::Value(title) => match TaskTitle::parse(&title) {
                Ok(title) => patch.title = Some(title),
                Err(e) => errors.push(e),
            },
        }
        match self.completed {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => errors.push(not_null("completed")),
            MaybeUndefined::Value(completed) => patch.completed = Some(completed),
        }
        match self.description {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => patch.description = Some(None),
            MaybeUndefined::Value(description) => match TaskDescription::parse(&description) {
                Ok(description) => patch.description = Some(Some(description)),
                Err(e) => errors.push(e),
            },
        }
        if errors.is_empty() {
            Ok(patch)
        } else {
            Err(AppError::Validation(errors))
        }
    }
}

/// A task. Every task belongs to exactly one user, and only that user ever sees it.
pub struct Task(pub task::Model);

impl From<task::Model> for Task {
    fn from(task: task::Model) -> Self {
        Self(task)
    }
}

/// A task. Every task belongs to exactly one user, and only that user ever sees it.
#[Object]
impl Task {
    /// The task id (a UUID; the same id as in the REST layer).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The title (trimmed, 1 to 200 characters).
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// The description, exactly as sent; null when there is none.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Whether the task is done.
    async fn completed(&self) -> bool {
        self.0.completed
    }

    /// When the task was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }

    /// When the task last changed (creation counts as a change).
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }

    /// The user who owns the task (always the caller). Batched: a page of tasks loads its
    /// owner once.
    async fn owner(&self, ctx: &Context<'_>) -> GqlResult<User> {
        require_owner(ctx)?.user(&self.0.user_id).await
    }
}

/// A user, as the identity provider names them. Only the caller's own user is ever visible.
pub struct User(user::Model);

impl From<user::Model> for User {
    fn from(user: user::Model) -> Self {
        Self(user)
    }
}

/// A user, as the identity provider names them. Only the caller's own user is ever visible.
#[Object]
impl User {
    /// The user id: the token's subject (`sub`).
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The email from the token's claims when the user was first seen, if any.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }

    /// The name from the token's claims when the user was first seen, if any.
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    /// When this API first saw the user.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }

    /// The user's tasks, a page at a time (keyset cursors). `first`/`last` default to 20, at
    /// most 100; pass either `first` (with `after`) or `last` (with `before`).
    #[graphql(
        complexity = "super::limits::page_complexity(__ctx, __variables_definition, __field, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which tasks (default: all).")] filter: Option<TaskFilterInput>,
        #[graphql(desc = "The order (default: newest first).")] order_by: Option<TaskOrderInput>,
        #[graphql(desc = "Page size from the start: 0 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "A cursor: the page starts after that task.")] after: Option<String>,
        #[graphql(desc = "Page size from the end: 0 to 100.")] last: Option<i32>,
        #[graphql(desc = "A cursor: the page ends before that task.")] before: Option<String>,
    ) -> GqlResult<TaskConnection> {
        let page = PageArgs {
            first,
            after,
            last,
            before,
        };
        pagination::tasks(ctx, filter, order_by, page).await
    }

    /// Counts of the user's tasks.
    async fn task_stats(&self, ctx: &Context<'_>) -> GqlResult<TaskStats> {
        task_stats(ctx).await
    }
}

/// Counts of the caller's tasks.
#[derive(SimpleObject, Clone, Copy, Debug)]
pub struct TaskStats {
    /// All tasks.
    pub total: i32,
    /// Completed tasks.
    pub completed: i32,
    /// Tasks not completed yet (`total - completed`).
    pub pending: i32,
}

impl From<TaskCounts> for TaskStats {
    fn from(counts: TaskCounts) -> Self {
        Self {
            total: saturating_i32(counts.total),
            completed: saturating_i32(counts.completed),
            pending: saturating_i32(counts.pending()),
        }
    }
}

/// GraphQL's `Int` is 32 bits; no owner comes near that many tasks.
pub fn saturating_i32(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub async fn task_stats(ctx: &Context<'_>) -> GqlResult<TaskStats> {
    let scope = require_owner(ctx)?;
    Ok(service::tasks::counts(&scope.db, &scope.owner).await?.into())
}
