//! Every way a REST input can be refused, answered exactly as FastAPI would: each problem's
//! `loc`, `type` and `msg`, every problem of a body or a query at once and in field order, and
//! the one-line `message`. A change to any of these is a change clients see.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, new_user, spawn_app};

const MISSING: (&str, &str) = ("missing", "Field required");
const NOT_A_STRING: (&str, &str) = ("string_type", "Input should be a valid string");
const NOT_A_BOOLEAN: (&str, &str) = ("bool_type", "Input should be a valid boolean");
const TOO_SHORT: (&str, &str) = ("string_too_short", "String should have at least 1 character");
const TITLE_TOO_LONG: (&str, &str) = ("string_too_long", "String should have at most 200 characters");
const TOO_LONG: (&str, &str) = ("string_too_long", "String should have at most 1000 characters");
const TITLE_CONTROL: (&str, &str) = (
    "value_error",
    "Value error, title must not contain control characters other than \\n, \\r and \\t",
);
const DESCRIPTION_CONTROL: (&str, &str) = (
    "value_error",
    "Value error, description must not contain control characters other than \\n, \\r and \\t",
);
const SEARCH_CONTROL: (&str, &str) = (
    "value_error",
    "Value error, search must not contain control characters",
);
const NOT_AN_INTEGER: (&str, &str) = (
    "int_parsing",
    "Input should be a valid integer, unable to parse string as an integer",
);
const STATUS: (&str, &str) = ("enum", "Input should be one of 'all', 'pending', 'completed'");
const COMPLETED: (&str, &str) = ("enum", "Input should be one of 'true', 'false'");
const SORT: (&str, &str) = (
    "enum",
    "Input should be one of 'created', 'updated', 'title', 'due', 'priority', 'created_at', 'updated_at', 'due_at'",
);
const ORDER: (&str, &str) = ("enum", "Input should be one of 'asc', 'desc'");

fn at_least(n: i64) -> (&'static str, String) {
    (
        "greater_than_equal",
        format!("Input should be greater than or equal to {n}"),
    )
}

fn at_most(n: i64) -> (&'static str, String) {
    (
        "less_than_equal",
        format!("Input should be less than or equal to {n}"),
    )
}

/// The 422 body for these problems, each `(loc, (type, msg))`, in this order.
fn answer<K: ToString, M: ToString>(problems: &[(Value, (K, M))]) -> Value {
    let detail: Vec<Value> = problems
        .iter()
        .map(|(loc, (kind, msg))| json!({"loc": loc, "msg": msg.to_string(), "type": kind.to_string()}))
        .collect();
    let summary: Vec<String> = detail
        .iter()
        .map(|issue| {
            let loc: Vec<String> = issue["loc"]
                .as_array()
                .expect("loc")
                .iter()
                .map(|part| part.as_str().map_or_else(|| part.to_string(), str::to_owned))
                .collect();
            format!("{}: {}", loc.join("."), issue["msg"].as_str().expect("msg"))
        })
        .collect();
    json!({"detail": detail, "message": format!("Validation failed: {}", summary.join("; "))})
}

fn body(field: &str) -> Value {
    json!(["body", field])
}

fn query(field: &str) -> Value {
    json!(["query", field])
}

/// Sends `raw` with `content_type` and returns the status and the JSON answer, checking that
/// no row changed.
async fn send(
    app: &TestApp,
    user: &str,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    raw: &str,
) -> (u16, Value) {
    let before = app.rows_of(user).await;
    let mut request = app.as_user(user, method, path).body(raw.to_owned());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let answer: Value = response.json().await.expect("a JSON answer");
    if status == 422 {
        assert_eq!(app.rows_of(user).await, before, "a refused {raw} changed nothing");
    }
    (status, answer)
}

