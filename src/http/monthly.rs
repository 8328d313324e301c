//! The monthly topic (每月一题): `GET /api/v1/topics/ranking?month=YYYY-MM&level=city|district[&district=CODE]`.
//! The DTOs here are also what the monthly report's tables are written from.

use crate::error::ApiError;
use crate::http::access::CurrentUser;
use crate::http::query::Query;
use crate::http::state::AppState;
use crate::service::analytics::monthly::{self as service, Ranking, RankingRequest};
use actix_web::web;
use serde::{Deserialize, Serialize};

/// Query parameters.
#[derive(Debug, Deserialize)]
pub struct RankingQuery {
    /// `YYYY-MM` (Beijing time).
    pub month: Option<String>,
    /// `city` or `district`.
    pub level: Option<String>,
    /// The district of a district ranking.
    pub district: Option<String>,
}

/// A place named by code and name.
#[derive(Debug, Serialize)]
pub struct PlaceRefDto {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
}

/// A street's part of a topic's calls.
#[derive(Debug, Serialize)]
pub struct PlaceShareDto {
    /// Street code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Its tickets on the topic.
    pub tickets: i64,
    /// Its share of the topic's tickets (0–1).
    pub share: f64,
}

/// One topic's month.
#[derive(Debug, Serialize)]
pub struct TopicDto {
    /// 1 for the most calls.
    pub rank: usize,
    /// Second-level topic code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Tickets received in the month.
    pub tickets: i64,
    /// Cases opened in the month.
    pub cases: i64,
    /// Share of the scope's tickets.
    pub share: Option<f64>,
    /// Tickets in the month before.
    pub previous_tickets: i64,
    /// Tickets in the same month a year before.
    pub last_year_tickets: i64,
    /// Percent change on the month before.
    pub change_previous_pct: Option<f64>,
    /// Percent change on the same month a year before.
    pub change_last_year_pct: Option<f64>,
    /// Share of the calls that joined a problem already known.
    pub repeat_rate: Option<f64>,
    /// Tickets of the cases first dispatched in the month (the assessment's base).
    pub assessed_tickets: i64,
    /// 响应率.
    pub response_rate: Option<f64>,
    /// 解决率.
    pub resolution_rate: Option<f64>,
    /// 满意率.
    pub satisfaction_rate: Option<f64>,
    /// The streets with most of its calls.
    pub places: Vec<PlaceShareDto>,
}

/// A candidate for next month's list.
#[derive(Debug, Serialize)]
pub struct CandidateDto {
    /// 1 for the strongest.
    pub rank: usize,
    /// Topic code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Tickets in the month.
    pub tickets: i64,
    /// tickets × growth × difficulty.
    pub score: f64,
    /// Growth factor on the month before (0.5–2).
    pub growth: f64,
    /// 1 − resolution rate (at least 0.05).
    pub difficulty: f64,
}

/// The ranking.
#[derive(Debug, Serialize)]
pub struct RankingDto {
    /// `YYYY-MM`.
    pub month: String,
    /// The month before.
    pub previous_month: String,
    /// The same month a year before.
    pub last_year_month: String,
    /// `city` or `district`.
    pub level: &'static str,
    /// The city or the district.
    pub place: PlaceRefDto,
    /// The month is still running.
    pub partial: bool,
    /// Tickets in the scope.
    pub tickets: i64,
    /// Cases in the scope.
    pub cases: i64,
    /// 响应率 of the scope.
    pub response_rate: Option<f64>,
    /// 解决率 of the scope.
    pub resolution_rate: Option<f64>,
    /// 满意率 of the scope.
    pub satisfaction_rate: Option<f64>,
    /// Topics, most calls first.
    pub topics: Vec<TopicDto>,
    /// Candidates for next month's list.
    pub candidates: Vec<CandidateDto>,
}

impl From<&Ranking> for RankingDto {
    fn from(r: &Ranking) -> Self {
        RankingDto {
            month: r.month.to_string(),
            previous_month: r.previous.to_string(),
            last_year_month: r.last_year.to_string(),
            level: r.level,
            place: PlaceRefDto {
                code: r.place.clone(),
                name: r.place_name.clone(),
            },
            partial: r.partial,
            tickets: r.tickets,
            cases: r.cases,
            response_rate: r.rates.response,
            resolution_rate: r.rates.resolution,
            satisfaction_rate: r.rates.satisfaction,
            topics: r
                .topics
                .iter()
                .map(|t| TopicDto {
                    rank: t.rank,
                    code: t.code.clone(),
                    name: t.name.clone(),
                    tickets: t.tickets,
                    cases: t.cases,
                    share: t.share,
                    previous_tickets: t.previous_tickets,
                    last_year_tickets: t.last_year_tickets,
                    change_previous_pct: t.change_previous_pct,
                    change_last_year_pct: t.change_last_year_pct,
                    repeat_rate: t.repeat_rate,
                    assessed_tickets: t.assessed.tickets,
                    response_rate: t.rates.response,
                    resolution_rate: t.rates.resolution,
                    satisfaction_rate: t.rates.satisfaction,
                    places: t
                        .places
                        .iter()
                        .map(|p| PlaceShareDto {
                            code: p.code.clone(),
                            name: p.name.clone(),
                            tickets: p.tickets,
                            share: p.share,
                        })
                        .collect(),
                })
                .collect(),
            candidates: r
                .candidates
                .iter()
                .map(|c| CandidateDto {
                    rank: c.rank,
                    code: c.code.clone(),
                    name: c.name.clone(),
                    tickets: c.tickets,
                    score: c.candidate.score,
                    growth: c.candidate.growth,
                    difficulty: c.candidate.difficulty,
                })
                .collect(),
        }
    }
}

/// `GET /api/v1/topics/ranking`
pub async fn ranking(
    state: web::Data<AppState>,
    me: CurrentUser,
    q: Query<RankingQuery>,
) -> Result<web::Json<RankingDto>, ApiError> {
    let q = q.into_inner();
    let req = RankingRequest {
        month: q.month,
        level: q.level,
        district: q.district,
    };
    let (db, index, user, now) = (
        state.db.clone(),
        state.index.clone(),
        me.user,
        state.clock.now(),
    );
    let r = web::block(move || service::ranking(&db, &index, &user, &req, now)).await??;
    Ok(web::Json(RankingDto::from(&r)))
}
