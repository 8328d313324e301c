//! Loading the place layers into the database and from it into the in-memory index; importing user layers.

use crate::db::{Db, DbConnection, DbError};
use crate::geo::index::PlaceIndex;
use crate::geo::layers::{self, LayerError, RawFeature};
use crate::geo::place::{Building, Level, Place, PlaceCode};
use crate::geo::validate::{self, CheckContext, Problem};
use crate::geo::{building_check, dataset};
use crate::store::places::{self as store, BuildingRow, PlaceRow};
use chrono::NaiveDateTime;
use diesel::Connection;
use geo::{BoundingRect, GeodesicArea};

/// Errors of loading geodata.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GeodataError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A layer could not be read.
    #[error(transparent)]
    Layer(#[from] LayerError),
    /// The check could not run to the end.
    #[error("{0}")]
    CheckFailed(String),
    /// Stored geometry could not be parsed (the database was edited by hand?).
    #[error("stored geometry of {code} is unreadable: {reason}")]
    StoredGeometry {
        /// The place.
        code: String,
        /// Why.
        reason: String,
    },
}

crate::error::from_query_error!(GeodataError);

/// Converts a place into its row (area and bounding box computed here).
pub fn place_row(p: &Place) -> PlaceRow {
    let rect = p.geometry.bounding_rect();
    let (min, max) = rect.map(|r| (r.min(), r.max())).unwrap_or_default();
    PlaceRow {
        district_code: p.code.district().to_owned(),
        code: p.code.as_str().to_owned(),
        level: p.level.as_str().to_owned(),
        name: p.name.clone(),
        parent_code: p.parent.as_ref().map(|c| c.as_str().to_owned()),
        area_km2: p.geometry.geodesic_area_unsigned() / 1e6,
        min_lon: min.x,
        min_lat: min.y,
        max_lon: max.x,
        max_lat: max.y,
        geometry: layers::multipolygon_to_json(&p.geometry),
    }
}

fn building_row(b: &Building) -> BuildingRow {
    BuildingRow {
        district_code: b.cell.district().to_owned(),
        code: b.code.clone(),
        cell_code: b.cell.as_str().to_owned(),
        name: b.name.clone(),
        households: i32::try_from(b.households).unwrap_or(i32::MAX),
        lon: b.lon,
        lat: b.lat,
    }
}

/// Loads the embedded Beijing dataset, with its generated responsibility chain, when the database holds no places
/// yet; returns whether it loaded.
pub fn ensure_loaded(db: &Db) -> Result<bool, GeodataError> {
    let mut conn = db.writer()?;
    if store::count(&mut conn)? > 0 {
        return Ok(false);
    }
    let started = std::time::Instant::now();
    let all = dataset::places()?;
    let places: Vec<PlaceRow> = all.iter().map(place_row).collect();
    let buildings: Vec<BuildingRow> = dataset::buildings()?.iter().map(building_row).collect();
    let seed = crate::service::chain::seed::generate(&all);
    conn.transaction::<_, GeodataError, _>(|c| {
        store::insert(c, &places)?;
        store::insert_buildings(c, &buildings)?;
        crate::store::org::insert_units(c, &seed.units)?;
        crate::store::org::insert_people(c, &seed.people)?;
        crate::store::chain::insert_sections(c, &seed.sections, &seed.section_places)?;
        crate::store::chain::insert_assignments(c, &seed.assignments)?;
        store::set_meta(c, "dataset", dataset::NAME)?;
        Ok(())
    })?;
    tracing::info!(
        places = places.len(),
        buildings = buildings.len(),
        people = seed.people.len(),
        assignments = seed.assignments.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "loaded the default Beijing dataset"
    );
    Ok(true)
}

/// Reads every place and building from the database and builds the index.
pub fn load_index(db: &Db) -> Result<PlaceIndex, GeodataError> {
    let mut conn = db.reader()?;
    read_index(&mut conn)
}

fn read_index(conn: &mut DbConnection) -> Result<PlaceIndex, GeodataError> {
    let mut places = Vec::new();
    for (code, name, level, parent) in store::all_names(conn)? {
        let (Some((code, _)), Some(level)) = (PlaceCode::parse(&code), Level::parse(&level)) else {
            continue;
        };
        places.push(Place {
            code,
            name,
            level,
            parent: parent.as_deref().and_then(PlaceCode::parse).map(|p| p.0),
            geometry: geo::MultiPolygon::new(Vec::new()),
        });
    }
    // Only cells need geometry in the index.
    let cells = store::all_of_levels(conn, &[Level::Cell.as_str()])?;
    let mut geometry = std::collections::HashMap::with_capacity(cells.len());
    for row in cells {
        let g = layers::multipolygon_from_json(&row.geometry).map_err(|reason| {
            GeodataError::StoredGeometry {
                code: row.code.clone(),
                reason,
            }
        })?;
        geometry.insert(row.code, g);
    }
    for p in places.iter_mut().filter(|p| p.level == Level::Cell) {
        if let Some(g) = geometry.remove(p.code.as_str()) {
            p.geometry = g;
        }
    }
    let buildings: Vec<Building> = store::all_buildings(conn)?
        .into_iter()
        .filter_map(|b| {
            Some(Building {
                cell: PlaceCode::parse(&b.cell_code)?.0,
                code: b.code,
                name: b.name,
                households: u32::try_from(b.households).unwrap_or(0),
                lon: b.lon,
                lat: b.lat,
            })
        })
        .collect();
    Ok(PlaceIndex::new(&places, &buildings))
}

