-- The grace period before deactivation: how many consecutive complete
-- catalogues an active track has been missing from.
--
-- Owned by crate `ingest-store`; the Postgres twin is
-- `migrations/postgres/0005_track_missing.sql` and must stay equivalent (it
-- explains the design). Representation as in 0001 and 0003.
CREATE TABLE track_missing (
    track_id         INTEGER PRIMARY KEY REFERENCES tracks (id),
    missing_runs     INTEGER NOT NULL CHECK (missing_runs > 0),
    first_missing_at TEXT    NOT NULL CHECK (first_missing_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    last_run_id      TEXT    NOT NULL CHECK (length(last_run_id) = 36 AND last_run_id = lower(last_run_id))
) STRICT;
