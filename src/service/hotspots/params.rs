//! The parameters of a scan: as a client or the command line writes them ([`ScanRequest`]) and checked against the
//! taxonomy, the limits and the reader's jurisdiction ([`ScanParams`], which is what a scan job stores). Every
//! refusal has a stable code.

use super::{ScanError, invalid};
use crate::analytics::WeightsSpec;
use crate::analytics::counts::{Step, Window};
use crate::analytics::gistar::{MAX_PERMUTATIONS, MIN_PERMUTATIONS};
use crate::db::DbConnection;
use crate::domain::access::{Principal, case_scope};
use crate::domain::time::parse_day;
use crate::domain::topic::{TopicFilterError, filter_topics};
use crate::geo::place::{CITY_CODE, Level};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The most previous windows taken as history.
pub const MAX_HISTORY: u32 = 12;
/// Previous windows taken as history by default.
pub const DEFAULT_HISTORY: u32 = 3;
/// The widest distance band a city scan accepts, in metres.
pub const MAX_BAND_METRES: f64 = 5_000.0;

/// What is scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Gi* of the window's excess over the usual, reported as clusters.
    Gistar,
    /// Gi* per time step and the Mann-Kendall trend of each unit (emerging hot spots).
    Emerging,
}

impl Kind {
    /// The name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gistar => "gistar",
            Kind::Emerging => "emerging",
        }
    }
}

/// A scan as the client wrote it (missing values take their defaults).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// `gistar` (default) or `emerging`.
    pub kind: Option<String>,
    /// `cell` (default), `community` or `street`.
    pub layer: Option<String>,
    /// Topic codes (2 or 4 digits); none: every second-level topic, each scanned on its own.
    #[serde(default)]
    pub topics: Vec<String>,
    /// First day, `YYYY-MM-DD` (Beijing).
    pub from: Option<String>,
    /// Last day, included.
    pub to: Option<String>,
    /// `queen` (default), `rook` or `distance:METRES`.
    pub weights: Option<String>,
    /// 0 (default) or 99..=9,999.
    pub permutations: Option<u32>,
    /// Seed of the permutations.
    pub seed: Option<u64>,
    /// Previous windows of the same length taken as each place's usual (0: households only; default 3).
    pub history: Option<u32>,
    /// Benjamini–Hochberg correction of the bins over every unit and topic scanned (default true).
    pub fdr: Option<bool>,
    /// Time step of an emerging scan: `week` (default) or `month`.
    pub step: Option<String>,
}

/// A checked scan: what a job stores and runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanParams {
    /// What is scanned.
    pub kind: Kind,
    /// `cell`, `community` or `street`.
    pub layer: String,
    /// Topic codes, each scanned on its own (empty: every second-level topic with calls).
    pub topics: Vec<String>,
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// Weights as written (`queen`, `rook`, `distance:METRES`).
    pub weights: String,
    /// Permutations for the pseudo p-value.
    pub permutations: u32,
    /// Their seed.
    pub seed: u64,
    /// Previous windows taken as history.
    pub history: u32,
    /// FDR correction of the bins.
    pub fdr: bool,
    /// Step of an emerging scan (`week` or `month`).
    pub step: String,
    /// Place-code prefixes covered (`None`: the city).
    pub coverage: Option<Vec<String>>,
}

impl ScanParams {
    /// The level of the layer.
    pub fn level(&self) -> Level {
        Level::parse(&self.layer).unwrap_or(Level::Cell)
    }

    /// The weights.
    pub fn weights_spec(&self) -> WeightsSpec {
        self.weights.parse().unwrap_or(WeightsSpec::Queen)
    }

    /// The window.
    pub fn window(&self) -> Window {
        Window {
            from: self.from,
            to: self.to,
        }
    }

    /// The step of an emerging scan.
    pub fn step(&self) -> Step {
        Step::parse(&self.step).unwrap_or(Step::Week)
    }
}

fn day(field: &'static str, value: Option<&str>) -> Result<NaiveDate, ScanError> {
    parse_day(field, value).map_err(|e| invalid(e.code(), e.to_string()))
}

