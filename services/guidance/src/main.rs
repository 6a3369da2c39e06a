//! `innolab-guidance`: serve the guidance service, or migrate its database.

use clap::{Parser, Subcommand};
use innolab_kit::config::ServiceArgs;
use innolab_kit::{server, telemetry};

/// innolab guidance service (gRPC).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    args: ServiceArgs,
    /// Largest attachment accepted, in bytes.
    #[arg(
        long,
        env = "INNOLAB_GUIDANCE_MAX_ATTACHMENT_BYTES",
        default_value_t = innolab_guidance::DEFAULT_MAX_ATTACHMENT_BYTES
    )]
    max_attachment_bytes: u64,
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
    let settings = match cli.args.settings(&innolab_guidance::DEFAULTS) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("innolab-guidance: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if cli.max_attachment_bytes == 0 {
        eprintln!("innolab-guidance: INNOLAB_GUIDANCE_MAX_ATTACHMENT_BYTES must be at least 1");
        return std::process::ExitCode::from(2);
    }
    let _telemetry = match telemetry::init("guidance", settings.log_format) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("innolab-guidance: telemetry: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let options = innolab_guidance::Options {
        max_attachment_bytes: cli.max_attachment_bytes,
    };
    match run(cli.command.unwrap_or(Command::Serve), settings, options).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "innolab-guidance failed");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(
    command: Command,
    settings: innolab_kit::config::Settings,
    options: innolab_guidance::Options,
) -> anyhow::Result<()> {
    match command {
        Command::Migrate => {
            innolab_guidance::migrate(&settings).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Serve => {
            if let Some(addr) = settings.metrics_addr {
                server::install_metrics(addr, "guidance").await?;
            }
            let listener = tokio::net::TcpListener::bind(settings.listen_addr)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen_addr))?;
            innolab_guidance::serve_with(listener, settings, options, server::shutdown_signal())
                .await
        }
    }
}
