//! PostgreSQL deployment details: TLS with rustls (`sslmode=require`, `verify-full`), and
//! migrations kept off a transaction-mode pooler (Neon `-pooler`). The tests that need a server
//! are ignored on SQLite; the TLS test also needs the server's `ssl = on`, which `.ci/run` turns
//! on, and fails in CI without it.

use std::net::{IpAddr, SocketAddr};

use reqwest::Method;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::json;
use todo_api::app::App;
use todo_api::testing::migrate;

use crate::helpers::{
    TestApp, fresh_database, new_user, require_postgres, skip_or_fail_in_ci, spawn_app_in, test_config,
};
use crate::proxy::{Proxy, upstream_of};

async fn text(db: &DatabaseConnection, sql: &str) -> Result<String, sea_orm::DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await?
        .ok_or_else(|| sea_orm::DbErr::Custom("no row".to_owned()))?;
    row.try_get_by_index::<String>(0)
}

/// `url` with `params` appended to its query string.
fn with_params(url: &str, params: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{params}")
}

/// The DNS names in the subject alternative names of the PEM certificate at `path` (none when it
/// cannot be read: `openssl` missing, for instance).
fn dns_names(path: &str) -> Vec<String> {
    let printed = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName", "-in", path])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    printed
        .split([',', ' ', '\n'])
        .filter_map(|item| item.strip_prefix("DNS:"))
        .map(str::to_owned)
        .collect()
}

/// The addresses `host:port` resolves to.
async fn addresses(host: &str, port: u16) -> Vec<SocketAddr> {
    tokio::net::lookup_host(format!("{host}:{port}"))
        .await
        .map(Iterator::collect)
        .unwrap_or_default()
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with TEST_DATABASE_URL (scripts/test.sh does)"]
async fn postgres_over_tls_with_rustls_require_encrypts_and_verify_full_checks_the_certificate() {
    require_postgres();
    let database = fresh_database().await;
    let plain = todo_api::testing::connect(&database.url).await.expect("connect");
    if text(&plain, "SHOW ssl").await.ok().as_deref() != Some("on") {
        return skip_or_fail_in_ci(
            "the PostgreSQL server has ssl off, so TLS is untested (.ci/run turns it on)",
        );
    }

    // sslmode=require: encrypted (not verified); the whole app runs over it.
    let require = with_params(&database.url, "sslmode=require");
    let tls = todo_api::testing::connect(&require).await.expect("connect");
    let encrypted = text(
        &tls,
        "SELECT ssl::text || ' ' || version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
    .await
    .expect("a TLS session");
    assert!(encrypted.starts_with("true TLS"), "{encrypted}");
    let app = spawn_app_in(database, |config| config.database_url = require.clone()).await;
    let user = new_user();
    let created = app.create_task(&user, json!({"title": "over TLS"})).await;
    let read = app
        .as_user(
            &user,
            Method::GET,
            &format!(
                "{}/{}",
                TestApp::tasks_path(&user),
                created["id"].as_str().expect("id")
            ),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(read.status(), 200);

    // verify-full: the server's certificate must chain to a trusted root and name the host. The
    // local server's is self-signed, so without its certificate as the root it is refused.
    let verify = with_params(&app.database.url, "sslmode=verify-full");
    let refused = todo_api::testing::connect(&verify).await.expect("lazy pool");
    let error = refused
        .ping()
        .await
        .expect_err("an untrusted certificate is refused");
    assert!(
        error.to_string().to_lowercase().contains("certificate"),
        "{error}"
    );

    // With the server's own certificate as the root, and a name it was issued for that reaches
    // the same server (Debian's certificate names the machine, often `localhost`).
    let Ok(cert_file) = text(&plain, "SHOW ssl_cert_file").await else {
        return skip_or_fail_in_ci("verify-full with a root: cannot read ssl_cert_file");
    };
    if let Err(error) = std::fs::File::open(&cert_file) {
        return skip_or_fail_in_ci(&format!(
            "verify-full with a root: cannot read the server's certificate {cert_file}: {error}"
        ));
    }
    let mut server = reqwest::Url::parse(&app.database.url).expect("a URL");
    let host = server.host_str().expect("a host").to_owned();
    let port = server.port().unwrap_or(5432);
    let server_addresses = addresses(&host, port).await;
    let mut issued_name = None;
    for name in dns_names(&cert_file) {
        let reached = addresses(&name, port).await;
        if reached.iter().any(|address| server_addresses.contains(address)) {
            issued_name = Some(name);
            break;
        }
    }
    let Some(issued_name) = issued_name else {
        return skip_or_fail_in_ci(&format!(
            "verify-full with a root: {cert_file} names no host that reaches {host}:{port} \
             (its names: {:?})",
            dns_names(&cert_file)
        ));
    };
    server.set_host(Some(&issued_name)).expect("a host name");
    let trusted = with_params(
        server.as_str(),
        &format!("sslmode=verify-full&sslrootcert={cert_file}"),
    );
    let verified = todo_api::testing::connect(&trusted).await.expect("lazy pool");
    verified
        .ping()
        .await
        .expect("a trusted certificate naming the host is accepted");
    // The same server by its address, a name the certificate was not issued for.
    let address = match server_addresses.first().expect("resolved").ip() {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    server.set_host(Some(&address)).expect("an address");
    let wrong_name = with_params(
        server.as_str(),
        &format!("sslmode=verify-full&sslrootcert={cert_file}"),
    );
    let mismatched = todo_api::testing::connect(&wrong_name).await.expect("lazy pool");
    assert!(
        mismatched.ping().await.is_err(),
        "a certificate for another name is refused"
    );
}

#[tokio::test]
async fn migrations_refuse_a_transaction_mode_pooler_and_say_what_to_do() {
    // No server is contacted: the refusal comes before any connection.
    let pooled = "postgres://app@ep-quiet-sea-123456-pooler.eu-central-1.aws.neon.tech/todo?sslmode=require";
    let db = todo_api::testing::connect(pooled).await.expect("lazy pool");
    let error = migrate::up::<migration::Migrator>(&db, pooled, None)
        .await
        .expect_err("refused");
    let message = error.to_string();
    assert!(
        message.contains("-pooler") && message.contains("MIGRATION_DATABASE_URL"),
        "{message}"
    );
    assert!(!error.is_unavailable(), "a refusal, not an outage to wait out");

    let config = test_config(pooled);
    let error = App::build(&config).await.err().expect("serve refuses to start");
    assert!(
        format!("{error:#}").contains("MIGRATION_DATABASE_URL"),
        "{error:#}"
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with TEST_DATABASE_URL (scripts/test.sh does); SQLite has no connection to cut"]
async fn serve_migrates_over_migration_database_url_when_it_is_set() {
    require_postgres();
    // The serving URL goes through a proxy that is cut: only the direct URL can migrate.
    let database = fresh_database().await;
    let proxy = Proxy::start(upstream_of(&database.url)).await;
    proxy.cut();
    let (direct, serving) = (database.url.clone(), proxy.url_for(&database.url));
    let app = spawn_app_in(database, |config| {
        config.database_url = serving;
        config.migration_database_url = Some(direct);
    })
    .await;
    let versions = migrate::applied_versions(&app.db).await.expect("versions");
    assert_eq!(
        versions.len(),
        migrate::known_versions::<migration::Migrator>().len()
    );

    proxy.restore();
    let user = new_user();
    app.create_task(&user, json!({"title": "served through the other URL"}))
        .await;
}
