//! Test harness: spawn the real application on 127.0.0.1 against a fresh
//! database — a SQLite file by default, or a new MariaDB database when
//! `HALFTONE_TEST_DATABASE_URL=mysql://user@host:port` is set (dropped again
//! when the test ends).

#![allow(dead_code)]

pub mod admin;
pub mod browser;
pub mod proxy;
pub mod smtp;
pub mod stall;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use figment::providers::Serialized;
use figment::Figment;
use halftone::config::{Backend, Config};
use halftone::db::Db;
use halftone::import::{write_pages, ChapterSpec, ReadyImage, ReadyPage, Target};
use halftone::media::{self, Processed};
use halftone::startup::Application;
use image::ImageEncoder;

/// How `TestApp::write` writes pages, by name rather than by position.
#[derive(Debug, Clone, Copy)]
pub struct WriteAs {
    /// Series slug; `None` is the primary series.
    pub series: Option<&'static str>,
    /// Published (live at their dates) or drafts.
    pub publish: bool,
    /// Back-filled into the archive (live at their own dates, as an import
    /// of old pages is) rather than live from now on.
    pub backfill: bool,
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub db: Db,
    pub config: Config,
    pub data_dir: std::sync::Arc<tempfile::TempDir>,
    pub handle: actix_web::dev::ServerHandle,
    /// The running app's shared state (for arrange steps that must tell
    /// the cache about direct database writes).
    pub state: std::sync::Arc<halftone::startup::AppState>,
    database: Option<std::sync::Arc<MySqlDatabase>>,
}

/// A MariaDB database made for one test, dropped when the test ends.
struct MySqlDatabase {
    server_url: String,
    name: String,
}

impl Drop for MySqlDatabase {
    fn drop(&mut self) {
        let url = self.server_url.clone();
        let name = self.name.clone();
        // Drop runs outside async context: use a short-lived runtime on its own thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                use sqlx::Connection;
                let mut conn = sqlx::MySqlConnection::connect(&url).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS `{name}`"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// The Redis the suite runs with, if any. With `HALFTONE_TEST_REDIS=required`
/// (set by `.ci/run` for its MariaDB + Redis pass) a missing URL fails the
/// test instead of letting it pass without running.
pub fn redis_url() -> Option<String> {
    let url = std::env::var("HALFTONE_TEST_REDIS_URL").ok();
    if url.is_none() && std::env::var("HALFTONE_TEST_REDIS").is_ok_and(|v| v == "required") {
        panic!("HALFTONE_TEST_REDIS=required but HALFTONE_TEST_REDIS_URL is not set");
    }
    if url.is_none() {
        eprintln!("needs Redis: runs in the MariaDB + Redis pass (HALFTONE_TEST_REDIS_URL)");
    }
    url
}

/// Which database the suite runs against.
pub fn test_backend() -> Backend {
    match std::env::var("HALFTONE_TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("mysql") => Backend::MySql,
        _ => Backend::Sqlite,
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns the app after letting the test adjust its configuration.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    halftone::telemetry::init_for_tests();
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config: Config = Figment::from(Serialized::defaults(Config::default()))
        .extract()
        .expect("default config");
    config.data_dir = data_dir.path().to_path_buf();
    // Pick a free port first so `public_url` (used in feeds and share cards)
    // names the real address.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port();
    config.bind = format!("127.0.0.1:{port}").parse().expect("addr");
    config.public_url = format!("http://127.0.0.1:{port}/").parse().expect("url");
    config.debug.query_count_header = true;
    config.database.max_connections = Some(8);
    // Short cache times keep time-based tests quick while still caching.
    config.cache.ttl_ms = 1000;
    config.cache.stale_while_revalidate_ms = 2000;
    // No "disk almost full" mails in tests about something else, whatever
    // the machine's disk (the alert tests set their own threshold).
    config.cluster.disk_alert_percent = 100.0;

    let database = match std::env::var("HALFTONE_TEST_DATABASE_URL") {
        Ok(server_url) if server_url.starts_with("mysql") => {
            let server_url = server_url.trim_end_matches('/').to_owned();
            let name = format!("halftone_test_{}", random_suffix());
            config.database_url = Some(format!("{server_url}/{name}").into());
            Some(MySqlDatabase { server_url, name })
        }
        _ => None,
    };
    if let Ok(url) = std::env::var("HALFTONE_TEST_REDIS_URL") {
        config.redis_url = Some(url.into());
        // Each test app gets its own key space on the shared Redis.
        config.redis_namespace = format!("test_{}", random_suffix());
    }
    adjust(&mut config);

    let db = Db::connect(&config)
        .await
        .expect("connect to the test database");
    db.migrate().await.expect("migrate");
    let app = Application::build_with_db(config.clone(), db.clone())
        .await
        .expect("build app");
    let port = app.port();
    let handle = app.handle();
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client,
        db,
        config,
        data_dir: std::sync::Arc::new(data_dir),
        handle,
        state,
        database: database.map(std::sync::Arc::new),
    }
}

fn random_suffix() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..12)
        .map(|_| char::from(b'a' + rng.random_range(0..26)))
        .collect()
}

