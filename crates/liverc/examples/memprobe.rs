//! Temporary memory probe (to be removed).
#![expect(clippy::print_stdout, clippy::unwrap_used, reason = "probe")]
use std::time::{Duration, Instant};

fn status(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status").unwrap().lines()
        .find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0) / 1024
}
fn show(what: &str) {
    println!("{what:<40} rss {:>4} MB  hwm {:>4} MB", status("VmRSS:"), status("VmHWM:"));
}

fn main() {
    let tracks: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        show("start");
        let sim = liverc_sim::Simulator::start(
            liverc_sim::SimConfig { tracks, ..liverc_sim::SimConfig::default() },
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        ).await.unwrap();
        show("simulator started");
        let client = liverc::LiveRcClient::new(liverc::LiveRcConfig {
            catalogue_url: sim.catalogue_url(),
            track_url_template: sim.track_url_template(),
            max_body_bytes: 256 << 20,
            read_timeout: Duration::from_secs(120),
            ..liverc::LiveRcConfig::default()
        }).unwrap();
        let t = Instant::now();
        let catalogue = client.list_tracks().await.unwrap();
        show(&format!("list_tracks ({} entries, {:?})", catalogue.entries.len(), t.elapsed()));
        drop(catalogue);
        show("catalogue dropped");
    });
}
