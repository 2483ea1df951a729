//! What the resolvers of one request share: the verified caller, the database, and DataLoaders
//! scoped to that caller (built per request, so no cache crosses tenants).

use std::sync::Arc;
use std::time::Duration;

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, HashMapCache};
use sea_orm::DatabaseConnection;

use super::error::{GqlError, GqlResult};
use super::loaders::UserLoader;
use super::types::User;
use crate::auth::AuthFailure;
use crate::domain::Owner;
use crate::entity::user;
use crate::error::AppError;
use crate::service::tasks::CreatesInFlight;

/// The request data every resolver reads through [`require_owner`].
pub struct RequestScope {
    pub db: DatabaseConnection,
    pub owner: Owner,
    /// This process's idempotent creates in progress.
    pub creates_in_flight: CreatesInFlight,
    users: DataLoader<UserLoader, HashMapCache>,
}

impl RequestScope {
    /// `caller_row` is the caller's user row, as provisioning returned it.
    pub fn new(
        db: DatabaseConnection,
        owner: Owner,
        caller_row: Arc<user::Model>,
        creates_in_flight: CreatesInFlight,
    ) -> Arc<Self> {
        // No batching window: the loader answers from memory, so the default 1 ms wait would
        // only add latency and a timer per request.
        let users =
            DataLoader::with_cache(UserLoader::new(caller_row), tokio::spawn, HashMapCache::default())
                .delay(Duration::ZERO);
        Arc::new(Self {
            db,
            owner,
            creates_in_flight,
            users,
        })
    }

    /// The caller's own user row, loaded at most once per request however many fields ask.
    pub async fn user(&self, id: &str) -> GqlResult<User> {
        let user = self.users.load_one(id.to_owned()).await?.ok_or_else(|| {
            // Every user a resolver can reach is the caller, whose row exists (provisioned
            // before execution): a miss is a bug, not a client error.
            AppError::Internal(anyhow::anyhow!("user row {id:?} not loadable in its own request"))
        })?;
        Ok(User::from(user))
    }
}

/// The verified caller of this request. Every resolver starts here; without a scope (a transport
/// that skipped authentication) the answer is `UNAUTHENTICATED`.
pub fn require_owner<'a>(ctx: &Context<'a>) -> Result<&'a RequestScope, GqlError> {
    ctx.data_opt::<Arc<RequestScope>>()
        .map(Arc::as_ref)
        .ok_or_else(|| AppError::Unauthenticated(AuthFailure::MissingToken).into())
}
