//! The four services and the gateway in front of them, as the gateway's
//! integration tests need.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::{Backend, TestServer};

/// The gRPC names of the services behind the gateway, under which the
/// gateway reports each one's health.
pub const UPSTREAMS: [&str; 4] = [
    "innolab.membership.v1.MembershipService",
    "innolab.initiatives.v1.InitiativesService",
    "innolab.guidance.v1.GuidanceService",
    "innolab.impact.v1.ImpactService",
];

/// The four services and the gateway in front of them, each on its own
/// `127.0.0.1:0` port and database, as the gateway's integration tests need.
#[derive(Debug)]
pub struct Suite {
    /// The membership service.
    pub membership: TestServer,
    /// The initiatives service.
    pub initiatives: TestServer,
    /// The guidance service.
    pub guidance: TestServer,
    /// The impact service; `None` once a test stopped it.
    pub impact: Option<TestServer>,
    /// Where the gateway listens.
    pub gateway: SocketAddr,
    /// Whether the gateway calls the services' stacks directly, as in the
    /// one-process suite, instead of over their sockets.
    pub in_process: bool,
    gateway_stop: Option<oneshot::Sender<()>>,
    gateway_task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Suite {
    /// Starts every service on `backend` and the gateway, and waits until
    /// the gateway is SERVING.
    pub async fn start(backend: &Backend) -> Suite {
        Suite::start_with(backend, Default::default()).await
    }

    /// Starts every service on `backend` and the gateway with `security`
    /// (identity, access rules, TLS), and waits until the services are
    /// SERVING (with TLS the gateway's own health is left to the caller, who
    /// holds the client credentials).
    pub async fn start_with(
        backend: &Backend,
        security: innolab_gateway::security::Security,
    ) -> Suite {
        let mut suite = Suite::start_services(backend).await;
        suite.start_gateway(security).await;
        suite
    }

    /// Starts every service on `backend` and the gateway calling them in
    /// process, as the one-process suite does, and waits until it is SERVING.
    pub async fn start_in_process(
        backend: &Backend,
        security: innolab_gateway::security::Security,
    ) -> Suite {
        let mut suite = Suite::start_services(backend).await;
        suite.in_process = true;
        suite.start_gateway(security).await;
        suite
    }

    /// Starts every service on `backend`, without the gateway yet (tests
    /// that store data directly first); `start_gateway` adds it.
    pub async fn start_services(backend: &Backend) -> Suite {
        let membership = TestServer::membership(backend).await;
        let membership_url = format!("http://{}", membership.addr);
        let (initiatives, guidance, impact) = tokio::join!(
            TestServer::initiatives(backend, &membership_url),
            TestServer::guidance(backend),
            TestServer::impact(backend),
        );
        Suite {
            membership,
            initiatives,
            guidance,
            impact: Some(impact),
            gateway: SocketAddr::from(([127, 0, 0, 1], 0)),
            in_process: false,
            gateway_stop: None,
            gateway_task: None,
        }
    }

    /// Starts the gateway in front of the services with `security`.
    pub async fn start_gateway(&mut self, security: innolab_gateway::security::Security) {
        let tls = security.tls.is_some();
        let url = |server: &TestServer| format!("http://{}", server.addr);
        let impact = self.impact.as_ref().map(url).unwrap_or_default();
        let impact_local = self.impact.as_ref().map(|s| s.local.clone());
        let upstreams = innolab_gateway::SERVICES
            .iter()
            .map(|&(service, env, _)| innolab_gateway::UpstreamAddr {
                service,
                env,
                url: match service {
                    "membership" => url(&self.membership),
                    "initiatives" => url(&self.initiatives),
                    "guidance" => url(&self.guidance),
                    _ => impact.clone(),
                },
                in_process: match service {
                    _ if !self.in_process => None,
                    "membership" => Some(self.membership.local.clone()),
                    "initiatives" => Some(self.initiatives.local.clone()),
                    "guidance" => Some(self.guidance.local.clone()),
                    _ => impact_local.clone(),
                },
            })
            .collect();
        let settings = innolab_gateway::GatewaySettings {
            upstreams,
            shutdown_drain: Duration::from_secs(5),
            connect_timeout: Duration::from_millis(500),
            security,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        self.gateway = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(innolab_gateway::serve(listener, settings, async {
            let _ = rx.await;
        }));
        self.gateway_stop = Some(tx);
        self.gateway_task = Some(task);
        if tls {
            return;
        }
        // The gateway's own readiness does not wait for the services; each
        // one's state is reported under its name.
        let mut names = vec![String::new()];
        names.extend(UPSTREAMS.iter().map(|n| n.to_string()));
        if self.impact.is_none() {
            names.retain(|n| !n.starts_with("innolab.impact."));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        for name in names {
            loop {
                let mut health = HealthClient::new(self.channel().await);
                if let Ok(r) = health
                    .check(HealthCheckRequest {
                        service: name.clone(),
                    })
                    .await
                    && r.into_inner().status == ServingStatus::Serving as i32
                {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "gateway: {name:?} not SERVING within 30 s"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// A channel to the gateway.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.gateway))
            .expect("uri")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connect")
    }

    /// Stops the gateway alone (the services keep running); `start_gateway`
    /// starts it again.
    pub async fn stop_gateway(&mut self) {
        if let Some(tx) = self.gateway_stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.gateway_task.take() {
            let result = tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("gateway stops within 30 s")
                .expect("gateway task");
            result.expect("gateway exits cleanly");
        }
    }

    /// Stops the gateway and every service still running.
    pub async fn stop(mut self) {
        self.stop_gateway().await;
        if let Some(impact) = self.impact.take() {
            impact.stop().await;
        }
        self.guidance.stop().await;
        self.initiatives.stop().await;
        self.membership.stop().await;
    }
}
