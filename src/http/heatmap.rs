//! `GET /api/v1/heatmap` (a GeoJSON FeatureCollection, or CSV) and `GET /api/v1/places/{code}/trend`: the leaders'
//! counts per place and the series behind them, within the reader's jurisdiction. The DTOs and the CSV here are
//! also what `gridline report heatmap` prints.

use crate::analytics::counts::{self as calc, Tally};
use crate::domain::access::Permission;
use crate::error::ApiError;
use crate::http::access::CurrentUser;
use crate::http::query::MAX_QUERY_BYTES;
use crate::http::state::AppState;
use crate::service::analytics::heatmap::{
    self as service, HeatMap, HeatRequest, Trend, TrendRequest,
};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

/// The parameters of the heat map.
const HEATMAP_PARAMS: [&str; 8] = [
    "level", "from", "to", "topic", "source", "status", "within", "format",
];
/// The parameters of the series.
const TREND_PARAMS: [&str; 6] = ["from", "to", "step", "topic", "source", "status"];

/// The query's pairs, refusing a name outside `accepted` (repeatable parameters are why this is not [`Query`]);
/// the vector tiles read their filters through it too.
///
/// [`Query`]: crate::http::query::Query
pub(crate) fn pairs(raw: &str, accepted: &[&str]) -> Result<Vec<(String, String)>, ApiError> {
    if raw.len() > MAX_QUERY_BYTES {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("the query string is longer than {MAX_QUERY_BYTES} bytes"),
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw).map_err(|e| {
        ApiError::bad_request(
            "invalid_query",
            format!("the query string could not be read: {e}"),
        )
    })?;
    if let Some((name, _)) = pairs.iter().find(|(k, _)| !accepted.contains(&k.as_str())) {
        return Err(ApiError::BadValue {
            code: "unknown_query_parameter",
            message: format!(
                "{:?} is not a parameter of this route; it accepts {}",
                name.chars().take(40).collect::<String>(),
                accepted.join(", ")
            ),
            accepted: accepted.iter().map(|s| (*s).to_owned()).collect(),
        });
    }
    Ok(pairs)
}

/// Every value of `name`, in order.
pub(crate) fn all(pairs: &[(String, String)], name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

/// The last value of `name`.
pub(crate) fn last(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// The properties of one place.
#[derive(Debug, Serialize)]
pub struct HeatProperties {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Level.
    pub level: &'static str,
    /// Parent's code.
    pub parent: Option<String>,
    /// Tickets (calls) in the window.
    pub tickets: i64,
    /// Cases (problems) in the window.
    pub cases: i64,
    /// Households in the geodata; null where it has none.
    pub households: Option<i64>,
    /// Tickets per 1,000 households; null without households.
    pub tickets_per_1000_households: Option<f64>,
    /// Cases per 1,000 households; null without households.
    pub cases_per_1000_households: Option<f64>,
    /// Tickets in the period before, of the same length.
    pub previous_tickets: i64,
    /// Cases in the period before.
    pub previous_cases: i64,
    /// Change of tickets against the period before, percent; null when that period had none.
    pub tickets_change_pct: Option<f64>,
    /// Change of cases, percent; null when the period before had none.
    pub cases_change_pct: Option<f64>,
}

/// One place as a GeoJSON Feature (no geometry: join by `id` with the place layers or the vector tiles).
#[derive(Debug, Serialize)]
pub struct HeatFeature {
    /// "Feature".
    pub r#type: &'static str,
    /// The place's code.
    pub id: String,
    /// Counts.
    pub properties: HeatProperties,
    /// Always null.
    pub geometry: Option<()>,
}

/// The heat map.
#[derive(Debug, Serialize)]
pub struct HeatMapDto {
    /// "FeatureCollection".
    pub r#type: &'static str,
    /// The level.
    pub level: &'static str,
    /// First day.
    pub from: String,
    /// Last day (included).
    pub to: String,
    /// First day of the period compared with.
    pub previous_from: String,
    /// Its last day.
    pub previous_to: String,
    /// Topic filter (empty: all).
    pub topics: Vec<String>,
    /// Source filter (empty: all).
    pub sources: Vec<String>,
    /// Status filter (empty: all).
    pub statuses: Vec<String>,
    /// Places of the level whose geodata has no households (their rates are null).
    pub without_households: Vec<String>,
    /// Every place of the level in the reader's coverage, zeros included.
    pub features: Vec<HeatFeature>,
}

impl From<HeatMap> for HeatMapDto {
    fn from(h: HeatMap) -> Self {
        let level = h.level.as_str();
        let w = h.filters.window;
        let p = w.previous();
        HeatMapDto {
            r#type: "FeatureCollection",
            level,
            from: w.from.to_string(),
            to: w.to.to_string(),
            previous_from: p.from.to_string(),
            previous_to: p.to.to_string(),
            without_households: h
                .rows
                .iter()
                .filter(|r| r.households.is_none())
                .map(|r| r.code.clone())
                .collect(),
            topics: h.filters.topics,
            sources: h.filters.sources,
            statuses: h.filters.classes,
            features: h
                .rows
                .into_iter()
                .map(|r| {
                    let n = r.numbers();
                    HeatFeature {
                        r#type: "Feature",
                        id: r.code.clone(),
                        properties: HeatProperties {
                            code: r.code,
                            name: r.name,
                            level,
                            parent: r.parent,
                            tickets: n.tickets,
                            cases: n.cases,
                            households: n.households,
                            tickets_per_1000_households: n.tickets_per_1000_households,
                            cases_per_1000_households: n.cases_per_1000_households,
                            previous_tickets: n.previous_tickets,
                            previous_cases: n.previous_cases,
                            tickets_change_pct: n.tickets_change_pct,
                            cases_change_pct: n.cases_change_pct,
                        },
                        geometry: None,
                    }
                })
                .collect(),
        }
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The heat map as CSV: one line per place, empty fields where a value is null.
pub fn csv(h: &HeatMapDto) -> String {
    let mut out = String::from(
        "code,name,level,parent,tickets,cases,households,tickets_per_1000_households,cases_per_1000_households,previous_tickets,previous_cases,tickets_change_pct,cases_change_pct\n",
    );
    for f in &h.features {
        let p = &f.properties;
        let round = |v: Option<f64>| v.map(|v| format!("{v:.2}"));
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            csv_field(&p.code),
            csv_field(&p.name),
            p.level,
            opt(p.parent.as_deref()),
            p.tickets,
            p.cases,
            opt(p.households),
            opt(round(p.tickets_per_1000_households)),
            opt(round(p.cases_per_1000_households)),
            p.previous_tickets,
            p.previous_cases,
            opt(round(p.tickets_change_pct)),
            opt(round(p.cases_change_pct)),
        ));
    }
    out
}

/// `GET /api/v1/heatmap`.
pub async fn get(
    state: web::Data<AppState>,
    me: CurrentUser,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    me.require(Permission::ReadCases)?;
    let p = pairs(req.query_string(), &HEATMAP_PARAMS)?;
    let csv_wanted = match last(&p, "format").as_deref().map(str::trim) {
        None | Some("" | "geojson") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::BadValue {
                code: "invalid_query_value",
                message: format!(
                    "format {:?} is not one of geojson, csv",
                    other.chars().take(40).collect::<String>()
                ),
                accepted: vec!["geojson".into(), "csv".into()],
            });
        }
    };
    let request = HeatRequest {
        level: last(&p, "level"),
        from: last(&p, "from"),
        to: last(&p, "to"),
        topics: all(&p, "topic"),
        sources: all(&p, "source"),
        statuses: all(&p, "status"),
        within: last(&p, "within"),
    };
    let (db, index, user, now) = (
        state.db.clone(),
        state.index.clone(),
        me.user,
        state.clock.now(),
    );
    let h = web::block(move || service::heatmap(&db, &index, &user, &request, now)).await??;
    let dto = HeatMapDto::from(h);
    Ok(if csv_wanted {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(csv(&dto))
    } else {
        HttpResponse::Ok()
            .content_type("application/geo+json")
            .json(dto)
    })
}

