//! The six contract routes: extract, call one service function, convert.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;

use super::extract::{JsonObject, ListParams, OwnerScope, new_task, task_patch};
use crate::app::AppState;
use crate::entity::task;
use crate::error::AppError;
use crate::service::tasks as service;

/// A task as REST clients see it: snake_case, RFC 3339 UTC timestamps with microseconds.
#[derive(Serialize)]
pub struct TaskBody {
    id: String,
    user_id: String,
    title: String,
    description: Option<String>,
    completed: bool,
    created_at: String,
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
#[derive(Serialize)]
pub struct ToggledBody {
    #[serde(flatten)]
    task: TaskBody,
    message: &'static str,
}

#[derive(Serialize)]
pub struct DeletedBody {
    message: &'static str,
    id: String,
}

/// Characters kept as they are in a path segment (RFC 3986 unreserved).
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub async fn list(
    State(state): State<AppState>,
    scope: OwnerScope,
    RawQuery(query): RawQuery,
) -> Result<Response, Response> {
    let params = ListParams::parse(query.as_deref()).map_err(IntoResponse::into_response)?;
    let (total, tasks) = service::list_with_total(
        &state.db,
        &scope.owner,
        &params.filter,
        params.sort,
        params.direction,
        params.page,
    )
    .await
    .map_err(IntoResponse::into_response)?;
    let mut headers = HeaderMap::new();
    headers.insert("x-total-count", HeaderValue::from(total));
    let body: Vec<TaskBody> = tasks.into_iter().map(TaskBody::from).collect();
    Ok((headers, Json(body)).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    scope: OwnerScope,
    JsonObject(body): JsonObject,
) -> Response {
    let input = match new_task(&body) {
        Ok(input) => input,
        Err(invalid) => return invalid.into_response(),
    };
    match service::create(&state.db, &scope.owner, input).await {
        Ok(task) => {
            let location = format!(
                "/api/{}/tasks/{}",
                utf8_percent_encode(scope.owner.id(), PATH_SEGMENT),
                task.id
            );
            let mut response = (StatusCode::CREATED, Json(TaskBody::from(task))).into_response();
            if let Ok(location) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        Err(error) => error.into_response(),
    }
}

pub async fn get_one(State(state): State<AppState>, scope: OwnerScope) -> Result<Json<TaskBody>, AppError> {
    let task = service::get(&state.db, &scope.owner, scope.task_id()).await?;
    Ok(Json(task.into()))
}

pub async fn update(
    State(state): State<AppState>,
    scope: OwnerScope,
    JsonObject(body): JsonObject,
) -> Response {
    let patch = match task_patch(&body) {
        Ok(patch) => patch,
        Err(invalid) => return invalid.into_response(),
    };
    match service::update(&state.db, &scope.owner, scope.task_id(), patch).await {
        Ok(task) => Json(TaskBody::from(task)).into_response(),
        Err(error) => error.into_response(),
    }
}

pub async fn delete(State(state): State<AppState>, scope: OwnerScope) -> Result<Json<DeletedBody>, AppError> {
    let id = service::delete(&state.db, &scope.owner, scope.task_id()).await?;
    Ok(Json(DeletedBody {
        message: "Task deleted successfully",
        id: id.to_string(),
    }))
}

/// Flips `completed`. Any body is ignored.
pub async fn toggle(State(state): State<AppState>, scope: OwnerScope) -> Result<Json<ToggledBody>, AppError> {
    let task = service::toggle(&state.db, &scope.owner, scope.task_id()).await?;
    Ok(Json(ToggledBody {
        task: task.into(),
        message: "Task completion status updated",
    }))
}
