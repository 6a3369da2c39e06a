//! Gateway security: who is calling (mutual TLS or a bearer token), what they
//! may call (the access table, deny by default), and the guard every call
//! passes before it is forwarded or composed.

pub mod access;
pub mod admit;
pub mod identity;
pub mod limits;
pub mod ownership;

use std::sync::Arc;

use http::HeaderMap;
use tonic::Status;

pub use access::{AccessTable, Client, Grant};
pub use identity::TokenVerifier;

/// End-user id header: recorded, never used to grant access.
pub const USER_ID: &str = "x-user-id";
/// Case reference header: recorded, never used to grant access.
pub const ISSUE: &str = "x-issue";

/// Who made a call that the guard let through.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The client id; `development` when access control is off.
    pub client_id: String,
    /// Its member organisation.
    pub organization: Option<String>,
    /// Whether the call is limited to records of that organisation.
    pub own_organization_only: bool,
    /// Whether the caller holds the lab administrator role (or control is off).
    pub admin: bool,
    /// `x-user-id`, if sent.
    pub user_id: Option<String>,
    /// `x-issue`, if sent.
    pub issue: Option<String>,
}

/// The role that may read every client's audit entries.
pub const LAB_ADMIN: &str = "lab_admin";

/// The guard: identity and access rules. `None` table: development mode,
/// everything allowed.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    inner: Option<Arc<Rules>>,
    limits: limits::Limits,
}

#[derive(Debug)]
struct Rules {
    table: AccessTable,
    tokens: Option<TokenVerifier>,
}

impl Guard {
    /// No access control (development).
    pub fn open() -> Guard {
        Guard::default()
    }

    /// The same guard with these limits.
    pub fn with_limits(mut self, limits: limits::Limits) -> Guard {
        self.limits = limits;
        self
    }

    /// The limits every call is held to.
    pub fn limits(&self) -> &limits::Limits {
        &self.limits
    }

    /// Access control by `table`, clients identified by their certificate or
    /// by tokens `tokens` verifies.
    pub fn new(table: AccessTable, tokens: Option<TokenVerifier>) -> Guard {
        Guard {
            inner: Some(Arc::new(Rules { table, tokens })),
            limits: limits::Limits::default(),
        }
    }

    /// Whether access control is on.
    pub fn enforcing(&self) -> bool {
        self.inner.is_some()
    }

    /// The client id the call presents, for the audit log of a refused
    /// call; empty when it presents none (or access control is off).
    pub fn client_hint(&self, headers: &HeaderMap, extensions: &http::Extensions) -> String {
        match &self.inner {
            Some(rules) => identify(rules, headers, extensions).unwrap_or_default(),
            None => "development".into(),
        }
    }

    /// Admits a call to `method` (`package.Service/Method`) or says why not:
    /// UNAUTHENTICATED without a valid identity, PERMISSION_DENIED when no
    /// role of the client grants the method. Decided before anything is
    /// read, so a denial never depends on whether a record exists.
    pub fn admit(
        &self,
        method: &str,
        headers: &HeaderMap,
        extensions: &http::Extensions,
    ) -> Result<Caller, Status> {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let (user_id, issue) = (header(USER_ID), header(ISSUE));
        let Some(rules) = &self.inner else {
            return Ok(Caller {
                client_id: "development".into(),
                organization: None,
                own_organization_only: false,
                admin: true,
                user_id,
                issue,
            });
        };
        let client_id = identify(rules, headers, extensions)?;
        let client = rules.table.client(&client_id).ok_or_else(|| {
            Status::permission_denied(format!(
                "client {client_id} is not in the access table: every method is closed to it"
            ))
        })?;
        let grant = rules.table.grant(client, method);
        if grant == Grant::Denied {
            return Err(Status::permission_denied(format!(
                "client {client_id} may not call {method}"
            )));
        }
        Ok(Caller {
            client_id,
            organization: client.organization.clone(),
            own_organization_only: grant == Grant::OwnOrganization,
            admin: client.roles.iter().any(|r| r == LAB_ADMIN),
            user_id,
            issue,
        })
    }
}

