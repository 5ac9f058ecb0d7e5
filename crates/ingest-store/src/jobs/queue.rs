//! The job queue, written once over a [`Driver`]. Every write runs in the
//! driver's write transaction: `BEGIN` on Postgres, where concurrent
//! claimers pass each other by `FOR UPDATE SKIP LOCKED`, and `BEGIN
//! IMMEDIATE` on SQLite's single writer, which serialises every
//! check-then-write without row locks. Every lease time is the database
//! clock (`now()` on Postgres, `'now'` on SQLite, with milliseconds), never
//! the caller's, so workers on several machines agree on expiry.
//!
//! A claim is one transaction: fail the running jobs whose lease expired
//! after their last allowed attempt, then take the oldest due job. The one
//! queued-or-running job per source is the schema's partial unique index;
//! an enqueue, start or resume that it refuses answers `Active` naming the
//! source's job, or looks again when that job finished in between.
//!
//! How idle workers are woken is each backend's [`Wakeups`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ingest_core::{
    Checkpoint, ClaimedJob, Heartbeat, Job, JobError, JobId, JobOutcome, JobProgress, JobQueue,
    JobStatus, Lease, NewJob, QueueStats,
};
use uuid::Uuid;

use super::{
    ACTIVE_RETRIES, CANCEL_FINAL, FinishValues, JOB_COLUMNS, NewJobValues, ProgressValues,
    RESUME_NOT_STOPPED, delay_micros, not_in_state,
};
use crate::driver::{Arg, Conn, Driver, PerDialect};
use crate::error::{self, is_unique_violation, job_from_repo};
use crate::lease::FENCE;
use crate::row::ColumnReader;

/// How a backend wakes idle workers when a job is queued. A wake-up only
/// means work *may* be available; a lost one delays a worker until its next
/// poll.
#[async_trait]
pub(crate) trait Wakeups: std::fmt::Debug + Send + Sync {
    /// After the write that queued `job_id` committed.
    async fn wake(&self, job_id: JobId);
    /// Return when woken, or after `timeout`.
    async fn wait(&self, timeout: Duration);
}

/// The job queue over the driver `D` (see `PgJobQueue` and
/// `SqliteJobQueue`).
#[derive(Debug, Clone)]
pub struct Queue<D> {
    db: D,
    wakeups: Arc<dyn Wakeups>,
}

impl<D> Queue<D> {
    pub(crate) fn from_driver(db: D, wakeups: Arc<dyn Wakeups>) -> Self {
        Queue { db, wakeups }
    }
}

struct Sql {
    active_of_source: String,
    enqueue: String,
    fail_lost: String,
    claim: String,
    fail_lost_of_source: String,
    take_over: String,
    start_claimed: String,
    heartbeat: String,
    progress: String,
    finished: String,
    retry: String,
    released: String,
    get: String,
    list: String,
    cancel: String,
    resume: String,
    drop_done_set: String,
    prune: String,
    checkpoint: String,
    stats: String,
}

