//! Calls to another service, spread over every replica of it.
//!
//! gRPC over a Kubernetes ClusterIP Service is balanced per connection, and a
//! caller keeps one HTTP/2 connection, so it would talk to one replica however
//! many there are. A [`Channel`] instead resolves the service's address (a
//! headless Service's DNS name gives every ready pod; a comma-separated list
//! gives each entry's addresses) every [`RESOLVE_EVERY`], keeps one HTTP/2
//! connection per endpoint, and sends each call to the less loaded of two
//! connected endpoints picked at random (tower's power-of-two-choices
//! balancer, [`tower::balance::p2c`], over calls in flight).
//!
//! An endpoint that cannot be reached is not *ready*: the balancer never
//! picks it, and it keeps reconnecting with a backoff until it answers again
//! or leaves the DNS answer. A call that a closing connection gave back
//! unsent (the replica said GOAWAY before the call went out) is sent again to
//! another endpoint, so stopping a replica fails only the calls in flight on
//! it, and a graceful stop (which finishes those) fails none. When no endpoint
//! is ready within the connect timeout, the call fails with
//! [`Unavailable`].

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http::uri::{Authority, Scheme};
use http::{Request, Response, Uri};
use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::sync::{mpsc, oneshot};
use tonic::body::Body;
use tower::discover::Change;
use tower::load::{CompleteOnResponse, PendingRequestsDiscover};

mod endpoint;

use endpoint::{Endpoint, Sending};

/// How often a service's address is resolved again.
pub const RESOLVE_EVERY: Duration = Duration::from_secs(5);
/// Longest wait between two attempts to reconnect to an endpoint.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// First wait after a failed connection attempt.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Calls queued for the balancer (beyond them a caller waits, within its
/// connect timeout).
const QUEUE: usize = 1024;
/// How many times a call given back unsent is sent again.
const RESENDS: usize = 3;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How the connections to a service are made.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long a call waits for a connected endpoint before [`Unavailable`].
    pub connect_timeout: Duration,
    /// HTTP/2 flow-control window of one call.
    pub stream_window: u32,
    /// HTTP/2 flow-control window of one connection.
    pub connection_window: u32,
    /// Largest header block accepted from the service.
    pub max_header_list: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            connect_timeout: Duration::from_secs(2),
            stream_window: 256 * 1024,
            connection_window: 16 * 1024 * 1024,
            max_header_list: 1024 * 1024,
        }
    }
}

/// Where a service is: one or more `http://host:port` URLs, comma-separated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets(Vec<Target>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    host: String,
    port: u16,
    authority: Authority,
}

impl Targets {
    /// Parses `http://membership:50051` or
    /// `http://10.0.0.7:50051,http://10.0.0.8:50051`; the reason names the
    /// entry that is not such a URL.
    pub fn parse(addresses: &str) -> Result<Targets, String> {
        let mut targets = Vec::new();
        for entry in addresses.split(',').map(str::trim) {
            if entry.is_empty() {
                continue;
            }
            let uri: Uri = entry
                .parse()
                .map_err(|e| format!("{entry:?} is not a URL: {e}"))?;
            if uri.scheme() != Some(&Scheme::HTTP) {
                return Err(format!(
                    "{entry:?}: only http:// is supported (the services speak HTTP/2 without TLS \
                     inside the cluster)"
                ));
            }
            if uri.path_and_query().is_some_and(|p| p.as_str() != "/") {
                return Err(format!("{entry:?}: give only scheme, host and port"));
            }
            let Some(authority) = uri.authority().cloned() else {
                return Err(format!("{entry:?} names no host"));
            };
            let host = authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            targets.push(Target {
                host,
                port: authority.port_u16().unwrap_or(80),
                authority,
            });
        }
        if targets.is_empty() {
            return Err("no address given".into());
        }
        Ok(Targets(targets))
    }
}

impl fmt::Display for Targets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "http://{}", t.authority)?;
        }
        Ok(())
    }
}

/// No endpoint of the service could take the call within the connect timeout.
#[derive(Debug)]
pub struct Unavailable {
    /// The service's address, as configured.
    pub targets: String,
    /// How long the call waited.
    pub waited: Duration,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no endpoint of {} could be reached within {} ms",
            self.targets,
            self.waited.as_millis()
        )
    }
}

impl std::error::Error for Unavailable {}

type Discovered = PendingRequestsDiscover<Resolved, CompleteOnResponse>;
type Balance = tower::balance::p2c::Balance<Discovered, Request<Body>>;
type Queue =
    tower::buffer::Buffer<Request<Body>, <Balance as tower::Service<Request<Body>>>::Future>;

/// A cloneable handle for calls to one service, balanced over its endpoints.
/// Usable wherever a tonic channel is (`MembershipServiceClient::new(channel)`).
#[derive(Clone)]
pub struct Channel {
    queue: Queue,
    targets: Arc<str>,
    connect_timeout: Duration,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("targets", &self.targets)
            .finish_non_exhaustive()
    }
}

