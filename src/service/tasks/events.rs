//! Task events: every change of a task is recorded as one event, in the transaction that makes
//! the change (an outbox), so an acknowledged change always has its event and a refused or
//! rolled-back one never does.
//!
//! Events are numbered within their user's stream by `task_event_streams`: a change takes the
//! next numbers with one upsert, which holds the user's counter row until the transaction ends
//! (PostgreSQL; SQLite runs one writer at a time). So a user's events are numbered in commit
//! order, without gaps, and a reader resuming "after N" can never skip an event that commits
//! later (ids from a sequence are taken at insert and may commit out of order). The counter is
//! taken after the change's own writes, so every writing transaction locks its task rows first
//! and the counter last: two writers of one user never wait on each other in opposite orders.
//! Each event is dated no earlier than the user's previous one (`last_at`), so a user's events
//! are in time order too and the purge by age removes a prefix of a stream: an `after` cursor
//! older than the oldest retained event is then recognisable (`CURSOR_EXPIRED`).

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, TransactionTrait,
};
use uuid::Uuid;

use crate::domain::{FieldError, Owner, now_micros};
use crate::entity::{task, task_event, task_event_stream};
use crate::error::AppError;
use crate::service::tenant::{self, Scoped};

/// What a change did to a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Created,
    Updated,
    Deleted,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "created" => Some(Self::Created),
            "updated" => Some(Self::Updated),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }
}

/// One change to record: a task created or updated (as the change left it), or deleted.
pub(super) enum Change<'a> {
    Created(&'a task::Model),
    Updated(&'a task::Model),
    Deleted(Uuid),
}

impl Change<'_> {
    fn kind(&self) -> EventKind {
        match self {
            Self::Created(_) => EventKind::Created,
            Self::Updated(_) => EventKind::Updated,
            Self::Deleted(_) => EventKind::Deleted,
        }
    }

    fn task_id(&self) -> Uuid {
        match self {
            Self::Created(task) | Self::Updated(task) => task.id,
            Self::Deleted(id) => *id,
        }
    }

    fn snapshot(&self) -> Result<Option<String>, AppError> {
        match self {
            Self::Created(task) | Self::Updated(task) => serde_json::to_string(task)
                .map(Some)
                .map_err(|e| AppError::Internal(e.into())),
            Self::Deleted(_) => Ok(None),
        }
    }
}

/// Records `changes`, in order, as the owner's next events, in the caller's transaction after
/// its other writes: the counter's upsert and the events' insert (one statement on PostgreSQL,
/// two on SQLite, where a statement costs no round trip).
pub(super) async fn record(
    txn: &impl ConnectionTrait,
    owner: &Owner,
    changes: &[Change<'_>],
) -> Result<(), AppError> {
    let count = i64::try_from(changes.len()).map_err(|e| AppError::Internal(e.into()))?;
    if count == 0 {
        return Ok(());
    }
    if txn.get_database_backend() == DbBackend::Postgres {
        return record_in_one_statement(txn, owner, changes).await;
    }
    let (last_seq, at) = take_numbers(txn, owner, count, now_micros()).await?;
    let first_seq = last_seq - count + 1;
    let mut rows = Vec::with_capacity(changes.len());
    for (seq, change) in (first_seq..).zip(changes) {
        rows.push(task_event::ActiveModel {
            user_id: Set(owner.id().to_owned()),
            seq: Set(seq),
            kind: Set(change.kind().as_str().to_owned()),
            task_id: Set(change.task_id()),
            task: Set(change.snapshot()?),
            occurred_at: Set(at),
        });
    }
    task_event::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// PostgreSQL: [`record`] as one statement (one round trip): the counter's upsert in a
/// `WITH`, whose numbers and time the events' insert takes.
async fn record_in_one_statement(
    txn: &impl ConnectionTrait,
    owner: &Owner,
    changes: &[Change<'_>],
) -> Result<(), AppError> {
    let count = changes.len();
    let mut values: Vec<sea_orm::Value> = vec![
        owner.id().into(),
        i64::try_from(count)
            .map_err(|e| AppError::Internal(e.into()))?
            .into(),
        now_micros().into(),
    ];
    let mut rows = Vec::with_capacity(count);
    for (k, change) in (1_i64..).zip(changes) {
        let n = values.len();
        rows.push(format!(
            "(${}::bigint, ${}::text, ${}::uuid, ${}::text)",
            n + 1,
            n + 2,
            n + 3,
            n + 4
        ));
        values.extend([
            k.into(),
            change.kind().as_str().into(),
            change.task_id().into(),
            change.snapshot()?.into(),
        ]);
    }
    let sql = format!(
        "WITH counter AS (
             INSERT INTO task_event_streams (user_id, last_seq, last_at) VALUES ($1, $2, $3)
             ON CONFLICT (user_id) DO UPDATE
             SET last_seq = task_event_streams.last_seq + EXCLUDED.last_seq,
                 last_at = GREATEST(task_event_streams.last_at, EXCLUDED.last_at)
             RETURNING last_seq, last_at)
         INSERT INTO task_events (user_id, seq, kind, task_id, task, occurred_at)
         SELECT $1, counter.last_seq - $2 + change.k, change.kind, change.task_id, change.task,
                counter.last_at
         FROM counter, (VALUES {}) AS change (k, kind, task_id, task)",
        rows.join(", ")
    );
    txn.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values))
        .await?;
    Ok(())
}

