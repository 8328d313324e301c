-- The assessment's sums kept with each case's work, so that a month of all Beijing is one scan of one index
-- instead of a lookup per ticket and per callback: the case's tickets (following `cases.ticket_count`: tickets
-- that join a case after its dispatch count too) and, of each ticket's latest callback round, those that
-- reached the caller, resolved yes / partly, satisfied / basically satisfied, resolved and (basically)
-- satisfied, and neither. Triggers keep them in the transaction of the change, whatever path writes it.
ALTER TABLE case_work ADD COLUMN tickets INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_work ADD COLUMN cb_reached INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_work ADD COLUMN cb_resolved INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_work ADD COLUMN cb_partly INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_work ADD COLUMN cb_satisfied INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_work ADD COLUMN cb_basic INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_work ADD COLUMN cb_both_ok INTEGER NOT NULL DEFAULT 0;
ALTER TABLE case_work ADD COLUMN cb_both_missing INTEGER NOT NULL DEFAULT 0;

-- A case's tickets when its work begins, and whenever its count changes.
CREATE TRIGGER case_work_tickets AFTER INSERT ON case_work
BEGIN
    UPDATE case_work SET tickets = (SELECT ticket_count FROM cases WHERE id = NEW.case_id)
    WHERE case_id = NEW.case_id;
END;
CREATE TRIGGER cases_ticket_count AFTER UPDATE OF ticket_count ON cases
WHEN NEW.ticket_count <> OLD.ticket_count
BEGIN
    UPDATE case_work SET tickets = NEW.ticket_count WHERE case_id = NEW.id;
END;

-- A case's callback sums, recounted from its tickets' latest rounds whenever a callback is recorded (a later
-- round, reached or not, replaces the ticket's earlier ones).
CREATE TRIGGER ticket_callbacks_sums AFTER INSERT ON ticket_callbacks
BEGIN
    UPDATE case_work SET
        (cb_reached, cb_resolved, cb_partly, cb_satisfied, cb_basic, cb_both_ok, cb_both_missing) = (
            SELECT COUNT(*),
                COALESCE(SUM(c.resolved = 'yes'), 0),
                COALESCE(SUM(c.resolved = 'partly'), 0),
                COALESCE(SUM(c.satisfaction = 'satisfied'), 0),
                COALESCE(SUM(c.satisfaction = 'basically_satisfied'), 0),
                COALESCE(SUM(c.resolved = 'yes'
                    AND c.satisfaction IN ('satisfied', 'basically_satisfied')), 0),
                COALESCE(SUM(COALESCE(c.resolved, '') <> 'yes'
                    AND COALESCE(c.satisfaction, '') NOT IN ('satisfied', 'basically_satisfied')), 0)
            FROM ticket_callbacks c
            WHERE c.case_id = NEW.case_id AND c.contacted
                AND NOT EXISTS (SELECT 1 FROM ticket_callbacks l
                    WHERE l.ticket_id = c.ticket_id AND l.round > c.round))
    WHERE case_id = NEW.case_id;
END;

-- What is stored already.
UPDATE case_work SET tickets = (SELECT ticket_count FROM cases WHERE id = case_work.case_id);
UPDATE case_work SET
    (cb_reached, cb_resolved, cb_partly, cb_satisfied, cb_basic, cb_both_ok, cb_both_missing) = (
        SELECT COUNT(*),
            COALESCE(SUM(c.resolved = 'yes'), 0),
            COALESCE(SUM(c.resolved = 'partly'), 0),
            COALESCE(SUM(c.satisfaction = 'satisfied'), 0),
            COALESCE(SUM(c.satisfaction = 'basically_satisfied'), 0),
            COALESCE(SUM(c.resolved = 'yes'
                AND c.satisfaction IN ('satisfied', 'basically_satisfied')), 0),
            COALESCE(SUM(COALESCE(c.resolved, '') <> 'yes'
                AND COALESCE(c.satisfaction, '') NOT IN ('satisfied', 'basically_satisfied')), 0)
        FROM ticket_callbacks c
        WHERE c.case_id = case_work.case_id AND c.contacted
            AND NOT EXISTS (SELECT 1 FROM ticket_callbacks l
                WHERE l.ticket_id = c.ticket_id AND l.round > c.round));

-- The month's work by its first dispatch with everything the assessment reads, so no table row is visited.
-- It replaces the indexes that served the per-ticket and per-callback joins.
DROP INDEX case_work_assessment;
DROP INDEX ticket_callbacks_assessment;
DROP INDEX ticket_callbacks_later_rounds;
CREATE INDEX case_work_assessment ON case_work (
    dispatched_at, district_code, street_code, accepted_by, accepted_by_name, accepted_at, respond_due_at,
    evidence_missing, tickets, cb_reached, cb_resolved, cb_partly, cb_satisfied, cb_basic, cb_both_ok,
    cb_both_missing, departments, case_id);
