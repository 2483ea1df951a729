//! Offset listing, as the REST contract pages: a page by position and the total that matches,
//! in one statement.

use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbErr, FromQueryResult, PaginatorTrait, QueryOrder, QueryResult,
    QuerySelect, QueryTrait,
};

use super::filter::{filtered, sort_column, sql_order};
use crate::domain::{Owner, SortDirection, SortField, TaskFilter};
use crate::entity::task::{self, Column};
use crate::error::AppError;
use crate::service::tenant;

/// A page by position, as the REST contract pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetPage {
    pub limit: u64,
    pub offset: u64,
}

/// How many of the owner's tasks match `filter`.
pub async fn count(db: &DatabaseConnection, owner: &Owner, filter: &TaskFilter) -> Result<u64, AppError> {
    count_in(&tenant::scope(db, owner).await?, owner, filter).await
}

async fn count_in(db: &impl ConnectionTrait, owner: &Owner, filter: &TaskFilter) -> Result<u64, AppError> {
    Ok(filtered(db, owner, filter).count(db).await?)
}

/// One page of the owner's tasks matching `filter`, in the given order (ties broken by id), and
/// how many tasks match before paging (as [`count`]), in one statement: the count rides along as
/// a scalar subquery, so a page costs one round trip and one pooled connection instead of two
/// (each task's tags are on its row). A page past the end has no row to carry the count:
/// only then is it asked for apart.
pub async fn list_with_total(
    db: &DatabaseConnection,
    owner: &Owner,
    filter: &TaskFilter,
    sort: SortField,
    direction: SortDirection,
    page: OffsetPage,
) -> Result<(u64, Vec<task::Model>), AppError> {
    let scope = tenant::scope(db, owner).await?;
    let db = &scope;
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
        None => count_in(db, owner, filter).await?,
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

#[cfg(test)]
mod tests {
    //! The offset listing over the task details (the REST list's sorts and filters), against a
    //! real SQLite file: due dates last-when-missing in both directions, priorities, and the
    //! tag, priority and overdue filters, with their totals.

    use chrono::{Duration, Utc};

    use super::*;
    use crate::domain::{DueAt, NewTask, Priority, Repeat, Tag, TaskTags, TaskTitle, UserId};
    use crate::service::tasks::create;

    async fn database() -> (tempfile::TempDir, DatabaseConnection, Owner) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("tasks.db").display());
        let db = crate::db::connect(&url, None).await.expect("connect");
        crate::migrate::up::<migration::Migrator>(&db, &url, None)
            .await
            .expect("migrate");
        crate::testing::provision_user(&db, "listing-user")
            .await
            .expect("user");
        let owner = Owner::verified(UserId::parse("listing-user").expect("user id"));
        (dir, db, owner)
    }

    fn task(title: &str, priority: Priority, due_in_days: Option<i64>, tags: &[&str]) -> NewTask {
        NewTask {
            title: TaskTitle::parse(title).expect("title"),
            description: None,
            completed: false,
            priority,
            due_at: due_in_days.map(|days| DueAt::from_utc(Utc::now() + Duration::days(days))),
            tags: TaskTags::parse(tags.iter().map(|t| (*t).to_owned()).collect()).expect("tags"),
            repeat: Repeat::None,
        }
    }

    async fn titles(
        db: &DatabaseConnection,
        owner: &Owner,
        filter: &TaskFilter,
        sort: SortField,
        direction: SortDirection,
        page: OffsetPage,
    ) -> (u64, Vec<String>) {
        let (total, tasks) = list_with_total(db, owner, filter, sort, direction, page)
            .await
            .expect("list");
        (total, tasks.into_iter().map(|task| task.title).collect())
    }

    #[tokio::test]
    async fn offset_pages_sort_by_due_date_with_undated_tasks_last_and_filter_by_details() {
        let (_dir, db, owner) = database().await;
        for new in [
            task("undated-1", Priority::High, None, &["Work"]),
            task("soon", Priority::Low, Some(1), &["work", "home"]),
            task("late", Priority::Medium, Some(9), &[]),
            task("overdue", Priority::High, Some(-3), &["home"]),
            task("undated-2", Priority::Low, None, &[]),
        ] {
            create(&db, &owner, new).await.expect("create");
        }
        let all = TaskFilter::default();
        let everything = OffsetPage {
            limit: 100,
            offset: 0,
        };
        assert_eq!(
            titles(
                &db,
                &owner,
                &all,
                SortField::DueAt,
                SortDirection::Asc,
                everything
            )
            .await,
            (
                5,
                ["overdue", "soon", "late", "undated-1", "undated-2"]
                    .map(String::from)
                    .to_vec()
            )
        );
        assert_eq!(
            titles(
                &db,
                &owner,
                &all,
                SortField::DueAt,
                SortDirection::Desc,
                everything
            )
            .await,
            (
                5,
                ["late", "soon", "overdue", "undated-2", "undated-1"]
                    .map(String::from)
                    .to_vec()
            )
        );
        // A page in the middle, across the undated boundary, with the whole total.
        assert_eq!(
            titles(
                &db,
                &owner,
                &all,
                SortField::DueAt,
                SortDirection::Asc,
                OffsetPage { limit: 2, offset: 2 }
            )
            .await,
            (5, ["late", "undated-1"].map(String::from).to_vec())
        );
        assert_eq!(
            titles(
                &db,
                &owner,
                &all,
                SortField::Priority,
                SortDirection::Desc,
                everything
            )
            .await
            .1[..2],
            ["overdue", "undated-1"].map(String::from)
        );

        let tag = |raw: &str| Tag::parse(raw, vec!["tag".into()]).expect("tag");
        let cases = [
            (
                TaskFilter {
                    tags: vec![tag("WORK"), tag("home")],
                    ..TaskFilter::default()
                },
                vec!["soon"],
            ),
            (
                TaskFilter {
                    priority: vec![Priority::High],
                    ..TaskFilter::default()
                },
                vec!["undated-1", "overdue"],
            ),
            (
                TaskFilter {
                    overdue: Some(true),
                    ..TaskFilter::default()
                },
                vec!["overdue"],
            ),
            (
                TaskFilter {
                    due_after: Some(Utc::now()),
                    due_before: Some(Utc::now() + Duration::days(5)),
                    ..TaskFilter::default()
                },
                vec!["soon"],
            ),
        ];
        for (filter, expected) in cases {
            let (total, found) = titles(
                &db,
                &owner,
                &filter,
                SortField::CreatedAt,
                SortDirection::Asc,
                everything,
            )
            .await;
            assert_eq!(found, expected, "{filter:?}");
            assert_eq!(total, expected.len() as u64, "{filter:?}");
        }
    }
}
