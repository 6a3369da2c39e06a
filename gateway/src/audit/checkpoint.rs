//! Signed checkpoints of the audit chain, the outside anchor a hash chain
//! lacks (X-Road's signed message log is the bar): every N entries or T
//! seconds, the gateway signs the chain head (sequence and hash) with an
//! Ed25519 key the audit database never holds, and writes the checkpoint to
//! the database, to its log and, when configured, to an append-only file
//! outside the database. `verify` then detects what a chain alone cannot: a
//! chain rewritten from some row on with recomputed hashes (the signed hash no
//! longer matches), the newest rows deleted or the table emptied (the log ends
//! before a signed checkpoint).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ed25519_dalek::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::{Entry, hex};

/// One signed chain head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The sequence of the entry signed.
    pub sequence: i64,
    /// That entry's chain hash.
    pub hash: String,
    /// When it was signed, microseconds since the Unix epoch.
    pub time_micros: i64,
    /// Which key signed it: the first 8 bytes of the SHA-256 of the public key, hex.
    pub key_id: String,
    /// The Ed25519 signature of [`Checkpoint::message`], hex.
    pub signature: String,
}

impl Checkpoint {
    /// What is signed: the chain head and the time, in one fixed text form.
    pub fn message(sequence: i64, hash: &str, time_micros: i64) -> String {
        format!("innolab audit checkpoint v1\n{sequence}\n{hash}\n{time_micros}\n")
    }

    /// Whether `key` signed this checkpoint.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), String> {
        let bytes = decode_hex(&self.signature).ok_or("the signature is not hex")?;
        let signature = Signature::from_slice(&bytes).map_err(|e| e.to_string())?;
        key.verify(
            Self::message(self.sequence, &self.hash, self.time_micros).as_bytes(),
            &signature,
        )
        .map_err(|_| "the signature does not verify with the audit key".to_string())
    }
}

/// The id of a public key, as checkpoints name it.
pub fn key_id(key: &VerifyingKey) -> String {
    hex(&Sha256::digest(key.as_bytes())[..8])
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The signing key in a PKCS#8 PEM file (`openssl genpkey -algorithm ed25519`).
pub fn signing_key(path: &Path) -> Result<SigningKey, String> {
    let pem = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
        format!(
            "{} is not an Ed25519 private key (PKCS#8 PEM): {e}",
            path.display()
        )
    })
}

/// The key that verifies checkpoints, from a public key PEM file
/// (`openssl pkey -pubout`) or from the signing key's own file.
pub fn verifying_key(path: &Path) -> Result<VerifyingKey, String> {
    let pem = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    VerifyingKey::from_public_key_pem(&pem)
        .or_else(|_| SigningKey::from_pkcs8_pem(&pem).map(|k| k.verifying_key()))
        .map_err(|e| format!("{} is not an Ed25519 key (PEM): {e}", path.display()))
}

/// The checkpoints written to a file, one JSON object a line; a missing file
/// is an error (the operator named it), a line that is not a checkpoint too.
pub fn read_file(path: &Path) -> Result<Vec<Checkpoint>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line)
                .map_err(|e| format!("{}:{}: not a checkpoint: {e}", path.display(), n + 1))
        })
        .collect()
}

/// When and how the gateway signs the chain head.
#[derive(Clone)]
pub struct Signing {
    key: SigningKey,
    /// A checkpoint after this many entries...
    pub every: u64,
    /// ...or this long after the first entry not yet signed.
    pub interval: Duration,
    /// The append-only file outside the database, if any.
    pub file: Option<PathBuf>,
}

impl std::fmt::Debug for Signing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signing")
            .field("key_id", &key_id(&self.key.verifying_key()))
            .field("every", &self.every)
            .field("interval", &self.interval)
            .field("file", &self.file)
            .finish()
    }
}

impl Signing {
    /// Signing with `key`.
    pub fn new(key: SigningKey, every: u64, interval: Duration, file: Option<PathBuf>) -> Signing {
        Signing {
            key,
            every,
            interval,
            file,
        }
    }

    /// The checkpoint of `head`, signed now.
    pub fn sign(&self, head: &Entry) -> Checkpoint {
        let time_micros = innolab_kit::db::now_micros();
        let message = Checkpoint::message(head.sequence, &head.hash, time_micros);
        Checkpoint {
            sequence: head.sequence,
            hash: head.hash.clone(),
            time_micros,
            key_id: key_id(&self.key.verifying_key()),
            signature: hex(&self.key.sign(message.as_bytes()).to_bytes()),
        }
    }

    /// Writes `checkpoint` outside the database: a log line always, and a
    /// line appended (and synced) to the file when one is configured. The
    /// log line carries every field of the checkpoint (the signed time
    /// too), so that a log store is a complete copy: its JSON events'
    /// `{sequence, hash, time_micros, key_id, signature}` are the file's lines.
    pub fn publish(&self, checkpoint: &Checkpoint) {
        let line = serde_json::to_string(checkpoint).unwrap_or_default();
        tracing::info!(
            target: "innolab::audit::checkpoint",
            sequence = checkpoint.sequence,
            hash = %checkpoint.hash,
            time_micros = checkpoint.time_micros,
            key_id = %checkpoint.key_id,
            signature = %checkpoint.signature,
            "audit checkpoint"
        );
        if let Some(path) = &self.file {
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut file| {
                    file.write_all(format!("{line}\n").as_bytes())?;
                    file.sync_data()
                });
            if let Err(e) = written {
                tracing::error!(
                    path = %path.display(),
                    error = %e,
                    "audit checkpoint NOT written to its file"
                );
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_verifies_only_as_signed() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let signing = Signing::new(key.clone(), 10, Duration::from_secs(1), None);
        let head = Entry {
            sequence: 5,
            hash: "ab".repeat(32),
            ..Default::default()
        };
        let checkpoint = signing.sign(&head);
        assert_eq!(checkpoint.key_id.len(), 16);
        checkpoint.verify(&key.verifying_key()).unwrap();
        let mut moved = checkpoint.clone();
        moved.sequence = 4;
        assert!(moved.verify(&key.verifying_key()).is_err());
        let mut rehashed = checkpoint.clone();
        rehashed.hash = "cd".repeat(32);
        assert!(rehashed.verify(&key.verifying_key()).is_err());
        let other = SigningKey::from_bytes(&[8; 32]);
        assert!(checkpoint.verify(&other.verifying_key()).is_err());
        let mut garbled = checkpoint;
        garbled.signature = "zz".into();
        assert!(garbled.verify(&key.verifying_key()).is_err());
    }
}
