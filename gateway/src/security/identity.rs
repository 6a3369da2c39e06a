//! Who is calling: a client certificate (mutual TLS) or a bearer token (JWT).
//!
//! A certificate names its client X-Road style, `INSTANCE/CLASS/MEMBER/SUBSYSTEM`:
//! a SAN URI `xroad:INSTANCE/CLASS/MEMBER/SUBSYSTEM`, or else the subject's
//! `serialNumber` (`INSTANCE/CLASS/MEMBER`) with its CN as the subsystem. The
//! TLS layer has already checked the certificate against the configured CA
//! bundle. A token names its client by its `sub` claim, after its signature
//! (a key of the configured JWKS), issuer, audience and expiry (with the
//! configured clock skew) are checked.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

/// Why an identity was refused (the message of UNAUTHENTICATED).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

/// The client id a certificate (DER) carries.
pub fn certificate_client_id(der: &[u8]) -> Result<String, Refused> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| Refused(format!("unreadable client certificate: {e}")))?;
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::URI(uri) = name
                && let Some(id) = uri.strip_prefix("xroad:")
            {
                return client_id(id);
            }
        }
    }
    let subject = cert.subject();
    let serial = subject
        .iter_attributes()
        .find(|a| a.attr_type() == &x509_parser::oid_registry::OID_X509_SERIALNUMBER)
        .and_then(|a| a.as_str().ok());
    let cn = subject
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok());
    match (serial, cn) {
        (Some(serial), Some(cn)) => client_id(&format!("{serial}/{cn}")),
        _ => Err(Refused(
            "the client certificate names no client: expected a SAN URI \
             xroad:INSTANCE/CLASS/MEMBER/SUBSYSTEM or a subject serialNumber INSTANCE/CLASS/MEMBER"
                .into(),
        )),
    }
}

/// Checks the `INSTANCE/CLASS/MEMBER/SUBSYSTEM` shape.
fn client_id(id: &str) -> Result<String, Refused> {
    let parts: Vec<&str> = id.split('/').collect();
    if parts.len() == 4 && parts.iter().all(|p| !p.trim().is_empty()) {
        Ok(id.to_string())
    } else {
        Err(Refused(format!(
            "client id {id:?} is not INSTANCE/CLASS/MEMBER/SUBSYSTEM"
        )))
    }
}

/// Validates bearer tokens.
#[derive(Clone)]
pub struct TokenVerifier {
    keys: JwkSet,
    issuer: String,
    audience: String,
    leeway_seconds: u64,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("keys", &self.keys.keys.len())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    /// When the token was issued (RFC 7519 NumericDate, may be fractional).
    iat: Option<f64>,
}

impl TokenVerifier {
    /// A verifier over the JWKS document `jwks` (JSON).
    pub fn new(
        jwks: &str,
        issuer: &str,
        audience: &str,
        leeway_seconds: u64,
    ) -> Result<TokenVerifier, String> {
        let keys: JwkSet = serde_json::from_str(jwks).map_err(|e| format!("not a JWKS: {e}"))?;
        if keys.keys.is_empty() {
            return Err("the JWKS holds no key".into());
        }
        for key in &keys.keys {
            DecodingKey::from_jwk(key).map_err(|e| format!("unusable key: {e}"))?;
        }
        Ok(TokenVerifier {
            keys,
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            leeway_seconds,
        })
    }

    /// The client id (`sub`) of a valid token.
    pub fn verify(&self, token: &str) -> Result<String, Refused> {
        let bad = |why: String| Refused(format!("bearer token refused: {why}"));
        let header = decode_header(token).map_err(|e| bad(e.to_string()))?;
        let jwk = match &header.kid {
            Some(kid) => self.keys.find(kid),
            None if self.keys.keys.len() == 1 => self.keys.keys.first(),
            None => None,
        }
        .ok_or_else(|| bad("signed by a key the gateway does not trust".into()))?;
        let key = DecodingKey::from_jwk(jwk).map_err(|e| bad(e.to_string()))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = self.leeway_seconds;
        // `exp` is required above; `nbf`, when present, is checked too.
        validation.validate_nbf = true;
        let data = decode::<Claims>(token, &key, &validation).map_err(|e| bad(e.to_string()))?;
        if data.claims.sub.trim().is_empty() {
            return Err(bad("empty subject".into()));
        }
        // A token issued in the future (beyond the leeway for clock skew) was
        // not issued by a sound issuer: refused like an early `nbf`.
        if let Some(iat) = data.claims.iat {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or_default();
            if iat > now + self.leeway_seconds as f64 {
                return Err(bad("issued in the future (iat)".into()));
            }
        }
        Ok(data.claims.sub)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_have_four_parts() {
        assert!(client_id("RO/GOV/4221187/portal").is_ok());
        assert!(client_id("RO/GOV/4221187").is_err());
        assert!(client_id("RO//4221187/portal").is_err());
    }
}
