//! The gateway's HTTP edge over a real socket, byte by byte as HTTP/1.1
//! clients send it: the Connect protocol (unary JSON and binary, GET,
//! streams, gzip, timeouts, limits, its status codes), gRPC-Web and CORS.
//! The official clients (connect-es, buf curl, curl, Python requests) run
//! the same ground in `scripts/http-clients.sh` and `scripts/http-tls.sh`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read as _, Write as _};

use innolab_proto::innolab::gateway::v1 as gw;
use innolab_proto::innolab::membership::v1 as pb;
use innolab_tests::{Backend, HttpAnswer, Suite, envelope, envelopes, http1};
use prost::Message as _;

const MEMBERSHIP: &str = "/innolab.membership.v1.MembershipService";

fn organization_json(name: &str) -> String {
    serde_json::json!({"organization": {
        "displayNames": [{"languageCode": "ro", "text": name}],
        "kind": "ORGANIZATION_KIND_GOVERNMENT",
        "countryCode": "RO"
    }})
    .to_string()
}

async fn post_json(suite: &Suite, method: &str, body: &str) -> HttpAnswer {
    http1(
        suite.gateway,
        "POST",
        &format!("{MEMBERSHIP}/{method}"),
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .await
}

/// How many organisations are called `name` (to show nothing was stored).
async fn count_named(suite: &Suite, name: &str) -> usize {
    let listed = post_json(
        suite,
        "ListOrganizations",
        &serde_json::json!({"filter": format!("\"{name}\""), "pageSize": 100}).to_string(),
    )
    .await;
    assert_eq!(listed.status, 200, "{:?}", listed.json());
    listed.json()["organizations"]
        .as_array()
        .map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_calls_in_json_and_binary_and_reads_as_get() {
    let suite = Suite::start(&Backend::Sqlite).await;
    let created = post_json(&suite, "CreateOrganization", &organization_json("Unary")).await;
    assert_eq!(created.status, 200, "{:?}", created.json());
    assert_eq!(created.header("content-type"), Some("application/json"));
    assert!(created.header("x-request-id").is_some());
    let name = created.json()["name"].as_str().unwrap().to_string();

    // Binary (application/proto): the message itself, no gRPC framing.
    let request = pb::GetOrganizationRequest { name: name.clone() };
    let got = http1(
        suite.gateway,
        "POST",
        &format!("{MEMBERSHIP}/GetOrganization"),
        &[("Content-Type", "application/proto")],
        &request.encode_to_vec(),
    )
    .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-type"), Some("application/proto"));
    let organization = pb::Organization::decode(&got.body[..]).unwrap();
    assert_eq!(organization.display_names[0].text, "Unary");

    // GET for a method without side effects, JSON and base64url binary.
    let message = serde_json::json!({"name": name}).to_string();
    let query: String = form_query(&[
        ("connect", "v1"),
        ("encoding", "json"),
        ("message", &message),
    ]);
    let got = http1(
        suite.gateway,
        "GET",
        &format!("{MEMBERSHIP}/GetOrganization?{query}"),
        &[],
        b"",
    )
    .await;
    assert_eq!(
        (got.status, got.json()["name"].as_str()),
        (200, Some(name.as_str()))
    );
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(request.encode_to_vec());
    let query = form_query(&[
        ("encoding", "proto"),
        ("base64", "1"),
        ("message", &encoded),
    ]);
    let got = http1(
        suite.gateway,
        "GET",
        &format!("{MEMBERSHIP}/GetOrganization?{query}"),
        &[],
        b"",
    )
    .await;
    assert_eq!(got.status, 200);
    assert_eq!(pb::Organization::decode(&got.body[..]).unwrap().name, name);

    // A write is never a GET, and other HTTP methods are not calls: 405.
    let query = form_query(&[("encoding", "json"), ("message", &organization_json("Get"))]);
    let refused = http1(
        suite.gateway,
        "GET",
        &format!("{MEMBERSHIP}/CreateOrganization?{query}"),
        &[],
        b"",
    )
    .await;
    assert_eq!(refused.status, 405);
    assert_eq!(refused.header("allow"), Some("POST"));
    assert_eq!(refused.json()["code"], "invalid_argument");
    let refused = http1(
        suite.gateway,
        "DELETE",
        &format!("{MEMBERSHIP}/GetOrganization"),
        &[],
        b"",
    )
    .await;
    assert_eq!(refused.status, 405);
    assert_eq!(count_named(&suite, "Get").await, 0);

    // The OpenAPI document, made from the same descriptors: every method,
    // GET where it is allowed, the annotations as JSON Schema.
    let openapi = http1(suite.gateway, "GET", "/openapi.json", &[], b"").await;
    assert_eq!(openapi.status, 200);
    let document = openapi.json();
    assert_eq!(document["openapi"], "3.1.0");
    let path = &document["paths"][format!("{MEMBERSHIP}/GetOrganization")];
    assert!(
        path["post"].is_object() && path["get"].is_object(),
        "{path}"
    );
    let create = &document["paths"][format!("{MEMBERSHIP}/CreateOrganization")];
    assert!(
        create["post"].is_object() && create["get"].is_null(),
        "{create}"
    );
    let organization = &document["components"]["schemas"]["innolab.membership.v1.Organization"];
    assert_eq!(
        organization["properties"]["name"]["readOnly"], true,
        "{organization}"
    );

    // An unknown method: 404, as Connect servers answer.
    let unknown = post_json(&suite, "Nope", "{}").await;
    assert_eq!(
        (unknown.status, unknown.json()["code"].as_str()),
        (404, Some("unimplemented"))
    );
    suite.stop().await;
}

fn form_query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_content_types_get_415_and_nothing_is_stored() {
    let suite = Suite::start(&Backend::Sqlite).await;
    let body = organization_json("Form");
    for content_type in [
        Some("application/x-www-form-urlencoded"),
        Some("text/plain"),
        None,
    ] {
        let headers: Vec<(&str, &str)> =
            content_type.iter().map(|c| ("Content-Type", *c)).collect();
        let refused = http1(
            suite.gateway,
            "POST",
            &format!("{MEMBERSHIP}/CreateOrganization"),
            &headers,
            body.as_bytes(),
        )
        .await;
        assert_eq!(refused.status, 415, "{content_type:?}");
        assert_eq!(refused.header("content-type"), Some("application/json"));
        let error = refused.json();
        assert_eq!(error["code"], "invalid_argument", "{error}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("application/json"),
            "{error}"
        );
        assert!(refused.header("accept-post").is_some());
    }
    // A stream called as unary says how to call it.
    let refused = http1(
        suite.gateway,
        "POST",
        "/innolab.gateway.v1.GatewayService/StreamChanges",
        &[("Content-Type", "application/json")],
        b"{}",
    )
    .await;
    assert_eq!(refused.status, 415);
    assert!(
        refused.json()["message"]
            .as_str()
            .unwrap()
            .contains("connect+json")
    );
    assert_eq!(count_named(&suite, "Form").await, 0);
    suite.stop().await;
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_both_ways_and_the_timeout_is_a_deadline() {
    let suite = Suite::start(&Backend::Sqlite).await;
    let answer = http1(
        suite.gateway,
        "POST",
        &format!("{MEMBERSHIP}/CreateOrganization"),
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
            ("Accept-Encoding", "gzip"),
        ],
        &gzip(organization_json("Gzip").as_bytes()),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-encoding"), Some("gzip"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&answer.body[..])
        .read_to_string(&mut text)
        .unwrap();
    let created: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(created["displayNames"][0]["text"], "Gzip");

    // An unknown encoding is refused, not misread.
    let refused = http1(
        suite.gateway,
        "POST",
        &format!("{MEMBERSHIP}/CreateOrganization"),
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "br"),
        ],
        b"...",
    )
    .await;
    assert_eq!(
        (refused.status, refused.json()["code"].as_str()),
        (501, Some("unimplemented"))
    );

    // A deadline that has passed: deadline_exceeded, 504.
    let late = http1(
        suite.gateway,
        "POST",
        &format!("{MEMBERSHIP}/ListOrganizations"),
        &[
            ("Content-Type", "application/json"),
            ("Connect-Timeout-Ms", "0"),
        ],
        b"{}",
    )
    .await;
    assert_eq!(
        (late.status, late.json()["code"].as_str()),
        (504, Some("deadline_exceeded"))
    );
    let bad = http1(
        suite.gateway,
        "POST",
        &format!("{MEMBERSHIP}/ListOrganizations"),
        &[
            ("Content-Type", "application/json"),
            ("Connect-Timeout-Ms", "soon"),
        ],
        b"{}",
    )
    .await;
    assert_eq!(bad.status, 400);
    suite.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_over_the_message_limit_is_refused_with_413() {
    let mut suite = Suite::start_services(&Backend::Sqlite).await;
    let limits = innolab_gateway::security::limits::Limits::new(
        1024,
        None,
        64 * 1024,
        std::time::Duration::from_secs(30),
    );
    suite
        .start_gateway(innolab_gateway::security::Security {
            guard: innolab_gateway::security::Guard::open().with_limits(limits),
            ..Default::default()
        })
        .await;
    // An organisation with a 100 KiB name in a second language.
    let mut body: serde_json::Value = serde_json::from_str(&organization_json("Large")).unwrap();
    body["organization"]["displayNames"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"languageCode": "en", "text": "x".repeat(100 * 1024)}));
    let refused = post_json(&suite, "CreateOrganization", &body.to_string()).await;
    assert_eq!(refused.status, 413, "{:?}", refused.json());
    let error = refused.json();
    assert_eq!(error["code"], "resource_exhausted");
    assert!(
        error["message"].as_str().unwrap().contains("65536 bytes"),
        "{error}"
    );
    // The same bytes gzipped are small on the wire and refused all the same.
    let refused = http1(
        suite.gateway,
        "POST",
        &format!("{MEMBERSHIP}/CreateOrganization"),
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
        &gzip(body.to_string().as_bytes()),
    )
    .await;
    assert_eq!(refused.status, 413);
    assert_eq!(count_named(&suite, "Large").await, 0);
    suite.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_change_feed_streams_over_connect_to_plain_http_clients() {
    let suite = Suite::start(&Backend::Sqlite).await;
    let created = post_json(&suite, "CreateOrganization", &organization_json("Streamed")).await;
    let name = created.json()["name"].as_str().unwrap().to_string();

    // JSON: one envelope per change, then the end-of-stream envelope.
    let feed = http1(
        suite.gateway,
        "POST",
        "/innolab.gateway.v1.GatewayService/StreamChanges",
        &[("Content-Type", "application/connect+json")],
        &envelope(0, br#"{"follow": false}"#),
    )
    .await;
    assert_eq!(feed.status, 200);
    assert_eq!(
        feed.header("content-type"),
        Some("application/connect+json")
    );
    let messages = envelopes(&feed.body);
    let (last_flags, last) = messages.last().unwrap();
    assert_eq!(*last_flags, 2, "ends with the end-of-stream envelope");
    let end: serde_json::Value = serde_json::from_slice(last).unwrap();
    assert!(end.get("error").is_none(), "{end}");
    let changes: Vec<serde_json::Value> = messages[..messages.len() - 1]
        .iter()
        .map(|(flags, m)| {
            assert_eq!(*flags, 0);
            serde_json::from_slice(m).unwrap()
        })
        .collect();
    let mine = changes
        .iter()
        .find(|c| c["change"]["resource"] == name.as_str())
        .expect("the created organisation is in the feed");
    assert_eq!(mine["change"]["type"], "CHANGE_TYPE_CREATED");
    // Resumable with the same cursor: nothing after the last one.
    let cursor = changes.last().unwrap()["cursor"]
        .as_str()
        .unwrap()
        .to_string();
    let request = gw::StreamChangesRequest {
        cursor,
        follow: false,
    };
    let rest = http1(
        suite.gateway,
        "POST",
        "/innolab.gateway.v1.GatewayService/StreamChanges",
        &[
            ("Content-Type", "application/connect+proto"),
            ("Connect-Accept-Encoding", "gzip"),
        ],
        &envelope(0, &request.encode_to_vec()),
    )
    .await;
    assert_eq!(rest.header("connect-content-encoding"), Some("gzip"));
    let messages = envelopes(&rest.body);
    assert_eq!(messages.len(), 1, "only the end of the stream");
    assert_eq!(messages[0].0, 2);

    // An error is the end-of-stream envelope's, with HTTP 200.
    let forged = http1(
        suite.gateway,
        "POST",
        "/innolab.gateway.v1.GatewayService/StreamChanges",
        &[("Content-Type", "application/connect+json")],
        &envelope(0, br#"{"cursor": "not-a-cursor"}"#),
    )
    .await;
    assert_eq!(forged.status, 200);
    let messages = envelopes(&forged.body);
    let end: serde_json::Value = serde_json::from_slice(&messages.last().unwrap().1).unwrap();
    assert_eq!(end["error"]["code"], "invalid_argument", "{end}");
    // Bad JSON in the caller's own envelope is named as such.
    let bad = http1(
        suite.gateway,
        "POST",
        "/innolab.gateway.v1.GatewayService/StreamChanges",
        &[("Content-Type", "application/connect+json")],
        &envelope(0, b"{not json"),
    )
    .await;
    let messages = envelopes(&bad.body);
    let end: serde_json::Value = serde_json::from_slice(&messages.last().unwrap().1).unwrap();
    assert_eq!(end["error"]["code"], "invalid_argument", "{end}");
    assert!(
        end["error"]["message"]
            .as_str()
            .unwrap()
            .contains("request body"),
        "{end}"
    );
    suite.stop().await;
}

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
