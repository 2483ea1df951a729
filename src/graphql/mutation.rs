//! `Mutation`: changes to the caller's tasks. Another user's task id, a missing one and a
//! malformed one all answer `NOT_FOUND`, and change nothing.

use async_graphql::{Context, ID, Object};

use super::error::GqlResult;
use super::scope::require_owner;
use super::types::{CreateTaskInput, Task, UpdateTaskInput};
use crate::domain::{IdempotencyKey, Precondition};
use crate::error::AppError;
use crate::service::tasks as service;

pub struct MutationRoot;

/// Changes to the caller's tasks.
#[Object(name = "Mutation")]
impl MutationRoot {
    /// Creates a task owned by the caller. With an `idempotencyKey` (1 to 255 printable ASCII
    /// characters, yours to choose per create), retrying is safe: a repeat with the same key and
    /// input within 24 hours creates nothing and returns the task as first created; the same key
    /// with other input is `BAD_USER_INPUT`; a repeat while the first is still running is
    /// `CONFLICT`.
    async fn create_task(
        &self,
        ctx: &Context<'_>,
        input: CreateTaskInput,
        idempotency_key: Option<String>,
    ) -> GqlResult<Task> {
        let scope = require_owner(ctx)?;
        let input = input.parse();
        let key = idempotency_key
            .map(|key| IdempotencyKey::parse(&key, vec!["idempotencyKey".into()]))
            .transpose();
        // Every problem at once: the input's, then the key's.
        let (input, key) = match (input, key) {
            (Ok(input), Ok(key)) => (input, key),
            (Err(AppError::Validation(mut errors)), Err(key_error)) => {
                errors.push(key_error);
                return Err(AppError::Validation(errors).into());
            }
            (Err(error), _) => return Err(error.into()),
            (Ok(_), Err(key_error)) => return Err(AppError::invalid(key_error).into()),
        };
        let task = match key {
            None => service::create(&scope.db, &scope.owner, input).await?,
            Some(key) => {
                service::create_once(&scope.db, &scope.creates_in_flight, &scope.owner, input, &key)
                    .await?
                    .task
            }
        };
        Ok(task.into())
    }

    /// Changes the given fields of a task; absent fields stay as they are, and an empty input
    /// changes nothing (not even `updatedAt` or `version`). With `expectedVersion`, only if the
    /// task is still at that version (else `CONFLICT`, with `extensions.currentVersion`).
    async fn update_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateTaskInput,
        expected_version: Option<i32>,
    ) -> GqlResult<Task> {
        let scope = require_owner(ctx)?;
        let patch = input.parse()?;
        let precondition = Precondition::expected(expected_version);
        Ok(
            service::update(&scope.db, &scope.owner, &id, patch, &precondition)
                .await?
                .into(),
        )
    }

    /// Flips `completed`. Not idempotent: to retry safely, use `setTaskCompleted`, or pass
    /// `expectedVersion` (a retry of a flip that happened is then a `CONFLICT`).
    async fn toggle_task(&self, ctx: &Context<'_>, id: ID, expected_version: Option<i32>) -> GqlResult<Task> {
        let scope = require_owner(ctx)?;
        let precondition = Precondition::expected(expected_version);
        Ok(service::toggle(&scope.db, &scope.owner, &id, &precondition)
            .await?
            .into())
    }

    /// Sets `completed`. Idempotent, so safe to retry: `updatedAt` and `version` move only when
    /// the value changes. With `expectedVersion`, only if the task is at that version.
    async fn set_task_completed(
        &self,
        ctx: &Context<'_>,
        id: ID,
        completed: bool,
        expected_version: Option<i32>,
    ) -> GqlResult<Task> {
        let scope = require_owner(ctx)?;
        let precondition = Precondition::expected(expected_version);
        Ok(
            service::set_completed(&scope.db, &scope.owner, &id, completed, &precondition)
                .await?
                .into(),
        )
    }

    /// Deletes a task and returns its id. With `expectedVersion`, only if the task is at that
    /// version.
    async fn delete_task(&self, ctx: &Context<'_>, id: ID, expected_version: Option<i32>) -> GqlResult<ID> {
        let scope = require_owner(ctx)?;
        let precondition = Precondition::expected(expected_version);
        let deleted = service::delete(&scope.db, &scope.owner, &id, &precondition).await?;
        Ok(ID(deleted.to_string()))
    }
}
