//! Units and people: `/api/v1/units[/{id}]` and `/api/v1/people[/{id}]` (create, list, read, change, delete).
//! The services keep the chain index current after every write (see `service::admin::org`).

use crate::domain::access::Permission;
use crate::error::ApiError;
use crate::http::access::CurrentUser;
use crate::http::query::{Query, one_of};
use crate::http::state::AppState;
use crate::service::admin::org::{self as service, OrgError, PersonInput, UnitInput};
use crate::store::org::{PersonRow, UnitRow};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::domain::time::rfc3339 as time;

/// A unit.
#[derive(Debug, Serialize)]
pub struct UnitDto {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// The place it answers for.
    pub place_code: Option<String>,
    /// Its district (110000 for city-wide units).
    pub district_code: String,
    /// Topic codes it answers for.
    pub topics: Vec<String>,
    /// Created (RFC 3339, UTC).
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
}

impl From<UnitRow> for UnitDto {
    fn from(u: UnitRow) -> Self {
        UnitDto {
            topics: serde_json::from_str(&u.topics).unwrap_or_default(),
            id: u.id,
            kind: u.kind,
            name: u.name,
            place_code: u.place_code,
            district_code: u.district_code,
            created_at: time(u.created_at),
            updated_at: time(u.updated_at),
        }
    }
}

/// A person.
#[derive(Debug, Serialize)]
pub struct PersonDto {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Work phone.
    pub phone: String,
    /// Their unit.
    pub unit_id: String,
    /// Role.
    pub role: String,
    /// The unit's district.
    pub district_code: String,
    /// Created (RFC 3339, UTC).
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
}

impl From<PersonRow> for PersonDto {
    fn from(p: PersonRow) -> Self {
        PersonDto {
            id: p.id,
            name: p.name,
            phone: p.phone,
            unit_id: p.unit_id,
            role: p.role,
            district_code: p.district_code,
            created_at: time(p.created_at),
            updated_at: time(p.updated_at),
        }
    }
}

/// A list of units.
#[derive(Debug, Serialize)]
pub struct Units {
    /// By name.
    pub units: Vec<UnitDto>,
}

/// A list of people.
#[derive(Debug, Serialize)]
pub struct People {
    /// By name.
    pub people: Vec<PersonDto>,
}

/// Filters of the unit list.
#[derive(Debug, Deserialize)]
pub struct UnitFilter {
    kind: Option<String>,
    place: Option<String>,
}

/// Filters of the people list.
#[derive(Debug, Deserialize)]
pub struct PersonFilter {
    unit: Option<String>,
}

async fn run<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, OrgError> + Send + 'static,
) -> Result<T, ApiError> {
    Ok(web::block(f).await??)
}

/// `POST /api/v1/units`
pub async fn create_unit(
    state: web::Data<AppState>,
    me: CurrentUser,
    body: web::Json<UnitInput>,
) -> Result<HttpResponse, ApiError> {
    me.require(Permission::ManageOrganisation)?;
    let st = state.clone();
    let now = state.clock.now();
    let u = run(move || service::create_unit(&st.db, &st.chain, body.into_inner(), now)).await?;
    Ok(HttpResponse::Created().json(UnitDto::from(u)))
}

/// `GET /api/v1/units?kind=&place=`
pub async fn list_units(
    state: web::Data<AppState>,
    me: CurrentUser,
    q: Query<UnitFilter>,
) -> Result<web::Json<Units>, ApiError> {
    me.require(Permission::ReadOrganisation)?;
    let db = state.db.clone();
    let q = q.into_inner();
    let kind = one_of(
        "kind",
        q.kind,
        &crate::domain::org::UnitKind::ALL.map(crate::domain::org::UnitKind::as_str),
    )?;
    let rows = run(move || service::units(&db, kind.as_deref(), q.place.as_deref())).await?;
    Ok(web::Json(Units {
        units: rows.into_iter().map(UnitDto::from).collect(),
    }))
}

/// `GET /api/v1/units/{id}`
pub async fn get_unit(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<String>,
) -> Result<web::Json<UnitDto>, ApiError> {
    me.require(Permission::ReadOrganisation)?;
    let db = state.db.clone();
    Ok(web::Json(
        run(move || service::unit(&db, &id)).await?.into(),
    ))
}

/// `PATCH /api/v1/units/{id}`
pub async fn update_unit(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<String>,
    body: web::Json<UnitInput>,
) -> Result<web::Json<UnitDto>, ApiError> {
    me.require(Permission::ManageOrganisation)?;
    let st = state.clone();
    let now = state.clock.now();
    let u =
        run(move || service::update_unit(&st.db, &st.chain, &id, body.into_inner(), now)).await?;
    Ok(web::Json(u.into()))
}

/// `DELETE /api/v1/units/{id}`
pub async fn delete_unit(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    me.require(Permission::ManageOrganisation)?;
    let st = state.clone();
    run(move || service::delete_unit(&st.db, &st.chain, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/people`
pub async fn create_person(
    state: web::Data<AppState>,
    me: CurrentUser,
    body: web::Json<PersonInput>,
) -> Result<HttpResponse, ApiError> {
    me.require(Permission::ManageOrganisation)?;
    let st = state.clone();
    let now = state.clock.now();
    let p = run(move || service::create_person(&st.db, &st.chain, body.into_inner(), now)).await?;
    Ok(HttpResponse::Created().json(PersonDto::from(p)))
}

/// `GET /api/v1/people?unit=`
pub async fn list_people(
    state: web::Data<AppState>,
    me: CurrentUser,
    q: Query<PersonFilter>,
) -> Result<web::Json<People>, ApiError> {
    me.require(Permission::ReadOrganisation)?;
    let db = state.db.clone();
    let unit = q.into_inner().unit;
    let rows = run(move || service::people(&db, unit.as_deref())).await?;
    Ok(web::Json(People {
        people: rows.into_iter().map(PersonDto::from).collect(),
    }))
}

/// `GET /api/v1/people/{id}`
pub async fn get_person(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<String>,
) -> Result<web::Json<PersonDto>, ApiError> {
    me.require(Permission::ReadOrganisation)?;
    let db = state.db.clone();
    Ok(web::Json(
        run(move || service::person(&db, &id)).await?.into(),
    ))
}

/// `PATCH /api/v1/people/{id}`
pub async fn update_person(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<String>,
    body: web::Json<PersonInput>,
) -> Result<web::Json<PersonDto>, ApiError> {
    me.require(Permission::ManageOrganisation)?;
    let st = state.clone();
    let now = state.clock.now();
    let p =
        run(move || service::update_person(&st.db, &st.chain, &id, body.into_inner(), now)).await?;
    Ok(web::Json(p.into()))
}

/// `DELETE /api/v1/people/{id}`
pub async fn delete_person(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    me.require(Permission::ManageOrganisation)?;
    let st = state.clone();
    run(move || service::delete_person(&st.db, &st.chain, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
