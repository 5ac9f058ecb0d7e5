//! The simulator as a command: flags, start, announce, run until SIGINT
//! or SIGTERM. Shared by the `liverc-sim` binary and `ingest-cli
//! simulator`.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

use crate::{Fault, FaultConfig, RetryAfter, SimConfig, Simulator};

/// The simulator's flags: `liverc-sim`'s, and `ingest-cli simulator`'s
/// (flattened), so the container image can serve it without a binary of
/// its own.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// Number of tracks to generate.
    #[arg(long, default_value_t = 1_090)]
    pub tracks: usize,
    /// Generation seed (also seeds the fault draws).
    #[arg(long, default_value_t = SimConfig::default().seed)]
    seed: u64,
    /// Fixed delay before every response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Extra uniform delay 0..=J milliseconds per response.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Probability of a fault per dashboard request (0..=1).
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    fail_rate: f64,
    /// Fault kinds drawn from, comma-separated: 500,503,429,404,hang,truncate,malformed.
    #[arg(long, value_delimiter = ',', default_value = "500,503,429")]
    fault_kinds: Vec<Fault>,
    /// Retry-After of a 429, in seconds.
    #[arg(long, default_value_t = 1)]
    retry_after_secs: u64,
    /// How long a hang fault waits before answering, in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    hang_ms: u64,
    /// Let rate-based faults hit the catalogue too.
    #[arg(long)]
    faults_include_catalogue: bool,
    /// Serve this file as /robots.txt (default: allow everything).
    #[arg(long)]
    robots_file: Option<PathBuf>,
    /// Leave out the catalogue rows a parser must skip.
    #[arg(long)]
    no_decoys: bool,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let rate: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("{rate} is not within 0..=1"))
    }
}

impl SimArgs {
    /// The [`SimConfig`] these flags describe (reads `--robots-file`).
    pub fn config(&self) -> anyhow::Result<SimConfig> {
        let robots_txt = match &self.robots_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?,
            ),
            None => SimConfig::default().robots_txt,
        };
        Ok(SimConfig {
            tracks: self.tracks,
            seed: self.seed,
            latency: Duration::from_millis(self.latency_ms),
            jitter: Duration::from_millis(self.jitter_ms),
            faults: FaultConfig {
                rate: self.fail_rate,
                kinds: self.fault_kinds.clone(),
                seed: self.seed,
                retry_after: RetryAfter::Seconds(self.retry_after_secs),
                hang: Duration::from_millis(self.hang_ms),
                include_catalogue: self.faults_include_catalogue,
            },
            robots_txt,
            decoy_rows: !self.no_decoys,
        })
    }
}

/// Start the simulator `args` describe, print `listening on URL` as the
/// first stdout line (the contract with whoever spawned it), and serve until
/// SIGINT or SIGTERM.
pub async fn serve(args: &SimArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let started = std::time::Instant::now();
    let sim = Simulator::start(config, args.addr)
        .await
        .context("starting the simulator")?;
    tracing::info!(
        tracks = args.tracks,
        generated_in_ms = started.elapsed().as_millis(),
        "site generated"
    );
    announce(&sim.base_url())?;
    wait_for_signal().await?;
    tracing::info!("shutting down");
    sim.shutdown().await.context("stopping the simulator")?;
    Ok(())
}

#[expect(
    clippy::print_stdout,
    reason = "the first stdout line is the contract with whoever spawned us"
)]
fn announce(base_url: &str) -> anyhow::Result<()> {
    println!("listening on {base_url}");
    std::io::stdout().flush().context("flushing stdout")?;
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.context("waiting for SIGINT")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    /// The flags as a command of their own, as `liverc-sim` has them.
    #[derive(Debug, Parser)]
    struct Args {
        #[command(flatten)]
        sim: SimArgs,
    }

    #[test]
    fn verify_cli() {
        Args::command().debug_assert();
    }

    #[test]
    fn flags_become_a_config() {
        let args = Args::try_parse_from([
            "liverc-sim",
            "--tracks",
            "5",
            "--latency-ms",
            "20",
            "--fail-rate",
            "0.25",
            "--fault-kinds",
            "500,hang,truncate",
            "--hang-ms",
            "100",
        ])
        .expect("valid flags");
        let config = args.sim.config().expect("config");
        assert_eq!(config.tracks, 5);
        assert_eq!(config.latency, Duration::from_millis(20));
        assert_eq!(
            config.faults.kinds,
            vec![Fault::InternalServerError, Fault::Hang, Fault::Truncate]
        );
        assert_eq!(config.faults.hang, Duration::from_millis(100));
        assert!(Args::try_parse_from(["liverc-sim", "--fail-rate", "2"]).is_err());
        assert!(Args::try_parse_from(["liverc-sim", "--fault-kinds", "502"]).is_err());
    }
}