/// Advances the owner's counter by `count` (creating it at `count`); returns the number of the
/// last event taken and the time to date the events with: `now`, or the previous event's time
/// if that is later (another replica's clock ahead of this one's).
async fn take_numbers(
    txn: &impl ConnectionTrait,
    owner: &Owner,
    count: i64,
    now: DateTime<Utc>,
) -> Result<(i64, DateTime<Utc>), AppError> {
    let backend = txn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "INSERT INTO task_event_streams (user_id, last_seq, last_at) VALUES ($1, $2, $3)
             ON CONFLICT (user_id) DO UPDATE
             SET last_seq = task_event_streams.last_seq + EXCLUDED.last_seq,
                 last_at = GREATEST(task_event_streams.last_at, EXCLUDED.last_at)
             RETURNING last_seq, last_at"
        }
        // Both times are written by this application in one fixed-width UTC format, so text
        // order is time order.
        _ => {
            "INSERT INTO task_event_streams (user_id, last_seq, last_at) VALUES (?, ?, ?)
             ON CONFLICT (user_id) DO UPDATE
             SET last_seq = task_event_streams.last_seq + excluded.last_seq,
                 last_at = MAX(task_event_streams.last_at, excluded.last_at)
             RETURNING last_seq, last_at"
        }
    };
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [owner.id().into(), count.into(), now.into()],
        ))
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the event counter returned no row")))?;
    Ok((row.try_get("", "last_seq")?, row.try_get("", "last_at")?))
}

tokio::task_local! {
    /// What to tell when a change of a user's tasks commits, for the duration of a request
    /// ([`announcing`]).
    static ON_COMMIT: Arc<dyn Fn(&Owner) + Send + Sync>;
}

/// Runs `work` (a request) so that every change it commits is told to `on_commit` (the
/// process's real-time fan-out), right after the commit.
pub async fn announcing<F: Future>(on_commit: Arc<dyn Fn(&Owner) + Send + Sync>, work: F) -> F::Output {
    ON_COMMIT.scope(on_commit, work).await
}

/// Commits `txn`, which recorded events of `owner`'s, then tells the request's `on_commit`
/// ([`announcing`]): this process's subscribers and, on PostgreSQL, the announcer that tells
/// the other replicas.
pub(super) async fn commit(txn: Scoped<'_>, owner: &Owner) -> Result<(), AppError> {
    txn.commit().await?;
    let _ = ON_COMMIT.try_with(|on_commit| on_commit(owner));
    Ok(())
}

/// A page of the owner's events, oldest first.
#[derive(Debug)]
pub struct EventPage {
    pub events: Vec<task_event::Model>,
    /// More events follow the last one of this page (now; more may commit later).
    pub has_next_page: bool,
}

