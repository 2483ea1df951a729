//! The OpenAPI 3.1 document of the REST layer (contract §3, §5), generated from the code: the
//! handlers carry their `#[utoipa::path]`, the bodies they send derive `ToSchema`, and this
//! module holds the shared parts. It is served at `GET /openapi.json`, rendered at `GET /docs`
//! (see `super::docs`), printed by `todo-api openapi`, and committed as `contracts/openapi.yaml`
//! (a test fails when that file drifts).
//!
//! The handlers read their inputs by hand (to answer in FastAPI's shapes and in the contract's
//! order), so the parameter and request body types here exist only to document those inputs;
//! the contract fuzzer (`scripts/fuzz-rest.sh`) checks the server against them.

use std::collections::BTreeMap;

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi, ToSchema};

use super::errors::{ErrorMessage, HttpValidationError, ValidationError};
use super::tasks;
use crate::domain::LocPart;
use crate::error::AppError;

/// The name of the bearer security scheme the task routes require.
pub const BEARER: &str = "bearer";

const DESCRIPTION: &str = "\
The REST compatibility layer of todo-api: the routes legacy (FastAPI-era) clients call. JSON, \
snake_case; ids are UUID strings; timestamps are RFC 3339 UTC with microseconds.

**Authentication.** Every `/api` route needs `Authorization: Bearer <JWT>` (scheme in any case; \
at most 8,192 bytes of credential). Missing or invalid: 401 with `WWW-Authenticate: Bearer`; two \
`Authorization` headers: 400. Mint a development token with `todo-api token --user ID`.

**Order of checks.** Unknown route 404, wrong method 405 and a body over 65,536 bytes 413 come \
first; then 401 (authentication), 403 (the path `user_id` is not the token's user), 422 \
(validation), 404 (task missing, malformed id, or someone else's: never leaked).

**Errors** are FastAPI-shaped: `{\"detail\": \"...\", \"message\": \"...\"}`, and for validation \
`{\"detail\": [{\"loc\": [...], \"msg\": \"...\", \"type\": \"...\"}], \"message\": \"...\"}`. \
`message` is a one-line summary for people. A refused request changes nothing.

**Availability.** While the database is down or saturated the API answers 503 with \
`Retry-After` (requests without a valid token still get 401); `/readyz` says the same.";

/// The document. Its YAML form is `contracts/openapi.yaml`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "todo-api REST",
        description = DESCRIPTION,
        license(name = "MIT", identifier = "MIT"),
    ),
    paths(
        tasks::list,
        tasks::create,
        tasks::get_one,
        tasks::update,
        tasks::delete,
        tasks::toggle,
        healthz,
        readyz,
    ),
    components(schemas(ErrorMessage, HttpValidationError, ValidationError, LocPart)),
    modifiers(&SharedComponents),
    tags(
        (name = "tasks", description = "The caller's tasks (contract §3). The path `user_id` must be the token's user."),
        (name = "operations", description = "Liveness and readiness, public (contract §5)."),
    ),
)]
pub struct ApiDoc;

/// The document as served at `/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as YAML: what `todo-api openapi` prints and `contracts/openapi.yaml` holds.
pub fn yaml() -> anyhow::Result<String> {
    Ok(document().to_yaml()?)
}

// ---- parameters ---------------------------------------------------------------------------

/// `{user_id}`: whose tasks. It must equal the token's user id (exact, case-sensitive), else 403.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// The owner's user id; it must be the token's user (`sub`), else 403.
    #[param(min_length = 1, max_length = 255, example = "demo-user")]
    pub user_id: String,
}

/// `{user_id}` and `{task_id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TaskPath {
    /// The owner's user id; it must be the token's user (`sub`), else 403.
    #[param(min_length = 1, max_length = 255, example = "demo-user")]
    pub user_id: String,
    /// The task id (a UUID). A malformed, unknown or foreign id is a 404.
    #[param(example = "01940c5e-7a3b-7cc2-9d4e-2f6a1b3c4d5e")]
    pub task_id: String,
}

/// Which tasks to list.
#[derive(ToSchema)]
#[schema(default = "all")]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only: `ListParams::parse` reads the query
pub enum StatusParam {
    All,
    Pending,
    Completed,
}

