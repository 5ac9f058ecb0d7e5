//! Progress sinks: a bar on a terminal, periodic log lines otherwise.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ingest_core::{Progress, ProgressSink, Stage};

/// A progress bar on stderr: processed/total, rate, ETA, failures.
#[derive(Debug)]
pub struct TerminalProgress {
    bar: ProgressBar,
}

impl TerminalProgress {
    pub fn new() -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(10));
        let style = ProgressStyle::with_template(
            "{spinner} {prefix:>12} [{bar:30}] {pos}/{len} {per_sec} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        Self { bar }
    }
}

impl Default for TerminalProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl ProgressSink for TerminalProgress {
    fn update(&self, p: &Progress) {
        self.bar.set_prefix(p.stage.as_str());
        if p.total > 0 {
            self.bar.set_length(p.total);
        }
        self.bar.set_position(p.processed);
        if p.failures > 0 {
            self.bar.set_message(format!("{} failed", p.failures));
        }
        if p.stage == Stage::Done {
            self.bar.finish_and_clear();
        }
    }
}

/// Plain lines through `tracing`, at most one per interval (and at stage changes).
#[derive(Debug)]
pub struct LogProgress {
    interval: Duration,
    last: Mutex<(Option<Instant>, Option<Stage>)>,
}

impl LogProgress {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: Mutex::new((None, None)),
        }
    }
}

impl ProgressSink for LogProgress {
    fn update(&self, p: &Progress) {
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        let due = last.0.is_none_or(|t| t.elapsed() >= self.interval);
        if !due && last.1 == Some(p.stage) {
            return;
        }
        *last = (Some(Instant::now()), Some(p.stage));
        tracing::info!(
            stage = p.stage.as_str(),
            processed = p.processed,
            total = p.total,
            failures = p.failures,
            rate_per_second = (p.rate_per_second * 10.0).round() / 10.0,
            eta_ms = p
                .eta
                .map(|e| u64::try_from(e.as_millis()).unwrap_or(u64::MAX)),
            "progress"
        );
    }
}
