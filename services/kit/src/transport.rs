//! The connection side of every server: accepting, TLS, HTTP/1.1 and HTTP/2
//! (hyper-util's automatic builder, the one tonic itself is built on), with
//! the limits a public endpoint needs so that one client cannot hold what
//! everyone shares:
//!
//! - a bounded time for the TLS handshake and for the first request bytes
//!   (the HTTP/2 preface, an HTTP/1.1 request head), so silent connections
//!   are closed instead of held forever;
//! - a limit on connections, overall and per source address, logged when
//!   hit (once per interval, not per connection);
//! - `MAX_CONCURRENT_STREAMS` advertised on every HTTP/2 connection;
//! - accept errors (the file-descriptor limit) back off instead of spinning;
//! - on shutdown, no new connections, GOAWAY on the open ones, and a
//!   bounded wait for their calls.

use std::collections::HashMap;
use std::future::Future as _;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::rustls;

use crate::server::LocalService;

/// What a server admits per connection, and how long it waits for a client
/// to start.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Time for the TLS handshake, then again for the first request bytes.
    pub handshake_timeout: Duration,
    /// Open connections at most, overall.
    pub max_connections: usize,
    /// Open connections at most from one source address.
    pub max_connections_per_source: usize,
    /// Calls in flight at most on one HTTP/2 connection (advertised).
    pub max_concurrent_streams: u32,
    /// Largest request header block accepted.
    pub max_header_list_bytes: u32,
}

impl ConnectionLimits {
    /// For a service, whose one client is the gateway multiplexing every
    /// caller's calls on one connection.
    pub const SERVICE: ConnectionLimits = ConnectionLimits {
        handshake_timeout: Duration::from_secs(10),
        max_connections: 4096,
        max_connections_per_source: 1024,
        max_concurrent_streams: 1024,
        max_header_list_bytes: 64 * 1024,
    };

    /// For the gateway, the public door: many clients (an ingress proxy may
    /// carry all of them from one address).
    pub const GATEWAY: ConnectionLimits = ConnectionLimits {
        handshake_timeout: Duration::from_secs(10),
        max_connections: 8192,
        max_connections_per_source: 1024,
        max_concurrent_streams: 128,
        max_header_list_bytes: 16 * 1024,
    };
}

/// What a request carries about the connection it came on (in its
/// extensions).
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// The client's address.
    pub remote: SocketAddr,
    /// The client's certificate chain, when it presented one over TLS.
    pub peer_certificates: Option<Arc<Vec<rustls::pki_types::CertificateDer<'static>>>>,
}

/// A server's TLS configuration (rustls).
pub type TlsConfig = rustls::ServerConfig;

/// How a server speaks on its listener.
#[derive(Debug, Clone)]
pub struct Transport {
    /// Also answer HTTP/1.1 (JSON clients); gRPC needs HTTP/2.
    pub accept_http1: bool,
    /// Serve over TLS instead of plaintext.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Connection limits and timeouts.
    pub limits: ConnectionLimits,
}

/// A TLS configuration from PEM files' contents: the server's certificate
/// chain and key, and optionally the CA whose client certificates are asked
/// for (required unless `client_auth_optional`). ALPN offers HTTP/2, and
/// HTTP/1.1 when `http1` (so that HTTP/1.1-only clients can connect).
pub fn tls_config(
    cert_pem: &[u8],
    key_pem: &[u8],
    client_ca_pem: Option<&[u8]>,
    client_auth_optional: bool,
    http1: bool,
) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("the certificate is not PEM: {e}"))?;
    if certs.is_empty() {
        anyhow::bail!("the certificate file holds no certificate");
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| anyhow::anyhow!("the key is not a PEM private key: {e}"))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match client_ca_pem {
        Some(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| anyhow::anyhow!("the client CA is not PEM: {e}"))?;
                roots.add(cert)?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            );
            let verifier = if client_auth_optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(verifier.build()?)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    if http1 {
        config.alpn_protocols.push(b"http/1.1".to_vec());
    }
    Ok(Arc::new(config))
}

