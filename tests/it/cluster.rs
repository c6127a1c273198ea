//! The cluster, for real: two `halftone serve` processes on their own ports
//! sharing a MariaDB database, a Redis of their own (so the test may kill
//! it) and an S3-compatible bucket (moto's server, from PyPI), behind
//! Debian's nginx running `docker/nginx/halftone.conf`. Load comes from wrk.
//!
//! Runs once, in the MariaDB pass (a cluster shares a database server;
//! SQLite is one machine's). With `HALFTONE_TEST_CLUSTER=required` (CI) a
//! missing tool fails the test instead of skipping it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use sqlx::{Connection, Row};
use tokio_tungstenite::tungstenite::Message;

use crate::common::admin::{draft, hidden_csrf, meta_csrf, next_json, send_json, Admin, Socket};
use crate::common::{free_ports, png_bytes, ChildGuard};

const TOOLS: &[&str] = &["nginx", "wrk", "moto_server", "redis-server"];

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

fn required() -> bool {
    std::env::var("HALFTONE_TEST_CLUSTER").is_ok_and(|v| v == "required")
}

/// Whether these tools are here; when not, fails under
/// `HALFTONE_TEST_CLUSTER=required` and otherwise skips (false).
fn tools_present(tools: &[&str], test: &str) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| which(t).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        !required(),
        "{test} cannot run, missing: {}",
        missing.join(", ")
    );
    eprintln!("{test} skipped, missing: {}", missing.join(", "));
    false
}

