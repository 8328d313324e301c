//! Places, buildings and the geodata metadata.

use crate::db::DbConnection;
use crate::db::schema::{buildings, geodata_meta, places};
use diesel::prelude::*;

/// Rows per INSERT: under SQLite's and PostgreSQL's limits on bound parameters.
const BATCH: usize = 1000;

/// A stored place.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = places)]
pub struct PlaceRow {
    /// The district this place lies in (the city: 110000).
    pub district_code: String,
    /// Its code.
    pub code: String,
    /// city, district, street, community or cell.
    pub level: String,
    /// Its name.
    pub name: String,
    /// Its parent's code.
    pub parent_code: Option<String>,
    /// Geodesic area, km².
    pub area_km2: f64,
    /// Bounding box, WGS-84.
    pub min_lon: f64,
    /// Bounding box, WGS-84.
    pub min_lat: f64,
    /// Bounding box, WGS-84.
    pub max_lon: f64,
    /// Bounding box, WGS-84.
    pub max_lat: f64,
    /// GeoJSON geometry, WGS-84.
    pub geometry: String,
}

/// A stored building.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = buildings)]
pub struct BuildingRow {
    /// The district it lies in.
    pub district_code: String,
    /// Its code.
    pub code: String,
    /// The cell it lies in.
    pub cell_code: String,
    /// Its name.
    pub name: String,
    /// Households.
    pub households: i32,
    /// Longitude, WGS-84.
    pub lon: f64,
    /// Latitude, WGS-84.
    pub lat: f64,
}

#[derive(Insertable)]
#[diesel(table_name = places)]
struct PlaceInsert<'a> {
    district_code: &'a str,
    code: &'a str,
    level: &'a str,
    name: &'a str,
    parent_code: Option<&'a str>,
    area_km2: f64,
    min_lon: f64,
    min_lat: f64,
    max_lon: f64,
    max_lat: f64,
    geometry: &'a str,
}

impl<'a> From<&'a PlaceRow> for PlaceInsert<'a> {
    fn from(p: &'a PlaceRow) -> Self {
        PlaceInsert {
            district_code: &p.district_code,
            code: &p.code,
            level: &p.level,
            name: &p.name,
            parent_code: p.parent_code.as_deref(),
            area_km2: p.area_km2,
            min_lon: p.min_lon,
            min_lat: p.min_lat,
            max_lon: p.max_lon,
            max_lat: p.max_lat,
            geometry: &p.geometry,
        }
    }
}

/// How many places are stored.
pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    places::table.count().get_result(conn)
}

/// One place by code.
pub fn get(conn: &mut DbConnection, code: &str) -> QueryResult<Option<PlaceRow>> {
    let district = code.get(..6).unwrap_or(code);
    places::table
        .filter(
            places::district_code
                .eq(district)
                .or(places::level.eq("city")),
        )
        .filter(places::code.eq(code))
        .select(PlaceRow::as_select())
        .first(conn)
        .optional()
}

/// The direct children of a place, in code order.
pub fn children(conn: &mut DbConnection, code: &str) -> QueryResult<Vec<PlaceRow>> {
    places::table
        .filter(places::parent_code.eq(code))
        .order(places::code.asc())
        .select(PlaceRow::as_select())
        .load(conn)
}

/// How many places of `level` lie under the place `code` (by code prefix).
pub fn count_below(conn: &mut DbConnection, code: &str, level: &str) -> QueryResult<i64> {
    let mut q = places::table.filter(places::level.eq(level)).into_boxed();
    if code != crate::geo::place::CITY_CODE {
        q = q
            .filter(places::district_code.eq(&code[..6]))
            .filter(places::code.like(format!("{code}%")));
    }
    q.count().get_result(conn)
}

/// Every place of the given levels (for building the index).
pub fn all_of_levels(conn: &mut DbConnection, levels: &[&str]) -> QueryResult<Vec<PlaceRow>> {
    places::table
        .filter(places::level.eq_any(levels))
        .order(places::code.asc())
        .select(PlaceRow::as_select())
        .load(conn)
}

/// Code, name, level and parent code.
pub type PlaceName = (String, String, String, Option<String>);

