//! Webhook subscriptions: ministry systems register an HTTPS endpoint and
//! receive each change of the merged feed (`feed.rs`) that matches their
//! filter as a signed JSON POST (the Standard Webhooks convention,
//! <https://www.standardwebhooks.com>).
//!
//! - `store.rs`: subscriptions, their delivery state and log (their own
//!   database, `INNOLAB_SUBSCRIPTIONS_DATABASE_URL`).
//! - `dispatch.rs`: one task per active subscription, reading the feed from
//!   the subscription's stored cursor and delivering one change at a time.
//! - `client.rs`: the outgoing HTTPS POST, with the SSRF rules.
//! - `rpc.rs`: the subscription methods of `GatewayService`.

pub mod client;
pub mod dispatch;
pub mod rpc;
pub mod store;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use innolab_kit::config::{ConfigError, DatabaseSettings};
use sha2::Sha256;

pub use store::Store;

/// How subscriptions are kept and delivered.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Their database (SQLite file or PostgreSQL schema `subscriptions`).
    pub database: DatabaseSettings,
    /// The first retry's delay; each next one doubles, up to `backoff_max`.
    pub backoff_initial: Duration,
    /// The longest delay between two attempts.
    pub backoff_max: Duration,
    /// A subscription whose current change has failed for this long is
    /// disabled, with the reason.
    pub disable_after: Duration,
    /// How long one POST may take, connection and TLS included.
    pub timeout: Duration,
    /// How often the dispatcher looks for new or re-enabled subscriptions
    /// and renews its lease (others are woken at once by the calls).
    pub poll: Duration,
    /// How long delivery attempts stay in the log.
    pub log_retention: Duration,
    /// Development and tests only: endpoints may be `http://` and resolve
    /// to loopback or private addresses.
    pub allow_private: bool,
    /// PEM certificates trusted besides the public web roots (a ministry's
    /// private CA; the tests' CA).
    pub extra_roots_pem: Option<String>,
}

impl Settings {
    /// Defaults over `database`: retries from 5 s doubling to an hour,
    /// disabled after 3 days of failure, 10 s per POST.
    pub fn new(database: DatabaseSettings) -> Settings {
        Settings {
            database,
            backoff_initial: Duration::from_secs(5),
            backoff_max: Duration::from_secs(3600),
            disable_after: Duration::from_secs(3 * 24 * 3600),
            timeout: Duration::from_secs(10),
            poll: Duration::from_secs(5),
            log_retention: Duration::from_secs(30 * 24 * 3600),
            allow_private: false,
            extra_roots_pem: None,
        }
    }
}

/// What [`from_vars`] reads.
pub const ENV_VARS: &[&str] = &[
    "INNOLAB_SUBSCRIPTIONS_DATABASE_URL",
    "INNOLAB_SUBSCRIPTIONS_DATABASE_URL_FILE",
    "INNOLAB_SUBSCRIPTIONS_DATABASE_SCHEMA",
    "INNOLAB_SUBSCRIPTIONS_DATABASE_PASSWORD_FILE",
    "INNOLAB_SUBSCRIPTIONS_DATABASE_CA_FILE",
    "INNOLAB_WEBHOOK_BACKOFF_INITIAL_MS",
    "INNOLAB_WEBHOOK_BACKOFF_MAX_SECONDS",
    "INNOLAB_WEBHOOK_DISABLE_AFTER_SECONDS",
    "INNOLAB_WEBHOOK_TIMEOUT_MS",
    "INNOLAB_WEBHOOK_POLL_MS",
    "INNOLAB_WEBHOOK_LOG_DAYS",
    "INNOLAB_WEBHOOK_ALLOW_PRIVATE",
    "INNOLAB_WEBHOOK_CA_FILE",
];

fn refuse(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        reason: reason.into(),
    }
}

