//! Creating, reading, changing and deleting one task, and the owner's counts. Every operation
//! starts from an owner-scoped constructor of [`task::Entity`], so another user's task is
//! indistinguishable from a missing one.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect, UpdateMany,
};
use uuid::Uuid;

use super::events::{self, Change};
use super::filter::overdue_condition;
use super::tags::replace_tags;
use crate::domain::{
    NewTask, Owner, Precondition, Repeat, TaskPatch, TaskTags, check_repeat_has_due_date, now_micros,
};
use crate::entity::task::{self, Column};
use crate::entity::task_tag;
use crate::error::AppError;
use crate::service::tenant::{self, Scoped};

/// Parses a task id; anything that is not a UUID names no task.
fn parse_task_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::try_parse(id).map_err(|_| AppError::NotFound)
}

/// Creates the task, its tags and its event, in one transaction.
pub async fn create(db: &DatabaseConnection, owner: &Owner, input: NewTask) -> Result<task::Model, AppError> {
    let (model, tags) = new_task(owner, input)?;
    let txn = tenant::transaction(db, owner).await?;
    insert_task(&txn, owner, &model, &tags).await?;
    events::record(&txn, owner, &[Change::Created(&model)]).await?;
    events::commit(txn, owner).await?;
    Ok(model)
}

/// The row a create inserts (version 1, created and updated now), and its tags; or why the
/// input breaks a rule.
pub(super) fn new_task(owner: &Owner, input: NewTask) -> Result<(task::Model, TaskTags), AppError> {
    let due_at = input.due_at.map(|due| due.as_utc());
    check_repeat_has_due_date(input.repeat, due_at).map_err(AppError::invalid)?;
    let now = now_micros();
    let model = task::Model {
        id: Uuid::now_v7(),
        user_id: owner.id().to_owned(),
        title: input.title.into_inner(),
        description: input.description.map(|d| d.into_inner()),
        completed: input.completed,
        priority: input.priority.as_column(),
        due_at,
        repeat: input.repeat.as_str().to_owned(),
        tags: input.tags.to_column(),
        created_at: now,
        updated_at: now,
        version: FIRST_VERSION,
    };
    Ok((model, input.tags))
}

/// A new task's version.
const FIRST_VERSION: i32 = 1;

