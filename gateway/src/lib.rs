//! The innolab gateway: one endpoint for ministry systems. It serves every
//! public RPC of the services unchanged, forwarding each to the service that
//! owns it, with health and reflection for all of it. It is also the
//! composition root: the `innolab` binary runs the whole suite in one process.

pub mod api;
pub mod audit;
pub mod compose;
pub mod demo;
pub mod edge;
pub mod feed;
pub mod hooks;
pub mod iati;
pub mod json;
pub mod openapi;
pub mod proxy;
pub mod security;
pub mod suite;

use std::future::Future;
use std::time::Duration;

use innolab_kit::balance::{self, Channel};
use innolab_kit::server::{self, LocalService, Readiness, ServeOptions};
use tokio::net::TcpListener;
use tonic::service::Routes;
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

/// The gRPC names of the four services, under which the gateway reports each
/// one's health as it sees it.
pub const UPSTREAM_NAMES: [&str; 4] = [
    Membership::NAME,
    Initiatives::NAME,
    Guidance::NAME,
    Impact::NAME,
];

/// The short name (`membership`) of a service's gRPC name.
fn grpc_service_of(grpc_name: &str) -> &str {
    grpc_name
        .strip_prefix("innolab.")
        .and_then(|rest| rest.split('.').next())
        .unwrap_or_default()
}

