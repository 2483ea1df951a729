//! `spawn_app()`: the real application on port 0 over a fresh database, SQLite by default or
//! PostgreSQL when `TEST_DATABASE_URL` is set (each test in its own database).

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, Response};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::Value;
use todo_api::app::App;
use todo_api::config::{Config, Secret};
use todo_api::token::{MintRequest, mint_hs256};
use tracing_subscriber::layer::SubscriberExt;

pub const SECRET: &str = "integration-tests-secret-0123456789abcdef";

/// Everything logged as JSON lines by every app in this test process.
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    pub fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().expect("log buffer").clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// Installs, once per process, the production JSON log layer writing into a buffer.
pub fn captured_logs() -> CapturedLogs {
    static LOGS: OnceLock<CapturedLogs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = CapturedLogs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::registry()
            .with(todo_api::telemetry::json_layer(move || writer.clone()))
            .with(tracing_subscriber::filter::LevelFilter::INFO);
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        logs
    })
    .clone()
}

pub enum Backend {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, database: String },
}

/// A fresh, empty database for one test: a SQLite file in a temporary directory, or a
/// PostgreSQL database created on the server at `TEST_DATABASE_URL` (dropped afterwards).
pub struct TestDatabase {
    /// As the database's owner: what migrations and the tests' own connections use (on
    /// PostgreSQL, `TEST_DATABASE_URL`'s superuser, whom row-level security does not bind).
    pub url: String,
    /// As the server's own role: on PostgreSQL [`SERVER_ROLE`], which is neither a superuser nor
    /// the tables' owner, so row-level security binds it as it does in production; on SQLite the
    /// same as `url`.
    pub server_url: String,
    pub backend: Backend,
}

/// The PostgreSQL role the apps of the tests serve with: what README's "Row-level security"
/// grants a production server, no more (it logs in as `TEST_DATABASE_URL`'s user does, without a
/// password on this trust-auth server).
pub const SERVER_ROLE: &str = "todo_api_server";

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    /// A connection of the test's own to the app's database (not through any proxy).
    pub db: DatabaseConnection,
    pub logs: CapturedLogs,
    /// Held for its `Drop`, which removes a PostgreSQL test database.
    #[allow(dead_code)]
    pub database: TestDatabase,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns the app over a fresh database with a configuration the test may adjust.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_in(fresh_database().await, adjust).await
}

/// The configuration the tests run with: the defaults, over this database, on port 0, with the
/// test secret and one browser origin.
pub fn test_config(database_url: &str) -> Config {
    Config {
        database_url: database_url.to_owned(),
        bind_addr: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        better_auth_secret: Some(Secret::new(SECRET.to_owned())),
        cors_origins: vec!["http://localhost:3000".to_owned()],
        ..Config::default()
    }
}

/// [`test_config`] over `database` as the server's own role ([`TestDatabase::server_url`]),
/// migrating as the owner, as a production deployment with row-level security does.
pub fn server_config(database: &TestDatabase) -> Config {
    let mut config = test_config(&database.server_url);
    if database.server_url != database.url {
        config.migration_database_url = Some(database.url.clone());
    }
    config
}

