//! Cases: `GET /api/v1/cases` (filtered, cursor-paginated, scoped by jurisdiction), `GET /api/v1/cases/{id}` (with
//! its tickets, reports, merge decisions and chain; callers masked unless the reader may see them) and
//! `POST /api/v1/cases/{id}/unmerge`. The DTOs here are shared with intake.

use crate::domain::access::Permission;
use crate::domain::ids::is_ticket_no;
use crate::domain::privacy::{mask_name, mask_phone};
use crate::domain::time::rfc3339 as time;
use crate::domain::workflow::Status;
use crate::error::ApiError;
use crate::geo::index::PlaceIndex;
use crate::http::access::CurrentUser;
use crate::http::chain::LinkDto;
use crate::http::dto::parse_time;
use crate::http::query::Query;
use crate::http::query::one_of;
use crate::http::state::AppState;
use crate::http::work::{CallbackDto, EscalationDto, WhistleCallDto, WorkDto};
use crate::http::workflow::{StepDto, TransitionDto};
use crate::service::cases::merge::{self, UnmergeInput};
use crate::service::cases::read as service;
use crate::store::cases::{CaseFilter, CaseRow, DecisionRow, ReportRow, TicketRow};
use actix_web::web;
use serde::{Deserialize, Serialize};

/// A place named in a case or item.
#[derive(Debug, Serialize)]
pub struct PlaceDto {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Level.
    pub level: &'static str,
}

/// The place with this code as the index knows it.
pub fn place_dto(index: &PlaceIndex, code: Option<&str>) -> Option<PlaceDto> {
    let p = index.place(code?)?;
    Some(PlaceDto {
        code: p.code.clone(),
        name: p.name.clone(),
        level: p.level.as_str(),
    })
}

/// A point in WGS-84.
#[derive(Debug, Serialize)]
pub struct PointDto {
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
}

/// A case without its items.
#[derive(Debug, Serialize)]
pub struct CaseDto {
    /// Id.
    pub id: String,
    /// Its district ('' while unplaced).
    pub district_code: String,
    /// The most precise place known.
    pub place: Option<PlaceDto>,
    /// Its point (WGS-84), when placed by one.
    pub location: Option<PointDto>,
    /// The building, when known.
    pub building_code: Option<String>,
    /// Topic code.
    pub topic: String,
    /// Workflow status.
    pub status: String,
    /// `hotline`, `patrol` or `mixed`.
    pub source: String,
    /// 0 normal; raised for group requests.
    pub priority: i32,
    /// 群体性诉求: tickets from at least the policy's number of different callers.
    pub group_request: bool,
    /// 重复诉求: a ticket repeats an earlier one of the same caller and topic.
    pub repeat_request: bool,
    /// Tickets in it.
    pub ticket_count: i32,
    /// Different callers.
    pub caller_count: i32,
    /// Patrol reports in it.
    pub report_count: i32,
    /// First item (RFC 3339, UTC).
    pub opened_at: String,
    /// Latest item.
    pub last_item_at: String,
    /// Bumped by every change.
    pub version: i32,
}

impl CaseDto {
    /// The DTO of a stored case.
    pub fn new(index: &PlaceIndex, c: CaseRow) -> CaseDto {
        CaseDto {
            place: place_dto(index, c.place_code.as_deref()),
            location: c.lon.zip(c.lat).map(|(lon, lat)| PointDto { lon, lat }),
            id: c.id,
            district_code: c.district_code,
            building_code: c.building_code,
            topic: c.topic_code,
            status: c.status,
            source: c.source,
            priority: c.priority,
            group_request: c.group_request,
            repeat_request: c.repeat_request,
            ticket_count: c.ticket_count,
            caller_count: c.caller_count,
            report_count: c.report_count,
            opened_at: time(c.opened_at),
            last_item_at: time(c.last_item_at),
            version: c.version,
        }
    }
}

