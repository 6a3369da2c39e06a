//! innolab guidance service: versioned, multilingual guidance documents with
//! language-aware full-text search and file attachments.

pub mod api;
pub mod domain;
pub mod export;
pub mod store;
pub mod upload;

use std::future::Future;

use innolab_kit::config::{Defaults, Settings};
use innolab_kit::server::{self, ServiceSpec};
use innolab_proto::innolab::guidance::v1::guidance_service_server::{
    GuidanceServiceServer, SERVICE_NAME,
};
use tokio::net::TcpListener;
use tonic::service::Routes;

/// Defaults when nothing is configured.
pub const DEFAULTS: Defaults = Defaults {
    service: "guidance",
    port: 50053,
    metrics_port: 9153,
};

/// Attachment size limit when `INNOLAB_GUIDANCE_MAX_ATTACHMENT_BYTES` is not set (64 MiB).
pub const DEFAULT_MAX_ATTACHMENT_BYTES: u64 = 64 * 1024 * 1024;

/// What the kit's bootstrap needs to know about this service.
pub const SPEC: ServiceSpec = ServiceSpec {
    grpc_name: SERVICE_NAME,
    descriptor_set: innolab_proto::FILE_DESCRIPTOR_SET,
    migrations: store::MIGRATIONS,
};

/// Settings of this service beyond the kit's.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Largest attachment accepted, in bytes.
    pub max_attachment_bytes: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_attachment_bytes: DEFAULT_MAX_ATTACHMENT_BYTES,
        }
    }
}

/// Serves the guidance service with default options until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with(listener, settings, Options::default(), shutdown).await
}

/// Serves the guidance service on `listener` until `shutdown` completes.
pub async fn serve_with(
    listener: TcpListener,
    settings: Settings,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let routes = |db, tokens| {
        let api = api::GuidanceApi::new(store::Store::new(db), tokens, options);
        // Chunks are at most 1 MiB plus framing; the default 4 MiB decode limit is kept.
        Ok(Routes::new(GuidanceServiceServer::new(api)))
    };
    server::serve(listener, &settings, SPEC, routes, shutdown).await
}

/// Writes the published guidance as open data into `dir` for `release` (the
/// `export` command): `guidance.csv` and `guidance.json` with their CSVW and
/// DCAT-AP records, read in one snapshot.
pub async fn export(
    settings: &Settings,
    dir: &std::path::Path,
    release: &innolab_kit::opendata::Release,
) -> anyhow::Result<export::Counts> {
    innolab_kit::db::Database::with_migrated(
        &settings.database,
        &SPEC.migrations,
        "innolab-guidance",
        |db| async move { export::write_files(&store::Store::new(db), dir, release).await },
    )
    .await
}
