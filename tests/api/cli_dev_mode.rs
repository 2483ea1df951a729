//! The binary itself: dev auth mode, its refusals, and the `token` command.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_todo-api");

/// The binary with a clean environment (no auth configured), run in `dir`.
fn todo_api(dir: &std::path::Path) -> Command {
    let mut command = Command::new(BINARY);
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", dir.join("todo.db").display()),
        )
        .env("LOG_FORMAT", "json")
        .stdin(Stdio::null());
    command
}

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve` on port 0 and reads the banner: (server, base URL, dev token).
fn start_dev_server(dir: &std::path::Path) -> (Server, String, String) {
    let mut child = todo_api(dir)
        .env("BIND_ADDR", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start todo-api");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let (mut base_url, mut token) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(30);
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("utf-8 line");
        if let Some(url) = line.strip_prefix("==> GraphQL playground: ") {
            base_url = Some(url.trim_end_matches("/graphql").to_owned());
        }
        if let Some(found) = line.strip_prefix("dev token: ") {
            token = Some(found.to_owned());
            break;
        }
        // Scripts find the token with `grep 'dev token'`: no other line may match.
        assert!(
            !line.contains("dev token"),
            "a second line mentions the dev token: {line}"
        );
        assert!(Instant::now() < deadline, "no dev token printed in time");
    }
    (
        server,
        base_url.expect("the playground URL is printed"),
        token.expect("a dev token line"),
    )
}

#[tokio::test]
async fn dev_auth_mode_prints_a_working_token_that_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (server, base_url, token) = start_dev_server(dir.path());
    let client = reqwest::Client::new();
    let list = |base: String, token: String| {
        let client = client.clone();
        async move {
            client
                .get(format!("{base}/api/demo-user/tasks"))
                .bearer_auth(token)
                .send()
                .await
                .expect("request")
                .status()
        }
    };
    assert_eq!(list(base_url.clone(), token.clone()).await, 200);
    let playground = client
        .get(format!("{base_url}/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("page");
    assert!(
        playground.contains(&format!("Bearer {token}")),
        "the playground opens with the dev token"
    );

    let secret_file = dir.path().join(".todo-api-dev-secret");
    let metadata = std::fs::metadata(&secret_file).expect("the dev secret is kept beside the database");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            metadata.permissions().mode() & 0o777,
            0o600,
            "only the owner may read it"
        );
    }
    let secret = std::fs::read_to_string(&secret_file).expect("secret");
    assert!(secret.trim().len() >= 32);

    drop(server);
    let (_restarted, base_url, new_token) = start_dev_server(dir.path());
    assert_eq!(
        list(base_url.clone(), token).await,
        200,
        "the old token still works after a restart"
    );
    assert_eq!(list(base_url, new_token).await, 200);
}

#[test]
fn dev_auth_mode_refuses_a_non_loopback_address() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = todo_api(dir.path())
        .env("BIND_ADDR", "0.0.0.0:0")
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("BETTER_AUTH_SECRET"),
        "the message says what to configure: {stderr}"
    );
    assert!(!dir.path().join(".todo-api-dev-secret").exists());
}

#[test]
fn a_secret_shorter_than_32_bytes_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = todo_api(dir.path())
        .env("BETTER_AUTH_SECRET", "too-short")
        .env("BIND_ADDR", "127.0.0.1:0")
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("at least 32"), "{stderr}");
    assert!(
        !stderr.contains("too-short"),
        "the secret itself is never printed: {stderr}"
    );
}

#[test]
fn the_token_command_mints_a_token_for_the_configured_secret() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secret = "token-command-secret-0123456789abcdef";
    let output = todo_api(dir.path())
        .env("BETTER_AUTH_SECRET", secret)
        .args([
            "token",
            "--user",
            "cli-user",
            "--email",
            "c@example.com",
            "--ttl",
            "15m",
        ])
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).expect("utf-8");
    let token = token.trim();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .expect("signed with the configured secret")
    .claims;
    assert_eq!(claims["sub"], "cli-user");
    assert_eq!(claims["email"], "c@example.com");
    let lifetime = claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat");
    assert_eq!(lifetime, 15 * 60);

    let refused = todo_api(dir.path())
        .args(["token", "--user", "  "])
        .output()
        .expect("run");
    assert!(!refused.status.success(), "a blank user id is refused");
}
