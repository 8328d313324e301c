DROP INDEX case_work_assessment;
CREATE INDEX case_work_assessment ON case_work
    (dispatched_at, case_id, district_code, street_code, accepted_by, accepted_at, respond_due_at, evidence_missing);
CREATE INDEX ticket_callbacks_assessment ON ticket_callbacks (case_id, contacted, resolved, satisfaction);
CREATE INDEX ticket_callbacks_later_rounds ON ticket_callbacks (at, ticket_id) WHERE round > 1;
DROP TRIGGER ticket_callbacks_sums ON ticket_callbacks;
DROP FUNCTION ticket_callbacks_sums();
DROP TRIGGER cases_ticket_count ON cases;
DROP FUNCTION cases_ticket_count();
DROP TRIGGER case_work_tickets ON case_work;
DROP FUNCTION case_work_tickets();
DROP FUNCTION case_work_callback_sums(TEXT);
ALTER TABLE case_work
    DROP COLUMN cb_both_missing, DROP COLUMN cb_both_ok, DROP COLUMN cb_basic, DROP COLUMN cb_satisfied,
    DROP COLUMN cb_partly, DROP COLUMN cb_resolved, DROP COLUMN cb_reached, DROP COLUMN tickets;