impl Channel {
    /// A channel to `targets`; connections are made in the background, from
    /// now on (it must be called inside a Tokio runtime).
    pub fn new(targets: Targets, options: Options) -> Channel {
        let (changes, resolved) = mpsc::unbounded_channel();
        let name: Arc<str> = Arc::from(targets.to_string());
        tokio::spawn(resolve(targets, Arc::new(options.clone()), changes));
        let discover =
            PendingRequestsDiscover::new(Resolved(resolved), CompleteOnResponse::default());
        let balance = tower::balance::p2c::Balance::new(discover);
        Channel {
            queue: tower::buffer::Buffer::new(balance, QUEUE),
            targets: name,
            connect_timeout: options.connect_timeout,
        }
    }

    /// Parses `addresses` (see [`Targets::parse`]) and makes a channel.
    pub fn lazy(addresses: &str, options: Options) -> Result<Channel, String> {
        Ok(Channel::new(Targets::parse(addresses)?, options))
    }

    /// Sends one call (see [`Channel::attempt`]); a failure that is not the
    /// service's own HTTP/2 answer is UNAVAILABLE, as tonic's channel says.
    async fn send(self, request: Request<Body>) -> Result<Response<Incoming>, BoxError> {
        self.attempt(request).await.map_err(|e| {
            // A refused call was not processed: the service is unavailable.
            if e.is::<tonic::Status>() || (h2_reason(&*e).is_some() && !refused(&*e)) {
                e
            } else {
                Box::new(tonic::Status::unavailable(Causes(&*e).to_string())) as BoxError
            }
        })
    }

    /// Sends one call: to a ready endpoint within the connect timeout, again
    /// to another when a closing connection gave it back unsent, or when the
    /// replica refused it unprocessed (GOAWAY, REFUSED_STREAM) and its body
    /// is whole in memory (a unary call the gateway read first).
    async fn attempt(self, request: Request<Body>) -> Result<Response<Incoming>, BoxError> {
        use http_body::Body as _;
        let (mut request, replay) = match request.body().size_hint().exact() {
            Some(size) if size <= REPLAY_LIMIT => {
                let (parts, body) = request.into_parts();
                let bytes = http_body_util::BodyExt::collect(body).await?.to_bytes();
                let copy = Replay { parts, bytes };
                (copy.request(), Some(copy))
            }
            _ => (request, None),
        };
        let mut resends = 0;
        loop {
            let (sent, was_sent) = oneshot::channel();
            request
                .extensions_mut()
                .insert(Dispatched(Arc::new(Mutex::new(Some(sent)))));
            let mut call: Sending =
                Box::pin(tower::ServiceExt::oneshot(self.queue.clone(), request));
            let waited = tokio::select! {
                biased;
                answer = &mut call => Some(answer),
                dispatched = tokio::time::timeout(self.connect_timeout, was_sent) => match dispatched {
                    Ok(_) => None,
                    Err(_) => return Err(Box::new(Unavailable {
                        targets: self.targets.to_string(),
                        waited: self.connect_timeout,
                    })),
                },
            };
            let answer = match waited {
                Some(answer) => answer,
                None => call.await,
            };
            match answer {
                Ok(response) => return Ok(response),
                Err(e)
                    if resends < RESENDS
                        && refused(&*e)
                        && let Some(copy) = &replay =>
                {
                    resends += 1;
                    request = copy.request();
                }
                Err(e) => match e.downcast::<Unsent>() {
                    Ok(unsent) if resends < RESENDS => {
                        resends += 1;
                        match unsent.take() {
                            Some(again) => request = again,
                            None => return Err("call given back unsent twice".into()),
                        }
                    }
                    Ok(unsent) => return Err(unsent.error.clone().into()),
                    Err(e) => return Err(e),
                },
            }
        }
    }
}

/// A response of a [`Channel`], measured until its last frame.
pub type Answer = Response<crate::meter::Observed<Incoming>>;

impl tower::Service<Request<Body>> for Channel {
    type Response = Answer;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Answer, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Readiness is waited for per call, within the connect timeout.
        Poll::Ready(Ok(()))
    }

    /// Each call has its client metrics and, but for health checks and
    /// reflection, a CLIENT span whose context the request carries.
    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        use tracing::Instrument as _;
        let (span, mut call) = crate::meter::client_call(&mut request);
        let channel = self.clone();
        Box::pin(
            async move {
                match channel.send(request).await {
                    Ok(response) => Ok(crate::meter::observe(call, response)),
                    Err(e) => {
                        call.finish(
                            e.downcast_ref::<tonic::Status>()
                                .map_or(tonic::Code::Unavailable, tonic::Status::code),
                        );
                        Err(e)
                    }
                }
            }
            .instrument(span),
        )
    }
}

/// An error with its causes, `connection error: broken pipe`, each said once.
#[derive(Debug)]
pub struct Causes<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Causes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(status) = self.0.downcast_ref::<tonic::Status>() {
            return f.write_str(status.message());
        }
        let mut said = self.0.to_string();
        f.write_str(&said)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            let text = e.to_string();
            if !said.contains(&text) {
                write!(f, ": {text}")?;
                said = text;
            }
            cause = e.source();
        }
        Ok(())
    }
}

