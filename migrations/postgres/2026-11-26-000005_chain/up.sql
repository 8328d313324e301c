-- The responsibility chain (三包). A section (片) is a named set of streets or communities a leader answers for.
-- An assignment says who (a person, or a unit) answers for what (a place, or a section) from valid_from until
-- valid_to (exclusive; NULL while it lasts). Replacing someone closes the old assignment; nothing is overwritten.
CREATE TABLE sections (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    district_code TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE section_places (
    section_id TEXT NOT NULL REFERENCES sections (id),
    place_code TEXT NOT NULL,
    PRIMARY KEY (section_id, place_code)
);
CREATE INDEX section_places_place ON section_places (place_code);

CREATE TABLE assignments (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    district_code TEXT NOT NULL,
    person_id TEXT REFERENCES people (id),
    unit_id TEXT REFERENCES units (id),
    valid_from TIMESTAMP NOT NULL,
    valid_to TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX assignments_target ON assignments (kind, target, valid_from);
CREATE INDEX assignments_person ON assignments (person_id);
