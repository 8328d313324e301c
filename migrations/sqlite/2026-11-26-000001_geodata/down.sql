DROP TABLE geodata_meta;
DROP TABLE buildings;
DROP TABLE places;
