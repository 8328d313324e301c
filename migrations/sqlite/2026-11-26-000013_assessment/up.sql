-- The monthly assessment (一份卷子) sums a month of work per street, district, department or handler. These
-- indexes cover what its queries read, so that a month of all Beijing is summed from index entries alone:
-- the case work by its first dispatch, with the grouping keys and the response clock;
CREATE INDEX case_work_assessment ON case_work
    (dispatched_at, case_id, district_code, street_code, accepted_by, accepted_at, respond_due_at, evidence_missing);
-- each case's callbacks with their answers;
CREATE INDEX ticket_callbacks_assessment ON ticket_callbacks (case_id, contacted, resolved, satisfaction);
-- the few callbacks after a reopen (round 2 on), which tell which earlier rounds no longer count;
CREATE INDEX ticket_callbacks_later_rounds ON ticket_callbacks (at, ticket_id) WHERE round > 1;
-- and the whistles blown in a month.
CREATE INDEX whistle_calls_summoned ON whistle_calls (summoned_at);