/// A ticket's caller; `masked` says whether name and phone are masked.
#[derive(Debug, Serialize)]
pub struct CallerDto {
    /// Name (masked: 张*).
    pub name: String,
    /// Phone (masked: 138****5678).
    pub phone: String,
    /// The caller asked for confidentiality.
    pub confidential: bool,
    /// Whether name and phone are masked in this answer.
    pub masked: bool,
}

/// A hotline ticket.
#[derive(Debug, Serialize)]
pub struct TicketDto {
    /// Id.
    pub id: String,
    /// The hotline's number.
    pub ticket_no: String,
    /// Its case.
    pub case_id: String,
    /// Received (RFC 3339, UTC).
    pub received_at: String,
    /// Channel.
    pub channel: String,
    /// Request type.
    pub request_type: String,
    /// Topic code.
    pub topic: String,
    /// What the caller said.
    pub text: String,
    /// The caller.
    pub caller: CallerDto,
    /// Address as given.
    pub address: String,
    /// The point as given, in WGS-84.
    pub location: Option<PointDto>,
    /// point / cell / community / street / district / unknown.
    pub location_precision: String,
    /// Where it was placed.
    pub place: Option<PlaceDto>,
    /// The nearest building.
    pub building_code: Option<String>,
    /// The earlier ticket of the same caller and topic that this one repeats.
    pub repeat_of: Option<String>,
}

impl TicketDto {
    /// The DTO of a stored ticket; the caller unmasked only when `unmasked`.
    pub fn new(index: &PlaceIndex, t: TicketRow, unmasked: bool) -> TicketDto {
        let (name, phone) = if unmasked {
            (t.caller_name, t.caller_phone)
        } else {
            (mask_name(&t.caller_name), mask_phone(&t.caller_phone))
        };
        TicketDto {
            place: place_dto(index, t.place_code.as_deref()),
            location: t.lon.zip(t.lat).map(|(lon, lat)| PointDto { lon, lat }),
            id: t.id,
            ticket_no: t.ticket_no,
            case_id: t.case_id,
            received_at: time(t.received_at),
            channel: t.channel,
            request_type: t.request_type,
            topic: t.topic_code,
            text: t.body,
            caller: CallerDto {
                name,
                phone,
                confidential: t.caller_confidential,
                masked: !unmasked,
            },
            address: t.address_text,
            location_precision: t.location_precision,
            building_code: t.building_code,
            repeat_of: t.repeat_of,
        }
    }
}

/// A patrol report.
#[derive(Debug, Serialize)]
pub struct ReportDto {
    /// Id (the phone's UUID).
    pub id: String,
    /// Its case.
    pub case_id: String,
    /// The reporting user.
    pub reporter_id: String,
    /// When it was seen (RFC 3339, UTC).
    pub reported_at: String,
    /// Topic code.
    pub topic: String,
    /// Description.
    pub text: String,
    /// Where (WGS-84).
    pub location: PointDto,
    /// Its cell.
    pub place: Option<PlaceDto>,
    /// The nearest building.
    pub building_code: Option<String>,
    /// SHA-256 of its photos.
    pub photos: Vec<String>,
    /// Fixed on the spot (随手做).
    pub fixed_on_the_spot: bool,
    /// Reported outside the member's own cells.
    pub outside_scope: bool,
    /// 1 when filed, +1 on each edit; a phone's edit names the version it was made against.
    pub version: i32,
}

impl ReportDto {
    /// The DTO of a stored report.
    pub fn new(index: &PlaceIndex, r: ReportRow) -> ReportDto {
        ReportDto {
            place: place_dto(index, Some(&r.place_code)),
            photos: serde_json::from_str(&r.photos).unwrap_or_default(),
            location: PointDto {
                lon: r.lon,
                lat: r.lat,
            },
            id: r.id,
            case_id: r.case_id,
            reporter_id: r.reporter_id,
            reported_at: time(r.reported_at),
            topic: r.topic_code,
            text: r.body,
            building_code: r.building_code,
            fixed_on_the_spot: r.fixed_on_the_spot,
            outside_scope: r.outside_scope,
            version: r.version,
        }
    }
}

