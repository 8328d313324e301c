-- Hot spot scans run as background jobs (src/service/hotspots/jobs.rs): the checked parameters and, once finished,
-- the result, both as JSON; the places the scan covers (comma-separated code prefixes, empty for the whole city) so
-- that a reader sees only scans inside their jurisdiction. A scan still `queued` or `running` when the server starts
-- was cut short by a restart and is marked `failed` then. `schedule_key` names a scan the scheduler started (one
-- per district and month), so a second pass never starts it again.
CREATE TABLE scans (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    progress INTEGER NOT NULL,
    params TEXT NOT NULL,
    result TEXT,
    error_code TEXT,
    error_message TEXT,
    coverage TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    schedule_key TEXT UNIQUE
);
CREATE INDEX scans_newest ON scans (created_at, id);
CREATE INDEX scans_status ON scans (status);
