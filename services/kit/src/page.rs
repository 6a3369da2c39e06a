//! AIP-158 pagination (<https://google.aip.dev/158>) with opaque,
//! tamper-evident page tokens.
//!
//! A token is URL-safe base64 (no padding) of
//! `version (1 byte) || cursor || HMAC-SHA256(key, version || len(fingerprint) u32 BE || fingerprint || cursor)[..16]`.
//! The fingerprint is not carried in the token but is bound by the MAC, so a
//! token replayed against another query (other method or filter) is refused.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::digest::{Key, KeyInit};
use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256};

/// Page size used when a request leaves `page_size` at 0.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Largest page served; larger requests are clamped to it.
pub const MAX_PAGE_SIZE: usize = 500;

type HmacSha256 = Hmac<Sha256>;

/// Bumped whenever the token layout changes, so old tokens fail cleanly.
const VERSION: u8 = 1;
/// 128 bits of tag are plenty against forgery and keep tokens short.
const TAG_LEN: usize = 16;

/// Signs and verifies page tokens with HMAC-SHA256 under a server key.
#[derive(Clone)]
pub struct PageTokens {
    mac: HmacSha256,
}

impl std::fmt::Debug for PageTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageTokens")
            .field("key", &"<redacted>")
            .finish()
    }
}

impl PageTokens {
    /// Tokens signed under `key` (any length; use at least 32 random bytes).
    pub fn new(key: &[u8]) -> Self {
        Self { mac: keyed(key) }
    }

    /// Token for the page after `cursor` (an opaque keyset position chosen by the service) in the query identified by `fingerprint` (e.g. method name + filter text).
    pub fn encode(&self, cursor: &str, fingerprint: &str) -> String {
        let tag = self
            .tag(cursor.as_bytes(), fingerprint)
            .finalize()
            .into_bytes();
        let mut raw = Vec::with_capacity(1 + cursor.len() + TAG_LEN);
        raw.push(VERSION);
        raw.extend_from_slice(cursor.as_bytes());
        raw.extend(tag.iter().take(TAG_LEN));
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The cursor inside `token`, if the token was made by this key for this same query.
    pub fn decode(&self, token: &str, fingerprint: &str) -> Result<String, PageError> {
        let raw = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| token_error("is not a valid page token"))?;
        let Some((&version, rest)) = raw.split_first() else {
            return Err(token_error("is not a valid page token (too short)"));
        };
        let Some(cursor_len) = rest.len().checked_sub(TAG_LEN) else {
            return Err(token_error("is not a valid page token (too short)"));
        };
        if version != VERSION {
            return Err(token_error(
                "is not a valid page token (unsupported version); start again from the first page",
            ));
        }
        let (cursor, tag) = rest.split_at(cursor_len);
        // Constant-time comparison, so the tag cannot be guessed byte by byte.
        self.tag(cursor, fingerprint)
            .verify_truncated_left(tag)
            .map_err(|_| token_error("was issued for a different query"))?;
        String::from_utf8(cursor.to_vec()).map_err(|_| token_error("is not a valid page token"))
    }

    fn tag(&self, cursor: &[u8], fingerprint: &str) -> HmacSha256 {
        // Saturating only matters past 4 GiB, where no real fingerprint goes.
        let fingerprint_len = u32::try_from(fingerprint.len()).unwrap_or(u32::MAX);
        let mut mac = self.mac.clone();
        mac.update(&[VERSION]);
        mac.update(&fingerprint_len.to_be_bytes());
        mac.update(fingerprint.as_bytes());
        mac.update(cursor);
        mac
    }
}

/// An HMAC keyed with `key` per RFC 2104 (long keys hashed, short ones
/// zero-padded), built without `new_from_slice` so there is no error to handle.
fn keyed(key: &[u8]) -> HmacSha256 {
    let mut block = Key::<HmacSha256>::default();
    if key.len() > block.len() {
        let digest = Sha256::digest(key);
        block
            .iter_mut()
            .zip(digest.iter())
            .for_each(|(b, k)| *b = *k);
    } else {
        block.iter_mut().zip(key).for_each(|(b, k)| *b = *k);
    }
    <HmacSha256 as KeyInit>::new(&block)
}

