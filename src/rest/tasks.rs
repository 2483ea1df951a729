//! The six contract routes: extract, call one service function, convert. Each one's OpenAPI
//! description sits on it; the shared parts (parameters, bodies, error responses) are in
//! `super::openapi`.

use axum::Json;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use utoipa::ToSchema;

use super::errors::RestError;
use super::extract::{JsonObject, ListParams, OwnerScope, new_task, task_patch};
use super::openapi::{
    CommonErrors, CreateTask, InvalidInput, ListQuery, TaskMissing, TaskPath, UpdateTask, UserPath,
};
use crate::entity::task;
use crate::service::tasks as service;

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
pub async fn list(scope: OwnerScope, RawQuery(query): RawQuery) -> Result<Response, RestError> {
    let params = ListParams::parse(query.as_deref())?;
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
    request_body(content = CreateTask, content_type = "application/json",
        description = "The new task. A body without `Content-Type` is read as JSON; another media type is a 422."),
    responses(
        (status = 201, description = "Created", body = TaskBody,
            headers(("Location" = String, description = "`/api/{user_id}/tasks/{id}` of the new task"))),
        InvalidInput,
        CommonErrors,
    ),
    security(("bearer" = [])),
)]
pub async fn create(scope: OwnerScope, JsonObject(body): JsonObject) -> Result<Response, RestError> {
    let input = new_task(&body)?;
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
    request_body(content = UpdateTask, content_type = "application/json",
        description = "The fields to change. A body without `Content-Type` is read as JSON; another media type is a 422."),
    responses(
        (status = 200, description = "The updated task", body = TaskBody),
        InvalidInput,
        TaskMissing,
        CommonErrors,
    ),
    security(("bearer" = [])),
)]
pub async fn update(scope: OwnerScope, JsonObject(body): JsonObject) -> Result<Json<TaskBody>, RestError> {
    let patch = task_patch(&body)?;
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
