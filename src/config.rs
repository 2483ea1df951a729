//! Configuration: the environment (and `.env`, which the real environment overrides), with
//! command-line flags over both. Secrets are wrapped so they never print.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

// The types of `Config`'s fields, so that a library user can fill them in.
pub use crate::auth::Secret;
pub use crate::client_addr::TrustedProxies;

#[derive(Debug, Parser)]
#[command(
    name = "todo-api",
    version,
    about = "A secure, multi-tenant todo API: GraphQL and REST"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default); migrates the database first unless AUTO_MIGRATE=false.
    Serve,
    /// Manage the database schema.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Print a JWT signed with the configured HS256 secret (for development and scripts).
    Token {
        /// The user id (`sub` claim).
        #[arg(long)]
        user: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// Lifetime, e.g. 15m, 1h, 7d.
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        ttl: Duration,
    },
    /// Print the GraphQL schema (SDL); the committed schema.graphql must equal it.
    Schema,
    /// Print the OpenAPI 3.1 document of the REST layer as YAML (= contracts/openapi.yaml).
    Openapi,
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply pending migrations (all, or up to and including `--to`).
    Up {
        #[arg(long)]
        to: Option<String>,
    },
    /// Roll back the newest migrations.
    Down {
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List every migration, applied (with its time) or pending.
    Status,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone, Debug, Args)]
