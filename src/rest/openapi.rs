//! The OpenAPI 3.1 document of the REST layer (docs/api.md#rest), generated from the code: the
//! handlers carry their `#[utoipa::path]`, the bodies they send derive `ToSchema`, and this
//! module holds the shared parts. It is served at `GET /openapi.json`, rendered at `GET /docs`
//! (see `super::docs`), printed by `todo-api openapi`, and committed as `contracts/openapi.yaml`
//! (a test fails when that file drifts).
//!
//! Nothing here is written twice: the bodies and the query are the types the handlers
//! deserialize (`super::tasks`), `/healthz` and `/readyz` are documented on their handlers
//! (`crate::health`), and every example error body is the server's own text for that error (a
//! test sends each case and compares). The contract fuzzer (`scripts/fuzz-rest.sh`) checks the
//! server against the document.

use std::collections::BTreeMap;

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi};

use super::errors::{ErrorBody, ErrorMessage, HttpValidationError, ValidationError};
use super::tasks;
use crate::auth::AuthFailure;
use crate::domain::LocPart;
use crate::error::AppError;
use crate::health;

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
(validation), 404 (task missing, malformed id, or someone else's: never leaked), 412 (`If-Match` \
names no current version of the task).

**Safe writes.** Every task has a `version` (1 when created, +1 per change), sent as `ETag` on \
single-task answers. `If-Match` on `PUT`, `DELETE` and `PATCH …/complete` makes the change only \
at those versions (else 412 with the current `ETag`, nothing changed); `If-None-Match` on `GET` \
answers 304. `Idempotency-Key` on `POST …/tasks` makes a retried create safe.

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
        health::healthz,
        health::readyz,
    ),
    components(schemas(ErrorMessage, HttpValidationError, ValidationError, LocPart)),
    modifiers(&SharedComponents),
    tags(
        (name = "tasks", description = "The caller's tasks. The path `user_id` must be the token's user."),
        (name = "operations", description = "Liveness and readiness, public."),
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
// The path is read by `super::extract::OwnerScope`, segment by segment, so that a foreign
// `user_id` is a 403 before anything else is looked at; these types describe it.

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

/// `If-Match`, read by `super::extract::IfMatch`.
#[derive(IntoParams)]
#[into_params(names("If-Match"), parameter_in = Header)]
pub struct IfMatchHeader(
    /// Change the task only if its `ETag` is one of these (`"3"`, or a list `"3", "4"`), or
    /// `*` for any existing task. Otherwise 412 with the current `ETag`, nothing changed. A weak
    /// or unknown entity tag never matches. Absent: unconditional.
    #[param(example = "\"3\"")]
    Option<String>,
);

/// `If-None-Match`, read by `super::extract::IfNoneMatch`.
#[derive(IntoParams)]
#[into_params(names("If-None-Match"), parameter_in = Header)]
pub struct IfNoneMatchHeader(
    /// The `ETag`s you hold (`W/` accepted), or `*`: when the task's is one of them, 304 with
    /// no body.
    #[param(example = "\"3\"")]
    Option<String>,
);

/// `Idempotency-Key`, read by `super::extract::IdempotencyKeyHeader`.
#[derive(IntoParams)]
#[into_params(names("Idempotency-Key"), parameter_in = Header)]
pub struct IdempotencyKeyParam(
    /// 1 to 255 printable ASCII characters naming this create. A repeat with the same key and
    /// body within 24 hours creates nothing and gets the first answer again (with
    /// `Idempotent-Replayed: true`), even if the task changed or was deleted since; the same key
    /// with another body is a 422; a repeat while the first is still running is a 409.
    #[param(min_length = 1, max_length = 255, example = "create-7f3c2a")]
    Option<String>,
);

// ---- responses ----------------------------------------------------------------------------

/// The error answers every task route can give, as references to `components/responses`.
pub struct CommonErrors;

/// 422 for invalid input (query or body).
pub struct InvalidInput;

/// 404 for a task that is missing, malformed, or someone else's.
pub struct TaskMissing;

/// 412 for an `If-Match` the task's version does not meet.
pub struct PreconditionFailed;

/// 409 for a repeat of an idempotent create still running.
pub struct CreateInProgress;

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

impl IntoResponses for PreconditionFailed {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[("412", "PreconditionFailed")])
    }
}

