//! Plain HTTP for systems with nothing but an HTTP library, over a real
//! socket as HTTP/1.1 clients send it: the change feed as NDJSON and
//! Server-Sent Events (resumable with the cursor), the open-data exports
//! as NDJSON and CSV, attachments uploaded as raw bytes and downloaded with
//! a GET (ETag, ranges, 304).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use innolab_tests::{Backend, HttpAnswer, Suite, http1};
use sha2::Digest as _;

async fn post_json(suite: &Suite, path: &str, body: serde_json::Value) -> serde_json::Value {
    let answer = http1(
        suite.gateway,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .await;
    assert_eq!(answer.status, 200, "{path}: {:?}", answer.json());
    answer.json()
}

async fn get(suite: &Suite, path: &str, headers: &[(&str, &str)]) -> HttpAnswer {
    http1(suite.gateway, "GET", path, headers, b"").await
}

async fn organization(suite: &Suite, name: &str) -> String {
    let created = post_json(
        suite,
        "/innolab.membership.v1.MembershipService/CreateOrganization",
        serde_json::json!({"organization": {
            "displayNames": [{"languageCode": "ro", "text": name}],
            "kind": "ORGANIZATION_KIND_GOVERNMENT", "countryCode": "RO"}}),
    )
    .await;
    created["name"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_change_feed_as_ndjson_and_server_sent_events() {
    let suite = Suite::start(&Backend::Sqlite).await;
    let name = organization(&suite, "Feed").await;

    let ndjson = get(&suite, "/changes", &[]).await;
    assert_eq!(ndjson.status, 200);
    assert_eq!(ndjson.header("content-type"), Some("application/x-ndjson"));
    let lines: Vec<serde_json::Value> = String::from_utf8(ndjson.body.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["change"]["resource"] == name.as_str())
    );
    let cursor = lines.last().unwrap()["cursor"]
        .as_str()
        .unwrap()
        .to_string();

    // SSE: each change an event whose id is the cursor after it.
    let sse = get(&suite, "/changes", &[("Accept", "text/event-stream")]).await;
    assert_eq!(sse.header("content-type"), Some("text/event-stream"));
    let text = String::from_utf8(sse.body).unwrap();
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.len(), lines.len(), "{text}");
    let last = events.last().unwrap();
    assert!(
        last.starts_with(&format!("id: {cursor}\nevent: change\ndata: {{")),
        "{last}"
    );

    // Resumed from the last id (an EventSource's Last-Event-ID) or the
    // cursor parameter: nothing new, then a new change only.
    let resumed = get(
        &suite,
        "/changes",
        &[("Accept", "text/event-stream"), ("Last-Event-ID", &cursor)],
    )
    .await;
    assert!(
        resumed.body.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&resumed.body)
    );
    let newer = organization(&suite, "Feed 2").await;
    let next = get(&suite, &format!("/changes?cursor={cursor}"), &[]).await;
    let text = String::from_utf8(next.body).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains(&newer), "{text}");

    // A forged cursor fails before the stream starts: a plain 400.
    let forged = get(&suite, "/changes?cursor=forged", &[]).await;
    assert_eq!(
        (forged.status, forged.json()["code"].as_str()),
        (400, Some("invalid_argument"))
    );
    let bad = get(&suite, "/changes?follow=maybe", &[]).await;
    assert_eq!(bad.status, 400);
    suite.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_initiatives_export_as_ndjson_and_csv() {
    let suite = Suite::start(&Backend::Sqlite).await;
    let lead = organization(&suite, "Export lead").await;
    let mut created = Vec::new();
    for title in ["Alfa, with a comma", "Beta \"quoted\""] {
        let initiative = post_json(
            &suite,
            "/innolab.initiatives.v1.InitiativesService/CreateInitiative",
            serde_json::json!({"initiative": {
                "titles": [{"languageCode": "en", "text": title}],
                "leadOrganization": lead, "countryCode": "RO"}}),
        )
        .await;
        created.push(initiative["name"].as_str().unwrap().to_string());
    }
    let filter = format!("lead_organization = \"{lead}\"");
    let query: String = filter
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();

    let ndjson = get(&suite, &format!("/exports/initiatives?filter={query}"), &[]).await;
    assert_eq!(
        ndjson.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&ndjson.body)
    );
    let records: Vec<serde_json::Value> = String::from_utf8(ndjson.body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = records
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        created.iter().map(String::as_str).collect::<Vec<_>>()
    );

    let csv = get(
        &suite,
        &format!("/exports/initiatives.csv?filter={query}"),
        &[],
    )
    .await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let text = String::from_utf8(csv.body).unwrap();
    let rows: Vec<&str> = text.split("\r\n").filter(|r| !r.is_empty()).collect();
    assert_eq!(rows.len(), 3, "a header and one row per initiative: {text}");
    assert!(rows[0].starts_with("name,titles,"), "{}", rows[0]);
    assert!(
        rows[1].starts_with(&format!("{},", created[0])),
        "{}",
        rows[1]
    );
    // Lists are JSON text in one cell, quoted as RFC 4180 says.
    assert!(
        rows[1].contains(r#""[{""language_code"":""en"",""text"":""Alfa, with a comma""}]""#),
        "{}",
        rows[1]
    );

    // A bad filter is refused before anything is written.
    let bad = get(&suite, "/exports/initiatives?filter=nonsense%20%3D", &[]).await;
    assert_eq!(bad.status, 400, "{:?}", bad.json());
    suite.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_open_data_collection_over_http() {
    let suite = Suite::start(&Backend::Sqlite).await;
    let names = [
        organization(&suite, "Alfa").await,
        organization(&suite, "Beta").await,
    ];
    let csv = get(&suite, "/exports/organizations.csv", &[]).await;
    assert_eq!(csv.status, 200, "{:?}", String::from_utf8_lossy(&csv.body));
    let text = String::from_utf8(csv.body).unwrap();
    let rows: Vec<&str> = text.split("\r\n").filter(|r| !r.is_empty()).collect();
    assert!(rows[0].starts_with("name,display_names,"), "{}", rows[0]);
    assert_eq!(rows.len(), 3, "{text}");
    assert!(
        rows[1].starts_with(&format!("{},", names[0])),
        "{}",
        rows[1]
    );
    // A record of several fields (a document and its edition) is the whole
    // answer; an empty collection is an empty body.
    let documents = get(&suite, "/exports/documents", &[]).await;
    assert_eq!(documents.status, 200);
    assert_eq!(
        documents.header("content-type"),
        Some("application/x-ndjson")
    );
    assert!(documents.body.is_empty());
    let header = get(&suite, "/exports/documents.csv", &[]).await;
    assert_eq!(
        String::from_utf8(header.body).unwrap(),
        "document,edition\r\n"
    );
    // Only the initiatives take a filter; an unknown collection is not found.
    let refused = get(&suite, "/exports/groups?filter=kind%3DNETWORK", &[]).await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("filter:"),
        "{:?}",
        refused.json()
    );
    assert_eq!(get(&suite, "/exports/people", &[]).await.status, 404);
    suite.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_up_and_down_as_plain_bytes() {
    let suite = Suite::start(&Backend::Sqlite).await;
    let document = post_json(
        &suite,
        "/innolab.guidance.v1.GuidanceService/CreateDocument",
        serde_json::json!({"document": {"type": "DOCUMENT_TYPE_GUIDE",
            "title": "Files over HTTP", "license": "CC-BY-4.0"}}),
    )
    .await;
    let document = document["name"].as_str().unwrap().to_string();
    let content: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let sha: String = sha2::Sha256::digest(&content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    // A wrong checksum stores nothing.
    let wrong = http1(
        suite.gateway,
        "POST",
        &format!(
            "/files/{document}/attachments?filename=guide.pdf&sha256={}",
            "0".repeat(64)
        ),
        &[("Content-Type", "application/pdf")],
        &content,
    )
    .await;
    assert_eq!(wrong.status, 400, "{:?}", wrong.json());

    let uploaded = http1(
        suite.gateway,
        "POST",
        &format!("/files/{document}/attachments?filename=guide.pdf&sha256={sha}"),
        &[
            ("Content-Type", "application/pdf"),
            ("Idempotency-Key", "upload-1"),
        ],
        &content,
    )
    .await;
    assert_eq!(uploaded.status, 201, "{:?}", uploaded.json());
    let attachment = uploaded.json();
    let name = attachment["name"].as_str().unwrap().to_string();
    assert_eq!(attachment["sha256"], sha.as_str());
    assert_eq!(attachment["sizeBytes"], content.len().to_string());

    let whole = get(&suite, &format!("/files/{name}"), &[]).await;
    assert_eq!(whole.status, 200);
    assert_eq!(whole.body, content);
    assert_eq!(whole.header("content-type"), Some("application/pdf"));
    assert_eq!(
        whole.header("content-length"),
        Some(content.len().to_string().as_str())
    );
    let etag = format!("\"{sha}\"");
    assert_eq!(whole.header("etag"), Some(etag.as_str()));
    assert_eq!(
        whole.header("content-disposition"),
        Some("attachment; filename=\"guide.pdf\"")
    );

    // A range across the chunks, the last bytes, and one past the end.
    let part = get(
        &suite,
        &format!("/files/{name}"),
        &[("Range", "bytes=65530-65545")],
    )
    .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body, content[65530..=65545]);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 65530-65545/{}", content.len()).as_str())
    );
    let tail = get(&suite, &format!("/files/{name}"), &[("Range", "bytes=-10")]).await;
    assert_eq!(tail.body, content[content.len() - 10..]);
    let past = get(
        &suite,
        &format!("/files/{name}"),
        &[("Range", "bytes=999999-")],
    )
    .await;
    assert_eq!(past.status, 416);

    // Unchanged: 304 with no body.
    let cached = get(
        &suite,
        &format!("/files/{name}"),
        &[("If-None-Match", &etag)],
    )
    .await;
    assert_eq!(cached.status, 304);
    assert!(cached.body.is_empty());

    // Unknown attachment: 404 as JSON.
    let missing = get(
        &suite,
        &format!("/files/{document}/attachments/00000000-0000-0000-0000-000000000000"),
        &[],
    )
    .await;
    assert_eq!(missing.status, 404, "{:?}", missing.json());
    suite.stop().await;
}
