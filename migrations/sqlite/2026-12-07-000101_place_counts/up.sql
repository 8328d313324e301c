-- Counts behind the heat maps (src/service/counts.rs says what is counted): per place of every level, per Beijing
-- day, topic, source and status class, the tickets (calls) and cases (problems). Kept in the transaction of every
-- write that changes a case; `gridline analytics rebuild` recomputes them from the raw rows. Day first in the key:
-- a heat map reads one level over a range of days.
CREATE TABLE place_counts (
    level TEXT NOT NULL,
    day DATE NOT NULL,
    place_code TEXT NOT NULL,
    topic_code TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    tickets INTEGER NOT NULL,
    cases INTEGER NOT NULL,
    PRIMARY KEY (level, day, place_code, topic_code, source, status)
) WITHOUT ROWID;
-- A place's series (the trend route).
CREATE INDEX place_counts_place ON place_counts (place_code, day);

-- What each case (with its tickets) last added to `place_counts`, so that a change subtracts exactly that and adds
-- the new contribution; `class` lets the scheduler find open cases whose deadline has passed.
CREATE TABLE count_marks (
    case_id TEXT PRIMARY KEY NOT NULL,
    class TEXT NOT NULL,
    contribution TEXT NOT NULL
);
CREATE INDEX count_marks_class ON count_marks (class, case_id);
