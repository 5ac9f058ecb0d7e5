//! The `JobQueue` contract, and the lease fence and checkpoint the track
//! repository keeps for jobs. Each case takes a [`Harness`] over a fresh,
//! migrated database and talks to the store only through the ports.
//!
//! Lease expiry is exercised with a zero lease (expired as soon as it is
//! taken, by the database clock) wherever waiting would prove nothing more;
//! retry backoff waits for real.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use ingest_core::{
    ArchivedReport, BatchCheckpoint, Checkpoint, ClaimedJob, FinishRun, Job, JobError, JobOutcome,
    JobProgress, JobQueue, JobRequest, JobStatus, Lease, MetadataMode, NewJob, QueueStats,
    RepositoryError, Stage, SyncSummary, Trigger, UpsertBatch,
};
use serde_json::json;
use uuid::Uuid;

use crate::fixtures::*;
use crate::harness::Harness;

/// A lease that outlives every case.
const HOLD: Duration = Duration::from_secs(60);
/// A lease that has expired by the time anyone looks.
const EXPIRED: Duration = Duration::ZERO;

fn new_job(source: &str, max_attempts: u32) -> NewJob {
    NewJob {
        source: source.into(),
        trigger: Trigger::Api,
        request: JobRequest {
            metadata: MetadataMode::All,
            concurrency: Some(3),
            force: true,
            accept_drift: vec!["phone".into()],
            dry_run: false,
        },
        max_attempts,
    }
}

/// A summary with every field set. Built from its JSON (the form it is
/// stored in), so fields the core adds with a default need no change here.
fn summary(run_id: Uuid) -> SyncSummary {
    serde_json::from_value(json!({
        "runId": run_id,
        "status": "succeeded",
        "tracksTotal": 1090,
        "tracksAdded": 1,
        "tracksUpdated": 2,
        "tracksUnchanged": 3,
        "tracksChurnOnly": 4,
        "tracksDeactivated": 5,
        "tracksReactivated": 6,
        "metadataFetched": 7,
        "metadataNotModified": 8,
        "metadataSkipped": 9,
        "metadataFailures": 10,
        "validationAnomalies": 11,
        "retries": 12,
        "durationSeconds": 13.25,
        "reportPath": "docs/reports/run.md",
        "reportFile": "run.md",
        "error": null,
        "stageTimings": [{ "stage": "dashboards", "seconds": 1.5, "detail": "11 batches" }],
    }))
    .expect("a SyncSummary")
}

/// A batch of job `lease.job_id` carrying its checkpoint step.
fn checkpointed(mut b: UpsertBatch, lease: Lease, state: serde_json::Value) -> UpsertBatch {
    b.checkpoint = Some(BatchCheckpoint { lease, state });
    b
}

fn leased_finish(run_id: Uuid, lease: Lease, keep: Option<&[&str]>) -> FinishRun {
    FinishRun {
        lease: Some(lease),
        ..finish(run_id, t(5), keep)
    }
}

async fn enqueue(h: &Harness, source: &str, max_attempts: u32) -> Job {
    h.jobs
        .enqueue(&new_job(source, max_attempts))
        .await
        .expect("enqueue")
}

async fn claim(h: &Harness, worker: &str, lease_for: Duration) -> ClaimedJob {
    h.jobs
        .claim(worker, lease_for)
        .await
        .expect("claim")
        .unwrap_or_else(|| panic!("{worker} finds a job to claim"))
}

async fn nothing_to_claim(h: &Harness) {
    let claimed = h.jobs.claim("idle", HOLD).await.expect("claim");
    assert!(claimed.is_none(), "nothing claimable, got {claimed:?}");
}

async fn get_job(h: &Harness, id: Uuid) -> Job {
    h.jobs.get(id).await.expect("get").expect("the job exists")
}

async fn checkpoint(h: &Harness, id: Uuid) -> Checkpoint {
    h.jobs.checkpoint(id).await.expect("checkpoint")
}

fn done(c: &Checkpoint) -> Vec<&str> {
    c.done_slugs.iter().map(String::as_str).collect()
}

fn assert_lease_lost<T: std::fmt::Debug>(result: Result<T, JobError>, id: Uuid) {
    match result {
        Err(JobError::LeaseLost(lost)) => assert_eq!(lost, id),
        other => panic!("expected LeaseLost({id}), got {other:?}"),
    }
}

fn assert_repo_lease_lost<T: std::fmt::Debug>(result: Result<T, RepositoryError>, id: Uuid) {
    match result {
        Err(RepositoryError::LeaseLost(lost)) => assert_eq!(lost, id),
        other => panic!("expected RepositoryError::LeaseLost({id}), got {other:?}"),
    }
}

fn assert_invalid<T: std::fmt::Debug>(result: Result<T, JobError>, id: Uuid, status: JobStatus) {
    match result {
        Err(JobError::InvalidState {
            job_id, status: s, ..
        }) => {
            assert_eq!(job_id, id);
            assert_eq!(s, status);
        }
        other => panic!("expected InvalidState({id}, {status}), got {other:?}"),
    }
}

fn assert_active<T: std::fmt::Debug>(result: Result<T, JobError>, id: Uuid, status: JobStatus) {
    match result {
        Err(JobError::Active { job_id, status: s }) => {
            assert_eq!(job_id, id);
            assert_eq!(s, status);
        }
        other => panic!("expected Active({id}, {status}), got {other:?}"),
    }
}

/// The lease is held until `now + lease_for`, by the database clock that
/// also stamped `updated_at` in the same statement.
fn assert_leased(job: &Job, worker: &str, lease_for: Duration) {
    assert_eq!(job.status, JobStatus::Running);
    assert_eq!(job.lease_owner.as_deref(), Some(worker));
    let lease_for = TimeDelta::from_std(lease_for).expect("lease fits");
    assert_eq!(job.lease_expires_at, Some(job.updated_at + lease_for));
}

