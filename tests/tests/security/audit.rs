//! The audit log: every write and denial chained, verify detecting an edit,
//! and signed checkpoints detecting what the chain alone cannot.

use innolab_gateway::audit::Only;

use super::*;

/// The audit log of one test on `backend`: a schema of its own on
/// PostgreSQL, the setup's SQLite file otherwise.
pub(super) struct AuditDb {
    pub(super) url: String,
    /// The PostgreSQL schema; `None` on SQLite.
    schema: Option<String>,
}

impl AuditDb {
    /// Points the setup's gateway at the audit log for `backend`.
    pub(super) fn on(backend: &Backend, s: &mut Setup) -> AuditDb {
        match backend {
            Backend::Postgres(url) => {
                let schema = format!("test_audit_{}", uuid::Uuid::now_v7().simple());
                s.vars
                    .insert("INNOLAB_AUDIT_DATABASE_URL".into(), url.clone());
                s.vars
                    .insert("INNOLAB_AUDIT_DATABASE_SCHEMA".into(), schema.clone());
                AuditDb {
                    url: url.clone(),
                    schema: Some(schema),
                }
            }
            Backend::Sqlite => AuditDb {
                url: s.vars["INNOLAB_AUDIT_DATABASE_URL"].clone(),
                schema: None,
            },
        }
    }

    /// `name`, qualified by the schema where there is one.
    pub(super) fn table(&self, name: &str) -> String {
        match &self.schema {
            Some(schema) => format!("\"{schema}\".{name}"),
            None => name.to_string(),
        }
    }

    /// The audit store, as `innolab-gateway audit verify` opens it.
    pub(super) async fn open(&self) -> innolab_gateway::audit::Store {
        let schema = self.schema.as_deref().unwrap_or("audit");
        let settings = innolab_kit::config::DatabaseSettings::new(&self.url, schema, 2).unwrap();
        innolab_gateway::audit::open(&settings.into())
            .await
            .unwrap()
    }

    /// Drops the PostgreSQL schema.
    pub(super) async fn drop(&self, pool: &sqlx::AnyPool) {
        if let Some(schema) = &self.schema {
            sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                .execute(pool)
                .await
                .unwrap();
        }
    }
}

