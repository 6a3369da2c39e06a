//! The gateway in front of real services: calls pass through unchanged, with
//! request ids, deadlines and health that follows the services.
//!
//! Over 600 lines: forwarding, deadlines, request ids and health are
//! tested together because they are one layer of the gateway.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use innolab_gateway::{GatewaySettings, UpstreamAddr};
use innolab_proto::innolab::gateway::v1 as gw;
use innolab_proto::innolab::initiatives::v1 as ini;
use innolab_proto::innolab::membership::v1 as pb;
use innolab_tests::{Backend, TestServer};
use pb::membership_service_client::MembershipServiceClient;
use tokio::sync::oneshot;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt as _;

/// The gRPC name the gateway reports membership's health under.
const MEMBERSHIP: &str = "innolab.membership.v1.MembershipService";

struct Gateway {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn gateway(membership_url: String) -> Gateway {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let settings = GatewaySettings {
        upstreams: vec![UpstreamAddr {
            service: "membership",
            env: "INNOLAB_MEMBERSHIP_URL",
            url: membership_url,
            in_process: None,
        }],
        shutdown_drain: Duration::from_secs(5),
        connect_timeout: Duration::from_millis(500),
        security: Default::default(),
    };
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(innolab_gateway::serve(listener, settings, async {
        let _ = rx.await;
    }));
    Gateway {
        addr,
        stop: Some(tx),
        task,
    }
}

impl Gateway {
    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    async fn status(&self) -> i32 {
        self.status_of("").await
    }

    /// The health status the gateway reports under `service`.
    async fn status_of(&self, service: &str) -> i32 {
        let mut health = HealthClient::new(self.channel().await);
        health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status
    }

    async fn wait_status(&self, status: i32) {
        self.wait_status_of(MEMBERSHIP, status).await;
        assert_eq!(self.status().await, 1, "the gateway itself stays SERVING");
    }

