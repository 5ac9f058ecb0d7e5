//! Process plumbing the long-running binaries share: tracing, the shutdown
//! signal, and the small metrics server of a worker.

use std::io::IsTerminal as _;
use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// Logs to stderr, filtered by `RUST_LOG` (default `info`). `json`: JSON
/// lines (`Some(true)`), text (`Some(false)`), or, when unset, JSON unless
/// stderr is a terminal: a container, a systemd unit or a pipe to a log
/// shipper gets one object per line without being told. Text is coloured
/// only on a terminal, and never with `no_color` (the binary reads
/// `NO_COLOR`, no-color.org).
pub fn init_tracing(json: Option<bool>, no_color: bool) {
    let terminal = std::io::stderr().is_terminal();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    // A subscriber can only be installed once per process; a second call is harmless.
    let _ = if json.unwrap_or(!terminal) {
        builder.json().try_init()
    } else {
        builder.with_ansi(terminal && !no_color).try_init()
    };
}

/// `NO_COLOR` as no-color.org defines it: set to anything but the empty
/// string. For the binaries, which read the environment.
pub fn no_color(value: Option<std::ffi::OsString>) -> bool {
    value.is_some_and(|v| !v.is_empty())
}

/// A token cancelled on `SIGTERM` or `SIGINT` (Ctrl-C). Clones share it:
/// hand one to each part that must stop (`cancelled_owned()` is the future
/// a server's graceful shutdown waits for).
pub fn shutdown_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested");
        cancel.cancel();
    });
    token
}

/// Resolves at the next `SIGTERM` or `SIGINT` (Ctrl-C).
#[cfg(unix)]
pub async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Resolves at the next Ctrl-C.
#[cfg(not(unix))]
pub async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// `GET /metrics` (OpenMetrics text) and `GET /healthz` for a worker.
pub fn metrics_router(metrics: Arc<ingest_metrics::Metrics>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, ingest_metrics::CONTENT_TYPE)],
                        metrics.render(),
                    )
                        .into_response()
                }
            }),
        )
        .route("/healthz", get(|| async { "ok" }))
}

/// Run a long-running binary's main future on a multi-threaded runtime:
/// exit 0 when it returns, 2 (with `name: error` on stderr) when it fails
/// or the runtime cannot start.
pub fn run_main<F>(name: &str, main: F) -> std::process::ExitCode
where
    F: std::future::Future<Output = anyhow::Result<()>>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{name}: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match runtime.block_on(main) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

/// Print `listening on http://ADDR` as the first line on stdout (the
/// documented contract of `ingest-api` and `ingest-worker`) and flush it.
#[expect(clippy::print_stdout, reason = "the documented first line of output")]
pub fn announce_listening(addr: std::net::SocketAddr) -> std::io::Result<()> {
    use std::io::Write as _;
    println!("listening on http://{addr}");
    std::io::stdout().flush()
}

#[cfg(test)]
mod no_color_tests {
    use super::no_color;

    #[test]
    fn no_color_is_any_non_empty_value() {
        assert!(!no_color(None));
        assert!(!no_color(Some("".into())));
        assert!(no_color(Some("1".into())));
        assert!(
            no_color(Some("0".into())),
            "any value, even 0, per no-color.org"
        );
    }
}
