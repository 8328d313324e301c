//! The responsibility chain: `GET /api/v1/places/{code}/chain`, `GET /api/v1/chain`, assignments and sections.
//! Chains are answered from the in-memory chain index, which the services refresh after every write commits
//! (see `service::chain`), so the next read sees the change.

use crate::domain::access::Permission;
use crate::error::ApiError;
use crate::geo::lonlat::Lonlat;
use crate::http::access::CurrentUser;
use crate::http::query::{Query, one_of};
use crate::http::state::AppState;
use crate::service::chain::{self as service, AssignInput, ChainError, SectionInput};
use crate::store::chain::{AssignmentRow, SectionRow};
use actix_web::{HttpResponse, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::domain::time::rfc3339 as time;

fn parse_at(raw: Option<&str>) -> Result<Option<NaiveDateTime>, ApiError> {
    crate::http::dto::parse_time("at", raw)
}

/// A person in a chain link.
#[derive(Debug, Serialize)]
pub struct LinkPerson {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Work phone.
    pub phone: String,
    /// Role.
    pub role: String,
}

/// A unit in a chain link.
#[derive(Debug, Serialize)]
pub struct LinkUnit {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
}

/// One link of the chain.
#[derive(Debug, Serialize)]
pub struct LinkDto {
    /// Kind of link.
    pub kind: &'static str,
    /// The place code or section id it is for.
    pub target: Option<String>,
    /// Whether the answer comes from the level above because nobody is assigned here (属地兜底).
    pub fallback: bool,
    /// Since when the answering assignment runs.
    pub since: Option<String>,
    /// The assignment's id.
    pub assignment_id: Option<String>,
    /// The person who answers.
    pub person: Option<LinkPerson>,
    /// The unit that answers (or the person's unit).
    pub unit: Option<LinkUnit>,
}

/// The place a chain is for.
#[derive(Debug, Serialize)]
pub struct ChainPlace {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Level.
    pub level: &'static str,
}

/// A building in a point's chain.
#[derive(Debug, Serialize)]
pub struct ChainBuilding {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Households.
    pub households: u32,
}

/// A chain.
#[derive(Debug, Serialize)]
pub struct ChainDto {
    /// The moment (RFC 3339, UTC).
    pub at: String,
    /// The place.
    pub place: ChainPlace,
    /// For a point: the nearest building within 50 m, whose households the household member answers for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub building: Option<ChainBuilding>,
    /// Top-down: command centre, section leader, street office, village cadre, community secretary, grid member,
    /// household member (as far down as the place goes).
    pub links: Vec<LinkDto>,
}

impl From<service::Chain> for ChainDto {
    fn from(c: service::Chain) -> Self {
        ChainDto {
            at: time(c.at),
            place: ChainPlace {
                code: c.code,
                name: c.name,
                level: c.level.as_str(),
            },
            building: None,
            links: c.links.into_iter().map(LinkDto::from).collect(),
        }
    }
}

impl From<service::Link> for LinkDto {
    fn from(l: service::Link) -> Self {
        LinkDto {
            kind: l.kind.as_str(),
            target: l.target,
            fallback: l.fallback,
            since: l.assignment.as_ref().map(|a| time(a.valid_from)),
            assignment_id: l.assignment.map(|a| a.id.clone()),
            person: l.person.map(|p| LinkPerson {
                id: p.id.clone(),
                name: p.name.clone(),
                phone: p.phone.clone(),
                role: p.role.clone(),
            }),
            unit: l.unit.map(|u| LinkUnit {
                id: u.id.clone(),
                name: u.name.clone(),
                kind: u.kind.clone(),
            }),
        }
    }
}

/// `?at=`
#[derive(Debug, Deserialize)]
pub struct AtQuery {
    at: Option<String>,
}

/// `GET /api/v1/places/{code}/chain?at=`
pub async fn place_chain(
    state: web::Data<AppState>,
    me: CurrentUser,
    code: web::Path<String>,
    q: Query<AtQuery>,
) -> Result<web::Json<ChainDto>, ApiError> {
    me.require(Permission::ReadOrganisation)?;
    me.require_place(&code)?;
    let at = parse_at(q.at.as_deref())?;
    // In memory and a few microseconds: no need for a blocking thread.
    let chain = service::chain_of(&state.index, &state.chain, &code, at, state.clock.now())
        .map_err(|e| match e {
            ChainError::Invalid(_) => ApiError::bad_request("invalid_place_code", e.to_string()),
            ChainError::NotFound(_) => ApiError::not_found("place_not_found", e.to_string()),
            other => other.into(),
        })?;
    Ok(web::Json(chain.into()))
}

/// `?lon=&lat=&crs=&at=`
#[derive(Debug, Deserialize)]
pub struct PointQuery {
    lon: Option<String>,
    lat: Option<String>,
    crs: Option<String>,
    at: Option<String>,
}

/// `GET /api/v1/chain?lon=&lat=&crs=&at=`
pub async fn point_chain(
    state: web::Data<AppState>,
    me: CurrentUser,
    q: Query<PointQuery>,
) -> Result<web::Json<ChainDto>, ApiError> {
    me.require(Permission::ReadOrganisation)?;
    let p = Lonlat::parse(q.lon.as_deref(), q.lat.as_deref(), q.crs.as_deref())
        .map_err(crate::http::locate::point_error)?;
    let at = parse_at(q.at.as_deref())?;
    let located = state
        .index
        .locate(p.lon, p.lat)
        .ok_or_else(|| ApiError::Unprocessable {
            code: "outside_jurisdiction",
            message: format!(
                "lon={:.6}, lat={:.6} (WGS-84) is not within 200 m of any grid cell",
                p.lon, p.lat
            ),
        })?;
    let cell = located.cell.code.clone();
    me.require_place(&cell)?;
    let building = located.building.map(|(b, _)| ChainBuilding {
        code: b.code.clone(),
        name: b.name.clone(),
        households: b.households,
    });
    let chain = service::chain_of(&state.index, &state.chain, &cell, at, state.clock.now())?;
    let mut dto = ChainDto::from(chain);
    dto.building = building;
    Ok(web::Json(dto))
}

/// An assignment.
#[derive(Debug, Serialize)]
pub struct AssignmentDto {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Place code or section id.
    pub target: String,
    /// The person, for person links.
    pub person_id: Option<String>,
    /// The unit, for unit links.
    pub unit_id: Option<String>,
    /// From (inclusive).
    pub valid_from: String,
    /// Until (exclusive); null while it lasts.
    pub valid_to: Option<String>,
}

impl From<AssignmentRow> for AssignmentDto {
    fn from(a: AssignmentRow) -> Self {
        AssignmentDto {
            id: a.id,
            kind: a.kind,
            target: a.target,
            person_id: a.person_id,
            unit_id: a.unit_id,
            valid_from: time(a.valid_from),
            valid_to: a.valid_to.map(time),
        }
    }
}

/// Answer of an assignment.
#[derive(Debug, Serialize)]
pub struct AssignedDto {
    /// The new assignment.
    pub assignment: AssignmentDto,
    /// The assignment it closed, if any.
    pub closed: Option<String>,
}

/// Body of an assignment (times in RFC 3339).
#[derive(Debug, Deserialize)]
pub struct AssignBody {
    kind: String,
    target: String,
    person_id: Option<String>,
    unit_id: Option<String>,
    valid_from: Option<String>,
}

/// `POST /api/v1/assignments`
pub async fn assign(
    state: web::Data<AppState>,
    me: CurrentUser,
    body: web::Json<AssignBody>,
) -> Result<HttpResponse, ApiError> {
    me.require(Permission::ManageOrganisation)?;
    let b = body.into_inner();
    let input = AssignInput {
        kind: b.kind,
        target: b.target,
        person_id: b.person_id,
        unit_id: b.unit_id,
        valid_from: crate::http::dto::parse_time("valid_from", b.valid_from.as_deref())?,
    };
    let st = state.clone();
    let now = state.clock.now();
    let done = web::block(move || service::assign(&st.db, &st.chain, input, now)).await??;
    Ok(HttpResponse::Created().json(AssignedDto {
        assignment: done.assignment.into(),
        closed: done.closed,
    }))
}

/// Body of ending an assignment.
#[derive(Debug, Deserialize)]
pub struct EndBody {
    at: Option<String>,
}

/// `POST /api/v1/assignments/{id}/end`
pub async fn end(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<String>,
    body: web::Json<EndBody>,
) -> Result<web::Json<AssignmentDto>, ApiError> {
    me.require(Permission::ManageOrganisation)?;
    let at = parse_at(body.at.as_deref())?;
    let st = state.clone();
    let now = state.clock.now();
    let ended =
        web::block(move || service::end_assignment(&st.db, &st.chain, &id, at, now)).await??;
    Ok(web::Json(ended.into()))
}

/// `?kind=&target=`
#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    kind: Option<String>,
    target: Option<String>,
}

