-- Units (hotline centre, command centres, street offices, community committees, departments, enterprises) and
-- the people in them. topics is a JSON array of topic codes (for departments). Times are UTC.
CREATE TABLE units (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    place_code TEXT,
    district_code TEXT NOT NULL,
    topics TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX units_place ON units (place_code);
CREATE INDEX units_district ON units (district_code);

CREATE TABLE people (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    unit_id TEXT NOT NULL REFERENCES units (id),
    role TEXT NOT NULL,
    district_code TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX people_unit ON people (unit_id);
