-- The change log behind the phones' pull feed (GET /api/v1/sync/pull). One row per (entity, place) holding the
-- sequence number of the entity's latest change there and whether it has left that place (`gone`: re-placed
-- elsewhere, or merged into another case): upserted, so the table grows with the number of entities, not of
-- writes. Triggers write it, so every path (intake, bulk import, workflow steps, the simulator, merges, undoing
-- merges) is covered in the transaction of the change without service code. A case's place is its most precise
-- place (cell, community, street or district; '' while unplaced); a case's workflow steps arrive with the case, so
-- a step bumps the case's row.
--
-- Sequence numbers come from the single-row `change_counter`, not from a SEQUENCE: a sequence hands out numbers
-- at the time of the call, so transaction A can take 7, B take 8 and commit first, and a reader who pulled up to 8
-- would never see 7. `UPDATE change_counter ... RETURNING seq` locks the row until the transaction ends, so a
-- second writer waits for the first to commit (or roll back) before it takes a number: numbers become visible
-- in order, and a cursor never skips a committed change. The cost is that writers of the change log serialise
-- from their first change to their commit.
CREATE TABLE change_counter (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO change_counter (id, seq) VALUES (1, 0);

-- Place codes in byte order ("C"), so that a prefix is a range whatever the database's collation.
CREATE TABLE changes (
    entity_kind TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    place_code TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    gone BOOLEAN NOT NULL,
    PRIMARY KEY (entity_kind, entity_id, place_code)
);
-- A reader's page is a range scan of their places' codes (a prefix) after the cursor.
CREATE INDEX changes_place_seq ON changes (place_code, seq) INCLUDE (entity_kind, entity_id, gone);
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

-- The next number; holds the counter's row lock until the transaction ends.
CREATE FUNCTION next_change_seq() RETURNS BIGINT LANGUAGE SQL AS $$
    UPDATE change_counter SET seq = seq + 1 WHERE id = 1 RETURNING seq;
$$;

-- Records that an entity changed at a place (or left it).
CREATE FUNCTION record_change(kind TEXT, entity TEXT, place TEXT, is_gone BOOLEAN) RETURNS VOID LANGUAGE SQL AS $$
    INSERT INTO changes (entity_kind, entity_id, place_code, seq, gone)
    VALUES (kind, entity, place, next_change_seq(), is_gone)
    ON CONFLICT (entity_kind, entity_id, place_code) DO UPDATE SET seq = EXCLUDED.seq, gone = EXCLUDED.gone;
$$;

-- Any new or changed case: a tombstone at the place it left (if it moved), then its row at its place now (gone
-- if it was merged into another case). The tombstone comes first, so the live row has the higher number.
CREATE FUNCTION changes_case() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND COALESCE(OLD.place_code, OLD.district_code)
            IS DISTINCT FROM COALESCE(NEW.place_code, NEW.district_code) THEN
        PERFORM record_change('case', OLD.id, COALESCE(OLD.place_code, OLD.district_code), TRUE);
    END IF;
    PERFORM record_change('case', NEW.id, COALESCE(NEW.place_code, NEW.district_code), NEW.status = 'merged');
    RETURN NULL;
END;
$$;
CREATE TRIGGER changes_case AFTER INSERT OR UPDATE ON cases
    FOR EACH ROW EXECUTE FUNCTION changes_case();

-- A workflow step is a change of its case (at the place where the case is live).
CREATE FUNCTION changes_case_transition() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE changes SET seq = next_change_seq()
    WHERE entity_kind = 'case' AND entity_id = NEW.case_id AND NOT gone;
    RETURN NULL;
END;
$$;
CREATE TRIGGER changes_case_transition AFTER INSERT ON case_transitions
    FOR EACH ROW EXECUTE FUNCTION changes_case_transition();

-- A new patrol report, and any change of one (undoing a merge moves it to another case).
CREATE FUNCTION changes_report() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.place_code <> NEW.place_code THEN
        PERFORM record_change('report', OLD.id, OLD.place_code, TRUE);
    END IF;
    PERFORM record_change('report', NEW.id, NEW.place_code, FALSE);
    RETURN NULL;
END;
$$;
CREATE TRIGGER changes_report AFTER INSERT OR UPDATE ON reports
    FOR EACH ROW EXECUTE FUNCTION changes_report();
