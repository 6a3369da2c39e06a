//! Unit tests of `proxy`.

#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn timeouts_parse_and_encode() {
    let mut headers = http::HeaderMap::new();
    headers.insert("grpc-timeout", HeaderValue::from_static("250m"));
    assert_eq!(
        grpc_timeout(&headers).unwrap(),
        Some(Duration::from_millis(250))
    );
    headers.insert("grpc-timeout", HeaderValue::from_static("x"));
    assert!(grpc_timeout(&headers).is_err());
    assert_eq!(encode_timeout(Duration::from_millis(250)), "250000u");
    assert_eq!(encode_timeout(Duration::from_secs(3600)), "3600000m");
}