/// The older clients' spelling of `status`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum CompletedParam {
    #[serde(rename = "true")]
    True,
    #[serde(rename = "false")]
    False,
}

/// The sort key. `created_at` and `updated_at` are aliases of `created` and `updated`.
#[derive(ToSchema)]
#[schema(default = "created")]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum SortParam {
    Created,
    Updated,
    Title,
    CreatedAt,
    UpdatedAt,
}

/// The sort direction.
#[derive(ToSchema)]
#[schema(default = "desc")]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum OrderParam {
    Asc,
    Desc,
}

/// The query of `GET /api/{user_id}/tasks`. Unknown parameters are ignored; an unknown value is
/// a 422; for a repeated parameter the last value counts.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListQuery {
    /// Which tasks: all, only pending ones, or only completed ones.
    #[param(inline, required = false)]
    status: StatusParam,
    /// Alias for older clients: `true` = `status=completed`, `false` = `status=pending`.
    /// `status` wins when both are given.
    #[param(inline, required = false)]
    #[deprecated = "use `status`"]
    completed: CompletedParam,
    /// The sort key; ties are broken by `id` in the same direction. Titles sort by code point.
    #[param(inline, required = false)]
    sort: SortParam,
    /// The sort direction.
    #[param(inline, required = false)]
    order: OrderParam,
    /// A case-insensitive (ASCII letters) substring of the title or the description; `%`, `_`
    /// and `\` are literal.
    #[param(
        required = false,
        max_length = 1000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    search: String,
    /// Page size.
    #[param(required = false, minimum = 1, maximum = 1000, default = 100)]
    limit: u32,
    /// How many matches to skip.
    #[param(
        required = false,
        minimum = 0,
        maximum = 9_223_372_036_854_775_807_i64,
        default = 0
    )]
    offset: i64,
    /// Alias of `offset` for older clients; `offset` wins when both are given.
    #[param(required = false, minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
    #[deprecated = "use `offset`"]
    skip: i64,
}

// The `pattern` of text inputs is the rule "no Unicode category Cc except `\n`, `\r`, `\t`"
// in ECMA-262 syntax, as OpenAPI requires.

// ---- request bodies -----------------------------------------------------------------------

/// A new task. `id`, `user_id`, timestamps and unknown fields are ignored.
#[derive(ToSchema)]
#[schema(example = json!({"title": "Buy milk", "description": "2 litres", "completed": false}))]
#[allow(dead_code)] // documentation only: `extract::new_task` reads the body
pub struct CreateTask {
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
    #[schema(
        max_length = 1000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    description: Option<String>,
    /// Whether the task starts completed.
    #[schema(required = false, default = false)]
    completed: bool,
}

/// A partial update: only the fields given change. `{}` is valid and changes nothing.
#[derive(ToSchema)]
#[schema(example = json!({"completed": true, "description": null}))]
#[allow(dead_code)] // documentation only: `extract::task_patch` reads the body
pub struct UpdateTask {
    /// A new title, as for creation. `null` is a 422.
    #[schema(
        required = false,
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    title: String,
    /// A new description, as for creation; `null` clears it.
    #[schema(
        max_length = 1000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    description: Option<String>,
    /// The new completion state. `null` is a 422.
    #[schema(required = false)]
    completed: bool,
}

// ---- responses ----------------------------------------------------------------------------

/// The error answers every task route can give, as references to `components/responses`.
pub struct CommonErrors;

/// 422 for invalid input (query or body).
pub struct InvalidInput;

/// 404 for a task that is missing, malformed, or someone else's.
pub struct TaskMissing;

fn refs(entries: &[(&str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    entries
        .iter()
        .map(|(status, name)| ((*status).to_owned(), Ref::from_response_name(*name).into()))
        .collect()
}

impl IntoResponses for CommonErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[
            ("400", "BadRequest"),
            ("401", "Unauthorized"),
            ("403", "Forbidden"),
            ("413", "PayloadTooLarge"),
            ("429", "TooManyRequests"),
            ("503", "ServiceUnavailable"),
        ])
    }
}

impl IntoResponses for InvalidInput {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[("422", "ValidationFailed")])
    }
}

