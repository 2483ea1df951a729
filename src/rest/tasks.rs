//! The six contract routes: extract, call one service function, convert. Each one's OpenAPI
//! description sits on it, and so do the types of what it reads and sends: the bodies and the
//! query are serde types that the extractors deserialize (`super::extract`) and the document
//! describes, declared nowhere else. The shared parts (path parameters, error responses) are in
//! `super::openapi`.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::IDEMPOTENT_REPLAYED;
use super::errors::RestError;
use super::extract::{
    Bounded, Checks, IdempotencyKeyHeader, IfMatch, IfNoneMatch, Input, JsonBody, OwnerScope, QueryParams,
    present,
};
use super::openapi::{
    CommonErrors, CreateInProgress, IdempotencyKeyParam, IfMatchHeader, IfNoneMatchHeader, InvalidInput,
    PreconditionFailed, TaskMissing, TaskPath, UserPath,
};
use crate::domain::{
    DueAt, FieldError, NewTask, Priority, Repeat, Rfc3339Micros, SearchText, SortDirection, SortField,
    StatusFilter, Tag, TaskDescription, TaskFilter, TaskPatch, TaskTags, TaskTitle, entity_tag,
};
use crate::entity::task;
use crate::error::AppError;
use crate::service::tasks::{self as service, OffsetPage};

// ---- what the routes read -----------------------------------------------------------------
// The `pattern` of text inputs is the rule "no Unicode category Cc except `\n`, `\r`, `\t`"
// (`domain::has_forbidden_control`) in ECMA-262 syntax, as OpenAPI requires; the lengths are the
// domain's (a unit test in `super::openapi` compares them).

/// How urgent a task is.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = TaskPriority, default = "medium")]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum PriorityParam {
    Low,
    Medium,
    High,
}

impl From<Priority> for PriorityParam {
    fn from(priority: Priority) -> Self {
        match priority {
            Priority::Low => Self::Low,
            Priority::Medium => Self::Medium,
            Priority::High => Self::High,
        }
    }
}

impl From<PriorityParam> for Priority {
    fn from(priority: PriorityParam) -> Self {
        match priority {
            PriorityParam::Low => Self::Low,
            PriorityParam::Medium => Self::Medium,
            PriorityParam::High => Self::High,
        }
    }
}

// Read from a string first, so that `null` or a number is refused as a string would be
// (`string_type`, like `title: null`) and an unknown name as the choices (`enum`).
impl TryFrom<String> for PriorityParam {
    type Error = serde::de::value::Error;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        Priority::from_name(&name)
            .map(Self::from)
            .ok_or_else(|| unknown_name(&name, &PRIORITY_NAMES))
    }
}

/// How a task comes back once completed.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = TaskRepeat, default = "none")]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum RepeatParam {
    None,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl From<Repeat> for RepeatParam {
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

impl From<RepeatParam> for Repeat {
    fn from(repeat: RepeatParam) -> Self {
        match repeat {
            RepeatParam::None => Self::None,
            RepeatParam::Daily => Self::Daily,
            RepeatParam::Weekly => Self::Weekly,
            RepeatParam::Monthly => Self::Monthly,
            RepeatParam::Yearly => Self::Yearly,
        }
    }
}

impl TryFrom<String> for RepeatParam {
    type Error = serde::de::value::Error;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        Repeat::from_name(&name)
            .map(Self::from)
            .ok_or_else(|| unknown_name(&name, &REPEAT_NAMES))
    }
}

/// The names of the priorities and repetitions, as the domain spells them (a unit test checks).
const PRIORITY_NAMES: [&str; 3] = ["low", "medium", "high"];
const REPEAT_NAMES: [&str; 5] = ["none", "daily", "weekly", "monthly", "yearly"];

/// serde's own refusal of an unknown variant, which `super::extract` reports as pydantic's
/// `enum` with the choices.
fn unknown_name(name: &str, choices: &'static [&'static str]) -> serde::de::value::Error {
    serde::de::Error::unknown_variant(name, choices)
}

/// One tag as sent (the domain trims it and checks its length).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(transparent)]
pub struct TagText(String);

