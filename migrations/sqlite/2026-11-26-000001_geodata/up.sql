-- Places of the hierarchy and buildings. Geometry is GeoJSON text in WGS-84 (EPSG:4326).
-- district_code is on every large table for distribution by district (Citus) and scoped queries.
CREATE TABLE places (
    district_code TEXT NOT NULL,
    code TEXT NOT NULL,
    level TEXT NOT NULL,
    name TEXT NOT NULL,
    parent_code TEXT,
    area_km2 DOUBLE NOT NULL,
    min_lon DOUBLE NOT NULL,
    min_lat DOUBLE NOT NULL,
    max_lon DOUBLE NOT NULL,
    max_lat DOUBLE NOT NULL,
    geometry TEXT NOT NULL,
    PRIMARY KEY (district_code, code)
);
CREATE INDEX places_code ON places (code);
CREATE INDEX places_parent ON places (parent_code);
CREATE INDEX places_level ON places (level);

CREATE TABLE buildings (
    district_code TEXT NOT NULL,
    code TEXT NOT NULL,
    cell_code TEXT NOT NULL,
    name TEXT NOT NULL,
    households INTEGER NOT NULL,
    lon DOUBLE NOT NULL,
    lat DOUBLE NOT NULL,
    PRIMARY KEY (district_code, code)
);
CREATE INDEX buildings_cell ON buildings (cell_code);

CREATE TABLE geodata_meta (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