    async fn wait_status_of(&self, service: &str, status: i32) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.status_of(service).await != status {
            assert!(
                Instant::now() < deadline,
                "gateway did not reach status {status}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}

fn organization(name: &str) -> pb::Organization {
    pb::Organization {
        display_names: vec![pb::LocalizedText {
            language_code: "ro".into(),
            text: name.into(),
        }],
        kind: pb::OrganizationKind::Government as i32,
        country_code: "RO".into(),
        ..Default::default()
    }
}

/// A refused write comes back through the gateway with its code, message
/// and field details unchanged.
async fn errors_pass_through_with_details(client: &mut MembershipServiceClient<Channel>) {
    let status = client
        .create_organization(pb::CreateOrganizationRequest {
            organization: Some(pb::Organization {
                country_code: "XX".into(),
                ..organization("X")
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("organization.country_code"));
    let bad = status
        .get_details_bad_request()
        .expect("BadRequest details");
    assert_eq!(bad.field_violations[0].field, "organization.country_code");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_pass_through_with_request_ids_and_deadlines() {
    let service = TestServer::membership(&Backend::Sqlite).await;
    let gw = gateway(format!("http://{}", service.addr)).await;
    gw.wait_status(1).await;
    let mut client = MembershipServiceClient::new(gw.channel().await);

    // A write and a read through the gateway, with a deadline.
    let mut create = tonic::Request::new(pb::CreateOrganizationRequest {
        organization: Some(organization("Guvernul României")),
        request_id: String::new(),
    });
    create.set_timeout(Duration::from_secs(5));
    create
        .metadata_mut()
        .insert("x-request-id", "req-123".parse().unwrap());
    let created = client.create_organization(create).await.unwrap();
    assert_eq!(
        created.metadata().get("x-request-id").unwrap(),
        "req-123",
        "the caller's request id is echoed"
    );
    let org = created.into_inner();
    let got = client
        .get_organization(pb::GetOrganizationRequest {
            name: org.name.clone(),
        })
        .await
        .unwrap();
    let generated = got
        .metadata()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        !generated.is_empty(),
        "a request id is made when none is sent"
    );
    assert_eq!(got.into_inner(), org);

    errors_pass_through_with_details(&mut client).await;

    gw.stop().await;
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_service_gives_unavailable_fast_naming_it_and_the_gateway_stays_ready() {
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gw = gateway(format!("http://127.0.0.1:{port}")).await;
    gw.wait_status_of("", 1).await;
    gw.wait_status_of(MEMBERSHIP, 2).await;
    assert_eq!(gw.status_of("liveness").await, 1);
    let mut client = MembershipServiceClient::new(gw.channel().await);
    let started = Instant::now();
    let status = client
        .get_organization(pb::GetOrganizationRequest {
            name: "organizations/x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "UNAVAILABLE came after {:?}",
        started.elapsed()
    );
    let info = status.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "SERVICE_UNAVAILABLE");
    assert_eq!(
        info.metadata.get("service").map(String::as_str),
        Some(MEMBERSHIP)
    );
    assert!(status.get_details_retry_info().is_some(), "a retry hint");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_health_follows_the_service_and_the_gateway_stays_ready() {
    let service = TestServer::membership(&Backend::Sqlite).await;
    let gw = gateway(format!("http://{}", service.addr)).await;
    gw.wait_status(1).await;
    let mut watch = HealthClient::new(gw.channel().await)
        .watch(HealthCheckRequest {
            service: MEMBERSHIP.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(watch.message().await.unwrap().unwrap().status, 1);
    service.stop().await;
    assert_eq!(
        watch.message().await.unwrap().unwrap().status,
        2,
        "Watch tells when the service goes"
    );
    gw.wait_status(2).await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_covers_everything_served() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let service = TestServer::membership(&Backend::Sqlite).await;
    let gw = gateway(format!("http://{}", service.addr)).await;
    let mut client = ServerReflectionClient::new(gw.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let reply = stream.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("unexpected reflection reply");
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"innolab.membership.v1.MembershipService".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_string()),
        "{names:?}"
    );
    gw.stop().await;
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_change_feed_with_a_resumable_cursor() {
    use gw_pb::gateway_service_client::GatewayServiceClient;
    use innolab_proto::innolab::gateway::v1 as gw_pb;

    async fn read(
        feed: &mut GatewayServiceClient<Channel>,
        cursor: &str,
    ) -> Vec<gw_pb::StreamChangesResponse> {
        let mut stream = feed
            .stream_changes(gw_pb::StreamChangesRequest {
                cursor: cursor.to_string(),
                follow: false,
            })
            .await
            .unwrap()
            .into_inner();
        let mut out = Vec::new();
        while let Some(item) = stream.message().await.unwrap() {
            out.push(item);
        }
        out
    }

    let service = TestServer::membership(&Backend::Sqlite).await;
    let gw = gateway(format!("http://{}", service.addr)).await;
    gw.wait_status(1).await;
    let mut client = MembershipServiceClient::new(gw.channel().await);
    let mut feed = GatewayServiceClient::new(gw.channel().await);

    let first = client
        .create_organization(pb::CreateOrganizationRequest {
            organization: Some(organization("Kommunernes Landsforening")),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let seen = read(&mut feed, "").await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].service, "membership");
    assert_eq!(seen[0].change.as_ref().unwrap().resource, first.name);
    let cursor = seen[0].cursor.clone();

    let second = client
        .create_organization(pb::CreateOrganizationRequest {
            organization: Some(organization("Digitaliseringsstyrelsen")),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let resumed = read(&mut feed, &cursor).await;
    assert_eq!(resumed.len(), 1, "no gap, no duplicate after the cursor");
    assert_eq!(resumed[0].change.as_ref().unwrap().resource, second.name);

    let status = feed
        .stream_changes(gw_pb::StreamChangesRequest {
            cursor: "not-a-cursor".into(),
            follow: false,
        })
        .await
        .expect_err("forged cursor refused");
    assert_eq!(status.code(), Code::InvalidArgument);

    gw.stop().await;
    service.stop().await;
}

/// A plain HTTP/1.1 POST, the way curl sends it; the body as JSON.
async fn http_post(addr: SocketAddr, path: &str, json: &str) -> (u16, serde_json::Value) {
    let (status, body) = innolab_tests::http_post(addr, path, json).await;
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_over_http_for_systems_without_grpc() {
    let service = TestServer::membership(&Backend::Sqlite).await;
    let gw = gateway(format!("http://{}", service.addr)).await;
    gw.wait_status(1).await;
    const CREATE: &str = "/innolab.membership.v1.MembershipService/CreateOrganization";

    let (status, created) = http_post(
        gw.addr,
        CREATE,
        r#"{"organization": {"displayNames": [{"languageCode": "fi", "text": "Valtiokonttori"}],
            "kind": "ORGANIZATION_KIND_GOVERNMENT", "countryCode": "FI"}}"#,
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let name = created["name"].as_str().unwrap().to_string();
    assert_eq!(created["countryCode"], "FI");

    // The same record through gRPC.
    let mut client = MembershipServiceClient::new(gw.channel().await);
    let got = client
        .get_organization(pb::GetOrganizationRequest { name: name.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.display_names[0].text, "Valtiokonttori");

    // Bad input: HTTP 400, the gRPC code by name, field violations readable.
    let (status, error) = http_post(
        gw.addr,
        CREATE,
        r#"{"organization": {"displayNames": [{"languageCode": "fi", "text": "X"}],
            "kind": "ORGANIZATION_KIND_GOVERNMENT", "countryCode": "XX"}}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error["code"], "invalid_argument");
    let violations = error["details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["type"] == "google.rpc.BadRequest")
        .unwrap()["debug"]["fieldViolations"]
        .clone();
    assert_eq!(violations[0]["field"], "organization.country_code");

    // Unknown id: 404; malformed JSON: 400; a stream called as unary: 415
    // (tests/tests/connect.rs covers the rest of the protocol).
    let (status, error) = http_post(
        gw.addr,
        "/innolab.membership.v1.MembershipService/GetOrganization",
        r#"{"name": "organizations/nope"}"#,
    )
    .await;
    assert_eq!((status, error["code"].as_str()), (404, Some("not_found")));
    let (status, _) = http_post(gw.addr, CREATE, "{not json").await;
    assert_eq!(status, 400);
    let (status, _) = http_post(
        gw.addr,
        "/innolab.membership.v1.MembershipService/StreamChanges",
        "{}",
    )
    .await;
    assert_eq!(status, 415);

    gw.stop().await;
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_dataset_loads_through_the_gateway_and_only_once() {
    let suite = innolab_tests::Suite::start(&Backend::Sqlite).await;
    let first = innolab_gateway::demo::load(suite.channel().await)
        .await
        .unwrap();
    let again = innolab_gateway::demo::load(suite.channel().await)
        .await
        .unwrap();
    assert!(again <= first, "a second load applies nothing new");

    let mut client = MembershipServiceClient::new(suite.channel().await);
    let orgs = client
        .list_organizations(pb::ListOrganizationsRequest {
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .organizations;
    assert_eq!(orgs.len(), 7, "seven organisations, not duplicated");
    let countries: std::collections::BTreeSet<_> =
        orgs.iter().map(|o| o.country_code.as_str()).collect();
    for country in ["RO", "FI", "SE", "DK", "NO"] {
        assert!(
            countries.contains(country),
            "{country} missing: {countries:?}"
        );
    }
    let posts = client
        .list_posts(pb::ListPostsRequest {
            filter: "role = NATIONAL_CONTACT_POINT AND country_code = \"RO\"".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .posts;
    assert_eq!(posts.len(), 1);
    assert!(
        !posts[0].holder.is_empty(),
        "the national contact point is held"
    );

    // Initiatives, guidance and impact data, each stored once, composing
    // into whole dossiers.
    let mut library =
        ini::initiatives_service_client::InitiativesServiceClient::new(suite.channel().await);
    let initiatives = library
        .list_initiatives(ini::ListInitiativesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .initiatives;
    assert_eq!(initiatives.len(), 3, "three initiatives, not duplicated");
    let mut gateway = gw::gateway_service_client::GatewayServiceClient::new(suite.channel().await);
    let mut assessed = 0;
    let mut guided = 0;
    for initiative in &initiatives {
        let dossier = gateway
            .get_initiative_dossier(gw::GetInitiativeDossierRequest {
                name: initiative.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            dossier.missing_parts.is_empty(),
            "{:?}",
            dossier.missing_parts
        );
        assert!(dossier.lead_organization.is_some());
        assessed += dossier.assessments.len();
        guided += dossier.related_guidance.len();
    }
    assert_eq!(assessed, 1, "one assessment");
    assert_eq!(guided, 2, "two documents related to initiatives");
    let overview = gateway
        .get_portfolio_overview(gw::GetPortfolioOverviewRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(overview.initiatives.unwrap().total, 3);
    assert_eq!(overview.evidence.unwrap().assessment_count, 1);
    suite.stop().await;
}

/// The one-process suite's path: the gateway calls each service's stack
/// directly (no socket), with the same behaviour as over the network.
async fn services_in_the_same_process_are_called_without_a_socket(backend: Backend) {
    let security = innolab_gateway::security::from_vars(|name| {
        (name == "INNOLAB_MAX_MESSAGE_BYTES").then(|| "4096".to_string())
    })
    .unwrap();
    let suite = innolab_tests::Suite::start_in_process(&backend, security).await;
    let mut client = MembershipServiceClient::new(suite.channel().await);

    // A write and a read, with the request id echoed and a deadline passed on.
    let mut create = tonic::Request::new(pb::CreateOrganizationRequest {
        organization: Some(organization("Guvernul României")),
        request_id: "in-process-1".into(),
    });
    create.set_timeout(Duration::from_secs(5));
    create
        .metadata_mut()
        .insert("x-request-id", "req-local".parse().unwrap());
    let created = client.create_organization(create).await.unwrap();
    assert_eq!(created.metadata().get("x-request-id").unwrap(), "req-local");
    let org = created.into_inner();
    let got = client
        .get_organization(pb::GetOrganizationRequest {
            name: org.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, org);

    errors_pass_through_with_details(&mut client).await;

    // A server stream passes through whole.
    let mut changes = client
        .stream_changes(pb::StreamChangesRequest {
            after_sequence: 0,
            follow: false,
        })
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    while let Some(change) = changes.message().await.unwrap() {
        seen.push(change);
    }
    assert_eq!(seen.len(), 1, "{seen:?}");

    // A message over the gateway's limit is refused and nothing is stored.
    let status = client
        .create_organization(pb::CreateOrganizationRequest {
            organization: Some(organization(&"x".repeat(8000))),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let listed = client
        .list_organizations(pb::ListOrganizationsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .organizations;
    assert_eq!(listed.len(), 1);

    // Proof that no socket is used: with the membership server stopped, its
    // stack answers for itself (not serving), where a socket would be refused.
    let innolab_tests::Suite {
        membership,
        initiatives,
        guidance,
        impact,
        ..
    } = suite;
    membership.stop().await;
    let status = client
        .get_organization(pb::GetOrganizationRequest { name: org.name })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(
        status.message().contains("the service is starting"),
        "{}",
        status.message()
    );
    initiatives.stop().await;
    guidance.stop().await;
    if let Some(impact) = impact {
        impact.stop().await;
    }
}

mod in_process {
    use super::*;
    innolab_tests::on_both_backends!(services_in_the_same_process_are_called_without_a_socket);
}
