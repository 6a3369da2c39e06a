//! Connect unary calls: JSON and binary, GET, 415/405/404, gzip, deadlines,
//! the message limit.

use std::io::Read as _;

use innolab_proto::innolab::membership::v1 as pb;
use innolab_tests::{Backend, Suite, http1};
use prost::Message as _;

use super::*;

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
    // A stream is never a GET: it says how it is called.
    let stream = http1(
        suite.gateway,
        "GET",
        "/innolab.gateway.v1.GatewayService/StreamChanges?encoding=json&message=%7B%7D",
        &[],
        b"",
    )
    .await;
    assert_eq!(stream.status, 415);

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
