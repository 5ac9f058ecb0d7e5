//! Test support: in-memory fakes of the three ports the API uses, a fixed
//! clock, and `TestApp`, which builds the real router over them and sends it
//! requests in-process (`tower::ServiceExt::oneshot`).
//!
//! The fake queue keeps the queue's contract as the API relies on it (one
//! active job per source, cancel and resume state rules); the worker-side
//! calls the API never makes answer an error saying so.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use chrono::{DateTime, TimeZone, Utc};
use futures::StreamExt as _;
use ingest_core::{
    ArchivedReport, ArchivedReportSummary, BatchOutcome, CatalogueFields, Checkpoint, ClaimedJob,
    Clock, FinishOutcome, FinishRun, GeoPoint, Heartbeat, HttpValidators, Job, JobError, JobId,
    JobOutcome, JobProgress, JobQueue, JobStatus, Lease, NewJob, QueueStats, ReportArchive,
    ReportError, RepositoryError, RunId, StoredTrack, SyncState, TrackChange, TrackProfile,
    TrackQuery, TrackRepository, TrackSnapshot, UpsertBatch,
};
use ingest_http::{AdminTokens, ApiState, HttpMetrics, JobDefaults, MetricsEndpoint, QueueMetrics};
use prometheus_client::registry::Registry;
use tower::ServiceExt;
use uuid::Uuid;

/// A token the test app accepts.
pub(crate) const TOKEN: &str = "test-token-0123456789abcdef";
/// A second accepted token (rotation).
pub(crate) const OTHER_TOKEN: &str = "other-token-0123456789abcdef";

/// 2025-06-01 12:00:00 UTC, the fake clock's "now".
pub(crate) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
        .single()
        .expect("valid time")
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A clock that says [`now`], or whatever a test sets.
#[derive(Debug)]
pub(crate) struct FixedClock(Mutex<DateTime<Utc>>);

impl FixedClock {
    pub(crate) fn set(&self, t: DateTime<Utc>) {
        *lock(&self.0) = t;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *lock(&self.0)
    }
}

/// Makes the next calls of a fake fail with a fresh error of this kind.
pub(crate) type Failure<E> = fn() -> E;

fn worker_call() -> JobError {
    JobError::Store("worker-side call: not used by the API".to_owned())
}

/// An in-memory job queue.
#[derive(Debug)]
pub(crate) struct FakeQueue {
    clock: Arc<FixedClock>,
    /// Oldest first.
    jobs: Mutex<Vec<Job>>,
    fail: Mutex<Option<Failure<JobError>>>,
    /// The `NewJob`s `enqueue` received, in order.
    pub(crate) enqueued: Mutex<Vec<NewJob>>,
}

impl FakeQueue {
    fn new(clock: Arc<FixedClock>) -> Self {
        Self {
            clock,
            jobs: Mutex::new(Vec::new()),
            fail: Mutex::new(None),
            enqueued: Mutex::new(Vec::new()),
        }
    }

    /// Every later call fails (until `fail(None)`).
    pub(crate) fn fail(&self, failure: Option<Failure<JobError>>) {
        *lock(&self.fail) = failure;
    }

    fn check(&self) -> Result<(), JobError> {
        match *lock(&self.fail) {
            Some(f) => Err(f()),
            None => Ok(()),
        }
    }

    /// Store a job as is (a test's fixture).
    pub(crate) fn insert(&self, job: Job) {
        lock(&self.jobs).push(job);
    }

    /// Change a stored job, as a worker would.
    pub(crate) fn update(&self, id: JobId, f: impl FnOnce(&mut Job)) {
        let mut jobs = lock(&self.jobs);
        let job = jobs.iter_mut().find(|j| j.id == id).expect("job exists");
        f(job);
    }

    pub(crate) fn job(&self, id: JobId) -> Job {
        lock(&self.jobs)
            .iter()
            .find(|j| j.id == id)
            .cloned()
            .expect("job exists")
    }