#[tokio::test]
async fn a_new_task_is_refused_with_every_problem_in_field_order() {
    let app = spawn_app().await;
    let user = new_user();
    let path = TestApp::tasks_path(&user);
    let long = "d".repeat(1001);
    let cases: Vec<(Value, Value)> = vec![
        (json!({}), answer(&[(body("title"), MISSING)])),
        (
            json!({"completed": "yes", "description": "x\u{0}", "title": 42}),
            answer(&[
                (body("title"), NOT_A_STRING),
                (body("description"), DESCRIPTION_CONTROL),
                (body("completed"), NOT_A_BOOLEAN),
            ]),
        ),
        (
            json!({"completed": null, "description": 5}),
            answer(&[
                (body("title"), MISSING),
                (body("description"), NOT_A_STRING),
                (body("completed"), NOT_A_BOOLEAN),
            ]),
        ),
        (
            json!({"title": "", "description": long}),
            answer(&[(body("title"), TOO_SHORT), (body("description"), TOO_LONG)]),
        ),
        (
            json!({"description": "x\u{7}"}),
            answer(&[
                (body("title"), MISSING),
                (body("description"), DESCRIPTION_CONTROL),
            ]),
        ),
        (
            json!({"title": "a\u{0}", "description": "b\u{1b}"}),
            answer(&[
                (body("title"), TITLE_CONTROL),
                (body("description"), DESCRIPTION_CONTROL),
            ]),
        ),
        (
            json!({"title": "   ", "completed": "no"}),
            answer(&[(body("title"), TOO_SHORT), (body("completed"), NOT_A_BOOLEAN)]),
        ),
        (
            json!({"title": "🦀".repeat(201)}),
            answer(&[(body("title"), TITLE_TOO_LONG)]),
        ),
        (
            json!({"title": "ok", "description": ["d"], "completed": 1}),
            answer(&[
                (body("description"), NOT_A_STRING),
                (body("completed"), NOT_A_BOOLEAN),
            ]),
        ),
    ];
    for (sent, expected) in cases {
        let (status, answer) = send(
            &app,
            &user,
            Method::POST,
            &path,
            Some("application/json"),
            &sent.to_string(),
        )
        .await;
        assert_eq!((status, &answer), (422, &expected), "{sent}");
    }
    for title in [
        json!(null),
        json!(["list"]),
        json!({"a": 1}),
        json!(1.5),
        json!(true),
        json!(-3),
    ] {
        let sent = json!({"title": title}).to_string();
        let (status, answer) = send(&app, &user, Method::POST, &path, None, &sent).await;
        assert_eq!(
            (status, answer),
            (422, self::answer(&[(body("title"), NOT_A_STRING)])),
            "{sent}"
        );
    }
    // A repeated key: the last one counts, as in any JSON object.
    let (status, answer) = send(
        &app,
        &user,
        Method::POST,
        &path,
        None,
        r#"{"title": "ok", "title": 1}"#,
    )
    .await;
    assert_eq!(
        (status, answer),
        (422, self::answer(&[(body("title"), NOT_A_STRING)]))
    );
    let (status, created) = send(
        &app,
        &user,
        Method::POST,
        &path,
        None,
        r#"{"title": 1, "title": "dup ok"}"#,
    )
    .await;
    assert_eq!((status, &created["title"]), (201, &json!("dup ok")));
}

#[tokio::test]
async fn the_whole_answer_of_a_body_with_several_problems_is_pinned_byte_for_byte() {
    let app = spawn_app().await;
    let user = new_user();
    let (status, answer) = send(
        &app,
        &user,
        Method::POST,
        &TestApp::tasks_path(&user),
        Some("application/json"),
        r#"{"completed": null, "description": 5}"#,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        answer,
        json!({
            "detail": [
                {"loc": ["body", "title"], "msg": "Field required", "type": "missing"},
                {"loc": ["body", "description"], "msg": "Input should be a valid string", "type": "string_type"},
                {"loc": ["body", "completed"], "msg": "Input should be a valid boolean", "type": "bool_type"},
            ],
            "message": "Validation failed: body.title: Field required; \
                        body.description: Input should be a valid string; \
                        body.completed: Input should be a valid boolean",
        })
    );
}

