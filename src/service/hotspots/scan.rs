//! Runs one scan over the kept counts of hotline tickets (calls) and returns its result.
//!
//! **`gistar`** (the default city scan): for each topic (each requested code, or every second-level topic with
//! calls in the window), the window's count in every unit of the layer is compared with what the unit usually has
//! — its own history (the previous windows of the same length, as many as the data covers, up to `history`),
//! else its households within its district — and Gi* is computed on the standardised excess
//! (`crate::analytics::excess` says which formula and why). The bins are corrected together (Benjamini–Hochberg
//! over every unit of every topic scanned, when `fdr`), because a scan of fifty topics would otherwise report
//! chance clusters in some of them. Units at the 95 % bin or above that touch under the same weights form
//! clusters; a cluster is reported when it also holds enough calls above expectation to pass the bar of the whole
//! scan (`crate::analytics::clusters::confirmed`: a Poisson tail under 5 % over the number of unit-and-topic
//! tests). Calls are counted at most two per unit, topic and day (`crate::analytics::excess::DAY_CAP`), so a
//! building calling together about one incident does not make a hotspot. Each cluster carries its units, centre,
//! the calls per topic in the window (all of them, and as counted) and expected from the baseline, its strongest z,
//! and which baseline it used.
//!
//! **`emerging`**: the calls of the chosen topics per unit and step (week or month), Gi* at every step and the
//! Mann-Kendall trend of each unit's z-scores, classified as ArcGIS Pro's Emerging Hot Spot Analysis does
//! (`crate::analytics::emerging`); the units with a pattern are reported.

use super::layer::{self, Layer};
use super::params::{Kind, ScanParams};
use super::{ScanError, invalid};
use crate::analytics::clusters::{self, Confirmation};
use crate::analytics::counts::Step;
use crate::analytics::emerging::{Category, EmergingOptions, Matrix};
use crate::analytics::gistar::{LEVELS, confidence_bin, fdr_cutoff};
use crate::analytics::{self, Options, excess};
use crate::db::{Db, DbConnection};
use crate::geo::index::PlaceIndex;
use crate::store::hotspots::{self as store, PlaceTopic};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The most clusters one scan reports (the strongest first).
pub const MAX_CLUSTERS: usize = 500;

/// What the expected counts were taken from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// `history` (the units' own previous windows) or `households`.
    pub kind: String,
    /// Previous windows used (0 for households).
    pub windows: u32,
    /// First day of the history used.
    pub from: Option<NaiveDate>,
    /// Last day of the history used.
    pub to: Option<NaiveDate>,
}

/// The unit at the centre of a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Centre {
    /// Its code.
    pub code: String,
    /// Its centroid (WGS-84).
    pub lon: f64,
    /// Its centroid (WGS-84).
    pub lat: f64,
}

/// Calls of one topic in a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicCount {
    /// Second-level topic code.
    pub topic: String,
    /// Calls in the window.
    pub window: i64,
    /// Calls in the window as counted (at most two per unit and day; 0 in scans stored before it was kept).
    #[serde(default)]
    pub counted: i64,
    /// Counted calls expected from the baseline.
    pub baseline: f64,
}

/// Connected hot units of one topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    /// Position in the scan's list, from 1 (strongest first).
    pub rank: u32,
    /// The topic code scanned (as requested: 2 or 4 digits).
    pub topic: String,
    /// `history` or `households`: what this topic's expected counts came from.
    pub baseline: String,
    /// Unit codes.
    pub units: Vec<String>,
    /// The unit nearest the cluster's centroid.
    pub centre: Centre,
    /// The largest Gi* z of its units.
    pub strongest_z: f64,
    /// The highest bin of its units (2 or 3).
    pub bin: i8,
    /// Calls in the window.
    pub observed: i64,
    /// Calls in the window as counted: at most two per unit and day, so that a building calling together counts as
    /// one incident (`crate::analytics::excess::DAY_CAP`). 0 in scans stored before it was kept.
    #[serde(default)]
    pub counted: i64,
    /// Counted calls expected.
    pub expected: f64,
    /// The chance of `counted` or more under the baseline (Poisson), the figure held against the scan's bar (1 in
    /// scans stored before it was kept).
    #[serde(default = "one")]
    pub p_value: f64,
    /// Calls on its busiest day.
    pub busiest_day: i64,
    /// Per second-level topic, calls in the window and expected.
    pub counts: Vec<TopicCount>,
}

