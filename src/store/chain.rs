//! Sections and assignments.

use crate::db::DbConnection;
use crate::db::schema::{assignments, section_places, sections};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A stored section.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sections)]
pub struct SectionRow {
    /// Id.
    pub id: String,
    /// Name (e.g. 第一片区).
    pub name: String,
    /// Its district.
    pub district_code: String,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
}

/// A stored assignment.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = assignments)]
pub struct AssignmentRow {
    /// Id.
    pub id: String,
    /// Kind name.
    pub kind: String,
    /// A place code, or a section id.
    pub target: String,
    /// The target's district.
    pub district_code: String,
    /// The person, for person links.
    pub person_id: Option<String>,
    /// The unit, for unit links.
    pub unit_id: Option<String>,
    /// From (UTC, inclusive).
    pub valid_from: NaiveDateTime,
    /// Until (UTC, exclusive); `None` while it lasts.
    pub valid_to: Option<NaiveDateTime>,
    /// Recorded (UTC).
    pub created_at: NaiveDateTime,
}

/// Rows per INSERT.
const BATCH: usize = 1000;

/// Inserts sections and their places.
pub fn insert_sections(
    conn: &mut DbConnection,
    rows: &[SectionRow],
    places: &[(String, String)],
) -> QueryResult<()> {
    for chunk in rows.chunks(BATCH) {
        crate::with_backend!(conn, c => diesel::insert_into(sections::table).values(chunk).execute(c))?;
    }
    for chunk in places.chunks(BATCH) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(s, p)| {
                (
                    section_places::section_id.eq(s),
                    section_places::place_code.eq(p),
                )
            })
            .collect();
        crate::with_backend!(conn, c => diesel::insert_into(section_places::table).values(&values).execute(c))?;
    }
    Ok(())
}

/// One section.
pub fn section(conn: &mut DbConnection, id: &str) -> QueryResult<Option<SectionRow>> {
    sections::table
        .find(id)
        .select(SectionRow::as_select())
        .first(conn)
        .optional()
}

/// The places of a section.
pub fn section_place_codes(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<String>> {
    section_places::table
        .filter(section_places::section_id.eq(id))
        .order(section_places::place_code.asc())
        .select(section_places::place_code)
        .load(conn)
}

/// Every (section id, place code) pair.
pub fn all_section_places(conn: &mut DbConnection) -> QueryResult<Vec<(String, String)>> {
    section_places::table
        .order((
            section_places::section_id.asc(),
            section_places::place_code.asc(),
        ))
        .select((section_places::section_id, section_places::place_code))
        .load(conn)
}

/// Sections, optionally those holding a place.
pub fn sections(
    conn: &mut DbConnection,
    place: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<SectionRow>> {
    let mut q = sections::table.into_boxed();
    if let Some(p) = place {
        let ids = section_places::table
            .filter(section_places::place_code.eq(p.to_owned()))
            .select(section_places::section_id);
        q = q.filter(sections::id.eq_any(ids));
    }
    q.order((sections::name.asc(), sections::id.asc()))
        .limit(limit)
        .select(SectionRow::as_select())
        .load(conn)
}

/// Inserts assignments.
pub fn insert_assignments(conn: &mut DbConnection, rows: &[AssignmentRow]) -> QueryResult<()> {
    for chunk in rows.chunks(BATCH) {
        crate::with_backend!(conn, c => diesel::insert_into(assignments::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// One assignment.
pub fn assignment(conn: &mut DbConnection, id: &str) -> QueryResult<Option<AssignmentRow>> {
    assignments::table
        .find(id)
        .select(AssignmentRow::as_select())
        .first(conn)
        .optional()
}

/// Every assignment of a kind for a target, oldest first (its history).
pub fn history(
    conn: &mut DbConnection,
    kind: &str,
    target: &str,
) -> QueryResult<Vec<AssignmentRow>> {
    assignments::table
        .filter(assignments::kind.eq(kind))
        .filter(assignments::target.eq(target))
        .order((assignments::valid_from.asc(), assignments::id.asc()))
        .select(AssignmentRow::as_select())
        .load(conn)
}

/// Ends an assignment at `at`.
pub fn end(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(assignments::table.find(id))
        .set(assignments::valid_to.eq(Some(at)))
        .execute(conn)
}

/// Every assignment, by kind, target and start.
pub fn all_assignments(conn: &mut DbConnection) -> QueryResult<Vec<AssignmentRow>> {
    assignments::table
        .order((
            assignments::kind.asc(),
            assignments::target.asc(),
            assignments::valid_from.asc(),
            assignments::id.asc(),
        ))
        .select(AssignmentRow::as_select())
        .load(conn)
}