/// At most `first` of the owner's events after number `after` (from the oldest retained one
/// without it). An `after` whose next events were purged is [`AppError::CursorExpired`]. An
/// `after` past the owner's newest event is refused (`after` invalid): no cursor of the owner's
/// can be there (an event's number is handed out only once it committed), and taking it as a
/// position would skip the owner's next events. Another user's cursor is such a one, or a
/// position in the owner's own stream.
pub async fn events_after(
    db: &DatabaseConnection,
    owner: &Owner,
    after: Option<i64>,
    first: u64,
) -> Result<EventPage, AppError> {
    let scope = tenant::scope(db, owner).await?;
    let mut events = page_after(&scope, owner, after, first).await?;
    if let Some(after) = after {
        let next = after.saturating_add(1);
        match events.first().map(|event| event.seq) {
            Some(seq) if seq == next => {}
            // Numbers have no gaps and commit in order: an event past `next` is visible only
            // once `next` committed, so `next` was purged.
            Some(_) => return Err(AppError::CursorExpired),
            // Nothing after `after`: up to date, or `next` was purged, or it committed since
            // the page was read. The counter, read now, tells; if it is past `after`, every
            // event up to it has committed, so a second read finds `next` unless it was purged.
            None => {
                let newest = newest(&scope, owner).await?;
                if newest < after {
                    return Err(cursor_past_the_end());
                }
                if newest > after {
                    events = page_after(&scope, owner, Some(after), first).await?;
                    if events.first().map(|event| event.seq) != Some(next) {
                        return Err(AppError::CursorExpired);
                    }
                }
            }
        }
    }
    let has_next_page = events.len() as u64 > first;
    events.truncate(usize::try_from(first).unwrap_or(usize::MAX));
    Ok(EventPage {
        events,
        has_next_page,
    })
}

/// The refusal of an `after` past the end of the caller's stream (see [`events_after`]).
pub fn cursor_past_the_end() -> AppError {
    AppError::invalid(FieldError::new(
        "after",
        "value_error",
        "after is past the end of your task events: not a cursor of yours",
    ))
}

/// Up to `first + 1` of the owner's events after `after`, oldest first.
async fn page_after(
    db: &impl ConnectionTrait,
    owner: &Owner,
    after: Option<i64>,
    first: u64,
) -> Result<Vec<task_event::Model>, AppError> {
    let mut query = task_event::Entity::find_for_owner(owner);
    if let Some(after) = after {
        query = query.filter(task_event::Column::Seq.gt(after));
    }
    Ok(query
        .order_by_asc(task_event::Column::Seq)
        .limit(first.saturating_add(1))
        .all(db)
        .await?)
}

/// The number of the owner's newest event (0 before the first).
pub async fn newest_event(db: &DatabaseConnection, owner: &Owner) -> Result<i64, AppError> {
    newest(&tenant::scope(db, owner).await?, owner).await
}

async fn newest(db: &impl ConnectionTrait, owner: &Owner) -> Result<i64, AppError> {
    Ok(task_event_stream::Entity::find_for_owner(owner)
        .select_only()
        .column(task_event_stream::Column::LastSeq)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .unwrap_or(0))
}

/// How many events one statement of [`purge_expired_events`] deletes at most.
const PURGE_BATCH: u64 = 1000;

/// Deletes every user's events older than `retention`, in batches of [`PURGE_BATCH`] (each its
/// own short transaction); returns how many. On behalf of no user: on PostgreSQL it names the
/// cut-off (`app.purge_events_before`), which is all row-level security lets it see.
pub async fn purge_expired_events(
    db: &DatabaseConnection,
    retention: chrono::Duration,
) -> Result<u64, AppError> {
    use task_event::Column;
    // A retention longer than the calendar allows keeps everything.
    let Some(cutoff) = now_micros().checked_sub_signed(retention) else {
        return Ok(0);
    };
    let backend = db.get_database_backend();
    let mut purged = 0;
    loop {
        let txn = db.begin().await?;
        if backend == DbBackend::Postgres {
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                "SELECT set_config('app.purge_events_before', $1, true)",
                [cutoff.to_rfc3339().into()],
            ))
            .await?;
        }
        let batch = Query::select()
            .columns([Column::UserId, Column::Seq])
            .from(task_event::Entity)
            .and_where(Column::OccurredAt.lt(cutoff))
            .limit(PURGE_BATCH)
            .to_owned();
        let deleted = task_event::Entity::delete_many()
            .filter(Expr::tuple([Expr::col(Column::UserId), Expr::col(Column::Seq)]).in_subquery(batch))
            .exec(&txn)
            .await?
            .rows_affected;
        txn.commit().await?;
        purged += deleted;
        if deleted < PURGE_BATCH {
            return Ok(purged);
        }
    }
}
