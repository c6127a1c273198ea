//! Typed settings for the analytics service, from flags or `HALFTONE_ANALYTICS_*`
//! environment variables. A bad value fails at start with the setting's name
//! (clap reports it).

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "halftone-analytics",
    version,
    about = "Halftone's analytics service: cookieless page views, realtime, and no hit ever lost.",
    long_about = "Counts page views sent by the reader pages' beacon (and search queries and \
                  feed fetches reported by the site) without cookies. Every hit is on local \
                  disk (the spool) before it is acknowledged and is written to the database \
                  exactly once, even across crashes and database outages."
)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(
        long,
        env = "HALFTONE_ANALYTICS_BIND",
        default_value = "127.0.0.1:8090"
    )]
    pub bind: String,

    /// Database: sqlite://path (default) or mysql://user:pass@host/db.
    #[arg(
        long,
        env = "HALFTONE_ANALYTICS_DATABASE_URL",
        default_value = "sqlite://data/analytics.db"
    )]
    pub database_url: String,

    /// Directory of the durable spool (segment files and the daily salt).
    #[arg(
        long,
        env = "HALFTONE_ANALYTICS_SPOOL_DIR",
        default_value = "data/analytics-spool"
    )]
    pub spool_dir: PathBuf,

    /// Secret shared with the site: signs dashboard sign-ins and authorizes
    /// server-side events. Without it the dashboard is closed unless `--public`.
    /// (Kept as a `SecretString`: never printed by `Debug` or in logs.)
    #[arg(long, env = "HALFTONE_ANALYTICS_SECRET", hide_env_values = true, value_parser = secret)]
    pub secret: Option<SecretString>,

    /// Make the dashboard and its API readable by anyone.
    #[arg(long, env = "HALFTONE_ANALYTICS_PUBLIC")]
    pub public: bool,

    /// Site name mixed into the visitor hash.
    #[arg(long, env = "HALFTONE_ANALYTICS_SITE", default_value = "halftone")]
    pub site: String,

    /// The spool's group commit: at most one fsync per this many milliseconds.
    #[arg(long, env = "HALFTONE_ANALYTICS_FSYNC_MS", default_value_t = 10)]
    pub fsync_ms: u64,

    /// How often spooled hits are written to the database, in milliseconds.
    #[arg(long, env = "HALFTONE_ANALYTICS_FLUSH_MS", default_value_t = 1000)]
    pub flush_ms: u64,

    /// Beacons accepted per second from one address (0 turns the limit off).
    #[arg(long, env = "HALFTONE_ANALYTICS_RATE_LIMIT", default_value_t = 10)]
    pub rate_limit: u32,

    /// Your reverse proxies, whose X-Forwarded-For is believed: addresses or
    /// CIDR blocks, comma-separated (e.g. `127.0.0.1,10.0.0.0/8`). The client
    /// is the rightmost address not one of them; without any, the connecting
    /// address is the client and the header is ignored.
    #[arg(
        long,
        env = "HALFTONE_ANALYTICS_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,

    /// Bearer token for `/metrics` (without it, `/metrics` answers only
    /// addresses in HALFTONE_ANALYTICS_METRICS_ALLOW).
    #[arg(long, env = "HALFTONE_ANALYTICS_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Addresses or CIDR blocks that may read `/metrics` without the token.
    #[arg(
        long,
        env = "HALFTONE_ANALYTICS_METRICS_ALLOW",
        value_delimiter = ',',
        default_value = "127.0.0.1,::1"
    )]
    pub metrics_allow: Vec<String>,

    /// Deprecated: trust proxies on loopback and private networks (prefer
    /// HALFTONE_ANALYTICS_TRUSTED_PROXIES).
    #[arg(long, env = "HALFTONE_ANALYTICS_TRUST_PROXY", hide = true)]
    pub trust_proxy: bool,

    /// Spool segment size before a new file is started, in bytes.
    #[arg(long, env = "HALFTONE_ANALYTICS_SEGMENT_BYTES", default_value_t = 8 << 20)]
    pub segment_bytes: u64,

    /// How long committed segments stay on disk so retried beacons are still
    /// recognised after a restart, in seconds.
    #[arg(long, env = "HALFTONE_ANALYTICS_DEDUPE_SECS", default_value_t = 900)]
    pub dedupe_secs: u64,

    /// Database connections.
    #[arg(long, env = "HALFTONE_ANALYTICS_MAX_CONNECTIONS", default_value_t = 4)]
    pub max_connections: u32,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "HALFTONE_ANALYTICS_WORKERS")]
    pub workers: Option<usize>,

    /// Log as JSON lines instead of human-readable text.
    #[arg(long, env = "HALFTONE_ANALYTICS_LOG_JSON")]
    pub log_json: bool,
}

impl Config {
    pub fn fsync_interval(&self) -> Duration {
        Duration::from_millis(self.fsync_ms)
    }

    pub fn flush_interval(&self) -> Duration {
        Duration::from_millis(self.flush_ms.max(10))
    }

    pub fn is_mysql(&self) -> bool {
        self.database_url.starts_with("mysql:") || self.database_url.starts_with("mariadb:")
    }

    /// The proxies to believe (see `trusted_proxies`).
    pub fn proxies(&self) -> anyhow::Result<halftone_protocol::net::TrustedProxies> {
        let mut proxies = halftone_protocol::net::TrustedProxies::parse(&self.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("HALFTONE_ANALYTICS_TRUSTED_PROXIES: {e}"))?;
        if self.trust_proxy && proxies.is_empty() {
            proxies = halftone_protocol::net::TrustedProxies::local_networks();
        }
        Ok(proxies)
    }

    pub fn metrics_allowed(&self) -> anyhow::Result<halftone_protocol::net::TrustedProxies> {
        halftone_protocol::net::TrustedProxies::parse(&self.metrics_allow)
            .map_err(|e| anyhow::anyhow!("HALFTONE_ANALYTICS_METRICS_ALLOW: {e}"))
    }

    /// Refuses settings that parse but cannot work.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.proxies()?;
        self.metrics_allowed()?;
        if !(self.is_mysql() || self.database_url.starts_with("sqlite:")) {
            anyhow::bail!("HALFTONE_ANALYTICS_DATABASE_URL must start with sqlite:// or mysql://");
        }
        if let Some(secret) = self.secret() {
            if secret.len() < 16 {
                anyhow::bail!("HALFTONE_ANALYTICS_SECRET must be at least 16 characters");
            }
        }
        if self.segment_bytes < 4096 {
            anyhow::bail!("HALFTONE_ANALYTICS_SEGMENT_BYTES must be at least 4096");
        }
        Ok(())
    }
}

fn secret(value: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(value.to_owned()))
}

impl Config {
    /// The shared secret, for signing and comparing only.
    pub fn secret(&self) -> Option<&str> {
        self.secret.as_ref().map(|s| s.expose_secret())
    }
}
