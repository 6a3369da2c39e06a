//! `innolab`: the whole suite (every service and the gateway) in one process,
//! on embedded SQLite files by default.

use clap::Parser;
use innolab_kit::config::ServiceArgs;
use innolab_kit::{server, telemetry};

/// innolab suite: every service and the gateway in one process.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    args: ServiceArgs,
    /// Load a small demo dataset (drawn from public documents) once the suite is up.
    #[arg(long, env = "INNOLAB_DEMO")]
    demo: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let _telemetry = match telemetry::init("suite", cli.args.log_format) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("innolab: telemetry: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    // Validate every service's settings before starting anything.
    for (defaults, _) in innolab_gateway::suite::services() {
        if let Err(e) = innolab_gateway::suite::service_settings(&cli.args, defaults) {
            eprintln!("innolab: {e}");
            return std::process::ExitCode::from(2);
        }
    }
    let security = match innolab_gateway::security::from_env() {
        Ok(security) => security,
        Err(e) => {
            eprintln!("innolab: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(cli.args, cli.demo, security).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "innolab failed");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(
    args: ServiceArgs,
    demo: bool,
    security: innolab_gateway::security::Security,
) -> anyhow::Result<()> {
    let metrics = match args.metrics_addr.as_deref() {
        Some("off") => None,
        Some(addr) => Some(
            addr.parse()
                .map_err(|e| anyhow::anyhow!("INNOLAB_METRICS_ADDR {addr:?}: {e}"))?,
        ),
        None => Some(std::net::SocketAddr::from(([127, 0, 0, 1], 9150))),
    };
    if let Some(addr) = metrics {
        server::install_metrics(addr, "suite").await?;
    }
    innolab_gateway::suite::run(&args, demo, security, server::shutdown_signal()).await
}
