//! Service configuration in layers: built-in defaults, then `INNOLAB_*`
//! environment variables, then command-line flags; validated once at start.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crate::db::Backend;

/// What differs between services when nothing is configured.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    /// Short service name: `membership`, `initiatives`, ... Also the default
    /// PostgreSQL schema and SQLite file name.
    pub service: &'static str,
    /// Default gRPC port on 127.0.0.1.
    pub port: u16,
    /// Default Prometheus metrics port on 127.0.0.1.
    pub metrics_port: u16,
}

/// How the PostgreSQL connections are pooled between the service and the
/// server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Pooling {
    /// Straight to PostgreSQL, or through a pooler in session mode: each
    /// connection selects the schema (`SET search_path`) when it opens.
    #[default]
    Session,
    /// Through a pooler in transaction mode (PgBouncer `pool_mode =
    /// transaction`): no session state at all. The schema comes from the
    /// role's own `search_path` (`ALTER ROLE ... SET search_path = <schema>`),
    /// checked at start; migrations take no session lock.
    Transaction,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Flags and environment variables shared by every service binary.
#[derive(Debug, Clone, clap::Args)]
pub struct ServiceArgs {
    /// gRPC listen address [default: 127.0.0.1:<service port>].
    #[arg(long, env = "INNOLAB_LISTEN_ADDR")]
    pub listen_addr: Option<SocketAddr>,
    /// Prometheus metrics listen address, or `off` [default: 127.0.0.1:<metrics port>].
    #[arg(long, env = "INNOLAB_METRICS_ADDR")]
    pub metrics_addr: Option<String>,
    /// Database URL: `sqlite://path/file.db` or `postgres://user@host/db`
    /// [default: sqlite://innolab-data/<service>.db].
    #[arg(long, env = "INNOLAB_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// A file holding the database URL (a mounted Kubernetes Secret), instead
    /// of `INNOLAB_DATABASE_URL`.
    #[arg(long, env = "INNOLAB_DATABASE_URL_FILE")]
    pub database_url_file: Option<std::path::PathBuf>,
    /// A file holding the password of the PostgreSQL user the URL names (a
    /// mounted Kubernetes Secret's key), so the URL itself holds no secret.
    #[arg(long, env = "INNOLAB_DATABASE_PASSWORD_FILE")]
    pub database_password_file: Option<std::path::PathBuf>,
    /// PostgreSQL schema holding this service's tables [default: <service>].
    #[arg(long, env = "INNOLAB_DATABASE_SCHEMA")]
    pub database_schema: Option<String>,
    /// PEM file of the certificate authorities that sign the PostgreSQL
    /// server's certificate (libpq's `sslrootcert`); the server is then
    /// verified (`sslmode=verify-full` unless the URL names another mode).
    #[arg(long, env = "INNOLAB_DATABASE_CA_FILE")]
    pub database_ca_file: Option<std::path::PathBuf>,
    /// How a pooler between this service and PostgreSQL pools connections:
    /// `transaction` for PgBouncer's transaction mode (the role's
    /// search_path must be the schema).
    #[arg(long, env = "INNOLAB_DATABASE_POOLING", value_enum, default_value_t = Pooling::Session)]
    pub database_pooling: Pooling,
    /// Largest number of pooled database connections.
    #[arg(long, env = "INNOLAB_DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,
    /// Key signing page tokens, at least 32 characters; share it between the
    /// replicas of a service. A random key is used when unset.
    #[arg(long, env = "INNOLAB_PAGE_TOKEN_KEY", hide_env_values = true)]
    pub page_token_key: Option<String>,
    /// A file holding the page-token key, instead of `INNOLAB_PAGE_TOKEN_KEY`.
    #[arg(long, env = "INNOLAB_PAGE_TOKEN_KEY_FILE")]
    pub page_token_key_file: Option<std::path::PathBuf>,
    /// Seconds in-flight calls get to finish after SIGTERM.
    #[arg(long, env = "INNOLAB_SHUTDOWN_DRAIN_SECONDS", default_value_t = 20)]
    pub shutdown_drain_seconds: u64,
    /// Seconds a request's body may stay silent before the call fails (an
    /// upload or an import that stops sending is aborted and leaves nothing).
    #[arg(long, env = "INNOLAB_REQUEST_IDLE_SECONDS", default_value_t = 10)]
    pub request_idle_seconds: u64,
    /// Apply database migrations at start (under the database's migration lock).
    #[arg(long, env = "INNOLAB_MIGRATE_ON_START", default_value_t = true, action = clap::ArgAction::Set)]
    pub migrate_on_start: bool,
    /// Log format.
    #[arg(long, env = "INNOLAB_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// A configuration value that was refused at start.
#[derive(Debug, thiserror::Error)]
#[error("configuration {setting}: {reason}")]
pub struct ConfigError {
    /// Environment variable (and flag) at fault.
    pub setting: &'static str,
    /// Why it is refused.
    pub reason: String,
}

fn config_error(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        reason: reason.into(),
    }
}

