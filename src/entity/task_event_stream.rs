//! Each user's event counter: the number of their newest event and its time. A change takes the
//! next numbers by an upsert that holds the user's row until its transaction ends, so numbers
//! follow commit order.

use sea_orm::entity::prelude::*;

use crate::domain::Owner;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "task_event_streams")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    pub last_seq: i64,
    pub last_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Entity {
    /// The owner's counter.
    pub fn find_for_owner(owner: &Owner) -> Select<Entity> {
        Self::find().filter(Column::UserId.eq(owner.id()))
    }
}
