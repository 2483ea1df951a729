//! Users are provisioned on first sight of a verified user id. A process-wide cache of the rows
//! known to exist keeps that to one write (and one read) per user and process, not one per
//! request, and hands GraphQL the caller's row for `me` and `Task.owner` without a query.

use std::sync::Arc;

use quick_cache::sync::Cache;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait};

use crate::domain::{Owner, UserProfile, now_micros};
use crate::entity::user;
use crate::error::AppError;
use crate::service::tenant;

/// User rows known to exist. Only ever positive and never stale in a harmful way: the API never
/// deletes a user nor changes a user row once written (provisioning keeps the first profile), so
/// a row seen once stays as it is (true with many replicas too).
#[derive(Clone)]
pub struct KnownUsers {
    rows: Arc<Cache<String, Arc<user::Model>>>,
}

impl KnownUsers {
    /// Rows kept (a few hundred bytes each); beyond it the least used are dropped and simply
    /// provisioned again on their next request.
    const CAPACITY: usize = 20_000;
}

impl Default for KnownUsers {
    fn default() -> Self {
        Self {
            rows: Arc::new(Cache::new(Self::CAPACITY)),
        }
    }
}

/// The caller's user row, created on first sight with the token's profile (an existing row is
/// left as it is).
pub async fn ensure_exists(
    db: &DatabaseConnection,
    known: &KnownUsers,
    owner: &Owner,
    profile: &UserProfile,
) -> Result<Arc<user::Model>, AppError> {
    if let Some(row) = known.rows.get(owner.id()) {
        return Ok(row);
    }
    let now = now_micros();
    let row = user::ActiveModel {
        id: Set(owner.id().to_owned()),
        email: Set(profile.email.clone()),
        name: Set(profile.name.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let scope = tenant::scope(db, owner).await?;
    user::Entity::insert(row)
        .on_conflict_do_nothing()
        .exec(&scope)
        .await?;
    let row = Arc::new(find(&scope, owner).await?);
    scope.commit().await?;
    known.rows.insert(owner.id().to_owned(), Arc::clone(&row));
    Ok(row)
}

/// The owner's own user row.
async fn find(db: &impl ConnectionTrait, owner: &Owner) -> Result<user::Model, AppError> {
    user::Entity::find_by_id(owner.id().to_owned())
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("user row missing after provisioning")))
}
