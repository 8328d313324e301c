-- The units a user acts for (a department handler reports in and works cases only for the units they are a
-- member of). A unit with members cannot be deleted; a user's memberships are replaced whole.
CREATE TABLE user_units (
    user_id TEXT NOT NULL REFERENCES users (id),
    unit_id TEXT NOT NULL REFERENCES units (id),
    PRIMARY KEY (user_id, unit_id)
);
CREATE INDEX user_units_unit ON user_units (unit_id);
