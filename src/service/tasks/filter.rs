//! What every list query shares: the owner's rows that match a filter (status, search,
//! priorities, tags, due dates), and the column and direction a list is ordered by.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbBackend, Order, QueryFilter, Select};

use crate::domain::{Owner, SortDirection, SortField, StatusFilter, TaskFilter, now_micros};
use crate::entity::task::{self, Column};
use crate::entity::task_tag;

pub(super) fn sql_order(direction: SortDirection) -> Order {
    match direction {
        SortDirection::Asc => Order::Asc,
        SortDirection::Desc => Order::Desc,
    }
}

pub(super) fn sort_column(sort: SortField) -> Column {
    match sort {
        SortField::CreatedAt => Column::CreatedAt,
        SortField::UpdatedAt => Column::UpdatedAt,
        SortField::Title => Column::Title,
        SortField::DueAt => Column::DueAt,
        SortField::Priority => Column::Priority,
    }
}

pub(super) fn filtered(
    db: &impl ConnectionTrait,
    owner: &Owner,
    filter: &TaskFilter,
) -> Select<task::Entity> {
    let mut query = task::Entity::find_for_owner(owner);
    match filter.status {
        StatusFilter::All => {}
        StatusFilter::Pending => query = query.filter(Column::Completed.eq(false)),
        StatusFilter::Completed => query = query.filter(Column::Completed.eq(true)),
    }
    if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(search_condition(db.get_database_backend(), search));
    }
    if !filter.priority.is_empty() {
        query = query.filter(Column::Priority.is_in(filter.priority.iter().map(|p| p.as_column())));
    }
    if !filter.tags.is_empty() {
        let keys: Vec<String> = filter.tags.iter().map(|tag| tag.key().to_owned()).collect();
        // An index range per tag on task_tags, then the ids of the tasks that have them all.
        query = query.filter(
            Column::Id.in_subquery(task_tag::Entity::task_ids_with_every_key_for_owner(owner, &keys)),
        );
    }
    if let Some(before) = filter.due_before {
        query = query.filter(Column::DueAt.lt(before));
    }
    if let Some(after) = filter.due_after {
        query = query.filter(Column::DueAt.gt(after));
    }
    match filter.overdue {
        None => {}
        Some(true) => query = query.filter(overdue_condition(now_micros())),
        Some(false) => query = query.filter(not_overdue_condition(now_micros())),
    }
    query
}

/// Overdue at `now`: due before it and not completed (no due date, never overdue).
pub(super) fn overdue_condition(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(Column::Completed.eq(false))
        .add(Column::DueAt.lt(now))
}

/// Every task [`overdue_condition`] leaves out, spelled so that a NULL due date counts as "not
/// overdue" rather than as unknown.
fn not_overdue_condition(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(Column::Completed.eq(true))
        .add(Column::DueAt.is_null())
        .add(Column::DueAt.gte(now))
}

/// Title or description contains `search`, ignoring the case of ASCII letters only, with `%`,
/// `_` and `\` taken literally: the same answer on SQLite and PostgreSQL.
fn search_condition(backend: DbBackend, search: &str) -> Condition {
    let escaped = search
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let like = |column: Column| match backend {
        // SQLite's LIKE already ignores the case of ASCII letters, and only theirs.
        DbBackend::Sqlite => Expr::col(column).like(LikeExpr::new(format!("%{escaped}%")).escape('\\')),
        // PostgreSQL's ILIKE/LOWER would also fold non-ASCII letters; translate() folds A-Z only.
        _ => Expr::expr(Func::cust("translate").args([
            Expr::col(column),
            Expr::val("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
            Expr::val("abcdefghijklmnopqrstuvwxyz"),
        ]))
        .like(LikeExpr::new(format!("%{}%", escaped.to_ascii_lowercase())).escape('\\')),
    };
    Condition::any()
        .add(like(Column::Title))
        .add(like(Column::Description))
}
