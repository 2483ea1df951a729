//! Extractors that give the contract's answers instead of axum's plain-text rejections, in the
//! contract's order: 401 → 403 → 422 → 404.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, OriginalUri, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use percent_encoding::percent_decode_str;
use sea_orm::DatabaseConnection;
use serde_json::{Map, Value};

use super::errors::RestError;
use crate::app::AppState;
use crate::auth::{AuthUser, RequestMeta, access_denied};
use crate::domain::{
    FieldError, NewTask, Owner, SortDirection, SortField, StatusFilter, TaskDescription, TaskFilter,
    TaskPatch, TaskTitle, has_forbidden_control,
};
use crate::error::AppError;
use crate::service::{self, tasks::OffsetPage};

/// The caller, checked against the `{user_id}` of the path (403 on a mismatch) and provisioned,
/// with the database it may use: the only way a REST handler reaches the database, and only
/// once the schema is confirmed (503 until then).
pub struct OwnerScope {
    pub owner: Owner,
    pub db: DatabaseConnection,
    task_id: Option<String>,
}

impl OwnerScope {
    /// The `{task_id}` path segment, as sent (a malformed one is a 404 in the service).
    pub fn task_id(&self) -> &str {
        self.task_id.as_deref().unwrap_or_default()
    }
}

impl FromRequestParts<AppState> for OwnerScope {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = AuthUser::from_request_parts(parts, state).await?;
        let mut params = path_params(parts);
        match params.remove("user_id").unwrap_or(Ok(String::new())) {
            Ok(path_user_id) if path_user_id == caller.owner.id() => {}
            Ok(path_user_id) | Err(path_user_id) => {
                let meta = RequestMeta::from_parts(parts, &state.auth.trusted_proxies);
                access_denied(&meta, caller.owner.id(), &path_user_id);
                return Err(AppError::Forbidden.into());
            }
        }
        let db = state.database()?;
        service::users::ensure_exists(db, &state.known_users, &caller.owner, &caller.profile).await?;
        Ok(Self {
            owner: caller.owner,
            db: db.clone(),
            // One that is not UTF-8 is malformed: a 404, like any other malformed id.
            task_id: params.remove("task_id").and_then(Result::ok),
        })
    }
}

/// The `{name}` segments of the request path, percent-decoded. One that is not UTF-8 once
/// decoded (`/api/%FF/tasks`) is an `Err` carrying a lossy rendering: it cannot be anyone's
/// user id (403) nor a task id (404). axum's `Path` would refuse the whole request instead, so
/// the contract's order of checks could not be kept.
fn path_params(parts: &Parts) -> HashMap<&'static str, Result<String, String>> {
    let Some(template) = parts.extensions.get::<MatchedPath>() else {
        return HashMap::new();
    };
    let path = parts
        .extensions
        .get::<OriginalUri>()
        .map_or_else(|| parts.uri.path(), |original| original.0.path());
    template
        .as_str()
        .split('/')
        .zip(path.split('/'))
        .filter_map(|(name, raw)| {
            let name = match name {
                "{user_id}" => "user_id",
                "{task_id}" => "task_id",
                _ => return None,
            };
            let value = percent_decode_str(raw)
                .decode_utf8()
                .map(|text| text.into_owned())
                .map_err(|_| percent_decode_str(raw).decode_utf8_lossy().into_owned());
            Some((name, value))
        })
        .collect()
}

/// A JSON object body. No `Content-Type` is read as JSON (as FastAPI does); another media type,
/// malformed JSON or a non-object is a 422; a body over the limit is a 413.
pub struct JsonObject(pub Map<String, Value>);

