//! The REST documentation (docs/api.md#operations-endpoints, `todo-api openapi`): the generated OpenAPI document, its
//! committed copy, `/openapi.json` and the offline Swagger UI page at `/docs`.

use std::collections::BTreeSet;
use std::path::Path;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{
    TestApp, http_client, new_user, spawn_app, spawn_app_with, start_app, test_config, token_for,
};

const COMMITTED: &str = "contracts/openapi.yaml";

fn committed_yaml() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(COMMITTED);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn generated() -> Value {
    serde_json::to_value(todo_api::openapi::document()).expect("the document is JSON")
}

/// Points at the first differing line, so a drift is easy to read in CI output.
fn assert_same_text(what: &str, actual: &[u8], expected: &[u8]) {
    if actual == expected {
        return;
    }
    let actual = String::from_utf8_lossy(actual);
    let expected = String::from_utf8_lossy(expected);
    let line = actual
        .lines()
        .zip(expected.lines())
        .position(|(a, e)| a != e)
        .unwrap_or_else(|| actual.lines().count().min(expected.lines().count()));
    panic!(
        "{what} differs from the generated document (first difference at line {}):\n  committed: {:?}\n  generated: {:?}\n\
         Regenerate it with: cargo run -q -- openapi > {COMMITTED}",
        line + 1,
        actual.lines().nth(line),
        expected.lines().nth(line),
    );
}

#[test]
fn the_committed_openapi_yaml_is_exactly_what_the_code_generates() {
    let generated = todo_api::openapi::yaml().expect("YAML");
    assert_same_text(COMMITTED, &committed_yaml(), generated.as_bytes());
}

/// What `todo-api openapi` runs. (In-process rather than through the binary: the build
/// directory's `todo-api` may be shared with other checkouts; `scripts/fuzz-rest.sh` compares
/// the built binary's output too.)
#[test]
fn todo_api_openapi_prints_the_committed_document_byte_for_byte() {
    use clap::Parser;
    use todo_api::config::{Cli, Command};
    let parsed = Cli::try_parse_from(["todo-api", "openapi"]).expect("`openapi` is a subcommand");
    assert!(matches!(parsed.command, Some(Command::Openapi)));
    let mut printed = Vec::new();
    todo_api::cli::openapi(&mut printed).expect("printed");
    assert_same_text("`todo-api openapi` output", &committed_yaml(), &printed);
}

fn operation<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
    let operation = &doc["paths"][path][method];
    assert!(operation.is_object(), "{method} {path} is documented");
    operation
}

/// A response of an operation, following a `$ref` into `components/responses`.
fn response<'a>(doc: &'a Value, operation: &'a Value, status: &str) -> &'a Value {
    let response = &operation["responses"][status];
    match response["$ref"].as_str() {
        Some(reference) => {
            let name = reference
                .strip_prefix("#/components/responses/")
                .expect("a local response reference");
            &doc["components"]["responses"][name]
        }
        None => response,
    }
}

fn statuses(operation: &Value) -> BTreeSet<String> {
    operation["responses"]
        .as_object()
        .expect("responses")
        .keys()
        .cloned()
        .collect()
}

