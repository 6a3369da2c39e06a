//! Gateway security over real TLS and real services: who is calling (client
//! certificates, bearer tokens), deny by default for every method of the
//! suite and every role, ownership checked against the data, and a
//! production configuration that refuses to start without TLS. Certificates
//! and keys are generated here, never committed.
//!
//! Over 600 lines: the authorisation matrix (every method x every role) and
//! the certificates and tokens it needs, kept in one place so that a method
//! added to the suite cannot miss a row.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use innolab_gateway::security::{self, Security};
use innolab_proto::innolab::initiatives::v1 as ini;
use innolab_proto::innolab::membership::v1 as mb;
use innolab_tests::fixtures::organization;
use innolab_tests::{Backend, Suite};
use prost_reflect::DescriptorPool;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, PKCS_ECDSA_P256_SHA256,
    SanType,
};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;

/// A certificate authority that signs server and client certificates.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let pem = params.self_signed(&key).unwrap().pem();
        Ca {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    /// (certificate PEM, key PEM) for `names` (DNS) and SAN URIs `uris`.
    fn sign(&self, names: &[&str], uris: &[&str]) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        for uri in uris {
            params
                .subject_alt_names
                .push(SanType::URI((*uri).try_into().unwrap()));
        }
        params.distinguished_name.push(DnType::CommonName, "client");
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// An ES256 signing key and its JWKS.
struct Signer {
    key: jsonwebtoken::EncodingKey,
    jwks: String,
}

impl Signer {
    fn new(kid: &str) -> Signer {
        let pair = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let raw = pair.public_key_raw();
        let (x, y) = (&raw[1..33], &raw[33..65]);
        let jwks = serde_json::json!({"keys": [{
            "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
        }]})
        .to_string();
        Signer {
            key: jsonwebtoken::EncodingKey::from_ec_der(&pair.serialize_der()),
            jwks,
        }
    }

    fn token(&self, kid: &str, sub: &str, audience: &str, expires_in: i64) -> String {
        self.token_with(
            kid,
            sub,
            audience,
            |now| serde_json::json!({"iat": now, "exp": now + expires_in}),
        )
    }

    /// A token whose time claims `times(now)` gives (`iat`, `nbf`, `exp`).
    fn token_with(
        &self,
        kid: &str,
        sub: &str,
        audience: &str,
        times: impl Fn(i64) -> serde_json::Value,
    ) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(kid.into());
        let mut claims = serde_json::json!({
            "sub": sub, "iss": "https://sso.example.gov", "aud": audience,
        });
        claims
            .as_object_mut()
            .unwrap()
            .extend(times(now).as_object().unwrap().clone());
        jsonwebtoken::encode(&header, &claims, &self.key).unwrap()
    }
}

const EDITOR: &str = "RO/GOV/111/editor-app";
const READER: &str = "RO/GOV/222/reader-app";
const REVIEWER: &str = "RO/GOV/333/reviewer-app";
const ADMIN: &str = "RO/GOV/000/admin-app";
const UNLISTED: &str = "RO/GOV/999/unknown-app";

/// Everything a secured suite needs, written into `dir`.
struct Setup {
    ca: Ca,
    signer: Signer,
    vars: HashMap<String, String>,
}

/// The shipped example table's roles, with this test's clients.
fn access_table(editor_org: &str) -> String {
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/k8s/overlays/prod/access.toml"
    ))
    .unwrap();
    let roles = example.split("# Examples").next().unwrap();
    format!(
        "{roles}\n\
         [[clients]]\nid = \"{ADMIN}\"\nroles = [\"lab_admin\"]\n\
         [[clients]]\nid = \"{READER}\"\nroles = [\"reader\"]\n\
         [[clients]]\nid = \"{REVIEWER}\"\nroles = [\"reviewer\"]\n\
         [[clients]]\nid = \"{EDITOR}\"\norganization = \"{editor_org}\"\nroles = [\"member_editor\"]\n"
    )
}

fn setup(dir: &Path, editor_org: &str) -> Setup {
    let ca = Ca::new("innolab test CA");
    let (cert, key) = ca.sign(&["localhost"], &[]);
    let signer = Signer::new("k1");
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let vars = HashMap::from([
        ("INNOLAB_ENVIRONMENT".to_string(), "production".to_string()),
        ("INNOLAB_TLS_CERT_FILE".into(), write("server.pem", &cert)),
        ("INNOLAB_TLS_KEY_FILE".into(), write("server.key", &key)),
        (
            "INNOLAB_TLS_CLIENT_CA_FILE".into(),
            write("ca.pem", &ca.pem),
        ),
        (
            "INNOLAB_JWT_JWKS_FILE".into(),
            write("jwks.json", &signer.jwks),
        ),
        (
            "INNOLAB_JWT_ISSUER".into(),
            "https://sso.example.gov".into(),
        ),
        ("INNOLAB_JWT_AUDIENCE".into(), "innolab".into()),
        ("INNOLAB_JWT_LEEWAY_SECONDS".into(), "5".into()),
        (
            "INNOLAB_ACCESS_FILE".into(),
            write("access.toml", &access_table(editor_org)),
        ),
        (
            "INNOLAB_AUDIT_DATABASE_URL".into(),
            format!("sqlite://{}/audit.db", dir.display()),
        ),
    ]);
    Setup { ca, signer, vars }
}