fn body_issue(kind: &'static str, message: impl Into<String>) -> RestError {
    AppError::invalid(FieldError::at(vec!["body".into()], kind, message)).into()
}

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = RestError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(content_type) = request.headers().get(CONTENT_TYPE) {
            let media_type = content_type
                .to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            let is_json = media_type == "application/json"
                || (media_type.starts_with("application/") && media_type.ends_with("+json"));
            if !is_json {
                return Err(body_issue(
                    "content_type",
                    "Unsupported Content-Type: the body must be application/json",
                ));
            }
        }
        let bytes = Bytes::from_request(request, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(body_issue("missing", "Field required"));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(object)) => Ok(Self(object)),
            Ok(_) => Err(body_issue(
                "model_attributes_type",
                "Input should be a valid dictionary or object to extract fields from",
            )),
            Err(error) => Err(AppError::invalid(FieldError::at(
                vec!["body".into(), error.column().into()],
                "json_invalid",
                format!("JSON decode error: {error}"),
            ))
            .into()),
        }
    }
}

/// Collects every problem with a body, as FastAPI reports all of them at once.
#[derive(Default)]
struct Issues(Vec<FieldError>);

impl Issues {
    fn push(&mut self, issue: FieldError) {
        self.0.push(issue);
    }

    fn wrong_type(&mut self, field: &'static str, kind: &'static str, message: &str) {
        self.push(FieldError::new(field, kind, message).within("body"));
    }

    fn finish<T>(self, value: T) -> Result<T, AppError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}

const STRING_TYPE: &str = "Input should be a valid string";
const BOOL_TYPE: &str = "Input should be a valid boolean";

fn title(issues: &mut Issues, value: &Value) -> Option<TaskTitle> {
    match value {
        Value::String(raw) => TaskTitle::parse(raw)
            .map_err(|e| issues.push(e.within("body")))
            .ok(),
        _ => {
            issues.wrong_type("title", "string_type", STRING_TYPE);
            None
        }
    }
}

/// `null` clears the description; a string is validated.
fn description(issues: &mut Issues, value: &Value) -> Option<Option<TaskDescription>> {
    match value {
        Value::Null => Some(None),
        Value::String(raw) => TaskDescription::parse(raw)
            .map(Some)
            .map_err(|e| issues.push(e.within("body")))
            .ok(),
        _ => {
            issues.wrong_type("description", "string_type", STRING_TYPE);
            None
        }
    }
}

fn completed(issues: &mut Issues, value: &Value) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        _ => {
            issues.wrong_type("completed", "bool_type", BOOL_TYPE);
            None
        }
    }
}

/// `{"title", "description"?, "completed"?}`; other fields (`id`, `user_id`, timestamps,
/// anything unknown) are ignored.
pub fn new_task(body: &Map<String, Value>) -> Result<NewTask, AppError> {
    let mut issues = Issues::default();
    let parsed_title = match body.get("title") {
        Some(value) => title(&mut issues, value),
        None => {
            issues.push(FieldError::new("title", "missing", "Field required").within("body"));
            None
        }
    };
    let parsed_description = body.get("description").and_then(|v| description(&mut issues, v));
    let parsed_completed = body.get("completed").map(|v| completed(&mut issues, v));
    match parsed_title {
        Some(title) if issues.0.is_empty() => Ok(NewTask {
            title,
            description: parsed_description.flatten(),
            completed: parsed_completed.flatten().unwrap_or(false),
            priority: Default::default(),
            due_at: None,
            tags: Default::default(),
            repeat: Default::default(),
        }),
        _ => Err(AppError::Validation(issues.0)),
    }
}

/// Any of `title`, `description` (null clears it), `completed`; only given fields change.
pub fn task_patch(body: &Map<String, Value>) -> Result<TaskPatch, AppError> {
    let mut issues = Issues::default();
    let patch = TaskPatch {
        title: body.get("title").and_then(|v| title(&mut issues, v)),
        description: body.get("description").and_then(|v| description(&mut issues, v)),
        completed: body.get("completed").and_then(|v| completed(&mut issues, v)),
        ..TaskPatch::default()
    };
    issues.finish(patch)
}

/// The list query of `GET /api/{user_id}/tasks`, validated.
pub struct ListParams {
    pub filter: TaskFilter,
    pub sort: SortField,
    pub direction: SortDirection,
    pub page: OffsetPage,
}