async fn the_audit_log_chains_every_write_and_denial_and_verify_detects_an_edit(backend: Backend) {
    use prost::Message as _;
    use sha2::Digest as _;

    let dir = tempfile::tempdir().unwrap();
    let mut s = setup(dir.path(), "organizations/editor-org");
    // The audit log on the backend under test (a schema of its own on PostgreSQL).
    let db = AuditDb::on(&backend, &mut s);
    let table = db.table("audit_log");
    let suite = Suite::start_with(&backend, security_of(&s.vars).unwrap()).await;
    let channel = connect(&suite, &s.ca.pem, None).await.unwrap();
    let mut members = mb::membership_service_client::MembershipServiceClient::new(channel.clone());
    let mut gateway =
        innolab_proto::innolab::gateway::v1::gateway_service_client::GatewayServiceClient::new(
            channel,
        );
    let admin = s.signer.token("k1", ADMIN, "innolab", 300);
    let reader = s.signer.token("k1", READER, "innolab", 300);

    // 1. A write that succeeds, naming an end user and a case.
    let create = mb::CreateOrganizationRequest {
        organization: Some(mb::Organization {
            display_names: vec![mb::LocalizedText {
                language_code: "ro".into(),
                text: "Primăria Brașov".into(),
            }],
            kind: mb::OrganizationKind::Government as i32,
            country_code: "RO".into(),
            ..Default::default()
        }),
        request_id: "audit-1".into(),
    };
    let mut request = with_token(create.clone(), Some(&admin));
    for (name, value) in [
        ("x-user-id", "ana.popescu"),
        ("x-issue", "CASE-7"),
        ("x-request-id", "req-1"),
    ] {
        request.metadata_mut().insert(name, value.parse().unwrap());
    }
    let created = members
        .create_organization(request)
        .await
        .unwrap()
        .into_inner();
    // 2. A write that is denied, 3. a read (not recorded), 4. a read without identity.
    let status = members
        .create_organization(with_token(create.clone(), Some(&reader)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    members
        .list_organizations(with_token(
            mb::ListOrganizationsRequest::default(),
            Some(&reader),
        ))
        .await
        .unwrap();
    members
        .list_organizations(with_token(mb::ListOrganizationsRequest::default(), None))
        .await
        .unwrap_err();
    // 5. A write that fails validation.
    let mut bad = create.clone();
    bad.organization.as_mut().unwrap().country_code = "XX".into();
    bad.request_id = String::new();
    members
        .create_organization(with_token(bad, Some(&admin)))
        .await
        .unwrap_err();

    // Entries are appended by one writer: wait for all four.
    let list = |token: &str| {
        with_token(
            innolab_proto::innolab::gateway::v1::ListAuditEntriesRequest::default(),
            Some(token),
        )
    };
    let mut entries = Vec::new();
    for _ in 0..100 {
        entries = gateway
            .list_audit_entries(list(&admin))
            .await
            .unwrap()
            .into_inner()
            .entries;
        if entries.len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let summary: Vec<(String, String, String)> = entries
        .iter()
        .map(|e| {
            (
                e.client_id.clone(),
                e.method.rsplit('/').next().unwrap().to_string(),
                e.outcome.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                ADMIN.to_string(),
                "CreateOrganization".to_string(),
                "OK".to_string()
            ),
            (
                READER.into(),
                "CreateOrganization".into(),
                "PERMISSION_DENIED".into()
            ),
            (
                String::new(),
                "ListOrganizations".into(),
                "UNAUTHENTICATED".into()
            ),
            (
                ADMIN.into(),
                "CreateOrganization".into(),
                "INVALID_ARGUMENT".into()
            ),
        ]
    );
    let first = &entries[0];
    assert_eq!(first.resource, created.name, "a create names what it made");
    assert_eq!(
        (
            first.user_id.as_str(),
            first.issue.as_str(),
            first.request_id.as_str()
        ),
        (
            user_hash::keyed(&USER_KEY, "ana.popescu").as_str(),
            "CASE-7",
            "req-1"
        ),
        "the end user as a keyed hash (user_hash.rs)"
    );
    // The request hash is of the bytes received: the gRPC frame of the message.
    let body = create.encode_to_vec();
    let mut frame = vec![0u8];
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(first.request_sha256, hex(&sha2::Sha256::digest(&frame)));
    assert_eq!(first.previous_hash, "0".repeat(64));
    for pair in entries.windows(2) {
        assert_eq!(
            pair[1].previous_hash, pair[0].hash,
            "each entry chains the one before"
        );
        assert_eq!(pair[1].sequence, pair[0].sequence + 1);
    }

    // A reader sees only its own entries.
    let own = gateway
        .list_audit_entries(list(&reader))
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert!(
        !own.is_empty() && own.iter().all(|e| e.client_id == READER),
        "{own:?}"
    );

    // The chain verifies; the table refuses edits; an edit made behind its
    // back (trigger dropped) is detected.
    let store = db.open().await;
    assert_eq!(
        innolab_gateway::audit::verify(&store, &Default::default())
            .await
            .unwrap(),
        None
    );
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    let edit = format!("UPDATE {table} SET outcome = 'OK' WHERE sequence = 2");
    let refused = sqlx::query(&edit).execute(&pool).await;
    assert!(refused.is_err(), "the audit table is append-only");
    let emptied = match backend {
        Backend::Postgres(_) => {
            sqlx::query(&format!("TRUNCATE {table}"))
                .execute(&pool)
                .await
        }
        // SQLite has no TRUNCATE: an unqualified DELETE is its form of it.
        Backend::Sqlite => {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&pool)
                .await
        }
    };
    assert!(emptied.is_err(), "the audit table refuses to be emptied");
    assert_eq!(
        innolab_gateway::audit::verify(&store, &Default::default())
            .await
            .unwrap(),
        None
    );
    let drop_trigger = match backend {
        Backend::Postgres(_) => format!("DROP TRIGGER audit_log_append_only ON {table}"),
        Backend::Sqlite => "DROP TRIGGER audit_log_no_update".to_string(),
    };
    sqlx::query(&drop_trigger).execute(&pool).await.unwrap();
    sqlx::query(&edit).execute(&pool).await.unwrap();
    let broken = innolab_gateway::audit::verify(&store, &Default::default())
        .await
        .unwrap();
    assert_eq!(
        broken.map(|(sequence, _)| sequence),
        Some(2),
        "the edited entry is found"
    );
    db.drop(&pool).await;
    pool.close().await;
    suite.stop().await;
}

innolab_tests::on_both_backends!(
    the_audit_log_chains_every_write_and_denial_and_verify_detects_an_edit,
    signed_checkpoints_detect_what_the_chain_alone_cannot,
    strict_mode_answers_a_write_only_once_its_entry_is_committed,
);

/// Signed checkpoints anchor the chain outside the database: with them,
/// `verify` detects the newest entries deleted, a chain rewritten with
/// recomputed hashes, an emptied table and a forged checkpoint.
async fn signed_checkpoints_detect_what_the_chain_alone_cannot(backend: Backend) {
    use innolab_gateway::audit::{self, Evidence, checkpoint};

    let dir = tempfile::tempdir().unwrap();
    let mut s = setup(dir.path(), "organizations/editor-org");
    let db = AuditDb::on(&backend, &mut s);
    let (audit_log, audit_checkpoint) = (db.table("audit_log"), db.table("audit_checkpoint"));
    // The key an operator makes with `openssl genpkey -algorithm ed25519`.
    let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let key_file = dir.path().join("audit-signing.pem");
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    let outside = dir.path().join("checkpoints.jsonl");
    for (name, value) in [
        (
            "INNOLAB_AUDIT_SIGNING_KEY_FILE",
            key_file.display().to_string(),
        ),
        (
            "INNOLAB_AUDIT_CHECKPOINT_FILE",
            outside.display().to_string(),
        ),
        ("INNOLAB_AUDIT_CHECKPOINT_EVERY", "2".into()),
        ("INNOLAB_AUDIT_CHECKPOINT_SECONDS", "2".into()),
    ] {
        s.vars.insert(name.into(), value);
    }
    let suite = Suite::start_with(&backend, security_of(&s.vars).unwrap()).await;
    let channel = connect(&suite, &s.ca.pem, None).await.unwrap();
    let mut members = mb::membership_service_client::MembershipServiceClient::new(channel);
    let admin = s.signer.token("k1", ADMIN, "innolab", 300);
    for n in 0..3 {
        let create = mb::CreateOrganizationRequest {
            organization: Some(mb::Organization {
                display_names: vec![mb::LocalizedText {
                    language_code: "ro".into(),
                    text: format!("Primăria {n}"),
                }],
                kind: mb::OrganizationKind::Government as i32,
                country_code: "RO".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        };
        members
            .create_organization(with_token(create, Some(&admin)))
            .await
            .unwrap();
    }
    // Entry 2 is signed for the count, entry 3 by the timer two seconds later.
    let mut signed = Vec::new();
    for _ in 0..100 {
        signed = checkpoint::read_file(&outside).unwrap_or_default();
        if signed.iter().any(|c| c.sequence == 3) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // (On a slow machine the timer may also sign entry 1 first.)
    let sequences: Vec<i64> = signed.iter().map(|c| c.sequence).collect();
    assert!(
        sequences.ends_with(&[2, 3]) && sequences.iter().all(|s| (1..=3).contains(s)),
        "{signed:?}"
    );
    suite.stop().await;

    let store = db.open().await;
    assert_eq!(
        store.checkpoints().await.unwrap(),
        signed,
        "kept in the database too"
    );
    let evidence = Evidence {
        key: Some(checkpoint::verifying_key(&key_file).unwrap()),
        outside: signed.clone(),
    };
    assert_eq!(audit::verify(&store, &evidence).await.unwrap(), None);

    // Behind the table's back (its triggers dropped), as an intruder would.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    let run = |sql: String| {
        let pool = pool.clone();
        async move { sqlx::query(&sql).execute(&pool).await.unwrap() }
    };
    match backend {
        Backend::Postgres(_) => {
            run(format!("DROP TRIGGER audit_log_append_only ON {audit_log}")).await;
            run(format!("DROP TRIGGER audit_log_no_truncate ON {audit_log}")).await;
            run(format!(
                "DROP TRIGGER audit_checkpoint_append_only ON {audit_checkpoint}"
            ))
            .await;
        }
        Backend::Sqlite => {
            for trigger in [
                "audit_log_no_update",
                "audit_log_no_delete",
                "audit_checkpoint_no_delete",
            ] {
                run(format!("DROP TRIGGER {trigger}")).await;
            }
        }
    }
    let verdict = || async { audit::verify(&store, &evidence).await.unwrap() };

    // 1. The newest entry deleted: the log ends before its checkpoint.
    run(format!("DELETE FROM {audit_log} WHERE sequence = 3")).await;
    let (at, why) = verdict().await.unwrap();
    assert_eq!(at, 3, "{why}");
    assert!(why.contains("gone"), "{why}");

    // 2. The chain rewritten from entry 1 on, every hash recomputed: entry 2
    //    no longer has the hash its checkpoint signed.
    let mut previous = audit::GENESIS.to_string();
    for mut entry in store.list(0, 10, Only::default()).await.unwrap() {
        if entry.sequence == 1 {
            entry.outcome = "PERMISSION_DENIED".into();
        }
        entry.previous_hash = previous;
        entry.hash = entry.chain_hash();
        run(format!(
            "UPDATE {audit_log} SET outcome = '{}', previous_hash = '{}', hash = '{}' \
             WHERE sequence = {}",
            entry.outcome, entry.previous_hash, entry.hash, entry.sequence
        ))
        .await;
        previous = entry.hash;
    }
    let without_anchor = Evidence::default();
    let (at, why) = verdict().await.unwrap();
    assert!(at <= 2, "{at}: {why}");
    assert!(why.contains("rewritten"), "{why}");

    // 3. A forged checkpoint over the rewritten head (signed by another key).
    let forger = audit::Signing::new(
        ed25519_dalek::SigningKey::from_bytes(&[9; 32]),
        1,
        Duration::from_secs(1),
        None,
    );
    let head = store.list(1, 1, Only::default()).await.unwrap().remove(0);
    store.add_checkpoint(&forger.sign(&head)).await.unwrap();
    let (_, why) = verdict().await.unwrap();
    assert!(why.contains("not genuine"), "{why}");

    // 4. Both tables emptied: only the checkpoints outside the database remain,
    //    and they say the log had three entries.
    run(format!("DELETE FROM {audit_log}")).await;
    run(format!("DELETE FROM {audit_checkpoint}")).await;
    assert_eq!(
        audit::verify(&store, &without_anchor).await.unwrap(),
        None,
        "without an outside anchor an emptied log looks intact"
    );
    let (at, why) = verdict().await.unwrap();
    assert_eq!(at, 1, "{why}");
    assert!(why.contains("entries 1 to 3 are gone"), "{why}");

    db.drop(&pool).await;
    pool.close().await;
}

/// Strict mode: a write is answered once its entry is committed (it is in
/// the log when the answer arrives), and a write whose entry cannot be
/// written is answered UNAVAILABLE, over gRPC and over JSON.
async fn strict_mode_answers_a_write_only_once_its_entry_is_committed(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = setup(dir.path(), "organizations/editor-org");
    let db = AuditDb::on(&backend, &mut s);
    let audit_log = db.table("audit_log");
    s.vars.insert("INNOLAB_AUDIT_STRICT".into(), "true".into());
    let suite = Suite::start_with(&backend, security_of(&s.vars).unwrap()).await;
    let channel = connect(&suite, &s.ca.pem, None).await.unwrap();
    let mut members = mb::membership_service_client::MembershipServiceClient::new(channel);
    let admin = s.signer.token("k1", ADMIN, "innolab", 300);
    let create = |n: usize| mb::CreateOrganizationRequest {
        organization: Some(mb::Organization {
            display_names: vec![mb::LocalizedText {
                language_code: "ro".into(),
                text: format!("Primăria {n}"),
            }],
            kind: mb::OrganizationKind::Government as i32,
            country_code: "RO".into(),
            ..Default::default()
        }),
        request_id: format!("strict-{n}"),
    };
    let store = db.open().await;

    // Each answer arrives with its entry already in the log: no waiting.
    for n in 1..=3 {
        let created = members
            .create_organization(with_token(create(n), Some(&admin)))
            .await
            .unwrap()
            .into_inner();
        let entries = store.list(0, 100, Only::default()).await.unwrap();
        assert_eq!(entries.len(), n, "entry {n} is committed before the answer");
        let last = entries.last().unwrap();
        assert_eq!(
            (last.outcome.as_str(), last.resource.as_str()),
            ("OK", created.name.as_str())
        );
    }
    // A refused write is answered with its own code, recorded too.
    let mut bad = create(4);
    bad.organization.as_mut().unwrap().country_code = "XX".into();
    let status = members
        .create_organization(with_token(bad, Some(&admin)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(store.list(0, 100, Only::default()).await.unwrap().len(), 4);

    // The audit table refuses new rows: the write is not confirmed.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    let refuse = match backend {
        Backend::Postgres(_) => format!(
            "CREATE TRIGGER audit_log_full BEFORE INSERT ON {audit_log} \
             FOR EACH ROW EXECUTE FUNCTION {}()",
            db.table("audit_log_append_only")
        ),
        Backend::Sqlite => "CREATE TRIGGER audit_log_full BEFORE INSERT ON audit_log \
             BEGIN SELECT RAISE(ABORT, 'full'); END"
            .to_string(),
    };
    sqlx::query(&refuse).execute(&pool).await.unwrap();
    let status = members
        .create_organization(with_token(create(5), Some(&admin)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("may have been applied"),
        "{status:?}"
    );
    suite.stop().await;

    // Over JSON (a development gateway: plaintext, open, the same strict
    // audit log still refusing rows): 503 with the error body.
    let mut vars = HashMap::from([("INNOLAB_AUDIT_STRICT".to_string(), "true".to_string())]);
    for name in [
        "INNOLAB_AUDIT_DATABASE_URL",
        "INNOLAB_AUDIT_DATABASE_SCHEMA",
    ] {
        if let Some(value) = s.vars.get(name) {
            vars.insert(name.into(), value.clone());
        }
    }
    let suite = Suite::start_with(&backend, security_of(&vars).unwrap()).await;
    let (http_status, body) = innolab_tests::http_post(
        suite.gateway,
        "/innolab.membership.v1.MembershipService/CreateOrganization",
        &serde_json::json!({
            "organization": {"displayNames": [{"languageCode": "ro", "text": "Primăria 6"}],
                             "kind": "ORGANIZATION_KIND_GOVERNMENT", "countryCode": "RO"}
        })
        .to_string(),
    )
    .await;
    assert_eq!(http_status, 503, "{body}");
    assert!(body.contains("\"unavailable\""), "{body}");

    db.drop(&pool).await;
    pool.close().await;
    suite.stop().await;
}