/// The MariaDB server to use, or None when the test should not run here
/// (the SQLite pass: a cluster shares a database server).
fn cluster_database() -> Option<String> {
    let server = std::env::var("HALFTONE_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("mysql"))?;
    tools_present(TOOLS, "the cluster test").then(|| server.trim_end_matches('/').to_owned())
}

/// moto's S3 server on a free port, with `bucket` made.
async fn s3_server(dir: &Path, bucket: &str) -> (ChildGuard, u16) {
    let port = free_ports(1)[0];
    let mut s3 = Command::new(which("moto_server").expect("moto_server"));
    s3.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    let s3 = spawn_logged(s3, &dir.join("s3.log"));
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/{bucket}");
    wait_until("the S3 server", Duration::from_secs(30), || {
        let request = client.put(&url).send();
        async move { request.await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;
    (s3, port)
}

struct Node {
    name: &'static str,
    port: u16,
    data: PathBuf,
    child: Option<ChildGuard>,
}

struct Cluster {
    dir: tempfile::TempDir,
    db_url: String,
    redis_port: u16,
    redis: Option<ChildGuard>,
    s3_port: u16,
    _s3: ChildGuard,
    nginx_port: u16,
    _nginx: Option<Nginx>,
    nodes: Vec<Node>,
    server_url: String,
    db_name: String,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.child.take();
        }
        // A failed run shows what the nodes logged.
        if std::thread::panicking() {
            for name in ["node-a", "node-b", "nginx/error"] {
                let log = std::fs::read_to_string(self.dir.path().join(format!("{name}.log")))
                    .unwrap_or_default();
                let tail: Vec<&str> = log
                    .lines()
                    .rev()
                    .filter(|l| {
                        !l.contains("editor websocket error") && !l.contains("no live upstreams")
                    })
                    .take(40)
                    .collect();
                eprintln!("--- {name}.log (last lines)");
                for line in tail.into_iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
        let url = self.server_url.clone();
        let name = self.db_name.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                if let Ok(mut conn) = sqlx::MySqlConnection::connect(&url).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS `{name}`"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// nginx's master process: stopped with SIGTERM so it takes its workers
/// with it (a SIGKILLed master leaves them running).
struct Nginx(std::process::Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_logged(mut command: Command, log: &Path) -> ChildGuard {
    let out = std::fs::File::create(log).expect("log file");
    let err = out.try_clone().expect("log file");
    command.stdout(Stdio::from(out)).stderr(Stdio::from(err));
    ChildGuard(
        command
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {command:?}: {e}")),
    )
}

async fn wait_until<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < within {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not within {within:?}");
}

impl Cluster {
    /// `halftone` with this node's settings (the caller adds the command).
    fn node_command(&self, node: &Node) -> Command {
        let mut command = Command::new(crate::common::halftone_bin());
        command
            .current_dir(&node.data)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HALFTONE_DATA_DIR", &node.data)
            .env("HALFTONE_BIND", format!("127.0.0.1:{}", node.port))
            .env(
                "HALFTONE_PUBLIC_URL",
                format!("http://127.0.0.1:{}/", self.nginx_port),
            )
            .env("HALFTONE_TRUSTED_PROXIES", "[\"127.0.0.1\"]")
            .env("HALFTONE_DATABASE_URL", &self.db_url)
            .env(
                "HALFTONE_REDIS_URL",
                format!("redis://127.0.0.1:{}", self.redis_port),
            )
            .env("HALFTONE_WORKERS", "2")
            .env("HALFTONE_SHUTDOWN_DRAIN_MS", "1500")
            .env("HALFTONE_CLUSTER__NODE_NAME", node.name)
            .env("HALFTONE_CLUSTER__HEARTBEAT_SECS", "1")
            .env("HALFTONE_CLUSTER__NODE_TIMEOUT_SECS", "4")
            .env("HALFTONE_CLUSTER__LEASE_SECS", "4")
            .env("HALFTONE_CLUSTER__CHECK_SECS", "1")
            .env("HALFTONE_MEDIA__STORE__KIND", "s3")
            .env("HALFTONE_MEDIA__STORE__BUCKET", "halftone-media")
            .env("HALFTONE_MEDIA__STORE__PREFIX", "site1")
            .env(
                "HALFTONE_MEDIA__STORE__ENDPOINT",
                format!("http://127.0.0.1:{}", self.s3_port),
            )
            .env("HALFTONE_MEDIA__STORE__ALLOW_HTTP", "true")
            .env("HALFTONE_MEDIA__STORE__ACCESS_KEY_ID", "test")
            .env("HALFTONE_MEDIA__STORE__SECRET_ACCESS_KEY", "test")
            .env("HALFTONE_LOG", "warn,halftone=info");
        command
    }

    async fn start(&mut self, i: usize) {
        let node = &self.nodes[i];
        let log = self.dir.path().join(format!("{}.log", node.name));
        let mut command = self.node_command(node);
        command.arg("serve");
        let child = spawn_logged(command, &log);
        self.nodes[i].child = Some(child);
        let url = format!("http://127.0.0.1:{}/readyz", self.nodes[i].port);
        let client = reqwest::Client::new();
        wait_until(
            &format!("{} ready", self.nodes[i].name),
            Duration::from_secs(60),
            || {
                let request = client.get(&url).send();
                async move { request.await.is_ok_and(|r| r.status() == 200) }
            },
        )
        .await;
    }

    fn signal(&self, i: usize, signal: &str) {
        let child = self.nodes[i].child.as_ref().expect("running");
        let status = Command::new("kill")
            .args([signal, &child.0.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// SIGTERM and wait for a clean exit.
    async fn stop(&mut self, i: usize) {
        self.signal(i, "-TERM");
        let mut child = self.nodes[i].child.take().expect("running");
        let started = Instant::now();
        loop {
            if let Some(status) = child.0.try_wait().expect("wait") {
                assert!(
                    status.success(),
                    "{} exited with {status}",
                    self.nodes[i].name
                );
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(40),
                "node did not stop"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Until nginx hands requests to node `i` again (after `fail_timeout`).
    async fn wait_in_rotation(&self, i: usize) {
        let url = self.lb("/readyz");
        let name = self.nodes[i].name;
        wait_until(
            &format!("nginx sends to {name} again"),
            Duration::from_secs(20),
            || {
                let request = reqwest::get(url.clone());
                async move {
                    match request.await {
                        Ok(r) => r
                            .text()
                            .await
                            .unwrap_or_default()
                            .contains(&format!("\"node\":\"{name}")),
                        Err(_) => false,
                    }
                }
            },
        )
        .await;
    }

    fn kill(&mut self, i: usize) {
        self.signal(i, "-KILL");
        let mut child = self.nodes[i].child.take().expect("running");
        let _ = child.0.wait();
    }

    fn node_url(&self, i: usize, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.nodes[i].port)
    }

    fn lb(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.nginx_port)
    }

    fn start_redis(&mut self) {
        let mut command = Command::new(which("redis-server").expect("redis-server"));
        command.args([
            "--port",
            &self.redis_port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]);
        let log = self.dir.path().join("redis.log");
        self.redis = Some(spawn_logged(command, &log));
    }

    async fn query_one(&self, sql: &str) -> Option<String> {
        let mut conn = sqlx::MySqlConnection::connect(&self.db_url)
            .await
            .expect("db");
        sqlx::query(sql)
            .fetch_optional(&mut conn)
            .await
            .expect("query")
            .map(|row| row.get::<String, _>(0))
    }

    async fn watchdog_holder(&self) -> Option<String> {
        let now = chrono::Utc::now().timestamp_millis();
        self.query_one(&format!(
            "SELECT owner FROM leases WHERE name = 'watchdog' AND until_ms > {now}"
        ))
        .await
    }
}

async fn start_cluster(server_url: String) -> Cluster {
    let dir = tempfile::tempdir().expect("dir");
    let db_name = format!("halftone_cluster_{}", std::process::id());
    {
        let mut conn = sqlx::MySqlConnection::connect(&server_url)
            .await
            .expect("MariaDB");
        sqlx::query(&format!("DROP DATABASE IF EXISTS `{db_name}`"))
            .execute(&mut conn)
            .await
            .expect("drop");
        sqlx::query(&format!(
            "CREATE DATABASE `{db_name}` CHARACTER SET utf8mb4"
        ))
        .execute(&mut conn)
        .await
        .expect("create database");
    }
    let ports = free_ports(4);
    let (s3, s3_port) = s3_server(dir.path(), "halftone-media").await;
    let client = reqwest::Client::new();

    let mut cluster = Cluster {
        db_url: format!("{server_url}/{db_name}"),
        server_url,
        db_name,
        redis_port: ports[0],
        redis: None,
        s3_port,
        _s3: s3,
        nginx_port: ports[1],
        _nginx: None,
        nodes: vec![
            Node {
                name: "node-a",
                port: ports[2],
                data: dir.path().join("a"),
                child: None,
            },
            Node {
                name: "node-b",
                port: ports[3],
                data: dir.path().join("b"),
                child: None,
            },
        ],
        dir,
    };
    cluster.start_redis();
    for node in &cluster.nodes {
        std::fs::create_dir_all(&node.data).expect("node dir");
    }
    // The schema and the owner, by the real commands.
    let mut migrate = cluster.node_command(&cluster.nodes[0]);
    migrate.arg("migrate").stdout(Stdio::null());
    assert!(
        migrate.status().expect("migrate").success(),
        "halftone migrate"
    );
    let mut add = cluster.node_command(&cluster.nodes[0]);
    add.args(["user", "add", "owner@example.com", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null());
    let mut child = add.spawn().expect("user add");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{}", crate::common::admin::PASSWORD).expect("password");
    }
    assert!(child.wait().expect("user add").success(), "user add");

    cluster.start(0).await;
    cluster.start(1).await;

    // nginx with the config from docker/, its three site-specific lines
    // pointed at this test's paths and ports.
    let conf = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docker/nginx/halftone.conf"),
    )
    .expect("docker/nginx/halftone.conf");
    let root = cluster.dir.path().join("nginx");
    std::fs::create_dir_all(root.join("tmp")).expect("nginx dir");
    let replace = |conf: String, from: &str, to: &str| {
        assert!(conf.contains(from), "halftone.conf no longer has {from:?}");
        conf.replace(from, to)
    };
    let conf = replace(
        conf,
        "/var/cache/nginx/halftone",
        &root.join("cache").display().to_string(),
    );
    let conf = replace(
        conf,
        "/etc/nginx/halftone-upstream.conf",
        &root.join("upstream.conf").display().to_string(),
    );
    let conf = replace(
        conf,
        "listen 80;",
        &format!("listen 127.0.0.1:{};", cluster.nginx_port),
    );
    std::fs::write(root.join("halftone.conf"), conf).expect("conf");
    std::fs::write(
        root.join("upstream.conf"),
        cluster
            .nodes
            .iter()
            .map(|n| format!("server 127.0.0.1:{} max_fails=1 fail_timeout=5s;\n", n.port))
            .collect::<String>(),
    )
    .expect("upstreams");
    let tmp = root.join("tmp").display().to_string();
    let user = if rustix_is_root() { "user root;\n" } else { "" };
    std::fs::write(
        root.join("nginx.conf"),
        format!(
            "{user}worker_processes 2;\nerror_log {root}/error.log warn;\npid {root}/nginx.pid;\n\
             events {{ worker_connections 2048; }}\nhttp {{\n access_log off;\n \
             client_body_temp_path {tmp}/body;\n proxy_temp_path {tmp}/proxy;\n \
             fastcgi_temp_path {tmp}/fastcgi;\n uwsgi_temp_path {tmp}/uwsgi;\n scgi_temp_path {tmp}/scgi;\n \
             include {root}/halftone.conf;\n}}\n",
            root = root.display()
        ),
    )
    .expect("nginx.conf");
    let mut nginx = Command::new(which("nginx").expect("nginx"));
    nginx
        .arg("-p")
        .arg(&root)
        .arg("-c")
        .arg(root.join("nginx.conf"))
        .args(["-g", "daemon off;"]);
    let log = std::fs::File::create(root.join("stdout.log")).expect("log");
    nginx
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log));
    cluster._nginx = Some(Nginx(nginx.spawn().expect("start nginx")));
    let url = cluster.lb("/readyz");
    wait_until("nginx", Duration::from_secs(20), || {
        let request = client.get(&url).send();
        async move { request.await.is_ok_and(|r| r.status() == 200) }
    })
    .await;
    cluster
}

fn rustix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Logs in through `base` (a node or nginx); sessions live in the shared
/// database, so the cookie works on every node.
async fn login(base: &str) -> Admin {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let form = client
        .get(format!("{base}/admin/login"))
        .send()
        .await
        .expect("login form")
        .text()
        .await
        .expect("body");
    let response = client
        .post(format!("{base}/admin/login"))
        .form(&[
            ("csrf_token", hidden_csrf(&form).as_str()),
            ("email", "owner@example.com"),
            ("password", crate::common::admin::PASSWORD),
            ("next", "/admin"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), 303, "login through {base}");
    let dashboard = client
        .get(format!("{base}/admin"))
        .send()
        .await
        .expect("dashboard")
        .text()
        .await
        .expect("body");
    Admin {
        csrf: meta_csrf(&dashboard),
        client,
        jar,
        base: base.to_owned(),
    }
}

fn at(admin: &Admin, base: &str) -> Admin {
    Admin {
        client: admin.client.clone(),
        jar: admin.jar.clone(),
        csrf: admin.csrf.clone(),
        base: base.to_owned(),
    }
}

async fn upload(admin: &Admin, seed: u8) -> serde_json::Value {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(png_bytes(900, 600, seed)).file_name("page.png"),
    );
    let response = admin
        .client
        .post(admin.url("/admin/media"))
        .header("x-csrf-token", &admin.csrf)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), 201, "upload through {}", admin.base);
    response.json().await.expect("json")
}

/// Makes and publishes a page through `admin`'s node.
async fn publish(admin: &Admin, title: &str, slug: &str, media_id: &serde_json::Value) -> i64 {
    let page = admin.new_page().await;
    let mut ws = admin.ws(page).await;
    assert_eq!(next_json(&mut ws).await["type"], "hello");
    let mut d = draft(title, slug, &format!("{title} transcript"));
    d["images"] = json!([{ "media_id": media_id, "alt": "a panel" }]);
    send_json(
        &mut ws,
        json!({ "type": "save", "seq": 1, "base": 0, "draft": d }),
    )
    .await;
    assert_eq!(next_json(&mut ws).await["type"], "saved");
    let response = admin
        .post(
            &format!("/admin/pages/{page}/publish"),
            &[("action", "now"), ("revision", "1")],
        )
        .await;
    assert_eq!(response.status(), 303);
    page
}

async fn body(url: &str) -> (u16, String) {
    match reqwest::get(url).await {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(_) => (0, String::new()),
    }
}

/// What wrk measured.
#[derive(Debug)]
struct Load {
    requests: u64,
    per_sec: f64,
    failed: u64,
    text: String,
}

fn wrk_script(dir: &Path, slugs: &[&str]) -> PathBuf {
    let mut paths: Vec<String> = ["/", "/archive", "/feed.xml", "/search?q=transcript"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    paths.extend(slugs.iter().map(|s| format!("/comic/{s}")));
    let list = paths
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join(", ");
    // Half the requests carry a unique query, so they miss nginx's cache
    // and reach a node: the failover is tested, not only the cache.
    let script = format!(
        "local paths = {{ {list} }}\nlocal n = 0\n\
         request = function()\n  n = n + 1\n  local p = paths[(n % #paths) + 1]\n  \
         if n % 2 == 0 then\n    local sep = string.find(p, \"?\", 1, true) and \"&\" or \"?\"\n    \
         p = p .. sep .. \"n=\" .. n .. \"-\" .. math.random(1000000)\n  end\n  \
         return wrk.format(\"GET\", p)\nend\n"
    );
    let path = dir.join("mix.lua");
    std::fs::write(&path, script).expect("script");
    path
}

fn wrk_command(url: &str, secs: u64, script: &Path) -> Command {
    let mut command = Command::new(which("wrk").expect("wrk"));
    command
        .args([
            "-t2",
            "-c16",
            &format!("-d{secs}s"),
            "--timeout",
            "10s",
            "-s",
        ])
        .arg(script)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn parse_wrk(output: std::process::Output) -> Load {
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let number_after = |label: &str| -> u64 {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let requests = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let per_sec = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    let socket_errors: u64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Socket errors:"))
        .map(|rest| {
            rest.split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Load {
        requests,
        per_sec,
        failed: number_after("Non-2xx or 3xx responses:") + socket_errors,
        text,
    }
}

/// An author typing through nginx: a save every 100 ms; on a "reconnect"
/// close (or any drop) it reconnects, learns what the server has, and sends
/// again whatever was not acknowledged. Returns (saves made, saves the
/// server confirmed, the final text).
async fn typist(
    admin: Admin,
    page: i64,
    stop: tokio::sync::watch::Receiver<bool>,
) -> (u64, u64, String) {
    let mut made = 0u64;
    let mut confirmed = 0u64;
    let mut text = String::new();
    let mut revision;
    let mut socket: Socket;
    let connect = |admin: &Admin| {
        let admin = at(admin, &admin.base);
        async move {
            let started = Instant::now();
            loop {
                if let Ok(mut socket) = admin.ws_with_origin(page, &admin.base).await {
                    if let Ok(Some(Ok(Message::Text(hello)))) =
                        tokio::time::timeout(Duration::from_secs(5), socket.next()).await
                    {
                        let hello: serde_json::Value = serde_json::from_str(&hello).expect("json");
                        if hello["type"] == "hello" {
                            return (socket, hello);
                        }
                    }
                }
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "the editor could not reconnect"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let (s, hello) = connect(&admin).await;
    socket = s;
    revision = hello["revision"].as_i64().unwrap_or(0);
    let mut pending: Option<String> = None;
    let mut seq = 0;
    loop {
        if pending.is_none() {
            if *stop.borrow() {
                break;
            }
            made += 1;
            text = format!("{text} w{made}");
            pending = Some(text.clone());
        }
        seq += 1;
        let save = json!({ "type": "save", "seq": seq, "base": revision, "draft": draft("Typing", "typing", pending.as_deref().unwrap_or("")) });
        let sent = socket
            .send(Message::Text(save.to_string().into()))
            .await
            .is_ok();
        let mut acked = false;
        if sent {
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                match tokio::time::timeout(Duration::from_secs(5), socket.next()).await {
                    Ok(Some(Ok(Message::Text(reply)))) => {
                        let reply: serde_json::Value = serde_json::from_str(&reply).expect("json");
                        match reply["type"].as_str() {
                            Some("saved") if reply["seq"] == seq => {
                                revision = reply["revision"].as_i64().expect("revision");
                                acked = true;
                                break;
                            }
                            Some("reconnect") => break,
                            Some("conflict") => panic!("a lone typist never conflicts: {reply}"),
                            _ => continue,
                        }
                    }
                    Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                    _ => break,
                }
            }
        }
        if acked {
            confirmed += 1;
            pending = None;
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        // Dropped: reconnect (through nginx, to whichever node is up).
        let (s, hello) = connect(&admin).await;
        socket = s;
        revision = hello["revision"].as_i64().unwrap_or(0);
        if hello["draft"]["transcript"].as_str() == pending.as_deref() {
            // The save landed; only its answer was lost with the node.
            confirmed += 1;
            pending = None;
        }
    }
    (made, confirmed, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_behind_nginx_share_media_survive_kills_restarts_and_redis_loss() {
    let Some(server) = cluster_database() else {
        return;
    };
    let mut cluster = start_cluster(server).await;
    let (a, b) = (cluster.node_url(0, ""), cluster.node_url(1, ""));
    let admin_a = login(&a).await;
    let admin_b = at(&admin_a, &b);
    let made = admin_a
        .post(
            "/admin/series",
            &[("title", "Harbour Lights"), ("tagline", "")],
        )
        .await;
    assert_eq!(made.status(), 303, "the first series");

    // An image uploaded through A is served by B, from the bucket.
    let uploaded = upload(&admin_a, 7).await;
    let thumb = uploaded["thumb"].as_str().expect("thumb url").to_owned();
    let from_a = reqwest::get(cluster.node_url(0, &thumb)).await.expect("A");
    let from_b = reqwest::get(cluster.node_url(1, &thumb)).await.expect("B");
    assert_eq!(
        (from_a.status().as_u16(), from_b.status().as_u16()),
        (200, 200),
        "{thumb}"
    );
    assert!(from_b.headers()["cache-control"]
        .to_str()
        .expect("ascii")
        .contains("immutable"));
    assert_eq!(
        from_a.bytes().await.expect("a"),
        from_b.bytes().await.expect("b")
    );
    assert!(
        !cluster.nodes[0]
            .data
            .join("media")
            .join(&thumb[7..9])
            .exists(),
        "nothing is written to the node's own disk"
    );

    // A page published on A is on B's pages, feed and search within a TTL.
    publish(
        &admin_a,
        "Storm Over Harbour",
        "storm-over-harbour",
        &uploaded["media_id"],
    )
    .await;
    let published = Instant::now();
    wait_until("B shows A's page", Duration::from_secs(6), || async {
        body(&format!("{b}/comic/storm-over-harbour")).await.0 == 200
            && body(&format!("{b}/feed.xml"))
                .await
                .1
                .contains("Storm Over Harbour")
            && body(&format!("{b}/search?q=harbour"))
                .await
                .1
                .contains("storm-over-harbour")
    })
    .await;
    let propagation = published.elapsed();
    wait_until("nginx shows it", Duration::from_secs(7), || async {
        body(&cluster.lb("/"))
            .await
            .1
            .contains("Storm Over Harbour")
    })
    .await;

    // An editor on B sees A's autosaves live.
    let page = admin_a.new_page().await;
    let mut alice = admin_a.ws(page).await;
    let mut bob = admin_b.ws(page).await;
    assert_eq!(next_json(&mut alice).await["type"], "hello");
    assert_eq!(next_json(&mut bob).await["type"], "hello");
    send_json(&mut alice, json!({ "type": "save", "seq": 1, "base": 0, "draft": draft("Live", "live", "typed on A") })).await;
    assert_eq!(next_json(&mut alice).await["type"], "saved");
    let remote = next_json(&mut bob).await;
    assert_eq!(remote["type"], "remote", "{remote}");
    drop((alice, bob));

    // Singleton work: one holder at a time, for a while.
    let mut holders = std::collections::BTreeSet::new();
    for _ in 0..20 {
        if let Some(holder) = cluster.watchdog_holder().await {
            holders.insert(holder);
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert_eq!(
        holders.len(),
        1,
        "the watchdog stays with one node: {holders:?}"
    );
    let holder = holders.into_iter().next().expect("holder");
    let victim = if holder.starts_with("node-a") { 0 } else { 1 };
    let survivor = 1 - victim;

    // Requests per second through nginx, 2 nodes (after a warm-up, so both
    // measurements see warm caches).
    let slugs = ["storm-over-harbour"];
    let script = wrk_script(cluster.dir.path(), &slugs);
    let warm = parse_wrk(
        wrk_command(&cluster.lb("/"), 3, &script)
            .output()
            .expect("wrk"),
    );
    assert_eq!(warm.failed, 0, "{}", warm.text);
    let two = parse_wrk(
        wrk_command(&cluster.lb("/"), 10, &script)
            .output()
            .expect("wrk"),
    );
    assert_eq!(two.failed, 0, "{}", two.text);

    // SIGKILL the lease holder under load: no reader request fails.
    let load = wrk_command(&cluster.lb("/"), 30, &script)
        .spawn()
        .expect("wrk");
    tokio::time::sleep(Duration::from_secs(5)).await;
    cluster.kill(victim);
    let killed = Instant::now();
    let survivor_name = cluster.nodes[survivor].name;
    wait_until("the watchdog moves", Duration::from_secs(15), || async {
        cluster
            .watchdog_holder()
            .await
            .is_some_and(|h| h.starts_with(survivor_name))
    })
    .await;
    let lease_moved = killed.elapsed();
    let killed_run = parse_wrk(load.wait_with_output().expect("wrk"));
    assert!(killed_run.requests > 100, "{}", killed_run.text);
    assert_eq!(
        killed_run.failed, 0,
        "failed reader requests after SIGKILL:\n{}",
        killed_run.text
    );
    // The System page (on the survivor) reports the dead node as gone.
    let survivor_admin = at(&admin_a, &cluster.node_url(survivor, ""));
    let victim_name = cluster.nodes[victim].name;
    let mut system = serde_json::Value::Null;
    for _ in 0..60 {
        system = survivor_admin
            .get("/admin/system?format=json")
            .await
            .json()
            .await
            .expect("system json");
        let gone = system["nodes"].as_array().expect("nodes").iter().any(|n| {
            n["id"]
                .as_str()
                .is_some_and(|id| id.starts_with(victim_name))
                && n["state"] == "gone"
        });
        if gone {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let nodes = system["nodes"].as_array().expect("nodes");
    assert!(
        nodes.iter().any(|n| n["id"]
            .as_str()
            .is_some_and(|id| id.starts_with(victim_name))
            && n["state"] == "gone"),
        "{system}"
    );
    assert!(
        nodes
            .iter()
            .any(|n| n["this"] == true && n["state"] == "up"),
        "{system}"
    );
    assert!(system["media_store"]
        .as_str()
        .is_some_and(|s| s.starts_with("s3://halftone-media")));

    // Requests per second through nginx, 1 node (the other is dead).
    let one = parse_wrk(
        wrk_command(&cluster.lb("/"), 10, &script)
            .output()
            .expect("wrk"),
    );
    assert_eq!(one.failed, 0, "{}", one.text);

    // Rolling restart under load, with an author typing through nginx.
    cluster.start(victim).await;
    cluster.wait_in_rotation(victim).await;
    let typist_admin = at(&admin_a, &cluster.lb(""));
    let typing_page = typist_admin.new_page().await;
    let (stop_typing, stopped) = tokio::sync::watch::channel(false);
    let typing = tokio::spawn(typist(
        at(&typist_admin, &typist_admin.base),
        typing_page,
        stopped,
    ));
    let load = wrk_command(&cluster.lb("/"), 30, &script)
        .spawn()
        .expect("wrk");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rolling = Instant::now();
    // One node at a time, the next only once the balancer sends readers to
    // the restarted one again (what Swarm's start-first update with a
    // health check and a delay does).
    for i in [0, 1] {
        cluster.stop(i).await;
        cluster.start(i).await;
        cluster.wait_in_rotation(i).await;
    }
    let rolling_secs = rolling.elapsed();
    let rolling_run = parse_wrk(load.wait_with_output().expect("wrk"));
    stop_typing.send_replace(true);
    let (made, confirmed, text) = typing.await.expect("typist");
    assert_eq!(
        rolling_run.failed, 0,
        "failed requests in a rolling restart:\n{}",
        rolling_run.text
    );
    assert_eq!(made, confirmed, "every autosave was confirmed");
    let mut check = typist_admin.ws(typing_page).await;
    let hello = next_json(&mut check).await;
    assert_eq!(
        hello["draft"]["transcript"].as_str(),
        Some(text.as_str()),
        "no autosave lost"
    );
    drop(check);

    // Redis dies: both nodes keep serving; a page published meanwhile shows
    // on both; when Redis is back, live updates cross nodes again.
    cluster.redis.take();
    let after_kill = Instant::now();
    for i in [0, 1] {
        assert_eq!(
            body(&cluster.node_url(i, "/")).await.0,
            200,
            "node {i} without Redis"
        );
    }
    let uploaded = upload(&admin_a, 9).await;
    publish(
        &admin_a,
        "Quiet Without Redis",
        "quiet-without-redis",
        &uploaded["media_id"],
    )
    .await;
    wait_until(
        "B shows the page published without Redis",
        Duration::from_secs(8),
        || async {
            body(&format!("{b}/comic/quiet-without-redis")).await.0 == 200
                && body(&format!("{b}/"))
                    .await
                    .1
                    .contains("Quiet Without Redis")
        },
    )
    .await;
    assert!(after_kill.elapsed() < Duration::from_secs(20));
    cluster.start_redis();
    let page = admin_a.new_page().await;
    wait_until("live updates across nodes again", Duration::from_secs(20), || async {
        let mut alice = admin_a.ws(page).await;
        let mut bob = admin_b.ws(page).await;
        let hello = next_json(&mut alice).await;
        next_json(&mut bob).await;
        let base = hello["revision"].as_i64().unwrap_or(0);
        send_json(&mut alice, json!({ "type": "save", "seq": 1, "base": base, "draft": draft("Back", "back", &format!("r{base}")) })).await;
        let _saved = next_json(&mut alice).await;
        // Bob's next text frame (pings skipped), within two seconds.
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, bob.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => return t.contains("remote"),
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                _ => return false,
            }
        }
    })
    .await;

    eprintln!(
        "cluster figures: through nginx (half the requests miss its cache), {:.0} req/s with 2 nodes, \
         {:.0} req/s with 1 node (ratio {:.2}); publish → visible on the other node in {:.1} s; \
         SIGKILL under load: {} requests, {} failed, watchdog lease moved in {:.1} s; rolling restart \
         ({:.1} s): {} requests, {} failed, {made} autosaves, {confirmed} confirmed",
        two.per_sec,
        one.per_sec,
        two.per_sec / one.per_sec.max(1.0),
        propagation.as_secs_f64(),
        killed_run.requests,
        killed_run.failed,
        lease_moved.as_secs_f64(),
        rolling_secs.as_secs_f64(),
        rolling_run.requests,
        rolling_run.failed,
    );
}

/// `halftone media sync` moves a site's media into a bucket: verified,
/// resumable (a second run copies nothing), a damaged copy is noticed and
/// replaced, and a node configured for the bucket serves the files.
/// Runs once, in the SQLite pass (the database does not matter here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_sync_moves_a_site_into_a_bucket_verified_and_resumable() {
    if std::env::var("HALFTONE_TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("mysql"))
        || !tools_present(&["moto_server"], "the media sync test")
    {
        return;
    }
    let app = crate::common::spawn_app().await;
    let admin = app.owner().await;
    let first = upload(&admin, 3).await;
    upload(&admin, 4).await;
    let thumb = first["thumb"].as_str().expect("thumb").to_owned();
    let local = std::fs::read(
        app.data_dir
            .path()
            .join("media")
            .join(&thumb["/media/".len()..]),
    )
    .expect("the upload is on local disk");
    let dir = tempfile::tempdir().expect("dir");
    let (_s3, port) = s3_server(dir.path(), "comic").await;
    let sync = || {
        let mut command = crate::common::halftone_command(&app);
        command
            .args(["media", "sync", "--to", "s3://comic/site"])
            .env(
                "HALFTONE_MEDIA__STORE__ENDPOINT",
                format!("http://127.0.0.1:{port}"),
            )
            .env("HALFTONE_MEDIA__STORE__ALLOW_HTTP", "true")
            .env("HALFTONE_MEDIA__STORE__ACCESS_KEY_ID", "test")
            .env("HALFTONE_MEDIA__STORE__SECRET_ACCESS_KEY", "test");
        let output = command.output().expect("media sync");
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{text}");
        text
    };
    let files = std::fs::read_dir(app.data_dir.path().join("media"))
        .expect("media")
        .flat_map(|d| std::fs::read_dir(d.expect("dir").path()).expect("sub"))
        .count();
    assert!(
        files >= 8,
        "two uploads make several variants each ({files})"
    );
    let text = sync();
    assert!(
        text.contains(&format!("{files} media files")) && text.contains(&format!("{files} copied")),
        "{text}"
    );
    let again = sync();
    assert!(
        again.contains("0 copied") && again.contains(&format!("{files} already there")),
        "{again}"
    );

    // A copy damaged in the bucket is found by its checksum and replaced.
    // (Written with the bucket's keys: moto refuses anonymous writes.)
    let mut config = app.config.clone();
    config.media.store.endpoint = Some(format!("http://127.0.0.1:{port}").parse().expect("url"));
    config.media.store.allow_http = true;
    config.media.store.access_key_id = Some("test".to_owned().into());
    config.media.store.secret_access_key = Some("test".to_owned().into());
    let bucket =
        halftone::media::store::MediaStore::from_url(&config, "s3://comic/site").expect("bucket");
    let rel = &thumb["/media/".len()..];
    bucket
        .put_replacing(rel, vec![0u8; local.len()].into())
        .await
        .expect("damage");
    let repaired = sync();
    assert!(repaired.contains("1 copied"), "{repaired}");
    let in_bucket = bucket.get(rel).await.expect("get").expect("there");
    assert_eq!(in_bucket.as_ref(), local.as_slice());

    // The job's outcome is on record for the System page.
    let (state, detail): (String, String) =
        sqlx::query_as("SELECT state, detail FROM jobs WHERE name = 'media-sync'")
            .fetch_one(&app.db)
            .await
            .expect("job row");
    assert_eq!(state, "done", "{detail}");

    // A node configured for the bucket serves the file from it.
    let node = app
        .second_node_with(|c| {
            c.media.store.kind = halftone::config::MediaStoreKind::S3;
            c.media.store.bucket = Some("comic".into());
            c.media.store.prefix = Some("site".into());
            c.media.store.endpoint = Some(format!("http://127.0.0.1:{port}").parse().expect("url"));
            c.media.store.allow_http = true;
            c.media.store.access_key_id = Some("test".to_owned().into());
            c.media.store.secret_access_key = Some("test".to_owned().into());
        })
        .await;
    let served = node.get(&thumb).await;
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/webp");
    assert_eq!(
        served.bytes().await.expect("bytes").as_ref(),
        local.as_slice()
    );
    assert_eq!(node.get(&thumb.replace("-t", "-t9")).await.status(), 404);

    // With a public address for the bucket, readers are sent there.
    let public = app
        .second_node_with(|c| {
            c.media.store = node.config.media.store.clone();
            c.media.store.public_url =
                Some("https://media.example.com/comic/".parse().expect("url"));
        })
        .await;
    let redirect = public.get(&thumb).await;
    assert_eq!(redirect.status(), 302);
    assert_eq!(
        redirect.headers()["location"],
        format!(
            "https://media.example.com/comic/{}",
            &thumb["/media/".len()..]
        )
        .as_str()
    );
}
