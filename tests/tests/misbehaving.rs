//! One client that misbehaves costs only itself: the gateway and the
//! services keep serving everyone else. Raw HTTP/2 (the `h2` crate) plays the
//! client that a generated one would never be: one that stops reading.
//!
//! Over 600 lines: one raw HTTP/2 client per kind of misbehaviour, each
//! with the well-behaved calls that must keep working beside it.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use innolab_proto::innolab::gateway::v1 as gw;
use innolab_proto::innolab::initiatives::v1 as ini;
use innolab_proto::innolab::membership::v1 as mb;
use innolab_tests::fixtures::{import_messages, organization};
use innolab_tests::{Backend, Suite, grpc_frame, on_both_backends};
use tonic::transport::Channel;

on_both_backends!(
    stalled_change_feed_subscribers_cost_only_themselves,
    followed_streams_end_at_their_deadline,
    followed_streams_end_at_shutdown_and_shutdown_is_quick,
    undecodable_requests_are_the_callers_mistake,
    errors_fit_in_the_metadata_clients_accept,
    lists_over_their_maximum_are_refused_before_any_work,
    a_stalled_upload_blocks_no_other_write_and_leaves_nothing,
    hostile_json_is_never_a_server_error,
);

/// Every unary method over JSON, fed bodies a fuzzer would send: each is
/// answered with a 4xx and a JSON error body (or 200 where the body is in
/// fact a valid request), never a 5xx.
async fn hostile_json_is_never_a_server_error(backend: Backend) {
    let suite = Suite::start(&backend).await;
    let long = "x".repeat(5000);
    let bodies = [
        "[]".to_string(),
        "\"text\"".to_string(),
        "{\"name\": 5}".to_string(),
        "{\"name\": {\"deep\": [1, 2, {}]}}".to_string(),
        format!("{{\"name\": \"organizations/{long}\"}}"),
        "{\"name\": \"\\u0000\\ud800\"}".to_string(),
        "{\"pageSize\": -1, \"pageToken\": \"%%%\", \"filter\": \"((((((\"}".to_string(),
        "{\"pageSize\": 1e400}".to_string(),
        "{\"updateMask\": \"no_such_field,,\", \"name\": \"\"}".to_string(),
        format!(
            "{{\"organization\": {{\"displayNames\": [{}]}}}}",
            vec!["{\"languageCode\": \"xx-@@\", \"text\": \"\"}"; 200].join(",")
        ),
        "{".to_string(),
    ];
    let mut methods: Vec<String> = innolab_gateway::json::UNARY.iter().cloned().collect();
    methods.sort();
    assert!(methods.len() > 50, "{} unary methods", methods.len());
    let mut server_errors = Vec::new();
    let mut statuses = std::collections::BTreeMap::new();
    for method in &methods {
        for body in &bodies {
            let (status, answer) =
                innolab_tests::http_post(suite.gateway, &format!("/{method}"), body).await;
            *statuses.entry(status).or_insert(0) += 1;
            if status >= 500 {
                server_errors.push(format!(
                    "{method} {status} {}: {}",
                    &body[..body.len().min(60)],
                    &answer[..answer.len().min(200)]
                ));
            } else if status >= 400 {
                let json: serde_json::Value = serde_json::from_str(&answer)
                    .unwrap_or_else(|_| panic!("{method} {status}: not JSON: {answer}"));
                assert!(json["code"].is_string(), "{method} {status}: {answer}");
            }
        }
    }
    assert!(
        server_errors.is_empty(),
        "{} server errors:\n{}",
        server_errors.len(),
        server_errors.join("\n")
    );
    suite.stop().await;
}

/// A raw HTTP/2 call that never reads its answer: its own connection, the
/// default 64 KiB windows, and no WINDOW_UPDATE ever sent.
struct Stalled {
    body: h2::RecvStream,
    _connection: tokio::task::JoinHandle<()>,
}

async fn stalled_call(addr: SocketAddr, path: &str, message: Bytes) -> Stalled {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    let connection = tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut client = client.ready().await.unwrap();
    let request = http::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    let (response, mut send) = client.send_request(request, false).unwrap();
    send.send_data(message, true).unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200);
    Stalled {
        body: response.into_body(),
        _connection: connection,
    }
}