    fn active_of(jobs: &[Job], source: &str, except: Option<JobId>) -> Option<(JobId, JobStatus)> {
        jobs.iter()
            .find(|j| j.source == source && j.status.is_active() && Some(j.id) != except)
            .map(|j| (j.id, j.status))
    }
}

/// A job as `enqueue` creates it.
pub(crate) fn queued_job(new: &NewJob, at: DateTime<Utc>) -> Job {
    Job {
        id: Uuid::now_v7(),
        source: new.source.clone(),
        status: JobStatus::Queued,
        trigger: new.trigger,
        request: new.request.clone(),
        attempts: 0,
        max_attempts: new.max_attempts,
        cancel_requested: false,
        progress: JobProgress::default(),
        summary: None,
        error: None,
        created_at: at,
        started_at: None,
        completed_at: None,
        run_after: at,
        lease_owner: None,
        lease_expires_at: None,
        updated_at: at,
    }
}

#[async_trait]
impl JobQueue for FakeQueue {
    async fn enqueue(&self, job: &NewJob) -> Result<Job, JobError> {
        self.check()?;
        let mut jobs = lock(&self.jobs);
        if let Some((job_id, status)) = Self::active_of(&jobs, &job.source, None) {
            return Err(JobError::Active { job_id, status });
        }
        let created = queued_job(job, self.clock.now());
        jobs.push(created.clone());
        lock(&self.enqueued).push(job.clone());
        Ok(created)
    }

    async fn claim(
        &self,
        _worker: &str,
        _lease_for: Duration,
    ) -> Result<Option<ClaimedJob>, JobError> {
        Err(worker_call())
    }

    async fn heartbeat(&self, _lease: &Lease, _lease_for: Duration) -> Result<Heartbeat, JobError> {
        Err(worker_call())
    }

    async fn report_progress(
        &self,
        _lease: &Lease,
        _progress: &JobProgress,
    ) -> Result<(), JobError> {
        Err(worker_call())
    }

    async fn finish(&self, _lease: &Lease, _outcome: &JobOutcome) -> Result<Job, JobError> {
        Err(worker_call())
    }

    async fn checkpoint(&self, _job_id: JobId) -> Result<Checkpoint, JobError> {
        Err(worker_call())
    }

    async fn get(&self, job_id: JobId) -> Result<Option<Job>, JobError> {
        self.check()?;
        Ok(lock(&self.jobs).iter().find(|j| j.id == job_id).cloned())
    }