/// Why an import did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file has problems; nothing was changed.
    #[error("the file has {} problem(s); nothing was changed", .0.len())]
    Refused(Vec<Problem>),
    /// Loading or storing failed; nothing was changed.
    #[error(transparent)]
    Geodata(#[from] GeodataError),
}

impl From<diesel::result::Error> for ImportError {
    fn from(e: diesel::result::Error) -> Self {
        ImportError::Geodata(e.into())
    }
}

impl From<DbError> for ImportError {
    fn from(e: DbError) -> Self {
        ImportError::Geodata(e.into())
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// The level replaced.
    pub level: Level,
    /// Places of that level before.
    pub removed: usize,
    /// Places of that level now.
    pub inserted: usize,
    /// Places of lower levels removed because they no longer nest (only with `drop_below`).
    pub dropped_below: usize,
    /// Buildings removed with the cells (only with `drop_below`).
    pub dropped_buildings: usize,
}

fn places_of_level(conn: &mut DbConnection, level: Level) -> Result<Vec<Place>, GeodataError> {
    store::all_of_levels(conn, &[level.as_str()])?
        .into_iter()
        .map(|row| {
            let geometry = layers::multipolygon_from_json(&row.geometry).map_err(|reason| {
                GeodataError::StoredGeometry {
                    code: row.code.clone(),
                    reason,
                }
            })?;
            let code = PlaceCode::parse(&row.code)
                .ok_or_else(|| GeodataError::StoredGeometry {
                    code: row.code.clone(),
                    reason: "malformed code".into(),
                })?
                .0;
            Ok(Place {
                parent: code.parent(),
                code,
                name: row.name,
                level,
                geometry,
            })
        })
        .collect()
}

/// The level all features share by the length of their codes, if they share one.
fn common_level(features: &[RawFeature]) -> Option<Level> {
    let mut levels = features
        .iter()
        .filter_map(|f| f.code.as_deref().and_then(PlaceCode::parse).map(|(_, l)| l));
    let first = levels.next()?;
    levels.all(|l| l == first).then_some(first)
}

/// Checks a boundary file (`geodata check`): against the places of the level above in `db` when given.
pub fn check_file(
    db: Option<&Db>,
    bytes: &[u8],
    level: Option<Level>,
) -> Result<(Vec<Place>, Vec<Problem>), GeodataError> {
    check_file_within(db, bytes, level, CHECK_DEADLINE)
}

/// [`check_file`] with a deadline of the caller's choosing.
pub fn check_file_within(
    db: Option<&Db>,
    bytes: &[u8],
    level: Option<Level>,
    deadline: std::time::Duration,
) -> Result<(Vec<Place>, Vec<Problem>), GeodataError> {
    let features = layers::parse_features(&layers::decode_bytes(bytes)?)?;
    let parent_level = level
        .or_else(|| common_level(&features))
        .and_then(Level::parent);
    let parents = match (db, parent_level) {
        (Some(db), Some(pl)) => Some(places_of_level(&mut *db.reader()?, pl)?),
        _ => None,
    };
    check_with_deadline(features, level, parents, deadline)
}

/// How long one check may run before it is abandoned (the polygon union behind the gap and nesting checks has
/// been seen to spin on some large inputs; a check must end with an answer, not hang).
pub const CHECK_DEADLINE: std::time::Duration = std::time::Duration::from_secs(300);

/// Runs [`validate::check`] on its own thread and gives up after [`CHECK_DEADLINE`] (the thread is left to
/// finish or die with the process; it holds no lock and writes nothing).
fn check_with_deadline(
    features: Vec<RawFeature>,
    level: Option<Level>,
    parents: Option<Vec<Place>>,
    deadline: std::time::Duration,
) -> Result<(Vec<Place>, Vec<Problem>), GeodataError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("geodata-check".into())
        .spawn(move || {
            let result = validate::check(
                &features,
                &CheckContext {
                    level,
                    parents: parents.as_deref(),
                },
            );
            let _ = tx.send(result);
        })
        .map_err(|e| GeodataError::CheckFailed(format!("cannot start the check: {e}")))?;
    rx.recv_timeout(deadline).map_err(|_| {
        GeodataError::CheckFailed(format!(
            "the check did not finish within {:.1} s; split the file or simplify its geometry",
            deadline.as_secs_f64()
        ))
    })
}

