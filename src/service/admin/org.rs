//! Units and people: create, read, change, delete, with every rule checked in one place per record. Every write
//! refreshes the in-memory chain index itself once its transaction has committed, whoever calls it.

use crate::db::{Db, DbError};
use crate::domain::ids::{PersonId, UnitId};
use crate::domain::org::{self, PersonRole, UnitKind};
use crate::domain::text::a;
use crate::error::{Details, ErrorKind, InvalidField, ServiceError};
use crate::geo::place::{CITY_CODE, Level, PlaceCode};
use crate::service::chain::index::SharedChainIndex;
use crate::store::org::{self as store, PersonRow, UnitRow};
use crate::store::places;
use crate::store::work as work_store;
use chrono::NaiveDateTime;
use diesel::Connection;

/// The most records one list answers.
pub const MAX_LIST: i64 = 1000;

/// Errors of the organisation use-cases.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OrgError {
    /// A field is missing or malformed.
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// The record refers to a place or unit that does not exist.
    #[error("{0}")]
    UnknownReference(String),
    /// No such record.
    #[error("no {0} has the id {1:?}")]
    NotFound(&'static str, String),
    /// The unit is still referenced: by people, by assignments of the responsibility chain, or by users acting
    /// for it.
    #[error("the unit still has {0}: move or remove them first")]
    InUse(String),
    /// The unit still works on open cases (handles them, co-handles them, or is summoned and has not reported in).
    #[error(
        "the unit still works on {} open case(s) ({}): re-dispatch or close them first",
        .0.len(),
        .0.join(", ")
    )]
    OpenWork(Vec<String>),
    /// The person is named by assignments of the responsibility chain (current or past).
    #[error(
        "the person is named by {0} assignment(s) of the responsibility chain, kept as history: end them and keep \
         the person, or assign someone else"
    )]
    HasAssignments(i64),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::error::from_query_error!(OrgError);

impl ServiceError for OrgError {
    fn kind(&self) -> ErrorKind {
        match self {
            OrgError::Invalid(_) => ErrorKind::Invalid("invalid_field"),
            OrgError::UnknownReference(_) => ErrorKind::Unprocessable("unknown_reference"),
            OrgError::NotFound("unit", _) => ErrorKind::NotFound("unit_not_found"),
            OrgError::NotFound(..) => ErrorKind::NotFound("person_not_found"),
            OrgError::InUse(_) => ErrorKind::Conflict("unit_in_use"),
            OrgError::HasAssignments(_) => ErrorKind::Conflict("person_has_assignments"),
            OrgError::OpenWork(_) => ErrorKind::Conflict("unit_has_open_work"),
            OrgError::Db(_) => ErrorKind::Internal,
        }
    }

