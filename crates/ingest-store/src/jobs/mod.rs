//! The durable sync-job queue (`ingest_core::JobQueue`): table `sync_jobs`
//! (one row per job, whose id is the run id) and `sync_job_tracks` (the
//! checkpoint's done set), both in migration 0003.
//!
//! The queue is written once (`queue`, over a `Driver`); this module holds
//! what its statements bind and read: the columns a job is read from,
//! reading them back into a [`Job`], and the checked values of a new job, a
//! progress sample and an outcome. The lease fence the track repository runs
//! before a checkpointed batch lives in `lease`, which the queue's own
//! fenced writes share.

pub(crate) mod queue;

use std::time::Duration;

use ingest_core::{
    Job, JobError, JobId, JobOutcome, JobProgress, JobRequest, JobStatus, Lease, Stage,
    SyncSummary, Trigger,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::job_from_repo;
use crate::row::ColumnReader;

/// The longest lease or retry delay stored; longer ones are cut to it, so
/// `now() + delay` stays far inside both backends' time range.
const MAX_DELAY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// A job's columns, in the order every `SELECT` and `RETURNING` names them.
pub(crate) const JOB_COLUMNS: &str = "id, source, status, trigger, request, attempts, \
     max_attempts, cancel_requested, stage, processed, total, eta_seconds, summary, error, \
     created_at, started_at, completed_at, run_after, lease_owner, lease_token, \
     lease_expires_at, updated_at";

/// A delay as whole microseconds (what the statements add to the database
/// clock), cut to [`MAX_DELAY`].
pub(crate) fn delay_micros(delay: Duration) -> i64 {
    i64::try_from(delay.min(MAX_DELAY).as_micros()).unwrap_or(i64::MAX)
}

/// A serde enum as the text it is stored as (`"api"`, `"dashboards"`).
pub(crate) fn enum_text<T: Serialize>(value: T) -> Result<String, JobError> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => Ok(text),
        Ok(other) => Err(JobError::Store(format!(
            "{other} is not stored as a text value"
        ))),
        Err(e) => Err(JobError::Store(e.to_string())),
    }
}

/// Read a stored enum text back.
fn parse_enum<T: DeserializeOwned>(col: &str, text: String) -> Result<T, JobError> {
    serde_json::from_value(serde_json::Value::String(text)).map_err(|e| unreadable(col, e))
}

/// Encode a JSON column's value.
pub(crate) fn to_json(
    context: &str,
    value: &impl Serialize,
) -> Result<serde_json::Value, JobError> {
    serde_json::to_value(value)
        .map_err(|e| JobError::Store(format!("{context}: cannot encode as JSON: {e}")))
}

fn unreadable(col: &str, err: impl std::fmt::Display) -> JobError {
    JobError::Store(format!("stored job is not readable: column {col}: {err}"))
}

/// A count the schema keeps within `0..=u32::MAX`.
fn count(r: &impl ColumnReader, col: &str) -> Result<u32, JobError> {
    let value = r.int(col).map_err(job_from_repo)?;
    u32::try_from(value).map_err(|e| unreadable(col, e))
}

fn big_count(r: &impl ColumnReader, col: &str) -> Result<u64, JobError> {
    let value = r.int(col).map_err(job_from_repo)?;
    u64::try_from(value).map_err(|e| unreadable(col, e))
}

/// A row selected with [`JOB_COLUMNS`], and its lease token.
pub(crate) fn job(r: &impl ColumnReader) -> Result<(Job, i64), JobError> {
    let status_text = r.text("status").map_err(job_from_repo)?;
    let status = status_text
        .parse::<JobStatus>()
        .map_err(|e| unreadable("status", e))?;
    let request: JobRequest = match r.json("request").map_err(job_from_repo)? {
        Some(value) => serde_json::from_value(value).map_err(|e| unreadable("request", e))?,
        None => return Err(unreadable("request", "NULL")),
    };
    let summary: Option<SyncSummary> = r
        .json("summary")
        .map_err(job_from_repo)?
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| unreadable("summary", e))?;
    let stage: Stage = parse_enum("stage", r.text("stage").map_err(job_from_repo)?)?;
    let trigger: Trigger = parse_enum("trigger", r.text("trigger").map_err(job_from_repo)?)?;
    let job = Job {
        id: r.uuid("id").map_err(job_from_repo)?,
        source: r.text("source").map_err(job_from_repo)?,
        status,
        trigger,
        request,
        attempts: count(r, "attempts")?,
        max_attempts: count(r, "max_attempts")?,
        cancel_requested: r.boolean("cancel_requested").map_err(job_from_repo)?,
        progress: JobProgress {
            stage,
            processed: big_count(r, "processed")?,
            total: big_count(r, "total")?,
            eta_seconds: r.opt_float("eta_seconds").map_err(job_from_repo)?,
        },
        summary,
        error: r.opt_text("error").map_err(job_from_repo)?,
        created_at: r.time("created_at").map_err(job_from_repo)?,
        started_at: r.opt_time("started_at").map_err(job_from_repo)?,
        completed_at: r.opt_time("completed_at").map_err(job_from_repo)?,
        run_after: r.time("run_after").map_err(job_from_repo)?,
        lease_owner: r.opt_text("lease_owner").map_err(job_from_repo)?,
        lease_expires_at: r.opt_time("lease_expires_at").map_err(job_from_repo)?,
        updated_at: r.time("updated_at").map_err(job_from_repo)?,
    };
    let token = r.int("lease_token").map_err(job_from_repo)?;
    Ok((job, token))
}

/// A new job's values, checked.
pub(crate) struct NewJobValues {
    pub(crate) trigger: String,
    pub(crate) request: serde_json::Value,
    pub(crate) max_attempts: i64,
}

