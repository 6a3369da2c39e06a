//! `innolab-guidance`: serve the guidance service, migrate its database, or
//! write the published guidance as open data.

use innolab_kit::cli::{self, Cli, Command, Commands, ExportCommand};

/// Settings of the guidance service beyond every service's.
#[derive(Debug, clap::Args)]
struct Own {
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
    let defaults = innolab_guidance::DEFAULTS;
    let mut parsed =
        Cli::<ExportCommand, Own>::parse_for(&defaults, "innolab guidance service (gRPC).");
    let command = parsed.take_command();
    let extra = if parsed.own.max_attachment_bytes == 0 {
        Err("INNOLAB_GUIDANCE_MAX_ATTACHMENT_BYTES must be at least 1".to_string())
    } else {
        Ok(())
    };
    let options = innolab_guidance::Options {
        max_attachment_bytes: parsed.own.max_attachment_bytes,
    };
    cli::main(&defaults, &parsed.args, extra, |settings| async move {
        match command {
            Commands::Common(Command::Migrate) => {
                cli::migrate_with(&settings, &innolab_guidance::SPEC.migrations).await
            }
            Commands::Common(Command::Serve) => {
                cli::serve(defaults.service, settings, |listener, settings, stop| {
                    innolab_guidance::serve_with(listener, settings, options, stop)
                })
                .await
            }
            Commands::Own(ExportCommand::Export { release }) => {
                cli::export(&release, async |r| {
                    innolab_guidance::export(&settings, &release.out_dir, &r).await
                })
                .await
            }
        }
    })
    .await
}