/// The client id from the TLS client certificate, else from the bearer token.
fn identify(
    rules: &Rules,
    headers: &HeaderMap,
    extensions: &http::Extensions,
) -> Result<String, Status> {
    let certificate = extensions
        .get::<innolab_kit::transport::ConnectionInfo>()
        .and_then(|info| info.peer_certificates.as_ref())
        .and_then(|certs| certs.first().cloned());
    if let Some(cert) = certificate {
        return identity::certificate_client_id(&cert).map_err(|e| Status::unauthenticated(e.0));
    }
    let bearer = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
    match (bearer, &rules.tokens) {
        (Some(token), Some(verifier)) => verifier
            .verify(token.trim())
            .map_err(|e| Status::unauthenticated(e.0)),
        (Some(_), None) => Err(Status::unauthenticated(
            "bearer tokens are not accepted here (no JWKS configured); present a client certificate",
        )),
        (None, _) => Err(Status::unauthenticated(
            "no identity: present a client certificate or an Authorization: Bearer token",
        )),
    }
}

/// The gateway's security settings: the guard, TLS for its listener, and
/// where the audit log is kept.
#[derive(Debug, Clone, Default)]
pub struct Security {
    /// Identity, access rules and limits.
    pub guard: Guard,
    /// TLS (with client certificates when a CA bundle is set); `None` is plaintext.
    pub tls: Option<std::sync::Arc<innolab_kit::transport::TlsConfig>>,
    /// The audit log (its database, and the key end users are hashed
    /// with); `None` keeps no audit log (development only).
    pub audit: Option<crate::audit::Settings>,
    /// How the audit chain head is signed; `None` signs no checkpoints.
    pub audit_signing: Option<crate::audit::Signing>,
    /// Whether a write is answered only once its audit entry is committed.
    pub audit_strict: bool,
    /// Where health is also served alone in plaintext, for Kubernetes probes
    /// (which cannot speak TLS).
    pub probe_addr: Option<std::net::SocketAddr>,
    /// Origins whose browser applications may call (CORS); empty: none.
    pub cors_origins: Vec<http::HeaderValue>,
    /// Webhook subscriptions (their database and delivery settings);
    /// `None` keeps none (their methods answer FAILED_PRECONDITION).
    pub subscriptions: Option<crate::hooks::Settings>,
}

/// What `from_env` reads.
pub const ENV_VARS: &[&str] = &[
    "INNOLAB_MAX_CONCURRENT_CALLS",
    "INNOLAB_RATE_LIMIT_PER_SECOND",
    "INNOLAB_RATE_LIMIT_BURST",
    "INNOLAB_MAX_MESSAGE_BYTES",
    "INNOLAB_DEFAULT_DEADLINE_MS",
    "INNOLAB_ENVIRONMENT",
    "INNOLAB_TLS_CERT_FILE",
    "INNOLAB_TLS_KEY_FILE",
    "INNOLAB_TLS_CLIENT_CA_FILE",
    "INNOLAB_JWT_JWKS_FILE",
    "INNOLAB_JWT_ISSUER",
    "INNOLAB_JWT_AUDIENCE",
    "INNOLAB_JWT_LEEWAY_SECONDS",
    "INNOLAB_ACCESS_FILE",
    "INNOLAB_AUDIT_DATABASE_URL",
    "INNOLAB_AUDIT_DATABASE_URL_FILE",
    "INNOLAB_AUDIT_DATABASE_SCHEMA",
    "INNOLAB_AUDIT_DATABASE_PASSWORD_FILE",
    "INNOLAB_AUDIT_DATABASE_CA_FILE",
    "INNOLAB_AUDIT_SIGNING_KEY_FILE",
    "INNOLAB_AUDIT_USER_KEY_FILE",
    "INNOLAB_AUDIT_CHECKPOINT_FILE",
    "INNOLAB_AUDIT_CHECKPOINT_EVERY",
    "INNOLAB_AUDIT_CHECKPOINT_SECONDS",
    "INNOLAB_AUDIT_STRICT",
    "INNOLAB_PROBE_ADDR",
    "INNOLAB_CORS_ALLOWED_ORIGINS",
];

use innolab_kit::config::ConfigError;

fn read(name: &'static str, path: &str) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError {
        setting: name,
        reason: format!("cannot read {path:?}: {e}"),
    })
}

fn refuse(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        reason: reason.into(),
    }
}