/// Serves `service` on `listener` until `stop` turns true, then drains the
/// open connections for at most `drain`. Returns whether they all finished.
pub async fn serve(
    listener: TcpListener,
    transport: Transport,
    service: LocalService,
    mut stop: watch::Receiver<bool>,
    drain: Duration,
) -> bool {
    let limits = transport.limits;
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.handshake_timeout)
        .max_buf_size(64 * 1024 + limits.max_header_list_bytes as usize);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_concurrent_streams)
        // A client may cancel every call it has open at once (a dashboard
        // dropping its subscriptions) without being taken for a rapid-reset
        // attack, which h2 answers with GOAWAY for the whole connection.
        .max_pending_accept_reset_streams(limits.max_concurrent_streams as usize)
        .max_header_list_size(limits.max_header_list_bytes)
        .keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(20));
    if !transport.accept_http1 {
        builder = builder.http2_only();
    }
    let builder = Arc::new(builder);
    let tls = transport.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let sources = Sources::default();
    let refusals = Throttle::default();
    let accept_errors = Throttle::default();

    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => break,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, typically: back off rather than spin.
                accept_errors.warn(|suppressed| {
                    tracing::warn!(error = %e, suppressed, "cannot accept connections; backing off")
                });
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refusals.warn(|suppressed| {
                tracing::warn!(
                    limit = limits.max_connections,
                    suppressed,
                    "connection limit reached; refusing new connections"
                )
            });
            continue;
        };
        let Some(source) = sources.take(remote.ip(), limits.max_connections_per_source) else {
            refusals.warn(|suppressed| {
                tracing::warn!(
                    source = %remote.ip(),
                    limit = limits.max_connections_per_source,
                    suppressed,
                    "connection limit per source address reached; refusing its new connections"
                )
            });
            continue;
        };
        let _ = stream.set_nodelay(true);
        let builder = builder.clone();
        let service = service.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _held = (slot, source);
            match tls {
                None => {
                    let info = ConnectionInfo {
                        remote,
                        peer_certificates: None,
                    };
                    connection(&builder, stream, info, service, watcher, limits).await;
                }
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.handshake_timeout, acceptor.accept(stream));
                    let stream = match handshake.await {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(e)) => {
                            tracing::debug!(%remote, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%remote, "TLS handshake timed out");
                            return;
                        }
                    };
                    let peer_certificates = stream.get_ref().1.peer_certificates().map(|certs| {
                        Arc::new(certs.iter().map(|c| c.clone().into_owned()).collect())
                    });
                    let info = ConnectionInfo {
                        remote,
                        peer_certificates,
                    };
                    connection(&builder, stream, info, service, watcher, limits).await;
                }
            }
        });
    }
    drop(listener);
    tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_ok()
}

/// One connection: HTTP/1.1 or HTTP/2 as the client speaks, every request
/// tagged with what is known of the connection.
async fn connection<I>(
    builder: &Builder<TokioExecutor>,
    io: I,
    info: ConnectionInfo,
    service: LocalService,
    watcher: hyper_util::server::graceful::Watcher,
    limits: ConnectionLimits,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let remote = info.remote;
    let hyper_service =
        hyper::service::service_fn(move |mut request: http::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(info.clone());
            let service = service.clone();
            async move {
                let request = request.map(tonic::body::Body::new);
                tower::ServiceExt::oneshot(service, request).await
            }
        });
    let io = TokioIo::new(FirstBytes::new(io, limits.handshake_timeout));
    let served = watcher.watch(
        builder
            .serve_connection_with_upgrades(io, hyper_service)
            .into_owned(),
    );
    if let Err(e) = served.await {
        tracing::debug!(%remote, error = %e, "connection ended with an error");
    }
}

/// The bytes a client must send within the handshake time: the HTTP/2
/// preface is 24 bytes; an HTTP/1.1 request head is longer (hyper's header
/// read timeout covers the rest of it).
const FIRST_BYTES: usize = 24;

/// An IO that fails its reads when the client has not sent its first
/// [`FIRST_BYTES`] within the handshake time.
struct FirstBytes<I> {
    inner: I,
    received: usize,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<I> FirstBytes<I> {
    fn new(inner: I, within: Duration) -> Self {
        FirstBytes {
            inner,
            received: 0,
            deadline: Some(Box::pin(tokio::time::sleep(within))),
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for FirstBytes<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if self.deadline.is_none() {
            return polled;
        }
        if let Poll::Ready(Ok(())) = &polled {
            self.received += buf.filled().len() - before;
            if self.received >= FIRST_BYTES || buf.filled().len() == before {
                self.deadline = None;
            }
            return polled;
        }
        if polled.is_pending()
            && let Some(deadline) = self.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client sent no request within the handshake time",
            )));
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for FirstBytes<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Open connections per source address.
#[derive(Debug, Clone, Default)]
struct Sources(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One connection's place in its source's count, given back when dropped.
struct SourceSlot {
    sources: Sources,
    ip: IpAddr,
}

impl Sources {
    fn take(&self, ip: IpAddr, limit: usize) -> Option<SourceSlot> {
        let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = counts.entry(ip).or_insert(0);
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(SourceSlot {
            sources: self.clone(),
            ip,
        })
    }
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut counts = self.sources.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// Logs at most once per interval, counting what it kept quiet.
#[derive(Debug, Default)]
struct Throttle {
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl Throttle {
    const INTERVAL: Duration = Duration::from_secs(10);

    fn warn(&self, log: impl FnOnce(u64)) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|at| at.elapsed() < Self::INTERVAL) {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        *last = Some(Instant::now());
        log(self.suppressed.swap(0, Ordering::Relaxed));
    }
}
