//! `ingest-cli reports list|show`: run reports, from the database archive
//! (every run, whichever process or machine ran it: the CLI, a worker, the
//! API's worker) or, with `--files`, from the report directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use ingest_app::config::DatabaseConfig;
use ingest_core::{ArchivedReportSummary, ReportArchive, SOURCE_LIVERC};
use ingest_report::parse_report_file_name;

/// The `reports` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ReportsCommand {
    /// List run reports, newest first.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Print JSON (one array of the archive's report summaries).
        #[arg(long, conflicts_with = "files")]
        json: bool,
        #[command(flatten)]
        from: ReportSource,
    },
    /// Print one report: by run id (or a prefix of it), file name, or `latest`.
    ///
    /// On a terminal the report is laid out as text (aligned tables, no
    /// Markdown escapes, styles unless NO_COLOR); piped or redirected it is
    /// the Markdown itself. `--format` chooses.
    Show {
        /// Run id, run-id prefix, file name, or `latest`.
        which: String,
        /// `text` (laid out for reading), `markdown` (the report's source),
        /// or `auto`: text on a terminal, Markdown otherwise.
        #[arg(long, value_enum, default_value_t = ShowFormat::Auto)]
        format: ShowFormat,
        #[command(flatten)]
        from: ReportSource,
    },
}

/// How `reports show` prints a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ShowFormat {
    /// Text on a terminal, Markdown when piped or redirected.
    Auto,
    /// Laid out for reading.
    Text,
    /// The Markdown source, as stored.
    Markdown,
}

impl ShowFormat {
    /// Whether to lay the report out as text, and with ANSI styles.
    fn layout(self) -> Option<bool> {
        use std::io::IsTerminal as _;
        let terminal = std::io::stdout().is_terminal();
        let styled = terminal && !ingest_app::runtime::no_color(std::env::var_os("NO_COLOR"));
        match self {
            ShowFormat::Markdown => None,
            ShowFormat::Text => Some(styled),
            ShowFormat::Auto => terminal.then_some(styled),
        }
    }
}

/// `body` as `format` asks.
fn shown(body: &str, format: ShowFormat) -> String {
    match format.layout() {
        Some(styled) => ingest_report::render_terminal(body, styled),
        None => body.to_owned(),
    }
}

/// Where reports are read from.
#[derive(Debug, Args)]
pub(crate) struct ReportSource {
    /// Read the report files in `--report-dir` instead of the database
    /// archive (which holds every run's report, wherever it ran).
    #[arg(long)]
    files: bool,
    /// The report directory, with `--files`.
    #[arg(
        long = "report-dir",
        env = "MRE_TRACK_SYNC_REPORT_DIR",
        default_value = "docs/reports"
    )]
    report_dir: PathBuf,
    #[command(flatten)]
    database: DatabaseConfig,
}

/// Runs scanned when a report is named by a run-id prefix or file name.
const SEARCHED_RUNS: u32 = 10_000;

