//! Intake: `GET /api/v1/topics`, `POST /api/v1/tickets` (the hotline) and `POST /api/v1/reports` (grid members).

use crate::domain::access::Permission;
use crate::error::ApiError;
use crate::http::access::CurrentUser;
use crate::http::cases::{CaseDto, DecisionDto, ReportDto, TicketDto};
use crate::http::query::{NoParameters, Query};
use crate::http::state::AppState;
use crate::service::admin::topics;
use crate::service::intake::{self as service, ReportInput, TicketInput};
use actix_web::{HttpResponse, web};
use serde::Serialize;

/// A topic or class of the taxonomy.
#[derive(Debug, Serialize)]
pub struct TopicDto {
    /// Code: two digits for a class, four for a topic.
    pub code: String,
    /// The class of a topic.
    pub parent_code: Option<String>,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Default time class: 2h, 24h, 7d or 15d.
    pub time_class: String,
    /// Grid class: part (部件) or event (事件).
    pub grid_class: String,
    /// The department the dispatch catalogue names.
    pub department: String,
    /// Items within this many metres may merge (0: not by distance).
    pub merge_radius_m: i32,
    /// Items within this many hours of a case's latest item may merge.
    pub merge_window_hours: i32,
    /// Items at the same building merge.
    pub merge_same_building: bool,
    /// Whether new items may use it.
    pub active: bool,
    /// The time of year its problems come, `MM-DD..MM-DD` (both days included; spanning the new year when it ends
    /// before it starts); `None`: all year.
    pub season: Option<String>,
}

impl From<crate::store::topics::TopicRow> for TopicDto {
    fn from(r: crate::store::topics::TopicRow) -> Self {
        TopicDto {
            code: r.code,
            parent_code: r.parent_code,
            name_zh: r.name_zh,
            name_en: r.name_en,
            time_class: r.time_class,
            grid_class: r.grid_class,
            department: r.department,
            merge_radius_m: r.merge_radius_m,
            merge_window_hours: r.merge_window_hours,
            merge_same_building: r.merge_same_building,
            active: r.active,
            season: r.season,
        }
    }
}

/// The taxonomy.
#[derive(Debug, Serialize)]
pub struct Topics {
    /// In code order.
    pub topics: Vec<TopicDto>,
}

/// `GET /api/v1/topics`
pub async fn list_topics(
    state: web::Data<AppState>,
    _q: Query<NoParameters>,
) -> Result<web::Json<Topics>, ApiError> {
    let db = state.db.clone();
    let rows = web::block(move || topics::list(&db)).await??;
    Ok(web::Json(Topics {
        topics: rows.into_iter().map(TopicDto::from).collect(),
    }))
}

/// The answer to filing an item: the item, its case as it is now, and the merge decision.
#[derive(Debug, Serialize)]
pub struct FiledDto<T> {
    /// The item.
    #[serde(flatten)]
    pub item: T,
    /// Its case.
    pub case: CaseDto,
    /// Why it is in that case.
    pub merge: Option<DecisionDto>,
    /// False when this item had been filed before (this is the first result again).
    pub created: bool,
}

fn answer<T: Serialize>(created: bool, body: FiledDto<T>) -> HttpResponse {
    if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    }
}

/// The filed ticket.
#[derive(Debug, Serialize)]
pub struct FiledTicket {
    /// The ticket (its caller masked: the filer already has it).
    pub ticket: TicketDto,
}

/// `POST /api/v1/tickets`
pub async fn file_ticket(
    state: web::Data<AppState>,
    me: CurrentUser,
    body: web::Json<TicketInput>,
) -> Result<HttpResponse, ApiError> {
    me.require(Permission::FileTickets)?;
    let input = body.into_inner();
    // Checking and placing a ticket is pure computation over the in-memory indexes: no need for a blocking thread.
    let prepared = service::prepare_ticket(&state.geo(), &input, &me.user, state.clock.now())?;
    let f = state.tickets.file(prepared, state.clock.now()).await?;
    let index = &state.index;
    Ok(answer(
        f.created,
        FiledDto {
            item: FiledTicket {
                ticket: TicketDto::new(index, f.item, false),
            },
            case: CaseDto::new(index, f.case),
            merge: f.decision.map(DecisionDto::from),
            created: f.created,
        },
    ))
}

/// The filed report.
#[derive(Debug, Serialize)]
pub struct FiledReport {
    /// The report.
    pub report: ReportDto,
}

/// `POST /api/v1/reports`
pub async fn file_report(
    state: web::Data<AppState>,
    me: CurrentUser,
    body: web::Json<ReportInput>,
) -> Result<HttpResponse, ApiError> {
    me.require(Permission::FileReports)?;
    let st = state.clone();
    let user = me.user.clone();
    let now = st.clock.now();
    let f =
        web::block(move || service::file_report(&st.db, &st.geo(), &body, &user, now)).await??;
    let index = &state.index;
    Ok(answer(
        f.created,
        FiledDto {
            item: FiledReport {
                report: ReportDto::new(index, f.item),
            },
            case: CaseDto::new(index, f.case),
            merge: f.decision.map(DecisionDto::from),
            created: f.created,
        },
    ))
}