/// A merge decision and its reasons.
#[derive(Debug, Serialize)]
pub struct DecisionDto {
    /// Id.
    pub id: String,
    /// `ticket` or `report`.
    pub item_kind: String,
    /// The item.
    pub item_id: String,
    /// `opened` (a new case), `joined` (an open case) or `split` (moved out by a person).
    pub outcome: String,
    /// The case the item went to.
    pub case_id: String,
    /// For `joined`: the case chosen; for `split`: the case it left.
    pub candidate_case_id: Option<String>,
    /// Metres to the case's point.
    pub distance_m: Option<f64>,
    /// Hours after the case's latest item.
    pub age_hours: Option<f64>,
    /// 0..1, higher is closer.
    pub score: Option<f64>,
    /// In words.
    pub reason: String,
    /// `system` or who decided.
    pub actor: String,
    /// When (RFC 3339, UTC).
    pub decided_at: String,
    /// When it was undone, if it was.
    pub undone_at: Option<String>,
}

impl From<DecisionRow> for DecisionDto {
    fn from(d: DecisionRow) -> Self {
        DecisionDto {
            id: d.id,
            item_kind: d.item_kind,
            item_id: d.item_id,
            outcome: d.outcome,
            case_id: d.case_id,
            candidate_case_id: d.candidate_case_id,
            distance_m: d.distance_m,
            age_hours: d.age_hours,
            score: d.score,
            reason: d.reason,
            actor: d.actor,
            decided_at: time(d.decided_at),
            undone_at: d.undone_at.map(time),
        }
    }
}

/// Where a case's items came from.
const SOURCES: [&str; 4] = ["hotline", "patrol", "mixed", "proactive"];

/// Query of `GET /api/v1/cases`.
#[derive(Debug, Deserialize)]
pub struct CaseQuery {
    ticket_no: Option<String>,
    place: Option<String>,
    topic: Option<String>,
    status: Option<String>,
    source: Option<String>,
    group_request: Option<bool>,
    repeat_request: Option<bool>,
    unplaced: Option<bool>,
    overdue: Option<bool>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// A page of cases.
#[derive(Debug, Serialize)]
pub struct CasePage {
    /// Newest first.
    pub cases: Vec<CaseDto>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

fn code_param(
    name: &'static str,
    raw: Option<String>,
    ok: fn(&str) -> bool,
) -> Result<Option<String>, ApiError> {
    match raw.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) if ok(&s) => Ok(Some(s)),
        Some(s) => Err(ApiError::bad_request(
            "invalid_query",
            format!(
                "{name} {:?} is not valid",
                s.chars().take(40).collect::<String>()
            ),
        )),
    }
}

/// `GET /api/v1/cases`
pub async fn list(
    state: web::Data<AppState>,
    me: CurrentUser,
    q: Query<CaseQuery>,
) -> Result<web::Json<CasePage>, ApiError> {
    me.require(Permission::ReadCases)?;
    let q = q.into_inner();
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    let filter = CaseFilter {
        ticket_no: code_param("ticket_no", q.ticket_no, is_ticket_no)?,
        place: code_param("place", q.place, |s| {
            crate::geo::place::PlaceCode::parse(s).is_some()
        })?,
        topic: code_param("topic", q.topic, |s| {
            crate::domain::topic::TopicCode::parse(s).is_some()
        })?,
        status: one_of("status", q.status, &statuses)?,
        source: one_of("source", q.source, &SOURCES)?,
        group_request: q.group_request,
        repeat_request: q.repeat_request,
        unplaced: q.unplaced,
        overdue_at: q.overdue.unwrap_or(false).then(|| state.clock.now()),
        from: parse_time("from", q.from.as_deref())?,
        to: parse_time("to", q.to.as_deref())?,
        ..CaseFilter::default()
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=service::MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be from 1 to {}", service::MAX_PAGE),
        ));
    }
    let db = state.db.clone();
    let user = me.user.clone();
    let cursor = q.cursor;
    let (rows, next) =
        web::block(move || service::list(&db, &user, filter, cursor.as_deref(), limit)).await??;
    Ok(web::Json(CasePage {
        cases: rows
            .into_iter()
            .map(|c| CaseDto::new(&state.index, c))
            .collect(),
        next_cursor: next,
    }))
}

