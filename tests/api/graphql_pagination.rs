//! Keyset pagination of `tasks`: every ordering, forward and backward, with ties on every sort
//! key; page-size rules; cursors that belong to another list or another user.

use std::cmp::Ordering;

use serde_json::{Value, json};
use todo_api::testing::task;

use crate::graphql_helpers::{create, data, graphql, only_error, seed, tied_seeds};
use crate::helpers::{TestApp, new_user, spawn_app};

const PAGE: &str = "query($first: Int, $after: String, $last: Int, $before: String, $order: TaskOrder, $filter: TaskFilter) {
  tasks(first: $first, after: $after, last: $last, before: $before, orderBy: $order, filter: $filter) {
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}";

struct Page {
    ids: Vec<String>,
    cursors: Vec<String>,
    info: Value,
}

async fn page(app: &TestApp, user: &str, variables: Value) -> Page {
    let data = data(app, user, PAGE, variables).await;
    let edges = data["tasks"]["edges"].as_array().expect("edges").clone();
    Page {
        ids: edges
            .iter()
            .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
            .collect(),
        cursors: edges
            .iter()
            .map(|e| e["cursor"].as_str().expect("cursor").to_owned())
            .collect(),
        info: data["tasks"]["pageInfo"].clone(),
    }
}

/// The ids of `rows` in the order the API must return them: by the sort key, ties by id, both
/// in `direction`. (Titles compare as bytes, as both databases are set up to.)
fn expected(rows: &[task::Model], field: &str, direction: &str) -> Vec<String> {
    let mut rows: Vec<&task::Model> = rows.iter().collect();
    rows.sort_by(|a, b| {
        let by_key = match field {
            "CREATED_AT" => a.created_at.cmp(&b.created_at),
            "UPDATED_AT" => a.updated_at.cmp(&b.updated_at),
            _ => a.title.as_bytes().cmp(b.title.as_bytes()),
        };
        let order = by_key.then(a.id.cmp(&b.id));
        if direction == "DESC" {
            order.reverse()
        } else {
            order
        }
    });
    rows.iter().map(|r| r.id.to_string()).collect()
}

#[tokio::test]
async fn every_ordering_pages_forward_and_backward_through_250_tasks_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let user = new_user();
    let rows = seed(&app, &user, tied_seeds(250)).await;
    // Someone else's tasks in the same table never show up.
    seed(&app, &new_user(), tied_seeds(30)).await;
    for field in ["CREATED_AT", "UPDATED_AT", "TITLE"] {
        for direction in ["ASC", "DESC"] {
            let order = json!({"field": field, "direction": direction});
            let want = expected(&rows, field, direction);
            let context = format!("{field} {direction}");

            // Forward, 37 at a time (the last page is partial).
            let mut seen = Vec::new();
            let mut after = Value::Null;
            let mut pages = 0;
            loop {
                let page = page(&app, &user, json!({"first": 37, "after": after, "order": order})).await;
                pages += 1;
                assert_eq!(page.info["hasPreviousPage"], pages > 1, "{context} page {pages}");
                assert_eq!(
                    page.info["startCursor"].as_str(),
                    page.cursors.first().map(String::as_str)
                );
                assert_eq!(
                    page.info["endCursor"].as_str(),
                    page.cursors.last().map(String::as_str)
                );
                seen.extend(page.ids);
                if page.info["hasNextPage"] == false {
                    break;
                }
                after = page.info["endCursor"].clone();
                assert!(pages < 20, "{context}: paging does not end");
            }
            assert_eq!(pages, 7, "{context}");
            assert_eq!(seen, want, "{context}: forward");

            // Backward from the end, 23 at a time.
            let mut seen_backward: Vec<Vec<String>> = Vec::new();
            let mut before = Value::Null;
            loop {
                let page = page(&app, &user, json!({"last": 23, "before": before, "order": order})).await;
                assert_eq!(
                    page.info["hasNextPage"],
                    !seen_backward.is_empty(),
                    "{context} backward page {}",
                    seen_backward.len() + 1
                );
                let more = page.info["hasPreviousPage"] == true;
                before = page.info["startCursor"].clone();
                seen_backward.push(page.ids);
                if !more {
                    break;
                }
                assert!(seen_backward.len() < 20, "{context}: paging does not end");
            }
            assert_eq!(seen_backward.len(), 11, "{context}");
            let backward: Vec<String> = seen_backward.into_iter().rev().flatten().collect();
            assert_eq!(backward, want, "{context}: backward");
        }
    }
}

