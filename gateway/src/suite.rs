//! The whole suite in one process: every service on its own port over its own
//! database, and the gateway in front, talking real gRPC over loopback.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use innolab_kit::config::{ConfigError, Defaults, ServiceArgs, Settings};
use innolab_kit::db::Backend;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic_health::pb::health_client::HealthClient;

use crate::GatewaySettings;

/// A service's `serve` function; the `String` is the membership service's URL
/// (services that check organisations ask it).
pub type Serve = fn(
    TcpListener,
    Settings,
    String,
    Pin<Box<dyn Future<Output = ()> + Send>>,
) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// Every service of the suite: its defaults and its `serve`. Membership comes
/// first: the others may need its address.
const SERVICES: &[(Defaults, Serve)] = &[
    (innolab_membership::DEFAULTS, |l, s, _, stop| {
        Box::pin(innolab_membership::serve(l, s, stop))
    }),
    (innolab_initiatives::DEFAULTS, |l, s, membership, stop| {
        Box::pin(async move { innolab_initiatives::serve(l, s, &membership, stop).await })
    }),
    (innolab_guidance::DEFAULTS, |l, s, _, stop| {
        Box::pin(innolab_guidance::serve_with(l, s, guidance_options(), stop))
    }),
    (innolab_impact::DEFAULTS, |l, s, _, stop| {
        Box::pin(innolab_impact::serve(l, s, stop))
    }),
];

/// Guidance's attachment limit, from `INNOLAB_GUIDANCE_MAX_ATTACHMENT_BYTES` as
/// for the standalone binary.
fn guidance_options() -> innolab_guidance::Options {
    let mut options = innolab_guidance::Options::default();
    if let Some(bytes) = std::env::var("INNOLAB_GUIDANCE_MAX_ATTACHMENT_BYTES")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|b| *b > 0)
    {
        options.max_attachment_bytes = bytes;
    }
    options
}

/// Every service of the suite, with its defaults.
pub fn services() -> &'static [(Defaults, Serve)] {
    SERVICES
}

/// Default gateway port.
pub const GATEWAY_PORT: u16 = 50050;

/// The suite's own command line: the settings every service shares, where
/// each service listens, and the demo dataset.
#[derive(Debug, Clone, clap::Args)]
pub struct SuiteArgs {
    /// Shared by the gateway and every service.
    #[command(flatten)]
    pub shared: ServiceArgs,
    /// The membership service's gRPC address [default: the gateway's host,
    /// port 50051; any free port when the gateway's port is 0].
    #[arg(long, env = "INNOLAB_MEMBERSHIP_ADDR")]
    pub membership_addr: Option<SocketAddr>,
    /// The initiatives service's gRPC address [default: port 50052, as above].
    #[arg(long, env = "INNOLAB_INITIATIVES_ADDR")]
    pub initiatives_addr: Option<SocketAddr>,
    /// The guidance service's gRPC address [default: port 50053, as above].
    #[arg(long, env = "INNOLAB_GUIDANCE_ADDR")]
    pub guidance_addr: Option<SocketAddr>,
    /// The impact service's gRPC address [default: port 50054, as above].
    #[arg(long, env = "INNOLAB_IMPACT_ADDR")]
    pub impact_addr: Option<SocketAddr>,
    /// Load a small demo dataset (drawn from public documents) once the suite is up.
    #[arg(long, env = "INNOLAB_DEMO")]
    pub demo: bool,
}

impl SuiteArgs {
    /// Only the shared settings (every service at its default address).
    pub fn new(shared: ServiceArgs) -> SuiteArgs {
        SuiteArgs {
            shared,
            membership_addr: None,
            initiatives_addr: None,
            guidance_addr: None,
            impact_addr: None,
            demo: false,
        }
    }

