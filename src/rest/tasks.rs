//! The six contract routes: extract, call one service function, convert. Each one's OpenAPI
//! description sits on it, and so do the types of what it reads and sends: the bodies and the
//! query are serde types that the extractors deserialize (`super::extract`) and the document
//! describes, declared nowhere else. The shared parts (path parameters, error responses) are in
//! `super::openapi`.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::errors::RestError;
use super::extract::{Bounded, Checks, Input, JsonBody, OwnerScope, QueryParams, present};
use super::openapi::{CommonErrors, InvalidInput, TaskMissing, TaskPath, UserPath};
use crate::domain::{
    NewTask, Priority, Repeat, SearchText, SortDirection, SortField, StatusFilter, TaskDescription,
    TaskFilter, TaskPatch, TaskTags, TaskTitle,
};
use crate::entity::task;
use crate::service::tasks::{self as service, OffsetPage};

// ---- what the routes read -----------------------------------------------------------------
// The `pattern` of text inputs is the rule "no Unicode category Cc except `\n`, `\r`, `\t`"
// (`domain::has_forbidden_control`) in ECMA-262 syntax, as OpenAPI requires; the lengths are the
// domain's (a unit test in `super::openapi` compares them).

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
        Some(NewTask {
            title: title?,
            description: description?,
            completed: completed?,
            priority: Priority::default(),
            due_at: None,
            tags: TaskTags::default(),
            repeat: Repeat::default(),
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
        Some(TaskPatch {
            title: title?,
            description: description?,
            completed: completed?,
            ..TaskPatch::default()
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

/// The sort key. `created_at` and `updated_at` are aliases of `created` and `updated`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema)]
#[schema(default = "created")]
#[serde(rename_all = "snake_case")]
pub enum SortParam {
    Created,
    Updated,
    Title,
    CreatedAt,
    UpdatedAt,
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
/// a 422; for a repeated parameter the last value counts.
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
        let status = match (status?, completed?) {
            (Some(StatusParam::Pending), _) | (None, Some(CompletedParam::False)) => StatusFilter::Pending,
            (Some(StatusParam::Completed), _) | (None, Some(CompletedParam::True)) => StatusFilter::Completed,
            _ => StatusFilter::All,
        };
        let sort = match sort? {
            Some(SortParam::Updated | SortParam::UpdatedAt) => SortField::UpdatedAt,
            Some(SortParam::Title) => SortField::Title,
            Some(SortParam::Created | SortParam::CreatedAt) | None => SortField::CreatedAt,
        };
        let direction = match order? {
            Some(OrderParam::Asc) => SortDirection::Asc,
            Some(OrderParam::Desc) | None => SortDirection::Desc,
        };
        // Both are at least 0 by their types.
        Some(ListParams {
            filter: TaskFilter::new(status, search?),
            sort,
            direction,
            page: OffsetPage {
                limit: limit?.unwrap_or_default().get().unsigned_abs(),
                offset: offset?.or(skip?).unwrap_or_default().get().unsigned_abs(),
            },
        })
    }
}

// ---- what the routes send -----------------------------------------------------------------

/// A task as REST clients see it: snake_case, RFC 3339 UTC timestamps with microseconds.
#[derive(Serialize, ToSchema)]
#[schema(as = Task)]
pub struct TaskBody {
    /// The task id (a UUID v7).
    #[schema(format = "uuid", example = "01940c5e-7a3b-7cc2-9d4e-2f6a1b3c4d5e")]
    id: String,
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
    #[schema(format = DateTime, example = "2026-01-18T10:00:00.123456Z")]
    created_at: String,
    /// When it last changed; every change moves it.
    #[schema(format = DateTime, example = "2026-01-18T10:00:00.123456Z")]
    updated_at: String,
}

pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl From<task::Model> for TaskBody {
    fn from(task: task::Model) -> Self {
        Self {
            id: task.id.to_string(),
            user_id: task.user_id,
            title: task.title,
            description: task.description,
            completed: task.completed,
            created_at: rfc3339(task.created_at),
            updated_at: rfc3339(task.updated_at),
        }
    }
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
    let body: Vec<TaskBody> = tasks.into_iter().map(TaskBody::from).collect();
    Ok((headers, Json(body)).into_response())
}

/// Create a task
///
/// The title is trimmed; `description` and `completed` are optional. `id`, `user_id`,
/// timestamps and unknown fields are ignored.
#[utoipa::path(
    post,
    path = "/api/{user_id}/tasks",
    operation_id = "create_task",
    tag = "tasks",
    params(UserPath),
    request_body(content = CreateTaskBody, content_type = "application/json",
        description = "The new task. A body without `Content-Type` is read as JSON; another media type is a 422."),
    responses(
        (status = 201, description = "Created", body = TaskBody,
            headers(("Location" = String, description = "`/api/{user_id}/tasks/{id}` of the new task"))),
        InvalidInput,
        CommonErrors,
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    scope: OwnerScope,
    JsonBody(input): JsonBody<CreateTaskBody>,
) -> Result<Response, RestError> {
    let task = service::create(&scope.db, &scope.owner, input).await?;
    let location = format!(
        "/api/{}/tasks/{}",
        utf8_percent_encode(scope.owner.id(), PATH_SEGMENT),
        task.id
    );
    let mut response = (StatusCode::CREATED, Json(TaskBody::from(task))).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Read a task
#[utoipa::path(
    get,
    path = "/api/{user_id}/tasks/{task_id}",
    operation_id = "get_task",
    tag = "tasks",
    params(TaskPath),
    responses(
        (status = 200, description = "The task", body = TaskBody),
        TaskMissing,
        CommonErrors,
    ),
    security(("bearer" = [])),
)]
pub async fn get_one(scope: OwnerScope) -> Result<Json<TaskBody>, RestError> {
    let task = service::get(&scope.db, &scope.owner, scope.task_id()).await?;
    Ok(Json(task.into()))
}

/// Update a task (partial)
///
/// Only the fields given change; `"description": null` clears the description; `{}` changes
/// nothing (not even `updated_at`). `title: null` or `completed: null` is a 422.
#[utoipa::path(
    put,
    path = "/api/{user_id}/tasks/{task_id}",
    operation_id = "update_task",
    tag = "tasks",
    params(TaskPath),
    request_body(content = UpdateTaskBody, content_type = "application/json",
        description = "The fields to change. A body without `Content-Type` is read as JSON; another media type is a 422."),
    responses(
        (status = 200, description = "The updated task", body = TaskBody),
        InvalidInput,
        TaskMissing,
        CommonErrors,
    ),
    security(("bearer" = [])),
)]
pub async fn update(
    scope: OwnerScope,
    JsonBody(patch): JsonBody<UpdateTaskBody>,
) -> Result<Json<TaskBody>, RestError> {
    let task = service::update(&scope.db, &scope.owner, scope.task_id(), patch).await?;
    Ok(Json(task.into()))
}