/// A value that must not appear in logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself; only to hand to the code that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

/// Where a service keeps its data.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// Connection URL (may carry a password, hence secret).
    pub url: Secret,
    /// Which kind of database the URL points at.
    pub backend: Backend,
    /// PostgreSQL schema of this service (unused on SQLite).
    pub schema: String,
    /// Pool size.
    pub max_connections: u32,
    /// How a pooler in between pools connections.
    pub pooling: Pooling,
}

impl DatabaseSettings {
    /// Validates a URL and picks the backend from its scheme.
    pub fn new(url: &str, schema: &str, max_connections: u32) -> Result<Self, ConfigError> {
        let backend = Backend::from_url(url).ok_or_else(|| {
            config_error(
                "INNOLAB_DATABASE_URL",
                "must start with sqlite: or postgres: (or postgresql:)",
            )
        })?;
        if schema.is_empty()
            || !schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            || schema.starts_with(|c: char| c.is_ascii_digit())
        {
            return Err(config_error(
                "INNOLAB_DATABASE_SCHEMA",
                "must be a lowercase identifier: a-z, 0-9 and _, not starting with a digit",
            ));
        }
        if max_connections == 0 {
            return Err(config_error(
                "INNOLAB_DATABASE_MAX_CONNECTIONS",
                "must be at least 1",
            ));
        }
        Ok(DatabaseSettings {
            url: Secret::new(url),
            backend,
            schema: schema.to_string(),
            max_connections,
            pooling: Pooling::Session,
        })
    }
}

impl DatabaseSettings {
    /// Logs in with the password in the file at `path` (named by `setting`
    /// in errors; one trailing newline is not part of it) as the PostgreSQL
    /// user the URL names: the URL gets it in its userinfo, percent-encoded,
    /// so it may hold any character. Refused at start: not PostgreSQL, no
    /// user in the URL, a password there already, an unreadable or empty file.
    pub fn with_password_file(
        mut self,
        setting: &'static str,
        path: Option<&std::path::Path>,
    ) -> Result<Self, ConfigError> {
        let Some(path) = self.postgres_file(setting, path)? else {
            return Ok(self);
        };
        // The URL's own text stays out of the reasons: it is a secret.
        let mut url = url::Url::parse(self.url.expose())
            .map_err(|e| config_error(setting, format!("the database URL does not parse: {e}")))?;
        if url.username().is_empty() {
            return Err(config_error(
                setting,
                "the database URL names no user (postgres://USER@host/database)",
            ));
        }
        if url.password().is_some() || url.query_pairs().any(|(key, _)| key == "password") {
            return Err(config_error(
                setting,
                "the database URL holds a password already: give it in one place only",
            ));
        }
        let password = read_secret_file(path).map_err(|reason| config_error(setting, reason))?;
        // Everything but the unreserved characters is encoded, `%` included
        // (which `set_password` would leave as is).
        url.set_password(Some(&percent_encode(&password, b"-_.~")))
            .map_err(|()| config_error(setting, "the database URL cannot hold a password"))?;
        self.url = Secret::new(String::from(url));
        Ok(self)
    }

