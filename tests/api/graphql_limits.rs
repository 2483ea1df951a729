//! Bounded work: document limits refuse abusive queries before any SQL runs, DataLoaders keep a
//! page's statement count flat, and GraphiQL's introspection query still passes.

use serde_json::{Value, json};

use crate::graphql_helpers::{codes, counting_app, data, graphql, graphql_at, seed, tied_seeds};
use crate::helpers::{new_user, spawn_app, spawn_app_with};

/// What GraphiQL 3.9 sends (graphql-js 16 `getIntrospectionQuery`), with every option on: a
/// superset of GraphiQL's default query, as deep (15 levels) and a little larger.
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    description
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives {
      name
      description
      isRepeatable
      locations
      args(includeDeprecated: true) { ...InputValue }
    }
  }
}
fragment FullType on __Type {
  kind
  name
  description
  specifiedByURL
  isOneOf
  fields(includeDeprecated: true) {
    name
    description
    args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef }
    isDeprecated
    deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name
  description
  type { ...TypeRef }
  defaultValue
  isDeprecated
  deprecationReason
}
fragment TypeRef on __Type {
  kind name
  ofType { kind name
    ofType { kind name
      ofType { kind name
        ofType { kind name
          ofType { kind name
            ofType { kind name
              ofType { kind name
                ofType { kind name
                  ofType { kind name }
                }
              }
            }
          }
        }
      }
    }
  }
}
"#;

#[tokio::test]
async fn graphiqls_introspection_query_passes_every_limit() {
    let app = spawn_app().await;
    let schema = data(&app, &new_user(), INTROSPECTION, json!({})).await;
    let types: Vec<&str> = schema["__schema"]["types"]
        .as_array()
        .expect("types")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for name in [
        "Query",
        "Mutation",
        "Task",
        "TaskConnection",
        "DateTime",
        "UpdateTaskInput",
    ] {
        assert!(types.contains(&name), "{name} missing from {types:?}");
    }
}

#[tokio::test]
async fn introspection_can_be_turned_off() {
    let app = spawn_app_with(|config| config.graphql_introspection = false).await;
    let user = new_user();
    for query in [INTROSPECTION, "{ __type(name: \"Task\") { name } }"] {
        let (status, body) = graphql(&app, &user, query, json!({})).await;
        assert_eq!(status, 200);
        assert_eq!(codes(&body), ["GRAPHQL_VALIDATION_FAILED"], "{body}");
        assert_eq!(
            body["errors"][0]["message"],
            "Introspection is disabled on this server"
        );
        assert!(body.get("data").is_none_or(Value::is_null), "{body}");
    }
    // Ordinary queries still run.
    assert_eq!(
        data(&app, &user, "{ me { id } }", json!({})).await["me"]["id"],
        user.as_str()
    );
}

/// Documents refused by a limit: the error, and proof that no SQL ran for them.
async fn assert_refused_before_any_sql(query: &str, message: &str) {
    let app = spawn_app().await;
    let user = new_user();
    let (addr, statements) = counting_app(&app).await;
    graphql_at(&app, addr, &user, "{ me { id } }").await; // provisions the user row
    let before = statements.get();
    let response = app
        .client
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(crate::helpers::token_for(&user))
        .json(&json!({"query": query}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(codes(&body), ["GRAPHQL_VALIDATION_FAILED"], "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(message)),
        "expected {message:?}: {body}"
    );
    assert!(body.get("data").is_none_or(Value::is_null), "{body}");
    assert_eq!(statements.get(), before, "SQL ran for a refused document");
}

#[tokio::test]
async fn documents_nested_too_deep_are_refused() {
    // 17 levels of fields, in pages of one (so not too complex).
    let query = "{ me { tasks(first: 1) { nodes { owner { tasks(first: 1) { nodes { owner { tasks(first: 1) { nodes { owner { tasks(first: 1) { nodes { owner { tasks(first: 1) { nodes { owner { id } } } } } } } } } } } } } } } } }";
    assert_refused_before_any_sql(query, "nested too deep").await;
}

#[tokio::test]
async fn documents_too_complex_are_refused_with_pages_counted_at_their_size() {
    // Two nested pages of 100 (100 × 100 tasks) are refused; one page of 100 is not.
    let query = "{ tasks(first: 100) { nodes { owner { tasks(first: 100) { nodes { id } } } } } }";
    assert_refused_before_any_sql(query, "too complex").await;
    let variables =
        "query($n: Int) { tasks(first: $n) { nodes { owner { tasks(last: $n) { nodes { id } } } } } }";
    let app = spawn_app().await;
    let (_, body) = graphql(&app, &new_user(), variables, json!({"n": 100})).await;
    assert_eq!(
        codes(&body),
        ["GRAPHQL_VALIDATION_FAILED"],
        "page sizes in variables count too: {body}"
    );
    let task = "id title description completed createdAt updatedAt owner { id email name createdAt }";
    let everything = format!(
        "{{ tasks(first: 100) {{ totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
             edges {{ cursor node {{ {task} }} }} nodes {{ {task} }} }} }}"
    );
    let page = data(&app, &new_user(), &everything, json!({})).await;
    assert_eq!(page["tasks"]["totalCount"], 0);
}

