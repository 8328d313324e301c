-- The assessment's sums kept with each case's work, so that a month of all Beijing is one scan of one index
-- instead of a lookup per ticket and per callback: the case's tickets (following `cases.ticket_count`: tickets
-- that join a case after its dispatch count too) and, of each ticket's latest callback round, those that
-- reached the caller, resolved yes / partly, satisfied / basically satisfied, resolved and (basically)
-- satisfied, and neither. Triggers keep them in the transaction of the change, whatever path writes it.
ALTER TABLE case_work
    ADD COLUMN tickets INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN cb_reached INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN cb_resolved INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN cb_partly INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN cb_satisfied INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN cb_basic INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN cb_both_ok INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN cb_both_missing INTEGER NOT NULL DEFAULT 0;

-- A case's callback sums, recounted from its tickets' latest rounds (a later round, reached or not, replaces the
-- ticket's earlier ones).
CREATE FUNCTION case_work_callback_sums(the_case TEXT) RETURNS VOID LANGUAGE SQL AS $$
    UPDATE case_work SET
        (cb_reached, cb_resolved, cb_partly, cb_satisfied, cb_basic, cb_both_ok, cb_both_missing) = (
            SELECT COUNT(*),
                COUNT(*) FILTER (WHERE c.resolved = 'yes'),
                COUNT(*) FILTER (WHERE c.resolved = 'partly'),
                COUNT(*) FILTER (WHERE c.satisfaction = 'satisfied'),
                COUNT(*) FILTER (WHERE c.satisfaction = 'basically_satisfied'),
                COUNT(*) FILTER (WHERE c.resolved = 'yes'
                    AND c.satisfaction IN ('satisfied', 'basically_satisfied')),
                COUNT(*) FILTER (WHERE COALESCE(c.resolved, '') <> 'yes'
                    AND COALESCE(c.satisfaction, '') NOT IN ('satisfied', 'basically_satisfied'))
            FROM ticket_callbacks c
            WHERE c.case_id = the_case AND c.contacted
                AND NOT EXISTS (SELECT 1 FROM ticket_callbacks l
                    WHERE l.ticket_id = c.ticket_id AND l.round > c.round))
    WHERE case_id = the_case;
$$;

-- A case's tickets when its work begins.
CREATE FUNCTION case_work_tickets() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    NEW.tickets := COALESCE((SELECT ticket_count FROM cases WHERE id = NEW.case_id), 0);
    RETURN NEW;
END;
$$;
CREATE TRIGGER case_work_tickets BEFORE INSERT ON case_work
    FOR EACH ROW EXECUTE FUNCTION case_work_tickets();

-- And whenever its count changes.
CREATE FUNCTION cases_ticket_count() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE case_work SET tickets = NEW.ticket_count WHERE case_id = NEW.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER cases_ticket_count AFTER UPDATE OF ticket_count ON cases
    FOR EACH ROW WHEN (NEW.ticket_count IS DISTINCT FROM OLD.ticket_count) EXECUTE FUNCTION cases_ticket_count();

-- Recounted whenever a callback is recorded.
CREATE FUNCTION ticket_callbacks_sums() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM case_work_callback_sums(NEW.case_id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER ticket_callbacks_sums AFTER INSERT ON ticket_callbacks
    FOR EACH ROW EXECUTE FUNCTION ticket_callbacks_sums();

-- What is stored already.
UPDATE case_work SET tickets = cases.ticket_count FROM cases WHERE cases.id = case_work.case_id;
SELECT case_work_callback_sums(case_id) FROM (SELECT DISTINCT case_id FROM ticket_callbacks) AS called;

-- The month's work by its first dispatch with everything the assessment reads, so no table row is visited.
-- It replaces the indexes that served the per-ticket and per-callback joins.
DROP INDEX case_work_assessment;
DROP INDEX ticket_callbacks_assessment;
DROP INDEX ticket_callbacks_later_rounds;
CREATE INDEX case_work_assessment ON case_work (
    dispatched_at, district_code, street_code, accepted_by, accepted_by_name, accepted_at, respond_due_at,
    evidence_missing, tickets, cb_reached, cb_resolved, cb_partly, cb_satisfied, cb_basic, cb_both_ok,
    cb_both_missing, departments, case_id);
