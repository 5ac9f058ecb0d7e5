-- The grace period before deactivation: how many consecutive complete
-- catalogues an active track has been missing from.
--
-- Owned by crate `ingest-store`; the SQLite twin is
-- `migrations/sqlite/0005_track_missing.sql` and must stay equivalent.
--
-- Only missing tracks have a row, so the table stays as small as the
-- number of tracks LiveRC stopped listing lately. A run's closing
-- transaction (`finish_run`) deletes the rows of the tracks its catalogue
-- lists, adds one to the count of each active track it does not list (once
-- per run id: a resumed job finishing twice counts once), deactivates the
-- tracks whose count reached the configured number of runs, and deletes
-- their rows.
CREATE TABLE track_missing (
    track_id         bigint      PRIMARY KEY REFERENCES tracks (id),
    missing_runs     integer     NOT NULL CHECK (missing_runs > 0),
    first_missing_at timestamptz NOT NULL,
    last_run_id      uuid        NOT NULL
);
