//! An idempotency key a user sent with a create, and what that create did: the request as the
//! server understood it and the task it made. Every read and write goes through the owner-scoped
//! constructors below.

use sea_orm::entity::prelude::*;

use crate::domain::Owner;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// The create's normalised fields, as JSON: a retry must send the same.
    #[sea_orm(column_type = "Text")]
    pub request: String,
    /// The task as the create made it, as JSON: what every retry is answered with.
    #[sea_orm(column_type = "Text")]
    pub task: String,
    pub created_at: DateTimeUtc,
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
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

impl Entity {
    /// The owner's key `key`.
    pub fn find_for_owner(owner: &Owner, key: &str) -> Select<Entity> {
        Self::find()
            .filter(Column::UserId.eq(owner.id()))
            .filter(Column::Key.eq(key))
    }
}
