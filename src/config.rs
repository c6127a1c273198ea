//! Typed configuration: defaults, then `halftone.toml`, then `HALFTONE_*`
//! environment variables (nested keys use `__`, e.g. `HALFTONE_MEDIA__WEBP_QUALITY`).
//!
//! Everything is checked once at start-up so a bad setting stops the process
//! with a message naming it, instead of failing on the first request.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

/// Environment variables that share the `HALFTONE_` prefix but are not settings.
/// (Test-suite variables, `HALFTONE_TEST_*`, are skipped by prefix.)
const NOT_SETTINGS: &[&str] = &["config", "log", "bench"];

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `sqlite://…` (default, under `data_dir`) or `mysql://user:pass@host/db`.
    #[serde(skip_serializing)]
    pub database_url: Option<SecretString>,
    /// `redis://host:port`; without it, caches and fan-out stay in-process.
    #[serde(skip_serializing)]
    pub redis_url: Option<SecretString>,
    /// Prefix of every Redis key and channel, so several sites can share one Redis.
    pub redis_namespace: String,
    /// `/metrics` answers requests with `Authorization: Bearer <token>`…
    #[serde(skip_serializing)]
    pub metrics_token: Option<SecretString>,
    /// …and requests from these addresses or CIDR blocks (the machine itself
    /// by default: a Prometheus elsewhere needs the token or an entry here).
    pub metrics_allow: Vec<String>,
    /// Your reverse proxies (addresses or CIDR blocks). Their
    /// `X-Forwarded-For`, `-Proto` and `-Host` are believed; from anyone
    /// else those headers are ignored. Empty: Halftone faces readers directly.
    pub trusted_proxies: Vec<String>,
    /// HTTP worker threads (default: one per CPU core).
    pub workers: Option<usize>,
    /// On SIGTERM: how long `/readyz` answers 503 ("draining") before the
    /// node stops accepting, so the load balancer moves readers away first.
    pub shutdown_drain_ms: u64,
    /// Then how long requests in flight may take to finish.
    pub shutdown_timeout_secs: u64,
    pub bind: SocketAddr,
    /// Where the SQLite file and processed media live.
    pub data_dir: PathBuf,
    /// The address readers use; feeds, sitemaps and share cards need absolute URLs.
    pub public_url: Url,
    pub log_format: LogFormat,
    pub log: LogConfig,
    pub database: DatabaseConfig,
    pub media: MediaConfig,
    pub email: EmailConfig,
    pub admin: AdminConfig,
    pub cache: crate::cache::CacheConfig,
    pub analytics: AnalyticsConfig,
    pub newsletter: NewsletterConfig,
    pub backup: BackupConfig,
    pub cluster: ClusterConfig,
    pub comments: CommentsConfig,
    pub fediverse: FediverseConfig,
    pub crosspost: CrosspostConfig,
    pub debug: DebugConfig,
    /// The file these settings came from, when there was one (backups keep
    /// a copy of it).
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

/// The separate analytics service (`halftone-analytics`), when there is one.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsConfig {
    /// Its public address, which readers' browsers send page views to
    /// (e.g. `https://stats.example.com`). Unset: no beacon on reader pages.
    pub url: Option<Url>,
    /// The address the site itself reports events to (default: `url`).
    pub internal_url: Option<Url>,
    /// The secret shared with the service (its `HALFTONE_ANALYTICS_SECRET`):
    /// signs the admin's way into the dashboard and authorizes reports.
    #[serde(skip_serializing)]
    pub secret: Option<SecretString>,
}

impl AnalyticsConfig {
    /// Public base URL without a trailing slash.
    pub fn public_base(&self) -> Option<String> {
        self.url
            .as_ref()
            .map(|u| u.as_str().trim_end_matches('/').to_owned())
    }

