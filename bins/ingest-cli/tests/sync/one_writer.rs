//! One writer per source, whatever the entry point: real `ingest-cli`
//! processes racing on one database (a SQLite file, and a fresh Postgres
//! database per test), against one simulator on loopback that counts what
//! it is asked. Also: two processes migrating one new database at once, a
//! run killed with SIGKILL (its job taken over once the lease expires) and
//! one stopped with SIGINT (recorded cancelled).

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ingest_core::{
    Job, JobQueue, JobRequest, JobStatus, MetadataMode, NewJob, SOURCE_LIVERC, Trigger,
};
use ingest_testdb::{self as testing, TestDb};
use liverc_sim::{RunningSim, SimConfig, Simulator};
use serde_json::Value;

/// Dashboards in flight in every run here.
const CONCURRENCY: &str = "4";
/// Tracks per batch (the most a killed run can lose is this plus the
/// concurrency).
const BATCH: &str = "10";

/// A fresh Postgres database, dropped when the test ends (a SQLite test
/// gets `TestDb::sqlite()`). Either's temporary directory is the processes'
/// working directory.
async fn postgres_db() -> TestDb {
    let admin = testing::admin_url(std::env::var("MRE_TEST_DATABASE_URL").ok());
    TestDb::postgres(&admin, "cli_writer_").await
}

/// The job queue of `db`'s database.
async fn queue_of(db: &TestDb) -> Arc<dyn JobQueue> {
    ingest_store::open(&db.url).await.expect("open").jobs
}

/// A simulator slow enough that a run lasts over a second.
async fn slow_sim(tracks: usize, latency_ms: u64) -> RunningSim {
    Simulator::start(
        SimConfig {
            tracks,
            latency: Duration::from_millis(latency_ms),
            ..SimConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("simulator")
}

/// `ingest-cli sync --json …` started (not awaited), stdout and stderr piped.
fn spawn_sync(db: &TestDb, sim: &RunningSim, extra: &[&str]) -> Child {
    let catalogue = sim.catalogue_url();
    let template = sim.track_url_template();
    let mut args = vec![
        "sync",
        "--json",
        "--database-url",
        &db.url,
        "--report-dir",
        "reports",
        "--catalogue-url",
        &catalogue,
        "--track-url-template",
        &template,
        "--concurrency",
        CONCURRENCY,
        "--batch-size",
        BATCH,
    ];
    args.extend_from_slice(extra);
    spawn(db.dir(), &args)
}

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ingest-cli"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("MRE_JOB_LEASE_SECONDS")
        .env_remove("MRE_JOB_MAX_ATTEMPTS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

async fn finish(child: Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().expect("wait"))
        .await
        .expect("join")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn summary(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is one JSON summary ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            stderr(o)
        )
    })
}

/// The job of `run_id`, as stored.
async fn job(db: &TestDb, run_id: &str) -> Job {
    let id = uuid::Uuid::parse_str(run_id).expect("a run id");
    queue_of(db)
        .await
        .get(id)
        .await
        .expect("get")
        .expect("the run is a job")
}