#[tokio::test]
async fn more_than_30_aliases_are_refused() {
    let aliases = |n: usize| {
        let fields: Vec<String> = (0..n).map(|i| format!("a{i}: taskStats {{ total }}")).collect();
        format!("{{ {} }}", fields.join(" "))
    };
    assert_refused_before_any_sql(&aliases(31), "31 aliased fields").await;
    let app = spawn_app().await;
    let answer = data(&app, &new_user(), &aliases(30), json!({})).await;
    assert_eq!(answer["a29"]["total"], 0);
}

#[tokio::test]
async fn directive_and_fragment_abuse_is_refused() {
    let directives: Vec<&str> = vec!["taskStats @include(if: true) @skip(if: false) { total }"; 26];
    assert_refused_before_any_sql(&format!("{{ {} }}", directives.join(" ")), "52 directives").await;
    assert_refused_before_any_sql(
        "{ taskStats @skip(if: false) @skip(if: false) @skip(if: false) @skip(if: false) @skip(if: false) @skip(if: false) { total } }",
        "directives",
    )
    .await;
    // A few hundred bytes that would select 8^12 fields once spread.
    let mut bomb = String::from("{ ...G0 }");
    for i in 0..12 {
        bomb.push_str(&format!(
            " fragment G{i} on Query {{ {} }}",
            format!("...G{} ", i + 1).repeat(8)
        ));
    }
    bomb.push_str(" fragment G12 on Query { taskStats { total } }");
    assert_refused_before_any_sql(&bomb, "too many fields").await;
}

#[tokio::test]
async fn a_page_costs_the_same_statements_whatever_its_size() {
    let app = spawn_app().await;
    let user = new_user();
    seed(&app, &user, tied_seeds(100)).await;
    let (addr, statements) = counting_app(&app).await;
    graphql_at(&app, addr, &user, "{ me { id } }").await; // provisions the user row
    let mut cost = Vec::new();
    for size in [1, 10, 100] {
        let before = statements.get();
        let body = graphql_at(
            &app,
            addr,
            &user,
            &format!("{{ tasks(first: {size}) {{ nodes {{ id owner {{ id email }} }} }} }}"),
        )
        .await;
        let nodes = body["data"]["tasks"]["nodes"].as_array().expect("nodes");
        assert_eq!(nodes.len(), size);
        assert!(nodes.iter().all(|n| n["owner"]["id"] == user.as_str()));
        cost.push(statements.get() - before);
    }
    // One for the page. The owner goes through the DataLoader, which answers from the caller's
    // row that provisioning already holds: no query per row, and none per page either.
    assert_eq!(cost, [1, 1, 1]);
}

#[tokio::test]
async fn total_count_is_counted_only_when_asked_for() {
    let app = spawn_app().await;
    let user = new_user();
    seed(&app, &user, tied_seeds(30)).await;
    let (addr, statements) = counting_app(&app).await;
    graphql_at(&app, addr, &user, "{ me { id } }").await;
    let cost = |query: &'static str| {
        let (app, statements, user) = (&app, &statements, &user);
        async move {
            let before = statements.get();
            let body = graphql_at(app, addr, user, query).await;
            (statements.get() - before, body)
        }
    };
    let (without, _) = cost("{ tasks { nodes { id } } }").await;
    let (with, body) = cost("{ tasks { totalCount nodes { id } } }").await;
    assert_eq!(body["data"]["tasks"]["totalCount"], 30);
    assert_eq!((without, with), (1, 2));
}

#[tokio::test]
async fn an_unset_page_size_variable_means_the_default_page() {
    let app = spawn_app().await;
    let user = new_user();
    seed(&app, &user, tied_seeds(30)).await;
    let page = data(
        &app,
        &user,
        "query($first: Int, $after: String) { tasks(first: $first, after: $after) { nodes { id } } }",
        json!({}),
    )
    .await;
    assert_eq!(page["tasks"]["nodes"].as_array().expect("nodes").len(), 20);
}

#[tokio::test]
async fn the_previous_page_probe_runs_only_when_has_previous_page_is_asked_for() {
    let app = spawn_app().await;
    let user = new_user();
    seed(&app, &user, tied_seeds(30)).await;
    let (addr, statements) = counting_app(&app).await;
    let first = graphql_at(
        &app,
        addr,
        &user,
        "{ tasks(first: 10) { pageInfo { endCursor } } }",
    )
    .await;
    let cursor = first["data"]["tasks"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("endCursor")
        .to_owned();
    let cost = |page_info: &'static str| {
        let (app, statements, user, cursor) = (&app, &statements, &user, &cursor);
        async move {
            let before = statements.get();
            let query = format!(
                "{{ tasks(first: 10, after: \"{cursor}\") {{ nodes {{ id }} pageInfo {{ {page_info} }} }} }}"
            );
            let body = graphql_at(app, addr, user, &query).await;
            assert_eq!(body["data"]["tasks"]["nodes"].as_array().map(Vec::len), Some(10));
            (
                statements.get() - before,
                body["data"]["tasks"]["pageInfo"].clone(),
            )
        }
    };
    let (without, page_info) = cost("hasNextPage").await;
    assert_eq!((without, page_info["hasNextPage"].as_bool()), (1, Some(true)));
    let (with, page_info) = cost("hasPreviousPage").await;
    assert_eq!((with, page_info["hasPreviousPage"].as_bool()), (2, Some(true)));
    // through a fragment, too
    let (spread, page_info) = cost("...on PageInfo { hasPreviousPage }").await;
    assert_eq!((spread, page_info["hasPreviousPage"].as_bool()), (2, Some(true)));
}
