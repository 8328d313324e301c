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
ALTER TABLE escalations ADD COLUMN cycle INTEGER NOT NULL DEFAULT 1;
ALTER TABLE escalations DROP CONSTRAINT escalations_pkey;
ALTER TABLE escalations ADD PRIMARY KEY (case_id, cycle, rung);