impl utoipa::PartialSchema for TagText {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(Tag::MAX_CHARS))
            .pattern(Some(r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"))
            .into()
    }
}

impl utoipa::ToSchema for TagText {}

/// Tags as sent, normalised by the domain (errors at `tags.<index>`).
fn task_tags(raw: Vec<TagText>) -> Result<TaskTags, Vec<FieldError>> {
    TaskTags::parse(raw.into_iter().map(|tag| tag.0).collect())
}

/// `due_at` as sent, parsed: any offset, kept in UTC.
fn due_date(raw: Option<&str>) -> Result<Option<DueAt>, FieldError> {
    raw.map(DueAt::parse).transpose()
}

/// A new task. `id`, `user_id`, timestamps and unknown fields are ignored.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[schema(as = CreateTask, example = json!({"title": "Buy milk", "description": "2 litres", "completed": false}))]
pub struct CreateTaskBody {
    /// Trimmed of Unicode whitespace at both ends, then 1 to 200 characters (Unicode scalar
    /// values); no control characters other than `\n`, `\r`, `\t`.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    title: String,
    /// Stored exactly as sent (never trimmed; `""` stays `""`), at most 1000 characters, no
    /// control characters other than `\n`, `\r`, `\t`. Absent or null: no description.
    #[serde(default)]
    #[schema(
        max_length = 1000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    description: Option<String>,
    /// Whether the task starts completed.
    #[serde(default)]
    #[schema(required = false, default = false)]
    completed: bool,
    /// How urgent it is; `medium` unless given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = PriorityParam, required = false)]
    priority: Option<PriorityParam>,
    /// When it is due: an RFC 3339 date-time with any offset, stored and returned in UTC
    /// (microseconds). Absent or null: no due date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-12-24T18:00:00+01:00")]
    due_at: Option<String>,
    /// Labels: each trimmed, 1 to 50 characters, no control characters; duplicates (ASCII case
    /// ignored) collapse to the first spelling; at most 20 once collapsed. None unless given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Vec<TagText>, inline, required = false, max_items = 20)]
    tags: Option<Vec<TagText>>,
    /// How it comes back once completed; `none` unless given. Any other value needs `due_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = RepeatParam, required = false)]
    repeat: Option<RepeatParam>,
}

impl Input for CreateTaskBody {
    type Valid = NewTask;

    fn validate(self, checks: &mut Checks) -> Option<NewTask> {
        let title = checks.field("title", || TaskTitle::parse(&self.title));
        let description = checks.field("description", || {
            self.description
                .as_deref()
                .map(TaskDescription::parse)
                .transpose()
        });
        let completed = checks.field("completed", || Ok(self.completed));
        let priority = checks.field("priority", || Ok(self.priority));
        let due_at = checks.field("due_at", || due_date(self.due_at.as_deref()));
        let tags = checks.field_all("tags", || self.tags.map(task_tags).transpose());
        let repeat = checks.field("repeat", || Ok(self.repeat));
        Some(NewTask {
            title: title?,
            description: description?,
            completed: completed?,
            priority: priority?.map(Priority::from).unwrap_or_default(),
            due_at: due_at?,
            tags: tags?.unwrap_or_default(),
            repeat: repeat?.map(Repeat::from).unwrap_or_default(),
        })
    }
}

/// A partial update: only the fields given change. `{}` is valid and changes nothing.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[schema(as = UpdateTask, example = json!({"completed": true, "description": null}))]
pub struct UpdateTaskBody {
    /// A new title, as for creation. `null` is a 422.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(
        value_type = String,
        required = false,
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    title: Option<String>,
    /// A new description, as for creation; `null` clears it.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(
        value_type = Option<String>,
        max_length = 1000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    description: Option<Option<String>>,
    /// The new completion state. `null` is a 422.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = bool, required = false)]
    completed: Option<bool>,
    /// A new priority. `null` is a 422.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = PriorityParam, required = false)]
    priority: Option<PriorityParam>,
    /// A new due date, as for creation; `null` clears it (refused while the task repeats).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = DateTime, required = false)]
    due_at: Option<Option<String>>,
    /// The new set of tags, replacing the old one, as for creation (`[]` removes them all).
    /// `null` is a 422.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Vec<TagText>, inline, required = false, max_items = 20)]
    tags: Option<Vec<TagText>>,
    /// A new repetition; any other than `none` needs a due date (given here or already set).
    /// `null` is a 422.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = RepeatParam, required = false)]
    repeat: Option<RepeatParam>,
}