fn assert_unleased(job: &Job) {
    assert_eq!(job.lease_owner, None);
    assert_eq!(job.lease_expires_at, None);
}

pub(crate) async fn jobs_enqueue_get_and_list(h: &Harness) {
    let a = enqueue(h, "liverc", 3).await;
    assert_eq!(a.source, "liverc");
    assert_eq!(a.status, JobStatus::Queued);
    assert_eq!(a.trigger, Trigger::Api);
    assert_eq!(a.request, new_job("liverc", 3).request);
    assert_eq!((a.attempts, a.max_attempts), (0, 3));
    assert!(!a.cancel_requested);
    assert_eq!(a.progress, JobProgress::default());
    assert_eq!((&a.summary, &a.error), (&None, &None));
    assert_eq!((a.started_at, a.completed_at), (None, None));
    assert_unleased(&a);
    assert_eq!(a.run_after, a.created_at, "due at once");
    assert_eq!(a.updated_at, a.created_at);
    assert_eq!(get_job(h, a.id).await, a);

    let b = enqueue(h, "other", 1).await;
    assert_ne!(a.id, b.id);
    let ids = |jobs: Vec<Job>| jobs.into_iter().map(|j| j.id).collect::<Vec<_>>();
    assert_eq!(ids(h.jobs.list(10).await.expect("list")), [b.id, a.id]);
    assert_eq!(ids(h.jobs.list(1).await.expect("list")), [b.id]);
    assert!(h.jobs.list(0).await.expect("list").is_empty());

    let unknown = Uuid::now_v7();
    assert_eq!(h.jobs.get(unknown).await.expect("get"), None);
    assert_eq!(checkpoint(h, a.id).await, Checkpoint::default());
    assert!(matches!(
        h.jobs.checkpoint(unknown).await,
        Err(JobError::NotFound(id)) if id == unknown
    ));

    // A job needs at least one attempt.
    assert!(matches!(
        h.jobs.enqueue(&new_job("third", 0)).await,
        Err(JobError::Store(_))
    ));
    assert_eq!(h.jobs.list(10).await.expect("list").len(), 2);
}

pub(crate) async fn jobs_one_active_job_per_source(h: &Harness) {
    let first = enqueue(h, "liverc", 3).await;
    assert_active(
        h.jobs.enqueue(&new_job("liverc", 3)).await,
        first.id,
        JobStatus::Queued,
    );

    let claimed = claim(h, "w1", HOLD).await;
    assert_eq!(claimed.job.id, first.id);
    assert_active(
        h.jobs.enqueue(&new_job("liverc", 1)).await,
        first.id,
        JobStatus::Running,
    );
    // Another source is not in the way.
    let other = enqueue(h, "other", 1).await;
    assert_eq!(other.status, JobStatus::Queued);

    h.jobs
        .finish(
            &claimed.lease,
            &JobOutcome::Finished {
                status: JobStatus::Succeeded,
                summary: None,
                error: None,
            },
        )
        .await
        .expect("finish");
    let second = enqueue(h, "liverc", 3).await;
    assert_ne!(second.id, first.id);
    assert_eq!(h.jobs.list(10).await.expect("list").len(), 3);
}

pub(crate) async fn jobs_claim_takes_the_oldest_due_job(h: &Harness) {
    nothing_to_claim(h).await;
    let a = enqueue(h, "alpha", 3).await;
    let b = enqueue(h, "bravo", 3).await;

    let first = claim(h, "w1", HOLD).await;
    assert_eq!(first.job.id, a.id, "oldest first");
    assert_eq!(first.lease.job_id, a.id);
    assert!(first.lease.token >= 1);
    assert_eq!(first.job.attempts, 1);
    assert_leased(&first.job, "w1", HOLD);
    assert_eq!(first.job.started_at, Some(first.job.updated_at));
    assert_eq!(first.job.created_at, a.created_at);
    assert_eq!(get_job(h, a.id).await, first.job);

    let second = claim(h, "w2", HOLD).await;
    assert_eq!(second.job.id, b.id);
    assert_leased(&second.job, "w2", HOLD);
    // Both leases are held.
    nothing_to_claim(h).await;
}