    /// The address asked for `service`, and the variable that asked.
    fn addr_of(&self, service: &str) -> (Option<SocketAddr>, &'static str) {
        match service {
            "membership" => (self.membership_addr, "INNOLAB_MEMBERSHIP_ADDR"),
            "initiatives" => (self.initiatives_addr, "INNOLAB_INITIATIVES_ADDR"),
            "guidance" => (self.guidance_addr, "INNOLAB_GUIDANCE_ADDR"),
            "impact" => (self.impact_addr, "INNOLAB_IMPACT_ADDR"),
            _ => (None, "INNOLAB_LISTEN_ADDR"),
        }
    }
}

/// Settings of one service in the suite, from the suite's arguments: the
/// gateway takes `INNOLAB_LISTEN_ADDR`; each service listens at its own
/// `INNOLAB_<SERVICE>_ADDR`, by default on the gateway's host at its own
/// port, on its own SQLite file or PostgreSQL schema.
pub fn service_settings(suite: &SuiteArgs, defaults: &Defaults) -> Result<Settings, ConfigError> {
    let args = &suite.shared;
    if args.database_schema.is_some() {
        return Err(ConfigError {
            setting: "INNOLAB_DATABASE_SCHEMA",
            reason: "the suite gives each service its own schema; leave it unset".into(),
        });
    }
    if let Some(url) = &args.database_url
        && Backend::from_url(url) == Some(Backend::Sqlite)
    {
        return Err(ConfigError {
            setting: "INNOLAB_DATABASE_URL",
            reason: "the suite keeps one SQLite file per service under innolab-data/; \
                     set the URL only for PostgreSQL"
                .into(),
        });
    }
    let mut settings = args.settings(defaults)?;
    let gateway = gateway_addr(args);
    settings.listen_addr = match suite.addr_of(defaults.service).0 {
        Some(addr) => addr,
        // A gateway on an ephemeral port (tests) puts the services on ephemeral ports too.
        None if gateway.port() == 0 => SocketAddr::new(gateway.ip(), 0),
        None => SocketAddr::new(gateway.ip(), defaults.port),
    };
    settings.metrics_addr = None;
    Ok(settings)
}

/// Where the one-process suite on SQLite keeps webhook subscriptions.
pub const SUBSCRIPTIONS_SQLITE: &str = "sqlite://innolab-data/subscriptions.db";

/// Where the gateway listens in the suite.
pub fn gateway_addr(args: &ServiceArgs) -> SocketAddr {
    args.listen_addr
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], GATEWAY_PORT)))
}

