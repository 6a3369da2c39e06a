//! Unit tests of the edge's pieces; the protocol itself is tested over
//! sockets with real clients (tests/tests/connect.rs, scripts/http-clients.sh).

#![allow(clippy::unwrap_used)]

use super::*;

fn request(method: Method, content_type: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri("/innolab.membership.v1.MembershipService/GetOrganization");
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    builder.body(Body::empty()).unwrap()
}

#[test]
fn requests_are_told_apart_by_method_and_content_type() {
    let kinds = [
        (Method::POST, Some("application/json"), "unary json"),
        (
            Method::POST,
            Some("application/json; charset=utf-8"),
            "unary json",
        ),
        (Method::POST, Some("Application/Proto"), "unary proto"),
        (
            Method::POST,
            Some("application/connect+json"),
            "stream json",
        ),
        (
            Method::POST,
            Some("application/connect+proto"),
            "stream proto",
        ),
        (Method::POST, Some("application/grpc"), "grpc"),
        (Method::POST, Some("application/grpc+proto"), "grpc"),
        (
            Method::POST,
            Some("application/x-www-form-urlencoded"),
            "415",
        ),
        (Method::POST, Some("text/plain"), "415"),
        (Method::POST, Some("application/grpc-web+proto"), "grpc-web"),
        (Method::POST, Some("application/grpc-web-text"), "grpc-web"),
        (Method::POST, Some("application/grpcx"), "415"),
        (Method::POST, None, "415"),
        (Method::GET, None, "get"),
        (Method::DELETE, Some("application/json"), "405"),
        (Method::OPTIONS, None, "405"),
    ];
    for (method, content_type, expected) in kinds {
        let got = match kind(&request(method.clone(), content_type)) {
            Kind::OpenApi => "openapi",
            Kind::Grpc => "grpc",
            Kind::GrpcWeb => "grpc-web",
            Kind::Unary(Codec::Json) => "unary json",
            Kind::Unary(Codec::Proto) => "unary proto",
            Kind::Stream(Codec::Json) => "stream json",
            Kind::Stream(Codec::Proto) => "stream proto",
            Kind::Get => "get",
            Kind::Unsupported(_) => "415",
            Kind::NotAllowed => "405",
        };
        assert_eq!(got, expected, "{method} {content_type:?}");
    }
}

#[test]
fn gzip_is_taken_when_accepted_and_not_refused() {
    let value = |v: &'static str| HeaderValue::from_static(v);
    assert!(accepts_gzip(Some(&value("gzip"))));
    assert!(accepts_gzip(Some(&value("br, gzip;q=0.5"))));
    assert!(!accepts_gzip(Some(&value("gzip;q=0"))));
    assert!(!accepts_gzip(Some(&value("identity"))));
    assert!(!accepts_gzip(None));
}

#[test]
fn gunzip_round_trips_and_holds_the_limit() {
    let text = vec![b'a'; 10_000];
    assert_eq!(gunzip(&gzip(&text), 10_000).unwrap(), text);
    // A small body that expands past the limit (a gzip bomb) is refused.
    let refused = gunzip(&gzip(&text), 9_999).unwrap_err();
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
    assert!(
        refused.message().contains("9999 bytes"),
        "{}",
        refused.message()
    );
    assert_eq!(
        gunzip(b"not gzip", 100).unwrap_err().code(),
        tonic::Code::InvalidArgument
    );
}

#[test]
fn reads_are_marked_free_of_side_effects_and_writes_are_not() {
    let get = crate::json::method("/innolab.membership.v1.MembershipService/GetOrganization");
    let create = crate::json::method("/innolab.membership.v1.MembershipService/CreateOrganization");
    assert!(unary::no_side_effects(&get.unwrap()));
    assert!(!unary::no_side_effects(&create.unwrap()));
    // Every Get/List/Search method of the suite is marked, so GET works for it.
    let pool = crate::json::POOL.as_ref().unwrap();
    for service in pool
        .services()
        .filter(|s| s.full_name().starts_with("innolab."))
    {
        for method in service.methods() {
            let read = ["Get", "List", "Search", "Summarize", "Render"]
                .iter()
                .any(|p| method.name().starts_with(p));
            let unary = !method.is_client_streaming() && !method.is_server_streaming();
            if read && unary {
                assert!(unary::no_side_effects(&method), "{}", method.full_name());
            }
        }
    }
}

#[tokio::test]
async fn envelopes_are_rewritten_one_message_at_a_time() {
    use http_body_util::BodyExt as _;
    // Two messages split across frames at awkward places, then trailers.
    let mut stream = Vec::new();
    stream.extend_from_slice(&grpc_frame(b"one"));
    stream.extend_from_slice(&grpc_frame(b"two!"));
    let (first, rest) = stream.split_at(7);
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    let frames = vec![
        Ok::<_, Status>(http_body::Frame::data(bytes::Bytes::copy_from_slice(first))),
        Ok(http_body::Frame::data(bytes::Bytes::copy_from_slice(rest))),
        Ok(http_body::Frame::trailers(trailers)),
    ];
    let body = Body::new(http_body_util::StreamBody::new(tokio_stream::iter(frames)));
    let reframed = envelope::Reframe::new(
        body,
        1024,
        Box::new(|_, payload| Ok(bytes::Bytes::from(payload.to_ascii_uppercase()))),
        Box::new(|how| {
            let ended = if how.unwrap().is_some() {
                "end"
            } else {
                "none"
            };
            Some(Ok(http_body::Frame::data(bytes::Bytes::from_static(
                ended.as_bytes(),
            ))))
        }),
    );
    let all = reframed.collect().await.unwrap().to_bytes();
    assert_eq!(&all[..], b"ONETWO!end");
}

#[tokio::test]
async fn a_message_over_the_limit_ends_the_stream() {
    use http_body_util::BodyExt as _;
    let frames = vec![Ok::<_, Status>(http_body::Frame::data(grpc_frame(
        &[0; 100],
    )))];
    let body = Body::new(http_body_util::StreamBody::new(tokio_stream::iter(frames)));
    let reframed = envelope::Reframe::new(
        body,
        99,
        Box::new(|_, payload| Ok(payload)),
        Box::new(|how| {
            let status = how.unwrap_err();
            Some(Ok(http_body::Frame::data(bytes::Bytes::from(format!(
                "{:?}",
                status.code()
            )))))
        }),
    );
    let all = reframed.collect().await.unwrap().to_bytes();
    assert_eq!(&all[..], b"ResourceExhausted");
}