/// The subscription settings, from variables; `None` when
/// `INNOLAB_SUBSCRIPTIONS_DATABASE_URL` is unset (no subscriptions: their
/// methods answer FAILED_PRECONDITION). `production` refuses
/// `INNOLAB_WEBHOOK_ALLOW_PRIVATE` and a disabling sooner than 24 hours.
pub fn from_vars(
    var: impl Fn(&str) -> Option<String>,
    production: bool,
) -> Result<Option<Settings>, ConfigError> {
    let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    let Some(url) = innolab_kit::config::secret_var("INNOLAB_SUBSCRIPTIONS_DATABASE_URL", var)?
    else {
        return Ok(None);
    };
    let schema =
        var("INNOLAB_SUBSCRIPTIONS_DATABASE_SCHEMA").unwrap_or_else(|| "subscriptions".into());
    let database = DatabaseSettings::new(&url, &schema, 4)
        .map_err(|e| refuse("INNOLAB_SUBSCRIPTIONS_DATABASE_URL", e.reason))?
        .with_password_file(
            "INNOLAB_SUBSCRIPTIONS_DATABASE_PASSWORD_FILE",
            var("INNOLAB_SUBSCRIPTIONS_DATABASE_PASSWORD_FILE")
                .as_deref()
                .map(std::path::Path::new),
        )?
        .with_ca_file(
            "INNOLAB_SUBSCRIPTIONS_DATABASE_CA_FILE",
            var("INNOLAB_SUBSCRIPTIONS_DATABASE_CA_FILE")
                .as_deref()
                .map(std::path::Path::new),
        )?;
    let mut settings = Settings::new(database);
    let number = |name: &'static str| -> Result<Option<u64>, ConfigError> {
        var(name)
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| refuse(name, "must be a positive whole number"))
            })
            .transpose()
    };
    if let Some(ms) = number("INNOLAB_WEBHOOK_BACKOFF_INITIAL_MS")? {
        settings.backoff_initial = Duration::from_millis(ms);
    }
    if let Some(s) = number("INNOLAB_WEBHOOK_BACKOFF_MAX_SECONDS")? {
        settings.backoff_max = Duration::from_secs(s);
    }
    if let Some(s) = number("INNOLAB_WEBHOOK_DISABLE_AFTER_SECONDS")? {
        if production && s < 24 * 3600 {
            return Err(refuse(
                "INNOLAB_WEBHOOK_DISABLE_AFTER_SECONDS",
                "production retries for at least 24 hours (86400) before disabling",
            ));
        }
        settings.disable_after = Duration::from_secs(s);
    }
    if let Some(ms) = number("INNOLAB_WEBHOOK_TIMEOUT_MS")? {
        settings.timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = number("INNOLAB_WEBHOOK_POLL_MS")? {
        settings.poll = Duration::from_millis(ms);
    }
    if let Some(days) = number("INNOLAB_WEBHOOK_LOG_DAYS")? {
        settings.log_retention = Duration::from_secs(days.saturating_mul(24 * 3600));
    }
    settings.allow_private = match var("INNOLAB_WEBHOOK_ALLOW_PRIVATE").as_deref() {
        None | Some("false") => false,
        Some("true") if production => {
            return Err(refuse(
                "INNOLAB_WEBHOOK_ALLOW_PRIVATE",
                "production never posts to plain http or private addresses",
            ));
        }
        Some("true") => true,
        Some(_) => {
            return Err(refuse(
                "INNOLAB_WEBHOOK_ALLOW_PRIVATE",
                "must be true or false",
            ));
        }
    };
    if let Some(path) = var("INNOLAB_WEBHOOK_CA_FILE") {
        let pem = std::fs::read_to_string(&path).map_err(|e| {
            refuse(
                "INNOLAB_WEBHOOK_CA_FILE",
                format!("cannot read {path:?}: {e}"),
            )
        })?;
        settings.extra_roots_pem = Some(pem);
    }
    Ok(Some(settings))
}

/// Whether a subscription is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Delivered.
    Active,
    /// Not delivered (by a call, or by the gateway after persistent failure).
    Disabled,
}

/// Which changes a subscription receives (an empty list matches all).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Short service names.
    pub services: Vec<String>,
    /// Resource kinds ([`kind`]).
    pub resource_kinds: Vec<String>,
    /// For changes of initiatives: the initiative's country is one of these.
    pub initiative_countries: Vec<String>,
    /// For changes of initiatives: one of these organisations leads it or
    /// partners in it.
    pub initiative_organizations: Vec<String>,
}

