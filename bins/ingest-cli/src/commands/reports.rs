//! `ingest-cli reports list|show`: run reports in the report directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use ingest_report::parse_report_file_name;

/// The `reports` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ReportsCommand {
    /// List run reports, newest first.
    List {
        #[arg(
            long = "report-dir",
            env = "MRE_TRACK_SYNC_REPORT_DIR",
            default_value = "docs/reports"
        )]
        report_dir: PathBuf,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Print one report: by run id (or a prefix of it), file name, or `latest`.
    Show {
        /// Run id, run-id prefix, file name, or `latest`.
        which: String,
        #[arg(
            long = "report-dir",
            env = "MRE_TRACK_SYNC_REPORT_DIR",
            default_value = "docs/reports"
        )]
        report_dir: PathBuf,
    },
}

pub(crate) async fn run(command: ReportsCommand, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match command {
        ReportsCommand::List { report_dir, limit } => {
            let reports = list(&report_dir)?;
            if reports.is_empty() {
                writeln!(out, "no reports in {}", report_dir.display())?;
            }
            for (name, time) in reports.iter().take(limit) {
                writeln!(out, "{}  {}", time.format("%Y-%m-%d %H:%M:%S UTC"), name)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ReportsCommand::Show { which, report_dir } => {
            let reports = list(&report_dir)?;
            let wanted = which.trim().trim_end_matches(".md").replace('-', "");
            let found = if which == "latest" {
                reports.first()
            } else {
                reports.iter().find(|(name, _)| {
                    name == &which
                        || name
                            .trim_end_matches(".md")
                            .rsplit('-')
                            .next()
                            .is_some_and(|id| id.starts_with(&wanted))
                })
            };
            let Some((name, _)) = found else {
                anyhow::bail!("no report {which:?} in {}", report_dir.display());
            };
            let body = std::fs::read_to_string(report_dir.join(name))
                .with_context(|| format!("reading {name}"))?;
            out.write_all(body.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Report files in `dir`, newest first.
fn list(dir: &Path) -> anyhow::Result<Vec<(String, chrono::DateTime<chrono::Utc>)>> {
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
