//! The GraphQL types of contract §4. API types, not database models: each wraps or converts a
//! service result, and inputs convert into the same validated domain types REST uses.

use async_graphql::{
    Context, Enum, ID, InputObject, InputValueError, InputValueResult, MaybeUndefined, Object, Scalar,
    ScalarType, SimpleObject, Value,
};
use chrono::Utc;

use super::error::{GqlResult, bad_input};
use super::pagination::{self, PageArgs, TaskConnection};
use super::scope::require_owner;
use crate::domain::{
    DueAt, FieldError, LocPart, NewTask, Priority, Repeat, Rfc3339Micros, SearchRefusal, SearchText,
    SortDirection, SortField, StatusFilter, Tag, TaskDescription, TaskPatch, TaskTags, TaskTitle,
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
        Value::String(Rfc3339Micros(self.0).to_string())
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
    /// The due date; tasks without one come last in both directions.
    DueAt,
    /// The priority: `DESC` is most urgent first (HIGH, MEDIUM, LOW).
    Priority,
}

impl From<TaskOrderField> for SortField {
    fn from(field: TaskOrderField) -> Self {
        match field {
            TaskOrderField::CreatedAt => Self::CreatedAt,
            TaskOrderField::UpdatedAt => Self::UpdatedAt,
            TaskOrderField::Title => Self::Title,
            TaskOrderField::DueAt => Self::DueAt,
            TaskOrderField::Priority => Self::Priority,
        }
    }
}

/// How urgent a task is.
#[derive(Enum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TaskPriority {
    /// Least urgent.
    Low,
    /// The default.
    #[default]
    Medium,
    /// Most urgent.
    High,
}

impl From<TaskPriority> for Priority {
    fn from(priority: TaskPriority) -> Self {
        match priority {
            TaskPriority::Low => Self::Low,
            TaskPriority::Medium => Self::Medium,
            TaskPriority::High => Self::High,
        }
    }
}

impl From<Priority> for TaskPriority {
    fn from(priority: Priority) -> Self {
        match priority {
            Priority::Low => Self::Low,
            Priority::Medium => Self::Medium,
            Priority::High => Self::High,
        }
    }
}

/// How often a task comes back once completed.
#[derive(Enum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TaskRepeat {
    /// It does not repeat (the default).
    #[default]
    None,
    /// Every day, at the same time of day (UTC).
    Daily,
    /// Every 7 days.
    Weekly,
    /// Every calendar month, on the same day, clamped to the month's last day.
    Monthly,
    /// Every year, on the same date (Feb 29 becomes Feb 28 in other years).
    Yearly,
}

impl From<TaskRepeat> for Repeat {
    fn from(repeat: TaskRepeat) -> Self {
        match repeat {
            TaskRepeat::None => Self::None,
            TaskRepeat::Daily => Self::Daily,
            TaskRepeat::Weekly => Self::Weekly,
            TaskRepeat::Monthly => Self::Monthly,
            TaskRepeat::Yearly => Self::Yearly,
        }
    }
}

