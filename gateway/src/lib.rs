//! The innolab gateway: one endpoint for ministry systems. It serves every
//! public RPC of the services unchanged, forwarding each to the service that
//! owns it, with health and reflection for all of it. It is also the
//! composition root: the `innolab` binary runs the whole suite in one process.

pub mod api;
pub mod audit;
pub mod compose;
pub mod demo;
pub mod feed;
pub mod json;
pub mod proxy;
pub mod security;
pub mod suite;

use std::future::Future;
use std::time::Duration;

use innolab_kit::server::{self, Readiness, ServeOptions};
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use proxy::{Forward, Upstream};

/// gRPC name of the gateway's own service, also its readiness status name.
pub const GATEWAY_NAME: &str =
    innolab_proto::innolab::gateway::v1::gateway_service_server::SERVICE_NAME;

/// The membership service.
#[derive(Debug)]
pub enum Membership {}
impl Upstream for Membership {
    const NAME: &'static str =
        innolab_proto::innolab::membership::v1::membership_service_server::SERVICE_NAME;
}

/// The initiatives service.
#[derive(Debug)]
pub enum Initiatives {}
impl Upstream for Initiatives {
    const NAME: &'static str =
        innolab_proto::innolab::initiatives::v1::initiatives_service_server::SERVICE_NAME;
}

/// The guidance service.
#[derive(Debug)]
pub enum Guidance {}
impl Upstream for Guidance {
    const NAME: &'static str =
        innolab_proto::innolab::guidance::v1::guidance_service_server::SERVICE_NAME;
}

/// The impact service.
#[derive(Debug)]
pub enum Impact {}
impl Upstream for Impact {
    const NAME: &'static str =
        innolab_proto::innolab::impact::v1::impact_service_server::SERVICE_NAME;
}

/// A service behind the gateway and where it is.
#[derive(Debug, Clone)]
pub struct UpstreamAddr {
    /// Short name (`membership`).
    pub service: &'static str,
    /// Environment variable holding its URL.
    pub env: &'static str,
    /// Its URL, e.g. `http://membership:50051`.
    pub url: String,
    /// When the service runs in this process (the suite): its stack, called
    /// directly instead of over `url` (compositions and JSON still use `url`).
    pub in_process: Option<innolab_kit::server::InProcess>,
}

/// The services behind the gateway: (name, URL variable, default port).
pub const SERVICES: &[(&str, &str, u16)] = &[
    ("membership", "INNOLAB_MEMBERSHIP_URL", 50051),
    ("initiatives", "INNOLAB_INITIATIVES_URL", 50052),
    ("guidance", "INNOLAB_GUIDANCE_URL", 50053),
    ("impact", "INNOLAB_IMPACT_URL", 50054),
];

/// Where the services are: each from its `INNOLAB_<SERVICE>_URL` variable, or
/// `http://<host>:<default port>`.
pub fn upstreams(host: &str) -> Vec<UpstreamAddr> {
    SERVICES
        .iter()
        .map(|&(service, env, port)| UpstreamAddr {
            service,
            env,
            url: std::env::var(env)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| format!("http://{host}:{port}")),
            in_process: None,
        })
        .collect()
}

/// Validated settings of the gateway.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// Where the services are.
    pub upstreams: Vec<UpstreamAddr>,
    /// Bound on the drain after a shutdown signal.
    pub shutdown_drain: Duration,
    /// How long to wait for a connection to a service before UNAVAILABLE.
    pub connect_timeout: Duration,
    /// Identity, access rules and TLS.
    pub security: security::Security,
}

fn channel(upstream: &UpstreamAddr, connect_timeout: Duration) -> anyhow::Result<Channel> {
    let endpoint = Endpoint::from_shared(upstream.url.clone())
        .map_err(|e| anyhow::anyhow!("{} {:?} is not a URL: {e}", upstream.env, upstream.url))?
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30));
    Ok(endpoint.connect_lazy())
}