impl ListParams {
    pub const MAX_LIMIT: u64 = 1000;
    pub const DEFAULT_LIMIT: u64 = 100;
    const MAX_SEARCH_CHARS: usize = 1000;

    /// Parses the raw query string. Unknown parameters are ignored; for a repeated one the last
    /// value counts; `status` wins over `completed` and `offset` over `skip`.
    pub fn parse(raw_query: Option<&str>) -> Result<Self, AppError> {
        let params: HashMap<String, String> =
            form_urlencoded::parse(raw_query.unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        let mut issues = Issues::default();
        let mut enumerated = |name: &'static str, choices: &[&'static str]| -> Option<&'static str> {
            let value = params.get(name)?;
            let found = choices.iter().copied().find(|choice| choice == value);
            if found.is_none() {
                let expected = choices
                    .iter()
                    .map(|c| format!("'{c}'"))
                    .collect::<Vec<_>>()
                    .join(", ");
                issues.push(FieldError::at(
                    vec!["query".into(), name.into()],
                    "enum",
                    format!("Input should be one of {expected}"),
                ));
            }
            found
        };
        let status = enumerated("status", &["all", "pending", "completed"]);
        let completed_alias = enumerated("completed", &["true", "false"]);
        let sort = enumerated(
            "sort",
            &["created", "updated", "title", "created_at", "updated_at"],
        );
        let order = enumerated("order", &["asc", "desc"]);

        let mut integer = |name: &'static str, min: u64, max: u64| -> Option<u64> {
            let value = params.get(name)?;
            let loc = vec!["query".into(), name.into()];
            match value.trim().parse::<i128>() {
                Err(_) => issues.push(FieldError::at(
                    loc,
                    "int_parsing",
                    "Input should be a valid integer, unable to parse string as an integer",
                )),
                Ok(n) if n < i128::from(min) => issues.push(FieldError::at(
                    loc,
                    "greater_than_equal",
                    format!("Input should be greater than or equal to {min}"),
                )),
                Ok(n) if n > i128::from(max) => issues.push(FieldError::at(
                    loc,
                    "less_than_equal",
                    format!("Input should be less than or equal to {max}"),
                )),
                Ok(n) => return u64::try_from(n).ok(),
            }
            None
        };
        let limit = integer("limit", 1, Self::MAX_LIMIT);
        let offset = integer("offset", 0, i64::MAX as u64);
        let skip = integer("skip", 0, i64::MAX as u64);

        let search = params.get("search").cloned();
        if let Some(search) = &search {
            let loc = || vec!["query".into(), "search".into()];
            if has_forbidden_control(search) {
                issues.push(FieldError::at(
                    loc(),
                    "value_error",
                    "Value error, search must not contain control characters",
                ));
            } else if search.chars().count() > Self::MAX_SEARCH_CHARS {
                issues.push(FieldError::at(
                    loc(),
                    "string_too_long",
                    format!("String should have at most {} characters", Self::MAX_SEARCH_CHARS),
                ));
            }
        }

        let status = match (status, completed_alias) {
            (Some("pending"), _) | (None, Some("false")) => StatusFilter::Pending,
            (Some("completed"), _) | (None, Some("true")) => StatusFilter::Completed,
            _ => StatusFilter::All,
        };
        let sort = match sort {
            Some("updated" | "updated_at") => SortField::UpdatedAt,
            Some("title") => SortField::Title,
            _ => SortField::CreatedAt,
        };
        let direction = match order {
            Some("asc") => SortDirection::Asc,
            _ => SortDirection::Desc,
        };
        issues.finish(Self {
            filter: TaskFilter {
                status,
                search,
                ..TaskFilter::default()
            },
            sort,
            direction,
            page: OffsetPage {
                limit: limit.unwrap_or(Self::DEFAULT_LIMIT),
                offset: offset.or(skip).unwrap_or(0),
            },
        })
    }
}
