//! Webhook subscriptions end to end: the real gateway posts the merged
//! feed's changes to a real HTTPS receiver (`receiver.rs`), which checks
//! every signature; a receiver that fails for a while and recovers gets
//! every change, in order per resource; a gateway restarted during
//! delivery carries on from its stored cursor; a secret rotation signs
//! with both secrets; a replay sends again; persistent failure disables.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use innolab_gateway::hooks;
use innolab_gateway::security::Security;
use innolab_proto::innolab::gateway::v1 as gw;
use innolab_proto::innolab::initiatives::v1 as ini;
use innolab_proto::innolab::membership::v1 as mb;
use innolab_tests::fixtures::organization;
use innolab_tests::{Backend, Suite, TestDb, on_both_backends};
use mb::membership_service_client::MembershipServiceClient;

mod receiver;

use receiver::{Receiver, verifies};

/// Gateway settings with subscriptions in `db`, short backoffs, trusting
/// the receiver's CA, loopback allowed (tests only).
fn security(db: &TestDb, receiver: &Receiver, disable_after: Duration) -> Security {
    let mut settings = hooks::Settings::new(db.settings.clone());
    settings.backoff_initial = Duration::from_millis(50);
    settings.backoff_max = Duration::from_millis(300);
    settings.disable_after = disable_after;
    settings.timeout = Duration::from_secs(3);
    settings.poll = Duration::from_millis(100);
    settings.allow_private = true;
    settings.extra_roots_pem = Some(receiver.ca_pem.clone());
    Security {
        subscriptions: Some(settings),
        ..Default::default()
    }
}

async fn gateway_of(
    suite: &Suite,
) -> gw::gateway_service_client::GatewayServiceClient<tonic::transport::Channel> {
    gw::gateway_service_client::GatewayServiceClient::new(suite.channel().await)
}

/// Waits until `done` holds, for at most `limit`.
async fn until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Renames `name` to `text`.
async fn rename(
    client: &mut MembershipServiceClient<tonic::transport::Channel>,
    name: &str,
    text: &str,
) {
    client
        .update_organization(mb::UpdateOrganizationRequest {
            organization: Some(mb::Organization {
                name: name.into(),
                display_names: vec![mb::LocalizedText {
                    language_code: "en".into(),
                    text: text.into(),
                }],
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["display_names".into()],
            }),
        })
        .await
        .unwrap();
}

