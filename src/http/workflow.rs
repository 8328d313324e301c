//! The case workflow: `POST /api/v1/cases/{id}/transitions` takes a step; the case detail shows the history and the
//! steps the reader may take next.

use crate::domain::access::Permission;
use crate::domain::workflow::Step;
use crate::error::ApiError;
use crate::http::access::CurrentUser;
use crate::http::cases::CaseDto;
use crate::http::state::AppState;
use crate::service::cases::workflow::{self as service, TransitionInput};
use crate::store::workflow::TransitionRow;
use actix_web::{HttpResponse, web};
use serde::Serialize;

/// A step taken on a case.
#[derive(Debug, Serialize)]
pub struct TransitionDto {
    /// Id.
    pub id: String,
    /// 1, 2, ... within the case.
    pub seq: i32,
    /// The action.
    pub action: String,
    /// Status before.
    pub from: String,
    /// Status after.
    pub to: String,
    /// Who (user id).
    pub actor_id: String,
    /// Their name then.
    pub actor_name: String,
    /// Their role then.
    pub actor_role: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Reason or note.
    pub note: String,
    /// What the step needed: targets, days, into_case, callback.
    pub details: serde_json::Value,
    /// SHA-256 of the evidence photos.
    pub evidence: Vec<String>,
}

impl From<TransitionRow> for TransitionDto {
    fn from(t: TransitionRow) -> Self {
        TransitionDto {
            id: t.id,
            seq: t.seq,
            action: t.action,
            from: t.from_status,
            to: t.to_status,
            actor_id: t.actor_id,
            actor_name: t.actor_name,
            actor_role: t.actor_role,
            at: crate::domain::time::rfc3339(t.at),
            note: t.note,
            details: serde_json::from_str(&t.details).unwrap_or_default(),
            evidence: serde_json::from_str(&t.evidence).unwrap_or_default(),
        }
    }
}

/// A step the reader may take now, and what it needs.
#[derive(Debug, Serialize)]
pub struct StepDto {
    /// The action.
    pub action: &'static str,
    /// The status it leads to.
    pub to: &'static str,
    /// What it needs.
    pub needs: crate::domain::workflow::Needs,
}

impl From<Step> for StepDto {
    fn from(s: Step) -> Self {
        StepDto {
            action: s.action.as_str(),
            to: s.to.as_str(),
            needs: s.needs,
        }
    }
}

/// The answer to a step: the case as it is now and the step recorded.
#[derive(Debug, Serialize)]
pub struct Transitioned {
    /// The case.
    pub case: CaseDto,
    /// The step.
    pub transition: TransitionDto,
    /// What the user may do next.
    pub next_steps: Vec<StepDto>,
}

/// `POST /api/v1/cases/{id}/transitions`
pub async fn transition(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<String>,
    body: web::Json<TransitionInput>,
) -> Result<HttpResponse, ApiError> {
    me.require(Permission::ReadCases)?;
    let db = state.db.clone();
    let user = me.user.clone();
    let id = id.into_inner();
    let at = state.clock.now();
    let (case, step, next_steps) = web::block(move || {
        let (case, step) = service::transition(&db, &user, &id, &body.into_inner(), at)?;
        let next = service::next_steps_now(&db, &user, &case)?;
        Ok::<_, service::WorkflowError>((case, step, next))
    })
    .await??;
    let next_steps = next_steps.into_iter().map(StepDto::from).collect();
    Ok(HttpResponse::Created().json(Transitioned {
        case: CaseDto::new(&state.index, case),
        transition: TransitionDto::from(step),
        next_steps,
    }))
}
