//! `GET /api/v1/locate` and `POST /api/v1/locate/batch`: from a point to its cell and place chain.

use crate::error::{ApiError, ErrorBody};
use crate::geo::crs::Crs;
use crate::geo::index::{Located, Method, PlaceIndex};
use crate::geo::lonlat::{Lonlat, PointError, parse_crs};
use crate::geo::place::Level;
use crate::http::dto::PlaceRef;
use crate::http::query::Query;
use crate::http::state::AppState;
use actix_web::web;
use serde::{Deserialize, Serialize};

/// The most points one batch may hold.
pub const MAX_BATCH: usize = 10_000;

/// Query of `GET /api/v1/locate` (all text, so that each mistake gets its own error code).
#[derive(Debug, Deserialize)]
pub struct LocateQuery {
    lon: Option<String>,
    lat: Option<String>,
    crs: Option<String>,
}

/// The nearest building.
#[derive(Debug, Serialize)]
pub struct BuildingRef<'a> {
    /// Its code.
    pub code: &'a str,
    /// Its name.
    pub name: &'a str,
    /// Households.
    pub households: u32,
    /// Distance from the point, metres.
    pub distance_m: f64,
}

/// Where a point is.
#[derive(Debug, Serialize)]
pub struct LocateResult<'a> {
    /// The point in WGS-84 (after conversion from the CRS it was sent in).
    pub lon: f64,
    /// The point in WGS-84.
    pub lat: f64,
    /// `exact`, or `snapped` for a point in a gap near a cell.
    pub method: Method,
    /// How far a snapped point was from its cell, metres (0 when exact).
    pub snap_distance_m: f64,
    /// The district.
    pub district: Option<PlaceRef<'a>>,
    /// The street or township.
    pub street: Option<PlaceRef<'a>>,
    /// The community or village.
    pub community: Option<PlaceRef<'a>>,
    /// The grid cell.
    pub cell: PlaceRef<'a>,
    /// The nearest building within 50 m, if any.
    pub building: Option<BuildingRef<'a>>,
}

fn round(x: f64, digits: i32) -> f64 {
    let k = 10f64.powi(digits);
    (x * k).round() / k
}

impl<'a> LocateResult<'a> {
    fn new(p: Lonlat, l: Located<'a>) -> LocateResult<'a> {
        let at = |level: Level| {
            l.chain.iter().find(|c| c.level == level).map(|c| PlaceRef {
                code: &c.code,
                name: &c.name,
            })
        };
        LocateResult {
            lon: p.lon,
            lat: p.lat,
            method: l.method,
            snap_distance_m: round(l.snap_distance_m, 1),
            district: at(Level::District),
            street: at(Level::Street),
            community: at(Level::Community),
            cell: PlaceRef {
                code: &l.cell.code,
                name: &l.cell.name,
            },
            building: l.building.map(|(b, d)| BuildingRef {
                code: &b.code,
                name: &b.name,
                households: b.households,
                distance_m: round(d, 1),
            }),
        }
    }
}

fn outside(p: Lonlat) -> ApiError {
    ApiError::Unprocessable {
        code: "outside_jurisdiction",
        message: format!(
            "lon={:.6}, lat={:.6} (WGS-84) is not in any grid cell of this jurisdiction nor within 200 m of one",
            p.lon, p.lat
        ),
    }
}

/// The 400 for a point the query string gives badly; an unknown `crs` lists the accepted systems.
pub(crate) fn point_error(e: PointError) -> ApiError {
    match &e {
        PointError::UnknownCrs(value) => crate::http::query::not_one_of(
            e.code(),
            "crs",
            value,
            &crate::geo::crs::Crs::ALL.map(crate::geo::crs::Crs::as_str),
        ),
        _ => ApiError::bad_request(e.code(), e.to_string()),
    }
}

fn locate_one(index: &PlaceIndex, p: Lonlat) -> Result<LocateResult<'_>, ApiError> {
    index
        .locate(p.lon, p.lat)
        .map(|l| LocateResult::new(p, l))
        .ok_or_else(|| outside(p))
}

