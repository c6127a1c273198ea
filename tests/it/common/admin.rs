//! Logged-in admin clients for tests: a cookie jar, the CSRF token, and
//! websocket connections to the editor.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use halftone::auth::{password, users, EmailAddress, Role};
use reqwest::cookie::CookieStore;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use super::TestApp;

pub const PASSWORD: &str = "correct horse battery";

pub struct Admin {
    pub client: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
    pub csrf: String,
    pub base: String,
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl TestApp {
    /// Creates an account directly (an "arrange" step).
    pub async fn create_user(&self, email: &str, role: Role) -> i64 {
        let hash = password::hash(PASSWORD.to_owned().into())
            .await
            .expect("hash");
        let email = EmailAddress::parse(email).expect("email");
        users::insert(&self.db, &email, "Test Author", role, &hash)
            .await
            .expect("insert user")
    }

    /// An anonymous client that keeps cookies and does not follow redirects.
    pub fn browser(&self) -> (reqwest::Client, Arc<reqwest::cookie::Jar>) {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        (client, jar)
    }

    /// Logs in through the real login form.
    pub async fn login(&self, email: &str, password: &str) -> Result<Admin, reqwest::Response> {
        let (client, jar) = self.browser();
        self.login_with(client, jar, email, password, None).await
    }

    /// Logs in with a given client (its cookies: a known device or not),
    /// optionally as a reader at `from` behind the test's trusted proxy.
    pub async fn login_with(
        &self,
        client: reqwest::Client,
        jar: Arc<reqwest::cookie::Jar>,
        email: &str,
        password: &str,
        from: Option<&str>,
    ) -> Result<Admin, reqwest::Response> {
        let form = client
            .get(self.url("/admin/login"))
            .send()
            .await
            .expect("login form")
            .text()
            .await
            .expect("body");
        let csrf = hidden_csrf(&form);
        let mut request = client.post(self.url("/admin/login")).form(&[
            ("csrf_token", csrf.as_str()),
            ("email", email),
            ("password", password),
            ("next", "/admin"),
        ]);
        if let Some(from) = from {
            request = request.header("x-forwarded-for", from);
        }
        let response = request.send().await.expect("login");
        if response.status() != 303 {
            return Err(response);
        }
        let dashboard = client
            .get(self.url("/admin"))
            .send()
            .await
            .expect("dashboard")
            .text()
            .await
            .expect("body");
        let csrf = meta_csrf(&dashboard);
        Ok(Admin {
            client,
            jar,
            csrf,
            base: self.address.clone(),
        })
    }

    pub async fn owner(&self) -> Admin {
        let email = format!("owner{}@example.com", rand_suffix());
        self.create_user(&email, Role::Owner).await;
        self.login(&email, PASSWORD)
            .await
            .unwrap_or_else(|_| panic!("owner login"))
    }
}

fn rand_suffix() -> u32 {
    use rand::Rng;
    rand::rng().random()
}

pub fn hidden_csrf(html: &str) -> String {
    let doc = super::html(html);
    super::select_attr(&doc, "input[name=csrf_token]", "value")
        .into_iter()
        .next()
        .expect("a csrf field")
}

pub fn meta_csrf(html: &str) -> String {
    let doc = super::html(html);
    super::select_attr(&doc, "meta[name=csrf-token]", "content")
        .into_iter()
        .next()
        .expect("a csrf meta")
}

impl Admin {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn page(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.text().await.expect("body")
    }

    /// POSTs a form with this session's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.client
            .post(self.url(path))
            .form(&all)
            .send()
            .await
            .expect("request")
    }

    /// The flash message the next page shows after a redirect.
    pub async fn follow(&self, response: reqwest::Response) -> String {
        assert_eq!(response.status(), 303, "expected a redirect");
        let location = response.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned();
        self.page(&location).await
    }

    pub fn cookie_header(&self) -> String {
        let url = self.base.parse().expect("url");
        self.jar
            .cookies(&url)
            .map(|v| v.to_str().expect("ascii").to_owned())
            .unwrap_or_default()
    }

    /// Creates a draft page and returns its id.
    pub async fn new_page(&self) -> i64 {
        let response = self.post("/admin/pages/new", &[]).await;
        assert_eq!(response.status(), 303);
        let location = response.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned();
        location
            .trim_start_matches("/admin/pages/")
            .parse()
            .expect("page id")
    }

    pub async fn ws(&self, page: i64) -> Socket {
        self.ws_with_origin(page, &self.base)
            .await
            .expect("websocket")
    }

    pub async fn ws_with_origin(
        &self,
        page: i64,
        origin: &str,
    ) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
        let url = format!(
            "{}/admin/pages/{page}/ws",
            self.base.replace("http://", "ws://")
        );
        let mut request = url.into_client_request().expect("request");
        request
            .headers_mut()
            .insert("Cookie", self.cookie_header().parse().expect("cookie"));
        request
            .headers_mut()
            .insert("Origin", origin.parse().expect("origin"));
        tokio_tungstenite::connect_async(request)
            .await
            .map(|(socket, _)| socket)
    }
}

/// The next JSON message (skipping pings), within five seconds.
pub async fn next_json(socket: &mut Socket) -> serde_json::Value {
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
            .await
            .expect("a message within 5 s")
            .expect("socket open")
            .expect("a frame");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).expect("JSON"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

pub async fn send_json(socket: &mut Socket, value: serde_json::Value) {
    socket
        .send(Message::Text(value.to_string().into()))
        .await
        .expect("send");
}

/// A valid draft document.
pub fn draft(title: &str, slug: &str, transcript: &str) -> serde_json::Value {
    serde_json::json!({
        "title": title, "slug": slug, "hover_text": "", "transcript": transcript, "notes": "",
        "content_warning": "", "chapter_id": null, "tags": [], "characters": [], "images": []
    })
}
