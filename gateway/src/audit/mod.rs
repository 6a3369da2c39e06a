//! The audit log: an append-only record of every call that changes something
//! and of every denial (time, client, end user, case, method, resource,
//! request id, outcome, hashes of request and response), each entry chaining
//! the hash of the one before so that an edited or deleted entry is detected
//! by `innolab-gateway audit verify`.
//!
//! Entries are written by one task in the order calls finish, after the
//! answer is sent (the outcome is known only then); a gateway that dies in
//! between loses that entry, never the chain. In strict mode a write's
//! answer is held until its entry is committed, and a write whose entry
//! could not be written is answered UNAVAILABLE.

pub mod checkpoint;
pub mod layer;
pub mod store;
pub mod tap;
pub mod user;

use std::collections::BTreeMap;

use innolab_kit::db::Database;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

pub use checkpoint::{Checkpoint, Signing};
pub use store::{Only, Store};
pub use user::UserKey;

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
    /// The end user (`x-user-id`), if named: as the log keeps it, the
    /// keyed hash `hmac-sha256:<hex>` ([`user`]); in clear only in
    /// development without a key.
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

/// Whether a call of `method` is recorded: every write, and every read of
/// what the suite holds about one person (a data-subject access export).
pub fn is_audited(method: &str) -> bool {
    is_write(method) || crate::security::access::PERSONAL_DATA.contains(&method)
}

/// Whether calling `method` changes something (everything but reads).
pub fn is_write(method: &str) -> bool {
    let name = method.rsplit('/').next().unwrap_or(method);
    ![
        "Get",
        "List",
        "Search",
        "Summarize",
        "Find",
        "Export",
        "Download",
        "Render",
        "Compare",
    ]
    .iter()
    .any(|p| name.starts_with(p))
        && name != "StreamChanges"
}

/// An entry on its way to the writer, and who waits for it to be durable.
type Queued = (Entry, Option<tokio::sync::oneshot::Sender<bool>>);

/// Where finished calls send their entries.
#[derive(Debug, Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Queued>,
    strict: bool,
}

impl Recorder {
    /// Starts the writer appending to `store`, and signing the chain head
    /// as `signing` says when given. With `strict`, a write is answered only
    /// once its entry is durable ([`Recorder::record_durable`]).
    pub fn start(store: Store, signing: Option<Signing>, strict: bool) -> Recorder {
        let (tx, rx) = mpsc::channel::<Queued>(10_000);
        tokio::spawn(write(store, signing, rx));
        Recorder { tx, strict }
    }

    /// Whether writes wait for their entries (`INNOLAB_AUDIT_STRICT`).
    pub fn strict(&self) -> bool {
        self.strict
    }

    /// Queues an entry; its sequence and hashes are set when it is appended.
    pub fn record(&self, entry: Entry) {
        self.queue(entry, None);
    }

    /// Queues an entry and says, once it is appended (committed), whether it
    /// was: `false` when the queue is full or the database refused it.
    pub fn record_durable(&self, entry: Entry) -> tokio::sync::oneshot::Receiver<bool> {
        let (done, appended) = tokio::sync::oneshot::channel();
        self.queue(entry, Some(done));
        appended
    }

    fn queue(&self, mut entry: Entry, done: Option<tokio::sync::oneshot::Sender<bool>>) {
        entry.time_micros = innolab_kit::db::now_micros();
        if let Err(e) = self.tx.try_send((entry, done)) {
            tracing::error!(error = %e, "audit entry NOT written: the audit queue is full or closed");
            // The waiting caller (dropped sender) learns it was not written.
        }
    }
}

