//! `/graphql` over HTTP, written out rather than taken from async-graphql-axum, whose extractor
//! reads any content type as JSON, accepts multipart uploads, runs mutations over GET, runs
//! batches of any size and ignores axum's body limit. The rules (docs/api.md#graphql-over-http), in the
//! order they are checked:
//!
//! - `POST` takes `application/json` only (415); the body is capped like every body (413);
//!   then the bearer token (401, or 400 for two `Authorization` headers); then the JSON: one
//!   request object, or an array of 1 to 10 (400 otherwise). A batch runs its operations one
//!   after another.
//! - `GET` with an HTML `Accept` is the GraphiQL page (when enabled, and public); otherwise it
//!   runs the query in `?query=` (`variables`, `operationName`): 400 without one, 405 with
//!   `Allow: POST` for a mutation (before authentication, and nothing runs).
//! - Other methods: 405 with `Allow: GET, POST`.
//!
//! Every error body is GraphQL's `{"errors": [{"message", "extensions": {"code"}}]}`. Errors
//! found while executing answer 200, except that a response whose only errors are
//! `SERVICE_UNAVAILABLE` answers 503 with `Retry-After`.

use std::sync::Arc;

use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, BatchResponse, ServerError, Variables};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use super::documents::{Documents, names_a_persisted_query};
use super::error::render;
use super::{RequestScope, TodoSchema, limits, playground, socket};
use crate::app::AppState;
use crate::auth::{AuthUser, authenticate};
use crate::config::Config;
use crate::domain::Owner;
use crate::entity::user;
use crate::error::AppError;
use crate::service;
use crate::service::tasks::CreatesInFlight;

/// The most operations one batch may carry.
pub const MAX_BATCH: usize = 10;

#[derive(Clone)]
struct GraphqlState {
    app: AppState,
    schema: TodoSchema,
    /// Whether `__schema` and `__type` may be asked for (async-graphql alone would answer them
    /// with a silent `null` when they are disabled; [`limits::check`] refuses them).
    introspection: bool,
    /// The playground page, when `PLAYGROUND=true`.
    playground: Option<Arc<str>>,
    /// Documents already parsed and checked, and the persisted queries.
    documents: Arc<Documents>,
}

/// The playground's headers editor: the dev token in dev auth mode, else empty (never any other
/// credential).
fn initial_headers(dev_token: Option<&str>) -> String {
    dev_token
        .map(|token| json!({ "Authorization": format!("Bearer {token}") }).to_string())
        .unwrap_or_default()
}

/// `/graphql`, and the playground's assets under `/graphql/assets/` when it is enabled.
pub fn router(app: AppState, config: &Config) -> Router<AppState> {
    let state = GraphqlState {
        app,
        schema: super::schema(config.graphql_introspection),
        introspection: config.graphql_introspection,
        playground: config
            .playground
            .then(|| Arc::from(playground::page(&initial_headers(config.dev_token.as_deref())))),
        documents: Arc::default(),
    };
    let mut router = Router::new()
        .route("/graphql", any(endpoint))
        .route("/graphql/ws", any(socket_endpoint));
    if config.playground {
        router = router.route("/graphql/assets/{file}", get(playground::asset));
    }
    router.with_state(state)
}

/// `/graphql/ws`: GraphQL over WebSocket (see [`socket`](super::socket)).
async fn socket_endpoint(State(graphql): State<GraphqlState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    socket::upgrade(
        graphql.app,
        graphql.schema,
        graphql.introspection,
        graphql.playground.is_some(),
        parts,
    )
    .await
}

async fn endpoint(State(graphql): State<GraphqlState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if socket::is_upgrade(&parts) {
        return socket::upgrade(
            graphql.app,
            graphql.schema,
            graphql.introspection,
            graphql.playground.is_some(),
            parts,
        )
        .await;
    }
    let request = Request::from_parts(parts, body);
    let method = request.method().clone();
    let answer = if method == Method::POST {
        post(&graphql, request).await
    } else if method == Method::GET || method == Method::HEAD {
        get_query(&graphql, request).await
    } else {
        Err(AppError::MethodNotAllowed {
            allow: Some("GET, POST"),
            message: "/graphql takes GET (queries) and POST (queries and mutations)",
        })
    };
    answer.unwrap_or_else(render)
}

async fn post(graphql: &GraphqlState, request: Request) -> Result<Response, AppError> {
    if !is_json(request.headers()) {
        return Err(AppError::UnsupportedMediaType(
            "POST /graphql takes Content-Type: application/json",
        ));
    }
    let (parts, body) = request.into_parts();
    // `Bytes` honours the app-wide `DefaultBodyLimit` (65,536 bytes).
    let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), &()).await?;
    let caller = caller(&graphql.app, &parts).await?;
    let batch = parse_body(&bytes).map_err(AppError::bad_request)?;
    Ok(execute(graphql, caller, batch).await)
}

