-- A photo whose EXIF segment is there but cannot be read at all (a doubtful-evidence flag: its position and time
-- cannot be compared with the report's). Photos stored before this column are taken as read.
ALTER TABLE photos ADD COLUMN exif_unreadable BOOLEAN NOT NULL DEFAULT 0;