    async fn list(&self, limit: u32) -> Result<Vec<Job>, JobError> {
        self.check()?;
        Ok(lock(&self.jobs)
            .iter()
            .rev()
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn request_cancel(&self, job_id: JobId) -> Result<Job, JobError> {
        self.check()?;
        let now = self.clock.now();
        let mut jobs = lock(&self.jobs);
        let job = jobs
            .iter_mut()
            .find(|j| j.id == job_id)
            .ok_or(JobError::NotFound(job_id))?;
        match job.status {
            JobStatus::Queued => {
                job.status = JobStatus::Cancelled;
                job.completed_at = Some(now);
            }
            JobStatus::Running => job.cancel_requested = true,
            status => {
                return Err(JobError::InvalidState {
                    job_id,
                    status,
                    message: "a final job cannot be cancelled".to_owned(),
                });
            }
        }
        job.updated_at = now;
        Ok(job.clone())
    }

    async fn resume(&self, job_id: JobId) -> Result<Job, JobError> {
        self.check()?;
        let now = self.clock.now();
        let mut jobs = lock(&self.jobs);
        let index = jobs
            .iter()
            .position(|j| j.id == job_id)
            .ok_or(JobError::NotFound(job_id))?;
        let status = jobs[index].status;
        if !matches!(status, JobStatus::Failed | JobStatus::Cancelled) {
            return Err(JobError::InvalidState {
                job_id,
                status,
                message: "only a failed or cancelled job can be resumed".to_owned(),
            });
        }
        let source = jobs[index].source.clone();
        if let Some((active, status)) = Self::active_of(&jobs, &source, Some(job_id)) {
            return Err(JobError::Active {
                job_id: active,
                status,
            });
        }
        let job = &mut jobs[index];
        job.status = JobStatus::Queued;
        job.cancel_requested = false;
        job.completed_at = None;
        job.run_after = now;
        job.updated_at = now;
        Ok(job.clone())
    }

    async fn prune(&self, _older_than: Duration) -> Result<u64, JobError> {
        Err(JobError::Store("the API never prunes jobs".to_owned()))
    }

    async fn wait_for_work(&self, timeout: Duration) {
        tokio::time::sleep(timeout).await;
    }

    /// Counts by status; every queued job is due, and has waited since it
    /// was created.
    async fn stats(&self) -> Result<QueueStats, JobError> {
        self.check()?;
        let jobs = lock(&self.jobs);
        let now = self.clock.now();
        let count = |s: JobStatus| jobs.iter().filter(|j| j.status == s).count() as u64;
        Ok(QueueStats {
            queued: count(JobStatus::Queued),
            retrying: 0,
            running: count(JobStatus::Running),
            oldest_due_age: jobs
                .iter()
                .filter(|j| j.status == JobStatus::Queued)
                .map(|j| (now - j.created_at).to_std().unwrap_or_default())
                .max(),
        })
    }
}

fn not_used() -> RepositoryError {
    RepositoryError::Rejected("sync-side call: not used by the API".to_owned())
}

/// An in-memory track repository.
#[derive(Debug, Default)]
pub(crate) struct FakeTracks {
    tracks: Mutex<Vec<StoredTrack>>,
    fail: Mutex<Option<Failure<RepositoryError>>>,
    /// Every `list_tracks` query received.
    pub(crate) queries: Mutex<Vec<TrackQuery>>,
}

impl FakeTracks {
    pub(crate) fn insert(&self, track: StoredTrack) {
        lock(&self.tracks).push(track);
    }

    pub(crate) fn fail(&self, failure: Option<Failure<RepositoryError>>) {
        *lock(&self.fail) = failure;
    }

    fn check(&self) -> Result<(), RepositoryError> {
        match *lock(&self.fail) {
            Some(f) => Err(f()),
            None => Ok(()),
        }
    }

    fn of(&self, source: &str, active_only: bool) -> Vec<StoredTrack> {
        let mut out: Vec<_> = lock(&self.tracks)
            .iter()
            .filter(|t| t.source == source && (t.is_active || !active_only))
            .cloned()
            .collect();
        out.sort_by(|a, b| a.slug.cmp(&b.slug));
        out
    }
}

#[async_trait]
impl TrackRepository for FakeTracks {
    async fn snapshot(&self, _source: &str) -> Result<Vec<TrackSnapshot>, RepositoryError> {
        Err(not_used())
    }

    async fn get_tracks(
        &self,
        _source: &str,
        _slugs: &[String],
    ) -> Result<Vec<StoredTrack>, RepositoryError> {
        Err(not_used())
    }

    async fn apply_batch(&self, _batch: &UpsertBatch) -> Result<BatchOutcome, RepositoryError> {
        Err(not_used())
    }

    async fn finish_run(&self, _finish: &FinishRun) -> Result<FinishOutcome, RepositoryError> {
        Err(not_used())
    }

    async fn sync_state(&self, _source: &str) -> Result<Option<SyncState>, RepositoryError> {
        self.check()?;
        Ok(None)
    }

    async fn list_tracks(
        &self,
        source: &str,
        query: TrackQuery,
    ) -> Result<Vec<StoredTrack>, RepositoryError> {
        self.check()?;
        lock(&self.queries).push(query);
        Ok(self
            .of(source, query.active_only)
            .into_iter()
            .skip(query.offset as usize)
            .take(query.limit as usize)
            .collect())
    }

    async fn count_tracks(&self, source: &str, active_only: bool) -> Result<u64, RepositoryError> {
        self.check()?;
        Ok(self.of(source, active_only).len() as u64)
    }

    async fn search_tracks(
        &self,
        source: &str,
        text: &str,
        limit: u32,
    ) -> Result<Vec<StoredTrack>, RepositoryError> {
        self.check()?;
        let text = text.to_lowercase();
        let mut found: Vec<StoredTrack> = self
            .of(source, false)
            .into_iter()
            .filter(|t| {
                [
                    Some(t.catalogue.name.as_str()),
                    Some(t.slug.as_str()),
                    t.profile.city.as_deref(),
                    t.profile.state.as_deref(),
                    t.profile.country.as_deref(),
                    t.profile.country_code.as_deref(),
                ]
                .into_iter()
                .flatten()
                .any(|v| v.to_lowercase().contains(&text))
            })
            .collect();
        found.sort_by(|a, b| {
            a.catalogue
                .name
                .to_lowercase()
                .cmp(&b.catalogue.name.to_lowercase())
        });
        found.truncate(limit as usize);
        Ok(found)
    }

    async fn track_history(
        &self,
        _source: &str,
        _slug: &str,
        _limit: u32,
    ) -> Result<Vec<TrackChange>, RepositoryError> {
        self.check()?;
        Ok(Vec::new())
    }
}

/// An in-memory report archive.
#[derive(Debug, Default)]
pub(crate) struct FakeReports {
    reports: Mutex<HashMap<RunId, ArchivedReport>>,
    fail: Mutex<Option<Failure<ReportError>>>,
}

impl FakeReports {
    /// Archive a report (as the worker's report writer would).
    pub(crate) fn save(&self, report: ArchivedReport) {
        lock(&self.reports).insert(report.run_id, report);
    }

    pub(crate) fn fail(&self, failure: Option<Failure<ReportError>>) {
        *lock(&self.fail) = failure;
    }

    fn check(&self) -> Result<(), ReportError> {
        match *lock(&self.fail) {
            Some(f) => Err(f()),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl ReportArchive for FakeReports {
    async fn save_report(&self, report: &ArchivedReport) -> Result<(), ReportError> {
        self.check()?;
        lock(&self.reports).insert(report.run_id, report.clone());
        Ok(())
    }

    async fn get_report(&self, run_id: RunId) -> Result<Option<ArchivedReport>, ReportError> {
        self.check()?;
        Ok(lock(&self.reports).get(&run_id).cloned())
    }

    /// Newest first by finish time, as the repository lists them.
    async fn list_reports(
        &self,
        source: &str,
        limit: u32,
    ) -> Result<Vec<ArchivedReportSummary>, ReportError> {
        self.check()?;
        let mut reports: Vec<_> = lock(&self.reports)
            .values()
            .filter(|r| r.source == source)
            .cloned()
            .collect();
        reports.sort_by_key(|r| std::cmp::Reverse(r.finished_at));
        Ok(reports
            .into_iter()
            .take(limit as usize)
            .map(|r| ArchivedReportSummary {
                run_id: r.run_id,
                source: r.source,
                file_name: r.file_name,
                status: r.status,
                trigger: r.trigger,
                started_at: r.started_at,
                finished_at: r.finished_at,
            })
            .collect())
    }

    async fn prune_reports(&self, _before: DateTime<Utc>) -> Result<u64, ReportError> {
        Err(ReportError::Archive("not used by the API".to_owned()))
    }

    async fn latest_finished_report(
        &self,
        _source: &str,
    ) -> Result<Option<ArchivedReport>, ReportError> {
        Err(ReportError::Archive("not used by the API".to_owned()))
    }

    async fn last_success_at(&self, source: &str) -> Result<Option<DateTime<Utc>>, ReportError> {
        self.check()?;
        Ok(lock(&self.reports)
            .values()
            .filter(|r| r.source == source && r.status == "succeeded")
            .map(|r| r.finished_at)
            .max())
    }
}

/// A report archived for `run_id`.
pub(crate) fn report(run_id: RunId, body: &str) -> ArchivedReport {
    ArchivedReport {
        run_id,
        source: "liverc".to_owned(),
        file_name: format!("track-sync-20250601-120000-{run_id}.md"),
        status: "succeeded".to_owned(),
        trigger: "api".to_owned(),
        started_at: now(),
        finished_at: now(),
        body: body.to_owned(),
        data: serde_json::json!({}),
    }
}

/// A stored track of `liverc` with a full profile.
pub(crate) fn track(slug: &str, active: bool) -> StoredTrack {
    let t = now();
    StoredTrack {
        id: 1,
        source: "liverc".to_owned(),
        slug: slug.to_owned(),
        catalogue: CatalogueFields {
            name: format!("Track {slug}"),
            track_url: format!("https://{slug}.liverc.com/"),
            events_url: format!("https://{slug}.liverc.com/results/"),
            last_updated_text: Some("2 days ago".to_owned()),
            last_updated_at: Some(t),
            is_live: false,
            live_video: false,
            status: "idle".to_owned(),
            featured: false,
            current_event: None,
        },
        profile: TrackProfile {
            street: Some("1 Main St".to_owned()),
            city: Some("Springfield".to_owned()),
            state: Some("IL".to_owned()),
            postal_code: Some("62701".to_owned()),
            country: Some("United States".to_owned()),
            country_code: Some("US".to_owned()),
            phone: Some("+1 217 555 0100".to_owned()),
            website: Some(format!("https://{slug}.example.org/")),
            email: Some(format!("info@{slug}.example.org")),
            ..TrackProfile::default()
        },
        geo: Some(GeoPoint {
            latitude: 39.78,
            longitude: -89.65,
            provider: "nominatim".to_owned(),
            query: "1 Main St, Springfield".to_owned(),
            geocoded_at: t,
        }),
        metadata_fetched_at: Some(t),
        metadata_source_url: Some(format!("https://{slug}.liverc.com/")),
        validators: HttpValidators::default(),
        content_hash: None,
        is_active: active,
        first_seen_at: t,
        last_seen_at: t,
        deactivated_at: (!active).then_some(t),
        created_at: t,
        updated_at: t,
    }
}

/// How a `TestApp` is configured.
pub(crate) struct Config {
    pub(crate) tokens: Vec<&'static str>,
    pub(crate) scrape_enabled: bool,
    pub(crate) body_limit: usize,
    pub(crate) request_timeout: Duration,
    pub(crate) database_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            tokens: vec![TOKEN, OTHER_TOKEN],
            scrape_enabled: true,
            body_limit: ingest_http::DEFAULT_BODY_LIMIT,
            request_timeout: ingest_http::DEFAULT_REQUEST_TIMEOUT,
            database_timeout: ingest_http::DEFAULT_DATABASE_TIMEOUT,
        }
    }
}

/// The router over fresh fakes.
pub(crate) struct TestApp {
    pub(crate) router: Router,
    pub(crate) clock: Arc<FixedClock>,
    pub(crate) queue: Arc<FakeQueue>,
    pub(crate) tracks: Arc<FakeTracks>,
    pub(crate) reports: Arc<FakeReports>,
    /// Where the API's request and queue metrics are registered.
    pub(crate) http_registry: Arc<Registry>,
}

impl TestApp {
    pub(crate) fn new() -> Self {
        Self::with(Config::default())
    }

    pub(crate) fn with(config: Config) -> Self {
        let clock = Arc::new(FixedClock(Mutex::new(now())));
        let queue = Arc::new(FakeQueue::new(Arc::clone(&clock)));
        let tracks = Arc::new(FakeTracks::default());
        let reports = Arc::new(FakeReports::default());
        let mut http_registry = Registry::default();
        let http_metrics = HttpMetrics::register(&mut http_registry);
        let queue_metrics = QueueMetrics::register(&mut http_registry);
        let router = ingest_http::router(ApiState {
            jobs: queue.clone(),
            tracks: tracks.clone(),
            reports: reports.clone(),
            metrics: MetricsEndpoint::new("text/plain; version=0.0.4; charset=utf-8", || {
                "# TYPE liverc_sync_runs_total counter\nliverc_sync_runs_total 3\n# EOF\n"
                    .to_owned()
            })
            .with_http_metrics(http_metrics)
            .with_queue_metrics(queue_metrics),
            admin_tokens: AdminTokens::new(config.tokens).expect("valid tokens"),
            job_defaults: JobDefaults {
                max_attempts: 4,
                ..JobDefaults::default()
            },
            scrape_enabled: config.scrape_enabled,
            body_limit: config.body_limit,
            request_timeout: config.request_timeout,
            database_timeout: config.database_timeout,
            clock: clock.clone(),
        });
        Self {
            router,
            clock,
            queue,
            tracks,
            reports,
            http_registry: Arc::new(http_registry),
        }
    }

    /// A request with the valid token.
    pub(crate) fn req(&self, method: Method, uri: &str) -> Req<'_> {
        Req::new(self, method, uri).token(TOKEN)
    }

    /// A request without credentials.
    pub(crate) fn anon(&self, method: Method, uri: &str) -> Req<'_> {
        Req::new(self, method, uri)
    }

    /// Enqueue with default options; the new job's id.
    pub(crate) async fn enqueue(&self) -> JobId {
        let res = self.req(Method::POST, "/api/v1/tracks/sync").send().await;
        assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
        res.json()["jobId"]
            .as_str()
            .expect("jobId")
            .parse()
            .expect("uuid")
    }
}

/// A request being built.
pub(crate) struct Req<'a> {
    app: &'a TestApp,
    builder: axum::http::request::Builder,
    body: Body,
}