/// Two syncs started together: exactly one runs, the other exits 4 naming
/// it, and the site sees one run's requests.
async fn two_syncs_one_runs(db: &TestDb) {
    const TRACKS: usize = 120;
    let sim = slow_sim(TRACKS, 40).await;
    let (a, b) = (spawn_sync(db, &sim, &[]), spawn_sync(db, &sim, &[]));
    let (a, b) = tokio::join!(finish(a), finish(b));
    let codes = (a.status.code(), b.status.code());
    let (ran, skipped) = match codes {
        (Some(0), Some(4)) => (a, b),
        (Some(4), Some(0)) => (b, a),
        _ => panic!(
            "one run exits 0 and the other 4, got {codes:?}\nA: {}\nB: {}",
            stderr(&a),
            stderr(&b)
        ),
    };
    let ran_summary = summary(&ran);
    assert_eq!(ran_summary["status"], "succeeded");
    assert_eq!(ran_summary["tracksAdded"], TRACKS);
    let run_id = ran_summary["runId"].as_str().expect("run id");
    let message = stderr(&skipped);
    assert!(
        message.contains(run_id) && message.contains("trigger cli") && message.contains("started "),
        "the refused run names the active one ({run_id}, its trigger and start): {message}"
    );
    assert!(
        skipped.stdout.is_empty(),
        "no summary for a run not started"
    );

    let stats = sim.stats();
    assert_eq!(stats.catalogue.total, 1, "{stats:?}");
    assert_eq!(stats.robots.total, 1, "{stats:?}");
    assert_eq!(stats.dashboard.total, TRACKS as u64, "{stats:?}");
    assert_eq!(stats.total, TRACKS as u64 + 2, "{stats:?}");

    // The run is a job like a worker's, and it finished as one.
    let job = job(db, run_id).await;
    assert_eq!(job.trigger, Trigger::Cli);
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(job.attempts, 1);
    assert_eq!(job.progress.processed, TRACKS as u64);
    assert!(job.lease_owner.is_none());
    sim.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_syncs_on_one_sqlite_file_one_runs_the_other_exits_4() {
    two_syncs_one_runs(&TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_syncs_on_one_postgres_database_one_runs_the_other_exits_4() {
    two_syncs_one_runs(&postgres_db().await).await;
}

/// A sync while a worker holds the source (it claimed the API's job and
/// renews its lease) does not start, and names the worker's run.
async fn sync_while_a_worker_holds_the_source(db: &TestDb) {
    let sim = slow_sim(20, 0).await;
    let jobs = queue_of(db).await;
    jobs.enqueue(&NewJob {
        source: SOURCE_LIVERC.to_owned(),
        trigger: Trigger::Api,
        request: JobRequest {
            metadata: MetadataMode::All,
            concurrency: None,
            force: false,
            accept_drift: Vec::new(),
            dry_run: false,
        },
        max_attempts: 3,
    })
    .await
    .expect("enqueue");
    let held = jobs
        .claim("worker-7", Duration::from_secs(120))
        .await
        .expect("claim")
        .expect("the job is due");

    let out = finish(spawn_sync(db, &sim, &[])).await;
    assert_eq!(out.status.code(), Some(4), "stderr: {}", stderr(&out));
    let message = stderr(&out);
    assert!(
        message.contains(&held.job.id.to_string())
            && message.contains("trigger api")
            && message.contains("worker-7"),
        "{message}"
    );
    assert_eq!(
        sim.stats().total,
        0,
        "the refused run asked the site nothing"
    );
    let after = jobs.get(held.job.id).await.expect("get").expect("job");
    assert_eq!(after.status, JobStatus::Running);
    assert_eq!(after.lease_owner.as_deref(), Some("worker-7"));
    assert_eq!(jobs.list(10).await.expect("list").len(), 1, "no job added");
    sim.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_while_a_worker_holds_the_source_exits_4_on_sqlite() {
    sync_while_a_worker_holds_the_source(&TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_while_a_worker_holds_the_source_exits_4_on_postgres() {
    sync_while_a_worker_holds_the_source(&postgres_db().await).await;
}

/// Wait until the run's job has stored at least `at_least` tracks.
async fn wait_for_progress(db: &TestDb, at_least: usize) -> Job {
    let jobs = queue_of(db).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(job) = jobs.list(1).await.expect("list").into_iter().next()
            && job.status == JobStatus::Running
        {
            let stored = jobs.checkpoint(job.id).await.expect("checkpoint");
            if stored.done_slugs.len() >= at_least {
                return job;
            }
        }
        assert!(Instant::now() < deadline, "the run never got going");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A sync killed with SIGKILL holds the source until its lease expires
/// (a sync meanwhile exits 4); the next sync then takes its job over and
/// resumes it under the same run id, fetching only what was not stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sync_is_resumed_by_the_next_once_its_lease_expires() {
    const TRACKS: usize = 150;
    let db = TestDb::sqlite();
    let sim = slow_sim(TRACKS, 30).await;
    let lease = ["--job-lease-seconds", "4"];
    let mut victim = spawn_sync(&db, &sim, &lease);
    let crashed = wait_for_progress(&db, 20).await;
    victim.kill().expect("SIGKILL");
    let _ = finish(victim).await;
    let stored_before = queue_of(&db)
        .await
        .checkpoint(crashed.id)
        .await
        .expect("checkpoint")
        .done_slugs
        .len();

    // The lease is still live: the source is held.
    let refused = finish(spawn_sync(&db, &sim, &lease)).await;
    assert_eq!(refused.status.code(), Some(4), "{}", stderr(&refused));
    assert!(stderr(&refused).contains(&crashed.id.to_string()));

    // Once it has expired, the next sync resumes the same run.
    tokio::time::sleep(Duration::from_millis(4_500)).await;
    let resumed = finish(spawn_sync(&db, &sim, &lease)).await;
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    let s = summary(&resumed);
    assert_eq!(s["runId"], crashed.id.to_string(), "the same run, resumed");
    assert_eq!(s["status"], "succeeded");
    assert_eq!(s["tracksAdded"], TRACKS, "the report sums both attempts");
    let job = job(&db, &crashed.id.to_string()).await;
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(job.attempts, 2);
    assert_eq!(job.trigger, Trigger::Cli);

    // The tracks stored before the kill were not fetched again: at most a
    // batch and the requests in flight were lost.
    let stats = sim.stats();
    eprintln!(
        "killed after {stored_before} of {TRACKS} tracks stored; {} dashboards fetched over both attempts",
        stats.dashboard.total
    );
    let lost_at_most = BATCH.parse::<u64>().expect("n") + CONCURRENCY.parse::<u64>().expect("n");
    assert!(
        stats.dashboard.total <= TRACKS as u64 + lost_at_most,
        "{} dashboards for {TRACKS} tracks ({stored_before} stored before the kill)",
        stats.dashboard.total
    );
    assert!(stored_before >= 20);
    sim.shutdown().await.expect("shutdown");
}

/// SIGINT stops a sync after the batch in hand: its job is recorded
/// cancelled (exit 2), keeping its checkpoint, and the next sync starts a
/// new run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_sync_is_recorded_cancelled_and_frees_the_source() {
    const TRACKS: usize = 150;
    let db = TestDb::sqlite();
    let sim = slow_sim(TRACKS, 30).await;
    let victim = spawn_sync(&db, &sim, &[]);
    let running = wait_for_progress(&db, 10).await;
    let signalled = Command::new("kill")
        .args(["-INT", &victim.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(signalled.success());
    let stopped = finish(victim).await;
    assert_eq!(stopped.status.code(), Some(7), "{}", stderr(&stopped));
    let s = summary(&stopped);
    assert_eq!(s["status"], "cancelled");
    assert_eq!(s["runId"], running.id.to_string());
    let job = job(&db, &running.id.to_string()).await;
    assert_eq!(job.status, JobStatus::Cancelled);
    let kept = queue_of(&db)
        .await
        .checkpoint(running.id)
        .await
        .expect("checkpoint")
        .done_slugs
        .len();
    assert!(kept >= 10, "the checkpoint stays for a resume: {kept}");

    let next = finish(spawn_sync(&db, &sim, &[])).await;
    assert_eq!(next.status.code(), Some(0), "{}", stderr(&next));
    assert_ne!(summary(&next)["runId"], running.id.to_string());
    sim.shutdown().await.expect("shutdown");
}

/// Two demos at once on one working directory (one `data/demo.db`): one
/// runs, the other exits 4.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_demos_at_once_one_runs_the_other_exits_4() {
    let dir = tempfile::tempdir().expect("temp dir");
    let args = [
        "demo",
        "--json",
        "--tracks",
        "100",
        "--latency-ms",
        "40",
        "--concurrency",
        "4",
        "--report-dir",
        "reports",
    ];
    let (a, b) = (spawn(dir.path(), &args), spawn(dir.path(), &args));
    let (a, b) = tokio::join!(finish(a), finish(b));
    let mut codes = [a.status.code(), b.status.code()];
    codes.sort_unstable();
    assert_eq!(
        codes,
        [Some(0), Some(4)],
        "A: {}\nB: {}",
        stderr(&a),
        stderr(&b)
    );
    let ran = if a.status.code() == Some(0) { &a } else { &b };
    let skipped = if a.status.code() == Some(4) { &a } else { &b };
    let run_id = summary(ran)["runId"].as_str().expect("run id").to_owned();
    assert!(stderr(skipped).contains(&run_id), "{}", stderr(skipped));
}

/// `ingest-cli db migrate` twice at the same moment on one new database,
/// several rounds: both succeed every time.
async fn concurrent_migrations(postgres: bool) {
    for round in 0..5 {
        let db = if postgres {
            postgres_db().await
        } else {
            TestDb::sqlite()
        };
        let args = ["db", "migrate", "--database-url", &db.url];
        let (a, b) = (spawn(db.dir(), &args), spawn(db.dir(), &args));
        let (a, b) = tokio::join!(finish(a), finish(b));
        for (name, out) in [("A", &a), ("B", &b)] {
            assert_eq!(
                out.status.code(),
                Some(0),
                "round {round}, process {name}: {}",
                stderr(out)
            );
        }
        // The schema is whole: the queue answers.
        assert!(queue_of(&db).await.list(1).await.expect("list").is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_migrating_one_new_sqlite_file_both_succeed() {
    concurrent_migrations(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_migrating_one_new_postgres_database_both_succeed() {
    concurrent_migrations(true).await;
}

/// A sync that fails is recorded `failed` at once — not queued for a retry
/// that no worker may ever run — so the next sync is not held off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sync_is_final_and_does_not_hold_the_source() {
    let db = TestDb::sqlite();
    let sim = slow_sim(10, 0).await;
    // The catalogue is on a closed port.
    let gone = [
        "sync",
        "--json",
        "--database-url",
        &db.url,
        "--report-dir",
        "reports",
        "--catalogue-url",
        "http://127.0.0.1:9/",
        "--max-retries",
        "0",
    ];
    let first = finish(spawn(db.dir(), &gone)).await;
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    let first_id = summary(&first)["runId"].as_str().expect("id").to_owned();
    let job = job(&db, &first_id).await;
    assert_eq!(job.status, JobStatus::Failed, "{job:?}");
    assert_eq!(job.attempts, 1);
    assert!(job.lease_owner.is_none());

    let second = finish(spawn_sync(&db, &sim, &[])).await;
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    sim.shutdown().await.expect("shutdown");
}