/// One point of a series.
#[derive(Debug, Serialize)]
pub struct TrendPointDto {
    /// First day.
    pub from: String,
    /// Last day (included).
    pub to: String,
    /// Tickets.
    pub tickets: i64,
    /// Cases.
    pub cases: i64,
}

/// A place's series.
#[derive(Debug, Serialize)]
pub struct TrendDto {
    /// The place's code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its level.
    pub level: &'static str,
    /// `day`, `week` or `month`.
    pub step: &'static str,
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// Topic filter.
    pub topics: Vec<String>,
    /// Sums over the window.
    pub tickets: i64,
    /// Sums over the window.
    pub cases: i64,
    /// One point per step, zeros included (the first and last cut to the window).
    pub points: Vec<TrendPointDto>,
}

impl From<Trend> for TrendDto {
    fn from(t: Trend) -> Self {
        let total = t.points.iter().fold(Tally::default(), |mut a, p| {
            a.tickets += p.tally.tickets;
            a.cases += p.tally.cases;
            a
        });
        TrendDto {
            code: t.code,
            name: t.name,
            level: t.level.as_str(),
            step: match t.step {
                calc::Step::Day => "day",
                calc::Step::Week => "week",
                calc::Step::Month => "month",
            },
            from: t.filters.window.from.to_string(),
            to: t.filters.window.to.to_string(),
            topics: t.filters.topics,
            tickets: total.tickets,
            cases: total.cases,
            points: t
                .points
                .into_iter()
                .map(|p| TrendPointDto {
                    from: p.from.to_string(),
                    to: p.to.to_string(),
                    tickets: p.tally.tickets,
                    cases: p.tally.cases,
                })
                .collect(),
        }
    }
}

/// `GET /api/v1/places/{code}/trend`.
pub async fn trend(
    state: web::Data<AppState>,
    me: CurrentUser,
    code: web::Path<String>,
    req: HttpRequest,
) -> Result<web::Json<TrendDto>, ApiError> {
    me.require(Permission::ReadCases)?;
    let p = pairs(req.query_string(), &TREND_PARAMS)?;
    let request = TrendRequest {
        from: last(&p, "from"),
        to: last(&p, "to"),
        step: last(&p, "step"),
        topics: all(&p, "topic"),
        sources: all(&p, "source"),
        statuses: all(&p, "status"),
    };
    let (db, index, user, code, now) = (
        state.db.clone(),
        state.index.clone(),
        me.user,
        code.into_inner(),
        state.clock.now(),
    );
    let t = web::block(move || service::trend(&db, &index, &user, &code, &request, now)).await??;
    Ok(web::Json(t.into()))
}