pub(crate) async fn jobs_concurrent_claimers_take_a_job_once(h: &Harness) {
    // Eight stores: eight pools, so the claims really are concurrent
    // transactions. Several rounds, because one race may happen to
    // serialise.
    let mut queues: Vec<Arc<dyn JobQueue>> = Vec::new();
    for _ in 0..8 {
        queues.push(ingest_store::open(&h.url).await.expect("open").jobs);
    }
    for round in 0..6 {
        let job = enqueue(h, &format!("source-{round}"), 3).await;
        let start = Arc::new(tokio::sync::Barrier::new(queues.len()));
        let tasks: Vec<_> = queues
            .iter()
            .enumerate()
            .map(|(i, queue)| {
                let (start, queue) = (start.clone(), queue.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    queue.claim(&format!("w{i}"), HOLD).await
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            if let Some(claimed) = task.await.expect("claimer").expect("claim") {
                winners.push(claimed);
            }
        }
        let owners: Vec<_> = winners
            .iter()
            .map(|w| (w.job.lease_owner.clone(), w.lease.token))
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one claimer wins, not {owners:?}"
        );
        let stored = get_job(h, job.id).await;
        assert_eq!(stored.attempts, 1);
        assert_eq!(stored, winners[0].job);
    }
}

pub(crate) async fn jobs_expired_lease_is_taken_over_and_the_old_token_fenced(h: &Harness) {
    let job = enqueue(h, SOURCE, 3).await;
    let old = claim(h, "w1", EXPIRED).await;
    // While nobody has taken it over, the lease still writes.
    h.repo
        .apply_batch(&checkpointed(
            batch(job.id, t(0), vec![bare("alpha"), bare("bravo")]),
            old.lease,
            json!({ "batches": 1 }),
        ))
        .await
        .expect("batch under the first lease");

    let new = claim(h, "w2", HOLD).await;
    assert_eq!(new.job.id, job.id);
    assert!(new.lease.token > old.lease.token, "{new:?} after {old:?}");
    assert_eq!(new.job.attempts, 2);
    assert_leased(&new.job, "w2", HOLD);
    assert_eq!(new.job.started_at, old.job.started_at, "first start kept");

    let tracks_before = h.repo.snapshot(SOURCE).await.expect("snapshot");
    let checkpoint_before = checkpoint(h, job.id).await;
    assert_eq!(done(&checkpoint_before), ["alpha", "bravo"]);
    assert_eq!(checkpoint_before.state, Some(json!({ "batches": 1 })));

    // Every write of the superseded lease is refused.
    assert_lease_lost(h.jobs.heartbeat(&old.lease, HOLD).await, job.id);
    let progress = JobProgress {
        stage: Stage::Dashboards,
        processed: 10,
        total: 20,
        eta_seconds: None,
    };
    assert_lease_lost(h.jobs.report_progress(&old.lease, &progress).await, job.id);
    assert_lease_lost(
        h.jobs
            .finish(
                &old.lease,
                &JobOutcome::Finished {
                    status: JobStatus::Failed,
                    summary: None,
                    error: Some("stale".into()),
                },
            )
            .await,
        job.id,
    );
    for outcome in [
        JobOutcome::Released,
        JobOutcome::Retry {
            after: Duration::ZERO,
            summary: None,
            error: "stale".into(),
        },
    ] {
        assert_lease_lost(h.jobs.finish(&old.lease, &outcome).await, job.id);
    }
    let mut renamed = bare("alpha");
    renamed.catalogue.name = "Alpha Renamed".into();
    let mut stale = checkpointed(
        batch(job.id, t(1), vec![renamed, bare("charlie")]),
        old.lease,
        json!({ "batches": 99 }),
    );
    stale.changes = vec![change(
        "alpha",
        "name",
        Some("alpha bare"),
        Some("Alpha Renamed"),
    )];
    assert_repo_lease_lost(h.repo.apply_batch(&stale).await, job.id);
    assert_repo_lease_lost(
        h.repo
            .finish_run(&leased_finish(job.id, old.lease, Some(&[])))
            .await,
        job.id,
    );

    // Nothing of them was written.
    assert_eq!(
        h.repo.snapshot(SOURCE).await.expect("snapshot"),
        tracks_before
    );
    assert_eq!(checkpoint(h, job.id).await, checkpoint_before);
    assert_eq!(h.change_count().await, 0);
    assert_eq!(h.repo.sync_state(SOURCE).await.expect("sync state"), None);
    let stored = get_job(h, job.id).await;
    assert_eq!(stored.progress, JobProgress::default());
    assert_eq!(stored.lease_owner.as_deref(), Some("w2"));
    assert_eq!(stored.error, None);

    // The current lease writes.
    h.jobs.heartbeat(&new.lease, HOLD).await.expect("heartbeat");
    h.repo
        .apply_batch(&checkpointed(
            batch(job.id, t(1), vec![bare("charlie")]),
            new.lease,
            json!({ "batches": 2 }),
        ))
        .await
        .expect("batch under the current lease");
    let finished = h
        .repo
        .finish_run(&leased_finish(job.id, new.lease, Some(&["charlie"])))
        .await
        .expect("finish_run under the current lease");
    assert_eq!(finished.deactivated.len(), 2);
    assert_eq!(
        done(&checkpoint(h, job.id).await),
        ["alpha", "bravo", "charlie"]
    );
    let succeeded = h
        .jobs
        .finish(
            &new.lease,
            &JobOutcome::Finished {
                status: JobStatus::Succeeded,
                summary: Some(summary(job.id)),
                error: None,
            },
        )
        .await
        .expect("finish");
    assert_eq!(succeeded.status, JobStatus::Succeeded);

    // A finished job's lease writes nothing either.
    assert_repo_lease_lost(
        h.repo
            .apply_batch(&checkpointed(
                batch(job.id, t(2), vec![bare("delta")]),
                new.lease,
                json!({ "batches": 3 }),
            ))
            .await,
        job.id,
    );
    assert!(get(h, &["delta"]).await.is_empty());
}

async fn get(h: &Harness, list: &[&str]) -> Vec<ingest_core::StoredTrack> {
    h.repo
        .get_tracks(SOURCE, &slugs(list))
        .await
        .expect("get_tracks")
}

pub(crate) async fn jobs_heartbeat_extends_the_lease_and_reports_cancellation(h: &Harness) {
    let job = enqueue(h, "liverc", 3).await;
    let claimed = claim(h, "w1", EXPIRED).await;

    let beat = h
        .jobs
        .heartbeat(&claimed.lease, HOLD)
        .await
        .expect("heartbeat");
    assert!(!beat.cancel_requested);
    let stored = get_job(h, job.id).await;
    assert_leased(&stored, "w1", HOLD);
    // The extended lease holds: nobody takes the job over.
    nothing_to_claim(h).await;

    let flagged = h.jobs.request_cancel(job.id).await.expect("cancel");
    assert_eq!(flagged.status, JobStatus::Running);
    assert!(flagged.cancel_requested);
    assert_eq!(flagged.completed_at, None);
    let beat = h
        .jobs
        .heartbeat(&claimed.lease, HOLD)
        .await
        .expect("heartbeat");
    assert!(beat.cancel_requested);

    // A short lease, extended in time, is not taken over; left alone, it is.
    let other = enqueue(h, "other", 3).await;
    let short = Duration::from_millis(1000);
    let held = claim(h, "w2", short).await;
    assert_eq!(held.job.id, other.id);
    tokio::time::sleep(Duration::from_millis(500)).await;
    h.jobs.heartbeat(&held.lease, short).await.expect("beat");
    // Past the first expiry, before the extended one.
    tokio::time::sleep(Duration::from_millis(700)).await;
    nothing_to_claim(h).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let taken = claim(h, "w3", HOLD).await;
    assert_eq!(taken.job.id, other.id);
    assert!(taken.lease.token > held.lease.token);
}

pub(crate) async fn jobs_retry_waits_for_run_after(h: &Harness) {
    let job = enqueue(h, "liverc", 3).await;
    let first = claim(h, "w1", HOLD).await;
    let backoff = Duration::from_millis(700);
    let queued = h
        .jobs
        .finish(
            &first.lease,
            &JobOutcome::Retry {
                after: backoff,
                summary: Some(summary(job.id)),
                error: "catalogue timed out".into(),
            },
        )
        .await
        .expect("retry");
    assert_eq!(queued.status, JobStatus::Queued);
    assert_eq!(queued.error.as_deref(), Some("catalogue timed out"));
    assert_eq!(queued.summary, Some(summary(job.id)));
    assert_eq!(queued.completed_at, None);
    assert_eq!(queued.attempts, 1);
    assert_unleased(&queued);
    assert_eq!(
        queued.run_after,
        queued.updated_at + TimeDelta::from_std(backoff).expect("fits")
    );
    assert_eq!(get_job(h, job.id).await, queued);

    // Not before run_after…
    nothing_to_claim(h).await;
    // …but after it.
    tokio::time::sleep(backoff + Duration::from_millis(200)).await;
    let second = claim(h, "w2", HOLD).await;
    assert_eq!(second.job.id, job.id);
    assert_eq!(second.job.attempts, 2);
    assert!(second.lease.token > first.lease.token);
    assert_eq!(second.job.error.as_deref(), Some("catalogue timed out"));
    assert_lease_lost(h.jobs.heartbeat(&first.lease, HOLD).await, job.id);
}

pub(crate) async fn jobs_spent_retry_budget_fails_the_job(h: &Harness) {
    let a = enqueue(h, "alpha", 2).await;
    let b = enqueue(h, "bravo", 1).await;

    let first = claim(h, "w1", EXPIRED).await;
    assert_eq!((first.job.id, first.job.attempts), (a.id, 1));
    // The expired lease of the older job comes before the newer queued one.
    let second = claim(h, "w2", EXPIRED).await;
    assert_eq!((second.job.id, second.job.attempts), (a.id, 2));

    // Its second lease expired too, after its last attempt: the next claim
    // fails it and takes the next job instead.
    let third = claim(h, "w3", HOLD).await;
    assert_eq!(third.job.id, b.id);
    let failed = get_job(h, a.id).await;
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(
        failed.error.as_deref(),
        Some("worker lost its lease after 2 attempts")
    );
    assert!(failed.completed_at.is_some());
    assert_eq!(failed.attempts, 2);
    assert_unleased(&failed);
    assert_lease_lost(h.jobs.heartbeat(&second.lease, HOLD).await, a.id);

    // A transient failure on the last attempt fails the job too.
    let gave_up = h
        .jobs
        .finish(
            &third.lease,
            &JobOutcome::Retry {
                after: Duration::ZERO,
                summary: None,
                error: "site down".into(),
            },
        )
        .await
        .expect("retry");
    assert_eq!(gave_up.status, JobStatus::Failed);
    assert_eq!(
        gave_up.error.as_deref(),
        Some("site down (gave up after 1 attempts)")
    );
    assert!(gave_up.completed_at.is_some());
    assert_unleased(&gave_up);
    nothing_to_claim(h).await;
}

pub(crate) async fn jobs_released_attempt_is_not_counted(h: &Harness) {
    let job = enqueue(h, "liverc", 1).await;
    let first = claim(h, "w1", HOLD).await;
    assert_eq!(first.job.attempts, 1);
    let released = h
        .jobs
        .finish(&first.lease, &JobOutcome::Released)
        .await
        .expect("release");
    assert_eq!(released.status, JobStatus::Queued);
    assert_eq!(released.attempts, 0);
    assert_eq!(released.run_after, released.updated_at, "due at once");
    assert_unleased(&released);
    assert_eq!(released.completed_at, None);

    // Claimed again at once, on the same (single) attempt budget.
    let second = claim(h, "w2", EXPIRED).await;
    assert_eq!(second.job.id, job.id);
    assert_eq!(second.job.attempts, 1);
    assert!(second.lease.token > first.lease.token);
    assert_lease_lost(
        h.jobs.finish(&first.lease, &JobOutcome::Released).await,
        job.id,
    );
    // That attempt was the last one.
    nothing_to_claim(h).await;
    let failed = get_job(h, job.id).await;
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(
        failed.error.as_deref(),
        Some("worker lost its lease after 1 attempts")
    );
}

pub(crate) async fn jobs_cancel_queued_running_and_final(h: &Harness) {
    let queued = enqueue(h, "alpha", 3).await;
    let cancelled = h.jobs.request_cancel(queued.id).await.expect("cancel");
    assert_eq!(cancelled.status, JobStatus::Cancelled);
    assert!(cancelled.cancel_requested);
    assert!(cancelled.completed_at.is_some());
    assert_eq!(cancelled.attempts, 0);
    nothing_to_claim(h).await;

    let running = enqueue(h, "bravo", 3).await;
    let claimed = claim(h, "w1", HOLD).await;
    let flagged = h.jobs.request_cancel(running.id).await.expect("cancel");
    assert_eq!(flagged.status, JobStatus::Running);
    assert!(flagged.cancel_requested);
    assert_eq!(flagged.completed_at, None);
    assert_eq!(flagged.lease_owner.as_deref(), Some("w1"));
    // Asking twice changes nothing more.
    let again = h.jobs.request_cancel(running.id).await.expect("cancel");
    assert_eq!(again.status, JobStatus::Running);

    let stopped = h
        .jobs
        .finish(
            &claimed.lease,
            &JobOutcome::Finished {
                status: JobStatus::Cancelled,
                summary: Some(summary(running.id)),
                error: None,
            },
        )
        .await
        .expect("finish");
    assert_eq!(stopped.status, JobStatus::Cancelled);
    assert!(stopped.completed_at.is_some());
    assert_unleased(&stopped);

    assert_invalid(
        h.jobs.request_cancel(running.id).await,
        running.id,
        JobStatus::Cancelled,
    );
    assert_invalid(
        h.jobs.request_cancel(queued.id).await,
        queued.id,
        JobStatus::Cancelled,
    );
    let unknown = Uuid::now_v7();
    assert!(matches!(
        h.jobs.request_cancel(unknown).await,
        Err(JobError::NotFound(id)) if id == unknown
    ));
}

pub(crate) async fn jobs_resume_requeues_stopped_jobs_with_their_checkpoint(h: &Harness) {
    let job = enqueue(h, SOURCE, 1).await;
    let first = claim(h, "w1", HOLD).await;
    h.repo
        .apply_batch(&checkpointed(
            batch(job.id, t(0), vec![bare("alpha"), bare("bravo")]),
            first.lease,
            json!({ "stored": 2 }),
        ))
        .await
        .expect("batch");
    let failed = h
        .jobs
        .finish(
            &first.lease,
            &JobOutcome::Finished {
                status: JobStatus::Failed,
                summary: None,
                error: Some("boom".into()),
            },
        )
        .await
        .expect("fail");
    assert_eq!(failed.error.as_deref(), Some("boom"));

    let resumed = h.jobs.resume(job.id).await.expect("resume");
    assert_eq!(resumed.id, job.id);
    assert_eq!(resumed.status, JobStatus::Queued);
    assert_eq!((resumed.error.as_ref(), resumed.completed_at), (None, None));
    assert!(!resumed.cancel_requested);
    assert_eq!(resumed.attempts, 1, "attempts keep counting");
    assert_eq!(resumed.run_after, resumed.updated_at, "due at once");
    assert_eq!(resumed.started_at, first.job.started_at);
    let kept = checkpoint(h, job.id).await;
    assert_eq!(done(&kept), ["alpha", "bravo"]);
    assert_eq!(kept.state, Some(json!({ "stored": 2 })));
    assert_active(
        h.jobs.enqueue(&new_job(SOURCE, 1)).await,
        job.id,
        JobStatus::Queued,
    );
    assert_invalid(h.jobs.resume(job.id).await, job.id, JobStatus::Queued);

    // The budget of one attempt starts again from the resume.
    let second = claim(h, "w2", EXPIRED).await;
    assert_eq!(second.job.attempts, 2);
    nothing_to_claim(h).await;
    let lost = get_job(h, job.id).await;
    assert_eq!(lost.status, JobStatus::Failed);
    assert_eq!(
        lost.error.as_deref(),
        Some("worker lost its lease after 1 attempts")
    );
    assert_eq!(checkpoint(h, job.id).await, kept);

    // A cancelled job resumes too; another active job of the source is in
    // the way.
    h.jobs
        .resume(job.id)
        .await
        .expect("resume after lost lease");
    let cancelled = h.jobs.request_cancel(job.id).await.expect("cancel");
    assert_eq!(cancelled.status, JobStatus::Cancelled);
    let other = enqueue(h, SOURCE, 1).await;
    assert_active(h.jobs.resume(job.id).await, other.id, JobStatus::Queued);
    assert_eq!(get_job(h, job.id).await.status, JobStatus::Cancelled);

    // A succeeded job is not resumed.
    let done_lease = claim(h, "w3", HOLD).await;
    assert_eq!(done_lease.job.id, other.id);
    h.jobs
        .finish(
            &done_lease.lease,
            &JobOutcome::Finished {
                status: JobStatus::Succeeded,
                summary: Some(summary(other.id)),
                error: None,
            },
        )
        .await
        .expect("succeed");
    assert_invalid(
        h.jobs.resume(other.id).await,
        other.id,
        JobStatus::Succeeded,
    );

    // With the source free again, the cancelled job resumes, checkpoint kept.
    let back = h.jobs.resume(job.id).await.expect("resume cancelled");
    assert_eq!(back.status, JobStatus::Queued);
    assert!(!back.cancel_requested);
    assert_eq!(checkpoint(h, job.id).await, kept);

    let unknown = Uuid::now_v7();
    assert!(matches!(
        h.jobs.resume(unknown).await,
        Err(JobError::NotFound(id)) if id == unknown
    ));
}

pub(crate) async fn jobs_checkpoint_accumulates_with_stored_batches_only(h: &Harness) {
    let job = enqueue(h, SOURCE, 3).await;
    let claimed = claim(h, "w1", HOLD).await;
    let lease = claimed.lease;
    assert_eq!(checkpoint(h, job.id).await, Checkpoint::default());

    h.repo
        .apply_batch(&checkpointed(
            batch(job.id, t(0), vec![bare("bravo"), bare("alpha")]),
            lease,
            json!({ "batches": 1 }),
        ))
        .await
        .expect("first batch");
    let outcome = h
        .repo
        .apply_batch(&checkpointed(
            batch(job.id, t(0), vec![bare("charlie"), bare("alpha")]),
            lease,
            json!({ "batches": 2, "note": "alpha twice" }),
        ))
        .await
        .expect("second batch");
    assert_eq!((outcome.inserted, outcome.unchanged), (1, 1));
    let after_two = checkpoint(h, job.id).await;
    assert_eq!(done(&after_two), ["alpha", "bravo", "charlie"]);
    assert_eq!(
        after_two.state,
        Some(json!({ "batches": 2, "note": "alpha twice" }))
    );

    // A batch the database refuses (a constraint, on its last row) adds
    // nothing to the checkpoint either.
    let mut wrong = geo(0.0);
    wrong.latitude = 999.0;
    let mut echo = full("echo", t(1));
    echo.geo = ingest_core::GeoUpdate::Set(wrong);
    let refused = h
        .repo
        .apply_batch(&checkpointed(
            batch(job.id, t(1), vec![bare("delta"), echo]),
            lease,
            json!({ "batches": 3 }),
        ))
        .await;
    assert!(
        matches!(refused, Err(RepositoryError::Rejected(_))),
        "{refused:?}"
    );
    assert_eq!(checkpoint(h, job.id).await, after_two);
    assert!(get(h, &["delta", "echo"]).await.is_empty());

    // An empty batch still moves the state.
    h.repo
        .apply_batch(&checkpointed(
            batch(job.id, t(1), Vec::new()),
            lease,
            json!(null),
        ))
        .await
        .expect("empty batch");
    let after_empty = checkpoint(h, job.id).await;
    assert_eq!(after_empty.done_slugs, after_two.done_slugs);
    assert_eq!(after_empty.state, Some(serde_json::Value::Null));

    // Checkpoints are per job.
    let other = enqueue(h, "other", 3).await;
    assert_eq!(checkpoint(h, other.id).await, Checkpoint::default());
}

pub(crate) async fn jobs_progress_and_outcome_round_trip(h: &Harness) {
    let job = enqueue(h, "liverc", 3).await;
    let claimed = claim(h, "w1", HOLD).await;
    let progress = JobProgress {
        stage: Stage::Dashboards,
        processed: 12,
        total: 1090,
        eta_seconds: Some(42.5),
    };
    h.jobs
        .report_progress(&claimed.lease, &progress)
        .await
        .expect("progress");
    assert_eq!(get_job(h, job.id).await.progress, progress);
    let unknown_eta = JobProgress {
        eta_seconds: Some(f64::INFINITY),
        ..progress.clone()
    };
    h.jobs
        .report_progress(&claimed.lease, &unknown_eta)
        .await
        .expect("progress");
    assert_eq!(get_job(h, job.id).await.progress.eta_seconds, None);

    // Finishing needs a final status; the lease is kept.
    assert_invalid(
        h.jobs
            .finish(
                &claimed.lease,
                &JobOutcome::Finished {
                    status: JobStatus::Queued,
                    summary: None,
                    error: None,
                },
            )
            .await,
        job.id,
        JobStatus::Running,
    );
    assert_eq!(get_job(h, job.id).await.status, JobStatus::Running);

    let finished = h
        .jobs
        .finish(
            &claimed.lease,
            &JobOutcome::Finished {
                status: JobStatus::Succeeded,
                summary: Some(summary(job.id)),
                error: None,
            },
        )
        .await
        .expect("finish");
    assert_eq!(finished.status, JobStatus::Succeeded);
    assert_eq!(finished.summary, Some(summary(job.id)));
    assert_eq!(finished.error, None);
    assert_eq!(finished.completed_at, Some(finished.updated_at));
    assert_eq!(finished.attempts, 1);
    assert_unleased(&finished);
    assert_eq!(get_job(h, job.id).await, finished);
    assert_lease_lost(h.jobs.heartbeat(&claimed.lease, HOLD).await, job.id);
    assert_lease_lost(
        h.jobs.report_progress(&claimed.lease, &progress).await,
        job.id,
    );
}

pub(crate) async fn jobs_enqueue_wakes_an_idle_worker(h: &Harness) {
    // The first wait may return early (Postgres: a listener that just
    // started listening cannot know what it missed).
    h.jobs.wait_for_work(Duration::from_millis(300)).await;
    // With nothing queued, a wait lasts its timeout.
    let started = Instant::now();
    h.jobs.wait_for_work(Duration::from_millis(400)).await;
    assert!(
        started.elapsed() >= Duration::from_millis(350),
        "woke after {:?} with nothing queued",
        started.elapsed()
    );

    let jobs = h.jobs.clone();
    let waiter = tokio::spawn(async move {
        jobs.wait_for_work(Duration::from_secs(30)).await;
        Instant::now()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "the worker waits");

    let enqueued = Instant::now();
    enqueue(h, "liverc", 3).await;
    let woke = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the enqueue wakes the worker")
        .expect("waiter");
    let latency = woke.saturating_duration_since(enqueued);
    assert!(
        latency < Duration::from_millis(500),
        "woke after {latency:?}"
    );
}

fn finished(status: JobStatus) -> JobOutcome {
    JobOutcome::Finished {
        status,
        summary: None,
        error: (status != JobStatus::Succeeded).then(|| "stopped".to_owned()),
    }
}

/// Only a failed or cancelled job can be resumed, so a job that succeeded
/// drops its checkpoint (done set and carried state) as it finishes; a
/// failed one keeps it for a resume.
pub(crate) async fn jobs_success_drops_the_checkpoint_failure_keeps_it(h: &Harness) {
    for (source, status) in [("ok", JobStatus::Succeeded), ("bad", JobStatus::Failed)] {
        let job = enqueue(h, source, 3).await;
        let claimed = claim(h, "w1", HOLD).await;
        h.repo
            .apply_batch(&checkpointed(
                UpsertBatch {
                    source: source.into(),
                    ..batch(job.id, t(0), vec![bare("alpha"), bare("bravo")])
                },
                claimed.lease,
                json!({ "batches": 1 }),
            ))
            .await
            .expect("batch");
        assert_eq!(done(&checkpoint(h, job.id).await), ["alpha", "bravo"]);
        let ended = h
            .jobs
            .finish(&claimed.lease, &finished(status))
            .await
            .expect("finish");
        assert_eq!(ended.status, status);
        let left = checkpoint(h, job.id).await;
        if status == JobStatus::Succeeded {
            assert_eq!(left, Checkpoint::default(), "nothing left to resume from");
        } else {
            assert_eq!(done(&left), ["alpha", "bravo"]);
            assert_eq!(left.state, Some(json!({ "batches": 1 })));
        }
    }
}

/// `prune` deletes final jobs completed before the cut-off, with their
/// checkpoints, and never a queued or running job.
pub(crate) async fn jobs_prune_deletes_old_final_jobs_only(h: &Harness) {
    let mut finals = Vec::new();
    for (source, status) in [
        ("s1", JobStatus::Succeeded),
        ("s2", JobStatus::Failed),
        ("s3", JobStatus::Cancelled),
    ] {
        let job = enqueue(h, source, 3).await;
        let claimed = claim(h, "w1", HOLD).await;
        if status == JobStatus::Failed {
            h.repo
                .apply_batch(&checkpointed(
                    UpsertBatch {
                        source: source.into(),
                        ..batch(job.id, t(0), vec![bare("alpha")])
                    },
                    claimed.lease,
                    json!(null),
                ))
                .await
                .expect("batch");
        }
        h.jobs
            .finish(&claimed.lease, &finished(status))
            .await
            .expect("finish");
        finals.push(job.id);
    }
    assert_eq!(
        h.count("sync_job_tracks").await,
        1,
        "the failed job's done set"
    );
    let running = enqueue(h, "s4", 3).await;
    let _lease = claim(h, "w2", HOLD).await;
    let queued = enqueue(h, "s5", 3).await;

    // Nothing is older than an hour.
    assert_eq!(
        h.jobs
            .prune(Duration::from_secs(3600))
            .await
            .expect("prune"),
        0
    );
    assert_eq!(h.jobs.list(10).await.expect("list").len(), 5);

    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        h.jobs
            .prune(Duration::from_millis(10))
            .await
            .expect("prune"),
        3
    );
    for id in finals {
        assert!(h.jobs.get(id).await.expect("get").is_none(), "{id} pruned");
    }
    assert_eq!(h.count("sync_job_tracks").await, 0, "done sets pruned too");
    assert_eq!(get_job(h, running.id).await.status, JobStatus::Running);
    assert_eq!(get_job(h, queued.id).await.status, JobStatus::Queued);
    assert_eq!(h.jobs.prune(Duration::ZERO).await.expect("prune again"), 0);
}

fn cli_job(source: &str, max_attempts: u32) -> NewJob {
    NewJob {
        trigger: Trigger::Cli,
        ..new_job(source, max_attempts)
    }
}

async fn start_claimed(h: &Harness, owner: &str, lease_for: Duration, max: u32) -> ClaimedJob {
    h.jobs
        .start_claimed(&cli_job(SOURCE, max), owner, lease_for)
        .await
        .unwrap_or_else(|e| panic!("{owner} starts a claimed job: {e}"))
}

pub(crate) async fn jobs_start_claimed_runs_at_once_and_holds_the_source(h: &Harness) {
    let started = start_claimed(h, "cli-1", HOLD, 3).await;
    let job = &started.job;
    assert_leased(job, "cli-1", HOLD);
    assert_eq!(job.trigger, Trigger::Cli);
    assert_eq!(job.request, cli_job(SOURCE, 3).request);
    assert_eq!((job.attempts, job.max_attempts), (1, 3));
    assert!(job.started_at.is_some());
    assert_eq!(started.lease.job_id, job.id);
    assert_eq!(get_job(h, job.id).await, *job);
    // No worker can take it, and nobody else can start the source.
    nothing_to_claim(h).await;
    assert_active(
        h.jobs.enqueue(&new_job(SOURCE, 3)).await,
        job.id,
        JobStatus::Running,
    );
    assert_active(
        h.jobs
            .start_claimed(&cli_job(SOURCE, 3), "cli-2", HOLD)
            .await,
        job.id,
        JobStatus::Running,
    );
    // The lease is a worker's lease: it renews, it fences, it finishes.
    h.jobs
        .heartbeat(&started.lease, HOLD)
        .await
        .expect("heartbeat");
    let stale = Lease {
        token: started.lease.token - 1,
        ..started.lease
    };
    assert_lease_lost(h.jobs.heartbeat(&stale, HOLD).await, job.id);
    let done = h
        .jobs
        .finish(
            &started.lease,
            &JobOutcome::Finished {
                status: JobStatus::Cancelled,
                summary: None,
                error: None,
            },
        )
        .await
        .expect("finish");
    assert_eq!(done.status, JobStatus::Cancelled);

    // A queued job is in the way too, and is left queued for its worker.
    let queued = enqueue(h, SOURCE, 3).await;
    assert_active(
        h.jobs
            .start_claimed(&cli_job(SOURCE, 3), "cli-2", HOLD)
            .await,
        queued.id,
        JobStatus::Queued,
    );
    assert_eq!(get_job(h, queued.id).await.status, JobStatus::Queued);
    // Another source is not.
    let other = h
        .jobs
        .start_claimed(&cli_job("other", 3), "cli-2", HOLD)
        .await
        .expect("another source starts");
    assert_ne!(other.job.id, queued.id);
}

pub(crate) async fn jobs_start_claimed_takes_over_an_expired_run(h: &Harness) {
    // The holder crashed: its lease expires unrenewed.
    let crashed = start_claimed(h, "cli-1", EXPIRED, 2).await;
    let resumed = start_claimed(h, "cli-2", EXPIRED, 2).await;
    assert_eq!(resumed.job.id, crashed.job.id, "taken over, not replaced");
    assert_eq!(resumed.job.attempts, 2);
    assert!(resumed.lease.token > crashed.lease.token);
    assert_eq!(resumed.job.lease_owner.as_deref(), Some("cli-2"));
    assert_eq!(resumed.job.started_at, crashed.job.started_at);
    assert_lease_lost(h.jobs.heartbeat(&crashed.lease, HOLD).await, crashed.job.id);

    // Its attempts are spent: it fails, and a new run starts.
    let fresh = start_claimed(h, "cli-3", HOLD, 2).await;
    assert_ne!(fresh.job.id, crashed.job.id);
    assert_eq!(fresh.job.attempts, 1);
    let lost = get_job(h, crashed.job.id).await;
    assert_eq!(lost.status, JobStatus::Failed);
    assert_unleased(&lost);
    assert!(
        lost.error
            .as_deref()
            .unwrap_or("")
            .contains("lost its lease"),
        "{lost:?}"
    );
}

pub(crate) async fn jobs_concurrent_start_claimed_lets_one_run(h: &Harness) {
    // Eight stores: eight pools, so the starts really are concurrent
    // transactions; several rounds, one source each.
    let mut queues: Vec<Arc<dyn JobQueue>> = Vec::new();
    for _ in 0..8 {
        queues.push(ingest_store::open(&h.url).await.expect("open").jobs);
    }
    for round in 0..6 {
        let source = format!("source-{round}");
        let start = Arc::new(tokio::sync::Barrier::new(queues.len()));
        let tasks: Vec<_> = queues
            .iter()
            .enumerate()
            .map(|(i, queue)| {
                let (start, queue, source) = (start.clone(), queue.clone(), source.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    queue
                        .start_claimed(&cli_job(&source, 3), &format!("cli-{i}"), HOLD)
                        .await
                })
            })
            .collect();
        let mut winners = Vec::new();
        let mut refused = Vec::new();
        for task in tasks {
            match task.await.expect("starter") {
                Ok(claimed) => winners.push(claimed),
                Err(JobError::Active { job_id, status }) => refused.push((job_id, status)),
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one run starts");
        let winner = winners[0].job.id;
        assert!(
            refused.iter().all(|r| *r == (winner, JobStatus::Running)),
            "round {round}: the others are told which run holds the source: {refused:?}"
        );
        assert_eq!(refused.len(), queues.len() - 1);
    }
}

fn archived(
    source: &str,
    status: &str,
    finished_at: chrono::DateTime<chrono::Utc>,
) -> ArchivedReport {
    ArchivedReport {
        run_id: Uuid::now_v7(),
        source: source.to_owned(),
        file_name: "track-sync.md".to_owned(),
        status: status.to_owned(),
        trigger: "cron".to_owned(),
        started_at: finished_at - TimeDelta::seconds(60),
        finished_at,
        body: "# report".to_owned(),
        data: json!({}),
    }
}

pub(crate) async fn jobs_stats_count_by_state_and_age_the_oldest_due(h: &Harness) {
    assert_eq!(h.jobs.stats().await.expect("stats"), QueueStats::default());

    let running = enqueue(h, "alpha", 3).await;
    let held = claim(h, "w1", HOLD).await;
    assert_eq!(held.job.id, running.id);
    let backing_off = enqueue(h, "bravo", 3).await;
    let retried = claim(h, "w1", HOLD).await;
    assert_eq!(retried.job.id, backing_off.id);
    h.jobs
        .finish(
            &retried.lease,
            &JobOutcome::Retry {
                after: Duration::from_secs(600),
                summary: None,
                error: "catalogue timed out".into(),
            },
        )
        .await
        .expect("retry");
    let before = Instant::now();
    enqueue(h, "charlie", 3).await;
    enqueue(h, "delta", 3).await;
    // A final job counts nowhere.
    let done = enqueue(h, "echo", 3).await;
    h.jobs.request_cancel(done.id).await.expect("cancel");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let stats = h.jobs.stats().await.expect("stats");
    assert_eq!(
        (stats.queued, stats.retrying, stats.running),
        (2, 1, 1),
        "{stats:?}"
    );
    let age = stats.oldest_due_age.expect("two jobs are due");
    assert!(
        age >= Duration::from_millis(250) && age <= before.elapsed() + Duration::from_millis(50),
        "{age:?}, waited {:?}",
        before.elapsed()
    );
}

pub(crate) async fn reports_last_success_is_the_newest_succeeded_run_of_the_source(h: &Harness) {
    assert_eq!(
        h.reports.last_success_at("liverc").await.expect("read"),
        None
    );
    let t = |s: i64| chrono::DateTime::from_timestamp(1_780_000_000 + s, 0).expect("a time");
    for report in [
        archived("liverc", "succeeded", t(0)),
        archived("liverc", "succeeded", t(100)),
        archived("liverc", "failed", t(200)),
        archived("liverc", "guard_refused", t(300)),
        archived("other", "succeeded", t(400)),
    ] {
        h.reports.save_report(&report).await.expect("save");
    }
    assert_eq!(
        h.reports.last_success_at("liverc").await.expect("read"),
        Some(t(100))
    );
    assert_eq!(
        h.reports.last_success_at("other").await.expect("read"),
        Some(t(400))
    );
}