/// Delete a task
#[utoipa::path(
    delete,
    path = "/api/{user_id}/tasks/{task_id}",
    operation_id = "delete_task",
    tag = "tasks",
    params(TaskPath),
    responses(
        (status = 200, description = "Deleted", body = DeletedBody),
        TaskMissing,
        CommonErrors,
    ),
    security(("bearer" = [])),
)]
pub async fn delete(scope: OwnerScope) -> Result<Json<DeletedBody>, RestError> {
    let id = service::delete(&scope.db, &scope.owner, scope.task_id()).await?;
    Ok(Json(DeletedBody {
        message: "Task deleted successfully",
        id: id.to_string(),
    }))
}

/// Toggle completion
///
/// Flips `completed` (and moves `updated_at`). Any request body is ignored.
#[utoipa::path(
    patch,
    path = "/api/{user_id}/tasks/{task_id}/complete",
    operation_id = "toggle_task",
    tag = "tasks",
    params(TaskPath),
    responses(
        (status = 200, description = "The task with `completed` flipped, and a message", body = ToggledBody),
        TaskMissing,
        CommonErrors,
    ),
    security(("bearer" = [])),
)]
pub async fn toggle(scope: OwnerScope) -> Result<Json<ToggledBody>, RestError> {
    let task = service::toggle(&scope.db, &scope.owner, scope.task_id()).await?;
    Ok(Json(ToggledBody {
        task: task.into(),
        message: "Task completion status updated",
    }))
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