/// Builds the app from `config` and serves it in the background; returns its address.
pub async fn start_app(config: &Config) -> SocketAddr {
    captured_logs();
    let app = App::build(config).await.expect("the app builds");
    let addr = app.local_addr().expect("bound");
    tokio::spawn(app.run(std::future::pending()));
    addr
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// Spawns the app over `database`; `adjust` may change the configuration (point the app at a
/// proxy, for instance) while the test keeps a direct connection.
pub async fn spawn_app_in(database: TestDatabase, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let logs = captured_logs();
    let mut config = server_config(&database);
    adjust(&mut config);
    let addr = start_app(&config).await;
    let db = todo_api::testing::connect(&database.url)
        .await
        .expect("test connection");
    TestApp {
        addr,
        client: http_client(),
        db,
        logs,
        database,
    }
}

/// For the tests marked `#[ignore = "needs PostgreSQL: …"]`: they run with `--include-ignored`,
/// and without `TEST_DATABASE_URL` they fail here rather than pass having tested nothing.
#[track_caller]
pub fn require_postgres() {
    assert!(
        postgres_admin_url().is_some(),
        "this test needs PostgreSQL: run it with TEST_DATABASE_URL set (scripts/test.sh does)"
    );
}

/// Whether the tests run in CI (`CI` set, as CI services do), where nothing may be skipped.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

/// A part of a test that this machine cannot exercise: in CI that is a failure; elsewhere the
/// test says so on the terminal, past the harness's capture, as `SKIPPED <test>: <why>` (the
/// line `scripts/test.sh` collects into its summary), and the caller returns.
#[track_caller]
pub fn skip_or_fail_in_ci(why: &str) {
    let current = std::thread::current();
    // libtest runs each test on a thread named after it.
    let test = current.name().unwrap_or("a test");
    assert!(!in_ci(), "{why} (in CI this must not be skipped)");
    let line = format!("\nSKIPPED {test}: {why}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// The PostgreSQL server URL of `TEST_DATABASE_URL`, if the tests run on PostgreSQL.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

pub async fn fresh_database() -> TestDatabase {
    match postgres_admin_url() {
        Some(admin_url) => {
            let database = format!("todo_test_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(&admin_url)
                .await
                .expect("TEST_DATABASE_URL reachable");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {database}"))
                .await
                .expect("create test database");
            // Concurrent tests create the role at once: one wins, the others find it.
            admin
                .execute_unprepared(&format!(
                    "DO $$ BEGIN CREATE ROLE {SERVER_ROLE} LOGIN;
                     EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
                ))
                .await
                .expect("create the server role");
            admin.close().await.ok();
            let url = replace_database(&admin_url, &database);
            // The grants of README's "Row-level security", for the tables the migrations (run
            // as the owner) will create.
            let owner = Database::connect(&url).await.expect("the test database");
            owner
                .execute_unprepared(&format!(
                    "ALTER DEFAULT PRIVILEGES IN SCHEMA public
                     GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {SERVER_ROLE}"
                ))
                .await
                .expect("grant the server role");
            owner.close().await.ok();
            let mut server_url = reqwest::Url::parse(&url).expect("TEST_DATABASE_URL is a URL");
            server_url.set_username(SERVER_ROLE).expect("a URL with a user");
            server_url.set_password(None).expect("a URL with a user");
            TestDatabase {
                url,
                server_url: server_url.into(),
                backend: Backend::Postgres { admin_url, database },
            }
        }
        None => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("todo.db").display());
            TestDatabase {
                server_url: url.clone(),
                url,
                backend: Backend::Sqlite(dir),
            }
        }
    }
}

/// `postgres://u@h:p/db?opts` with `db` replaced.
fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Backend::Postgres { admin_url, database } = &self.backend {
            let (admin_url, database) = (admin_url.clone(), database.clone());
            // Drop runs inside the test's runtime: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(async {
                    let admin = Database::connect(&admin_url).await.ok()?;
                    admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
                        .await
                        .ok()
                })
            })
            .join();
        }
    }
}

pub fn token_for(user: &str) -> String {
    mint(user, Duration::from_secs(3600))
}

pub fn mint(user: &str, ttl: Duration) -> String {
    mint_hs256(
        &Secret::new(SECRET.to_owned()),
        &MintRequest {
            user_id: user,
            email: None,
            name: None,
            ttl,
            issuer: None,
            audience: None,
        },
    )
    .expect("mint")
}

/// Seconds since the epoch, for hand-made claims.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// An HS256 token with exactly these claims, signed with `secret` (the test's [`SECRET`] for a
/// genuine token, anything else for a forged one).
pub fn sign_hs256(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

/// A fresh user id, so tests never share data by accident.
pub fn new_user() -> String {
    format!("user-{}", uuid::Uuid::new_v4().simple())
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn tasks_path(user: &str) -> String {
        format!("/api/{user}/tasks")
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// A request authenticated as `user`.
    pub fn as_user(&self, user: &str, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(token_for(user))
    }

    pub async fn create_task(&self, user: &str, body: Value) -> Value {
        let response = self
            .as_user(user, Method::POST, &Self::tasks_path(user))
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(
            response.status(),
            201,
            "create failed: {:?}",
            response.text().await
        );
        response.json().await.expect("json")
    }

    /// `GET /api/{user}/tasks?{query}`, asserting a 200 with a bare array.
    pub async fn list_tasks(&self, user: &str, query: &str) -> (HeaderMap, Vec<Value>) {
        let response = self
            .as_user(user, Method::GET, &format!("{}?{query}", Self::tasks_path(user)))
            .send()
            .await
            .expect("request");
        let headers = response.headers().clone();
        let status = response.status();
        let body: Value = response.json().await.expect("json");
        assert_eq!(status, 200, "list failed: {body}");
        (headers, body.as_array().expect("a bare array").clone())
    }

    /// A snapshot of every task row of `user`, straight from the database, to prove that a
    /// refused request changed nothing.
    pub async fn rows_of(&self, user: &str) -> Vec<Value> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        use todo_api::testing::task;
        task::Entity::find()
            .filter(task::Column::UserId.eq(user))
            .order_by_asc(task::Column::Id)
            .all(&self.db)
            .await
            .expect("rows")
            .into_iter()
            .map(|t| {
                serde_json::json!({
                    "id": t.id.to_string(), "title": t.title, "description": t.description,
                    "completed": t.completed, "created_at": t.created_at.to_rfc3339(),
                    "updated_at": t.updated_at.to_rfc3339(), "priority": t.priority,
                    "due_at": t.due_at.map(|at| at.to_rfc3339()), "repeat": t.repeat,
                    "tags": t.tags, "version": t.version,
                })
            })
            .collect()
    }

    /// Security events (target `security`) logged for the request with this id.
    pub fn security_events(&self, request_id: &str) -> Vec<Value> {
        self.logs
            .lines()
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|event| event["target"] == "security" && event["request_id"] == request_id)
            .collect()
    }
}

pub fn request_id(response: &Response) -> String {
    response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("x-request-id on every response")
        .to_owned()
}