/// `GET /api/v1/locate?lon=&lat=&crs=`
pub async fn locate(
    state: web::Data<AppState>,
    q: Query<LocateQuery>,
) -> Result<actix_web::HttpResponse, ApiError> {
    let p =
        Lonlat::parse(q.lon.as_deref(), q.lat.as_deref(), q.crs.as_deref()).map_err(point_error)?;
    let result = locate_one(&state.index, p)?;
    Ok(actix_web::HttpResponse::Ok().json(result))
}

/// Body of `POST /api/v1/locate/batch`. Points are raw JSON so that one bad point fails alone.
#[derive(Debug, Deserialize)]
pub struct BatchRequest {
    points: Vec<serde_json::Value>,
}

/// One answer of a batch: a result, or an error for that point.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum BatchItem<'a> {
    /// The point was placed.
    Found(LocateResult<'a>),
    /// The point was refused or is outside.
    Failed {
        /// What went wrong.
        error: ErrorBody,
    },
}

/// Body of the batch answer.
#[derive(Debug, Serialize)]
pub struct BatchResponse<'a> {
    /// One item per point, in order.
    pub results: Vec<BatchItem<'a>>,
}

fn parse_batch_point(v: &serde_json::Value) -> Result<Lonlat, PointError> {
    let obj = v.as_object().ok_or(PointError::Missing("lon"))?;
    let num = |name: &'static str| -> Result<f64, PointError> {
        match obj.get(name) {
            None | Some(serde_json::Value::Null) => Err(PointError::Missing(name)),
            Some(serde_json::Value::Number(n)) => n
                .as_f64()
                .ok_or_else(|| PointError::NotANumber(name, n.to_string())),
            Some(serde_json::Value::String(s)) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| PointError::NotANumber(name, s.chars().take(40).collect())),
            Some(other) => Err(PointError::NotANumber(
                name,
                other.to_string().chars().take(40).collect(),
            )),
        }
    };
    let crs = match obj.get("crs") {
        None | Some(serde_json::Value::Null) => Crs::Wgs84,
        Some(serde_json::Value::String(s)) => parse_crs(Some(s))?,
        Some(other) => return Err(PointError::UnknownCrs(other.to_string())),
    };
    Lonlat::from_numbers(num("lon")?, num("lat")?, crs)
}

fn failed<'a>(e: ApiError) -> BatchItem<'a> {
    let (code, message) = match &e {
        ApiError::BadRequest { code, message }
        | ApiError::BadValue { code, message, .. }
        | ApiError::Unprocessable { code, message } => (*code, message.clone()),
        _ => ("internal_error", "internal error".to_owned()),
    };
    BatchItem::Failed {
        error: ErrorBody {
            code: code.to_owned(),
            message,
            error_id: None,
            allowed: None,
            missing: None,
            cases: None,
            accepted: None,
        },
    }
}

/// `POST /api/v1/locate/batch` with `{"points": [{"lon", "lat", "crs"?}, ...]}`, up to [`MAX_BATCH`] points.
pub async fn locate_batch(
    state: web::Data<AppState>,
    body: web::Json<BatchRequest>,
) -> Result<actix_web::HttpResponse, ApiError> {
    let points = body.into_inner().points;
    if points.len() > MAX_BATCH {
        return Err(ApiError::TooLarge {
            code: "batch_too_large",
            message: format!(
                "a batch holds at most {MAX_BATCH} points, this one has {}: split it",
                points.len()
            ),
        });
    }
    let index = state.index.clone();
    // Locating ten thousand points is CPU work: keep it off the async workers.
    let body = web::block(move || {
        let results: Vec<BatchItem<'_>> = points
            .iter()
            .map(|v| match parse_batch_point(v) {
                Ok(p) => match locate_one(&index, p) {
                    Ok(r) => BatchItem::Found(r),
                    Err(e) => failed(e),
                },
                Err(e) => failed(point_error(e)),
            })
            .collect();
        serde_json::to_vec(&BatchResponse { results })
    })
    .await?
    .map_err(ApiError::internal)?;
    Ok(actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}