/// Serves the gateway on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    settings: GatewaySettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let guard = settings.security.guard.clone();
    let audit_store = match &settings.security.audit {
        Some(database) => Some(audit::open(database).await?),
        None => None,
    };
    let recorder = audit_store.clone().map(audit::Recorder::start);
    let mut channels = Vec::new();
    let mut logs = Vec::new();
    let mut by_service = std::collections::HashMap::new();
    for upstream in &settings.upstreams {
        by_service.insert(
            upstream.service,
            channel(upstream, settings.connect_timeout)?,
        );
    }
    let owners = security::ownership::Owners::new(
        by_service.get("membership").cloned(),
        by_service.get("initiatives").cloned(),
    );
    let mut routes = Routes::default();
    for upstream in &settings.upstreams {
        let Some(channel) = by_service.get(upstream.service).cloned() else {
            anyhow::bail!("unknown service {}", upstream.service);
        };
        let forward = channel.clone();
        let grpc_name = match upstream.service {
            "membership" => {
                routes = routes.add_service(Forward::<Membership>::new(
                    forward,
                    &upstream.url,
                    settings.connect_timeout,
                    guard.clone(),
                    owners.clone(),
                    recorder.clone(),
                    upstream.in_process.clone(),
                ));
                Membership::NAME
            }
            "initiatives" => {
                routes = routes.add_service(Forward::<Initiatives>::new(
                    forward,
                    &upstream.url,
                    settings.connect_timeout,
                    guard.clone(),
                    owners.clone(),
                    recorder.clone(),
                    upstream.in_process.clone(),
                ));
                Initiatives::NAME
            }
            "guidance" => {
                routes = routes.add_service(Forward::<Guidance>::new(
                    forward,
                    &upstream.url,
                    settings.connect_timeout,
                    guard.clone(),
                    owners.clone(),
                    recorder.clone(),
                    upstream.in_process.clone(),
                ));
                Guidance::NAME
            }
            "impact" => {
                routes = routes.add_service(Forward::<Impact>::new(
                    forward,
                    &upstream.url,
                    settings.connect_timeout,
                    guard.clone(),
                    owners.clone(),
                    recorder.clone(),
                    upstream.in_process.clone(),
                ));
                Impact::NAME
            }
            other => anyhow::bail!("unknown service {other}"),
        };
        logs.push(feed::Log {
            service: upstream.service,
            grpc_name,
            channel: channel.clone(),
        });
        channels.push((upstream.service, channel));
    }
    let compose = compose::Compose::new(
        by_service.get("membership").cloned(),
        by_service.get("initiatives").cloned(),
        by_service.get("guidance").cloned(),
        by_service.get("impact").cloned(),
    );
    routes = routes.add_service(api::Routed::new(
        api::Gateway::new(feed::Feed::new(logs), compose, audit_store),
        guard,
        recorder,
    ));
    let options = ServeOptions {
        grpc_name: GATEWAY_NAME,
        descriptor_sets: vec![innolab_proto::FILE_DESCRIPTOR_SET],
        drain: settings.shutdown_drain,
        accept_http1: true,
        tls: settings.security.tls.clone(),
        probe_addr: settings.security.probe_addr,
        in_process: None,
    };
    server::serve_routes(
        listener,
        options,
        routes,
        move |readiness| watch_upstreams(channels, readiness),
        shutdown,
    )
    .await
}

/// The gateway is ready while every service it forwards to is ready.
async fn watch_upstreams(channels: Vec<(&'static str, Channel)>, readiness: Readiness) {
    loop {
        let mut all_ready = true;
        for (service, channel) in &channels {
            let mut client = HealthClient::new(channel.clone());
            let check = client.check(HealthCheckRequest {
                service: String::new(),
            });
            let serving = matches!(
                tokio::time::timeout(Duration::from_secs(2), check).await,
                Ok(Ok(ref r)) if r.get_ref().status == 1
            );
            if !serving {
                tracing::debug!(service, "upstream not ready");
                all_ready = false;
            }
        }
        readiness.set(all_ready).await;
        let pause = if all_ready { 5_000 } else { 250 };
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
}
