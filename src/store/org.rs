//! Units and people.

use crate::db::DbConnection;
use crate::db::schema::{people, units};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A stored unit.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = units)]
pub struct UnitRow {
    /// Id.
    pub id: String,
    /// Kind name.
    pub kind: String,
    /// Name.
    pub name: String,
    /// The place it answers for.
    pub place_code: Option<String>,
    /// Its district (110000 for city-wide units).
    pub district_code: String,
    /// JSON array of topic codes.
    pub topics: String,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// A stored person.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = people)]
pub struct PersonRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Work phone.
    pub phone: String,
    /// Their unit.
    pub unit_id: String,
    /// Role name.
    pub role: String,
    /// The unit's district.
    pub district_code: String,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
}

/// Inserts a unit.
pub fn insert_unit(conn: &mut DbConnection, u: &UnitRow) -> QueryResult<()> {
    diesel::insert_into(units::table)
        .values(u.clone())
        .execute(conn)
        .map(|_| ())
}

/// One unit.
pub fn unit(conn: &mut DbConnection, id: &str) -> QueryResult<Option<UnitRow>> {
    units::table
        .find(id)
        .select(UnitRow::as_select())
        .first(conn)
        .optional()
}

/// Every unit.
pub fn all_units(conn: &mut DbConnection) -> QueryResult<Vec<UnitRow>> {
    units::table.select(UnitRow::as_select()).load(conn)
}

/// Units, optionally of one kind and/or for one place, by name then id.
pub fn units(
    conn: &mut DbConnection,
    kind: Option<&str>,
    place: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<UnitRow>> {
    let mut q = units::table.into_boxed();
    if let Some(k) = kind {
        q = q.filter(units::kind.eq(k.to_owned()));
    }
    if let Some(p) = place {
        q = q.filter(units::place_code.eq(p.to_owned()));
    }
    q.order((units::name.asc(), units::id.asc()))
        .limit(limit)
        .select(UnitRow::as_select())
        .load(conn)
}

/// Replaces a unit's fields.
pub fn update_unit(conn: &mut DbConnection, u: &UnitRow) -> QueryResult<usize> {
    diesel::update(units::table.find(&u.id))
        .set(u.clone())
        .execute(conn)
}

/// Deletes a unit.
pub fn delete_unit(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(units::table.find(id)).execute(conn)
}

/// How many people a unit has.
pub fn count_people_in(conn: &mut DbConnection, unit_id: &str) -> QueryResult<i64> {
    people::table
        .filter(people::unit_id.eq(unit_id))
        .count()
        .get_result(conn)
}

/// Inserts a person.
pub fn insert_person(conn: &mut DbConnection, p: &PersonRow) -> QueryResult<()> {
    diesel::insert_into(people::table)
        .values(p.clone())
        .execute(conn)
        .map(|_| ())
}

/// One person.
pub fn person(conn: &mut DbConnection, id: &str) -> QueryResult<Option<PersonRow>> {
    people::table
        .find(id)
        .select(PersonRow::as_select())
        .first(conn)
        .optional()
}

/// Every person.
pub fn all_people(conn: &mut DbConnection) -> QueryResult<Vec<PersonRow>> {
    people::table.select(PersonRow::as_select()).load(conn)
}

/// People, optionally of one unit, by name then id.
pub fn people(
    conn: &mut DbConnection,
    unit_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<PersonRow>> {
    let mut q = people::table.into_boxed();
    if let Some(u) = unit_id {
        q = q.filter(people::unit_id.eq(u.to_owned()));
    }
    q.order((people::name.asc(), people::id.asc()))
        .limit(limit)
        .select(PersonRow::as_select())
        .load(conn)
}

/// Replaces a person's fields.
pub fn update_person(conn: &mut DbConnection, p: &PersonRow) -> QueryResult<usize> {
    diesel::update(people::table.find(&p.id))
        .set(p.clone())
        .execute(conn)
}

/// Deletes a person.
pub fn delete_person(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(people::table.find(id)).execute(conn)
}

/// Inserts many units.
pub fn insert_units(conn: &mut DbConnection, rows: &[UnitRow]) -> QueryResult<()> {
    for chunk in rows.chunks(1000) {
        crate::with_backend!(conn, c => diesel::insert_into(units::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// Inserts many people.
pub fn insert_people(conn: &mut DbConnection, rows: &[PersonRow]) -> QueryResult<()> {
    for chunk in rows.chunks(1000) {
        crate::with_backend!(conn, c => diesel::insert_into(people::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// The units of a kind in a district.
pub fn units_in_district(
    conn: &mut DbConnection,
    kind: &str,
    district: &str,
) -> QueryResult<Vec<UnitRow>> {
    units::table
        .filter(units::kind.eq(kind))
        .filter(units::district_code.eq(district))
        .order(units::id.asc())
        .select(UnitRow::as_select())
        .load(conn)
}

/// How many assignments of the responsibility chain (current or past) name a person.
pub fn count_assignments_of_person(conn: &mut DbConnection, person_id: &str) -> QueryResult<i64> {
    use crate::db::schema::assignments;
    assignments::table
        .filter(assignments::person_id.eq(person_id))
        .count()
        .get_result(conn)
}

/// How many assignments of the responsibility chain (current or past) name a unit.
pub fn count_assignments_of_unit(conn: &mut DbConnection, unit_id: &str) -> QueryResult<i64> {
    use crate::db::schema::assignments;
    assignments::table
        .filter(assignments::unit_id.eq(unit_id))
        .count()
        .get_result(conn)
}

/// How many users act for a unit (`user_units`).
pub fn count_members(conn: &mut DbConnection, unit_id: &str) -> QueryResult<i64> {
    use crate::db::schema::user_units;
    user_units::table
        .filter(user_units::unit_id.eq(unit_id))
        .count()
        .get_result(conn)
}
