-- The version of the heat-map counts: every statement that changes `place_counts` (a counting pass, an overdue
-- pass, a rebuild) adds one in its transaction, so that a copy of the counts held in memory (the server's,
-- src/service/analytics/counts.rs) knows whether it still equals the stored rows.
ALTER TABLE count_cursor ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
