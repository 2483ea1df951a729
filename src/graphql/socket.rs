//! GraphQL over WebSocket at `/graphql/ws` (and `/graphql` for an upgrade request), in the
//! `graphql-transport-ws` protocol (github.com/enisdenjo/graphql-ws, PROTOCOL.md), with
//! async-graphql's protocol engine inside and todo-api's rules around it:
//!
//! - the upgrade: an `Origin` neither in `CORS_ORIGINS` nor, with the playground on, the
//!   server's own (the playground's page) is 403; a client that does not offer `graphql-transport-ws` is closed with 4406;
//! - `connection_init` within 10 s (else 4408); its payload's `Authorization` (any case; else
//!   the upgrade's own header) goes through the same authentication as HTTP (verifier, cache,
//!   failure throttle, security events): a refusal closes with 4401, and so does the token's
//!   expiry (plus the 60 s leeway) later; more than `WS_MAX_CONNECTIONS_PER_USER` sockets of one
//!   user close with 4429;
//! - a `subscribe` runs the HTTP query limits first; past `WS_MAX_SUBSCRIPTIONS` running ones it
//!   is answered with an `error` (`TOO_MANY_SUBSCRIPTIONS`); an id already running closes with
//!   4409; a message over `WS_MAX_MESSAGE_BYTES` ends the socket (1009);
//! - the server pings every `WS_PING_INTERVAL` and closes a socket silent for two (1011);
//! - at shutdown every socket closes with 1001, so clients reconnect elsewhere.
//!
//! Mutations sent over the socket tell the process's event hub when they commit, as HTTP
//! requests do.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_graphql::Data;
use async_graphql::http::{ClientMessage, WebSocket as GraphqlWebSocket, WebSocketProtocols, WsMessage};
use axum::extract::FromRequestParts;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{RequestScope, TodoSchema, limits};
use crate::app::AppState;
use crate::auth::{AuthUser, LEEWAY_SECONDS, authenticate};
use crate::error::AppError;
use crate::realtime::{Realtime, UserSocket};
use crate::service;

/// The protocol this endpoint speaks.
const PROTOCOL: &str = "graphql-transport-ws";
/// The socket's read buffer (see `upgrade`).
const READ_BUFFER_BYTES: usize = 2 * 1024;

/// Whether `parts` asks for a WebSocket upgrade (so `/graphql` hands it here).
pub(super) fn is_upgrade(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"))
}

/// Answers an upgrade request: 403 for a foreign origin, else the switch to a socket.
/// `serves_playground`: the server's own origin may connect too (the playground's page).
pub(super) async fn upgrade(
    app: AppState,
    schema: TodoSchema,
    introspection: bool,
    serves_playground: bool,
    mut parts: Parts,
) -> Response {
    let realtime = app.realtime.clone();
    if let Some(origin) = parts.headers.get(header::ORIGIN)
        && !realtime
            .cors_origins
            .iter()
            .any(|allowed| allowed.as_bytes() == origin.as_bytes())
        && !(serves_playground && same_origin(origin, parts.headers.get(header::HOST)))
    {
        return super::render(AppError::OriginNotAllowed);
    }
    let offered = parts
        .headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|protocol| protocol.trim() == PROTOCOL);
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let limit = realtime.limits.message_bytes;
    let parts = detached(&parts);
    upgrade
        .protocols([PROTOCOL])
        .max_message_size(limit)
        .max_frame_size(limit)
        // The protocol library zero-fills its whole read buffer (128 KiB by default) at the
        // first read, which then stays resident for the socket's life: most of what an idle
        // subscription would cost. A client's messages are small, and a larger one grows the
        // buffer as it arrives.
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| {
            let on_commit = realtime.on_commit();
            let connection = Connection {
                app,
                realtime,
                schema,
                introspection,
                parts,
            };
            service::tasks::announcing(on_commit, connection.run(socket, offered))
        })
}

/// A copy of the upgrade request's head that shares no memory with it. The original's header
/// values and URI are slices of the connection's whole read buffer (16 KiB), which a socket
/// keeping them would keep alive for its whole life: half of what an idle socket cost.
fn detached(parts: &Parts) -> Parts {
    let mut request = axum::http::Request::new(());
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = parts.uri.to_string().parse().unwrap_or_default();
    *request.version_mut() = parts.version;
    let headers = request.headers_mut();
    for (name, value) in &parts.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    *request.extensions_mut() = parts.extensions.clone();
    request.into_parts().0
}

/// Whether `origin` is the server itself (its host and port are the request's `Host`): the
/// playground's own page, which `CORS_ORIGINS` need not list. (The scheme is not compared: behind
/// a proxy that ends TLS the page is `https` and the upgrade reaches the server as `http`.)
fn same_origin(origin: &HeaderValue, host: Option<&HeaderValue>) -> bool {
    let authority = origin
        .to_str()
        .ok()
        .and_then(|origin| origin.split_once("://"))
        .map(|(_, authority)| authority);
    let host = host.and_then(|host| host.to_str().ok());
    matches!((authority, host), (Some(authority), Some(host)) if authority.eq_ignore_ascii_case(host))
}