impl Input for UpdateTaskBody {
    type Valid = TaskPatch;

    fn validate(self, checks: &mut Checks) -> Option<TaskPatch> {
        let title = checks.field("title", || {
            self.title.as_deref().map(TaskTitle::parse).transpose()
        });
        let description = checks.field("description", || {
            self.description
                .map(|cleared_or_set| cleared_or_set.as_deref().map(TaskDescription::parse).transpose())
                .transpose()
        });
        let completed = checks.field("completed", || Ok(self.completed));
        let priority = checks.field("priority", || Ok(self.priority));
        let due_at = checks.field("due_at", || {
            self.due_at
                .map(|cleared_or_set| due_date(cleared_or_set.as_deref()))
                .transpose()
        });
        let tags = checks.field_all("tags", || self.tags.map(task_tags).transpose());
        let repeat = checks.field("repeat", || Ok(self.repeat));
        Some(TaskPatch {
            title: title?,
            description: description?,
            completed: completed?,
            priority: priority?.map(Priority::from),
            due_at: due_at?,
            tags: tags?,
            repeat: repeat?.map(Repeat::from),
        })
    }
}

/// Which tasks to list.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema)]
#[schema(default = "all")]
#[serde(rename_all = "snake_case")]
pub enum StatusParam {
    All,
    Pending,
    Completed,
}

/// The older clients' spelling of `status`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema)]
pub enum CompletedParam {
    #[serde(rename = "true")]
    True,
    #[serde(rename = "false")]
    False,
}

/// `true` or `false`, as a query parameter.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema)]
pub enum FlagParam {
    #[serde(rename = "true")]
    True,
    #[serde(rename = "false")]
    False,
}

/// The sort key. `created_at`, `updated_at` and `due_at` are aliases of `created`, `updated`
/// and `due`. `priority` sorts by urgency (high first for `desc`).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema)]
#[schema(default = "created")]
#[serde(rename_all = "snake_case")]
pub enum SortParam {
    Created,
    Updated,
    Title,
    Due,
    Priority,
    CreatedAt,
    UpdatedAt,
    DueAt,
}

/// Priorities as a comma-separated list (`low,high`): any of them.
#[derive(Clone, Debug, Default)]
pub struct PriorityList(Vec<PriorityParam>);

impl Serialize for PriorityList {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let names: Vec<&str> = self
            .0
            .iter()
            .map(|priority| Priority::from(*priority).as_str())
            .collect();
        serializer.serialize_str(&names.join(","))
    }
}

