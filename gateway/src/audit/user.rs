//! The end user as the audit log names them: `hmac-sha256:<hex>`, the
//! HMAC-SHA256 of `x-user-id` under a key the audit database never holds
//! (`INNOLAB_AUDIT_USER_KEY_FILE`). The chain hashes that value, not the
//! id, so the log keeps no personal data in clear, erasing a person never
//! touches a chained row (`verify` stays intact), and whoever holds the key
//! can still find one person's entries by hashing their id again.

use std::sync::Arc;

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// What a keyed hash starts with.
pub const PREFIX: &str = "hmac-sha256:";

/// The fewest bytes a key may have (the hash's own size).
pub const MIN_KEY_BYTES: usize = 32;

/// The key end-user ids are hashed with. Its bytes are used exactly as they
/// are in the file (binary from `openssl rand 32`, or any text), so every
/// replica given the same Secret hashes alike.
#[derive(Clone)]
pub struct UserKey {
    /// The HMAC, keyed once; each hash starts from a clone of it.
    mac: Arc<Hmac<Sha256>>,
}

impl std::fmt::Debug for UserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserKey(<redacted>)")
    }
}

impl UserKey {
    /// A key of `bytes`, refused when shorter than [`MIN_KEY_BYTES`].
    pub fn new(bytes: &[u8]) -> Result<UserKey, String> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(format!(
                "the key has {} bytes; it needs at least {MIN_KEY_BYTES} \
                 (openssl rand 32 > user.key)",
                bytes.len()
            ));
        }
        let mac = Hmac::<Sha256>::new_from_slice(bytes).map_err(|e| e.to_string())?;
        Ok(UserKey { mac: Arc::new(mac) })
    }

    /// The key in the file at `path`.
    pub fn from_file(path: &std::path::Path) -> Result<UserKey, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        UserKey::new(&bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// `hmac-sha256:<hex>` of `user_id`.
    pub fn hash(&self, user_id: &str) -> String {
        let mut mac = (*self.mac).clone();
        mac.update(user_id.as_bytes());
        format!("{PREFIX}{}", super::hex(&mac.finalize().into_bytes()))
    }
}

/// What the log keeps for `user_id`: its keyed hash under `key`; the id
/// itself without a key (development, warned about at start); empty stays
/// empty (no end user was named).
pub fn stored(key: Option<&UserKey>, user_id: &str) -> String {
    match key {
        Some(key) if !user_id.is_empty() => key.hash(user_id),
        _ => user_id.to_string(),
    }
}

/// What a search for `user_id` matches: a value already in the stored form
/// (a keyed hash made under an earlier key, say) as it is; anything else as
/// [`stored`] would keep it.
pub fn searched(key: Option<&UserKey>, user_id: &str) -> String {
    if is_hash(user_id) {
        return user_id.to_string();
    }
    stored(key, user_id)
}

/// Whether `value` is a keyed hash: the prefix and 64 lower-case hex digits.
pub fn is_hash(value: &str) -> bool {
    value.strip_prefix(PREFIX).is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ids_are_hashed_with_the_key_and_empty_stays_empty() {
        let key = UserKey::new(&[7; 32]).unwrap();
        let hashed = stored(Some(&key), "ana.popescu");
        assert!(is_hash(&hashed), "{hashed}");
        assert_eq!(hashed, stored(Some(&key), "ana.popescu"), "deterministic");
        assert_ne!(hashed, stored(Some(&key), "ion.ionescu"));
        let other = UserKey::new(&[8; 32]).unwrap();
        assert_ne!(hashed, stored(Some(&other), "ana.popescu"), "keyed");
        assert_eq!(stored(Some(&key), ""), "");
        assert_eq!(stored(None, "ana.popescu"), "ana.popescu");
        // A search may name the stored form itself (an earlier key's hash).
        assert_eq!(searched(Some(&other), &hashed), hashed);
        assert_eq!(searched(Some(&key), "ana.popescu"), hashed);
    }

    #[test]
    fn the_hash_is_the_one_openssl_computes() {
        // printf %s ana.popescu | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef
        let key = UserKey::new(b"0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(
            key.hash("ana.popescu"),
            "hmac-sha256:658e92d3776abb17f308a02ff1abdcae5c8aa9d1f68daa8d66727d529987c2d1"
        );
    }

    #[test]
    fn short_keys_are_refused_and_never_shown() {
        assert!(UserKey::new(&[1; 31]).unwrap_err().contains("at least 32"));
        let key = UserKey::new(&[1; 32]).unwrap();
        assert_eq!(format!("{key:?}"), "UserKey(<redacted>)");
    }
}
