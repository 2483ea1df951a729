//! PostgreSQL deployment details: TLS with rustls (`sslmode=require`, `verify-full`), and
//! migrations kept off a transaction-mode pooler (Neon `-pooler`).

use reqwest::Method;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::json;
use todo_api::app::App;
use todo_api::migrate;

use crate::helpers::{
    TestApp, fresh_database, new_user, postgres_admin_url, say_skipped, spawn_app_in, test_config,
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

#[tokio::test]
async fn postgres_over_tls_with_rustls_require_encrypts_and_verify_full_checks_the_certificate() {
    const TEST: &str =
        "postgres_over_tls_with_rustls_require_encrypts_and_verify_full_checks_the_certificate";
    if postgres_admin_url().is_none() {
        say_skipped(TEST, "needs PostgreSQL (TEST_DATABASE_URL)");
        return;
    }
    let database = fresh_database().await;
    let plain = todo_api::db::connect(&database.url).await.expect("connect");
    if text(&plain, "SHOW ssl").await.ok().as_deref() != Some("on") {
        say_skipped(TEST, "the PostgreSQL server has ssl off: TLS is untested here");
        return;
    }

    // sslmode=require: encrypted (not verified); the whole app runs over it.
    let require = with_params(&database.url, "sslmode=require");
    let tls = todo_api::db::connect(&require).await.expect("connect");
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
    let refused = todo_api::db::connect(&verify).await.expect("lazy pool");
    let error = refused
        .ping()
        .await
        .expect_err("an untrusted certificate is refused");
    assert!(
        error.to_string().to_lowercase().contains("certificate"),
        "{error}"
    );

    // With the server's own certificate as the root, and the name it was issued for.
    let Ok(cert_file) = text(&plain, "SHOW ssl_cert_file").await else {
        return say_skipped(TEST, "verify-full with a root: cannot read ssl_cert_file");
    };
    if std::fs::metadata(&cert_file).is_err() {
        return say_skipped(
            TEST,
            &format!("verify-full with a root: {cert_file} is not readable here"),
        );
    }
    let names = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName", "-in", &cert_file])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    let local = app.database.url.contains("@127.0.0.1") || app.database.url.contains("@localhost");
    if !(local && names.contains("DNS:localhost")) {
        return say_skipped(
            TEST,
            "verify-full with a root: the certificate does not name localhost",
        );
    }
    let by_name = app.database.url.replacen("@127.0.0.1", "@localhost", 1);
    let trusted = with_params(&by_name, &format!("sslmode=verify-full&sslrootcert={cert_file}"));
    let verified = todo_api::db::connect(&trusted).await.expect("lazy pool");
    verified
        .ping()
        .await
        .expect("a trusted certificate naming the host is accepted");
    let wrong_name = with_params(
        &app.database.url.replacen("@localhost", "@127.0.0.1", 1),
        &format!("sslmode=verify-full&sslrootcert={cert_file}"),
    );
    let mismatched = todo_api::db::connect(&wrong_name).await.expect("lazy pool");
    assert!(
        mismatched.ping().await.is_err(),
        "a certificate for another name is refused"
    );
}

#[tokio::test]
async fn migrations_refuse_a_transaction_mode_pooler_and_say_what_to_do() {
    // No server is contacted: the refusal comes before any connection.
    let pooled = "postgres://app@ep-quiet-sea-123456-pooler.eu-central-1.aws.neon.tech/todo?sslmode=require";
    let db = todo_api::db::connect(pooled).await.expect("lazy pool");
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
async fn serve_migrates_over_migration_database_url_when_it_is_set() {
    const TEST: &str = "serve_migrates_over_migration_database_url_when_it_is_set";
    if postgres_admin_url().is_none() {
        say_skipped(TEST, "needs PostgreSQL (TEST_DATABASE_URL)");
        return;
    }
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
