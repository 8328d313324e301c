//! The monthly report a leader reads (`gridline report monthly`): the monthly topic ranking
//! ([`super::monthly`]) with two maps drawn in process as PNG ([`crate::analytics::map_image`]): the month's calls
//! per street as a choropleth (quantile classes, legend) and the clusters of the newest finished hot spot scan the
//! reader may see. Geometry comes from the in-memory place index (every street is drawn as its cells).

use crate::analytics::map_image::{self, MapError, MapSpec, Mark, Overlay, RegionStyle, Rgb};
use crate::analytics::monthly::{class_breaks, class_of};
use crate::db::Db;
use crate::domain::access::Principal;
use crate::error::ServiceError;
use crate::geo::index::PlaceIndex;
use crate::service::analytics::monthly::{self as ranking, Ranking, RankingError, RankingRequest};
use crate::service::hotspots::jobs;
use crate::service::hotspots::scan::{Cluster, ScanResult};
use chrono::{NaiveDate, NaiveDateTime};
use geo::Polygon;

/// Classes of the choropleth.
pub const CLASSES: usize = 5;
/// The classes' colours, lightest first (ColorBrewer YlOrRd, 5 classes).
pub const PALETTE: [Rgb; CLASSES] = [
    Rgb(0xff, 0xff, 0xb2),
    Rgb(0xfe, 0xcc, 0x5c),
    Rgb(0xfd, 0x8d, 0x3c),
    Rgb(0xf0, 0x3b, 0x20),
    Rgb(0xbd, 0x00, 0x26),
];
/// Streets without calls.
pub const NO_CALLS: Rgb = Rgb(0xee, 0xee, 0xee);
/// The base of the hot spot map.
pub const BASE: Rgb = Rgb(0xf4, 0xf4, 0xf4);
/// Clusters at the 99 % bin.
pub const HOT_99: Rgb = Rgb(0xd7, 0x30, 0x1f);
/// Clusters at the 95 % bin.
pub const HOT_95: Rgb = Rgb(0xfc, 0x8d, 0x59);
/// Clusters labelled with their rank on the map (the rest are drawn unlabelled).
pub const LABELLED_CLUSTERS: usize = 20;

/// Why the report could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The ranking was refused or failed.
    #[error(transparent)]
    Ranking(#[from] RankingError),
    /// The scans could not be read.
    #[error(transparent)]
    Scan(#[from] crate::service::hotspots::ScanError),
    /// A map could not be drawn.
    #[error(transparent)]
    Map(#[from] MapError),
}

impl ReportError {
    /// The stable code of a refusal, if it is one.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            ReportError::Ranking(e) => e.code(),
            ReportError::Scan(e) => e.code(),
            ReportError::Map(_) => None,
        }
    }
}

/// One class of the choropleth.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendClass {
    /// Its colour.
    pub colour: Rgb,
    /// Lowest calls of the class.
    pub from: i64,
    /// Highest calls of the class.
    pub to: i64,
    /// Streets in it.
    pub streets: usize,
}

/// The hot spot map.
#[derive(Debug, Clone, PartialEq)]
pub struct HotspotMap {
    /// The scan drawn.
    pub scan_id: String,
    /// Its layer.
    pub layer: String,
    /// Its window.
    pub from: NaiveDate,
    /// Its window's last day.
    pub to: NaiveDate,
    /// When it finished.
    pub finished_at: Option<NaiveDateTime>,
    /// Its clusters, strongest first.
    pub clusters: Vec<Cluster>,
    /// The map (PNG).
    pub png: Vec<u8>,
}

/// The report's content.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthlyReport {
    /// The ranking.
    pub ranking: Ranking,
    /// The choropleth (PNG).
    pub choropleth: Vec<u8>,
    /// Its classes (streets without calls are the class "0", drawn in [`NO_CALLS`]).
    pub legend: Vec<LegendClass>,
    /// Streets without calls.
    pub streets_without_calls: usize,
    /// The hot spot map, when a finished scan is visible.
    pub hotspots: Option<HotspotMap>,
}

/// The polygons of a place (its cells) as owned shapes.
fn cells_of(index: &PlaceIndex, code: &str) -> Vec<Polygon<f64>> {
    index
        .cells_under(code)
        .flat_map(|id| index.cell_geometry(id).0)
        .collect()
}

/// Every street of the ranking as its cells, each with the street's position and style group (its district).
fn street_shapes(index: &PlaceIndex, r: &Ranking) -> (Vec<(Polygon<f64>, usize)>, Vec<u32>) {
    let mut shapes = Vec::new();
    let mut groups = Vec::with_capacity(r.streets.len());
    for (k, s) in r.streets.iter().enumerate() {
        groups.push(s.code.get(..6).and_then(|d| d.parse().ok()).unwrap_or(0));
        shapes.extend(cells_of(index, &s.code).into_iter().map(|p| (p, k)));
    }
    (shapes, groups)
}