/// The result of a `gistar` scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clusters {
    /// The layer.
    pub layer: String,
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// The baseline of the scan (a topic without any history falls back to households: see each cluster).
    pub baseline: Baseline,
    /// Units scanned.
    pub units: usize,
    /// Units left out for having no neighbour.
    pub islands: Vec<String>,
    /// Topic codes scanned.
    pub topics: Vec<String>,
    /// Whether the bins are FDR-corrected.
    pub fdr: bool,
    /// Two-sided p cut-offs of the bins 3, 2, 1.
    pub cutoffs: [f64; 3],
    /// Connected units at the 95 % bin or above, before confirmation.
    pub candidates: usize,
    /// The confirmed clusters, strongest first.
    pub clusters: Vec<Cluster>,
}

/// One unit with an emerging pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitPattern {
    /// Unit code.
    pub code: String,
    /// Centroid (WGS-84).
    pub lon: f64,
    /// Centroid (WGS-84).
    pub lat: f64,
    /// The category (`new_hot_spot`, ...).
    pub category: String,
    /// Steps at which it was hot.
    pub hot_steps: usize,
    /// Steps at which it was cold.
    pub cold_steps: usize,
    /// Mann-Kendall z of its Gi* z-scores.
    pub trend_z: f64,
    /// Its two-sided p.
    pub trend_p: f64,
}

/// The result of an `emerging` scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmergingScan {
    /// The layer.
    pub layer: String,
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// `week` or `month`.
    pub step: String,
    /// First day of each step.
    pub steps: Vec<NaiveDate>,
    /// Units scanned.
    pub units: usize,
    /// Units left out for having no neighbour.
    pub islands: Vec<String>,
    /// Topic codes counted (empty: all).
    pub topics: Vec<String>,
    /// Units per category.
    pub categories: BTreeMap<String, usize>,
    /// The units with a pattern.
    pub patterns: Vec<UnitPattern>,
}

/// A scan's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScanResult {
    /// Clusters.
    Gistar(Clusters),
    /// Emerging patterns.
    Emerging(EmergingScan),
}

/// Runs the scan `params` (already checked), calling `progress` with the share done (0 to 1).
pub fn run(
    db: &Db,
    index: &PlaceIndex,
    params: &ScanParams,
    progress: &mut dyn FnMut(f64),
) -> Result<ScanResult, ScanError> {
    let layer = layer::build(
        index,
        params.level(),
        params.coverage.as_deref(),
        params.weights_spec(),
    )?;
    if layer.codes.len() < 2 {
        return Err(ScanError::Stats(analytics::Error::TooFewUnits(
            layer.codes.len(),
        )));
    }
    progress(0.05);
    let mut c = db.reader()?;
    match params.kind {
        Kind::Gistar => gistar(&mut c, &layer, params, progress).map(ScanResult::Gistar),
        Kind::Emerging => emerging(&mut c, &layer, params, progress).map(ScanResult::Emerging),
    }
}

/// Per second-level topic, the calls of every unit.
type ByTopic = BTreeMap<String, Vec<f64>>;

/// A window's calls per topic and unit: as counted (at most [`excess::DAY_CAP`] per unit, topic and day) and all.
struct Read {
    counted: ByTopic,
    all: ByTopic,
}

fn by_topic(layer: &Layer, rows: &[PlaceTopic]) -> Read {
    let mut read = Read {
        counted: BTreeMap::new(),
        all: BTreeMap::new(),
    };
    let n = layer.codes.len();
    for r in rows {
        if let Some(i) = layer.position(&r.place) {
            let calls = r.tickets as f64;
            read.counted
                .entry(r.topic.clone())
                .or_insert_with(|| vec![0.0; n])[i] += excess::counted(calls);
            read.all
                .entry(r.topic.clone())
                .or_insert_with(|| vec![0.0; n])[i] += calls;
        }
    }
    read
}

