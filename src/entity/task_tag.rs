//! A tag of a task. Each row carries its task's owner, and the `*_for_owner` constructors are the
//! only way the rest of the crate reads, writes or deletes tags: each one already filters by the
//! owner.

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query, SelectStatement};
use sea_orm::{ActiveValue::Set, DeleteMany};

use crate::domain::{Owner, TaskTags};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "task_tags")]
pub struct Model {
    /// The task's owner, so that every read filters by it (and the `(user_id, tag_key, task_id)`
    /// index answers "the owner's tasks with this tag").
    pub user_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub task_id: Uuid,
    /// The tag with ASCII letters lower-cased: what tags are matched and sorted by.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tag_key: String,
    /// The tag as first spelled.
    pub tag: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::task::Entity",
        from = "Column::TaskId",
        to = "super::task::Column::Id",
        on_delete = "Cascade"
    )]
    Task,
}

impl Related<super::task::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Task.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

impl Entity {
    /// `SELECT … FROM task_tags WHERE user_id = owner`: the start of every tag read.
    pub fn find_for_owner(owner: &Owner) -> Select<Entity> {
        Self::find().filter(Column::UserId.eq(owner.id()))
    }

    /// `DELETE FROM task_tags WHERE user_id = owner AND task_id = id`: before a task's tags are
    /// replaced.
    pub fn delete_for_task(owner: &Owner, task_id: Uuid) -> DeleteMany<Entity> {
        Self::delete_many()
            .filter(Column::UserId.eq(owner.id()))
            .filter(Column::TaskId.eq(task_id))
    }

    /// The rows to insert for `tags` on `owner`'s task `task_id` (none for no tags: insert
    /// nothing then).
    pub fn rows_for_task(owner: &Owner, task_id: Uuid, tags: &TaskTags) -> Vec<ActiveModel> {
        tags.iter()
            .map(|tag| ActiveModel {
                user_id: Set(owner.id().to_owned()),
                task_id: Set(task_id),
                tag_key: Set(tag.key().to_owned()),
                tag: Set(tag.as_str().to_owned()),
            })
            .collect()
    }

    /// `SELECT task_id FROM task_tags WHERE user_id = owner AND tag_key IN (keys) GROUP BY task_id
    /// HAVING COUNT(*) = |keys|`: the ids of `owner`'s tasks carrying every one of `keys`
    /// (distinct keys), for `tasks.id IN (…)`. It reads only the `(user_id, tag_key, task_id)`
    /// index: one range per key, never the owner's other tasks.
    pub fn task_ids_with_every_key_for_owner(owner: &Owner, keys: &[String]) -> SelectStatement {
        let distinct: std::collections::BTreeSet<&str> = keys.iter().map(String::as_str).collect();
        let wanted = distinct.len() as i64;
        Query::select()
            .column(Column::TaskId)
            .from(Entity)
            .and_where(Column::UserId.eq(owner.id()))
            .and_where(Column::TagKey.is_in(distinct))
            .group_by_col(Column::TaskId)
            .and_having(Expr::expr(Func::count(Expr::col(Column::TaskId))).eq(wanted))
            .to_owned()
    }
}
