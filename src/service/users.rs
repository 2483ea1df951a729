//! Users are provisioned on first sight of a verified user id. A process-wide set of ids known to
//! exist keeps that to one write per user and process, not one per request.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};

use crate::domain::{Owner, UserProfile, now_micros};
use crate::entity::user;
use crate::error::AppError;

/// Ids of users whose row is known to exist. Only ever positive and never stale in a harmful
/// way: the API never deletes a user, so a row seen once stays (true with many replicas too).
#[derive(Clone, Default)]
pub struct KnownUsers {
    ids: Arc<RwLock<HashSet<String>>>,
}

impl KnownUsers {
    /// Beyond this the set starts over: memory stays bounded and the cost is one idempotent
    /// insert per user seen again.
    const CAPACITY: usize = 100_000;

    fn contains(&self, id: &str) -> bool {
        self.ids.read().map(|ids| ids.contains(id)).unwrap_or(false)
    }

    fn insert(&self, id: &str) {
        if let Ok(mut ids) = self.ids.write() {
            if ids.len() >= Self::CAPACITY {
                ids.clear();
            }
            ids.insert(id.to_owned());
        }
    }
}

/// Makes sure `owner` has a user row, creating it from the token's profile claims on first
/// sight. Idempotent and safe under concurrency (`INSERT … ON CONFLICT DO NOTHING`).
pub async fn ensure_exists(
    db: &DatabaseConnection,
    known: &KnownUsers,
    owner: &Owner,
    profile: &UserProfile,
) -> Result<(), AppError> {
    if known.contains(owner.id()) {
        return Ok(());
    }
    let now = now_micros();
    let row = user::ActiveModel {
        id: Set(owner.id().to_owned()),
        email: Set(profile.email.clone()),
        name: Set(profile.name.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    };
    user::Entity::insert(row)
        .on_conflict_do_nothing()
        .exec(db)
        .await?;
    known.insert(owner.id());
    Ok(())
}

/// The owner's own user row.
pub async fn get(db: &DatabaseConnection, owner: &Owner) -> Result<user::Model, AppError> {
    user::Entity::find_by_id(owner.id().to_owned())
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("user row missing after provisioning")))
}
