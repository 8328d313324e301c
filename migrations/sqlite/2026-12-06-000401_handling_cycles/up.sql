-- Handling cycles: a reopened case is handled again, on a fresh clock. `cycle` counts them (1 the first dispatch,
-- +1 per reopen); the escalation ladder counts from `cycle_started_at` (the first dispatch, then the latest
-- reopen); `extension_days` are the days of extension granted in this cycle (earlier cycles' stay in the transition
-- history, which also counts the cycle's extensions); `extension_pending_days` is an extension asked for above the
-- policy's threshold and waiting for a dispatcher's approval.
ALTER TABLE case_work ADD COLUMN cycle INTEGER NOT NULL DEFAULT 1;
ALTER TABLE case_work ADD COLUMN cycle_started_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
UPDATE case_work SET cycle_started_at = dispatched_at;
ALTER TABLE case_work ADD COLUMN extension_pending_days INTEGER;

-- A rung is crossed once per case, cycle and rung: a reopened case climbs its ladder again while the rungs of
-- earlier cycles stay recorded.
CREATE TABLE escalations_by_cycle (
    case_id TEXT NOT NULL REFERENCES cases (id),
    cycle INTEGER NOT NULL,
    rung INTEGER NOT NULL,
    name TEXT NOT NULL,
    district_code TEXT NOT NULL,
    due_at TIMESTAMP NOT NULL,
    fired_at TIMESTAMP NOT NULL,
    notified TEXT NOT NULL,
    PRIMARY KEY (case_id, cycle, rung)
);
INSERT INTO escalations_by_cycle (case_id, cycle, rung, name, district_code, due_at, fired_at, notified)
    SELECT case_id, 1, rung, name, district_code, due_at, fired_at, notified FROM escalations;
DROP TABLE escalations;
ALTER TABLE escalations_by_cycle RENAME TO escalations;
CREATE INDEX escalations_fired ON escalations (fired_at, case_id, rung);