/// The services a filter may name.
pub const SERVICES: [&str; 4] = ["membership", "initiatives", "guidance", "impact"];

/// The kind of a resource: the collection of its last id
/// (`calls/1/submissions/2` is `submissions`).
pub fn kind(resource: &str) -> &str {
    let parts: Vec<&str> = resource.split('/').collect();
    if parts.len() >= 2 {
        parts[parts.len() - 2]
    } else {
        resource
    }
}

impl Filter {
    /// Whether a change of `resource` in `service`'s log can pass only
    /// once the initiative it names is read ([`Filter::initiative_matches`]).
    pub fn reads_initiative(&self, service: &str, resource: &str) -> bool {
        (!self.initiative_countries.is_empty() || !self.initiative_organizations.is_empty())
            && service == "initiatives"
            && resource.starts_with("initiatives/")
            && resource.matches('/').count() == 1
    }

    /// Whether an initiative in `country`, led by or partnered with
    /// `organizations`, passes the initiative lists.
    pub fn initiative_matches(&self, country: &str, organizations: &[&str]) -> bool {
        (self.initiative_countries.is_empty()
            || self.initiative_countries.iter().any(|c| c == country))
            && (self.initiative_organizations.is_empty()
                || self
                    .initiative_organizations
                    .iter()
                    .any(|o| organizations.contains(&o.as_str())))
    }

    /// Whether a change of `resource` in `service`'s log passes.
    pub fn matches(&self, service: &str, resource: &str) -> bool {
        (self.services.is_empty() || self.services.iter().any(|s| s == service))
            && (self.resource_kinds.is_empty()
                || self.resource_kinds.iter().any(|k| k == kind(resource)))
    }
}

/// A subscription as stored. Times are microseconds since the epoch.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// Its id (`subscriptions/{id}`).
    pub id: String,
    /// The client that created it.
    pub owner: String,
    /// Where changes go.
    pub endpoint: String,
    /// Which changes.
    pub filter: Filter,
    /// A note for people.
    pub description: String,
    /// Active or disabled.
    pub state: State,
    /// Why it was disabled.
    pub disabled_reason: String,
    /// The signing secret (`whsec_...`).
    pub secret: String,
    /// The secret before the last rotation, signing too until `previous_expires`.
    pub previous_secret: Option<String>,
    /// When the previous secret stops signing.
    pub previous_expires: Option<i64>,
    /// The feed cursor after the last change delivered or skipped.
    pub cursor: String,
    /// Bumped by a replay (the dispatcher restarts from `cursor`).
    pub cursor_epoch: i64,
    /// Since when the change after `cursor` fails.
    pub failing_since: Option<i64>,
    /// Attempts made at that change.
    pub attempts: i64,
    /// When the next attempt is due.
    pub next_attempt: Option<i64>,
    /// Changes committed before this are skipped (a start from now).
    pub skip_before: i64,
    /// Created.
    pub created: i64,
    /// Last changed by a call.
    pub updated: i64,
    /// Optimistic concurrency.
    pub revision: i64,
}

impl Subscription {
    /// The secrets that sign a message sent at `now`: the current one, and
    /// the previous one during its overlap.
    pub fn signing_secrets(&self, now: i64) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_expires)
            && until > now
        {
            secrets.push(previous.as_str());
        }
        secrets
    }
}

/// One delivery attempt.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Position in the subscription's log (set by the store).
    pub sequence: i64,
    /// The change's id.
    pub webhook_id: String,
    /// The changed resource.
    pub resource: String,
    /// 1 for the first attempt.
    pub attempt: i64,
    /// When (microseconds).
    pub time: i64,
    /// The answer's status; 0 for none.
    pub http_status: i64,
    /// Whether it was a 2xx.
    pub delivered: bool,
    /// What went wrong.
    pub error: String,
    /// The feed cursor after the change.
    pub cursor: String,
}

