//! [`MarkdownReportWriter`]: the `ReportWriter` adapter. Renders the report,
//! writes it atomically into a directory, archives it (Markdown and data)
//! when an archive is configured, and prunes reports past their retention.
//!
//! File names are `track-sync-YYYYMMDD-HHMMSS-<runid>.md`: the run's
//! `started_at` in UTC and the **full** run id in simple form (32 hex
//! digits). Run ids are UUID v7, whose first hex digits are a timestamp, so a
//! shortened id would not tell apart two runs started in the same second;
//! the full id makes the name unique per run, and writing the same run again
//! replaces its file.
//!
//! Trends ([`ReportWriter::previous_completeness`]) come from the archive
//! only: the database is the one place report data is kept. A writer without
//! an archive answers `None` (the report then shows `—` for changes).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration as ChronoDuration, NaiveDateTime, Utc};
use ingest_core::{
    ArchivedReport, Completeness, ReportArchive, ReportError, ReportLocation, ReportWriter,
    RunReport,
};
use serde::Deserialize;

use crate::render::render_markdown;

/// Prefix of every report file name.
pub const FILE_PREFIX: &str = "track-sync-";
/// Extension of every report file name.
pub const FILE_SUFFIX: &str = ".md";
const NAME_TIME_FORMAT: &str = "%Y%m%d-%H%M%S";

/// Where and how long reports are kept.
#[derive(Clone)]
pub struct MarkdownReportConfig {
    /// Directory the report files go to; created when missing.
    pub dir: PathBuf,
    /// Report files (by the time in their name) and archived reports (by
    /// their finish time) older than this many days are deleted after each
    /// write. `None` keeps everything.
    pub retention_days: Option<u32>,
    /// The database archive, when reports are also kept there.
    pub archive: Option<Arc<dyn ReportArchive>>,
}

impl std::fmt::Debug for MarkdownReportConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarkdownReportConfig")
            .field("dir", &self.dir)
            .field("retention_days", &self.retention_days)
            .field("archive", &self.archive.as_ref().map(|_| "configured"))
            .finish()
    }
}

/// Writes run reports as Markdown files (and into the archive).
#[derive(Debug, Clone)]
pub struct MarkdownReportWriter {
    config: MarkdownReportConfig,
}

impl MarkdownReportWriter {
    /// A writer with this configuration. Nothing touches the disk until the
    /// first [`ReportWriter::write`].
    pub fn new(config: MarkdownReportConfig) -> Self {
        Self { config }
    }

    /// The configuration.
    pub fn config(&self) -> &MarkdownReportConfig {
        &self.config
    }

    async fn write_file(&self, file_name: &str, body: &str) -> Result<PathBuf, ReportError> {
        let dir = self.config.dir.clone();
        let file_name = file_name.to_owned();
        let body = body.to_owned();
        tokio::task::spawn_blocking(move || write_atomically(&dir, &file_name, body.as_bytes()))
            .await
            .map_err(|e| ReportError::Io(format!("report writer task failed: {e}")))?
    }

    async fn archive(
        &self,
        archive: &dyn ReportArchive,
        report: &RunReport,
        file_name: &str,
        body: String,
    ) -> Result<(), ReportError> {
        let data = serde_json::to_value(report)
            .map_err(|e| ReportError::Archive(format!("encoding the report data: {e}")))?;
        archive
            .save_report(&ArchivedReport {
                run_id: report.run_id,
                source: report.source.clone(),
                file_name: file_name.to_owned(),
                status: report.status.as_str().to_owned(),
                trigger: report.trigger.as_str().to_owned(),
                started_at: report.started_at,
                finished_at: report.finished_at,
                body,
                data,
            })
            .await
    }

    /// Delete what is past the retention; failures are logged, not returned.
    async fn prune(&self, keep: &str) {
        let Some(days) = self.config.retention_days else {
            return;
        };
        let cutoff = Utc::now() - ChronoDuration::days(i64::from(days));
        let dir = self.config.dir.clone();
        let keep = keep.to_owned();
        match tokio::task::spawn_blocking(move || prune_dir(&dir, cutoff, &keep)).await {
            Ok(Ok(removed)) if removed > 0 => {
                tracing::info!(removed, %cutoff, "pruned old report files");
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "pruning report files failed"),
            Err(e) => tracing::warn!(error = %e, "report pruning task failed"),
        }
        if let Some(archive) = &self.config.archive {
            match archive.prune_reports(cutoff).await {
                Ok(removed) if removed > 0 => {
                    tracing::info!(removed, %cutoff, "pruned old archived reports");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning archived reports failed"),
            }
        }
    }
}

#[async_trait]
impl ReportWriter for MarkdownReportWriter {
    /// Render, write the file, archive, prune. The file and the archive are
    /// tried independently (a full disk does not lose the database copy and
    /// vice versa); the first failure is returned, after pruning.
    async fn write(&self, report: &RunReport) -> Result<ReportLocation, ReportError> {
        let body = render_markdown(report);
        let file_name = report_file_name(report);

        let written = self.write_file(&file_name, &body).await;
        if let Err(e) = &written {
            tracing::warn!(error = %e, file = %file_name, "writing the report file failed");
        }
        let archived = match &self.config.archive {
            Some(archive) => {
                self.archive(archive.as_ref(), report, &file_name, body)
                    .await
            }
            None => Ok(()),
        };
        if let Err(e) = &archived {
            tracing::warn!(error = %e, run_id = %report.run_id, "archiving the report failed");
        }
        self.prune(&file_name).await;

        let path = written?;
        archived?;
        Ok(ReportLocation {
            file_name,
            path: Some(path.display().to_string()),
        })
    }