impl<'de> Deserialize<'de> for PriorityList {
    fn deserialize<D: serde::Deserializer<'de>>(value: D) -> Result<Self, D::Error> {
        let text = String::deserialize(value)?;
        text.split(',')
            .map(|name| PriorityParam::try_from(name.to_owned()).map_err(serde::de::Error::custom))
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

/// The sort direction.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema)]
#[schema(default = "desc")]
#[serde(rename_all = "snake_case")]
pub enum OrderParam {
    Asc,
    Desc,
}

/// A page size: 1 to 1000, 100 unless given.
pub type PageSize = Bounded<1, 1000, 100>;
/// How many matches to skip: 0 or more, none unless given.
pub type Skipped = Bounded<0, { i64::MAX }, 0>;

/// The query of `GET /api/{user_id}/tasks`. Unknown parameters are ignored; an unknown value is
/// a 422; for a repeated parameter the last value counts, except `tag`, whose values all count.
#[derive(Debug, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Which tasks: all, only pending ones, or only completed ones.
    #[param(inline)]
    status: Option<StatusParam>,
    /// Alias for older clients: `true` = `status=completed`, `false` = `status=pending`.
    /// `status` wins when both are given.
    #[param(inline)]
    #[deprecated = "use `status`"]
    completed: Option<CompletedParam>,
    /// The sort key; ties are broken by `id` in the same direction. Titles sort by code point.
    #[param(inline)]
    sort: Option<SortParam>,
    /// The sort direction.
    #[param(inline)]
    order: Option<OrderParam>,
    /// A case-insensitive (ASCII letters) substring of the title or the description; `%`, `_`
    /// and `\` are literal.
    #[param(
        max_length = 1000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    search: Option<String>,
    /// Page size.
    #[param(inline)]
    limit: Option<PageSize>,
    /// How many matches to skip.
    #[param(inline)]
    offset: Option<Skipped>,
    /// Alias of `offset` for older clients; `offset` wins when both are given.
    #[param(inline)]
    #[deprecated = "use `offset`"]
    skip: Option<Skipped>,
    /// Only tasks with any of these priorities, comma-separated (`low,high`).
    #[param(value_type = Option<Vec<PriorityParam>>, style = Form, explode = false)]
    priority: Option<PriorityList>,
    /// Only tasks carrying this tag (ASCII case ignored). Repeatable: `?tag=a&tag=b` keeps the
    /// tasks carrying every one of them.
    #[serde(default)]
    #[param(inline, value_type = Option<Vec<TagText>>, max_items = 20, style = Form, explode = true)]
    tag: Vec<TagText>,
    /// Only tasks due strictly before this instant (RFC 3339 with an offset); tasks without a
    /// due date never match.
    #[param(value_type = Option<String>, format = DateTime)]
    due_before: Option<String>,
    /// Only tasks due strictly after this instant (RFC 3339 with an offset); tasks without a
    /// due date never match.
    #[param(value_type = Option<String>, format = DateTime)]
    due_after: Option<String>,
    /// `true`: only overdue tasks (due in the past and not completed); `false`: only the others.
    #[param(inline)]
    overdue: Option<FlagParam>,
}

/// The list query, validated: what `service::list_with_total` takes.
pub struct ListParams {
    pub filter: TaskFilter,
    pub sort: SortField,
    pub direction: SortDirection,
    pub page: OffsetPage,
}

impl Input for ListQuery {
    type Valid = ListParams;
    const REPEATABLE: &'static [&'static str] = &["tag"];

    #[allow(deprecated)] // the aliases are read here, and only here
    fn validate(self, checks: &mut Checks) -> Option<ListParams> {
        let status = checks.field("status", || Ok(self.status));
        let completed = checks.field("completed", || Ok(self.completed));
        let sort = checks.field("sort", || Ok(self.sort));
        let order = checks.field("order", || Ok(self.order));
        let limit = checks.field("limit", || Ok(self.limit));
        let offset = checks.field("offset", || Ok(self.offset));
        let skip = checks.field("skip", || Ok(self.skip));
        let search = checks.field("search", || {
            self.search
                .map(SearchText::parse)
                .transpose()
                .map_err(|refusal| refusal.field_error())
        });
        let priority = checks.field("priority", || Ok(self.priority));
        let tags = checks.field_all("tag", || {
            let (tags, errors): (Vec<_>, Vec<_>) = self
                .tag
                .iter()
                .enumerate()
                .map(|(index, raw)| Tag::parse(&raw.0, vec!["tag".into(), index.into()]))
                .partition(Result::is_ok);
            let mut errors: Vec<FieldError> = errors.into_iter().filter_map(Result::err).collect();
            if self.tag.len() > TaskTags::MAX_TAGS {
                errors.push(FieldError::new(
                    "tag",
                    "too_long",
                    format!("List should have at most {} items", TaskTags::MAX_TAGS),
                ));
            }
            if errors.is_empty() {
                Ok(tags.into_iter().filter_map(Result::ok).collect::<Vec<_>>())
            } else {
                Err(errors)
            }
        });
        let due_before = checks.field("due_before", || instant("due_before", self.due_before.as_deref()));
        let due_after = checks.field("due_after", || instant("due_after", self.due_after.as_deref()));
        let overdue = checks.field("overdue", || Ok(self.overdue));
        let status = match (status?, completed?) {
            (Some(StatusParam::Pending), _) | (None, Some(CompletedParam::False)) => StatusFilter::Pending,
            (Some(StatusParam::Completed), _) | (None, Some(CompletedParam::True)) => StatusFilter::Completed,
            _ => StatusFilter::All,
        };
        let sort = match sort? {
            Some(SortParam::Updated | SortParam::UpdatedAt) => SortField::UpdatedAt,
            Some(SortParam::Title) => SortField::Title,
            Some(SortParam::Due | SortParam::DueAt) => SortField::DueAt,
            Some(SortParam::Priority) => SortField::Priority,
            Some(SortParam::Created | SortParam::CreatedAt) | None => SortField::CreatedAt,
        };
        let direction = match order? {
            Some(OrderParam::Asc) => SortDirection::Asc,
            Some(OrderParam::Desc) | None => SortDirection::Desc,
        };
        // Both are at least 0 by their types.
        Some(ListParams {
            filter: TaskFilter {
                priority: priority?
                    .map(|list| list.0.into_iter().map(Priority::from).collect())
                    .unwrap_or_default(),
                tags: tags?,
                due_before: due_before?,
                due_after: due_after?,
                overdue: overdue?.map(|flag| matches!(flag, FlagParam::True)),
                ..TaskFilter::new(status, search?)
            },
            sort,
            direction,
            page: OffsetPage {
                limit: limit?.unwrap_or_default().get().unsigned_abs(),
                offset: offset?.or(skip?).unwrap_or_default().get().unsigned_abs(),
            },
        })
    }
}

