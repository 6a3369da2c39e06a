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

/// Settings of one service in the suite, from the shared arguments: the
/// gateway takes `INNOLAB_LISTEN_ADDR`; each service listens on the same host
/// at its own default port, on its own SQLite file or PostgreSQL schema.
pub fn service_settings(args: &ServiceArgs, defaults: &Defaults) -> Result<Settings, ConfigError> {
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
    // A gateway on an ephemeral port (tests) puts the services on ephemeral ports too.
    let port = if gateway.port() == 0 {
        0
    } else {
        defaults.port
    };
    settings.listen_addr = SocketAddr::new(gateway.ip(), port);
    settings.metrics_addr = None;
    Ok(settings)
}

/// Where the gateway listens in the suite.
pub fn gateway_addr(args: &ServiceArgs) -> SocketAddr {
    args.listen_addr
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], GATEWAY_PORT)))
}

/// Runs every service and the gateway until `shutdown`, then stops them all.
pub async fn run(
    args: &ServiceArgs,
    demo: bool,
    security: crate::security::Security,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        Box::pin(async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }) as Pin<Box<dyn Future<Output = ()> + Send>>
    };

    let mut tasks = tokio::task::JoinSet::new();
    let mut upstreams = crate::upstreams("127.0.0.1");
    let mut drain = Duration::from_secs(args.shutdown_drain_seconds);
    for (defaults, serve) in SERVICES {
        let mut settings = service_settings(args, defaults)?;
        drain = settings.shutdown_drain;
        // The gateway calls the services of its own process directly.
        let slot = innolab_kit::server::InProcess::new();
        settings.in_process = Some(slot.clone());
        let listener = TcpListener::bind(settings.listen_addr).await.map_err(|e| {
            anyhow::anyhow!(
                "{}: cannot listen on {}: {e}",
                defaults.service,
                settings.listen_addr
            )
        })?;
        let bound = listener.local_addr()?;
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

    let listener = TcpListener::bind(gateway_addr(args))
        .await
        .map_err(|e| anyhow::anyhow!("gateway: cannot listen on {}: {e}", gateway_addr(args)))?;
    let gateway = listener.local_addr()?;
    if demo && security.guard.enforcing() {
        anyhow::bail!(
            "--demo loads its dataset through the gateway without an identity; \
             run it without INNOLAB_ACCESS_FILE"
        );
    }
    let settings = GatewaySettings {
        upstreams,
        shutdown_drain: drain,
        connect_timeout: Duration::from_secs(1),
        security,
    };
    tasks.spawn(crate::serve(listener, settings, stopped()));
    tracing::info!(%gateway, "innolab suite ready to start: gateway on {gateway}");
    if demo {
        tokio::spawn(load_demo(gateway));
    }

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

/// Waits until the gateway sees every service ready, then loads the demo dataset through it.
async fn load_demo(gateway: SocketAddr) {
    let outcome = async {
        let channel =
            tonic::transport::Endpoint::from_shared(format!("http://{gateway}"))?.connect_lazy();
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
        for _ in 0..600 {
            // Every service behind the gateway, as the gateway sees it.
            let mut ready = true;
            for name in crate::UPSTREAM_NAMES {
                ready &= health
                    .check(tonic_health::pb::HealthCheckRequest {
                        service: name.to_string(),
                    })
                    .await
                    .is_ok_and(|r| r.get_ref().status == 1);
            }
            if ready {
                return crate::demo::load(channel).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the suite did not become ready within a minute")
    }
    .await;
    match outcome {
        Ok(steps) => tracing::info!(steps, "demo dataset loaded"),
        Err(e) => tracing::error!(error = format!("{e:#}"), "demo dataset not loaded"),
    }
}
