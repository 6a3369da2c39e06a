//! The gateway's HTTP edge over a real socket, byte by byte as HTTP/1.1
//! clients send it: the Connect protocol (unary JSON and binary, GET,
//! streams, gzip, timeouts, limits, its status codes), gRPC-Web and CORS.
//! The official clients (connect-es, buf curl, curl, Python requests) run
//! the same ground in `scripts/http-clients.sh` and `scripts/http-tls.sh`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod streams;
mod unary;
mod web;

use std::io::Write as _;

use innolab_tests::{HttpAnswer, Suite, http1};
pub(crate) use innolab_tests::{envelope, envelopes};

const MEMBERSHIP: &str = "/innolab.membership.v1.MembershipService";

pub(crate) fn organization_json(name: &str) -> String {
    serde_json::json!({"organization": {
        "displayNames": [{"languageCode": "ro", "text": name}],
        "kind": "ORGANIZATION_KIND_GOVERNMENT",
        "countryCode": "RO"
    }})
    .to_string()
}

pub(crate) async fn post_json(suite: &Suite, method: &str, body: &str) -> HttpAnswer {
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
pub(crate) async fn count_named(suite: &Suite, name: &str) -> usize {
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

pub(crate) fn form_query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub(crate) fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}