/// The history of one link.
#[derive(Debug, Serialize)]
pub struct Assignments {
    /// Oldest first.
    pub assignments: Vec<AssignmentDto>,
}

/// `GET /api/v1/assignments?kind=&target=`
pub async fn history(
    state: web::Data<AppState>,
    me: CurrentUser,
    q: Query<HistoryQuery>,
) -> Result<web::Json<Assignments>, ApiError> {
    me.require(Permission::ReadOrganisation)?;
    let q = q.into_inner();
    let kind = one_of(
        "kind",
        q.kind,
        &crate::domain::chain::AssignmentKind::ALL
            .map(crate::domain::chain::AssignmentKind::as_str),
    )?;
    let (Some(kind), Some(target)) = (kind, q.target) else {
        return Err(ApiError::bad_request(
            "missing_parameter",
            "give kind and target",
        ));
    };
    let db = state.db.clone();
    let rows = web::block(move || service::history(&db, &kind, &target)).await??;
    Ok(web::Json(Assignments {
        assignments: rows.into_iter().map(AssignmentDto::from).collect(),
    }))
}

/// A section.
#[derive(Debug, Serialize)]
pub struct SectionDto {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// District.
    pub district_code: String,
    /// Streets and communities.
    pub places: Vec<String>,
}

fn section_dto((s, places): (SectionRow, Vec<String>)) -> SectionDto {
    SectionDto {
        id: s.id,
        name: s.name,
        district_code: s.district_code,
        places,
    }
}

