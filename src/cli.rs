//! The subcommands: `serve` (with dev auth mode), `migrate`, `token`, `openapi`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, SecondsFormat};
use migration::Migrator;
use rand::RngCore;

use crate::app::App;
use crate::auth::{MintRequest, Secret, mint_hs256};
use crate::config::{Config, MigrateAction};
use crate::{db, migrate, shutdown};

/// Where dev auth mode keeps its generated secret.
pub const DEV_SECRET_FILE: &str = ".todo-api-dev-secret";
const DEV_USER_ID: &str = "demo-user";

/// Runs the server until SIGTERM or Ctrl-C.
pub async fn serve(mut config: Config) -> anyhow::Result<()> {
    let dev_mode = config.better_auth_secret.is_none() && config.jwks_url().is_none();
    if dev_mode {
        refuse_dev_mode_off_loopback(config.bind_addr())?;
        let secret = load_or_create_dev_secret(&config.database_url)?;
        config.dev_token = Some(mint_dev_token(&config, &secret)?);
        config.better_auth_secret = Some(secret);
    }
    let app = App::build(&config).await?;
    let addr = app.local_addr()?;
    tracing::info!(%addr, "todo-api listening");
    if let Some(token) = &config.dev_token {
        announce_dev_mode(token, addr);
    }
    app.run(shutdown::signal()).await?;
    tracing::info!("todo-api stopped");
    Ok(())
}

fn refuse_dev_mode_off_loopback(addr: SocketAddr) -> anyhow::Result<()> {
    if !addr.ip().is_loopback() {
        anyhow::bail!(
            "no authentication is configured and {addr} is not a loopback address: set \
             BETTER_AUTH_SECRET (at least 32 bytes) or BETTER_AUTH_URL / JWKS_URL, or bind to \
             127.0.0.1 for dev auth mode"
        );
    }
    Ok(())
}

/// A token for the demo user, signed with the dev secret.
fn mint_dev_token(config: &Config, secret: &Secret) -> anyhow::Result<String> {
    mint_hs256(
        secret,
        &MintRequest {
            user_id: DEV_USER_ID,
            email: Some("demo@example.com"),
            name: Some("Demo User"),
            ttl: Duration::from_secs(24 * 3600),
            issuer: config.issuer().as_deref(),
            audience: config.audience().as_deref(),
        },
    )
}

fn announce_dev_mode(token: &str, addr: SocketAddr) {
    tracing::warn!(
        "DEV AUTH MODE: no BETTER_AUTH_SECRET or BETTER_AUTH_URL is set, so a random secret kept \
         in {DEV_SECRET_FILE} signs tokens. Never use this mode in production."
    );
    println!("==> todo-api is running in DEV AUTH MODE (do not use in production)");
    println!("==> GraphQL playground: http://{addr}/graphql");
    println!("==> (the playground opens with the token below already in its headers)");
    println!("==> REST: http://{addr}/api/{DEV_USER_ID}/tasks");
    println!("dev token: {token}");
}

/// The dev secret lives beside the SQLite file (or in the working directory for PostgreSQL), so
/// tokens survive a restart.
fn dev_secret_path(database_url: &str) -> PathBuf {
    let file = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or_default())
        .filter(|path| !path.is_empty() && !path.starts_with(":memory:"));
    let directory = file
        .and_then(|f| Path::new(f).parent())
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    directory.join(DEV_SECRET_FILE)
}

/// Reads the dev secret, creating it (32 random bytes, hex, mode 0600) on first use.
pub fn load_or_create_dev_secret(database_url: &str) -> anyhow::Result<Secret> {
    let path = dev_secret_path(database_url);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= Secret::MIN_BYTES {
            return Ok(Secret::new(existing));
        }
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    Ok(Secret::new(secret))
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(content.as_bytes())
}

/// `todo-api migrate up|down|status`. Exits non-zero (an `Err`) when a migration fails, when the
/// database is unreachable, or when it holds a migration this binary does not know.
pub async fn migrate(config: &Config, action: MigrateAction) -> anyhow::Result<()> {
    let url = config.migration_url();
    let db = db::connect(url, config.database_max_connections).await?;
    let result = match action {
        MigrateAction::Up { to } => migrate::up::<Migrator>(&db, url, to.as_deref()).await.map(|_| ()),
        MigrateAction::Down { steps } => migrate::down::<Migrator>(&db, url, steps).await.map(|_| ()),
        MigrateAction::Status => Ok(()),
    };
    // The status is printed after a failure too: it shows where the schema stands.
    let printed = print_status(&db).await;
    let checked = migrate::check_known_versions::<Migrator>(&db).await;
    db.close().await.ok();
    result?;
    printed?;
    checked?;
    Ok(())
}

/// One line per migration: its name and `applied <time>` or `pending`; versions applied but
/// unknown to this binary are listed too.
async fn print_status(db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    let applied = migrate::applied_versions(db).await?;
    let known = migrate::known_versions::<Migrator>();
    for name in &known {
        match applied.iter().find(|(version, _)| version == name) {
            Some((_, applied_at)) => {
                let at = DateTime::from_timestamp(*applied_at, 0)
                    .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
                    .unwrap_or_else(|| applied_at.to_string());
                println!("{name} applied {at}");
            }
            None => println!("{name} pending"),
        }
    }
    for (version, _) in applied.iter().filter(|(version, _)| !known.contains(version)) {
        println!("{version} unknown (applied, but not in this binary)");
    }
    Ok(())
}

/// `todo-api token`: prints a token signed with the configured secret, or with the dev secret
/// when none is configured.
pub fn token(
    config: &Config,
    user: &str,
    email: Option<&str>,
    name: Option<&str>,
    ttl: Duration,
) -> anyhow::Result<()> {
    config.validate()?;
    if crate::domain::UserId::parse(user).is_none() {
        anyhow::bail!("--user must be 1 to 255 characters, not only whitespace");
    }
    let secret = match &config.better_auth_secret {
        Some(secret) => secret.clone(),
        None => load_or_create_dev_secret(&config.database_url)?,
    };
    let token = mint_hs256(
        &secret,
        &MintRequest {
            user_id: user,
            email,
            name,
            ttl,
            issuer: config.issuer().as_deref(),
            audience: config.audience().as_deref(),
        },
    )?;
    println!("{token}");
    Ok(())
}

/// `todo-api openapi`: writes the REST layer's OpenAPI document as YAML, exactly the bytes of
/// `contracts/openapi.yaml` (nothing is added).
pub fn openapi(out: &mut impl std::io::Write) -> anyhow::Result<()> {
    out.write_all(crate::rest::openapi::yaml()?.as_bytes())?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dev_secret_sits_beside_the_sqlite_file() {
        assert_eq!(
            dev_secret_path("sqlite://todo.db?mode=rwc"),
            PathBuf::from("./.todo-api-dev-secret")
        );
        assert_eq!(
            dev_secret_path("sqlite:///var/lib/todo/app.db?mode=rwc"),
            PathBuf::from("/var/lib/todo/.todo-api-dev-secret")
        );
        assert_eq!(
            dev_secret_path("sqlite::memory:"),
            PathBuf::from("./.todo-api-dev-secret")
        );
        assert_eq!(
            dev_secret_path("postgres://localhost/todo"),
            PathBuf::from("./.todo-api-dev-secret")
        );
    }
}
