//! `GET /openapi.json` and the Swagger UI page at `GET /docs`. Both are public. Swagger UI's
//! files are compiled into the binary (`utoipa-swagger-ui`, `vendored` feature) and served from
//! `/docs/`, so the page works with no internet access; its Content Security Policy (a
//! tower-http header layer on the docs routes) keeps it from reaching any other host.
//!
//! Why not utoipa-swagger-ui's own axum router (`SwaggerUi::new("/docs")`, its `axum`
//! feature): tried against `tests/api/rest_docs.rs`, it answers `GET /docs` with a 303 to
//! `/docs/` instead of the page (clients that do not follow redirects see no page) and unknown
//! files with an empty-bodied 404 instead of the API's JSON 404. Keeping both would take a URI
//! rewrite, the same `<base>` rewrite of its page and a 404 mapper around it: more code than
//! these handlers, which already use the crate's own file server (`utoipa_swagger_ui::serve`).

use std::sync::{Arc, LazyLock};

use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_swagger_ui::Config;

use super::openapi;
use crate::app::AppState;
use crate::error::AppError;

/// Where the document is served.
const OPENAPI_PATH: &str = "/openapi.json";

/// The page may load only what this server serves (Swagger UI styles elements inline and
/// uses `data:` images).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     font-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(openapi::document);

static SWAGGER_CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
    Arc::new(
        // The default posts the document to an online validator for a badge. The token given
        // to "Authorize" is kept in the page only (not in local storage).
        Config::new([OPENAPI_PATH]).validator_url("none"),
    )
});

/// `GET /openapi.json`, and Swagger UI at `GET /docs`, `GET /docs/` and `GET /docs/{*file}`
/// under its Content Security Policy.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/docs", get(page))
        .route("/docs/", get(page))
        .route("/docs/{*file}", get(asset))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        // Added after the layer: the document is data, not a page, and keeps its headers.
        .route(OPENAPI_PATH, get(openapi_json))
}

/// `GET /openapi.json`.
async fn openapi_json() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(&DOCUMENT)
}

/// `GET /docs` and `GET /docs/`: Swagger UI's page. Its links are relative, so a `<base>`
/// makes them resolve under `/docs/` whichever of the two was asked for.
async fn page() -> Response {
    match swagger_file("index.html") {
        Ok(Some((content_type, bytes))) => {
            let html = String::from_utf8_lossy(&bytes)
                .replacen(
                    "<meta charset=\"UTF-8\">",
                    "<meta charset=\"UTF-8\">\n    <base href=\"/docs/\" />",
                    1,
                )
                .replacen(
                    "<title>Swagger UI</title>",
                    "<title>todo-api REST documentation</title>",
                    1,
                );
            (content_type, html).into_response()
        }
        Ok(None) => super::not_found().await.into_response(),
        Err(error) => super::render(error),
    }
}

/// `GET /docs/{*file}`: Swagger UI's scripts, styles and icons.
async fn asset(file: Result<Path<String>, PathRejection>) -> Response {
    let Ok(Path(file)) = file else {
        return super::not_found().await.into_response();
    };
    if file == "index.html" {
        return page().await;
    }
    match swagger_file(&file) {
        Ok(Some((content_type, bytes))) => (content_type, bytes).into_response(),
        Ok(None) => super::not_found().await.into_response(),
        Err(error) => super::render(error),
    }
}

type File = ([(header::HeaderName, String); 1], Vec<u8>);

fn swagger_file(file: &str) -> Result<Option<File>, AppError> {
    // Fails only when rewriting the initializer from our own configuration: a bug, not input.
    let found = utoipa_swagger_ui::serve(file, Arc::clone(&SWAGGER_CONFIG))
        .map_err(|error| AppError::Internal(anyhow::anyhow!("serving Swagger UI's {file}: {error}")))?;
    Ok(found.map(|found| {
        (
            [(header::CONTENT_TYPE, found.content_type)],
            found.bytes.into_owned(),
        )
    }))
}