fn security_of(vars: &HashMap<String, String>) -> Result<Security, String> {
    security::from_vars(|name| vars.get(name).cloned()).map_err(|e| e.to_string())
}

/// A TLS channel to the gateway, with a client certificate or none.
async fn connect(
    suite: &Suite,
    ca_pem: &str,
    client: Option<(String, String)>,
) -> Result<Channel, String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca_pem))
        .domain_name("localhost");
    if let Some((cert, key)) = client {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    let channel = Channel::from_shared(format!("https://{}", suite.gateway))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| format!("{e:?}"))?;
    // Health is open to everyone: wait until the gateway sees its services.
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    for service in innolab_tests::UPSTREAMS {
        let mut serving = false;
        for _ in 0..600 {
            match health
                .check(tonic_health::pb::HealthCheckRequest {
                    service: service.into(),
                })
                .await
            {
                Ok(r) if r.get_ref().status == 1 => {
                    serving = true;
                    break;
                }
                Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(e) => return Err(format!("{e:?}")),
            }
        }
        if !serving {
            return Err(format!("the gateway does not see {service} SERVING"));
        }
    }
    if let Ok(r) = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        && r.get_ref().status == 1
    {
        return Ok(channel);
    }
    Err("the gateway did not become SERVING".into())
}

fn with_token<T>(message: T, token: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request
}

/// Passes bytes through unchanged: an empty message is valid for any method.
#[derive(Debug, Clone, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }
    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        use bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        use bytes::Buf;
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

