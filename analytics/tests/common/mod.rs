//! Test harness: the real `halftone-analytics` binary as a child process on
//! 127.0.0.1, with a real SQLite file — or, when
//! `HALFTONE_TEST_DATABASE_URL=mysql://…` is set, a fresh MariaDB database
//! reached through a TCP proxy the test can cut (a database outage).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use halftone_analytics::ledger::LedgerSnapshot;
use serde_json::Value;
use sqlx::Connection;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

pub const SECRET: &str = "test-secret-0123456789";
pub const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
pub const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";

/// The database a test's service writes to.
pub struct TestDb {
    /// URL the service uses (through the proxy for MariaDB).
    pub url: String,
    /// URL the test uses directly.
    pub direct_url: String,
    mysql: Option<(String, String)>,
    proxy: Option<Proxy>,
    /// For SQLite outages: a connection holding an exclusive lock.
    lock: tokio::sync::Mutex<Option<sqlx::SqliteConnection>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new() -> TestDb {
        match std::env::var("HALFTONE_TEST_DATABASE_URL") {
            Ok(server) if server.starts_with("mysql:") => {
                let name = format!("ha_test_{}", hex::encode(rand::random::<[u8; 6]>()));
                let mut conn = sqlx::MySqlConnection::connect(&server)
                    .await
                    .expect("connect to MariaDB");
                sqlx::query(&format!("CREATE DATABASE `{name}`"))
                    .execute(&mut conn)
                    .await
                    .expect("create database");
                let parsed = url::Url::parse(&server).expect("url");
                let target = format!(
                    "{}:{}",
                    parsed.host_str().unwrap_or("127.0.0.1"),
                    parsed.port().unwrap_or(3306)
                );
                let proxy = Proxy::start(target).await;
                let mut via = parsed.clone();
                via.set_host(Some("127.0.0.1")).expect("host");
                via.set_port(Some(proxy.port)).expect("port");
                via.set_path(&format!("/{name}"));
                let mut direct = parsed;
                direct.set_path(&format!("/{name}"));
                TestDb {
                    url: via.to_string(),
                    direct_url: direct.to_string(),
                    mysql: Some((server, name)),
                    proxy: Some(proxy),
                    lock: tokio::sync::Mutex::new(None),
                    _dir: None,
                }
            }
            _ => {
                let dir = tempfile::tempdir().expect("tempdir");
                let url = format!("sqlite://{}", dir.path().join("analytics.db").display());
                TestDb {
                    direct_url: url.clone(),
                    url,
                    mysql: None,
                    proxy: None,
                    lock: tokio::sync::Mutex::new(None),
                    _dir: Some(dir),
                }
            }
        }
    }

    /// Takes the database away from the service: the MariaDB connection is
    /// cut, or the SQLite file is locked by another writer.
    pub async fn outage(&self) {
        if let Some(proxy) = &self.proxy {
            proxy.cut();
            return;
        }
        let mut conn = sqlx::SqliteConnection::connect(&self.direct_url)
            .await
            .expect("lock connection");
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut conn)
            .await
            .expect("exclusive lock");
        *self.lock.lock().await = Some(conn);
    }

    pub async fn restore(&self) {
        if let Some(proxy) = &self.proxy {
            proxy.restore();
            return;
        }
        if let Some(mut conn) = self.lock.lock().await.take() {
            sqlx::query("COMMIT")
                .execute(&mut conn)
                .await
                .expect("unlock");
        }
    }

    /// Page views stored in the database, read directly (not via the service).
    pub async fn stored_views(&self) -> i64 {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.direct_url)
            .await
            .expect("connect");
        sqlx::query_scalar::<_, i64>("SELECT CAST(COALESCE(SUM(n), 0) AS SIGNED) FROM counts WHERE metric = 'views' AND dim = ''")
            .fetch_one(&mut conn)
            .await
            .unwrap_or(0)
    }

    pub async fn drop_database(&self) {
        if let Some((server, name)) = &self.mysql {
            if let Ok(mut conn) = sqlx::MySqlConnection::connect(server).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS `{name}`"))
                    .execute(&mut conn)
                    .await;
            }
        }
    }
}

pub struct Service {
    pub address: String,
    pub client: reqwest::Client,
    child: Child,
    pub spool_dir: PathBuf,
    stderr: Arc<std::sync::Mutex<Vec<String>>>,
}

pub struct Options {
    pub flush_ms: u64,
    pub rate_limit: u32,
    pub public: bool,
    pub dedupe_secs: Option<u64>,
    pub fsync_ms: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            flush_ms: 100,
            rate_limit: 0,
            public: false,
            dedupe_secs: None,
            fsync_ms: None,
        }
    }
}

