//! Documents sent again and again: the parsed-document cache answers each request for itself,
//! and Automatic Persisted Queries (Apollo's protocol) over POST and GET, on one process and
//! across two.

use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::graphql_helpers::{codes, create, data, graphql, post_json};
use crate::helpers::{TestApp, new_user, spawn_app, spawn_app_with, token_for};
use crate::shutdown::Server;

const TITLES: &str = "query Titles($first: Int) { tasks(first: $first) { nodes { title } } }";
const CREATE: &str = "mutation Add($title: String!) { createTask(input: {title: $title}) { title } }";

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A request body as Apollo Client's persisted-query link sends it: the hash, and the document
/// only when given.
fn persisted(query: Option<&str>, hash: &str, variables: Value) -> Value {
    let mut body = json!({
        "variables": variables,
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": hash}},
    });
    if let Some(query) = query {
        body["query"] = json!(query);
    }
    body
}

fn titles(data: &Value) -> Vec<String> {
    data["tasks"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| node["title"].as_str().expect("title").to_owned())
        .collect()
}

#[tokio::test]
async fn the_same_document_again_answers_each_request_for_its_own_user_and_variables() {
    let app = spawn_app().await;
    let (ann, bob) = (new_user(), new_user());
    for title in ["a1", "a2", "a3"] {
        create(&app, &ann, json!({"title": title})).await;
    }
    create(&app, &bob, json!({"title": "b1"})).await;
    for _ in 0..2 {
        let all = data(&app, &ann, TITLES, json!({"first": 10})).await;
        assert_eq!(titles(&all).len(), 3);
        let one = data(&app, &ann, TITLES, json!({"first": 1})).await;
        assert_eq!(titles(&one).len(), 1);
        let bobs = data(&app, &bob, TITLES, json!({"first": 10})).await;
        assert_eq!(titles(&bobs), ["b1"]);
    }
}

#[tokio::test]
async fn a_refused_document_is_refused_every_time() {
    let app = spawn_app_with(|config| config.graphql_introspection = false).await;
    let user = new_user();
    for _ in 0..2 {
        let (status, body) = graphql(&app, &user, "{ __schema { queryType { name } } }", json!({})).await;
        assert_eq!(status, 200);
        assert_eq!(codes(&body), ["GRAPHQL_VALIDATION_FAILED"], "{body}");
        let (_, body) = graphql(&app, &user, "{ tasks { nodes { nope } } }", json!({})).await;
        assert_eq!(codes(&body), ["GRAPHQL_VALIDATION_FAILED"], "{body}");
    }
}

#[tokio::test]
async fn a_hash_alone_is_not_found_until_sent_with_its_document_then_runs_alone() {
    let app = spawn_app().await;
    let user = new_user();
    create(&app, &user, json!({"title": "persisted"})).await;
    let hash = sha256_hex(TITLES);

    let (status, body) = post_json(&app, &user, &persisted(None, &hash, json!({}))).await;
    assert_eq!(status, 200);
    assert_eq!(codes(&body), ["PERSISTED_QUERY_NOT_FOUND"], "{body}");
    assert_eq!(
        body["errors"][0]["message"]
            .as_str()
            .map(|m| m.starts_with("PersistedQueryNotFound")),
        Some(true)
    );
    assert!(body["data"].is_null(), "{body}");

    let (status, body) = post_json(&app, &user, &persisted(Some(TITLES), &hash, json!({"first": 5}))).await;
    assert_eq!(status, 200);
    assert_eq!(titles(&body["data"]), ["persisted"], "{body}");

    let (status, body) = post_json(&app, &user, &persisted(None, &hash, json!({"first": 0}))).await;
    assert_eq!(status, 200);
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(titles(&body["data"]), Vec::<String>::new());
}

