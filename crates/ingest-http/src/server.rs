//! Serving the router on a TCP listener with the limits a listener open to
//! hostile clients needs, which `axum::serve` does not set:
//!
//! - a **header-read timeout**: a connection whose request head (request
//!   line and headers) is not complete this long after the server started
//!   waiting for it is closed. The wait for the next request on an idle
//!   keep-alive connection counts too, so a client holding sockets open
//!   without sending anything is cut off the same way;
//! - a **cap on open connections**: past it a new connection is accepted
//!   and closed at once, so a flood can neither exhaust the process's file
//!   descriptors nor stall the accept loop;
//! - a **bounded request head**: 64 KiB of buffer per connection (hyper's
//!   default is ~400 KiB), so a few thousand half-sent heads cost little
//!   memory.
//!
//! Each connection is its own task; one that is waiting for bytes costs no
//! CPU, so `/healthz` keeps answering while hundreds of them are held open.
//! The bound on a whole request (body included) is the router's own
//! (`ApiState::request_timeout`).

use std::future::Future;
use std::io;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Default header-read timeout: 10 s.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Default cap on open connections: 2048.
pub const DEFAULT_MAX_CONNECTIONS: usize = 2048;

/// Largest request head a connection buffers (request line and headers).
/// A longer one is refused by hyper with `431` and the connection closed;
/// the router refuses a request target over `limits::MAX_URI_LEN` (8 KiB)
/// with `414` in the error shape before that.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How the listener treats connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// Longest wait for a complete request head ([`DEFAULT_HEADER_READ_TIMEOUT`]).
    pub header_read_timeout: Duration,
    /// Most connections open at once ([`DEFAULT_MAX_CONNECTIONS`]).
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Serve `app` (HTTP/1.1) on `listener` until `shutdown` completes, then
/// stop accepting, let the requests in flight finish, close idle
/// connections, and return once every connection is closed.
///
/// # Errors
///
/// None today: accept failures are logged and retried (a full file table
/// passes as connections close). The `Result` leaves room for listener
/// errors that cannot pass.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut refused: u64 = 0;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                if !is_connection_error(&e) {
                    // EMFILE/ENFILE and the like: wait for connections to close.
                    tracing::error!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                continue;
            }
        };
        if connections.len() >= config.max_connections {
            refused += 1;
            // One line per power of two, not one per connection of a flood.
            if refused.is_power_of_two() {
                tracing::warn!(
                    %peer,
                    max_connections = config.max_connections,
                    refused,
                    "connection limit reached: closing new connections"
                );
            }
            drop(stream);
            continue;
        }
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY");
        }
        connections.spawn(serve_connection(
            stream,
            app.clone(),
            config,
            stop_rx.clone(),
        ));
    }
    drop(listener);
    // Every connection: finish its request in flight, then close.
    let _ = stop_tx.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    app: Router,
    config: ServerConfig,
    mut stop: watch::Receiver<bool>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    let mut connection = std::pin::pin!(connection);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    // Header-read timeouts, resets, malformed requests: the
                    // client's doing, so not worth more than a debug line.
                    tracing::debug!(error = %e, "connection closed with an error");
                }
                break;
            }
            changed = stop.wait_for(|stop| *stop), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Errors of one connection that was already gone when it was accepted;
/// the listener itself is fine.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
