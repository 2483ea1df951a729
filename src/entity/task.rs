//! A task, always owned by one user. The `*_for_owner` constructors are the only way the rest of
//! the crate starts a task query, update or delete: each one already carries the owner filter.

use sea_orm::entity::prelude::*;
use sea_orm::{DeleteMany, UpdateMany};

use crate::domain::{Owner, TaskTags};
use crate::error::AppError;

/// A task row. It is also what an idempotency key's stored answer holds (as JSON, for 24 hours):
/// a column added later needs `#[serde(default)]`, so that answers stored before it still read.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: String,
    pub title: String,
    pub description: Option<String>,
    pub completed: bool,
    /// 0 low, 1 medium, 2 high (see `domain::Priority`): ordering by it orders by urgency.
    pub priority: i16,
    pub due_at: Option<DateTimeUtc>,
    /// `none`, `daily`, `weekly`, `monthly` or `yearly` (see `domain::Repeat`).
    pub repeat: String,
    /// The task's tags as a JSON array of first spellings sorted by key (see
    /// `domain::TaskTags::to_column`), written with the task's `task_tags` rows: reads answer
    /// from here, without a second table; `task_tags` is for finding tasks by tag.
    #[sea_orm(column_type = "Text")]
    pub tags: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// 1 at creation, +1 with every change (see `domain::Version`): what `ETag` and
    /// `expectedVersion` name.
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
    #[sea_orm(has_many = "super::task_tag::Entity")]
    Tags,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::task_tag::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tags.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The task's tags, read from its row.
    pub fn tag_set(&self) -> Result<TaskTags, AppError> {
        TaskTags::from_column(&self.tags).map_err(|error| self.unreadable_tags(error))
    }

    /// The task's tags as clients see them (first spellings, sorted by key), read from its row
    /// without building the set.
    pub fn tag_texts(&self) -> Result<Vec<String>, AppError> {
        TaskTags::texts_in_column(&self.tags).map_err(|error| self.unreadable_tags(error))
    }

    /// Only this crate writes the column, so tags it cannot read are a bug, reported as such.
    fn unreadable_tags(&self, error: serde_json::Error) -> AppError {
        AppError::Internal(anyhow::anyhow!("task {} has unreadable tags: {error}", self.id))
    }
}

impl Entity {
    /// `SELECT … FROM tasks WHERE user_id = owner`: the start of every task read.
    pub fn find_for_owner(owner: &Owner) -> Select<Entity> {
        Self::find().filter(Column::UserId.eq(owner.id()))
    }

    /// One task of `owner`; someone else's task is simply not found.
    pub fn find_one_for_owner(owner: &Owner, id: Uuid) -> Select<Entity> {
        Self::find_for_owner(owner).filter(Column::Id.eq(id))
    }

    /// `UPDATE tasks … WHERE id = id AND user_id = owner`.
    pub fn update_one_for_owner(owner: &Owner, id: Uuid) -> UpdateMany<Entity> {
        Self::update_many()
            .filter(Column::UserId.eq(owner.id()))
            .filter(Column::Id.eq(id))
    }

    /// `DELETE FROM tasks WHERE id = id AND user_id = owner`.
    pub fn delete_one_for_owner(owner: &Owner, id: Uuid) -> DeleteMany<Entity> {
        Self::delete_many()
            .filter(Column::UserId.eq(owner.id()))
            .filter(Column::Id.eq(id))
    }
}
