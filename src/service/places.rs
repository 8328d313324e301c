//! Reading places for the API: one place with its child counts, or a place's children.

use crate::db::{Db, DbError};
use crate::geo::place::{Level, PlaceCode};
use crate::store::places::{self as store, BuildingRow, PlaceRow};

/// A place and how many places of each level (and buildings) lie under it.
#[derive(Debug)]
pub struct PlaceWithCounts {
    /// The place.
    pub place: PlaceRow,
    /// Direct children.
    pub children: i64,
    /// (level or "building", count) for every level below.
    pub below: Vec<(&'static str, i64)>,
}

/// One place by code, `None` when unknown.
pub fn get(db: &Db, code: &PlaceCode, level: Level) -> Result<Option<PlaceWithCounts>, DbError> {
    let mut conn = db.reader()?;
    let Some(place) = store::get(&mut conn, code.as_str())? else {
        return Ok(None);
    };
    let mut below = Vec::new();
    let mut l = level.child();
    let mut children = None;
    while let Some(lv) = l {
        let n = store::count_below(&mut conn, code.as_str(), lv.as_str())?;
        children.get_or_insert(n);
        below.push((lv.as_str(), n));
        l = lv.child();
    }
    let buildings = store::count_buildings_below(&mut conn, code.as_str())?;
    below.push(("building", buildings));
    Ok(Some(PlaceWithCounts {
        place,
        children: children.unwrap_or(buildings),
        below,
    }))
}

/// Places one level down, and the buildings of a cell.
pub type PlaceChildren = (Vec<PlaceRow>, Vec<BuildingRow>);

/// The children of a place: places one level down, or the buildings of a cell. `None` when the place is unknown.
pub fn children(db: &Db, code: &PlaceCode, level: Level) -> Result<Option<PlaceChildren>, DbError> {
    let mut conn = db.reader()?;
    if store::get(&mut conn, code.as_str())?.is_none() {
        return Ok(None);
    }
    if level == Level::Cell {
        return Ok(Some((
            Vec::new(),
            store::buildings_in_cell(&mut conn, code.as_str())?,
        )));
    }
    Ok(Some((
        store::children(&mut conn, code.as_str())?,
        Vec::new(),
    )))
}

/// One building by its 18-digit code, `None` when unknown.
pub fn building(db: &Db, code: &str) -> Result<Option<BuildingRow>, DbError> {
    Ok(store::building(&mut *db.reader()?, code)?)
}
