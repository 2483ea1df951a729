//! Offset listing, as the REST contract pages: a page by position and the total that matches,
//! in one statement.

use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    DatabaseConnection, DbErr, FromQueryResult, PaginatorTrait, QueryOrder, QueryResult, QuerySelect,
    QueryTrait,
};

use super::filter::{filtered, sort_column, sql_order};
use crate::domain::{Owner, SortDirection, SortField, TaskFilter};
use crate::entity::task::{self, Column};
use crate::error::AppError;

/// A page by position, as the REST contract pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetPage {
    pub limit: u64,
    pub offset: u64,
}

/// How many of the owner's tasks match `filter`.
pub async fn count(db: &DatabaseConnection, owner: &Owner, filter: &TaskFilter) -> Result<u64, AppError> {
    Ok(filtered(db, owner, filter).count(db).await?)
}

/// One page of the owner's tasks matching `filter`, in the given order (ties broken by id), and
/// how many tasks match before paging (as [`count`]), in one statement: the count rides along as a scalar subquery, so a page costs one round trip and
/// one pooled connection instead of two. A page past the end has no row to carry the count:
/// only then is it asked for apart.
pub async fn list_with_total(
    db: &DatabaseConnection,
    owner: &Owner,
    filter: &TaskFilter,
    sort: SortField,
    direction: SortDirection,
    page: OffsetPage,
) -> Result<(u64, Vec<task::Model>), AppError> {
    let order = sql_order(direction);
    let total = filtered(db, owner, filter)
        .select_only()
        .column_as(Expr::from(Func::count(Expr::col(Column::Id))), "n")
        .into_query();
    let mut query =
        filtered(db, owner, filter).expr_as(Expr::SubQuery(None, Box::new(total.into())), Counted::TOTAL);
    if sort == SortField::DueAt {
        // Tasks without a due date last, in both directions (false sorts before true).
        query = query.order_by_asc(Expr::col(Column::DueAt).is_null());
    }
    let rows = query
        .order_by(sort_column(sort), order.clone())
        .order_by(Column::Id, order)
        .limit(page.limit)
        .offset(page.offset)
        .into_model::<Counted>()
        .all(db)
        .await?;
    let total = match rows.first() {
        Some(first) => u64::try_from(first.total).unwrap_or_default(),
        None if page.offset == 0 => 0,
        None => count(db, owner, filter).await?,
    };
    Ok((total, rows.into_iter().map(|row| row.task).collect()))
}

/// A task row with the total of its page's query beside it.
struct Counted {
    task: task::Model,
    total: i64,
}

impl Counted {
    const TOTAL: &'static str = "total_count";
}

impl FromQueryResult for Counted {
    fn from_query_result(row: &QueryResult, prefix: &str) -> Result<Self, DbErr> {
        Ok(Self {
            task: task::Model::from_query_result(row, prefix)?,
            total: row.try_get(prefix, Self::TOTAL)?,
        })
    }
}
