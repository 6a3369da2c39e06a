//! A webhook receiver over real HTTPS (rustls, a certificate for
//! `localhost` signed by a CA made here), as a ministry system would run
//! one: it checks every message's Standard Webhooks signature itself (its
//! own HMAC, not the gateway's code) and can be told to fail for a while.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// One message as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: i64,
    /// `webhook-signature`, as sent.
    pub signature: String,
    /// The JSON body.
    pub body: serde_json::Value,
    /// The raw body (what was signed).
    pub raw: Vec<u8>,
    /// Whether the receiver accepted it (2xx) or failed it.
    pub accepted: bool,
}

/// The receiver: where it listens, what it got, and whether it fails.
pub struct Receiver {
    /// `https://localhost:<port>/hook`.
    pub endpoint: String,
    /// The CA that signed its certificate (PEM), for the gateway to trust.
    pub ca_pem: String,
    /// Every message, accepted or not, in arrival order.
    pub log: Arc<Mutex<Vec<Received>>>,
    /// While true, every message is answered 503.
    pub failing: Arc<AtomicBool>,
    /// Messages answered so far.
    pub count: Arc<AtomicUsize>,
}

impl Receiver {
    /// Starts one on `127.0.0.1:0`.
    pub async fn start() -> Receiver {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "ministry test CA");
        let ca_pem = ca_params.self_signed(&ca_key).unwrap().pem();
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let failing = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicUsize::new(0));
        let (log2, failing2, count2) = (log.clone(), failing.clone(), count.clone());
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let (log, failing, count) = (log2.clone(), failing2.clone(), count2.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Some((headers, raw)) = read_request(&mut tls).await else {
                        return;
                    };
                    let header = |name: &str| {
                        headers
                            .iter()
                            .find(|(n, _)| n.eq_ignore_ascii_case(name))
                            .map(|(_, v)| v.clone())
                            .unwrap_or_default()
                    };
                    let accepted = !failing.load(Ordering::SeqCst);
                    log.lock().unwrap().push(Received {
                        id: header("webhook-id"),
                        timestamp: header("webhook-timestamp").parse().unwrap_or(0),
                        signature: header("webhook-signature"),
                        body: serde_json::from_slice(&raw).unwrap_or_default(),
                        raw,
                        accepted,
                    });
                    count.fetch_add(1, Ordering::SeqCst);
                    let status = if accepted {
                        "204 No Content"
                    } else {
                        "503 Service Unavailable"
                    };
                    let answer = format!(
                        "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = tls.write_all(answer.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        Receiver {
            endpoint: format!("https://localhost:{port}/hook"),
            ca_pem,
            log,
            failing,
            count,
        }
    }

    /// The messages it accepted, in order.
    pub fn accepted(&self) -> Vec<Received> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.accepted)
            .cloned()
            .collect()
    }
}

/// Reads one HTTP/1.1 request: its headers and body (by content-length).
async fn read_request<S: AsyncReadExt + Unpin>(
    stream: &mut S,
) -> Option<(Vec<(String, String)>, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?;
    assert!(request_line.starts_with("POST /hook "), "{request_line}");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((headers, body))
}

/// Whether `signature` (a `webhook-signature` value) holds a valid `v1`
/// signature of the message under `secret` (`whsec_<base64>`), computed
/// here as the Standard Webhooks specification says.
pub fn verifies(secret: &str, id: &str, timestamp: i64, body: &[u8], signature: &str) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    signature.split(' ').any(|s| s == expected)
}
