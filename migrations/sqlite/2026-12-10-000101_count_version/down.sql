ALTER TABLE count_cursor DROP COLUMN version;
