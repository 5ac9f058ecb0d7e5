//! `ingest-cli liverc …`: offline tools for the LiveRC connector.
//!
//! `parse-catalogue FILE [--fetched-at RFC3339]` and `parse-dashboard FILE`
//! run the connector's pure parsers on a saved page and print the parsed
//! record as pretty JSON on stdout, with the field names later tools rely on
//! (absent values as `null`). Nothing here touches the network.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde::Serialize;

use super::CommandError;

/// The `liverc` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum LivercCommand {
    /// Parse a saved catalogue page (https://live.liverc.com/) and print it as JSON.
    ParseCatalogue {
        /// The saved HTML page.
        file: PathBuf,
        /// When the page was fetched (RFC 3339); relative "last updated"
        /// texts are read against it. Defaults to now.
        #[arg(long, value_parser = parse_rfc3339)]
        fetched_at: Option<DateTime<Utc>>,
    },
    /// Parse a saved track dashboard (https://{slug}.liverc.com/) and print it as JSON.
    ParseDashboard {
        /// The saved HTML page.
        file: PathBuf,
    },
}

/// Runs `command`, writing its JSON to `out`.
pub(crate) fn run(command: LivercCommand, out: &mut impl Write) -> Result<(), CommandError> {
    match command {
        LivercCommand::ParseCatalogue { file, fetched_at } => {
            let html = read_page(&file)?;
            let fetched_at = fetched_at.unwrap_or_else(Utc::now);
            let catalogue = ::liverc::parse_catalogue(&html, fetched_at).map_err(|source| {
                CommandError::Format {
                    path: file.clone(),
                    source,
                }
            })?;
            tracing::info!(
                file = %file.display(),
                entries = catalogue.entries.len(),
                skipped = catalogue.skipped.len(),
                "parsed catalogue"
            );
            write_json(out, &catalogue)
        }
        LivercCommand::ParseDashboard { file } => {
            let html = read_page(&file)?;
            let dashboard =
                ::liverc::parse_dashboard(&html).map_err(|source| CommandError::Format {
                    path: file.clone(),
                    source,
                })?;
            tracing::info!(file = %file.display(), name = ?dashboard.name, "parsed dashboard");
            write_json(out, &dashboard)
        }
    }
}

/// Reads a saved page; bytes that are not UTF-8 are replaced, as a browser would.
fn read_page(path: &Path) -> Result<String, CommandError> {
    let bytes = std::fs::read(path).map_err(|source| CommandError::Unreadable {
        path: path.to_owned(),
        source,
    })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn write_json(out: &mut impl Write, value: &impl Serialize) -> Result<(), CommandError> {
    serde_json::to_writer_pretty(&mut *out, value).context("writing JSON to stdout")?;
    writeln!(out).context("writing to stdout")?;
    out.flush().context("flushing stdout")?;
    Ok(())
}

fn parse_rfc3339(value: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(value)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|error| format!("expected an RFC 3339 time such as 2025-12-06T12:00:00Z: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_goes_to_the_writer() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("stats.html");
        std::fs::write(
            &path,
            r#"<div class="panel"><div class="panel-heading">Lifetime Track Stats</div>
               <table><tr><th>Laps</th><td class="text-right">1,234</td></tr></table></div>"#,
        )
        .expect("write fixture");
        let mut out = Vec::new();
        run(LivercCommand::ParseDashboard { file: path }, &mut out).expect("parses");
        let json: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
        assert_eq!(json["total_laps"], 1234);
        assert!(json["name"].is_null());
    }

    #[test]
    fn failures_map_to_exit_codes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("missing.html");
        let error = run(
            LivercCommand::ParseDashboard { file: missing },
            &mut Vec::new(),
        )
        .expect_err("missing file");
        assert!(matches!(error, CommandError::Unreadable { .. }));
        assert_eq!(error.exit_code(), std::process::ExitCode::from(2));

        let not_a_page = dir.path().join("other.html");
        std::fs::write(&not_a_page, "<p>hello</p>").expect("write fixture");
        let error = run(
            LivercCommand::ParseCatalogue {
                file: not_a_page,
                fetched_at: None,
            },
            &mut Vec::new(),
        )
        .expect_err("not a catalogue");
        assert!(matches!(error, CommandError::Format { .. }));
        assert_eq!(error.exit_code(), std::process::ExitCode::from(1));
    }

    #[test]
    fn fetched_at_must_be_rfc3339() {
        assert_eq!(
            parse_rfc3339("2025-12-06T12:00:00Z").map(|t| t.timestamp()),
            Ok(1_765_022_400)
        );
        assert!(parse_rfc3339("2025-12-06").is_err());
    }
}