/// Every place's code, name, level and parent, without geometry.
pub fn all_names(conn: &mut DbConnection) -> QueryResult<Vec<PlaceName>> {
    places::table
        .order(places::code.asc())
        .select((
            places::code,
            places::name,
            places::level,
            places::parent_code,
        ))
        .load(conn)
}

/// Inserts places in batches.
pub fn insert(conn: &mut DbConnection, rows: &[PlaceRow]) -> QueryResult<()> {
    for chunk in rows.chunks(BATCH) {
        let batch: Vec<PlaceInsert<'_>> = chunk.iter().map(PlaceInsert::from).collect();
        crate::with_backend!(conn, c => diesel::insert_into(places::table).values(&batch).execute(c))?;
    }
    Ok(())
}

/// Deletes every place of a level.
pub fn delete_level(conn: &mut DbConnection, level: &str) -> QueryResult<usize> {
    diesel::delete(places::table.filter(places::level.eq(level))).execute(conn)
}

/// How many buildings are stored.
pub fn count_buildings(conn: &mut DbConnection) -> QueryResult<i64> {
    buildings::table.count().get_result(conn)
}

/// Every building.
pub fn all_buildings(conn: &mut DbConnection) -> QueryResult<Vec<BuildingRow>> {
    buildings::table
        .order(buildings::code.asc())
        .select(BuildingRow::as_select())
        .load(conn)
}

/// One building by its code.
pub fn building(conn: &mut DbConnection, code: &str) -> QueryResult<Option<BuildingRow>> {
    buildings::table
        .filter(buildings::district_code.eq(code.get(..6).unwrap_or(code)))
        .filter(buildings::code.eq(code))
        .select(BuildingRow::as_select())
        .first(conn)
        .optional()
}

/// The buildings of one cell.
pub fn buildings_in_cell(conn: &mut DbConnection, cell: &str) -> QueryResult<Vec<BuildingRow>> {
    buildings::table
        .filter(buildings::district_code.eq(cell.get(..6).unwrap_or(cell)))
        .filter(buildings::cell_code.eq(cell))
        .order(buildings::code.asc())
        .select(BuildingRow::as_select())
        .load(conn)
}

/// How many buildings lie under a place (by code prefix).
pub fn count_buildings_below(conn: &mut DbConnection, code: &str) -> QueryResult<i64> {
    if code == crate::geo::place::CITY_CODE {
        return count_buildings(conn);
    }
    buildings::table
        .filter(buildings::district_code.eq(&code[..6]))
        .filter(buildings::cell_code.like(format!("{code}%")))
        .count()
        .get_result(conn)
}

/// Inserts buildings in batches.
pub fn insert_buildings(conn: &mut DbConnection, rows: &[BuildingRow]) -> QueryResult<()> {
    for chunk in rows.chunks(BATCH) {
        crate::with_backend!(conn, c => diesel::insert_into(buildings::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// Deletes every building.
pub fn delete_buildings(conn: &mut DbConnection) -> QueryResult<usize> {
    diesel::delete(buildings::table).execute(conn)
}

/// A metadata value.
pub fn meta(conn: &mut DbConnection, key: &str) -> QueryResult<Option<String>> {
    geodata_meta::table
        .filter(geodata_meta::key.eq(key))
        .select(geodata_meta::value)
        .first(conn)
        .optional()
}

/// Sets a metadata value.
pub fn set_meta(conn: &mut DbConnection, key: &str, value: &str) -> QueryResult<()> {
    diesel::delete(geodata_meta::table.filter(geodata_meta::key.eq(key))).execute(conn)?;
    diesel::insert_into(geodata_meta::table)
        .values((geodata_meta::key.eq(key), geodata_meta::value.eq(value)))
        .execute(conn)?;
    Ok(())
}

/// Every metadata entry as one string (`key=value;` in key order): it changes whenever a geodata import does.
pub fn meta_fingerprint(conn: &mut DbConnection) -> QueryResult<String> {
    let rows: Vec<(String, String)> = geodata_meta::table
        .order(geodata_meta::key.asc())
        .select((geodata_meta::key, geodata_meta::value))
        .load(conn)?;
    Ok(rows.iter().map(|(k, v)| format!("{k}={v};")).collect())
}
