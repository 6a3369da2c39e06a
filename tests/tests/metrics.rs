//! The metrics count what the caller was told: a JSON caller's error by its
//! code (not OK), a stream by the status in its trailers, on the gateway's
//! server side and on its client side, as Prometheus scrapes them.
//!
//! Its own test binary: the recorder is the process's.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use innolab_proto::innolab::membership::v1 as mb;
use innolab_tests::{Backend, Suite};

/// The value of the series `family{labels}` in a scrape, 0 when absent.
fn value(scrape: &str, family: &str, labels: &str) -> u64 {
    scrape
        .lines()
        .find(|l| l.starts_with(&format!("{family}{{{labels}}} ")))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

async fn scrape(addr: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    text
}

#[tokio::test]
async fn codes_are_counted_as_sent_to_json_and_stream_callers() {
    let metrics = innolab_kit::meter::serve("127.0.0.1:0".parse().unwrap(), "test")
        .await
        .unwrap();
    let suite = Suite::start(&Backend::Sqlite).await;

    // A JSON caller asking for what does not exist is told NOT_FOUND (404).
    let (status, _) = innolab_tests::http_post(
        suite.gateway,
        "/innolab.membership.v1.MembershipService/GetOrganization",
        r#"{"name": "organizations/none"}"#,
    )
    .await;
    assert_eq!(status, 404);

    // A followed stream whose deadline passes ends with DEADLINE_EXCEEDED
    // in its trailers, after its headers went out.
    let mut client =
        mb::membership_service_client::MembershipServiceClient::new(suite.channel().await);
    let mut request = tonic::Request::new(mb::StreamChangesRequest {
        after_sequence: 0,
        follow: true,
    });
    request.set_timeout(Duration::from_millis(300));
    let mut stream = client.stream_changes(request).await.unwrap().into_inner();
    let ended = loop {
        match stream.message().await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("a followed stream ended by itself"),
            Err(status) => break status,
        }
    };
    assert_eq!(ended.code(), tonic::Code::DeadlineExceeded);
    // The counts are taken when the bodies end; give the relay a moment.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let text = scrape(metrics).await;
    let get = "grpc_service=\"innolab.membership.v1.MembershipService\",\
               grpc_method=\"GetOrganization\",grpc_type=\"unary\"";
    for side in ["server", "client"] {
        let family = format!("grpc_{side}_handled_total");
        assert!(
            value(&text, &family, &format!("{get},grpc_code=\"NotFound\"")) >= 1,
            "{family}: the JSON call's NotFound is not counted:\n{text}"
        );
        assert_eq!(
            value(&text, &family, &format!("{get},grpc_code=\"OK\"")),
            0,
            "{family}: a JSON error counted as OK:\n{text}"
        );
    }
    let feed = "grpc_service=\"innolab.membership.v1.MembershipService\",\
                grpc_method=\"StreamChanges\",grpc_type=\"server_stream\"";
    assert!(
        value(
            &text,
            "grpc_server_handled_total",
            &format!("{feed},grpc_code=\"DeadlineExceeded\"")
        ) >= 1,
        "the stream's trailers are not counted:\n{text}"
    );
    assert_eq!(
        value(
            &text,
            "grpc_server_handled_total",
            &format!("{feed},grpc_code=\"OK\"")
        ),
        0,
        "a stream that failed counted as OK:\n{text}"
    );
    suite.stop().await;
}