impl IntoResponses for CreateInProgress {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[("409", "CreateInProgress")])
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
        // Each example is the body the server sends for that error.
        let error = |description: &str, example: AppError| {
            json_response(description, "ErrorMessage", ErrorBody::from(example))
        };
        let responses = [
            (
                "BadRequest",
                error(
                    "More than one `Authorization` header, or a body that could not be read",
                    AppError::bad_request(AuthFailure::MultipleCredentials.message()),
                )
                .build(),
            ),
            (
                "Unauthorized",
                error(
                    "No valid bearer token (missing, malformed, expired, bad signature, …)",
                    AppError::Unauthenticated(AuthFailure::MissingToken),
                )
                .header("WWW-Authenticate", www_authenticate)
                .build(),
            ),
            (
                "Forbidden",
                error("The path `user_id` is not the token's user", AppError::Forbidden).build(),
            ),
            (
                "NotFound",
                error(
                    "No such task for this user (missing, malformed id, or someone else's)",
                    AppError::NotFound,
                )
                .build(),
            ),
            (
                "PreconditionFailed",
                error(
                    "`If-Match` names no current version of the task: it changed since it was read. \
                     Nothing was changed; `ETag` is the current version",
                    AppError::PreconditionFailed { current_version: 2 },
                )
                .header("ETag", etag_header())
                .build(),
            ),
            (
                "CreateInProgress",
                error(
                    "A create with this `Idempotency-Key` is still running (here or on another \
                     replica); retry after `Retry-After` seconds to get its answer",
                    AppError::CreateInProgress,
                )
                .header("Retry-After", retry_after())
                .build(),
            ),
            (
                "PayloadTooLarge",
                error(
                    "The request body is over 65,536 bytes (checked before authentication)",
                    AppError::PayloadTooLarge,
                )
                .build(),
            ),
            (
                "ValidationFailed",
                json_response(
                    "Invalid input: a malformed or non-object JSON body, a wrong `Content-Type`, a \
                     field of the wrong type or out of range, or an unknown query value",
                    "HTTPValidationError",
                    ErrorBody::missing_title(),
                )
                .build(),
            ),
            (
                "TooManyRequests",
                error(
                    "Too many failed authentication attempts from this client; retry later",
                    AppError::TooManyRequests {
                        retry_after: std::time::Duration::ZERO,
                    },
                )
                .header("Retry-After", retry_after())
                .build(),
            ),
            (
                "ServiceUnavailable",
                error(
                    "The database is unreachable or saturated; retry later",
                    AppError::Overloaded,
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

/// The `ETag` header of a single-task answer: the task's version, quoted.
fn etag_header() -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(Type::String).examples(["\"3\""]))
        .description(Some(
            "The task's version, quoted (`\"3\"`): send it in `If-Match`",
        ))
        .build()
}

fn json_response(description: &str, schema: &str, example: ErrorBody) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(schema)))
            .example(serde_json::to_value(example).ok())
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{SearchText, TaskDescription, TaskTitle, UserId};

    /// The lengths in the document are literals (utoipa takes no constants there): they must be
    /// the domain's.
    #[test]
    fn documented_lengths_are_the_domains() {
        let doc = serde_json::to_value(document()).expect("JSON");
        let schemas = &doc["components"]["schemas"];
        for body in ["CreateTask", "UpdateTask"] {
            let properties = &schemas[body]["properties"];
            assert_eq!(properties["title"]["maxLength"], TaskTitle::MAX_CHARS, "{body}");
            assert_eq!(properties["title"]["minLength"], 1, "{body}");
            assert_eq!(
                properties["description"]["maxLength"],
                TaskDescription::MAX_CHARS,
                "{body}"
            );
        }
        let parameters = doc["paths"]["/api/{user_id}/tasks"]["get"]["parameters"]
            .as_array()
            .expect("parameters")
            .clone();
        let search = parameters
            .iter()
            .find(|parameter| parameter["name"] == "search")
            .expect("a search parameter");
        assert_eq!(search["schema"]["maxLength"], SearchText::MAX_CHARS);
        let user_id = parameters
            .iter()
            .find(|parameter| parameter["name"] == "user_id")
            .expect("a user_id parameter");
        assert_eq!(user_id["schema"]["maxLength"], UserId::MAX_CHARS);
    }
}
