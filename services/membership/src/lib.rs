//! innolab network membership service: the organisations and people of a
//! public-sector innovation network, its groups, memberships and posts.

pub mod api;
pub mod domain;
pub mod export;
pub mod store;

use std::future::Future;

use innolab_kit::config::{Defaults, Settings};
use innolab_kit::server::{self, ServiceSpec};
use innolab_proto::innolab::membership::v1::membership_service_server::{
    MembershipServiceServer, SERVICE_NAME,
};
use tokio::net::TcpListener;
use tonic::service::Routes;

/// Defaults when nothing is configured.
pub const DEFAULTS: Defaults = Defaults {
    service: "membership",
    port: 50051,
    metrics_port: 9151,
};

/// What the kit's bootstrap needs to know about this service.
pub const SPEC: ServiceSpec = ServiceSpec {
    grpc_name: SERVICE_NAME,
    descriptor_set: innolab_proto::FILE_DESCRIPTOR_SET,
    migrations: store::MIGRATIONS,
};

/// Serves the membership service on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let routes = |db, tokens| {
        let api = api::MembershipApi::new(store::Store::new(db), tokens);
        Ok(Routes::new(MembershipServiceServer::new(api)))
    };
    server::serve(listener, &settings, SPEC, routes, shutdown).await
}

/// Writes the network's open data into `dir` for `release` (the `export`
/// command): organisations, groups, memberships and posts as CSV with their
/// CSVW and DCAT-AP records, Popolo JSON and W3C ORG JSON-LD, all read in
/// one snapshot.
pub async fn export(
    settings: &Settings,
    dir: &std::path::Path,
    release: &innolab_kit::opendata::Release,
) -> anyhow::Result<export::Counts> {
    innolab_kit::db::Database::with_migrated(
        &settings.database,
        &SPEC.migrations,
        "innolab-membership",
        |db| async move { export::write_files(&store::Store::new(db), dir, release).await },
    )
    .await
}
