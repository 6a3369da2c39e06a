//! `innolab-impact`: serve the impact service, or migrate its database.

use clap::Parser;
use innolab_kit::cli::{self, Command};
use innolab_kit::config::ServiceArgs;

/// innolab impact assessment service (gRPC).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    args: ServiceArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let parsed = Cli::parse();
    let defaults = innolab_impact::DEFAULTS;
    cli::main(&defaults, &parsed.args, Ok(()), |settings| async move {
        match parsed.command.unwrap_or(Command::Serve) {
            Command::Migrate => cli::migrate(innolab_impact::migrate(&settings)).await,
            Command::Serve => {
                cli::serve(defaults.service, settings, |listener, settings, stop| {
                    innolab_impact::serve(listener, settings, stop)
                })
                .await
            }
        }
    })
    .await
}
