-- The LiveRC track catalogue, its change history and per-source sync state.
--
-- Owned by crate `ingest-store`; the Postgres twin is
-- `migrations/postgres/0001_tracks.sql` and must stay equivalent.
--
-- Representation (STRICT tables, so a wrong type is an error, not a silent
-- conversion):
-- * timestamps: TEXT, UTC, fixed width `YYYY-MM-DDTHH:MM:SS.ffffffZ` (27
--   characters, microseconds, like Postgres' timestamptz). Fixed width makes
--   text order equal time order, so `<`, `=`, `MAX` and ORDER BY are right.
--   A CHECK on every timestamp column refuses any other shape.
-- * booleans: INTEGER 0/1.
-- * run ids: TEXT, the hyphenated lower-case UUID.

CREATE TABLE tracks (
    id                      INTEGER PRIMARY KEY,
    source                  TEXT    NOT NULL CHECK (source <> ''),
    source_track_slug       TEXT    NOT NULL
        CHECK (source_track_slug <> '' AND source_track_slug = lower(source_track_slug)),

    -- catalogue row
    name                    TEXT    NOT NULL,
    track_url               TEXT    NOT NULL,
    events_url              TEXT    NOT NULL,
    last_updated_text       TEXT,
    last_updated_at         TEXT    CHECK (last_updated_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    is_live                 INTEGER NOT NULL CHECK (is_live IN (0, 1)),
    live_video              INTEGER NOT NULL CHECK (live_video IN (0, 1)),
    status                  TEXT    NOT NULL,
    featured                INTEGER NOT NULL CHECK (featured IN (0, 1)),
    current_event           TEXT,

    -- dashboard (TrackProfile); NULL = the page did not carry the value
    street                  TEXT,
    city                    TEXT,
    state                   TEXT,
    postal_code             TEXT,
    country                 TEXT,
    country_code            TEXT,
    phone                   TEXT,
    website                 TEXT,
    email                   TEXT,
    description             TEXT,
    logo_url                TEXT,
    facebook_url            TEXT,
    map_query               TEXT,
    total_laps              INTEGER,
    total_practice_sessions INTEGER,
    total_races             INTEGER,
    total_entries           INTEGER,
    total_events            INTEGER,

    -- coordinates and their provenance: all five set, or none
    latitude                REAL    CHECK (latitude BETWEEN -90 AND 90),
    longitude               REAL    CHECK (longitude BETWEEN -180 AND 180),
    geocode_provider        TEXT,
    geocode_query           TEXT,
    geocoded_at             TEXT    CHECK (geocoded_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),

    -- dashboard fetch bookkeeping
    metadata_fetched_at     TEXT    CHECK (metadata_fetched_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    metadata_source_url     TEXT,
    etag                    TEXT,
    last_modified           TEXT,
    content_hash            TEXT,

    -- lifecycle
    is_active               INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    first_seen_at           TEXT    NOT NULL CHECK (first_seen_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    last_seen_at            TEXT    NOT NULL CHECK (last_seen_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    deactivated_at          TEXT    CHECK (deactivated_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    created_at              TEXT    NOT NULL CHECK (created_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    updated_at              TEXT    NOT NULL CHECK (updated_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),

    -- Also the index of the listings (ordered by slug, the active one
    -- filtering is_active): almost every track is active, so a separate
    -- partial index would duplicate this one and, with random slugs, double
    -- the index pages every batch dirties (measured: 20-40% of a batched
    -- bulk insert).
    CONSTRAINT tracks_source_slug_key UNIQUE (source, source_track_slug),
    CONSTRAINT tracks_geo_complete CHECK (
        (latitude IS NULL) = (longitude IS NULL)
        AND (latitude IS NULL) = (geocode_provider IS NULL)
        AND (latitude IS NULL) = (geocode_query IS NULL)
        AND (latitude IS NULL) = (geocoded_at IS NULL)
    ),
    CONSTRAINT tracks_deactivated_iff_inactive CHECK (is_active = (deactivated_at IS NULL))
) STRICT;

CREATE TABLE track_changes (
    id          INTEGER PRIMARY KEY,
    run_id      TEXT    NOT NULL CHECK (length(run_id) = 36 AND run_id = lower(run_id)),
    track_id    INTEGER NOT NULL REFERENCES tracks (id),
    source      TEXT    NOT NULL,
    slug        TEXT    NOT NULL,
    field       TEXT    NOT NULL,
    old_value   TEXT,
    new_value   TEXT,
    changed_at  TEXT    NOT NULL CHECK (changed_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    -- Re-applying a batch (or finishing a run twice) records nothing new.
    -- Its leading column also serves lookups by run_id.
    CONSTRAINT track_changes_run_track_field_key UNIQUE (run_id, track_id, field)
) STRICT;

CREATE INDEX track_changes_track_history ON track_changes (track_id, changed_at);

CREATE TABLE track_sync_state (
    source          TEXT    PRIMARY KEY,
    last_success_at TEXT    NOT NULL CHECK (last_success_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    last_run_id     TEXT    NOT NULL CHECK (length(last_run_id) = 36 AND last_run_id = lower(last_run_id))
) STRICT;
