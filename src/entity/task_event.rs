//! One change of a task, in its user's stream of events (the outbox every change writes in its
//! own transaction). Every read goes through the owner-scoped constructor below.

use sea_orm::entity::prelude::*;

use crate::domain::Owner;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "task_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    /// The event's number in its user's stream: 1, 2, 3 … in commit order, without gaps.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    /// `created`, `updated` or `deleted`.
    pub kind: String,
    pub task_id: Uuid,
    /// The task as the change left it (a `task::Model` as JSON); `None` for a deletion.
    #[sea_orm(column_type = "Text", nullable)]
    pub task: Option<String>,
    pub occurred_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Entity {
    /// The owner's events.
    pub fn find_for_owner(owner: &Owner) -> Select<Entity> {
        Self::find().filter(Column::UserId.eq(owner.id()))
    }
}