/// What one socket knows as it runs, shared by the message hooks and its main loop.
#[derive(Default)]
struct SocketState {
    /// The close code and reason to send instead of the protocol engine's (an authentication
    /// refusal, a limit).
    close: Option<(u16, &'static str)>,
    /// Subscription ids running.
    running: HashSet<String>,
    /// Ids the client completed itself: the engine's echo of `complete` is not sent (graphql-ws
    /// sends nothing more for an id its client completed).
    completed_by_client: HashSet<String>,
    /// When the last message from the client arrived.
    last_heard: Option<tokio::time::Instant>,
    /// When the token expires (seconds since the epoch), once authenticated.
    expires_at: Option<u64>,
    /// Holds the user's socket count while the socket is authenticated.
    user_socket: Option<UserSocket>,
}

type Shared = Arc<Mutex<SocketState>>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, SocketState> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Connection {
    app: AppState,
    realtime: Realtime,
    schema: TodoSchema,
    introspection: bool,
    parts: Parts,
}

impl Connection {
    async fn run(self, socket: WebSocket, offered: bool) {
        let _open = self.realtime.socket_opened();
        let (mut sink, stream) = socket.split();
        if !offered {
            let _ = sink.send(close(4406, "Subprotocol not acceptable")).await;
            return;
        }
        let shared: Shared = Arc::new(Mutex::new(SocketState {
            last_heard: Some(tokio::time::Instant::now()),
            ..SocketState::default()
        }));
        let (inject, mut injected) = mpsc::unbounded_channel::<Message>();
        let limits = self.realtime.limits.clone();
        let input = {
            let (shared, inject, introspection) = (Arc::clone(&shared), inject.clone(), self.introspection);
            let max_running = limits.subscriptions_per_socket;
            stream
                .take_while(|message| futures::future::ready(message.is_ok()))
                .filter_map(move |message| {
                    let bytes = match message {
                        Ok(Message::Text(text)) => Some(text.as_bytes().to_vec()),
                        Ok(Message::Binary(bytes)) => Some(bytes.to_vec()),
                        // Pings are answered by axum; any frame shows the client is there.
                        _ => {
                            lock(&shared).last_heard = Some(tokio::time::Instant::now());
                            None
                        }
                    };
                    futures::future::ready(
                        bytes.and_then(|bytes| inbound(&shared, &inject, &bytes, max_running, introspection)),
                    )
                })
        };
        let init = {
            let (app, realtime, parts, shared) = (
                self.app.clone(),
                self.realtime.clone(),
                self.parts,
                Arc::clone(&shared),
            );
            move |payload: Value| connection_init(app, realtime, parts, shared, payload)
        };
        let engine =
            GraphqlWebSocket::from_message_stream(self.schema.clone(), input, WebSocketProtocols::GraphQLWS)
                .on_connection_init(init);
        futures::pin_mut!(engine);

        let mut closing = self.realtime.closing.clone();
        // The watch's guard is not `Send`: it must not outlive the wait.
        let shutdown = async move {
            let _ = closing.wait_for(|closing| *closing).await;
        };
        futures::pin_mut!(shutdown);
        let mut heartbeat = tokio::time::interval(limits.ping_interval);
        heartbeat.tick().await;
        let init_deadline = tokio::time::sleep(limits.init_timeout);
        futures::pin_mut!(init_deadline);
        let mut acknowledged = false;
        let expiry = tokio::time::sleep(Duration::MAX / 4);
        futures::pin_mut!(expiry);
        loop {
            tokio::select! {
                out = engine.next() => match out {
                    Some(WsMessage::Text(text)) => {
                        if !acknowledged && text.contains("\"connection_ack\"") {
                            acknowledged = true;
                            if let Some(at) = lock(&shared).expires_at {
                                expiry.as_mut().reset(tokio::time::Instant::now() + until(at));
                            }
                        }
                        if outbound(&shared, &text) && sink.send(Message::Text(text.into())).await.is_err() {
                            return;
                        }
                    }
                    Some(WsMessage::Close(code, reason)) => {
                        let replaced = lock(&shared).close.take();
                        let frame = match replaced {
                            Some((code, reason)) => close(code, reason),
                            // Subscribing before the handshake: unauthorized, in graphql-ws.
                            None if code == 1011 && !acknowledged => close(4401, "Unauthorized"),
                            None => Message::Close(Some(CloseFrame { code, reason: reason.into() })),
                        };
                        let _ = sink.send(frame).await;
                        return;
                    }
                    None => return,
                },
                Some(message) = injected.recv() => {
                    let ends = matches!(message, Message::Close(_));
                    if sink.send(message).await.is_err() || ends {
                        return;
                    }
                }
                () = &mut shutdown => {
                    let _ = sink.send(close(1001, "Server shutting down: reconnect")).await;
                    return;
                }
                () = &mut expiry => {
                    let _ = sink.send(close(4401, "Token expired")).await;
                    return;
                }
                () = &mut init_deadline, if !acknowledged => {
                    let _ = sink.send(close(4408, "Connection initialisation timeout")).await;
                    return;
                }
                _ = heartbeat.tick() => {
                    let silent_since = lock(&shared).last_heard.unwrap_or_else(tokio::time::Instant::now);
                    if silent_since.elapsed() > limits.ping_interval * 2 {
                        let _ = sink.send(close(1011, "No answer to pings")).await;
                        return;
                    }
                    let ping = json!({"type": "ping"}).to_string();
                    if sink.send(Message::Text(ping.into())).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// Time left before a token that expires at `at` (seconds since the epoch), with the leeway
/// HTTP allows it.
fn until(at: u64) -> Duration {
    let now = jsonwebtoken::get_current_timestamp();
    Duration::from_secs(at.saturating_add(LEEWAY_SECONDS).saturating_sub(now))
}

/// A message from the client, before the protocol engine sees it: what it says about the
/// socket's subscriptions, and the limits. `None` drops it (answered here instead).
fn inbound(
    shared: &Shared,
    inject: &mpsc::UnboundedSender<Message>,
    bytes: &[u8],
    max_running: usize,
    introspection: bool,
) -> Option<serde_json::Result<ClientMessage>> {
    let mut state = lock(shared);
    state.last_heard = Some(tokio::time::Instant::now());
    // Mutable: the limits keep the parsed document in the request, so it is parsed once.
    let mut message = ClientMessage::from_bytes(bytes);
    match &mut message {
        Ok(ClientMessage::Start { id, payload }) => {
            if state.running.contains(id.as_str()) {
                let _ = inject.send(close(4409, "Subscriber for this id already exists"));
                return None;
            }
            if state.running.len() >= max_running {
                let error = json!({"message": format!("At most {max_running} subscriptions run on one socket"),
                    "extensions": {"code": "TOO_MANY_SUBSCRIPTIONS"}});
                let _ = inject.send(error_message(id, vec![error]));
                return None;
            }
            if let Err(error) = limits::check(payload, introspection) {
                let error =
                    serde_json::to_value(&error).unwrap_or_else(|_| json!({"message": error.message}));
                let _ = inject.send(error_message(id, vec![error]));
                return None;
            }
            state.running.insert(id.clone());
        }
        Ok(ClientMessage::Stop { id }) if state.running.remove(id.as_str()) => {
            state.completed_by_client.insert(id.clone());
        }
        _ => {}
    }
    Some(message)
}

/// A message to the client: a finished subscription frees its id. `false`: not to be sent (the
/// echo of a client's own `complete`).
fn outbound(shared: &Shared, text: &str) -> bool {
    if !(text.contains("\"complete\"") || text.contains("\"error\"")) {
        return true;
    }
    if let Ok(message) = serde_json::from_str::<Value>(text)
        && let Some(kind @ ("complete" | "error")) = message["type"].as_str()
        && let Some(id) = message["id"].as_str()
    {
        let mut state = lock(shared);
        if kind == "complete" && state.completed_by_client.remove(id) {
            return false;
        }
        state.running.remove(id);
    }
    true
}

fn error_message(id: &str, errors: Vec<Value>) -> Message {
    Message::Text(
        json!({"id": id, "type": "error", "payload": errors})
            .to_string()
            .into(),
    )
}

/// `connection_init`: authenticates the socket's user as HTTP does, with the payload's
/// `Authorization` (else the upgrade's header).
async fn connection_init(
    app: AppState,
    realtime: Realtime,
    mut parts: Parts,
    shared: Shared,
    payload: Value,
) -> async_graphql::Result<Data> {
    let refuse = |code: u16, reason: &'static str| {
        lock(&shared).close = Some((code, reason));
        async_graphql::Error::new(reason)
    };
    if let Some(credential) = payload_authorization(&payload) {
        let value = HeaderValue::from_str(credential).map_err(|_| refuse(4401, "Unauthorized"))?;
        parts.headers.remove(header::AUTHORIZATION);
        parts.headers.insert(header::AUTHORIZATION, value);
    }
    let AuthUser {
        owner,
        profile,
        expires_at,
    } = authenticate(&parts, &app.auth)
        .await
        .map_err(|_| refuse(4401, "Unauthorized"))?;
    let db = app
        .database()
        .map_err(|_| refuse(1013, "Service unavailable: retry shortly"))?;
    let user_socket = realtime
        .user_socket(&owner)
        .ok_or_else(|| refuse(4429, "Too many sockets for this user"))?;
    let row = service::users::ensure_exists(db, &app.known_users, &owner, &profile)
        .await
        .map_err(|_| refuse(1013, "Service unavailable: retry shortly"))?;
    {
        let mut state = lock(&shared);
        state.expires_at = expires_at;
        state.user_socket = Some(user_socket);
    }
    let scope = RequestScope::new(db.clone(), owner, row, app.creates_in_flight.clone());
    let mut data = Data::default();
    data.insert(scope);
    data.insert(realtime.hub.clone());
    Ok(data)
}

/// The `Authorization` entry of a `connection_init` payload (its key in any case).
fn payload_authorization(payload: &Value) -> Option<&str> {
    payload
        .as_object()?
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, value)| value.as_str())
}
