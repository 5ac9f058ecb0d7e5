-- The durable sync-job queue: one row per job (the job's id is its run id),
-- with its lifecycle, lease and fencing token, progress, outcome and the
-- checkpoint's opaque state; `sync_job_tracks` holds the checkpoint's done set.
--
-- Owned by crate `ingest-store` (src/jobs); the Postgres twin is
-- `migrations/postgres/0003_sync_jobs.sql` and must stay equivalent.
--
-- Representation as in 0001: timestamps are fixed-width UTC text
-- `YYYY-MM-DDTHH:MM:SS.ffffffZ` (the database clock gives milliseconds, the
-- last three digits are 0), booleans 0/1, ids the hyphenated lower-case
-- UUID, JSON as text.

CREATE TABLE sync_jobs (
    id               TEXT    PRIMARY KEY NOT NULL CHECK (length(id) = 36 AND id = lower(id)),
    source           TEXT    NOT NULL CHECK (source <> ''),
    status           TEXT    NOT NULL DEFAULT 'queued',
    trigger          TEXT    NOT NULL,
    -- JobRequest as JSON
    request          TEXT    NOT NULL CHECK (json_valid(request)),
    -- claims so far; attempts_base is `attempts` at the last resume, so the
    -- retry budget left is `max_attempts - (attempts - attempts_base)`
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    attempts_base    INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),

    -- progress, as last reported by the worker
    stage            TEXT    NOT NULL DEFAULT 'starting',
    processed        INTEGER NOT NULL DEFAULT 0,
    total            INTEGER NOT NULL DEFAULT 0,
    eta_seconds      REAL,

    -- outcome: SyncSummary as JSON, and the (last) error
    summary          TEXT    CHECK (json_valid(summary)),
    error            TEXT,

    created_at       TEXT    NOT NULL CHECK (created_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    started_at       TEXT    CHECK (started_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    completed_at     TEXT    CHECK (completed_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    -- a queued job is not claimed before this (retry backoff)
    run_after        TEXT    NOT NULL CHECK (run_after GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),

    -- the lease: held while running; the fencing token grows with every claim
    lease_owner      TEXT,
    lease_token      INTEGER NOT NULL DEFAULT 0,
    lease_expires_at TEXT    CHECK (lease_expires_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    updated_at       TEXT    NOT NULL CHECK (updated_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),

    -- the service's accumulated run state as of the last stored batch
    checkpoint_state TEXT    CHECK (json_valid(checkpoint_state)),

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
) STRICT;

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
    job_id TEXT NOT NULL REFERENCES sync_jobs (id) ON DELETE CASCADE,
    slug   TEXT NOT NULL,
    PRIMARY KEY (job_id, slug)
) STRICT, WITHOUT ROWID;
