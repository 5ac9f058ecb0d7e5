//! Whole-sync benchmark: the simulator (in-process, on loopback) → client →
//! service → embedded SQLite → report, as `ingest-cli sync` runs it.
//!
//! `cargo bench -p ingest-app --bench sync` runs every scenario, each in a
//! fresh child process so its peak memory (VmHWM, which includes the
//! in-process simulator) is its own:
//!
//! - `latency100`: 1,090 tracks, 100 ms latency, concurrency 6 — compared with
//!   the politeness bound `pages × latency ÷ concurrency`;
//! - `zero`: 1,090 tracks at zero latency — pages per second end to end;
//! - `large`: 100,000 tracks at zero latency, concurrency 32 — peak memory.
//!
//! One scenario: `cargo bench -p ingest-app --bench sync -- latency100`.

#![expect(
    clippy::print_stdout,
    reason = "a bench binary prints its results table"
)]

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use ingest_app::config::{
    DatabaseConfig, GeocodeSettings, LiveRcSettings, ReportSettings, SyncSettings,
};
use ingest_app::wiring::build_sync_app;
use ingest_core::{MetadataMode, NoProgress, RunStatus, Trigger};
use liverc_sim::{SimConfig, Simulator};

struct Scenario {
    name: &'static str,
    tracks: usize,
    latency: Duration,
    concurrency: u16,
}

const SCENARIOS: [Scenario; 3] = [
    Scenario {
        name: "latency100",
        tracks: 1_090,
        latency: Duration::from_millis(100),
        concurrency: 6,
    },
    Scenario {
        name: "zero",
        tracks: 1_090,
        latency: Duration::ZERO,
        concurrency: 6,
    },
    Scenario {
        name: "large",
        tracks: 100_000,
        latency: Duration::ZERO,
        concurrency: 32,
    },
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        let name = args.get(pos + 1).map(String::as_str).unwrap_or_default();
        let scenario = SCENARIOS
            .iter()
            .find(|s| s.name == name)
            .expect("known scenario");
        run_child(scenario);
        return;
    }
    let wanted: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let exe = std::env::current_exe().expect("own path");
    println!(
        "| scenario | tracks | latency | concurrency | wall | bound | ratio | pages/s | peak RSS |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for s in SCENARIOS
        .iter()
        .filter(|s| wanted.is_empty() || wanted.contains(&s.name))
    {
        let out = Command::new(&exe)
            .args(["--child", s.name])
            .output()
            .expect("run scenario");
        if !out.status.success() {
            eprintln!(
                "{} failed: {}",
                s.name,
                String::from_utf8_lossy(&out.stderr)
            );
            std::process::exit(1);
        }
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
}

fn run_child(s: &Scenario) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let sim = Simulator::start(
            SimConfig {
                tracks: s.tracks,
                latency: s.latency,
                ..SimConfig::default()
            },
            SocketAddr::from(([127, 0, 0, 1], 0)),
        )
        .await
        .expect("simulator");
        let dir = tempfile::tempdir().expect("temp dir");
        let sync = SyncSettings {
            metadata: MetadataMode::All,
            metadata_enabled: true,
            concurrency: s.concurrency,
            batch_size: 100,
            guard_max_share: 0.10,
            metadata_ttl_hours: 168,
            force: false,
            ..SyncSettings::default()
        };
        let liverc = LiveRcSettings {
            scrape_enabled: true,
            catalogue_url: sim.catalogue_url(),
            track_url_template: sim.track_url_template(),
            user_agent: None,
            min_request_spacing_ms: 0,
            request_timeout_secs: 120,
            max_retries: 3,
            max_body_mib: 256,
            respect_robots: true,
        };
        let app = build_sync_app(
            &DatabaseConfig {
                database_url: Some(format!(
                    "sqlite://{}",
                    dir.path().join("bench.db").display()
                )),
            },
            &liverc,
            &sync,
            &ReportSettings {
                report_dir: dir.path().join("reports"),
                retention_days: 0,
            },
            &GeocodeSettings::default(),
        )
        .await
        .expect("wiring");
        let started = Instant::now();
        let summary = app
            .service
            .run_sync(
                &sync.options(Trigger::Cli),
                app.report_writer.as_ref(),
                &NoProgress,
            )
            .await;
        let wall = started.elapsed().as_secs_f64();
        assert_eq!(summary.status, RunStatus::Succeeded, "{:?}", summary.error);
        assert_eq!(summary.metadata_fetched, s.tracks as u64);
        let bound = s.tracks as f64 * s.latency.as_secs_f64() / f64::from(s.concurrency);
        let ratio = if bound > 0.0 {
            format!("{:.3}", wall / bound)
        } else {
            "—".to_owned()
        };
        println!(
            "| {} | {} | {} ms | {} | {:.2} s | {:.2} s | {} | {:.0} | {} MB |",
            s.name,
            s.tracks,
            s.latency.as_millis(),
            s.concurrency,
            wall,
            bound,
            ratio,
            s.tracks as f64 / wall,
            peak_rss_mb()
        );
    });
}

/// The process's peak resident set (VmHWM), in MB.
fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}
