//! `/graphql` over HTTP: content types, methods, batches, body size, authentication, GET
//! queries, the playground and its assets, and the committed schema.

use reqwest::Method;
use serde_json::{Value, json};

use crate::graphql_helpers::{codes, create, data, graphql, only_error, post_json};
use crate::helpers::{new_user, request_id, spawn_app, spawn_app_with, token_for};

/// A GraphQL error body with one error of this code, and nothing else.
async fn assert_refusal(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("application/json")
    );
    let body: Value = response.json().await.expect("json");
    assert_eq!(codes(&body), [code], "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert!(body.get("data").is_none(), "{body}");
    body
}

#[tokio::test]
async fn post_takes_application_json_only() {
    let app = spawn_app().await;
    let user = new_user();
    let body = r#"{"query": "mutation { createTask(input: {title: \"x\"}) { id } }"}"#;
    for content_type in [
        Some("text/plain"),
        Some("application/graphql"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=xyz"),
        None,
    ] {
        let mut request = app.as_user(&user, Method::POST, "/graphql").body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.expect("request");
        assert_refusal(response, 415, "UNSUPPORTED_MEDIA_TYPE").await;
    }
    let accepted = app
        .as_user(&user, Method::POST, "/graphql")
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .expect("request");
    assert_eq!(accepted.status(), 200);
    assert_eq!(app.rows_of(&user).await.len(), 1, "only the JSON request ran");
}

#[tokio::test]
async fn get_runs_queries_with_variables_and_an_operation_name() {
    let app = spawn_app().await;
    let user = new_user();
    let task = create(&app, &user, json!({"title": "over GET"})).await;
    let response = app
        .as_user(&user, Method::GET, "/graphql")
        .query(&[
            (
                "query",
                "query Other { me { id } } query One($id: ID!) { task(id: $id) { title } }",
            ),
            ("variables", &json!({"id": task["id"]}).to_string()),
            ("operationName", "One"),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body, json!({"data": {"task": {"title": "over GET"}}}));
}

#[tokio::test]
async fn a_mutation_over_get_is_405_with_allow_post_and_runs_nothing() {
    let app = spawn_app().await;
    let user = new_user();
    for (query, operation) in [
        ("mutation { createTask(input: {title: \"x\"}) { id } }", None),
        (
            "query Q { me { id } } mutation M { createTask(input: {title: \"x\"}) { id } }",
            Some("M"),
        ),
    ] {
        let mut params = vec![("query", query)];
        if let Some(operation) = operation {
            params.push(("operationName", operation));
        }
        for authorized in [true, false] {
            let request = app.request(Method::GET, "/graphql").query(&params);
            let request = if authorized {
                request.bearer_auth(token_for(&user))
            } else {
                request
            };
            let response = request.send().await.expect("request");
            assert_eq!(response.headers()["allow"], "POST");
            assert_refusal(response, 405, "METHOD_NOT_ALLOWED").await;
        }
    }
    assert!(app.rows_of(&user).await.is_empty());
}

#[tokio::test]
async fn other_methods_are_405_with_allow_get_post() {
    let app = spawn_app().await;
    for method in [Method::PUT, Method::DELETE, Method::PATCH] {
        let response = app
            .request(method.clone(), "/graphql")
            .send()
            .await
            .expect("request");
        assert_eq!(response.headers()["allow"], "GET, POST", "{method}");
        assert_refusal(response, 405, "METHOD_NOT_ALLOWED").await;
    }
}

#[tokio::test]
async fn get_without_a_query_is_400_and_a_browser_gets_the_playground() {
    let app = spawn_app().await;
    for path in ["/graphql", "/graphql?query=", "/graphql?variables=%7B%7D"] {
        let response = app
            .as_user(&new_user(), Method::GET, path)
            .header("accept", "application/json")
            .send()
            .await
            .expect("request");
        assert_refusal(response, 400, "BAD_REQUEST").await;
    }

    // The page is public, offline (assets from this server) and has no token in it.
    let page = app
        .request(Method::GET, "/graphql")
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .expect("request");
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.expect("html");
    assert!(html.contains("const initialHeaders = \"\";"), "{html}");
    assert!(!html.contains("__TODO_API_INITIAL_HEADERS__"));
    assert!(!html.contains("https://"), "nothing from a CDN");

    for (file, content_type) in [
        ("graphiql.min.js", "text/javascript"),
        ("graphiql.min.css", "text/css"),
        ("react.production.min.js", "text/javascript"),
        ("react-dom.production.min.js", "text/javascript"),
        ("LICENSE.graphiql", "text/plain"),
    ] {
        assert!(html.contains(file) || file.starts_with("LICENSE"), "{file}");
        let asset = app
            .request(Method::GET, &format!("/graphql/assets/{file}"))
            .send()
            .await
            .expect("request");
        assert_eq!(asset.status(), 200, "{file}");
        assert!(
            asset.headers()["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with(content_type),
            "{file}"
        );
        let expected = std::fs::read(format!("assets/graphiql/{file}")).expect("vendored file");
        assert_eq!(
            asset.bytes().await.expect("bytes").as_ref(),
            expected.as_slice(),
            "{file}"
        );
    }
    for missing in [
        "/graphql/assets/index.html",
        "/graphql/assets/UPDATE.md",
        "/graphql/assets/..%2FCargo.toml",
    ] {
        let response = app.request(Method::GET, missing).send().await.expect("request");
        assert_eq!(response.status(), 404, "{missing}");
    }
}

#[tokio::test]
async fn the_playground_can_be_turned_off() {
    let app = spawn_app_with(|config| config.playground = false).await;
    let page = app
        .request(Method::GET, "/graphql")
        .header("accept", "text/html")
        .send()
        .await
        .expect("request");
    assert_refusal(page, 400, "BAD_REQUEST").await;
    let asset = app
        .request(Method::GET, "/graphql/assets/graphiql.min.js")
        .send()
        .await
        .expect("request");
    assert_eq!(asset.status(), 404);
}

#[tokio::test]
async fn batches_of_up_to_ten_run_in_order_and_larger_or_empty_ones_are_400() {
    let app = spawn_app().await;
    let user = new_user();
    let mut batch: Vec<Value> = (0..9)
        .map(|i| json!({"query": format!("mutation {{ createTask(input: {{title: \"t{i}\"}}) {{ title }} }}")}))
        .collect();
    batch.push(json!({"query": "{ tasks(orderBy: {direction: ASC}) { totalCount nodes { title } } }"}));
    let (status, body) = post_json(&app, &user, &json!(batch)).await;
    assert_eq!(status, 200, "{body}");
    let responses = body.as_array().expect("an array of responses");
    assert_eq!(responses.len(), 10);
    assert_eq!(responses[3]["data"]["createTask"]["title"], "t3");
    assert_eq!(
        responses[9]["data"]["tasks"]["totalCount"], 9,
        "run in order: {body}"
    );
    assert_eq!(responses[9]["data"]["tasks"]["nodes"][0]["title"], "t0");

    batch.push(json!({"query": "mutation { createTask(input: {title: \"eleventh\"}) { id } }"}));
    for too_many in [json!(batch), json!([])] {
        let response = app
            .as_user(&user, Method::POST, "/graphql")
            .json(&too_many)
            .send()
            .await
            .expect("request");
        assert_refusal(response, 400, "BAD_REQUEST").await;
    }
    assert_eq!(app.rows_of(&user).await.len(), 9, "a refused batch runs nothing");
}

#[tokio::test]
async fn malformed_bodies_are_400() {
    let app = spawn_app().await;
    let user = new_user();
    for body in [
        "{not json",
        "\"{ me { id } }\"",
        "42",
        "{\"query\": 5}",
        "{\"variables\": {}}",
        "[1, 2]",
    ] {
        let response = app
            .as_user(&user, Method::POST, "/graphql")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        assert_refusal(response, 400, "BAD_REQUEST").await;
    }
}

#[tokio::test]
async fn bodies_over_64_kib_are_413_before_authentication_with_or_without_a_length() {
    let app = spawn_app().await;
    let user = new_user();
    // {"query": "<mutation>", "extensions": {"pad": "xxx…"}}, exactly `size` bytes.
    let body_of = |size: usize| {
        let prefix =
            r#"{"query": "mutation { createTask(input: {title: \"big\"}) { id } }", "extensions": {"pad": ""#;
        let suffix = "\"}}";
        format!(
            "{prefix}{}{suffix}",
            "x".repeat(size - prefix.len() - suffix.len())
        )
    };
    let at_limit = app
        .as_user(&user, Method::POST, "/graphql")
        .header("content-type", "application/json")
        .body(body_of(65_536))
        .send()
        .await
        .expect("request");
    assert_eq!(at_limit.status(), 200, "65,536 bytes are accepted");

    let declared = app
        .request(Method::POST, "/graphql")
        .header("content-type", "application/json")
        .body(body_of(65_537))
        .send()
        .await
        .expect("request");
    assert_refusal(declared, 413, "PAYLOAD_TOO_LARGE").await;

    // Chunked, with no Content-Length: cut off while read.
    let (status, body) = post_chunked(&app.addr, &body_of(200_000)).await;
    assert_eq!(status, 413, "{body}");
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(codes(&body), ["PAYLOAD_TOO_LARGE"]);
    assert_eq!(
        app.rows_of(&user).await.len(),
        1,
        "only the request at the limit ran"
    );
}

/// `POST /graphql` with `Transfer-Encoding: chunked` (no `Content-Length`), written by hand:
/// the status code and the body of the answer.
async fn post_chunked(addr: &std::net::SocketAddr, body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    for chunk in body.as_bytes().chunks(8192) {
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        // The server may answer and close before the whole body is sent.
        if stream.write_all(&framed).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer}"));
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    assert!(!head.to_ascii_lowercase().contains("content-length: 2"), "{head}");
    (status, body.to_owned())
}

#[tokio::test]
async fn requests_without_a_valid_token_are_401_with_a_graphql_error() {
    let app = spawn_app().await;
    let query = json!({"query": "{ __typename }"});
    let cases = [
        (None, "missing_token"),
        (Some("Bearer not.a.jwt".to_owned()), "malformed"),
        (Some(format!("Bearer {}x", token_for("u"))), "bad_signature"),
        (Some("Basic dXNlcjpwdw==".to_owned()), "malformed"),
    ];
    for (authorization, reason) in cases {
        for method in [Method::POST, Method::GET] {
            let mut request = app.request(method.clone(), "/graphql");
            request = if method == Method::POST {
                request.json(&query)
            } else {
                request.query(&[("query", "{ __typename }")])
            };
            if let Some(authorization) = &authorization {
                request = request.header("authorization", authorization);
            }
            let response = request.send().await.expect("request");
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
            let id = request_id(&response);
            assert_refusal(response, 401, "UNAUTHENTICATED").await;
            let events = app.security_events(&id);
            assert_eq!(events.len(), 1, "{events:?}");
            assert_eq!(events[0]["reason"], reason);
            assert_eq!(events[0]["path"], "/graphql");
            assert_eq!(events[0]["status"], 401);
        }
    }
    let twice = app
        .request(Method::POST, "/graphql")
        .header("authorization", format!("Bearer {}", token_for("u")))
        .header("authorization", format!("Bearer {}", token_for("u")))
        .json(&query)
        .send()
        .await
        .expect("request");
    assert_refusal(twice, 400, "BAD_REQUEST").await;
}

#[tokio::test]
async fn parse_and_validation_errors_are_200_with_coded_errors() {
    let app = spawn_app().await;
    let user = new_user();
    let (status, body) = graphql(&app, &user, "{ me { id ", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(codes(&body), ["GRAPHQL_PARSE_FAILED"], "{body}");
    let (status, body) = graphql(&app, &user, "{ me { password } }", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(codes(&body), ["GRAPHQL_VALIDATION_FAILED"], "{body}");
    let (_, body) = graphql(&app, &user, "query($id: ID!) { task(id: $id) { id } }", json!({})).await;
    assert!(!codes(&body).is_empty(), "a missing variable is an error: {body}");
    assert!(only_error(&body)["message"].as_str().is_some());
}

/// An `Int` argument beyond 32 bits, literal or variable, is a validation failure of the
/// document with its code (async-graphql coerces it only while resolving, where its own error has
/// no `extensions.code`).
#[tokio::test]
async fn an_int_argument_out_of_range_is_a_coded_validation_failure() {
    let app = spawn_app().await;
    let user = new_user();
    for (query, variables) in [
        ("{ tasks(first: -2147483649) { totalCount } }", json!({})),
        ("{ me { tasks(last: 3508177987074) { totalCount } } }", json!({})),
        (
            "query($n: Int) { tasks(first: $n) { totalCount } }",
            json!({"n": 99_999_999_999_i64}),
        ),
    ] {
        let (status, body) = graphql(&app, &user, query, variables).await;
        assert_eq!(status, 200, "{query}: {body}");
        let codes = codes(&body);
        assert!(
            !codes.is_empty() && codes.iter().all(|c| c == "GRAPHQL_VALIDATION_FAILED"),
            "{query}: {body}"
        );
    }
}

#[test]
fn the_committed_schema_is_the_generated_one() {
    let committed = include_str!("../../schema.graphql");
    assert_eq!(
        todo_api::graphql::sdl(),
        committed,
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql`"
    );
}

#[tokio::test]
async fn data_and_errors_are_never_mixed_across_a_batch() {
    let app = spawn_app().await;
    let user = new_user();
    let task = create(&app, &user, json!({"title": "ok"})).await;
    let (status, body) = post_json(
        &app,
        &user,
        &json!([
            {"query": "query($id: ID!) { task(id: $id) { title } }", "variables": {"id": task["id"]}},
            {"query": "mutation { deleteTask(id: \"nope\") }"},
            {"query": "{ nope }"},
        ]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body[0], json!({"data": {"task": {"title": "ok"}}}));
    assert_eq!(codes(&body[1]), ["NOT_FOUND"]);
    assert_eq!(codes(&body[2]), ["GRAPHQL_VALIDATION_FAILED"]);
    assert_eq!(
        data(&app, &user, "{ taskStats { total } }", json!({})).await["taskStats"]["total"],
        1
    );
}
