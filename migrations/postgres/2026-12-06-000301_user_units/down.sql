DROP TABLE user_units;