/// Runs every service and the gateway until `shutdown`, then stops them all.
pub async fn run(
    suite: &SuiteArgs,
    security: crate::security::Security,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let args = &suite.shared;
    let demo = suite.demo;
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        Box::pin(async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }) as Pin<Box<dyn Future<Output = ()> + Send>>
    };

    let mut tasks = tokio::task::JoinSet::new();
    let mut bound_at = Vec::new();
    let mut upstreams = crate::upstreams("127.0.0.1");
    let mut drain = Duration::from_secs(args.shutdown_drain_seconds);
    for (defaults, serve) in SERVICES {
        let mut settings = service_settings(suite, defaults)?;
        drain = settings.shutdown_drain;
        // The gateway calls the services of its own process directly.
        let slot = innolab_kit::server::InProcess::new();
        settings.in_process = Some(slot.clone());
        let listener = TcpListener::bind(settings.listen_addr).await.map_err(|e| {
            anyhow::anyhow!(
                "{}: cannot listen on {} ({}): {e}",
                defaults.service,
                settings.listen_addr,
                suite.addr_of(defaults.service).1
            )
        })?;
        let bound = listener.local_addr()?;
        bound_at.push((defaults.service, bound));
        for upstream in upstreams
            .iter_mut()
            .filter(|u| u.service == defaults.service)
        {
            upstream.url = format!("http://{bound}");
            upstream.in_process = Some(slot.clone());
        }
        let membership = upstreams
            .iter()
            .find(|u| u.service == "membership")
            .map(|u| u.url.clone())
            .unwrap_or_default();
        tasks.spawn(serve(listener, settings, membership, stopped()));
    }

    let listener = TcpListener::bind(gateway_addr(args)).await.map_err(|e| {
        anyhow::anyhow!(
            "gateway: cannot listen on {} (INNOLAB_LISTEN_ADDR): {e}",
            gateway_addr(args)
        )
    })?;
    let gateway = listener.local_addr()?;
    if demo && security.guard.enforcing() {
        anyhow::bail!(
            "--demo loads its dataset through the gateway without an identity; \
             run it without INNOLAB_ACCESS_FILE"
        );
    }
    if demo && security.tls.is_some() {
        anyhow::bail!(
            "--demo loads its dataset through the gateway in plaintext; \
             run it without INNOLAB_TLS_CERT_FILE"
        );
    }
    let tls = security.tls.is_some();
    let mut security = security;
    // The suite on embedded SQLite keeps subscriptions there too, beside
    // the services' files; on PostgreSQL they are where
    // INNOLAB_SUBSCRIPTIONS_DATABASE_URL says (none when unset).
    if security.subscriptions.is_none()
        && args.database_url.is_none()
        && args.database_url_file.is_none()
    {
        let database =
            innolab_kit::config::DatabaseSettings::new(SUBSCRIPTIONS_SQLITE, "subscriptions", 4)?;
        security.subscriptions = Some(crate::hooks::Settings::new(database));
    }
    let settings = GatewaySettings {
        upstreams,
        shutdown_drain: drain,
        connect_timeout: Duration::from_secs(1),
        security,
    };
    tasks.spawn(crate::serve(listener, settings, stopped()));
    tracing::info!(%gateway, "innolab suite starting: gateway on {gateway}");
    tokio::spawn(announce_when_ready(gateway, bound_at, demo, tls));

    tokio::select! {
        () = shutdown => {}
        Some(early) = tasks.join_next() => {
            // A part stopped by itself: stop the rest and report why.
            let _ = stop_tx.send(true);
            while tasks.join_next().await.is_some() {}
            return match early {
                Ok(Ok(())) => Err(anyhow::anyhow!("a service stopped unexpectedly")),
                Ok(Err(e)) => Err(e),
                Err(e) => Err(e.into()),
            };
        }
    }
    let _ = stop_tx.send(true);
    let mut result = Ok(());
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => result = Err(e),
            Err(e) => result = Err(e.into()),
        }
    }
    result
}

/// Waits until the gateway sees every service ready (behind a TLS gateway,
/// until every service is ready on its own plaintext socket), then says once
/// where everything listens and, with `demo`, loads the demo dataset
/// through the gateway.
async fn announce_when_ready(
    gateway: SocketAddr,
    services: Vec<(&str, SocketAddr)>,
    demo: bool,
    tls: bool,
) {
    let outcome = async {
        let channel =
            tonic::transport::Endpoint::from_shared(format!("http://{gateway}"))?.connect_lazy();
        // (health client, the name asked about)
        let mut probes = Vec::new();
        if tls {
            for (_, addr) in &services {
                let direct = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
                    .connect_lazy();
                probes.push((HealthClient::new(direct), String::new()));
            }
        } else {
            for name in crate::UPSTREAM_NAMES {
                probes.push((HealthClient::new(channel.clone()), name.to_string()));
            }
        }
        for _ in 0..600 {
            let mut ready = true;
            for (health, service) in &mut probes {
                ready &= health
                    .check(tonic_health::pb::HealthCheckRequest {
                        service: service.clone(),
                    })
                    .await
                    .is_ok_and(|r| r.get_ref().status == 1);
            }
            if ready {
                let list: Vec<String> = services
                    .iter()
                    .map(|(service, addr)| format!("{service} {addr}"))
                    .collect();
                tracing::info!(
                    %gateway,
                    services = list.join(", "),
                    "innolab suite ready: gateway on {gateway} (gRPC and JSON); {}",
                    list.join(", ")
                );
                if demo {
                    let steps = crate::demo::load(channel).await?;
                    tracing::info!(steps, "demo dataset loaded");
                }
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the suite did not become ready within a minute")
    }
    .await;
    if let Err(e) = outcome {
        tracing::error!(error = format!("{e:#}"), "innolab suite not ready");
    }
}