    /// Verifies the PostgreSQL server against the certificate authorities in
    /// the PEM file at `path` (named by `setting` in errors): the URL gets
    /// `sslrootcert`, and `sslmode=verify-full` unless it names a mode. The
    /// file is read now, so a missing or empty one is refused at start.
    pub fn with_ca_file(
        mut self,
        setting: &'static str,
        path: Option<&std::path::Path>,
    ) -> Result<Self, ConfigError> {
        let Some(path) = self.postgres_file(setting, path)? else {
            return Ok(self);
        };
        let pem = std::fs::read_to_string(path)
            .map_err(|e| config_error(setting, format!("cannot read {}: {e}", path.display())))?;
        if !pem.contains("-----BEGIN CERTIFICATE-----") {
            return Err(config_error(
                setting,
                format!("{} holds no PEM certificate", path.display()),
            ));
        }
        let url = self.url.expose();
        let has_query = url.contains('?');
        let mut url = format!(
            "{url}{}sslrootcert={}",
            if has_query { "&" } else { "?" },
            url_encode(&path.to_string_lossy())
        );
        if !url.contains("sslmode=") {
            url.push_str("&sslmode=verify-full");
        }
        self.url = Secret::new(url);
        Ok(self)
    }

    /// `path` of a file setting (named `setting`) that only PostgreSQL takes:
    /// refused on any other backend.
    fn postgres_file<'a>(
        &self,
        setting: &'static str,
        path: Option<&'a std::path::Path>,
    ) -> Result<Option<&'a std::path::Path>, ConfigError> {
        if path.is_some() && self.backend != Backend::Postgres {
            return Err(config_error(setting, "applies to PostgreSQL only"));
        }
        Ok(path)
    }

    /// The `sslmode` the URL asks for (PostgreSQL's default is `prefer`:
    /// TLS when the server offers it, unverified).
    pub fn ssl_mode(&self) -> &str {
        let url = self.url.expose();
        url.split_once('?')
            .and_then(|(_, query)| {
                query
                    .split('&')
                    .find_map(|pair| pair.strip_prefix("sslmode="))
            })
            .unwrap_or("prefer")
    }
}

/// Percent-encodes what a URL query value cannot hold as is.
fn url_encode(value: &str) -> String {
    percent_encode(value, b"/-_.~")
}

/// Percent-encodes every byte but ASCII letters, digits and `keep`.
fn percent_encode(value: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || keep.contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Validated settings of one service instance.
#[derive(Debug, Clone)]
pub struct Settings {
    /// gRPC listen address.
    pub listen_addr: SocketAddr,
    /// Prometheus listen address; `None` disables the exporter.
    pub metrics_addr: Option<SocketAddr>,
    /// Database.
    pub database: DatabaseSettings,
    /// Key signing page tokens.
    pub page_token_key: Secret,
    /// Bound on the drain after a shutdown signal.
    pub shutdown_drain: Duration,
    /// How long a request's body may stay silent.
    pub request_idle: Duration,
    /// Whether to migrate at start.
    pub migrate_on_start: bool,
    /// Log format.
    pub log_format: LogFormat,
    /// Set by an embedder running this service and its caller in one process
    /// (the suite): the server publishes its stack here. Never from the environment.
    pub in_process: Option<crate::server::InProcess>,
}

impl Settings {
    /// Settings with defaults for everything but the database: loopback on an
    /// ephemeral port, no metrics, a random page-token key. Used by tests and
    /// embedders.
    pub fn new(database: DatabaseSettings) -> Self {
        Settings {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics_addr: None,
            database,
            page_token_key: random_key(),
            shutdown_drain: Duration::from_secs(20),
            request_idle: crate::server::REQUEST_IDLE,
            migrate_on_start: true,
            log_format: LogFormat::Text,
            in_process: None,
        }
    }
}

/// A secret setting `name`, given either as its value or as `<name>_FILE`,
/// the path of a file holding it (a mounted Kubernetes Secret; one trailing
/// newline is not part of the value). Both at once, an unreadable file or
/// an empty one is refused.
pub fn secret(
    name: &'static str,
    value: Option<&str>,
    file: Option<&std::path::Path>,
) -> Result<Option<String>, ConfigError> {
    let Some(path) = file.filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(value.map(str::to_string));
    };
    if value.is_some_and(|v| !v.is_empty()) {
        return Err(config_error(
            name,
            format!("set either {name} or {name}_FILE, not both"),
        ));
    }
    read_secret_file(path)
        .map(Some)
        .map_err(|reason| config_error(name, format!("{name}_FILE: {reason}")))
}