/// `POST /api/v1/sections`
pub async fn create_section(
    state: web::Data<AppState>,
    me: CurrentUser,
    body: web::Json<SectionInput>,
) -> Result<HttpResponse, ApiError> {
    me.require(Permission::ManageOrganisation)?;
    let st = state.clone();
    let now = state.clock.now();
    let s = web::block(move || service::create_section(&st.db, &st.chain, body.into_inner(), now))
        .await??;
    Ok(HttpResponse::Created().json(section_dto(s)))
}

/// `?place=`
#[derive(Debug, Deserialize)]
pub struct SectionQuery {
    place: Option<String>,
}

/// Sections.
#[derive(Debug, Serialize)]
pub struct Sections {
    /// By name.
    pub sections: Vec<SectionDto>,
}

/// `GET /api/v1/sections?place=`
pub async fn sections(
    state: web::Data<AppState>,
    me: CurrentUser,
    q: Query<SectionQuery>,
) -> Result<web::Json<Sections>, ApiError> {
    me.require(Permission::ReadOrganisation)?;
    let db = state.db.clone();
    let place = q.into_inner().place;
    let rows = web::block(move || service::sections(&db, place.as_deref())).await??;
    Ok(web::Json(Sections {
        sections: rows.into_iter().map(section_dto).collect(),
    }))
}
