//! `innolab-initiatives`: serve the initiatives service, or migrate its database.

use clap::Parser;
use innolab_kit::cli;
use innolab_kit::config::ServiceArgs;

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

#[derive(Debug, clap::Subcommand)]
enum Command {
    #[command(flatten)]
    Common(cli::Command),
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
    let parsed = Cli::parse();
    let defaults = innolab_initiatives::DEFAULTS;
    let extra = innolab_kit::balance::Targets::parse(&parsed.membership_url)
        .map(drop)
        .map_err(|e| format!("INNOLAB_MEMBERSHIP_URL: {e}"));
    let membership_url = parsed.membership_url;
    cli::main(&defaults, &parsed.args, extra, |settings| async move {
        match parsed
            .command
            .unwrap_or(Command::Common(cli::Command::Serve))
        {
            Command::Common(cli::Command::Migrate) => {
                cli::migrate(innolab_initiatives::migrate(&settings)).await
            }
            Command::Export { out_dir, filter } => {
                let count = innolab_initiatives::export(&settings, &filter, &out_dir).await?;
                tracing::info!(count, dir = %out_dir.display(), "export written");
                Ok(())
            }
            Command::Common(cli::Command::Serve) => {
                cli::serve(
                    defaults.service,
                    settings,
                    |listener, settings, stop| async move {
                        innolab_initiatives::serve(listener, settings, &membership_url, stop).await
                    },
                )
                .await
            }
        }
    })
    .await
}