impl Sql {
    /// Parameters `$n` are numbered per statement; the lease and delay
    /// parameters are [`Arg::Delay`]s.
    fn new<D: Driver>() -> Self {
        let now = D::NOW;
        let skip_locked = D::SKIP_LOCKED;
        let until = D::now_plus;
        // Releasing the lease.
        let release = format!("lease_owner = NULL, lease_expires_at = NULL, updated_at = {now}");
        // The retry budget is not spent.
        let budget_left = "attempts - attempts_base < max_attempts";
        // A running job whose worker lost its lease after its last allowed
        // attempt: failed.
        let expired = format!("status = 'running' AND lease_expires_at <= {now}");
        let lost = format!(
            "status = 'failed',
    error = 'worker lost its lease after ' || (attempts - attempts_base) || ' attempts',
    completed_at = {now}, {release}"
        );
        let spent = "attempts - attempts_base >= max_attempts";
        let active = "status IN ('queued', 'running')";
        Sql {
            // The source's active job.
            active_of_source: format!(
                "SELECT {JOB_COLUMNS} FROM sync_jobs WHERE source = $1 AND {active}"
            ),
            // Insert a job unless its source has an active one.
            enqueue: format!(
                "INSERT INTO sync_jobs
    (id, source, trigger, request, max_attempts, created_at, run_after, updated_at)
VALUES ($1, $2, $3, $4, $5, {now}, {now}, {now})
ON CONFLICT (source) WHERE {active} DO NOTHING
RETURNING {JOB_COLUMNS}"
            ),
            // Fail every lost job (skipping any another claim holds).
            fail_lost: format!(
                "UPDATE sync_jobs SET {lost}
WHERE id IN (SELECT id FROM sync_jobs WHERE {expired} AND {spent} {skip_locked})
RETURNING id"
            ),
            // Take the oldest due job: queued and past `run_after`, or
            // running with an expired lease and attempts left (`$1` owner,
            // `$2` lease). Its token and attempts grow.
            claim: format!(
                "UPDATE sync_jobs
SET status = 'running', lease_owner = $1, lease_expires_at = {lease},
    lease_token = lease_token + 1, attempts = attempts + 1,
    started_at = COALESCE(started_at, {now}), updated_at = {now}
WHERE id = (
    SELECT id FROM sync_jobs
    WHERE {active}
      AND ((status = 'queued' AND run_after <= {now}) OR ({expired} AND {budget_left}))
    ORDER BY created_at, id
    LIMIT 1
    {skip_locked})
RETURNING {JOB_COLUMNS}",
                lease = until("$2")
            ),
            // `start_claimed`, first: fail the source's lost job.
            fail_lost_of_source: format!(
                "UPDATE sync_jobs SET {lost}
WHERE source = $1 AND {expired} AND {spent}
RETURNING id"
            ),
            // `start_claimed`, then: take over the source's running job
            // whose lease expired (as `claim` would): `$2` owner, `$3` lease.
            // On Postgres a concurrent taker waits on the row and then finds
            // the lease live again.
            take_over: format!(
                "UPDATE sync_jobs
SET lease_owner = $2, lease_expires_at = {lease},
    lease_token = lease_token + 1, attempts = attempts + 1,
    started_at = COALESCE(started_at, {now}), updated_at = {now}
WHERE source = $1 AND {expired} AND {budget_left}
RETURNING {JOB_COLUMNS}",
                lease = until("$3")
            ),
            // `start_claimed`, else: a new job, running already under the
            // caller's lease (`$6` owner, `$7` lease), unless the source has
            // an active job.
            start_claimed: format!(
                "INSERT INTO sync_jobs
    (id, source, status, trigger, request, attempts, max_attempts, created_at, started_at,
     run_after, lease_owner, lease_token, lease_expires_at, updated_at)
VALUES ($1, $2, 'running', $3, $4, 1, $5, {now}, {now}, {now}, $6, 1, {lease}, {now})
ON CONFLICT (source) WHERE {active} DO NOTHING
RETURNING {JOB_COLUMNS}",
                lease = until("$7")
            ),
            heartbeat: format!(
                "UPDATE sync_jobs SET lease_expires_at = {lease}, updated_at = {now}
WHERE {FENCE}
RETURNING cancel_requested",
                lease = until("$3")
            ),
            progress: format!(
                "UPDATE sync_jobs
SET stage = $3, processed = $4, total = $5, eta_seconds = $6, updated_at = {now}
WHERE {FENCE}"
            ),
            // A succeeded job cannot be resumed: its carried state goes (and
            // its done set, by `drop_done_set` in the same transaction).
            finished: format!(
                "UPDATE sync_jobs
SET status = $3, summary = $4, error = $5, completed_at = {now}, {release},
    checkpoint_state = CASE WHEN $3 = 'succeeded' THEN NULL ELSE checkpoint_state END
WHERE {FENCE}
RETURNING {JOB_COLUMNS}"
            ),
            // Back to `queued` after the delay `$5`, or `failed` when the
            // retry budget is spent (the worker cannot tell: it does not see
            // `attempts_base`).
            retry: format!(
                "UPDATE sync_jobs
SET status = CASE WHEN {budget_left} THEN 'queued' ELSE 'failed' END,
    run_after = CASE WHEN {budget_left} THEN {after} ELSE run_after END,
    completed_at = CASE WHEN {budget_left} THEN NULL ELSE {now} END,
    error = CASE WHEN {budget_left} THEN $4
        ELSE $4 || ' (gave up after ' || (attempts - attempts_base) || ' attempts)' END,
    summary = $3, {release}
WHERE {FENCE}
RETURNING {JOB_COLUMNS}",
                after = until("$5")
            ),
            // Back to `queued` now; the attempt does not count.
            released: format!(
                "UPDATE sync_jobs
SET status = 'queued', run_after = {now},
    attempts = CASE WHEN attempts > attempts_base THEN attempts - 1 ELSE attempts_base END,
    {release}
WHERE {FENCE}
RETURNING {JOB_COLUMNS}"
            ),
            get: format!("SELECT {JOB_COLUMNS} FROM sync_jobs WHERE id = $1"),
            list: format!(
                "SELECT {JOB_COLUMNS} FROM sync_jobs ORDER BY created_at DESC, id DESC LIMIT $1"
            ),
            // A queued job is cancelled at once; a running one is flagged.
            cancel: format!(
                "UPDATE sync_jobs
SET status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
    completed_at = CASE WHEN status = 'queued' THEN {now} ELSE completed_at END,
    cancel_requested = true, updated_at = {now}
WHERE id = $1 AND {active}
RETURNING {JOB_COLUMNS}"
            ),
            // Queue a stopped job again; the retry budget starts from here.
            resume: format!(
                "UPDATE sync_jobs
SET status = 'queued', cancel_requested = false, completed_at = NULL, error = NULL,
    attempts_base = attempts, run_after = {now}, updated_at = {now}
WHERE id = $1 AND status IN ('failed', 'cancelled')
RETURNING {JOB_COLUMNS}"
            ),
            drop_done_set: "DELETE FROM sync_job_tracks WHERE job_id = $1".to_owned(),
            // Final jobs completed before `$1` (a negative delay); their
            // done sets go by `ON DELETE CASCADE`.
            prune: format!(
                "DELETE FROM sync_jobs
WHERE status IN ('succeeded', 'failed', 'cancelled') AND completed_at < {cutoff}",
                cutoff = until("$1")
            ),
            // One statement, so the state and the done set are of one
            // snapshot.
            checkpoint: format!(
                "SELECT j.checkpoint_state,
       (SELECT {agg} FROM
           (SELECT t.slug FROM sync_job_tracks AS t WHERE t.job_id = j.id ORDER BY t.slug) AS d)
           AS done_slugs
FROM sync_jobs AS j WHERE j.id = $1",
                agg = D::json_agg("d.slug")
            ),
            // Counts by state and the longest wait, in one snapshot. A
            // queued job is due from `run_after` (its creation, its resume,
            // or the end of its retry backoff).
            stats: format!(
                "SELECT
    COALESCE(SUM(CASE WHEN status = 'queued' AND run_after <= {now} THEN 1 ELSE 0 END), 0) AS queued,
    COALESCE(SUM(CASE WHEN status = 'queued' AND run_after > {now} THEN 1 ELSE 0 END), 0) AS retrying,
    COALESCE(SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END), 0) AS running,
    {oldest} AS oldest_due_seconds
FROM sync_jobs WHERE {active}",
                oldest = D::seconds_since(&format!(
                    "MIN(CASE WHEN status = 'queued' AND run_after <= {now} THEN run_after END)"
                ))
            ),
        }
    }
}

