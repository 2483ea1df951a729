//! `Query`: what the caller can read. Every field is scoped to the caller.

use async_graphql::{Context, ID, Object};

use super::error::GqlResult;
use super::events::{self, TaskEventConnection};
use super::pagination::{self, PageArgs, TaskConnection};
use super::scope::require_owner;
use super::types::{self, Task, TaskFilterInput, TaskOrderInput, TaskStats, User};
use crate::error::AppError;
use crate::service;

pub struct QueryRoot;

/// What the caller can read: their user, their tasks, counts.
#[Object(name = "Query")]
impl QueryRoot {
    /// The caller: the user named by the bearer token.
    async fn me(&self, ctx: &Context<'_>) -> GqlResult<User> {
        let scope = require_owner(ctx)?;
        scope.user(scope.owner.id()).await
    }

    /// One of the caller's tasks; null when it does not exist, belongs to someone else, or the
    /// id is malformed (the three look the same).
    async fn task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task id.")] id: ID,
    ) -> GqlResult<Option<Task>> {
        let scope = require_owner(ctx)?;
        match service::tasks::get(&scope.db, &scope.owner, &id).await {
            Ok(task) => Ok(Some(task.into())),
            Err(AppError::NotFound) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// The caller's tasks, a page at a time (keyset cursors, correct for every `orderBy`).
    /// `first`/`last` default to 20, at most 100; pass either `first` (with `after`) or `last`
    /// (with `before`).
    #[graphql(
        complexity = "super::limits::page_complexity(__ctx, __variables_definition, __field, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which tasks (default: all).")] filter: Option<TaskFilterInput>,
        #[graphql(desc = "The order (default: newest first).")] order_by: Option<TaskOrderInput>,
        #[graphql(desc = "Page size from the start: 0 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "A cursor: the page starts after that task.")] after: Option<String>,
        #[graphql(desc = "Page size from the end: 0 to 100.")] last: Option<i32>,
        #[graphql(desc = "A cursor: the page ends before that task.")] before: Option<String>,
    ) -> GqlResult<TaskConnection> {
        let page = PageArgs {
            first,
            after,
            last,
            before,
        };
        pagination::tasks(ctx, filter, order_by, page).await
    }

    /// Every change of the caller's tasks, oldest first, a page at a time: events after the
    /// cursor `after`, or from the oldest retained one. A cursor older than the retention is a
    /// `CURSOR_EXPIRED` error (reload the list, then continue from a new cursor).
    #[graphql(
        complexity = "super::limits::events_page_complexity(__ctx, __variables_definition, __field, child_complexity)"
    )]
    async fn task_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A cursor: the page starts after that event.")] after: Option<String>,
        #[graphql(desc = "Page size: 1 to 500 (default 50).")] first: Option<i32>,
    ) -> GqlResult<TaskEventConnection> {
        events::task_events(ctx, after, first).await
    }

    /// Counts of the caller's tasks.
    async fn task_stats(&self, ctx: &Context<'_>) -> GqlResult<TaskStats> {
        types::task_stats(ctx).await
    }
}
