//! Serving the router over TCP with every connection bounded, so idle or slow clients
//! cannot hold the server:
//!
//! - **Header timeout**: a connection must deliver a request's whole head within
//!   [`Limits::header_timeout`] of starting to wait for it — a half-sent head or a slow drip
//!   of headers is closed, and so is a keep-alive connection that sends nothing (hyper
//!   starts the same clock whenever a connection waits for its next request). Responses
//!   being sent are not under it: an event stream lives on, kept warm by its keep-alive.
//! - **Connection cap**: at most [`Limits::max_connections`] at once, below the process's
//!   open-file limit. When full, a new connection takes the place of the oldest idle one
//!   (no request in progress), as nginx does; only when none is idle is it closed.
//!
//! Each request carries its peer address (`ConnectInfo`) for the login back-off.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

/// Bounds on connections.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest wait for a request's head, idle keep-alive included.
    pub header_timeout: Duration,
    /// Connections open at most.
    pub max_connections: usize,
}

/// Default header timeout: long enough for any real client on a slow link.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// File descriptors left for everything else (store, VirusTotal connections, logs).
const FD_RESERVE: usize = 64;
/// How long a stopping server waits for responses in progress.
const DRAIN: Duration = Duration::from_secs(10);

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            max_connections: default_max_connections(),
        }
    }
}

/// What the open-file limit allows, at most 4096: connections beyond it would make
/// `accept` fail for everyone.
pub fn default_max_connections() -> usize {
    open_file_limit()
        .unwrap_or(1024)
        .saturating_sub(FD_RESERVE)
        .clamp(16, 4096)
}

/// The soft open-file limit, from `/proc` (Linux); `None` elsewhere.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    match soft {
        "unlimited" => Some(usize::MAX),
        n => n.parse().ok(),
    }
}

/// One open connection, as the accept loop sees it.
struct Conn {
    /// Requests whose answer is not fully sent yet.
    busy: AtomicUsize,
    /// Set when it was asked to close to make room.
    evicted: AtomicBool,
    close: Notify,
}

/// The open connections, oldest first.
#[derive(Default)]
struct Registry {
    conns: Mutex<BTreeMap<u64, Arc<Conn>>>,
    next: AtomicU64,
    /// Tells [`serve`] the last connection closed.
    empty: Notify,
}

impl Registry {
    fn conns(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Conn>>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the oldest idle connection to close; `false` if none is idle.
    fn evict_idle(&self) -> bool {
        let conns = self.conns();
        let idle = conns
            .values()
            .find(|c| c.busy.load(Ordering::Acquire) == 0 && !c.evicted.load(Ordering::Acquire));
        match idle {
            Some(c) => {
                c.evicted.store(true, Ordering::Release);
                c.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// A handle on a running server: how many connections it holds (tests read it).
#[derive(Clone)]
pub struct Server {
    registry: Arc<Registry>,
}

impl Server {
    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.registry.conns().len()
    }
}

/// Marks a connection busy for as long as it lives (a request until its answer is sent).
struct Busy(Arc<Conn>);

impl Busy {
    fn enter(conn: &Arc<Conn>) -> Busy {
        conn.busy.fetch_add(1, Ordering::AcqRel);
        Busy(conn.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its connection busy until it is sent or dropped.
struct Tracked {
    inner: Body,
    _busy: Busy,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` resolves, then lets the
/// answers in progress finish (for a while) and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (server, run) = start(listener, router, limits, shutdown);
    drop(server);
    run.await
}

/// Like [`serve`], returning at once a [`Server`] handle and the future that serves.
pub fn start(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> (Server, impl Future<Output = std::io::Result<()>> + Send) {
    let registry = Arc::new(Registry::default());
    let server = Server {
        registry: registry.clone(),
    };
    let run = async move {
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors or a connection reset before accept:
                        // wait a moment rather than spin, and go on.
                        tracing::warn!("cannot accept a connection: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = &mut shutdown => break,
            };
            if registry.conns().len() >= limits.max_connections && !registry.evict_idle() {
                tracing::warn!(
                    "{} connections, none idle: closing a new one from {peer}",
                    limits.max_connections
                );
                drop(stream);
                continue;
            }
            let _ = stream.set_nodelay(true);
            spawn_connection(
                &registry,
                stream,
                peer,
                router.clone(),
                limits,
                stop_rx.clone(),
            );
        }
        drop(listener);
        let _ = stop_tx.send(true);
        let drained = async {
            loop {
                let empty = registry.empty.notified();
                if registry.conns().is_empty() {
                    return;
                }
                empty.await;
            }
        };
        if tokio::time::timeout(DRAIN, drained).await.is_err() {
            tracing::warn!("answers still in progress at shutdown were cut off");
        }
        Ok(())
    };
    (server, run)
}

fn spawn_connection(
    registry: &Arc<Registry>,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let conn = Arc::new(Conn {
        busy: AtomicUsize::new(0),
        evicted: AtomicBool::new(false),
        close: Notify::new(),
    });
    let id = registry.next.fetch_add(1, Ordering::Relaxed);
    registry.conns().insert(id, conn.clone());
    let registry = registry.clone();
    let tracked = conn.clone();
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let busy = Busy::enter(&tracked);
        let answer = tower::ServiceExt::oneshot(router.clone(), req.map(Body::new));
        async move {
            let res = answer.await?;
            Ok::<_, std::convert::Infallible>(res.map(|inner| Tracked { inner, _busy: busy }))
        }
    });
    tokio::spawn(async move {
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout);
        let served = builder.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(served);
        let mut closing = false;
        loop {
            tokio::select! {
                result = served.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!("connection from {peer}: {e}");
                    }
                    break;
                }
                _ = conn.close.notified(), if !closing => {
                    closing = true;
                    served.as_mut().graceful_shutdown();
                }
                _ = stop.changed(), if !closing => {
                    closing = true;
                    served.as_mut().graceful_shutdown();
                }
            }
        }
        let mut conns = registry.conns();
        conns.remove(&id);
        if conns.is_empty() {
            registry.empty.notify_waiters();
        }
    });
}
