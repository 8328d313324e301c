DELETE FROM escalations WHERE cycle <> 1;
ALTER TABLE escalations DROP CONSTRAINT escalations_pkey;
ALTER TABLE escalations DROP COLUMN cycle;
ALTER TABLE escalations ADD PRIMARY KEY (case_id, rung);

ALTER TABLE case_work DROP COLUMN extension_pending_days;
ALTER TABLE case_work DROP COLUMN cycle_started_at;
ALTER TABLE case_work DROP COLUMN cycle;
