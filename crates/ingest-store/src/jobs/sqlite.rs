//! The job queue on SQLite: the same statements as on Postgres, each write
//! in a `BEGIN IMMEDIATE` transaction on the repository's single writer
//! connection, so a claim (and every check-then-write) is serialised without
//! row locks. The database clock is SQLite's `'now'` (milliseconds), written
//! in the schema's fixed-width text form.
//!
//! Idle workers wait on a `tokio::sync::Notify` shared by every queue this
//! process opens on the same database file. Another process writing the
//! file is not seen until the worker's next poll.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use ingest_core::{
    Checkpoint, ClaimedJob, Heartbeat, Job, JobError, JobId, JobOutcome, JobProgress, JobQueue,
    JobStatus, Lease, NewJob, RepositoryError,
};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Sqlite, Transaction};
use tokio::sync::Notify;
use uuid::Uuid;

use super::{
    CANCEL_FINAL, FinishValues, JOB_COLUMNS, JobRow, NewJobValues, ProgressValues,
    RESUME_NOT_STOPPED, delay_micros, lease_lost, not_in_state,
};
use crate::error::{Dialect, ctx, job_ctx, job_from_repo};
use crate::row::{self, ColumnReader};
use crate::sqlite::SqliteTrackRepository;

const SQ: Dialect = Dialect::Sqlite;

/// The database clock as a stored timestamp (`'now'` has milliseconds; the
/// microsecond digits are 0).
const NOW: &str = "(strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')";

/// The fence of every write a lease holder makes: `?1` job id, `?2` token.
const FENCE: &str = "id = ?1 AND lease_token = ?2 AND status = 'running'";

/// The retry budget is not spent.
const BUDGET_LEFT: &str = "attempts - attempts_base < max_attempts";

/// The database clock plus the delay in parameter `param` (a modifier made
/// by [`delay_modifier`]).
fn now_plus(param: &str) -> String {
    format!("(strftime('%Y-%m-%dT%H:%M:%f', 'now', {param}) || '000Z')")
}

/// The done set of a job that succeeded.
const DROP_DONE_SET: &str = "DELETE FROM sync_job_tracks WHERE job_id = ?1";

/// A delay (in microseconds, see [`delay_micros`]) as a SQLite date
/// modifier: `+S.ffffff seconds`.
fn delay_modifier(micros: i64) -> String {
    format!("+{}.{:06} seconds", micros / 1_000_000, micros % 1_000_000)
}

impl JobRow for SqliteRow {
    fn uuid(&self, col: &str) -> Result<JobId, RepositoryError> {
        let text = self.text(col)?;
        Uuid::parse_str(&text).map_err(|e| row::corrupt(col, e))
    }

    fn json(&self, col: &str) -> Result<Option<serde_json::Value>, RepositoryError> {
        self.opt_text(col)?
            .map(|text| serde_json::from_str(&text).map_err(|e| row::corrupt(col, e)))
            .transpose()
    }
}

fn job(r: &SqliteRow) -> Result<Job, JobError> {
    super::job(r).map(|(job, _)| job)
}

fn id_text(job_id: JobId) -> String {
    job_id.hyphenated().to_string()
}

fn json_text(value: &serde_json::Value) -> String {
    value.to_string()
}