pub struct Config {
    /// SQLite (embedded default) or postgres:// URL.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://todo.db?mode=rwc",
        global = true
    )]
    pub database_url: String,
    /// Pool size (a positive integer); 10 on PostgreSQL and 4 on SQLite when unset.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", value_parser = parse_pool_size, global = true)]
    pub database_max_connections: Option<NonZeroU32>,
    /// Direct (non-pooled) PostgreSQL URL for migrations and their lock; defaults to DATABASE_URL.
    /// Needed when DATABASE_URL goes through a transaction-mode pooler (Neon `-pooler`).
    #[arg(long, env = "MIGRATION_DATABASE_URL", global = true)]
    pub migration_database_url: Option<String>,
    /// Direct (non-pooled) PostgreSQL URL of the task events listener (`LISTEN`); defaults to
    /// MIGRATION_DATABASE_URL, then DATABASE_URL. A `-pooler` host is refused.
    #[arg(long, env = "LISTEN_DATABASE_URL", global = true)]
    pub listen_database_url: Option<String>,
    /// Listen address; if unset and PORT is set, 0.0.0.0:$PORT; else 127.0.0.1:8000.
    #[arg(long, env = "BIND_ADDR", global = true)]
    pub bind_addr: Option<SocketAddr>,
    #[arg(long, env = "PORT", global = true, hide = true)]
    pub port: Option<u16>,
    /// HS256 shared secret (at least 32 bytes); tokens signed with it are accepted.
    #[arg(long, env = "BETTER_AUTH_SECRET", hide_env_values = true, global = true)]
    pub better_auth_secret: Option<Secret>,
    /// Better Auth base URL.
    #[arg(long, env = "BETTER_AUTH_URL", global = true)]
    pub better_auth_url: Option<String>,
    /// Explicit JWKS address (overrides the one derived from BETTER_AUTH_URL).
    #[arg(long, env = "JWKS_URL", global = true)]
    pub jwks_url: Option<String>,
    /// When set, `iss` must match.
    #[arg(long, env = "JWT_ISSUER", global = true)]
    pub jwt_issuer: Option<String>,
    /// When set, `aud` must match.
    #[arg(long, env = "JWT_AUDIENCE", global = true)]
    pub jwt_audience: Option<String>,
    /// Failed authentications allowed per client address and minute before 429s; 0 = no limit.
    #[arg(long, env = "AUTH_FAILURES_PER_MINUTE", default_value_t = 30, global = true)]
    pub auth_failures_per_minute: u32,
    /// Proxies whose X-Forwarded-For / Forwarded headers name the client (comma list of
    /// addresses or CIDR ranges, e.g. 10.0.0.0/8,2001:db8::/32); none by default.
    #[arg(
        long,
        env = "TRUSTED_PROXIES",
        default_value = "",
        hide_default_value = true,
        global = true
    )]
    pub trusted_proxies: TrustedProxies,
    /// Least time between two JWKS fetches caused by unknown `kid`s.
    #[arg(long, env = "JWKS_REFETCH_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration, global = true)]
    pub jwks_refetch_interval: Duration,
    /// Browser origins allowed (comma list).
    #[arg(
        long,
        env = "CORS_ORIGINS",
        value_delimiter = ',',
        default_value = "http://localhost:3000,http://127.0.0.1:3000",
        global = true
    )]
    pub cors_origins: Vec<String>,
    /// `pretty` (default on a terminal) or `json`.
    #[arg(long, env = "LOG_FORMAT", global = true)]
    pub log_format: Option<LogFormat>,
    /// Run pending migrations at start.
    #[arg(long, env = "AUTO_MIGRATE", default_value = "true", value_parser = BoolishValueParser::new(), global = true)]
    pub auto_migrate: bool,
    /// Allow introspection (still requires a valid token).
    #[arg(long, env = "GRAPHQL_INTROSPECTION", default_value = "true", value_parser = BoolishValueParser::new(), global = true)]
    pub graphql_introspection: bool,
    /// The token dev auth mode printed: the playground opens with it filled in. Never read from
    /// the environment or the command line.
    #[arg(skip)]
    pub dev_token: Option<String>,
    /// For tests of row-level security only: serves `GET /api/{user_id}/unscoped-task-ids`, the ids
    /// of a statement without any owner filter, run through a request's own scope. Never read
    /// from the environment or the command line.
    #[arg(skip)]
    pub unscoped_probe: bool,
    /// Serve the GraphiQL page at GET /graphql.
    #[arg(long, env = "PLAYGROUND", default_value = "true", value_parser = BoolishValueParser::new(), global = true)]
    pub playground: bool,
    /// Longest a request may take before it is answered 504 (e.g. 30s, 1m).
    #[arg(long, env = "REQUEST_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration, global = true)]
    pub request_timeout: Duration,
    /// Most subscriptions one WebSocket may run at once.
    #[arg(long, env = "WS_MAX_SUBSCRIPTIONS", default_value = "20", global = true)]
    pub ws_max_subscriptions: usize,
    /// Most WebSockets one user may hold open on one server.
    #[arg(
        long,
        env = "WS_MAX_CONNECTIONS_PER_USER",
        default_value = "10",
        global = true
    )]
    pub ws_max_connections_per_user: usize,
    /// Largest WebSocket message a client may send, in bytes.
    #[arg(long, env = "WS_MAX_MESSAGE_BYTES", default_value = "65536", global = true)]
    pub ws_max_message_bytes: usize,
    /// Events a subscriber may fall behind before its subscription ends with SLOW_CONSUMER.
    #[arg(long, env = "WS_EVENT_BUFFER", default_value = "256", global = true)]
    pub ws_event_buffer: usize,
    /// How often the server pings each WebSocket; one silent for two intervals is closed.
    #[arg(long, env = "WS_PING_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration, global = true)]
    pub ws_ping_interval: Duration,
    /// PostgreSQL: how often every subscriber's feed is also read without being told of a change
    /// (what a replica that died between a commit and its announcement left unannounced).
    #[arg(long, env = "TASK_EVENTS_CATCH_UP_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration, global = true)]
    pub task_events_catch_up_interval: Duration,
    /// How long task events are kept (e.g. 7d); an older cursor is CURSOR_EXPIRED.
    #[arg(long, env = "TASK_EVENTS_RETENTION", default_value = "7d", value_parser = humantime::parse_duration, global = true)]
    pub task_events_retention: Duration,
    /// On SIGTERM / Ctrl-C, how long in-flight requests may run before the process exits anyway.
    #[arg(long, env = "SHUTDOWN_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration, global = true)]
    pub shutdown_timeout: Duration,
}

/// The configuration alone, for parsing it without a subcommand.
#[derive(Parser)]
struct EnvOnly {
    #[command(flatten)]
    config: Config,
}

/// The defaults of the flags, with neither the environment nor a command line: what `todo-api`
/// runs with when nothing is set. Read from clap's own declarations, so it cannot drift from them.
impl Default for Config {
    fn default() -> Self {
        let command = EnvOnly::command().mut_args(|arg| arg.env(None));
        let matches = command
            .try_get_matches_from(["todo-api"])
            .and_then(|matches| Config::from_arg_matches(&matches));
        // The defaults are literals in the declarations above; a unit test parses them.
        matches.expect("the flags' defaults parse")
    }
}

/// `DATABASE_MAX_CONNECTIONS`: a positive integer (surrounding blanks ignored).
fn parse_pool_size(value: &str) -> Result<NonZeroU32, String> {
    value
        .trim()
        .parse::<NonZeroU32>()
        .map_err(|_| "must be a positive integer".to_owned())
}

