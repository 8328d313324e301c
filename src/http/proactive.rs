//! `POST /api/v1/scans/{id}/tasks` (turn clusters of a finished scan into proactive cases, 未诉先办) and
//! `GET /api/v1/proactive` (the proactive cases the reader may see, newest first, with their "did it work"
//! figures). See `crate::service::hotspots::proactive`.

use crate::domain::access::Permission;
use crate::domain::time::rfc3339;
use crate::error::ApiError;
use crate::http::access::CurrentUser;
use crate::http::query::{Query, paging};
use crate::http::state::AppState;
use crate::service::hotspots::proactive::{
    self as service, Figure, MAX_PAGE, Proactive, ScanOutcome, TaskRequest, Tasked,
};
use crate::store::proactive::TaskRow;
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// What a case was made on.
#[derive(Debug, Serialize)]
pub struct EvidenceDto {
    /// The scan.
    pub scan_id: String,
    /// The cluster's rank (or the pattern's position in an emerging scan).
    pub cluster: i32,
    /// The topic the scan reported it under (empty: all topics).
    pub scanned_topic: String,
    /// The level of its units.
    pub level: String,
    /// Its units.
    pub units: Vec<String>,
    /// The strongest Gi* z (gistar scans).
    pub strongest_z: Option<f64>,
    /// The emerging hot spot category (emerging scans).
    pub trend: Option<String>,
    /// First day of the scan's window.
    pub window_from: NaiveDate,
    /// Last day of the scan's window.
    pub window_to: NaiveDate,
    /// Calls on the case's topic in the cluster in the window.
    pub window_tickets: i64,
    /// Calls expected from the scan's baseline.
    pub baseline_tickets: Option<f64>,
}

impl EvidenceDto {
    fn new(t: &TaskRow) -> EvidenceDto {
        EvidenceDto {
            scan_id: t.scan_id.clone(),
            cluster: t.cluster,
            scanned_topic: t.scanned_topic.clone(),
            level: t.level.clone(),
            units: t.units.split(',').map(str::to_owned).collect(),
            strongest_z: t.strongest_z,
            trend: t.trend.clone(),
            window_from: t.window_from,
            window_to: t.window_to,
            window_tickets: t.window_tickets,
            baseline_tickets: t.baseline_tickets,
        }
    }
}

/// One cluster tasked.
#[derive(Debug, Serialize)]
pub struct TaskedDto {
    /// The cluster.
    pub cluster: i32,
    /// Whether this request made the case (false: it was tasked before).
    pub created: bool,
    /// The case.
    pub case_id: String,
    /// Its status now (`dispatched` when the dispatch rules routed it, else `received`).
    pub status: String,
    /// Its topic.
    pub topic: String,
    /// The cell it is placed on.
    pub place_code: String,
    /// Who tasked it, when.
    pub created_by: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// What it was made on.
    pub evidence: EvidenceDto,
}

impl TaskedDto {
    fn new(t: Tasked) -> TaskedDto {
        TaskedDto {
            cluster: t.task.cluster,
            created: t.created,
            case_id: t.case.id,
            status: t.case.status,
            topic: t.task.topic_code.clone(),
            place_code: t.task.place_code.clone(),
            created_by: t.task.created_by.clone(),
            created_at: rfc3339(t.task.created_at),
            evidence: EvidenceDto::new(&t.task),
        }
    }
}

/// The answer of `POST /api/v1/scans/{id}/tasks`.
#[derive(Debug, Serialize)]
pub struct TaskAnswer {
    /// The scan.
    pub scan_id: String,
    /// One per cluster asked for, in order.
    pub tasks: Vec<TaskedDto>,
}

/// `POST /api/v1/scans/{id}/tasks`: 201 when a case was made, 200 when every cluster was tasked before.
pub async fn create(
    state: web::Data<AppState>,
    me: CurrentUser,
    path: web::Path<String>,
    body: web::Json<TaskRequest>,
) -> Result<HttpResponse, ApiError> {
    me.require(Permission::TaskProactive)?;
    let (st, user, id, req) = (state.clone(), me.user, path.into_inner(), body.into_inner());
    let scan_id = id.clone();
    let tasked =
        web::block(move || service::task(&st.db, &st.geo(), &st.clock, &user, &scan_id, &req))
            .await??;
    let created = tasked.iter().any(|t| t.created);
    let answer = TaskAnswer {
        scan_id: id,
        tasks: tasked.into_iter().map(TaskedDto::new).collect(),
    };
    Ok(if created {
        HttpResponse::Created().json(answer)
    } else {
        HttpResponse::Ok().json(answer)
    })
}

/// A proactive case with its figures.
#[derive(Debug, Serialize)]
pub struct ProactiveDto {
    /// The case.
    pub case_id: String,
    /// Its status.
    pub status: String,
    /// Its topic.
    pub topic: String,
    /// The cell it is placed on.
    pub place_code: String,
    /// Who tasked it.
    pub created_by: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// When it closed (RFC 3339).
    pub closed_at: Option<String>,
    /// What it was made on.
    pub evidence: EvidenceDto,
    /// Calls on its topic in its cluster in the days before it was made.
    pub before: Figure,
    /// The same in the days after it closed (`tickets` null until those days are over; null while open).
    pub after: Option<Figure>,
    /// `cooled`, `not_cooled` or `not_yet`.
    pub outcome: &'static str,
    /// The outcome in words.
    pub note: String,
}

impl ProactiveDto {
    fn new(p: Proactive) -> ProactiveDto {
        ProactiveDto {
            evidence: EvidenceDto::new(&p.task),
            case_id: p.task.case_id,
            status: p.status,
            topic: p.task.topic_code,
            place_code: p.task.place_code,
            created_by: p.task.created_by,
            created_at: rfc3339(p.task.created_at),
            closed_at: p.closed_at.map(rfc3339),
            before: p.before,
            after: p.after,
            outcome: p.outcome,
            note: p.note,
        }
    }
}

/// A page of proactive cases.
#[derive(Debug, Serialize)]
pub struct ProactiveList {
    /// Newest first.
    pub tasks: Vec<ProactiveDto>,
    /// The scans of the page's cases: how many of their tasked clusters cooled.
    pub scans: Vec<ScanOutcome>,
    /// The page (from 1).
    pub page: usize,
    /// Cases per page.
    pub per_page: usize,
    /// Cases the reader may see, in all.
    pub total: usize,
}

/// `GET /api/v1/proactive` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// One scan's cases only.
    pub scan: Option<String>,
    /// Page, from 1.
    pub page: Option<usize>,
    /// Cases per page (1 to 100, default 20).
    pub per_page: Option<usize>,
}

/// `GET /api/v1/proactive`: the reader's proactive cases, newest first, with their figures.
pub async fn list(
    state: web::Data<AppState>,
    me: CurrentUser,
    q: Query<ListQuery>,
) -> Result<web::Json<ProactiveList>, ApiError> {
    me.require(Permission::ReadCases)?;
    let (page, per_page) = paging(q.page, q.per_page);
    let scan = q.scan.clone();
    let (st, user) = (state.clone(), me.user);
    let found = web::block(move || {
        service::list(&st.db, &st.clock, &user, scan.as_deref(), page, per_page)
    })
    .await??;
    Ok(web::Json(ProactiveList {
        tasks: found.items.into_iter().map(ProactiveDto::new).collect(),
        scans: found.scans,
        page,
        per_page: per_page.min(MAX_PAGE),
        total: found.total,
    }))
}