/// Largest request body kept to send again when a replica refuses the call.
const REPLAY_LIMIT: u64 = 4 * 1024 * 1024;

/// A request whose body is whole in memory, to send again.
struct Replay {
    parts: http::request::Parts,
    bytes: bytes::Bytes,
}

impl Replay {
    fn request(&self) -> Request<Body> {
        let mut request = Request::new(Body::new(http_body_util::Full::new(self.bytes.clone())));
        *request.method_mut() = self.parts.method.clone();
        *request.uri_mut() = self.parts.uri.clone();
        *request.version_mut() = self.parts.version;
        *request.headers_mut() = self.parts.headers.clone();
        *request.extensions_mut() = self.parts.extensions.clone();
        request
    }
}

/// Whether the replica refused the call without processing it: its GOAWAY
/// (a graceful one, NO_ERROR) came before the call's stream, or it reset the
/// stream with REFUSED_STREAM.
fn refused(error: &(dyn std::error::Error + 'static)) -> bool {
    h2_cause(error).is_some_and(|h2| {
        h2.reason() == Some(h2::Reason::REFUSED_STREAM)
            || (h2.is_go_away() && h2.is_remote() && h2.reason() == Some(h2::Reason::NO_ERROR))
    })
}

/// The HTTP/2 error among `error`'s causes.
fn h2_cause<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a h2::Error> {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if let Some(h2) = e.downcast_ref::<h2::Error>() {
            return Some(h2);
        }
        cause = e.source();
    }
    None
}

/// The reason code of an HTTP/2 reset or GOAWAY among `error`'s causes
/// (tonic maps it to a gRPC code: CANCEL is CANCELLED, and so on).
fn h2_reason(error: &(dyn std::error::Error + 'static)) -> Option<h2::Reason> {
    h2_cause(error).and_then(h2::Error::reason)
}

/// Told when the balancer hands a call to an endpoint.
#[derive(Clone)]
struct Dispatched(Arc<Mutex<Option<oneshot::Sender<()>>>>);

/// A call a closing connection gave back before sending it.
struct Unsent {
    request: Mutex<Option<Request<Body>>>,
    error: String,
}

impl Unsent {
    fn take(&self) -> Option<Request<Body>> {
        self.request.lock().ok().and_then(|mut r| r.take())
    }
}

impl fmt::Debug for Unsent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unsent call: {}", self.error)
    }
}

impl fmt::Display for Unsent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the connection closed before the call was sent: {}",
            self.error
        )
    }
}

impl std::error::Error for Unsent {}

/// The endpoints found, as the balancer's discovery stream.
struct Resolved(mpsc::UnboundedReceiver<Change<SocketAddr, Endpoint>>);

impl futures_core::Stream for Resolved {
    type Item = Result<Change<SocketAddr, Endpoint>, std::convert::Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|change| change.map(Ok))
    }
}

/// Resolves `targets` now and every [`RESOLVE_EVERY`], telling the balancer
/// which endpoints appeared and which left; ends when the channel is dropped.
async fn resolve(
    targets: Targets,
    options: Arc<Options>,
    changes: mpsc::UnboundedSender<Change<SocketAddr, Endpoint>>,
) {
    let mut known: HashSet<SocketAddr> = HashSet::new();
    let mut failing = false;
    loop {
        let mut found: HashMap<SocketAddr, &Authority> = HashMap::new();
        let mut failed = None;
        for target in &targets.0 {
            match tokio::net::lookup_host((target.host.as_str(), target.port)).await {
                Ok(addrs) => found.extend(addrs.map(|a| (a, &target.authority))),
                Err(e) => failed = Some((target.authority.to_string(), e)),
            }
        }
        match &failed {
            Some((target, e)) if !failing => {
                tracing::warn!(%target, error = %e, "cannot resolve a service's address; keeping the endpoints known");
            }
            None if failing => tracing::info!(targets = %targets, "service address resolves again"),
            _ => {}
        }
        failing = failed.is_some();
        for (addr, authority) in &found {
            if known.insert(*addr) {
                tracing::debug!(%addr, "endpoint added");
                let endpoint = Endpoint::new(*addr, (*authority).clone(), options.clone());
                if changes.send(Change::Insert(*addr, endpoint)).is_err() {
                    return;
                }
            }
        }
        // A failed lookup says nothing about which endpoints left.
        if !failing {
            let gone: Vec<SocketAddr> = known
                .iter()
                .filter(|a| !found.contains_key(a))
                .copied()
                .collect();
            for addr in gone {
                known.remove(&addr);
                tracing::debug!(%addr, "endpoint removed");
                if changes.send(Change::Remove(addr)).is_err() {
                    return;
                }
            }
        }
        tokio::select! {
            () = changes.closed() => return,
            () = tokio::time::sleep(RESOLVE_EVERY) => {}
        }
    }
}
