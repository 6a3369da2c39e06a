//! One `main` for every service binary: the settings (a refused one exits 2
//! naming its variable), telemetry, then the command, `serve` by default;
//! `migrate` and a service's own commands beside it.

use std::future::Future;
use std::process::ExitCode;

use tokio::net::TcpListener;

use crate::config::{Defaults, ServiceArgs, Settings};

/// The commands every service binary has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Subcommand)]
pub enum Command {
    /// Serve gRPC (the default).
    Serve,
    /// Apply database migrations, then exit.
    Migrate,
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