impl<'a> Req<'a> {
    fn new(app: &'a TestApp, method: Method, uri: &str) -> Self {
        Self {
            app,
            builder: Request::builder().method(method).uri(uri),
            body: Body::empty(),
        }
    }

    pub(crate) fn token(self, token: &str) -> Self {
        self.header(header::AUTHORIZATION.as_str(), &format!("Bearer {token}"))
    }

    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    /// A JSON body (with its content type and length).
    pub(crate) fn json(self, body: &str) -> Self {
        self.header(header::CONTENT_TYPE.as_str(), "application/json")
            .raw(body.as_bytes().to_vec())
    }

    /// A body as is (no content type), with a `Content-Length`.
    pub(crate) fn raw(mut self, body: Vec<u8>) -> Self {
        self.builder = self.builder.header(header::CONTENT_LENGTH, body.len());
        self.body = Body::from(body);
        self
    }

    /// A body of unannounced length (no `Content-Length`), streamed.
    pub(crate) fn streamed(mut self, body: Vec<u8>) -> Self {
        let chunks = body
            .chunks(1024)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>();
        self.body = Body::from_stream(futures::stream::iter(chunks));
        self
    }

    /// A body that sends `first` and then nothing more, never ending (a
    /// client trickling its body).
    pub(crate) fn stalled(mut self, first: Vec<u8>) -> Self {
        let first = futures::stream::iter([Ok::<_, std::io::Error>(first)]);
        self.body = Body::from_stream(first.chain(futures::stream::pending()));
        self
    }

    pub(crate) async fn send(self) -> Res {
        let request = self.builder.body(self.body).expect("request");
        let response = self
            .app
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        Res {
            status,
            headers,
            body: body.to_vec(),
        }
    }
}

/// A response, read.
#[derive(Debug)]
pub(crate) struct Res {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Res {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the error shape and returns `error.code`.
    pub(crate) fn error_code(&self) -> String {
        let body = self.json();
        let error = body["error"].as_object().unwrap_or_else(|| {
            panic!("not the error shape: {body}");
        });
        assert!(error["message"].is_string(), "message missing: {body}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "error content type"
        );
        error["code"].as_str().expect("code").to_owned()
    }
}
