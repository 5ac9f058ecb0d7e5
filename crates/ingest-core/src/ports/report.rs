//! Ports for the run report: rendering + storing it, and archiving it in the
//! database.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::report::{Completeness, RunReport};
use crate::domain::track::RunId;

/// Where a written report can be found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportLocation {
    /// `track-sync-YYYYMMDD-HHMMSS-<runid>.md`
    pub file_name: String,
    /// Path of the file on disk, when the writer keeps files.
    pub path: Option<String>,
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    #[error("report I/O failed: {0}")]
    Io(String),
    #[error("report archive failed: {0}")]
    Archive(String),
}

/// Renders a run report and stores it (files, database, or both).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ReportWriter: Send + Sync {
    /// Render and store `report`. Called once per run, at its end; writing
    /// the same run again replaces the earlier version.
    async fn write(&self, report: &RunReport) -> Result<ReportLocation, ReportError>;

    /// The previous successful run's completeness figures for `source`, so a
    /// report can show the change since then.
    async fn previous_completeness(
        &self,
        source: &str,
    ) -> Result<Option<Completeness>, ReportError>;
}

/// A report as archived in the database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchivedReport {
    pub run_id: RunId,
    pub source: String,
    pub file_name: String,
    pub status: String,
    pub trigger: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// The Markdown body.
    pub body: String,
    /// The report's data (`RunReport` as JSON), for quality trends.
    pub data: serde_json::Value,
}

/// Summary row of an archived report (no body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchivedReportSummary {
    pub run_id: RunId,
    pub source: String,
    pub file_name: String,
    pub status: String,
    pub trigger: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
}

/// Data quality of one finished run: how complete the active catalogue was
/// and how many values broke validation rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunQuality {
    pub run_id: RunId,
    pub status: String,
    pub trigger: String,
    pub finished_at: DateTime<Utc>,
    pub completeness: Completeness,
    pub validation_anomalies: u64,
    pub metadata_failures: u64,
    pub skipped_rows: u64,
}

/// Reports kept in the database (implemented by the repository crate).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ReportArchive: Send + Sync {
    /// Insert or replace the report of `report.run_id`.
    async fn save_report(&self, report: &ArchivedReport) -> Result<(), ReportError>;
    async fn get_report(&self, run_id: RunId) -> Result<Option<ArchivedReport>, ReportError>;
    /// Newest first.
    async fn list_reports(
        &self,
        source: &str,
        limit: u32,
    ) -> Result<Vec<ArchivedReportSummary>, ReportError>;
    /// Delete reports that finished before `before`; returns how many.
    async fn prune_reports(&self, before: DateTime<Utc>) -> Result<u64, ReportError>;
    /// The newest report of `source` whose status is `succeeded` or `guard_refused`.
    async fn latest_finished_report(
        &self,
        source: &str,
    ) -> Result<Option<ArchivedReport>, ReportError>;

    /// When the newest run of `source` that `succeeded` finished (`None`:
    /// none archived). Monitoring's "no successful sync in a day" reads it.
    async fn last_success_at(&self, source: &str) -> Result<Option<DateTime<Utc>>, ReportError>;

    /// Quality figures of the newest `runs` archived runs of `source`, newest
    /// first, read from each report's stored data. Runs whose data cannot be
    /// read are skipped.
    async fn quality_history(
        &self,
        source: &str,
        runs: u32,
    ) -> Result<Vec<RunQuality>, ReportError> {
        let mut out = Vec::new();
        for summary in self.list_reports(source, runs).await? {
            let Some(report) = self.get_report(summary.run_id).await? else {
                continue;
            };
            let Ok(data) = serde_json::from_value::<RunReport>(report.data) else {
                continue;
            };
            out.push(RunQuality {
                run_id: report.run_id,
                status: report.status,
                trigger: report.trigger,
                finished_at: report.finished_at,
                completeness: data.completeness,
                validation_anomalies: data.counts.validation_anomalies,
                metadata_failures: data.counts.dashboards_failed,
                skipped_rows: data.counts.skipped_rows,
            });
        }
        Ok(out)
    }
}