#[tokio::test]
async fn a_range_between_two_cursors_is_exactly_the_rows_between_them() {
    let app = spawn_app().await;
    let user = new_user();
    let rows = seed(&app, &user, tied_seeds(60)).await;
    let order = json!({"field": "TITLE", "direction": "ASC"});
    let want = expected(&rows, "TITLE", "ASC");
    let all = page(&app, &user, json!({"first": 100, "order": order})).await;
    assert_eq!(all.ids, want);
    let (after, before) = (&all.cursors[9], &all.cursors[30]);
    let forward = page(
        &app,
        &user,
        json!({"first": 100, "after": after, "before": before, "order": order}),
    )
    .await;
    assert_eq!(forward.ids, want[10..30]);
    assert_eq!(forward.info["hasNextPage"], false, "nothing left before `before`");
    assert_eq!(forward.info["hasPreviousPage"], true);
    let backward = page(
        &app,
        &user,
        json!({"last": 5, "after": after, "before": before, "order": order}),
    )
    .await;
    assert_eq!(backward.ids, want[25..30]);
    assert_eq!(backward.info["hasPreviousPage"], true);
    assert_eq!(backward.info["hasNextPage"], true);
}

#[tokio::test]
async fn pages_stay_correct_while_tasks_are_added_and_removed() {
    let app = spawn_app().await;
    let user = new_user();
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(create(&app, &user, json!({"title": format!("t{i}")})).await["id"].clone());
    }
    // Newest first: t5 t4 | t3 t2 | t1 t0
    let first = page(&app, &user, json!({"first": 2})).await;
    assert_eq!(
        first.ids,
        [ids[5].as_str().expect("id"), ids[4].as_str().expect("id")]
    );
    // The task the cursor points at is deleted and a newer one is added: the next page still
    // starts right after the cursor's position.
    let delete = "mutation($id: ID!) { deleteTask(id: $id) }";
    data(&app, &user, delete, json!({"id": ids[4]})).await;
    create(&app, &user, json!({"title": "newest"})).await;
    let second = page(&app, &user, json!({"first": 2, "after": first.info["endCursor"]})).await;
    assert_eq!(
        second.ids,
        [ids[3].as_str().expect("id"), ids[2].as_str().expect("id")]
    );
    assert_eq!(
        second.info["hasPreviousPage"], true,
        "t5 and the new task come before"
    );
}

#[tokio::test]
async fn page_sizes_default_to_20_and_are_bounded_never_clamped() {
    let app = spawn_app().await;
    let user = new_user();
    seed(&app, &user, tied_seeds(120)).await;
    let default = page(&app, &user, json!({})).await;
    assert_eq!(default.ids.len(), 20);
    assert_eq!(default.info["hasNextPage"], true);
    assert_eq!(page(&app, &user, json!({"first": 100})).await.ids.len(), 100);
    assert_eq!(page(&app, &user, json!({"last": 100})).await.ids.len(), 100);

    let empty = page(&app, &user, json!({"first": 0})).await;
    assert!(empty.ids.is_empty());
    assert_eq!(empty.info["hasNextPage"], true);
    assert_eq!(empty.info["startCursor"], Value::Null);
    assert_eq!(empty.info["endCursor"], Value::Null);
    assert!(page(&app, &user, json!({"last": 0})).await.ids.is_empty());

    for (variables, field) in [
        (json!({"first": -1}), "first"),
        (json!({"first": 101}), "first"),
        (json!({"last": -5}), "last"),
        (json!({"last": 1000}), "last"),
        (json!({"first": 5, "last": 5}), "last"),
    ] {
        let (status, body) = graphql(&app, &user, PAGE, variables.clone()).await;
        assert_eq!(status, 200);
        let error = only_error(&body);
        assert_eq!(
            error["extensions"]["code"], "BAD_USER_INPUT",
            "{variables}: {body}"
        );
        assert_eq!(error["extensions"]["field"], field, "{variables}: {body}");
        assert_eq!(body["data"], Value::Null);
    }
}