/// A case with everything in it.
#[derive(Debug, Serialize)]
pub struct CaseDetailDto {
    /// The case.
    pub case: CaseDto,
    /// Its tickets, each keeping its own caller.
    pub tickets: Vec<TicketDto>,
    /// Its patrol reports.
    pub reports: Vec<ReportDto>,
    /// Merge decisions about it, in time order.
    pub merges: Vec<DecisionDto>,
    /// The responsibility chain of its place when it opened.
    pub chain: Vec<LinkDto>,
    /// The workflow steps taken on it, in order.
    pub transitions: Vec<TransitionDto>,
    /// The work once dispatched: handler, clocks, returns, escalation.
    pub work: Option<WorkDto>,
    /// Departments whistled to it and whether they reported in on time.
    pub whistle_calls: Vec<WhistleCallDto>,
    /// Escalation rungs crossed.
    pub escalations: Vec<EscalationDto>,
    /// Callbacks per ticket and round.
    pub callbacks: Vec<CallbackDto>,
    /// The steps the reader may take now, and what each needs.
    pub next_steps: Vec<StepDto>,
}

/// `?reason=&callers=`
#[derive(Debug, Deserialize)]
pub struct ReasonQuery {
    reason: Option<String>,
    callers: Option<String>,
}

/// `GET /api/v1/cases/{id}?reason=`
pub async fn get(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<String>,
    q: Query<ReasonQuery>,
) -> Result<web::Json<CaseDetailDto>, ApiError> {
    me.require(Permission::ReadCases)?;
    let db = state.db.clone();
    let now = state.clock.now();
    let user = me.user.clone();
    let id = id.into_inner();
    let q = q.into_inner();
    let reveal = one_of("callers", q.callers, &["shown", "masked"])?.as_deref() != Some("masked");
    let reason = q.reason;
    let d = web::block(move || service::detail(&db, &user, &id, reason.as_deref(), reveal, now))
        .await??;
    let index = &state.index;
    let next_steps = d.next_steps.into_iter().map(StepDto::from).collect();
    let now = state.clock.now();
    Ok(web::Json(CaseDetailDto {
        next_steps,
        work: d.work.map(|w| WorkDto::new(w, now)),
        whistle_calls: d
            .whistle_calls
            .into_iter()
            .map(|w| WhistleCallDto::new(w, now))
            .collect(),
        escalations: d.escalations.into_iter().map(EscalationDto::from).collect(),
        callbacks: d.callbacks.into_iter().map(CallbackDto::from).collect(),
        transitions: d.transitions.into_iter().map(TransitionDto::from).collect(),
        case: CaseDto::new(index, d.case),
        tickets: d
            .tickets
            .into_iter()
            .map(|(t, unmasked)| TicketDto::new(index, t, unmasked))
            .collect(),
        reports: d
            .reports
            .into_iter()
            .map(|r| ReportDto::new(index, r))
            .collect(),
        merges: d.decisions.into_iter().map(DecisionDto::from).collect(),
        chain: d.chain.into_iter().map(LinkDto::from).collect(),
    }))
}

/// The two cases after an unmerge.
#[derive(Debug, Serialize)]
pub struct Unmerged {
    /// The case the item left, recomputed.
    pub case: CaseDto,
    /// The item's own case.
    pub split_case: CaseDto,
}

/// `POST /api/v1/cases/{id}/unmerge`
pub async fn unmerge(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<String>,
    body: web::Json<UnmergeInput>,
) -> Result<web::Json<Unmerged>, ApiError> {
    me.require(Permission::Unmerge)?;
    let db = state.db.clone();
    let now = state.clock.now();
    let user = me.user.clone();
    let id = id.into_inner();
    let (old, fresh) =
        web::block(move || merge::unmerge(&db, &user, &id, &body.into_inner(), now)).await??;
    Ok(web::Json(Unmerged {
        case: CaseDto::new(&state.index, old),
        split_case: CaseDto::new(&state.index, fresh),
    }))
}
