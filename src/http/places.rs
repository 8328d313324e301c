//! `GET /api/v1/places/{code}` (a GeoJSON Feature) and `GET /api/v1/places/{code}/children` (a FeatureCollection),
//! for every level's code: the city, districts, streets, communities, cells and (18 digits) buildings.

use crate::error::ApiError;
use crate::geo::layers::{self, GeometryOut};
use crate::geo::place::{Level, PlaceCode, is_building_code};
use crate::http::access::CurrentUser;
use crate::http::query::Query;
use crate::http::state::AppState;
use crate::service::places as service;
use crate::store::places::{BuildingRow, PlaceRow};
use actix_web::web;
use geo::Simplify;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The largest simplification tolerance accepted, metres.
pub const MAX_SIMPLIFY_M: f64 = 10_000.0;

/// Query of the place endpoints.
#[derive(Debug, Deserialize)]
pub struct PlaceQuery {
    simplify: Option<String>,
}

/// Properties of a place feature.
#[derive(Debug, Serialize)]
pub struct PlaceProperties {
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its level.
    pub level: String,
    /// Its parent's code (null for the city).
    pub parent: Option<String>,
    /// Geodesic area, km².
    pub area_km2: f64,
    /// Direct children, and places of every level below (and buildings); only in the single-place answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child_counts: Option<BTreeMap<&'static str, i64>>,
}

/// A GeoJSON Feature of a place.
#[derive(Debug, Serialize)]
pub struct PlaceFeature {
    /// "Feature".
    pub r#type: &'static str,
    /// The code.
    pub id: String,
    /// [min lon, min lat, max lon, max lat], WGS-84.
    pub bbox: [f64; 4],
    /// Properties.
    pub properties: PlaceProperties,
    /// The outline, WGS-84.
    pub geometry: GeometryOut,
}

/// Properties of a building feature.
#[derive(Debug, Serialize)]
pub struct BuildingProperties {
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// "building".
    pub level: &'static str,
    /// The cell.
    pub parent: String,
    /// Households.
    pub households: i32,
}

/// A GeoJSON Feature of a building.
#[derive(Debug, Serialize)]
pub struct BuildingFeature {
    /// "Feature".
    pub r#type: &'static str,
    /// The code.
    pub id: String,
    /// Properties.
    pub properties: BuildingProperties,
    /// The point, WGS-84.
    pub geometry: GeometryOut,
}

/// A child: a place, or a building of a cell.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ChildFeature {
    /// A place one level down.
    Place(PlaceFeature),
    /// A building of a cell.
    Building(BuildingFeature),
}

/// A GeoJSON FeatureCollection of children.
#[derive(Debug, Serialize)]
pub struct Children {
    /// "FeatureCollection".
    pub r#type: &'static str,
    /// The parent's code.
    pub parent: String,
    /// The children in code order.
    pub features: Vec<ChildFeature>,
}

/// What a code in the path names.
enum Target {
    /// A place of the hierarchy.
    Place(PlaceCode, Level),
    /// A building (18 digits).
    Building(String),
}

fn parse_code(raw: &str) -> Result<Target, ApiError> {
    if let Some((code, level)) = PlaceCode::parse(raw) {
        return Ok(Target::Place(code, level));
    }
    if is_building_code(raw) {
        return Ok(Target::Building(raw.to_owned()));
    }
    Err(ApiError::bad_request(
        "invalid_place_code",
        format!(
            "{:?} is not a place code: use 110000 for the city, a 6, 9, 12 or 15 digit code, or an 18 digit \
             building code",
            raw.chars().take(40).collect::<String>()
        ),
    ))
}

/// The building with `code`, when it exists inside the reader's jurisdiction (else 404, as for places).
async fn building_in_scope(
    state: &AppState,
    me: &CurrentUser,
    code: String,
) -> Result<BuildingRow, ApiError> {
    me.require_place(&code)?;
    let db = state.db.clone();
    let c = code.clone();
    web::block(move || service::building(&db, &c))
        .await??
        .ok_or_else(|| {
            ApiError::not_found("place_not_found", format!("no place has the code {code}"))
        })
}

/// One place or one building.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum PlaceAnswer {
    /// A place with its outline.
    Place(PlaceFeature),
    /// A building (a point).
    Building(BuildingFeature),
}

