//! The report archive (`ingest_core::ReportArchive`), written once over a
//! [`Driver`]: run reports kept in the database beside the tracks, so the
//! API can serve them and the next run can show completeness trends. The
//! statements are the same text on both backends; the driver binds the run
//! id, the times and the data in its own column types.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ingest_core::{ArchivedReport, ArchivedReportSummary, ReportArchive, ReportError, RunId};

use crate::driver::{Arg, Driver};
use crate::repository::Repository;
use crate::row::ColumnReader;

const SAVE: &str = "INSERT INTO sync_reports
    (run_id, source, file_name, status, trigger, started_at, finished_at, body, data)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (run_id) DO UPDATE SET
    source = excluded.source, file_name = excluded.file_name, status = excluded.status,
    trigger = excluded.trigger, started_at = excluded.started_at,
    finished_at = excluded.finished_at, body = excluded.body, data = excluded.data";

const GET: &str = "SELECT run_id, source, file_name, status, trigger, started_at, finished_at,
    body, data
FROM sync_reports WHERE run_id = $1";

/// Newest first, without the body and the data.
const LIST: &str = "SELECT run_id, source, file_name, status, trigger, started_at, finished_at
FROM sync_reports WHERE source = $1 ORDER BY started_at DESC, run_id DESC LIMIT $2";

const PRUNE: &str = "DELETE FROM sync_reports WHERE finished_at < $1";

const LATEST_FINISHED: &str = "SELECT run_id, source, file_name, status, trigger, started_at,
    finished_at, body, data
FROM sync_reports WHERE source = $1 AND status IN ('succeeded', 'guard_refused')
    AND file_name NOT LIKE '%-dry-run.md'
ORDER BY finished_at DESC, run_id DESC LIMIT 1";

/// The newest successful run's finish (the column itself, not `MAX()`, so
/// each backend reads its own timestamp type). A dry run (its report file
/// ends `-dry-run.md`) stored nothing, so it is no success of the catalogue.
const LAST_SUCCESS: &str = "SELECT finished_at FROM sync_reports
WHERE source = $1 AND status = 'succeeded' AND file_name NOT LIKE '%-dry-run.md'
ORDER BY finished_at DESC LIMIT 1";

fn archive_error(context: &str, e: impl std::fmt::Display) -> ReportError {
    ReportError::Archive(format!("{context}: {e}"))
}

/// A closure for `map_err` naming what failed.
fn failed(context: &str) -> impl FnOnce(sqlx::Error) -> ReportError {
    move |e| archive_error(context, e)
}

/// A row selected with [`LIST`]'s columns.
fn summary(r: &impl ColumnReader) -> Result<ArchivedReportSummary, ReportError> {
    let read = || {
        Ok(ArchivedReportSummary {
            run_id: r.uuid("run_id")?,
            source: r.text("source")?,
            file_name: r.text("file_name")?,
            status: r.text("status")?,
            trigger: r.text("trigger")?,
            started_at: r.time("started_at")?,
            finished_at: r.time("finished_at")?,
        })
    };
    read().map_err(|e: ingest_core::RepositoryError| archive_error("stored report", e))
}

/// A row selected with every column.
fn report(r: &impl ColumnReader) -> Result<ArchivedReport, ReportError> {
    let s = summary(r)?;
    let body = r
        .text("body")
        .map_err(|e| archive_error("stored report", e))?;
    let data = r
        .json("data")
        .map_err(|e| archive_error("stored report data", e))?
        .ok_or_else(|| archive_error("stored report data", "NULL"))?;
    Ok(ArchivedReport {
        run_id: s.run_id,
        source: s.source,
        file_name: s.file_name,
        status: s.status,
        trigger: s.trigger,
        started_at: s.started_at,
        finished_at: s.finished_at,
        body,
        data,
    })
}

#[async_trait]
impl<D: Driver> ReportArchive for Repository<D> {
    async fn save_report(&self, r: &ArchivedReport) -> Result<(), ReportError> {
        if self.dry_run {
            tracing::debug!(run_id = %r.run_id, "dry run: the report is not archived");
            return Ok(());
        }
        let args = vec![
            Arg::Id(r.run_id),
            Arg::Text(&r.source),
            Arg::Text(&r.file_name),
            Arg::Text(&r.status),
            Arg::Text(&r.trigger),
            Arg::Time(r.started_at),
            Arg::Time(r.finished_at),
            Arg::Text(&r.body),
            Arg::Json(Some(&r.data)),
        ];
        self.db
            .write(SAVE, args)
            .await
            .map_err(failed("saving the report"))?;
        Ok(())
    }

    async fn get_report(&self, run_id: RunId) -> Result<Option<ArchivedReport>, ReportError> {
        let row = self
            .db
            .read_optional(GET, vec![Arg::Id(run_id)])
            .await
            .map_err(failed("reading the report"))?;
        row.map(|r| report(&r)).transpose()
    }

    async fn list_reports(
        &self,
        source: &str,
        limit: u32,
    ) -> Result<Vec<ArchivedReportSummary>, ReportError> {
        let args = vec![Arg::Text(source), Arg::Int(i64::from(limit))];
        let rows = self
            .db
            .read_all(LIST, args)
            .await
            .map_err(failed("listing reports"))?;
        rows.iter().map(summary).collect()
    }

    async fn prune_reports(&self, before: DateTime<Utc>) -> Result<u64, ReportError> {
        self.db
            .write(PRUNE, vec![Arg::Time(before)])
            .await
            .map_err(failed("pruning reports"))
    }

    async fn latest_finished_report(
        &self,
        source: &str,
    ) -> Result<Option<ArchivedReport>, ReportError> {
        let row = self
            .db
            .read_optional(LATEST_FINISHED, vec![Arg::Text(source)])
            .await
            .map_err(failed("reading the latest report"))?;
        row.map(|r| report(&r)).transpose()
    }

    async fn last_success_at(&self, source: &str) -> Result<Option<DateTime<Utc>>, ReportError> {
        let row = self
            .db
            .read_optional(LAST_SUCCESS, vec![Arg::Text(source)])
            .await
            .map_err(failed("reading the last success"))?;
        row.map(|r| r.time("finished_at"))
            .transpose()
            .map_err(|e| archive_error("stored report", e))
    }
}
