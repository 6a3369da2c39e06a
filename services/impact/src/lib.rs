//! innolab impact service: impact assessments of initiatives (logic model,
//! evidence strength, OECD DAC criteria, public value, SROI), their IATI
//! indicators, rollups over many assessments, and charts.

pub mod api;
pub mod chart;
pub mod domain;
pub mod export;
pub mod store;

use std::future::Future;

use innolab_kit::config::{Defaults, Settings};
use innolab_kit::server::{self, ServiceSpec};
use innolab_proto::innolab::impact::v1::impact_service_server::{
    ImpactServiceServer, SERVICE_NAME,
};
use tokio::net::TcpListener;
use tonic::service::Routes;

/// Defaults when nothing is configured.
pub const DEFAULTS: Defaults = Defaults {
    service: "impact",
    port: 50054,
    metrics_port: 9154,
};

/// What the kit's bootstrap needs to know about this service.
pub const SPEC: ServiceSpec = ServiceSpec {
    grpc_name: SERVICE_NAME,
    descriptor_set: innolab_proto::FILE_DESCRIPTOR_SET,
    migrations: store::MIGRATIONS,
};

/// Serves the impact service on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let routes = |db, tokens| {
        let api = api::ImpactApi::new(store::Store::new(db), tokens);
        Ok(Routes::new(ImpactServiceServer::new(api)))
    };
    server::serve(listener, &settings, SPEC, routes, shutdown).await
}

/// Writes what was learnt as open data into `dir` for `release` (the
/// `export` command): completed assessments, their indicators and
/// measurements, and capacity rounds as CSV with their CSVW and DCAT-AP
/// records, read in one snapshot.
pub async fn export(
    settings: &Settings,
    dir: &std::path::Path,
    release: &innolab_kit::opendata::Release,
) -> anyhow::Result<export::Counts> {
    innolab_kit::db::Database::with_migrated(
        &settings.database,
        &SPEC.migrations,
        "innolab-impact",
        |db| async move { export::write_files(&store::Store::new(db), dir, release).await },
    )
    .await
}
