//! The proxy's own thread: a single-threaded tokio runtime running the accept loop
//! and one task per connection. Owning its runtime keeps the proxy independent of the
//! test's: it works under `#[test]`, and a busy `#[tokio::test]` cannot starve it.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, mpsc as std_mpsc};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

use super::connection;
use super::faults::Faults;
use super::registry::Registry;
use crate::Error;

/// The running thread, and the way to stop it.
#[derive(Debug)]
pub(crate) struct Worker {
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Binds 127.0.0.1 on a free port and starts serving; returns once the listener
    /// is registered with the runtime, so the address is usable at once.
    pub(crate) fn start(
        upstream: SocketAddr,
        faults: watch::Receiver<Faults>,
        registry: Arc<Registry>,
    ) -> Result<(SocketAddr, Worker), Error> {
        let startup = |source| Error::ProxyStart { upstream, source };
        // Bound here, not on the thread, so a bind error is returned by `start`.
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(startup)?;
        listener.set_nonblocking(true).map_err(startup)?;
        let addr = listener.local_addr().map_err(startup)?;

        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let (ready_tx, ready_rx) = std_mpsc::sync_channel(1);
        let thread = thread::Builder::new()
            .name(format!("fault-proxy-{}", addr.port()))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = ready_tx.send(Err(error));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let listener = match TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(error) => {
                            let _ = ready_tx.send(Err(error));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    accept_loop(listener, upstream, faults, registry, shutdown_rx).await;
                });
                // Dropping the runtime drops every connection task, which closes
                // every socket: nothing outlives the proxy.
            })
            .map_err(|e| Error::io("spawning the fault proxy thread", e))?;

        let worker = Worker {
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        };
        match ready_rx.recv() {
            Ok(Ok(())) => Ok((addr, worker)),
            Ok(Err(source)) => Err(Error::ProxyStart { upstream, source }),
            Err(_) => Err(Error::ProxyStart {
                upstream,
                source: std::io::Error::other("the proxy thread exited during startup"),
            }),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    faults: watch::Receiver<Faults>,
    registry: Arc<Registry>,
    mut shutdown: oneshot::Receiver<()>,
) {
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        let client = match accepted {
            Ok((client, _)) => client,
            Err(error) => {
                // EMFILE and the like: back off rather than spin, and keep serving.
                tracing::warn!(%error, "fault proxy: accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        registry.count_accepted();
        if faults.borrow().refusing {
            drop(client);
            continue;
        }
        let ticket = registry.register();
        tokio::spawn(connection::run(client, upstream, faults.clone(), ticket));
    }
}
