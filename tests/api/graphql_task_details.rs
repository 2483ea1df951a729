//! Task details over GraphQL: priority, due date, tags and repetition on create, update and
//! read; their validation; the filters, sorts and keyset pages over them; `User.tags`,
//! `TaskStats.overdue`; that a page's tags cost no statement of their own; that the tags on a
//! task row and its tag rows agree; and that no tag crosses users.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde_json::{Value, json};

use crate::graphql_helpers::{codes, counting_app, data, graphql, graphql_at, only_error};
use crate::helpers::{TestApp, new_user, spawn_app};

/// Every field of a task this file reads.
pub const FIELDS: &str = "id title description completed priority dueAt tags repeat createdAt updatedAt";

/// Creates a task through GraphQL (it must succeed) and returns it with every field.
pub async fn create_task(app: &TestApp, user: &str, input: Value) -> Value {
    data(
        app,
        user,
        &format!("mutation($input: CreateTaskInput!) {{ createTask(input: $input) {{ {FIELDS} }} }}"),
        json!({"input": input}),
    )
    .await["createTask"]
        .clone()
}

/// `updateTask` as `user`: the whole response (status and body).
pub async fn update_task(app: &TestApp, user: &str, id: &Value, input: Value) -> (u16, Value) {
    graphql(
        app,
        user,
        &format!("mutation($id: ID!, $input: UpdateTaskInput!) {{ updateTask(id: $id, input: $input) {{ {FIELDS} }} }}"),
        json!({"id": id, "input": input}),
    )
    .await
}

/// One task by id, every field.
pub async fn read_task(app: &TestApp, user: &str, id: &Value) -> Value {
    data(
        app,
        user,
        &format!("query($id: ID!) {{ task(id: $id) {{ {FIELDS} }} }}"),
        json!({"id": id}),
    )
    .await["task"]
        .clone()
}

/// Every task of `user` matching `filter`, in `order` (one page of 100).
pub async fn list(app: &TestApp, user: &str, filter: Value, order: Value) -> Vec<Value> {
    let body = data(
        app,
        user,
        &format!(
            "query($filter: TaskFilter, $order: TaskOrder) {{ tasks(filter: $filter, orderBy: $order, first: 100) {{ nodes {{ {FIELDS} }} }} }}"
        ),
        json!({"filter": filter, "order": order}),
    )
    .await;
    body["tasks"]["nodes"].as_array().expect("nodes").clone()
}

fn titles(tasks: &[Value]) -> Vec<String> {
    tasks
        .iter()
        .map(|t| t["title"].as_str().expect("title").to_owned())
        .collect()
}

