-- Proactive tasks (未诉先办, src/service/hotspots/proactive.rs): one case (source `proactive`) per cluster of a
-- finished scan that a leader chose, with the evidence it was made on. `cluster` is the cluster's rank in a
-- `gistar` scan, or the position (from 1) of the unit's pattern in an `emerging` scan; one case per (scan, cluster),
-- so the same cluster is never tasked twice. `units` are the cluster's unit codes at `level` (comma-separated),
-- where its "did it work" figures are counted; `place_code` is the cell the case is placed on (scope filter).
CREATE TABLE proactive_tasks (
    case_id TEXT PRIMARY KEY NOT NULL REFERENCES cases (id),
    scan_id TEXT NOT NULL REFERENCES scans (id),
    cluster INTEGER NOT NULL,
    topic_code TEXT NOT NULL,
    scanned_topic TEXT NOT NULL,
    level TEXT NOT NULL,
    units TEXT NOT NULL,
    place_code TEXT NOT NULL,
    strongest_z DOUBLE PRECISION,
    trend TEXT,
    window_from DATE NOT NULL,
    window_to DATE NOT NULL,
    window_tickets BIGINT NOT NULL,
    baseline_tickets DOUBLE PRECISION,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (scan_id, cluster)
);
CREATE INDEX proactive_tasks_newest ON proactive_tasks (created_at, case_id);
CREATE INDEX proactive_tasks_place ON proactive_tasks (place_code);
