//! `innolab`: the whole suite (every service and the gateway) in one process,
//! on embedded SQLite files by default.

use clap::Parser;
use innolab_gateway::suite::SuiteArgs;
use innolab_kit::{server, telemetry};

/// innolab suite: every service and the gateway in one process.
#[derive(Debug, Parser)]
#[command(
    name = "innolab",
    version,
    about = "innolab suite: the membership, initiatives, guidance and impact services and the \
             gateway in front of them, in one process",
    long_about = None,
    after_help = "Each service keeps its data in its own SQLite file under innolab-data/, or in \
                  its own schema of the PostgreSQL database at INNOLAB_DATABASE_URL. Callers use \
                  the gateway (INNOLAB_LISTEN_ADDR); the services' own addresses are for \
                  operators. Deployed as separate containers, each service is its own binary \
                  (innolab-membership, ...) and the gateway is innolab-gateway.",
    // What the services' own binaries offer but the suite sets itself.
    mut_arg("database_schema", |a| a.hide(true)),
    mut_arg("database_url", |a| a.help(
        "PostgreSQL URL shared by every service, each in its own schema \
         [default: one SQLite file per service under innolab-data/]"
    )),
    mut_arg("listen_addr", |a| a.help(
        "The gateway's address, for gRPC and JSON callers [default: 127.0.0.1:50050]"
    )),
    mut_arg("metrics_addr", |a| a.help(
        "Prometheus metrics of the whole suite, or `off` [default: 127.0.0.1:9150]"
    )),
)]
struct Cli {
    #[command(flatten)]
    args: SuiteArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let _telemetry = match telemetry::init("suite", cli.args.shared.log_format) {
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
    match run(cli.args, security).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "innolab failed");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: SuiteArgs, security: innolab_gateway::security::Security) -> anyhow::Result<()> {
    let metrics = match args.shared.metrics_addr.as_deref() {
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
    innolab_gateway::suite::run(&args, security, server::shutdown_signal()).await
}