impl Config {
    /// Reads the environment (after `.env`) with no command-line flags: for tests and embedding.
    pub fn from_env() -> Result<Self, clap::Error> {
        EnvOnly::try_parse_from(["todo-api"]).map(|parsed| parsed.config)
    }

    /// Checks what the types cannot: a configured secret must be long enough.
    ///
    /// Run once, by the commands that use what it checks: [`App::build`](crate::app::App::build)
    /// (so `serve`, and every test that builds an app) and [`cli::token`](crate::cli::token).
    /// Not at parsing: a clap value parser's error would print the secret it refuses, and a
    /// `Config` built in code (tests, embedders) would skip it anyway. `migrate`, `schema` and
    /// `openapi` never read the secret, so a short one does not stop them.
    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(secret) = &self.better_auth_secret {
            secret
                .check_length("BETTER_AUTH_SECRET")
                .map_err(anyhow::Error::msg)?;
        }
        Ok(())
    }

    pub fn bind_addr(&self) -> SocketAddr {
        match (self.bind_addr, self.port) {
            (Some(addr), _) => addr,
            (None, Some(port)) => SocketAddr::from(([0, 0, 0, 0], port)),
            (None, None) => SocketAddr::from(([127, 0, 0, 1], 8000)),
        }
    }

    /// The JWKS address, if any: `JWKS_URL`, else derived from `BETTER_AUTH_URL`.
    pub fn jwks_url(&self) -> Option<String> {
        self.jwks_url.clone().or_else(|| {
            self.better_auth_url
                .as_ref()
                .map(|base| format!("{}/api/auth/jwks", base.trim_end_matches('/')))
        })
    }

    /// Issuer to require: `JWT_ISSUER`, else (with Better Auth) its base URL.
    pub fn issuer(&self) -> Option<String> {
        self.jwt_issuer.clone().or_else(|| self.better_auth_url.clone())
    }

    /// Audience to require: `JWT_AUDIENCE`, else (with Better Auth) its base URL.
    pub fn audience(&self) -> Option<String> {
        self.jwt_audience.clone().or_else(|| self.better_auth_url.clone())
    }

    /// Where the task events listener connects: `LISTEN_DATABASE_URL`, else the migration URL.
    pub fn listen_url(&self) -> &str {
        self.listen_database_url
            .as_deref()
            .unwrap_or_else(|| self.migration_url())
    }

    /// Where migrations run: `MIGRATION_DATABASE_URL`, else `DATABASE_URL`.
    pub fn migration_url(&self) -> &str {
        self.migration_database_url
            .as_deref()
            .unwrap_or(&self.database_url)
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_config_is_the_flags_defaults() {
        let config = Config::default();
        assert_eq!(config.database_url, "sqlite://todo.db?mode=rwc");
        assert_eq!(config.database_max_connections, None);
        assert_eq!(config.migration_database_url, None);
        assert_eq!(config.bind_addr(), SocketAddr::from(([127, 0, 0, 1], 8000)));
        assert!(config.better_auth_secret.is_none());
        assert_eq!(config.auth_failures_per_minute, 30);
        assert!(config.trusted_proxies.is_empty());
        assert_eq!(config.jwks_refetch_interval, Duration::from_secs(30));
        assert_eq!(
            config.cors_origins,
            ["http://localhost:3000", "http://127.0.0.1:3000"]
        );
        assert!(config.auto_migrate && config.graphql_introspection && config.playground);
        assert_eq!(config.request_timeout, Duration::from_secs(30));
        assert_eq!(config.shutdown_timeout, Duration::from_secs(30));
    }

    #[test]
    fn the_pool_size_flag_takes_a_positive_integer_only() {
        let parsed = EnvOnly::try_parse_from(["todo-api", "--database-max-connections", "5"])
            .expect("5 is a pool size");
        assert_eq!(parsed.config.database_max_connections, NonZeroU32::new(5));
        assert!(EnvOnly::try_parse_from(["todo-api", "--database-max-connections", "0"]).is_err());
    }

    #[test]
    fn the_pool_size_is_a_positive_integer() {
        assert_eq!(parse_pool_size(" 8 "), Ok(NonZeroU32::new(8).expect("8 > 0")));
        for refused in ["0", "-1", "many", ""] {
            assert!(parse_pool_size(refused).is_err(), "{refused:?} must be refused");
        }
    }
}
