//! The pull feed of offline sync: `GET /api/v1/sync/pull?cursor=&limit=` — what changed in the signed-in user's
//! jurisdiction since their cursor (see `service::sync::pull`).

use crate::domain::access::Permission;
use crate::error::ApiError;
use crate::geo::layers::GeometryOut;
use crate::http::access::CurrentUser;
use crate::http::cases::{CaseDto, ReportDto};
use crate::http::chain::ChainDto;
use crate::http::intake::TopicDto;
use crate::http::query::Query;
use crate::http::state::AppState;
use crate::http::workflow::{StepDto, TransitionDto};
use crate::service::sync::pull::{self as service, Page, PullError, PullInput};
use actix_web::web;
use serde::{Deserialize, Serialize};

/// `?cursor=&limit=`
#[derive(Debug, Deserialize)]
pub struct PullQuery {
    cursor: Option<String>,
    limit: Option<String>,
}

/// A case as pulled: the case, its history and the steps the reader may take (their task when not empty).
#[derive(Debug, Serialize)]
pub struct PulledCaseDto {
    /// The case.
    #[serde(flatten)]
    pub case: CaseDto,
    /// Its workflow steps so far, in order.
    pub history: Vec<TransitionDto>,
    /// The steps the reader's role may take now; not empty means the case is one of their tasks.
    pub actions: Vec<StepDto>,
}

/// Something that left the reader's places.
#[derive(Debug, Serialize)]
pub struct TombstoneDto {
    /// `case` or `report`.
    pub kind: String,
    /// Its id.
    pub id: String,
    /// The place it left.
    pub place_code: String,
}

/// A cell of the reference data.
#[derive(Debug, Serialize)]
pub struct RefCellDto {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Its community.
    pub parent: Option<String>,
    /// In the reader's jurisdiction (else a neighbouring cell).
    pub in_scope: bool,
    /// Outline, WGS-84, simplified.
    pub geometry: GeometryOut,
}

/// Reference data for working offline.
#[derive(Debug, Serialize)]
pub struct ReferenceDto {
    /// The reader's cells and the cells around them.
    pub cells: Vec<RefCellDto>,
    /// The jurisdiction has too many cells to send.
    pub cells_omitted: bool,
    /// The tolerance the outlines were simplified to, metres.
    pub simplified_m: f64,
    /// The responsibility chain of each of the reader's cells now.
    pub chains: Vec<ChainDto>,
    /// The topic taxonomy.
    pub topics: Vec<TopicDto>,
}

/// One page of the feed.
#[derive(Debug, Serialize)]
pub struct PullPage {
    /// Pass it back to get what changed after this page.
    pub next_cursor: String,
    /// More changes wait: pull again at once.
    pub has_more: bool,
    /// This pull starts from nothing: replace what the phone holds with what the pages from here bring.
    pub reset: bool,
    /// Cases changed or come into the reader's places, in change order.
    pub cases: Vec<PulledCaseDto>,
    /// Patrol reports changed, in change order.
    pub reports: Vec<ReportDto>,
    /// What left the reader's places.
    pub tombstones: Vec<TombstoneDto>,
    /// Reference data: on a fresh start only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<ReferenceDto>,
}

fn parse_limit(raw: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    match raw.parse::<i64>() {
        Ok(n) if (1..=service::MAX_LIMIT).contains(&n) => Ok(Some(n)),
        _ => Err(PullError::InvalidLimit.into()),
    }
}

fn page_dto(state: &AppState, page: Page) -> PullPage {
    let index = &state.index;
    PullPage {
        next_cursor: page.next_cursor,
        has_more: page.has_more,
        reset: page.reset,
        cases: page
            .cases
            .into_iter()
            .map(|k| PulledCaseDto {
                case: CaseDto::new(index, k.case),
                history: k.history.into_iter().map(TransitionDto::from).collect(),
                actions: k.actions.into_iter().map(StepDto::from).collect(),
            })
            .collect(),
        reports: page
            .reports
            .into_iter()
            .map(|r| ReportDto::new(index, r))
            .collect(),
        tombstones: page
            .tombstones
            .into_iter()
            .map(|t| TombstoneDto {
                kind: t.kind,
                id: t.id,
                place_code: t.place_code,
            })
            .collect(),
        reference: page.reference.map(|r| ReferenceDto {
            cells: r
                .cells
                .into_iter()
                .map(|c| RefCellDto {
                    geometry: GeometryOut::from_multipolygon(&c.geometry),
                    code: c.code,
                    name: c.name,
                    parent: c.parent,
                    in_scope: c.in_scope,
                })
                .collect(),
            cells_omitted: r.cells_omitted,
            simplified_m: service::REFERENCE_SIMPLIFY_M,
            chains: r.chains.into_iter().map(ChainDto::from).collect(),
            topics: r.topics.into_iter().map(TopicDto::from).collect(),
        }),
    }
}

/// `GET /api/v1/sync/pull?cursor=&limit=`
pub async fn pull(
    state: web::Data<AppState>,
    me: CurrentUser,
    q: Query<PullQuery>,
) -> Result<web::Json<PullPage>, ApiError> {
    me.require(Permission::ReadCases)?;
    let input = PullInput {
        cursor: q.cursor.clone(),
        limit: parse_limit(q.limit.as_deref())?,
    };
    let st = state.clone();
    let user = me.user;
    let now = state.clock.now();
    let page = web::block(move || service::pull(&st.db, &st.index, &st.chain, &user, &input, now))
        .await??;
    Ok(web::Json(page_dto(&state, page)))
}
