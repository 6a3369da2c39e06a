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
    /// Write the open-data export (initiatives.csv and initiatives.json, their
    /// CSVW metadata, a DCAT-AP dataset record and the release's catalogue),
    /// then exit.
    Export {
        /// Folder to write into (created if missing).
        #[arg(long, default_value = "innolab-export")]
        out_dir: std::path::PathBuf,
        /// Only initiatives matching this filter (as in ListInitiatives).
        #[arg(long, default_value = "")]
        filter: String,
        /// Where the files will be published (their folder's URL); the DCAT
        /// records point there. Default: the folder itself, as a file: URL.
        #[arg(long, env = "INNOLAB_OPEN_DATA_BASE_URL")]
        base_url: Option<String>,
        /// The publisher's URI (e.g. the lab's web page). Default: the base URL.
        #[arg(long, env = "INNOLAB_OPEN_DATA_PUBLISHER_URI")]
        publisher_uri: Option<String>,
        /// The publisher's name.
        #[arg(
            long,
            env = "INNOLAB_OPEN_DATA_PUBLISHER_NAME",
            default_value = "innolab"
        )]
        publisher_name: String,
        /// The licence's URI.
        #[arg(long, env = "INNOLAB_OPEN_DATA_LICENCE", default_value = innolab_kit::opendata::CC_BY_4)]
        licence: String,
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
            Commands::Own(OwnCommand::Export {
                out_dir,
                filter,
                base_url,
                publisher_uri,
                publisher_name,
                licence,
            }) => {
                std::fs::create_dir_all(&out_dir)?;
                let base_url = match base_url {
                    Some(url) if url.ends_with('/') => url,
                    Some(url) => format!("{url}/"),
                    None => format!("file://{}/", std::fs::canonicalize(&out_dir)?.display()),
                };
                let release = innolab_kit::opendata::Release {
                    publisher_uri: publisher_uri.unwrap_or_else(|| base_url.clone()),
                    base_url,
                    publisher_name,
                    licence,
                };
                let count =
                    innolab_initiatives::export(&settings, &filter, &out_dir, &release).await?;
                tracing::info!(count, dir = %out_dir.display(), "export written");
                Ok(())
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
