DROP TABLE photo_uploads;
DROP TABLE photos;
