//! `innolab-membership`: serve the membership service, or migrate its database.

use clap::Parser;
use innolab_kit::cli::{self, Command};
use innolab_kit::config::ServiceArgs;

/// innolab network membership service (gRPC).
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
    let defaults = innolab_membership::DEFAULTS;
    cli::main(&defaults, &parsed.args, Ok(()), |settings| async move {
        match parsed.command.unwrap_or(Command::Serve) {
            Command::Migrate => cli::migrate(innolab_membership::migrate(&settings)).await,
            Command::Serve => {
                cli::serve(defaults.service, settings, |listener, settings, stop| {
                    innolab_membership::serve(listener, settings, stop)
                })
                .await
            }
        }
    })
    .await
}
