-- The case workflow: every step taken on a case (who, when, from which status to which, the note, the details the
-- action needed, and the evidence photos), numbered per case. Steps are never changed or deleted.
CREATE TABLE case_transitions (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    district_code TEXT NOT NULL,
    seq INTEGER NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    note TEXT NOT NULL,
    details TEXT NOT NULL,
    evidence TEXT NOT NULL
);
CREATE UNIQUE INDEX case_transitions_case ON case_transitions (case_id, seq);
CREATE INDEX case_transitions_district_at ON case_transitions (district_code, at);
