//! Progress sinks: one live bar on a terminal (with a log writer that goes
//! around it), periodic log lines otherwise.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ingest_core::{Progress, ProgressSink, Stage};

/// The bar on screen, if any: log lines are written around it (see
/// [`StderrAroundBar`]), so a warning never tears it or leaves a copy
/// behind.
static ACTIVE_BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// A `tracing` writer to stderr that lifts the progress bar (if one is on
/// screen) for the length of each line, the way cargo prints a warning
/// above its bar.
#[derive(Debug, Clone, Copy, Default)]
pub struct StderrAroundBar;

impl std::io::Write for StderrAroundBar {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = ACTIVE_BAR.lock().ok().and_then(|b| b.clone());
        match bar {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(buf))?,
            None => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for StderrAroundBar {
    type Writer = Self;
    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

/// One live line on stderr, cargo-style: the stage, then for the dashboards
/// a bar moving by single dashboards with the count, the rate and the time
/// left (`Dashboards [=====>    ] 412/1090  36/s  19s left`). Other stages
/// show as a spinner with the stage's name. The line is cleared at the end,
/// leaving the summary.
#[derive(Debug)]
pub struct TerminalProgress {
    bar: ProgressBar,
    colour: bool,
    shown: Mutex<Option<bool>>,
}

impl TerminalProgress {
    /// `colour`: bold stage names (off for `NO_COLOR`).
    pub fn new(colour: bool) -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(10));
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut active) = ACTIVE_BAR.lock() {
            *active = Some(bar.clone());
        }
        let progress = Self {
            bar,
            colour,
            shown: Mutex::new(None),
        };
        progress.style(false);
        progress
    }

    /// The bar's style: a counted bar (`true`) or a spinner.
    fn style(&self, counted: bool) {
        let Ok(mut shown) = self.shown.lock() else {
            return;
        };
        if *shown == Some(counted) {
            return;
        }
        *shown = Some(counted);
        let prefix = if self.colour {
            "{prefix:>12.green.bold}"
        } else {
            "{prefix:>12}"
        };
        let template = if counted {
            format!("{prefix} [{{bar:30}}] {{pos}}/{{len}}{{msg}}")
        } else {
            format!("{prefix} {{spinner}}{{msg}}")
        };
        let style = ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ")
            .tick_chars("|/-\\ ");
        self.bar.set_style(style);
    }
}

impl Drop for TerminalProgress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
        if let Ok(mut active) = ACTIVE_BAR.lock() {
            *active = None;
        }
    }
}

/// A stage's name as the bar shows it: `Dashboards`.
fn title(stage: Stage) -> String {
    let name = stage.as_str();
    let mut chars = name.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect::<String>()
    })
}

/// Whole seconds as `42s`, `3m07s` or `1h02m`.
fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// The text after the count: `  36/s  19s left  (2 failed)`.
fn bar_message(p: &Progress) -> String {
    let mut msg = String::new();
    if p.rate_per_second > 0.0 {
        msg.push_str(&format!("  {:.0}/s", p.rate_per_second));
    }
    if let Some(eta) = p.eta {
        msg.push_str(&format!("  {} left", short_duration(eta)));
    }
    if p.failures > 0 {
        msg.push_str(&format!("  ({} failed)", p.failures));
    }
    msg
}

impl ProgressSink for TerminalProgress {
    fn update(&self, p: &Progress) {
        if p.stage == Stage::Done {
            self.bar.finish_and_clear();
            return;
        }
        let counted = p.stage == Stage::Dashboards && p.total > 0;
        self.style(counted);
        self.bar.set_prefix(title(p.stage));
        if counted {
            self.bar.set_length(p.total);
            self.bar.set_position(p.processed);
            self.bar.set_message(bar_message(p));
        } else {
            self.bar.set_message(String::new());
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