#[tokio::test]
async fn a_hash_that_is_not_its_documents_runs_nothing_and_registers_nothing() {
    let app = spawn_app().await;
    let user = new_user();
    let wrong = sha256_hex(TITLES);
    let (status, body) = post_json(
        &app,
        &user,
        &persisted(Some(CREATE), &wrong, json!({"title": "never"})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(codes(&body), ["PERSISTED_QUERY_INVALID"], "{body}");
    assert!(app.rows_of(&user).await.is_empty(), "nothing ran");
    let (_, body) = post_json(&app, &user, &persisted(None, &wrong, json!({}))).await;
    assert_eq!(codes(&body), ["PERSISTED_QUERY_NOT_FOUND"], "{body}");

    let bad_version = json!({
        "query": TITLES,
        "extensions": {"persistedQuery": {"version": 2, "sha256Hash": sha256_hex(TITLES)}},
    });
    let (_, body) = post_json(&app, &user, &bad_version).await;
    assert_eq!(codes(&body), ["PERSISTED_QUERY_INVALID"], "{body}");
}

/// `GET /graphql?extensions=…`, as Apollo Client's `useGETForHashedQueries` sends it.
async fn get_persisted(app: &TestApp, user: &str, hash: &str, variables: &Value) -> reqwest::Response {
    let extensions = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}}).to_string();
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("extensions", &extensions)
        .append_pair("variables", &variables.to_string())
        .finish();
    app.as_user(user, Method::GET, &format!("/graphql?{query}"))
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn get_runs_a_known_hash_and_refuses_a_persisted_mutation_with_405() {
    let app = spawn_app().await;
    let user = new_user();
    create(&app, &user, json!({"title": "by get"})).await;

    let hash = sha256_hex(TITLES);
    let unknown = get_persisted(&app, &user, &hash, &json!({})).await;
    assert_eq!(unknown.status(), 200);
    let body: Value = unknown.json().await.expect("json");
    assert_eq!(codes(&body), ["PERSISTED_QUERY_NOT_FOUND"], "{body}");

    let (_, body) = post_json(&app, &user, &persisted(Some(TITLES), &hash, json!({}))).await;
    assert_eq!(titles(&body["data"]), ["by get"], "{body}");
    let known = get_persisted(&app, &user, &hash, &json!({"first": 1})).await;
    assert_eq!(known.status(), 200);
    let body: Value = known.json().await.expect("json");
    assert_eq!(titles(&body["data"]), ["by get"], "{body}");

    // A mutation registered over POST still does not run over GET.
    let create_hash = sha256_hex(CREATE);
    let (_, body) = post_json(
        &app,
        &user,
        &persisted(Some(CREATE), &create_hash, json!({"title": "posted"})),
    )
    .await;
    assert_eq!(body["data"]["createTask"]["title"], "posted", "{body}");
    let refused = get_persisted(&app, &user, &create_hash, &json!({"title": "by get"})).await;
    assert_eq!(refused.status(), 405);
    assert_eq!(refused.headers()["allow"], "POST");
    assert_eq!(app.rows_of(&user).await.len(), 2, "the GET created nothing");

    let malformed = app
        .as_user(&user, Method::GET, "/graphql?extensions=%7Bnot-json")
        .send()
        .await
        .expect("request");
    assert_eq!(malformed.status(), 400);
}

#[tokio::test]
async fn another_process_that_has_not_seen_a_hash_asks_for_its_document_once() {
    let app = spawn_app().await;
    let other = Server::start_over(Some(&app.database.url), &[]).await;
    let user = new_user();
    create(&app, &user, json!({"title": "shared"})).await;
    let hash = sha256_hex(TITLES);
    let post_to_other = |body: Value| {
        let request = app
            .client
            .post(other.url("/graphql"))
            .bearer_auth(token_for(&user))
            .json(&body);
        async move {
            let response = request.send().await.expect("request");
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.expect("json")
        }
    };

    let (_, body) = post_json(&app, &user, &persisted(Some(TITLES), &hash, json!({}))).await;
    assert_eq!(titles(&body["data"]), ["shared"], "{body}");
    let (_, body) = post_json(&app, &user, &persisted(None, &hash, json!({}))).await;
    assert_eq!(titles(&body["data"]), ["shared"], "{body}");

    // The other process keeps its own registry: the client's retry with the document fixes it.
    let body = post_to_other(persisted(None, &hash, json!({}))).await;
    assert_eq!(codes(&body), ["PERSISTED_QUERY_NOT_FOUND"], "{body}");
    let body = post_to_other(persisted(Some(TITLES), &hash, json!({}))).await;
    assert_eq!(titles(&body["data"]), ["shared"], "{body}");
    let body = post_to_other(persisted(None, &hash, json!({}))).await;
    assert_eq!(titles(&body["data"]), ["shared"], "{body}");
}