/// The one writer: appends entries in order; with `signing`, signs the
/// head after `every` entries, `interval` after the first unsigned one, and
/// when the queue closes (the gateway stops).
async fn write(store: Store, signing: Option<Signing>, mut rx: mpsc::Receiver<Queued>) {
    let interval = signing
        .as_ref()
        .map_or(std::time::Duration::from_secs(3600), |s| s.interval);
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The newest entry appended and not yet signed, and how many are unsigned.
    let mut head: Option<Entry> = None;
    let mut unsigned: u64 = 0;
    loop {
        // (the queue closed, the timer fired)
        let (closed, timer) = tokio::select! {
            received = rx.recv() => match received {
                Some((entry, done)) => {
                    let method = entry.method.clone();
                    let appended = match store.append(entry).await {
                        Ok(appended) => {
                            if unsigned == 0 {
                                tick.reset();
                            }
                            head = Some(appended);
                            unsigned += 1;
                            true
                        }
                        Err(e) => {
                            tracing::error!(%method, error = %e, "audit entry NOT written");
                            false
                        }
                    };
                    if let Some(done) = done {
                        let _ = done.send(appended);
                    }
                    (false, false)
                }
                None => (true, false),
            },
            _ = tick.tick(), if signing.is_some() && unsigned > 0 => (false, true),
        };
        let due = closed || timer || unsigned >= signing.as_ref().map_or(u64::MAX, |s| s.every);
        if let (Some(signing), true, Some(entry)) = (&signing, due, &head) {
            let checkpoint = signing.sign(entry);
            if let Err(e) = store.add_checkpoint(&checkpoint).await {
                tracing::error!(error = %e, "audit checkpoint NOT kept in the database");
            }
            signing.publish(&checkpoint);
            head = None;
            unsigned = 0;
        }
        if closed {
            return;
        }
    }
}

/// What `verify` checks the log against, besides the log itself.
#[derive(Debug, Default, Clone)]
pub struct Evidence {
    /// The key that signs checkpoints; without it, signatures are not checked.
    pub key: Option<ed25519_dalek::VerifyingKey>,
    /// Checkpoints kept outside the database (the files the gateway wrote).
    pub outside: Vec<Checkpoint>,
}

/// The first entry whose stored hash or link does not hold, or that a
/// signed checkpoint (in the database or in `evidence`) contradicts, if any.
pub async fn verify(
    store: &Store,
    evidence: &Evidence,
) -> Result<Option<(i64, String)>, innolab_kit::Error> {
    let mut checkpoints = store.checkpoints().await?;
    checkpoints.extend(evidence.outside.iter().cloned());
    if let Some(key) = &evidence.key {
        for c in &checkpoints {
            if let Err(why) = c.verify(key) {
                return Ok(Some((
                    c.sequence,
                    format!("its checkpoint is not genuine: {why}"),
                )));
            }
        }
    }
    let mut signed: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for c in checkpoints {
        signed.entry(c.sequence).or_default().push(c.hash);
    }
    let mut previous = GENESIS.to_string();
    let mut expected_sequence = 1;
    let mut after = 0;
    loop {
        let page = store.list(after, 1000, Only::default()).await?;
        if page.is_empty() {
            break;
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
            if let Some(hashes) = signed.get(&entry.sequence)
                && hashes.iter().any(|h| *h != entry.hash)
            {
                return Ok(Some((
                    entry.sequence,
                    "its hash is not the one signed at its checkpoint (the chain was rewritten)"
                        .into(),
                )));
            }
            previous = entry.hash.clone();
            expected_sequence += 1;
            after = entry.sequence;
        }
    }
    if let Some((&newest, _)) = signed.last_key_value()
        && newest > after
    {
        return Ok(Some((
            after + 1,
            format!(
                "entries {} to {newest} are gone: the log ends before its signed checkpoint \
                 (the newest entries were deleted or the table emptied)",
                after + 1
            ),
        )));
    }
    Ok(None)
}

/// Where the audit log is kept and how it names end users.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The audit database (`INNOLAB_AUDIT_DATABASE_URL`).
    pub database: innolab_kit::config::DatabaseSettings,
    /// The key end-user ids are hashed with (`INNOLAB_AUDIT_USER_KEY_FILE`);
    /// `None` keeps them in clear (development only).
    pub user_key: Option<UserKey>,
}

impl From<innolab_kit::config::DatabaseSettings> for Settings {
    /// The log in `database`, its end users in clear (as `audit verify`
    /// reads it: the chain is checked without the key).
    fn from(database: innolab_kit::config::DatabaseSettings) -> Settings {
        Settings {
            database,
            user_key: None,
        }
    }
}

/// Opens (and migrates) the audit log.
pub async fn open(settings: &Settings) -> anyhow::Result<Store> {
    let db = Database::connect_lazy(&settings.database)?;
    db.migrate(&store::MIGRATIONS).await?;
    Ok(Store::new(db).with_user_key(settings.user_key.clone()))
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
        assert!(!is_write(
            "innolab.gateway.v1.GatewayService/ExportPersonData"
        ));
        assert!(is_audited(
            "innolab.gateway.v1.GatewayService/ExportPersonData"
        ));
        assert!(is_audited(
            "innolab.impact.v1.ImpactService/FindPersonReferences"
        ));
        assert!(!is_audited("innolab.x.v1.S/GetThing"));
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
