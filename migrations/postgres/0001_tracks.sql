-- The LiveRC track catalogue, its change history and per-source sync state.
--
-- Owned by crate `ingest-store`; the SQLite twin is
-- `migrations/sqlite/0001_tracks.sql` and must stay equivalent.
--
-- Column classes (see crates/ingest-store/README.md):
-- * content: catalogue, dashboard, geo, is_active/deactivated_at. A change to
--   any of them rewrites the row and moves `updated_at`.
-- * bookkeeping: last_seen_at, metadata_fetched_at, etag, last_modified. They
--   move on every run and never move `updated_at`.

CREATE TABLE tracks (
    id                      bigserial PRIMARY KEY,
    source                  text        NOT NULL,
    source_track_slug       text        NOT NULL,

    -- catalogue row
    name                    text        NOT NULL,
    track_url               text        NOT NULL,
    events_url              text        NOT NULL,
    last_updated_text       text,
    last_updated_at         timestamptz,
    is_live                 boolean     NOT NULL,
    live_video              boolean     NOT NULL,
    status                  text        NOT NULL,
    featured                boolean     NOT NULL,
    current_event           text,

    -- dashboard (TrackProfile); NULL = the page did not carry the value
    street                  text,
    city                    text,
    state                   text,
    postal_code             text,
    country                 text,
    country_code            text,
    phone                   text,
    website                 text,
    email                   text,
    description             text,
    logo_url                text,
    facebook_url            text,
    map_query               text,
    total_laps              bigint,
    total_practice_sessions bigint,
    total_races             bigint,
    total_entries           bigint,
    total_events            bigint,

    -- coordinates and their provenance: all five set, or none
    latitude                double precision,
    longitude               double precision,
    geocode_provider        text,
    geocode_query           text,
    geocoded_at             timestamptz,

    -- dashboard fetch bookkeeping
    metadata_fetched_at     timestamptz,
    metadata_source_url     text,
    etag                    text,
    last_modified           text,
    content_hash            text,

    -- lifecycle
    is_active               boolean     NOT NULL DEFAULT true,
    first_seen_at           timestamptz NOT NULL,
    last_seen_at            timestamptz NOT NULL,
    deactivated_at          timestamptz,
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL,

    -- Also the index of the listings (ordered by slug). It carries
    -- is_active so the active listing and its count filter in the index:
    -- almost every track is active, so a separate partial index would
    -- duplicate this one and cost an extra index write per inserted or
    -- non-HOT-updated row (measured: ~15% of a bulk insert).
    CONSTRAINT tracks_source_slug_key UNIQUE (source, source_track_slug) INCLUDE (is_active),
    CONSTRAINT tracks_source_nonempty CHECK (source <> ''),
    CONSTRAINT tracks_slug_lowercase
        CHECK (source_track_slug <> '' AND source_track_slug = lower(source_track_slug)),
    CONSTRAINT tracks_latitude_range CHECK (latitude BETWEEN -90 AND 90),
    CONSTRAINT tracks_longitude_range CHECK (longitude BETWEEN -180 AND 180),
    CONSTRAINT tracks_geo_complete CHECK (
        (latitude IS NULL) = (longitude IS NULL)
        AND (latitude IS NULL) = (geocode_provider IS NULL)
        AND (latitude IS NULL) = (geocode_query IS NULL)
        AND (latitude IS NULL) = (geocoded_at IS NULL)
    ),
    CONSTRAINT tracks_deactivated_iff_inactive CHECK (is_active = (deactivated_at IS NULL))
)
-- Room on each page for HOT updates: most writes only move bookkeeping
-- columns (last_seen_at every run), which no index covers.
WITH (fillfactor = 90);

-- Reactivation lookups in `apply_batch`: inactive tracks are few.
CREATE INDEX tracks_inactive ON tracks (source, source_track_slug) WHERE NOT is_active;

CREATE TABLE track_changes (
    id          bigserial PRIMARY KEY,
    run_id      uuid        NOT NULL,
    track_id    bigint      NOT NULL REFERENCES tracks (id),
    source      text        NOT NULL,
    slug        text        NOT NULL,
    field       text        NOT NULL,
    old_value   text,
    new_value   text,
    changed_at  timestamptz NOT NULL,
    -- Re-applying a batch (or finishing a run twice) records nothing new.
    -- Its leading column also serves lookups by run_id.
    CONSTRAINT track_changes_run_track_field_key UNIQUE (run_id, track_id, field)
);

CREATE INDEX track_changes_track_history ON track_changes (track_id, changed_at);

CREATE TABLE track_sync_state (
    source          text        PRIMARY KEY,
    last_success_at timestamptz NOT NULL,
    last_run_id     uuid        NOT NULL
);
