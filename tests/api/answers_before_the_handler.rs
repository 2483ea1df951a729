//! Answers produced before a handler runs (the body limit, the request timeout, the admission
//! gate, the database being unavailable) take the shape of the front end that was called:
//! REST's `{"detail", "message"}`, GraphQL's `{"errors": [{"message", "extensions": {"code"}}]}`,
//! with the same status and headers on both.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::{Method, Response};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{
    TestApp, http_client, new_user, spawn_app, spawn_app_with, start_app, test_config, token_for,
};

/// The two front ends, and how each is asked to create a task.
#[derive(Clone, Copy, Debug)]
enum FrontEnd {
    Rest,
    Graphql,
}

const BOTH: [FrontEnd; 2] = [FrontEnd::Rest, FrontEnd::Graphql];

impl FrontEnd {
    fn path(self, user: &str) -> String {
        match self {
            Self::Rest => TestApp::tasks_path(user),
            Self::Graphql => "/graphql".to_owned(),
        }
    }

    fn create_body(self) -> String {
        match self {
            Self::Rest => json!({"title": "from a test"}).to_string(),
            Self::Graphql => {
                json!({"query": "mutation { createTask(input: {title: \"from a test\"}) { id } }"})
                    .to_string()
            }
        }
    }
}

/// A status, headers and body, from either an HTTP client or a raw socket.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Answer {
    async fn of(response: Response) -> Self {
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or_default().to_owned()))
            .collect();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        Self {
            status,
            headers,
            body,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Checks the status, and the body shape of `front_end` with `code` (GraphQL) or a
    /// `detail` and `message` (REST); returns the message.
    fn assert_shape(&self, front_end: FrontEnd, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "{front_end:?}: {}", self.body);
        match front_end {
            FrontEnd::Rest => {
                assert!(self.body.get("errors").is_none(), "{}", self.body);
                let detail = self.body["detail"].as_str().expect("detail");
                assert_eq!(self.body["message"], detail, "{}", self.body);
                detail.to_owned()
            }
            FrontEnd::Graphql => {
                assert!(self.body.get("detail").is_none(), "{}", self.body);
                let errors = self.body["errors"].as_array().expect("errors");
                assert_eq!(errors.len(), 1, "{}", self.body);
                assert_eq!(errors[0]["extensions"]["code"], code, "{}", self.body);
                errors[0]["message"].as_str().expect("message").to_owned()
            }
        }
    }

    fn assert_retry_after(&self) {
        let seconds: u64 = self
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("whole seconds");
        assert!(seconds >= 1, "Retry-After {seconds}");
    }
}

/// Sends the head of a request that declares a body of 100 bytes, and 10 of them: the handler
/// waits for the rest. Returns the open connection.
async fn start_slow_request(addr: SocketAddr, path: &str, user: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"title\":",
        token_for(user)
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    stream
}

/// Reads the whole answer of a raw request (the server closes after it, or the test's bound
/// of 30 s ends a hang).
async fn read_answer(mut stream: TcpStream) -> Answer {
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .expect("answered, not hung")
        .expect("read");
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let body = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    Answer {
        status,
        headers,
        body,
    }
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_413_in_the_shape_of_either_front_end() {
    let app = spawn_app().await;
    let user = new_user();
    for front_end in BOTH {
        let response = app
            .request(Method::POST, &front_end.path(&user))
            .header("content-type", "application/json")
            .body(format!("{{\"pad\": \"{}\"}}", "p".repeat(70_000)))
            .send()
            .await
            .expect("request");
        let answer = Answer::of(response).await;
        let message = answer.assert_shape(front_end, 413, "PAYLOAD_TOO_LARGE");
        assert!(message.contains("65536"), "{message}");
    }
    assert!(app.rows_of(&user).await.is_empty());
}

#[tokio::test]
async fn a_request_over_the_time_limit_is_504_in_the_shape_of_either_front_end() {
    let app = spawn_app_with(|config| config.request_timeout = Duration::from_secs(1)).await;
    let user = new_user();
    for front_end in BOTH {
        let stream = start_slow_request(app.addr, &front_end.path(&user), &user).await;
        let answer = read_answer(stream).await;
        let message = answer.assert_shape(front_end, 504, "TIMEOUT");
        assert_eq!(message, "Request timed out: not answered within 1s");
    }
    assert!(app.rows_of(&user).await.is_empty(), "nothing written");
}

#[tokio::test]
async fn a_database_that_does_not_answer_is_503_with_retry_after_in_the_shape_of_either_front_end() {
    // Nothing listens on port 1: a PostgreSQL that is down, on either backend.
    let addr = start_app(&test_config("postgres://postgres@127.0.0.1:1/todo")).await;
    let client = http_client();
    let user = new_user();
    for front_end in BOTH {
        let response = client
            .post(format!("http://{addr}{}", front_end.path(&user)))
            .bearer_auth(token_for(&user))
            .header("content-type", "application/json")
            .body(front_end.create_body())
            .send()
            .await
            .expect("request");
        let answer = Answer::of(response).await;
        answer.assert_shape(front_end, 503, "SERVICE_UNAVAILABLE");
        answer.assert_retry_after();
    }
}

#[tokio::test]
async fn a_request_not_admitted_in_time_is_503_with_retry_after_in_the_shape_of_either_front_end() {
    let app = spawn_app().await;
    let user = new_user();
    // Fill the gate: every admitted request waits for the rest of its body.
    let mut held = Vec::new();
    for _ in 0..todo_api::testing::admitted_at_once(&test_config(&app.database.url)) {
        held.push(start_slow_request(app.addr, &TestApp::tasks_path(&user), &user).await);
    }
    // Give the server time to admit them all before the requests under test arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let waiting: Vec<_> = BOTH
        .into_iter()
        .map(|front_end| {
            let request = app
                .as_user(&user, Method::POST, &front_end.path(&user))
                .header("content-type", "application/json")
                .body(front_end.create_body());
            (front_end, tokio::spawn(request.send()))
        })
        .collect();
    // Past the admission wait, free the gate: the waiting requests get their turn too late.
    tokio::time::sleep(todo_api::testing::ACQUIRE_TIMEOUT + Duration::from_millis(500)).await;
    drop(held);
    for (front_end, response) in waiting {
        let response = response.await.expect("joined").expect("request");
        let answer = Answer::of(response).await;
        answer.assert_shape(front_end, 503, "SERVICE_UNAVAILABLE");
        answer.assert_retry_after();
    }
    assert!(app.rows_of(&user).await.is_empty(), "nothing written");
}
