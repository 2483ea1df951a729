//! Findings of the GraphQL contract fuzzer (scripts/fuzz-graphql.sh), one test each.

use serde_json::json;

use crate::graphql_helpers::{codes, graphql};
use crate::helpers::{new_user, spawn_app};

/// An `Int` argument beyond 32 bits is only coerced while resolving, where async-graphql's
/// error carried no `extensions.code` at all; it is a validation failure of the document.
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
