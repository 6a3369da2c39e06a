//! The audit log keeps the end user (`x-user-id`) only as a keyed hash,
//! `hmac-sha256:<hex>` under INNOLAB_AUDIT_USER_KEY_FILE, a key the
//! database never holds: no id in clear, `verify` intact, a lab
//! administrator still finds one person's entries, and another key gives
//! other hashes (a rotated key leaves the old entries under the old ones).

use hmac::Mac as _;
use innolab_proto::innolab::gateway::v1 as gw;

use innolab_tests::fixtures::organization_request;

use super::audit::AuditDb;
use super::*;

/// `hmac-sha256:<hex>` of `user_id` under `key`, computed here, apart from
/// the gateway's code.
pub(super) fn keyed(key: &[u8], user_id: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(user_id.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("hmac-sha256:{hex}")
}

/// Creates an organisation as `token`'s client for `user` (no `x-user-id`
/// when empty), with `x-request-id` `request_id`; the gRPC code.
async fn create(channel: &Channel, token: &str, user: &str, request_id: &str) -> Code {
    let message = organization_request(&format!("Primăria {request_id}"), "RO");
    let mut request = with_token(message, Some(token));
    request
        .metadata_mut()
        .insert("x-request-id", request_id.parse().unwrap());
    if !user.is_empty() {
        request
            .metadata_mut()
            .insert("x-user-id", user.parse().unwrap());
    }
    match mb::membership_service_client::MembershipServiceClient::new(channel.clone())
        .create_organization(request)
        .await
    {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// Every entry `token`'s client may read, of end user `user` (all when
/// empty), once there are at least `at_least` of the whole log.
async fn entries(
    channel: &Channel,
    token: &str,
    user: &str,
    at_least: usize,
) -> Vec<gw::AuditEntry> {
    let gateway = gw::gateway_service_client::GatewayServiceClient::new(channel.clone());
    let list = async |user: &str| {
        gateway
            .clone()
            .list_audit_entries(with_token(
                gw::ListAuditEntriesRequest {
                    page_size: 1000,
                    user_id: user.into(),
                    ..Default::default()
                },
                Some(token),
            ))
            .await
            .unwrap()
            .into_inner()
            .entries
    };
    // Entries are appended by one writer, just after the answers.
    for _ in 0..100 {
        if list("").await.len() >= at_least {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    list(user).await
}

async fn end_users_are_kept_as_keyed_hashes(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = setup(dir.path(), "organizations/editor-org");
    let db = AuditDb::on(&backend, &mut s);
    let suite = Suite::start_with(&backend, security_of(&s.vars).unwrap()).await;
    let channel = connect(&suite, &s.ca.pem, None).await.unwrap();
    let admin = s.signer.token("k1", ADMIN, "innolab", 300);
    let reader = s.signer.token("k1", READER, "innolab", 300);
    for (token, user, id, code) in [
        (&admin, "ana.popescu", "u1", Code::Ok),
        (&admin, "ion.ionescu", "u2", Code::Ok),
        (&reader, "ana.popescu", "u3", Code::PermissionDenied),
        (&admin, "ana.popescu", "u4", Code::Ok),
        (&admin, "", "u5", Code::Ok),
    ] {
        assert_eq!(create(&channel, token, user, id).await, code, "{id}");
    }
    let (ana, ion) = (
        keyed(&USER_KEY, "ana.popescu"),
        keyed(&USER_KEY, "ion.ionescu"),
    );

    // Stored and listed as the keyed hash; no end user named: empty.
    let all = entries(&channel, &admin, "", 5).await;
    let users: Vec<(&str, &str)> = all
        .iter()
        .map(|e| (e.request_id.as_str(), e.user_id.as_str()))
        .collect();
    assert_eq!(
        users,
        [
            ("u1", ana.as_str()),
            ("u2", ion.as_str()),
            ("u3", ana.as_str()),
            ("u4", ana.as_str()),
            ("u5", ""),
        ]
    );
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    let clear: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM {} WHERE user_id LIKE '%popescu%' OR user_id LIKE '%ionescu%'",
        db.table("audit_log")
    ))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(clear, 0, "no end user in clear in the database");

    // One person's entries, by their id (hashed by the gateway) or by the
    // hash itself; a client that is not an administrator sees only its own.
    let requests = |list: &[gw::AuditEntry]| -> Vec<String> {
        list.iter().map(|e| e.request_id.clone()).collect()
    };
    assert_eq!(
        requests(&entries(&channel, &admin, "ana.popescu", 5).await),
        ["u1", "u3", "u4"]
    );
    assert_eq!(
        requests(&entries(&channel, &admin, &ana, 5).await),
        ["u1", "u3", "u4"]
    );
    assert!(entries(&channel, &admin, "nobody", 5).await.is_empty());
    assert_eq!(
        requests(&entries(&channel, &reader, "ana.popescu", 5).await),
        ["u3"]
    );
    suite.stop().await;
    let store = db.open().await;
    assert_eq!(
        innolab_gateway::audit::verify(&store, &Default::default())
            .await
            .unwrap(),
        None,
        "the chain holds the hashes"
    );

    // Another key (a rotation): the same person gets another hash; the old
    // entries keep theirs, found by the old hash; the chain goes on intact.
    let new_key = [42u8; 48];
    s.vars.insert(
        "INNOLAB_AUDIT_USER_KEY_FILE".into(),
        write_bytes(dir.path(), "audit-user-2.key", &new_key),
    );
    let suite = Suite::start_with(&backend, security_of(&s.vars).unwrap()).await;
    let channel = connect(&suite, &s.ca.pem, None).await.unwrap();
    assert_eq!(
        create(&channel, &admin, "ana.popescu", "u6").await,
        Code::Ok
    );
    let rotated = keyed(&new_key, "ana.popescu");
    assert_ne!(rotated, ana);
    let after = entries(&channel, &admin, "ana.popescu", 6).await;
    assert_eq!(requests(&after), ["u6"]);
    assert_eq!(after[0].user_id, rotated);
    assert_eq!(
        requests(&entries(&channel, &admin, &ana, 6).await),
        ["u1", "u3", "u4"]
    );
    suite.stop().await;
    assert_eq!(
        innolab_gateway::audit::verify(&store, &Default::default())
            .await
            .unwrap(),
        None
    );
    db.drop(&pool).await;
    pool.close().await;
}

innolab_tests::on_both_backends!(end_users_are_kept_as_keyed_hashes);

#[test]
fn the_user_key_is_required_in_production_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), "organizations/x");
    let mut vars = s.vars.clone();
    vars.remove("INNOLAB_AUDIT_USER_KEY_FILE");
    let error = security_of(&vars).unwrap_err();
    assert!(error.contains("INNOLAB_AUDIT_USER_KEY_FILE"), "{error}");
    // Shorter than 32 bytes, or unreadable: refused, naming the setting.
    for (name, bytes) in [("short.key", &[7u8; 31][..]), ("empty.key", b"")] {
        let mut vars = s.vars.clone();
        vars.insert(
            "INNOLAB_AUDIT_USER_KEY_FILE".into(),
            write_bytes(dir.path(), name, bytes),
        );
        let error = security_of(&vars).unwrap_err();
        assert!(
            error.contains("INNOLAB_AUDIT_USER_KEY_FILE") && error.contains("32"),
            "{error}"
        );
    }
    let mut vars = s.vars.clone();
    vars.insert(
        "INNOLAB_AUDIT_USER_KEY_FILE".into(),
        dir.path().join("missing.key").display().to_string(),
    );
    assert!(
        security_of(&vars)
            .unwrap_err()
            .contains("INNOLAB_AUDIT_USER_KEY_FILE")
    );
    // A key with no audit log to hash for is a mistake, even in development.
    let vars = HashMap::from([(
        "INNOLAB_AUDIT_USER_KEY_FILE".to_string(),
        s.vars["INNOLAB_AUDIT_USER_KEY_FILE"].clone(),
    )]);
    assert!(
        security_of(&vars)
            .unwrap_err()
            .contains("INNOLAB_AUDIT_DATABASE_URL")
    );
    // Development keeps an audit log without it (ids in clear, warned).
    let vars = HashMap::from([(
        "INNOLAB_AUDIT_DATABASE_URL".to_string(),
        s.vars["INNOLAB_AUDIT_DATABASE_URL"].clone(),
    )]);
    let development = security_of(&vars).unwrap();
    assert!(development.audit.unwrap().user_key.is_none());
}