    /// Where the site posts events, when it can (address and secret known).
    pub fn report_base(&self) -> Option<String> {
        self.secret.as_ref()?;
        self.internal_url
            .as_ref()
            .or(self.url.as_ref())
            .map(|u| u.as_str().trim_end_matches('/').to_owned())
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// `[comments]`: the anti-flood limits of the comment form (the moderation
/// rules themselves are site settings, changed in the admin).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CommentsConfig {
    /// Comments one network may send at once…
    pub burst: u32,
    /// …then one per this many seconds.
    pub every_secs: u64,
    /// A form sent sooner after its ticket was issued is a bot's.
    pub min_seconds: i64,
}

impl Default for CommentsConfig {
    fn default() -> Self {
        Self {
            burst: 5,
            every_secs: 60,
            min_seconds: 3,
        }
    }
}

/// `[fediverse]`: the comic as an ActivityPub actor (see `fediverse`).
/// Who is blocked is a site setting, changed in the admin.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FediverseConfig {
    /// Followable from the fediverse (WebFinger, actors, inbox, delivery).
    pub enabled: bool,
    /// Talk to peers on private, loopback or link-local addresses and over
    /// plain http. Off: a remote actor cannot make this server fetch or post
    /// to the machine's own network (SSRF). Tests and private networks only.
    pub allow_private_peers: bool,
    /// The largest activity an inbox accepts (bytes).
    pub inbox_max_bytes: usize,
    /// Activities one network may post at once, then one per
    /// `inbox_every_ms` (429 with Retry-After beyond: servers retry). Each
    /// unknown key costs a fetch, so this bounds what strangers make us do.
    pub inbox_burst: u32,
    pub inbox_every_ms: u64,
    /// The largest remote document (actor, key) fetched (bytes).
    pub fetch_max_bytes: usize,
    /// Timeout of one fetch or delivery.
    pub timeout_secs: u64,
    /// Deliveries in flight at once (per node holding the lease).
    pub concurrency: usize,
    /// The first retry waits this long, doubling to `retry_max_secs`…
    pub retry_min_secs: u64,
    pub retry_max_secs: u64,
    /// …and a delivery failing for longer than this is given up.
    pub give_up_secs: u64,
    /// How often the lease holder looks for pages gone live and due retries.
    pub check_secs: u64,
}

impl Default for FediverseConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            allow_private_peers: false,
            inbox_max_bytes: 256 * 1024,
            inbox_burst: 300,
            inbox_every_ms: 50,
            fetch_max_bytes: 1024 * 1024,
            timeout_secs: 10,
            concurrency: 8,
            retry_min_secs: 60,
            retry_max_secs: 6 * 3600,
            give_up_secs: 3 * 86_400,
            check_secs: 5,
        }
    }
}

/// `[crosspost]`: new pages posted to the creator's own accounts elsewhere.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CrosspostConfig {
    /// `[crosspost.bluesky]`: post each new page to a Bluesky account.
    pub bluesky: Option<BlueskyConfig>,
}

/// A Bluesky (AT Protocol) account. Use an app password (Settings → App
/// passwords), never the account's own; `HALFTONE_CROSSPOST__BLUESKY__APP_PASSWORD_FILE`
/// reads it from a file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BlueskyConfig {
    /// The account's server (its PDS).
    #[serde(default = "default_bluesky_service")]
    pub service: Url,
    /// The handle (`comic.bsky.social`) or DID.
    pub identifier: String,
    #[serde(skip_serializing)]
    pub app_password: SecretString,
}

fn default_bluesky_service() -> Url {
    Url::parse("https://bsky.social").expect("a valid URL")
}

/// `[cluster]`: how nodes announce themselves, share singleton work and
/// alert the owner. The defaults suit one machine as well as ten.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// How this node is named on the System page (default: host name and port).
    pub node_name: Option<String>,
    /// How often a node writes its heartbeat.
    pub heartbeat_secs: u64,
    /// A node unheard of for this long is gone (its work moves elsewhere).
    pub node_timeout_secs: u64,
    /// How long a singleton lease (watchdog, backups) lasts unless renewed.
    pub lease_secs: u64,
    /// How often the watchdog looks (alerts, the queue's buffer).
    pub check_secs: u64,
    /// Alert mails to the owners: at most one per cause per this many seconds.
    pub alert_every_secs: u64,
    /// Alert when the disk holding the data folder is fuller than this (%).
    pub disk_alert_percent: f64,
    /// Alert when the newest good backup is older than this many hours
    /// (only with `backup.daily_at`).
    pub backup_stale_hours: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            node_name: None,
            heartbeat_secs: 5,
            node_timeout_secs: 30,
            lease_secs: 30,
            check_secs: 60,
            alert_every_secs: 3600,
            disk_alert_percent: 90.0,
            backup_stale_hours: 36,
        }
    }
}