/// A bound of a due-date filter, refused under its own name.
fn instant(name: &'static str, raw: Option<&str>) -> Result<Option<DateTime<Utc>>, FieldError> {
    due_date(raw)
        .map(|due| due.map(DueAt::as_utc))
        .map_err(|error| FieldError::new(name, error.kind, error.message))
}

// ---- what the routes send -----------------------------------------------------------------

/// A task as REST clients see it: snake_case, RFC 3339 UTC timestamps with microseconds.
#[derive(Serialize, ToSchema)]
#[schema(as = Task)]
pub struct TaskBody {
    /// The task id (a UUID v7).
    #[schema(value_type = String, format = "uuid", example = "01940c5e-7a3b-7cc2-9d4e-2f6a1b3c4d5e")]
    id: uuid::Uuid,
    /// The owner: the user id of the token that created it.
    #[schema(example = "demo-user")]
    user_id: String,
    /// The title, trimmed.
    #[schema(example = "Buy milk")]
    title: String,
    /// The description exactly as sent, or null.
    #[schema(required = true, example = "2 litres")]
    description: Option<String>,
    completed: bool,
    /// When it was created (RFC 3339, UTC, microseconds).
    #[schema(value_type = String, format = DateTime, example = "2026-01-18T10:00:00.123456Z")]
    created_at: Rfc3339Micros,
    /// When it last changed; every change moves it.
    #[schema(value_type = String, format = DateTime, example = "2026-01-18T10:00:00.123456Z")]
    updated_at: Rfc3339Micros,
    /// How urgent it is (`medium` unless set).
    priority: PriorityParam,
    /// When it is due (RFC 3339, UTC, microseconds), or null.
    #[schema(required = true, value_type = Option<String>, format = DateTime, example = "2026-12-24T17:00:00.000000Z")]
    due_at: Option<Rfc3339Micros>,
    /// Its tags, first spellings, sorted by their ASCII-lower-cased text.
    #[schema(max_items = 20, example = json!(["home", "Work"]))]
    tags: Vec<String>,
    /// How it comes back once completed (`none` unless set). Completing a repeating task
    /// creates its next occurrence and sets this one's to `none`.
    repeat: RepeatParam,
    /// 1 when created, +1 with every change; the `ETag` of single-task answers is this number,
    /// quoted. Send it back in `If-Match` to change the task only if nobody changed it since.
    #[schema(minimum = 1, example = 1)]
    version: i32,
}

