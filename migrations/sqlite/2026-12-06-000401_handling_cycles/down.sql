CREATE TABLE escalations_by_rung (
    case_id TEXT NOT NULL REFERENCES cases (id),
    rung INTEGER NOT NULL,
    name TEXT NOT NULL,
    district_code TEXT NOT NULL,
    due_at TIMESTAMP NOT NULL,
    fired_at TIMESTAMP NOT NULL,
    notified TEXT NOT NULL,
    PRIMARY KEY (case_id, rung)
);
INSERT INTO escalations_by_rung (case_id, rung, name, district_code, due_at, fired_at, notified)
    SELECT case_id, rung, name, district_code, due_at, fired_at, notified FROM escalations WHERE cycle = 1;
DROP TABLE escalations;
ALTER TABLE escalations_by_rung RENAME TO escalations;
CREATE INDEX escalations_fired ON escalations (fired_at, case_id, rung);

ALTER TABLE case_work DROP COLUMN extension_pending_days;
ALTER TABLE case_work DROP COLUMN cycle_started_at;
ALTER TABLE case_work DROP COLUMN cycle;
