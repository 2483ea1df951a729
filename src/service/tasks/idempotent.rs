//! Creates named by an idempotency key: the first request with a key creates the task, and a
//! retry with the same key and the same input, within [`KEY_LIFETIME`], gets the task as that
//! first create made it, whatever happened to it since, on any replica.
//!
//! The key's row (`idempotency_keys`) is inserted in the transaction that inserts the task, so
//! a crash can lose neither without the other. A repeat while the first is still running is
//! refused (409 / `CONFLICT`), not queued: in this process by [`CreatesInFlight`], across
//! replicas by a PostgreSQL advisory lock on the key taken for the transaction. Should two
//! requests still race (the lock is only a courtesy), the second one's key row collides with the
//! first one's primary key once that commits, and the second is answered as a retry.
//!
//! Expired keys are purged on write: each keyed create first deletes its user's keys older than
//! [`KEY_LIFETIME`], in its own transaction. A key older than that is never honoured.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::Duration;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, SqlErr, Statement,
    TransactionTrait,
};
use serde_json::json;

use super::crud::{insert_task, new_task};
use crate::domain::{IdempotencyKey, NewTask, Owner, TaskTags, now_micros};
use crate::entity::{idempotency_key, task};
use crate::error::AppError;

/// How long a key is remembered.
pub const KEY_LIFETIME: Duration = Duration::hours(24);

/// A create made, or replayed.
#[derive(Debug)]
pub struct Created {
    /// The task as the first request with the key created it.
    pub task: task::Model,
    /// True when this request created nothing and repeats the first one's answer.
    pub replayed: bool,
}

/// The keys whose create is running in this process. Shared by the front ends (one per app).
#[derive(Clone, Default)]
pub struct CreatesInFlight(Arc<Mutex<HashSet<(String, String)>>>);

impl CreatesInFlight {
    /// Marks `key` of `owner` as running until the guard drops; `None` when it already is.
    fn enter(&self, owner: &Owner, key: &IdempotencyKey) -> Option<InFlight> {
        let entry = (owner.id().to_owned(), key.as_str().to_owned());
        let mut running = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        running.insert(entry.clone()).then(|| InFlight {
            set: self.clone(),
            entry,
        })
    }
}

struct InFlight {
    set: CreatesInFlight,
    entry: (String, String),
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut running = self.set.0.lock().unwrap_or_else(PoisonError::into_inner);
        running.remove(&self.entry);
    }
}

/// Creates the task once for `key`: see the module's documentation.
pub async fn create_once(
    db: &DatabaseConnection,
    in_flight: &CreatesInFlight,
    owner: &Owner,
    input: NewTask,
    key: &IdempotencyKey,
) -> Result<Created, AppError> {
    let (model, tags) = new_task(owner, input)?;
    let request = fingerprint(&model);
    let Some(_running) = in_flight.enter(owner, key) else {
        return Err(AppError::CreateInProgress);
    };
    match create_in_transaction(db, owner, key, &request, model, &tags).await {
        Err(Attempt::KeyTaken) => {
            // Another replica's create with this key committed first: answer as a retry.
            match replay(db, owner, key, &request).await? {
                Some(created) => Ok(created),
                None => Err(AppError::CreateInProgress),
            }
        }
        Err(Attempt::Failed(error)) => Err(error),
        Err(Attempt::OtherRequest) => Err(AppError::invalid(key.reused())),
        Ok(created) => Ok(created),
    }
}

enum Attempt {
    /// The key's row appeared between the lookup and the insert.
    KeyTaken,
    /// The key names a create of different input.
    OtherRequest,
    Failed(AppError),
}

impl<E: Into<AppError>> From<E> for Attempt {
    fn from(error: E) -> Self {
        Self::Failed(error.into())
    }
}

async fn create_in_transaction(
    db: &DatabaseConnection,
    owner: &Owner,
    key: &IdempotencyKey,
    request: &str,
    model: task::Model,
    tags: &TaskTags,
) -> Result<Created, Attempt> {
    let txn = db.begin().await?;
    if db.get_database_backend() == DbBackend::Postgres {
        // Held until the transaction ends: a second request with the key, on any replica, finds
        // it taken and is refused at once instead of waiting on the first one's row.
        let locked = txn
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS locked",
                [format!("{}\n{}", owner.id(), key.as_str()).into()],
            ))
            .await?
            .map(|row| row.try_get::<bool>("", "locked"))
            .transpose()?
            .unwrap_or(false);
        if !locked {
            return Err(Attempt::Failed(AppError::CreateInProgress));
        }
    }
    // The purge is a write, so on SQLite it also takes the write lock before the lookup below:
    // the lookup and the inserts see one state.
    let now = now_micros();
    idempotency_key::Entity::delete_expired_for_owner(owner, now - KEY_LIFETIME)
        .exec(&txn)
        .await?;
    if let Some(stored) = idempotency_key::Entity::find_for_owner(owner, key.as_str())
        .one(&txn)
        .await?
    {
        let created = answer_of(&stored, request).ok_or(Attempt::OtherRequest)??;
        txn.commit().await?;
        return Ok(created);
    }
    insert_task(&txn, owner, &model, tags).await?;
    let row = idempotency_key::ActiveModel {
        user_id: Set(owner.id().to_owned()),
        key: Set(key.as_str().to_owned()),
        request: Set(request.to_owned()),
        task: Set(serde_json::to_string(&model).map_err(|e| AppError::Internal(e.into()))?),
        created_at: Set(now),
    };
    match idempotency_key::Entity::insert(row)
        .exec_without_returning(&txn)
        .await
    {
        Ok(_) => {}
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(Attempt::KeyTaken);
        }
        Err(error) => return Err(error.into()),
    }
    txn.commit().await?;
    Ok(Created {
        task: model,
        replayed: false,
    })
}

/// The stored answer for `key`, read outside any transaction (after a collision).
async fn replay(
    db: &DatabaseConnection,
    owner: &Owner,
    key: &IdempotencyKey,
    request: &str,
) -> Result<Option<Created>, AppError> {
    let Some(stored) = idempotency_key::Entity::find_for_owner(owner, key.as_str())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    match answer_of(&stored, request) {
        Some(created) => created.map(Some),
        None => Err(AppError::invalid(key.reused())),
    }
}

/// What a stored key answers a request with: its task, when the request is the one it was made
/// for (`None` otherwise).
fn answer_of(stored: &idempotency_key::Model, request: &str) -> Option<Result<Created, AppError>> {
    (stored.request == request).then(|| {
        serde_json::from_str(&stored.task)
            .map(|task| Created { task, replayed: true })
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored idempotent answer unreadable: {e}")))
    })
}

/// The input a create was made of, normalised (trimmed title, sorted tags, UTC due date): two
/// requests are the same create when these are equal, whatever their JSON spelling.
fn fingerprint(model: &task::Model) -> String {
    json!({
        "title": model.title,
        "description": model.description,
        "completed": model.completed,
        "priority": model.priority,
        "due_at": model.due_at,
        "tags": model.tags,
        "repeat": model.repeat,
    })
    .to_string()
}
