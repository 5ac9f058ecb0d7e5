//! `ingest-cli demo`: the whole sync against the LiveRC simulator started in
//! this process, into an embedded SQLite database. Run it again and the
//! simulated site is mutated first (tracks added, removed, renamed, contacts
//! changed), so the second report shows real changes.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use ingest_app::config::{
    DatabaseConfig, GeocodeSettings, LiveRcSettings, ReportSettings, RunClaimSettings, SyncSettings,
};
use ingest_app::foreground::ForegroundClaim;
use ingest_app::wiring::build_sync_app;
use ingest_core::{SOURCE_LIVERC, Trigger};
use liverc_sim::{SimConfig, Simulator};

use super::sync::{exit_code, print_summary, run_held};

/// Where the demo keeps its tracks unless `--database-url` says otherwise:
/// apart from the real catalogue in `data/tracks.db`.
pub(crate) const DEMO_DATABASE_URL: &str = "sqlite://data/demo.db";

/// Where the demo's simulator listens when that port is free (any free
/// port otherwise).
const DEMO_SIMULATOR_ADDR: ([u8; 4], u16) = ([127, 0, 0, 1], 47_090);

/// Arguments of `ingest-cli demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Tracks on the simulated site.
    #[arg(long, default_value_t = 1_090)]
    pub(crate) tracks: usize,
    /// Simulated latency per page, in milliseconds (plus up to half as much jitter).
    #[arg(long = "latency-ms", default_value_t = 20)]
    pub(crate) latency_ms: u64,
    /// Random changes applied to the site before a repeated run.
    #[arg(long = "mutations", default_value_t = 12)]
    pub(crate) mutations: usize,
    /// Database URL (default: the embedded `data/demo.db`).
    #[arg(long = "database-url")]
    pub(crate) database_url: Option<String>,
    /// Directory for the run reports.
    #[arg(long = "report-dir", default_value = "docs/reports")]
    pub(crate) report_dir: std::path::PathBuf,
    /// Dashboards in flight at once.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u16).range(1..=ingest_app::config::CONCURRENCY_ARG_MAX))]
    pub(crate) concurrency: u16,
    /// Print the run summary as one JSON object on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) async fn run(args: DemoArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let config = SimConfig {
        tracks: args.tracks,
        latency: Duration::from_millis(args.latency_ms),
        jitter: Duration::from_millis(args.latency_ms / 2),
        ..SimConfig::default()
    };
    // The same address run after run where it is free: a track's stored
    // page address (`metadata_source_url`) then stays the same, as on the
    // real site, and a repeated demo rewrites only the rows that changed.
    let sim = match Simulator::start(config.clone(), SocketAddr::from(DEMO_SIMULATOR_ADDR)).await {
        Ok(sim) => sim,
        Err(liverc_sim::SimError::Bind { .. }) => {
            Simulator::start(config, SocketAddr::from(([127, 0, 0, 1], 0))).await?
        }
        Err(e) => return Err(e.into()),
    };
    let database = DatabaseConfig {
        database_url: Some(
            args.database_url
                .clone()
                .unwrap_or_else(|| DEMO_DATABASE_URL.to_owned()),
        ),
    };
    let liverc = LiveRcSettings {
        scrape_enabled: true,
        catalogue_url: sim.catalogue_url(),
        track_url_template: sim.track_url_template(),
        user_agent: None,
        min_request_spacing_ms: 0,
        request_timeout_secs: 10,
        max_retries: 3,
        max_body_mib: 5,
        respect_robots: true,
    };
    let sync = SyncSettings {
        metadata: ingest_core::MetadataMode::All,
        metadata_enabled: true,
        concurrency: args.concurrency,
        batch_size: 100,
        guard_max_share: 0.10,
        metadata_ttl_hours: 168,
        force: false,
        ..SyncSettings::default()
    };
    let reports = ReportSettings {
        report_dir: args.report_dir.clone(),
        retention_days: 90,
    };
    let app = build_sync_app(
        &database,
        &liverc,
        &sync,
        &reports,
        &GeocodeSettings::default(),
    )
    .await?;

    // A repeated demo mutates the site first, so the report has something to say.
    let stored = app.repository.count_tracks(SOURCE_LIVERC, false).await?;
    let mut expected = None;
    if stored > 0 && args.mutations > 0 {
        let seed = chrono::Utc::now().timestamp() as u64;
        let log = sim.site().mutate_random(seed, args.mutations);
        let changes = SiteChanges::of(&log);
        let note = format!(
            "demo: {stored} tracks already stored; changed the simulated site first (seed {seed}): {}",
            changes.describe()
        );
        say(out, args.json, &note)?;
        expected = Some(changes);
    } else {
        let note = format!(
            "demo: first run: syncing {} simulated tracks from {} into {}",
            args.tracks,
            sim.base_url(),
            app.database_url
        );
        say(out, args.json, &note)?;
    }

    // Held like `sync`: a second demo on the same database exits 4.
    let claim = ForegroundClaim::new(&RunClaimSettings::default(), sync.metadata_enabled);
    let summary = match run_held(&app, &sync.options(Trigger::Cli), &claim).await? {
        Ok(summary) => summary,
        Err(code) => {
            sim.shutdown().await?;
            return Ok(code);
        }
    };
    print_summary(&summary, args.json, out)?;
    if let Some(expected) = expected
        && summary.status == ingest_core::RunStatus::Succeeded
    {
        say(out, args.json, &expected.check(&summary))?;
    }
    let stats = sim.stats();
    if !args.json {
        writeln!(
            out,
            "  simulator: {} requests, at most {} in flight",
            stats.total, stats.max_in_flight
        )?;
    }
    sim.shutdown().await?;
    Ok(exit_code(summary.status))
}