async fn get_query(graphql: &GraphqlState, request: Request) -> Result<Response, AppError> {
    let (parts, _) = request.into_parts();
    if let Some(page) = &graphql.playground
        && accepts_html(&parts.headers)
    {
        return Ok(playground::page_response(page));
    }
    let mut request = query_string_request(parts.uri.query()).map_err(AppError::bad_request)?;
    graphql.documents.recall(&mut request);
    if selected_operation(&mut request).is_some_and(|ty| ty != OperationType::Query) {
        return Err(AppError::MethodNotAllowed {
            allow: Some("POST"),
            message: "Only queries run over GET: send mutations with POST",
        });
    }
    let caller = caller(&graphql.app, &parts).await?;
    Ok(execute(graphql, caller, BatchRequest::Single(request)).await)
}

/// The verified caller, their user row (provisioned as REST does) and the database; or the
/// refusal. Until the schema is confirmed the database is not used: 503, as REST answers.
async fn caller(app: &AppState, parts: &Parts) -> Result<Caller, AppError> {
    let AuthUser { owner, profile, .. } = authenticate(parts, &app.auth).await?;
    let db = app.database()?;
    let row = service::users::ensure_exists(db, &app.known_users, &owner, &profile).await?;
    Ok(Caller {
        db: db.clone(),
        owner,
        row,
        creates_in_flight: app.creates_in_flight.clone(),
    })
}

/// Who a GraphQL request runs for, and the database it may use.
struct Caller {
    db: DatabaseConnection,
    owner: Owner,
    row: Arc<user::Model>,
    creates_in_flight: CreatesInFlight,
}

async fn execute(graphql: &GraphqlState, caller: Caller, batch: BatchRequest) -> Response {
    let scope = RequestScope::new(caller.db, caller.owner, caller.row, caller.creates_in_flight);
    let run = |mut request: async_graphql::Request| {
        let scope = scope.clone();
        async move {
            // The limits come first, so nothing async-graphql does (nor any database work) runs
            // for a document they refuse.
            if let Err(error) = graphql.documents.prepare(&mut request, graphql.introspection) {
                return async_graphql::Response::from_errors(vec![error]);
            }
            let mut response = graphql.schema.execute(request.data(scope)).await;
            limits::code_errors(&mut response);
            response
        }
    };
    let response = match batch {
        BatchRequest::Single(request) => BatchResponse::Single(run(request).await),
        // One after another: a batch's mutations apply in order, and it holds at most one
        // pooled connection at a time.
        BatchRequest::Batch(requests) => {
            let mut responses = Vec::with_capacity(requests.len());
            for request in requests {
                responses.push(run(request).await);
            }
            BatchResponse::Batch(responses)
        }
    };
    let errors: Vec<&ServerError> = match &response {
        BatchResponse::Single(response) => response.errors.iter().collect(),
        BatchResponse::Batch(responses) => responses.iter().flat_map(|r| &r.errors).collect(),
    };
    let status = status_for(&errors);
    let mut http = (status, axum::Json(response)).into_response();
    let headers = http.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from(AppError::RETRY_AFTER_SECONDS),
        );
    }
    http
}

/// 503 when every error is `SERVICE_UNAVAILABLE` (the database, not the request, failed, and a
/// retry may succeed); otherwise 200, as GraphQL answers with errors in the body.
fn status_for(errors: &[&ServerError]) -> StatusCode {
    let unavailable = |error: &&ServerError| {
        error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .is_some_and(|code| *code == async_graphql::Value::from("SERVICE_UNAVAILABLE"))
    };
    if !errors.is_empty() && errors.iter().all(unavailable) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

/// `application/json`, with or without parameters (`; charset=utf-8`).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case("application/json"))
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.to_ascii_lowercase().contains("text/html"))
}

/// One request object, or a batch: an array of 1 to [`MAX_BATCH`] of them.
fn parse_body(bytes: &[u8]) -> Result<BatchRequest, String> {
    let body: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("The body is not valid JSON: {e}"))?;
    match body {
        Value::Array(items) if items.is_empty() => {
            Err(format!("A batch holds 1 to {MAX_BATCH} operations, not 0"))
        }
        Value::Array(items) if items.len() > MAX_BATCH => Err(format!(
            "A batch holds at most {MAX_BATCH} operations, not {}",
            items.len()
        )),
        Value::Array(items) => items
            .into_iter()
            .map(graphql_request)
            .collect::<Result<_, _>>()
            .map(BatchRequest::Batch),
        body @ Value::Object(_) => graphql_request(body).map(BatchRequest::Single),
        _ => Err("The body must be a GraphQL request object, or an array of them".to_owned()),
    }
}

fn graphql_request(body: Value) -> Result<async_graphql::Request, String> {
    let request: async_graphql::Request =
        serde_json::from_value(body).map_err(|e| format!("Not a GraphQL request: {e}"))?;
    if request.query.trim().is_empty() && !names_a_persisted_query(&request) {
        return Err("A GraphQL request needs a non-empty \"query\"".to_owned());
    }
    Ok(request)
}

