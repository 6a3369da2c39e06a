//! `innolab-gateway audit verify`, the real binary: exit 0 over an intact
//! chain, 1 naming the entry that was edited behind the table's back.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::process::Command;

use innolab_gateway::audit::{self, Entry};

fn verify(url: &str) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_innolab-gateway"))
        .args(["audit", "verify"])
        .env("INNOLAB_AUDIT_DATABASE_URL", url)
        .env("INNOLAB_METRICS_ADDR", "off")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[tokio::test]
async fn verify_detects_an_edited_entry() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/audit.db", dir.path().display());
    let settings = innolab_kit::config::DatabaseSettings::new(&url, "audit", 2).unwrap();
    let store = audit::open(&settings.into()).await.unwrap();
    for (client, outcome) in [
        ("RO/GOV/1/a", "OK"),
        ("RO/GOV/2/b", "PERMISSION_DENIED"),
        ("RO/GOV/1/a", "OK"),
    ] {
        store
            .append(Entry {
                client_id: client.into(),
                method: "innolab.membership.v1.MembershipService/CreateOrganization".into(),
                outcome: outcome.into(),
                time_micros: 1,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let (code, out) = verify(&url);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact"), "{out}");

    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::query("DROP TRIGGER audit_log_no_update")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET outcome = 'OK' WHERE sequence = 2")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let (code, out) = verify(&url);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("entry 2"), "{out}");

    // Without the setting it refuses to guess (exit 2, naming the variable).
    let output = Command::new(env!("CARGO_BIN_EXE_innolab-gateway"))
        .args(["audit", "verify"])
        .env_remove("INNOLAB_AUDIT_DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("INNOLAB_AUDIT_DATABASE_URL"));
}

#[test]
fn production_without_tls_refuses_to_start() {
    let output = Command::new(env!("CARGO_BIN_EXE_innolab-gateway"))
        .env_clear()
        .env("INNOLAB_ENVIRONMENT", "production")
        .env("INNOLAB_LISTEN_ADDR", "127.0.0.1:0")
        .env("INNOLAB_METRICS_ADDR", "off")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("INNOLAB_TLS_CERT_FILE"), "{stderr}");
}
