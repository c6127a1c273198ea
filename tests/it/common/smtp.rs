//! A real SMTP server for newsletter tests: Python's aiosmtpd (from PyPI,
//! installed into the target directory on first use if the machine lacks
//! it), run as a child process that reports every mail it accepts.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// One accepted mail: the envelope recipients and the raw message.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub raw: String,
}

impl Received {
    fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(self.raw.as_bytes())
            .expect("a parseable mail")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        let message = self.parsed();
        message
            .header_raw(name)
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_owned()
    }

    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }

    pub fn html(&self) -> Option<String> {
        let message = self.parsed();
        // body_html falls back to converting the text part; only a real
        // text/html part counts here.
        let html = message
            .html_bodies()
            .next()
            .and_then(|part| part.text_contents().map(str::to_owned));
        html
    }

    /// The first `http…` link in the text part that contains `needle`.
    pub fn link(&self, needle: &str) -> String {
        self.text()
            .split_whitespace()
            .find(|w| w.starts_with("http") && w.contains(needle))
            .unwrap_or_else(|| panic!("no {needle} link in:\n{}", self.text()))
            .to_owned()
    }
}

pub struct SmtpSink {
    pub port: u16,
    child: Child,
    mails: Arc<Mutex<Vec<Received>>>,
}

fn python_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python-aiosmtpd");
        let importable = |dir: &PathBuf| {
            Command::new("python3")
                .args(["-c", "import aiosmtpd"])
                .env("PYTHONPATH", dir)
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        };
        if !importable(&dir) {
            let status = Command::new("python3")
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .arg("--target")
                .arg(&dir)
                .arg("aiosmtpd")
                .status()
                .expect("python3 -m pip (the newsletter tests need Python 3 with pip)");
            assert!(status.success(), "pip could not install aiosmtpd");
            assert!(importable(&dir), "aiosmtpd installed but not importable");
        }
        dir
    })
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        Self::start_on(free_port(), None)
    }

    /// Starts on `port` (again, after `stop`), refusing addresses that
    /// contain `reject`.
    pub fn start_on(port: u16, reject: Option<&str>) -> SmtpSink {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .env("PYTHONPATH", python_path())
            .env("SMTP_SINK_REJECT", reject.unwrap_or(""))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the SMTP sink");
        let stdout = child.stdout.take().expect("stdout");
        let mails = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let sink = mails.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line == "READY" {
                    let _ = ready_tx.send(());
                    continue;
                }
                let value: serde_json::Value = serde_json::from_str(&line).expect("sink line");
                sink.lock().expect("lock").push(Received {
                    to: value["to"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default(),
                    raw: value["data"].as_str().unwrap_or_default().to_owned(),
                });
            }
        });
        ready_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the SMTP sink did not start");
        SmtpSink { port, child, mails }
    }

    pub fn mails(&self) -> Vec<Received> {
        self.mails.lock().expect("lock").clone()
    }

    pub fn mails_to(&self, address: &str) -> Vec<Received> {
        self.mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == address))
            .collect()
    }

    /// Waits until at least `n` mails arrived; returns them all.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let mails = self.mails();
            if mails.len() >= n {
                return mails;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} mail(s) within {within:?}, got {}",
                mails.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The first mail to `address`, waiting for it.
    pub async fn wait_for_mail_to(&self, address: &str, within: Duration) -> Received {
        let deadline = Instant::now() + within;
        loop {
            if let Some(mail) = self.mails_to(address).into_iter().next() {
                return mail;
            }
            assert!(
                Instant::now() < deadline,
                "no mail to {address} within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port()
}

/// Points an app's mail at `port` with quick retries (test timescale).
pub fn smtp_config(config: &mut halftone::config::Config, port: u16) {
    use halftone::config::{EmailTransport, SmtpTls};
    config.email.transport = EmailTransport::Smtp;
    config.email.smtp_host = "127.0.0.1".into();
    config.email.smtp_port = port;
    config.email.smtp_tls = SmtpTls::None;
    config.email.from = "Test Comic <comic@example.com>".into();
    config.newsletter.max_per_minute = 6000;
    config.newsletter.retry_min_secs = 1;
    config.newsletter.retry_max_secs = 2;
    config.newsletter.max_attempts = 100;
    config.newsletter.check_secs = 1;
    config.newsletter.sender_lease_secs = 3;
}
