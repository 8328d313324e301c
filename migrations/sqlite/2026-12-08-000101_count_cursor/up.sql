-- How far the heat-map counts (`place_counts`, `count_marks`) have followed the change log (`changes`, whose
-- numbers commit in order): every case whose latest change has a number up to `seq` is counted as it then stood.
-- Writes no longer count in their own transaction; a pass counts the cases changed after the cursor and moves it
-- (src/service/analytics/counts.rs). Until now every write counted in its own transaction: the counts are current
-- up to the counter's number.
CREATE TABLE count_cursor (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO count_cursor (id, seq) SELECT 1, seq FROM change_counter WHERE id = 1;