impl IntoResponses for TaskMissing {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[("404", "NotFound")])
    }
}

/// Adds the bearer scheme and the shared error responses.
struct SharedComponents;

impl Modify for SharedComponents {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT: HS256 signed with BETTER_AUTH_SECRET (or a Better Auth JWKS key). \
                         The user id is `sub`, else `user_id`, else `id`; `exp` is required.",
                    ))
                    .build(),
            ),
        );
        let retry_after = || {
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)))
                .description(Some("Seconds to wait before retrying"))
                .build()
        };
        let www_authenticate = HeaderBuilder::new()
            .schema(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["Bearer"])),
            )
            .description(Some("The scheme to authenticate with"))
            .build();
        let error = |description: &str, example: &str| {
            json_response(
                description,
                "ErrorMessage",
                serde_json::json!({"detail": example, "message": example}),
            )
        };
        let responses = [
            (
                "BadRequest",
                error(
                    "More than one `Authorization` header, or a body that could not be read",
                    "Exactly one Authorization header is allowed",
                )
                .build(),
            ),
            (
                "Unauthorized",
                error(
                    "No valid bearer token (missing, malformed, expired, bad signature, …)",
                    "Not authenticated: an Authorization: Bearer <token> header is required",
                )
                .header("WWW-Authenticate", www_authenticate)
                .build(),
            ),
            (
                "Forbidden",
                error(
                    "The path `user_id` is not the token's user",
                    "Access denied: cannot access another user's tasks",
                )
                .build(),
            ),
            (
                "NotFound",
                error(
                    "No such task for this user (missing, malformed id, or someone else's)",
                    "Task not found",
                )
                .build(),
            ),
            (
                "PayloadTooLarge",
                error(
                    "The request body is over 65,536 bytes (checked before authentication)",
                    &AppError::PayloadTooLarge.to_string(),
                )
                .build(),
            ),
            (
                "ValidationFailed",
                json_response(
                    "Invalid input: a malformed or non-object JSON body, a wrong `Content-Type`, a \
                     field of the wrong type or out of range, or an unknown query value",
                    "HTTPValidationError",
                    serde_json::json!({
                        "detail": [{"loc": ["body", "title"], "msg": "Field required", "type": "missing"}],
                        "message": "Validation failed: body.title: Field required",
                    }),
                )
                .build(),
            ),
            (
                "TooManyRequests",
                error(
                    "Too many failed authentication attempts from this client; retry later",
                    "Too many failed authentication attempts, retry later",
                )
                .header("Retry-After", retry_after())
                .build(),
            ),
            (
                "ServiceUnavailable",
                error(
                    "The database is unreachable or saturated; retry later",
                    "Service temporarily unavailable, retry shortly",
                )
                .header("Retry-After", retry_after())
                .build(),
            ),
        ];
        for (name, response) in responses {
            components.responses.insert(name.to_owned(), response.into());
        }
    }
}

fn json_response(description: &str, schema: &str, example: serde_json::Value) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(schema)))
            .example(Some(example))
            .build(),
    )
}

// ---- operations endpoints ------------------------------------------------------------------
// `/healthz` and `/readyz` are served by `crate::app`; these stubs only carry their description.

/// `{"status": "ok"}` or `{"status": "ready"}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Status {
    #[schema(example = "ok")]
    status: String,
}

/// `/readyz` while the database does not answer.
#[derive(ToSchema)]
#[schema(example = json!({"status": "unavailable", "detail": "database unavailable", "message": "database unavailable"}))]
#[allow(dead_code)]
pub struct NotReady {
    #[schema(example = "unavailable")]
    status: String,
    detail: String,
    message: String,
}

/// Liveness
///
/// 200 while the process serves; never touches the database. Public.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    responses((status = 200, description = "The process is serving", body = Status,
        example = json!({"status": "ok"}))),
)]
#[allow(dead_code)]
fn healthz() {}

/// Readiness
///
/// 200 when the database answers a ping within a second, else 503. Public.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    responses(
        (status = 200, description = "The database answers", body = Status,
            example = json!({"status": "ready"})),
        (status = 503, description = "The database does not answer", body = NotReady,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))),
    ),
)]
#[allow(dead_code)]
fn readyz() {}
