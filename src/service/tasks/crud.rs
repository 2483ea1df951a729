//! Creating, reading, changing and deleting one task, and the owner's counts. Every operation
//! starts from an owner-scoped constructor of [`task::Entity`], so another user's task is
//! indistinguishable from a missing one.

use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::domain::{NewTask, Owner, Priority, Repeat, TaskPatch, now_micros};
use crate::entity::task::{self, Column};
use crate::error::AppError;

/// Parses a task id; anything that is not a UUID names no task.
fn parse_task_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::try_parse(id).map_err(|_| AppError::NotFound)
}

pub async fn create(db: &DatabaseConnection, owner: &Owner, input: NewTask) -> Result<task::Model, AppError> {
    let now = now_micros();
    let model = task::Model {
        id: Uuid::now_v7(),
        user_id: owner.id().to_owned(),
        title: input.title.into_inner(),
        description: input.description.map(|d| d.into_inner()),
        completed: input.completed,
        priority: Priority::default().as_column(),
        due_at: None,
        repeat: Repeat::default().as_str().to_owned(),
        created_at: now,
        updated_at: now,
    };
    let row = task::ActiveModel {
        id: Set(model.id),
        user_id: Set(model.user_id.clone()),
        title: Set(model.title.clone()),
        description: Set(model.description.clone()),
        completed: Set(model.completed),
        priority: Set(model.priority),
        due_at: Set(model.due_at),
        repeat: Set(model.repeat.clone()),
        created_at: Set(model.created_at),
        updated_at: Set(model.updated_at),
    };
    // Every value is known here, so there is nothing to read back.
    task::Entity::insert(row).exec_without_returning(db).await?;
    Ok(model)
}

pub async fn get(db: &DatabaseConnection, owner: &Owner, id: &str) -> Result<task::Model, AppError> {
    find_owned(db, owner, parse_task_id(id)?).await
}

async fn find_owned(db: &DatabaseConnection, owner: &Owner, id: Uuid) -> Result<task::Model, AppError> {
    task::Entity::find_one_for_owner(owner, id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Applies the given fields only. An empty patch changes nothing, `updated_at` included.
pub async fn update(
    db: &DatabaseConnection,
    owner: &Owner,
    id: &str,
    patch: TaskPatch,
) -> Result<task::Model, AppError> {
    if patch.is_empty() {
        return get(db, owner, id).await;
    }
    let mut update = task::Entity::update_one_for_owner(owner, parse_task_id(id)?)
        .col_expr(Column::UpdatedAt, Expr::value(now_micros()));
    if let Some(title) = patch.title {
        update = update.col_expr(Column::Title, Expr::value(title.into_inner()));
    }
    if let Some(description) = patch.description {
        update = update.col_expr(
            Column::Description,
            Expr::value(description.map(|d| d.into_inner())),
        );
    }
    if let Some(completed) = patch.completed {
        update = update.col_expr(Column::Completed, Expr::value(completed));
    }
    single(update.exec_with_returning(db).await?)
}

/// Flips `completed` in one statement, so concurrent toggles never lose one another.
pub async fn toggle(db: &DatabaseConnection, owner: &Owner, id: &str) -> Result<task::Model, AppError> {
    let update = task::Entity::update_one_for_owner(owner, parse_task_id(id)?)
        .col_expr(Column::Completed, Expr::col(Column::Completed).not())
        .col_expr(Column::UpdatedAt, Expr::value(now_micros()));
    single(update.exec_with_returning(db).await?)
}

/// Sets `completed`; idempotent, so a retried call is harmless (`updated_at` moves only when the
/// value does).
pub async fn set_completed(
    db: &DatabaseConnection,
    owner: &Owner,
    id: &str,
    completed: bool,
) -> Result<task::Model, AppError> {
    let id = parse_task_id(id)?;
    let changed = task::Entity::update_one_for_owner(owner, id)
        .filter(Column::Completed.ne(completed))
        .col_expr(Column::Completed, Expr::value(completed))
        .col_expr(Column::UpdatedAt, Expr::value(now_micros()))
        .exec_with_returning(db)
        .await?;
    match changed.into_iter().next() {
        Some(task) => Ok(task),
        None => find_owned(db, owner, id).await,
    }
}

/// Deletes the task and returns its id.
pub async fn delete(db: &DatabaseConnection, owner: &Owner, id: &str) -> Result<Uuid, AppError> {
    let id = parse_task_id(id)?;
    let result = task::Entity::delete_one_for_owner(owner, id).exec(db).await?;
    if result.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    Ok(id)
}
fn single(mut rows: Vec<task::Model>) -> Result<task::Model, AppError> {
    rows.pop().ok_or(AppError::NotFound)
}

/// How many tasks an owner has, and how many of them are completed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskCounts {
    pub total: u64,
    pub completed: u64,
}

impl TaskCounts {
    pub fn pending(self) -> u64 {
        self.total.saturating_sub(self.completed)
    }
}

/// Counts all of the owner's tasks and the completed ones, in one statement.
pub async fn counts(db: &DatabaseConnection, owner: &Owner) -> Result<TaskCounts, AppError> {
    let (total, completed) = task::Entity::find_for_owner(owner)
        .select_only()
        .column_as(Expr::from(Func::count(Expr::col(Column::Id))), "total")
        // COUNT skips the NULL of a CASE without ELSE: the completed rows only.
        .column_as(
            Expr::from(Func::count(Expr::case(Column::Completed.eq(true), 1))),
            "completed",
        )
        .into_tuple::<(i64, i64)>()
        .one(db)
        .await?
        .unwrap_or_default();
    Ok(TaskCounts {
        total: u64::try_from(total).unwrap_or_default(),
        completed: u64::try_from(completed).unwrap_or_default(),
    })
}
