//! `innolab-guidance`: serve the guidance service, or migrate its database.

use clap::Parser;
use innolab_kit::cli::{self, Command};
use innolab_kit::config::ServiceArgs;

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

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let parsed = Cli::parse();
    let defaults = innolab_guidance::DEFAULTS;
    let extra = if parsed.max_attachment_bytes == 0 {
        Err("INNOLAB_GUIDANCE_MAX_ATTACHMENT_BYTES must be at least 1".to_string())
    } else {
        Ok(())
    };
    let options = innolab_guidance::Options {
        max_attachment_bytes: parsed.max_attachment_bytes,
    };
    cli::main(&defaults, &parsed.args, extra, |settings| async move {
        match parsed.command.unwrap_or(Command::Serve) {
            Command::Migrate => cli::migrate(innolab_guidance::migrate(&settings)).await,
            Command::Serve => {
                cli::serve(defaults.service, settings, |listener, settings, stop| {
                    innolab_guidance::serve_with(listener, settings, options, stop)
                })
                .await
            }
        }
    })
    .await
}
