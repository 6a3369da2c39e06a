//! The per-call layer of every server (on the socket and in process): the
//! caller's deadline, silent bodies, shutdown of open streams, metrics and
//! spans; and the gRPC status helpers the gateway shares.

use super::*;

/// The canonical name of a gRPC status code (`UNAVAILABLE`).
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

/// How long a request's body may stay silent by default.
pub const REQUEST_IDLE: Duration = Duration::from_secs(10);

/// The caller's `grpc-timeout` (e.g. `250m`), per the gRPC over HTTP/2 spec;
/// a malformed one is INVALID_ARGUMENT.
pub fn grpc_timeout(headers: &http::HeaderMap) -> Result<Option<Duration>, tonic::Status> {
    let Some(value) = headers.get("grpc-timeout") else {
        return Ok(None);
    };
    let bad = || tonic::Status::invalid_argument("malformed grpc-timeout header");
    let text = value.to_str().map_err(|_| bad())?;
    if text.len() < 2 || text.len() > 9 {
        return Err(bad());
    }
    let (digits, unit) = text.split_at(text.len() - 1);
    let amount: u64 = digits.parse().map_err(|_| bad())?;
    Ok(Some(match unit {
        "H" => Duration::from_secs(amount.saturating_mul(3600)),
        "M" => Duration::from_secs(amount.saturating_mul(60)),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return Err(bad()),
    }))
}

/// A status as the trailers that end a stream.
pub fn status_trailers(status: &tonic::Status) -> http::HeaderMap {
    let mut trailers = http::HeaderMap::new();
    if status.add_header(&mut trailers).is_err() {
        trailers.insert("grpc-status", http::HeaderValue::from_static("13"));
    }
    trailers
}

/// What every call gets, on the socket and in process, before the gate:
/// its metrics (on the socket, see [`crate::meter`]), a trace span (none
/// for health and reflection), the caller's deadline
/// enforced (DEADLINE_EXCEEDED, the work dropped, a stream ended when it
/// expires), a request body that may not stay silent for longer than
/// `request_idle`, and at shutdown, open streams that are waiting for
/// something to send ended with UNAVAILABLE and a retry hint.
#[derive(Debug, Clone)]
pub(super) struct Calls<S> {
    pub(super) inner: S,
    pub(super) stopping: watch::Receiver<bool>,
    pub(super) request_idle: Duration,
    pub(super) meter: bool,
}

impl<S> tower::Service<http::Request<tonic::body::Body>> for Calls<S>
where
    S: tower::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        use tracing::Instrument as _;
        let path = request.uri().path();
        let infrastructure = crate::meter::is_infrastructure(path);
        let span = if infrastructure {
            tracing::Span::none()
        } else {
            crate::telemetry::server_span(path, request.headers())
        };
        let call = self
            .meter
            .then(|| crate::meter::Call::start(crate::meter::Side::Server, path, span.clone()));
        let measured = move |response: http::Response<tonic::body::Body>| match call {
            Some(call) => crate::meter::observe(call, response).map(tonic::body::Body::new),
            None => response,
        };
        let deadline = match grpc_timeout(request.headers()) {
            // Shorter than the timer's resolution: spent before any work
            // could be done (and a timer would not fire before an answer
            // that happened to be ready), so refused now, every time.
            Ok(Some(timeout)) if timeout < Duration::from_millis(1) => {
                let response = measured(
                    tonic::Status::deadline_exceeded(
                        "the deadline passed before the call was answered",
                    )
                    .into_http(),
                );
                return Box::pin(async move { Ok(response) });
            }
            Ok(timeout) => timeout.map(|t| tokio::time::Instant::now() + t),
            Err(status) => {
                let response = measured(status.into_http());
                return Box::pin(async move { Ok(response) });
            }
        };
        let request = if infrastructure {
            request
        } else {
            let idle = self.request_idle;
            request.map(|body| tonic::body::Body::new(IdleBody::new(body, idle)))
        };
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let stopping = self.stopping.clone();
        Box::pin(
            async move {
                let answer = inner.call(request);
                let response = match deadline {
                    Some(at) => match tokio::time::timeout_at(at, answer).await {
                        Ok(response) => response?,
                        Err(_) => {
                            return Ok(measured(
                                tonic::Status::deadline_exceeded(
                                    "the deadline passed before the call was answered",
                                )
                                .into_http(),
                            ));
                        }
                    },
                    None => answer.await?,
                };
                let mut response = response;
                caller_fault(response.headers_mut());
                if deadline.is_some() {
                    deadline_fault(response.headers_mut());
                }
                Ok(measured(response.map(|body| {
                    tonic::body::Body::new(Bounded::new(body, deadline, stopping))
                })))
            }
            .instrument(span),
        )
    }
}

