-- Seen marks off the track rows. (The Postgres twin also puts the track key
-- in byte order, COLLATE "C": SQLite's BINARY collation already is.)
--
-- Owned by crate `ingest-store`; the Postgres twin is
-- `migrations/postgres/0004_track_seen_and_key_order.sql` and must stay equivalent (it
-- explains the design).
--
-- A track whose content a batch did not change gets its seen marks
-- (`last_seen_at` and the fetch bookkeeping) in this narrow row instead of
-- a rewrite of its wide `tracks` row; the stored value of a mark is this
-- row's when it exists, else the `tracks` row's. A batch that rewrites a
-- track writes the marks there and deletes this row.
--
-- No foreign key to `tracks`, as on Postgres: tracks are never deleted, so
-- a track id never comes back. Representation as in 0001.
CREATE TABLE track_seen (
    track_id            INTEGER PRIMARY KEY,
    last_seen_at        TEXT    NOT NULL CHECK (last_seen_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    metadata_fetched_at TEXT    CHECK (metadata_fetched_at GLOB
        '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    etag                TEXT,
    last_modified       TEXT
) STRICT;
