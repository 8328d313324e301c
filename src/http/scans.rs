//! `POST /api/v1/scans`, `GET /api/v1/scans` and `GET /api/v1/scans/{id}`: hot spot scans as background jobs,
//! within the reader's jurisdiction (another place's scan is not found). A scan's result is JSON, or GeoJSON with
//! `format=geojson` (one feature per cluster, or per unit with an emerging pattern, outlined by its units' cells).

use crate::domain::access::Permission;
use crate::domain::time::rfc3339;
use crate::error::ApiError;
use crate::geo::index::PlaceIndex;
use crate::http::access::CurrentUser;
use crate::http::query::{PageQuery, Query};
use crate::http::state::AppState;
use crate::service::hotspots::jobs::{self, MAX_PAGE, Scan};
use crate::service::hotspots::params::{ScanParams, ScanRequest};
use crate::service::hotspots::scan::{Cluster, ScanResult, UnitPattern};
use actix_web::{HttpResponse, web};
use geo::MultiPolygon;
use serde::{Deserialize, Serialize};

/// Why a scan failed.
#[derive(Debug, Serialize)]
pub struct ScanErrorDto {
    /// Stable code.
    pub code: String,
    /// For people.
    pub message: String,
}

/// A scan.
#[derive(Debug, Serialize)]
pub struct ScanDto {
    /// Id.
    pub id: String,
    /// `gistar` or `emerging`.
    pub kind: &'static str,
    /// `queued`, `running`, `finished` or `failed`.
    pub status: String,
    /// Per cent done.
    pub progress: i32,
    /// The checked parameters.
    pub parameters: ScanParams,
    /// The result (finished scans, and not in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<ScanResult>,
    /// Why it failed.
    pub error: Option<ScanErrorDto>,
    /// Who started it.
    pub created_by: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// When it started running.
    pub started_at: Option<String>,
    /// When it ended.
    pub finished_at: Option<String>,
    /// Set when the reader's places lie inside what the scan covers (a district's scan read by a street's leader):
    /// the result holds only the clusters, patterns and islands inside these places of theirs; its totals (units
    /// scanned, candidates) are the whole scan's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trimmed_to: Option<Vec<String>>,
}

impl ScanDto {
    fn new(s: Scan, with_result: bool) -> ScanDto {
        ScanDto {
            kind: s.params.kind.as_str(),
            id: s.id,
            status: s.status,
            progress: s.progress,
            result: s.result.filter(|_| with_result),
            error: s
                .error
                .map(|(code, message)| ScanErrorDto { code, message }),
            parameters: s.params,
            created_by: s.created_by,
            created_at: rfc3339(s.created_at),
            started_at: s.started_at.map(rfc3339),
            finished_at: s.finished_at.map(rfc3339),
            trimmed_to: s.trimmed_to,
        }
    }
}

/// A page of scans.
#[derive(Debug, Serialize)]
pub struct ScanList {
    /// Newest first, without results.
    pub scans: Vec<ScanDto>,
    /// The page (from 1).
    pub page: usize,
    /// Scans per page.
    pub per_page: usize,
    /// Scans the reader may see, in all.
    pub total: usize,
}

/// `GET /api/v1/scans/{id}` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetQuery {
    /// `json` (default) or `geojson`.
    pub format: Option<String>,
}

/// `POST /api/v1/scans`: checks and queues a scan; 202 with the scan.
pub async fn create(
    state: web::Data<AppState>,
    me: CurrentUser,
    body: web::Json<ScanRequest>,
) -> Result<HttpResponse, ApiError> {
    me.require(Permission::ReadCases)?;
    let (db, index, clock, user) = (
        state.db.clone(),
        state.index.clone(),
        state.clock.clone(),
        me.user,
    );
    let req = body.into_inner();
    let scan = web::block(move || jobs::submit(&db, index, &clock, &user, &req)).await??;
    Ok(HttpResponse::Accepted().json(ScanDto::new(scan, true)))
}

