//! Connect streams: a server stream (the change feed) and a client stream
//! (an upload), as envelopes over HTTP/1.1.

use innolab_proto::innolab::gateway::v1 as gw;
use innolab_tests::{Backend, Suite, http1};
use prost::Message as _;

use super::*;

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
async fn a_client_stream_over_connect_uploads_a_file() {
    use base64::Engine as _;
    use sha2::Digest as _;
    let suite = Suite::start(&Backend::Sqlite).await;
    let document = http1(
        suite.gateway,
        "POST",
        "/innolab.guidance.v1.GuidanceService/CreateDocument",
        &[("Content-Type", "application/json")],
        br#"{"document": {"type": "DOCUMENT_TYPE_GUIDE", "title": "Streamed", "license": "CC-BY-4.0"}}"#,
    )
    .await
    .json()["name"]
        .as_str()
        .unwrap()
        .to_string();
    let content = b"a method card, sent in two pieces";
    let sha: String = sha2::Sha256::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // Half-duplex over HTTP/1.1: the metadata, two chunks, then the answer.
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut body = envelope(
        0,
        serde_json::json!({"metadata": {"parent": document, "attachment": {
            "filename": "card.txt", "contentType": "text/plain", "sha256": sha}}})
        .to_string()
        .as_bytes(),
    );
    for piece in [&content[..10], &content[10..]] {
        body.extend(envelope(
            0,
            serde_json::json!({"chunk": b64(piece)})
                .to_string()
                .as_bytes(),
        ));
    }
    let answer = http1(
        suite.gateway,
        "POST",
        "/innolab.guidance.v1.GuidanceService/UploadAttachment",
        &[("Content-Type", "application/connect+json")],
        &body,
    )
    .await;
    assert_eq!(answer.status, 200);
    let messages = envelopes(&answer.body);
    assert_eq!(
        messages.len(),
        2,
        "the attachment, then the end of the stream"
    );
    let attachment: serde_json::Value = serde_json::from_slice(&messages[0].1).unwrap();
    assert_eq!(attachment["sha256"], sha.as_str());
    assert_eq!(attachment["sizeBytes"], content.len().to_string());
    assert_eq!(messages[1].0, 2);
    suite.stop().await;
}
