//! `ingest-cli sync` as a person sees it on a terminal: a real tmux pane,
//! read with `capture-pane` while the run goes. One live bar that moves by
//! single dashboards, no INFO lines, the summary at the end; `NO_COLOR=1`
//! leaves no escape code on the screen; `-v` brings the log lines back.
//!
//! Needs tmux (`.ci/run` installs it). Captures of these runs are in
//! `docs/cli.md`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use liverc_sim::{SimConfig, Simulator};

/// A tmux server of its own (`-L`), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(name: &str) -> Self {
        let socket = format!("ingest-cli-test-{name}-{}", std::process::id());
        Self { socket }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs (install it: apt-get install tmux)");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `command` in a fresh 120×30 pane, in `dir`.
    fn start(&self, dir: &Path, command: &str) {
        self.tmux(&[
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "30",
            "-c",
            &dir.display().to_string(),
            // The pane stays after the command ends, so its last screen
            // can be read.
            &format!("{command}; echo EXIT=$?; sleep 60"),
        ]);
    }

    /// The screen, with colour escapes (`-e`) as a terminal would get them.
    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-e"])
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// `ingest-cli [flags] sync …` against `sim`, as a shell command line.
fn sync_command(sim: &liverc_sim::RunningSim, env: &str, flags: &str) -> String {
    format!(
        "env -u RUST_LOG TERM=xterm-256color {env} {bin} {flags} sync --database-url sqlite://tracks.db \
         --report-dir reports --concurrency 2 --catalogue-url {catalogue} --track-url-template '{template}'",
        bin = env!("CARGO_BIN_EXE_ingest-cli"),
        catalogue = sim.catalogue_url(),
        template = sim.track_url_template(),
    )
}

/// `screen` without its escape sequences (`ESC [ … final byte`).
fn plain(screen: &str) -> String {
    let mut out = String::with_capacity(screen.len());
    let mut chars = screen.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The count the dashboards bar shows (`Dashboards [==>  ] 17/300 …`).
fn bar_position(screen: &str) -> Option<u64> {
    let screen = plain(screen);
    let line = screen.lines().find(|l| l.contains("Dashboards ["))?;
    let after = &line[line.find("] ")? + 2..];
    after.split('/').next()?.trim().parse().ok()
}

/// Follows one run to its end: every screen seen.
fn follow(tmux: &Tmux) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut screens = Vec::new();
    loop {
        let screen = tmux.screen();
        let done = screen.contains("EXIT=");
        screens.push(screen);
        if done {
            return screens;
        }
        assert!(
            Instant::now() < deadline,
            "the run did not end: {screens:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_on_a_terminal_shows_one_bar_then_the_summary() {
    let sim = Simulator::start(
        SimConfig {
            tracks: 300,
            latency: Duration::from_millis(30),
            ..SimConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("simulator");
    let dir = tempfile::tempdir().expect("temp dir");

    // Default: the bar, by single dashboards; no INFO line.
    let tmux = Tmux::new("plain");
    tmux.start(dir.path(), &sync_command(&sim, "", ""));
    let screens = tokio::task::spawn_blocking(move || follow(&tmux))
        .await
        .expect("join");
    let positions: Vec<u64> = screens.iter().filter_map(|s| bar_position(s)).collect();
    let distinct: std::collections::BTreeSet<u64> = positions.iter().copied().collect();
    assert!(
        distinct.len() >= 10 && distinct.iter().any(|p| p % 100 != 0),
        "the bar moves by single dashboards: {positions:?}"
    );
    assert!(
        positions.windows(2).all(|w| w[0] <= w[1]),
        "it never goes back: {positions:?}"
    );
    for screen in screens.iter().map(|s| plain(s)) {
        assert!(!screen.contains("INFO"), "no INFO line: {screen}");
        assert!(
            screen.matches("Dashboards [").count() <= 1,
            "one live bar: {screen}"
        );
    }
    assert!(
        screens.iter().any(|s| s.contains('\u{1b}')),
        "colour on a terminal"
    );
    let last = plain(screens.last().expect("a screen"));
    assert!(last.contains("EXIT=0"), "{last}");
    assert!(last.contains("succeeded in"), "the summary: {last}");
    assert!(!last.contains("Dashboards ["), "the bar is cleared: {last}");

    // NO_COLOR=1: not one escape code on the screen, bar included.
    let tmux = Tmux::new("nocolor");
    tmux.start(dir.path(), &sync_command(&sim, "NO_COLOR=1", ""));
    let screens = tokio::task::spawn_blocking(move || follow(&tmux))
        .await
        .expect("join");
    for screen in &screens {
        assert!(!screen.contains('\u{1b}'), "an escape code: {screen:?}");
    }
    assert!(
        screens.iter().any(|s| s.contains("Dashboards [")),
        "{screens:?}"
    );

    // -v: the run's log lines are back.
    let tmux = Tmux::new("verbose");
    tmux.start(dir.path(), &sync_command(&sim, "", "-v"));
    let screens = tokio::task::spawn_blocking(move || follow(&tmux))
        .await
        .expect("join");
    let last = plain(screens.last().expect("a screen"));
    assert!(last.contains("INFO"), "{last}");
    assert!(last.contains("sync finished"), "{last}");
}