/// `GET /api/v1/scans`: the reader's scans, newest first.
pub async fn list(
    state: web::Data<AppState>,
    me: CurrentUser,
    q: Query<PageQuery>,
) -> Result<web::Json<ScanList>, ApiError> {
    me.require(Permission::ReadCases)?;
    let (page, per_page) = q.get();
    let (db, user) = (state.db.clone(), me.user);
    let (scans, total) = web::block(move || jobs::list(&db, &user, page, per_page)).await??;
    Ok(web::Json(ScanList {
        scans: scans.into_iter().map(|s| ScanDto::new(s, false)).collect(),
        page,
        per_page: per_page.min(MAX_PAGE),
        total,
    }))
}

/// `GET /api/v1/scans/{id}`: status, progress and result (JSON, or GeoJSON with `format=geojson`).
pub async fn get(
    state: web::Data<AppState>,
    me: CurrentUser,
    path: web::Path<String>,
    q: Query<GetQuery>,
) -> Result<HttpResponse, ApiError> {
    me.require(Permission::ReadCases)?;
    let geojson = match q.format.as_deref().map(str::trim) {
        None | Some("" | "json") => false,
        Some("geojson") => true,
        Some(other) => {
            return Err(ApiError::BadValue {
                code: "invalid_query_value",
                message: format!(
                    "format {:?} is not one of json, geojson",
                    other.chars().take(40).collect::<String>()
                ),
                accepted: vec!["json".into(), "geojson".into()],
            });
        }
    };
    let (db, user, id) = (state.db.clone(), me.user, path.into_inner());
    let scan = web::block(move || jobs::get(&db, &user, &id)).await??;
    if !geojson {
        return Ok(HttpResponse::Ok().json(ScanDto::new(scan, true)));
    }
    let Some(result) = scan.result else {
        return Err(ApiError::Conflict {
            code: "scan_not_finished",
            message: format!(
                "scan {} is {}: its GeoJSON exists once it has finished",
                scan.id, scan.status
            ),
        });
    };
    let index = state.index.clone();
    let id = scan.id.clone();
    let fc = web::block(move || collection(&index, &id, &result)).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/geo+json")
        .json(fc))
}

/// A scan's result as GeoJSON.
#[derive(Debug, Serialize)]
pub struct ScanCollection {
    /// "FeatureCollection".
    pub r#type: &'static str,
    /// The scan.
    pub scan: String,
    /// `gistar` or `emerging`.
    pub kind: &'static str,
    /// Clusters or patterned units.
    pub features: Vec<ScanFeature>,
}

/// One cluster or unit.
#[derive(Debug, Serialize)]
pub struct ScanFeature {
    /// "Feature".
    pub r#type: &'static str,
    /// The cluster's rank or the unit's code.
    pub id: String,
    /// The outline of its units' cells (WGS-84), not dissolved.
    pub geometry: geojson::Geometry,
    /// The cluster or the unit's pattern.
    pub properties: FeatureProperties,
}

/// A feature's properties.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum FeatureProperties {
    /// A cluster.
    Cluster(Box<Cluster>),
    /// A unit's pattern.
    Pattern(Box<UnitPattern>),
}

/// The cells under each code, as one multipolygon.
fn outline(index: &PlaceIndex, codes: &[String]) -> geojson::Geometry {
    let mut parts = Vec::new();
    for code in codes {
        for id in index.cells_under(code) {
            parts.extend(index.cell_geometry(id).0);
        }
    }
    geojson::Geometry::new(geojson::GeometryValue::from(&MultiPolygon(parts)))
}

fn collection(index: &PlaceIndex, id: &str, result: &ScanResult) -> ScanCollection {
    let (kind, features) = match result {
        ScanResult::Gistar(c) => (
            "gistar",
            c.clusters
                .iter()
                .map(|cl| ScanFeature {
                    r#type: "Feature",
                    id: cl.rank.to_string(),
                    geometry: outline(index, &cl.units),
                    properties: FeatureProperties::Cluster(Box::new(cl.clone())),
                })
                .collect(),
        ),
        ScanResult::Emerging(e) => (
            "emerging",
            e.patterns
                .iter()
                .map(|p| ScanFeature {
                    r#type: "Feature",
                    id: p.code.clone(),
                    geometry: outline(index, std::slice::from_ref(&p.code)),
                    properties: FeatureProperties::Pattern(Box::new(p.clone())),
                })
                .collect(),
        ),
    };
    ScanCollection {
        r#type: "FeatureCollection",
        scan: id.to_owned(),
        kind,
        features,
    }
}
