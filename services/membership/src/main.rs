//! `innolab-membership`: serve the membership service, migrate its
//! database, or write the network's open data.

use innolab_kit::cli::{self, Cli, Command, Commands, NoArgs};

/// Commands of the membership service beyond every service's.
#[derive(Debug, clap::Subcommand)]
enum OwnCommand {
    /// Write the network's open data (organisations, groups, memberships and
    /// posts as CSV with CSVW and DCAT-AP records, Popolo JSON, W3C ORG
    /// JSON-LD; nothing personal), then exit.
    Export {
        /// Where to write, and where and by whom it will be published.
        #[command(flatten)]
        release: innolab_kit::opendata::ReleaseArgs,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let defaults = innolab_membership::DEFAULTS;
    let mut parsed = Cli::<OwnCommand, NoArgs>::parse_for(
        &defaults,
        "innolab network membership service (gRPC).",
    );
    let command = parsed.take_command();
    cli::main(&defaults, &parsed.args, Ok(()), |settings| async move {
        match command {
            Commands::Common(Command::Migrate) => {
                cli::migrate_with(&settings, &innolab_membership::SPEC.migrations).await
            }
            Commands::Own(OwnCommand::Export { release }) => {
                let out_dir = &release.out_dir;
                let counts =
                    innolab_membership::export(&settings, out_dir, &release.release()?).await?;
                tracing::info!(?counts, dir = %out_dir.display(), "export written");
                Ok(())
            }
            Commands::Common(Command::Serve) => {
                cli::serve(defaults.service, settings, innolab_membership::serve).await
            }
        }
    })
    .await
}
