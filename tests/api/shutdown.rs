//! Graceful shutdown of the real binary: on SIGTERM it stops accepting, finishes the requests in
//! flight (bounded by `SHUTDOWN_TIMEOUT`), and exits 0.

use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use todo_api::testing::task;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::helpers::{SECRET, TestApp, http_client, new_user, token_for};

/// Guards against a hang only; nothing here asserts how fast anything is.
const PATIENCE: Duration = Duration::from_secs(60);

/// The binary, serving on a free port over a SQLite file in a temporary directory (or over a
/// database of the caller's).
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// Messages of the JSON log lines it writes to standard error.
    messages: mpsc::UnboundedReceiver<String>,
    database_url: String,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(extra_env: &[(&str, &str)]) -> Self {
        Self::start_over(None, extra_env).await
    }

    /// The binary over `database_url` (a fresh SQLite file when `None`).
    pub async fn start_over(database_url: Option<&str>, extra_env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = database_url.map_or_else(
            || format!("sqlite://{}?mode=rwc", dir.path().join("todo.db").display()),
            str::to_owned,
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_todo-api"))
            .arg("serve")
            .current_dir(dir.path())
            .env("DATABASE_URL", &database_url)
            .env("BETTER_AUTH_SECRET", SECRET)
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .envs(extra_env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the binary starts");
        let stderr = child.stderr.take().expect("stderr");
        let (sender, mut messages) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = sender.send(line);
            }
        });
        let addr = loop {
            let line = tokio::time::timeout(PATIENCE, messages.recv())
                .await
                .expect("the server logs")
                .expect("the server is running");
            let Ok(event) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if event["message"] == "todo-api listening" {
                break event["addr"].as_str().expect("addr").parse().expect("an address");
            }
        };
        Self {
            child,
            addr,
            messages,
            database_url,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn sigterm(&self) {
        let pid = self.child.id().expect("running").to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for a log line with this message.
    async fn logged(&mut self, message: &str) {
        loop {
            let line = tokio::time::timeout(PATIENCE, self.messages.recv())
                .await
                .unwrap_or_else(|_| panic!("never logged {message:?}"))
                .unwrap_or_else(|| panic!("exited without logging {message:?}"));
            if serde_json::from_str::<Value>(&line).is_ok_and(|event| event["message"] == message) {
                return;
            }
        }
    }

    pub async fn exit_status(&mut self) -> ExitStatus {
        tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("the process exits")
            .expect("wait")
    }
}

/// A create request sent up to its body: answered only once the body is finished. It returns
/// after the server asked for the body (`100 Continue`), which it does from inside the handler,
/// so the request is certainly in flight.
async fn start_slow_create(addr: SocketAddr, user: &str, title: &str) -> (TcpStream, String) {
    let body = json!({"title": title}).to_string();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        TestApp::tasks_path(user),
        token_for(user),
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    let mut interim = [0u8; 25];
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut interim))
        .await
        .expect("asked for the body")
        .expect("read");
    assert!(
        interim.starts_with(b"HTTP/1.1 100 Continue\r\n\r\n"),
        "{:?}",
        String::from_utf8_lossy(&interim)
    );
    (stream, body)
}

/// Sends the rest of a slow request and returns its status line and body.
async fn finish_slow_create(mut stream: TcpStream, body: String) -> (String, Value) {
    stream.write_all(body.as_bytes()).await.expect("write body");
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("answered")
        .expect("read");
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head.lines().next().unwrap_or_default().to_owned();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn stored_ids(database_url: &str, user: &str) -> Vec<String> {
    let db = todo_api::testing::connect(database_url).await.expect("connect");
    task::Entity::find()
        .filter(task::Column::UserId.eq(user))
        .all(&db)
        .await
        .expect("rows")
        .into_iter()
        .map(|t| t.id.to_string())
        .collect()
}

#[tokio::test]
async fn sigterm_under_load_finishes_every_request_in_flight_and_exits_0() {
    let mut server = Server::start(&[]).await;
    let user = new_user();

    // Requests certainly in flight when the signal arrives.
    let mut slow = Vec::new();
    for index in 0..5 {
        slow.push(start_slow_create(server.addr, &user, &format!("in flight {index}")).await);
    }

    // And load: clients creating tasks in a loop until the server goes away.
    let signalled = Arc::new(AtomicBool::new(false));
    let load = (0..4).map(|client_index| {
        let (url, user, signalled) = (
            server.url(&TestApp::tasks_path(&user)),
            user.clone(),
            signalled.clone(),
        );
        tokio::spawn(async move {
            let client = http_client();
            let mut acknowledged = Vec::new();
            for index in 0.. {
                let sent = client
                    .post(&url)
                    .bearer_auth(token_for(&user))
                    .json(&json!({"title": format!("load {client_index}/{index}")}))
                    .send()
                    .await;
                match sent {
                    Ok(response) => {
                        assert_eq!(
                            response.status(),
                            StatusCode::CREATED,
                            "an answered request failed"
                        );
                        let body: Value = response.json().await.expect("json");
                        acknowledged.push(body["id"].as_str().expect("id").to_owned());
                    }
                    // After the signal the server stops accepting and closes idle connections:
                    // a request that could not be sent is not one in flight.
                    Err(_) if signalled.load(Ordering::SeqCst) => break,
                    Err(error) => panic!("a request failed before shutdown: {error}"),
                }
            }
            acknowledged
        })
    });
    let load: Vec<_> = load.collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    signalled.store(true, Ordering::SeqCst);
    server.sigterm().await;
    server
        .logged("shutdown signal received: finishing in-flight requests")
        .await;

    // No longer accepting: new connections are refused (polled, the listener closes promptly).
    let refused = async {
        loop {
            if TcpStream::connect(server.addr).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(PATIENCE, refused)
        .await
        .expect("stops accepting new connections");

    // Every request in flight is finished and acknowledged.
    let mut acknowledged = Vec::new();
    for (stream, body) in slow {
        let (status, task) = finish_slow_create(stream, body).await;
        assert!(status.starts_with("HTTP/1.1 201"), "{status}: {task}");
        acknowledged.push(task["id"].as_str().expect("id").to_owned());
    }
    let mut load_acknowledged = 0;
    for client in load {
        let client = tokio::time::timeout(PATIENCE, client)
            .await
            .expect("the server closed the load's connections");
        let ids = client.expect("load client");
        load_acknowledged += ids.len();
        acknowledged.extend(ids);
    }
    assert!(load_acknowledged > 0, "the load ran");

    let status = server.exit_status().await;
    assert_eq!(status.code(), Some(0), "{status}");
    server.logged("todo-api stopped").await;

    let stored = stored_ids(&server.database_url, &user).await;
    for id in &acknowledged {
        assert!(stored.contains(id), "acknowledged task {id} is missing");
    }
}

#[tokio::test]
async fn a_request_that_never_finishes_does_not_hold_shutdown_beyond_its_timeout() {
    let mut server = Server::start(&[("SHUTDOWN_TIMEOUT", "1s"), ("REQUEST_TIMEOUT", "1h")]).await;
    let user = new_user();
    // Its body never comes.
    let (_stuck, _) = start_slow_create(server.addr, &user, "never finished").await;

    server.sigterm().await;
    let status = server.exit_status().await;
    assert_eq!(status.code(), Some(0), "{status}");
    server.logged("todo-api stopped").await;
}