impl TestApp {
    /// Stops the server as a crash or deploy would (connections dropped).
    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }

    /// Starts the server again on the same port and database, with a new
    /// connection pool as a restarted process would have: connections made
    /// on the stopped server's worker runtimes die with them.
    pub async fn start_again(&mut self) {
        self.db = Db::connect(&self.config).await.expect("reconnect");
        let app = Application::build_with_db(self.config.clone(), self.db.clone())
            .await
            .expect("rebuild app");
        self.handle = app.handle();
        self.state = app.state();
        tokio::spawn(app.run_until_stopped());
    }

    /// A second app node on its own port, sharing this one's database,
    /// media and Redis namespace.
    pub async fn second_node(&self) -> TestApp {
        self.second_node_with(|_| {}).await
    }

    /// A second node whose configuration the test adjusts.
    pub async fn second_node_with(&self, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("free port")
            .local_addr()
            .expect("addr")
            .port();
        let mut config = self.config.clone();
        config.bind = format!("127.0.0.1:{port}").parse().expect("addr");
        adjust(&mut config);
        let db = Db::connect(&config).await.expect("connect");
        let app = Application::build_with_db(config.clone(), db.clone())
            .await
            .expect("build second node");
        let handle = app.handle();
        let state = app.state();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            port,
            client: self.client.clone(),
            db,
            config,
            data_dir: self.data_dir.clone(),
            handle,
            state,
            database: self.database.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request failed")
    }

    /// GET and return (status, body).
    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// GET a page that must exist, returning its body.
    pub async fn page(&self, path: &str) -> String {
        let (status, body) = self.get_text(path).await;
        assert_eq!(status, 200, "GET {path} answered {status}:\n{body}");
        body
    }

    /// How many database statements a GET ran (from `Server-Timing`).
    pub async fn queries_for(&self, path: &str) -> u32 {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        let timing = response
            .headers()
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
            .expect("Server-Timing header")
            .to_owned();
        let digits: String = timing.chars().filter(char::is_ascii_digit).collect();
        digits.parse().expect("a count")
    }

    pub fn media_config(&self) -> halftone::config::MediaConfig {
        self.config.media.clone()
    }

    /// Writes pages through the same code path as `halftone import`.
    pub async fn write(&self, how: WriteAs, pages: Vec<ReadyPage>) {
        let target = Target {
            series: how.series.map(str::to_owned),
            publish: how.publish,
            backfill: how.backfill,
        };
        write_pages(&self.db, &target, pages)
            .await
            .expect("write pages");
        self.state.content_changed().await;
    }

    /// Runs SQL against the test database (arrange steps only).
    pub async fn exec(&self, sql: &str, binds: &[i64]) {
        let mut query = sqlx::query(sql);
        for b in binds {
            query = query.bind(*b);
        }
        query.execute(self.db.pool()).await.expect(sql);
        self.state.content_changed().await;
    }
}

/// A processed test image, made once per process and reused (its files are
/// written into each app's media folder on demand).
pub fn test_image(seed: u8) -> &'static Processed {
    static IMAGES: OnceLock<Vec<Processed>> = OnceLock::new();
    let images = IMAGES.get_or_init(|| {
        (0..4u8)
            .map(|s| {
                let png = png_bytes(320, 400, s);
                media::process(&png, &halftone::config::MediaConfig::default())
                    .expect("process test image")
            })
            .collect()
    });
    &images[usize::from(seed) % images.len()]
}

pub fn png_bytes(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            (x as u8).wrapping_mul(seed.wrapping_add(1)),
            (y % 251) as u8,
            seed.wrapping_mul(40),
        ])
    });
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(img.as_raw(), width, height, image::ExtendedColorType::Rgb8)
        .expect("encode png");
    out
}

