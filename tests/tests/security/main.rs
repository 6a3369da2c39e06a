//! Gateway security over real TLS and real services: who is calling (client
//! certificates, bearer tokens), deny by default for every method of the
//! suite and every role, ownership checked against the data, and a
//! production configuration that refuses to start without TLS. Certificates
//! and keys are generated here, never committed.
//!
//! The checks of certificates and tokens are here, with what every module
//! uses; the authorisation matrix (every method x every role, over gRPC in
//! `matrix.rs` and every other protocol in `protocols.rs`), ownership,
//! configuration and limits, the audit log and its end-user hashes have
//! modules of their own.

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
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, PKCS_ECDSA_P256_SHA256,
    SanType,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;

mod adoptions;
mod audit;
mod configuration;
mod erasure;
mod matrix;
mod ownership;
mod protocols;
mod subscriptions;
mod user_hash;

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
const SUBSCRIBER: &str = "FI/GOV/444/ministry-sync";

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
         [[clients]]\nid = \"{EDITOR}\"\norganization = \"{editor_org}\"\nroles = [\"member_editor\"]\n\
         [[clients]]\nid = \"{SUBSCRIBER}\"\nroles = [\"subscriber\"]\n"
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
        // The audit keys an operator makes with `openssl genpkey -algorithm
        // ed25519` and `openssl rand 32`.
        (
            "INNOLAB_AUDIT_SIGNING_KEY_FILE".into(),
            write("audit-signing.pem", &audit_signing_key().serialize_pem()),
        ),
        (
            "INNOLAB_AUDIT_USER_KEY_FILE".into(),
            write_bytes(dir, "audit-user.key", &USER_KEY),
        ),
        // Webhook subscriptions in their own embedded database.
        (
            "INNOLAB_SUBSCRIPTIONS_DATABASE_URL".into(),
            format!("sqlite://{}/subscriptions.db", dir.display()),
        ),
    ]);
    Setup { ca, signer, vars }
}

/// The audit user key of [`setup`]: 32 bytes, as `openssl rand 32` makes.
const USER_KEY: [u8; 32] = *b"innolab test audit user key 32b!";

/// A fresh Ed25519 key, PKCS#8 PEM as `openssl genpkey` writes it.
fn audit_signing_key() -> KeyPair {
    KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap()
}

/// Writes `bytes` to `name` in `dir`; its path.
fn write_bytes(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
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
        // The gateway opens (and migrates) its audit log before it accepts:
        // on a busy machine that can take a while. A refused certificate
        // still fails at once.
        .connect_timeout(Duration::from_secs(30))
        .connect()
        .await
        .map_err(|e| format!("{e:?}"))?;
    // Health is open to everyone: wait until the gateway sees its services,
    // then until it is SERVING itself (its audit database answers).
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    for service in innolab_tests::UPSTREAMS.into_iter().chain([""]) {
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
            return Err(format!("the gateway does not report {service:?} SERVING"));
        }
    }
    Ok(channel)
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
