//! `Subscription.taskEvents(after)`: the caller's task events, pushed as they commit, over the
//! WebSocket at `/graphql/ws` (see `graphql::socket`).
//!
//! A subscription registers with the process's fan-out first, then replays from the events
//! table what follows `after` (without `after`: nothing, only what commits from now on), then
//! delivers live events. Every event carries its number, so the seam between replay and live
//! has neither gap nor duplicate: an event at or before the cursor is skipped, and an event past
//! the next expected one sends the subscription back to the table for what lies between.

use std::collections::VecDeque;
use std::sync::Arc;

use async_graphql::{Context, Subscription};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::error::{GqlError, GqlResult};
use super::events::{TaskEvent, decode_cursor};
use super::scope::require_owner;
use crate::domain::Owner;
use crate::entity::task_event;
use crate::error::AppError;
use crate::realtime::{EventHub, Subscription as Registration, metrics};
use crate::service::tasks::{cursor_past_the_end, events_after};
use sea_orm::DatabaseConnection;

/// Events read per statement while a subscription replays.
const REPLAY_BATCH: u64 = 100;

pub struct SubscriptionRoot;

/// What the caller can be told as it happens.
#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Every change of the caller's tasks, as it commits (on any replica): after the cursor
    /// `after` first (replayed from the stored events), then live. Without `after`, only the
    /// changes that commit from now on. Ends with `SLOW_CONSUMER` if the client falls too far
    /// behind, and with `CURSOR_EXPIRED` if `after` is older than the retained events: resume
    /// (or reload) from the last cursor received.
    async fn task_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A cursor: deliver the events after it first.")] after: Option<String>,
    ) -> Result<impl Stream<Item = GqlResult<TaskEvent>> + use<>, GqlError> {
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let scope = require_owner(ctx)?;
        let hub = ctx.data::<EventHub>().map_err(|_| {
            GqlError::from(AppError::bad_request(
                "subscriptions run over the WebSocket at /graphql/ws (graphql-transport-ws)",
            ))
        })?;
        let registration = hub.subscribe(&scope.owner).await?;
        if after.is_some_and(|after| after > registration.newest_at_start) {
            return Err(cursor_past_the_end().into());
        }
        let cursor = after.unwrap_or(registration.newest_at_start);
        let state = Delivery {
            db: scope.db.clone(),
            owner: scope.owner.clone(),
            cursor,
            pending: VecDeque::new(),
            replaying: after.is_some(),
            registration,
            finished: false,
            _active: metrics::ActiveSubscription::start(),
        };
        Ok(futures::stream::unfold(state, Delivery::next))
    }
}

/// One subscription's progress.
struct Delivery {
    db: DatabaseConnection,
    owner: Owner,
    /// The number of the last event delivered (or the starting point).
    cursor: i64,
    /// Events read and not yet delivered.
    pending: VecDeque<task_event::Model>,
    /// Reading from the table until it has nothing more after `cursor`.
    replaying: bool,
    registration: Registration,
    /// The stream ended (with an error, already delivered).
    finished: bool,
    _active: metrics::ActiveSubscription,
}

impl Delivery {
    async fn next(mut self) -> Option<(GqlResult<TaskEvent>, Self)> {
        if self.finished {
            return None;
        }
        loop {
            if let Some(event) = self.pending.pop_front() {
                if event.seq <= self.cursor {
                    continue;
                }
                self.cursor = event.seq;
                metrics::event_delivered();
                let event = TaskEvent::try_from(event).map_err(GqlError::from);
                return Some((event, self));
            }
            if self.replaying {
                match events_after(&self.db, &self.owner, Some(self.cursor), REPLAY_BATCH).await {
                    Ok(page) => {
                        self.replaying = page.has_next_page;
                        self.pending.extend(page.events);
                        continue;
                    }
                    Err(error) => return self.end(error),
                }
            }
            match self.registration.receiver.recv().await {
                Ok(event) if event.seq <= self.cursor => continue,
                Ok(event) if event.seq == self.cursor + 1 => {
                    self.pending.push_back(Arc::unwrap_or_clone(event))
                }
                // A gap (this feed began after our cursor): the table has what lies between.
                Ok(_) => self.replaying = true,
                Err(RecvError::Lagged(_)) => {
                    metrics::slow_consumer();
                    return self.end(AppError::SlowConsumer);
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }

    fn end(mut self, error: AppError) -> Option<(GqlResult<TaskEvent>, Self)> {
        self.finished = true;
        Some((Err(error.into()), self))
    }
}
