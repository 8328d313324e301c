//! `GET /api/v1/forewarnings`: the seasonal forewarnings (冬病夏治) the reader may see — last season's clusters of a
//! seasonal topic, proposed before the season comes again — newest season first, each cluster with whether it was
//! tasked already. Accepting a cluster is `POST /api/v1/scans/{id}/tasks`. See
//! `crate::service::hotspots::forewarning`.

use crate::domain::access::Permission;
use crate::error::ApiError;
use crate::http::access::CurrentUser;
use crate::http::query::{PageQuery, Query};
use crate::http::scans::ScanErrorDto;
use crate::http::state::AppState;
use crate::service::hotspots::forewarning::{self as service, MAX_PAGE, Proposal};
use crate::service::hotspots::scan::{Centre, ScanResult};
use actix_web::web;
use chrono::NaiveDate;
use serde::Serialize;

/// A topic as a proposal names it.
#[derive(Debug, Serialize)]
pub struct ProposalTopicDto {
    /// Code.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
}

/// Days from one to another, both included.
#[derive(Debug, Serialize)]
pub struct DaysDto {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
}

/// A cluster of last season, proposed.
#[derive(Debug, Serialize)]
pub struct ProposedClusterDto {
    /// Its rank in the scan (the number `POST /api/v1/scans/{id}/tasks` takes).
    pub rank: u32,
    /// The unit at its centre.
    pub centre: Centre,
    /// Its unit codes.
    pub units: Vec<String>,
    /// Calls last season.
    pub observed: i64,
    /// Calls last season as the scan counts them (at most two per cell and day).
    pub counted: i64,
    /// Counted calls expected from the households.
    pub expected: f64,
    /// The largest Gi* z of its units.
    pub strongest_z: f64,
    /// Whether it was tasked already.
    pub tasked: bool,
    /// The proactive case made for it.
    pub case_id: Option<String>,
}

/// One proposal.
#[derive(Debug, Serialize)]
pub struct ProposalDto {
    /// The scan of last season (accept a cluster with `POST /api/v1/scans/{scan_id}/tasks`).
    pub scan_id: String,
    /// `queued`, `running`, `finished` or `failed`.
    pub status: String,
    /// Why the scan failed (`all_zero`: no call on the topic last season).
    pub error: Option<ScanErrorDto>,
    /// The district.
    pub district_code: String,
    /// The topic.
    pub topic: ProposalTopicDto,
    /// The topic's season as the taxonomy says now (`null`: not seasonal any more).
    pub season: Option<String>,
    /// The first day of the coming season.
    pub season_starts: NaiveDate,
    /// The days of last season scanned.
    pub last_season: DaysDto,
    /// The clusters, strongest first.
    pub clusters: Vec<ProposedClusterDto>,
}

impl ProposalDto {
    fn new(p: Proposal) -> ProposalDto {
        let clusters: Vec<ProposedClusterDto> = match &p.scan.result {
            Some(ScanResult::Gistar(found)) => found
                .clusters
                .iter()
                .map(|c| {
                    let case_id = p.tasked.get(&c.rank).cloned();
                    ProposedClusterDto {
                        rank: c.rank,
                        centre: c.centre.clone(),
                        units: c.units.clone(),
                        observed: c.observed,
                        counted: c.counted,
                        expected: c.expected,
                        strongest_z: c.strongest_z,
                        tasked: case_id.is_some(),
                        case_id,
                    }
                })
                .collect(),
            _ => Vec::new(),
        };
        ProposalDto {
            scan_id: p.scan.id,
            status: p.scan.status,
            error: p
                .scan
                .error
                .map(|(code, message)| ScanErrorDto { code, message }),
            district_code: p.district,
            topic: ProposalTopicDto {
                code: p.topic,
                name_zh: p.name_zh,
                name_en: p.name_en,
            },
            season: p.season,
            season_starts: p.season_starts,
            last_season: DaysDto {
                from: p.scan.params.from,
                to: p.scan.params.to,
            },
            clusters,
        }
    }
}

/// A page of proposals.
#[derive(Debug, Serialize)]
pub struct ProposalList {
    /// Newest season first.
    pub forewarnings: Vec<ProposalDto>,
    /// The page (from 1).
    pub page: usize,
    /// Proposals per page.
    pub per_page: usize,
    /// Proposals the reader may see, in all.
    pub total: usize,
}

/// `GET /api/v1/forewarnings`: the reader's proposals, newest season first.
pub async fn list(
    state: web::Data<AppState>,
    me: CurrentUser,
    q: Query<PageQuery>,
) -> Result<web::Json<ProposalList>, ApiError> {
    me.require(Permission::ReadCases)?;
    let (page, per_page) = q.get();
    let (db, user) = (state.db.clone(), me.user);
    let (found, total) = web::block(move || service::list(&db, &user, page, per_page)).await??;
    Ok(web::Json(ProposalList {
        forewarnings: found.into_iter().map(ProposalDto::new).collect(),
        page,
        per_page: per_page.min(MAX_PAGE),
        total,
    }))
}
