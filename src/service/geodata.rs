//! Loading the place layers into the database and from it into the in-memory index; importing user layers.

use crate::db::{Db, DbConnection, DbError};
use crate::geo::dataset;
use crate::geo::index::PlaceIndex;
use crate::geo::layers::{self, LayerError};
use crate::geo::place::{Building, Level, Place, PlaceCode};
use crate::store::places::{self as store, BuildingRow, PlaceRow};
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
    /// Stored geometry could not be parsed (the database was edited by hand?).
    #[error("stored geometry of {code} is unreadable: {reason}")]
    StoredGeometry {
        /// The place.
        code: String,
        /// Why.
        reason: String,
    },
}

impl From<diesel::result::Error> for GeodataError {
    fn from(e: diesel::result::Error) -> Self {
        GeodataError::Db(DbError::Query(e))
    }
}

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

/// Loads the embedded Beijing dataset when the database holds no places yet; returns whether it loaded.
pub fn ensure_loaded(db: &Db) -> Result<bool, GeodataError> {
    let mut conn = db.writer()?;
    if store::count(&mut conn)? > 0 {
        return Ok(false);
    }
    let started = std::time::Instant::now();
    let places: Vec<PlaceRow> = dataset::places()?.iter().map(place_row).collect();
    let buildings: Vec<BuildingRow> = dataset::buildings()?.iter().map(building_row).collect();
    conn.transaction::<_, GeodataError, _>(|c| {
        store::insert(c, &places)?;
        store::insert_buildings(c, &buildings)?;
        store::set_meta(c, "dataset", dataset::NAME)?;
        Ok(())
    })?;
    tracing::info!(
        places = places.len(),
        buildings = buildings.len(),
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
