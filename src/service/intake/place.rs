//! Placing an item: by its point (the cell that holds it, or one within 200 m), else by the names in its address;
//! and the responsibility chain of that place at the item's time, as stored with it.

use crate::domain::chain::{SnapshotLink, encode_snapshot};
use crate::geo::index::Method;
use crate::geo::lonlat::Lonlat;
use crate::service::intake::Geo;
use chrono::NaiveDateTime;
use serde::Serialize;

/// How precisely an item is placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// A point inside a cell.
    Point,
    /// A point near (within 200 m of) a cell.
    Cell,
    /// Community named in the address.
    Community,
    /// Street named in the address.
    Street,
    /// District named in the address.
    District,
    /// Not placed.
    Unknown,
}

impl Precision {
    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Point => "point",
            Precision::Cell => "cell",
            Precision::Community => "community",
            Precision::Street => "street",
            Precision::District => "district",
            Precision::Unknown => "unknown",
        }
    }
}

/// Where an item was placed.
#[derive(Debug, Clone)]
pub(super) struct Placement {
    pub(super) precision: Precision,
    pub(super) place_code: Option<String>,
    /// The point, when the item was placed by it.
    pub(super) point: Option<(f64, f64)>,
    pub(super) building: Option<String>,
}

impl Placement {
    pub(super) fn district(&self) -> String {
        self.place_code
            .as_deref()
            .and_then(|c| c.get(..6))
            .unwrap_or("")
            .to_owned()
    }
}

pub(super) fn by_point(geo: &Geo<'_>, p: Lonlat) -> Option<Placement> {
    let l = geo.index.locate(p.lon, p.lat)?;
    Some(Placement {
        precision: match l.method {
            Method::Exact => Precision::Point,
            Method::Snapped => Precision::Cell,
        },
        place_code: Some(l.cell.code.clone()),
        point: Some((p.lon, p.lat)),
        building: l.building.map(|(b, _)| b.code.clone()),
    })
}

pub(super) fn by_address(geo: &Geo<'_>, text: &str) -> Placement {
    use crate::geo::place::Level;
    match geo.addresses.find(text) {
        Some(m) => Placement {
            precision: match m.level {
                Level::Community => Precision::Community,
                Level::Street => Precision::Street,
                _ => Precision::District,
            },
            place_code: Some(m.code),
            point: None,
            building: None,
        },
        None => Placement {
            precision: Precision::Unknown,
            place_code: None,
            point: None,
            building: None,
        },
    }
}

/// The chain of a place at a moment, as stored with tickets, reports and cases.
pub fn snapshot(geo: &Geo<'_>, place: Option<&str>, at: NaiveDateTime) -> String {
    let links: Vec<SnapshotLink> = place
        .and_then(|code| geo.chain.chain_at(geo.index, code, at))
        .map(|c| {
            c.links
                .into_iter()
                .map(|l| SnapshotLink {
                    kind: l.kind.as_str().to_owned(),
                    assignment_id: l.assignment.map(|a| a.id.clone()),
                    fallback: l.fallback,
                })
                .collect()
        })
        .unwrap_or_default();
    encode_snapshot(&links)
}
