//! The outgoing POST of a webhook: HTTP/1.1 over rustls, one connection per
//! delivery, to an address checked against the SSRF rules after
//! resolution (so a public name that resolves to a private address is
//! refused too). Redirects are not followed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;

/// Whether an address is one a webhook may be sent to: not loopback,
/// private, link-local (cloud metadata), shared (CGNAT), unspecified,
/// multicast, broadcast or documentation space; IPv4-mapped IPv6 addresses
/// are judged as the IPv4 address.
pub fn allowed(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return allowed(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// Posts webhooks.
#[derive(Clone)]
pub struct Client {
    tls: TlsConnector,
    timeout: Duration,
    allow_private: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("timeout", &self.timeout)
            .field("allow_private", &self.allow_private)
            .finish_non_exhaustive()
    }
}

/// The answer to one POST: the status, or why there was none.
pub type Answer = Result<u16, String>;

impl Client {
    /// A client trusting the public web roots and `extra_roots_pem`.
    pub fn new(settings: &super::Settings) -> anyhow::Result<Client> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject as _;
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(pem) = &settings.extra_roots_pem {
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                roots
                    .add(cert.map_err(|e| anyhow::anyhow!("INNOLAB_WEBHOOK_CA_FILE: {e}"))?)
                    .map_err(|e| anyhow::anyhow!("INNOLAB_WEBHOOK_CA_FILE: {e}"))?;
            }
        }
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Client {
            tls: TlsConnector::from(Arc::new(config)),
            timeout: settings.timeout,
            allow_private: settings.allow_private,
        })
    }

    /// POSTs `body` with `headers` to `endpoint`, within the timeout.
    pub async fn post(&self, endpoint: &str, headers: &[(&str, String)], body: Bytes) -> Answer {
        match tokio::time::timeout(self.timeout, self.post_inner(endpoint, headers, body)).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer within {} ms", self.timeout.as_millis())),
        }
    }

    async fn post_inner(&self, endpoint: &str, headers: &[(&str, String)], body: Bytes) -> Answer {
        super::check_endpoint(endpoint, self.allow_private)?;
        let url = url::Url::parse(endpoint).map_err(|e| e.to_string())?;
        let host = url.host_str().ok_or("no host")?.to_string();
        let port = url.port_or_known_default().ok_or("no port")?;
        let bare = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let addresses: Vec<SocketAddr> = tokio::net::lookup_host((bare.as_str(), port))
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect();
        let candidates: Vec<SocketAddr> = addresses
            .into_iter()
            .filter(|a| self.allow_private || allowed(a.ip()))
            .collect();
        if candidates.is_empty() {
            return Err(format!(
                "{host} resolves to no public address (private, loopback and link-local \
                 addresses are refused)"
            ));
        }
        // The first address that accepts, in the resolver's order.
        let mut failures = Vec::new();
        let mut connected = None;
        for address in candidates {
            match tokio::net::TcpStream::connect(address).await {
                Ok(tcp) => {
                    connected = Some(tcp);
                    break;
                }
                Err(e) => failures.push(format!("{address}: {e}")),
            }
        }
        let Some(tcp) = connected else {
            return Err(format!("cannot connect: {}", failures.join("; ")));
        };
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let mut request = http::Request::post(path)
            .header(http::header::HOST, authority)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, "innolab-gateway-webhooks/1");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request.body(Full::new(body)).map_err(|e| e.to_string())?;
        if url.scheme() == "https" {
            let name = rustls::pki_types::ServerName::try_from(bare)
                .map_err(|e| format!("bad host name: {e}"))?;
            let tls = self
                .tls
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            send(TokioIo::new(tls), request).await
        } else {
            send(TokioIo::new(tcp), request).await
        }
    }
}

async fn send<T>(io: T, request: http::Request<Full<Bytes>>) -> Answer
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    let driver = tokio::spawn(connection);
    let answer = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
        let status = response.status().as_u16();
        // Read (and drop) what the endpoint says, so the exchange ends
        // cleanly; its content is not kept.
        let _ = http_body_util::Limited::new(response.into_body(), 64 * 1024)
            .collect()
            .await;
        Ok(status)
    }
    .await;
    driver.abort();
    answer
}
