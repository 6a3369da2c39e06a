//! The authorisation matrix over every protocol besides gRPC, on the
//! production gateway (TLS, bearer tokens, a client certificate): Connect
//! unary JSON, Connect GET (reads only: a write is 405 whoever asks),
//! Connect streams and gRPC-Web, each read the way its clients read it. A
//! denied write reaches no service, and every protocol's denials are
//! audited.

use std::net::SocketAddr;
use std::sync::Arc;

use innolab_proto::innolab::gateway::v1 as gw;
use innolab_tests::fixtures::organization_request;
use innolab_tests::{HttpAnswer, envelope, envelopes};
use prost::Message as _;
use prost_reflect::MethodDescriptor;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;

use super::matrix::{self, Verdict};
use super::*;

/// A TLS client of the gateway that trusts `ca_pem` and presents
/// `identity` (certificate and key PEM) when given; HTTP/1.1, as curl and
/// browsers' fetch speak it.
fn tls_client(ca_pem: &str, identity: Option<(String, String)>) -> TlsConnector {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let mut config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                CertificateDer::pem_slice_iter(cert.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap(),
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsConnector::from(Arc::new(config))
}

/// One HTTP/1.1 request to the gateway over a fresh TLS connection.
async fn https(
    gateway: SocketAddr,
    tls: &TlsConnector,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpAnswer {
    let tcp = tokio::net::TcpStream::connect(gateway).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let stream = tls.connect(name, tcp).await.unwrap();
    let answer = innolab_tests::http1_over(stream, method, path, headers, body);
    tokio::time::timeout(Duration::from_secs(30), answer)
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no answer within 30 s"))
}

/// The protocols besides gRPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// Connect unary, `POST` `application/json`.
    ConnectJson,
    /// Connect unary as `GET ?encoding=json&message=...`.
    ConnectGet,
    /// Connect streaming, `application/connect+json`.
    ConnectStream,
    /// gRPC-Web, `application/grpc-web+proto`.
    GrpcWeb,
}

impl Protocol {
    /// The protocols a method is called with: Connect unary (POST, and GET)
    /// or a Connect stream, and gRPC-Web.
    fn of(method: &MethodDescriptor) -> [Protocol; 3] {
        let streams = method.is_client_streaming() || method.is_server_streaming();
        let connect = if streams {
            Protocol::ConnectStream
        } else {
            Protocol::ConnectJson
        };
        [connect, Protocol::ConnectGet, Protocol::GrpcWeb]
    }
}

/// Whether a method is marked `idempotency_level = NO_SIDE_EFFECTS`.
fn no_side_effects(method: &MethodDescriptor) -> bool {
    use prost_reflect::prost_types::method_options::IdempotencyLevel;
    method
        .method_descriptor_proto()
        .options
        .as_ref()
        .is_some_and(|o| o.idempotency_level() == IdempotencyLevel::NoSideEffects)
}

/// The verdict of a Connect unary answer: 401 `unauthenticated`, 403
/// `permission_denied`, anything else passed the guard.
fn connect_unary_verdict(answer: &HttpAnswer) -> Verdict {
    let json = answer.json();
    let code = json["code"].as_str().unwrap_or_default();
    match (answer.status, code) {
        (401, "unauthenticated") => Verdict::Unauthenticated,
        (403, "permission_denied") => Verdict::PermissionDenied,
        (401 | 403, _) | (_, "unauthenticated" | "permission_denied") => {
            panic!(
                "HTTP {} does not match the code {code:?}: {json}",
                answer.status
            )
        }
        _ => Verdict::Passed,
    }
}

/// The verdict of a Connect stream: HTTP 200 whatever happened, the error
/// in the end-of-stream envelope (flags 2).
fn connect_stream_verdict(answer: &HttpAnswer) -> Verdict {
    assert_eq!(
        answer.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&answer.body)
    );
    let envelopes = envelopes(&answer.body);
    let (flags, end) = envelopes.last().expect("an end-of-stream envelope");
    assert_eq!(*flags, 2, "the stream ends with its end-of-stream envelope");
    let end: serde_json::Value = serde_json::from_slice(end).unwrap();
    match end["error"]["code"].as_str() {
        Some("unauthenticated") => Verdict::Unauthenticated,
        Some("permission_denied") => Verdict::PermissionDenied,
        _ => Verdict::Passed,
    }
}