/// `[log]`: besides standard output, daily log files kept for a while.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A folder for `halftone.YYYY-MM-DD.log` files (unset: stdout only).
    pub dir: Option<PathBuf>,
    /// How many daily files to keep.
    pub keep_days: usize,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            dir: None,
            keep_days: 14,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Pooled connections. Unset: 16 on MariaDB (a network round trip per
    /// query wants several in flight); on SQLite twice the cores, 4 to 16 (a
    /// connection is a thread with its own page cache, and more of them than
    /// cores only adds switching: 4 served 24% more uncached pages than 16 on
    /// two cores, in less memory).
    pub max_connections: Option<u32>,
    /// How long a request waits for a pooled connection before it gets a 503.
    pub acquire_timeout_ms: u64,
    /// Apply pending migrations when the server starts.
    pub migrate_on_start: bool,
    /// SQLite: how long a statement waits for another connection's (or
    /// process's) write lock before giving up. Commands run beside a serving
    /// site (`import`, `backup`, `restore`…) wait at least 60 s.
    pub sqlite_busy_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// Largest accepted source file.
    pub max_file_bytes: u64,
    pub max_width: u32,
    pub max_height: u32,
    /// Decoded size limit (width × height), the guard against decompression bombs.
    pub max_pixels: u64,
    /// Responsive WebP widths; sources narrower than a width skip it.
    pub widths: Vec<u32>,
    pub thumb_width: u32,
    pub webp_quality: f32,
    pub jpeg_quality: u8,
    /// Where processed media live: this machine's data folder (default) or
    /// an S3-compatible bucket shared by every node of a cluster.
    pub store: MediaStoreConfig,
}

/// `[media.store]`: `kind = "local"` (files under `data_dir/media`) or
/// `kind = "s3"` (MinIO, Garage, Ceph, AWS, Backblaze…).
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MediaStoreConfig {
    pub kind: MediaStoreKind,
    pub bucket: Option<String>,
    /// The server's address (`http://127.0.0.1:9000`); unset means AWS.
    pub endpoint: Option<Url>,
    pub region: Option<String>,
    /// Key prefix inside the bucket (`media/`), so a bucket can hold more.
    pub prefix: Option<String>,
    #[serde(skip_serializing)]
    pub access_key_id: Option<SecretString>,
    #[serde(skip_serializing)]
    pub secret_access_key: Option<SecretString>,
    /// Plain `http://` to the endpoint (a store on the same private network).
    pub allow_http: bool,
    /// A public address of the bucket (a CDN, a public-read bucket): readers
    /// are redirected there instead of the node streaming the file.
    pub public_url: Option<Url>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MediaStoreKind {
    #[default]
    Local,
    S3,
}

/// Outgoing mail (buffer warnings now; the newsletter later).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    pub transport: EmailTransport,
    /// The From: address, e.g. `"My Comic <comic@example.com>"`.
    pub from: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_username: String,
    #[serde(skip_serializing)]
    pub smtp_password: Option<SecretString>,
    pub smtp_tls: SmtpTls,
    /// For `transport = "file"`: where `.eml` files are written.
    pub file_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EmailTransport {
    /// Mail is not sent (what would be sent is logged).
    None,
    Smtp,
    /// Each mail becomes a file; for testing and for air-gapped sites.
    File,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    None,
    Starttls,
    Tls,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            transport: EmailTransport::None,
            // Unset: mail from an invented address lands in spam or bounces.
            from: String::new(),
            smtp_host: "127.0.0.1".to_owned(),
            smtp_port: 25,
            smtp_username: String::new(),
            smtp_password: None,
            smtp_tls: SmtpTls::None,
            file_dir: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Mark cookies `Secure`. Default: when `public_url` is https.
    pub secure_cookies: Option<bool>,
    /// How often the queue's buffer is checked for the warning mail (by
    /// the node holding the watchdog lease, at most every `cluster.check_secs`).
    pub buffer_check_secs: u64,
    /// Largest upload accepted by the editor (one image).
    pub max_upload_bytes: usize,
    /// Largest autosave message over the websocket.
    pub max_ws_message_bytes: usize,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            secure_cookies: None,
            buffer_check_secs: 900,
            max_upload_bytes: 50 * 1024 * 1024,
            max_ws_message_bytes: 512 * 1024,
        }
    }
}

