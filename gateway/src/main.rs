//! `innolab-gateway`: the gateway alone, in front of services running as
//! separate processes (as on Kubernetes), configured by environment variables.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use innolab_kit::config::LogFormat;
use innolab_kit::{server, telemetry};

/// innolab gateway: one gRPC endpoint in front of the services.
#[derive(Debug, Parser)]
#[command(
    version,
    about,
    after_help = "Services are found at INNOLAB_MEMBERSHIP_URL, INNOLAB_INITIATIVES_URL, \
                  INNOLAB_GUIDANCE_URL and INNOLAB_IMPACT_URL (default http://127.0.0.1:50051 to 50054)."
)]
struct Cli {
    /// gRPC listen address.
    #[arg(long, env = "INNOLAB_LISTEN_ADDR", default_value = "127.0.0.1:50050")]
    listen_addr: SocketAddr,
    /// Prometheus metrics listen address, or `off`.
    #[arg(long, env = "INNOLAB_METRICS_ADDR", default_value = "127.0.0.1:9150")]
    metrics_addr: String,
    /// Seconds in-flight calls get to finish after SIGTERM.
    #[arg(long, env = "INNOLAB_SHUTDOWN_DRAIN_SECONDS", default_value_t = 20)]
    shutdown_drain_seconds: u64,
    /// Milliseconds to wait for a connection to a service before answering UNAVAILABLE.
    #[arg(long, env = "INNOLAB_CONNECT_TIMEOUT_MS", default_value_t = 1000)]
    connect_timeout_ms: u64,
    /// Log format.
    #[arg(long, env = "INNOLAB_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Serve (the default).
    Serve,
    /// The audit log at INNOLAB_AUDIT_DATABASE_URL.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Write the case library as IATI activity XML 2.03
    /// (`iati-activities.xml`) into a release folder, with the results and
    /// indicators of completed impact assessments, read from the services at
    /// INNOLAB_MEMBERSHIP_URL, INNOLAB_INITIATIVES_URL and
    /// INNOLAB_IMPACT_URL, with its DCAT-AP record, and the folder's
    /// catalogue again; then exit.
    ExportIati {
        /// Where to write, and where and by whom it will be published.
        #[command(flatten)]
        release: Box<innolab_kit::opendata::ReleaseArgs>,
        /// Only initiatives matching this filter (as in ListInitiatives).
        #[arg(long, default_value = "")]
        filter: String,
        /// Who reports the activities.
        #[command(flatten)]
        reporter: innolab_gateway::iati::Reporter,
    },
}

#[derive(Debug, clap::Subcommand)]
enum AuditAction {
    /// Recompute the hash chain: exit 0 if every entry is intact and in
    /// place, 1 naming the first entry that was edited, removed or reordered.
    Verify,
}

