//! DataLoaders: per-row lookups batched into one statement per request.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use sea_orm::DatabaseConnection;
use tokio::sync::OnceCell;

use crate::domain::Owner;
use crate::entity::user;
use crate::error::AppError;
use crate::service;

/// Users by id, for `Task.owner` and `me`. Scoped to the caller: it can only ever load the
/// caller's own row (every task a request can see is the caller's), so whatever ids a resolver
/// asks for, no other user's data is read.
pub struct UserLoader {
    db: DatabaseConnection,
    owner: Owner,
    /// The DataLoader batches the keys that arrive within its window, but a long page can
    /// outlast the window and split into two batches, both missing its cache: the row is
    /// therefore fetched at most once per loader (per request) whatever the timing.
    row: OnceCell<user::Model>,
}

impl UserLoader {
    pub fn new(db: DatabaseConnection, owner: Owner) -> Self {
        Self {
            db,
            owner,
            row: OnceCell::new(),
        }
    }
}

impl Loader<String> for UserLoader {
    type Value = user::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        if !keys.iter().any(|key| key == self.owner.id()) {
            return Ok(HashMap::new());
        }
        let user = self
            .row
            .get_or_try_init(|| service::users::get(&self.db, &self.owner))
            .await?;
        Ok(HashMap::from([(user.id.clone(), user.clone())]))
    }
}