    /// The completeness of the newest archived report of `source` that
    /// finished (succeeded or guard-refused). `None` without an archive, or
    /// when that report's data no longer decodes (logged).
    async fn previous_completeness(
        &self,
        source: &str,
    ) -> Result<Option<Completeness>, ReportError> {
        let Some(archive) = &self.config.archive else {
            return Ok(None);
        };
        let Some(previous) = archive.latest_finished_report(source).await? else {
            return Ok(None);
        };
        /// Only the part needed, so other changes to `RunReport` do not break
        /// reading older reports.
        #[derive(Deserialize)]
        struct Data {
            completeness: Completeness,
        }
        match serde_json::from_value::<Data>(previous.data) {
            Ok(data) => Ok(Some(data.completeness)),
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    run_id = %previous.run_id,
                    "the previous report's data has no readable completeness"
                );
                Ok(None)
            }
        }
    }
}

/// `track-sync-YYYYMMDD-HHMMSS-<32 hex digits>.md`, from the run's
/// `started_at` (UTC) and full run id; a dry run's ends `-dry-run.md`.
pub fn report_file_name(report: &RunReport) -> String {
    format!(
        "{FILE_PREFIX}{}-{}{}{FILE_SUFFIX}",
        report.started_at.format(NAME_TIME_FORMAT),
        report.run_id.simple(),
        if report.options.dry_run {
            "-dry-run"
        } else {
            ""
        }
    )
}

/// The time in a report file name, when `name` is one
/// (`track-sync-YYYYMMDD-HHMMSS-<anything>.md`).
pub fn parse_report_file_name(name: &str) -> Option<DateTime<Utc>> {
    let rest = name.strip_prefix(FILE_PREFIX)?.strip_suffix(FILE_SUFFIX)?;
    // "YYYYMMDD-HHMMSS" is 15 ASCII characters, then "-" and the run id.
    let (stamp, id) = (rest.get(..15)?, rest.get(15..)?);
    let id = id.strip_prefix('-')?;
    if id.is_empty() || !stamp.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return None;
    }
    NaiveDateTime::parse_from_str(stamp, NAME_TIME_FORMAT)
        .ok()
        .map(|t| t.and_utc())
}

/// Whether `name` is one of [`write_atomically`]'s temporary files for a
/// report (`.track-sync-….md.<random>.tmp`).
fn is_temporary_file_name(name: &str) -> bool {
    name.strip_prefix('.')
        .is_some_and(|rest| rest.starts_with(FILE_PREFIX) && rest.contains(FILE_SUFFIX))
        && name.ends_with(".tmp")
}

/// Write `bytes` to `dir/file_name` atomically: a temporary file in the same
/// directory, flushed to disk, then renamed over the target. Creates `dir`.
pub fn write_atomically(dir: &Path, file_name: &str, bytes: &[u8]) -> Result<PathBuf, ReportError> {
    let io = |what: &str, e: std::io::Error| ReportError::Io(format!("{what}: {e}"));
    fs::create_dir_all(dir).map_err(|e| io(&format!("creating {}", dir.display()), e))?;
    let target = dir.join(file_name);
    // A dot-name, so a half-written file never matches the report pattern.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| {
            io(
                &format!("creating a temporary file in {}", dir.display()),
                e,
            )
        })?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| io(&format!("writing {}", tmp.path().display()), e))?;
    #[cfg(unix)]
    {
        // tempfile creates 0600; a report is as readable as any other file.
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))
            .map_err(|e| {
                io(
                    &format!("setting permissions of {}", tmp.path().display()),
                    e,
                )
            })?;
    }
    tmp.persist(&target)
        .map_err(|e| io(&format!("renaming into {}", target.display()), e.error))?;
    // Make the rename itself durable; best effort (not every platform can
    // open a directory).
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(target)
}

/// Delete report files in `dir` whose name's time is before `cutoff`,
/// except `keep`, and temporary files of [`write_atomically`] last modified
/// before `cutoff` (left behind by a crash). Other files (other names,
/// directories, unparsable times) are left alone. Returns how many were
/// deleted; a file that cannot be deleted is logged and skipped.
pub fn prune_dir(dir: &Path, cutoff: DateTime<Utc>, keep: &str) -> std::io::Result<u64> {
    let mut removed = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if name == keep || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let written = match parse_report_file_name(name) {
            Some(t) => t,
            // A temporary file left behind by a crash mid-write: by its age.
            None if is_temporary_file_name(name) => {
                match entry.metadata().and_then(|m| m.modified()) {
                    Ok(modified) => DateTime::<Utc>::from(modified),
                    Err(_) => continue,
                }
            }
            None => continue,
        };
        if written < cutoff {
            match fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(e) => {
                    tracing::warn!(file = %name, error = %e, "could not delete an old report")
                }
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
            .single()
            .expect("valid time")
    }

    #[test]
    fn file_names_parse_back() {
        assert_eq!(
            parse_report_file_name("track-sync-20261128-000137-0192f1c3aa.md"),
            Some(at(2026, 11, 28, 0, 1, 37))
        );
        for other in [
            "track-sync-20261128-000137.md",
            "track-sync-20261128-000137-.md",
            "track-sync-2026112-0001370-abc.md",
            "track-sync-20261328-000137-abc.md",
            "track-sync-20261128-000137-abc.md.tmp",
            ".track-sync-20261128-000137-abc.md.x1.tmp",
            "notes.md",
            "track-sync-+0261128-000137-abc.md",
        ] {
            assert_eq!(parse_report_file_name(other), None, "{other}");
        }
    }
}
