//! The alerts a job raises when it reaches a final state: which ones
//! (`ingest_alerts::alerts_for`, with a link to the run's report on the
//! API), and their delivery in the background. `ingest-cli sync` uses the
//! same hook for its own runs.

use std::sync::Arc;
use std::time::Duration;

use ingest_core::{Alert, Notifier, SyncSummary};

/// Alerts raised when a job reaches a final state.
#[derive(Clone)]
pub struct AlertHook {
    pub notifier: Arc<dyn Notifier>,
    pub sla: Option<Duration>,
    /// Base URL of the API, for report links in alerts.
    pub public_url: Option<String>,
}

impl AlertHook {
    /// The alerts a finished run raises (none for a clean one), linking its
    /// report on the API (the run id is the job id) when the public URL is
    /// known.
    pub fn alerts_for(&self, summary: &SyncSummary, trigger: &str, source: &str) -> Vec<Alert> {
        let report_url = self.public_url.as_ref().map(|base| {
            format!(
                "{}/api/v1/tracks/sync/{}/report",
                base.trim_end_matches('/'),
                summary.run_id
            )
        });
        ingest_alerts::alerts_for(
            summary,
            trigger,
            source,
            self.sla,
            report_url,
            chrono::Utc::now(),
        )
    }

    /// Send `alerts` in the background (each retried as the webhook is
    /// configured); never blocks the caller. Await the handle to wait for
    /// delivery (a process about to exit).
    pub fn send(&self, alerts: Vec<Alert>) -> tokio::task::JoinHandle<()> {
        ingest_alerts::spawn_notify(self.notifier.clone(), alerts)
    }
}

impl std::fmt::Debug for AlertHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertHook")
            .field("sla", &self.sla)
            .finish_non_exhaustive()
    }
}