/// The gRPC status of a gRPC-Web answer: in the trailers frame (flag 0x80,
/// `grpc-status:N` lines) after the messages, or in the headers of a
/// trailers-only answer, as gRPC-Web allows (how the gateway refuses: the
/// guard answers before any message, and tonic-web passes that on).
fn grpc_web_status(answer: &HttpAnswer) -> i32 {
    assert_eq!(
        answer.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&answer.body)
    );
    let from_frame = envelopes(&answer.body)
        .into_iter()
        .filter(|(flags, _)| flags & 0x80 != 0)
        .find_map(|(_, trailers)| {
            String::from_utf8_lossy(&trailers)
                .split("\r\n")
                .find_map(|line| {
                    line.strip_prefix("grpc-status:")
                        .map(|c| c.trim().to_string())
                })
        });
    from_frame
        .or_else(|| answer.header("grpc-status").map(str::to_string))
        .expect("a grpc-status")
        .parse()
        .unwrap()
}

/// Calls `method` over `protocol` with an empty message, as `token`'s
/// holder (or whoever `tls` presents); `None` when the protocol refuses the
/// method whoever calls (GET for a method with side effects: 405; for a
/// stream: 415).
async fn call(
    gateway: SocketAddr,
    tls: &TlsConnector,
    protocol: Protocol,
    method: &MethodDescriptor,
    token: Option<&str>,
) -> Option<Verdict> {
    let path = format!("/{}", matrix::full_name(method));
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers: Vec<(&str, &str)> = bearer
        .as_deref()
        .map(|b| vec![("Authorization", b)])
        .unwrap_or_default();
    let client_streams = method.is_client_streaming();
    match protocol {
        Protocol::ConnectJson => {
            headers.extend([
                ("Content-Type", "application/json"),
                ("Connect-Protocol-Version", "1"),
            ]);
            let answer = https(gateway, tls, "POST", &path, &headers, b"{}").await;
            Some(connect_unary_verdict(&answer))
        }
        Protocol::ConnectGet => {
            headers.push(("Connect-Protocol-Version", "1"));
            let query = format!("{path}?connect=v1&encoding=json&message=%7B%7D");
            let answer = https(gateway, tls, "GET", &query, &headers, b"").await;
            // A stream is never a GET, whoever calls: 415, how it is called.
            if method.is_client_streaming() || method.is_server_streaming() {
                assert_eq!(answer.status, 415, "GET {path}: {:?}", answer.json());
                return None;
            }
            if !no_side_effects(method) {
                assert_eq!(answer.status, 405, "GET {path}: {:?}", answer.json());
                return None;
            }
            Some(connect_unary_verdict(&answer))
        }
        Protocol::ConnectStream => {
            headers.extend([
                ("Content-Type", "application/connect+json"),
                ("Connect-Protocol-Version", "1"),
            ]);
            // A client stream of no message; a server stream's one request.
            let body = if client_streams {
                Vec::new()
            } else {
                envelope(0, b"{}")
            };
            let answer = https(gateway, tls, "POST", &path, &headers, &body).await;
            Some(connect_stream_verdict(&answer))
        }
        Protocol::GrpcWeb => {
            headers.extend([
                ("Content-Type", "application/grpc-web+proto"),
                ("X-Grpc-Web", "1"),
            ]);
            let body = if client_streams {
                Vec::new()
            } else {
                envelope(0, b"")
            };
            let answer = https(gateway, tls, "POST", &path, &headers, &body).await;
            let code = grpc_web_status(&answer);
            Some(Verdict::of(Code::from_i32(code)))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protocol_grants_and_refuses_exactly_what_grpc_does() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = setup(dir.path(), "organizations/editor-org");
    // Thousands of calls from each client in a few seconds: no rate limit.
    s.vars
        .insert("INNOLAB_RATE_LIMIT_PER_SECOND".into(), "0".into());
    let suite = Suite::start_with(&Backend::Sqlite, security_of(&s.vars).unwrap()).await;
    // Waits until the gateway is SERVING; the admin's gRPC channel.
    let channel = connect(&suite, &s.ca.pem, None).await.unwrap();
    let tokens = tls_client(&s.ca.pem, None);
    let certificate = tls_client(&s.ca.pem, Some(s.ca.sign(&[], &["xroad:RO/GOV/0/anyone"])));
    let callers = matrix::callers(&s);
    let mut calls = 0;
    for method in matrix::methods() {
        let full = matrix::full_name(&method);
        for protocol in Protocol::of(&method) {
            for (who, token) in &callers {
                let got = call(suite.gateway, &tokens, protocol, &method, token.as_deref()).await;
                if let Some(verdict) = got {
                    assert_eq!(
                        verdict,
                        matrix::expected(who, &method),
                        "{who} calling {full} over {protocol:?}"
                    );
                }
                calls += 1;
            }
            let who = matrix::UNLISTED_CERTIFICATE;
            if let Some(verdict) = call(suite.gateway, &certificate, protocol, &method, None).await
            {
                assert_eq!(
                    verdict,
                    matrix::expected(who, &method),
                    "{who} calling {full} over {protocol:?}"
                );
            }
            calls += 1;
        }
    }
    assert!(calls > 1500, "{calls} calls");
    denied_writes_reach_no_service_and_are_audited(&suite, &s, &tokens, channel).await;
    suite.stop().await;
}

/// A write that a reader may not make, over each protocol, with a message
/// the service would accept (an administrator's identical call succeeds):
/// nothing is stored, and the audit log has each denial, under the
/// request id it was sent with.
async fn denied_writes_reach_no_service_and_are_audited(
    suite: &Suite,
    s: &Setup,
    tls: &TlsConnector,
    channel: Channel,
) {
    let admin = format!("Bearer {}", s.signer.token("k1", ADMIN, "innolab", 300));
    let reader = format!("Bearer {}", s.signer.token("k1", READER, "innolab", 300));
    let unlisted = format!("Bearer {}", s.signer.token("k1", UNLISTED, "innolab", 300));
    let create = "/innolab.membership.v1.MembershipService/CreateOrganization";
    let organization = |name: &str| organization_request(name, "RO");
    let json = |name: &str| {
        let pool =
            prost_reflect::DescriptorPool::decode(innolab_proto::FILE_DESCRIPTOR_SET).unwrap();
        let kind = pool
            .get_message_by_name("innolab.membership.v1.CreateOrganizationRequest")
            .unwrap();
        let message =
            prost_reflect::DynamicMessage::decode(kind, &organization(name).encode_to_vec()[..])
                .unwrap();
        serde_json::to_vec(&message).unwrap()
    };
    let post_json = async |who: &str, request_id: &str, name: &str| {
        let headers = [
            ("Authorization", who),
            ("Content-Type", "application/json"),
            ("X-Request-Id", request_id),
        ];
        https(suite.gateway, tls, "POST", create, &headers, &json(name)).await
    };
    let post_web = async |who: &str, request_id: &str, name: &str| {
        let headers = [
            ("Authorization", who),
            ("Content-Type", "application/grpc-web+proto"),
            ("X-Grpc-Web", "1"),
            ("X-Request-Id", request_id),
        ];
        let body = envelope(0, &organization(name).encode_to_vec());
        grpc_web_status(&https(suite.gateway, tls, "POST", create, &headers, &body).await)
    };

    // Connect JSON and gRPC-Web: refused to the reader, made for the admin.
    let denied = post_json(&reader, "denied-connect-json", "Refused over Connect").await;
    assert_eq!(connect_unary_verdict(&denied), Verdict::PermissionDenied);
    let made = post_json(&admin, "allowed-connect-json", "Made over Connect").await;
    assert_eq!(made.status, 200, "{:?}", made.json());
    let lead = made.json()["name"].as_str().unwrap().to_string();
    assert_eq!(
        post_web(&reader, "denied-grpc-web", "Refused over gRPC-Web").await,
        7
    );
    assert_eq!(
        post_web(&admin, "allowed-grpc-web", "Made over gRPC-Web").await,
        0
    );

    // A Connect stream (an import): refused to the reader, made for the admin.
    let import = "/innolab.initiatives.v1.InitiativesService/ImportInitiatives";
    let stream = async |who: &str, request_id: &str, title: &str| {
        let row = serde_json::json!({
            "requestId": request_id,
            "initiative": {"titles": [{"languageCode": "en", "text": title}],
                           "leadOrganization": lead, "countryCode": "RO"},
        });
        let headers = [
            ("Authorization", who),
            ("Content-Type", "application/connect+json"),
            ("X-Request-Id", request_id),
        ];
        let body = envelope(0, row.to_string().as_bytes());
        connect_stream_verdict(&https(suite.gateway, tls, "POST", import, &headers, &body).await)
    };
    let refused = stream(&reader, "denied-connect-stream", "Refused over a stream").await;
    assert_eq!(refused, Verdict::PermissionDenied);
    assert_eq!(
        stream(&admin, "allowed-connect-stream", "Made over a stream").await,
        Verdict::Passed
    );

    // A Connect GET (a read the unlisted client may not make).
    let get = https(
        suite.gateway,
        tls,
        "GET",
        "/innolab.membership.v1.MembershipService/ListOrganizations?encoding=json&message=%7B%7D",
        &[
            ("Authorization", &unlisted),
            ("X-Request-Id", "denied-connect-get"),
        ],
        b"",
    )
    .await;
    assert_eq!(connect_unary_verdict(&get), Verdict::PermissionDenied);

    // What the services hold, asked directly.
    let organizations = mb::membership_service_client::MembershipServiceClient::new(
        suite.membership.channel().await,
    )
    .list_organizations(mb::ListOrganizationsRequest {
        page_size: 1000,
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
    .organizations;
    let mut names: Vec<&str> = organizations
        .iter()
        .map(|o| o.display_names[0].text.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["Made over Connect", "Made over gRPC-Web"]);
    let initiatives = ini::initiatives_service_client::InitiativesServiceClient::new(
        suite.initiatives.channel().await,
    )
    .list_initiatives(ini::ListInitiativesRequest {
        page_size: 1000,
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
    .initiatives;
    let titles: Vec<&str> = initiatives
        .iter()
        .map(|i| i.titles[0].text.as_str())
        .collect();
    assert_eq!(titles, ["Made over a stream"]);

    // Each denial is in the audit log, under its protocol's request id.
    let mut gateway = gw::gateway_service_client::GatewayServiceClient::new(channel);
    let admin_token = s.signer.token("k1", ADMIN, "innolab", 300);
    let wanted = [
        ("denied-connect-json", READER, "CreateOrganization"),
        ("denied-grpc-web", READER, "CreateOrganization"),
        ("denied-connect-stream", READER, "ImportInitiatives"),
        ("denied-connect-get", UNLISTED, "ListOrganizations"),
    ];
    let mut found = Vec::new();
    for _ in 0..100 {
        let mut entries = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = gateway
                .list_audit_entries(with_token(
                    gw::ListAuditEntriesRequest {
                        page_size: 1000,
                        page_token: page_token.clone(),
                        ..Default::default()
                    },
                    Some(&admin_token),
                ))
                .await
                .unwrap()
                .into_inner();
            entries.extend(page.entries);
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        found = wanted
            .iter()
            .filter_map(|(id, _, _)| entries.iter().find(|e| e.request_id == *id).cloned())
            .collect();
        if found.len() == wanted.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(found.len(), wanted.len(), "{found:?}");
    for (entry, (id, client, method)) in found.iter().zip(wanted) {
        assert_eq!(
            (
                entry.client_id.as_str(),
                entry.method.rsplit('/').next().unwrap(),
                entry.outcome.as_str()
            ),
            (client, method, "PERMISSION_DENIED"),
            "{id}: {entry:?}"
        );
    }
}
