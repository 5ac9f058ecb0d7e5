//! The job queue on PostgreSQL. A claim is one transaction: fail the
//! running jobs whose lease expired after their last allowed attempt, then
//! take the oldest due job with `FOR UPDATE SKIP LOCKED`, so concurrent
//! claimers never wait on each other nor take the same job. Every lease time
//! is `now()` of the database. Idle workers wait on `LISTEN mre_sync_jobs`,
//! which every write that queues a job notifies after its commit.

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use ingest_core::{
    Checkpoint, ClaimedJob, Heartbeat, Job, JobError, JobId, JobOutcome, JobProgress, JobQueue,
    JobStatus, Lease, NewJob, RepositoryError,
};
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Postgres, Row, Transaction};
use tokio::sync::{Mutex, Notify};
use uuid::Uuid;

use super::{
    ACTIVE_RETRIES, CANCEL_FINAL, CHANNEL, FinishValues, JOB_COLUMNS, JobRow, NewJobValues,
    ProgressValues, RESUME_NOT_STOPPED, delay_micros, lease_lost, not_in_state,
};
use crate::error::{Dialect, ctx, is_unique_violation, job_ctx, job_from_repo, map_job};
use crate::postgres::PgTrackRepository;
use crate::row;

const PG: Dialect = Dialect::Postgres;

/// The fence of every write a lease holder makes: `$1` job id, `$2` token.
const FENCE: &str = "id = $1 AND lease_token = $2 AND status = 'running'";

/// Releasing the lease.
const RELEASE: &str = "lease_owner = NULL, lease_expires_at = NULL, updated_at = now()";

/// The retry budget is not spent.
const BUDGET_LEFT: &str = "attempts - attempts_base < max_attempts";

impl JobRow for PgRow {
    fn uuid(&self, col: &str) -> Result<JobId, RepositoryError> {
        self.try_get(col).map_err(|e| row::corrupt(col, e))
    }

    fn json(&self, col: &str) -> Result<Option<serde_json::Value>, RepositoryError> {
        let value: Option<Json<serde_json::Value>> =
            self.try_get(col).map_err(|e| row::corrupt(col, e))?;
        Ok(value.map(|j| j.0))
    }
}

fn job(r: &PgRow) -> Result<Job, JobError> {
    super::job(r).map(|(job, _)| job)
}

/// The job queue on PostgreSQL.
///
/// Shares the track repository's pool; waiting for work takes one more
/// connection of its own (the listener), opened on the first wait.
pub struct PgJobQueue {
    pool: PgPool,
    /// The LISTEN connection, kept between waits; `None` until the first
    /// wait and after a listener error.
    listener: Mutex<Option<PgListener>>,
    /// Wakes the waiters that are not holding the listener when the one
    /// that is receives a notification.
    woken: Notify,
}

impl std::fmt::Debug for PgJobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgJobQueue")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl PgJobQueue {
    /// The queue in the repository's database (migrated, so `sync_jobs`
    /// exists), over the repository's pool.
    pub fn new(repo: &PgTrackRepository) -> Self {
        Self::from_pool(repo.pool().clone())
    }

    /// The queue over an existing pool (its database must be migrated).
    pub fn from_pool(pool: PgPool) -> Self {
        PgJobQueue {
            pool,
            listener: Mutex::new(None),
            woken: Notify::new(),
        }
    }

    /// Wake idle workers: NOTIFY after the write committed. A lost
    /// notification only delays a worker until its next poll, so a failure
    /// is logged, not returned.
    async fn notify(&self, job_id: JobId) {
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(job_id.to_string())
            .execute(&self.pool)
            .await;
        if let Err(e) = sent {
            tracing::warn!(job_id = %job_id, error = %e, "could not notify idle workers");
        }
    }

    /// The source's active job, if any.
    async fn active_of(&self, source: &str, context: &str) -> Result<Option<Job>, JobError> {
        sqlx::query(ACTIVE_OF_SOURCE.as_str())
            .bind(source)
            .fetch_optional(&self.pool)
            .await
            .map_err(job_ctx(PG, context))?
            .map(|r| job(&r))
            .transpose()
    }

    /// A new listener on [`CHANNEL`], on a connection of its own (a pool of
    /// one, so the listener can reconnect without taking one of the main
    /// pool's connections).
    async fn listen(&self) -> Result<PgListener, sqlx::Error> {
        let options = (*self.pool.connect_options())
            .clone()
            .application_name("ingest-store-listener");
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(self.pool.options().get_acquire_timeout())
            .connect_lazy_with(options);
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(listener)
    }

    /// Return when a notification arrives (to this waiter or to the one
    /// holding the listener). A listener just (re)connected returns at once:
    /// a job queued before it listened would otherwise wait for the next
    /// poll. An error drops the listener, so the next wait reconnects.
    async fn wait_for_notification(&self) -> Result<(), sqlx::Error> {
        let woken = self.woken.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let mut guard = tokio::select! {
            () = &mut woken => return Ok(()),
            guard = self.listener.lock() => guard,
        };
        let Some(listener) = guard.as_mut() else {
            *guard = Some(self.listen().await?);
            self.woken.notify_waiters();
            return Ok(());
        };
        match listener.recv().await {
            Ok(_) => {
                self.woken.notify_waiters();
                Ok(())
            }
            Err(e) => {
                *guard = None;
                Err(e)
            }
        }
    }
}