/// The calls of `from..=to` per unit, topic and day (each day is counted with its cap, and the window's busiest
/// days come from the same rows).
fn read(
    c: &mut DbConnection,
    layer: &Layer,
    params: &ScanParams,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<PlaceTopic>, ScanError> {
    Ok(store::tickets(
        c,
        layer.level,
        from,
        to,
        &params.topics,
        params.coverage.as_deref(),
        false,
    )?)
}

/// The sum of the topics of `data` that fall under `group` (a 2- or 4-digit code).
fn group_sum(data: &ByTopic, group: &str, units: usize) -> Vec<f64> {
    let mut out = vec![0.0; units];
    for (_, v) in data.iter().filter(|(t, _)| t.starts_with(group)) {
        for (o, x) in out.iter_mut().zip(v) {
            *o += x;
        }
    }
    out
}

/// Expected counts of `observed` and the baseline they came from.
fn expected(
    layer: &Layer,
    observed: &[f64],
    history: &[Vec<f64>],
) -> (Vec<f64>, &'static str, usize) {
    let total: f64 = observed.iter().sum();
    if !history.is_empty()
        && let Some(e) = excess::from_history(total, history)
    {
        return (e, "history", history.len());
    }
    (
        excess::from_households(observed, &layer.households, &layer.groups),
        "households",
        0,
    )
}

struct Scanned {
    group: String,
    counted: Vec<f64>,
    expected: Vec<f64>,
    baseline: &'static str,
    z: Vec<f64>,
    two_sided: Vec<f64>,
}

fn gistar(
    c: &mut DbConnection,
    layer: &Layer,
    params: &ScanParams,
    progress: &mut dyn FnMut(f64),
) -> Result<Clusters, ScanError> {
    let n = layer.codes.len();
    let window = params.window();
    let days = window.days();
    let rows = read(c, layer, params, window.from, window.to)?;
    let Read { counted: now, all } = by_topic(layer, &rows);
    let groups: Vec<String> = if params.topics.is_empty() {
        now.keys().filter(|t| t.len() == 4).cloned().collect()
    } else {
        params.topics.clone()
    };
    let window_total: f64 = now.values().flatten().sum();
    if window_total <= 0.0 {
        return Err(ScanError::Stats(analytics::Error::AllZero));
    }
    let mut past: Vec<ByTopic> = Vec::new();
    let mut previous_totals = Vec::new();
    for k in 1..=i64::from(params.history) {
        let to = window.from - Duration::days((k - 1) * days + 1);
        let from = to - Duration::days(days - 1);
        let data = by_topic(layer, &read(c, layer, params, from, to)?).counted;
        let total: f64 = data.values().flatten().sum();
        previous_totals.push(total);
        if excess::usable_history(window_total, &previous_totals) < previous_totals.len() {
            break;
        }
        past.push(data);
    }
    let windows = excess::usable_history(window_total, &previous_totals).min(past.len());
    past.truncate(windows);
    progress(0.2);
    let options = Options {
        permutations: params.permutations,
        seed: params.seed,
        fdr: false,
    };
    let mut scanned: Vec<Scanned> = Vec::new();
    for (k, group) in groups.iter().enumerate() {
        let observed = group_sum(&now, group, n);
        let history: Vec<Vec<f64>> = past.iter().map(|p| group_sum(p, group, n)).collect();
        let (expected, baseline, k_used) = expected(layer, &observed, &history);
        let r = excess::standardised(&observed, &expected, k_used);
        match analytics::gistar(&excess::shifted(&r), &layer.weights, &options) {
            Ok(g) => scanned.push(Scanned {
                group: group.clone(),
                two_sided: g.p_norm.iter().map(|p| (2.0 * p).min(1.0)).collect(),
                z: g.z,
                counted: observed,
                expected,
                baseline,
            }),
            Err(analytics::Error::AllZero | analytics::Error::Constant(_)) => {}
            Err(e) => return Err(e.into()),
        }
        progress(0.2 + 0.6 * (k + 1) as f64 / groups.len().max(1) as f64);
    }
    let cutoffs = if params.fdr {
        let pool: Vec<f64> = scanned.iter().flat_map(|s| s.two_sided.clone()).collect();
        LEVELS.map(|alpha| fdr_cutoff(&pool, alpha))
    } else {
        LEVELS
    };
    // Candidate clusters: (scan, units, bins).
    let mut candidates: Vec<(usize, Vec<usize>, i8)> = Vec::new();
    for (s, sc) in scanned.iter().enumerate() {
        let bins: Vec<i8> =
            sc.z.iter()
                .zip(&sc.two_sided)
                .map(|(&z, &p)| confidence_bin(z, p, &cutoffs))
                .collect();
        let hot: Vec<bool> = bins.iter().map(|&b| b >= 2).collect();
        for units in clusters::components(&layer.weights, &hot) {
            let bin = units.iter().map(|&u| bins[u]).max().unwrap_or(0);
            candidates.push((s, units, bin));
        }
    }
    let busiest = busiest_days(layer, &rows, &scanned, &candidates);
    progress(0.9);
    let confirmation = Confirmation::default();
    // Every unit of every topic scanned was a test a cluster could have come from.
    let tests = n * scanned.len();
    let mut out = Vec::new();
    for ((s, units, bin), busiest_day) in candidates.iter().zip(&busiest) {
        let sc = &scanned[*s];
        let counted: f64 = units.iter().map(|&u| sc.counted[u]).sum();
        let expected: f64 = units.iter().map(|&u| sc.expected[u]).sum();
        if !clusters::confirmed(counted, expected, tests, &confirmation) {
            continue;
        }
        let Some(centre) = clusters::centre(units, &layer.points) else {
            continue;
        };
        let strongest_z = units
            .iter()
            .map(|&u| sc.z[u])
            .fold(f64::NEG_INFINITY, f64::max);
        let calls = group_sum(&all, &sc.group, n);
        out.push(Cluster {
            rank: 0,
            topic: sc.group.clone(),
            baseline: sc.baseline.to_owned(),
            units: units.iter().map(|&u| layer.codes[u].clone()).collect(),
            centre: Centre {
                code: layer.codes[centre].clone(),
                lon: round6(layer.points[centre].0),
                lat: round6(layer.points[centre].1),
            },
            strongest_z: round6(strongest_z),
            bin: *bin,
            observed: units.iter().map(|&u| calls[u]).sum::<f64>().round() as i64,
            counted: counted.round() as i64,
            expected: round3(expected),
            p_value: clusters::poisson_sf(counted, expected),
            busiest_day: busiest_day.round() as i64,
            counts: topic_counts(layer, &now, &all, &past, &sc.group, sc.baseline, units),
        });
    }
    out.sort_by(|a, b| {
        b.strongest_z
            .total_cmp(&a.strongest_z)
            .then_with(|| a.centre.code.cmp(&b.centre.code))
    });
    out.truncate(MAX_CLUSTERS);
    for (k, cl) in out.iter_mut().enumerate() {
        cl.rank = k as u32 + 1;
    }
    progress(1.0);
    let history_from = (windows > 0).then(|| window.from - Duration::days(windows as i64 * days));
    Ok(Clusters {
        layer: layer.level.as_str().to_owned(),
        from: window.from,
        to: window.to,
        baseline: Baseline {
            kind: if windows > 0 { "history" } else { "households" }.to_owned(),
            windows: windows as u32,
            from: history_from,
            to: history_from.map(|_| window.from - Duration::days(1)),
        },
        units: n,
        islands: layer.islands.clone(),
        topics: scanned.iter().map(|s| s.group.clone()).collect(),
        fdr: params.fdr,
        cutoffs,
        candidates: candidates.len(),
        clusters: out,
    })
}

/// The calls of each candidate's topic on its busiest day, from the window's rows (per unit, topic and day).
fn busiest_days(
    layer: &Layer,
    rows: &[PlaceTopic],
    scanned: &[Scanned],
    candidates: &[(usize, Vec<usize>, i8)],
) -> Vec<f64> {
    let mut wanted = vec![false; layer.codes.len()];
    for (_, units, _) in candidates {
        for &u in units {
            wanted[u] = true;
        }
    }
    // unit → (topic, day, calls) of the candidates' units only.
    let mut per_day: HashMap<usize, Vec<(&str, &str, f64)>> = HashMap::new();
    for r in rows {
        if let Some(u) = layer.position(&r.place)
            && wanted[u]
        {
            per_day.entry(u).or_default().push((
                r.topic.as_str(),
                r.day.as_str(),
                r.tickets as f64,
            ));
        }
    }
    candidates
        .iter()
        .map(|(s, units, _)| {
            let group = &scanned[*s].group;
            let mut days: HashMap<&str, f64> = HashMap::new();
            for u in units {
                for (topic, day, n) in per_day.get(u).map_or(&[][..], Vec::as_slice) {
                    if topic.starts_with(group.as_str()) {
                        *days.entry(day).or_default() += n;
                    }
                }
            }
            days.values().copied().fold(0.0, f64::max)
        })
        .collect()
}

/// Per second-level topic of `group`, the calls of `units` in the window (all and counted) and expected from the
/// same baseline.
fn topic_counts(
    layer: &Layer,
    now: &ByTopic,
    all: &ByTopic,
    past: &[ByTopic],
    group: &str,
    baseline: &str,
    units: &[usize],
) -> Vec<TopicCount> {
    let n = layer.codes.len();
    now.iter()
        .filter(|(t, _)| t.starts_with(group))
        .filter_map(|(topic, observed)| {
            let counted: f64 = units.iter().map(|&u| observed[u]).sum();
            if counted <= 0.0 {
                return None;
            }
            let window: f64 = all
                .get(topic)
                .map_or(0.0, |v| units.iter().map(|&u| v[u]).sum());
            let history: Vec<Vec<f64>> = if baseline == "history" {
                past.iter()
                    .map(|p| p.get(topic).cloned().unwrap_or_else(|| vec![0.0; n]))
                    .collect()
            } else {
                Vec::new()
            };
            let (e, _, _) = expected(layer, observed, &history);
            Some(TopicCount {
                topic: topic.clone(),
                window: window.round() as i64,
                counted: counted.round() as i64,
                baseline: round3(units.iter().map(|&u| e[u]).sum()),
            })
        })
        .collect()
}

fn emerging(
    c: &mut DbConnection,
    layer: &Layer,
    params: &ScanParams,
    progress: &mut dyn FnMut(f64),
) -> Result<EmergingScan, ScanError> {
    let n = layer.codes.len();
    let step = params.step();
    if step == Step::Day {
        return Err(invalid("unknown_step", "step must be week or month"));
    }
    let mut starts: Vec<NaiveDate> = Vec::new();
    let mut d = step.start_of(params.from);
    while d <= params.to && starts.len() <= analytics::emerging::MAX_STEPS {
        starts.push(d);
        d = match step {
            Step::Month => d
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(d + Duration::days(31)),
            _ => d + Duration::days(7),
        };
    }
    let rows = store::tickets(
        c,
        layer.level,
        params.from,
        params.to,
        &params.topics,
        params.coverage.as_deref(),
        false,
    )?;
    progress(0.3);
    let mut steps = vec![vec![0.0; n]; starts.len()];
    for r in rows {
        let (Some(u), Ok(day)) = (
            layer.position(&r.place),
            NaiveDate::parse_from_str(&r.day, "%Y-%m-%d"),
        ) else {
            continue;
        };
        let t = starts.partition_point(|s| *s <= day).saturating_sub(1);
        if let Some(step) = steps.get_mut(t) {
            step[u] += r.tickets as f64;
        }
    }
    if steps.iter().flatten().all(|&v| v == 0.0) {
        return Err(ScanError::Stats(analytics::Error::AllZero));
    }
    if starts.len() < analytics::emerging::MIN_STEPS {
        return Err(invalid(
            "too_few_steps",
            format!(
                "an emerging scan needs at least {} steps of a {}: widen the window",
                analytics::emerging::MIN_STEPS,
                params.step
            ),
        ));
    }
    let matrix = Matrix::from_steps(n, &steps)?;
    let result = analytics::emerging(
        &matrix,
        &layer.weights,
        &EmergingOptions {
            fdr: params.fdr,
            ..EmergingOptions::default()
        },
    )?;
    progress(0.9);
    let mut categories: BTreeMap<String, usize> = BTreeMap::new();
    let mut patterns = Vec::new();
    for (i, u) in result.units.iter().enumerate() {
        *categories
            .entry(u.category.as_str().to_owned())
            .or_default() += 1;
        if u.category != Category::NoPattern {
            patterns.push(UnitPattern {
                code: layer.codes[i].clone(),
                lon: round6(layer.points[i].0),
                lat: round6(layer.points[i].1),
                category: u.category.as_str().to_owned(),
                hot_steps: u.hot_steps,
                cold_steps: u.cold_steps,
                trend_z: round6(u.trend.z),
                trend_p: u.trend.p,
            });
        }
    }
    progress(1.0);
    Ok(EmergingScan {
        layer: layer.level.as_str().to_owned(),
        from: params.from,
        to: params.to,
        step: params.step.clone(),
        steps: starts,
        units: n,
        islands: layer.islands.clone(),
        topics: params.topics.clone(),
        categories,
        patterns,
    })
}

fn one() -> f64 {
    1.0
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn round3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}
