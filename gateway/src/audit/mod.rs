//! The audit log: an append-only record of every call that changes something
//! and of every denial (time, client, end user, case, method, resource,
//! request id, outcome, hashes of request and response), each entry chaining
//! the hash of the one before so that an edited or deleted entry is detected
//! by `innolab-gateway audit verify`.
//!
//! Entries are written by one task in the order calls finish, after the
//! answer is sent (the outcome is known only then); a gateway that dies in
//! between loses that entry, never the chain.

pub mod store;
pub mod tap;

use innolab_kit::db::Database;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

pub use store::Store;

/// The `previous_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Position in the log, 1, 2, 3...
    pub sequence: i64,
    /// When the call finished, microseconds since the Unix epoch.
    pub time_micros: i64,
    /// The client; empty when no identity was presented.
    pub client_id: String,
    /// `x-user-id`, if sent.
    pub user_id: String,
    /// `x-issue`, if sent.
    pub issue: String,
    /// `package.Service/Method`.
    pub method: String,
    /// The resource the call names or created, when known.
    pub resource: String,
    /// `x-request-id`.
    pub request_id: String,
    /// The gRPC status code, by name (`OK`, `PERMISSION_DENIED`...).
    pub outcome: String,
    /// SHA-256 of the request body as received (hex).
    pub request_sha256: String,
    /// SHA-256 of the response body as sent (hex).
    pub response_sha256: String,
    /// The hash of the entry before.
    pub previous_hash: String,
    /// SHA-256 over `previous_hash` and every field above (hex).
    pub hash: String,
}

impl Entry {
    /// The hash this entry must carry: SHA-256 over the previous hash and
    /// the canonical JSON of every other field.
    pub fn chain_hash(&self) -> String {
        let mut fields = self.clone();
        fields.hash = String::new();
        let canonical = serde_json::to_string(&fields).unwrap_or_default();
        hex(&Sha256::digest(canonical.as_bytes()))
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The name of a numeric gRPC status (`"7"` -> `PERMISSION_DENIED`).
pub fn code_name(code: Option<&str>) -> String {
    let number = code.and_then(|c| c.trim().parse::<i32>().ok()).unwrap_or(2);
    innolab_kit::server::code_name(tonic::Code::from_i32(number)).to_string()
}

/// The outcome of a JSON call: OK, or the error body's `code` upper-cased.
pub fn json_outcome(http_ok: bool, body: &[u8]) -> String {
    if http_ok {
        return "OK".into();
    }
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_ascii_uppercase))
        .unwrap_or_else(|| "UNKNOWN".into())
}

/// Whether calling `method` changes something (everything but reads).
pub fn is_write(method: &str) -> bool {
    let name = method.rsplit('/').next().unwrap_or(method);
    ![
        "Get",
        "List",
        "Search",
        "Summarize",
        "Export",
        "Download",
        "Render",
        "Compare",
    ]
    .iter()
    .any(|p| name.starts_with(p))
        && name != "StreamChanges"
}

/// Where finished calls send their entries.
#[derive(Debug, Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Entry>,
}

impl Recorder {
    /// Starts the writer appending to `store`.
    pub fn start(store: Store) -> Recorder {
        let (tx, mut rx) = mpsc::channel::<Entry>(10_000);
        tokio::spawn(async move {
            while let Some(entry) = rx.recv().await {
                let method = entry.method.clone();
                if let Err(e) = store.append(entry).await {
                    tracing::error!(%method, error = %e, "audit entry NOT written");
                }
            }
        });
        Recorder { tx }
    }

    /// Queues an entry; its sequence and hashes are set when it is appended.
    pub fn record(&self, mut entry: Entry) {
        entry.time_micros = innolab_kit::db::now_micros();
        if let Err(e) = self.tx.try_send(entry) {
            tracing::error!(error = %e, "audit entry NOT written: the audit queue is full or closed");
        }
    }
}

/// The first entry whose stored hash or link does not hold, if any.
pub async fn verify(store: &Store) -> Result<Option<(i64, String)>, innolab_kit::Error> {
    let mut previous = GENESIS.to_string();
    let mut expected_sequence = 1;
    let mut after = 0;
    loop {
        let page = store.list(after, 1000, None).await?;
        if page.is_empty() {
            return Ok(None);
        }
        for entry in page {
            if entry.sequence != expected_sequence {
                return Ok(Some((
                    expected_sequence,
                    format!("entry {expected_sequence} is missing"),
                )));
            }
            if entry.previous_hash != previous {
                return Ok(Some((
                    entry.sequence,
                    "does not chain to the entry before".into(),
                )));
            }
            if entry.chain_hash() != entry.hash {
                return Ok(Some((
                    entry.sequence,
                    "its content does not match its hash (edited)".into(),
                )));
            }
            previous = entry.hash.clone();
            expected_sequence += 1;
            after = entry.sequence;
        }
    }
}

/// Opens (and migrates) the audit database.
pub async fn open(settings: &innolab_kit::config::DatabaseSettings) -> anyhow::Result<Store> {
    let db = Database::connect_lazy(settings)?;
    db.migrate(&store::MIGRATIONS).await?;
    Ok(Store::new(db))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_everything_but_reads() {
        assert!(is_write("innolab.x.v1.S/CreateThing"));
        assert!(is_write("innolab.x.v1.S/ApproveMembership"));
        assert!(!is_write("innolab.x.v1.S/GetThing"));
        assert!(!is_write("innolab.x.v1.S/StreamChanges"));
    }

    #[test]
    fn the_hash_covers_every_field_and_the_link() {
        let entry = Entry {
            sequence: 1,
            method: "a/B".into(),
            previous_hash: GENESIS.into(),
            ..Default::default()
        };
        let hash = entry.chain_hash();
        let mut edited = entry.clone();
        edited.outcome = "OK".into();
        assert_ne!(edited.chain_hash(), hash);
        let mut relinked = entry;
        relinked.previous_hash = "ff".into();
        assert_ne!(relinked.chain_hash(), hash);
    }
}
