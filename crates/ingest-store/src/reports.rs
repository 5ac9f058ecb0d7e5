//! The report archive (`ingest_core::ReportArchive`) on both backends: run
//! reports kept in the database beside the tracks, so the API can serve them
//! and the next run can show completeness trends.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ingest_core::{ArchivedReport, ArchivedReportSummary, ReportArchive, ReportError, RunId};
use sqlx::Row as _;

use crate::postgres::PgTrackRepository;
use crate::sqlite::SqliteTrackRepository;

fn archive_error(context: &str, e: impl std::fmt::Display) -> ReportError {
    ReportError::Archive(format!("{context}: {e}"))
}

/// SQLite keeps timestamps as the crate's fixed-width UTC text, so text
/// order is time order.
fn ts(t: DateTime<Utc>) -> String {
    crate::sqlite::encode_time(t)
}

fn parse_ts(text: &str) -> Result<DateTime<Utc>, ReportError> {
    crate::sqlite::decode_time("report time", text)
        .map_err(|e| archive_error("stored report time", e))
}

#[async_trait]
impl ReportArchive for PgTrackRepository {
    async fn save_report(&self, r: &ArchivedReport) -> Result<(), ReportError> {
        sqlx::query(
            "INSERT INTO sync_reports (run_id, source, file_name, status, trigger, started_at, finished_at, body, data)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (run_id) DO UPDATE SET
               source = EXCLUDED.source, file_name = EXCLUDED.file_name, status = EXCLUDED.status,
               trigger = EXCLUDED.trigger, started_at = EXCLUDED.started_at,
               finished_at = EXCLUDED.finished_at, body = EXCLUDED.body, data = EXCLUDED.data",
        )
        .bind(r.run_id)
        .bind(&r.source)
        .bind(&r.file_name)
        .bind(&r.status)
        .bind(&r.trigger)
        .bind(r.started_at)
        .bind(r.finished_at)
        .bind(&r.body)
        .bind(sqlx::types::Json(&r.data))
        .execute(self.pool())
        .await
        .map_err(|e| archive_error("saving the report", e))?;
        Ok(())
    }

    async fn get_report(&self, run_id: RunId) -> Result<Option<ArchivedReport>, ReportError> {
        let row = sqlx::query(
            "SELECT run_id, source, file_name, status, trigger, started_at, finished_at, body, data
             FROM sync_reports WHERE run_id = $1",
        )
        .bind(run_id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| archive_error("reading the report", e))?;
        row.map(|r| pg_report(&r)).transpose()
    }

    async fn list_reports(
        &self,
        source: &str,
        limit: u32,
    ) -> Result<Vec<ArchivedReportSummary>, ReportError> {
        let rows = sqlx::query(
            "SELECT run_id, source, file_name, status, trigger, started_at, finished_at,
                    '' AS body, 'null'::jsonb AS data
             FROM sync_reports WHERE source = $1 ORDER BY started_at DESC, run_id DESC LIMIT $2",
        )
        .bind(source)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(|e| archive_error("listing reports", e))?;
        rows.iter().map(|r| pg_report(r).map(summary)).collect()
    }

    async fn prune_reports(&self, before: DateTime<Utc>) -> Result<u64, ReportError> {
        let done = sqlx::query("DELETE FROM sync_reports WHERE finished_at < $1")
            .bind(before)
            .execute(self.pool())
            .await
            .map_err(|e| archive_error("pruning reports", e))?;
        Ok(done.rows_affected())
    }

    async fn latest_finished_report(
        &self,
        source: &str,
    ) -> Result<Option<ArchivedReport>, ReportError> {
        let row = sqlx::query(
            "SELECT run_id, source, file_name, status, trigger, started_at, finished_at, body, data
             FROM sync_reports WHERE source = $1 AND status IN ('succeeded', 'guard_refused')
             ORDER BY finished_at DESC, run_id DESC LIMIT 1",
        )
        .bind(source)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| archive_error("reading the latest report", e))?;
        row.map(|r| pg_report(&r)).transpose()
    }
}

/// The listing's view of an archived report.
fn summary(a: ArchivedReport) -> ArchivedReportSummary {
    ArchivedReportSummary {
        run_id: a.run_id,
        source: a.source,
        file_name: a.file_name,
        status: a.status,
        trigger: a.trigger,
        started_at: a.started_at,
        finished_at: a.finished_at,
    }
}

/// One column of a Postgres row, with the column named in the error.
fn pg_col<T>(r: &sqlx::postgres::PgRow, col: &str) -> Result<T, ReportError>
where
    T: for<'q> sqlx::Decode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    r.try_get(col).map_err(|e| archive_error(col, e))
}

