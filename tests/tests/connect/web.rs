//! gRPC-Web for browsers, and CORS only for the listed origins.

use innolab_proto::innolab::membership::v1 as pb;
use innolab_tests::{Backend, Suite, http1};
use prost::Message as _;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_for_browsers_and_cors_only_for_listed_origins() {
    let mut suite = Suite::start_services(&Backend::Sqlite).await;
    suite
        .start_gateway(innolab_gateway::security::Security {
            cors_origins: vec![http::HeaderValue::from_static("https://app.example.gov")],
            ..Default::default()
        })
        .await;
    let created = post_json(&suite, "CreateOrganization", &organization_json("Web")).await;
    let name = created.json()["name"].as_str().unwrap().to_string();

    // gRPC-Web over HTTP/1.1: a data frame, then the trailers as a frame.
    let request = innolab_tests::grpc_frame(&pb::GetOrganizationRequest { name: name.clone() });
    let web = http1(
        suite.gateway,
        "POST",
        &format!("{MEMBERSHIP}/GetOrganization"),
        &[
            ("Content-Type", "application/grpc-web+proto"),
            ("X-Grpc-Web", "1"),
            ("Origin", "https://app.example.gov"),
        ],
        &request,
    )
    .await;
    assert_eq!(web.status, 200);
    assert_eq!(
        web.header("access-control-allow-origin"),
        Some("https://app.example.gov")
    );
    let frames = envelopes(&web.body);
    assert_eq!(frames[0].0, 0);
    assert_eq!(
        pb::Organization::decode(&frames[0].1[..]).unwrap().name,
        name
    );
    assert_eq!(frames[1].0, 0x80, "the trailers frame");
    assert!(String::from_utf8_lossy(&frames[1].1).contains("grpc-status:0"));

    // A preflight from a listed origin is answered; another origin gets no
    // permission.
    let gateway = suite.gateway;
    let preflight = async |origin: &'static str| {
        http1(
            gateway,
            "OPTIONS",
            &format!("{MEMBERSHIP}/CreateOrganization"),
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "POST"),
                (
                    "Access-Control-Request-Headers",
                    "content-type,connect-protocol-version",
                ),
            ],
            b"",
        )
        .await
    };
    let allowed = preflight("https://app.example.gov").await;
    assert_eq!(allowed.status, 200);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://app.example.gov")
    );
    assert!(
        allowed
            .header("access-control-allow-headers")
            .unwrap()
            .contains("connect-protocol-version")
    );
    let other = preflight("https://evil.example").await;
    assert_eq!(other.header("access-control-allow-origin"), None);
    suite.stop().await;

    // Closed by default: no origin is allowed, and OPTIONS is not a call.
    let suite = Suite::start(&Backend::Sqlite).await;
    let closed = http1(
        suite.gateway,
        "OPTIONS",
        &format!("{MEMBERSHIP}/CreateOrganization"),
        &[
            ("Origin", "https://app.example.gov"),
            ("Access-Control-Request-Method", "POST"),
        ],
        b"",
    )
    .await;
    assert_eq!(closed.status, 405);
    assert_eq!(closed.header("access-control-allow-origin"), None);
    suite.stop().await;
}
