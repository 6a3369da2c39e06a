//! `innolab-initiatives`: serve the initiatives service, migrate its
//! database, or write the open-data export.

use innolab_kit::cli::{self, Cli, Command, Commands};

/// Settings of the initiatives service beyond every service's.
#[derive(Debug, clap::Args)]
struct Own {
    /// gRPC address of the membership service, which says whether an organisation exists.
    #[arg(long, env = "INNOLAB_MEMBERSHIP_URL", default_value = innolab_initiatives::DEFAULT_MEMBERSHIP_URL, global = true)]
    membership_url: String,
}

/// Commands of the initiatives service beyond every service's.
#[derive(Debug, clap::Subcommand)]
enum OwnCommand {
    /// Write the open-data export (initiatives.csv and initiatives.json,
    /// challenges.csv, calls.csv and submissions.csv (accepted ones), their
    /// CSVW metadata, DCAT-AP dataset records and the release's catalogue),
    /// then exit.
    Export {
        /// Only initiatives matching this filter (as in ListInitiatives);
        /// the other collections are written whole.
        #[arg(long, default_value = "")]
        filter: String,
        /// Where to write, and where and by whom it will be published.
        #[command(flatten)]
        release: innolab_kit::opendata::ReleaseArgs,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let defaults = innolab_initiatives::DEFAULTS;
    let mut parsed =
        Cli::<OwnCommand, Own>::parse_for(&defaults, "innolab initiative tracking service (gRPC).");
    let command = parsed.take_command();
    let extra = innolab_kit::balance::Targets::parse(&parsed.own.membership_url)
        .map(drop)
        .map_err(|e| format!("INNOLAB_MEMBERSHIP_URL: {e}"));
    let membership_url = parsed.own.membership_url;
    cli::main(&defaults, &parsed.args, extra, |settings| async move {
        match command {
            Commands::Common(Command::Migrate) => {
                cli::migrate_with(&settings, &innolab_initiatives::SPEC.migrations).await
            }
            Commands::Own(OwnCommand::Export { filter, release }) => {
                cli::export(&release, async |r| {
                    innolab_initiatives::export(&settings, &filter, &release.out_dir, &r).await
                })
                .await
            }
            Commands::Common(Command::Serve) => {
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