/// Demo narration: on stdout, or on stderr when stdout carries JSON.
fn say(out: &mut dyn Write, json: bool, line: &str) -> std::io::Result<()> {
    if json {
        let mut err = std::io::stderr().lock();
        writeln!(err, "{line}")
    } else {
        writeln!(out, "{line}")
    }
}

/// What a mutation of the simulated site should make the run report say,
/// in the report's own terms: tracks, not field edits.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SiteChanges {
    /// Tracks added: the report's "New".
    added: usize,
    /// Tracks removed: "Missing, pending deactivation" (deactivated after
    /// the next run that misses them too).
    removed: usize,
    /// Tracks renamed or given new contact, address or description fields:
    /// "Updated".
    updated: usize,
    /// Tracks whose only edits were lifetime stats or catalogue activity:
    /// "Churn only" (counted, not listed).
    churn: usize,
    /// Field edits in all (a track may have several).
    edits: usize,
}

impl SiteChanges {
    fn of(log: &liverc_sim::MutationLog) -> Self {
        use liverc_sim::TrackField as F;
        use std::collections::BTreeSet;
        let churn_field = |f: F| {
            matches!(
                f,
                F::TotalLaps
                    | F::TotalPracticeSessions
                    | F::TotalRaces
                    | F::TotalEntries
                    | F::TotalEvents
                    | F::LastUpdatedText
                    | F::CurrentEvent
                    | F::IsLive
            )
        };
        let mut updated: BTreeSet<&str> = log.renamed.iter().map(|r| r.slug.as_str()).collect();
        updated.extend(
            log.changed
                .iter()
                .filter(|c| !churn_field(c.field))
                .map(|c| c.slug.as_str()),
        );
        let churn: BTreeSet<&str> = log
            .changed
            .iter()
            .filter(|c| churn_field(c.field) && !updated.contains(c.slug.as_str()))
            .map(|c| c.slug.as_str())
            .collect();
        SiteChanges {
            added: log.added.len(),
            removed: log.removed.len(),
            updated: updated.len(),
            churn: churn.len(),
            edits: log.renamed.len() + log.changed.len(),
        }
    }

    fn describe(&self) -> String {
        let tracks = if self.added == 1 { "track" } else { "tracks" };
        let edits = if self.edits == 1 { "edit" } else { "edits" };
        format!(
            "{} {tracks} added, {} removed, {} renamed or given new contact or address fields, {} with new stats or activity only ({} field {edits} in all)",
            self.added, self.removed, self.updated, self.churn, self.edits
        )
    }

    /// The run's summary held against these changes: one line, saying
    /// whether every change reached the report.
    fn check(&self, summary: &ingest_core::SyncSummary) -> String {
        let pairs = [
            ("new", self.added as u64, summary.tracks_added),
            (
                "pending deactivation",
                self.removed as u64,
                summary.tracks_pending_deactivation,
            ),
            ("updated", self.updated as u64, summary.tracks_updated),
        ];
        let off: Vec<String> = pairs
            .iter()
            .filter(|(_, want, got)| want != got)
            .map(|(what, want, got)| format!("{what} {got} (the site changed {want})"))
            .collect();
        if off.is_empty() {
            format!(
                "demo: every change of the site is in the report: {} new, {} pending deactivation, {} updated (plus churn: stats and activity, counted not listed)",
                self.added, self.removed, self.updated
            )
        } else {
            format!(
                "demo: warning: the report differs from the site's changes: {}; see the report's anomalies and metadata errors",
                off.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liverc_sim::{FieldChange, MutationLog, Rename, TrackField};

    fn change(slug: &str, field: TrackField) -> FieldChange {
        FieldChange {
            slug: slug.to_owned(),
            field,
            old: Some("a".to_owned()),
            new: Some("b".to_owned()),
        }
    }

    #[test]
    fn edits_are_counted_as_the_report_counts_tracks() {
        let log = MutationLog {
            added: vec!["n1".into(), "n2".into()],
            removed: vec!["gone".into()],
            renamed: vec![Rename {
                slug: "r".into(),
                old: "Old".into(),
                new: "New".into(),
            }],
            changed: vec![
                // Two edits of one track: one updated track.
                change("p", TrackField::Phone),
                change("p", TrackField::TotalLaps),
                // A renamed track with new stats: still one updated track.
                change("r", TrackField::TotalRaces),
                // Stats only: churn.
                change("s", TrackField::TotalLaps),
                change("s", TrackField::LastUpdatedText),
            ],
        };
        let c = SiteChanges::of(&log);
        assert_eq!(
            c,
            SiteChanges {
                added: 2,
                removed: 1,
                updated: 2,
                churn: 1,
                edits: 6,
            }
        );
    }
}