/// Subscribers and the mails Halftone sends them (`newsletter/`).
/// Nothing is offered to readers unless `email.transport` can send.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct NewsletterConfig {
    /// Offer the subscribe form (when mail can be sent at all).
    pub enabled: bool,
    /// Most mails sent per minute, all nodes together (confirmations too).
    pub max_per_minute: u32,
    /// First wait after the SMTP server refused or was unreachable; it
    /// doubles per failed attempt up to `retry_max_secs`.
    pub retry_min_secs: u64,
    pub retry_max_secs: u64,
    /// Attempts before a mail is given up as failed (the admin can retry it).
    pub max_attempts: u32,
    /// How long a node may send without renewing its claim to be the sender;
    /// after a crash another node (or the restarted one) waits this long.
    pub sender_lease_secs: u64,
    /// How long a confirmation link stays valid.
    pub confirm_hours: u64,
    /// How often the sender looks for pages that went live (auto-send).
    pub check_secs: u64,
    /// Key for signed links. Default: a random key made once and kept in
    /// the database (so every node and old mails agree).
    #[serde(skip_serializing)]
    pub secret: Option<SecretString>,
}

impl Default for NewsletterConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_per_minute: 120,
            retry_min_secs: 30,
            retry_max_secs: 3600,
            max_attempts: 12,
            sender_lease_secs: 30,
            confirm_hours: 72,
            check_secs: 15,
            secret: None,
        }
    }
}

/// Backups (`halftone backup`, and on a schedule from `serve`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// Where archives go. Default: `backups` under `data_dir`. Put it on
    /// another disk (or copy it off the machine): a backup on the disk it
    /// protects is lost with that disk.
    pub dir: Option<PathBuf>,
    /// Back up every day at this time (`HH:MM`, in the site's time zone),
    /// from `serve` itself: one node does it when several run. Unset: no
    /// scheduled backups (the command and the admin's button still work).
    pub daily_at: Option<String>,
    /// Keep the newest archive of each of the last N days…
    pub keep_daily: u32,
    /// …of each of the last N weeks…
    pub keep_weekly: u32,
    /// …and of each of the last N months. Older ones are deleted, only
    /// after a new archive has been verified.
    pub keep_monthly: u32,
}

impl Default for BackupConfig {
    fn default() -> Self {
        Self {
            dir: None,
            daily_at: None,
            keep_daily: 30,
            keep_weekly: 0,
            keep_monthly: 0,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DebugConfig {
    /// Adds `Server-Timing: db;desc="N queries"` to responses (used by tests).
    pub query_count_header: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: None,
            redis_url: None,
            redis_namespace: "halftone".to_owned(),
            metrics_token: None,
            metrics_allow: vec!["127.0.0.1".to_owned(), "::1".to_owned()],
            trusted_proxies: Vec::new(),
            workers: None,
            shutdown_drain_ms: 5000,
            shutdown_timeout_secs: 30,
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            public_url: Url::parse("http://127.0.0.1:8080/").expect("static URL"),
            log_format: LogFormat::Pretty,
            log: LogConfig::default(),
            cluster: ClusterConfig::default(),
            comments: CommentsConfig::default(),
            fediverse: FediverseConfig::default(),
            crosspost: CrosspostConfig::default(),
            database: DatabaseConfig::default(),
            media: MediaConfig::default(),
            email: EmailConfig::default(),
            admin: AdminConfig::default(),
            cache: crate::cache::CacheConfig::default(),
            analytics: AnalyticsConfig::default(),
            newsletter: NewsletterConfig::default(),
            backup: BackupConfig::default(),
            debug: DebugConfig::default(),
            file: None,
        }
    }
}

impl DatabaseConfig {
    pub fn pool_size(&self, backend: Backend) -> u32 {
        self.max_connections.unwrap_or(match backend {
            Backend::MySql => 16,
            Backend::Sqlite => std::thread::available_parallelism()
                .map_or(4, |n| 2 * n.get() as u32)
                .clamp(4, 16),
        })
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            max_connections: None,
            acquire_timeout_ms: 3000,
            migrate_on_start: true,
            sqlite_busy_timeout_ms: 5000,
        }
    }
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            max_file_bytes: 50 * 1024 * 1024,
            max_width: 16_000,
            max_height: 60_000,
            // 40 million pixels: a page scanned at 600 dpi (A4: 4,960 ×
            // 7,016 = 34.8 M) or a long scroll of 800 × 16,383 (13 M). Large
            // PNGs decode in rows, downscaled; a 40 M JPEG decodes to 120 MB.
            max_pixels: 40_000_000,
            widths: vec![480, 800, 1200, 1600],
            thumb_width: 240,
            webp_quality: 82.0,
            jpeg_quality: 85,
            store: MediaStoreConfig::default(),
        }
    }
}