static SQL: PerDialect<Sql> = PerDialect::new();

fn sql<D: Driver>() -> &'static Sql {
    SQL.get::<D>(Sql::new::<D>)
}

/// A closure for `map_err` that maps a driver error met while doing
/// `context`.
fn fail<D: Driver>(context: &str) -> impl FnOnce(sqlx::Error) -> JobError {
    error::job_ctx(D::DIALECT, context)
}

/// A row selected with `JOB_COLUMNS`, without its token.
fn job(r: &impl ColumnReader) -> Result<Job, JobError> {
    super::job(r).map(|(job, _)| job)
}

/// A row selected with `JOB_COLUMNS`, as a claim of it.
fn claimed(r: &impl ColumnReader) -> Result<ClaimedJob, JobError> {
    let (job, token) = super::job(r)?;
    let lease = Lease {
        job_id: job.id,
        token,
    };
    Ok(ClaimedJob { lease, job })
}

/// The ids `fail_lost` returned: jobs failed because their holder lost the
/// lease on the last attempt.
fn log_lost(rows: &[impl ColumnReader]) {
    for r in rows {
        if let Ok(id) = r.uuid("id") {
            tracing::warn!(job_id = %id, "job failed: its holder lost the lease on the last attempt");
        }
    }
}

/// A fenced statement's arguments: the lease (`$1`, `$2`, see [`FENCE`]),
/// then `more`.
fn fenced<'a>(lease: &Lease, more: impl IntoIterator<Item = Arg<'a>>) -> Vec<Arg<'a>> {
    let mut args = vec![Arg::Id(lease.job_id), Arg::Int(lease.token)];
    args.extend(more);
    args
}