/// A service behind the gateway and where it is.
#[derive(Debug, Clone)]
pub struct UpstreamAddr {
    /// Short name (`membership`).
    pub service: &'static str,
    /// Environment variable holding its URL.
    pub env: &'static str,
    /// Its URL, e.g. `http://membership:50051`, or several, comma-separated
    /// (calls are balanced over every address they resolve to).
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

/// A channel to every endpoint `upstream`'s address resolves to.
fn channel(upstream: &UpstreamAddr, connect_timeout: Duration) -> anyhow::Result<Channel> {
    let options = balance::Options {
        connect_timeout,
        stream_window: proxy::UPSTREAM_STREAM_WINDOW,
        connection_window: proxy::UPSTREAM_CONNECTION_WINDOW,
        max_header_list: proxy::UPSTREAM_MAX_HEADER_LIST,
    };
    Channel::lazy(&upstream.url, options).map_err(|e| anyhow::anyhow!("{}: {e}", upstream.env))
}

/// Writes the initiatives matching `filter` as IATI activity XML 2.03, with
/// its DCAT-AP record, into the release folder (the `export-iati` command), read from the membership,
/// initiatives and impact services at `upstreams`.
pub async fn export_iati(
    upstreams: &[UpstreamAddr],
    connect_timeout: Duration,
    filter: &str,
    reporter: &iati::Reporter,
    release: &innolab_kit::opendata::ReleaseArgs,
) -> anyhow::Result<iati::Counts> {
    let find = |name: &str| -> anyhow::Result<Channel> {
        let upstream = upstreams
            .iter()
            .find(|u| u.service == name)
            .ok_or_else(|| anyhow::anyhow!("no {name} service configured"))?;
        channel(upstream, connect_timeout)
    };
    let (membership, initiatives, impact) =
        (find("membership")?, find("initiatives")?, find("impact")?);
    let published = release.release()?;
    let to = (release.out_dir.as_path(), &published);
    iati::write(membership, initiatives, impact, filter, reporter, to).await
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
    let recorder = audit_store.clone().map(|store| {
        audit::Recorder::start(
            store,
            settings.security.audit_signing.clone(),
            settings.security.audit_strict,
        )
    });
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
                    guard.limits().clone(),
                    upstream.in_process.clone(),
                ));
                Membership::NAME
            }
            "initiatives" => {
                routes = routes.add_service(Forward::<Initiatives>::new(
                    forward,
                    guard.limits().clone(),
                    upstream.in_process.clone(),
                ));
                Initiatives::NAME
            }
            "guidance" => {
                routes = routes.add_service(Forward::<Guidance>::new(
                    forward,
                    guard.limits().clone(),
                    upstream.in_process.clone(),
                ));
                Guidance::NAME
            }
            "impact" => {
                routes = routes.add_service(Forward::<Impact>::new(
                    forward,
                    guard.limits().clone(),
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
        channels.push(Watched {
            service: upstream.service,
            grpc_name,
            channel,
        });
    }
    let compose = compose::Compose::new(
        by_service.get("membership").cloned(),
        by_service.get("initiatives").cloned(),
        by_service.get("guidance").cloned(),
        by_service.get("impact").cloned(),
    );
    let audit_health = audit_store.clone();
    let hooks = match &settings.security.subscriptions {
        Some(s) => Some(hooks::open(s).await?),
        None => None,
    };
    let feed = feed::Feed::new(logs);
    // The dispatcher runs with the gateway's background work, which stops
    // at shutdown.
    let initiatives = by_service.get("initiatives").cloned();
    let dispatcher = hooks
        .clone()
        .map(|h| hooks::dispatch::run(h, feed.clone(), initiatives));
    routes = routes.add_service(api::service(api::Gateway::new(
        feed,
        compose,
        audit_store,
        hooks,
    )));
    // One guard for every route: the audit tap around the guard around the
    // routes, applied once (health and reflection pass both).
    let guarded = {
        let guard = guard.clone();
        server::Wrap::new(move |routes| {
            let admitted = security::admit::Admit::new(routes, guard.clone(), owners.clone());
            LocalService::new(audit::layer::Audited::new(
                LocalService::new(admitted),
                recorder.clone(),
                guard.clone(),
            ))
        })
    };
    let edge_settings = edge::Settings {
        max_message_bytes: guard.limits().max_message_bytes,
        cors_origins: settings.security.cors_origins.clone(),
    };
    let edge = server::Wrap::new(move |stack| edge::wrap(stack, &edge_settings));
    let options = ServeOptions {
        grpc_name: GATEWAY_NAME,
        descriptor_sets: vec![innolab_proto::FILE_DESCRIPTOR_SET],
        drain: settings.shutdown_drain,
        accept_http1: true,
        tls: settings.security.tls.clone(),
        limits: innolab_kit::transport::ConnectionLimits::GATEWAY,
        request_idle: innolab_kit::server::REQUEST_IDLE,
        probe_addr: settings.security.probe_addr,
        in_process: None,
        reported: settings
            .upstreams
            .iter()
            .filter_map(|u| {
                UPSTREAM_NAMES
                    .iter()
                    .find(|n| grpc_service_of(n) == u.service)
            })
            .copied()
            .collect(),
        around_routes: Some(guarded),
        edge: Some(edge),
    };
    server::serve_routes(
        listener,
        options,
        routes,
        move |readiness| watch(channels, audit_health, dispatcher, readiness),
        shutdown,
    )
    .await
}

/// A service whose health the gateway follows.
struct Watched {
    service: &'static str,
    grpc_name: &'static str,
    channel: Channel,
}

/// The gateway's readiness is its own: it can serve while its audit log (when
/// it keeps one) answers, whatever the services do, so one service down never
/// takes the door away from the others' callers. Each service's state, as the
/// gateway sees it, is reported under the service's gRPC name
/// (`innolab.membership.v1.MembershipService`), for `Check` and `Watch`.
async fn watch(
    upstreams: Vec<Watched>,
    audit: Option<audit::Store>,
    dispatcher: Option<impl Future<Output = ()> + Send + 'static>,
    readiness: Readiness,
) {
    // Owned here: the watchers (and the webhook dispatcher) stop when this
    // future is dropped (at shutdown).
    let mut watchers = tokio::task::JoinSet::new();
    if let Some(dispatcher) = dispatcher {
        watchers.spawn(dispatcher);
    }
    for upstream in upstreams {
        watchers.spawn(watch_upstream(upstream, readiness.clone()));
    }
    let mut audit_ok = true;
    loop {
        let ready = match &audit {
            None => true,
            Some(store) => {
                let ping = tokio::time::timeout(Duration::from_secs(2), store.ping()).await;
                let ok = matches!(ping, Ok(Ok(())));
                if ok != audit_ok {
                    audit_ok = ok;
                    tracing::warn!(reachable = ok, "audit database reachability changed");
                }
                ok
            }
        };
        readiness
            .set(
                ready,
                if ready {
                    "the gateway answers (whatever its services do)"
                } else {
                    "audit database unreachable"
                },
            )
            .await;
        tokio::time::sleep(Duration::from_millis(if ready { 2_000 } else { 250 })).await;
    }
}

/// Follows one service's readiness (its `""` health status) and reports it.
async fn watch_upstream(upstream: Watched, readiness: Readiness) {
    let mut serving = None;
    loop {
        let mut client = HealthClient::new(upstream.channel.clone());
        let check = client.check(HealthCheckRequest {
            service: String::new(),
        });
        let now = matches!(
            tokio::time::timeout(Duration::from_secs(2), check).await,
            Ok(Ok(ref r)) if r.get_ref().status == 1
        );
        if serving != Some(now) {
            serving = Some(now);
            readiness.report(upstream.grpc_name, now).await;
            tracing::info!(
                upstream = upstream.service,
                serving = now,
                "upstream {} is {}",
                upstream.service,
                if now { "SERVING" } else { "NOT_SERVING" }
            );
        }
        tokio::time::sleep(Duration::from_millis(if now { 1_000 } else { 250 })).await;
    }
}