pub(crate) async fn run(command: ReportsCommand, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match command {
        ReportsCommand::List { limit, from, .. } if from.files => {
            list_report_files(&from.report_dir, limit, out)?;
        }
        ReportsCommand::List { limit, from, json } => {
            let archive = open_archive(&from.database).await?;
            let reports = archive.list_reports(SOURCE_LIVERC, limit).await?;
            if json {
                serde_json::to_writer_pretty(&mut *out, &reports)?;
                writeln!(out)?;
                return Ok(ExitCode::SUCCESS);
            }
            if reports.is_empty() {
                // The demo's runs, say, are in its own database; the files
                // are still worth showing.
                writeln!(
                    out,
                    "no reports in the database; the files in {}:",
                    from.report_dir.display()
                )?;
                list_report_files(&from.report_dir, limit, out)?;
            }
            for r in &reports {
                writeln!(
                    out,
                    "{}  {:<13}  {:<6}  {}  {}",
                    r.finished_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    r.status,
                    r.trigger,
                    r.run_id,
                    r.file_name
                )?;
            }
        }
        ReportsCommand::Show {
            which,
            format,
            from,
        } if from.files => {
            show_report_file(&which, &from.report_dir, format, out)?;
        }
        ReportsCommand::Show {
            which,
            format,
            from,
        } => {
            let archive = open_archive(&from.database).await?;
            let limit = if which == "latest" { 1 } else { SEARCHED_RUNS };
            let reports = archive.list_reports(SOURCE_LIVERC, limit).await?;
            let found: Option<&ArchivedReportSummary> = if which == "latest" {
                reports.first()
            } else {
                pick(
                    &which,
                    reports
                        .iter()
                        .map(|r| (r.file_name.as_str(), r.run_id.to_string())),
                )?
                .and_then(|name| reports.iter().find(|r| r.file_name == name))
            };
            let report = match found {
                Some(found) => archive.get_report(found.run_id).await?,
                None => None,
            };
            match report {
                Some(report) => out.write_all(shown(&report.body, format).as_bytes())?,
                // Not archived here (another database's run): the report
                // file, if there is one.
                None => show_report_file(&which, &from.report_dir, format, out).map_err(|_| {
                    anyhow::anyhow!(
                        "no report {which:?} in the database nor in {}",
                        from.report_dir.display()
                    )
                })?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The report files in `dir`, newest first.
fn list_report_files(dir: &Path, limit: u32, out: &mut dyn Write) -> anyhow::Result<()> {
    let reports = list_files(dir)?;
    if reports.is_empty() {
        writeln!(out, "no reports in {}", dir.display())?;
    }
    for (name, time) in reports.iter().take(limit as usize) {
        writeln!(out, "{}  {}", time.format("%Y-%m-%d %H:%M:%S UTC"), name)?;
    }
    Ok(())
}

/// Print the report file `which` names in `dir`.
fn show_report_file(
    which: &str,
    dir: &Path,
    format: ShowFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let reports = list_files(dir)?;
    let name = if which == "latest" {
        reports.first().map(|(name, _)| name.as_str())
    } else {
        pick(
            which,
            reports
                .iter()
                .map(|(name, _)| (name.as_str(), run_id_of(name))),
        )?
    };
    let Some(name) = name else {
        anyhow::bail!("no report {which:?} in {}", dir.display());
    };
    let body =
        std::fs::read_to_string(dir.join(name)).with_context(|| format!("reading {name}"))?;
    out.write_all(shown(&body, format).as_bytes())?;
    Ok(())
}

async fn open_archive(
    database: &DatabaseConfig,
) -> anyhow::Result<std::sync::Arc<dyn ReportArchive>> {
    Ok(super::open_existing(database).await?.reports)
}

/// The one report `which` names among `(file name, run id)` pairs: by file
/// name (`.md` optional), or by a prefix of the run id (hyphens optional). A
/// prefix that fits several is an error naming how many.
fn pick<'a>(
    which: &str,
    reports: impl Iterator<Item = (&'a str, String)>,
) -> anyhow::Result<Option<&'a str>> {
    let which = which.trim();
    let file = which.trim_end_matches(".md");
    let prefix = which.replace('-', "").to_ascii_lowercase();
    let mut by_prefix = Vec::new();
    for (name, run_id) in reports {
        if name.trim_end_matches(".md") == file {
            return Ok(Some(name));
        }
        if !prefix.is_empty() && run_id.replace('-', "").starts_with(&prefix) {
            by_prefix.push(name);
        }
    }
    match by_prefix.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => anyhow::bail!(
            "{which:?} is the start of {} run ids; give more of it",
            many.len()
        ),
    }
}

/// The run id at the end of a report file name (hyphen-free, as
/// `report_file_name` writes it).
fn run_id_of(name: &str) -> String {
    name.trim_end_matches(".md")
        .rsplit('-')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Report files in `dir`, newest first.
fn list_files(dir: &Path) -> anyhow::Result<Vec<(String, chrono::DateTime<chrono::Utc>)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    let mut out: Vec<_> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            parse_report_file_name(&name).map(|t| (name, t))
        })
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // File names carry the run id without hyphens.
    const A: &str = "track-sync-20261129-010203-0193ab12000070008000000000000001.md";
    const B: &str = "track-sync-20261129-020203-0193ab99000070008000000000000002.md";

    fn reports() -> impl Iterator<Item = (&'static str, String)> {
        [A, B].into_iter().map(|n| (n, run_id_of(n)))
    }

    #[test]
    fn a_report_is_named_by_file_or_run_id_prefix() {
        assert_eq!(pick(A, reports()).expect("file"), Some(A));
        assert_eq!(
            pick(A.trim_end_matches(".md"), reports()).expect("stem"),
            Some(A)
        );
        assert_eq!(pick("0193ab99", reports()).expect("prefix"), Some(B));
        assert_eq!(pick("0193AB12-0000", reports()).expect("hyphens"), Some(A));
        assert_eq!(pick("ffff", reports()).expect("none"), None);
        let err = pick("0193ab", reports()).expect_err("ambiguous");
        assert!(err.to_string().contains("start of 2 run ids"), "{err}");
    }
}
