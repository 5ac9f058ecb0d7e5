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
//! - the answers hyper gives by itself to a request it cannot parse (`400`,
//!   a request target over 64 KiB `414`, a head too large `431`) carry the
//!   JSON error shape like every other answer (see [`ParseErrorBodies`]).
//!
//! Each connection is its own task; one that is waiting for bytes costs no
//! CPU, so `/healthz` keeps answering while hundreds of them are held open.
//! The bound on a whole request (body included) is the router's own
//! (`ApiState::request_timeout`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Default header-read timeout: 10 s.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Default cap on open connections: 2048.
pub const DEFAULT_MAX_CONNECTIONS: usize = 2048;

/// Largest request head a connection buffers while waiting for the rest of
/// it (request line and headers; one read may bring a little more). A
/// longer one is refused by hyper with `431` and the connection closed; the
/// router refuses a request target over `limits::MAX_URI_LEN` (8 KiB) with
/// `414` long before that.
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
    let stop = CancellationToken::new();
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
        connections.spawn(serve_connection(stream, app.clone(), config, stop.clone()));
    }
    drop(listener);
    // Every connection: finish its request in flight, then close.
    stop.cancel();
    while connections.join_next().await.is_some() {}
    Ok(())
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    app: Router,
    config: ServerConfig,
    stop: CancellationToken,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    let io = ParseErrorBodies::new(TokioIo::new(stream));
    let connection = builder.serve_connection(io, TowerToHyperService::new(app));
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
            () = stop.cancelled(), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
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

/// The automatic answers hyper writes, before any service runs, to a
/// request it cannot parse: the status line and headers exactly as hyper
/// 1.x encodes them (lower-case names, `connection: close`, an empty body),
/// and the body each gets instead.
const PARSE_ERRORS: [(&[u8], &str); 3] = [
    (
        b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n",
        r#"{"error":{"code":"bad_request","message":"the request is not valid HTTP/1.1"}}"#,
    ),
    (
        b"HTTP/1.1 414 URI Too Long\r\nconnection: close\r\ncontent-length: 0\r\n",
        r#"{"error":{"code":"uri_too_long","message":"the request target exceeds the limit of 8192 bytes"}}"#,
    ),
    (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n",
        r#"{"error":{"code":"headers_too_large","message":"the request head exceeds the limit of 65536 bytes"}}"#,
    ),
];

/// A connection's I/O that gives hyper's automatic parse-error answers the
/// API's error shape: hyper offers no hook for them, so their head (which
/// no answer of ours can match: ours always carry a JSON body) is
/// recognised as it is written and replaced by the same head with a JSON
/// body. Vectored writes are declined so that hyper hands over each head
/// in one buffer.
struct ParseErrorBodies<T> {
    inner: T,
    /// A rewritten answer not yet written in full, and how much of it is.
    pending: Vec<u8>,
    written: usize,
}

impl<T> ParseErrorBodies<T> {
    fn new(inner: T) -> Self {
        Self {
            inner,
            pending: Vec::new(),
            written: 0,
        }
    }
}

impl<T: hyper::rt::Write + Unpin> ParseErrorBodies<T> {
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

/// `buf` with hyper's automatic parse-error answer in it given a JSON body,
/// or `None` when it holds none.
fn with_error_body(buf: &[u8]) -> Option<Vec<u8>> {
    PARSE_ERRORS.iter().find_map(|(head, body)| {
        let start = buf.windows(head.len()).position(|w| w == *head)?;
        let after = start + head.len();
        let end = after + buf[after..].windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let (status_line, _) = head.split_at(head.len() - b"content-length: 0\r\n".len());
        let mut out = Vec::with_capacity(buf.len() + body.len() + 64);
        out.extend_from_slice(&buf[..start]);
        out.extend_from_slice(status_line);
        out.extend_from_slice(b"content-type: application/json\r\n");
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
        out.extend_from_slice(&buf[after..end]);
        out.extend_from_slice(body.as_bytes());
        out.extend_from_slice(&buf[end..]);
        Some(out)
    })
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for ParseErrorBodies<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for ParseErrorBodies<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        // Only a response head can start with a status line; a body never
        // shares a buffer with an automatic answer's head.
        if buf.starts_with(b"HTTP/1.1 4")
            && let Some(rewritten) = with_error_body(buf)
        {
            this.pending = rewritten;
            // Taken over in full: what is left is written by the next
            // write, flush or shutdown.
            if let Poll::Ready(Err(e)) = this.drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_automatic_answers_get_a_json_body() {
        let head = b"HTTP/1.1 414 URI Too Long\r\nconnection: close\r\ncontent-length: 0\r\ndate: Sun, 06 Dec 2026 11:01:15 GMT\r\n\r\n";
        let out = String::from_utf8(with_error_body(head).expect("rewritten")).expect("utf8");
        let (head, body) = out.split_once("\r\n\r\n").expect("head");
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\nconnection: close\r\n"));
        assert!(head.contains("content-type: application/json\r\n"));
        assert!(head.contains(&format!("content-length: {}\r\n", body.len())));
        assert!(head.ends_with("date: Sun, 06 Dec 2026 11:01:15 GMT"));
        let body: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(body["error"]["code"], "uri_too_long");
    }

    #[test]
    fn the_apis_own_answers_are_left_alone() {
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 60\r\ndate: Sun, 06 Dec 2026 11:01:15 GMT\r\n\r\n";
        assert_eq!(with_error_body(ours), None);
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(with_error_body(ok), None);
    }
}