impl Stalled {
    /// Reads again: everything buffered, then the trailers' grpc-status.
    async fn read_to_end(mut self) -> (usize, String) {
        let mut bytes = 0;
        while let Some(data) = self.body.data().await {
            let data = data.unwrap();
            bytes += data.len();
            let _ = self.body.flow_control().release_capacity(data.len());
        }
        let trailers = self.body.trailers().await.unwrap().unwrap_or_default();
        let status = trailers
            .get("grpc-status")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (bytes, status)
    }
}

/// Stores `count` initiatives through the gateway (a change each).
async fn fill_log(suite: &Suite, count: usize) {
    let channel = suite.channel().await;
    let lead = organization(
        &mut mb::membership_service_client::MembershipServiceClient::new(channel.clone()),
        "Stalled feeds ministry",
        "RO",
    )
    .await;
    let rows = (0..count)
        .map(|n| ini::Initiative {
            titles: vec![ini::LocalizedText {
                language_code: "en".into(),
                text: format!("Case {n}"),
            }],
            lead_organization: lead.clone(),
            country_code: "RO".into(),
            ..Default::default()
        })
        .collect();
    let imported = ini::initiatives_service_client::InitiativesServiceClient::new(channel)
        .import_initiatives(tokio_stream::iter(import_messages("stalled-feeds", rows)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(imported.imported as usize, count);
}

/// Subscribers of the change feed that stop reading, while the log holds
/// far more than their windows (so that, relayed over the gateway's shared
/// connection to the service, they would fill its flow-control window):
/// every other call keeps succeeding fast, the gateway sees the service
/// SERVING, and each stalled subscriber, once it reads again, gets what was
/// buffered and then RESOURCE_EXHAUSTED.
async fn stalled_change_feed_subscribers_cost_only_themselves(backend: Backend) {
    let suite = Suite::start(&backend).await;
    fill_log(&suite, 6_000).await;
    let follow_service = grpc_frame(&ini::StreamChangesRequest {
        after_sequence: 0,
        follow: true,
    });
    let follow_gateway = grpc_frame(&gw::StreamChangesRequest {
        cursor: String::new(),
        follow: true,
    });
    let mut stalled = Vec::new();
    for _ in 0..16 {
        stalled.push(
            stalled_call(
                suite.gateway,
                "/innolab.initiatives.v1.InitiativesService/StreamChanges",
                follow_service.clone(),
            )
            .await,
        );
        stalled.push(
            stalled_call(
                suite.gateway,
                "/innolab.gateway.v1.GatewayService/StreamChanges",
                follow_gateway.clone(),
            )
            .await,
        );
    }

    // Everyone else, meanwhile, for longer than a stalled subscriber is kept.
    let channel = suite.channel().await;
    let mut library =
        ini::initiatives_service_client::InitiativesServiceClient::new(channel.clone());
    let started = Instant::now();
    let (mut calls, mut slowest) = (0, Duration::ZERO);
    while started.elapsed() < innolab_kit::subscriber::STALL + Duration::from_secs(3) {
        let call = Instant::now();
        let mut request = tonic::Request::new(ini::ListInitiativesRequest {
            page_size: 5,
            ..Default::default()
        });
        request.set_timeout(Duration::from_secs(3));
        let listed = library.list_initiatives(request).await;
        assert!(
            listed.is_ok(),
            "call {calls} with stalled subscribers: {listed:?}"
        );
        slowest = slowest.max(call.elapsed());
        calls += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        health(&channel, "innolab.initiatives.v1.InitiativesService").await,
        1,
        "the gateway sees initiatives SERVING"
    );
    assert!(
        slowest < Duration::from_secs(1),
        "a well-behaved call took {slowest:?} ({calls} calls)"
    );

    for subscriber in stalled {
        let (bytes, status) =
            tokio::time::timeout(Duration::from_secs(30), subscriber.read_to_end())
                .await
                .expect("a dropped subscriber's stream ends");
        assert_eq!(status, "8", "RESOURCE_EXHAUSTED after {bytes} bytes");
    }
    suite.stop().await;
}

async fn health(channel: &Channel, service: &str) -> i32 {
    tonic_health::pb::health_client::HealthClient::new(channel.clone())
        .check(tonic_health::pb::HealthCheckRequest {
            service: service.into(),
        })
        .await
        .map(|r| r.into_inner().status)
        .unwrap_or(-1)
}

/// What a raw HTTP/2 call was answered: grpc-status and grpc-message (from
/// the headers of a trailers-only answer, else from the trailers), and when.
#[derive(Debug)]
struct Answer {
    status: String,
    message: String,
    after: Duration,
    /// Bytes of the header block that carried the status.
    status_bytes: usize,
    /// The status came in one HEADERS frame that ended the stream, as gRPC
    /// clients (grpc-go, grpcio) require of an answer without messages.
    trailers_only: bool,
}

fn header_bytes(map: &http::HeaderMap) -> usize {
    map.iter().map(|(k, v)| k.as_str().len() + v.len()).sum()
}

/// A raw HTTP/2 gRPC call on a connection of its own: `headers` added,
/// `body` sent (and the request ended when `end`), the answer read whole.
async fn raw_call(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
    end: bool,
) -> Answer {
    let started = Instant::now();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut client = client.ready().await.unwrap();
    let mut request = http::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let (response, mut send) = client
        .send_request(request.body(()).unwrap(), false)
        .unwrap();
    send.send_data(body, end).unwrap();
    let response = response.await.unwrap();
    let text = |map: &http::HeaderMap, name: &str| {
        map.get(name)
            .map(|v| v.to_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    let head = response.headers().clone();
    if head.contains_key("grpc-status") {
        return Answer {
            status: text(&head, "grpc-status"),
            message: text(&head, "grpc-message"),
            after: started.elapsed(),
            status_bytes: header_bytes(&head),
            trailers_only: response.body().is_end_stream(),
        };
    }
    let mut body = response.into_body();
    while let Some(data) = body.data().await {
        let Ok(data) = data else { break };
        let _ = body.flow_control().release_capacity(data.len());
    }
    let trailers = body.trailers().await.ok().flatten().unwrap_or_default();
    Answer {
        status: text(&trailers, "grpc-status"),
        message: text(&trailers, "grpc-message"),
        after: started.elapsed(),
        status_bytes: header_bytes(&trailers),
        trailers_only: false,
    }
}

/// `StreamChanges{follow: true}` ends with DEADLINE_EXCEEDED when the
/// caller's `grpc-timeout` expires: the gateway's merged feed, a service's
/// feed through the gateway and the same service directly. A unary call of
/// the gateway's own service whose deadline has passed is DEADLINE_EXCEEDED,
/// never CANCELLED.
async fn followed_streams_end_at_their_deadline(backend: Backend) {
    let suite = Suite::start(&backend).await;
    let follow = grpc_frame(&mb::StreamChangesRequest {
        after_sequence: 0,
        follow: true,
    });
    let merged = grpc_frame(&gw::StreamChangesRequest {
        cursor: String::new(),
        follow: true,
    });
    for (addr, path, body) in [
        (
            suite.gateway,
            "/innolab.gateway.v1.GatewayService/StreamChanges",
            merged,
        ),
        (
            suite.gateway,
            "/innolab.membership.v1.MembershipService/StreamChanges",
            follow.clone(),
        ),
        (
            suite.membership.addr,
            "/innolab.membership.v1.MembershipService/StreamChanges",
            follow,
        ),
    ] {
        let answer = raw_call(addr, path, &[("grpc-timeout", "500m")], body, true).await;
        assert_eq!(answer.status, "4", "{path} at {addr}: {answer:?}");
        assert!(
            answer.after >= Duration::from_millis(450) && answer.after < Duration::from_secs(3),
            "{path} at {addr} ended after {:?}",
            answer.after
        );
    }
    // An error answer of a call with a deadline is still trailers-only.
    let missing = grpc_frame(&mb::GetOrganizationRequest {
        name: "organizations/0190a000-0000-7000-8000-000000000000".into(),
    });
    for addr in [suite.gateway, suite.membership.addr] {
        let answer = raw_call(
            addr,
            "/innolab.membership.v1.MembershipService/GetOrganization",
            &[("grpc-timeout", "5S")],
            missing.clone(),
            true,
        )
        .await;
        assert_eq!(answer.status, "5", "{answer:?}");
        assert!(answer.trailers_only, "at {addr}: {answer:?}");
        let refused = raw_call(
            addr,
            "/innolab.membership.v1.MembershipService/StreamChanges",
            &[("grpc-timeout", "5S")],
            grpc_frame(&mb::StreamChangesRequest {
                after_sequence: -1,
                follow: true,
            }),
            true,
        )
        .await;
        assert_eq!(refused.status, "3", "{refused:?}");
        assert!(
            refused.trailers_only,
            "a refused stream at {addr}: {refused:?}"
        );
    }
    let dossier = grpc_frame(&gw::GetInitiativeDossierRequest {
        name: "initiatives/0190a000-0000-7000-8000-000000000000".into(),
    });
    let answer = raw_call(
        suite.gateway,
        "/innolab.gateway.v1.GatewayService/GetInitiativeDossier",
        &[("grpc-timeout", "1n")],
        dossier,
        true,
    )
    .await;
    assert_eq!(answer.status, "4", "{answer:?}");
    suite.stop().await;
}

/// At shutdown a followed feed ends at once with UNAVAILABLE (and a retry
/// hint), at the gateway and at the service, and the servers stop in about
/// a second instead of holding the whole drain.
async fn followed_streams_end_at_shutdown_and_shutdown_is_quick(backend: Backend) {
    let suite = Suite::start(&backend).await;
    let follow = |addr: SocketAddr, path: &'static str, body: Bytes| {
        tokio::spawn(async move { raw_call(addr, path, &[], body, true).await })
    };
    let at_gateway = follow(
        suite.gateway,
        "/innolab.gateway.v1.GatewayService/StreamChanges",
        grpc_frame(&gw::StreamChangesRequest {
            cursor: String::new(),
            follow: true,
        }),
    );
    let at_service = follow(
        suite.membership.addr,
        "/innolab.membership.v1.MembershipService/StreamChanges",
        grpc_frame(&mb::StreamChangesRequest {
            after_sequence: 0,
            follow: true,
        }),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stopping = Instant::now();
    suite.stop().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(4),
        "the suite took {:?} to stop with followers open",
        stopping.elapsed()
    );
    for follower in [at_gateway, at_service] {
        let answer = follower.await.unwrap();
        assert_eq!(answer.status, "14", "{answer:?}");
        assert!(answer.message.contains("shutting%20down"), "{answer:?}");
    }
}

/// A connection that never says anything is closed after the handshake
/// time, at the gateway and at a service; the gateway advertises
/// MAX_CONCURRENT_STREAMS; a request body that stops after 3 bytes fails
/// after the idle time (not at its hour-long deadline), freeing its slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_clients_and_stalled_requests_are_cut_off() {
    use tokio::io::AsyncReadExt as _;
    let suite = Suite::start(&Backend::Sqlite).await;
    let started = Instant::now();
    let mut silent = Vec::new();
    for addr in [suite.gateway, suite.membership.addr] {
        for _ in 0..20 {
            silent.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        }
    }
    let stalled_body = tokio::spawn(raw_call(
        suite.gateway,
        "/innolab.membership.v1.MembershipService/GetOrganization",
        &[("grpc-timeout", "3600S")],
        Bytes::from_static(&[0, 0, 0]),
        false,
    ));

    let tcp = tokio::net::TcpStream::connect(suite.gateway).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let client = client.ready().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        client.current_max_send_streams(),
        innolab_kit::transport::ConnectionLimits::GATEWAY.max_concurrent_streams as usize,
        "MAX_CONCURRENT_STREAMS is advertised"
    );
    drop(client);
    driver.abort();

    for mut connection in silent {
        let mut buffer = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(20), async {
            // Whatever the server sends first (its SETTINGS), then the close.
            loop {
                match connection.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(read.is_ok(), "a silent connection is still open");
    }
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(15),
        "silent connections closed after {waited:?}"
    );
    let answer = stalled_body.await.unwrap();
    assert_eq!(answer.status, "4", "{answer:?}");
    assert!(answer.after < Duration::from_secs(15), "{answer:?}");
    suite.stop().await;
}

/// Bytes that are not the request message (not protobuf, truncated, invalid
/// UTF-8, a wrong wire type) are INVALID_ARGUMENT, never INTERNAL, at the
/// service and through the gateway; nothing is stored.
async fn undecodable_requests_are_the_callers_mistake(backend: Backend) {
    let suite = Suite::start(&backend).await;
    let framed = |bytes: &[u8]| {
        let mut framed = vec![0];
        framed.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        framed.extend_from_slice(bytes);
        Bytes::from(framed)
    };
    let bad: [&[u8]; 4] = [
        // Field 1 (organization) claims 50 bytes and ends.
        &[0x0a, 50, 1, 2],
        // organization.display_names[0].text is not UTF-8.
        &[0x0a, 8, 0x0a, 6, 0x12, 4, 0xff, 0xfe, 0xfd, 0xfc],
        // Field 1 sent as a varint where a message is expected.
        &[0x08, 1],
        b"not protobuf at all \xff\xff\xff",
    ];
    for addr in [suite.membership.addr, suite.gateway] {
        for bytes in bad {
            let answer = raw_call(
                addr,
                "/innolab.membership.v1.MembershipService/CreateOrganization",
                &[],
                framed(bytes),
                true,
            )
            .await;
            assert_eq!(answer.status, "3", "{bytes:?} at {addr}: {answer:?}");
        }
    }
    let listed = mb::membership_service_client::MembershipServiceClient::new(suite.channel().await)
        .list_organizations(mb::ListOrganizationsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.organizations.is_empty(), "nothing was stored");
    suite.stop().await;
}

/// An error echoes what the caller sent and lists what is wrong, but within
/// bounds: 150 equal identifiers or a 5,000-character name come back through
/// the gateway as INVALID_ARGUMENT whose trailers fit in 8 KiB, and the
/// gateway's connection to the service (other callers' calls) is unharmed.
async fn errors_fit_in_the_metadata_clients_accept(backend: Backend) {
    let suite = Suite::start(&backend).await;
    let organization =
        |identifiers: Vec<mb::Identifier>, name: String| mb::CreateOrganizationRequest {
            organization: Some(mb::Organization {
                display_names: vec![mb::LocalizedText {
                    language_code: "en".into(),
                    text: name,
                }],
                kind: mb::OrganizationKind::Government as i32,
                country_code: "ZZ".into(),
                identifiers,
                ..Default::default()
            }),
            request_id: String::new(),
        };
    let same = mb::Identifier {
        scheme: "RO-CUI".into(),
        value: "x".repeat(200),
    };
    let requests = [
        organization(vec![same; 150], "Ministry".into()),
        organization(Vec::new(), "ș".repeat(5_000)),
    ];
    for addr in [suite.membership.addr, suite.gateway] {
        for request in &requests {
            let answer = raw_call(
                addr,
                "/innolab.membership.v1.MembershipService/CreateOrganization",
                &[],
                grpc_frame(request),
                true,
            )
            .await;
            assert_eq!(answer.status, "3", "at {addr}: {answer:?}");
            assert!(
                answer.status_bytes < 8 * 1024,
                "{} bytes of trailers at {addr}",
                answer.status_bytes
            );
        }
    }
    // A default client reads the error as it is.
    let mut client =
        mb::membership_service_client::MembershipServiceClient::new(suite.channel().await);
    for request in requests {
        let status = client.create_organization(request).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    }
    organization_still_works(&mut client).await;
    suite.stop().await;
}

async fn organization_still_works(
    client: &mut mb::membership_service_client::MembershipServiceClient<Channel>,
) {
    let name = organization(client, "Still here", "RO").await;
    assert!(name.starts_with("organizations/"));
}

/// A list longer than its documented maximum is refused by its length alone,
/// before any entry is looked at (so before initiatives asks membership
/// about 100,000 partners), naming the field and the maximum.
async fn lists_over_their_maximum_are_refused_before_any_work(backend: Backend) {
    let suite = Suite::start(&backend).await;
    let channel = suite.channel().await;
    let mut members = mb::membership_service_client::MembershipServiceClient::new(channel.clone());
    let identifiers = (0..100_000)
        .map(|n| mb::Identifier {
            scheme: "RO-CUI".into(),
            value: n.to_string(),
        })
        .collect();
    let status = members
        .create_organization(mb::CreateOrganizationRequest {
            organization: Some(mb::Organization {
                display_names: vec![mb::LocalizedText {
                    language_code: "ro".into(),
                    text: "Ministerul".into(),
                }],
                kind: mb::OrganizationKind::Government as i32,
                country_code: "RO".into(),
                identifiers,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let bad = tonic_types::StatusExt::get_details_bad_request(&status).unwrap();
    assert_eq!(bad.field_violations.len(), 1, "{bad:?}");
    assert_eq!(bad.field_violations[0].field, "organization.identifiers");
    assert!(bad.field_violations[0].description.contains("at most 50"));

    let lead = organization(&mut members, "Lead", "RO").await;
    let status = ini::initiatives_service_client::InitiativesServiceClient::new(channel)
        .create_initiative(ini::CreateInitiativeRequest {
            initiative: Some(ini::Initiative {
                titles: vec![ini::LocalizedText {
                    language_code: "en".into(),
                    text: "Many partners".into(),
                }],
                lead_organization: lead,
                country_code: "RO".into(),
                partners: (0..100_000)
                    .map(|n| ini::Partner {
                        organization: format!("organizations/{n}"),
                        role: ini::PartnerRole::Funding as i32,
                    })
                    .collect(),
                ..Default::default()
            }),
            actor: "organizations/lab".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains("initiative.partners"),
        "{status:?}"
    );
    suite.stop().await;
}

/// An upload that stops sending holds no lock: other guidance writes go on
/// meanwhile; after the idle time it is aborted, and neither an attachment
/// nor a staged chunk is left.
async fn a_stalled_upload_blocks_no_other_write_and_leaves_nothing(backend: Backend) {
    use innolab_proto::innolab::guidance::v1 as gd;
    let server =
        innolab_tests::TestServer::start(&backend, "guidance", innolab_tests::guidance, |s| {
            s.request_idle = Duration::from_secs(2);
        })
        .await;
    server
        .wait_for(
            "",
            tonic_health::pb::health_check_response::ServingStatus::Serving,
        )
        .await;
    let mut guides =
        gd::guidance_service_client::GuidanceServiceClient::new(server.channel().await);
    let create = |title: &str| gd::CreateDocumentRequest {
        document: Some(gd::Document {
            r#type: gd::DocumentType::Guide as i32,
            title: title.into(),
            license: "CC-BY-4.0".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let document = guides
        .create_document(create("Toolkit"))
        .await
        .unwrap()
        .into_inner()
        .name;

    // Metadata and one chunk, then silence.
    let (tx, rx) =
        innolab_tests::fixtures::stalled_upload(&document, "toolkit.pdf", vec![7; 64 * 1024]).await;
    let mut uploader = guides.clone();
    let stalled = tokio::spawn(async move { uploader.upload_attachment(rx).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    for n in 0..3 {
        let mut request = tonic::Request::new(create(&format!("Written meanwhile {n}")));
        request.set_timeout(Duration::from_secs(1));
        guides
            .create_document(request)
            .await
            .unwrap_or_else(|s| panic!("a write waited for the stalled upload: {s:?}"));
    }
    let outcome = tokio::time::timeout(Duration::from_secs(10), stalled)
        .await
        .expect("the stalled upload is aborted")
        .unwrap();
    assert!(outcome.is_err(), "{outcome:?}");
    drop(tx);
    let listed = guides
        .list_attachments(gd::ListAttachmentsRequest {
            parent: document,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.attachments.is_empty());
    // Nothing staged is left behind (the abort's delete may trail the answer).
    let db = innolab_kit::db::Database::connect_lazy(&server.db.settings).unwrap();
    let mut staged = i64::MAX;
    for _ in 0..50 {
        staged = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM upload_chunks")
            .fetch_one(db.pool())
            .await
            .unwrap();
        if staged == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(staged, 0, "staged chunks left");
    server.stop().await;
}

/// Calls in progress are limited per client, not only overall: one client
/// holding its share (calls whose bodies never arrive) gets
/// RESOURCE_EXHAUSTED for more, naming the limit, until its calls fail at
/// the idle time and give their slots back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_holds_at_most_its_share_of_the_calls_in_progress() {
    let security = innolab_gateway::security::from_vars(|name| {
        (name == "INNOLAB_MAX_CONCURRENT_CALLS_PER_CLIENT").then(|| "3".to_string())
    })
    .unwrap();
    let suite = Suite::start_with(&Backend::Sqlite, security).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(tokio::spawn(raw_call(
            suite.gateway,
            "/innolab.membership.v1.MembershipService/GetOrganization",
            &[("grpc-timeout", "3600S")],
            Bytes::from_static(&[0, 0, 0]),
            false,
        )));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut members =
        mb::membership_service_client::MembershipServiceClient::new(suite.channel().await);
    let refused = members
        .get_organization(mb::GetOrganizationRequest {
            name: "organizations/0190a000-0000-7000-8000-000000000000".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        tonic::Code::ResourceExhausted,
        "{refused:?}"
    );
    assert!(
        refused.message().contains("limit of 3 calls"),
        "{refused:?}"
    );
    for call in held {
        assert_eq!(call.await.unwrap().status, "4");
    }
    let found = members
        .get_organization(mb::GetOrganizationRequest {
            name: "organizations/0190a000-0000-7000-8000-000000000000".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        found.code(),
        tonic::Code::NotFound,
        "the slots are back: {found:?}"
    );
    suite.stop().await;
}