fn schema_ref(response: &Value) -> &str {
    response["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .unwrap_or_default()
}

#[test]
fn every_route_documents_every_status_of_the_contract_with_its_error_shape() {
    let doc = generated();
    assert_eq!(doc["openapi"], "3.1.0");
    let tasks = "/api/{user_id}/tasks";
    let task = "/api/{user_id}/tasks/{task_id}";
    let complete = "/api/{user_id}/tasks/{task_id}/complete";
    let common = ["400", "401", "403", "413", "429", "503"];
    let cases: [(&str, &str, &[&str]); 6] = [
        (tasks, "get", &["200", "422"]),
        (tasks, "post", &["201", "409", "422"]),
        (task, "get", &["200", "304", "404"]),
        (task, "put", &["200", "404", "412", "422"]),
        (task, "delete", &["200", "404", "412"]),
        (complete, "patch", &["200", "404", "412"]),
    ];
    for (path, method, specific) in cases {
        let op = operation(&doc, path, method);
        let expected: BTreeSet<String> = common.iter().chain(specific).map(|s| (*s).to_owned()).collect();
        assert_eq!(statuses(op), expected, "{method} {path}");
        assert_eq!(
            op["security"],
            serde_json::json!([{"bearer": []}]),
            "{method} {path}"
        );
        for status in expected
            .iter()
            .filter(|s| s.starts_with('4') || s.starts_with('5'))
        {
            let answer = response(&doc, op, status);
            let wanted = if status == "422" {
                "HTTPValidationError"
            } else {
                "ErrorMessage"
            };
            assert_eq!(
                schema_ref(answer),
                format!("#/components/schemas/{wanted}"),
                "{method} {path} {status}"
            );
        }
        assert!(response(&doc, op, "401")["headers"]["WWW-Authenticate"].is_object());
        assert!(response(&doc, op, "429")["headers"]["Retry-After"].is_object());
        assert!(response(&doc, op, "503")["headers"]["Retry-After"].is_object());
    }
    assert!(response(&doc, operation(&doc, tasks, "post"), "201")["headers"]["Location"].is_object());
    assert!(response(&doc, operation(&doc, tasks, "get"), "200")["headers"]["X-Total-Count"].is_object());

    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(bearer["type"], "http");
    assert_eq!(bearer["scheme"], "bearer");

    for path in ["/healthz", "/readyz"] {
        let op = operation(&doc, path, "get");
        assert!(op.get("security").is_none(), "{path} is public");
    }
    assert!(response(&doc, operation(&doc, "/readyz", "get"), "503")["headers"]["Retry-After"].is_object());

    let validation = &doc["components"]["schemas"]["ValidationError"];
    assert_eq!(validation["required"], serde_json::json!(["loc", "msg", "type"]));
}

#[test]
fn the_list_query_documents_its_enums_defaults_and_aliases() {
    let doc = generated();
    let params = operation(&doc, "/api/{user_id}/tasks", "get")["parameters"]
        .as_array()
        .expect("parameters")
        .clone();
    let param = |name: &str| {
        params
            .iter()
            .find(|p| p["name"] == name && p["in"] == "query")
            .unwrap_or_else(|| panic!("query parameter {name}"))
            .clone()
    };
    let enum_of = |name: &str| param(name)["schema"]["enum"].clone();
    assert_eq!(
        enum_of("status"),
        serde_json::json!(["all", "pending", "completed"])
    );
    assert_eq!(param("status")["schema"]["default"], "all");
    assert_eq!(
        enum_of("sort"),
        serde_json::json!([
            "created",
            "updated",
            "title",
            "due",
            "priority",
            "created_at",
            "updated_at",
            "due_at"
        ])
    );
    assert_eq!(param("sort")["schema"]["default"], "created");
    assert_eq!(enum_of("order"), serde_json::json!(["asc", "desc"]));
    assert_eq!(param("order")["schema"]["default"], "desc");
    assert_eq!(enum_of("completed"), serde_json::json!(["true", "false"]));
    assert_eq!(param("completed")["deprecated"], true);
    assert_eq!(param("skip")["deprecated"], true);
    let limit = param("limit")["schema"].clone();
    assert_eq!(
        (
            limit["minimum"].clone(),
            limit["maximum"].clone(),
            limit["default"].clone()
        ),
        (1.into(), 1000.into(), 100.into())
    );
    assert_eq!(param("offset")["schema"]["minimum"], 0);
    assert_eq!(param("search")["schema"]["maxLength"], 1000);
}

/// The example body of a response in `components/responses`.
fn documented_example(doc: &Value, name: &str) -> Value {
    let example = doc["components"]["responses"][name]["content"]["application/json"]["example"].clone();
    assert!(example.is_object(), "{name} has an example body");
    example
}

/// The status and JSON body of an answer.
async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn every_documented_error_example_is_what_the_server_sends_for_it() {
    let doc = generated();
    let app = spawn_app().await;
    let user = new_user();
    let tasks = TestApp::tasks_path(&user);
    let missing_task = format!("{tasks}/{}", uuid::Uuid::now_v7());
    let oversized = format!("{{\"title\": \"{}\"}}", "x".repeat(65_536));
    let changed = app
        .create_task(&user, serde_json::json!({"title": "changed once"}))
        .await;
    let changed = format!("{tasks}/{}", changed["id"].as_str().expect("id"));
    let token = format!("Bearer {}", token_for(&user));
    let cases = [
        (
            "BadRequest",
            400,
            app.request(Method::GET, &tasks)
                .header("authorization", &token)
                .header("authorization", &token),
        ),
        ("Unauthorized", 401, app.request(Method::GET, &tasks)),
        (
            "Forbidden",
            403,
            app.as_user(&user, Method::GET, &TestApp::tasks_path(&new_user())),
        ),
        ("NotFound", 404, app.as_user(&user, Method::GET, &missing_task)),
        (
            "PayloadTooLarge",
            413,
            app.as_user(&user, Method::POST, &tasks).body(oversized),
        ),
        (
            "PreconditionFailed",
            412,
            app.as_user(&user, Method::DELETE, &changed)
                .header("If-Match", "\"7\""),
        ),
        (
            "ValidationFailed",
            422,
            app.as_user(&user, Method::POST, &tasks)
                .json(&serde_json::json!({})),
        ),
    ];
    for (name, status, request) in cases {
        assert_eq!(
            answer(request).await,
            (status, documented_example(&doc, name)),
            "{name}"
        );
    }
    // With a budget of one failure, the first forged token spends it and the next is throttled.
    let throttled = spawn_app_with(|config| config.auth_failures_per_minute = 1).await;
    let forged = || throttled.request(Method::GET, &tasks).bearer_auth("forged");
    assert_eq!(answer(forged()).await.0, 401);
    assert_eq!(
        answer(forged()).await,
        (429, documented_example(&doc, "TooManyRequests"))
    );
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["ErrorMessage"]["example"],
        documented_example(&doc, "NotFound")
    );
    assert_eq!(
        schemas["HTTPValidationError"]["example"],
        documented_example(&doc, "ValidationFailed")
    );

    // Without its database (nothing listens on port 1) the server answers 503, and `/readyz`
    // sends its documented body.
    let addr = start_app(&test_config("postgres://postgres@127.0.0.1:1/todo")).await;
    let client = http_client();
    let url = |path: &str| format!("http://{addr}{path}");
    let (status, sent) = answer(client.get(url(&tasks)).bearer_auth(token_for(&user))).await;
    assert_eq!(
        (status, sent),
        (503, documented_example(&doc, "ServiceUnavailable"))
    );
    let readyz = operation(&doc, "/readyz", "get");
    let (status, sent) = answer(client.get(url("/readyz"))).await;
    assert_eq!(status, 503);
    assert_eq!(sent, schemas["NotReady"]["example"]);
    let not_ready = &readyz["responses"]["503"]["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(not_ready, "#/components/schemas/NotReady");
}

#[tokio::test]
async fn the_health_endpoints_send_their_documented_examples() {
    let doc = generated();
    let app = spawn_app().await;
    for (path, status) in [("/healthz", "200"), ("/readyz", "200")] {
        let documented =
            &operation(&doc, path, "get")["responses"][status]["content"]["application/json"]["example"];
        let (sent_status, sent) = answer(app.request(Method::GET, path)).await;
        assert_eq!(
            (sent_status.to_string().as_str(), &sent),
            (status, documented),
            "{path}"
        );
    }
}

#[tokio::test]
async fn openapi_json_is_public_and_is_the_generated_document() {
    let app = spawn_app().await;
    let response = app
        .request(Method::GET, "/openapi.json")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200, "no token needed");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("application/json")
    );
    let served: Value = response.json().await.expect("json");
    assert_eq!(served, generated());
}