/// The choropleth of the ranking's streets.
fn choropleth(
    index: &PlaceIndex,
    r: &Ranking,
    width: u32,
) -> Result<(Vec<u8>, Vec<LegendClass>, usize), MapError> {
    let values: Vec<i64> = r.streets.iter().map(|s| s.tickets).collect();
    let breaks = class_breaks(&values, CLASSES);
    // With fewer classes than colours, spread them over the palette so the darkest stays the highest.
    let colour_of = |class: usize| {
        let n = breaks.len().max(1);
        PALETTE[if n == 1 {
            CLASSES - 1
        } else {
            class * (CLASSES - 1) / (n - 1)
        }]
    };
    let (shapes, groups) = street_shapes(index, r);
    let styles: Vec<RegionStyle> = values
        .iter()
        .zip(&groups)
        .map(|(v, g)| RegionStyle {
            fill: class_of(*v, &breaks).map_or(NO_CALLS, colour_of),
            group: *g,
        })
        .collect();
    let mut legend: Vec<LegendClass> = breaks
        .iter()
        .enumerate()
        .map(|(k, b)| LegendClass {
            colour: colour_of(k),
            from: if k == 0 { 1 } else { breaks[k - 1] + 1 },
            to: *b,
            streets: values
                .iter()
                .filter(|v| class_of(**v, &breaks) == Some(k))
                .count(),
        })
        .collect();
    let without = values.iter().filter(|v| **v <= 0).count();
    let mut rows: Vec<(Rgb, String)> = vec![(NO_CALLS, "0".into())];
    rows.extend(legend.iter().map(|c| {
        (
            c.colour,
            if c.from == c.to {
                c.to.to_string()
            } else {
                format!("{}-{}", c.from, c.to)
            },
        )
    }));
    let spec = MapSpec {
        width,
        shapes: shapes.iter().map(|(p, k)| (p, *k)).collect(),
        styles,
        overlays: Vec::new(),
        marks: Vec::new(),
        legend: rows,
    };
    let png = map_image::draw(&spec)?;
    legend.retain(|c| c.streets > 0);
    Ok((png, legend, without))
}

/// The newest finished Gi* scan `user` may see, drawn over the ranking's streets.
fn hotspot_map(
    db: &Db,
    index: &PlaceIndex,
    user: &Principal,
    r: &Ranking,
    width: u32,
) -> Result<Option<HotspotMap>, ReportError> {
    let (scans, _) = jobs::list(db, user, 1, jobs::MAX_PAGE)?;
    let newest = scans.into_iter().find_map(|s| {
        let found = match (&s.result, s.status.as_str()) {
            (Some(ScanResult::Gistar(c)), "finished") => c.clone(),
            _ => return None,
        };
        Some((s, found))
    });
    let Some((scan, found)) = newest else {
        return Ok(None);
    };
    let (shapes, groups) = street_shapes(index, r);
    let styles: Vec<RegionStyle> = groups
        .iter()
        .map(|g| RegionStyle {
            fill: BASE,
            group: *g,
        })
        .collect();
    let cluster_cells: Vec<(i8, Vec<Polygon<f64>>)> = found
        .clusters
        .iter()
        .map(|c| {
            (
                c.bin,
                c.units.iter().flat_map(|u| cells_of(index, u)).collect(),
            )
        })
        .collect();
    let overlays: Vec<Overlay<'_>> = cluster_cells
        .iter()
        .map(|(bin, polys)| Overlay {
            polygons: polys.iter().collect(),
            fill: if *bin >= 3 { HOT_99 } else { HOT_95 },
        })
        .collect();
    let marks: Vec<Mark> = found
        .clusters
        .iter()
        .take(LABELLED_CLUSTERS)
        .map(|c| Mark {
            lon: c.centre.lon,
            lat: c.centre.lat,
            label: c.rank.to_string(),
        })
        .collect();
    let spec = MapSpec {
        width,
        shapes: shapes.iter().map(|(p, k)| (p, *k)).collect(),
        styles,
        overlays,
        marks,
        legend: vec![(HOT_99, "99%".into()), (HOT_95, "95%".into())],
    };
    let png = map_image::draw(&spec)?;
    Ok(Some(HotspotMap {
        scan_id: scan.id,
        layer: found.layer,
        from: found.from,
        to: found.to,
        finished_at: scan.finished_at,
        clusters: found.clusters,
        png,
    }))
}

/// Makes the report of `req` as `user` may read it, maps `width` pixels wide; `progress` hears each step's name
/// before it starts.
pub fn monthly_report(
    db: &Db,
    index: &PlaceIndex,
    user: &Principal,
    req: &RankingRequest,
    now: NaiveDateTime,
    width: u32,
    mut progress: impl FnMut(&str),
) -> Result<MonthlyReport, ReportError> {
    progress("ranking the month's topics");
    let r = ranking::ranking(db, index, user, req, now)?;
    progress("drawing the choropleth by street");
    let (choropleth, legend, without) = choropleth(index, &r, width)?;
    progress("drawing the newest hot spot scan");
    let hotspots = hotspot_map(db, index, user, &r, width)?;
    Ok(MonthlyReport {
        ranking: r,
        choropleth,
        legend,
        streets_without_calls: without,
        hotspots,
    })
}
