-- Run reports, kept beside the tracks: the Markdown body and the report's
-- data (RunReport as JSON) for completeness trends. Times are fixed-width
-- UTC RFC 3339 text (microseconds, `Z`), so text order is time order.
CREATE TABLE sync_reports (
    run_id      TEXT PRIMARY KEY NOT NULL,
    source      TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    status      TEXT NOT NULL,
    trigger     TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    body        TEXT NOT NULL,
    data        TEXT NOT NULL CHECK (json_valid(data))
);
CREATE INDEX sync_reports_by_source_started ON sync_reports (source, started_at DESC);
CREATE INDEX sync_reports_by_finished ON sync_reports (finished_at);
