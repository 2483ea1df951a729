//! DataLoaders: per-row lookups batched per request, so a page never costs a query
//! per row.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::domain::{Owner, TaskTags};
use crate::entity::user;
use crate::error::AppError;
use crate::service;

/// Users by id, for `Task.owner` and `me`. Scoped to the caller: every task a request can see
/// is the caller's, so the only user it can ever load is the caller, whose row provisioning
/// already read (`service::users::ensure_exists`). Whatever ids a resolver asks for, no other
/// user's data is read, and a page of any size costs no user query at all.
pub struct UserLoader {
    caller: Arc<user::Model>,
}

impl UserLoader {
    pub fn new(caller: Arc<user::Model>) -> Self {
        Self { caller }
    }
}

impl Loader<String> for UserLoader {
    type Value = user::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        Ok(keys
            .iter()
            .filter(|key| **key == self.caller.id)
            .map(|key| (key.clone(), user::Model::clone(&self.caller)))
            .collect())
    }
}

/// Tags by task id, for `Task.tags`. Scoped to the caller: the one statement it runs per batch
/// filters by the caller's id, so another user's task id loads no tags. A page of N tasks costs
/// one statement whatever N; a task without tags loads an empty set.
pub struct TagLoader {
    db: DatabaseConnection,
    owner: Owner,
}

impl TagLoader {
    pub fn new(db: DatabaseConnection, owner: Owner) -> Self {
        Self { db, owner }
    }
}

impl Loader<Uuid> for TagLoader {
    type Value = TaskTags;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let mut tags = service::tasks::tags_of_tasks(&self.db, &self.owner, keys.iter().copied())
            .await
            .map_err(Arc::new)?;
        // Every key gets an answer, so "no tags" is not mistaken for "not loaded".
        Ok(keys
            .iter()
            .map(|key| (*key, tags.remove(key).unwrap_or_default()))
            .collect())
    }
}