#[tokio::test]
async fn a_cursor_of_another_ordering_or_a_malformed_one_is_bad_user_input() {
    let app = spawn_app().await;
    let user = new_user();
    seed(&app, &user, tied_seeds(10)).await;
    let created_desc = page(&app, &user, json!({"first": 3})).await;
    let cursor = created_desc.info["endCursor"].clone();
    let cases = [
        (
            json!({"first": 3, "after": cursor, "order": {"field": "TITLE"}}),
            "after",
        ),
        (
            json!({"first": 3, "after": cursor, "order": {"direction": "ASC"}}),
            "after",
        ),
        (
            json!({"last": 3, "before": cursor, "order": {"field": "UPDATED_AT"}}),
            "before",
        ),
        (json!({"first": 3, "after": "garbage"}), "after"),
        (json!({"last": 3, "before": "eyJ2IjoxfQ"}), "before"),
    ];
    for (variables, field) in cases {
        let (_, body) = graphql(&app, &user, PAGE, variables.clone()).await;
        let error = only_error(&body);
        assert_eq!(
            error["extensions"]["code"], "BAD_USER_INPUT",
            "{variables}: {body}"
        );
        assert_eq!(error["extensions"]["field"], field, "{variables}: {body}");
    }
    // The same cursor with its own ordering works.
    let next = page(&app, &user, json!({"first": 3, "after": cursor})).await;
    assert_eq!(next.ids.len(), 3);
}

#[tokio::test]
async fn another_users_cursor_only_ever_pages_the_callers_own_tasks() {
    let app = spawn_app().await;
    let (alice, bob) = (new_user(), new_user());
    let alice_rows = seed(&app, &alice, tied_seeds(40)).await;
    let bob_rows = seed(&app, &bob, tied_seeds(40)).await;
    let bob_ids: Vec<String> = bob_rows.iter().map(|r| r.id.to_string()).collect();
    for field in ["CREATED_AT", "UPDATED_AT", "TITLE"] {
        let order = json!({"field": field, "direction": "ASC"});
        let bobs_page = page(&app, &bob, json!({"first": 15, "order": order})).await;
        let bobs_cursor = bobs_page.info["endCursor"].as_str().expect("cursor").to_owned();
        // Alice gets her own tasks that sort after Bob's position, and nothing of Bob's.
        let position = bob_rows
            .iter()
            .find(|r| r.id.to_string() == bobs_page.ids[14])
            .expect("bob's row");
        let want: Vec<String> = expected(&alice_rows, field, "ASC")
            .into_iter()
            .filter(|id| {
                let row = alice_rows.iter().find(|r| r.id.to_string() == *id).expect("row");
                let key = match field {
                    "CREATED_AT" => row.created_at.cmp(&position.created_at),
                    "UPDATED_AT" => row.updated_at.cmp(&position.updated_at),
                    _ => row.title.as_bytes().cmp(position.title.as_bytes()),
                };
                key.then(row.id.cmp(&position.id)) == Ordering::Greater
            })
            .collect();
        let alices = page(
            &app,
            &alice,
            json!({"first": 100, "after": bobs_cursor, "order": order}),
        )
        .await;
        assert_eq!(alices.ids, want, "{field}");
        assert!(alices.ids.iter().all(|id| !bob_ids.contains(id)), "{field}");
    }
}

#[tokio::test]
async fn the_cursor_row_alone_counts_as_a_page_before_or_after() {
    // After the first row's cursor, only that row precedes the page; before the last row's
    // cursor, only that row follows it. Ties on every sort key, every ordering.
    let app = spawn_app().await;
    let user = new_user();
    seed(&app, &user, tied_seeds(12)).await;
    for field in ["CREATED_AT", "UPDATED_AT", "TITLE"] {
        for direction in ["ASC", "DESC"] {
            let order = json!({"field": field, "direction": direction});
            let all = page(&app, &user, json!({"first": 100, "order": order})).await;
            let (first, last) = (&all.cursors[0], &all.cursors[all.cursors.len() - 1]);
            let after_first = page(&app, &user, json!({"first": 100, "after": first, "order": order})).await;
            assert_eq!(after_first.ids, all.ids[1..], "{field} {direction}");
            assert_eq!(after_first.info["hasPreviousPage"], true, "{field} {direction}");
            let before_last = page(&app, &user, json!({"last": 100, "before": last, "order": order})).await;
            assert_eq!(
                before_last.ids,
                all.ids[..all.ids.len() - 1],
                "{field} {direction}"
            );
            assert_eq!(before_last.info["hasNextPage"], true, "{field} {direction}");
        }
    }
}
