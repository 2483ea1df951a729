//! Creates named by an idempotency key: the first request with a key creates the task, and a
//! retry with the same key and the same input, within [`KEY_LIFETIME`], gets the task as that
//! first create made it, whatever happened to it since, on any replica.
//!
//! The key's row (`idempotency_keys`) is written in the transaction that inserts the task, so
//! a crash can lose neither without the other: `BEGIN`, (PostgreSQL) the key's advisory lock, the
//! key's row (an upsert that takes over an expired key and leaves a live one alone), the task,
//! `COMMIT`. A repeat while the first is still running is refused (409 / `CONFLICT`), not
//! queued: in this process by [`CreatesInFlight`], across replicas by the advisory lock. Should
//! two requests still race (the lock is only a courtesy), the second one's upsert waits for the
//! first one's row, then finds it live and answers as a retry.
//!
//! A key older than [`KEY_LIFETIME`] is never honoured: its row is taken over by the next create
//! with the key, and [`purge_expired_keys`] runs in the background of every server for the keys
//! nobody sends again (each stored answer holds a copy of a task, which must not outlive the
//! key).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::Duration;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    Statement,
};
use serde_json::json;

use super::crud::{insert_task, new_task};
use super::events::{self, Change};
use crate::domain::{IdempotencyKey, NewTask, Owner, now_micros};
use crate::entity::{idempotency_key, task};
use crate::error::AppError;
use crate::service::tenant::{self, Scoped};

/// How long a key is remembered.
pub const KEY_LIFETIME: Duration = Duration::hours(24);

/// How many expired keys one statement of [`purge_expired_keys`] deletes at most: a backlog is
/// worked off in short statements that never hold many row locks at once.
const PURGE_BATCH: u64 = 1000;

/// Deletes every user's keys older than [`KEY_LIFETIME`], in batches; returns how many. A
/// maintenance statement, on behalf of no user: the only one in this crate not scoped to an
/// owner, and it only ever deletes what no request may read any more.
pub async fn purge_expired_keys(db: &DatabaseConnection) -> Result<u64, AppError> {
    use idempotency_key::Column;
    let cutoff = now_micros() - KEY_LIFETIME;
    let mut purged = 0;
    loop {
        let batch = Query::select()
            .columns([Column::UserId, Column::Key])
            .from(idempotency_key::Entity)
            .and_where(Column::CreatedAt.lt(cutoff))
            .limit(PURGE_BATCH)
            .to_owned();
        let deleted = idempotency_key::Entity::delete_many()
            .filter(Expr::tuple([Expr::col(Column::UserId), Expr::col(Column::Key)]).in_subquery(batch))
            .exec(db)
            .await?
            .rows_affected;
        purged += deleted;
        if deleted < PURGE_BATCH {
            return Ok(purged);
        }
    }
}

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
    let txn = tenant::transaction(db, owner).await?;
    if db.get_database_backend() == DbBackend::Postgres && !lock_key(&txn, owner, key).await? {
        return Err(AppError::CreateInProgress);
    }
    if claim_key(&txn, owner, key, &request, &model).await? {
        insert_task(&txn, owner, &model, &tags).await?;
        events::record(&txn, owner, &[Change::Created(&model)]).await?;
        events::commit(txn, owner).await?;
        return Ok(Created {
            task: model,
            replayed: false,
        });
    }
    // The key is live: this request is a retry of its create, or reuses it for another one.
    // Nothing was written: the transaction ends without effect when it drops.
    let stored = idempotency_key::Entity::find_for_owner(owner, key.as_str())
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a live idempotency key vanished")))?;
    answer_of(&stored, &request).unwrap_or_else(|| Err(AppError::invalid(key.reused())))
}

/// PostgreSQL: the key's advisory lock, held until the transaction ends, or `false` when another
/// transaction holds it (a create with this key is running, on any replica): refused at once
/// instead of waiting on the first one's row.
async fn lock_key(txn: &Scoped<'_>, owner: &Owner, key: &IdempotencyKey) -> Result<bool, AppError> {
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS locked",
            [format!("{}\n{}", owner.id(), key.as_str()).into()],
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get::<bool>("", "locked")?,
        None => false,
    })
}

/// Writes the key's row for this create, unless the key is live: `INSERT … ON CONFLICT (user_id,
/// key) DO UPDATE … WHERE created_at < cutoff`, so an expired key is taken over in place and a
/// live one is left alone. True when this request now owns the key. One statement, and a write:
/// on SQLite it takes the write lock before anything is read.
async fn claim_key(
    txn: &Scoped<'_>,
    owner: &Owner,
    key: &IdempotencyKey,
    request: &str,
    model: &task::Model,
) -> Result<bool, AppError> {
    use idempotency_key::Column;
    let row = idempotency_key::ActiveModel {
        user_id: Set(owner.id().to_owned()),
        key: Set(key.as_str().to_owned()),
        request: Set(request.to_owned()),
        task: Set(serde_json::to_string(model).map_err(|e| AppError::Internal(e.into()))?),
        created_at: Set(model.created_at),
    };
    let expired = Expr::col((idempotency_key::Entity, Column::CreatedAt)).lt(model.created_at - KEY_LIFETIME);
    let claimed = idempotency_key::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([Column::UserId, Column::Key])
                .update_columns([Column::Request, Column::Task, Column::CreatedAt])
                .action_and_where(expired)
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    Ok(claimed == 1)
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

#[cfg(test)]
mod tests {
    //! The background purge, against a real SQLite file.

    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    use super::*;
    use crate::domain::{Priority, Repeat, TaskTags, TaskTitle, UserId};

    async fn database() -> (tempfile::TempDir, DatabaseConnection) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("keys.db").display());
        let db = crate::db::connect(&url, None).await.expect("connect");
        crate::migrate::up::<migration::Migrator>(&db, &url, None)
            .await
            .expect("migrate");
        (dir, db)
    }

    async fn keyed_create(db: &DatabaseConnection, user: &str, key: &str) -> Owner {
        crate::testing::provision_user(db, user).await.expect("user");
        let owner = Owner::verified(UserId::parse(user).expect("user id"));
        let input = NewTask {
            title: TaskTitle::parse("keyed").expect("title"),
            description: None,
            completed: false,
            priority: Priority::default(),
            due_at: None,
            tags: TaskTags::default(),
            repeat: Repeat::None,
        };
        let key = IdempotencyKey::parse(key, vec!["key".into()]).expect("key");
        create_once(db, &CreatesInFlight::default(), &owner, input, &key)
            .await
            .expect("created");
        owner
    }

    #[tokio::test]
    async fn the_background_purge_deletes_every_users_expired_keys_and_only_those() {
        let (_dir, db) = database().await;
        let idle = keyed_create(&db, "idle-user", "old").await;
        keyed_create(&db, "active-user", "fresh").await;
        assert_eq!(purge_expired_keys(&db).await.expect("purge"), 0);
        idempotency_key::Entity::update_many()
            .col_expr(
                idempotency_key::Column::CreatedAt,
                Expr::value(now_micros() - KEY_LIFETIME - Duration::seconds(1)),
            )
            .filter(idempotency_key::Column::UserId.eq(idle.id()))
            .exec(&db)
            .await
            .expect("age the idle user's key");
        assert_eq!(purge_expired_keys(&db).await.expect("purge"), 1);
        let left: Vec<String> = idempotency_key::Entity::find()
            .all(&db)
            .await
            .expect("keys")
            .into_iter()
            .map(|row| row.key)
            .collect();
        assert_eq!(left, ["fresh"]);
    }
}