impl Service {
    pub fn start(db: &TestDb, spool_dir: &std::path::Path, options: &Options) -> Service {
        let mut command = Command::new(env!("CARGO_BIN_EXE_halftone-analytics"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HALFTONE_ANALYTICS_BIND", "127.0.0.1:0")
            .env("HALFTONE_ANALYTICS_DATABASE_URL", &db.url)
            .env("HALFTONE_ANALYTICS_SPOOL_DIR", spool_dir)
            .env("HALFTONE_ANALYTICS_SECRET", SECRET)
            .env("HALFTONE_ANALYTICS_FLUSH_MS", options.flush_ms.to_string())
            .env(
                "HALFTONE_ANALYTICS_RATE_LIMIT",
                options.rate_limit.to_string(),
            )
            // The test connects from loopback and writes the address its
            // simulated reader has, as our own proxy would.
            .env("HALFTONE_ANALYTICS_TRUSTED_PROXIES", "127.0.0.1")
            .env("HALFTONE_ANALYTICS_WORKERS", "2")
            .env("HALFTONE_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if options.public {
            command.env("HALFTONE_ANALYTICS_PUBLIC", "true");
        }
        if let Some(secs) = options.dedupe_secs {
            command.env("HALFTONE_ANALYTICS_DEDUPE_SECS", secs.to_string());
        }
        if let Some(ms) = options.fsync_ms {
            command.env("HALFTONE_ANALYTICS_FSYNC_MS", ms.to_string());
        }
        let mut child = command.spawn().expect("start halftone-analytics");
        let stderr = Arc::new(std::sync::Mutex::new(Vec::new()));
        {
            let pipe = child.stderr.take().expect("stderr");
            let lines = stderr.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    lines.lock().expect("log").push(line);
                }
            });
        }
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .expect("read the listening line");
        let address = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                panic!(
                    "service did not start: {line:?} {:?}",
                    stderr.lock().map(|l| l.join("\n"))
                )
            })
            .to_owned();
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in reader.lines() {});
        Service {
            address: format!("http://{address}"),
            client: reqwest::Client::new(),
            child,
            spool_dir: spool_dir.to_owned(),
            stderr,
        }
    }

    pub fn log(&self) -> String {
        self.stderr.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    /// Sends one beacon as a browser would; returns the HTTP status.
    pub async fn beacon(
        &self,
        id: &str,
        path: &str,
        ip: &str,
        ua: &str,
        referrer: Option<&str>,
        width: u32,
    ) -> u16 {
        let body =
            serde_json::json!({ "id": id, "p": path, "r": referrer.unwrap_or(""), "w": width });
        self.client
            .post(format!("{}/api/hit", self.address))
            .header("content-type", "text/plain;charset=UTF-8")
            .header("origin", "https://comic.example")
            .header("user-agent", ua)
            .header("x-forwarded-for", ip)
            .body(body.to_string())
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }

    /// Posts server events as the site does; returns the status and how long it took.
    pub async fn events(&self, events: &Value) -> (u16, Duration) {
        let started = Instant::now();
        let status = self
            .client
            .post(format!("{}/api/events", self.address))
            .bearer_auth(SECRET)
            .json(events)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        (status, started.elapsed())
    }

    pub async fn ledger(&self) -> LedgerSnapshot {
        self.client
            .get(format!("{}/api/ledger", self.address))
            .bearer_auth(SECRET)
            .send()
            .await
            .expect("ledger")
            .json()
            .await
            .expect("ledger json")
    }

    /// Waits until everything spooled is in the database.
    pub async fn settled(&self) -> LedgerSnapshot {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ledger = self.ledger().await;
            if ledger.database_up && ledger.lag == 0 {
                return ledger;
            }
            assert!(
                Instant::now() < deadline,
                "never settled: {ledger:?}\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stats(&self, range: &str) -> Value {
        let response = self
            .client
            .get(format!("{}/api/stats?range={range}", self.address))
            .bearer_auth(SECRET)
            .send()
            .await
            .expect("stats");
        assert_eq!(response.status(), 200, "stats");
        response.json().await.expect("stats json")
    }

    pub fn sigkill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn sigterm(mut self) -> (std::process::ExitStatus, String) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        // A blocking wait: tests run on a multi-thread runtime so the
        // database proxy keeps forwarding meanwhile.
        let status = self.child.wait().expect("wait");
        std::thread::sleep(Duration::from_millis(100));
        (status, self.log())
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A (dimension, count) list from the stats JSON as pairs.
pub fn pairs(value: &Value) -> Vec<(String, i64)> {
    value
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    (
                        row[0].as_str().unwrap_or("").to_owned(),
                        row[1].as_i64().unwrap_or(-1),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A TCP forwarder tests can cut and restore.
pub struct Proxy {
    pub port: u16,
    open: Arc<AtomicBool>,
    cut: broadcast::Sender<()>,
}

impl Proxy {
    pub async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let open = Arc::new(AtomicBool::new(true));
        let (cut, _) = broadcast::channel(4);
        let (flag, cuts) = (open.clone(), cut.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    continue;
                }
                let target = target.clone();
                let mut stop = cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = stop.recv() => {}
                    }
                });
            }
        });
        Proxy { port, open, cut }
    }

    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        let _ = self.cut.send(());
    }

    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}
