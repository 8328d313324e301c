-- The change log behind the phones' pull feed (GET /api/v1/sync/pull). One row per (entity, place) holding the
-- sequence number of the entity's latest change there and whether it has left that place (`gone`: re-placed
-- elsewhere, or merged into another case): upserted, so the table grows with the number of entities, not of
-- writes. Sequence numbers come from the single-row `change_counter`, bumped for every row written, in the
-- transaction of the change (SQLite has one writer, so they commit in order). Triggers write it, so every path
-- (intake, bulk import, workflow steps, the simulator, merges, undoing merges) is covered without service code.
-- A case's place is its most precise place (cell, community, street or district; '' while unplaced); a case's
-- workflow steps arrive with the case, so a step bumps the case's row.
CREATE TABLE change_counter (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO change_counter (id, seq) VALUES (1, 0);

CREATE TABLE changes (
    entity_kind TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    place_code TEXT NOT NULL,
    seq BIGINT NOT NULL,
    gone BOOLEAN NOT NULL,
    PRIMARY KEY (entity_kind, entity_id, place_code)
) WITHOUT ROWID;
-- A reader's page is a range scan of their places' codes (a prefix) after the cursor.
CREATE INDEX changes_place_seq ON changes (place_code, seq);
-- City-wide readers page through everything in order.
CREATE INDEX changes_seq ON changes (seq);

-- What is stored already, in the order it was created.
INSERT INTO changes (entity_kind, entity_id, place_code, seq, gone)
SELECT 'case', id, COALESCE(place_code, district_code), ROW_NUMBER() OVER (ORDER BY created_at, id),
    status = 'merged'
FROM cases;
INSERT INTO changes (entity_kind, entity_id, place_code, seq, gone)
SELECT 'report', id, place_code, (SELECT COUNT(*) FROM cases) + ROW_NUMBER() OVER (ORDER BY created_at, id), FALSE
FROM reports;
UPDATE change_counter SET seq = (SELECT COALESCE(MAX(seq), 0) FROM changes);

-- A new case.
CREATE TRIGGER changes_case_insert AFTER INSERT ON cases
BEGIN
    UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
    INSERT INTO changes (entity_kind, entity_id, place_code, seq, gone)
    VALUES ('case', NEW.id, COALESCE(NEW.place_code, NEW.district_code),
        (SELECT seq FROM change_counter WHERE id = 1), NEW.status = 'merged')
    ON CONFLICT (entity_kind, entity_id, place_code) DO UPDATE SET seq = excluded.seq, gone = excluded.gone;
END;

-- Any change of a case: a tombstone at the place it left (if it moved), then its row at its place now (gone if it
-- was merged into another case). The tombstone comes first, so the live row always has the higher number.
CREATE TRIGGER changes_case_update AFTER UPDATE ON cases
BEGIN
    UPDATE change_counter SET seq = seq + 1
    WHERE id = 1 AND COALESCE(OLD.place_code, OLD.district_code) IS NOT COALESCE(NEW.place_code, NEW.district_code);
    INSERT INTO changes (entity_kind, entity_id, place_code, seq, gone)
    SELECT 'case', OLD.id, COALESCE(OLD.place_code, OLD.district_code),
        (SELECT seq FROM change_counter WHERE id = 1), TRUE
    WHERE COALESCE(OLD.place_code, OLD.district_code) IS NOT COALESCE(NEW.place_code, NEW.district_code)
    ON CONFLICT (entity_kind, entity_id, place_code) DO UPDATE SET seq = excluded.seq, gone = excluded.gone;
    UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
    INSERT INTO changes (entity_kind, entity_id, place_code, seq, gone)
    VALUES ('case', NEW.id, COALESCE(NEW.place_code, NEW.district_code),
        (SELECT seq FROM change_counter WHERE id = 1), NEW.status = 'merged')
    ON CONFLICT (entity_kind, entity_id, place_code) DO UPDATE SET seq = excluded.seq, gone = excluded.gone;
END;

-- A workflow step is a change of its case (at the place where the case is live).
CREATE TRIGGER changes_case_transition AFTER INSERT ON case_transitions
BEGIN
    UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
    UPDATE changes SET seq = (SELECT seq FROM change_counter WHERE id = 1)
    WHERE entity_kind = 'case' AND entity_id = NEW.case_id AND NOT gone;
END;

-- A new patrol report, and any change of one (undoing a merge moves it to another case).
CREATE TRIGGER changes_report_insert AFTER INSERT ON reports
BEGIN
    UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
    INSERT INTO changes (entity_kind, entity_id, place_code, seq, gone)
    VALUES ('report', NEW.id, NEW.place_code, (SELECT seq FROM change_counter WHERE id = 1), FALSE)
    ON CONFLICT (entity_kind, entity_id, place_code) DO UPDATE SET seq = excluded.seq, gone = excluded.gone;
END;
CREATE TRIGGER changes_report_update AFTER UPDATE ON reports
BEGIN
    UPDATE change_counter SET seq = seq + 1
    WHERE id = 1 AND OLD.place_code <> NEW.place_code;
    INSERT INTO changes (entity_kind, entity_id, place_code, seq, gone)
    SELECT 'report', OLD.id, OLD.place_code, (SELECT seq FROM change_counter WHERE id = 1), TRUE
    WHERE OLD.place_code <> NEW.place_code
    ON CONFLICT (entity_kind, entity_id, place_code) DO UPDATE SET seq = excluded.seq, gone = excluded.gone;
    UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
    INSERT INTO changes (entity_kind, entity_id, place_code, seq, gone)
    VALUES ('report', NEW.id, NEW.place_code, (SELECT seq FROM change_counter WHERE id = 1), FALSE)
    ON CONFLICT (entity_kind, entity_id, place_code) DO UPDATE SET seq = excluded.seq, gone = excluded.gone;
END;