/// The place prefixes `user` may scan (`None`: the city).
pub fn jurisdiction(user: &Principal) -> Option<Vec<String>> {
    let (places, _) = case_scope(user);
    places.filter(|ps| !ps.iter().any(|p| p == CITY_CODE))
}

/// Checks a request for `user` against the taxonomy and the limits.
pub fn check(
    c: &mut DbConnection,
    user: &Principal,
    req: &ScanRequest,
) -> Result<ScanParams, ScanError> {
    let kind = match req.kind.as_deref().map(str::trim) {
        None | Some("gistar") => Kind::Gistar,
        Some("emerging") => Kind::Emerging,
        Some(other) => {
            return Err(invalid(
                "unknown_kind",
                format!(
                    "kind {:?} is not one of gistar, emerging",
                    other.chars().take(40).collect::<String>()
                ),
            ));
        }
    };
    let layer = req.layer.as_deref().map_or("cell", str::trim);
    let level = match Level::parse(layer) {
        Some(l @ (Level::Cell | Level::Community | Level::Street)) => l,
        _ => {
            return Err(invalid(
                "unknown_layer",
                format!(
                    "layer {:?} is not one of cell, community, street",
                    layer.chars().take(40).collect::<String>()
                ),
            ));
        }
    };
    let window = Window::new(
        day("from", req.from.as_deref())?,
        day("to", req.to.as_deref())?,
    )?;
    let weights_text = req.weights.as_deref().map_or("queen", str::trim);
    let spec: WeightsSpec = weights_text
        .parse()
        .map_err(|m: String| invalid("unknown_weights", m))?;
    if let WeightsSpec::DistanceBand { metres } = spec
        && metres > MAX_BAND_METRES
    {
        return Err(invalid(
            "bad_distance_band",
            format!("a city scan's distance band is at most {MAX_BAND_METRES} m, not {metres}"),
        ));
    }
    let permutations = req.permutations.unwrap_or(0);
    if permutations != 0 && !(MIN_PERMUTATIONS..=MAX_PERMUTATIONS).contains(&permutations) {
        return Err(invalid(
            "permutations_out_of_range",
            format!("permutations must be 0 (none) or between 99 and 9999, not {permutations}"),
        ));
    }
    let history = req.history.unwrap_or(DEFAULT_HISTORY);
    if history > MAX_HISTORY {
        return Err(invalid(
            "history_out_of_range",
            format!("history is at most {MAX_HISTORY} previous windows, not {history}"),
        ));
    }
    let step = req.step.as_deref().map_or("week", str::trim);
    if !matches!(step, "week" | "month") {
        return Err(invalid(
            "unknown_step",
            format!(
                "step {:?} is not one of week, month",
                step.chars().take(40).collect::<String>()
            ),
        ));
    }
    let coverage = jurisdiction(user);
    if let Some(ps) = &coverage {
        if ps.is_empty() {
            return Err(ScanError::Outside("your account has no places".into()));
        }
        if let Some(p) = ps.iter().find(|p| p.len() > level.code_len()) {
            return Err(ScanError::Outside(format!(
                "a {level} layer would reach beyond {p}, the finest place you may read: scan a finer layer"
            )));
        }
    }
    let topics = topics(c, user, &req.topics)?;
    Ok(ScanParams {
        kind,
        layer: level.as_str().to_owned(),
        topics,
        from: window.from,
        to: window.to,
        weights: spec.to_string(),
        permutations,
        seed: req.seed.unwrap_or(0),
        history,
        fdr: req.fdr.unwrap_or(true),
        step: step.to_owned(),
        coverage,
    })
}

/// Checks topic codes against the taxonomy (and a department handler's topics, which are also the default).
fn topics(
    c: &mut DbConnection,
    user: &Principal,
    values: &[String],
) -> Result<Vec<String>, ScanError> {
    let (_, mine) = case_scope(user);
    let known: Vec<String> = crate::store::topics::all(c)?
        .into_iter()
        .map(|t| t.code)
        .collect();
    filter_topics(values, &known, mine.as_deref()).map_err(|e| match e {
        TopicFilterError::TooMany => invalid("too_many_topics", e.to_string()),
        TopicFilterError::NotYours(_) => ScanError::Outside(e.to_string()),
        _ => invalid("unknown_topic", e.to_string()),
    })
}