    fn details(&self) -> Details {
        match self {
            OrgError::OpenWork(cases) => Details::Cases(cases.clone()),
            _ => Details::None,
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> OrgError {
    OrgError::Invalid(InvalidField::new(field, message))
}

/// Fields of a unit as a client sends them; absent fields keep their value (or are required on create).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct UnitInput {
    /// Kind name.
    pub kind: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// The place it answers for; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    pub place_code: Option<Option<String>>,
    /// Topic codes (departments).
    pub topics: Option<Vec<String>>,
}

/// Fields of a person as a client sends them.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct PersonInput {
    /// Name.
    pub name: Option<String>,
    /// Work phone.
    pub phone: Option<String>,
    /// Unit id.
    pub unit_id: Option<String>,
    /// Role name.
    pub role: Option<String>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    serde::Deserialize::deserialize(d).map(Some)
}

fn check_unit(conn: &mut crate::db::DbConnection, u: &mut UnitRow) -> Result<(), OrgError> {
    let kind = UnitKind::parse(&u.kind).ok_or_else(|| {
        invalid(
            "kind",
            format!(
                "{:?} is not one of {}",
                u.kind,
                UnitKind::ALL.map(UnitKind::as_str).join(", ")
            ),
        )
    })?;
    if !org::valid_name(&u.name) {
        return Err(invalid(
            "name",
            format!("1 to {} characters", org::MAX_NAME_CHARS),
        ));
    }
    u.name = u.name.trim().to_owned();
    match (kind.place_levels(), u.place_code.as_deref()) {
        (Some(_), None) => {
            return Err(invalid(
                "place_code",
                format!("{} answers for a place: give its code", a(kind.as_str())),
            ));
        }
        (_, Some(code)) => {
            let (code, level) = PlaceCode::parse(code)
                .ok_or_else(|| invalid("place_code", format!("{code:?} is not a place code")))?;
            if let Some(levels) = kind.place_levels().filter(|l| !l.contains(&level)) {
                let names: Vec<&str> = levels.iter().map(|l| l.as_str()).collect();
                return Err(invalid(
                    "place_code",
                    format!(
                        "{} answers for a {}, not a {level}",
                        a(kind.as_str()),
                        names.join(" or ")
                    ),
                ));
            }
            if places::get(conn, code.as_str())?.is_none() {
                return Err(OrgError::UnknownReference(format!(
                    "no place has the code {code}"
                )));
            }
            u.district_code = if level == Level::City {
                CITY_CODE.to_owned()
            } else {
                code.district().to_owned()
            };
        }
        (None, None) => u.district_code = CITY_CODE.to_owned(),
    }
    let topics: Vec<String> = serde_json::from_str(&u.topics).unwrap_or_default();
    if topics.len() > org::MAX_TOPICS || topics.iter().any(|t| !org::valid_topic(t)) {
        return Err(invalid(
            "topics",
            format!(
                "at most {} topic codes of 2 or 4 digits (e.g. \"07\", \"0701\")",
                org::MAX_TOPICS
            ),
        ));
    }
    if !topics.is_empty() && !matches!(kind, UnitKind::Department | UnitKind::Enterprise) {
        return Err(invalid(
            "topics",
            "only departments and enterprises answer for topics",
        ));
    }
    Ok(())
}

fn apply_unit(u: &mut UnitRow, input: UnitInput) {
    if let Some(k) = input.kind {
        u.kind = k;
    }
    if let Some(n) = input.name {
        u.name = n;
    }
    if let Some(p) = input.place_code {
        u.place_code = p;
    }
    if let Some(t) = input.topics {
        let mut t = t;
        t.sort();
        t.dedup();
        u.topics = serde_json::to_string(&t).unwrap_or_else(|_| "[]".into());
    }
}

/// Creates a unit (created at `now`) and shows it in the chain index.
pub fn create_unit(
    db: &Db,
    chain: &SharedChainIndex,
    input: UnitInput,
    now: NaiveDateTime,
) -> Result<UnitRow, OrgError> {
    if input.kind.is_none() {
        return Err(invalid("kind", "required"));
    }
    if input.name.is_none() {
        return Err(invalid("name", "required"));
    }
    let t = now;
    let mut u = UnitRow {
        id: UnitId::generate().to_string(),
        kind: String::new(),
        name: String::new(),
        place_code: None,
        district_code: CITY_CODE.to_owned(),
        topics: "[]".into(),
        created_at: t,
        updated_at: t,
    };
    apply_unit(&mut u, input);
    let mut conn = db.writer()?;
    conn.transaction::<_, OrgError, _>(|c| {
        check_unit(c, &mut u)?;
        store::insert_unit(c, &u)?;
        Ok(())
    })?;
    drop(conn);
    chain.refresh_unit(db, &u.id)?;
    Ok(u)
}

/// One unit.
pub fn unit(db: &Db, id: &str) -> Result<UnitRow, OrgError> {
    let id = UnitId::parse(id).ok_or_else(|| OrgError::NotFound("unit", id.to_owned()))?;
    store::unit(&mut *db.reader()?, id.as_str())?
        .ok_or_else(|| OrgError::NotFound("unit", id.to_string()))
}

/// Units, optionally of one kind and/or for one place.
pub fn units(db: &Db, kind: Option<&str>, place: Option<&str>) -> Result<Vec<UnitRow>, OrgError> {
    if let Some(k) = kind.filter(|k| UnitKind::parse(k).is_none()) {
        return Err(invalid("kind", format!("{k:?} is not a unit kind")));
    }
    Ok(store::units(&mut *db.reader()?, kind, place, MAX_LIST)?)
}

/// Changes a unit (updated at `now`) and shows the change in the chain index.
pub fn update_unit(
    db: &Db,
    chain: &SharedChainIndex,
    id: &str,
    input: UnitInput,
    now: NaiveDateTime,
) -> Result<UnitRow, OrgError> {
    let mut u = unit(db, id)?;
    apply_unit(&mut u, input);
    u.updated_at = now;
    let mut conn = db.writer()?;
    conn.transaction::<_, OrgError, _>(|c| {
        check_unit(c, &mut u)?;
        store::update_unit(c, &u)?;
        Ok(())
    })?;
    drop(conn);
    chain.refresh_unit(db, &u.id)?;
    Ok(u)
}

/// The most open cases a refused unit deletion lists.
pub const MAX_OPEN_CASES_LISTED: i64 = 50;

/// Deletes a unit that nothing refers to: no open case, no people, no assignment (current or past) and no user
/// acting for it. Checked in the transaction that deletes, so what the refusal names is what blocked it. The unit
/// leaves the chain index too.
pub fn delete_unit(db: &Db, chain: &SharedChainIndex, id: &str) -> Result<(), OrgError> {
    let u = unit(db, id)?;
    let mut conn = db.writer()?;
    conn.transaction::<_, OrgError, _>(|c| {
        let open = work_store::open_cases_of_unit(c, &u.id, MAX_OPEN_CASES_LISTED)?;
        if !open.is_empty() {
            return Err(OrgError::OpenWork(open));
        }
        let held: Vec<String> = [
            (store::count_people_in(c, &u.id)?, "people"),
            (
                store::count_assignments_of_unit(c, &u.id)?,
                "assignment(s) in the responsibility chain",
            ),
            (store::count_members(c, &u.id)?, "user(s) acting for it"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        if !held.is_empty() {
            return Err(OrgError::InUse(held.join(", ")));
        }
        store::delete_unit(c, &u.id)?;
        Ok(())
    })?;
    drop(conn);
    Ok(chain.refresh_unit(db, &u.id)?)
}

fn check_person(conn: &mut crate::db::DbConnection, p: &mut PersonRow) -> Result<(), OrgError> {
    if !org::valid_name(&p.name) {
        return Err(invalid(
            "name",
            format!("1 to {} characters", org::MAX_NAME_CHARS),
        ));
    }
    p.name = p.name.trim().to_owned();
    if !org::valid_phone(&p.phone) {
        return Err(invalid(
            "phone",
            "a mobile (13812345678) or a landline with area code (010-65123456)",
        ));
    }
    p.phone = p.phone.trim().to_owned();
    if PersonRole::parse(&p.role).is_none() {
        return Err(invalid(
            "role",
            format!(
                "{:?} is not one of {}",
                p.role,
                PersonRole::ALL.map(PersonRole::as_str).join(", ")
            ),
        ));
    }
    let unit = UnitId::parse(&p.unit_id)
        .and_then(|id| store::unit(conn, id.as_str()).transpose())
        .transpose()?
        .ok_or_else(|| OrgError::UnknownReference(format!("no unit has the id {:?}", p.unit_id)))?;
    p.district_code = unit.district_code;
    Ok(())
}

fn apply_person(p: &mut PersonRow, input: PersonInput) {
    if let Some(v) = input.name {
        p.name = v;
    }
    if let Some(v) = input.phone {
        p.phone = v;
    }
    if let Some(v) = input.unit_id {
        p.unit_id = v;
    }
    if let Some(v) = input.role {
        p.role = v;
    }
}

/// Creates a person (created at `now`) and shows them in the chain index.
pub fn create_person(
    db: &Db,
    chain: &SharedChainIndex,
    input: PersonInput,
    now: NaiveDateTime,
) -> Result<PersonRow, OrgError> {
    for (field, present) in [
        ("name", input.name.is_some()),
        ("phone", input.phone.is_some()),
        ("unit_id", input.unit_id.is_some()),
        ("role", input.role.is_some()),
    ] {
        if !present {
            return Err(invalid(field, "required"));
        }
    }
    let t = now;
    let mut p = PersonRow {
        id: PersonId::generate().to_string(),
        name: String::new(),
        phone: String::new(),
        unit_id: String::new(),
        role: String::new(),
        district_code: CITY_CODE.to_owned(),
        created_at: t,
        updated_at: t,
    };
    apply_person(&mut p, input);
    let mut conn = db.writer()?;
    conn.transaction::<_, OrgError, _>(|c| {
        check_person(c, &mut p)?;
        store::insert_person(c, &p)?;
        Ok(())
    })?;
    drop(conn);
    chain.refresh_person(db, &p.id)?;
    Ok(p)
}

/// One person.
pub fn person(db: &Db, id: &str) -> Result<PersonRow, OrgError> {
    let id = PersonId::parse(id).ok_or_else(|| OrgError::NotFound("person", id.to_owned()))?;
    store::person(&mut *db.reader()?, id.as_str())?
        .ok_or_else(|| OrgError::NotFound("person", id.to_string()))
}

/// People, optionally of one unit.
pub fn people(db: &Db, unit_id: Option<&str>) -> Result<Vec<PersonRow>, OrgError> {
    Ok(store::people(&mut *db.reader()?, unit_id, MAX_LIST)?)
}

/// Changes a person (updated at `now`) and shows the change in the chain index.
pub fn update_person(
    db: &Db,
    chain: &SharedChainIndex,
    id: &str,
    input: PersonInput,
    now: NaiveDateTime,
) -> Result<PersonRow, OrgError> {
    let mut p = person(db, id)?;
    apply_person(&mut p, input);
    p.updated_at = now;
    let mut conn = db.writer()?;
    conn.transaction::<_, OrgError, _>(|c| {
        check_person(c, &mut p)?;
        store::update_person(c, &p)?;
        Ok(())
    })?;
    drop(conn);
    chain.refresh_person(db, &p.id)?;
    Ok(p)
}

/// Deletes a person no assignment names (assignments are history: who answered for a place stays answerable); the
/// person leaves the chain index too.
pub fn delete_person(db: &Db, chain: &SharedChainIndex, id: &str) -> Result<(), OrgError> {
    let p = person(db, id)?;
    let mut conn = db.writer()?;
    conn.transaction::<_, OrgError, _>(|c| {
        let n = store::count_assignments_of_person(c, &p.id)?;
        if n > 0 {
            return Err(OrgError::HasAssignments(n));
        }
        store::delete_person(c, &p.id)?;
        Ok(())
    })?;
    drop(conn);
    Ok(chain.refresh_person(db, &p.id)?)
}