/// Makes the files of a test image exist in an app's media folder.
pub fn store_image(app: &TestApp, processed: &Processed) {
    media::store::MediaStore::local(app.config.media_dir())
        .write_processed_blocking(&tokio::runtime::Handle::current(), processed)
        .expect("write media");
}

/// A page description for `TestApp::write`, with one test image.
pub fn page(
    app: &TestApp,
    slug: &str,
    title: &str,
    chapter: Option<&str>,
    published_at: i64,
) -> ReadyPage {
    let processed = test_image(slug.len() as u8);
    store_image(app, processed);
    ReadyPage {
        chapter: chapter.map(|c| ChapterSpec {
            volume: None,
            slug: c.to_owned(),
            title: format!("Chapter {c}"),
            description: String::new(),
        }),
        slug: slug.to_owned(),
        title: title.to_owned(),
        published_at: Some(published_at),
        hide_date: false,
        draft: false,
        hover_text: format!("hover of {title}"),
        transcript: format!("transcript of {title}"),
        notes: format!("notes of **{title}**"),
        content_warning: String::new(),
        tags: vec!["sea".to_owned()],
        characters: vec!["Pip".to_owned()],
        images: vec![ReadyImage {
            processed: clone_processed(processed),
            alt: format!("alt of {title}"),
        }],
    }
}

pub fn clone_processed(p: &Processed) -> Processed {
    Processed {
        hash: p.hash.clone(),
        width: p.width,
        height: p.height,
        source_format: p.source_format,
        widths: p.widths.clone(),
        fallback_ext: p.fallback_ext,
        thumb_width: p.thumb_width,
        thumb_height: p.thumb_height,
        source_bytes: p.source_bytes,
        files: Vec::new(),
    }
}

/// `n` published pages `p1..pn`, in `chapters` chapters, dated a day apart in the past.
pub async fn seed_pages(app: &TestApp, n: usize, chapters: usize) {
    let now = halftone::db::now();
    let pages = (1..=n)
        .map(|i| {
            let chapter = format!("c{}", 1 + (i - 1) * chapters.max(1) / n.max(1));
            page(
                app,
                &format!("p{i}"),
                &format!("Page {i}"),
                (chapters > 0).then_some(chapter.as_str()),
                now - (n - i + 1) as i64 * 86_400,
            )
        })
        .collect();
    app.write(
        WriteAs {
            series: None,
            publish: true,
            backfill: true,
        },
        pages,
    )
    .await;
}

/// `n` distinct free ports on 127.0.0.1 (held together while picked).
pub fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("free port"))
        .collect();
    held.iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect()
}

/// The binary under test, for CLI tests.
pub fn halftone_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_halftone"))
}

/// The real binary, pointed at `app`'s data folder, database and (when the
/// suite runs with one) Redis namespace; the caller adds arguments and
/// settings.
pub fn halftone_command(app: &TestApp) -> std::process::Command {
    use secrecy::ExposeSecret;
    let mut command = std::process::Command::new(halftone_bin());
    command
        .current_dir(app.data_dir.path())
        .env("HALFTONE_DATA_DIR", app.data_dir.path())
        .env("HALFTONE_LOG", "warn");
    if let Some(db) = &app.config.database_url {
        command.env("HALFTONE_DATABASE_URL", db.expose_secret());
    }
    if let Some(redis) = &app.config.redis_url {
        command
            .env("HALFTONE_REDIS_URL", redis.expose_secret())
            .env("HALFTONE_REDIS_NAMESPACE", &app.config.redis_namespace);
    }
    command
}

/// A child process killed (and reaped) when the test lets go of it.
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An HTML document for CSS-selector assertions.
pub fn html(body: &str) -> scraper::Html {
    scraper::Html::parse_document(body)
}

pub fn select_attr(doc: &scraper::Html, selector: &str, attr: &str) -> Vec<String> {
    let sel = scraper::Selector::parse(selector).expect("selector");
    doc.select(&sel)
        .filter_map(|e| e.value().attr(attr).map(str::to_owned))
        .collect()
}

pub fn select_text(doc: &scraper::Html, selector: &str) -> Vec<String> {
    let sel = scraper::Selector::parse(selector).expect("selector");
    doc.select(&sel)
        .map(|e| e.text().collect::<String>().trim().to_owned())
        .collect()
}

pub fn write_file(dir: &Path, rel: &str, bytes: &[u8]) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, bytes).expect("write");
}