/// Wrap a statement built once at first use.
macro_rules! statement {
    ($(#[$meta:meta])* $name:ident = $($fmt:tt)+) => {
        $(#[$meta])*
        static $name: LazyLock<String> = LazyLock::new(|| format!($($fmt)+));
    };
}

statement! {
    ACTIVE_OF_SOURCE = "SELECT {JOB_COLUMNS} FROM sync_jobs
WHERE source = ?1 AND status IN ('queued', 'running')"
}

statement! {
    ENQUEUE = "INSERT INTO sync_jobs
    (id, source, trigger, request, max_attempts, created_at, run_after, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, {NOW}, {NOW}, {NOW})
ON CONFLICT (source) WHERE status IN ('queued', 'running') DO NOTHING
RETURNING {JOB_COLUMNS}"
}

statement! {
    /// Fail the running jobs whose lease expired after their last allowed
    /// attempt.
    FAIL_LOST = "UPDATE sync_jobs
SET status = 'failed',
    error = 'worker lost its lease after ' || (attempts - attempts_base) || ' attempts',
    completed_at = {NOW}, lease_owner = NULL, lease_expires_at = NULL, updated_at = {NOW}
WHERE status = 'running' AND lease_expires_at <= {NOW}
  AND attempts - attempts_base >= max_attempts
RETURNING id"
}

statement! {
    /// Take the oldest due job: queued and past `run_after`, or running
    /// with an expired lease and attempts left. Its token and attempts grow.
    CLAIM = "UPDATE sync_jobs
SET status = 'running', lease_owner = ?1, lease_expires_at = {until},
    lease_token = lease_token + 1, attempts = attempts + 1,
    started_at = COALESCE(started_at, {NOW}), updated_at = {NOW}
WHERE id = (
    SELECT id FROM sync_jobs
    WHERE status IN ('queued', 'running')
      AND ((status = 'queued' AND run_after <= {NOW})
        OR (status = 'running' AND lease_expires_at <= {NOW} AND {BUDGET_LEFT}))
    ORDER BY created_at, id
    LIMIT 1)
RETURNING {JOB_COLUMNS}",
    until = now_plus("?2")
}

statement! {
    /// `start_claimed`, first: fail the source's running job whose lease
    /// expired after its last allowed attempt.
    FAIL_LOST_OF_SOURCE = "UPDATE sync_jobs
SET status = 'failed',
    error = 'worker lost its lease after ' || (attempts - attempts_base) || ' attempts',
    completed_at = {NOW}, lease_owner = NULL, lease_expires_at = NULL, updated_at = {NOW}
WHERE source = ?1 AND status = 'running' AND lease_expires_at <= {NOW}
  AND attempts - attempts_base >= max_attempts
RETURNING id"
}

statement! {
    /// `start_claimed`, then: take over the source's running job whose lease
    /// expired (as `CLAIM` would): `?2` owner, `?3` lease modifier.
    TAKE_OVER = "UPDATE sync_jobs
SET lease_owner = ?2, lease_expires_at = {until},
    lease_token = lease_token + 1, attempts = attempts + 1,
    started_at = COALESCE(started_at, {NOW}), updated_at = {NOW}
WHERE source = ?1 AND status = 'running' AND lease_expires_at <= {NOW} AND {BUDGET_LEFT}
RETURNING {JOB_COLUMNS}",
    until = now_plus("?3")
}

statement! {
    /// `start_claimed`, else: a new job, running already under the caller's
    /// lease (`?6` owner, `?7` lease modifier), unless the source has an
    /// active job.
    START_CLAIMED = "INSERT INTO sync_jobs
    (id, source, status, trigger, request, attempts, max_attempts, created_at, started_at,
     run_after, lease_owner, lease_token, lease_expires_at, updated_at)
VALUES (?1, ?2, 'running', ?3, ?4, 1, ?5, {NOW}, {NOW}, {NOW}, ?6, 1, {until}, {NOW})
ON CONFLICT (source) WHERE status IN ('queued', 'running') DO NOTHING
RETURNING {JOB_COLUMNS}",
    until = now_plus("?7")
}

statement! {
    HEARTBEAT = "UPDATE sync_jobs
SET lease_expires_at = {until}, updated_at = {NOW}
WHERE {FENCE}
RETURNING cancel_requested",
    until = now_plus("?3")
}

statement! {
    PROGRESS = "UPDATE sync_jobs
SET stage = ?3, processed = ?4, total = ?5, eta_seconds = ?6, updated_at = {NOW}
WHERE {FENCE}"
}

statement! {
    /// A succeeded job cannot be resumed: its carried state goes (and its
    /// done set, by [`DROP_DONE_SET`] in the same transaction).
    FINISHED = "UPDATE sync_jobs
SET status = ?3, summary = ?4, error = ?5, completed_at = {NOW},
    lease_owner = NULL, lease_expires_at = NULL, updated_at = {NOW},
    checkpoint_state = CASE WHEN ?3 = 'succeeded' THEN NULL ELSE checkpoint_state END
WHERE {FENCE}
RETURNING {JOB_COLUMNS}"
}

statement! {
    /// Final jobs completed more than `?1` (a negative modifier) ago; their
    /// done sets go by `ON DELETE CASCADE`.
    PRUNE = "DELETE FROM sync_jobs
WHERE status IN ('succeeded', 'failed', 'cancelled') AND completed_at < {cutoff}",
    cutoff = now_plus("?1")
}

statement! {
    /// Back to `queued` after the delay `?5`, or `failed` when the retry
    /// budget is spent (the worker cannot tell: it does not see
    /// `attempts_base`).
    RETRY = "UPDATE sync_jobs
SET status = CASE WHEN {BUDGET_LEFT} THEN 'queued' ELSE 'failed' END,
    run_after = CASE WHEN {BUDGET_LEFT} THEN {until} ELSE run_after END,
    completed_at = CASE WHEN {BUDGET_LEFT} THEN NULL ELSE {NOW} END,
    error = CASE WHEN {BUDGET_LEFT} THEN ?4
        ELSE ?4 || ' (gave up after ' || (attempts - attempts_base) || ' attempts)' END,
    summary = ?3, lease_owner = NULL, lease_expires_at = NULL, updated_at = {NOW}
WHERE {FENCE}
RETURNING {JOB_COLUMNS}",
    until = now_plus("?5")
}

statement! {
    /// Back to `queued` now; the attempt does not count.
    RELEASED = "UPDATE sync_jobs
SET status = 'queued', run_after = {NOW}, attempts = max(attempts - 1, attempts_base),
    lease_owner = NULL, lease_expires_at = NULL, updated_at = {NOW}
WHERE {FENCE}
RETURNING {JOB_COLUMNS}"
}

statement! {
    GET = "SELECT {JOB_COLUMNS} FROM sync_jobs WHERE id = ?1"
}

statement! {
    LIST = "SELECT {JOB_COLUMNS} FROM sync_jobs ORDER BY created_at DESC, id DESC LIMIT ?1"
}

statement! {
    /// A queued job is cancelled at once; a running one is flagged.
    CANCEL = "UPDATE sync_jobs
SET status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
    completed_at = CASE WHEN status = 'queued' THEN {NOW} ELSE completed_at END,
    cancel_requested = 1, updated_at = {NOW}
WHERE id = ?1 AND status IN ('queued', 'running')
RETURNING {JOB_COLUMNS}"
}

statement! {
    /// Queue a stopped job again; the retry budget starts from here.
    RESUME = "UPDATE sync_jobs
SET status = 'queued', cancel_requested = 0, completed_at = NULL, error = NULL,
    attempts_base = attempts, run_after = {NOW}, updated_at = {NOW}
WHERE id = ?1 AND status IN ('failed', 'cancelled')
RETURNING {JOB_COLUMNS}"
}

statement! {
    /// The track repository's fence; `?3` (when not NULL) becomes the
    /// checkpoint state.
    FENCE_WRITE = "UPDATE sync_jobs
SET checkpoint_state = coalesce(?3, checkpoint_state), updated_at = {NOW}
WHERE {FENCE}"
}

/// The wake-up of every queue this process opened on one database file.
static WAKERS: LazyLock<Mutex<HashMap<PathBuf, Weak<Notify>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The `Notify` of the database behind `pool`: shared with the other queues
/// of this process on the same file, private for an in-memory database.
fn waker_for(pool: &SqlitePool) -> Arc<Notify> {
    let options = pool.connect_options();
    let file = options.get_filename();
    let name = file.to_string_lossy();
    if name.is_empty() || name.contains(":memory:") || name.contains("mode=memory") {
        return Arc::new(Notify::new());
    }
    let key = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let mut wakers = WAKERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    wakers.retain(|_, weak| weak.strong_count() > 0);
    if let Some(existing) = wakers.get(&key).and_then(Weak::upgrade) {
        return existing;
    }
    let notify = Arc::new(Notify::new());
    wakers.insert(key, Arc::downgrade(&notify));
    notify
}

/// The job queue on SQLite.
#[derive(Debug, Clone)]
pub struct SqliteJobQueue {
    /// The repository's single writer connection.
    writer: SqlitePool,
    /// Its read-only connections.
    reader: SqlitePool,
    /// Wakes idle workers of this process.
    woken: Arc<Notify>,
}

impl SqliteJobQueue {
    /// The queue in the repository's database (migrated, so `sync_jobs`
    /// exists), over the repository's connections.
    pub fn new(repo: &SqliteTrackRepository) -> Self {
        let writer = repo.writer_pool().clone();
        SqliteJobQueue {
            woken: waker_for(&writer),
            reader: repo.reader_pool().clone(),
            writer,
        }
    }

    async fn begin(&self, context: &str) -> Result<Transaction<'static, Sqlite>, JobError> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(job_ctx(SQ, context))
    }

    /// Wake the waiting workers, and leave a permit for one that is about to
    /// wait (it would otherwise miss a job queued between its claim and its
    /// wait).
    fn wake(&self) {
        self.woken.notify_waiters();
        self.woken.notify_one();
    }
}

async fn fetch_job(
    tx: &mut Transaction<'static, Sqlite>,
    job_id: JobId,
    context: &str,
) -> Result<Option<Job>, JobError> {
    sqlx::query(GET.as_str())
        .bind(id_text(job_id))
        .fetch_optional(&mut **tx)
        .await
        .map_err(job_ctx(SQ, context))?
        .map(|r| job(&r))
        .transpose()
}

async fn active_of(
    tx: &mut Transaction<'static, Sqlite>,
    source: &str,
    context: &str,
) -> Result<Option<Job>, JobError> {
    sqlx::query(ACTIVE_OF_SOURCE.as_str())
        .bind(source)
        .fetch_optional(&mut **tx)
        .await
        .map_err(job_ctx(SQ, context))?
        .map(|r| job(&r))
        .transpose()
}

#[async_trait]
impl JobQueue for SqliteJobQueue {
    async fn enqueue(&self, new: &NewJob) -> Result<Job, JobError> {
        let values = NewJobValues::new(new)?;
        let mut tx = self.begin("enqueue: begin").await?;
        let inserted = sqlx::query(ENQUEUE.as_str())
            .bind(id_text(Uuid::now_v7()))
            .bind(&new.source)
            .bind(&values.trigger)
            .bind(json_text(&values.request))
            .bind(values.max_attempts)
            .fetch_optional(&mut *tx)
            .await
            .map_err(job_ctx(SQ, "enqueue"))?;
        let Some(r) = inserted else {
            let active = active_of(&mut tx, &new.source, "enqueue").await?;
            return Err(match active {
                Some(active) => JobError::Active {
                    job_id: active.id,
                    status: active.status,
                },
                None => JobError::Store(
                    "enqueue: refused by the one-active-job index, but no job is active".into(),
                ),
            });
        };
        let job = job(&r)?;
        tx.commit().await.map_err(job_ctx(SQ, "enqueue: commit"))?;
        self.wake();
        Ok(job)
    }

    async fn claim(
        &self,
        worker: &str,
        lease_for: Duration,
    ) -> Result<Option<ClaimedJob>, JobError> {
        let mut tx = self.begin("claim: begin").await?;
        let lost: Vec<String> = sqlx::query_scalar(FAIL_LOST.as_str())
            .fetch_all(&mut *tx)
            .await
            .map_err(job_ctx(SQ, "claim: fail jobs out of attempts"))?;
        let claimed = sqlx::query(CLAIM.as_str())
            .bind(worker)
            .bind(delay_modifier(delay_micros(lease_for)))
            .fetch_optional(&mut *tx)
            .await
            .map_err(job_ctx(SQ, "claim"))?;
        let claimed = claimed
            .map(|r| {
                let (job, token) = super::job(&r)?;
                Ok::<_, JobError>(ClaimedJob {
                    lease: Lease {
                        job_id: job.id,
                        token,
                    },
                    job,
                })
            })
            .transpose()?;
        tx.commit().await.map_err(job_ctx(SQ, "claim: commit"))?;
        for id in &lost {
            tracing::warn!(job_id = %id, "job failed: its worker lost the lease on the last attempt");
        }
        Ok(claimed)
    }

    async fn start_claimed(
        &self,
        new: &NewJob,
        owner: &str,
        lease_for: Duration,
    ) -> Result<ClaimedJob, JobError> {
        let values = NewJobValues::new(new)?;
        let lease = delay_modifier(delay_micros(lease_for));
        // One write transaction: nothing can become active, or expire, between
        // the steps.
        let mut tx = self.begin("start_claimed: begin").await?;
        let lost: Vec<String> = sqlx::query_scalar(FAIL_LOST_OF_SOURCE.as_str())
            .bind(&new.source)
            .fetch_all(&mut *tx)
            .await
            .map_err(job_ctx(SQ, "start_claimed: fail a job out of attempts"))?;
        let taken = sqlx::query(TAKE_OVER.as_str())
            .bind(&new.source)
            .bind(owner)
            .bind(&lease)
            .fetch_optional(&mut *tx)
            .await
            .map_err(job_ctx(SQ, "start_claimed: take over"))?;
        let row = match taken {
            Some(r) => r,
            None => {
                let inserted = sqlx::query(START_CLAIMED.as_str())
                    .bind(id_text(Uuid::now_v7()))
                    .bind(&new.source)
                    .bind(&values.trigger)
                    .bind(json_text(&values.request))
                    .bind(values.max_attempts)
                    .bind(owner)
                    .bind(&lease)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(job_ctx(SQ, "start_claimed"))?;
                match inserted {
                    Some(r) => r,
                    None => {
                        return Err(
                            match active_of(&mut tx, &new.source, "start_claimed").await? {
                                Some(active) => JobError::Active {
                                    job_id: active.id,
                                    status: active.status,
                                },
                                None => JobError::Store(
                                    "start_claimed: refused by the one-active-job index, \
                                     but no job is active"
                                        .into(),
                                ),
                            },
                        );
                    }
                }
            }
        };
        let (job, token) = super::job(&row)?;
        tx.commit()
            .await
            .map_err(job_ctx(SQ, "start_claimed: commit"))?;
        for id in &lost {
            tracing::warn!(job_id = %id, "job failed: its holder lost the lease on the last attempt");
        }
        Ok(ClaimedJob {
            lease: Lease {
                job_id: job.id,
                token,
            },
            job,
        })
    }

    async fn heartbeat(&self, lease: &Lease, lease_for: Duration) -> Result<Heartbeat, JobError> {
        let mut tx = self.begin("heartbeat: begin").await?;
        let cancel: Option<bool> = sqlx::query_scalar(HEARTBEAT.as_str())
            .bind(id_text(lease.job_id))
            .bind(lease.token)
            .bind(delay_modifier(delay_micros(lease_for)))
            .fetch_optional(&mut *tx)
            .await
            .map_err(job_ctx(SQ, "heartbeat"))?;
        let Some(cancel_requested) = cancel else {
            return Err(JobError::LeaseLost(lease.job_id));
        };
        tx.commit()
            .await
            .map_err(job_ctx(SQ, "heartbeat: commit"))?;
        Ok(Heartbeat { cancel_requested })
    }

    async fn report_progress(&self, lease: &Lease, progress: &JobProgress) -> Result<(), JobError> {
        let values = ProgressValues::new(progress)?;
        let mut tx = self.begin("report_progress: begin").await?;
        let done = sqlx::query(PROGRESS.as_str())
            .bind(id_text(lease.job_id))
            .bind(lease.token)
            .bind(&values.stage)
            .bind(values.processed)
            .bind(values.total)
            .bind(values.eta_seconds)
            .execute(&mut *tx)
            .await
            .map_err(job_ctx(SQ, "report_progress"))?;
        if done.rows_affected() == 0 {
            return Err(JobError::LeaseLost(lease.job_id));
        }
        tx.commit()
            .await
            .map_err(job_ctx(SQ, "report_progress: commit"))
    }

    async fn finish(&self, lease: &Lease, outcome: &JobOutcome) -> Result<Job, JobError> {
        let values = FinishValues::new(lease, outcome)?;
        let query = match &values {
            FinishValues::Finished {
                status,
                summary,
                error,
            } => sqlx::query(FINISHED.as_str())
                .bind(id_text(lease.job_id))
                .bind(lease.token)
                .bind(*status)
                .bind(summary.as_ref().map(json_text))
                .bind(error.clone()),
            FinishValues::Retry {
                delay_micros,
                summary,
                error,
            } => sqlx::query(RETRY.as_str())
                .bind(id_text(lease.job_id))
                .bind(lease.token)
                .bind(summary.as_ref().map(json_text))
                .bind(error.clone())
                .bind(delay_modifier(*delay_micros)),
            FinishValues::Released => sqlx::query(RELEASED.as_str())
                .bind(id_text(lease.job_id))
                .bind(lease.token),
        };
        let mut tx = self.begin("finish: begin").await?;
        let row = query
            .fetch_optional(&mut *tx)
            .await
            .map_err(job_ctx(SQ, "finish"))?
            .ok_or(JobError::LeaseLost(lease.job_id))?;
        let job = job(&row)?;
        if job.status == JobStatus::Succeeded {
            sqlx::query(DROP_DONE_SET)
                .bind(id_text(job.id))
                .execute(&mut *tx)
                .await
                .map_err(job_ctx(SQ, "finish: drop the checkpoint"))?;
        }
        tx.commit().await.map_err(job_ctx(SQ, "finish: commit"))?;
        if job.status == JobStatus::Queued {
            self.wake();
        }
        Ok(job)
    }

    async fn checkpoint(&self, job_id: JobId) -> Result<Checkpoint, JobError> {
        // One statement, so the state and the done set are of one snapshot.
        let row = sqlx::query(
            "SELECT j.checkpoint_state,
       (SELECT json_group_array(d.slug) FROM
           (SELECT t.slug FROM sync_job_tracks AS t WHERE t.job_id = j.id ORDER BY t.slug) AS d)
           AS done_slugs
FROM sync_jobs AS j WHERE j.id = ?1",
        )
        .bind(id_text(job_id))
        .fetch_optional(&self.reader)
        .await
        .map_err(job_ctx(SQ, "checkpoint"))?
        .ok_or(JobError::NotFound(job_id))?;
        let done: String = row.text("done_slugs").map_err(job_from_repo)?;
        let mut done_slugs: Vec<String> = serde_json::from_str(&done)
            .map_err(|e| JobError::Store(format!("checkpoint: done slugs: {e}")))?;
        done_slugs.sort_unstable();
        Ok(Checkpoint {
            done_slugs,
            state: row.json("checkpoint_state").map_err(job_from_repo)?,
        })
    }

    async fn get(&self, job_id: JobId) -> Result<Option<Job>, JobError> {
        sqlx::query(GET.as_str())
            .bind(id_text(job_id))
            .fetch_optional(&self.reader)
            .await
            .map_err(job_ctx(SQ, "get"))?
            .map(|r| job(&r))
            .transpose()
    }

    async fn list(&self, limit: u32) -> Result<Vec<Job>, JobError> {
        sqlx::query(LIST.as_str())
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(job_ctx(SQ, "list"))?
            .iter()
            .map(job)
            .collect()
    }

    async fn request_cancel(&self, job_id: JobId) -> Result<Job, JobError> {
        let mut tx = self.begin("request_cancel: begin").await?;
        let row = sqlx::query(CANCEL.as_str())
            .bind(id_text(job_id))
            .fetch_optional(&mut *tx)
            .await
            .map_err(job_ctx(SQ, "request_cancel"))?;
        let Some(r) = row else {
            let found = fetch_job(&mut tx, job_id, "request_cancel").await?;
            return Err(not_in_state(job_id, found.as_ref(), CANCEL_FINAL));
        };
        let job = job(&r)?;
        tx.commit()
            .await
            .map_err(job_ctx(SQ, "request_cancel: commit"))?;
        Ok(job)
    }

    async fn resume(&self, job_id: JobId) -> Result<Job, JobError> {
        let mut tx = self.begin("resume: begin").await?;
        let Some(stopped) = fetch_job(&mut tx, job_id, "resume").await? else {
            return Err(JobError::NotFound(job_id));
        };
        if !matches!(stopped.status, JobStatus::Failed | JobStatus::Cancelled) {
            return Err(not_in_state(job_id, Some(&stopped), RESUME_NOT_STOPPED));
        }
        // Inside the write transaction, so nothing can become active between
        // this check and the update.
        if let Some(active) = active_of(&mut tx, &stopped.source, "resume").await? {
            return Err(JobError::Active {
                job_id: active.id,
                status: active.status,
            });
        }
        let row = sqlx::query(RESUME.as_str())
            .bind(id_text(job_id))
            .fetch_one(&mut *tx)
            .await
            .map_err(job_ctx(SQ, "resume"))?;
        let job = job(&row)?;
        tx.commit().await.map_err(job_ctx(SQ, "resume: commit"))?;
        self.wake();
        Ok(job)
    }

    async fn prune(&self, older_than: Duration) -> Result<u64, JobError> {
        let micros = delay_micros(older_than);
        let done = sqlx::query(PRUNE.as_str())
            .bind(format!(
                "-{}.{:06} seconds",
                micros / 1_000_000,
                micros % 1_000_000
            ))
            .execute(&self.writer)
            .await
            .map_err(job_ctx(SQ, "prune"))?;
        Ok(done.rows_affected())
    }

    async fn wait_for_work(&self, timeout: Duration) {
        // Woken or timed out: either way the worker looks for work.
        let _ = tokio::time::timeout(timeout, self.woken.notified()).await;
    }
}

/// The lease fence of the track repository, first in its transaction: the
/// lease must still hold (`LeaseLost` otherwise, and the caller rolls back).
/// With a `state`, it becomes the job's checkpoint state.
pub(crate) async fn fence(
    tx: &mut Transaction<'static, Sqlite>,
    lease: &Lease,
    state: Option<&serde_json::Value>,
    context: &str,
) -> Result<(), RepositoryError> {
    let done = sqlx::query(FENCE_WRITE.as_str())
        .bind(id_text(lease.job_id))
        .bind(lease.token)
        .bind(state.map(json_text))
        .execute(&mut **tx)
        .await
        .map_err(ctx(SQ, context))?;
    if done.rows_affected() == 0 {
        return Err(lease_lost(lease));
    }
    Ok(())
}

/// Add a stored batch's slugs to the job's done set.
pub(crate) async fn record_done(
    tx: &mut Transaction<'static, Sqlite>,
    job_id: JobId,
    slugs: &[&str],
) -> Result<(), RepositoryError> {
    if slugs.is_empty() {
        return Ok(());
    }
    let slugs = serde_json::to_string(slugs)
        .map_err(|e| RepositoryError::Rejected(format!("apply_batch: record checkpoint: {e}")))?;
    sqlx::query(
        "INSERT INTO sync_job_tracks (job_id, slug)
SELECT ?1, value FROM json_each(?2) WHERE true
ON CONFLICT DO NOTHING",
    )
    .bind(id_text(job_id))
    .bind(slugs)
    .execute(&mut **tx)
    .await
    .map_err(ctx(SQ, "apply_batch: record checkpoint"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_become_second_modifiers() {
        assert_eq!(
            delay_modifier(delay_micros(Duration::from_micros(1_500_042))),
            "+1.500042 seconds"
        );
        assert_eq!(delay_modifier(0), "+0.000000 seconds");
    }
}