/// The organisations' changes a receiver accepted, checked: each signed
/// with `secret`, deduplicated by `webhook-id` (at least once), each
/// resource's revisions strictly increasing.
fn checked(receiver: &Receiver, secret: &str) -> BTreeMap<String, Vec<i64>> {
    let mut seen = BTreeSet::new();
    let mut per_resource: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for r in receiver.accepted() {
        assert!(
            verifies(secret, &r.id, r.timestamp, &r.raw, &r.signature),
            "bad signature on {}: {}",
            r.id,
            r.signature
        );
        assert_eq!(r.body["data"]["id"], r.id);
        if !seen.insert(r.id.clone()) {
            continue;
        }
        let resource = r.body["data"]["resource"].as_str().unwrap().to_string();
        let revision: i64 = r.body["data"]["revision"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        per_resource.entry(resource).or_default().push(revision);
    }
    for (resource, revisions) in &per_resource {
        assert!(
            revisions.windows(2).all(|w| w[0] < w[1]),
            "{resource} out of order: {revisions:?}"
        );
    }
    per_resource
}

/// Creates a subscription to `endpoint` with `filter` (services, kinds).
async fn subscribe(
    gateway: &mut gw::gateway_service_client::GatewayServiceClient<tonic::transport::Channel>,
    endpoint: &str,
    filter: (&[&str], &[&str]),
    request_id: &str,
) -> gw::Subscription {
    gateway
        .create_subscription(gw::CreateSubscriptionRequest {
            subscription: Some(gw::Subscription {
                endpoint: endpoint.into(),
                filter: Some(gw::SubscriptionFilter {
                    services: filter.0.iter().map(|s| s.to_string()).collect(),
                    resource_kinds: filter.1.iter().map(|s| s.to_string()).collect(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            request_id: request_id.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

/// Waits until the receiver accepted exactly `expected` (per resource, the
/// revisions), each signed with `secret`.
async fn arrives(receiver: &Receiver, secret: &str, expected: &BTreeMap<String, Vec<i64>>) {
    let limit = Instant::now() + Duration::from_secs(30);
    loop {
        let got = checked(receiver, secret);
        if &got == expected {
            return;
        }
        assert!(Instant::now() < limit, "got {got:?}, want {expected:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn deliveries(
    client: &mut gw::gateway_service_client::GatewayServiceClient<tonic::transport::Channel>,
    name: &str,
) -> Vec<gw::Delivery> {
    client
        .list_deliveries(gw::ListDeliveriesRequest {
            parent: name.into(),
            page_size: 1000,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .deliveries
}

async fn receiver_fails_for_a_while_then_recovers(backend: Backend) {
    let receiver = Receiver::start().await;
    let db = TestDb::new(&backend, "subscriptions");
    let suite = Suite::start_with(
        &backend,
        security(&db, &receiver, Duration::from_secs(3600)),
    )
    .await;
    let mut gateway = gateway_of(&suite).await;
    let mut members = MembershipServiceClient::new(suite.channel().await);
    // Something before the subscription: not sent (it starts from now).
    let before = organization(&mut members, "Before", "RO").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let sub = subscribe(
        &mut gateway,
        &receiver.endpoint,
        (&["membership"], &["organizations"]),
        "sub-1",
    )
    .await;
    assert!(sub.secret.starts_with("whsec_"), "{}", sub.secret);
    assert_eq!(sub.state, gw::SubscriptionState::Active as i32);
    // A retried create is the same subscription, answered as the first.
    let again = subscribe(&mut gateway, &receiver.endpoint, (&[], &[]), "sub-1").await;
    assert_eq!(
        (again.name.as_str(), again.secret.as_str()),
        (sub.name.as_str(), sub.secret.as_str())
    );

    // The receiver fails while three organisations are made and renamed.
    receiver.failing.store(true, Ordering::SeqCst);
    let mut names = Vec::new();
    for i in 0..3 {
        names.push(organization(&mut members, &format!("Org {i}"), "FI").await);
    }
    for round in 0..2 {
        for name in &names {
            rename(&mut members, name, &format!("{name} v{round}")).await;
        }
    }
    until("three failed attempts", Duration::from_secs(30), || {
        receiver.count.load(Ordering::SeqCst) >= 3
    })
    .await;
    let failed = deliveries(&mut gateway, &sub.name).await;
    assert!(
        failed.iter().all(|d| !d.delivered && d.http_status == 503),
        "{failed:?}"
    );
    // Retries of the one first change: nothing overtakes it.
    assert!(failed.iter().all(|d| d.webhook_id == failed[0].webhook_id));
    assert!(failed.windows(2).all(|w| w[1].attempt == w[0].attempt + 1));
    let state = gateway
        .get_subscription(gw::GetSubscriptionRequest {
            name: sub.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(state.failing_since.is_some());
    assert!(state.secret.is_empty());

    // Recovered: every change arrives, in order per resource.
    receiver.failing.store(false, Ordering::SeqCst);
    let expected: BTreeMap<String, Vec<i64>> =
        names.iter().map(|n| (n.clone(), vec![1, 2, 3])).collect();
    arrives(&receiver, &sub.secret, &expected).await;
    assert!(!checked(&receiver, &sub.secret).contains_key(&before));
    let log = deliveries(&mut gateway, &sub.name).await;
    assert_eq!(log.iter().filter(|d| d.delivered).count(), 9, "{log:?}");

    // Rotation: both secrets sign until the overlap ends.
    let rotated = gateway
        .rotate_subscription_secret(gw::RotateSubscriptionSecretRequest {
            name: sub.name.clone(),
            overlap_seconds: 60,
            etag: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(rotated.secret.starts_with("whsec_") && rotated.secret != sub.secret);
    assert!(rotated.previous_secret_expire_time.is_some());
    let before_rotation = receiver.accepted().len();
    rename(&mut members, &names[0], "rotated").await;
    until(
        "the change after the rotation",
        Duration::from_secs(30),
        || receiver.accepted().len() > before_rotation,
    )
    .await;
    let last = receiver.accepted().pop().unwrap();
    assert_eq!(last.signature.split(' ').count(), 2, "{}", last.signature);
    assert!(verifies(
        &rotated.secret,
        &last.id,
        last.timestamp,
        &last.raw,
        &last.signature
    ));
    assert!(verifies(
        &sub.secret,
        &last.id,
        last.timestamp,
        &last.raw,
        &last.signature
    ));

    // Replay from the beginning: the same changes again, same ids (the
    // organisation made before the subscription too, now).
    let replayed = gateway
        .replay_subscription(gw::ReplaySubscriptionRequest {
            name: sub.name.clone(),
            cursor: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replayed.cursor, "");
    let ids: BTreeSet<String> = receiver.accepted().into_iter().map(|r| r.id).collect();
    let first = receiver.accepted().len();
    until("the replay", Duration::from_secs(30), || {
        receiver.accepted().len() > first + ids.len()
    })
    .await;
    let again: BTreeSet<String> = receiver.accepted()[first..]
        .iter()
        .map(|r| r.id.clone())
        .collect();
    assert!(ids.is_subset(&again), "{ids:?} vs {again:?}");

    // A bad cursor is refused.
    let bad = gateway
        .replay_subscription(gw::ReplaySubscriptionRequest {
            name: sub.name.clone(),
            cursor: "nonsense".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);

    gateway
        .delete_subscription(gw::DeleteSubscriptionRequest {
            name: sub.name.clone(),
        })
        .await
        .unwrap();
    let gone = gateway
        .get_subscription(gw::GetSubscriptionRequest {
            name: sub.name.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), tonic::Code::NotFound);
    suite.stop().await;
    db.drop_schema().await;
}

async fn gateway_restarts_during_delivery(backend: Backend) {
    let receiver = Receiver::start().await;
    let db = TestDb::new(&backend, "subscriptions");
    let mut suite = Suite::start_with(
        &backend,
        security(&db, &receiver, Duration::from_secs(3600)),
    )
    .await;
    let mut gateway = gateway_of(&suite).await;
    let sub = subscribe(
        &mut gateway,
        &receiver.endpoint,
        (&[], &["organizations"]),
        "",
    )
    .await;
    let mut members = MembershipServiceClient::new(suite.channel().await);
    let mut names = Vec::new();
    // Failing: the gateway is in the middle of retrying when it stops.
    receiver.failing.store(true, Ordering::SeqCst);
    for i in 0..4 {
        names.push(organization(&mut members, &format!("Org {i}"), "SE").await);
    }
    until("an attempt", Duration::from_secs(30), || {
        receiver.count.load(Ordering::SeqCst) >= 2
    })
    .await;
    suite.stop_gateway().await;
    receiver.failing.store(false, Ordering::SeqCst);
    // Changes made while no gateway runs are delivered too.
    for name in &names {
        rename(
            &mut MembershipServiceClient::new(suite.membership.channel().await),
            name,
            "renamed",
        )
        .await;
    }
    suite
        .start_gateway(security(&db, &receiver, Duration::from_secs(3600)))
        .await;
    let expected: BTreeMap<String, Vec<i64>> =
        names.iter().map(|n| (n.clone(), vec![1, 2])).collect();
    arrives(&receiver, &sub.secret, &expected).await;
    let mut gateway = gateway_of(&suite).await;
    let log = deliveries(&mut gateway, &sub.name).await;
    assert!(log.iter().any(|d| !d.delivered), "{log:?}");
    suite.stop().await;
    db.drop_schema().await;
}

async fn persistent_failure_disables(backend: Backend) {
    let receiver = Receiver::start().await;
    receiver.failing.store(true, Ordering::SeqCst);
    let db = TestDb::new(&backend, "subscriptions");
    let suite = Suite::start_with(&backend, security(&db, &receiver, Duration::from_secs(1))).await;
    let mut gateway = gateway_of(&suite).await;
    let sub = subscribe(&mut gateway, &receiver.endpoint, (&[], &[]), "").await;
    let mut members = MembershipServiceClient::new(suite.channel().await);
    organization(&mut members, "Unlucky", "DK").await;
    let limit = Instant::now() + Duration::from_secs(30);
    let disabled = loop {
        let s = gateway
            .get_subscription(gw::GetSubscriptionRequest {
                name: sub.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        if s.state == gw::SubscriptionState::Disabled as i32 {
            break s;
        }
        assert!(Instant::now() < limit, "not disabled: {s:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        disabled.disabled_reason.contains("HTTP 503"),
        "{}",
        disabled.disabled_reason
    );
    // Nothing more is attempted while disabled.
    let attempts = receiver.count.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.count.load(Ordering::SeqCst), attempts);
    // Enabled again once the receiver is fixed: the change arrives.
    receiver.failing.store(false, Ordering::SeqCst);
    gateway
        .update_subscription(gw::UpdateSubscriptionRequest {
            subscription: Some(gw::Subscription {
                name: sub.name.clone(),
                state: gw::SubscriptionState::Active as i32,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["state".into()],
            }),
        })
        .await
        .unwrap();
    until(
        "the change after re-enabling",
        Duration::from_secs(30),
        || !receiver.accepted().is_empty(),
    )
    .await;
    // Endpoints are checked: not a URL, or not https (this gateway allows
    // http only because it is a test's).
    let refused = gateway
        .create_subscription(gw::CreateSubscriptionRequest {
            subscription: Some(gw::Subscription {
                endpoint: "ftp://example.org/".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    suite.stop().await;
    db.drop_schema().await;
}

async fn initiatives_filtered_by_country_and_organisation(backend: Backend) {
    let receiver = Receiver::start().await;
    let db = TestDb::new(&backend, "subscriptions");
    let suite = Suite::start_with(
        &backend,
        security(&db, &receiver, Duration::from_secs(3600)),
    )
    .await;
    let mut gateway = gateway_of(&suite).await;
    let channel = suite.channel().await;
    let mut members = MembershipServiceClient::new(channel.clone());
    let ours = organization(&mut members, "Ours", "RO").await;
    let theirs = organization(&mut members, "Theirs", "RO").await;
    let sub = gateway
        .create_subscription(gw::CreateSubscriptionRequest {
            subscription: Some(gw::Subscription {
                endpoint: receiver.endpoint.clone(),
                filter: Some(gw::SubscriptionFilter {
                    resource_kinds: vec!["initiatives".into()],
                    initiative_countries: vec!["ro".into()],
                    initiative_organizations: vec![ours.clone()],
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sub.filter.as_ref().unwrap().initiative_countries, ["RO"]);
    let mut library = ini::initiatives_service_client::InitiativesServiceClient::new(channel);
    let mut made = BTreeMap::new();
    for (title, lead, country) in [
        ("ours in RO", &ours, "RO"),
        ("theirs in RO", &theirs, "RO"),
        ("ours in FI", &ours, "FI"),
    ] {
        let i = library
            .create_initiative(ini::CreateInitiativeRequest {
                initiative: Some(ini::Initiative {
                    titles: vec![ini::LocalizedText {
                        language_code: "en".into(),
                        text: title.into(),
                    }],
                    lead_organization: lead.clone(),
                    country_code: country.into(),
                    ..Default::default()
                }),
                actor: "people/ana-popescu".into(),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        made.insert(title, i.name);
    }
    let expected: BTreeMap<String, Vec<i64>> = [(made["ours in RO"].clone(), vec![1])]
        .into_iter()
        .collect();
    arrives(&receiver, &sub.secret, &expected).await;
    // Nothing else comes later either.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(checked(&receiver, &sub.secret), expected);
    // A bad country or organisation is refused, naming the field.
    let refused = gateway
        .create_subscription(gw::CreateSubscriptionRequest {
            subscription: Some(gw::Subscription {
                endpoint: receiver.endpoint.clone(),
                filter: Some(gw::SubscriptionFilter {
                    initiative_countries: vec!["XX".into()],
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    suite.stop().await;
    db.drop_schema().await;
}

on_both_backends!(
    receiver_fails_for_a_while_then_recovers,
    gateway_restarts_during_delivery,
    persistent_failure_disables,
    initiatives_filtered_by_country_and_organisation,
);
