ALTER TABLE photos DROP COLUMN exif_unreadable;
