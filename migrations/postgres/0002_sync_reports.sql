-- Run reports, kept beside the tracks: the Markdown body and the report's
-- data (RunReport as JSON) for completeness trends.
CREATE TABLE sync_reports (
    run_id      UUID PRIMARY KEY,
    source      TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    status      TEXT NOT NULL,
    trigger     TEXT NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    body        TEXT NOT NULL,
    data        JSONB NOT NULL
);
CREATE INDEX sync_reports_by_source_started ON sync_reports (source, started_at DESC);
CREATE INDEX sync_reports_by_finished ON sync_reports (finished_at);