fn token_error(reason: &str) -> PageError {
    PageError {
        field: "page_token",
        reason: reason.to_owned(),
    }
}

/// A page of results and the cursor after it (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Keyset position after the last item, when more may follow.
    pub next: Option<String>,
}

/// Every item of a list, read page by page ([`MAX_PAGE_SIZE`] at a time)
/// with `list`: for collections small enough to hold whole (an export's
/// network of a few thousand records).
pub async fn all<T, E>(
    mut list: impl AsyncFnMut(&PageRequest) -> Result<Page<T>, E>,
) -> Result<Vec<T>, E> {
    let mut items = Vec::new();
    let mut page = PageRequest {
        size: MAX_PAGE_SIZE,
        after: None,
    };
    loop {
        let found = list(&page).await?;
        items.extend(found.items);
        match found.next {
            Some(next) => page.after = Some(next),
            None => return Ok(items),
        }
    }
}

/// What a List call asked for, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// How many items to return at most (1..=MAX_PAGE_SIZE).
    pub size: usize,
    /// The cursor to continue after, or `None` for the first page.
    pub after: Option<String>,
}

/// Why `page_size` or `page_token` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct PageError {
    /// The request field at fault: `"page_size"` or `"page_token"`.
    pub field: &'static str,
    /// What is wrong with it, phrased to follow the field name.
    pub reason: String,
}

