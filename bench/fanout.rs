//! The fan-out benchmark's load (issue 13; `bench/fanout.sh` runs it): opens S subscriptions
//! (`Subscription.taskEvents` over graphql-transport-ws, one socket each) spread round-robin over
//! the first U users of a `bench-tool seed` file, measures the server's RSS before and after
//! (per open subscription), then creates tasks through REST at R per second (open loop: a write
//! is sent on schedule whether or not earlier ones answered), spread round-robin over the U
//! users, and measures each event's delivery latency: its arrival at the subscriber minus its
//! `occurredAt` (stamped inside the writing transaction, just before the commit; the server and
//! this tool share the machine's clock), so the latency counted includes the commit itself.
//!
//! Every write must reach each of its user's subscribers exactly once: the report counts the
//! deliveries expected, received, missing and duplicated.
//!
//! `cargo run --release --example bench-fanout -- --help`

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::Parser;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{Mutex, Semaphore};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// Title prefix of the tasks written (`bench-tool reset` deletes them).
const WRITTEN_PREFIX: &str = "wrk fanout";
const SUBSCRIPTION: &str = "subscription { taskEvents { cursor kind taskId occurredAt } }";

#[derive(Parser)]
#[command(about = "Fan-out load of bench/fanout.sh")]
struct Cli {
    /// The server, e.g. http://127.0.0.1:18080
    #[arg(long)]
    url: String,
    /// `bench-tool seed`'s output: `user_id token …` per line.
    #[arg(long)]
    users_file: PathBuf,
    /// Users the subscriptions and writes are spread over.
    #[arg(long)]
    users: usize,
    /// Open subscriptions (one socket each).
    #[arg(long)]
    subscriptions: usize,
    /// Task creations per second through REST.
    #[arg(long)]
    rate: u64,
    /// How long the writes run, in seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// The server's process id, to read its RSS.
    #[arg(long)]
    server_pid: u32,
    /// Sockets opened at once while connecting.
    #[arg(long, default_value_t = 100)]
    connect_concurrency: usize,
    /// Open and authenticate the sockets without subscribing, report the RSS and stop: what a
    /// socket costs apart from its subscription.
    #[arg(long)]
    sockets_only: bool,
}

struct User {
    id: String,
    token: String,
}

/// What the subscribers saw.
#[derive(Default)]
struct Observed {
    latencies_us: Vec<u64>,
    duplicates: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let users = read_users(&cli.users_file, cli.users)?;
    let ws_url = format!("{}/graphql/ws", cli.url.replacen("http", "ws", 1));
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;

    settle().await;
    let rss_before = rss_kib(cli.server_pid)?;
    let observed = Arc::new(Mutex::new(Observed::default()));
    let received = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(cli.connect_concurrency));
    let mut subscribers = Vec::with_capacity(cli.subscriptions);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<anyhow::Result<()>>(cli.subscriptions);
    for index in 0..cli.subscriptions {
        let user = &users[index % users.len()];
        let (url, token, gate, ready) = (
            ws_url.clone(),
            user.token.clone(),
            Arc::clone(&gate),
            ready_tx.clone(),
        );
        let (observed, received) = (Arc::clone(&observed), Arc::clone(&received));
        let sockets_only = cli.sockets_only;
        subscribers.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await.expect("semaphore");
            let socket = match subscribe(&url, &token, !sockets_only).await {
                Ok(socket) => socket,
                Err(error) => {
                    let _ = ready.send(Err(error)).await;
                    return;
                }
            };
            drop(permit);
            let _ = ready.send(Ok(())).await;
            listen(socket, observed, received).await;
        }));
    }
    drop(ready_tx);
    for _ in 0..cli.subscriptions {
        match ready_rx.recv().await {
            Some(Ok(())) => {}
            Some(Err(error)) => bail!("a subscription failed to open: {error:#}"),
            None => bail!("the subscribers ended early"),
        }
    }
    let connect_time = started.elapsed();
    let awaited = if cli.sockets_only {
        "ws_open_sockets"
    } else {
        "ws_active_subscriptions"
    };
    wait_for_metric(&http, &cli.url, awaited, cli.subscriptions as f64).await?;
    settle().await;
    let rss_after = rss_kib(cli.server_pid)?;
    let per_subscription = (rss_after.saturating_sub(rss_before) as f64 * 1024.0) / cli.subscriptions as f64;
    println!(
        "subscriptions\t{}\tusers\t{}\topened_in_s\t{:.1}\trss_before_mib\t{:.1}\trss_after_mib\t{:.1}\trss_per_subscription_kb\t{:.1}",
        cli.subscriptions,
        users.len(),
        connect_time.as_secs_f64(),
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        per_subscription / 1000.0
    );
    if cli.sockets_only {
        return Ok(());
    }

    // The writes: open loop at `rate` per second.
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / cli.rate as f64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let total = cli.rate * cli.seconds;
    let mut writers = Vec::with_capacity(total as usize);
    let write_start = Instant::now();
    for index in 0..total as usize {
        ticker.tick().await;
        let user = index % users.len();
        let request = http
            .post(format!("{}/api/{}/tasks", cli.url, users[user].id))
            .bearer_auth(&users[user].token)
            .json(&json!({"title": format!("{WRITTEN_PREFIX} {index}")}));
        writers.push(tokio::spawn(async move {
            let created = matches!(request.send().await, Ok(response) if response.status().as_u16() == 201);
            (user, created)
        }));
    }
    let (mut writes_ok, mut writes_failed, mut expected) = (0u64, 0u64, 0u64);
    for writer in writers {
        let (user, created) = writer.await?;
        if created {
            writes_ok += 1;
            // Each of the user's subscribers receives the event (subscription i is user i % U).
            expected += cli.subscriptions.saturating_sub(user).div_ceil(users.len()) as u64;
        } else {
            writes_failed += 1;
        }
    }
    let write_time = write_start.elapsed();
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let observed = observed.lock().await;
    let mut latencies = observed.latencies_us.clone();
    latencies.sort_unstable();
    let quantile = |q: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
        latencies[rank - 1] as f64 / 1000.0
    };
    let received = received.load(Ordering::Relaxed);
    println!(
        "rate\t{}\twrites_ok\t{}\twrites_failed\t{}\twrite_rate_achieved\t{:.0}\tdeliveries_expected\t{}\treceived\t{}\tmissing\t{}\tduplicates\t{}\tp50_ms\t{:.1}\tp90_ms\t{:.1}\tp99_ms\t{:.1}\tmax_ms\t{:.1}",
        cli.rate,
        writes_ok,
        writes_failed,
        writes_ok as f64 / write_time.as_secs_f64(),
        expected,
        received,
        expected.saturating_sub(received),
        observed.duplicates,
        quantile(0.50),
        quantile(0.90),
        quantile(0.99),
        quantile(1.0),
    );
    for subscriber in subscribers {
        subscriber.abort();
    }
    Ok(())
}