/// Reads the security settings from the environment.
///
/// `INNOLAB_ENVIRONMENT=production` refuses to start without TLS
/// (`INNOLAB_TLS_CERT_FILE`, `INNOLAB_TLS_KEY_FILE`), without a way to
/// identify clients (`INNOLAB_TLS_CLIENT_CA_FILE` and/or
/// `INNOLAB_JWT_JWKS_FILE` with `INNOLAB_JWT_ISSUER` and
/// `INNOLAB_JWT_AUDIENCE`), without an access table (`INNOLAB_ACCESS_FILE`)
/// or without an audit log that proves itself and names no end user in
/// clear (`INNOLAB_AUDIT_DATABASE_URL`, `INNOLAB_AUDIT_SIGNING_KEY_FILE`,
/// `INNOLAB_AUDIT_USER_KEY_FILE`). In development (the default) each is
/// optional, and whatever is missing is logged loudly at start.
pub fn from_env() -> Result<Security, ConfigError> {
    from_vars(|name| std::env::var(name).ok())
}

/// `from_env` over any source of variables (tests pass a map).
pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Security, ConfigError> {
    let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let production = match var("INNOLAB_ENVIRONMENT").as_deref() {
        None | Some("development") => false,
        Some("production") => true,
        Some(other) => {
            return Err(refuse(
                "INNOLAB_ENVIRONMENT",
                format!("must be development or production, got {other:?}"),
            ));
        }
    };
    // The one secret given by value; also as a file (`_FILE`, a mounted Secret).
    let audit_url = innolab_kit::config::secret_var("INNOLAB_AUDIT_DATABASE_URL", var)?;
    let (cert, key) = (var("INNOLAB_TLS_CERT_FILE"), var("INNOLAB_TLS_KEY_FILE"));
    let client_ca = var("INNOLAB_TLS_CLIENT_CA_FILE");
    let jwks = var("INNOLAB_JWT_JWKS_FILE");
    let access = var("INNOLAB_ACCESS_FILE");
    if production {
        if cert.is_none() {
            return Err(refuse(
                "INNOLAB_TLS_CERT_FILE",
                "production needs TLS: set the gateway's certificate and key",
            ));
        }
        if client_ca.is_none() && jwks.is_none() {
            return Err(refuse(
                "INNOLAB_TLS_CLIENT_CA_FILE",
                "production needs a way to identify clients: a client CA bundle and/or INNOLAB_JWT_JWKS_FILE",
            ));
        }
        if access.is_none() {
            return Err(refuse(
                "INNOLAB_ACCESS_FILE",
                "production needs an access table (deny by default)",
            ));
        }
        if audit_url.is_none() {
            return Err(refuse(
                "INNOLAB_AUDIT_DATABASE_URL",
                "production needs an audit log: a database URL (PostgreSQL when the gateway \
                 runs as several replicas; schema INNOLAB_AUDIT_DATABASE_SCHEMA, default audit)",
            ));
        }
        if var("INNOLAB_AUDIT_SIGNING_KEY_FILE").is_none() {
            return Err(refuse(
                "INNOLAB_AUDIT_SIGNING_KEY_FILE",
                "production signs the audit log's chain head, so that a rewritten chain or \
                 deleted newest entries are detected: an Ed25519 key kept outside the audit \
                 database (openssl genpkey -algorithm ed25519)",
            ));
        }
        if var("INNOLAB_AUDIT_USER_KEY_FILE").is_none() {
            return Err(refuse(
                "INNOLAB_AUDIT_USER_KEY_FILE",
                "production keeps end users in the audit log only as keyed hashes: a key of at \
                 least 32 bytes kept outside the audit database (openssl rand 32)",
            ));
        }
    }
    let user_key = match var("INNOLAB_AUDIT_USER_KEY_FILE") {
        Some(path) => {
            if audit_url.is_none() {
                return Err(refuse(
                    "INNOLAB_AUDIT_USER_KEY_FILE",
                    "hashes the audit log's end users: set INNOLAB_AUDIT_DATABASE_URL too",
                ));
            }
            Some(
                crate::audit::UserKey::from_file(std::path::Path::new(&path))
                    .map_err(|e| refuse("INNOLAB_AUDIT_USER_KEY_FILE", e))?,
            )
        }
        None => None,
    };
    let audit = match audit_url {
        Some(url) => {
            let schema = var("INNOLAB_AUDIT_DATABASE_SCHEMA").unwrap_or_else(|| "audit".into());
            let database = innolab_kit::config::DatabaseSettings::new(&url, &schema, 4)
                .map_err(|e| refuse("INNOLAB_AUDIT_DATABASE_URL", e.reason))?
                .with_password_file(
                    "INNOLAB_AUDIT_DATABASE_PASSWORD_FILE",
                    var("INNOLAB_AUDIT_DATABASE_PASSWORD_FILE")
                        .as_deref()
                        .map(std::path::Path::new),
                )?
                .with_ca_file(
                    "INNOLAB_AUDIT_DATABASE_CA_FILE",
                    var("INNOLAB_AUDIT_DATABASE_CA_FILE")
                        .as_deref()
                        .map(std::path::Path::new),
                )
                .map_err(|e| refuse(e.setting, e.reason))?;
            Some(crate::audit::Settings { database, user_key })
        }
        None => None,
    };

    let tokens = match &jwks {
        Some(path) => {
            let issuer = var("INNOLAB_JWT_ISSUER").ok_or_else(|| {
                refuse("INNOLAB_JWT_ISSUER", "required with INNOLAB_JWT_JWKS_FILE")
            })?;
            let audience = var("INNOLAB_JWT_AUDIENCE").ok_or_else(|| {
                refuse(
                    "INNOLAB_JWT_AUDIENCE",
                    "required with INNOLAB_JWT_JWKS_FILE",
                )
            })?;
            let leeway = match var("INNOLAB_JWT_LEEWAY_SECONDS") {
                None => 60,
                Some(v) => v.parse::<u64>().ok().filter(|s| *s <= 600).ok_or_else(|| {
                    refuse("INNOLAB_JWT_LEEWAY_SECONDS", "must be 0 to 600 seconds")
                })?,
            };
            let text = read("INNOLAB_JWT_JWKS_FILE", path)?;
            Some(
                TokenVerifier::new(&text, &issuer, &audience, leeway)
                    .map_err(|e| refuse("INNOLAB_JWT_JWKS_FILE", e))?,
            )
        }
        None => None,
    };

    let tls = match (&cert, &key) {
        (Some(cert), Some(key)) => {
            let ca = match &client_ca {
                Some(ca) => Some(read("INNOLAB_TLS_CLIENT_CA_FILE", ca)?),
                None => None,
            };
            // Token clients connect without a certificate.
            let tls = innolab_kit::transport::tls_config(
                read("INNOLAB_TLS_CERT_FILE", cert)?.as_bytes(),
                read("INNOLAB_TLS_KEY_FILE", key)?.as_bytes(),
                ca.as_deref().map(str::as_bytes),
                tokens.is_some(),
                true,
            )
            .map_err(|e| refuse("INNOLAB_TLS_CERT_FILE", format!("{e:#}")))?;
            Some(tls)
        }
        (Some(_), None) => {
            return Err(refuse(
                "INNOLAB_TLS_KEY_FILE",
                "required with INNOLAB_TLS_CERT_FILE",
            ));
        }
        (None, Some(_)) => {
            return Err(refuse(
                "INNOLAB_TLS_CERT_FILE",
                "required with INNOLAB_TLS_KEY_FILE",
            ));
        }
        (None, None) => {
            if client_ca.is_some() {
                return Err(refuse(
                    "INNOLAB_TLS_CLIENT_CA_FILE",
                    "client certificates need TLS: set INNOLAB_TLS_CERT_FILE and INNOLAB_TLS_KEY_FILE",
                ));
            }
            None
        }
    };

    let guard = match &access {
        Some(path) => {
            let table = AccessTable::parse(&read("INNOLAB_ACCESS_FILE", path)?)
                .map_err(|e| refuse("INNOLAB_ACCESS_FILE", e))?;
            Guard::new(table, tokens)
        }
        None => Guard::open(),
    }
    .with_limits(limits::Limits::from_vars(var, access.is_some())?);
    if tls.is_none() {
        tracing::warn!(
            "DEVELOPMENT MODE: the gateway serves plaintext (no TLS); \
             set INNOLAB_TLS_CERT_FILE and INNOLAB_TLS_KEY_FILE before exposing it"
        );
    }
    if !guard.enforcing() {
        tracing::warn!(
            "DEVELOPMENT MODE: access control is OFF, every caller may call every method; \
             set INNOLAB_ACCESS_FILE (required with INNOLAB_ENVIRONMENT=production)"
        );
    }
    match &audit {
        None => tracing::warn!(
            "DEVELOPMENT MODE: no audit log is kept; set INNOLAB_AUDIT_DATABASE_URL \
             (required with INNOLAB_ENVIRONMENT=production)"
        ),
        Some(log) if log.user_key.is_none() => tracing::warn!(
            "DEVELOPMENT MODE: the audit log keeps end-user ids (x-user-id) IN CLEAR, inside \
             the hash chain, where erasing a person would break it; set \
             INNOLAB_AUDIT_USER_KEY_FILE (at least 32 bytes, outside the audit database; \
             required with INNOLAB_ENVIRONMENT=production)"
        ),
        Some(_) => {}
    }
    let audit_signing = match var("INNOLAB_AUDIT_SIGNING_KEY_FILE") {
        Some(path) => {
            if audit.is_none() {
                return Err(refuse(
                    "INNOLAB_AUDIT_SIGNING_KEY_FILE",
                    "signs the audit log's checkpoints: set INNOLAB_AUDIT_DATABASE_URL too",
                ));
            }
            let key = crate::audit::checkpoint::signing_key(std::path::Path::new(&path))
                .map_err(|e| refuse("INNOLAB_AUDIT_SIGNING_KEY_FILE", e))?;
            let every = match var("INNOLAB_AUDIT_CHECKPOINT_EVERY") {
                None => 100,
                Some(v) => v.parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    refuse(
                        "INNOLAB_AUDIT_CHECKPOINT_EVERY",
                        "must be a number of entries, at least 1",
                    )
                })?,
            };
            let seconds = match var("INNOLAB_AUDIT_CHECKPOINT_SECONDS") {
                None => 10,
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=3600).contains(n))
                    .ok_or_else(|| {
                        refuse(
                            "INNOLAB_AUDIT_CHECKPOINT_SECONDS",
                            "must be 1 to 3600 seconds",
                        )
                    })?,
            };
            Some(crate::audit::Signing::new(
                key,
                every,
                std::time::Duration::from_secs(seconds),
                var("INNOLAB_AUDIT_CHECKPOINT_FILE").map(std::path::PathBuf::from),
            ))
        }
        None => {
            if audit.is_some() {
                tracing::warn!(
                    "DEVELOPMENT MODE: the audit log's chain head is not signed: a rewritten chain \
                     or deleted newest entries cannot be detected; set \
                     INNOLAB_AUDIT_SIGNING_KEY_FILE (an Ed25519 key kept outside the audit \
                     database; required with INNOLAB_ENVIRONMENT=production) and \
                     INNOLAB_AUDIT_CHECKPOINT_FILE"
                );
            }
            None
        }
    };
    let audit_strict = match var("INNOLAB_AUDIT_STRICT").as_deref() {
        None | Some("false") => false,
        Some("true") if audit.is_some() => true,
        Some("true") => {
            return Err(refuse(
                "INNOLAB_AUDIT_STRICT",
                "holds writes for their audit entries: set INNOLAB_AUDIT_DATABASE_URL too",
            ));
        }
        Some(other) => {
            return Err(refuse(
                "INNOLAB_AUDIT_STRICT",
                format!("must be true or false, got {other:?}"),
            ));
        }
    };
    let probe_addr = match var("INNOLAB_PROBE_ADDR") {
        Some(addr) => Some(addr.parse().map_err(|e| {
            refuse(
                "INNOLAB_PROBE_ADDR",
                format!("{addr:?} is not host:port: {e}"),
            )
        })?),
        None => None,
    };
    let cors_origins = match var("INNOLAB_CORS_ALLOWED_ORIGINS") {
        Some(list) => origins(&list)?,
        None => Vec::new(),
    };
    Ok(Security {
        guard,
        tls,
        audit,
        audit_signing,
        audit_strict,
        probe_addr,
        cors_origins,
        subscriptions: crate::hooks::from_vars(&lookup, production)?,
    })
}

/// `INNOLAB_CORS_ALLOWED_ORIGINS`: comma-separated origins
/// (`https://app.ministry.example`), each exactly as browsers send it.
fn origins(list: &str) -> Result<Vec<http::HeaderValue>, ConfigError> {
    const SETTING: &str = "INNOLAB_CORS_ALLOWED_ORIGINS";
    list.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let uri: http::Uri = origin
                .parse()
                .map_err(|e| refuse(SETTING, format!("{origin:?} is not an origin: {e}")))?;
            let scheme_ok = matches!(uri.scheme_str(), Some("https" | "http"));
            let bare =
                uri.path_and_query().is_none_or(|p| p.as_str() == "/") && !origin.ends_with('/');
            if !scheme_ok || uri.host().is_none() || !bare {
                return Err(refuse(
                    SETTING,
                    format!(
                        "{origin:?} is not an origin: scheme://host[:port], no path \
                         (e.g. https://app.ministry.example)"
                    ),
                ));
            }
            http::HeaderValue::from_str(origin)
                .map_err(|e| refuse(SETTING, format!("{origin:?}: {e}")))
        })
        .collect()
}