/// Inserts `model` (every value already known, so nothing is read back) and the tag rows of
/// `tags` (the set its `tags` column holds).
pub(super) async fn insert_task(
    txn: &impl ConnectionTrait,
    owner: &Owner,
    model: &task::Model,
    tags: &TaskTags,
) -> Result<(), AppError> {
    let row = task::ActiveModel {
        id: Set(model.id),
        user_id: Set(model.user_id.clone()),
        title: Set(model.title.clone()),
        description: Set(model.description.clone()),
        completed: Set(model.completed),
        priority: Set(model.priority),
        due_at: Set(model.due_at),
        repeat: Set(model.repeat.clone()),
        tags: Set(model.tags.clone()),
        created_at: Set(model.created_at),
        updated_at: Set(model.updated_at),
        version: Set(model.version),
    };
    task::Entity::insert(row).exec_without_returning(txn).await?;
    let tag_rows = task_tag::Entity::rows_for_task(owner, model.id, tags);
    if !tag_rows.is_empty() {
        task_tag::Entity::insert_many(tag_rows)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

pub async fn get(db: &DatabaseConnection, owner: &Owner, id: &str) -> Result<task::Model, AppError> {
    let id = parse_task_id(id)?;
    find_owned(&tenant::scope(db, owner).await?, owner, id).await
}

async fn find_owned(db: &impl ConnectionTrait, owner: &Owner, id: Uuid) -> Result<task::Model, AppError> {
    task::Entity::find_one_for_owner(owner, id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Applies the given fields only, in one transaction with the change's event, if the task's
/// version meets `precondition` (checked by the same `UPDATE`). An empty patch changes nothing,
/// `updated_at` and `version` included, and records no event.
///
/// The task row is updated first (which, on PostgreSQL, locks it until commit, and on SQLite
/// takes the write lock), then the rule "a repeating task needs a due date" is checked on the
/// row as the patch left it: a refusal rolls everything back. `completed: true` on a pending
/// task completes it as [`set_completed`] does, next occurrence included.
pub async fn update(
    db: &DatabaseConnection,
    owner: &Owner,
    id: &str,
    patch: TaskPatch,
    precondition: &Precondition,
) -> Result<task::Model, AppError> {
    if patch.is_empty() {
        let task = get(db, owner, id).await?;
        return meets(task, precondition);
    }
    let id = parse_task_id(id)?;
    let now = now_micros();
    let mut update = changing(owner, id, precondition).col_expr(Column::UpdatedAt, Expr::value(now));
    if let Some(title) = patch.title {
        update = update.col_expr(Column::Title, Expr::value(title.into_inner()));
    }
    if let Some(description) = patch.description {
        update = update.col_expr(
            Column::Description,
            Expr::value(description.map(|d| d.into_inner())),
        );
    }
    // Completing goes through the conditional transition below; un-completing is plain.
    if patch.completed == Some(false) {
        update = update.col_expr(Column::Completed, Expr::value(false));
    }
    if let Some(priority) = patch.priority {
        update = update.col_expr(Column::Priority, Expr::value(priority.as_column()));
    }
    if let Some(due_at) = patch.due_at {
        update = update.col_expr(Column::DueAt, Expr::value(due_at.map(|due| due.as_utc())));
    }
    if let Some(repeat) = patch.repeat {
        update = update.col_expr(Column::Repeat, Expr::value(repeat.as_str()));
    }
    if let Some(tags) = &patch.tags {
        update = update.col_expr(Column::Tags, Expr::value(tags.to_column()));
    }
    let txn = tenant::transaction(db, owner).await?;
    let updated = update.exec_with_returning(&txn).await?.pop();
    let task = changed(&txn, owner, id, updated).await?;
    check_repeat_has_due_date(repeat_of(&task), task.due_at).map_err(AppError::invalid)?;
    if let Some(tags) = &patch.tags {
        replace_tags(&txn, owner, id, tags).await?;
    }
    let (task, next) = if patch.completed == Some(true) {
        // The UPDATE above checked the precondition and moved the version: one change, one
        // version, so completing does neither again.
        let completion = task::Entity::update_one_for_owner(owner, id);
        match complete(&txn, owner, completion, now).await? {
            Some(completion) => (completion.task, completion.next),
            None => (task, None),
        }
    } else {
        (task, None)
    };
    record_change(&txn, owner, &task, next.as_ref()).await?;
    events::commit(txn, owner).await?;
    Ok(task)
}

/// Records a change of `task`, and the creation of its next occurrence when the change
/// completed a repeating task.
async fn record_change(
    txn: &Scoped<'_>,
    owner: &Owner,
    task: &task::Model,
    next: Option<&task::Model>,
) -> Result<(), AppError> {
    match next {
        Some(next) => events::record(txn, owner, &[Change::Updated(task), Change::Created(next)]).await,
        None => events::record(txn, owner, &[Change::Updated(task)]).await,
    }
}

/// Flips `completed` in one statement, so concurrent toggles never lose one another. A flip to
/// completed is a transition this request made (the row is locked from the UPDATE on), so a
/// repeating task's next occurrence is created with it, in the same transaction.
pub async fn toggle(
    db: &DatabaseConnection,
    owner: &Owner,
    id: &str,
    precondition: &Precondition,
) -> Result<task::Model, AppError> {
    let id = parse_task_id(id)?;
    let now = now_micros();
    let update = changing(owner, id, precondition)
        .col_expr(Column::Completed, Expr::col(Column::Completed).not())
        .col_expr(Column::UpdatedAt, Expr::value(now));
    let txn = tenant::transaction(db, owner).await?;
    let updated = update.exec_with_returning(&txn).await?.pop();
    let task = changed(&txn, owner, id, updated).await?;
    let (task, next) = if task.completed {
        let completion = after_completion(&txn, owner, task, now).await?;
        (completion.task, completion.next)
    } else {
        (task, None)
    };
    record_change(&txn, owner, &task, next.as_ref()).await?;
    events::commit(txn, owner).await?;
    Ok(task)
}

/// Sets `completed`; idempotent, so a retried call is harmless (`updated_at` and `version` move
/// only when the value does, and a repeating task comes back once, not once per retry). The
/// precondition holds either way: a task already in that state at another version is a
/// conflict.
pub async fn set_completed(
    db: &DatabaseConnection,
    owner: &Owner,
    id: &str,
    completed: bool,
    precondition: &Precondition,
) -> Result<task::Model, AppError> {
    let id = parse_task_id(id)?;
    let now = now_micros();
    let txn = tenant::transaction(db, owner).await?;
    let changed = if completed {
        complete(&txn, owner, changing(owner, id, precondition), now).await?
    } else {
        changing(owner, id, precondition)
            .filter(Column::Completed.eq(true))
            .col_expr(Column::Completed, Expr::value(false))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .exec_with_returning(&txn)
            .await?
            .pop()
            .map(|task| Completion { task, next: None })
    };
    let Some(completion) = changed else {
        // Already in that state: nothing changed, so no event, and nothing to announce.
        let task = meets(find_owned(&txn, owner, id).await?, precondition)?;
        txn.commit().await?;
        return Ok(task);
    };
    record_change(&txn, owner, &completion.task, completion.next.as_ref()).await?;
    events::commit(txn, owner).await?;
    Ok(completion.task)
}

/// Completes a pending task: `update` (one task of the owner's, usually [`changing`]) with
/// `SET completed = true … AND completed = false`. `Some` when this call made the transition
/// (then a repeating task also gets its next occurrence), `None` when the task was already
/// completed, is not at a version the update allows, or is not the owner's. PostgreSQL
/// re-checks the condition once it holds the row lock and SQLite runs one writer at a time, so
/// of two concurrent completions exactly one sees the transition.
async fn complete(
    txn: &Scoped<'_>,
    owner: &Owner,
    update: UpdateMany<task::Entity>,
    now: DateTime<Utc>,
) -> Result<Option<Completion>, AppError> {
    let completed = update
        .filter(Column::Completed.eq(false))
        .col_expr(Column::Completed, Expr::value(true))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .exec_with_returning(txn)
        .await?
        .pop();
    match completed {
        Some(task) => Ok(Some(after_completion(txn, owner, task, now).await?)),
        None => Ok(None),
    }
}

/// A task as a change left it and, when the change completed a repeating task, its next
/// occurrence.
struct Completion {
    task: task::Model,
    next: Option<task::Model>,
}

/// What follows a pending → completed transition made by this transaction: a repeating task
/// stops repeating (it keeps its due date) and its next occurrence is created. Returns the
/// completed task as stored, and the next occurrence.
async fn after_completion(
    txn: &Scoped<'_>,
    owner: &Owner,
    task: task::Model,
    now: DateTime<Utc>,
) -> Result<Completion, AppError> {
    let repeat = repeat_of(&task);
    let Some(old_due) = task.due_at.filter(|_| repeat.repeats()) else {
        return Ok(Completion { task, next: None });
    };
    // Part of the completion this transaction made: the version already moved with it.
    let completed = task::Entity::update_one_for_owner(owner, task.id)
        .col_expr(Column::Repeat, Expr::value(Repeat::None.as_str()))
        .exec_with_returning(txn)
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    // `None` only past the last date chrono represents: the task then simply stops repeating.
    let Some(next_due) = repeat.next_due(old_due, now) else {
        return Ok(Completion {
            task: completed,
            next: None,
        });
    };
    let next = task::Model {
        id: Uuid::now_v7(),
        completed: false,
        due_at: Some(next_due),
        created_at: now,
        updated_at: now,
        version: FIRST_VERSION,
        ..task
    };
    let tags = next.tag_set()?;
    insert_task(txn, owner, &next, &tags).await?;
    Ok(Completion {
        task: completed,
        next: Some(next),
    })
}

/// The stored repetition; a value no [`Repeat`] has (only [`Repeat`] writes the column) reads as
/// none.
fn repeat_of(task: &task::Model) -> Repeat {
    Repeat::from_name(&task.repeat).unwrap_or_default()
}

/// Deletes the task, if its version meets `precondition` (checked by the `DELETE` itself), and
/// returns its id.
pub async fn delete(
    db: &DatabaseConnection,
    owner: &Owner,
    id: &str,
    precondition: &Precondition,
) -> Result<Uuid, AppError> {
    let id = parse_task_id(id)?;
    let mut delete = task::Entity::delete_one_for_owner(owner, id);
    if let Precondition::OneOf(versions) = precondition {
        delete = delete.filter(Column::Version.is_in(versions.iter().copied()));
    }
    let txn = tenant::transaction(db, owner).await?;
    if delete.exec(&txn).await?.rows_affected == 0 {
        return Err(refusal(&txn, owner, id).await);
    }
    events::record(&txn, owner, &[Change::Deleted(id)]).await?;
    events::commit(txn, owner).await?;
    Ok(id)
}

/// `UPDATE tasks SET version = version + 1 … WHERE id AND owner [AND version IN (…)]`: the
/// start of every change, so the check of the precondition and the write are one statement.
fn changing(owner: &Owner, id: Uuid, precondition: &Precondition) -> UpdateMany<task::Entity> {
    let update = task::Entity::update_one_for_owner(owner, id)
        .col_expr(Column::Version, Expr::col(Column::Version).add(1));
    match precondition {
        Precondition::Any => update,
        Precondition::OneOf(versions) => update.filter(Column::Version.is_in(versions.iter().copied())),
    }
}

/// The row a change returned; without one, why it changed nothing.
async fn changed(
    db: &impl ConnectionTrait,
    owner: &Owner,
    id: Uuid,
    updated: Option<task::Model>,
) -> Result<task::Model, AppError> {
    match updated {
        Some(task) => Ok(task),
        None => Err(refusal(db, owner, id).await),
    }
}

/// Why a conditional write matched no row: the task is missing (404), or it exists at a version
/// the precondition did not allow (412 / `CONFLICT`, naming the current version).
async fn refusal(db: &impl ConnectionTrait, owner: &Owner, id: Uuid) -> AppError {
    match find_owned(db, owner, id).await {
        Ok(task) => AppError::PreconditionFailed {
            current_version: task.version,
        },
        Err(error) => error,
    }
}

/// The task, if its version meets `precondition`.
fn meets(task: task::Model, precondition: &Precondition) -> Result<task::Model, AppError> {
    if precondition.allows(task.version) {
        Ok(task)
    } else {
        Err(AppError::PreconditionFailed {
            current_version: task.version,
        })
    }
}

/// The ids of every task a statement without an owner filter sees in `owner`'s scope: the
/// owner's alone on PostgreSQL, where row-level security stands behind the filters, every user's
/// on SQLite. Only the probe of row-level security asks (`Config::unscoped_probe`): everything
/// else starts from an owner-scoped constructor.
pub async fn ids_seen_without_an_owner_filter(
    db: &DatabaseConnection,
    owner: &Owner,
) -> Result<Vec<Uuid>, AppError> {
    let scope = tenant::scope(db, owner).await?;
    Ok(task::Entity::find()
        .select_only()
        .column(Column::Id)
        .into_tuple::<Uuid>()
        .all(&scope)
        .await?)
}

/// How many tasks an owner has, and how many of them are completed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskCounts {
    pub total: u64,
    pub completed: u64,
    /// Due in the past and not completed.
    pub overdue: u64,
}

impl TaskCounts {
    pub fn pending(self) -> u64 {
        self.total.saturating_sub(self.completed)
    }
}

/// Counts all of the owner's tasks, the completed ones and the overdue ones, in one statement.
pub async fn counts(db: &DatabaseConnection, owner: &Owner) -> Result<TaskCounts, AppError> {
    let (total, completed, overdue) = task::Entity::find_for_owner(owner)
        .select_only()
        .column_as(Expr::from(Func::count(Expr::col(Column::Id))), "total")
        // COUNT skips the NULL of a CASE without ELSE: the completed rows only.
        .column_as(
            Expr::from(Func::count(Expr::case(Column::Completed.eq(true), 1))),
            "completed",
        )
        .column_as(
            Expr::from(Func::count(Expr::case(overdue_condition(now_micros()), 1))),
            "overdue",
        )
        .into_tuple::<(i64, i64, i64)>()
        .one(&tenant::scope(db, owner).await?)
        .await?
        .unwrap_or_default();
    Ok(TaskCounts {
        total: u64::try_from(total).unwrap_or_default(),
        completed: u64::try_from(completed).unwrap_or_default(),
        overdue: u64::try_from(overdue).unwrap_or_default(),
    })
}