/// The one error of a refused request: `BAD_USER_INPUT` naming `field`.
fn assert_bad_input(body: &Value, field: &str) {
    let error = only_error(body);
    assert_eq!(codes(body), ["BAD_USER_INPUT"], "{body}");
    assert_eq!(error["extensions"]["field"], field, "{body}");
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

async fn total(app: &TestApp, user: &str) -> i64 {
    data(app, user, "{ taskStats { total } }", json!({})).await["taskStats"]["total"]
        .as_i64()
        .expect("total")
}

#[tokio::test]
async fn a_client_that_sends_no_details_gets_the_defaults() {
    let app = spawn_app().await;
    let user = new_user();
    let task = create_task(&app, &user, json!({"title": "plain"})).await;
    assert_eq!(task["priority"], "MEDIUM");
    assert_eq!(task["dueAt"], Value::Null);
    assert_eq!(task["tags"], json!([]));
    assert_eq!(task["repeat"], "NONE");
    // An update of old fields only leaves the details alone.
    let (_, body) = update_task(&app, &user, &task["id"], json!({"title": "renamed"})).await;
    let updated = &body["data"]["updateTask"];
    assert_eq!(updated["title"], "renamed");
    assert_eq!(updated["priority"], "MEDIUM");
    assert_eq!(updated["tags"], json!([]));
}

#[tokio::test]
async fn every_detail_is_created_read_and_updated() {
    let app = spawn_app().await;
    let user = new_user();
    let task = create_task(
        &app,
        &user,
        json!({
            "title": "detailed",
            "priority": "HIGH",
            "dueAt": "2027-03-01T10:30:00.123456789+02:00",
            "tags": [" Work ", "home", "WORK", "Été", "été"],
            "repeat": "WEEKLY",
        }),
    )
    .await;
    assert_eq!(task["priority"], "HIGH");
    // Any offset, stored and returned in UTC, cut to microseconds.
    assert_eq!(task["dueAt"], "2027-03-01T08:30:00.123456Z");
    // Trimmed; `WORK` collapses into the first spelling `Work`; `Été` and `été` differ beyond
    // ASCII, so both stay; sorted by lower-cased (ASCII) text, i.e. byte order of the keys.
    assert_eq!(task["tags"], json!(["home", "Work", "Été", "été"]));
    assert_eq!(task["repeat"], "WEEKLY");
    let read = read_task(&app, &user, &task["id"]).await;
    assert_eq!(read, task);

    let (status, body) = update_task(
        &app,
        &user,
        &task["id"],
        json!({"priority": "LOW", "tags": ["b", "A"], "repeat": "NONE", "dueAt": null}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let updated = &body["data"]["updateTask"];
    assert_eq!(updated["priority"], "LOW");
    assert_eq!(updated["tags"], json!(["A", "b"]), "tags replace the whole set");
    assert_eq!(updated["repeat"], "NONE");
    assert_eq!(updated["dueAt"], Value::Null, "dueAt: null clears it");
    assert_eq!(read_task(&app, &user, &task["id"]).await, *updated);

    // `tags: []` removes them all; a due date can be set again.
    let (_, body) = update_task(
        &app,
        &user,
        &task["id"],
        json!({"tags": [], "dueAt": "2027-01-01T00:00:00-05:00"}),
    )
    .await;
    assert_eq!(body["data"]["updateTask"]["tags"], json!([]));
    assert_eq!(body["data"]["updateTask"]["dueAt"], "2027-01-01T05:00:00.000000Z");
}

#[tokio::test]
async fn tags_outside_the_limits_are_refused_and_nothing_changes() {
    let app = spawn_app().await;
    let user = new_user();
    let create = "mutation($input: CreateTaskInput!) { createTask(input: $input) { id } }";
    let too_many: Vec<String> = (0..21).map(|i| format!("tag{i}")).collect();
    for (tags, field) in [
        (json!(["ok", "x".repeat(51)]), "tags.1"),
        (json!(too_many), "tags"),
        (json!(["bell\u{7}"]), "tags.0"),
        (json!(["   "]), "tags.0"),
        (json!([""]), "tags.0"),
    ] {
        let (status, body) = graphql(
            &app,
            &user,
            create,
            json!({"input": {"title": "t", "tags": tags}}),
        )
        .await;
        assert_eq!(status, 200);
        assert_bad_input(&body, field);
    }
    assert_eq!(total(&app, &user).await, 0, "no refused task was created");

    // 50 characters and 20 distinct tags (duplicates by case do not count) are accepted.
    let mut twenty: Vec<String> = (0..20).map(|i| format!("tag{i:02}")).collect();
    twenty.push("TAG00".to_owned());
    twenty.push("y".repeat(50));
    twenty.remove(19);
    let task = create_task(&app, &user, json!({"title": "t", "tags": twenty})).await;
    assert_eq!(task["tags"].as_array().map(Vec::len), Some(20));

    // A refused update leaves the tags as they were.
    let (_, body) = update_task(&app, &user, &task["id"], json!({"tags": ["x".repeat(51)]})).await;
    assert_bad_input(&body, "tags.0");
    assert_eq!(read_task(&app, &user, &task["id"]).await["tags"], task["tags"]);
}

#[tokio::test]
async fn null_priority_repeat_or_tags_in_an_update_is_refused() {
    let app = spawn_app().await;
    let user = new_user();
    let task = create_task(&app, &user, json!({"title": "t", "tags": ["keep"]})).await;
    for field in ["priority", "repeat", "tags"] {
        let (status, body) = update_task(&app, &user, &task["id"], json!({ field: null })).await;
        assert_eq!(status, 200);
        assert_bad_input(&body, field);
    }
    assert_eq!(read_task(&app, &user, &task["id"]).await, task);
}

#[tokio::test]
async fn a_repeating_task_needs_a_due_date_on_create_and_on_update() {
    let app = spawn_app().await;
    let user = new_user();
    let (_, body) = graphql(
        &app,
        &user,
        "mutation { createTask(input: {title: \"t\", repeat: DAILY}) { id } }",
        json!({}),
    )
    .await;
    assert_bad_input(&body, "repeat");
    assert_eq!(total(&app, &user).await, 0);

    // Clearing the due date of a repeating task is refused, and changes nothing (not even the
    // title sent with it).
    let dated = create_task(
        &app,
        &user,
        json!({"title": "dated", "repeat": "DAILY", "dueAt": "2027-01-01T09:00:00Z"}),
    )
    .await;
    let (_, body) = update_task(
        &app,
        &user,
        &dated["id"],
        json!({"dueAt": null, "title": "changed"}),
    )
    .await;
    assert_bad_input(&body, "repeat");
    assert_eq!(read_task(&app, &user, &dated["id"]).await, dated);

    // Making an undated task repeat is refused; with a due date in the same update it is not.
    let undated = create_task(&app, &user, json!({"title": "undated", "tags": ["t"]})).await;
    let (_, body) = update_task(
        &app,
        &user,
        &undated["id"],
        json!({"repeat": "WEEKLY", "tags": []}),
    )
    .await;
    assert_bad_input(&body, "repeat");
    assert_eq!(read_task(&app, &user, &undated["id"]).await, undated);
    let (_, body) = update_task(
        &app,
        &user,
        &undated["id"],
        json!({"repeat": "WEEKLY", "dueAt": "2027-02-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(body["data"]["updateTask"]["repeat"], "WEEKLY", "{body}");
}

/// Four tasks for the filter tests; returns the instant `a` is due.
async fn seed_filter_tasks(app: &TestApp, user: &str) -> DateTime<Utc> {
    let now = Utc::now().trunc_subsecs(6);
    let past = now - Duration::days(2);
    let future = now + Duration::days(2);
    create_task(
        app,
        user,
        json!({"title": "a", "priority": "HIGH", "tags": ["work", "urgent"], "dueAt": rfc3339(past)}),
    )
    .await;
    create_task(
        app,
        user,
        json!({"title": "b", "priority": "LOW", "tags": ["Work"], "dueAt": rfc3339(future)}),
    )
    .await;
    create_task(app, user, json!({"title": "c", "tags": ["urgent"]})).await;
    create_task(
        app,
        user,
        json!({"title": "d", "priority": "HIGH", "tags": ["work", "urgent"], "completed": true,
               "dueAt": rfc3339(past - Duration::hours(1))}),
    )
    .await;
    past
}

#[tokio::test]
async fn filters_select_by_priority_every_tag_due_dates_and_overdue() {
    let app = spawn_app().await;
    let user = new_user();
    let a_due = seed_filter_tasks(&app, &user).await;
    let asc = json!({"field": "TITLE", "direction": "ASC"});
    let cases = [
        (json!({"priority": ["HIGH", "LOW"]}), vec!["a", "b", "d"]),
        (json!({"priority": []}), vec!["a", "b", "c", "d"]),
        (json!({"tags": ["WORK"]}), vec!["a", "b", "d"]),
        (json!({"tags": ["work", " Urgent "]}), vec!["a", "d"]),
        (json!({"tags": ["work", "missing"]}), vec![]),
        // Exclusive bounds; tasks without a due date never match.
        (json!({"dueBefore": rfc3339(a_due)}), vec!["d"]),
        (json!({"dueAfter": rfc3339(a_due)}), vec!["b"]),
        (
            json!({"dueAfter": rfc3339(a_due - Duration::microseconds(1))}),
            vec!["a", "b"],
        ),
        (json!({"overdue": true}), vec!["a"]),
        (json!({"overdue": false}), vec!["b", "c", "d"]),
        (json!({"overdue": true, "status": "COMPLETED"}), vec![]),
        (json!({"tags": ["urgent"], "priority": ["MEDIUM"]}), vec!["c"]),
    ];
    for (filter, expected) in cases {
        let found = list(&app, &user, filter.clone(), asc.clone()).await;
        assert_eq!(titles(&found), expected, "filter {filter}");
        // totalCount agrees with the page.
        let body = data(
            &app,
            &user,
            "query($filter: TaskFilter) { tasks(filter: $filter) { totalCount } }",
            json!({"filter": filter}),
        )
        .await;
        assert_eq!(body["tasks"]["totalCount"], expected.len(), "filter {filter}");
    }
    let (_, body) = graphql(
        &app,
        &user,
        "{ tasks(filter: {tags: [\"\"]}) { totalCount } }",
        json!({}),
    )
    .await;
    assert_bad_input(&body, "tags.0");
}

#[tokio::test]
async fn user_tags_count_tasks_per_tag_and_stats_count_overdue_tasks() {
    let app = spawn_app().await;
    let user = new_user();
    seed_filter_tasks(&app, &user).await;
    let body = data(
        &app,
        &user,
        "{ me { tags { tag count } } taskStats { total completed pending overdue } }",
        json!({}),
    )
    .await;
    // `work` is spelled `Work` by one task: the smallest spelling in byte order is shown.
    assert_eq!(
        body["me"]["tags"],
        json!([{"tag": "urgent", "count": 3}, {"tag": "Work", "count": 3}])
    );
    assert_eq!(
        body["taskStats"],
        json!({"total": 4, "completed": 1, "pending": 3, "overdue": 1})
    );
    let fresh = new_user();
    let body = data(
        &app,
        &fresh,
        "{ me { tags { tag } taskStats { overdue } } }",
        json!({}),
    )
    .await;
    assert_eq!(body["me"]["tags"], json!([]));
    assert_eq!(body["me"]["taskStats"]["overdue"], 0);
}

#[tokio::test]
async fn another_users_tags_never_show_nor_match() {
    let app = spawn_app().await;
    let (alice, bob) = (new_user(), new_user());
    create_task(&app, &alice, json!({"title": "mine", "tags": ["shared"]})).await;
    let theirs = create_task(
        &app,
        &bob,
        json!({"title": "theirs", "tags": ["secret", "shared"]}),
    )
    .await;
    let body = data(&app, &alice, "{ me { tags { tag count } } }", json!({})).await;
    assert_eq!(body["me"]["tags"], json!([{"tag": "shared", "count": 1}]));
    assert!(
        list(&app, &alice, json!({"tags": ["secret"]}), json!(null))
            .await
            .is_empty()
    );
    assert_eq!(
        titles(&list(&app, &alice, json!({"tags": ["shared"]}), json!(null)).await),
        ["mine"]
    );
    // Bob's task is not Alice's to retag.
    let (_, body) = update_task(&app, &alice, &theirs["id"], json!({"tags": []})).await;
    assert_eq!(codes(&body), ["NOT_FOUND"], "{body}");
    assert_eq!(
        read_task(&app, &bob, &theirs["id"]).await["tags"],
        json!(["secret", "shared"])
    );
}

/// Tasks with due dates that tie in threes, undated ones among them, and priorities that tie:
/// created through the API; returns (title, due, priority, id) of each.
async fn seed_sortable(app: &TestApp, user: &str) -> Vec<(String, Option<String>, i64, String)> {
    let base = Utc::now().trunc_subsecs(6) + Duration::days(1);
    let priorities = ["LOW", "MEDIUM", "HIGH"];
    let mut rows = Vec::new();
    for i in 0..17i64 {
        let due = (i % 4 != 1).then(|| rfc3339(base + Duration::hours(i / 3)));
        let priority = (i * 7) % 3;
        let task = create_task(
            app,
            user,
            json!({"title": format!("t{i:02}"), "dueAt": due, "priority": priorities[priority as usize]}),
        )
        .await;
        rows.push((
            task["title"].as_str().expect("title").to_owned(),
            task["dueAt"].as_str().map(str::to_owned),
            priority,
            task["id"].as_str().expect("id").to_owned(),
        ));
    }
    rows
}

/// The titles in the order the API must give: due dates (nulls last in both directions) or
/// priorities, ties by id in the same direction.
fn expected_order(rows: &[(String, Option<String>, i64, String)], field: &str, desc: bool) -> Vec<String> {
    let mut rows = rows.to_vec();
    rows.sort_by(|a, b| {
        let by_key = match field {
            // Same-format UTC strings compare like the instants.
            "DUE_AT" => match (&a.1, &b.1) {
                (Some(x), Some(y)) => {
                    let order = x.cmp(y);
                    if desc { order.reverse() } else { order }
                }
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            },
            _ => {
                let order = a.2.cmp(&b.2);
                if desc { order.reverse() } else { order }
            }
        };
        let by_id = if desc { b.3.cmp(&a.3) } else { a.3.cmp(&b.3) };
        by_key.then(by_id)
    });
    rows.into_iter().map(|row| row.0).collect()
}

#[tokio::test]
async fn due_date_and_priority_sorts_put_undated_tasks_last_and_break_ties_by_id() {
    let app = spawn_app().await;
    let user = new_user();
    let rows = seed_sortable(&app, &user).await;
    for field in ["DUE_AT", "PRIORITY"] {
        for direction in ["ASC", "DESC"] {
            let found = list(
                &app,
                &user,
                json!(null),
                json!({"field": field, "direction": direction}),
            )
            .await;
            assert_eq!(
                titles(&found),
                expected_order(&rows, field, direction == "DESC"),
                "{field} {direction}"
            );
        }
    }
    let high_first = list(
        &app,
        &user,
        json!(null),
        json!({"field": "PRIORITY", "direction": "DESC"}),
    )
    .await;
    assert_eq!(high_first[0]["priority"], "HIGH");
    let by_due_desc = list(
        &app,
        &user,
        json!(null),
        json!({"field": "DUE_AT", "direction": "DESC"}),
    )
    .await;
    assert_eq!(by_due_desc.last().map(|t| &t["dueAt"]), Some(&Value::Null));
}

const PAGE: &str = "query($order: TaskOrder, $first: Int, $after: String, $last: Int, $before: String) {
  tasks(orderBy: $order, first: $first, after: $after, last: $last, before: $before) {
    nodes { title }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}";

#[tokio::test]
async fn keyset_pages_walk_due_date_and_priority_lists_both_ways_across_undated_tasks() {
    let app = spawn_app().await;
    let user = new_user();
    let rows = seed_sortable(&app, &user).await;
    for field in ["DUE_AT", "PRIORITY"] {
        for direction in ["ASC", "DESC"] {
            let expected = expected_order(&rows, field, direction == "DESC");
            let order = json!({"field": field, "direction": direction});
            for size in [1usize, 2, 3, 5] {
                // Forwards: first/after.
                let mut seen = Vec::new();
                let mut after = Value::Null;
                loop {
                    let body = data(
                        &app,
                        &user,
                        PAGE,
                        json!({"order": order, "first": size, "after": after}),
                    )
                    .await;
                    let page = &body["tasks"];
                    let got = titles(page["nodes"].as_array().expect("nodes"));
                    assert_eq!(
                        page["pageInfo"]["hasPreviousPage"],
                        !seen.is_empty(),
                        "{field} {direction} {size}"
                    );
                    seen.extend(got);
                    let more = page["pageInfo"]["hasNextPage"] == true;
                    assert_eq!(more, seen.len() < expected.len(), "{field} {direction} {size}");
                    if !more {
                        break;
                    }
                    after = page["pageInfo"]["endCursor"].clone();
                }
                assert_eq!(seen, expected, "{field} {direction} first {size}");

                // Backwards: last/before.
                let mut seen_backwards: Vec<String> = Vec::new();
                let mut before = Value::Null;
                loop {
                    let body = data(
                        &app,
                        &user,
                        PAGE,
                        json!({"order": order, "last": size, "before": before}),
                    )
                    .await;
                    let page = &body["tasks"];
                    let got = titles(page["nodes"].as_array().expect("nodes"));
                    assert_eq!(
                        page["pageInfo"]["hasNextPage"],
                        !seen_backwards.is_empty(),
                        "{field} {direction} {size}"
                    );
                    seen_backwards.splice(0..0, got);
                    let more = page["pageInfo"]["hasPreviousPage"] == true;
                    assert_eq!(
                        more,
                        seen_backwards.len() < expected.len(),
                        "{field} {direction} {size}"
                    );
                    if !more {
                        break;
                    }
                    before = page["pageInfo"]["startCursor"].clone();
                }
                assert_eq!(seen_backwards, expected, "{field} {direction} last {size}");
            }
        }
    }
}

#[tokio::test]
async fn a_page_between_two_cursors_across_the_undated_boundary_holds_exactly_the_rows_between() {
    let app = spawn_app().await;
    let user = new_user();
    let rows = seed_sortable(&app, &user).await;
    for direction in ["ASC", "DESC"] {
        let expected = expected_order(&rows, "DUE_AT", direction == "DESC");
        let order = json!({"field": "DUE_AT", "direction": direction});
        let body = data(&app, &user, PAGE, json!({"order": order, "first": 100})).await;
        let cursors: Vec<Value> = {
            let body = data(
                &app,
                &user,
                "query($order: TaskOrder) { tasks(orderBy: $order, first: 100) { edges { cursor } } }",
                json!({"order": order}),
            )
            .await;
            body["tasks"]["edges"]
                .as_array()
                .expect("edges")
                .iter()
                .map(|e| e["cursor"].clone())
                .collect()
        };
        assert_eq!(
            titles(body["tasks"]["nodes"].as_array().expect("nodes")),
            expected
        );
        // From a dated task to an undated one, and between two undated ones.
        let last_dated = rows.iter().filter(|r| r.1.is_some()).count() - 1;
        for (from, to) in [
            (last_dated - 2, last_dated + 2),
            (last_dated + 1, expected.len() - 1),
        ] {
            for take in ["first", "last"] {
                let body = data(
                    &app,
                    &user,
                    PAGE,
                    json!({"order": order, take: 100, "after": cursors[from], "before": cursors[to]}),
                )
                .await;
                let page = &body["tasks"];
                assert_eq!(
                    titles(page["nodes"].as_array().expect("nodes")),
                    expected[from + 1..to],
                    "{direction} {take} between {from} and {to}"
                );
                // Rows lie beyond both cursors.
                let outside = if take == "first" {
                    "hasPreviousPage"
                } else {
                    "hasNextPage"
                };
                assert_eq!(page["pageInfo"][outside], true, "{direction} {take}");
            }
        }
    }
}

#[tokio::test]
async fn the_tags_of_a_page_cost_the_same_statements_whatever_its_size() {
    let app = spawn_app().await;
    let user = new_user();
    for i in 0..20 {
        create_task(
            &app,
            &user,
            json!({"title": format!("t{i}"), "tags": [format!("tag{i}"), "all"]}),
        )
        .await;
    }
    let (addr, statements) = counting_app(&app).await;
    graphql_at(&app, addr, &user, "{ me { id } }").await; // the second app's user cache
    let mut cost = Vec::new();
    for size in [2, 20] {
        let before = statements.get();
        let body = graphql_at(
            &app,
            addr,
            &user,
            &format!("{{ tasks(first: {size}) {{ nodes {{ title tags }} }} }}"),
        )
        .await;
        let nodes = body["data"]["tasks"]["nodes"].as_array().expect("nodes");
        assert_eq!(nodes.len(), size);
        for node in nodes {
            let n = node["title"].as_str().expect("title").trim_start_matches('t');
            assert_eq!(node["tags"], json!(["all", format!("tag{n}")]));
        }
        cost.push(statements.get() - before);
    }
    // One for the page: each task's tags are on its row.
    assert_eq!(cost, [1, 1]);
}

/// The tags every read answers with (the task row's `tags`) and the rows the tag filter and
/// `User.tags` use (`task_tags`) are written together: after each way of writing tags, over both
/// front ends, they hold the same set for every task.
#[tokio::test]
async fn the_tags_on_each_task_row_and_its_tag_rows_agree_after_every_write() {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    use todo_api::testing::{Owner, UserId, task, task_tag};

    let app = spawn_app().await;
    let user = new_user();
    let due = rfc3339(Utc::now() - Duration::days(3));
    let tagged = create_task(&app, &user, json!({"title": "tagged", "tags": ["Work", "home"]})).await;
    create_task(&app, &user, json!({"title": "untagged"})).await;
    let retagged = create_task(&app, &user, json!({"title": "retagged", "tags": ["old"]})).await;
    let (status, _) = update_task(&app, &user, &retagged["id"], json!({"tags": ["new", "NEWER"]})).await;
    assert_eq!(status, 200);
    let cleared = app
        .create_task(&user, json!({"title": "cleared", "tags": ["gone"]}))
        .await;
    let response = app
        .as_user(
            &user,
            reqwest::Method::PUT,
            &format!(
                "{}/{}",
                TestApp::tasks_path(&user),
                cleared["id"].as_str().expect("id")
            ),
        )
        .json(&json!({"tags": []}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    // Completing a repeating task copies its tags to the next occurrence: by GraphQL and REST.
    for title in ["weekly by graphql", "weekly by rest"] {
        let repeating = create_task(
            &app,
            &user,
            json!({"title": title, "repeat": "WEEKLY", "dueAt": due, "tags": ["chores"]}),
        )
        .await;
        if title.ends_with("graphql") {
            data(
                &app,
                &user,
                "mutation($id: ID!) { toggleTask(id: $id) { id } }",
                json!({"id": repeating["id"]}),
            )
            .await;
        } else {
            let response = app
                .as_user(
                    &user,
                    reqwest::Method::PATCH,
                    &format!(
                        "{}/{}/complete",
                        TestApp::tasks_path(&user),
                        repeating["id"].as_str().expect("id")
                    ),
                )
                .send()
                .await
                .expect("request");
            assert_eq!(response.status(), 200);
        }
    }
    assert_eq!(tagged["tags"], json!(["home", "Work"]));

    let owner = Owner::verified(UserId::parse(&user).expect("user id"));
    let rows = task::Entity::find_for_owner(&owner)
        .all(&app.db)
        .await
        .expect("tasks");
    assert_eq!(rows.len(), 8, "six tasks and two next occurrences");
    let mut with_chores = 0;
    for row in rows {
        let on_the_row = row.tag_set().expect("readable tags").texts();
        let tag_rows: Vec<String> = task_tag::Entity::find_for_owner(&owner)
            .filter(task_tag::Column::TaskId.eq(row.id))
            .order_by_asc(task_tag::Column::TagKey)
            .all(&app.db)
            .await
            .expect("tag rows")
            .into_iter()
            .map(|tag| tag.tag)
            .collect();
        assert_eq!(on_the_row, tag_rows, "{}", row.title);
        let expected: &[&str] = match row.title.as_str() {
            "tagged" => &["home", "Work"],
            "retagged" => &["new", "NEWER"],
            "untagged" | "cleared" => &[],
            _ => &["chores"],
        };
        assert_eq!(on_the_row, expected, "{}", row.title);
        with_chores += usize::from(expected == ["chores"]);
    }
    assert_eq!(with_chores, 4);
}