/// `innolab-gateway audit verify`.
#[allow(clippy::print_stdout)]
async fn verify() -> std::process::ExitCode {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let url = match innolab_kit::config::secret_var("INNOLAB_AUDIT_DATABASE_URL", var) {
        Ok(Some(url)) => url,
        Ok(None) => {
            eprintln!(
                "innolab-gateway: configuration INNOLAB_AUDIT_DATABASE_URL: required to verify the audit log"
            );
            return std::process::ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("innolab-gateway: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let schema = std::env::var("INNOLAB_AUDIT_DATABASE_SCHEMA")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "audit".into());
    let file = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let (password_file, ca_file) = (
        file("INNOLAB_AUDIT_DATABASE_PASSWORD_FILE"),
        file("INNOLAB_AUDIT_DATABASE_CA_FILE"),
    );
    let settings = match innolab_kit::config::DatabaseSettings::new(&url, &schema, 2)
        .and_then(|s| {
            s.with_password_file(
                "INNOLAB_AUDIT_DATABASE_PASSWORD_FILE",
                password_file.as_deref().map(std::path::Path::new),
            )
        })
        .and_then(|s| {
            s.with_ca_file(
                "INNOLAB_AUDIT_DATABASE_CA_FILE",
                ca_file.as_deref().map(std::path::Path::new),
            )
        }) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("innolab-gateway: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    // The outside anchor: the key that signs checkpoints (its public half, or
    // the signing key's own file) and the checkpoint files the gateways wrote.
    let mut evidence = innolab_gateway::audit::Evidence::default();
    let key_file =
        var("INNOLAB_AUDIT_VERIFY_KEY_FILE").or_else(|| var("INNOLAB_AUDIT_SIGNING_KEY_FILE"));
    if let Some(path) = key_file {
        match innolab_gateway::audit::checkpoint::verifying_key(std::path::Path::new(&path)) {
            Ok(key) => evidence.key = Some(key),
            Err(e) => {
                eprintln!("innolab-gateway: configuration INNOLAB_AUDIT_VERIFY_KEY_FILE: {e}");
                return std::process::ExitCode::from(2);
            }
        }
    }
    for path in var("INNOLAB_AUDIT_CHECKPOINT_FILE")
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.trim().is_empty())
    {
        match innolab_gateway::audit::checkpoint::read_file(std::path::Path::new(path.trim())) {
            Ok(checkpoints) => evidence.outside.extend(checkpoints),
            Err(e) => {
                eprintln!("innolab-gateway: configuration INNOLAB_AUDIT_CHECKPOINT_FILE: {e}");
                return std::process::ExitCode::from(2);
            }
        }
    }
    let outcome = async {
        // The chain is checked as stored: end-user hashes need no key here.
        let store = innolab_gateway::audit::open(&settings.into()).await?;
        let kept = store.checkpoints().await?.len();
        let verdict = innolab_gateway::audit::verify(&store, &evidence).await?;
        Ok::<_, anyhow::Error>((verdict, kept))
    }
    .await;
    let signatures = if evidence.key.is_some() {
        "signatures checked"
    } else {
        "signatures NOT checked: set INNOLAB_AUDIT_VERIFY_KEY_FILE"
    };
    match outcome {
        Ok((None, kept)) => {
            println!(
                "audit log intact ({kept} checkpoints in the database, {} outside it; {signatures})",
                evidence.outside.len()
            );
            std::process::ExitCode::SUCCESS
        }
        Ok((Some((sequence, why)), _)) => {
            println!("audit log BROKEN at entry {sequence}: {why}");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("innolab-gateway: cannot read the audit log: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let _telemetry = match telemetry::init("gateway", cli.log_format) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("innolab-gateway: telemetry: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Some(Command::Audit {
        action: AuditAction::Verify,
    }) = cli.command
    {
        return verify().await;
    }
    if let Some(Command::ExportIati {
        release,
        filter,
        reporter,
    }) = &cli.command
    {
        let connect_timeout = Duration::from_millis(cli.connect_timeout_ms);
        let upstreams = innolab_gateway::upstreams("127.0.0.1");
        return match innolab_gateway::export_iati(
            &upstreams,
            connect_timeout,
            filter,
            reporter,
            release,
        )
        .await
        {
            Ok(counts) => {
                tracing::info!(?counts, dir = %release.out_dir.display(), "IATI activities written");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "export-iati failed");
                eprintln!("innolab-gateway: export-iati: {e:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let security = match innolab_gateway::security::from_env() {
        Ok(security) => security,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("innolab-gateway: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(cli, security).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "innolab-gateway failed");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, security: innolab_gateway::security::Security) -> anyhow::Result<()> {
    if cli.metrics_addr != "off" {
        let addr: SocketAddr = cli.metrics_addr.parse().map_err(|e| {
            anyhow::anyhow!(
                "INNOLAB_METRICS_ADDR {:?} is not host:port or `off`: {e}",
                cli.metrics_addr
            )
        })?;
        server::install_metrics(addr, "gateway").await?;
    }
    let settings = innolab_gateway::GatewaySettings {
        upstreams: innolab_gateway::upstreams("127.0.0.1"),
        shutdown_drain: Duration::from_secs(cli.shutdown_drain_seconds),
        connect_timeout: Duration::from_millis(cli.connect_timeout_ms),
        security,
    };
    let listener = tokio::net::TcpListener::bind(cli.listen_addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", cli.listen_addr))?;
    innolab_gateway::serve(listener, settings, server::shutdown_signal()).await
}
