//! Production refuses to start without TLS, identity, access table and an
//! audit log with its signing and user-hash keys; limits answer
//! RESOURCE_EXHAUSTED with RetryInfo; the audit database's URL and password may
//! come from files.

use super::*;

#[test]
fn production_refuses_to_start_without_tls_identity_or_table() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), "organizations/x");
    assert!(security_of(&s.vars).is_ok());
    for (missing, named) in [
        ("INNOLAB_TLS_CERT_FILE", "INNOLAB_TLS_CERT_FILE"),
        ("INNOLAB_ACCESS_FILE", "INNOLAB_ACCESS_FILE"),
        ("INNOLAB_AUDIT_DATABASE_URL", "INNOLAB_AUDIT_DATABASE_URL"),
        (
            "INNOLAB_AUDIT_SIGNING_KEY_FILE",
            "INNOLAB_AUDIT_SIGNING_KEY_FILE",
        ),
        ("INNOLAB_AUDIT_USER_KEY_FILE", "INNOLAB_AUDIT_USER_KEY_FILE"),
    ] {
        let mut vars = s.vars.clone();
        vars.remove(missing);
        let error = security_of(&vars).unwrap_err();
        assert!(error.contains(named), "{error}");
    }
    let mut vars = s.vars.clone();
    vars.remove("INNOLAB_TLS_CLIENT_CA_FILE");
    vars.remove("INNOLAB_JWT_JWKS_FILE");
    assert!(
        security_of(&vars)
            .unwrap_err()
            .contains("INNOLAB_TLS_CLIENT_CA_FILE")
    );
    // The audit database URL may come from a file (a mounted Secret), not both.
    let url_file = dir.path().join("audit-url");
    std::fs::write(
        &url_file,
        format!("{}\n", s.vars["INNOLAB_AUDIT_DATABASE_URL"]),
    )
    .unwrap();
    let mut vars = s.vars.clone();
    vars.insert(
        "INNOLAB_AUDIT_DATABASE_URL_FILE".into(),
        url_file.display().to_string(),
    );
    let error = security_of(&vars).unwrap_err();
    assert!(error.contains("not both"), "{error}");
    vars.remove("INNOLAB_AUDIT_DATABASE_URL");
    assert!(security_of(&vars).is_ok());
    // The audit database's password may come from a file (the role's
    // Secret, mounted) into a URL that names the user and holds no password.
    let password_file = dir.path().join("audit-password");
    std::fs::write(&password_file, "s3cr@t:/?#% x\n").unwrap();
    let mut vars = s.vars.clone();
    vars.insert(
        "INNOLAB_AUDIT_DATABASE_URL".into(),
        "postgres://innolab_audit@db/innolab?sslmode=verify-full".into(),
    );
    vars.insert(
        "INNOLAB_AUDIT_DATABASE_PASSWORD_FILE".into(),
        password_file.display().to_string(),
    );
    let audit = security_of(&vars).unwrap().audit.unwrap();
    assert_eq!(
        audit.database.url.expose(),
        "postgres://innolab_audit:s3cr%40t%3A%2F%3F%23%25%20x@db/innolab?sslmode=verify-full"
    );
    vars.insert(
        "INNOLAB_AUDIT_DATABASE_URL".into(),
        "postgres://innolab_audit:other@db/innolab".into(),
    );
    let error = security_of(&vars).unwrap_err();
    assert!(
        error.contains("INNOLAB_AUDIT_DATABASE_PASSWORD_FILE")
            && error.contains("password already"),
        "{error}"
    );
    assert!(!error.contains("other"), "{error}");
    // Development runs without any of it (and says so in its log).
    let development = security_of(&HashMap::new()).unwrap();
    assert!(!development.guard.enforcing() && development.tls.is_none());
    let mut vars = HashMap::new();
    vars.insert("INNOLAB_ENVIRONMENT".to_string(), "staging".to_string());
    assert!(
        security_of(&vars)
            .unwrap_err()
            .contains("INNOLAB_ENVIRONMENT")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_answer_resource_exhausted_with_retry_info() {
    let vars = HashMap::from([
        ("INNOLAB_RATE_LIMIT_PER_SECOND".to_string(), "5".to_string()),
        ("INNOLAB_RATE_LIMIT_BURST".into(), "5".into()),
        ("INNOLAB_MAX_MESSAGE_BYTES".into(), "1024".into()),
    ]);
    let suite = Suite::start_with(&Backend::Sqlite, security_of(&vars).unwrap()).await;
    let client = mb::membership_service_client::MembershipServiceClient::new(suite.channel().await);

    // A burst of 20 calls from one client: the first 5 pass (NOT_FOUND: no such
    // record), the rest are refused with a time to retry.
    let calls = (0..20).map(|i| {
        let mut client = client.clone();
        async move {
            client
                .get_organization(mb::GetOrganizationRequest {
                    name: format!("organizations/none-{i}"),
                })
                .await
                .unwrap_err()
        }
    });
    let statuses = futures_util::future::join_all(calls).await;
    let exhausted: Vec<&Status> = statuses
        .iter()
        .filter(|s| s.code() == Code::ResourceExhausted)
        .collect();
    let passed = statuses
        .iter()
        .filter(|s| s.code() == Code::NotFound)
        .count();
    assert!((5..20).contains(&passed), "{passed} passed");
    assert_eq!(exhausted.len() + passed, 20);
    let retry = exhausted[0].get_details_retry_info().expect("RetryInfo");
    assert!(retry.retry_delay.is_some());

    // JSON callers get the refusal as JSON: HTTP 429 with the gRPC code.
    let (status, body) = innolab_tests::http_post(
        suite.gateway,
        "/innolab.membership.v1.MembershipService/GetOrganization",
        r#"{"name": "organizations/none"}"#,
    )
    .await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("resource_exhausted"), "{body}");

    // A message over the size limit is refused, and nothing is stored.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut client = client.clone();
    let status = client
        .create_organization(mb::CreateOrganizationRequest {
            organization: Some(mb::Organization {
                display_names: vec![mb::LocalizedText {
                    language_code: "ro".into(),
                    text: "x".repeat(2000),
                }],
                kind: mb::OrganizationKind::Government as i32,
                country_code: "RO".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("1024"), "{}", status.message());
    let mut direct = mb::membership_service_client::MembershipServiceClient::new(
        suite.membership.channel().await,
    );
    let stored = direct
        .list_organizations(mb::ListOrganizationsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .organizations;
    assert!(stored.is_empty());
    suite.stop().await;
}
