//! The responsibility chain: assigning people and units to places (closing, never overwriting, the previous
//! assignment), sections, and resolving the whole chain of a place at a moment with 属地兜底 fallback. Every write
//! here refreshes the in-memory chain index ([`index::SharedChainIndex`]) itself once its transaction has
//! committed, so no caller (HTTP, command line, sync) can leave the index behind the database.

pub mod index;
pub mod seed;

use crate::db::{Db, DbConnection, DbError};
use crate::domain::chain::{self, Assignee, AssignmentKind, Target};
use crate::domain::ids::{PersonId, UnitId, random_id};
use crate::domain::org::valid_name;
use crate::domain::text::a;
use crate::domain::time::rfc3339;
use crate::error::{ErrorKind, InvalidField, ServiceError};
use crate::geo::index::PlaceIndex;
use crate::geo::place::{Level, PlaceCode};
use crate::service::chain::index::SharedChainIndex;
use crate::store::chain::{self as store, AssignmentRow, SectionRow};
use crate::store::org::{self as org_store, PersonRow, UnitRow};
use crate::store::places;
use chrono::NaiveDateTime;
use diesel::Connection;
use std::sync::Arc;

/// Errors of the chain use-cases.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// A field is missing or malformed.
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// A referenced place, section, person or unit does not exist.
    #[error("{0}")]
    UnknownReference(String),
    /// No such record.
    #[error("{0}")]
    NotFound(String),
    /// The new assignment would overlap one that starts later.
    #[error("{0}")]
    Overlap(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::error::from_query_error!(ChainError);

impl ServiceError for ChainError {
    fn kind(&self) -> ErrorKind {
        match self {
            ChainError::Invalid(_) => ErrorKind::Invalid("invalid_field"),
            ChainError::UnknownReference(_) => ErrorKind::Unprocessable("unknown_reference"),
            ChainError::NotFound(_) => ErrorKind::NotFound("not_found"),
            ChainError::Overlap(_) => ErrorKind::Conflict("overlapping_assignment"),
            ChainError::Db(_) => ErrorKind::Internal,
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> ChainError {
    ChainError::Invalid(InvalidField::new(field, message))
}

/// A request to assign someone.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AssignInput {
    /// Kind name.
    pub kind: String,
    /// A place code, or a section id.
    pub target: String,
    /// The person (person links).
    pub person_id: Option<String>,
    /// The unit (unit links).
    pub unit_id: Option<String>,
    /// From when (default now).
    pub valid_from: Option<NaiveDateTime>,
}

/// The outcome of an assignment: the new one and the one it closed.
#[derive(Debug, Clone)]
pub struct Assigned {
    /// The new assignment.
    pub assignment: AssignmentRow,
    /// The id of the assignment it replaced (closed at the new one's start), if any.
    pub closed: Option<String>,
}

fn check_target(
    conn: &mut DbConnection,
    kind: AssignmentKind,
    target: &str,
) -> Result<String, ChainError> {
    match kind.target() {
        Target::Place(level) => {
            let (code, l) = PlaceCode::parse(target)
                .ok_or_else(|| invalid("target", format!("{target:?} is not a place code")))?;
            if l != level {
                return Err(invalid(
                    "target",
                    format!("{} answers for a {level}, not a {l}", a(kind.as_str())),
                ));
            }
            places::get(conn, code.as_str())?.ok_or_else(|| {
                ChainError::UnknownReference(format!("no place has the code {code}"))
            })?;
            Ok(code.district().to_owned())
        }
        Target::Section => {
            let s = store::section(conn, target)?.ok_or_else(|| {
                ChainError::UnknownReference(format!("no section has the id {target:?}"))
            })?;
            Ok(s.district_code)
        }
    }
}

fn check_assignee(
    conn: &mut DbConnection,
    kind: AssignmentKind,
    input: &AssignInput,
) -> Result<(), ChainError> {
    match kind.assignee() {
        Assignee::Person(role) => {
            if input.unit_id.is_some() {
                return Err(invalid(
                    "unit_id",
                    format!(
                        "{} names a person (person_id), not a unit",
                        a(kind.as_str())
                    ),
                ));
            }
            let id = input
                .person_id
                .as_deref()
                .ok_or_else(|| invalid("person_id", "required"))?;
            let p = PersonId::parse(id)
                .and_then(|id| org_store::person(conn, id.as_str()).transpose())
                .transpose()?
                .ok_or_else(|| {
                    ChainError::UnknownReference(format!("no person has the id {id:?}"))
                })?;
            if p.role != role.as_str() {
                return Err(invalid(
                    "person_id",
                    format!(
                        "{} is {}; {} assignment needs {}",
                        p.name,
                        a(&p.role),
                        a(kind.as_str()),
                        a(role.as_str())
                    ),
                ));
            }
        }
        Assignee::Unit(unit_kind) => {
            if input.person_id.is_some() {
                return Err(invalid(
                    "person_id",
                    format!("{} names a unit (unit_id), not a person", a(kind.as_str())),
                ));
            }
            let id = input
                .unit_id
                .as_deref()
                .ok_or_else(|| invalid("unit_id", "required"))?;
            let u = UnitId::parse(id)
                .and_then(|id| org_store::unit(conn, id.as_str()).transpose())
                .transpose()?
                .ok_or_else(|| {
                    ChainError::UnknownReference(format!("no unit has the id {id:?}"))
                })?;
            if u.kind != unit_kind.as_str()
                || u.place_code.as_deref() != Some(input.target.as_str())
            {
                return Err(invalid(
                    "unit_id",
                    format!(
                        "{} is not the {} of {}",
                        u.name,
                        unit_kind.as_str(),
                        input.target
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Assigns someone from `valid_from` (default `now`), closing whoever was assigned then, and shows it in the chain
/// index. Refused when an assignment of the same kind and target starts at or after that moment (history is not
/// rewritten).
pub fn assign(
    db: &Db,
    chain: &SharedChainIndex,
    input: AssignInput,
    now: NaiveDateTime,
) -> Result<Assigned, ChainError> {
    let mut conn = db.writer()?;
    let done = conn.transaction::<_, ChainError, _>(|c| assign_in(c, &input, now))?;
    drop(conn);
    let a = &done.assignment;
    chain.refresh_assignments(db, &a.kind, &a.target)?;
    Ok(done)
}

/// [`assign`] inside the caller's transaction (the caller refreshes the chain index after its commit).
fn assign_in(
    c: &mut DbConnection,
    input: &AssignInput,
    now: NaiveDateTime,
) -> Result<Assigned, ChainError> {
    let kind = AssignmentKind::parse(&input.kind).ok_or_else(|| {
        invalid(
            "kind",
            format!(
                "{:?} is not one of {}",
                input.kind,
                AssignmentKind::ALL.map(AssignmentKind::as_str).join(", ")
            ),
        )
    })?;
    let from = input.valid_from.unwrap_or(now);
    let district = check_target(c, kind, &input.target)?;
    check_assignee(c, kind, input)?;
    let history = store::history(c, kind.as_str(), &input.target)?;
    if let Some(later) = history.iter().find(|a| a.valid_from >= from) {
        return Err(ChainError::Overlap(format!(
            "assignment {} of this {} starts at {}, not before {from}: end it or assign from a later moment",
            later.id,
            kind.as_str(),
            later.valid_from
        )));
    }
    let current = history
        .iter()
        .find(|a| chain::active_at(a.valid_from, a.valid_to, from));
    if let Some(cur) = current {
        store::end(c, &cur.id, from)?;
    }
    let row = AssignmentRow {
        id: random_id("asg_"),
        kind: kind.as_str().to_owned(),
        target: input.target.clone(),
        district_code: district,
        person_id: input.person_id.clone(),
        unit_id: input.unit_id.clone(),
        valid_from: from,
        valid_to: None,
        created_at: now,
    };
    store::insert_assignments(c, std::slice::from_ref(&row))?;
    Ok(Assigned {
        assignment: row,
        closed: current.map(|a| a.id.clone()),
    })
}

/// The columns of a chain CSV file, in the order `export` writes them; `import` needs `kind`, `target`,
/// `valid_from` and one of `person_id` / `unit_id`, and ignores `id`.
pub const CSV_COLUMNS: [&str; 7] = [
    "id",
    "kind",
    "target",
    "person_id",
    "unit_id",
    "valid_from",
    "valid_to",
];

/// The most lines one import may hold.
pub const MAX_IMPORT_LINES: usize = 200_000;

/// One refused line of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the file (the header is line 1).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn parse_time(s: &str) -> Option<NaiveDateTime> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.naive_utc())
}

/// Applies a chain CSV (`gridline chain import`): every line is an assignment, applied in order as by
/// `POST /api/v1/assignments` (and ended at `valid_to` when given). All or nothing: if any line is malformed or
/// refused, nothing changes and every bad line is reported; otherwise returns how many lines were applied, and the
/// chain index shows them. `now` stamps the new assignments' creation.
pub fn import_csv(
    db: &Db,
    chain: &SharedChainIndex,
    text: &str,
    now: NaiveDateTime,
) -> Result<usize, Result<Vec<LineError>, ChainError>> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| {
            Ok(vec![LineError {
                line: 1,
                message: format!("unreadable header: {e}"),
            }])
        })?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(kind_c), Some(target_c), Some(from_c)) =
        (col("kind"), col("target"), col("valid_from"))
    else {
        return Err(Ok(vec![LineError {
            line: 1,
            message: format!(
                "the header must name kind, target and valid_from (columns: {})",
                CSV_COLUMNS.join(",")
            ),
        }]));
    };
    let (person_c, unit_c, to_c) = (col("person_id"), col("unit_id"), col("valid_to"));
    let mut errors = Vec::new();
    let mut rows: Vec<(usize, AssignInput, Option<NaiveDateTime>)> = Vec::new();
    for (k, rec) in rdr.records().enumerate() {
        let line = k + 2;
        if line > MAX_IMPORT_LINES + 1 {
            errors.push(LineError {
                line,
                message: format!("a file holds at most {MAX_IMPORT_LINES} lines: split it"),
            });
            break;
        }
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(LineError {
                    line,
                    message: format!("malformed line: {e}"),
                });
                continue;
            }
        };
        let field = |c: Option<usize>| {
            c.and_then(|c| rec.get(c))
                .map(str::to_owned)
                .filter(|s| !s.is_empty())
        };
        let Some(valid_from) = field(Some(from_c)).as_deref().and_then(parse_time) else {
            errors.push(LineError {
                line,
                message: "valid_from must be an RFC 3339 time such as 2026-03-03T00:00:00+08:00"
                    .into(),
            });
            continue;
        };
        let valid_to = match field(to_c) {
            None => None,
            Some(t) => match parse_time(&t) {
                Some(t) if t > valid_from => Some(t),
                _ => {
                    errors.push(LineError {
                        line,
                        message: "valid_to must be an RFC 3339 time after valid_from".into(),
                    });
                    continue;
                }
            },
        };
        let input = AssignInput {
            kind: field(Some(kind_c)).unwrap_or_default(),
            target: field(Some(target_c)).unwrap_or_default(),
            person_id: field(person_c),
            unit_id: field(unit_c),
            valid_from: Some(valid_from),
        };
        rows.push((line, input, valid_to));
    }
    let mut conn = db.writer().map_err(|e| Err(e.into()))?;
    let outcome = conn.transaction::<_, diesel::result::Error, _>(|c| {
        for (line, input, valid_to) in &rows {
            let applied = assign_in(c, input, now).and_then(|a| match valid_to {
                Some(t) => store::end(c, &a.assignment.id, *t)
                    .map(|_| ())
                    .map_err(ChainError::from),
                None => Ok(()),
            });
            match applied {
                Ok(()) => {}
                Err(ChainError::Db(e)) => {
                    return Err(diesel::result::Error::QueryBuilderError(Box::new(e)));
                }
                Err(e) => errors.push(LineError {
                    line: *line,
                    message: e.to_string(),
                }),
            }
        }
        if errors.is_empty() {
            Ok(rows.len())
        } else {
            Err(diesel::result::Error::RollbackTransaction)
        }
    });
    drop(conn);
    match outcome {
        Ok(n) => {
            tracing::info!(lines = n, "chain imported");
            let mut links: Vec<(&str, &str)> = rows
                .iter()
                .map(|(_, a, _)| (a.kind.as_str(), a.target.as_str()))
                .collect();
            links.sort_unstable();
            links.dedup();
            for (kind, target) in links {
                chain
                    .refresh_assignments(db, kind, target)
                    .map_err(|e| Err(e.into()))?;
            }
            Ok(n)
        }
        Err(diesel::result::Error::RollbackTransaction) => {
            errors.sort_by_key(|e| e.line);
            Err(Ok(errors))
        }
        Err(e) => Err(Err(ChainError::from(e))),
    }
}

/// Writes every assignment as CSV ([`CSV_COLUMNS`]), by kind, target and start (`gridline chain export`).
pub fn export_csv<W: std::io::Write>(db: &Db, out: W) -> Result<usize, ChainError> {
    let rows = store::all_assignments(&mut *db.reader()?)?;
    let mut w = csv::Writer::from_writer(out);
    let io = |e: csv::Error| ChainError::Invalid(InvalidField::new("output", e.to_string()));
    w.write_record(CSV_COLUMNS).map_err(io)?;
    let t = rfc3339;
    for a in &rows {
        w.write_record([
            a.id.as_str(),
            &a.kind,
            &a.target,
            a.person_id.as_deref().unwrap_or(""),
            a.unit_id.as_deref().unwrap_or(""),
            &t(a.valid_from),
            &a.valid_to.map(t).unwrap_or_default(),
        ])
        .map_err(io)?;
    }
    w.flush()
        .map_err(|e| ChainError::Invalid(InvalidField::new("output", e.to_string())))?;
    Ok(rows.len())
}

/// Ends an assignment at `at` (default `now`); nobody is then assigned until someone new is. The chain index
/// shows the end.
pub fn end_assignment(
    db: &Db,
    chain: &SharedChainIndex,
    id: &str,
    at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Result<AssignmentRow, ChainError> {
    let at = at.unwrap_or(now);
    let mut conn = db.writer()?;
    let ended = conn.transaction::<_, ChainError, _>(|c| {
        let mut a = store::assignment(c, id)?
            .ok_or_else(|| ChainError::NotFound(format!("no assignment has the id {id:?}")))?;
        if at < a.valid_from || a.valid_to.is_some_and(|t| t <= at) {
            return Err(invalid(
                "at",
                format!(
                    "the assignment runs from {} {}",
                    a.valid_from,
                    a.valid_to.map_or("on".to_owned(), |t| format!("until {t}"))
                ),
            ));
        }
        store::end(c, &a.id, at)?;
        a.valid_to = Some(at);
        Ok(a)
    })?;
    drop(conn);
    chain.refresh_assignments(db, &ended.kind, &ended.target)?;
    Ok(ended)
}

/// The history of a kind of assignment for a target.
pub fn history(db: &Db, kind: &str, target: &str) -> Result<Vec<AssignmentRow>, ChainError> {
    let kind = AssignmentKind::parse(kind)
        .ok_or_else(|| invalid("kind", format!("{kind:?} is not an assignment kind")))?;
    Ok(store::history(&mut *db.reader()?, kind.as_str(), target)?)
}

/// A section to create.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SectionInput {
    /// Name.
    pub name: String,
    /// Streets or communities of one district.
    pub places: Vec<String>,
}

/// Creates a section of streets or communities of one district (created at `now`) and shows it in the chain
/// index.
pub fn create_section(
    db: &Db,
    chain: &SharedChainIndex,
    input: SectionInput,
    now: NaiveDateTime,
) -> Result<(SectionRow, Vec<String>), ChainError> {
    if !valid_name(&input.name) {
        return Err(invalid("name", "1 to 100 characters"));
    }
    if input.places.is_empty() || input.places.len() > 500 {
        return Err(invalid("places", "1 to 500 street or community codes"));
    }
    let mut conn = db.writer()?;
    let section = conn.transaction::<_, ChainError, _>(|c| {
        let mut codes: Vec<String> = Vec::new();
        for p in &input.places {
            match PlaceCode::parse(p) {
                Some((code, Level::Street | Level::Community)) => {
                    places::get(c, code.as_str())?.ok_or_else(|| {
                        ChainError::UnknownReference(format!("no place has the code {code}"))
                    })?;
                    codes.push(code.as_str().to_owned());
                }
                _ => {
                    return Err(invalid(
                        "places",
                        format!("{p:?} is not a street or community code"),
                    ));
                }
            }
        }
        codes.sort();
        codes.dedup();
        let district = codes[0][..6].to_owned();
        if codes.iter().any(|c| c[..6] != district) {
            return Err(invalid("places", "a section lies in one district"));
        }
        let row = SectionRow {
            id: random_id("sec_"),
            name: input.name.trim().to_owned(),
            district_code: district,
            created_at: now,
        };
        let pairs: Vec<(String, String)> =
            codes.iter().map(|p| (row.id.clone(), p.clone())).collect();
        store::insert_sections(c, std::slice::from_ref(&row), &pairs)?;
        Ok((row, codes))
    })?;
    drop(conn);
    chain.refresh_section(db, &section.0.id)?;
    Ok(section)
}

/// Sections (with their places), optionally those holding a place.
pub fn sections(
    db: &Db,
    place: Option<&str>,
) -> Result<Vec<(SectionRow, Vec<String>)>, ChainError> {
    let mut conn = db.reader()?;
    let rows = store::sections(&mut conn, place, 1000)?;
    rows.into_iter()
        .map(|s| {
            let places = store::section_place_codes(&mut conn, &s.id)?;
            Ok((s, places))
        })
        .collect()
}

/// One resolved link of a chain.
#[derive(Debug, Clone)]
pub struct Link {
    /// The kind.
    pub kind: AssignmentKind,
    /// What it answers for (place code or section id).
    pub target: Option<String>,
    /// The assignment that answers (its own, or the one above when `fallback`); shared with the chain index.
    pub assignment: Option<Arc<AssignmentRow>>,
    /// The person named.
    pub person: Option<Arc<PersonRow>>,
    /// The unit named (or the person's unit).
    pub unit: Option<Arc<UnitRow>>,
    /// Whether a level above answers because nobody is assigned here.
    pub fallback: bool,
}

/// The chain of a place at a moment.
#[derive(Debug, Clone)]
pub struct Chain {
    /// The moment.
    pub at: NaiveDateTime,
    /// The place's code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its level.
    pub level: Level,
    /// Top-down.
    pub links: Vec<Link>,
}

/// The chain of a place at `at` (default `now`), resolved in memory from the place index and the chain index;
/// `Invalid` for a malformed code, `NotFound` for an unknown place.
pub fn chain_of(
    places: &PlaceIndex,
    chains: &SharedChainIndex,
    code: &str,
    at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Result<Chain, ChainError> {
    let at = at.unwrap_or(now);
    let (code, _) = PlaceCode::parse(code)
        .ok_or_else(|| invalid("code", format!("{code:?} is not a place code")))?;
    chains
        .chain_at(places, code.as_str(), at)
        .ok_or_else(|| ChainError::NotFound(format!("no place has the code {code}")))
}
