//! The monthly assessment: `GET /api/v1/assessment?month=YYYY-MM&level=street|district|department|handler`, ranked,
//! within the reader's jurisdiction. The DTOs here are also what `gridline report assessment --format json` prints.

use crate::error::ApiError;
use crate::http::access::CurrentUser;
use crate::http::query::{Query, one_of};
use crate::http::state::AppState;
use crate::service::assessment::{self as service, Assessment, Entry};
use actix_web::web;
use serde::{Deserialize, Serialize};

/// Query parameters.
#[derive(Debug, Deserialize)]
pub struct AssessmentQuery {
    /// `YYYY-MM` (Beijing time).
    pub month: Option<String>,
    /// `street` (default), `district`, `department` or `handler`.
    pub level: Option<String>,
}

/// The weights and points the figures were computed with.
#[derive(Debug, Serialize)]
pub struct PolicyDto {
    /// Weight of the response rate in the score.
    pub response_weight: f64,
    /// Weight of the resolution rate.
    pub resolution_weight: f64,
    /// Weight of the satisfaction rate.
    pub satisfaction_weight: f64,
    /// What a partly resolved ticket counts.
    pub partly_weight: f64,
    /// What a basically satisfied caller counts.
    pub basic_weight: f64,
    /// Points for resolved and satisfied.
    pub points_both: f64,
    /// Points when one of the two is missing (单否).
    pub points_one_missing: f64,
    /// Points when both are missing (双否).
    pub points_both_missing: f64,
    /// Points added for a reply without evidence.
    pub points_no_evidence: f64,
}

/// Month-on-month changes.
#[derive(Debug, Serialize)]
pub struct ChangeDto {
    /// Response rate, this month − previous.
    pub response_rate: Option<f64>,
    /// Resolution rate.
    pub resolution_rate: Option<f64>,
    /// Satisfaction rate.
    pub satisfaction_rate: Option<f64>,
    /// Score.
    pub score: Option<f64>,
}

/// Whistle report-ins of a department.
#[derive(Debug, Serialize)]
pub struct WhistleDto {
    /// Times summoned.
    pub summoned: i64,
    /// Reported in late.
    pub late: i64,
    /// Not reported in past the deadline.
    pub missing: i64,
}

/// One ranked entity.
#[derive(Debug, Serialize)]
pub struct EntryDto {
    /// 1 = highest score; null without a score.
    pub rank: Option<usize>,
    /// Street or district code, unit id (department) or user id (handler).
    pub code: String,
    /// Name.
    pub name: Option<String>,
    /// Tickets dispatched in the month.
    pub tickets: i64,
    /// Accepted by the response deadline.
    pub responded: i64,
    /// Latest callback reached the caller.
    pub reached: i64,
    /// Resolved.
    pub resolved: i64,
    /// Partly resolved.
    pub partly_resolved: i64,
    /// Not resolved.
    pub unresolved: i64,
    /// Satisfied.
    pub satisfied: i64,
    /// Basically satisfied.
    pub basically_satisfied: i64,
    /// Dissatisfied.
    pub dissatisfied: i64,
    /// 响应率.
    pub response_rate: Option<f64>,
    /// 解决率.
    pub resolution_rate: Option<f64>,
    /// 满意率.
    pub satisfaction_rate: Option<f64>,
    /// Composite score.
    pub score: Option<f64>,
    /// Points.
    pub points: f64,
    /// Against the previous month.
    pub change: ChangeDto,
    /// Departments only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whistles: Option<WhistleDto>,
}

/// The assessment.
#[derive(Debug, Serialize)]
pub struct AssessmentDto {
    /// `YYYY-MM`.
    pub month: String,
    /// The month compared with.
    pub previous_month: String,
    /// The level.
    pub level: &'static str,
    /// Weights and points used.
    pub policy: PolicyDto,
    /// Ranked entities.
    pub entries: Vec<EntryDto>,
}

impl From<Entry> for EntryDto {
    fn from(e: Entry) -> Self {
        let c = e.counts;
        EntryDto {
            rank: e.rank,
            code: e.code,
            name: e.name,
            tickets: c.tickets,
            responded: c.responded,
            reached: c.reached,
            resolved: c.resolved,
            partly_resolved: c.partly,
            unresolved: c.unresolved,
            satisfied: c.satisfied,
            basically_satisfied: c.basic,
            dissatisfied: c.dissatisfied,
            response_rate: e.rates.response,
            resolution_rate: e.rates.resolution,
            satisfaction_rate: e.rates.satisfaction,
            score: e.rates.score,
            points: e.points,
            change: ChangeDto {
                response_rate: e.change.response,
                resolution_rate: e.change.resolution,
                satisfaction_rate: e.change.satisfaction,
                score: e.change.score,
            },
            whistles: e.whistles.map(|w| WhistleDto {
                summoned: w.summoned,
                late: w.late,
                missing: w.missing,
            }),
        }
    }
}

impl From<Assessment> for AssessmentDto {
    fn from(a: Assessment) -> Self {
        let p = a.policy;
        AssessmentDto {
            month: a.month.to_string(),
            previous_month: a.previous.to_string(),
            level: a.level.as_str(),
            policy: PolicyDto {
                response_weight: p.response_weight,
                resolution_weight: p.resolution_weight,
                satisfaction_weight: p.satisfaction_weight,
                partly_weight: p.partly_weight,
                basic_weight: p.basic_weight,
                points_both: p.points_both,
                points_one_missing: p.points_one_missing,
                points_both_missing: p.points_both_missing,
                points_no_evidence: p.points_no_evidence,
            },
            entries: a.entries.into_iter().map(EntryDto::from).collect(),
        }
    }
}

/// `GET /api/v1/assessment`
pub async fn get(
    state: web::Data<AppState>,
    me: CurrentUser,
    q: Query<AssessmentQuery>,
) -> Result<web::Json<AssessmentDto>, ApiError> {
    let month = service::parse_month(q.month.as_deref())?;
    let q = q.into_inner();
    let level = one_of(
        "level",
        q.level,
        &crate::domain::assessment::Level::ALL.map(crate::domain::assessment::Level::as_str),
    )?;
    let level = service::parse_level(level.as_deref())?;
    let db = state.db.clone();
    let user = me.user;
    let now = state.clock.now();
    let a = web::block(move || service::assess(&db, &user, month, level, now)).await??;
    Ok(web::Json(a.into()))
}