/// `?query=…&variables=<JSON object>&operationName=…&extensions=<JSON object>` (`query` may be
/// missing when `extensions` names a persisted query).
fn query_string_request(raw: Option<&str>) -> Result<async_graphql::Request, String> {
    let (mut query, mut variables, mut operation_name, mut extensions) = (None, None, None, None);
    for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "query" => query = Some(value.into_owned()),
            "variables" => variables = Some(value.into_owned()),
            "operationName" => operation_name = Some(value.into_owned()),
            "extensions" => extensions = Some(value.into_owned()),
            _ => {}
        }
    }
    let mut request = async_graphql::Request::new(query.unwrap_or_default());
    if let Some(extensions) = extensions.filter(|e| !e.trim().is_empty()) {
        request.extensions =
            serde_json::from_str(&extensions).map_err(|_| "?extensions= must be a JSON object".to_owned())?;
    }
    if request.query.trim().is_empty() && !names_a_persisted_query(&request) {
        return Err(
            "GET /graphql runs the GraphQL document given in ?query= (open it in a \
                    browser for the playground)"
                .to_owned(),
        );
    }
    if let Some(variables) = variables.filter(|v| !v.trim().is_empty()) {
        match serde_json::from_str::<Value>(&variables) {
            Ok(value @ (Value::Object(_) | Value::Null)) => {
                request = request.variables(Variables::from_json(value));
            }
            _ => return Err("?variables= must be a JSON object".to_owned()),
        }
    }
    if let Some(name) = operation_name.filter(|name| !name.is_empty()) {
        request = request.operation_name(name);
    }
    Ok(request)
}

/// The type of the operation the request would run, when the document parses and names one
/// unambiguously; execution reports every other case. (The parsed document stays in the
/// request for execution.)
fn selected_operation(request: &mut async_graphql::Request) -> Option<OperationType> {
    let name = request.operation_name.clone();
    let document = request.parsed_query().ok()?;
    let mut operations = document.operations.iter();
    let selected = match name {
        Some(name) => operations.find(|(n, _)| n.is_some_and(|n| n.as_str() == name)),
        None => operations
            .next()
            .filter(|_| document.operations.iter().count() == 1),
    };
    selected.map(|(_, operation)| operation.node.ty)
}

#[cfg(test)]
mod tests {
    use async_graphql::ErrorExtensionValues;

    use super::*;

    fn coded(code: &str) -> ServerError {
        let mut error = ServerError::new("x", None);
        let mut extensions = ErrorExtensionValues::default();
        extensions.set("code", code);
        error.extensions = Some(extensions);
        error
    }

    #[test]
    fn only_an_unavailable_database_turns_errors_into_a_503() {
        let unavailable = coded("SERVICE_UNAVAILABLE");
        let not_found = coded("NOT_FOUND");
        let uncoded = ServerError::new("Unknown field", None);
        assert_eq!(status_for(&[]), StatusCode::OK);
        assert_eq!(status_for(&[&unavailable]), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            status_for(&[&unavailable, &unavailable]),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(status_for(&[&unavailable, &not_found]), StatusCode::OK);
        assert_eq!(status_for(&[&uncoded]), StatusCode::OK);
    }

    #[test]
    fn only_application_json_is_a_graphql_body() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(value).expect("header"),
            );
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(!with("text/plain"));
        assert!(!with("application/graphql"));
        assert!(!with("multipart/form-data; boundary=x"));
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn batches_hold_one_to_ten_operations() {
        let batch = |n: usize| {
            let items: Vec<Value> = (0..n).map(|_| json!({"query": "{ __typename }"})).collect();
            serde_json::to_vec(&items).expect("json")
        };
        assert!(matches!(parse_body(&batch(1)), Ok(BatchRequest::Batch(r)) if r.len() == 1));
        assert!(matches!(parse_body(&batch(10)), Ok(BatchRequest::Batch(r)) if r.len() == 10));
        assert!(parse_body(&batch(11)).is_err());
        assert!(parse_body(&batch(0)).is_err());
        assert!(parse_body(b"{\"query\": \"{ __typename }\"}").is_ok());
        assert!(parse_body(b"{\"query\": \"\"}").is_err());
        assert!(parse_body(b"\"{ __typename }\"").is_err());
        assert!(parse_body(b"{not json").is_err());
    }

    #[test]
    fn the_operation_over_get_is_the_one_named() {
        let kind = |query: &str, name: Option<&str>| {
            let mut request = async_graphql::Request::new(query);
            if let Some(name) = name {
                request = request.operation_name(name);
            }
            selected_operation(&mut request)
        };
        assert_eq!(kind("{ me { id } }", None), Some(OperationType::Query));
        assert_eq!(
            kind("mutation { deleteTask(id: \"x\") }", None),
            Some(OperationType::Mutation)
        );
        let both = "query Q { me { id } } mutation M { deleteTask(id: \"x\") }";
        assert_eq!(kind(both, Some("Q")), Some(OperationType::Query));
        assert_eq!(kind(both, Some("M")), Some(OperationType::Mutation));
        assert_eq!(kind(both, None), None);
        assert_eq!(kind("{ unclosed", None), None);
    }
}
