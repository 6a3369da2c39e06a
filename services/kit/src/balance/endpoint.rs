//! One endpoint of a [`super::Channel`]: one HTTP/2 connection, made again
//! with a backoff when it closes.

use super::*;

pub(super) type Sending =
    Pin<Box<dyn Future<Output = Result<Response<Incoming>, BoxError>> + Send>>;
type Connecting = Pin<Box<dyn Future<Output = Result<SendRequest<Body>, BoxError>> + Send>>;

enum State {
    Idle,
    Connecting(Connecting),
    Connected(SendRequest<Body>),
    Waiting(Pin<Box<tokio::time::Sleep>>),
}

/// One endpoint: one HTTP/2 connection, made again when it closes. Ready
/// only while connected, so the balancer never picks an endpoint that is
/// down.
pub(super) struct Endpoint {
    addr: SocketAddr,
    authority: Authority,
    options: Arc<Options>,
    state: State,
    backoff: Duration,
    /// Whether the last attempt failed (to log a failure once, not per retry).
    down: bool,
}

impl Endpoint {
    pub(super) fn new(addr: SocketAddr, authority: Authority, options: Arc<Options>) -> Endpoint {
        Endpoint {
            addr,
            authority,
            options,
            state: State::Idle,
            backoff: FIRST_BACKOFF,
            down: false,
        }
    }

    fn connect(&self) -> Connecting {
        let addr = self.addr;
        let options = self.options.clone();
        Box::pin(async move {
            let stream = tokio::time::timeout(
                options.connect_timeout,
                tokio::net::TcpStream::connect(addr),
            )
            .await
            .map_err(|_| format!("connecting to {addr} timed out"))??;
            stream.set_nodelay(true)?;
            let (send, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .initial_stream_window_size(options.stream_window)
                .initial_connection_window_size(options.connection_window)
                .max_header_list_size(options.max_header_list)
                .keep_alive_interval(Duration::from_secs(30))
                .keep_alive_timeout(Duration::from_secs(10))
                .handshake(TokioIo::new(stream))
                .await?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(%addr, error = %e, "connection to a service ended");
                }
            });
            Ok(send)
        })
    }
}

impl tower::Service<Request<Body>> for Endpoint {
    type Response = Response<Incoming>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Incoming>, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        loop {
            match &mut self.state {
                State::Idle => self.state = State::Connecting(self.connect()),
                State::Connecting(connecting) => match connecting.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(send)) => {
                        if self.down {
                            tracing::info!(addr = %self.addr, "endpoint reachable again");
                        }
                        self.down = false;
                        self.backoff = FIRST_BACKOFF;
                        self.state = State::Connected(send);
                    }
                    Poll::Ready(Err(e)) => {
                        if !self.down {
                            tracing::warn!(addr = %self.addr, error = %e, "endpoint unreachable; retrying in the background");
                        }
                        self.down = true;
                        let wait = self.backoff;
                        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                        self.state = State::Waiting(Box::pin(tokio::time::sleep(wait)));
                    }
                },
                State::Connected(send) => match send.poll_ready(cx) {
                    Poll::Ready(Ok(())) => return Poll::Ready(Ok(())),
                    Poll::Pending => return Poll::Pending,
                    // Closed (the replica went away or said GOAWAY): connect again.
                    Poll::Ready(Err(_)) => self.state = State::Idle,
                },
                State::Waiting(sleep) => match sleep.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(()) => self.state = State::Idle,
                },
            }
        }
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        if let Some(Dispatched(sent)) = request.extensions_mut().remove::<Dispatched>()
            && let Some(sent) = sent.lock().ok().and_then(|mut s| s.take())
        {
            let _ = sent.send(());
        }
        let mut parts = request.uri().clone().into_parts();
        parts.scheme = Some(Scheme::HTTP);
        parts.authority = Some(self.authority.clone());
        if parts.path_and_query.is_none() {
            parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
        }
        match Uri::from_parts(parts) {
            Ok(uri) => *request.uri_mut() = uri,
            Err(e) => return Box::pin(async move { Err(e.into()) }),
        }
        let State::Connected(send) = &mut self.state else {
            // The balancer calls only after poll_ready said ready.
            return Box::pin(async move {
                Err(Box::new(Unsent {
                    request: Mutex::new(Some(request)),
                    error: "endpoint not connected".into(),
                }) as BoxError)
            });
        };
        let sent = send.try_send_request(request);
        Box::pin(async move {
            match sent.await {
                Ok(response) => Ok(response),
                Err(mut e) => match e.take_message() {
                    Some(request) => Err(Box::new(Unsent {
                        request: Mutex::new(Some(request)),
                        error: e.error().to_string(),
                    }) as BoxError),
                    None => Err(e.into_error().into()),
                },
            }
        })
    }
}
