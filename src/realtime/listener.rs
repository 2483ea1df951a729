//! PostgreSQL: how replicas hear of each other's changes.
//!
//! - [`announce`]: after a change commits, its process announces the user on the channel
//!   `task_events`, in batches: whatever committed while the previous `NOTIFY` was being sent
//!   goes in the next one (`{"from": instance, "u": [user, …]}`), in a transaction of its own
//!   that does not wait for the disk. Not in the writing transaction (a trigger, say): a `NOTIFY`
//!   there takes PostgreSQL's global notification lock at every change's commit, through its
//!   flush to disk, which serialises the commits of all writers (measured in BENCHMARKS.md).
//! - [`listen`]: one `LISTEN task_events` connection per process, direct (Neon's pooler drops
//!   `LISTEN`), feeding the hub: each user named, if anyone subscribes to that user here, is read
//!   once from the events table and fanned out.
//!
//! Notifications sent while the listener is disconnected are lost, the events are not: after
//! every (re)connection, `LISTEN` first, then every feed reads what it has not broadcast yet.
//! Reconnection backs off from 250 ms to 10 s. A process that dies between a commit and its
//! announcement leaves the event unannounced: other replicas' live subscribers receive it with
//! that user's next change, or at the latest from [`catch_up_periodically`]
//! (`TASK_EVENTS_CATCH_UP_INTERVAL`); a client resuming from its cursor always does.

use std::collections::BTreeSet;
use std::time::Duration;

use sea_orm::sqlx::postgres::{PgConnectOptions, PgListener};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::hub::EventHub;
use super::metrics;

/// The channel changes are announced on.
pub const CHANNEL: &str = "task_events";
/// A payload's limit is 8000 bytes; a batch larger than this goes out in several.
const PAYLOAD_BYTES: usize = 7000;
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(10);

/// What a `NOTIFY` on [`CHANNEL`] says: the users whose streams grew, and who says so.
#[derive(Serialize, Deserialize)]
struct Announcement {
    from: String,
    u: Vec<String>,
}

/// Announces the users sent on `commits` (each a change that committed here) to every replica,
/// until the process ends. `instance` names this process, whose own listener skips what it sent
/// (its hub heard of those commits directly).
pub async fn announce(
    db: DatabaseConnection,
    instance: String,
    mut commits: mpsc::UnboundedReceiver<String>,
) {
    while let Some(first) = commits.recv().await {
        let mut users = BTreeSet::from([first]);
        while let Ok(user) = commits.try_recv() {
            users.insert(user);
        }
        for payload in payloads(&instance, users) {
            // Once more after a failure (a connection the pool had not noticed was gone).
            if let Err(error) = notify(&db, &payload).await
                && let Err(again) = notify(&db, &payload).await
            {
                tracing::warn!(error = %error, again = %again, "changes not announced to the other replicas");
            }
        }
    }
}

/// The announcements of `users`, each within [`PAYLOAD_BYTES`].
fn payloads(instance: &str, users: BTreeSet<String>) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut batch = Announcement {
        from: instance.to_owned(),
        u: Vec::new(),
    };
    let mut size = 0;
    for user in users {
        let user_size = serde_json::to_string(&user).map_or(user.len(), |json| json.len()) + 1;
        if !batch.u.is_empty() && size + user_size > PAYLOAD_BYTES {
            payloads.extend(serde_json::to_string(&batch));
            batch.u.clear();
            size = 0;
        }
        size += user_size;
        batch.u.push(user);
    }
    if !batch.u.is_empty() {
        payloads.extend(serde_json::to_string(&batch));
    }
    payloads
}

/// One `NOTIFY`, in a transaction that does not wait for its commit to reach the disk (an
/// announcement lost in a crash costs nothing the events table does not hold).
async fn notify(db: &DatabaseConnection, payload: &str) -> Result<(), sea_orm::DbErr> {
    let txn = db.begin().await?;
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $2)",
        [CHANNEL.into(), payload.into()],
    ))
    .await?;
    txn.commit().await
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

/// Every `interval`, every feed reads what it has not broadcast yet, announced or not: the
/// events a replica committed and then died before announcing reach live subscribers within one
/// interval. One short read per user with subscribers here.
pub async fn catch_up_periodically(hub: EventHub, interval: Duration) {
    let mut ticks = tokio::time::interval(interval.max(Duration::from_millis(100)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        hub.catch_up_all();
    }
}

/// Listens until the process ends (`instance`: this process, see [`announce`]).
pub async fn listen(url: String, instance: String, hub: EventHub) {
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
                                Ok(announcement) if announcement.from == instance => {}
                                Ok(announcement) => {
                                    for user in &announcement.u {
                                        hub.stream_grew(user);
                                    }
                                }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_batch_is_split_into_payloads_postgresql_accepts_and_names_every_user_once() {
        // Ids of 255 characters, some needing escapes in JSON.
        let users: BTreeSet<String> = (0..200)
            .map(|i| format!("{i:03}{}", "\"é\\".repeat(84)))
            .collect();
        let payloads = payloads("instance-1", users.clone());
        assert!(payloads.len() > 1);
        let mut named = BTreeSet::new();
        for payload in &payloads {
            assert!(payload.len() < 8000, "{} bytes", payload.len());
            let announcement: Announcement = serde_json::from_str(payload).expect("JSON");
            assert_eq!(announcement.from, "instance-1");
            for user in announcement.u {
                assert!(named.insert(user), "a user named twice");
            }
        }
        assert_eq!(named, users);
    }

    #[test]
    fn a_small_batch_is_one_payload() {
        let users = BTreeSet::from(["a".to_owned(), "b".to_owned()]);
        assert_eq!(payloads("me", users), [r#"{"from":"me","u":["a","b"]}"#]);
    }

    #[test]
    fn a_pooler_url_is_refused_for_the_listener_and_a_direct_one_accepted() {
        assert!(refuse_pooler("postgres://u@ep-cool-name-123-pooler.eu-central-1.aws.neon.tech/db").is_err());
        assert!(refuse_pooler("postgres://u@ep-cool-name-123.eu-central-1.aws.neon.tech/db").is_ok());
    }
}