/// A new secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// The Standard Webhooks signature header value: `v1,<base64 HMAC-SHA256
/// of "id.timestamp.body">` for each secret, space-separated.
pub fn signature(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .filter_map(|secret| {
            let key = secret.strip_prefix("whsec_").unwrap_or(secret);
            let key = STANDARD.decode(key).ok()?;
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            Some(format!(
                "v1,{}",
                STANDARD.encode(mac.finalize().into_bytes())
            ))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why an endpoint is refused at registration, if it is: not an absolute
/// `https://` URL without credentials (`http://` only with `allow_private`),
/// or a literal private address without `allow_private`. Names are checked
/// again at each delivery, on the addresses they resolve to
/// ([`client::allowed`]).
pub fn check_endpoint(endpoint: &str, allow_private: bool) -> Result<(), String> {
    let url = url::Url::parse(endpoint).map_err(|e| format!("is not a URL: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err("must be an https:// URL".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment".into());
    }
    if endpoint.len() > 2000 {
        return Err("must be at most 2000 characters".into());
    }
    match url.host() {
        None => Err("must name a host".into()),
        Some(url::Host::Ipv4(ip)) if !allow_private && !client::allowed(ip.into()) => {
            Err("must not point at a private, loopback or link-local address".into())
        }
        Some(url::Host::Ipv6(ip)) if !allow_private && !client::allowed(ip.into()) => {
            Err("must not point at a private, loopback or link-local address".into())
        }
        Some(_) => Ok(()),
    }
}

/// The subscriptions of a gateway: the store, the settings and the bell
/// that wakes the dispatcher when a call changed one.
#[derive(Debug, Clone)]
pub struct Hooks {
    /// Where they are kept.
    pub store: Store,
    /// How they are delivered.
    pub settings: std::sync::Arc<Settings>,
    /// Rung (the value increments) after every call that changed a
    /// subscription; every dispatcher task listens.
    pub bell: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
}

impl Hooks {
    /// Wakes the dispatcher.
    pub fn ring(&self) {
        self.bell.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// Opens (and migrates) the subscriptions' database.
pub async fn open(settings: &Settings) -> anyhow::Result<Hooks> {
    let db = innolab_kit::db::Database::connect_lazy(&settings.database)?;
    db.migrate(&store::MIGRATIONS).await?;
    let (bell, _) = tokio::sync::watch::channel(0);
    Ok(Hooks {
        store: Store::new(db),
        settings: std::sync::Arc::new(settings.clone()),
        bell: std::sync::Arc::new(bell),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&[secret], id, 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn kinds_and_filters() {
        assert_eq!(kind("initiatives/1"), "initiatives");
        assert_eq!(kind("calls/1/submissions/2"), "submissions");
        let f = Filter {
            services: vec!["initiatives".into()],
            resource_kinds: vec!["calls".into()],
            ..Default::default()
        };
        assert!(f.matches("initiatives", "calls/9"));
        assert!(!f.matches("initiatives", "initiatives/9"));
        assert!(!f.matches("guidance", "calls/9"));
        assert!(Filter::default().matches("impact", "assessments/1"));
        let f = Filter {
            initiative_countries: vec!["RO".into()],
            initiative_organizations: vec!["organizations/a".into()],
            ..Default::default()
        };
        assert!(f.reads_initiative("initiatives", "initiatives/1"));
        assert!(!f.reads_initiative("initiatives", "calls/1"));
        assert!(!Filter::default().reads_initiative("initiatives", "initiatives/1"));
        assert!(f.initiative_matches("RO", &["organizations/b", "organizations/a"]));
        assert!(!f.initiative_matches("FI", &["organizations/a"]));
        assert!(!f.initiative_matches("RO", &["organizations/b"]));
    }

    #[test]
    fn endpoints_are_https_and_public() {
        assert!(check_endpoint("https://hooks.example.gov/in", false).is_ok());
        assert!(check_endpoint("http://hooks.example.gov/in", false).is_err());
        assert!(check_endpoint("https://127.0.0.1/in", false).is_err());
        assert!(check_endpoint("https://10.1.2.3/in", false).is_err());
        assert!(check_endpoint("https://[::1]/in", false).is_err());
        assert!(check_endpoint("https://169.254.169.254/latest", false).is_err());
        assert!(check_endpoint("https://u:p@hooks.example.gov/", false).is_err());
        assert!(check_endpoint("http://127.0.0.1:8080/in", true).is_ok());
        assert!(check_endpoint("ftp://hooks.example.gov/", true).is_err());
    }
}
