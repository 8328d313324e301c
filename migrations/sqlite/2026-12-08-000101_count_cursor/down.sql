DROP TABLE count_cursor;
