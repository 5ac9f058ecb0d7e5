-- Seen marks off the track rows, and the track key in byte order.
--
-- Owned by crate `ingest-store`; the SQLite twin is
-- `migrations/sqlite/0004_track_seen_and_key_order.sql` and must stay equivalent.
--
-- A sync run sees every track of its catalogue and moves its seen marks
-- (`last_seen_at` and the fetch bookkeeping `metadata_fetched_at`, `etag`,
-- `last_modified`, none of them content). On the wide `tracks` row
-- (~1-1.5 KB) that rewrote every row of every run: a new version that rarely
-- fits the page (so no HOT update), a new entry in every index and the
-- whole row in the WAL. A track whose content did not change now gets its
-- marks in this narrow row instead (inserted the first time, then updated in
-- place), and its `tracks` row is not touched.
--
-- The stored value of a mark is this row's when it exists, else the
-- `tracks` row's. A batch that rewrites a track (its content changed, or it
-- is new) writes the marks on the `tracks` row and deletes this row, so
-- there is never a stale one.
--
-- No foreign key to `tracks`: tracks are never deleted (they are
-- deactivated), so a track id never comes back, and the per-row RI check measured
-- 3x the cost of the write itself (0.35 s -> 1.2 s for 100,000 rows).
CREATE TABLE track_seen (
    track_id            bigint      PRIMARY KEY,
    last_seen_at        timestamptz NOT NULL,
    metadata_fetched_at timestamptz,
    etag                text,
    last_modified       text
)
-- Room on each page for HOT updates: every run updates every row, and the
-- primary key is never among the updated columns.
WITH (fillfactor = 70);

-- The reactivation lock of `apply_batch` now runs only for the slugs its
-- lookup found inactive (the unique key carries `is_active`), and probes
-- the unique key for them; nothing reads this index any more.
DROP INDEX tracks_inactive;

-- The key in byte order (COLLATE "C"), as SQLite's BINARY and Rust's `str`
-- order it: comparisons are `memcmp` instead of the database locale's
-- `strcoll`, which measured 7% off loading 100,000 tracks (key order, into
-- the table and its two indexes) and faster key probes. The slug CHECK
-- keeps lower-casing in the database's locale, as before, so a non-ASCII
-- capital is still refused.
ALTER TABLE tracks
    DROP CONSTRAINT tracks_slug_lowercase,
    ALTER COLUMN source TYPE text COLLATE "C",
    ALTER COLUMN source_track_slug TYPE text COLLATE "C",
    ADD CONSTRAINT tracks_slug_lowercase CHECK (
        source_track_slug <> ''
        AND source_track_slug = lower(source_track_slug COLLATE "default")
    );