/// Wrap a statement built once at first use.
macro_rules! statement {
    ($(#[$meta:meta])* $name:ident = $($fmt:tt)+) => {
        $(#[$meta])*
        static $name: LazyLock<String> = LazyLock::new(|| format!($($fmt)+));
    };
}

statement! {
    /// The source's active job.
    ACTIVE_OF_SOURCE = "SELECT {JOB_COLUMNS} FROM sync_jobs
WHERE source = $1 AND status IN ('queued', 'running')"
}

statement! {
    /// Insert a job unless its source has an active one.
    ENQUEUE = "INSERT INTO sync_jobs (id, source, trigger, request, max_attempts)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (source) WHERE status IN ('queued', 'running') DO NOTHING
RETURNING {JOB_COLUMNS}"
}

statement! {
    /// Take the oldest due job: queued and past `run_after`, or running
    /// with an expired lease and attempts left. Its token and attempts grow.
    CLAIM = "UPDATE sync_jobs
SET status = 'running', lease_owner = $1,
    lease_expires_at = now() + $2::bigint * interval '1 microsecond',
    lease_token = lease_token + 1, attempts = attempts + 1,
    started_at = COALESCE(started_at, now()), updated_at = now()
WHERE id = (
    SELECT id FROM sync_jobs
    WHERE status IN ('queued', 'running')
      AND ((status = 'queued' AND run_after <= now())
        OR (status = 'running' AND lease_expires_at <= now()
            AND attempts - attempts_base < max_attempts))
    ORDER BY created_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED)
RETURNING {JOB_COLUMNS}"
}

statement! {
    /// `start_claimed`, first: fail the source's running job whose lease
    /// expired after its last allowed attempt.
    FAIL_LOST_OF_SOURCE = "UPDATE sync_jobs
SET status = 'failed',
    error = 'worker lost its lease after ' || (attempts - attempts_base) || ' attempts',
    completed_at = now(), {RELEASE}
WHERE source = $1 AND status = 'running' AND lease_expires_at <= now()
  AND attempts - attempts_base >= max_attempts
RETURNING id"
}

statement! {
    /// `start_claimed`, then: take over the source's running job whose lease
    /// expired (as `CLAIM` would): `$2` owner, `$3` lease in µs. A concurrent
    /// taker waits on the row and then finds the lease live again.
    TAKE_OVER = "UPDATE sync_jobs
SET lease_owner = $2, lease_expires_at = now() + $3::bigint * interval '1 microsecond',
    lease_token = lease_token + 1, attempts = attempts + 1,
    started_at = COALESCE(started_at, now()), updated_at = now()
WHERE source = $1 AND status = 'running' AND lease_expires_at <= now() AND {BUDGET_LEFT}
RETURNING {JOB_COLUMNS}"
}

statement! {
    /// `start_claimed`, else: a new job, running already under the caller's
    /// lease (`$6` owner, `$7` lease in µs), unless the source has an active
    /// job.
    START_CLAIMED = "INSERT INTO sync_jobs
    (id, source, status, trigger, request, attempts, max_attempts, started_at,
     lease_owner, lease_token, lease_expires_at)
VALUES ($1, $2, 'running', $3, $4, 1, $5, now(),
    $6, 1, now() + $7::bigint * interval '1 microsecond')
ON CONFLICT (source) WHERE status IN ('queued', 'running') DO NOTHING
RETURNING {JOB_COLUMNS}"
}

statement! {
    HEARTBEAT = "UPDATE sync_jobs
SET lease_expires_at = now() + $3::bigint * interval '1 microsecond', updated_at = now()
WHERE {FENCE}
RETURNING cancel_requested"
}

statement! {
    PROGRESS = "UPDATE sync_jobs
SET stage = $3, processed = $4, total = $5, eta_seconds = $6, updated_at = now()
WHERE {FENCE}"
}

statement! {
    /// A succeeded job cannot be resumed: its carried state goes (and its
    /// done set, by [`DROP_DONE_SET`] in the same transaction).
    FINISHED = "UPDATE sync_jobs
SET status = $3, summary = $4, error = $5, completed_at = now(), {RELEASE},
    checkpoint_state = CASE WHEN $3 = 'succeeded' THEN NULL ELSE checkpoint_state END
WHERE {FENCE}
RETURNING {JOB_COLUMNS}"
}

statement! {
    /// Back to `queued` after `$5` µs, or `failed` when the retry budget is
    /// spent (the worker cannot tell: it does not see `attempts_base`).
    RETRY = "UPDATE sync_jobs
SET status = CASE WHEN {BUDGET_LEFT} THEN 'queued' ELSE 'failed' END,
    run_after = CASE WHEN {BUDGET_LEFT}
        THEN now() + $5::bigint * interval '1 microsecond' ELSE run_after END,
    completed_at = CASE WHEN {BUDGET_LEFT} THEN NULL ELSE now() END,
    error = CASE WHEN {BUDGET_LEFT} THEN $4
        ELSE $4 || ' (gave up after ' || (attempts - attempts_base) || ' attempts)' END,
    summary = $3, {RELEASE}
WHERE {FENCE}
RETURNING {JOB_COLUMNS}"
}

statement! {
    /// Back to `queued` now; the attempt does not count.
    RELEASED = "UPDATE sync_jobs
SET status = 'queued', run_after = now(), attempts = GREATEST(attempts - 1, attempts_base),
    {RELEASE}
WHERE {FENCE}
RETURNING {JOB_COLUMNS}"
}

statement! {
    GET = "SELECT {JOB_COLUMNS} FROM sync_jobs WHERE id = $1"
}

statement! {
    LIST = "SELECT {JOB_COLUMNS} FROM sync_jobs ORDER BY created_at DESC, id DESC LIMIT $1"
}

statement! {
    /// A queued job is cancelled at once; a running one is flagged.
    CANCEL = "UPDATE sync_jobs
SET status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
    completed_at = CASE WHEN status = 'queued' THEN now() ELSE completed_at END,
    cancel_requested = true, updated_at = now()
WHERE id = $1 AND status IN ('queued', 'running')
RETURNING {JOB_COLUMNS}"
}

statement! {
    /// Queue a stopped job again; the retry budget starts from here.
    RESUME = "UPDATE sync_jobs
SET status = 'queued', cancel_requested = false, completed_at = NULL, error = NULL,
    attempts_base = attempts, run_after = now(), updated_at = now()
WHERE id = $1 AND status IN ('failed', 'cancelled')
RETURNING {JOB_COLUMNS}"
}

statement! {
    /// The track repository's fence; `$3` (when not NULL) becomes the
    /// checkpoint state.
    FENCE_WRITE = "UPDATE sync_jobs
SET checkpoint_state = COALESCE($3, checkpoint_state), updated_at = now()
WHERE {FENCE}"
}

/// The done set of a job that succeeded.
const DROP_DONE_SET: &str = "DELETE FROM sync_job_tracks WHERE job_id = $1";

/// Final jobs completed more than `$1` µs ago; their done sets go by
/// `ON DELETE CASCADE`.
const PRUNE: &str = "DELETE FROM sync_jobs
WHERE status IN ('succeeded', 'failed', 'cancelled')
  AND completed_at < now() - $1::bigint * interval '1 microsecond'";

/// Fail the running jobs whose lease expired after their last allowed
/// attempt (skipping any another transaction holds).
const FAIL_LOST: &str = "UPDATE sync_jobs
SET status = 'failed',
    error = 'worker lost its lease after ' || (attempts - attempts_base) || ' attempts',
    completed_at = now(), lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
WHERE id IN (
    SELECT id FROM sync_jobs
    WHERE status = 'running' AND lease_expires_at <= now()
      AND attempts - attempts_base >= max_attempts
    FOR UPDATE SKIP LOCKED)
RETURNING id";

#[async_trait]
impl JobQueue for PgJobQueue {
    async fn enqueue(&self, new: &NewJob) -> Result<Job, JobError> {
        let values = NewJobValues::new(new)?;
        for _ in 0..ACTIVE_RETRIES {
            let inserted = sqlx::query(ENQUEUE.as_str())
                .bind(Uuid::now_v7())
                .bind(&new.source)
                .bind(&values.trigger)
                .bind(Json(&values.request))
                .bind(values.max_attempts)
                .fetch_optional(&self.pool)
                .await
                .map_err(job_ctx(PG, "enqueue"))?;
            if let Some(r) = inserted {
                let job = job(&r)?;
                self.notify(job.id).await;
                return Ok(job);
            }
            // The source has an active job, unless it finished meanwhile.
            if let Some(active) = self.active_of(&new.source, "enqueue").await? {
                return Err(JobError::Active {
                    job_id: active.id,
                    status: active.status,
                });
            }
        }
        Err(JobError::Store(
            "enqueue: the source's active job kept changing; try again".into(),
        ))
    }

    async fn claim(
        &self,
        worker: &str,
        lease_for: Duration,
    ) -> Result<Option<ClaimedJob>, JobError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(job_ctx(PG, "claim: begin"))?;
        let lost: Vec<Uuid> = sqlx::query_scalar(FAIL_LOST)
            .fetch_all(&mut *tx)
            .await
            .map_err(job_ctx(PG, "claim: fail jobs out of attempts"))?;
        let claimed = sqlx::query(CLAIM.as_str())
            .bind(worker)
            .bind(delay_micros(lease_for))
            .fetch_optional(&mut *tx)
            .await
            .map_err(job_ctx(PG, "claim"))?;
        tx.commit().await.map_err(job_ctx(PG, "claim: commit"))?;
        for id in &lost {
            tracing::warn!(job_id = %id, "job failed: its worker lost the lease on the last attempt");
        }
        claimed
            .map(|r| {
                let (job, token) = super::job(&r)?;
                Ok(ClaimedJob {
                    lease: Lease {
                        job_id: job.id,
                        token,
                    },
                    job,
                })
            })
            .transpose()
    }

    async fn start_claimed(
        &self,
        new: &NewJob,
        owner: &str,
        lease_for: Duration,
    ) -> Result<ClaimedJob, JobError> {
        let values = NewJobValues::new(new)?;
        for _ in 0..ACTIVE_RETRIES {
            let mut tx = self
                .pool
                .begin()
                .await
                .map_err(job_ctx(PG, "start_claimed: begin"))?;
            let lost: Vec<Uuid> = sqlx::query_scalar(FAIL_LOST_OF_SOURCE.as_str())
                .bind(&new.source)
                .fetch_all(&mut *tx)
                .await
                .map_err(job_ctx(PG, "start_claimed: fail a job out of attempts"))?;
            let mut row = sqlx::query(TAKE_OVER.as_str())
                .bind(&new.source)
                .bind(owner)
                .bind(delay_micros(lease_for))
                .fetch_optional(&mut *tx)
                .await
                .map_err(job_ctx(PG, "start_claimed: take over"))?;
            if row.is_none() {
                row = sqlx::query(START_CLAIMED.as_str())
                    .bind(Uuid::now_v7())
                    .bind(&new.source)
                    .bind(&values.trigger)
                    .bind(Json(&values.request))
                    .bind(values.max_attempts)
                    .bind(owner)
                    .bind(delay_micros(lease_for))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(job_ctx(PG, "start_claimed"))?;
            }
            let Some(row) = row else {
                // The source has an active job, unless it finished meanwhile
                // (read committed: this statement sees the latest commit).
                let active = sqlx::query(ACTIVE_OF_SOURCE.as_str())
                    .bind(&new.source)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(job_ctx(PG, "start_claimed: the active job"))?
                    .map(|r| job(&r))
                    .transpose()?;
                tx.commit()
                    .await
                    .map_err(job_ctx(PG, "start_claimed: commit"))?;
                if let Some(active) = active {
                    return Err(JobError::Active {
                        job_id: active.id,
                        status: active.status,
                    });
                }
                continue;
            };
            let (job, token) = super::job(&row)?;
            tx.commit()
                .await
                .map_err(job_ctx(PG, "start_claimed: commit"))?;
            for id in &lost {
                tracing::warn!(job_id = %id, "job failed: its holder lost the lease on the last attempt");
            }
            return Ok(ClaimedJob {
                lease: Lease {
                    job_id: job.id,
                    token,
                },
                job,
            });
        }
        Err(JobError::Store(
            "start_claimed: the source's active job kept changing; try again".into(),
        ))
    }

    async fn heartbeat(&self, lease: &Lease, lease_for: Duration) -> Result<Heartbeat, JobError> {
        let cancel: Option<bool> = sqlx::query_scalar(HEARTBEAT.as_str())
            .bind(lease.job_id)
            .bind(lease.token)
            .bind(delay_micros(lease_for))
            .fetch_optional(&self.pool)
            .await
            .map_err(job_ctx(PG, "heartbeat"))?;
        cancel
            .map(|cancel_requested| Heartbeat { cancel_requested })
            .ok_or(JobError::LeaseLost(lease.job_id))
    }

    async fn report_progress(&self, lease: &Lease, progress: &JobProgress) -> Result<(), JobError> {
        let values = ProgressValues::new(progress)?;
        let done = sqlx::query(PROGRESS.as_str())
            .bind(lease.job_id)
            .bind(lease.token)
            .bind(&values.stage)
            .bind(values.processed)
            .bind(values.total)
            .bind(values.eta_seconds)
            .execute(&self.pool)
            .await
            .map_err(job_ctx(PG, "report_progress"))?;
        if done.rows_affected() == 0 {
            return Err(JobError::LeaseLost(lease.job_id));
        }
        Ok(())
    }

    async fn finish(&self, lease: &Lease, outcome: &JobOutcome) -> Result<Job, JobError> {
        let values = FinishValues::new(lease, outcome)?;
        let query = match &values {
            FinishValues::Finished {
                status,
                summary,
                error,
            } => sqlx::query(FINISHED.as_str())
                .bind(lease.job_id)
                .bind(lease.token)
                .bind(*status)
                .bind(summary.as_ref().map(Json))
                .bind(error.as_deref()),
            FinishValues::Retry {
                delay_micros,
                summary,
                error,
            } => sqlx::query(RETRY.as_str())
                .bind(lease.job_id)
                .bind(lease.token)
                .bind(summary.as_ref().map(Json))
                .bind(error.as_str())
                .bind(*delay_micros),
            FinishValues::Released => sqlx::query(RELEASED.as_str())
                .bind(lease.job_id)
                .bind(lease.token),
        };
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(job_ctx(PG, "finish: begin"))?;
        let row = query
            .fetch_optional(&mut *tx)
            .await
            .map_err(job_ctx(PG, "finish"))?
            .ok_or(JobError::LeaseLost(lease.job_id))?;
        let job = job(&row)?;
        if job.status == JobStatus::Succeeded {
            sqlx::query(DROP_DONE_SET)
                .bind(job.id)
                .execute(&mut *tx)
                .await
                .map_err(job_ctx(PG, "finish: drop the checkpoint"))?;
        }
        tx.commit().await.map_err(job_ctx(PG, "finish: commit"))?;
        if job.status == JobStatus::Queued {
            self.notify(job.id).await;
        }
        Ok(job)
    }

    async fn checkpoint(&self, job_id: JobId) -> Result<Checkpoint, JobError> {
        // One statement, so the state and the done set are of one snapshot.
        let row = sqlx::query(
            "SELECT j.checkpoint_state,
       ARRAY(SELECT t.slug FROM sync_job_tracks AS t WHERE t.job_id = j.id ORDER BY t.slug)
           AS done_slugs
FROM sync_jobs AS j WHERE j.id = $1",
        )
        .bind(job_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(job_ctx(PG, "checkpoint"))?
        .ok_or(JobError::NotFound(job_id))?;
        Ok(Checkpoint {
            done_slugs: row
                .try_get("done_slugs")
                .map_err(job_ctx(PG, "checkpoint: done slugs"))?,
            state: row.json("checkpoint_state").map_err(job_from_repo)?,
        })
    }

    async fn get(&self, job_id: JobId) -> Result<Option<Job>, JobError> {
        sqlx::query(GET.as_str())
            .bind(job_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(job_ctx(PG, "get"))?
            .map(|r| job(&r))
            .transpose()
    }

    async fn list(&self, limit: u32) -> Result<Vec<Job>, JobError> {
        sqlx::query(LIST.as_str())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(job_ctx(PG, "list"))?
            .iter()
            .map(job)
            .collect()
    }

    async fn request_cancel(&self, job_id: JobId) -> Result<Job, JobError> {
        let row = sqlx::query(CANCEL.as_str())
            .bind(job_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(job_ctx(PG, "request_cancel"))?;
        match row {
            Some(r) => job(&r),
            None => Err(not_in_state(
                job_id,
                self.get(job_id).await?.as_ref(),
                CANCEL_FINAL,
            )),
        }
    }

    async fn resume(&self, job_id: JobId) -> Result<Job, JobError> {
        for _ in 0..ACTIVE_RETRIES {
            let resumed = sqlx::query(RESUME.as_str())
                .bind(job_id)
                .fetch_optional(&self.pool)
                .await;
            match resumed {
                Ok(Some(r)) => {
                    let job = job(&r)?;
                    self.notify(job.id).await;
                    return Ok(job);
                }
                Ok(None) => {
                    return Err(not_in_state(
                        job_id,
                        self.get(job_id).await?.as_ref(),
                        RESUME_NOT_STOPPED,
                    ));
                }
                // The source's one-active-job index: another job is active,
                // unless it finished meanwhile.
                Err(e) if is_unique_violation(&e) => {
                    let Some(stopped) = self.get(job_id).await? else {
                        return Err(JobError::NotFound(job_id));
                    };
                    if let Some(active) = self.active_of(&stopped.source, "resume").await? {
                        return Err(JobError::Active {
                            job_id: active.id,
                            status: active.status,
                        });
                    }
                }
                Err(e) => return Err(map_job(PG, "resume", e)),
            }
        }
        Err(JobError::Store(
            "resume: the source's active job kept changing; try again".into(),
        ))
    }

    async fn prune(&self, older_than: Duration) -> Result<u64, JobError> {
        let done = sqlx::query(PRUNE)
            .bind(delay_micros(older_than))
            .execute(&self.pool)
            .await
            .map_err(job_ctx(PG, "prune"))?;
        Ok(done.rows_affected())
    }

    async fn wait_for_work(&self, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        match tokio::time::timeout_at(deadline, self.wait_for_notification()).await {
            // Woken, or the time is up.
            Ok(Ok(())) | Err(_) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "job listener failed; polling until it reconnects");
                tokio::time::sleep_until(deadline).await;
            }
        }
    }
}

/// The lease fence of the track repository, first in its transaction: the
/// lease must still hold (`LeaseLost` otherwise, and the caller rolls back).
/// With a `state`, it becomes the job's checkpoint state.
pub(crate) async fn fence(
    tx: &mut Transaction<'static, Postgres>,
    lease: &Lease,
    state: Option<&serde_json::Value>,
    context: &str,
) -> Result<(), RepositoryError> {
    let done = sqlx::query(FENCE_WRITE.as_str())
        .bind(lease.job_id)
        .bind(lease.token)
        .bind(state.map(Json))
        .execute(&mut **tx)
        .await
        .map_err(ctx(PG, context))?;
    if done.rows_affected() == 0 {
        return Err(lease_lost(lease));
    }
    Ok(())
}

/// Add a stored batch's slugs to the job's done set.
pub(crate) async fn record_done(
    tx: &mut Transaction<'static, Postgres>,
    job_id: JobId,
    slugs: &[&str],
) -> Result<(), RepositoryError> {
    if slugs.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO sync_job_tracks (job_id, slug)
SELECT $1, s.slug FROM UNNEST($2::text[]) AS s(slug)
ON CONFLICT DO NOTHING",
    )
    .bind(job_id)
    .bind(slugs)
    .execute(&mut **tx)
    .await
    .map_err(ctx(PG, "apply_batch: record checkpoint"))?;
    Ok(())
}
