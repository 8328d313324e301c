DROP INDEX photo_uploads_device;
DROP INDEX photo_uploads_created_by;
ALTER TABLE photo_uploads DROP COLUMN device_id;
DROP TABLE photo_uses;
DROP TABLE photo_holders;