#[tokio::test]
async fn an_update_is_refused_with_every_problem_in_field_order() {
    let app = spawn_app().await;
    let user = new_user();
    let task = app
        .create_task(&user, json!({"title": "Stable", "description": "d"}))
        .await;
    let path = format!(
        "{}/{}",
        TestApp::tasks_path(&user),
        task["id"].as_str().expect("id")
    );
    let cases = [
        (
            json!({"completed": null, "description": 5, "title": null}),
            answer(&[
                (body("title"), NOT_A_STRING),
                (body("description"), NOT_A_STRING),
                (body("completed"), NOT_A_BOOLEAN),
            ]),
        ),
        (
            json!({"completed": "x", "description": "d".repeat(1001), "title": ""}),
            answer(&[
                (body("title"), TOO_SHORT),
                (body("description"), TOO_LONG),
                (body("completed"), NOT_A_BOOLEAN),
            ]),
        ),
        (
            json!({"description": "x\u{0}"}),
            answer(&[(body("description"), DESCRIPTION_CONTROL)]),
        ),
        (json!({"title": 7}), answer(&[(body("title"), NOT_A_STRING)])),
    ];
    for (sent, expected) in cases {
        let (status, answer) = send(&app, &user, Method::PUT, &path, None, &sent.to_string()).await;
        assert_eq!((status, &answer), (422, &expected), "{sent}");
    }
    // Present and null clears; absent leaves as it is; unknown and read-only fields are ignored.
    let (status, updated) = send(
        &app,
        &user,
        Method::PUT,
        &path,
        None,
        &json!({"description": null, "id": 1, "user_id": "someone", "created_at": 5, "colour": "red"})
            .to_string(),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (
            &updated["title"],
            &updated["description"],
            &updated["id"],
            &updated["user_id"]
        ),
        (&json!("Stable"), &Value::Null, &task["id"], &json!(user))
    );
}

#[tokio::test]
async fn bodies_that_are_not_json_objects_are_refused_as_a_whole() {
    let app = spawn_app().await;
    let user = new_user();
    let path = TestApp::tasks_path(&user);
    let not_an_object = (
        "model_attributes_type",
        "Input should be a valid dictionary or object to extract fields from",
    );
    let wrong_media = (
        "content_type",
        "Unsupported Content-Type: the body must be application/json",
    );
    let cases = [
        (
            Some("application/json"),
            "[\"title\"]",
            answer(&[(json!(["body"]), not_an_object)]),
        ),
        (
            Some("application/json"),
            "null",
            answer(&[(json!(["body"]), not_an_object)]),
        ),
        (None, "", answer(&[(json!(["body"]), MISSING)])),
        (
            Some("application/json"),
            "  \n ",
            answer(&[(json!(["body"]), MISSING)]),
        ),
        (
            Some("text/plain"),
            "{\"title\": \"t\"}",
            answer(&[(json!(["body"]), wrong_media)]),
        ),
        (
            Some("application/json"),
            "{\"title\": ",
            answer(&[(
                json!(["body", 10]),
                (
                    "json_invalid",
                    "JSON decode error: EOF while parsing a value at line 1 column 10",
                ),
            )]),
        ),
        (
            Some("application/json"),
            "{\"title\": \"x\",}",
            answer(&[(
                json!(["body", 15]),
                (
                    "json_invalid",
                    "JSON decode error: trailing comma at line 1 column 15",
                ),
            )]),
        ),
        (
            Some("application/merge-patch+json"),
            "{}",
            answer(&[(body("title"), MISSING)]),
        ),
    ];
    for (content_type, sent, expected) in cases {
        let (status, answer) = send(&app, &user, Method::POST, &path, content_type, sent).await;
        assert_eq!((status, &answer), (422, &expected), "{content_type:?} {sent}");
    }
}

