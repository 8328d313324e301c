//! `GET /api/v1/my/overview`: the reader's own places at a glance (see `service::overview`).

use crate::domain::access::Permission;
use crate::domain::time::rfc3339;
use crate::error::ApiError;
use crate::http::access::CurrentUser;
use crate::http::query::{NoParameters, Query};
use crate::http::state::AppState;
use crate::service::analytics::overview::{self as service, Overview};
use actix_web::web;
use serde::Serialize;

/// One of the reader's places.
#[derive(Debug, Serialize)]
pub struct OverviewPlaceDto {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Level.
    pub level: &'static str,
    /// Unfinished cases (open or overdue).
    pub open: i64,
    /// Of those, past their completion deadline.
    pub overdue: i64,
    /// Unfinished cases that crossed an escalation rung (催办, 督办, ...).
    pub escalated: i64,
}

/// One link of a cell's chain.
#[derive(Debug, Serialize)]
pub struct OverviewLinkDto {
    /// The kind (grid_member, community_secretary, village_cadre, street_office, ...).
    pub kind: &'static str,
    /// The person named.
    pub person: Option<String>,
    /// The unit named.
    pub unit: Option<String>,
    /// A level above answers because nobody is assigned here.
    pub fallback: bool,
}

/// A case late in a cell, and who handles it.
#[derive(Debug, Serialize)]
pub struct LateDto {
    /// Case id.
    pub case_id: String,
    /// Topic.
    pub topic: String,
    /// Status.
    pub status: String,
    /// When handling was due (UTC).
    pub due_at: String,
    /// Escalation rung reached (0: none).
    pub rung: i32,
    /// The unit handling it.
    pub handler_unit_id: Option<String>,
    /// Who accepted it.
    pub accepted_by: Option<String>,
}

/// A cell of the reader's places.
#[derive(Debug, Serialize)]
pub struct OverviewCellDto {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Whether a patrol report was filed in the cell today (Beijing day).
    pub patrolled_today: bool,
    /// How many.
    pub reports_today: i64,
    /// The grid member answering for the cell (null: nobody assigned).
    pub grid_member: Option<String>,
    /// The chain, top-down.
    pub chain: Vec<OverviewLinkDto>,
    /// Unfinished cases past their completion deadline, most overdue first.
    pub late: Vec<LateDto>,
}

/// The overview.
#[derive(Debug, Serialize)]
pub struct OverviewDto {
    /// When it was read (UTC).
    pub at: String,
    /// Today, Beijing.
    pub day: String,
    /// The places one level below the jurisdiction.
    pub places: Vec<OverviewPlaceDto>,
    /// Cells in the jurisdiction.
    pub cells_total: usize,
    /// Of those, with a patrol report today.
    pub cells_patrolled: usize,
    /// Without one.
    pub cells_not_patrolled: usize,
    /// Whether `cells` was left empty or cut (the city's readers; over 5,000 cells).
    pub cells_truncated: bool,
    /// The cells.
    pub cells: Vec<OverviewCellDto>,
}

impl From<Overview> for OverviewDto {
    fn from(o: Overview) -> Self {
        OverviewDto {
            at: rfc3339(o.at),
            day: o.day.to_string(),
            places: o
                .places
                .into_iter()
                .map(|p| OverviewPlaceDto {
                    code: p.code,
                    name: p.name,
                    level: p.level.as_str(),
                    open: p.open,
                    overdue: p.overdue,
                    escalated: p.escalated,
                })
                .collect(),
            cells_total: o.cells_total,
            cells_patrolled: o.cells_patrolled,
            cells_not_patrolled: o.cells_total - o.cells_patrolled,
            cells_truncated: o.cells_truncated,
            cells: o
                .cells
                .into_iter()
                .map(|c| OverviewCellDto {
                    code: c.code,
                    name: c.name,
                    patrolled_today: c.reports_today > 0,
                    reports_today: c.reports_today,
                    grid_member: c.grid_member,
                    chain: c
                        .chain
                        .into_iter()
                        .map(|l| OverviewLinkDto {
                            kind: l.kind,
                            person: l.person,
                            unit: l.unit,
                            fallback: l.fallback,
                        })
                        .collect(),
                    late: c
                        .late
                        .into_iter()
                        .map(|k| LateDto {
                            case_id: k.id,
                            topic: k.topic_code,
                            status: k.status,
                            due_at: rfc3339(k.complete_due_at),
                            rung: k.rung,
                            handler_unit_id: k.handler_unit_id,
                            accepted_by: k.accepted_by_name,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// `GET /api/v1/my/overview`.
pub async fn get(
    state: web::Data<AppState>,
    me: CurrentUser,
    _q: Query<NoParameters>,
) -> Result<web::Json<OverviewDto>, ApiError> {
    me.require(Permission::ReadCases)?;
    let now = state.clock.now();
    let (st, user) = (state.clone(), me.user);
    let o =
        web::block(move || service::overview(&st.db, &st.index, &st.chain, &user, now)).await??;
    Ok(web::Json(o.into()))
}
