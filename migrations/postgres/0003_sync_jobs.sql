-- The durable sync-job queue: one row per job (the job's id is its run id),
-- with its lifecycle, lease and fencing token, progress, outcome and the
-- checkpoint's opaque state; `sync_job_tracks` holds the checkpoint's done set.
--
-- Owned by crate `ingest-store` (src/jobs); the SQLite twin is
-- `migrations/sqlite/0003_sync_jobs.sql` and must stay equivalent.
--
-- Every lease time is computed by the database (`now()`), so workers on
-- several machines agree on expiry.

CREATE TABLE sync_jobs (
    id               uuid        PRIMARY KEY,
    source           text        NOT NULL CHECK (source <> ''),
    status           text        NOT NULL DEFAULT 'queued',
    trigger          text        NOT NULL,
    -- JobRequest as JSON
    request          jsonb       NOT NULL,
    -- claims so far; attempts_base is `attempts` at the last resume, so the
    -- retry budget left is `max_attempts - (attempts - attempts_base)`
    attempts         bigint      NOT NULL DEFAULT 0,
    max_attempts     bigint      NOT NULL,
    attempts_base    bigint      NOT NULL DEFAULT 0,
    cancel_requested boolean     NOT NULL DEFAULT false,

    -- progress, as last reported by the worker
    stage            text        NOT NULL DEFAULT 'starting',
    processed        bigint      NOT NULL DEFAULT 0,
    total            bigint      NOT NULL DEFAULT 0,
    eta_seconds      double precision,

    -- outcome: SyncSummary as JSON, and the (last) error
    summary          jsonb,
    error            text,

    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    completed_at     timestamptz,
    -- a queued job is not claimed before this (retry backoff)
    run_after        timestamptz NOT NULL DEFAULT now(),

    -- the lease: held while running; the fencing token grows with every claim
    lease_owner      text,
    lease_token      bigint      NOT NULL DEFAULT 0,
    lease_expires_at timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),

    -- the service's accumulated run state as of the last stored batch
    checkpoint_state jsonb,

    CONSTRAINT sync_jobs_status CHECK
        (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    CONSTRAINT sync_jobs_attempts CHECK
        (max_attempts >= 1 AND attempts_base >= 0 AND attempts >= attempts_base),
    CONSTRAINT sync_jobs_progress CHECK (processed >= 0 AND total >= 0),
    CONSTRAINT sync_jobs_lease_iff_running CHECK (
        (status = 'running') = (lease_owner IS NOT NULL)
        AND (status = 'running') = (lease_expires_at IS NOT NULL)
    ),
    CONSTRAINT sync_jobs_completed_iff_final CHECK (
        (status IN ('succeeded', 'failed', 'cancelled')) = (completed_at IS NOT NULL)
    )
);

-- At most one queued or running job per source: a second enqueue (or a
-- resume while another job is active) conflicts here.
CREATE UNIQUE INDEX sync_jobs_one_active_per_source ON sync_jobs (source)
    WHERE status IN ('queued', 'running');

-- The claim: the active jobs (a handful at most) in age order, however long
-- the history grows.
CREATE INDEX sync_jobs_claim ON sync_jobs (created_at, id)
    WHERE status IN ('queued', 'running');

-- The listing, newest first.
CREATE INDEX sync_jobs_created ON sync_jobs (created_at, id);

-- The checkpoint's done set: tracks whose batch is stored, written in the
-- batch's transaction.
CREATE TABLE sync_job_tracks (
    job_id uuid NOT NULL REFERENCES sync_jobs (id) ON DELETE CASCADE,
    slug   text NOT NULL,
    PRIMARY KEY (job_id, slug)
);
