//! One `main` for every service binary: the settings (a refused one exits 2
//! naming its variable), telemetry, then the command, `serve` by default;
//! `migrate` and a service's own commands beside it.

use std::future::Future;
use std::process::ExitCode;

use clap::FromArgMatches as _;
use tokio::net::TcpListener;

use crate::config::{Defaults, ServiceArgs, Settings};
use crate::db::{Database, Migrations};

/// The commands every service binary has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Subcommand)]
pub enum Command {
    /// Serve gRPC (the default).
    Serve,
    /// Apply database migrations, then exit.
    Migrate,
}

/// A service binary's command line: the commands every service has and the
/// service's own (`C`), the settings every service has and its own (`A`).
#[derive(Debug, clap::Parser)]
#[command(version)]
pub struct Cli<C: clap::Subcommand, A: clap::Args> {
    /// The command; `serve` when none is given.
    #[command(subcommand)]
    pub command: Option<Commands<C>>,
    /// The settings every service has.
    #[command(flatten)]
    pub args: ServiceArgs,
    /// The service's own settings.
    #[command(flatten)]
    pub own: A,
}

/// The commands of a service binary: every service's, then its own.
#[derive(Debug, clap::Subcommand)]
pub enum Commands<C: clap::Subcommand> {
    /// `serve` or `migrate`.
    #[command(flatten)]
    Common(Command),
    /// The service's own.
    #[command(flatten)]
    Own(C),
}

/// No commands beyond `serve` and `migrate`.
#[derive(Debug, Clone, Copy, clap::Subcommand)]
pub enum NoCommands {}

/// The `export` command of a service whose open data takes no options of
/// its own (`innolab-<service> export --out-dir DIR ...`).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ExportCommand {
    /// Write the service's open data (CSV files with their CSVW metadata,
    /// DCAT-AP dataset records and the release folder's catalogue; nothing
    /// personal), read in one snapshot, then exit.
    Export {
        /// Where to write, and where and by whom it will be published.
        #[command(flatten)]
        release: crate::opendata::ReleaseArgs,
    },
}

/// Runs an `export` command: `write` writes the release described by
/// `release` and says what it wrote, which is logged.
pub async fn export<T, F, Fut>(
    release: &crate::opendata::ReleaseArgs,
    write: F,
) -> anyhow::Result<()>
where
    T: std::fmt::Debug,
    F: FnOnce(crate::opendata::Release) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let written = write(release.release()?).await?;
    tracing::info!(?written, dir = %release.out_dir.display(), "export written");
    Ok(())
}

/// No settings beyond every service's.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct NoArgs {}

impl<C: clap::Subcommand, A: clap::Args> Cli<C, A> {
    /// The command line of `innolab-<service>`, whose `--help` says `about`;
    /// a wrong one exits 2 with clap's message.
    pub fn parse_for(defaults: &Defaults, about: &'static str) -> Self {
        let matches = <Self as clap::CommandFactory>::command()
            .name(format!("innolab-{}", defaults.service))
            .about(about)
            .get_matches();
        Self::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }

    /// The command to run, `serve` when none was given.
    pub fn take_command(&mut self) -> Commands<C> {
        self.command
            .take()
            .unwrap_or(Commands::Common(Command::Serve))
    }
}

/// `migrate`: applies `migrations` to the configured database, and says so.
pub async fn migrate_with(settings: &Settings, migrations: &Migrations) -> anyhow::Result<()> {
    migrate(Database::migrate_once(&settings.database, migrations)).await
}

/// Runs a service binary: `args` with the service's `defaults` become its
/// settings (exit 2 when refused), `extra` checks the service's own ones
/// (exit 2 with its message), telemetry starts, and `run` does the command;
/// its error is logged and the exit code is 1.
pub async fn main<F, Fut>(
    defaults: &Defaults,
    args: &ServiceArgs,
    extra: Result<(), String>,
    run: F,
) -> ExitCode
where
    F: FnOnce(Settings) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let binary = format!("innolab-{}", defaults.service);
    let settings = match args.settings(defaults) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{binary}: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = extra {
        eprintln!("{binary}: {e}");
        return ExitCode::from(2);
    }
    let _telemetry = match crate::telemetry::init(defaults.service, settings.log_format) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("{binary}: telemetry: {e}");
            return ExitCode::from(2);
        }
    };
    match run(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "{binary} failed");
            ExitCode::FAILURE
        }
    }
}

/// `serve`: the metrics endpoint, the gRPC listener (a busy address is an
/// error naming it), then `serve` until SIGTERM or SIGINT.
pub async fn serve<F, Fut>(
    service: &'static str,
    settings: Settings,
    serve: F,
) -> anyhow::Result<()>
where
    F: FnOnce(TcpListener, Settings, std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    if let Some(addr) = settings.metrics_addr {
        crate::server::install_metrics(addr, service).await?;
    }
    let listener = TcpListener::bind(settings.listen_addr).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {} (INNOLAB_LISTEN_ADDR): {e}",
            settings.listen_addr
        )
    })?;
    serve(
        listener,
        settings,
        Box::pin(crate::server::shutdown_signal()),
    )
    .await
}

/// `migrate`: applies the migrations `migrate` runs, and says so.
pub async fn migrate<Fut>(migrate: Fut) -> anyhow::Result<()>
where
    Fut: Future<Output = anyhow::Result<()>>,
{
    migrate.await?;
    tracing::info!("migrations applied");
    Ok(())
}
