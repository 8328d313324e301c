DROP TABLE count_marks;
DROP TABLE place_counts;
