//! PostgreSQL: one `LISTEN task_events` connection per process, direct (Neon's pooler drops
//! `LISTEN`), feeding the hub. Each event is announced by a trigger when its transaction commits
//! (`{"u": user, "s": seq}`); the hub reads it once for that user's subscribers here.
//!
//! Notifications sent while the listener is disconnected are lost, the events are not: after
//! every (re)connection, `LISTEN` first, then every feed reads what it has not broadcast yet.
//! Reconnection backs off from 250 ms to 10 s.

use std::time::Duration;

use sea_orm::sqlx::postgres::{PgConnectOptions, PgListener};
use serde::Deserialize;

use super::hub::EventHub;
use super::metrics;

/// The channel the events trigger notifies (migration `m20261204_150000_create_task_events`).
pub const CHANNEL: &str = "task_events";
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(10);

#[derive(Deserialize)]
struct Announcement {
    u: String,
    s: i64,
}

/// Why a URL cannot carry the listener.
pub fn refuse_pooler(url: &str) -> Result<(), String> {
    match url.parse::<PgConnectOptions>() {
        Ok(options) if options.get_host().contains("-pooler") => Err(format!(
            "the task events listener needs a direct connection, and {} is a pooler (it drops \
             LISTEN): set LISTEN_DATABASE_URL (or MIGRATION_DATABASE_URL) to the direct URL",
            options.get_host()
        )),
        _ => Ok(()),
    }
}

/// Listens until the process ends.
pub async fn listen(url: String, hub: EventHub) {
    let mut delay = RETRY_FIRST;
    let mut connected_before = false;
    loop {
        match connect(&url).await {
            Ok(mut listener) => {
                if connected_before {
                    metrics::listener_reconnected();
                    tracing::info!("task events listener reconnected: catching every subscriber up");
                }
                connected_before = true;
                delay = RETRY_FIRST;
                hub.catch_up_all();
                loop {
                    match listener.try_recv().await {
                        Ok(Some(notification)) => {
                            match serde_json::from_str::<Announcement>(notification.payload()) {
                                Ok(event) => hub.stream_grew(&event.u, Some(event.s)),
                                Err(error) => {
                                    tracing::warn!(error = %error, "unreadable task event notification")
                                }
                            }
                        }
                        Ok(None) => {
                            tracing::warn!("task events listener lost its connection: reconnecting");
                            break;
                        }
                        Err(error) => {
                            tracing::warn!(error = %error, "task events listener failed: reconnecting");
                            break;
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, retry_in = ?delay, "task events listener cannot connect");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(RETRY_MAX);
            }
        }
    }
}

async fn connect(url: &str) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