fn as_features(places: &[Place]) -> Vec<RawFeature> {
    places
        .iter()
        .enumerate()
        .map(|(index, p)| RawFeature {
            index,
            code: Some(p.code.as_str().to_owned()),
            name: Some(p.name.clone()),
            parent: None,
            geometry: Ok(p.geometry.clone()),
        })
        .collect()
}

/// Replaces one level with the places of a checked file, in one transaction (`geodata import`).
///
/// Refused, changing nothing, when the file has any problem, or when the places already stored one level down
/// would no longer nest in the new ones — unless `drop_below`, which removes every lower level (and the buildings
/// with the cells) so they can be imported next, top-down. The import is stamped `now`.
pub fn import(
    db: &Db,
    bytes: &[u8],
    level: Level,
    drop_below: bool,
    now: NaiveDateTime,
) -> Result<ImportReport, ImportError> {
    if level == Level::City {
        return Err(ImportError::Refused(vec![Problem {
            feature: "file".into(),
            kind: "wrong_level",
            message: "the city outline is the union of its districts: import districts instead"
                .into(),
        }]));
    }
    let (places, problems) = check_file(Some(db), bytes, Some(level))?;
    if !problems.is_empty() {
        return Err(ImportError::Refused(problems));
    }
    if let (Some(child), false) = (level.child(), drop_below) {
        let children = places_of_level(&mut *db.reader()?, child)?;
        if !children.is_empty() {
            let (_, problems) = check_with_deadline(
                as_features(&children),
                Some(child),
                Some(places.clone()),
                CHECK_DEADLINE,
            )?;
            let nesting: Vec<Problem> = problems
                .into_iter()
                .filter(|p| matches!(p.kind, "parent_missing" | "not_within_parent" | "parent_not_covered"))
                .map(|mut p| {
                    p.message = format!("the stored {child} layer would no longer nest: {} (pass --drop-below to remove the lower levels and import them next)", p.message);
                    p
                })
                .collect();
            if !nesting.is_empty() {
                return Err(ImportError::Refused(nesting));
            }
        }
    }
    let rows: Vec<PlaceRow> = places.iter().map(place_row).collect();
    let mut conn = db.writer()?;
    let report = conn.transaction::<_, ImportError, _>(|c| {
        let removed = store::delete_level(c, level.as_str())?;
        let mut dropped_below = 0;
        let mut dropped_buildings = 0;
        if drop_below {
            let mut l = level.child();
            while let Some(lv) = l {
                dropped_below += store::delete_level(c, lv.as_str())?;
                l = lv.child();
            }
            dropped_buildings = store::delete_buildings(c)?;
        }
        store::insert(c, &rows)?;
        store::set_meta(c, "dataset", "imported")?;
        store::set_meta(c, &format!("imported:{level}"), &now.and_utc().to_rfc3339())?;
        Ok(ImportReport {
            level,
            removed,
            inserted: rows.len(),
            dropped_below,
            dropped_buildings,
        })
    })?;
    tracing::info!(level = %level, removed = report.removed, inserted = report.inserted, dropped_below = report.dropped_below, "geodata imported");
    Ok(report)
}

/// Checks a building layer against the stored cells.
pub fn check_buildings_file(
    db: &Db,
    bytes: &[u8],
) -> Result<(Vec<Building>, Vec<Problem>), GeodataError> {
    let cells = places_of_level(&mut *db.reader()?, Level::Cell)?;
    Ok(building_check::check(&layers::decode_bytes(bytes)?, &cells))
}

/// Replaces every building with those of a checked file, in one transaction stamped `now`; returns (removed,
/// inserted).
pub fn import_buildings(
    db: &Db,
    bytes: &[u8],
    now: NaiveDateTime,
) -> Result<(usize, usize), ImportError> {
    let (buildings, problems) = check_buildings_file(db, bytes)?;
    if !problems.is_empty() {
        return Err(ImportError::Refused(problems));
    }
    let rows: Vec<BuildingRow> = buildings.iter().map(building_row).collect();
    let mut conn = db.writer()?;
    let removed = conn.transaction::<_, ImportError, _>(|c| {
        let removed = store::delete_buildings(c)?;
        store::insert_buildings(c, &rows)?;
        store::set_meta(c, "imported:building", &now.and_utc().to_rfc3339())?;
        Ok(removed)
    })?;
    tracing::info!(removed, inserted = rows.len(), "buildings imported");
    Ok((removed, rows.len()))
}