impl TaskBody {
    /// The task as sent.
    fn new(task: task::Model) -> Result<Self, AppError> {
        let tags = task.tag_texts()?;
        Ok(Self {
            id: task.id,
            user_id: task.user_id,
            title: task.title,
            description: task.description,
            completed: task.completed,
            created_at: Rfc3339Micros(task.created_at),
            updated_at: Rfc3339Micros(task.updated_at),
            priority: Priority::from_column(task.priority).unwrap_or_default().into(),
            due_at: task.due_at.map(Rfc3339Micros),
            tags,
            repeat: Repeat::from_name(&task.repeat).unwrap_or_default().into(),
            version: task.version,
        })
    }
}

/// A single-task answer: `body` with the task's `ETag`.
fn tagged(version: i32, body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    if let Ok(tag) = HeaderValue::from_str(&entity_tag(version)) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    response
}

/// The toggle answer: the task plus a message, flat.
#[derive(Serialize, ToSchema)]
#[schema(as = ToggledTask)]
pub struct ToggledBody {
    #[serde(flatten)]
    task: TaskBody,
    #[schema(value_type = String, example = "Task completion status updated")]
    message: &'static str,
}

/// The delete answer.
#[derive(Serialize, ToSchema)]
#[schema(as = DeletedTask)]
pub struct DeletedBody {
    #[schema(value_type = String, example = "Task deleted successfully")]
    message: &'static str,
    /// The id of the deleted task.
    #[schema(format = "uuid")]
    id: String,
}

/// Characters kept as they are in a path segment (RFC 3986 unreserved).
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// List your tasks
///
/// A bare JSON array, filtered, sorted and paged; `X-Total-Count` is the number of matches
/// before paging. Sort ties are broken by `id` in the same direction.
#[utoipa::path(
    get,
    path = "/api/{user_id}/tasks",
    operation_id = "list_tasks",
    tag = "tasks",
    params(UserPath, ListQuery),
    responses(
        (status = 200, description = "One page of the matching tasks", body = [TaskBody],
            headers(("X-Total-Count" = u64, description = "How many tasks match, before paging"))),
        InvalidInput,
        CommonErrors,
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    scope: OwnerScope,
    QueryParams(params): QueryParams<ListQuery>,
) -> Result<Response, RestError> {
    let (total, tasks) = service::list_with_total(
        &scope.db,
        &scope.owner,
        &params.filter,
        params.sort,
        params.direction,
        params.page,
    )
    .await?;
    let mut headers = HeaderMap::new();
    headers.insert("x-total-count", HeaderValue::from(total));
    let body = tasks
        .into_iter()
        .map(TaskBody::new)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((headers, Json(body)).into_response())
}