impl From<Repeat> for TaskRepeat {
    fn from(repeat: Repeat) -> Self {
        match repeat {
            Repeat::None => Self::None,
            Repeat::Daily => Self::Daily,
            Repeat::Weekly => Self::Weekly,
            Repeat::Monthly => Self::Monthly,
            Repeat::Yearly => Self::Yearly,
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
    /// Tasks with any of these priorities (absent or empty: any priority).
    pub priority: Option<Vec<TaskPriority>>,
    /// Tasks carrying every one of these tags, compared ignoring ASCII case (at most 20; each
    /// trimmed, 1 to 50 characters).
    pub tags: Option<Vec<String>>,
    /// Tasks due strictly before this instant (tasks without a due date never match).
    pub due_before: Option<DateTime>,
    /// Tasks due strictly after this instant (tasks without a due date never match).
    pub due_after: Option<DateTime>,
    /// `true`: only overdue tasks (due in the past and not completed); `false`: only tasks that
    /// are not overdue; absent: either.
    pub overdue: Option<bool>,
}

impl TaskFilterInput {
    /// The domain filter; an absent filter is every task. The search rule is the domain's
    /// ([`SearchText`]), the same REST applies.
    pub fn parse(filter: Option<Self>) -> Result<crate::domain::TaskFilter, AppError> {
        let filter = filter.unwrap_or_default();
        let details = filter.details()?;
        let Self { status, search, .. } = filter;
        let search = search
            .map(SearchText::parse)
            .transpose()
            .map_err(|refusal| bad_input(SearchRefusal::FIELD, refusal.to_string()))?;
        let base = crate::domain::TaskFilter::new(status.into(), search);
        Ok(crate::domain::TaskFilter {
            status: base.status,
            search: base.search,
            ..details
        })
    }

    /// The priority, tag, due-date and overdue parts of the filter (status and search left at
    /// their defaults).
    fn details(&self) -> Result<crate::domain::TaskFilter, AppError> {
        let mut errors = Vec::new();
        let raw_tags = self.tags.as_deref().unwrap_or_default();
        if raw_tags.len() > TaskTags::MAX_TAGS {
            errors.push(FieldError::new(
                "tags",
                "too_long",
                format!("List should have at most {} items", TaskTags::MAX_TAGS),
            ));
        }
        let tags: Vec<Tag> = raw_tags
            .iter()
            .enumerate()
            .filter_map(|(index, raw)| {
                Tag::parse(raw, vec![LocPart::from("tags"), index.into()])
                    .map_err(|e| errors.push(e))
                    .ok()
            })
            .collect();
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(crate::domain::TaskFilter {
            priority: self
                .priority
                .iter()
                .flatten()
                .map(|priority| Priority::from(*priority))
                .collect(),
            tags,
            due_before: self.due_before.map(|at| at.0),
            due_after: self.due_after.map(|at| at.0),
            overdue: self.overdue,
            ..Default::default()
        })
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
    /// How urgent the task is.
    #[graphql(default_with = "TaskPriority::Medium")]
    pub priority: TaskPriority,
    /// When the task is due: any UTC offset is accepted; it is stored and returned in UTC, to
    /// the microsecond. Absent or null: no due date.
    pub due_at: Option<DateTime>,
    /// Tags: each trimmed, 1 to 50 characters, no control characters; duplicates (ignoring ASCII
    /// case) collapse to the first spelling; at most 20.
    #[graphql(default)]
    pub tags: Vec<String>,
    /// How often the task comes back once completed; anything but `NONE` needs `dueAt`.
    #[graphql(default_with = "TaskRepeat::None")]
    pub repeat: TaskRepeat,
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
        let tags = TaskTags::parse(self.tags).map_err(|e| errors.extend(e)).ok();
        match (title, tags) {
            (Some(title), Some(tags)) if errors.is_empty() => Ok(NewTask {
                title,
                description,
                completed: self.completed,
                priority: self.priority.into(),
                due_at: self.due_at.map(|at| DueAt::from_utc(at.0)),
                tags,
                repeat: self.repeat.into(),
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
    /// Mark the task completed or not. Completing a repeating task also creates its next
    /// occurrence.
    pub completed: MaybeUndefined<bool>,
    /// A new priority (cannot be null).
    pub priority: MaybeUndefined<TaskPriority>,
    /// A new due date (any UTC offset; stored in UTC), or `null` to clear it (refused while the
    /// task repeats).
    pub due_at: MaybeUndefined<DateTime>,
    /// A new set of tags, replacing the whole set (`[]` removes them all; cannot be null).
    pub tags: MaybeUndefined<Vec<String>>,
    /// A new repetition (cannot be null); anything but `NONE` needs a due date.
    pub repeat: MaybeUndefined<TaskRepeat>,
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
        match self.priority {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => errors.push(not_null("priority")),
            MaybeUndefined::Value(priority) => patch.priority = Some(priority.into()),
        }
        match self.due_at {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => patch.due_at = Some(None),
            MaybeUndefined::Value(at) => patch.due_at = Some(Some(DueAt::from_utc(at.0))),
        }
        match self.tags {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => errors.push(not_null("tags")),
            MaybeUndefined::Value(tags) => match TaskTags::parse(tags) {
                Ok(tags) => patch.tags = Some(tags),
                Err(e) => errors.extend(e),
            },
        }
        match self.repeat {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => errors.push(not_null("repeat")),
            MaybeUndefined::Value(repeat) => patch.repeat = Some(repeat.into()),
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

    /// How urgent the task is.
    async fn priority(&self) -> TaskPriority {
        Priority::from_column(self.0.priority).unwrap_or_default().into()
    }

    /// When the task is due (UTC, microseconds); null when it has no due date.
    async fn due_at(&self) -> Option<DateTime> {
        self.0.due_at.map(DateTime)
    }

    /// The task's tags as first spelled, sorted by their lower-cased (ASCII) text.
    async fn tags(&self) -> GqlResult<Vec<String>> {
        Ok(self.0.tag_texts()?)
    }

    /// How often the task comes back once completed. Completing a repeating task creates its
    /// next occurrence, and the completed one stops repeating (`NONE`).
    async fn repeat(&self) -> TaskRepeat {
        Repeat::from_name(&self.0.repeat).unwrap_or_default().into()
    }

    /// 1 when created, +1 with every change. Pass it as `expectedVersion` to change the task
    /// only if nobody changed it since you read it.
    async fn version(&self) -> i32 {
        self.0.version
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

    /// The user's tags, each with how many of their tasks carry it, sorted by lower-cased
    /// (ASCII) text. Tags equal but for ASCII case are one tag, shown with its smallest spelling
    /// in byte order (`Work` rather than `work`).
    async fn tags(&self, ctx: &Context<'_>) -> GqlResult<Vec<TagCount>> {
        let scope = require_owner(ctx)?;
        let tags = service::tasks::tag_counts(&scope.db, &scope.owner).await?;
        Ok(tags.into_iter().map(TagCount::from).collect())
    }
}

/// A tag and how many of the caller's tasks carry it.
#[derive(SimpleObject, Clone, Debug)]
pub struct TagCount {
    /// The tag (its smallest spelling in byte order when tasks spell it differently).
    pub tag: String,
    /// How many of the caller's tasks carry it.
    pub count: i32,
}

impl From<service::tasks::TagCount> for TagCount {
    fn from(tag: service::tasks::TagCount) -> Self {
        Self {
            tag: tag.tag,
            count: saturating_i32(tag.count),
        }
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
    /// Tasks due in the past and not completed.
    pub overdue: i32,
}

impl From<TaskCounts> for TaskStats {
    fn from(counts: TaskCounts) -> Self {
        Self {
            total: saturating_i32(counts.total),
            completed: saturating_i32(counts.completed),
            pending: saturating_i32(counts.pending()),
            overdue: saturating_i32(counts.overdue),
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