fn read_users(path: &PathBuf, count: usize) -> anyhow::Result<Vec<User>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let users: Vec<User> = text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            Some(User {
                id: fields.next()?.to_owned(),
                token: fields.next()?.to_owned(),
            })
        })
        .take(count)
        .collect();
    if users.len() < count {
        bail!("{} holds {} users, not {count}", path.display(), users.len());
    }
    Ok(users)
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a socket, authenticates it and subscribes (without a cursor) if `and_subscribe`.
async fn subscribe(url: &str, token: &str, and_subscribe: bool) -> anyhow::Result<Socket> {
    let mut request = url.into_client_request()?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}});
    socket.send(Message::Text(init.to_string().into())).await?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let message: Value = serde_json::from_str(&text)?;
                if message["type"] == "connection_ack" {
                    break;
                }
            }
            Some(Ok(Message::Close(frame))) => bail!("closed: {frame:?}"),
            Some(Ok(_)) => {}
            Some(Err(error)) => return Err(error.into()),
            None => bail!("the socket ended before connection_ack"),
        }
    }
    if and_subscribe {
        let subscribe = json!({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}});
        socket.send(Message::Text(subscribe.to_string().into())).await?;
    }
    Ok(socket)
}

/// Receives events until the socket ends, answering pings.
async fn listen(mut socket: Socket, observed: Arc<Mutex<Observed>>, received: Arc<AtomicU64>) {
    let mut seen = HashSet::new();
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else { continue };
        let arrived = Utc::now();
        let Ok(message) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        match message["type"].as_str() {
            Some("ping") => {
                let pong = json!({"type": "pong"}).to_string();
                if socket.send(Message::Text(pong.into())).await.is_err() {
                    return;
                }
            }
            Some("next") => {
                let event = &message["payload"]["data"]["taskEvents"];
                let Some(occurred) = event["occurredAt"]
                    .as_str()
                    .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
                else {
                    eprintln!("unexpected message: {message}");
                    continue;
                };
                let latency = (arrived - occurred.with_timezone(&Utc))
                    .num_microseconds()
                    .unwrap_or(0);
                let fresh = seen.insert(event["cursor"].as_str().unwrap_or_default().to_owned());
                let mut observed = observed.lock().await;
                if fresh {
                    received.fetch_add(1, Ordering::Relaxed);
                    observed.latencies_us.push(latency.max(0) as u64);
                } else {
                    observed.duplicates += 1;
                }
            }
            _ => eprintln!("unexpected message: {message}"),
        }
    }
}

/// The server's resident memory (VmRSS), KiB.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .context("no VmRSS")
}

/// A moment for the allocator and the sockets to settle before RSS is read.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(2)).await;
}

/// Waits until the server's metric `name` reaches `at_least`.
async fn wait_for_metric(http: &reqwest::Client, url: &str, name: &str, at_least: f64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = http.get(format!("{url}/metrics")).send().await?.text().await?;
        let value = text
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or(0.0);
        if value >= at_least {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{name} stayed at {value}, below {at_least}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