fn pg_report(r: &sqlx::postgres::PgRow) -> Result<ArchivedReport, ReportError> {
    let data: sqlx::types::Json<serde_json::Value> = pg_col(r, "data")?;
    Ok(ArchivedReport {
        run_id: pg_col(r, "run_id")?,
        source: pg_col(r, "source")?,
        file_name: pg_col(r, "file_name")?,
        status: pg_col(r, "status")?,
        trigger: pg_col(r, "trigger")?,
        started_at: pg_col(r, "started_at")?,
        finished_at: pg_col(r, "finished_at")?,
        body: pg_col(r, "body")?,
        data: data.0,
    })
}

#[async_trait]
impl ReportArchive for SqliteTrackRepository {
    async fn save_report(&self, r: &ArchivedReport) -> Result<(), ReportError> {
        let data = serde_json::to_string(&r.data).map_err(|e| archive_error("report data", e))?;
        sqlx::query(
            "INSERT INTO sync_reports (run_id, source, file_name, status, trigger, started_at, finished_at, body, data)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (run_id) DO UPDATE SET
               source = excluded.source, file_name = excluded.file_name, status = excluded.status,
               trigger = excluded.trigger, started_at = excluded.started_at,
               finished_at = excluded.finished_at, body = excluded.body, data = excluded.data",
        )
        .bind(r.run_id.to_string())
        .bind(&r.source)
        .bind(&r.file_name)
        .bind(&r.status)
        .bind(&r.trigger)
        .bind(ts(r.started_at))
        .bind(ts(r.finished_at))
        .bind(&r.body)
        .bind(data)
        .execute(self.writer_pool())
        .await
        .map_err(|e| archive_error("saving the report", e))?;
        Ok(())
    }

    async fn get_report(&self, run_id: RunId) -> Result<Option<ArchivedReport>, ReportError> {
        let row = sqlx::query(
            "SELECT run_id, source, file_name, status, trigger, started_at, finished_at, body, data
             FROM sync_reports WHERE run_id = ?",
        )
        .bind(run_id.to_string())
        .fetch_optional(self.reader_pool())
        .await
        .map_err(|e| archive_error("reading the report", e))?;
        row.map(|r| sqlite_report(&r)).transpose()
    }

    async fn list_reports(
        &self,
        source: &str,
        limit: u32,
    ) -> Result<Vec<ArchivedReportSummary>, ReportError> {
        let rows = sqlx::query(
            "SELECT run_id, source, file_name, status, trigger, started_at, finished_at, '' AS body, 'null' AS data
             FROM sync_reports WHERE source = ? ORDER BY started_at DESC, run_id DESC LIMIT ?",
        )
        .bind(source)
        .bind(i64::from(limit))
        .fetch_all(self.reader_pool())
        .await
        .map_err(|e| archive_error("listing reports", e))?;
        rows.iter().map(|r| sqlite_report(r).map(summary)).collect()
    }

    async fn prune_reports(&self, before: DateTime<Utc>) -> Result<u64, ReportError> {
        let done = sqlx::query("DELETE FROM sync_reports WHERE finished_at < ?")
            .bind(ts(before))
            .execute(self.writer_pool())
            .await
            .map_err(|e| archive_error("pruning reports", e))?;
        Ok(done.rows_affected())
    }

    async fn latest_finished_report(
        &self,
        source: &str,
    ) -> Result<Option<ArchivedReport>, ReportError> {
        let row = sqlx::query(
            "SELECT run_id, source, file_name, status, trigger, started_at, finished_at, body, data
             FROM sync_reports WHERE source = ? AND status IN ('succeeded', 'guard_refused')
             ORDER BY finished_at DESC, run_id DESC LIMIT 1",
        )
        .bind(source)
        .fetch_optional(self.reader_pool())
        .await
        .map_err(|e| archive_error("reading the latest report", e))?;
        row.map(|r| sqlite_report(&r)).transpose()
    }
}

fn sqlite_report(r: &sqlx::sqlite::SqliteRow) -> Result<ArchivedReport, ReportError> {
    let get = |col: &str| -> Result<String, ReportError> {
        r.try_get::<String, _>(col)
            .map_err(|e| archive_error(col, e))
    };
    let run_id = get("run_id")?;
    Ok(ArchivedReport {
        run_id: run_id
            .parse()
            .map_err(|e| archive_error("stored run id", e))?,
        source: get("source")?,
        file_name: get("file_name")?,
        status: get("status")?,
        trigger: get("trigger")?,
        started_at: parse_ts(&get("started_at")?)?,
        finished_at: parse_ts(&get("finished_at")?)?,
        body: get("body")?,
        data: serde_json::from_str(&get("data")?)
            .map_err(|e| archive_error("stored report data", e))?,
    })
}
