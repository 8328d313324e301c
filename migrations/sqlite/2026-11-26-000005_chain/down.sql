DROP TABLE assignments;
DROP TABLE section_places;
DROP TABLE sections;
