//! A stalled database, as an operator meets it: MariaDB frozen (connections
//! open, nothing answers) or SQLite's file locked by another process so that
//! no read can start ("locking protocol" after SQLite's own ~10 s of
//! retries), while `SELECT 1` still answers.

use std::sync::Arc;

use super::proxy::Proxy;
use super::{spawn_app_with, test_backend, ChildGuard, TestApp};
use halftone::config::{Backend, Config};

/// An app whose database the test can stall, and the means to do it.
pub struct Stallable {
    pub app: TestApp,
    proxy: Option<Arc<Proxy>>,
}

/// Held while the database is stalled; dropping it lets the database go.
pub struct Stall {
    _lock: Option<ChildGuard>,
    proxy: Option<Arc<Proxy>>,
}

impl Drop for Stall {
    fn drop(&mut self) {
        if let Some(proxy) = &self.proxy {
            proxy.thaw();
        }
    }
}

pub async fn spawn_stallable_app(adjust: impl FnOnce(&mut Config)) -> Stallable {
    let proxy = match test_backend() {
        Backend::MySql => {
            let server = std::env::var("HALFTONE_TEST_DATABASE_URL").expect("server url");
            let parsed = url::Url::parse(&server).expect("url");
            let target = format!(
                "{}:{}",
                parsed.host_str().unwrap_or("127.0.0.1"),
                parsed.port().unwrap_or(3306)
            );
            Some(Arc::new(Proxy::start(target).await))
        }
        Backend::Sqlite => None,
    };
    let port = proxy.as_ref().map(|p| p.port);
    let app = spawn_app_with(|config| {
        if let Some(port) = port {
            use secrecy::ExposeSecret;
            let direct = config
                .database_url
                .as_ref()
                .map(|u| u.expose_secret().to_owned())
                .expect("a MariaDB url");
            let mut via = url::Url::parse(&direct).expect("url");
            via.set_host(Some("127.0.0.1")).expect("host");
            via.set_port(Some(port)).expect("port");
            config.database_url = Some(via.to_string().into());
        }
        adjust(config);
    })
    .await;
    Stallable { app, proxy }
}

impl Stallable {
    pub fn stall(&self) -> Stall {
        if let Some(proxy) = &self.proxy {
            proxy.freeze();
            return Stall {
                _lock: None,
                proxy: Some(proxy.clone()),
            };
        }
        // SQLite in WAL mode: readers take shared locks on the read-mark
        // bytes of the -shm file; another process holding them exclusively
        // stops every read from starting.
        let shm = self.app.data_dir.path().join("halftone.db-shm");
        assert!(shm.exists(), "the app's SQLite file is open in WAL mode");
        let script = format!(
            "import fcntl, sys, time\n\
             f = open({:?}, 'r+')\n\
             state = 'busy'\n\
             for _ in range(3000):\n\
             \x20   try:\n\
             \x20       fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 8, 120)\n\
             \x20       state = 'locked'\n\
             \x20       break\n\
             \x20   except OSError:\n\
             \x20       time.sleep(0.01)\n\
             print(state, flush=True)\n\
             time.sleep(600)\n",
            shm.display().to_string()
        );
        let mut child = std::process::Command::new("python3")
            .arg("-c")
            .arg(script)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 holds the lock");
        let mut line = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("lock taken");
        assert_eq!(line.trim(), "locked", "the lock was taken");
        Stall {
            _lock: Some(ChildGuard(child)),
            proxy: None,
        }
    }
}
