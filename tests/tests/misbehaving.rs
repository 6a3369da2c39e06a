//! One client that misbehaves costs only itself: the gateway and the
//! services keep serving everyone else. Raw HTTP/2 (the `h2` crate) plays the
//! client that a generated one would never be: one that stops reading.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use innolab_proto::innolab::gateway::v1 as gw;
use innolab_proto::innolab::initiatives::v1 as ini;
use innolab_proto::innolab::membership::v1 as mb;
use innolab_tests::fixtures::{import_messages, organization};
use innolab_tests::{Backend, Suite, on_both_backends};
use tonic::transport::Channel;

on_both_backends!(stalled_change_feed_subscribers_cost_only_themselves);

/// A gRPC message with its five-byte prefix.
fn grpc_frame(message: &impl prost::Message) -> Bytes {
    let body = message.encode_to_vec();
    let mut framed = Vec::with_capacity(body.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
    framed.extend_from_slice(&body);
    Bytes::from(framed)
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
