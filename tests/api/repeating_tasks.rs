//! Repeating tasks over GraphQL: completing one (toggleTask, updateTask, setTaskCompleted)
//! completes it, stops it repeating and creates its next occurrence, exactly once even under
//! concurrent completions; un-completing creates nothing.

use chrono::{DateTime, Months, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::graphql_helpers::graphql;
use crate::graphql_task_details::{FIELDS, create_task, list, update_task};
use crate::helpers::{TestApp, new_user, spawn_app};

fn utc(raw: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(raw)
        .expect("instant")
        .with_timezone(&Utc)
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The first `old + k × months` (k ≥ 1) after now, each candidate from `old` itself.
fn next_by_months(old: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    let now = Utc::now();
    (1..)
        .map(|k| old.checked_add_months(Months::new(k * months)).expect("in range"))
        .find(|candidate| *candidate > now)
        .expect("a future candidate")
}

/// The first `old + k × step` (k ≥ 1) after now.
fn next_by_step(old: DateTime<Utc>, step: TimeDelta) -> DateTime<Utc> {
    let now = Utc::now();
    let mut candidate = old + step;
    while candidate <= now {
        candidate += step;
    }
    candidate
}

/// Every task of `user`, oldest first.
async fn all_tasks(app: &TestApp, user: &str) -> Vec<Value> {
    list(
        app,
        user,
        json!(null),
        json!({"field": "CREATED_AT", "direction": "ASC"}),
    )
    .await
}

/// The way a test completes a task.
#[derive(Clone, Copy, Debug)]
enum Complete {
    Toggle,
    Update,
    Set,
}

async fn complete(app: &TestApp, user: &str, id: &Value, how: Complete) -> (u16, Value) {
    let (query, field) = match how {
        Complete::Toggle => (
            format!("mutation($id: ID!) {{ toggleTask(id: $id) {{ {FIELDS} }} }}"),
            "toggleTask",
        ),
        Complete::Update => (
            format!(
                "mutation($id: ID!) {{ updateTask(id: $id, input: {{completed: true}}) {{ {FIELDS} }} }}"
            ),
            "updateTask",
        ),
        Complete::Set => (
            format!("mutation($id: ID!) {{ setTaskCompleted(id: $id, completed: true) {{ {FIELDS} }} }}"),
            "setTaskCompleted",
        ),
    };
    let (status, body) = graphql(app, user, &query, json!({"id": id})).await;
    (status, body["data"][field].clone())
}

/// Creates a repeating task due at `due`, completes it `how`, and checks the result: the
/// completed task (repeat NONE, same due date) and exactly one new occurrence due at
/// `expected_next`, with the same title, description, priority, tags and repeat.
async fn assert_completion_creates_next(
    repeat: &str,
    due: &str,
    how: Complete,
    expected_next: DateTime<Utc>,
) {
    let app = spawn_app().await;
    let user = new_user();
    let task = create_task(
        &app,
        &user,
        json!({"title": "water the plants", "description": "all of them", "priority": "HIGH",
               "tags": ["Home", "garden"], "repeat": repeat, "dueAt": due}),
    )
    .await;
    let (status, completed) = complete(&app, &user, &task["id"], how).await;
    assert_eq!(status, 200, "{completed}");
    assert_eq!(
        completed["id"], task["id"],
        "{how:?}: the answer is the completed task"
    );
    assert_eq!(completed["completed"], true);
    assert_eq!(completed["repeat"], "NONE", "the completed task stops repeating");
    assert_eq!(completed["dueAt"], task["dueAt"], "and keeps its due date");

    let tasks = all_tasks(&app, &user).await;
    assert_eq!(tasks.len(), 2, "{how:?} {repeat} {due}: {tasks:?}");
    let next = &tasks[1];
    assert_ne!(next["id"], task["id"]);
    assert_eq!(next["title"], "water the plants");
    assert_eq!(next["description"], "all of them");
    assert_eq!(next["priority"], "HIGH");
    assert_eq!(next["tags"], json!(["garden", "Home"]));
    assert_eq!(next["repeat"], repeat);
    assert_eq!(next["completed"], false);
    assert_eq!(next["dueAt"], rfc3339(expected_next), "{how:?} {repeat} {due}");
    assert!(next["createdAt"].as_str() > task["createdAt"].as_str());

    // Un-completing creates nothing; completing the old task again creates nothing either, as it
    // no longer repeats.
    let (_, body) = graphql(
        &app,
        &user,
        "mutation($id: ID!) { setTaskCompleted(id: $id, completed: false) { completed repeat } }",
        json!({"id": task["id"]}),
    )
    .await;
    assert_eq!(
        body["data"]["setTaskCompleted"],
        json!({"completed": false, "repeat": "NONE"})
    );
    complete(&app, &user, &task["id"], how).await;
    assert_eq!(all_tasks(&app, &user).await.len(), 2);
}

#[tokio::test]
async fn toggling_a_weekly_task_due_long_ago_creates_one_occurrence_due_in_the_future() {
    let due = "2019-03-05T07:45:00Z";
    let next = next_by_step(utc(due), TimeDelta::weeks(1));
    assert_completion_creates_next("WEEKLY", due, Complete::Toggle, next).await;
}

#[tokio::test]
async fn completing_a_monthly_task_due_on_the_31st_clamps_to_the_month_end() {
    // Due in the future: the next occurrence is one month on, clamped (Jan 31 → Feb 28).
    let due = "2027-01-31T10:00:00Z";
    assert_completion_creates_next("MONTHLY", due, Complete::Update, utc("2027-02-28T10:00:00Z")).await;
    // Leap year: Jan 31 2028 → Feb 29 2028.
    let due = "2028-01-31T10:00:00Z";
    assert_completion_creates_next("MONTHLY", due, Complete::Set, utc("2028-02-29T10:00:00Z")).await;
}

#[tokio::test]
async fn a_yearly_task_due_on_february_29_comes_back_on_february_28() {
    let due = "2028-02-29T08:00:00Z";
    assert_completion_creates_next("YEARLY", due, Complete::Toggle, utc("2029-02-28T08:00:00Z")).await;
}

#[tokio::test]
async fn a_monthly_task_due_on_a_31st_long_ago_is_computed_from_its_own_due_date() {
    // Each candidate comes from the old due date, so a clamped month does not stick: whatever
    // month is next, the day is the 31st or that month's last day.
    let due = "2020-01-31T23:59:59.999999Z";
    let next = next_by_months(utc(due), 1);
    assert_completion_creates_next("MONTHLY", due, Complete::Set, next).await;
    let daily = "2001-06-15T05:06:07Z";
    let next = next_by_step(utc(daily), TimeDelta::days(1));
    assert_completion_creates_next("DAILY", daily, Complete::Update, next).await;
}

#[tokio::test]
async fn completing_a_task_that_does_not_repeat_creates_nothing() {
    let app = spawn_app().await;
    let user = new_user();
    let task = create_task(
        &app,
        &user,
        json!({"title": "once", "dueAt": "2020-01-01T00:00:00Z"}),
    )
    .await;
    for how in [Complete::Toggle, Complete::Update, Complete::Set] {
        graphql(
            &app,
            &user,
            "mutation($id: ID!) { setTaskCompleted(id: $id, completed: false) { id } }",
            json!({"id": task["id"]}),
        )
        .await;
        let (status, body) = complete(&app, &user, &task["id"], how).await;
        assert_eq!(status, 200);
        assert_eq!(body["completed"], true);
    }
    assert_eq!(all_tasks(&app, &user).await.len(), 1);
}

#[tokio::test]
async fn an_update_that_completes_and_changes_fields_carries_the_changes_to_the_next_occurrence() {
    let app = spawn_app().await;
    let user = new_user();
    let task = create_task(
        &app,
        &user,
        json!({"title": "old", "repeat": "DAILY", "dueAt": "2027-05-01T06:00:00Z", "tags": ["a"]}),
    )
    .await;
    let (status, body) = update_task(
        &app,
        &user,
        &task["id"],
        json!({"completed": true, "title": "new", "tags": ["b"], "priority": "LOW"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["updateTask"]["repeat"], "NONE");
    let tasks = all_tasks(&app, &user).await;
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[1]["title"], "new");
    assert_eq!(tasks[1]["tags"], json!(["b"]));
    assert_eq!(tasks[1]["priority"], "LOW");
    assert_eq!(tasks[1]["dueAt"], "2027-05-02T06:00:00.000000Z");
}

/// Sends `n` concurrent completions of one repeating task `how`; exactly one next occurrence
/// must exist afterwards.
async fn assert_concurrent_completions_create_one_occurrence(how: Complete, n: usize) {
    let app = spawn_app().await;
    let user = new_user();
    let task = create_task(
        &app,
        &user,
        json!({"title": "race", "repeat": "DAILY", "dueAt": "2027-03-01T12:00:00Z"}),
    )
    .await;
    let requests = (0..n).map(|_| complete(&app, &user, &task["id"], how));
    let answers = futures::future::join_all(requests).await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{how:?}: {body}");
        assert_eq!(body["id"], task["id"], "{how:?}: {body}");
    }
    let tasks = all_tasks(&app, &user).await;
    let occurrences: Vec<&Value> = tasks.iter().filter(|t| t["id"] != task["id"]).collect();
    assert_eq!(occurrences.len(), 1, "{how:?}: {tasks:?}");
    assert_eq!(occurrences[0]["dueAt"], "2027-03-02T12:00:00.000000Z");
    assert_eq!(occurrences[0]["repeat"], "DAILY");
    assert_eq!(tasks[0]["repeat"], "NONE");
}

#[tokio::test]
async fn ten_concurrent_set_task_completed_create_exactly_one_next_occurrence() {
    assert_concurrent_completions_create_one_occurrence(Complete::Set, 10).await;
}

#[tokio::test]
async fn ten_concurrent_completing_updates_create_exactly_one_next_occurrence() {
    assert_concurrent_completions_create_one_occurrence(Complete::Update, 10).await;
}

#[tokio::test]
async fn ten_concurrent_toggles_create_exactly_one_next_occurrence() {
    assert_concurrent_completions_create_one_occurrence(Complete::Toggle, 10).await;
}
