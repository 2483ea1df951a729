//! The rows of `task_tags`, by which tasks are found by tag: replacing a task's set, and the
//! owner's tags with how many tasks carry each. (A task's own tags are read from its row.)

use sea_orm::sea_query::{Expr, Func};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::domain::{Owner, TaskTags};
use crate::entity::task_tag::{self, Column};
use crate::error::AppError;
use crate::service::tenant;

/// Replaces the tags of the owner's task `task_id` with `tags`: its tag rows are deleted and the
/// new set inserted (the caller's transaction makes the two one change).
pub(super) async fn replace_tags(
    db: &impl ConnectionTrait,
    owner: &Owner,
    task_id: Uuid,
    tags: &TaskTags,
) -> Result<(), AppError> {
    task_tag::Entity::delete_for_task(owner, task_id).exec(db).await?;
    let rows = task_tag::Entity::rows_for_task(owner, task_id, tags);
    if !rows.is_empty() {
        task_tag::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// A tag of the owner's, and how many of their tasks carry it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagCount {
    /// When tasks spell the tag differently (`Work`, `work`), the smallest spelling in byte
    /// order (`Work`): the same answer on both databases, whichever task came first.
    pub tag: String,
    pub count: u64,
}

/// The owner's tags (one per key, so `Work` and `work` are one) with how many tasks carry each,
/// sorted by key, in one statement over the `(user_id, tag_key, task_id)` index.
pub async fn tag_counts(db: &DatabaseConnection, owner: &Owner) -> Result<Vec<TagCount>, AppError> {
    // PostgreSQL's MIN follows the column's collation (the database's locale); "C" is byte
    // order, which SQLite's MIN already uses.
    let smallest_spelling = match db.get_database_backend() {
        DbBackend::Postgres => Expr::cust("MIN(\"tag\" COLLATE \"C\")"),
        _ => Expr::from(Func::min(Expr::col(Column::Tag))),
    };
    let rows = task_tag::Entity::find_for_owner(owner)
        .select_only()
        .column(Column::TagKey)
        .column_as(smallest_spelling, "tag")
        .column_as(Expr::from(Func::count(Expr::col(Column::TaskId))), "count")
        .group_by(Column::TagKey)
        .order_by_asc(Column::TagKey)
        .into_tuple::<(String, String, i64)>()
        .all(&tenant::scope(db, owner).await?)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(_, tag, count)| TagCount {
            tag,
            count: u64::try_from(count).unwrap_or_default(),
        })
        .collect())
}
