//! DataLoaders: per-row lookups batched per request, so a page never costs a query
//! per row.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;

use crate::entity::user;
use crate::error::AppError;

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