async fn list(app: &TestApp, user: &str, query: &str) -> (u16, Value) {
    let response = app
        .as_user(
            user,
            Method::GET,
            &format!("{}?{query}", TestApp::tasks_path(user)),
        )
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

#[tokio::test]
async fn a_list_query_is_refused_with_every_problem_in_parameter_order() {
    let app = spawn_app().await;
    let user = new_user();
    let every_problem = answer(&[
        (query("status"), (STATUS.0.to_owned(), STATUS.1.to_owned())),
        (
            query("completed"),
            (COMPLETED.0.to_owned(), COMPLETED.1.to_owned()),
        ),
        (query("sort"), (SORT.0.to_owned(), SORT.1.to_owned())),
        (query("order"), (ORDER.0.to_owned(), ORDER.1.to_owned())),
        (query("limit"), (at_least(1).0.to_owned(), at_least(1).1)),
        (query("offset"), (at_least(0).0.to_owned(), at_least(0).1)),
        (
            query("skip"),
            (NOT_AN_INTEGER.0.to_owned(), NOT_AN_INTEGER.1.to_owned()),
        ),
        (
            query("search"),
            (SEARCH_CONTROL.0.to_owned(), SEARCH_CONTROL.1.to_owned()),
        ),
    ]);
    for sent in [
        "status=x&completed=y&sort=z&order=w&limit=0&offset=-1&skip=q&search=%01",
        "search=%01&skip=q&offset=-1&limit=0&order=w&sort=z&completed=y&status=x",
    ] {
        assert_eq!(
            list(&app, &user, sent).await,
            (422, every_problem.clone()),
            "{sent}"
        );
    }
}

#[tokio::test]
async fn each_list_parameter_is_refused_exactly_as_fastapi_would() {
    let app = spawn_app().await;
    let user = new_user();
    let max = i64::MAX;
    let cases: Vec<(String, &str, (&str, String))> = vec![
        ("status=".into(), "status", (STATUS.0, STATUS.1.into())),
        ("status=%FF".into(), "status", (STATUS.0, STATUS.1.into())),
        ("st%61tus=done".into(), "status", (STATUS.0, STATUS.1.into())),
        ("status".into(), "status", (STATUS.0, STATUS.1.into())),
        (
            "completed=TRUE".into(),
            "completed",
            (COMPLETED.0, COMPLETED.1.into()),
        ),
        ("sort=".into(), "sort", (SORT.0, SORT.1.into())),
        ("order=DESC".into(), "order", (ORDER.0, ORDER.1.into())),
        (
            "limit=".into(),
            "limit",
            (NOT_AN_INTEGER.0, NOT_AN_INTEGER.1.into()),
        ),
        (
            "limit=5.0".into(),
            "limit",
            (NOT_AN_INTEGER.0, NOT_AN_INTEGER.1.into()),
        ),
        (
            "limit=1e3".into(),
            "limit",
            (NOT_AN_INTEGER.0, NOT_AN_INTEGER.1.into()),
        ),
        (
            "limit=%FF".into(),
            "limit",
            (NOT_AN_INTEGER.0, NOT_AN_INTEGER.1.into()),
        ),
        (
            format!("limit=9{}", "9".repeat(40)),
            "limit",
            (NOT_AN_INTEGER.0, NOT_AN_INTEGER.1.into()),
        ),
        ("limit=-99999999999999999999".into(), "limit", at_least(1)),
        ("limit=1001".into(), "limit", at_most(1000)),
        ("offset=9223372036854775808".into(), "offset", at_most(max)),
        ("skip=9223372036854775808".into(), "skip", at_most(max)),
        ("skip=-5".into(), "skip", at_least(0)),
        ("offset=1&skip=-1".into(), "skip", at_least(0)),
        (
            "status=all&status=done".into(),
            "status",
            (STATUS.0, STATUS.1.into()),
        ),
        ("limit=5&limit=0".into(), "limit", at_least(1)),
        (
            "completed=false&status=bogus".into(),
            "status",
            (STATUS.0, STATUS.1.into()),
        ),
        (
            "search=%C2%85".into(),
            "search",
            (SEARCH_CONTROL.0, SEARCH_CONTROL.1.into()),
        ),
        (
            format!("search={}", "s".repeat(1001)),
            "search",
            (TOO_LONG.0, TOO_LONG.1.into()),
        ),
        (
            format!("search={}%01", "s".repeat(1001)),
            "search",
            (SEARCH_CONTROL.0, SEARCH_CONTROL.1.into()),
        ),
    ];
    for (sent, field, problem) in cases {
        assert_eq!(
            list(&app, &user, &sent).await,
            (422, answer(&[(query(field), problem)])),
            "{sent}"
        );
    }
    for accepted in [
        "limit=%205%20",
        "limit=+5",
        "offset=9223372036854775807",
        "status=done&status=all",
        "limit=0&limit=5",
        "search=ok%0Aline%09tab",
        "search=%FF",
        &format!("search={}", "s".repeat(1000)),
        "=5",
        "&&&",
    ] {
        let (status, answer) = list(&app, &user, accepted).await;
        assert_eq!(status, 200, "{accepted}: {answer}");
    }
}
