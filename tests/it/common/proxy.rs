//! A TCP forwarder that tests can cut and restore, to take a real service
//! (Redis) away from the app and give it back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

pub struct Proxy {
    pub port: u16,
    open: Arc<AtomicBool>,
    frozen: Arc<AtomicBool>,
    cut: broadcast::Sender<()>,
}

impl Proxy {
    /// Forwards 127.0.0.1:<port> to `target` while open.
    pub async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let open = Arc::new(AtomicBool::new(true));
        let frozen = Arc::new(AtomicBool::new(false));
        let (cut, _) = broadcast::channel(4);
        let (flag, ice, cuts) = (open.clone(), frozen.clone(), cut.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let mut stop = cuts.subscribe();
                let ice = ice.clone();
                tokio::spawn(async move {
                    if !ice.load(Ordering::SeqCst) {
                        let Ok(mut outbound) = TcpStream::connect(&target).await else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => return,
                            _ = stop.recv() => {}
                        }
                    }
                    // Frozen: the client's connection stays open and silent
                    // (a hung server) until the proxy thaws, then is closed.
                    while ice.load(Ordering::SeqCst) {
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                    drop(inbound);
                });
            }
        });
        Proxy {
            port,
            open,
            frozen,
            cut,
        }
    }

    /// Drops every connection and refuses new ones (they are closed at once).
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        let _ = self.cut.send(());
    }

    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    /// A hung server: connections stay open but nothing gets through.
    pub fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
        let _ = self.cut.send(());
    }

    pub fn thaw(&self) {
        self.frozen.store(false, Ordering::SeqCst);
    }
}
