//! The database connection as operators run it. PostgreSQL over TLS, as
//! managed databases and CloudNativePG require it:
//! `sslmode=require` encrypts, a CA file (`INNOLAB_DATABASE_CA_FILE`)
//! verifies the server, and a server that fails verification keeps the
//! service NOT_SERVING instead of serving without its database.
//!
//! Runs against `INNOLAB_TEST_POSTGRES_URL` when set (CI's server has
//! `ssl = on` with Debian's snakeoil certificate, issued to `localhost`);
//! `INNOLAB_TEST_POSTGRES_CA_FILE` names the certificate that signs it
//! (default: the snakeoil certificate itself). Behind a transaction pooler,
//! a role whose search_path is not the schema is refused (the whole scenario
//! through a real PgBouncer is in `e2e.rs`, run by `.ci/pgbouncer.sh`).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use innolab_kit::config::{DatabaseSettings, Settings};
use innolab_kit::db::Database;
use innolab_tests::{Backend, TestServer};
use tonic_health::pb::health_check_response::ServingStatus;

/// The test server's URL with `params` added to its query.
fn url_with(base: &str, params: &str) -> String {
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}{params}")
}

/// The test server's URL without its `sslmode`, if any.
fn without_sslmode(base: &str) -> String {
    let Some((head, query)) = base.split_once('?') else {
        return base.to_string();
    };
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.starts_with("sslmode="))
        .collect();
    if rest.is_empty() {
        head.to_string()
    } else {
        format!("{head}?{}", rest.join("&"))
    }
}

/// The same URL, naming the server `localhost` (the name its certificate carries).
fn by_name(base: &str) -> String {
    base.replace("@127.0.0.1", "@localhost")
}

fn ca_file() -> PathBuf {
    std::env::var_os("INNOLAB_TEST_POSTGRES_CA_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/ssl/certs/ssl-cert-snakeoil.pem"))
}

fn postgres() -> Option<String> {
    match Backend::postgres()? {
        Backend::Postgres(url) => Some(url),
        Backend::Sqlite => None,
    }
}

/// Whether the pool's connection is encrypted, as the server sees it.
async fn encrypted(settings: &DatabaseSettings) -> Result<bool, sqlx::Error> {
    let db = Database::connect_lazy(settings).expect("pool");
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(db.pool())
        .await?;
    db.close().await;
    Ok(ssl)
}

/// Named so that CI's PostgreSQL pass (`-- postgres::`) runs them.
mod postgres {
    use super::*;

    #[tokio::test]
    async fn sslmode_require_encrypts_the_connection() {
        let Some(base) = postgres() else { return };
        let settings =
            DatabaseSettings::new(&url_with(&base, "sslmode=require"), "tls_probe", 1).unwrap();
        assert!(
            encrypted(&settings).await.unwrap(),
            "sslmode=require sent plaintext"
        );
    }

    #[tokio::test]
    async fn a_ca_file_verifies_the_server_by_name() {
        let Some(base) = postgres() else { return };
        let ca = ca_file();
        if !ca.exists() {
            panic!(
                "{} is missing: set INNOLAB_TEST_POSTGRES_CA_FILE to the CA of the test server",
                ca.display()
            );
        }
        // The CA file alone means verify-full: the chain and the name.
        let settings = DatabaseSettings::new(&by_name(&without_sslmode(&base)), "tls_probe", 1)
            .unwrap()
            .with_ca_file("INNOLAB_DATABASE_CA_FILE", Some(&ca))
            .unwrap();
        assert_eq!(settings.ssl_mode(), "verify-full");
        assert!(encrypted(&settings).await.unwrap());
    }

    #[tokio::test]
    async fn a_server_failing_verification_keeps_the_service_not_serving() {
        let Some(base) = postgres() else { return };
        // 127.0.0.1 is not the name in the server's certificate (localhost).
        let url = url_with(
            &base.replace("@localhost", "@127.0.0.1"),
            "sslmode=verify-full",
        );
        let settings = DatabaseSettings::new(&url, "tls_probe", 1)
            .unwrap()
            .with_ca_file("INNOLAB_DATABASE_CA_FILE", Some(&ca_file()))
            .unwrap();
        let error = encrypted(&settings).await.unwrap_err();
        let text = format!("{error}");
        assert!(
            text.contains("certificate not valid for name"),
            "the error names what failed: {text}"
        );

        let backend = Backend::Postgres(url);
        let server = TestServer::start(
            &backend,
            "membership",
            innolab_tests::membership,
            |s: &mut Settings| {
                s.database = s
                    .database
                    .clone()
                    .with_ca_file("INNOLAB_DATABASE_CA_FILE", Some(&ca_file()))
                    .unwrap();
            },
        )
        .await;
        server
            .wait_for(innolab_kit::server::LIVENESS, ServingStatus::Serving)
            .await;
        // Alive, never ready: the database it cannot trust is retried in the background.
        for _ in 0..10 {
            assert_eq!(server.health("").await, ServingStatus::NotServing);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        server.stop().await;
    }

    #[tokio::test]
    async fn transaction_pooling_needs_the_roles_search_path() {
        let Some(base) = postgres() else { return };
        // The test server's role keeps PostgreSQL's default search_path
        // ("$user", public): it does not select the schema by itself.
        let mut settings = DatabaseSettings::new(&base, "pooled_probe", 1).unwrap();
        settings.pooling = innolab_kit::config::Pooling::Transaction;
        let db = Database::connect_lazy(&settings).unwrap();
        let none = innolab_kit::db::Migrations {
            sqlite: &[],
            postgres: &[],
        };
        let error = db.is_migrated(&none).await.unwrap_err().to_string();
        assert!(
            error.contains("INNOLAB_DATABASE_POOLING=transaction")
                && error.contains("ALTER ROLE")
                && error.contains("pooled_probe"),
            "{error}"
        );
        db.close().await;
    }
}