/// A response body that ends with DEADLINE_EXCEEDED when the caller's
/// deadline passes, and, once the server is stopping, with UNAVAILABLE the
/// next time it has nothing ready to send (a followed stream waiting for
/// news; a unary answer is always ready, so it is never cut).
struct Bounded {
    inner: tonic::body::Body,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    stopping: Pin<Box<dyn Future<Output = ()> + Send>>,
    done: bool,
}

impl Bounded {
    fn new(
        inner: tonic::body::Body,
        deadline: Option<tokio::time::Instant>,
        mut stopping: watch::Receiver<bool>,
    ) -> Self {
        Bounded {
            inner,
            deadline: deadline.map(|at| Box::pin(tokio::time::sleep_until(at))),
            stopping: Box::pin(async move {
                let _ = stopping.wait_for(|stop| *stop).await;
            }),
            done: false,
        }
    }

    fn end(
        &mut self,
        status: tonic::Status,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, tonic::Status>>> {
        self.done = true;
        Poll::Ready(Some(Ok(http_body::Frame::trailers(status_trailers(
            &status,
        )))))
    }
}

impl http_body::Body for Bounded {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, tonic::Status>>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Some(deadline) = self.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            return self.end(tonic::Status::deadline_exceeded(
                "the deadline passed; the stream ends here",
            ));
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(mut frame) => {
                if !matches!(&frame, Some(Ok(f)) if f.is_data()) {
                    self.done = true;
                }
                if let Some(Ok(f)) = &mut frame
                    && let Some(trailers) = f.trailers_mut()
                {
                    caller_fault(trailers);
                }
                Poll::Ready(frame)
            }
            Poll::Pending => {
                if self.stopping.as_mut().poll(cx).is_ready() {
                    let mut details = tonic_types::ErrorDetails::new();
                    details.set_retry_info(Some(Duration::from_secs(1)));
                    return self.end(<tonic::Status as tonic_types::StatusExt>::with_error_details(
                        tonic::Code::Unavailable,
                        "the server is shutting down; resume from the last cursor on another replica",
                        details,
                    ));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        // An answer that is already whole (a trailers-only error) must go out
        // as one HEADERS frame with END_STREAM, as gRPC clients expect.
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        if self.deadline.is_some() {
            http_body::SizeHint::default()
        } else {
            self.inner.size_hint()
        }
    }
}

/// A request body that fails when it stays silent for longer than `idle`.
struct IdleBody {
    inner: tonic::body::Body,
    idle: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl IdleBody {
    fn new(inner: tonic::body::Body, idle: Duration) -> Self {
        IdleBody {
            inner,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
        }
    }
}

impl http_body::Body for IdleBody {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, tonic::Status>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let next = tokio::time::Instant::now() + self.idle;
                self.timer.as_mut().reset(next);
                Poll::Ready(frame)
            }
            Poll::Pending => {
                if self.timer.as_mut().poll(cx).is_ready() {
                    let idle = self.idle.as_secs();
                    return Poll::Ready(Some(Err(tonic::Status::deadline_exceeded(format!(
                        "the request's body stayed silent for {idle} s; send it whole, or keep streaming"
                    )))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// tonic answers a request message it cannot decode (not protobuf, a
/// truncated message, invalid UTF-8 in a string, a wrong wire type) with
/// INTERNAL; those are the caller's mistake: INVALID_ARGUMENT, with tonic's
/// message, which names the message and field where the decoder says it.
fn caller_fault(headers: &mut http::HeaderMap) {
    if headers.get("grpc-status").map(|v| v.as_bytes()) != Some(b"13") {
        return;
    }
    let Some(message) = headers.get("grpc-message").and_then(|v| v.to_str().ok()) else {
        return;
    };
    const CALLER_FAULTS: [&str; 3] = [
        "failed%20to%20decode%20Protobuf%20message",
        "failed to decode Protobuf message",
        "protocol%20error:%20received%20message%20with%20invalid%20compression%20flag",
    ];
    if CALLER_FAULTS.iter().any(|fault| message.starts_with(fault)) {
        headers.insert("grpc-status", http::HeaderValue::from_static("3"));
    }
}

/// A handler that passes on the error of a call it made with the caller's
/// remaining deadline gets tonic's client-side "Timeout expired", which
/// tonic calls CANCELLED; for the caller, its deadline passed.
fn deadline_fault(headers: &mut http::HeaderMap) {
    if headers.get("grpc-status").map(|v| v.as_bytes()) == Some(b"1")
        && headers.get("grpc-message").map(|v| v.as_bytes()) == Some(b"Timeout%20expired")
    {
        headers.insert("grpc-status", http::HeaderValue::from_static("4"));
    }
}
