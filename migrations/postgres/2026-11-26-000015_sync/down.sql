ALTER TABLE reports DROP COLUMN version;
DROP TABLE sync_ops;
DROP TABLE devices;
