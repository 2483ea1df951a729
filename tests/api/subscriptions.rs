//! `Subscription.taskEvents` over the real protocol: a graphql-transport-ws client
//! (tokio-tungstenite) against `/graphql/ws`, on SQLite and PostgreSQL. Authentication and its
//! close codes, every change delivered with its snapshot, refusals delivering nothing, isolation,
//! resuming exactly once, the limits, heartbeats, shutdown; on PostgreSQL also two server
//! processes and the listener's connection cut and restored.

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::Method;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::graphql_helpers::data;
use crate::helpers::{
    SECRET, TestApp, new_user, now, require_postgres, sign_hs256, spawn_app, spawn_app_in, spawn_app_with,
    token_for,
};
use crate::proxy::{Proxy, upstream_of};
use crate::shutdown::Server;

/// Guards against a hang only: nothing here asserts how fast anything is.
const PATIENCE: Duration = Duration::from_secs(20);

const SUBSCRIBE: &str = "subscription($after: String) {
  taskEvents(after: $after) { cursor kind taskId task { id title completed version } }
}";

struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How an upgrade may be dressed.
#[derive(Default)]
struct Upgrade<'a> {
    path: Option<&'a str>,
    origin: Option<&'a str>,
    authorization: Option<String>,
    no_protocol: bool,
}

async fn open(addr: SocketAddr, upgrade: Upgrade<'_>) -> Result<Socket, WsError> {
    let mut request = format!("ws://{addr}{}", upgrade.path.unwrap_or("/graphql/ws"))
        .into_client_request()
        .expect("a request");
    let headers = request.headers_mut();
    if !upgrade.no_protocol {
        headers.insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
    }
    if let Some(origin) = upgrade.origin {
        headers.insert("origin", HeaderValue::from_str(origin).expect("origin"));
    }
    if let Some(authorization) = upgrade.authorization {
        headers.insert(
            "authorization",
            HeaderValue::from_str(&authorization).expect("header"),
        );
    }
    let (ws, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(Socket { ws })
}

impl Socket {
    /// Opened at `/graphql/ws` and acknowledged for `user`.
    async fn for_user(addr: SocketAddr, user: &str) -> Self {
        let mut socket = open(addr, Upgrade::default()).await.expect("upgrade");
        socket
            .send(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", token_for(user))}}))
            .await;
        assert_eq!(socket.next_json().await["type"], "connection_ack");
        socket
    }

    async fn send(&mut self, message: Value) {
        self.ws
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("send");
    }

    async fn subscribe(&mut self, id: &str, after: Option<&str>) {
        self.send(json!({"id": id, "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": {"after": after}}}))
            .await;
    }

    /// The next protocol message, answering the server's pings on the way.
    async fn next_json(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("a message in time")
                .expect("the socket is open")
                .expect("a readable message");
            match message {
                Message::Text(text) => {
                    let value: Value = serde_json::from_str(&text).expect("JSON");
                    if value["type"] == "ping" {
                        self.send(json!({"type": "pong"})).await;
                        continue;
                    }
                    return value;
                }
                Message::Close(frame) => panic!("closed: {frame:?}"),
                _ => {}
            }
        }
    }

    /// The next event of subscription `id`.
    async fn next_event(&mut self, id: &str) -> Value {
        let message = self.next_json().await;
        assert_eq!(
            (message["type"].as_str(), message["id"].as_str()),
            (Some("next"), Some(id)),
            "{message}"
        );
        assert!(message["payload"].get("errors").is_none(), "{message}");
        message["payload"]["data"]["taskEvents"].clone()
    }

    /// The close code the server ends with (answering pings meanwhile).
    async fn closed(&mut self) -> u16 {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("closed in time");
            match message {
                Some(Ok(Message::Close(frame))) => return frame.map_or(1005, |f| u16::from(f.code)),
                Some(Ok(_)) => {}
                Some(Err(error)) => panic!("the socket failed instead of closing: {error}"),
                None => panic!("the socket ended without a close frame"),
            }
        }
    }

    /// Nothing arrives for a moment (pings aside).
    async fn silent_for(&mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return,
                Ok(Some(Ok(Message::Text(text)))) => {
                    let value: Value = serde_json::from_str(&text).expect("JSON");
                    assert_eq!(value["type"], "ping", "expected nothing, got {value}");
                    self.send(json!({"type": "pong"})).await;
                }
                Ok(other) => panic!("expected nothing, got {other:?}"),
            }
        }
    }
}

