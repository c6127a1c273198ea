//! A real headless Chromium, driven over WebDriver (chromedriver).
//!
//! Browser tests run whenever `chromedriver` is installed. Without it they
//! say so and stop, unless `HALFTONE_TEST_BROWSER=required` (as in CI), in
//! which case a missing browser fails the test.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn find(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find(|n| {
            Command::new("which")
                .arg(n)
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(|n| (*n).to_owned())
}

/// Starts chromedriver and a headless Chromium, or returns `None` (with a
/// message) when they are not installed and the browser is not required.
pub async fn start() -> Option<Browser> {
    start_with(None).await
}

/// The same browser as a 390×844 phone (Chromium's device emulation: the
/// viewport, pixel ratio and touch of an iPhone 12-sized screen).
pub async fn start_phone() -> Option<Browser> {
    start_with(Some((390, 844))).await
}

async fn start_with(phone: Option<(u32, u32)>) -> Option<Browser> {
    let required = std::env::var("HALFTONE_TEST_BROWSER").is_ok_and(|v| v == "required");
    let (Some(driver), Some(chrome)) = (
        find(&["chromedriver"]),
        find(&["chromium", "chromium-browser", "google-chrome"]),
    ) else {
        assert!(
            !required,
            "HALFTONE_TEST_BROWSER=required but chromium/chromedriver are not installed"
        );
        eprintln!("SKIPPED: browser test needs chromium and chromedriver (apt-get install chromium chromium-driver)");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let profile = tempfile::tempdir().expect("profile dir");
    let mut caps = serde_json::Map::new();
    let mut options = serde_json::json!({
        "binary": which_path(&chrome),
        "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--no-first-run",
            "--disable-sync", "--window-size=1200,1000",
            format!("--user-data-dir={}", profile.path().display()),
        ]
    });
    if let Some((width, height)) = phone {
        options["mobileEmulation"] = serde_json::json!({
            "deviceMetrics": { "width": width, "height": height, "pixelRatio": 3.0, "touch": true },
            "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
        });
    }
    caps.insert("goog:chromeOptions".into(), options);
    let url = format!("http://127.0.0.1:{port}");
    let mut last_error = String::new();
    for _ in 0..50 {
        let mut builder =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(caps.clone());
        match builder.connect(&url).await {
            Ok(client) => {
                return Some(Browser {
                    client,
                    driver: child,
                    _profile: profile,
                })
            }
            Err(e) => last_error = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("could not start a browser session: {last_error}");
}

fn which_path(name: &str) -> String {
    Command::new("which")
        .arg(name)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| name.to_owned())
}

impl Browser {
    /// Waits until `script` (a JS expression) is truthy, up to 25 s: the
    /// editor's reconnect backoff alone can reach 10 s after an outage.
    pub async fn wait_for(&self, script: &str) {
        for _ in 0..250 {
            let value = self
                .client
                .execute(&format!("return !!({script});"), vec![])
                .await
                .expect("script");
            if value.as_bool() == Some(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for {script}");
    }

    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("url")
            .path()
            .to_owned()
    }

    /// Evaluates a JS expression and returns it as JSON.
    pub async fn eval(&self, expression: &str) -> serde_json::Value {
        self.client
            .execute(&format!("return ({expression});"), vec![])
            .await
            .expect("script")
    }

    /// Logs into the admin through its form.
    pub async fn log_in(&self, base: &str, email: &str, password: &str) {
        use fantoccini::Locator;
        let c = &self.client;
        c.goto(&format!("{base}/admin/login")).await.expect("goto");
        for (field, value) in [("#email", email), ("#password", password)] {
            c.find(Locator::Css(field))
                .await
                .expect("field")
                .send_keys(value)
                .await
                .expect("type");
        }
        c.find(Locator::Css("button[type=submit]"))
            .await
            .expect("submit")
            .click()
            .await
            .expect("click");
        self.wait_for("location.pathname === '/admin'").await;
    }

    pub async fn press(&self, key: char) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let actions = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.client
            .perform_actions(actions)
            .await
            .expect("key press");
    }
}