impl NewJobValues {
    pub(crate) fn new(job: &ingest_core::NewJob) -> Result<Self, JobError> {
        if job.source.is_empty() {
            return Err(JobError::Store("enqueue: the source is empty".into()));
        }
        if job.max_attempts < 1 {
            return Err(JobError::Store(
                "enqueue: max_attempts must be at least 1".into(),
            ));
        }
        Ok(NewJobValues {
            trigger: enum_text(job.trigger)?,
            request: to_json("enqueue: request", &job.request)?,
            max_attempts: i64::from(job.max_attempts),
        })
    }
}

/// A progress sample's values, checked: counts fit the columns, and an ETA
/// that is not a finite number is stored as unknown.
pub(crate) struct ProgressValues {
    pub(crate) stage: String,
    pub(crate) processed: i64,
    pub(crate) total: i64,
    pub(crate) eta_seconds: Option<f64>,
}

impl ProgressValues {
    pub(crate) fn new(progress: &JobProgress) -> Result<Self, JobError> {
        let fit = |n: u64, what: &str| {
            i64::try_from(n)
                .map_err(|_| JobError::Store(format!("report_progress: {what} {n} is too large")))
        };
        Ok(ProgressValues {
            stage: enum_text(progress.stage)?,
            processed: fit(progress.processed, "processed")?,
            total: fit(progress.total, "total")?,
            eta_seconds: progress.eta_seconds.filter(|eta| eta.is_finite()),
        })
    }
}

/// How `finish` changes the row, with its values checked.
pub(crate) enum FinishValues {
    /// A final status; the lease is released.
    Finished {
        status: &'static str,
        summary: Option<serde_json::Value>,
        error: Option<String>,
    },
    /// Back to `queued` after `delay_micros`, or `failed` when the retry
    /// budget is spent.
    Retry {
        delay_micros: i64,
        summary: Option<serde_json::Value>,
        error: String,
    },
    /// Back to `queued` now, the attempt not counted.
    Released,
}

impl FinishValues {
    pub(crate) fn new(lease: &Lease, outcome: &JobOutcome) -> Result<Self, JobError> {
        let summary = |s: &Option<SyncSummary>| {
            s.as_ref()
                .map(|s| to_json("finish: summary", s))
                .transpose()
        };
        Ok(match outcome {
            JobOutcome::Finished {
                status,
                summary: s,
                error,
            } => {
                if !status.is_final() {
                    return Err(JobError::InvalidState {
                        job_id: lease.job_id,
                        status: JobStatus::Running,
                        message: format!(
                            "an attempt finishes with succeeded, failed or cancelled, not {status}"
                        ),
                    });
                }
                FinishValues::Finished {
                    status: status.as_str(),
                    summary: summary(s)?,
                    error: error.clone(),
                }
            }
            JobOutcome::Retry {
                after,
                summary: s,
                error,
            } => FinishValues::Retry {
                delay_micros: delay_micros(*after),
                summary: summary(s)?,
                error: error.clone(),
            },
            JobOutcome::Released => FinishValues::Released,
        })
    }
}

/// The error of a call that needs the job in another state: `NotFound`
/// when there is no such job, `InvalidState` naming its status otherwise.
pub(crate) fn not_in_state(job_id: JobId, found: Option<&Job>, message: &str) -> JobError {
    match found {
        None => JobError::NotFound(job_id),
        Some(job) => JobError::InvalidState {
            job_id,
            status: job.status,
            message: message.to_owned(),
        },
    }
}

/// The messages of refused transitions.
pub(crate) const CANCEL_FINAL: &str = "a finished job cannot be cancelled";
pub(crate) const RESUME_NOT_STOPPED: &str = "only a failed or cancelled job can be resumed";

/// How often `enqueue` and `resume` look again when the active job that
/// blocked them finished in between.
pub(crate) const ACTIVE_RETRIES: usize = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_are_stored_as_their_serde_names() {
        assert_eq!(enum_text(Trigger::Api).expect("text"), "api");
        assert_eq!(enum_text(Stage::Dashboards).expect("text"), "dashboards");
        let stage: Stage = parse_enum("stage", "deactivation".into()).expect("parses");
        assert_eq!(stage, Stage::Deactivation);
        assert!(parse_enum::<Stage>("stage", "nonsense".into()).is_err());
    }

    #[test]
    fn delays_are_microseconds_and_capped() {
        assert_eq!(delay_micros(Duration::from_millis(1500)), 1_500_000);
        assert_eq!(delay_micros(Duration::ZERO), 0);
        assert_eq!(
            delay_micros(Duration::MAX),
            i64::try_from(MAX_DELAY.as_micros()).expect("fits")
        );
    }

    #[test]
    fn progress_values_are_checked() {
        let mut p = JobProgress {
            stage: Stage::Database,
            processed: 5,
            total: 10,
            eta_seconds: Some(f64::NAN),
        };
        let v = ProgressValues::new(&p).expect("valid");
        assert_eq!(
            (v.stage.as_str(), v.processed, v.total),
            ("database", 5, 10)
        );
        assert_eq!(v.eta_seconds, None);
        p.total = u64::MAX;
        assert!(matches!(ProgressValues::new(&p), Err(JobError::Store(_))));
    }

    #[test]
    fn finish_needs_a_final_status() {
        let lease = Lease {
            job_id: uuid::Uuid::nil(),
            token: 1,
        };
        let outcome = JobOutcome::Finished {
            status: JobStatus::Queued,
            summary: None,
            error: None,
        };
        assert!(matches!(
            FinishValues::new(&lease, &outcome),
            Err(JobError::InvalidState { .. })
        ));
        assert!(matches!(
            FinishValues::new(&lease, &JobOutcome::Released),
            Ok(FinishValues::Released)
        ));
    }
}
