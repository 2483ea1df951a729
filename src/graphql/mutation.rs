//! `Mutation`: changes to the caller's tasks. Another user's task id, a missing one and a
//! malformed one all answer `NOT_FOUND`, and change nothing.

use async_graphql::{Context, ID, Object};

use super::error::GqlResult;
use super::scope::require_owner;
use super::types::{CreateTaskInput, Task, UpdateTaskInput};
use crate::service::tasks as service;

pub struct MutationRoot;

/// Changes to the caller's tasks.
#[Object(name = "Mutation")]
impl MutationRoot {
    /// Creates a task owned by the caller.
    async fn create_task(&self, ctx: &Context<'_>, input: CreateTaskInput) -> GqlResult<Task> {
        let scope = require_owner(ctx)?;
        let input = input.parse()?;
        Ok(service::create(&scope.db, &scope.owner, input).await?.into())
    }

    /// Changes the given fields of a task; absent fields stay as they are, and an empty input
    /// changes nothing (not even `updatedAt`).
    async fn update_task(&self, ctx: &Context<'_>, id: ID, input: UpdateTaskInput) -> GqlResult<Task> {
        let scope = require_owner(ctx)?;
        let patch = input.parse()?;
        Ok(service::update(&scope.db, &scope.owner, &id, patch).await?.into())
    }

    /// Flips `completed`. Not idempotent: to retry safely, use `setTaskCompleted`.
    async fn toggle_task(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Task> {
        let scope = require_owner(ctx)?;
        Ok(service::toggle(&scope.db, &scope.owner, &id).await?.into())
    }

    /// Sets `completed`. Idempotent, so safe to retry: `updatedAt` moves only when the value
    /// changes.
    async fn set_task_completed(&self, ctx: &Context<'_>, id: ID, completed: bool) -> GqlResult<Task> {
        let scope = require_owner(ctx)?;
        Ok(service::set_completed(&scope.db, &scope.owner, &id, completed)
            .await?
            .into())
    }

    /// Deletes a task and returns its id.
    async fn delete_task(&self, ctx: &Context<'_>, id: ID) -> GqlResult<ID> {
        let scope = require_owner(ctx)?;
        let deleted = service::delete(&scope.db, &scope.owner, &id).await?;
        Ok(ID(deleted.to_string()))
    }
}