/// Which database engine a URL points at; the only place that decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    MySql,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {}", describe_figment(.0))]
    Figment(Box<figment::Error>),
    #[error("configuration: setting `{setting}` is invalid: {reason}")]
    Invalid {
        setting: &'static str,
        reason: String,
    },
}

/// One line per problem, each naming the setting as it is written in
/// `halftone.toml` (`media.webp_quality`) and where the value came from.
fn describe_figment(error: &figment::Error) -> String {
    error
        .clone()
        .into_iter()
        .map(|e| {
            let setting = e
                .path
                .iter()
                .map(|p| p.to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join(".");
            let source = e
                .metadata
                .as_ref()
                .map(|m| format!(" (from {})", m.name))
                .unwrap_or_default();
            if setting.is_empty() {
                format!("{}{source}", e.kind)
            } else {
                format!("setting `{setting}` is invalid: {}{source}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

// Not `#[from]`: that would make figment's own message the error's source
// and print the same problem twice.
impl From<Box<figment::Error>> for ConfigError {
    fn from(error: Box<figment::Error>) -> Self {
        ConfigError::Figment(error)
    }
}

/// Settings given as files (Docker and systemd secrets): `HALFTONE_X_FILE`
/// names a file whose content is the value of `HALFTONE_X`, e.g.
/// `HALFTONE_DATABASE_URL_FILE=/run/secrets/db_url` or
/// `HALFTONE_MEDIA__STORE__SECRET_ACCESS_KEY_FILE`. One trailing newline
/// (as `echo` leaves) is not part of the value.
fn secret_files() -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    for (name, path) in std::env::vars_os() {
        let (Some(name), Some(path)) = (name.to_str(), path.to_str()) else {
            continue;
        };
        let Some(key) = name
            .strip_prefix("HALFTONE_")
            .and_then(|k| k.strip_suffix("_FILE"))
        else {
            continue;
        };
        // HALFTONE_ANALYTICS_X_FILE (one underscore) is the analytics
        // service's; HALFTONE_ANALYTICS__SECRET_FILE is this site's setting.
        let key = key.to_ascii_lowercase().replace("__", ".");
        if key.starts_with("analytics_") || key.starts_with("test_") || key.is_empty() {
            continue;
        }
        let value = std::fs::read_to_string(path)
            .map_err(|e| invalid("*_FILE", format!("{name}: cannot read {path}: {e}")))?;
        let value = value.strip_suffix('\n').unwrap_or(&value);
        let value = value.strip_suffix('\r').unwrap_or(value);
        out.push((key, value.to_owned()));
    }
    Ok(out)
}

fn invalid(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting,
        reason: reason.into(),
    }
}

impl Config {
    /// Loads from `path` (if it exists) and the environment.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let env = Env::prefixed("HALFTONE_").split("__").filter(|key| {
            let key = key.as_str().to_ascii_lowercase();
            // HALFTONE_ANALYTICS_* (one underscore) configure the analytics
            // service, which may share this environment.
            !NOT_SETTINGS.contains(&key.as_str())
                && !key.starts_with("test_")
                && !key.starts_with("analytics_")
                // HALFTONE_X_FILE: read by `secret_files`.
                && !key.ends_with("_file")
        });
        let mut figment = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(path))
            .merge(env);
        for (key, value) in secret_files()? {
            figment = figment.merge(Serialized::default(&key, value));
        }
        let mut config = Self::from_figment(figment)?;
        config.file = path.is_file().then(|| path.to_owned());
        Ok(config)
    }

    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let config: Config = figment.extract().map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.backend()?;
        let c = &self.cluster;
        if c.heartbeat_secs == 0 || c.lease_secs < 2 || c.check_secs == 0 {
            return Err(invalid(
                "cluster",
                "heartbeat_secs and check_secs must be at least 1, lease_secs at least 2",
            ));
        }
        if c.node_timeout_secs <= c.heartbeat_secs {
            return Err(invalid(
                "cluster.node_timeout_secs",
                "must be longer than heartbeat_secs",
            ));
        }
        if self.media.store.kind == MediaStoreKind::S3 && self.media.store.bucket.is_none() {
            return Err(invalid(
                "media.store.bucket",
                "is required with kind = \"s3\"",
            ));
        }
        self.proxies()?;
        self.metrics_allowed()?;
        if let Some(at) = &self.backup.daily_at {
            if chrono::NaiveTime::parse_from_str(at, "%H:%M").is_err() {
                return Err(invalid("backup.daily_at", "must be a time like 03:00"));
            }
        }
        if self.backup.keep_daily == 0 {
            return Err(invalid(
                "backup.keep_daily",
                "must be at least 1 (the newest archive is always kept)",
            ));
        }
        let n = &self.newsletter;
        if n.max_per_minute == 0 || n.max_per_minute > 60_000 {
            return Err(invalid("newsletter.max_per_minute", "must be 1 to 60000"));
        }
        if n.retry_min_secs == 0 || n.retry_max_secs < n.retry_min_secs {
            return Err(invalid(
                "newsletter.retry_max_secs",
                "retry_min_secs must be at least 1 and retry_max_secs at least retry_min_secs",
            ));
        }
        if n.max_attempts == 0 {
            return Err(invalid("newsletter.max_attempts", "must be at least 1"));
        }
        if n.sender_lease_secs < 2 || n.confirm_hours == 0 || n.check_secs == 0 {
            return Err(invalid(
                "newsletter",
                "sender_lease_secs must be at least 2; confirm_hours and check_secs at least 1",
            ));
        }
        if !matches!(self.public_url.scheme(), "http" | "https") {
            return Err(invalid("public_url", "must start with http:// or https://"));
        }
        for (setting, url) in [
            ("analytics.url", &self.analytics.url),
            ("analytics.internal_url", &self.analytics.internal_url),
        ] {
            if url
                .as_ref()
                .is_some_and(|u| !matches!(u.scheme(), "http" | "https"))
            {
                return Err(invalid(setting, "must start with http:// or https://"));
            }
        }
        if self
            .analytics
            .secret
            .as_ref()
            .is_some_and(|s| s.expose_secret().len() < 16)
        {
            return Err(invalid(
                "analytics.secret",
                "must be at least 16 characters",
            ));
        }
        if self.email.transport != EmailTransport::None {
            if self.email.from.trim().is_empty() {
                return Err(invalid(
                    "email.from",
                    "must be set when email.transport is smtp or file, e.g. \"My Comic <comic@example.com>\" (an address your mail server may send from)",
                ));
            }
            if self.email.from.parse::<lettre::message::Mailbox>().is_err() {
                return Err(invalid(
                    "email.from",
                    "is not an address; write it as \"My Comic <comic@example.com>\"",
                ));
            }
        }
        if self.database.max_connections == Some(0) {
            return Err(invalid("database.max_connections", "must be at least 1"));
        }
        let m = &self.media;
        if m.widths.is_empty() || m.widths.iter().any(|w| !(16..=8192).contains(w)) {
            return Err(invalid(
                "media.widths",
                "need at least one width, each between 16 and 8192",
            ));
        }
        if !(16..=1024).contains(&m.thumb_width) {
            return Err(invalid("media.thumb_width", "must be between 16 and 1024"));
        }
        if !(1.0..=100.0).contains(&m.webp_quality) {
            return Err(invalid("media.webp_quality", "must be between 1 and 100"));
        }
        if !(1..=100).contains(&m.jpeg_quality) {
            return Err(invalid("media.jpeg_quality", "must be between 1 and 100"));
        }
        if self.email.transport == EmailTransport::File && self.email.file_dir.is_none() {
            return Err(invalid(
                "email.file_dir",
                "is needed when email.transport = \"file\"",
            ));
        }
        if self.email.transport != EmailTransport::None
            && self.email.from.parse::<lettre::message::Mailbox>().is_err()
        {
            return Err(invalid(
                "email.from",
                "must be an address like \"My Comic <comic@example.com>\"",
            ));
        }
        if self.redis_namespace.is_empty()
            || !self
                .redis_namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(invalid(
                "redis_namespace",
                "use letters, digits, '-', '_' or '.'",
            ));
        }
        if let Some(url) = &self.redis_url {
            let url = url.expose_secret();
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(invalid(
                    "redis_url",
                    "must start with redis:// or rediss://",
                ));
            }
        }
        Ok(())
    }

    /// The database URL, defaulting to a SQLite file in `data_dir`.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose_secret().to_owned(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("halftone.db").display()
            ),
        }
    }

    pub fn backend(&self) -> Result<Backend, ConfigError> {
        let url = self.database_url();
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            Ok(Backend::MySql)
        } else {
            Err(invalid(
                "database_url",
                "must start with sqlite:// or mysql://",
            ))
        }
    }

    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.database.acquire_timeout_ms)
    }

    pub fn media_dir(&self) -> PathBuf {
        self.data_dir.join("media")
    }

    pub fn backup_dir(&self) -> PathBuf {
        self.backup
            .dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("backups"))
    }

    /// The parsed `trusted_proxies`.
    pub fn proxies(&self) -> Result<halftone_protocol::net::TrustedProxies, ConfigError> {
        halftone_protocol::net::TrustedProxies::parse(&self.trusted_proxies)
            .map_err(|e| invalid("trusted_proxies", &e))
    }

    /// The parsed `metrics_allow`.
    pub fn metrics_allowed(&self) -> Result<halftone_protocol::net::TrustedProxies, ConfigError> {
        halftone_protocol::net::TrustedProxies::parse(&self.metrics_allow)
            .map_err(|e| invalid("metrics_allow", &e))
    }

    pub fn secure_cookies(&self) -> bool {
        self.admin
            .secure_cookies
            .unwrap_or(self.public_url.scheme() == "https")
    }

    /// `public_url` without a trailing slash, for joining paths.
    pub fn base_url(&self) -> &str {
        self.public_url.as_str().trim_end_matches('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str) -> Result<Config, ConfigError> {
        Config::from_figment(
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(toml)),
        )
    }

    #[test]
    fn defaults_work_on_a_fresh_machine() {
        let config = load("").expect("defaults are valid");
        assert_eq!(config.backend().expect("backend"), Backend::Sqlite);
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert!(config.database_url().contains("data/halftone.db"));
    }

    #[test]
    fn a_bad_setting_is_named_in_the_error() {
        let err = load("bind = \"nowhere\"")
            .expect_err("bad bind")
            .to_string();
        assert!(err.contains("bind"), "{err}");
        let err = load("database_url = \"postgres://x\"")
            .expect_err("bad url")
            .to_string();
        assert!(err.contains("database_url"), "{err}");
        let err = load("[media]\nwebp_quality = 500.0")
            .expect_err("bad quality")
            .to_string();
        assert!(err.contains("media.webp_quality"), "{err}");
    }

    #[test]
    fn an_unknown_setting_is_refused() {
        let err = load("databse_url = \"sqlite://x\"")
            .expect_err("typo")
            .to_string();
        assert!(err.contains("databse_url"), "{err}");
    }

    #[test]
    fn mysql_urls_select_the_mysql_backend() {
        let config = load("database_url = \"mysql://root@127.0.0.1/halftone\"").expect("valid");
        assert_eq!(config.backend().expect("backend"), Backend::MySql);
    }
}