/// The `src` and `href` values of a page.
fn links_of(html: &str) -> Vec<String> {
    let mut links = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (start, _) in html.match_indices(attribute) {
            let rest = &html[start + attribute.len()..];
            links.push(rest[..rest.find('"').expect("closing quote")].to_owned());
        }
    }
    links
}

#[tokio::test]
async fn the_docs_page_is_public_and_every_asset_it_loads_is_served_locally() {
    let app = spawn_app().await;
    for page in ["/docs", "/docs/"] {
        let response = app.request(Method::GET, page).send().await.expect("request");
        assert_eq!(response.status(), 200, "{page} needs no token");
        let headers = response.headers().clone();
        assert!(
            headers["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with("text/html")
        );
        let policy = headers["content-security-policy"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(
            policy.contains("default-src 'none'") && policy.contains("connect-src 'self'"),
            "{policy}"
        );
        let html = response.text().await.expect("html");
        assert!(html.contains("<base href=\"/docs/\" />"), "{html}");
        let links = links_of(&html);
        assert!(
            links.iter().any(|l| l.ends_with("swagger-ui-bundle.js")),
            "{links:?}"
        );
        for link in links.iter().filter(|l| l.as_str() != "/docs/") {
            assert!(!link.contains("//"), "{link} must not name another host");
            let local = format!("/docs/{}", link.trim_start_matches("./"));
            let asset = app.request(Method::GET, &local).send().await.expect("request");
            assert_eq!(asset.status(), 200, "{local}");
            assert!(!asset.bytes().await.expect("body").is_empty(), "{local}");
        }
    }

    let initializer = app
        .request(Method::GET, "/docs/swagger-initializer.js")
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("text");
    assert!(
        initializer.contains("\"url\": \"/openapi.json\""),
        "{initializer}"
    );
    assert!(
        initializer.contains("\"validatorUrl\": \"none\""),
        "no online validator: {initializer}"
    );
    assert!(!initializer.contains("http"), "{initializer}");
    assert!(
        !initializer.contains("persistAuthorization"),
        "tokens are not kept in local storage: {initializer}"
    );

    for missing in [
        "/docs/no-such-file.js",
        "/docs/..%2F..%2FCargo.toml",
        "/docs/%2Fetc%2Fpasswd",
    ] {
        let response = app.request(Method::GET, missing).send().await.expect("request");
        assert_eq!(response.status(), 404, "{missing}");
        let body: Value = response.json().await.expect("json 404");
        assert_eq!(body["detail"], "Not Found", "{missing}");
    }
}
