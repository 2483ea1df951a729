//! The GraphiQL playground, served offline: the page and its vendored assets
//! (`assets/graphiql/`, see its UPDATE.md) are compiled into the binary.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("../../assets/graphiql/index.html");
const HEADERS_PLACEHOLDER: &str = "__TODO_API_INITIAL_HEADERS__";

/// `(name, content type, bytes)` of every file under `/graphql/assets/`.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.css"),
    ),
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.js"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    ),
    (
        "LICENSE.graphiql",
        "text/plain; charset=utf-8",
        include_bytes!("../../assets/graphiql/LICENSE.graphiql"),
    ),
    (
        "LICENSE.react",
        "text/plain; charset=utf-8",
        include_bytes!("../../assets/graphiql/LICENSE.react"),
    ),
    (
        "LICENSE.react-dom",
        "text/plain; charset=utf-8",
        include_bytes!("../../assets/graphiql/LICENSE.react-dom"),
    ),
];

/// The page, with `initial_headers` (the JSON text of the headers editor, or `""` for none)
/// written into its script as a JavaScript string literal.
pub fn page(initial_headers: &str) -> String {
    INDEX.replace(HEADERS_PLACEHOLDER, &script_string(initial_headers))
}

/// A JSON string literal that is also safe inside an HTML `<script>`: `<`, `>` and `&` are
/// escaped, so the text can never close the script element; U+2028/U+2029 are escaped for old
/// JavaScript engines.
fn script_string(text: &str) -> String {
    serde_json::Value::from(text)
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

pub fn page_response(page: &str) -> Response {
    let mut response = (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page.to_owned(),
    )
        .into_response();
    let headers = response.headers_mut();
    // The headers editor may hold a token: keep the page out of caches and frames.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// `GET /graphql/assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    let Some(&(_, content_type, bytes)) = ASSETS.iter().find(|(name, _, _)| *name == file) else {
        return super::render(crate::error::AppError::RouteNotFound);
    };
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_its_headers_as_a_script_safe_literal() {
        let empty = page("");
        assert!(empty.contains("const initialHeaders = \"\";"));
        assert!(!empty.contains(HEADERS_PLACEHOLDER));
        let hostile = page("{\"Authorization\": \"Bearer </script><script>alert(1)</script>\"}");
        assert!(!hostile.contains("</script><script>alert"));
        assert!(hostile.contains("\\u003c/script\\u003e"));
    }

    #[test]
    fn every_file_the_page_loads_is_served() {
        for reference in INDEX.split("/graphql/assets/").skip(1) {
            let file = reference.split('"').next().unwrap_or_default();
            assert!(
                ASSETS.iter().any(|(name, _, _)| *name == file),
                "{file} is not served"
            );
        }
    }
}
