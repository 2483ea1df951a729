//! What every list query shares: the owner's rows that match a filter (status and search), and
//! the column and direction a list is ordered by.

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, DbBackend, Order, QueryFilter, Select};

use crate::domain::{Owner, SortDirection, SortField, StatusFilter, TaskFilter};
use crate::entity::task::{self, Column};

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
    }
}

pub(super) fn filtered(db: &DatabaseConnection, owner: &Owner, filter: &TaskFilter) -> Select<task::Entity> {
    let mut query = task::Entity::find_for_owner(owner);
    match filter.status {
        StatusFilter::All => {}
        StatusFilter::Pending => query = query.filter(Column::Completed.eq(false)),
        StatusFilter::Completed => query = query.filter(Column::Completed.eq(true)),
    }
    if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(search_condition(db.get_database_backend(), search));
    }
    query
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