/// The secret in the file at `path` without one trailing newline; why not,
/// when the file cannot be read or holds nothing.
fn read_secret_file(path: &std::path::Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text);
    if text.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(text.to_string())
}

/// [`secret`] `name` from variables `lookup` gives (`name` and `<name>_FILE`).
pub fn secret_var(
    name: &'static str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, ConfigError> {
    let file = lookup(&format!("{name}_FILE"));
    secret(
        name,
        lookup(name).as_deref(),
        file.as_deref().map(std::path::Path::new),
    )
}

fn random_key() -> Secret {
    use rand::Rng;
    let bytes: [u8; 32] = rand::rng().random();
    Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

impl ServiceArgs {
    /// Applies the service's defaults and validates everything.
    pub fn settings(&self, defaults: &Defaults) -> Result<Settings, ConfigError> {
        let listen_addr = self
            .listen_addr
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], defaults.port)));
        let metrics_addr = match self.metrics_addr.as_deref() {
            None => Some(SocketAddr::from(([127, 0, 0, 1], defaults.metrics_port))),
            Some("off") => None,
            Some(addr) => Some(addr.parse().map_err(|e| {
                config_error(
                    "INNOLAB_METRICS_ADDR",
                    format!("{addr:?} is not host:port or `off`: {e}"),
                )
            })?),
        };
        let url = secret(
            "INNOLAB_DATABASE_URL",
            self.database_url.as_deref(),
            self.database_url_file.as_deref(),
        )?
        .unwrap_or_else(|| format!("sqlite://innolab-data/{}.db", defaults.service));
        let schema = self
            .database_schema
            .clone()
            .unwrap_or_else(|| defaults.service.to_string());
        let mut database = DatabaseSettings::new(&url, &schema, self.database_max_connections)?
            .with_password_file(
                "INNOLAB_DATABASE_PASSWORD_FILE",
                self.database_password_file.as_deref(),
            )?
            .with_ca_file("INNOLAB_DATABASE_CA_FILE", self.database_ca_file.as_deref())?;
        if self.database_pooling == Pooling::Transaction && database.backend != Backend::Postgres {
            return Err(config_error(
                "INNOLAB_DATABASE_POOLING",
                "transaction pooling applies to PostgreSQL only",
            ));
        }
        database.pooling = self.database_pooling;
        let page_token_key = match &secret(
            "INNOLAB_PAGE_TOKEN_KEY",
            self.page_token_key.as_deref(),
            self.page_token_key_file.as_deref(),
        )? {
            Some(key) if key.len() < 32 => {
                return Err(config_error(
                    "INNOLAB_PAGE_TOKEN_KEY",
                    "must be at least 32 characters",
                ));
            }
            Some(key) => Secret::new(key.clone()),
            None => {
                // Once per process: the one-process suite reads these
                // settings for each of its services.
                static WARNED: std::sync::Once = std::sync::Once::new();
                WARNED.call_once(|| {
                    tracing::warn!(
                        "INNOLAB_PAGE_TOKEN_KEY is not set: using a random key, so page tokens \
                         do not survive a restart and are not shared between replicas"
                    );
                });
                random_key()
            }
        };
        if self.shutdown_drain_seconds > 3600 {
            return Err(config_error(
                "INNOLAB_SHUTDOWN_DRAIN_SECONDS",
                "must be at most 3600",
            ));
        }
        if !(1..=3600).contains(&self.request_idle_seconds) {
            return Err(config_error(
                "INNOLAB_REQUEST_IDLE_SECONDS",
                "must be from 1 to 3600",
            ));
        }
        Ok(Settings {
            listen_addr,
            metrics_addr,
            database,
            page_token_key,
            shutdown_drain: Duration::from_secs(self.shutdown_drain_seconds),
            request_idle: Duration::from_secs(self.request_idle_seconds),
            migrate_on_start: self.migrate_on_start,
            log_format: self.log_format,
            in_process: None,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ServiceArgs,
    }

    const DEFAULTS: Defaults = Defaults {
        service: "membership",
        port: 50051,
        metrics_port: 9151,
    };

    fn parse(args: &[&str]) -> Result<Settings, ConfigError> {
        let mut argv = vec!["test"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv)
            .expect("parses")
            .args
            .settings(&DEFAULTS)
    }

    #[test]
    fn secrets_can_come_from_files() {
        let dir = std::env::temp_dir().join(format!("innolab-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = dir.join("url");
        std::fs::write(&url, "postgres://u:p@db/x\n").unwrap();
        let key = dir.join("key");
        std::fs::write(&key, "k".repeat(40)).unwrap();
        let (url_arg, key_arg) = (url.to_str().unwrap(), key.to_str().unwrap());
        let s = parse(&[
            "--database-url-file",
            url_arg,
            "--page-token-key-file",
            key_arg,
        ])
        .unwrap();
        assert_eq!(s.database.url.expose(), "postgres://u:p@db/x");
        assert_eq!(s.page_token_key.expose(), "k".repeat(40));
        // Both forms at once, a missing file, an empty one: refused, naming the setting.
        let e = parse(&[
            "--database-url",
            "sqlite://x.db",
            "--database-url-file",
            url_arg,
        ])
        .err()
        .unwrap();
        assert_eq!(e.setting, "INNOLAB_DATABASE_URL");
        assert!(e.reason.contains("not both"), "{e}");
        let missing = dir.join("missing");
        let e = parse(&["--page-token-key-file", missing.to_str().unwrap()])
            .err()
            .unwrap();
        assert_eq!(e.setting, "INNOLAB_PAGE_TOKEN_KEY");
        assert!(e.reason.contains("cannot read"), "{e}");
        std::fs::write(&key, "\n").unwrap();
        let e = parse(&["--page-token-key-file", key_arg]).err().unwrap();
        assert!(e.reason.contains("is empty"), "{e}");
        // A short key from a file is refused like one from the variable.
        std::fs::write(&key, "short").unwrap();
        let e = parse(&["--page-token-key-file", key_arg]).err().unwrap();
        assert!(e.reason.contains("at least 32"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_ca_file_verifies_the_server() {
        let dir = std::env::temp_dir().join(format!("innolab-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = dir.join("ca file.pem");
        std::fs::write(
            &ca,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let ca_arg = ca.to_str().unwrap();
        let s = parse(&[
            "--database-url",
            "postgres://u@db/x",
            "--database-ca-file",
            ca_arg,
        ])
        .unwrap();
        let url = s.database.url.expose().to_string();
        assert!(url.starts_with("postgres://u@db/x?sslrootcert=/"), "{url}");
        assert!(url.contains("ca%20file.pem"), "{url}");
        assert_eq!(s.database.ssl_mode(), "verify-full");
        // A mode in the URL wins.
        let s = parse(&[
            "--database-url",
            "postgres://u@db/x?sslmode=verify-ca",
            "--database-ca-file",
            ca_arg,
        ])
        .unwrap();
        assert_eq!(s.database.ssl_mode(), "verify-ca");
        // Missing file, not a certificate, SQLite: refused, naming the setting.
        let missing = dir.join("nothing.pem");
        let e = parse(&[
            "--database-url",
            "postgres://u@db/x",
            "--database-ca-file",
            missing.to_str().unwrap(),
        ])
        .unwrap_err();
        assert_eq!(e.setting, "INNOLAB_DATABASE_CA_FILE");
        std::fs::write(&ca, "not a certificate").unwrap();
        let e = parse(&[
            "--database-url",
            "postgres://u@db/x",
            "--database-ca-file",
            ca_arg,
        ])
        .unwrap_err();
        assert!(e.reason.contains("no PEM certificate"), "{}", e.reason);
        let e = parse(&["--database-ca-file", ca_arg]).unwrap_err();
        assert!(e.reason.contains("PostgreSQL only"), "{}", e.reason);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_password_file_logs_in_with_any_characters() {
        use sqlx::postgres::PgConnectOptions;
        let dir = std::env::temp_dir().join(format!("innolab-password-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("password");
        let password = "p@ss:w/rd?#%25 é\\x";
        std::fs::write(&file, format!("{password}\n")).unwrap();
        let file_arg = file.to_str().unwrap();
        let s = parse(&[
            "--database-url",
            "postgres://innolab_x@db:5432/x?sslmode=verify-full",
            "--database-password-file",
            file_arg,
        ])
        .unwrap();
        assert!(!format!("{s:?}").contains("ss:w"), "{s:?}");
        let options: PgConnectOptions = s.database.url.expose().parse().unwrap();
        assert_eq!(options.get_username(), "innolab_x");
        assert_eq!(options.get_host(), "db");
        assert_eq!(options.get_database(), Some("x"));
        assert_eq!(s.database.ssl_mode(), "verify-full");
        // sqlx keeps the password to itself but for its Debug form.
        let shown = format!("{options:?}");
        assert!(
            shown.contains(&format!("password: Some({password:?})")),
            "{shown}"
        );
        // Refused, naming the setting: SQLite, no user, a password already,
        // a missing file, an empty one.
        let (missing, empty) = (dir.join("missing"), dir.join("empty"));
        std::fs::write(&empty, "\n").unwrap();
        let (missing, empty) = (missing.to_str().unwrap(), empty.to_str().unwrap());
        for (url, file, why) in [
            ("sqlite://x.db", file_arg, "PostgreSQL only"),
            ("postgres://db/x", file_arg, "names no user"),
            ("postgres://u:p@db/x", file_arg, "password already"),
            ("postgres://u@db/x?password=p", file_arg, "password already"),
            ("postgres://u@db/x", missing, "cannot read"),
            ("postgres://u@db/x", empty, "is empty"),
        ] {
            let e = parse(&["--database-url", url, "--database-password-file", file]).unwrap_err();
            assert_eq!(e.setting, "INNOLAB_DATABASE_PASSWORD_FILE");
            assert!(e.reason.contains(why), "{url} {file}: {e}");
            assert!(!e.reason.contains("ss:w"), "{e}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn defaults_are_sqlite_on_loopback() {
        let s = parse(&[]).unwrap();
        assert_eq!(s.listen_addr.to_string(), "127.0.0.1:50051");
        assert_eq!(s.database.backend, Backend::Sqlite);
        assert_eq!(s.database.schema, "membership");
    }

    #[test]
    fn refuses_unknown_scheme_short_key_and_bad_metrics() {
        let e = parse(&["--database-url", "mysql://x"]).unwrap_err();
        assert_eq!(e.setting, "INNOLAB_DATABASE_URL");
        let e = parse(&["--page-token-key", "short"]).unwrap_err();
        assert_eq!(e.setting, "INNOLAB_PAGE_TOKEN_KEY");
        let e = parse(&["--metrics-addr", "nowhere"]).unwrap_err();
        assert_eq!(e.setting, "INNOLAB_METRICS_ADDR");
        let e = parse(&["--database-schema", "Bad-Name"]).unwrap_err();
        assert_eq!(e.setting, "INNOLAB_DATABASE_SCHEMA");
    }

    #[test]
    fn secrets_are_redacted() {
        let s = parse(&["--database-url", "postgres://u:hunter2@db/x"]).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