/// Calls `method` with an empty message; the status code (OK when the call
/// or the stream's first message succeeds).
async fn call(
    channel: &Channel,
    method: &str,
    streaming_in: bool,
    streaming_out: bool,
    token: Option<&str>,
) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::try_from(format!("/{method}")).unwrap();
    let outcome = match (streaming_in, streaming_out) {
        (false, false) => grpc
            .unary(with_token(Vec::new(), token), path, RawCodec)
            .await
            .map(|_| ()),
        (false, true) => match grpc
            .server_streaming(with_token(Vec::new(), token), path, RawCodec)
            .await
        {
            Ok(response) => response.into_inner().message().await.map(|_| ()),
            Err(status) => Err(status),
        },
        (true, false) => grpc
            .client_streaming(
                with_token(tokio_stream::iter(Vec::<Vec<u8>>::new()), token),
                path,
                RawCodec,
            )
            .await
            .map(|_| ()),
        (true, true) => Ok(()),
    };
    match outcome {
        Ok(()) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// What a reader may call, by method name, written out independently of
/// the table's patterns.
fn reader_may(name: &str) -> bool {
    [
        "Get",
        "List",
        "Search",
        "Summarize",
        "Export",
        "Download",
        "Render",
        "Compare",
    ]
    .iter()
    .any(|p| name.starts_with(p))
        || name == "StreamChanges"
}

fn reviewer_may(full: &str) -> bool {
    full == "innolab.impact.v1.ImpactService/ReviewAssessment"
        || full == "innolab.initiatives.v1.InitiativesService/ScreenSubmission"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_is_closed_to_every_role_that_was_not_granted_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), "organizations/editor-org");
    let suite = Suite::start_with(&Backend::Sqlite, security_of(&s.vars).unwrap()).await;
    let (cert, key) = s.ca.sign(&[], &["xroad:RO/GOV/0/anyone"]);
    let channel = connect(&suite, &s.ca.pem, Some((cert, key))).await.unwrap();
    // The certificate's client is not in the table; tokens name the roles below
    // (a token is only read when no certificate is presented).
    let token_channel = connect(&suite, &s.ca.pem, None).await.unwrap();
    let tokens: Vec<(&str, Option<String>)> = vec![
        ("no identity", None),
        ("admin", Some(s.signer.token("k1", ADMIN, "innolab", 300))),
        ("reader", Some(s.signer.token("k1", READER, "innolab", 300))),
        (
            "reviewer",
            Some(s.signer.token("k1", REVIEWER, "innolab", 300)),
        ),
        (
            "member editor",
            Some(s.signer.token("k1", EDITOR, "innolab", 300)),
        ),
        (
            "unlisted",
            Some(s.signer.token("k1", UNLISTED, "innolab", 300)),
        ),
    ];

    let pool = DescriptorPool::decode(innolab_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut methods = 0;
    for service in pool
        .services()
        .filter(|s| s.full_name().starts_with("innolab."))
    {
        for method in service.methods() {
            methods += 1;
            let full = format!("{}/{}", service.full_name(), method.name());
            let (cin, cout) = (method.is_client_streaming(), method.is_server_streaming());
            for (who, token) in &tokens {
                let code = call(&token_channel, &full, cin, cout, token.as_deref()).await;
                let denied = matches!(code, Code::PermissionDenied | Code::Unauthenticated);
                let expected_denied = match *who {
                    "no identity" => {
                        assert_eq!(code, Code::Unauthenticated, "{who} {full}");
                        true
                    }
                    "admin" => false,
                    "reader" => !reader_may(method.name()),
                    "reviewer" => !reviewer_may(&full),
                    // Empty requests name no organisation of the editor's: every
                    // write is refused by the ownership check, and nothing else
                    // is granted to the role.
                    "member editor" => true,
                    _ => true,
                };
                assert_eq!(denied, expected_denied, "{who} calling {full}: {code:?}");
            }
            // A certificate of a client the table does not list.
            let code = call(&channel, &full, cin, cout, None).await;
            assert_eq!(
                code,
                Code::PermissionDenied,
                "unlisted certificate calling {full}"
            );
        }
    }
    assert!(methods > 80, "only {methods} methods found");
    suite.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_and_tokens_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = setup(dir.path(), "organizations/editor-org");
    let probe_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    s.vars.insert(
        "INNOLAB_PROBE_ADDR".into(),
        format!("127.0.0.1:{probe_port}"),
    );
    let suite = Suite::start_with(&Backend::Sqlite, security_of(&s.vars).unwrap()).await;
    // Kubernetes probes cannot speak TLS: health alone answers in plaintext
    // on the probe port, and nothing else does.
    let probe = Channel::from_shared(format!("http://127.0.0.1:{probe_port}"))
        .unwrap()
        .connect_lazy();
    let mut health = tonic_health::pb::health_client::HealthClient::new(probe.clone());
    let mut serving = false;
    for _ in 0..200 {
        let status = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .await
            .map(|r| r.into_inner().status);
        if status.ok() == Some(1) {
            serving = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(serving, "the probe port reports readiness");
    let status = mb::membership_service_client::MembershipServiceClient::new(probe)
        .list_organizations(mb::ListOrganizationsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::Unimplemented,
        "the probe port serves health only"
    );
    let list = |token: Option<String>| {
        with_token(mb::ListOrganizationsRequest::default(), token.as_deref())
    };

    // A reader's certificate (SAN URI xroad:...): reads pass, writes do not.
    let (cert, key) = s.ca.sign(&[], &[&format!("xroad:{READER}")]);
    let channel = connect(&suite, &s.ca.pem, Some((cert, key))).await.unwrap();
    let mut client = mb::membership_service_client::MembershipServiceClient::new(channel);
    client.list_organizations(list(None)).await.unwrap();
    let status = client
        .create_organization(mb::CreateOrganizationRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    // A certificate from a CA the gateway does not trust: no call gets through.
    let stranger = Ca::new("someone else's CA");
    let (cert, key) = stranger.sign(&[], &[&format!("xroad:{ADMIN}")]);
    match connect(&suite, &s.ca.pem, Some((cert, key))).await {
        Err(_) => {}
        Ok(channel) => {
            let outcome = mb::membership_service_client::MembershipServiceClient::new(channel)
                .list_organizations(list(None))
                .await;
            assert!(
                outcome.is_err(),
                "a certificate of an unknown CA was accepted"
            );
        }
    }

    // Tokens: valid, expired, wrong audience, signed by a key it does not
    // trust, not yet valid, issued in the future, without an expiry.
    let channel = connect(&suite, &s.ca.pem, None).await.unwrap();
    let mut client = mb::membership_service_client::MembershipServiceClient::new(channel);
    let valid = s.signer.token("k1", READER, "innolab", 300);
    client.list_organizations(list(Some(valid))).await.unwrap();
    // Within the configured leeway (5 s) for clock skew, times are accepted.
    let skewed = s.signer.token_with(
        "k1",
        READER,
        "innolab",
        |now| serde_json::json!({"iat": now + 2, "nbf": now + 2, "exp": now + 300}),
    );
    client.list_organizations(list(Some(skewed))).await.unwrap();
    let impostor = Signer::new("k1");
    for (why, token) in [
        ("expired", s.signer.token("k1", READER, "innolab", -60)),
        (
            "wrong audience",
            s.signer.token("k1", READER, "another-api", 300),
        ),
        ("wrong key", impostor.token("k1", READER, "innolab", 300)),
        (
            "unknown key id",
            s.signer.token("k9", READER, "innolab", 300),
        ),
        ("not a token", "not-a-jwt".into()),
        (
            "not valid for an hour (nbf)",
            s.signer.token_with(
                "k1",
                READER,
                "innolab",
                |now| serde_json::json!({"iat": now, "nbf": now + 3600, "exp": now + 7200}),
            ),
        ),
        (
            "issued an hour from now (iat)",
            s.signer.token_with(
                "k1",
                READER,
                "innolab",
                |now| serde_json::json!({"iat": now + 3600, "exp": now + 7200}),
            ),
        ),
        (
            "no expiry (exp)",
            s.signer.token_with(
                "k1",
                READER,
                "innolab",
                |now| serde_json::json!({"iat": now}),
            ),
        ),
    ] {
        let status = client
            .list_organizations(list(Some(token)))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{why}: {status:?}");
    }
    let status = client.list_organizations(list(None)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    // x-user-id and x-issue never grant anything.
    let mut request = list(None);
    request
        .metadata_mut()
        .insert("x-user-id", "admin".parse().unwrap());
    request
        .metadata_mut()
        .insert("x-issue", "CASE-1".parse().unwrap());
    let status = client.list_organizations(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    suite.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_editor_writes_only_its_own_organisations_records() {
    // Organisations and another organisation's initiative are stored directly
    // at the services; then the gateway starts with a table that makes the
    // editor a member of `own`.
    let mut suite = Suite::start_services(&Backend::Sqlite).await;
    let mut members = mb::membership_service_client::MembershipServiceClient::new(
        suite.membership.channel().await,
    );
    let mut direct = ini::initiatives_service_client::InitiativesServiceClient::new(
        suite.initiatives.channel().await,
    );
    let own = organization(&mut members, "Primăria Cluj", "RO").await;
    let other = organization(&mut members, "Primăria Iași", "RO").await;
    let initiative = |lead: &str| ini::Initiative {
        titles: vec![ini::LocalizedText {
            language_code: "ro".into(),
            text: "Autorizații digitale".into(),
        }],
        lead_organization: lead.into(),
        country_code: "RO".into(),
        ..Default::default()
    };
    let theirs = direct
        .create_initiative(ini::CreateInitiativeRequest {
            initiative: Some(initiative(&other)),
            actor: "admin".into(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();

    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), &own);
    suite.start_gateway(security_of(&s.vars).unwrap()).await;
    let channel = connect(&suite, &s.ca.pem, None).await.unwrap();
    let editor = s.signer.token("k1", EDITOR, "innolab", 300);
    let mut library = ini::initiatives_service_client::InitiativesServiceClient::new(channel);
    let create = |lead: &str| {
        with_token(
            ini::CreateInitiativeRequest {
                initiative: Some(initiative(lead)),
                actor: "editor".into(),
                request_id: String::new(),
            },
            Some(&editor),
        )
    };

    // Its own organisation's initiative: created and moved.
    let mine = library
        .create_initiative(create(&own))
        .await
        .unwrap()
        .into_inner();
    library
        .move_initiative_stage(with_token(
            ini::MoveInitiativeStageRequest {
                name: mine.name.clone(),
                stage: ini::InitiativeStage::GeneratingIdeas as i32,
                actor: "editor".into(),
                ..Default::default()
            },
            Some(&editor),
        ))
        .await
        .unwrap();

    // Another organisation's: refused, whether it exists or is guessed.
    let denied = |outcome: Result<tonic::Response<ini::Initiative>, Status>, what: &str| {
        let status = outcome.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{what}: {status:?}");
        status.message().to_string()
    };
    denied(
        library.create_initiative(create(&other)).await,
        "create for another organisation",
    );
    let update = |name: &str, lead: &str| {
        let mut record = initiative(lead);
        record.name = name.into();
        with_token(
            ini::UpdateInitiativeRequest {
                initiative: Some(record),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["titles".into()],
                }),
            },
            Some(&editor),
        )
    };
    let timed = std::time::Instant::now();
    let existing = denied(
        library.update_initiative(update(&theirs.name, &own)).await,
        "update of another organisation's initiative",
    );
    let existing_took = timed.elapsed();
    let timed = std::time::Instant::now();
    let guessed = denied(
        library
            .update_initiative(update("initiatives/0000000000000000", &own))
            .await,
        "update of a guessed id",
    );
    let guessed_took = timed.elapsed();
    // Both wait out the same floor, so their timing does not tell them apart.
    for took in [existing_took, guessed_took] {
        assert!(
            took >= innolab_gateway::security::ownership::DENIAL_FLOOR,
            "a denial answered after {took:?}"
        );
    }
    assert_eq!(
        existing, guessed,
        "a denial does not reveal whether the record exists"
    );
    denied(
        library.update_initiative(update(&mine.name, &other)).await,
        "handing its initiative to another organisation",
    );
    denied(
        library
            .move_initiative_stage(with_token(
                ini::MoveInitiativeStageRequest {
                    name: theirs.name.clone(),
                    stage: ini::InitiativeStage::GeneratingIdeas as i32,
                    actor: "editor".into(),
                    ..Default::default()
                },
                Some(&editor),
            ))
            .await,
        "moving another organisation's initiative",
    );
    // Its own, updated through the same rule.
    library
        .update_initiative(update(&mine.name, &own))
        .await
        .unwrap();
    let stored = direct
        .get_initiative(ini::GetInitiativeRequest {
            name: theirs.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        stored.etag, theirs.etag,
        "the other organisation's record is untouched"
    );
    suite.stop().await;
}

#[test]
fn production_refuses_to_start_without_tls_identity_or_table() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), "organizations/x");
    assert!(security_of(&s.vars).is_ok());
    for (missing, named) in [
        ("INNOLAB_TLS_CERT_FILE", "INNOLAB_TLS_CERT_FILE"),
        ("INNOLAB_ACCESS_FILE", "INNOLAB_ACCESS_FILE"),
        ("INNOLAB_AUDIT_DATABASE_URL", "INNOLAB_AUDIT_DATABASE_URL"),
    ] {
        let mut vars = s.vars.clone();
        vars.remove(missing);
        let error = security_of(&vars).unwrap_err();
        assert!(error.contains(named), "{error}");
    }
    let mut vars = s.vars.clone();
    vars.remove("INNOLAB_TLS_CLIENT_CA_FILE");
    vars.remove("INNOLAB_JWT_JWKS_FILE");
    assert!(
        security_of(&vars)
            .unwrap_err()
            .contains("INNOLAB_TLS_CLIENT_CA_FILE")
    );
    // The audit database URL may come from a file (a mounted Secret), not both.
    let url_file = dir.path().join("audit-url");
    std::fs::write(
        &url_file,
        format!("{}\n", s.vars["INNOLAB_AUDIT_DATABASE_URL"]),
    )
    .unwrap();
    let mut vars = s.vars.clone();
    vars.insert(
        "INNOLAB_AUDIT_DATABASE_URL_FILE".into(),
        url_file.display().to_string(),
    );
    let error = security_of(&vars).unwrap_err();
    assert!(error.contains("not both"), "{error}");
    vars.remove("INNOLAB_AUDIT_DATABASE_URL");
    assert!(security_of(&vars).is_ok());
    // Development runs without any of it (and says so in its log).
    let development = security_of(&HashMap::new()).unwrap();
    assert!(!development.guard.enforcing() && development.tls.is_none());
    let mut vars = HashMap::new();
    vars.insert("INNOLAB_ENVIRONMENT".to_string(), "staging".to_string());
    assert!(
        security_of(&vars)
            .unwrap_err()
            .contains("INNOLAB_ENVIRONMENT")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_answer_resource_exhausted_with_retry_info() {
    let vars = HashMap::from([
        ("INNOLAB_RATE_LIMIT_PER_SECOND".to_string(), "5".to_string()),
        ("INNOLAB_RATE_LIMIT_BURST".into(), "5".into()),
        ("INNOLAB_MAX_MESSAGE_BYTES".into(), "1024".into()),
    ]);
    let suite = Suite::start_with(&Backend::Sqlite, security_of(&vars).unwrap()).await;
    let client = mb::membership_service_client::MembershipServiceClient::new(suite.channel().await);

    // A burst of 20 calls from one client: the first 5 pass (NOT_FOUND: no such
    // record), the rest are refused with a time to retry.
    let calls = (0..20).map(|i| {
        let mut client = client.clone();
        async move {
            client
                .get_organization(mb::GetOrganizationRequest {
                    name: format!("organizations/none-{i}"),
                })
                .await
                .unwrap_err()
        }
    });
    let statuses = futures_util::future::join_all(calls).await;
    let exhausted: Vec<&Status> = statuses
        .iter()
        .filter(|s| s.code() == Code::ResourceExhausted)
        .collect();
    let passed = statuses
        .iter()
        .filter(|s| s.code() == Code::NotFound)
        .count();
    assert!((5..20).contains(&passed), "{passed} passed");
    assert_eq!(exhausted.len() + passed, 20);
    let retry = exhausted[0].get_details_retry_info().expect("RetryInfo");
    assert!(retry.retry_delay.is_some());

    // JSON callers get the refusal as JSON: HTTP 429 with the gRPC code.
    let (status, body) = innolab_tests::http_post(
        suite.gateway,
        "/innolab.membership.v1.MembershipService/GetOrganization",
        r#"{"name": "organizations/none"}"#,
    )
    .await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("resource_exhausted"), "{body}");

    // A message over the size limit is refused, and nothing is stored.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut client = client.clone();
    let status = client
        .create_organization(mb::CreateOrganizationRequest {
            organization: Some(mb::Organization {
                display_names: vec![mb::LocalizedText {
                    language_code: "ro".into(),
                    text: "x".repeat(2000),
                }],
                kind: mb::OrganizationKind::Government as i32,
                country_code: "RO".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("1024"), "{}", status.message());
    let mut direct = mb::membership_service_client::MembershipServiceClient::new(
        suite.membership.channel().await,
    );
    let stored = direct
        .list_organizations(mb::ListOrganizationsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .organizations;
    assert!(stored.is_empty());
    suite.stop().await;
}

async fn the_audit_log_chains_every_write_and_denial_and_verify_detects_an_edit(backend: Backend) {
    use prost::Message as _;
    use sha2::Digest as _;

    let dir = tempfile::tempdir().unwrap();
    let mut s = setup(dir.path(), "organizations/editor-org");
    // The audit log on the backend under test (a schema of its own on PostgreSQL).
    let schema = format!("test_audit_{}", uuid::Uuid::now_v7().simple());
    let (audit_url, table) = match &backend {
        Backend::Postgres(url) => {
            s.vars
                .insert("INNOLAB_AUDIT_DATABASE_URL".into(), url.clone());
            s.vars
                .insert("INNOLAB_AUDIT_DATABASE_SCHEMA".into(), schema.clone());
            (url.clone(), format!("\"{schema}\".audit_log"))
        }
        Backend::Sqlite => (
            s.vars["INNOLAB_AUDIT_DATABASE_URL"].clone(),
            "audit_log".to_string(),
        ),
    };
    let suite = Suite::start_with(&backend, security_of(&s.vars).unwrap()).await;
    let channel = connect(&suite, &s.ca.pem, None).await.unwrap();
    let mut members = mb::membership_service_client::MembershipServiceClient::new(channel.clone());
    let mut gateway =
        innolab_proto::innolab::gateway::v1::gateway_service_client::GatewayServiceClient::new(
            channel,
        );
    let admin = s.signer.token("k1", ADMIN, "innolab", 300);
    let reader = s.signer.token("k1", READER, "innolab", 300);

    // 1. A write that succeeds, naming an end user and a case.
    let create = mb::CreateOrganizationRequest {
        organization: Some(mb::Organization {
            display_names: vec![mb::LocalizedText {
                language_code: "ro".into(),
                text: "Primăria Brașov".into(),
            }],
            kind: mb::OrganizationKind::Government as i32,
            country_code: "RO".into(),
            ..Default::default()
        }),
        request_id: "audit-1".into(),
    };
    let mut request = with_token(create.clone(), Some(&admin));
    for (name, value) in [
        ("x-user-id", "ana.popescu"),
        ("x-issue", "CASE-7"),
        ("x-request-id", "req-1"),
    ] {
        request.metadata_mut().insert(name, value.parse().unwrap());
    }
    let created = members
        .create_organization(request)
        .await
        .unwrap()
        .into_inner();
    // 2. A write that is denied, 3. a read (not recorded), 4. a read without identity.
    let status = members
        .create_organization(with_token(create.clone(), Some(&reader)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    members
        .list_organizations(with_token(
            mb::ListOrganizationsRequest::default(),
            Some(&reader),
        ))
        .await
        .unwrap();
    members
        .list_organizations(with_token(mb::ListOrganizationsRequest::default(), None))
        .await
        .unwrap_err();
    // 5. A write that fails validation.
    let mut bad = create.clone();
    bad.organization.as_mut().unwrap().country_code = "XX".into();
    bad.request_id = String::new();
    members
        .create_organization(with_token(bad, Some(&admin)))
        .await
        .unwrap_err();

    // Entries are appended by one writer: wait for all four.
    let list = |token: &str| {
        with_token(
            innolab_proto::innolab::gateway::v1::ListAuditEntriesRequest::default(),
            Some(token),
        )
    };
    let mut entries = Vec::new();
    for _ in 0..100 {
        entries = gateway
            .list_audit_entries(list(&admin))
            .await
            .unwrap()
            .into_inner()
            .entries;
        if entries.len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let summary: Vec<(String, String, String)> = entries
        .iter()
        .map(|e| {
            (
                e.client_id.clone(),
                e.method.rsplit('/').next().unwrap().to_string(),
                e.outcome.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                ADMIN.to_string(),
                "CreateOrganization".to_string(),
                "OK".to_string()
            ),
            (
                READER.into(),
                "CreateOrganization".into(),
                "PERMISSION_DENIED".into()
            ),
            (
                String::new(),
                "ListOrganizations".into(),
                "UNAUTHENTICATED".into()
            ),
            (
                ADMIN.into(),
                "CreateOrganization".into(),
                "INVALID_ARGUMENT".into()
            ),
        ]
    );
    let first = &entries[0];
    assert_eq!(first.resource, created.name, "a create names what it made");
    assert_eq!(
        (
            first.user_id.as_str(),
            first.issue.as_str(),
            first.request_id.as_str()
        ),
        ("ana.popescu", "CASE-7", "req-1")
    );
    // The request hash is of the bytes received: the gRPC frame of the message.
    let body = create.encode_to_vec();
    let mut frame = vec![0u8];
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(first.request_sha256, hex(&sha2::Sha256::digest(&frame)));
    assert_eq!(first.previous_hash, "0".repeat(64));
    for pair in entries.windows(2) {
        assert_eq!(
            pair[1].previous_hash, pair[0].hash,
            "each entry chains the one before"
        );
        assert_eq!(pair[1].sequence, pair[0].sequence + 1);
    }

    // A reader sees only its own entries.
    let own = gateway
        .list_audit_entries(list(&reader))
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert!(
        !own.is_empty() && own.iter().all(|e| e.client_id == READER),
        "{own:?}"
    );

    // The chain verifies; the table refuses edits; an edit made behind its
    // back (trigger dropped) is detected.
    let store_schema = if matches!(backend, Backend::Postgres(_)) {
        schema.as_str()
    } else {
        "audit"
    };
    let settings = innolab_kit::config::DatabaseSettings::new(&audit_url, store_schema, 2).unwrap();
    let store = innolab_gateway::audit::open(&settings).await.unwrap();
    assert_eq!(
        innolab_gateway::audit::verify(&store, &Default::default())
            .await
            .unwrap(),
        None
    );
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&audit_url).await.unwrap();
    let edit = format!("UPDATE {table} SET outcome = 'OK' WHERE sequence = 2");
    let refused = sqlx::query(&edit).execute(&pool).await;
    assert!(refused.is_err(), "the audit table is append-only");
    let emptied = match backend {
        Backend::Postgres(_) => {
            sqlx::query(&format!("TRUNCATE {table}"))
                .execute(&pool)
                .await
        }
        // SQLite has no TRUNCATE: an unqualified DELETE is its form of it.
        Backend::Sqlite => {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&pool)
                .await
        }
    };
    assert!(emptied.is_err(), "the audit table refuses to be emptied");
    assert_eq!(
        innolab_gateway::audit::verify(&store, &Default::default())
            .await
            .unwrap(),
        None
    );
    let drop_trigger = match backend {
        Backend::Postgres(_) => format!("DROP TRIGGER audit_log_append_only ON {table}"),
        Backend::Sqlite => "DROP TRIGGER audit_log_no_update".to_string(),
    };
    sqlx::query(&drop_trigger).execute(&pool).await.unwrap();
    sqlx::query(&edit).execute(&pool).await.unwrap();
    let broken = innolab_gateway::audit::verify(&store, &Default::default())
        .await
        .unwrap();
    assert_eq!(
        broken.map(|(sequence, _)| sequence),
        Some(2),
        "the edited entry is found"
    );
    if matches!(backend, Backend::Postgres(_)) {
        sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    suite.stop().await;
}

innolab_tests::on_both_backends!(
    the_audit_log_chains_every_write_and_denial_and_verify_detects_an_edit,
    signed_checkpoints_detect_what_the_chain_alone_cannot,
);

/// Signed checkpoints anchor the chain outside the database: with them,
/// `verify` detects the newest entries deleted, a chain rewritten with
/// recomputed hashes, an emptied table and a forged checkpoint.
async fn signed_checkpoints_detect_what_the_chain_alone_cannot(backend: Backend) {
    use innolab_gateway::audit::{self, Evidence, checkpoint};

    let dir = tempfile::tempdir().unwrap();
    let mut s = setup(dir.path(), "organizations/editor-org");
    let schema = format!("test_audit_{}", uuid::Uuid::now_v7().simple());
    let (audit_url, store_schema, prefix) = match &backend {
        Backend::Postgres(url) => {
            s.vars
                .insert("INNOLAB_AUDIT_DATABASE_URL".into(), url.clone());
            s.vars
                .insert("INNOLAB_AUDIT_DATABASE_SCHEMA".into(), schema.clone());
            (url.clone(), schema.clone(), format!("\"{schema}\"."))
        }
        Backend::Sqlite => (
            s.vars["INNOLAB_AUDIT_DATABASE_URL"].clone(),
            "audit".to_string(),
            String::new(),
        ),
    };
    // The key an operator makes with `openssl genpkey -algorithm ed25519`.
    let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let key_file = dir.path().join("audit-signing.pem");
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    let outside = dir.path().join("checkpoints.jsonl");
    for (name, value) in [
        (
            "INNOLAB_AUDIT_SIGNING_KEY_FILE",
            key_file.display().to_string(),
        ),
        (
            "INNOLAB_AUDIT_CHECKPOINT_FILE",
            outside.display().to_string(),
        ),
        ("INNOLAB_AUDIT_CHECKPOINT_EVERY", "2".into()),
        ("INNOLAB_AUDIT_CHECKPOINT_SECONDS", "2".into()),
    ] {
        s.vars.insert(name.into(), value);
    }
    let suite = Suite::start_with(&backend, security_of(&s.vars).unwrap()).await;
    let channel = connect(&suite, &s.ca.pem, None).await.unwrap();
    let mut members = mb::membership_service_client::MembershipServiceClient::new(channel);
    let admin = s.signer.token("k1", ADMIN, "innolab", 300);
    for n in 0..3 {
        let create = mb::CreateOrganizationRequest {
            organization: Some(mb::Organization {
                display_names: vec![mb::LocalizedText {
                    language_code: "ro".into(),
                    text: format!("Primăria {n}"),
                }],
                kind: mb::OrganizationKind::Government as i32,
                country_code: "RO".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        };
        members
            .create_organization(with_token(create, Some(&admin)))
            .await
            .unwrap();
    }
    // Entry 2 is signed for the count, entry 3 by the timer two seconds later.
    let mut signed = Vec::new();
    for _ in 0..100 {
        signed = checkpoint::read_file(&outside).unwrap_or_default();
        if signed.iter().any(|c| c.sequence == 3) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // (On a slow machine the timer may also sign entry 1 first.)
    let sequences: Vec<i64> = signed.iter().map(|c| c.sequence).collect();
    assert!(
        sequences.ends_with(&[2, 3]) && sequences.iter().all(|s| (1..=3).contains(s)),
        "{signed:?}"
    );
    suite.stop().await;

    let settings =
        innolab_kit::config::DatabaseSettings::new(&audit_url, &store_schema, 2).unwrap();
    let store = audit::open(&settings).await.unwrap();
    assert_eq!(
        store.checkpoints().await.unwrap(),
        signed,
        "kept in the database too"
    );
    let evidence = Evidence {
        key: Some(checkpoint::verifying_key(&key_file).unwrap()),
        outside: signed.clone(),
    };
    assert_eq!(audit::verify(&store, &evidence).await.unwrap(), None);

    // Behind the table's back (its triggers dropped), as an intruder would.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&audit_url).await.unwrap();
    let run = |sql: String| {
        let pool = pool.clone();
        async move { sqlx::query(&sql).execute(&pool).await.unwrap() }
    };
    match backend {
        Backend::Postgres(_) => {
            run(format!(
                "DROP TRIGGER audit_log_append_only ON {prefix}audit_log"
            ))
            .await;
            run(format!(
                "DROP TRIGGER audit_log_no_truncate ON {prefix}audit_log"
            ))
            .await;
            run(format!(
                "DROP TRIGGER audit_checkpoint_append_only ON {prefix}audit_checkpoint"
            ))
            .await;
        }
        Backend::Sqlite => {
            for trigger in [
                "audit_log_no_update",
                "audit_log_no_delete",
                "audit_checkpoint_no_delete",
            ] {
                run(format!("DROP TRIGGER {trigger}")).await;
            }
        }
    }
    let verdict = || async { audit::verify(&store, &evidence).await.unwrap() };

    // 1. The newest entry deleted: the log ends before its checkpoint.
    run(format!("DELETE FROM {prefix}audit_log WHERE sequence = 3")).await;
    let (at, why) = verdict().await.unwrap();
    assert_eq!(at, 3, "{why}");
    assert!(why.contains("gone"), "{why}");

    // 2. The chain rewritten from entry 1 on, every hash recomputed: entry 2
    //    no longer has the hash its checkpoint signed.
    let mut previous = audit::GENESIS.to_string();
    for mut entry in store.list(0, 10, None).await.unwrap() {
        if entry.sequence == 1 {
            entry.outcome = "PERMISSION_DENIED".into();
        }
        entry.previous_hash = previous;
        entry.hash = entry.chain_hash();
        run(format!(
            "UPDATE {prefix}audit_log SET outcome = '{}', previous_hash = '{}', hash = '{}' \
             WHERE sequence = {}",
            entry.outcome, entry.previous_hash, entry.hash, entry.sequence
        ))
        .await;
        previous = entry.hash;
    }
    let without_anchor = Evidence::default();
    let (at, why) = verdict().await.unwrap();
    assert!(at <= 2, "{at}: {why}");
    assert!(why.contains("rewritten"), "{why}");

    // 3. A forged checkpoint over the rewritten head (signed by another key).
    let forger = audit::Signing::new(
        ed25519_dalek::SigningKey::from_bytes(&[9; 32]),
        1,
        Duration::from_secs(1),
        None,
    );
    let head = store.list(1, 1, None).await.unwrap().remove(0);
    store.add_checkpoint(&forger.sign(&head)).await.unwrap();
    let (_, why) = verdict().await.unwrap();
    assert!(why.contains("not genuine"), "{why}");

    // 4. Both tables emptied: only the checkpoints outside the database remain,
    //    and they say the log had three entries.
    run(format!("DELETE FROM {prefix}audit_log")).await;
    run(format!("DELETE FROM {prefix}audit_checkpoint")).await;
    assert_eq!(
        audit::verify(&store, &without_anchor).await.unwrap(),
        None,
        "without an outside anchor an emptied log looks intact"
    );
    let (at, why) = verdict().await.unwrap();
    assert_eq!(at, 1, "{why}");
    assert!(why.contains("entries 1 to 3 are gone"), "{why}");

    if matches!(backend, Backend::Postgres(_)) {
        run(format!("DROP SCHEMA \"{schema}\" CASCADE")).await;
    }
    pool.close().await;
}