/// Validates page_size (negative -> PageError{field:"page_size"}; 0 -> DEFAULT_PAGE_SIZE; above MAX -> MAX) and page_token (empty -> after None; otherwise decode, errors with field "page_token").
pub fn page_request(
    tokens: &PageTokens,
    page_size: i32,
    page_token: &str,
    fingerprint: &str,
) -> Result<PageRequest, PageError> {
    let size = match usize::try_from(page_size) {
        Err(_) => {
            return Err(PageError {
                field: "page_size",
                reason: format!("must not be negative (got {page_size})"),
            });
        }
        Ok(0) => DEFAULT_PAGE_SIZE,
        Ok(size) => size.min(MAX_PAGE_SIZE),
    };
    let after = if page_token.is_empty() {
        None
    } else {
        Some(tokens.decode(page_token, fingerprint)?)
    };
    Ok(PageRequest { size, after })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const FP: &str = "ListGroups\u{0}state = ACTIVE";

    fn tokens() -> PageTokens {
        PageTokens::new(KEY)
    }

    fn token_reason(result: Result<String, PageError>) -> String {
        let e = result.unwrap_err();
        assert_eq!(e.field, "page_token");
        e.reason
    }

    #[test]
    fn round_trip() {
        let t = tokens();
        for cursor in [
            "",
            "groups/abc",
            "2024-01-01T00:00:00Z|42",
            "ș å 😀",
            &"x".repeat(1000),
        ] {
            let token = t.encode(cursor, FP);
            assert!(
                token
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "{token}"
            );
            assert_eq!(t.decode(&token, FP).unwrap(), cursor);
            // A clone verifies what the original signed.
            assert_eq!(t.clone().decode(&token, FP).unwrap(), cursor);
        }
    }

    #[test]
    fn keying_matches_the_hmac_crate() {
        for key in [&b""[..], b"k", &[7u8; 64], &[9u8; 65], &[1u8; 200]] {
            let ours = keyed(key).chain_update(b"msg").finalize().into_bytes();
            let theirs = <HmacSha256 as Mac>::new_from_slice(key)
                .unwrap()
                .chain_update(b"msg")
                .finalize()
                .into_bytes();
            assert_eq!(ours, theirs, "key of {} bytes", key.len());
        }
    }

    #[test]
    fn any_tampered_byte_is_refused() {
        let t = tokens();
        let token = t.encode("groups/abc", FP);
        let raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for i in 0..raw.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = raw.clone();
                bad[i] ^= flip;
                let result = t.decode(&URL_SAFE_NO_PAD.encode(&bad), FP);
                assert!(result.is_err(), "byte {i} flipped with {flip:#x}");
                assert_eq!(result.unwrap_err().field, "page_token");
            }
        }
        // Truncated or extended tokens are refused too.
        for len in 0..raw.len() {
            assert!(t.decode(&URL_SAFE_NO_PAD.encode(&raw[..len]), FP).is_err());
        }
        let mut longer = raw.clone();
        longer.push(0);
        assert!(t.decode(&URL_SAFE_NO_PAD.encode(&longer), FP).is_err());
    }

    #[test]
    fn other_key_is_refused() {
        let token = tokens().encode("groups/abc", FP);
        let other = PageTokens::new(b"another key entirely, 32 bytes!!");
        assert_eq!(
            token_reason(other.decode(&token, FP)),
            "was issued for a different query"
        );
    }

    #[test]
    fn other_fingerprint_is_refused() {
        let t = tokens();
        let token = t.encode("groups/abc", FP);
        for fp in [
            "",
            "ListGroups",
            "ListGroups\u{0}state = PENDING",
            "ListPeople\u{0}state = ACTIVE",
        ] {
            assert_eq!(
                token_reason(t.decode(&token, fp)),
                "was issued for a different query"
            );
        }
        // The length prefix keeps the fingerprint/cursor boundary unambiguous.
        let a = t.encode("bc", "a");
        assert!(t.decode(&a, "ab").is_err());
    }

    #[test]
    fn wrong_version_is_refused() {
        let t = tokens();
        let mut raw = URL_SAFE_NO_PAD.decode(t.encode("c", FP)).unwrap();
        raw[0] = 2;
        let reason = token_reason(t.decode(&URL_SAFE_NO_PAD.encode(&raw), FP));
        assert!(reason.contains("version"), "{reason}");
    }

    #[test]
    fn non_utf8_cursor_is_refused() {
        let t = tokens();
        let cursor = [0xffu8, 0xfe];
        let mut raw = vec![VERSION];
        raw.extend_from_slice(&cursor);
        let tag = t.tag(&cursor, FP).finalize().into_bytes();
        raw.extend_from_slice(&tag[..TAG_LEN]);
        let reason = token_reason(t.decode(&URL_SAFE_NO_PAD.encode(&raw), FP));
        assert_eq!(reason, "is not a valid page token");
    }

    #[test]
    fn garbage_is_refused() {
        let t = tokens();
        let long = "A".repeat(10_000);
        for garbage in [
            "x", "!!!!", "====", "abc=", "a b", "ș", "😀", "AAAA", "AQ", &long, "\u{0}", "/+/+",
            "%41",
        ] {
            let e = t.decode(garbage, FP).unwrap_err();
            assert_eq!(e.field, "page_token", "{garbage:?}");
        }
        assert!(token_reason(t.decode("AQ", FP)).contains("too short"));
    }

    #[test]
    fn debug_hides_the_key() {
        let shown = format!("{:?}", PageTokens::new(b"super-secret-key"));
        assert_eq!(shown, r#"PageTokens { key: "<redacted>" }"#);
    }

    #[test]
    fn page_size_rules() {
        let t = tokens();
        let size = |n: i32| page_request(&t, n, "", FP).unwrap().size;
        assert_eq!(size(0), DEFAULT_PAGE_SIZE);
        assert_eq!(size(1), 1);
        assert_eq!(size(MAX_PAGE_SIZE as i32), MAX_PAGE_SIZE);
        assert_eq!(size(MAX_PAGE_SIZE as i32 + 1), MAX_PAGE_SIZE);
        assert_eq!(size(i32::MAX), MAX_PAGE_SIZE);
        for n in [-1, i32::MIN] {
            let e = page_request(&t, n, "", FP).unwrap_err();
            assert_eq!(e.field, "page_size");
            assert!(e.to_string().starts_with("page_size: must not be negative"));
        }
    }

    #[test]
    fn page_token_rules() {
        let t = tokens();
        assert_eq!(
            page_request(&t, 10, "", FP).unwrap(),
            PageRequest {
                size: 10,
                after: None
            }
        );
        let token = t.encode("groups/abc", FP);
        assert_eq!(
            page_request(&t, 10, &token, FP).unwrap(),
            PageRequest {
                size: 10,
                after: Some("groups/abc".to_owned())
            }
        );
        let e = page_request(&t, 10, &token, "other").unwrap_err();
        assert_eq!(
            e.to_string(),
            "page_token: was issued for a different query"
        );
        assert_eq!(
            page_request(&t, 10, "nope!", FP).unwrap_err().field,
            "page_token"
        );
    }
}
