//! Real-time task events (docs/api.md#subscriptions): the process's fan-out ([`EventHub`]), the
//! PostgreSQL listener that feeds it from every replica ([`listener`]), and the state the
//! WebSocket endpoint shares (`graphql::socket`): its limits, the per-user connection counts,
//! and the shutdown signal that closes sockets with 1001.
//!
//! Where events come from: every change records its event in its own transaction
//! (`service::tasks::events`). Right after the commit the request tells this process's hub
//! ([`Realtime::on_commit`]) and, on PostgreSQL, the announcer, which tells every replica's
//! listener ([`listener`]). SQLite has one process, so the first is all it needs.

mod hub;
pub mod listener;
pub mod metrics;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::{mpsc, watch};

pub(crate) use hub::{EventHub, Subscription};

use crate::config::Config;
use crate::domain::Owner;

/// The limits of one WebSocket (configurable: docs/api.md#subscriptions).
#[derive(Clone, Debug)]
pub(crate) struct SocketLimits {
    pub subscriptions_per_socket: usize,
    pub sockets_per_user: usize,
    pub message_bytes: usize,
    /// How often the server pings; a socket silent for two intervals is closed.
    pub ping_interval: Duration,
    /// How long a socket may stay open without `connection_init`.
    pub init_timeout: Duration,
}

/// What the WebSocket endpoint and the request path share. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Realtime {
    pub hub: EventHub,
    pub limits: SocketLimits,
    pub cors_origins: Arc<Vec<String>>,
    /// Turns true when the server starts shutting down: every socket closes with 1001.
    pub closing: watch::Receiver<bool>,
    open_sockets: Arc<AtomicUsize>,
    sockets_per_user: Arc<Mutex<HashMap<String, usize>>>,
    on_commit: Arc<dyn Fn(&Owner) + Send + Sync>,
}

impl Realtime {
    /// The state, and the sender that starts the sockets' shutdown. `replicas` (PostgreSQL)
    /// takes every committing user for [`listener::announce`].
    pub(crate) fn new(
        db: DatabaseConnection,
        config: &Config,
        replicas: Option<mpsc::UnboundedSender<String>>,
    ) -> (Self, watch::Sender<bool>) {
        let (close, closing) = watch::channel(false);
        let hub = EventHub::new(db, config.ws_event_buffer);
        let here = hub.clone();
        let realtime = Self {
            on_commit: Arc::new(move |owner: &Owner| {
                here.stream_grew(owner.id());
                if let Some(replicas) = &replicas {
                    // Closed only when the process ends.
                    let _ = replicas.send(owner.id().to_owned());
                }
            }),
            hub,
            limits: SocketLimits {
                subscriptions_per_socket: config.ws_max_subscriptions,
                sockets_per_user: config.ws_max_connections_per_user,
                message_bytes: config.ws_max_message_bytes,
                ping_interval: config.ws_ping_interval,
                init_timeout: INIT_TIMEOUT,
            },
            cors_origins: Arc::new(config.cors_origins.clone()),
            closing,
            open_sockets: Arc::new(AtomicUsize::new(0)),
            sockets_per_user: Arc::new(Mutex::new(HashMap::new())),
        };
        (realtime, close)
    }

    /// What a request calls right after it commits a change of `owner`'s tasks.
    pub(crate) fn on_commit(&self) -> Arc<dyn Fn(&Owner) + Send + Sync> {
        Arc::clone(&self.on_commit)
    }

    /// Counts an open socket until the guard drops.
    pub(crate) fn socket_opened(&self) -> SocketGuard {
        self.open_sockets.fetch_add(1, Ordering::AcqRel);
        SocketGuard {
            open: Arc::clone(&self.open_sockets),
            _metric: metrics::OpenSocket::start(),
        }
    }

    /// Counts one of `owner`'s authenticated sockets; `None` past the per-user limit.
    pub(crate) fn user_socket(&self, owner: &Owner) -> Option<UserSocket> {
        let mut counts = self
            .sockets_per_user
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(owner.id().to_owned()).or_default();
        if *count >= self.limits.sockets_per_user {
            return None;
        }
        *count += 1;
        Some(UserSocket {
            user: owner.id().to_owned(),
            counts: Arc::clone(&self.sockets_per_user),
        })
    }

    /// Waits (at most `limit`) for every socket to finish closing.
    pub(crate) async fn sockets_closed(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.open_sockets.load(Ordering::Acquire) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// How long a socket may stay open before `connection_init` (graphql-ws closes with 4408).
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// An open socket (see [`Realtime::socket_opened`]).
pub(crate) struct SocketGuard {
    open: Arc<AtomicUsize>,
    _metric: metrics::OpenSocket,
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One of a user's authenticated sockets (see [`Realtime::user_socket`]).
pub(crate) struct UserSocket {
    user: String,
    counts: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for UserSocket {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.user);
            }
        }
    }
}