fn parse_simplify(raw: Option<&str>) -> Result<Option<f64>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    match raw.parse::<f64>() {
        Ok(m) if m.is_finite() && m > 0.0 && m <= MAX_SIMPLIFY_M => Ok(Some(m)),
        _ => Err(ApiError::bad_request(
            "invalid_simplify",
            format!(
                "simplify must be a tolerance in metres, greater than 0 and at most {MAX_SIMPLIFY_M}"
            ),
        )),
    }
}

fn not_found(code: &PlaceCode) -> ApiError {
    ApiError::not_found("place_not_found", format!("no place has the code {code}"))
}

fn feature(
    row: PlaceRow,
    simplify_m: Option<f64>,
    counts: Option<BTreeMap<&'static str, i64>>,
) -> Result<PlaceFeature, ApiError> {
    let mut geom = layers::multipolygon_from_json(&row.geometry)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("place {}: {e}", row.code)))?;
    if let Some(m) = simplify_m {
        // Degrees per metre along a meridian: a tolerance, not a measurement, so the approximation is fine.
        geom = geom.simplify(m / 111_320.0);
    }
    Ok(PlaceFeature {
        r#type: "Feature",
        id: row.code.clone(),
        bbox: [row.min_lon, row.min_lat, row.max_lon, row.max_lat],
        properties: PlaceProperties {
            code: row.code,
            name: row.name,
            level: row.level,
            parent: row.parent_code,
            area_km2: (row.area_km2 * 1e4).round() / 1e4,
            child_counts: counts,
        },
        geometry: GeometryOut::from_multipolygon(&geom),
    })
}

fn building_feature(b: BuildingRow) -> BuildingFeature {
    BuildingFeature {
        r#type: "Feature",
        id: b.code.clone(),
        properties: BuildingProperties {
            code: b.code,
            name: b.name,
            level: "building",
            parent: b.cell_code,
            households: b.households,
        },
        geometry: GeometryOut::Point([b.lon, b.lat]),
    }
}

/// `GET /api/v1/places/{code}?simplify=metres`
pub async fn get_place(
    state: web::Data<AppState>,
    me: CurrentUser,
    path: web::Path<String>,
    q: Query<PlaceQuery>,
) -> Result<web::Json<PlaceAnswer>, ApiError> {
    let target = parse_code(&path)?;
    let simplify = parse_simplify(q.simplify.as_deref())?;
    let (code, level) = match target {
        Target::Place(code, level) => (code, level),
        Target::Building(code) => {
            let b = building_in_scope(&state, &me, code).await?;
            return Ok(web::Json(PlaceAnswer::Building(building_feature(b))));
        }
    };
    me.require_place(code.as_str())?;
    let db = state.db.clone();
    let c = code.clone();
    let found = web::block(move || service::get(&db, &c, level))
        .await??
        .ok_or_else(|| not_found(&code))?;
    let mut counts: BTreeMap<&'static str, i64> = found.below.into_iter().collect();
    counts.insert("children", found.children);
    Ok(web::Json(PlaceAnswer::Place(feature(
        found.place,
        simplify,
        Some(counts),
    )?)))
}

/// `GET /api/v1/places/{code}/children?simplify=metres`
pub async fn children(
    state: web::Data<AppState>,
    me: CurrentUser,
    path: web::Path<String>,
    q: Query<PlaceQuery>,
) -> Result<web::Json<Children>, ApiError> {
    let target = parse_code(&path)?;
    let simplify = parse_simplify(q.simplify.as_deref())?;
    let (code, level) = match target {
        Target::Place(code, level) => (code, level),
        Target::Building(code) => {
            // A building is the bottom of the hierarchy: it exists (in the reader's jurisdiction) or not, and has
            // no children.
            building_in_scope(&state, &me, code.clone()).await?;
            return Ok(web::Json(Children {
                r#type: "FeatureCollection",
                parent: code,
                features: Vec::new(),
            }));
        }
    };
    me.require_place(code.as_str())?;
    let db = state.db.clone();
    let c = code.clone();
    let (places, buildings) = web::block(move || service::children(&db, &c, level))
        .await??
        .ok_or_else(|| not_found(&code))?;
    let mut features = Vec::with_capacity(places.len() + buildings.len());
    for p in places {
        features.push(ChildFeature::Place(feature(p, simplify, None)?));
    }
    features.extend(
        buildings
            .into_iter()
            .map(|b| ChildFeature::Building(building_feature(b))),
    );
    Ok(web::Json(Children {
        r#type: "FeatureCollection",
        parent: code.as_str().to_owned(),
        features,
    }))
}
