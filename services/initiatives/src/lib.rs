//! innolab initiative tracking service: the public case library of
//! innovation initiatives across the administration, their OPSI lifecycle,
//! status timeline and portfolio.

pub mod api;
pub mod directory;
pub mod domain;
pub mod export;
pub mod import;
pub mod store;

use std::future::Future;

use innolab_kit::config::{Defaults, Settings};
use innolab_kit::db::Database;
use innolab_kit::server::{self, ServiceSpec};
use innolab_proto::innolab::initiatives::v1::initiatives_service_server::{
    InitiativesServiceServer, SERVICE_NAME,
};
use tokio::net::TcpListener;
use tonic::service::Routes;

/// Defaults when nothing is configured.
pub const DEFAULTS: Defaults = Defaults {
    service: "initiatives",
    port: 50052,
    metrics_port: 9152,
};

/// Where the membership service listens unless `INNOLAB_MEMBERSHIP_URL` says otherwise.
pub const DEFAULT_MEMBERSHIP_URL: &str = "http://127.0.0.1:50051";

/// What the kit's bootstrap needs to know about this service.
pub const SPEC: ServiceSpec = ServiceSpec {
    grpc_name: SERVICE_NAME,
    descriptor_set: innolab_proto::FILE_DESCRIPTOR_SET,
    migrations: store::MIGRATIONS,
};

/// Serves the initiatives service on `listener` until `shutdown` completes,
/// checking organisations against the membership service at `membership_url`.
pub async fn serve(
    listener: TcpListener,
    settings: Settings,
    membership_url: &str,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let directory = directory::Directory::new(membership_url)?;
    let routes = |db: Database, tokens| {
        let store = store::Store::new(db);
        tokio::spawn(backfill_words(store.clone()));
        let api = api::InitiativesApi::new(store, tokens, directory);
        Ok(Routes::new(InitiativesServiceServer::new(api)))
    };
    server::serve(listener, &settings, SPEC, routes, shutdown).await
}

/// How often an idle word indexer looks for words another replica's import
/// left to index.
const WORDS_LOOK_AGAIN: std::time::Duration = std::time::Duration::from_secs(30);

/// Indexes, in the background, the FindSimilar `word` terms of initiatives
/// stored without them: those stored before the index existed (see
/// migration 7) and those of imports, which leave their words to this so
/// that an import stores only what it must (see `store/import.rs`). Idle, or
/// while an import of this process runs, it waits for the end of one, or
/// looks again after [`WORDS_LOOK_AGAIN`] (another replica's import). After a pass that
/// indexed something, PostgreSQL's terms are vacuumed, so that the new
/// postings are read index-only. A failed batch is tried again after a
/// pause. Until the migrations are done its table is missing, which is
/// expected at start (logged at debug level for the first minute): it does
/// not ask whether the schema is migrated, since that check creates sqlx's
/// bookkeeping table and would race the migration itself. It ends when the
/// service closes its database.
async fn backfill_words(store: store::Store) {
    use std::time::Duration;
    let mut failures = 0u32;
    let mut indexed = false;
    while !store.is_closed() {
        // An import of this process rings when it is over.
        if store.import_running() {
            let _ = tokio::time::timeout(WORDS_LOOK_AGAIN, store.words_pending()).await;
            continue;
        }
        match store.backfill_words().await {
            Ok(true) => {
                failures = 0;
                indexed = true;
            }
            Ok(false) => {
                if std::mem::take(&mut indexed)
                    && let Err(e) = store.vacuum_terms().await
                {
                    tracing::warn!(error = %e, "vacuuming the FindSimilar terms failed");
                }
                let _ = tokio::time::timeout(WORDS_LOOK_AGAIN, store.words_pending()).await;
            }
            Err(e) => {
                failures += 1;
                if failures > 30 {
                    tracing::warn!(error = %e, "indexing earlier initiatives for FindSimilar failed; retrying");
                } else {
                    tracing::debug!(error = %e, "indexing earlier initiatives for FindSimilar: not yet");
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

/// Writes the service's open data into `dir` for `release` (the `export`
/// command): the initiatives matching `filter` as `initiatives.csv` and
/// `initiatives.json`, and every challenge, call and accepted submission as
/// CSV, with their CSVW and DCAT-AP metadata, all read in one snapshot;
/// says how many records were written and the change-log sequence they
/// reflect.
pub async fn export(
    settings: &Settings,
    filter: &str,
    dir: &std::path::Path,
    release: &innolab_kit::opendata::Release,
) -> anyhow::Result<export::Counts> {
    let query = domain::InitiativeQuery::from_filter(filter).map_err(|e| anyhow::anyhow!("{e}"))?;
    Database::with_migrated(
        &settings.database,
        &SPEC.migrations,
        "innolab-initiatives",
        |db| async move { export::write_files(&store::Store::new(db), &query, dir, release).await },
    )
    .await
}
