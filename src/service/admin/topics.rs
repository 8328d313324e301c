//! The topic taxonomy and intake policy: loaded from the built-in data on first start, replaced from a CSV file
//! (all or nothing), read by intake and by `GET /api/v1/topics`.

use crate::db::{Db, DbConnection, DbError};
use crate::domain::merge::IntakePolicy;
use crate::domain::topic::{
    self, GridClass, LineError, MergeRule, Season, TimeClass, Topic, TopicCode,
};
use crate::error::{ErrorKind, ServiceError};
use crate::store::topics::{self as store, TopicRow};
use diesel::Connection;

/// Errors of the taxonomy use-cases.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TopicError {
    /// The file has bad lines; nothing was changed.
    #[error("the taxonomy file has {} bad line(s); nothing was changed", .0.len())]
    Invalid(Vec<LineError>),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::error::from_query_error!(TopicError);

impl ServiceError for TopicError {
    fn kind(&self) -> ErrorKind {
        match self {
            TopicError::Invalid(_) => ErrorKind::Invalid("invalid_taxonomy"),
            TopicError::Db(_) => ErrorKind::Internal,
        }
    }
}

fn to_row(t: &Topic) -> TopicRow {
    TopicRow {
        code: t.code.to_string(),
        parent_code: t.parent.as_ref().map(ToString::to_string),
        name_zh: t.name_zh.clone(),
        name_en: t.name_en.clone(),
        time_class: t.time_class.as_str().to_owned(),
        grid_class: t.grid_class.as_str().to_owned(),
        department: t.department.clone(),
        merge_radius_m: i32::try_from(t.merge.radius_m).unwrap_or(i32::MAX),
        merge_window_hours: i32::try_from(t.merge.window_hours).unwrap_or(i32::MAX),
        merge_same_building: t.merge.same_building,
        active: true,
        season: t.season.map(|s| s.to_string()),
    }
}

/// A stored topic as the domain sees it (`None` if the stored row is not valid any more).
pub fn from_row(r: &TopicRow) -> Option<Topic> {
    Some(Topic {
        code: TopicCode::parse(&r.code)?,
        parent: r.parent_code.as_deref().and_then(TopicCode::parse),
        name_zh: r.name_zh.clone(),
        name_en: r.name_en.clone(),
        time_class: TimeClass::parse(&r.time_class)?,
        grid_class: GridClass::parse(&r.grid_class)?,
        department: r.department.clone(),
        merge: MergeRule {
            radius_m: u32::try_from(r.merge_radius_m).ok()?,
            window_hours: u32::try_from(r.merge_window_hours).ok()?,
            same_building: r.merge_same_building,
        },
        season: match &r.season {
            Some(s) => Some(Season::parse(s)?),
            None => None,
        },
    })
}

/// Loads the built-in taxonomy when none is stored; true when it did.
pub fn ensure_loaded(db: &Db) -> Result<bool, TopicError> {
    let mut conn = db.writer()?;
    if store::count(&mut conn)? > 0 {
        return Ok(false);
    }
    let topics = topic::parse_csv(topic::DEFAULT_CSV).map_err(TopicError::Invalid)?;
    let rows: Vec<TopicRow> = topics.iter().map(to_row).collect();
    conn.transaction(|c| store::replace(c, &rows))?;
    Ok(true)
}

/// Replaces the taxonomy from a CSV file; topics missing from the file stay (old cases name them) but are inactive.
pub fn import_csv(db: &Db, text: &str) -> Result<usize, TopicError> {
    let topics = topic::parse_csv(text).map_err(TopicError::Invalid)?;
    let rows: Vec<TopicRow> = topics.iter().map(to_row).collect();
    db.writer()?.transaction(|c| store::replace(c, &rows))?;
    Ok(rows.len())
}

/// Every topic (inactive ones too, flagged), in code order.
pub fn list(db: &Db) -> Result<Vec<TopicRow>, TopicError> {
    Ok(store::all(&mut *db.reader()?)?)
}

/// The active taxonomy as a CSV file.
pub fn export_csv(db: &Db) -> Result<String, TopicError> {
    let topics: Vec<Topic> = list(db)?
        .iter()
        .filter(|r| r.active)
        .filter_map(from_row)
        .collect();
    Ok(topic::to_csv(&topics))
}

/// The intake policy: stored values over the defaults.
pub fn intake_policy(conn: &mut DbConnection) -> diesel::QueryResult<IntakePolicy> {
    let mut p = IntakePolicy::default();
    for (key, value) in store::policy_values(conn)? {
        if let Err(e) = p.apply(&key, &value) {
            tracing::warn!(error = %e, "ignoring an intake policy value");
        }
    }
    Ok(p)
}