/// A new job's values, as `enqueue` and `start_claimed` bind them first.
fn new_job_args<'a>(new: &'a NewJob, values: &'a NewJobValues) -> Vec<Arg<'a>> {
    vec![
        Arg::Id(Uuid::now_v7()),
        Arg::Text(&new.source),
        Arg::Text(&values.trigger),
        Arg::Json(Some(&values.request)),
        Arg::Int(values.max_attempts),
    ]
}

/// The answer to a call the source's active job refused.
fn active_error(active: Job) -> JobError {
    JobError::Active {
        job_id: active.id,
        status: active.status,
    }
}

/// The source's active job, if any, in the caller's transaction.
async fn active_of<D: Driver>(
    tx: &mut Conn<D>,
    source: &str,
    context: &str,
) -> Result<Option<Job>, JobError> {
    D::fetch_optional(tx, &sql::<D>().active_of_source, vec![Arg::Text(source)])
        .await
        .map_err(fail::<D>(context))?
        .map(|r| job(&r))
        .transpose()
}

#[async_trait]
impl<D: Driver> JobQueue for Queue<D> {
    async fn enqueue(&self, new: &NewJob) -> Result<Job, JobError> {
        let values = NewJobValues::new(new)?;
        for _ in 0..ACTIVE_RETRIES {
            let args = new_job_args(new, &values);
            let mut tx = self.db.begin_write().await.map_err(fail::<D>("enqueue"))?;
            let inserted = D::fetch_optional(&mut tx, &sql::<D>().enqueue, args)
                .await
                .map_err(fail::<D>("enqueue"))?;
            if let Some(r) = inserted {
                let job = job(&r)?;
                tx.commit().await.map_err(fail::<D>("enqueue: commit"))?;
                self.wakeups.wake(job.id).await;
                return Ok(job);
            }
            // The source has an active job, unless it finished meanwhile.
            if let Some(active) = active_of::<D>(&mut tx, &new.source, "enqueue").await? {
                return Err(active_error(active));
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
        let sql = sql::<D>();
        let mut tx = self.db.begin_write().await.map_err(fail::<D>("claim"))?;
        let lost = D::fetch_all(&mut tx, &sql.fail_lost, Vec::new())
            .await
            .map_err(fail::<D>("claim: fail jobs out of attempts"))?;
        let args = vec![Arg::Text(worker), Arg::Delay(delay_micros(lease_for))];
        let taken = D::fetch_optional(&mut tx, &sql.claim, args)
            .await
            .map_err(fail::<D>("claim"))?;
        tx.commit().await.map_err(fail::<D>("claim: commit"))?;
        log_lost(&lost);
        taken.map(|r| claimed(&r)).transpose()
    }

    async fn start_claimed(
        &self,
        new: &NewJob,
        owner: &str,
        lease_for: Duration,
    ) -> Result<ClaimedJob, JobError> {
        let values = NewJobValues::new(new)?;
        let sql = sql::<D>();
        let lease = || Arg::Delay(delay_micros(lease_for));
        for _ in 0..ACTIVE_RETRIES {
            let mut tx = self
                .db
                .begin_write()
                .await
                .map_err(fail::<D>("start_claimed: begin"))?;
            let lost = D::fetch_all(
                &mut tx,
                &sql.fail_lost_of_source,
                vec![Arg::Text(&new.source)],
            )
            .await
            .map_err(fail::<D>("start_claimed: fail a job out of attempts"))?;
            let args = vec![Arg::Text(&new.source), Arg::Text(owner), lease()];
            let mut row = D::fetch_optional(&mut tx, &sql.take_over, args)
                .await
                .map_err(fail::<D>("start_claimed: take over"))?;
            if row.is_none() {
                let mut args = new_job_args(new, &values);
                args.extend([Arg::Text(owner), lease()]);
                row = D::fetch_optional(&mut tx, &sql.start_claimed, args)
                    .await
                    .map_err(fail::<D>("start_claimed"))?;
            }
            let Some(row) = row else {
                // The source has an active job, unless it finished meanwhile
                // (on Postgres, read committed: this statement sees the
                // latest commit).
                let active = active_of::<D>(&mut tx, &new.source, "start_claimed: the active job");
                if let Some(active) = active.await? {
                    return Err(active_error(active));
                }
                continue;
            };
            let claimed = claimed(&row)?;
            tx.commit()
                .await
                .map_err(fail::<D>("start_claimed: commit"))?;
            log_lost(&lost);
            return Ok(claimed);
        }
        Err(JobError::Store(
            "start_claimed: the source's active job kept changing; try again".into(),
        ))
    }

    async fn heartbeat(&self, lease: &Lease, lease_for: Duration) -> Result<Heartbeat, JobError> {
        let args = fenced(lease, [Arg::Delay(delay_micros(lease_for))]);
        let row = self
            .db
            .write_optional(&sql::<D>().heartbeat, args)
            .await
            .map_err(fail::<D>("heartbeat"))?
            .ok_or(JobError::LeaseLost(lease.job_id))?;
        let cancel_requested = row.boolean("cancel_requested").map_err(job_from_repo)?;
        Ok(Heartbeat { cancel_requested })
    }

    async fn report_progress(&self, lease: &Lease, progress: &JobProgress) -> Result<(), JobError> {
        let values = ProgressValues::new(progress)?;
        let args = fenced(
            lease,
            [
                Arg::Text(&values.stage),
                Arg::Int(values.processed),
                Arg::Int(values.total),
                Arg::OptFloat(values.eta_seconds),
            ],
        );
        let reported = self
            .db
            .write(&sql::<D>().progress, args)
            .await
            .map_err(fail::<D>("report_progress"))?;
        if reported == 0 {
            return Err(JobError::LeaseLost(lease.job_id));
        }
        Ok(())
    }

    async fn finish(&self, lease: &Lease, outcome: &JobOutcome) -> Result<Job, JobError> {
        let values = FinishValues::new(lease, outcome)?;
        let sql = sql::<D>();
        let (statement, more) = match &values {
            FinishValues::Finished {
                status,
                summary,
                error,
            } => {
                let more = vec![
                    Arg::Text(status),
                    Arg::Json(summary.as_ref()),
                    Arg::OptText(error.as_deref()),
                ];
                (&sql.finished, more)
            }
            FinishValues::Retry {
                delay_micros,
                summary,
                error,
            } => {
                let more = vec![
                    Arg::Json(summary.as_ref()),
                    Arg::Text(error),
                    Arg::Delay(*delay_micros),
                ];
                (&sql.retry, more)
            }
            FinishValues::Released => (&sql.released, Vec::new()),
        };
        let mut tx = self.db.begin_write().await.map_err(fail::<D>("finish"))?;
        let job = D::fetch_optional(&mut tx, statement, fenced(lease, more))
            .await
            .map_err(fail::<D>("finish"))?
            .ok_or(JobError::LeaseLost(lease.job_id))
            .and_then(|r| job(&r))?;
        if job.status == JobStatus::Succeeded {
            D::execute(&mut tx, &sql.drop_done_set, vec![Arg::Id(job.id)])
                .await
                .map_err(fail::<D>("finish: drop the checkpoint"))?;
        }
        tx.commit().await.map_err(fail::<D>("finish: commit"))?;
        if job.status == JobStatus::Queued {
            self.wakeups.wake(job.id).await;
        }
        Ok(job)
    }

    async fn checkpoint(&self, job_id: JobId) -> Result<Checkpoint, JobError> {
        let row = self
            .db
            .read_optional(&sql::<D>().checkpoint, vec![Arg::Id(job_id)])
            .await
            .map_err(fail::<D>("checkpoint"))?
            .ok_or(JobError::NotFound(job_id))?;
        let done = row.json("done_slugs").map_err(job_from_repo)?;
        let mut done_slugs: Vec<String> = match done {
            Some(list) => serde_json::from_value(list)
                .map_err(|e| JobError::Store(format!("checkpoint: done slugs: {e}")))?,
            None => Vec::new(),
        };
        done_slugs.sort_unstable();
        Ok(Checkpoint {
            done_slugs,
            state: row.json("checkpoint_state").map_err(job_from_repo)?,
        })
    }

    async fn get(&self, job_id: JobId) -> Result<Option<Job>, JobError> {
        self.db
            .read_optional(&sql::<D>().get, vec![Arg::Id(job_id)])
            .await
            .map_err(fail::<D>("get"))?
            .map(|r| job(&r))
            .transpose()
    }

    async fn list(&self, limit: u32) -> Result<Vec<Job>, JobError> {
        self.db
            .read_all(&sql::<D>().list, vec![Arg::Int(i64::from(limit))])
            .await
            .map_err(fail::<D>("list"))?
            .iter()
            .map(job)
            .collect()
    }

    async fn stats(&self) -> Result<QueueStats, JobError> {
        let rows = self
            .db
            .read_all(&sql::<D>().stats, vec![])
            .await
            .map_err(fail::<D>("stats"))?;
        let Some(r) = rows.first() else {
            return Ok(QueueStats::default());
        };
        let count = |col: &str| -> Result<u64, JobError> {
            let n = r.int(col).map_err(job_from_repo)?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        let oldest = r.opt_float("oldest_due_seconds").map_err(job_from_repo)?;
        Ok(QueueStats {
            queued: count("queued")?,
            retrying: count("retrying")?,
            running: count("running")?,
            // A clock step can make the age negative for a moment: zero then.
            oldest_due_age: oldest.map(|s| Duration::from_secs_f64(s.max(0.0))),
        })
    }

    async fn request_cancel(&self, job_id: JobId) -> Result<Job, JobError> {
        let cancelled = self
            .db
            .write_optional(&sql::<D>().cancel, vec![Arg::Id(job_id)])
            .await
            .map_err(fail::<D>("request_cancel"))?;
        match cancelled {
            Some(r) => job(&r),
            None => {
                let found = self.get(job_id).await?;
                Err(not_in_state(job_id, found.as_ref(), CANCEL_FINAL))
            }
        }
    }

    async fn resume(&self, job_id: JobId) -> Result<Job, JobError> {
        let sql = sql::<D>();
        for _ in 0..ACTIVE_RETRIES {
            let mut tx = self.db.begin_write().await.map_err(fail::<D>("resume"))?;
            let resumed = D::fetch_optional(&mut tx, &sql.resume, vec![Arg::Id(job_id)]).await;
            match resumed {
                Ok(Some(r)) => {
                    let job = job(&r)?;
                    tx.commit().await.map_err(fail::<D>("resume: commit"))?;
                    self.wakeups.wake(job.id).await;
                    return Ok(job);
                }
                Ok(None) => {
                    let found = D::fetch_optional(&mut tx, &sql.get, vec![Arg::Id(job_id)])
                        .await
                        .map_err(fail::<D>("resume"))?
                        .map(|r| job(&r))
                        .transpose()?;
                    return Err(not_in_state(job_id, found.as_ref(), RESUME_NOT_STOPPED));
                }
                // The source's one-active-job index: another job is active,
                // unless it finished meanwhile.
                Err(e) if is_unique_violation(&e) => {
                    drop(tx);
                    let Some(stopped) = self.get(job_id).await? else {
                        return Err(JobError::NotFound(job_id));
                    };
                    let source = vec![Arg::Text(&stopped.source)];
                    let active = self
                        .db
                        .read_optional(&sql.active_of_source, source)
                        .await
                        .map_err(fail::<D>("resume"))?;
                    if let Some(active) = active.map(|r| job(&r)).transpose()? {
                        return Err(active_error(active));
                    }
                }
                Err(e) => return Err(error::map_job(D::DIALECT, "resume", e)),
            }
        }
        Err(JobError::Store(
            "resume: the source's active job kept changing; try again".into(),
        ))
    }

    async fn prune(&self, older_than: Duration) -> Result<u64, JobError> {
        let cutoff = Arg::Delay(-delay_micros(older_than));
        self.db
            .write(&sql::<D>().prune, vec![cutoff])
            .await
            .map_err(fail::<D>("prune"))
    }

    async fn wait_for_work(&self, timeout: Duration) {
        self.wakeups.wait(timeout).await;
    }
}