async fn rest(app: &TestApp, user: &str, method: Method, path: &str, body: Option<Value>) -> u16 {
    let mut request = app.as_user(user, method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request").status().as_u16()
}

#[tokio::test]
async fn a_socket_authenticates_like_http_and_is_closed_4401_without_a_valid_token() {
    let app = spawn_app().await;
    let user = new_user();
    // The token in connection_init's payload (any key case), or in the upgrade's header.
    let mut socket = open(app.addr, Upgrade::default()).await.expect("upgrade");
    socket
        .send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {}", token_for(&user))}}))
        .await;
    assert_eq!(socket.next_json().await["type"], "connection_ack");
    let header = Upgrade {
        authorization: Some(format!("Bearer {}", token_for(&user))),
        ..Upgrade::default()
    };
    let mut socket = open(app.addr, header).await.expect("upgrade");
    socket.send(json!({"type": "connection_init"})).await;
    assert_eq!(socket.next_json().await["type"], "connection_ack");
    // Also at /graphql, for an upgrade request.
    let at_graphql = Upgrade {
        path: Some("/graphql"),
        ..Upgrade::default()
    };
    let mut socket = open(app.addr, at_graphql).await.expect("upgrade");
    socket
        .send(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", token_for(&user))}}))
        .await;
    assert_eq!(socket.next_json().await["type"], "connection_ack");

    let forged = sign_hs256(
        &json!({"sub": user, "exp": now() + 600}),
        "not-the-secret-0123456789abcdef-0123",
    );
    for payload in [
        json!({}),
        json!({"Authorization": "Bearer nonsense"}),
        json!({"Authorization": format!("Bearer {forged}")}),
    ] {
        let mut socket = open(app.addr, Upgrade::default()).await.expect("upgrade");
        socket
            .send(json!({"type": "connection_init", "payload": payload}))
            .await;
        assert_eq!(socket.closed().await, 4401, "{payload}");
    }
    // Subscribing before connection_init is unauthorized too.
    let mut socket = open(app.addr, Upgrade::default()).await.expect("upgrade");
    socket.subscribe("early", None).await;
    assert_eq!(socket.closed().await, 4401);
    // A foreign browser origin cannot upgrade; a client without the protocol is closed 4406.
    let foreign = Upgrade {
        origin: Some("https://evil.example"),
        ..Upgrade::default()
    };
    match open(app.addr, foreign).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected a 403, got {:?}", other.map(|_| ())),
    }
    let allowed = Upgrade {
        origin: Some("http://localhost:3000"),
        ..Upgrade::default()
    };
    assert!(open(app.addr, allowed).await.is_ok());
    // While the playground is on, the server's own origin (the playground's page) needs no
    // listing; its host on another port is another origin.
    let own_origin = format!("http://{}", app.addr);
    let own = Upgrade {
        origin: Some(&own_origin),
        ..Upgrade::default()
    };
    assert!(open(app.addr, own).await.is_ok());
    let without_playground = spawn_app_with(|config| config.playground = false).await;
    let its_own_origin = format!("http://{}", without_playground.addr);
    let own = Upgrade {
        origin: Some(&its_own_origin),
        ..Upgrade::default()
    };
    match open(without_playground.addr, own).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected a 403, got {:?}", other.map(|_| ())),
    }
    let other_port = format!("http://{}:1", app.addr.ip());
    let neighbour = Upgrade {
        origin: Some(&other_port),
        ..Upgrade::default()
    };
    match open(app.addr, neighbour).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected a 403, got {:?}", other.map(|_| ())),
    }
    let bare = Upgrade {
        no_protocol: true,
        ..Upgrade::default()
    };
    let mut socket = open(app.addr, bare).await.expect("upgrade");
    assert_eq!(socket.closed().await, 4406);
}

