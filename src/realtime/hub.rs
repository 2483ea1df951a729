//! The process's fan-out of task events to its subscribers.
//!
//! One feed per user who has a subscriber in this process: a bounded broadcast channel and the
//! number of the last event the process has sent into it. When told that a user's stream grew
//! (a change committed here, or a `NOTIFY` from any replica), the hub reads the new events once,
//! whatever the number of that user's subscribers, and broadcasts them; a user without
//! subscribers here costs nothing. Reads for one user run one at a time, and a burst of
//! notifications while one runs is answered by a single further read.
//!
//! A subscriber that falls more than `WS_EVENT_BUFFER` events (256) behind is not silently
//! skipped forward: its receiver reports the lag and the subscription ends with
//! `SLOW_CONSUMER`. The bound is per user feed and process.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use sea_orm::DatabaseConnection;
use tokio::sync::broadcast;

use crate::domain::Owner;
use crate::entity::task_event;
use crate::error::AppError;
use crate::service::tasks::{events_after, newest_event};

/// Events read per statement when a feed catches up.
const READ_BATCH: u64 = 200;

/// The process's fan-out: see the module's documentation. Cheap to clone.
#[derive(Clone)]
pub(crate) struct EventHub(Arc<Inner>);

struct Inner {
    db: DatabaseConnection,
    /// Events a subscriber may fall behind before it is ended with `SLOW_CONSUMER`.
    capacity: usize,
    feeds: Mutex<HashMap<String, Arc<Feed>>>,
}

struct Feed {
    owner: Owner,
    sender: broadcast::Sender<Arc<task_event::Model>>,
    /// The number of the last event broadcast; the lock also makes reads one at a time.
    sent_through: tokio::sync::Mutex<i64>,
    /// A read was asked for while one ran: the running one reads again when done.
    again: AtomicBool,
    subscribers: AtomicUsize,
}

/// A subscriber's place in its user's feed. Dropping it unsubscribes.
pub(crate) struct Subscription {
    pub receiver: broadcast::Receiver<Arc<task_event::Model>>,
    /// The number of the user's newest event when the subscription started.
    pub newest_at_start: i64,
    feed: Arc<Feed>,
    hub: EventHub,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if self.feed.subscribers.fetch_sub(1, Ordering::AcqRel) == 1 {
            let mut feeds = self.hub.0.feeds.lock().unwrap_or_else(PoisonError::into_inner);
            // Still unused under the map's lock (no subscriber arrived meanwhile): forget it.
            if self.feed.subscribers.load(Ordering::Acquire) == 0 {
                feeds.remove(self.feed.owner.id());
            }
        }
    }
}

impl EventHub {
    pub(crate) fn new(db: DatabaseConnection, capacity: usize) -> Self {
        Self(Arc::new(Inner {
            db,
            capacity: capacity.max(1),
            feeds: Mutex::new(HashMap::new()),
        }))
    }

    /// Subscribes to `owner`'s events: the receiver gets every event that commits after this
    /// call returns (and maybe some before: compare numbers).
    pub(crate) async fn subscribe(&self, owner: &Owner) -> Result<Subscription, AppError> {
        let feed = {
            let mut feeds = self.0.feeds.lock().unwrap_or_else(PoisonError::into_inner);
            let feed = feeds.entry(owner.id().to_owned()).or_insert_with(|| {
                Arc::new(Feed {
                    owner: owner.clone(),
                    sender: broadcast::channel(self.0.capacity).0,
                    // Not read yet: the first subscriber's read below sets it.
                    sent_through: tokio::sync::Mutex::new(-1),
                    again: AtomicBool::new(false),
                    subscribers: AtomicUsize::new(0),
                })
            });
            feed.subscribers.fetch_add(1, Ordering::AcqRel);
            Arc::clone(feed)
        };
        let receiver = feed.sender.subscribe();
        // Built before the read below, so a failed read still unsubscribes (on drop).
        let mut subscription = Subscription {
            receiver,
            newest_at_start: 0,
            feed: Arc::clone(&feed),
            hub: self.clone(),
        };
        // Read after subscribing: every event past this number reaches the receiver.
        let newest = newest_event(&self.0.db, owner).await?;
        {
            let mut sent = feed.sent_through.lock().await;
            if *sent < 0 {
                *sent = newest;
            }
        }
        subscription.newest_at_start = newest;
        Ok(subscription)
    }

    /// `user_id`'s stream grew: if anyone here subscribes to that user, read what this process
    /// has not broadcast yet and broadcast it.
    pub(crate) fn stream_grew(&self, user_id: &str) {
        let feed = {
            let feeds = self.0.feeds.lock().unwrap_or_else(PoisonError::into_inner);
            match feeds.get(user_id) {
                Some(feed) => Arc::clone(feed),
                None => return,
            }
        };
        self.spawn_read(feed);
    }

    /// Every feed reads what it missed: after the listener was disconnected, notifications sent
    /// meanwhile are lost, the events are not.
    pub(crate) fn catch_up_all(&self) {
        let feeds: Vec<Arc<Feed>> = {
            let feeds = self.0.feeds.lock().unwrap_or_else(PoisonError::into_inner);
            feeds.values().cloned().collect()
        };
        for feed in feeds {
            self.spawn_read(feed);
        }
    }

    fn spawn_read(&self, feed: Arc<Feed>) {
        feed.again.store(true, Ordering::Release);
        let db = self.0.db.clone();
        tokio::spawn(async move {
            // One reader at a time; a reader that finds `again` cleared has nothing to add.
            let mut sent = feed.sent_through.lock().await;
            while feed.again.swap(false, Ordering::AcqRel) {
                if let Err(error) = broadcast_new(&db, &feed, &mut sent).await {
                    tracing::warn!(error = %error, "task events not read for their subscribers");
                }
            }
        });
    }
}

/// Reads the feed's events after `sent` and broadcasts them, advancing `sent`.
async fn broadcast_new(db: &DatabaseConnection, feed: &Feed, sent: &mut i64) -> Result<(), AppError> {
    loop {
        let page = match events_after(db, &feed.owner, Some(*sent), READ_BATCH).await {
            Ok(page) => page,
            // Events past the retention were purged under an idle feed: start from what is
            // kept (a subscriber that needed the purged ones finds out when it reads them).
            Err(AppError::CursorExpired) => events_after(db, &feed.owner, None, READ_BATCH).await?,
            Err(error) => return Err(error),
        };
        for event in page.events {
            *sent = event.seq;
            // No receiver at the moment is fine: the feed goes when its last subscriber does.
            let _ = feed.sender.send(Arc::new(event));
        }
        if !page.has_next_page {
            return Ok(());
        }
    }
}
