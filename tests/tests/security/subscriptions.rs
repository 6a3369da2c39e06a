//! Webhook subscriptions under the access table: a `subscriber` client
//! manages only the subscriptions it created, a lab administrator every
//! one, a reader none of anyone's; endpoints that are not public HTTPS are
//! refused; every change to a subscription is audited.

use innolab_proto::innolab::gateway::v1 as gw;

use super::*;

fn subscription(endpoint: &str) -> gw::CreateSubscriptionRequest {
    gw::CreateSubscriptionRequest {
        subscription: Some(gw::Subscription {
            endpoint: endpoint.into(),
            filter: Some(gw::SubscriptionFilter {
                services: vec!["initiatives".into()],
                resource_kinds: vec!["initiatives".into()],
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_belong_to_their_creator() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), "organizations/editor-org");
    let suite = Suite::start_with(&Backend::Sqlite, security_of(&s.vars).unwrap()).await;
    let channel = connect(&suite, &s.ca.pem, None).await.unwrap();
    let mut gateway = gw::gateway_service_client::GatewayServiceClient::new(channel);
    let token = |client: &str| s.signer.token("k1", client, "innolab", 600);
    let (admin, subscriber, reader, editor) = (
        token(ADMIN),
        token(SUBSCRIBER),
        token(READER),
        token(EDITOR),
    );

    let mine = gateway
        .create_subscription(with_token(
            subscription("https://sync.ministry.example/innolab"),
            Some(&subscriber),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.owner, SUBSCRIBER);
    let admins = gateway
        .create_subscription(with_token(
            subscription("https://portal.example.gov/hooks"),
            Some(&admin),
        ))
        .await
        .unwrap()
        .into_inner();

    // Not https, a private address, a literal loopback: refused, naming the field.
    for endpoint in [
        "http://sync.ministry.example/innolab",
        "https://10.0.0.7/hook",
        "https://127.0.0.1:8443/hook",
        "https://169.254.169.254/latest/meta-data",
    ] {
        let refused = gateway
            .create_subscription(with_token(subscription(endpoint), Some(&subscriber)))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{endpoint}");
        let details = refused.get_error_details();
        let field = &details.bad_request().unwrap().field_violations[0].field;
        assert_eq!(field, "subscription.endpoint", "{endpoint}");
    }

    // The subscriber sees its own, not the administrator's.
    let listed = gateway
        .list_subscriptions(with_token(
            gw::ListSubscriptionsRequest::default(),
            Some(&subscriber),
        ))
        .await
        .unwrap()
        .into_inner()
        .subscriptions;
    assert_eq!(
        listed.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        [mine.name.as_str()]
    );
    for name in [
        admins.name.clone(),
        "subscriptions/0190d9a8-0000-7000-8000-000000000000".into(),
    ] {
        let denied = gateway
            .get_subscription(with_token(
                gw::GetSubscriptionRequest { name: name.clone() },
                Some(&subscriber),
            ))
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "{name}");
        let denied = gateway
            .delete_subscription(with_token(
                gw::DeleteSubscriptionRequest { name: name.clone() },
                Some(&subscriber),
            ))
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "{name}");
    }
    // A reader may list (its own: none) but not see or change another's.
    let none = gateway
        .list_subscriptions(with_token(
            gw::ListSubscriptionsRequest::default(),
            Some(&reader),
        ))
        .await
        .unwrap()
        .into_inner()
        .subscriptions;
    assert!(none.is_empty());
    let denied = gateway
        .list_deliveries(with_token(
            gw::ListDeliveriesRequest {
                parent: mine.name.clone(),
                ..Default::default()
            },
            Some(&reader),
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    // A member editor holds no subscription method.
    let denied = gateway
        .create_subscription(with_token(
            subscription("https://sync.ministry.example/x"),
            Some(&editor),
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    // The administrator sees and manages both.
    let all = gateway
        .list_subscriptions(with_token(
            gw::ListSubscriptionsRequest::default(),
            Some(&admin),
        ))
        .await
        .unwrap()
        .into_inner()
        .subscriptions;
    assert_eq!(all.len(), 2);
    let rotated = gateway
        .rotate_subscription_secret(with_token(
            gw::RotateSubscriptionSecretRequest {
                name: mine.name.clone(),
                ..Default::default()
            },
            Some(&admin),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(rotated.secret.starts_with("whsec_") && rotated.secret != mine.secret);
    // A stale etag is refused.
    let stale = gateway
        .update_subscription(with_token(
            gw::UpdateSubscriptionRequest {
                subscription: Some(gw::Subscription {
                    name: mine.name.clone(),
                    description: "nightly sync".into(),
                    etag: mine.etag.clone(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["description".into()],
                }),
            },
            Some(&subscriber),
        ))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    gateway
        .delete_subscription(with_token(
            gw::DeleteSubscriptionRequest {
                name: mine.name.clone(),
            },
            Some(&subscriber),
        ))
        .await
        .unwrap();

    // A name that resolves to a private address passes registration but is
    // refused at delivery, and the delivery log says why.
    let local = gateway
        .create_subscription(with_token(
            gw::CreateSubscriptionRequest {
                subscription: Some(gw::Subscription {
                    endpoint: "https://localhost:9/hook".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            Some(&subscriber),
        ))
        .await
        .unwrap()
        .into_inner();
    let mut members = mb::membership_service_client::MembershipServiceClient::new(
        connect(&suite, &s.ca.pem, None).await.unwrap(),
    );
    members
        .create_organization(with_token(
            innolab_tests::fixtures::organization_request("Agenția", "RO"),
            Some(&admin),
        ))
        .await
        .unwrap();
    let mut log = Vec::new();
    for _ in 0..200 {
        log = gateway
            .list_deliveries(with_token(
                gw::ListDeliveriesRequest {
                    parent: local.name.clone(),
                    ..Default::default()
                },
                Some(&subscriber),
            ))
            .await
            .unwrap()
            .into_inner()
            .deliveries;
        if !log.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!log.is_empty(), "no delivery attempted");
    assert!(!log[0].delivered && log[0].http_status == 0, "{log:?}");
    assert!(
        log[0].error.contains("no public address"),
        "{}",
        log[0].error
    );

    // Every change is in the audit log, naming the subscription.
    let mut methods = Vec::new();
    for _ in 0..100 {
        let entries = gateway
            .list_audit_entries(with_token(
                gw::ListAuditEntriesRequest {
                    page_size: 1000,
                    ..Default::default()
                },
                Some(&admin),
            ))
            .await
            .unwrap()
            .into_inner()
            .entries;
        methods = entries
            .iter()
            .filter(|e| e.outcome == "OK" && e.resource == mine.name)
            .map(|e| e.method.rsplit('/').next().unwrap().to_string())
            .collect::<Vec<_>>();
        if methods.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        methods,
        [
            "CreateSubscription",
            "RotateSubscriptionSecret",
            "DeleteSubscription"
        ]
    );
    suite.stop().await;
}