/// Create a task
///
/// The title is trimmed; every other field is optional (`priority` medium, no due date, no tags,
/// `repeat` none). A repeating task needs a due date. `id`, `user_id`, timestamps and unknown
/// fields are ignored.
#[utoipa::path(
    post,
    path = "/api/{user_id}/tasks",
    operation_id = "create_task",
    tag = "tasks",
    params(UserPath, IdempotencyKeyParam),
    request_body(content = CreateTaskBody, content_type = "application/json",
        description = "The new task. A body without `Content-Type` is read as JSON; another media type is a 422."),
    responses(
        (status = 201, description = "Created (or, with a known `Idempotency-Key`, created before: the first answer again)", body = TaskBody,
            headers(
                ("Location" = String, description = "`/api/{user_id}/tasks/{id}` of the new task"),
                ("ETag" = String, description = "The task's version, quoted (`\"1\"`)"),
                ("Idempotent-Replayed" = String, description = "`true` when this answer repeats the first answer to its `Idempotency-Key`"),
            )),
        InvalidInput,
        CreateInProgress,
        CommonErrors,
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    scope: OwnerScope,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    JsonBody(input): JsonBody<CreateTaskBody>,
) -> Result<Response, RestError> {
    let (task, replayed) = match key {
        None => (service::create(&scope.db, &scope.owner, input).await?, false),
        Some(key) => {
            let created =
                service::create_once(&scope.db, &scope.creates_in_flight, &scope.owner, input, &key).await?;
            (created.task, created.replayed)
        }
    };
    let location = format!(
        "/api/{}/tasks/{}",
        utf8_percent_encode(scope.owner.id(), PATH_SEGMENT),
        task.id
    );
    let mut response = tagged(task.version, (StatusCode::CREATED, Json(TaskBody::new(task)?)));
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if replayed {
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// Read a task
#[utoipa::path(
    get,
    path = "/api/{user_id}/tasks/{task_id}",
    operation_id = "get_task",
    tag = "tasks",
    params(TaskPath, IfNoneMatchHeader),
    responses(
        (status = 200, description = "The task", body = TaskBody,
            headers(("ETag" = String, description = "The task's version, quoted: send it in `If-Match` or `If-None-Match`"))),
        (status = 304, description = "`If-None-Match` names the task's current version: no body",
            headers(("ETag" = String, description = "The task's version, quoted"))),
        TaskMissing,
        CommonErrors,
    ),
    security(("bearer" = [])),
)]
pub async fn get_one(scope: OwnerScope, held: IfNoneMatch) -> Result<Response, RestError> {
    let task = service::get(&scope.db, &scope.owner, scope.task_id()).await?;
    if held.holds(task.version) {
        return Ok(tagged(task.version, StatusCode::NOT_MODIFIED));
    }
    Ok(tagged(task.version, Json(TaskBody::new(task)?)))
}

/// Update a task (partial)
///
/// Only the fields given change; `"description": null` and `"due_at": null` clear theirs, `tags`
/// replaces the whole set; `{}` changes nothing (not even `updated_at`). `null` for `title`,
/// `completed`, `priority`, `tags` or `repeat` is a 422. `completed: true` on a repeating task
/// also creates its next occurrence.
#[utoipa::path(
    put,
    path = "/api/{user_id}/tasks/{task_id}",
    operation_id = "update_task",
    tag = "tasks",
    params(TaskPath, IfMatchHeader),
    request_body(content = UpdateTaskBody, content_type = "application/json",
        description = "The fields to change. A body without `Content-Type` is read as JSON; another media type is a 422."),
    responses(
        (status = 200, description = "The updated task", body = TaskBody,
            headers(("ETag" = String, description = "The task's version, quoted"))),
        InvalidInput,
        TaskMissing,
        PreconditionFailed,
        CommonErrors,
    ),
    security(("bearer" = [])),
)]
pub async fn update(
    scope: OwnerScope,
    IfMatch(precondition): IfMatch,
    JsonBody(patch): JsonBody<UpdateTaskBody>,
) -> Result<Response, RestError> {
    let task = service::update(&scope.db, &scope.owner, scope.task_id(), patch, &precondition).await?;
    Ok(tagged(task.version, Json(TaskBody::new(task)?)))
}

/// Delete a task
#[utoipa::path(
    delete,
    path = "/api/{user_id}/tasks/{task_id}",
    operation_id = "delete_task",
    tag = "tasks",
    params(TaskPath, IfMatchHeader),
    responses(
        (status = 200, description = "Deleted", body = DeletedBody),
        TaskMissing,
        PreconditionFailed,
        CommonErrors,
    ),
    security(("bearer" = [])),
)]
pub async fn delete(
    scope: OwnerScope,
    IfMatch(precondition): IfMatch,
) -> Result<Json<DeletedBody>, RestError> {
    let id = service::delete(&scope.db, &scope.owner, scope.task_id(), &precondition).await?;
    Ok(Json(DeletedBody {
        message: "Task deleted successfully",
        id: id.to_string(),
    }))
}

