//! `innolab-gateway`: the gateway alone, in front of services running as
//! separate processes (as on Kubernetes), configured by environment variables.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use innolab_kit::config::LogFormat;
use innolab_kit::{server, telemetry};

/// innolab gateway: one gRPC endpoint in front of the services.
#[derive(Debug, Parser)]
#[command(
    version,
    about,
    after_help = "Services are found at INNOLAB_MEMBERSHIP_URL, INNOLAB_INITIATIVES_URL, \
                  INNOLAB_GUIDANCE_URL and INNOLAB_IMPACT_URL (default http://127.0.0.1:50051 to 50054)."
)]
struct Cli {
    /// gRPC listen address.
    #[arg(long, env = "INNOLAB_LISTEN_ADDR", default_value = "127.0.0.1:50050")]
    listen_addr: SocketAddr,
    /// Prometheus metrics listen address, or `off`.
    #[arg(long, env = "INNOLAB_METRICS_ADDR", default_value = "127.0.0.1:9150")]
    metrics_addr: String,
    /// Seconds in-flight calls get to finish after SIGTERM.
    #[arg(long, env = "INNOLAB_SHUTDOWN_DRAIN_SECONDS", default_value_t = 20)]
    shutdown_drain_seconds: u64,
    /// Milliseconds to wait for a connection to a service before answering UNAVAILABLE.
    #[arg(long, env = "INNOLAB_CONNECT_TIMEOUT_MS", default_value_t = 1000)]
    connect_timeout_ms: u64,
    /// Log format.
    #[arg(long, env = "INNOLAB_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let _telemetry = match telemetry::init("gateway", cli.log_format) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("innolab-gateway: telemetry: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let security = match innolab_gateway::security::from_env() {
        Ok(security) => security,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("innolab-gateway: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(cli, security).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "innolab-gateway failed");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, security: innolab_gateway::security::Security) -> anyhow::Result<()> {
    if cli.metrics_addr != "off" {
        let addr: SocketAddr = cli.metrics_addr.parse().map_err(|e| {
            anyhow::anyhow!(
                "INNOLAB_METRICS_ADDR {:?} is not host:port or `off`: {e}",
                cli.metrics_addr
            )
        })?;
        server::install_metrics(addr)?;
    }
    let settings = innolab_gateway::GatewaySettings {
        upstreams: innolab_gateway::upstreams("127.0.0.1"),
        shutdown_drain: Duration::from_secs(cli.shutdown_drain_seconds),
        connect_timeout: Duration::from_millis(cli.connect_timeout_ms),
        security,
    };
    let listener = tokio::net::TcpListener::bind(cli.listen_addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", cli.listen_addr))?;
    innolab_gateway::serve(listener, settings, server::shutdown_signal()).await
}
