//! `innolab-initiatives`: serve the initiatives service, or migrate its database.

use clap::{Parser, Subcommand};
use innolab_kit::config::ServiceArgs;
use innolab_kit::{server, telemetry};

/// innolab initiative tracking service (gRPC).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    args: ServiceArgs,
    /// gRPC address of the membership service, which says whether an organisation exists.
    #[arg(long, env = "INNOLAB_MEMBERSHIP_URL", default_value = innolab_initiatives::DEFAULT_MEMBERSHIP_URL, global = true)]
    membership_url: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve gRPC (the default).
    Serve,
    /// Apply database migrations, then exit.
    Migrate,
    /// Write the open-data export (initiatives.csv and initiatives.json), then exit.
    Export {
        /// Folder to write into (created if missing).
        #[arg(long, default_value = "innolab-export")]
        out_dir: std::path::PathBuf,
        /// Only initiatives matching this filter (as in ListInitiatives).
        #[arg(long, default_value = "")]
        filter: String,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let settings = match cli.args.settings(&innolab_initiatives::DEFAULTS) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("innolab-initiatives: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Err(e) = innolab_kit::balance::Targets::parse(&cli.membership_url) {
        eprintln!("innolab-initiatives: INNOLAB_MEMBERSHIP_URL: {e}");
        return std::process::ExitCode::from(2);
    }
    let _telemetry = match telemetry::init("initiatives", settings.log_format) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("innolab-initiatives: telemetry: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    match run(command, settings, &cli.membership_url).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "innolab-initiatives failed");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(
    command: Command,
    settings: innolab_kit::config::Settings,
    membership_url: &str,
) -> anyhow::Result<()> {
    match command {
        Command::Migrate => {
            innolab_initiatives::migrate(&settings).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Export { out_dir, filter } => {
            let count = innolab_initiatives::export(&settings, &filter, &out_dir).await?;
            tracing::info!(count, dir = %out_dir.display(), "export written");
            Ok(())
        }
        Command::Serve => {
            if let Some(addr) = settings.metrics_addr {
                server::install_metrics(addr, "initiatives").await?;
            }
            let listener = tokio::net::TcpListener::bind(settings.listen_addr)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen_addr))?;
            innolab_initiatives::serve(
                listener,
                settings,
                membership_url,
                server::shutdown_signal(),
            )
            .await
        }
    }
}