/// Toggle completion
///
/// Flips `completed` (and moves `updated_at`). Completing a repeating task also creates its next
/// occurrence (due at the first later date in the future) and stops this one repeating. Any
/// request body is ignored.
#[utoipa::path(
    patch,
    path = "/api/{user_id}/tasks/{task_id}/complete",
    operation_id = "toggle_task",
    tag = "tasks",
    params(TaskPath, IfMatchHeader),
    responses(
        (status = 200, description = "The task with `completed` flipped, and a message", body = ToggledBody,
            headers(("ETag" = String, description = "The task's version, quoted"))),
        TaskMissing,
        PreconditionFailed,
        CommonErrors,
    ),
    security(("bearer" = [])),
)]
pub async fn toggle(scope: OwnerScope, IfMatch(precondition): IfMatch) -> Result<Response, RestError> {
    let task = service::toggle(&scope.db, &scope.owner, scope.task_id(), &precondition).await?;
    let version = task.version;
    let body = ToggledBody {
        task: TaskBody::new(task)?,
        message: "Task completion status updated",
    };
    Ok(tagged(version, Json(body)))
}

/// The probe of row-level security (tests only: mounted with `Config::unscoped_probe`): the task
/// ids a statement without an owner filter sees through this request's scope.
pub async fn unscoped_task_ids(scope: OwnerScope) -> Result<Json<Vec<uuid::Uuid>>, RestError> {
    Ok(Json(
        service::ids_seen_without_an_owner_filter(&scope.db, &scope.owner).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refused field takes its value in `Default` while the rest of the input is read: that
    /// value must itself be accepted.
    #[test]
    fn the_placeholder_of_every_input_is_accepted() {
        fn accepted<T: Input>() {
            let placeholder = serde_json::to_value(T::default()).expect("serializable");
            assert!(placeholder.is_object(), "{placeholder}");
            assert!(serde_json::from_value::<T>(placeholder).is_ok());
        }
        accepted::<CreateTaskBody>();
        accepted::<UpdateTaskBody>();
        accepted::<ListQuery>();
    }

    #[test]
    fn the_names_of_priorities_and_repetitions_are_the_domains() {
        assert_eq!(PRIORITY_NAMES, Priority::ALL.map(Priority::as_str));
        assert_eq!(REPEAT_NAMES, Repeat::ALL.map(Repeat::as_str));
        for name in PRIORITY_NAMES {
            let read = serde_json::from_value::<PriorityParam>(serde_json::json!(name));
            assert!(matches!(read, Ok(priority) if Priority::from(priority).as_str() == name));
        }
        for name in REPEAT_NAMES {
            let read = serde_json::from_value::<RepeatParam>(serde_json::json!(name));
            assert!(matches!(read, Ok(repeat) if Repeat::from(repeat).as_str() == name));
        }
        let unknown = serde_json::from_value::<PriorityParam>(serde_json::json!("urgent"));
        assert_eq!(
            unknown.map_err(|error| error.to_string()).err().as_deref(),
            Some("unknown variant `urgent`, expected one of `low`, `medium`, `high`")
        );
    }

    #[test]
    fn a_priority_list_is_read_from_comma_separated_names() {
        let read = |text: &str| {
            serde_json::from_value::<PriorityList>(serde_json::json!(text))
                .map(|list| list.0.into_iter().map(Priority::from).collect::<Vec<_>>())
                .map_err(|error| error.to_string())
        };
        assert_eq!(read("low,high"), Ok(vec![Priority::Low, Priority::High]));
        assert_eq!(read("medium"), Ok(vec![Priority::Medium]));
        assert!(read("low,").is_err());
        assert!(read("LOW").is_err());
    }

    #[test]
    fn an_update_tells_absent_from_null_from_a_value() {
        let read =
            |body: serde_json::Value| serde_json::from_value::<UpdateTaskBody>(body).map(|b| b.description);
        assert_eq!(read(serde_json::json!({})).ok(), Some(None));
        assert_eq!(
            read(serde_json::json!({"description": null})).ok(),
            Some(Some(None))
        );
        assert_eq!(
            read(serde_json::json!({"description": "d"})).ok(),
            Some(Some(Some("d".to_owned())))
        );
        // `null` is not "leave it" for the fields that cannot be cleared.
        assert!(serde_json::from_value::<UpdateTaskBody>(serde_json::json!({"title": null})).is_err());
        assert!(serde_json::from_value::<UpdateTaskBody>(serde_json::json!({"completed": null})).is_err());
    }
}