#[tokio::test]
async fn a_socket_is_closed_4401_when_its_token_expires() {
    let app = spawn_app().await;
    let user = new_user();
    // Expired 58 s ago: inside the 60 s leeway for two more seconds.
    let token = sign_hs256(
        &json!({"sub": user, "exp": now() - 58, "iat": now() - 600}),
        SECRET,
    );
    let mut socket = open(app.addr, Upgrade::default()).await.expect("upgrade");
    socket
        .send(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}}))
        .await;
    assert_eq!(socket.next_json().await["type"], "connection_ack");
    assert_eq!(socket.closed().await, 4401);
}

#[tokio::test]
async fn every_change_on_either_front_end_arrives_with_its_snapshot_and_refusals_send_nothing() {
    let app = spawn_app().await;
    let user = new_user();
    let mut socket = Socket::for_user(app.addr, &user).await;
    socket.subscribe("s", None).await;
    // The subscription is registered once its first event can arrive; give the server a moment.
    socket.silent_for(Duration::from_millis(200)).await;

    let tasks = TestApp::tasks_path(&user);
    let created = app.create_task(&user, json!({"title": "rest"})).await;
    let id = created["id"].as_str().expect("id").to_owned();
    let event = socket.next_event("s").await;
    assert_eq!(
        (event["kind"].clone(), event["taskId"].clone()),
        (json!("CREATED"), json!(id))
    );
    assert_eq!(event["task"]["title"], "rest");

    // A stale If-Match is refused: no event; the next change is the next event.
    let stale = app
        .as_user(&user, Method::PUT, &format!("{tasks}/{id}"))
        .header("if-match", "\"9\"")
        .json(&json!({"title": "lost"}))
        .send()
        .await
        .expect("request");
    assert_eq!(stale.status(), 412);
    assert_eq!(
        rest(
            &app,
            &user,
            Method::PUT,
            &format!("{tasks}/{id}"),
            Some(json!({"title": "renamed"}))
        )
        .await,
        200
    );
    let event = socket.next_event("s").await;
    assert_eq!(
        (
            event["kind"].clone(),
            event["task"]["title"].clone(),
            event["task"]["version"].clone()
        ),
        (json!("UPDATED"), json!("renamed"), json!(2))
    );
    assert_eq!(
        rest(
            &app,
            &user,
            Method::PATCH,
            &format!("{tasks}/{id}/complete"),
            None
        )
        .await,
        200
    );
    assert_eq!(socket.next_event("s").await["task"]["completed"], true);

    // GraphQL, over HTTP and over the socket itself.
    data(
        &app,
        &user,
        "mutation($id: ID!) { setTaskCompleted(id: $id, completed: false) { id } }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(socket.next_event("s").await["task"]["completed"], false);
    socket
        .send(json!({"id": "m", "type": "subscribe", "payload": {"query": "mutation { createTask(input: {title: \"over the socket\"}) { id } }"}}))
        .await;
    // The mutation's answer, its completion and the event, in an order the test leaves open.
    let (mut seen_mutation_answer, mut seen_completion, mut seen_event) = (false, false, false);
    while !(seen_mutation_answer && seen_completion && seen_event) {
        let message = socket.next_json().await;
        match (message["type"].as_str(), message["id"].as_str()) {
            (Some("next"), Some("m")) => seen_mutation_answer = true,
            (Some("complete"), Some("m")) => seen_completion = true,
            (Some("next"), Some("s")) => {
                assert_eq!(
                    message["payload"]["data"]["taskEvents"]["task"]["title"],
                    "over the socket"
                );
                seen_event = true;
            }
            other => panic!("unexpected {other:?}: {message}"),
        }
    }
    assert_eq!(
        rest(&app, &user, Method::DELETE, &format!("{tasks}/{id}"), None).await,
        200
    );
    let event = socket.next_event("s").await;
    assert_eq!(
        (event["kind"].clone(), event["task"].clone()),
        (json!("DELETED"), Value::Null)
    );
    // Deleting it again is a 404: nothing more arrives.
    assert_eq!(
        rest(&app, &user, Method::DELETE, &format!("{tasks}/{id}"), None).await,
        404
    );
    socket.silent_for(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn a_user_receives_only_their_own_events_even_with_a_foreign_cursor() {
    let app = spawn_app().await;
    let (alice, bob) = (new_user(), new_user());
    app.create_task(&alice, json!({"title": "alice 1"})).await;
    let alice_events = data(&app, &alice, "{ taskEvents { nodes { cursor } } }", json!({})).await;
    let alice_cursor = alice_events["taskEvents"]["nodes"][0]["cursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    let mut bob_socket = Socket::for_user(app.addr, &bob).await;
    // Alice's cursor, in Bob's subscription: past the end of Bob's (empty) stream, so refused
    // (as a position it would make Bob skip his own next events).
    bob_socket.subscribe("foreign", Some(&alice_cursor)).await;
    let refused = bob_socket.next_json().await;
    assert_eq!(refused["id"], "foreign", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{refused}"
    );
    assert_eq!(bob_socket.next_json().await["type"], "complete");
    bob_socket.subscribe("b", None).await;
    bob_socket.silent_for(Duration::from_millis(200)).await;
    app.create_task(&alice, json!({"title": "alice 2"})).await;
    app.create_task(&bob, json!({"title": "bob 1"})).await;
    let event = bob_socket.next_event("b").await;
    assert_eq!(event["task"]["title"], "bob 1");
    bob_socket.silent_for(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn a_client_that_resumes_from_its_cursor_gets_what_it_missed_exactly_once_then_live_events() {
    let app = spawn_app().await;
    let user = new_user();
    let mut socket = Socket::for_user(app.addr, &user).await;
    socket.subscribe("s", None).await;
    socket.silent_for(Duration::from_millis(200)).await;
    app.create_task(&user, json!({"title": "one"})).await;
    let first = socket.next_event("s").await;
    drop(socket);
    for title in ["two", "three", "four"] {
        app.create_task(&user, json!({"title": title})).await;
    }
    let mut socket = Socket::for_user(app.addr, &user).await;
    socket.subscribe("again", first["cursor"].as_str()).await;
    let mut titles = Vec::new();
    for _ in 0..3 {
        titles.push(
            socket.next_event("again").await["task"]["title"]
                .as_str()
                .expect("title")
                .to_owned(),
        );
    }
    assert_eq!(titles, ["two", "three", "four"]);
    app.create_task(&user, json!({"title": "five"})).await;
    assert_eq!(socket.next_event("again").await["task"]["title"], "five");
    socket.silent_for(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn subscriptions_per_socket_sockets_per_user_and_message_size_are_limited() {
    let app = spawn_app_with(|config| {
        config.ws_max_subscriptions = 2;
        config.ws_max_connections_per_user = 2;
        config.ws_max_message_bytes = 2048;
    })
    .await;
    let user = new_user();
    let mut socket = Socket::for_user(app.addr, &user).await;
    socket.subscribe("a", None).await;
    socket.subscribe("b", None).await;
    socket.subscribe("c", None).await;
    let refused = socket.next_json().await;
    assert_eq!(
        (refused["type"].clone(), refused["id"].clone()),
        (json!("error"), json!("c")),
        "{refused}"
    );
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "TOO_MANY_SUBSCRIPTIONS"
    );
    // Completing one frees its place.
    socket.send(json!({"id": "a", "type": "complete"})).await;
    socket.subscribe("c", None).await;
    socket.silent_for(Duration::from_millis(200)).await;
    // The same id twice closes the socket (4409).
    socket.subscribe("c", None).await;
    assert_eq!(socket.closed().await, 4409);

    let _second = Socket::for_user(app.addr, &user).await;
    let _third = Socket::for_user(app.addr, &user).await;
    let mut fourth = open(app.addr, Upgrade::default()).await.expect("upgrade");
    fourth
        .send(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", token_for(&user))}}))
        .await;
    assert_eq!(fourth.closed().await, 4429);

    let mut big = Socket::for_user(app.addr, &new_user()).await;
    big.send(json!({"type": "ping", "payload": {"pad": "x".repeat(4096)}}))
        .await;
    let ended = tokio::time::timeout(PATIENCE, big.ws.next())
        .await
        .expect("ends in time");
    match ended {
        Some(Ok(Message::Close(frame))) => assert_eq!(frame.map(|f| f.code), Some(CloseCode::Size)),
        None | Some(Err(_)) => {}
        Some(Ok(other)) => panic!("expected the socket to end, got {other:?}"),
    }
}

#[tokio::test]
async fn the_server_pings_and_closes_a_socket_that_stays_silent() {
    let app = spawn_app_with(|config| config.ws_ping_interval = Duration::from_millis(300)).await;
    let user = new_user();
    // A client that answers pings stays.
    let mut answering = Socket::for_user(app.addr, &user).await;
    answering.silent_for(Duration::from_millis(1200)).await;
    answering.subscribe("s", None).await;
    answering.silent_for(Duration::from_millis(100)).await;
    // One that never answers is closed.
    let mut silent = Socket::for_user(app.addr, &user).await;
    let code = loop {
        match tokio::time::timeout(PATIENCE, silent.ws.next())
            .await
            .expect("in time")
        {
            Some(Ok(Message::Close(frame))) => break frame.map_or(1005, |f| u16::from(f.code)),
            Some(Ok(Message::Text(text))) => assert!(text.contains("ping"), "{text}"),
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(code, 1011);
}

#[tokio::test]
async fn shutting_down_closes_every_socket_with_1001() {
    let mut server = Server::start_over(None, &[]).await;
    let user = new_user();
    let mut socket = Socket::for_user(server.addr, &user).await;
    socket.subscribe("s", None).await;
    socket.silent_for(Duration::from_millis(200)).await;
    server.sigterm().await;
    assert_eq!(socket.closed().await, 1001);
    assert!(server.exit_status().await.success());
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with TEST_DATABASE_URL (scripts/test.sh does); two processes share only a PostgreSQL database"]
async fn a_change_made_on_one_server_process_reaches_a_subscriber_of_another() {
    require_postgres();
    let app = spawn_app().await;
    let user = new_user();
    let mut socket = Socket::for_user(app.addr, &user).await;
    socket.subscribe("s", None).await;
    socket.silent_for(Duration::from_millis(200)).await;
    let other = Server::start_over(Some(&app.database.url), &[]).await;
    let created = app
        .client
        .post(other.url(&TestApp::tasks_path(&user)))
        .bearer_auth(token_for(&user))
        .json(&json!({"title": "from the other process"}))
        .send()
        .await
        .expect("request");
    assert_eq!(created.status(), 201);
    let event = socket.next_event("s").await;
    assert_eq!(event["task"]["title"], "from the other process");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with TEST_DATABASE_URL (scripts/test.sh does); SQLite has no listener connection to cut"]
async fn events_made_while_the_listener_was_cut_off_arrive_once_it_reconnects_and_a_slow_consumer_is_ended() {
    require_postgres();
    let database = crate::helpers::fresh_database().await;
    let proxy = Proxy::start(upstream_of(&database.url)).await;
    let listen_url = proxy.url_for(&database.url);
    let app = spawn_app_in(database, |config| {
        config.listen_database_url = Some(listen_url);
        config.ws_event_buffer = 4;
    })
    .await;
    let user = new_user();
    let mut socket = Socket::for_user(app.addr, &user).await;
    socket.subscribe("s", None).await;
    socket.silent_for(Duration::from_millis(300)).await;
    let other = Server::start_over(Some(&app.database.url), &[]).await;
    let create_on_other = |title: String| {
        let request = app
            .client
            .post(other.url(&TestApp::tasks_path(&user)))
            .bearer_auth(token_for(&user))
            .json(&json!({"title": title}));
        async move { assert_eq!(request.send().await.expect("request").status(), 201) }
    };
    create_on_other("before the cut".into()).await;
    assert_eq!(socket.next_event("s").await["task"]["title"], "before the cut");

    // Cut: the other process's changes no longer reach this one's listener...
    proxy.cut();
    for i in 0..3 {
        create_on_other(format!("during the cut {i}")).await;
    }
    socket.silent_for(Duration::from_millis(300)).await;
    // ...until it reconnects and catches up: every one, in order.
    proxy.restore();
    for i in 0..3 {
        assert_eq!(
            socket.next_event("s").await["task"]["title"],
            format!("during the cut {i}")
        );
    }

    // A burst larger than the buffer (4) reaches a subscriber at once after the next cut: it is
    // ended with SLOW_CONSUMER rather than skipped forward, and resumes from its last cursor.
    let mut slow = Socket::for_user(app.addr, &user).await;
    slow.subscribe("slow", None).await;
    slow.silent_for(Duration::from_millis(300)).await;
    proxy.cut();
    for i in 0..10 {
        create_on_other(format!("burst {i}")).await;
    }
    proxy.restore();
    let mut delivered = Vec::new();
    let ended = loop {
        let message = slow.next_json().await;
        match message["payload"]["errors"][0]["extensions"]["code"].as_str() {
            Some(code) => break code.to_owned(),
            None => delivered.push(message["payload"]["data"]["taskEvents"]["cursor"].clone()),
        }
    };
    assert_eq!(ended, "SLOW_CONSUMER");
    let complete = slow.next_json().await;
    assert_eq!(complete["type"], "complete");
    let last = delivered.last().and_then(Value::as_str).map(str::to_owned);
    let mut resumed = Socket::for_user(app.addr, &user).await;
    let before_burst = data(
        &app,
        &user,
        "{ taskEvents(first: 500) { nodes { cursor task { title } } } }",
        json!({}),
    )
    .await;
    let burst_start = before_burst["taskEvents"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .position(|node| node["task"]["title"] == "burst 0")
        .expect("the burst's first event");
    let resume_after = last.unwrap_or_else(|| {
        before_burst["taskEvents"]["nodes"][burst_start - 1]["cursor"]
            .as_str()
            .expect("cursor")
            .to_owned()
    });
    resumed.subscribe("again", Some(&resume_after)).await;
    let mut titles = Vec::new();
    while titles.len() < 10 - delivered.len() {
        titles.push(
            resumed.next_event("again").await["task"]["title"]
                .as_str()
                .expect("title")
                .to_owned(),
        );
    }
    let expected: Vec<String> = (delivered.len()..10).map(|i| format!("burst {i}")).collect();
    assert_eq!(titles, expected);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with TEST_DATABASE_URL (scripts/test.sh does); SQLite announces nothing to other processes"]
async fn an_event_committed_but_never_announced_still_reaches_a_live_subscriber() {
    require_postgres();
    let app =
        spawn_app_with(|config| config.task_events_catch_up_interval = Duration::from_millis(300)).await;
    let user = new_user();
    let mut socket = Socket::for_user(app.addr, &user).await;
    socket.subscribe("s", None).await;
    socket.silent_for(Duration::from_millis(200)).await;
    // What a replica that died between its commit and its announcement leaves behind: the
    // event is in the table, and nobody was told.
    let task_id = uuid::Uuid::new_v4();
    app.db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "WITH counter AS (
                 INSERT INTO task_event_streams (user_id, last_seq, last_at) VALUES ($1, 1, now())
                 ON CONFLICT (user_id) DO UPDATE SET last_seq = task_event_streams.last_seq + 1
                 RETURNING last_seq, last_at)
             INSERT INTO task_events (user_id, seq, kind, task_id, task, occurred_at)
             SELECT $1, counter.last_seq, 'deleted', $2, NULL, counter.last_at FROM counter",
            [user.clone().into(), task_id.into()],
        ))
        .await
        .expect("an unannounced event");
    let event = socket.next_event("s").await;
    assert_eq!(
        (event["kind"].clone(), event["taskId"].clone()),
        (json!("DELETED"), json!(task_id.to_string()))
    );
}
