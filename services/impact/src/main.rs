//! `innolab-impact`: serve the impact service, or migrate its database.

use clap::{Parser, Subcommand};
use innolab_kit::config::ServiceArgs;
use innolab_kit::{server, telemetry};

/// innolab impact assessment service (gRPC).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    args: ServiceArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve gRPC (the default).
    Serve,
    /// Apply database migrations, then exit.
    Migrate,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let settings = match cli.args.settings(&innolab_impact::DEFAULTS) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("innolab-impact: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let _telemetry = match telemetry::init("impact", settings.log_format) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("innolab-impact: telemetry: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(cli.command.unwrap_or(Command::Serve), settings).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "innolab-impact failed");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: innolab_kit::config::Settings) -> anyhow::Result<()> {
    match command {
        Command::Migrate => {
            innolab_impact::migrate(&settings).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Serve => {
            if let Some(addr) = settings.metrics_addr {
                server::install_metrics(addr, "impact").await?;
            }
            let listener = tokio::net::TcpListener::bind(settings.listen_addr)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen_addr))?;
            innolab_impact::serve(listener, settings, server::shutdown_signal()).await
        }
    }
}
