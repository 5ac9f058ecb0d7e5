//! One table of exit codes for every command that runs or follows a sync:
//! `ingest-cli sync`, `demo` and `remote sync` (and so cron, which passes
//! `remote sync`'s on). 2 is left to the argument parser, as every clap
//! program and most Unix tools use it: a usage error.

use ingest_core::RunStatus;

/// The run succeeded.
pub const SUCCEEDED: u8 = 0;
/// The run failed, or could not start or be followed: the source or the
/// database unreachable, a setting refused, the API refusing the token or
/// unreachable.
pub const FAILED: u8 = 1;
/// Invalid arguments (clap's own code).
pub const USAGE: u8 = 2;
/// The deactivation guard held: the catalogue looked partial, nothing was
/// deactivated (`--force` overrides).
pub const GUARD_REFUSED: u8 = 3;
/// Not started: another run holds the source, or the kill switch
/// (`MRE_SCRAPE_ENABLED=false`) is on. Nothing is recorded.
pub const SKIPPED: u8 = 4;
/// Markup drift suspected: fields the pages lost were kept as stored.
pub const DRIFT_SUSPECTED: u8 = 5;
/// The site changed: a page could not be understood (format error).
pub const FORMAT_ERROR: u8 = 6;
/// Cancelled (a signal, or a cancel through the API); what was fetched is
/// stored, and the job can be resumed.
pub const CANCELLED: u8 = 7;

/// The table as `--help` prints it.
pub const HELP: &str = "\
Exit codes (sync, demo and remote sync):
  0  succeeded
  1  failed, or could not start or follow the run
  2  invalid arguments
  3  the deactivation guard held (nothing deactivated)
  4  not started: another run holds the source, or the kill switch is on
  5  markup drift suspected (lost fields kept as stored)
  6  the site changed: a page could not be understood
  7  cancelled (what was fetched is stored; resumable)";

/// The exit code of a run that ended with `status`.
pub fn for_status(status: RunStatus) -> u8 {
    match status {
        RunStatus::Succeeded => SUCCEEDED,
        RunStatus::Failed => FAILED,
        RunStatus::GuardRefused => GUARD_REFUSED,
        RunStatus::DriftSuspected => DRIFT_SUSPECTED,
        RunStatus::FormatError => FORMAT_ERROR,
        RunStatus::Cancelled => CANCELLED,
    }
}

/// The exit code of a job as the API describes it: its `status` and, when
/// its run finished, the run's status (`runStatus`).
pub fn for_job(status: &str, run_status: Option<&str>) -> u8 {
    match (status, run_status) {
        ("succeeded", Some("guard_refused")) => GUARD_REFUSED,
        ("succeeded", Some("drift_suspected")) => DRIFT_SUSPECTED,
        ("succeeded", _) => SUCCEEDED,
        ("cancelled", _) | (_, Some("cancelled")) => CANCELLED,
        (_, Some("format_error")) => FORMAT_ERROR,
        _ => FAILED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_run_status_has_its_own_code_and_none_is_clap_s() {
        let all = [
            RunStatus::Succeeded,
            RunStatus::Failed,
            RunStatus::GuardRefused,
            RunStatus::DriftSuspected,
            RunStatus::FormatError,
            RunStatus::Cancelled,
        ];
        let codes: std::collections::BTreeSet<u8> = all.iter().map(|s| for_status(*s)).collect();
        assert_eq!(codes.len(), all.len());
        assert!(!codes.contains(&USAGE) && !codes.contains(&SKIPPED));
        for s in all {
            assert!(HELP.contains(&format!("  {}  ", for_status(s))), "{s:?}");
            assert_eq!(for_job_of(s), for_status(s), "{s:?}");
        }
    }

    /// How the API shows a job whose run ended with `s`.
    fn for_job_of(s: RunStatus) -> u8 {
        let job = match s {
            RunStatus::Succeeded | RunStatus::GuardRefused | RunStatus::DriftSuspected => {
                "succeeded"
            }
            RunStatus::Cancelled => "cancelled",
            RunStatus::Failed | RunStatus::FormatError => "failed",
        };
        for_job(job, Some(s.as_str()))
    }
}
