//! The polygon layer a city scan runs over: the cells, communities or streets inside a coverage, with their
//! outlines (a community or street is the union of its cells' parts, never re-traced), centroids, households, the
//! district each belongs to, and the spatial weights between them. Built from the in-memory place index, so a scan
//! costs no geometry query.

use crate::analytics::{self, Weights, WeightsSpec};
use crate::geo::index::PlaceIndex;
use crate::geo::place::Level;
use geo::{Centroid, MultiPolygon};
use std::collections::HashMap;

/// Units of a layer, by position.
#[derive(Debug)]
pub struct Layer {
    /// The level.
    pub level: Level,
    /// Codes, sorted.
    pub codes: Vec<String>,
    /// Outlines (WGS-84).
    pub shapes: Vec<MultiPolygon<f64>>,
    /// Centroids (lon, lat).
    pub points: Vec<(f64, f64)>,
    /// Households of the buildings inside.
    pub households: Vec<f64>,
    /// Position of each unit's district in [`Layer::districts`].
    pub groups: Vec<usize>,
    /// The districts met, by code.
    pub districts: Vec<String>,
    /// Spatial weights between the units (islands left out of the layer, see [`Layer::islands`]).
    pub weights: Weights,
    /// Units of the coverage that had no neighbour under the weights and were left out of the scan.
    pub islands: Vec<String>,
}

impl Layer {
    /// Position of a code.
    pub fn position(&self, code: &str) -> Option<usize> {
        self.codes.binary_search_by(|c| c.as_str().cmp(code)).ok()
    }
}

/// The layer of `level` inside `coverage` (place-code prefixes; `None` for the city). Units without a neighbour
/// under `spec` are left out and listed.
pub fn build(
    index: &PlaceIndex,
    level: Level,
    coverage: Option<&[String]>,
    spec: WeightsSpec,
) -> Result<Layer, analytics::Error> {
    let inside =
        |code: &str| coverage.is_none_or(|ps| ps.iter().any(|p| code.starts_with(p.as_str())));
    let len = level.code_len();
    let mut parts: HashMap<&str, Vec<geo::Polygon<f64>>> = HashMap::new();
    for id in 0..index.cell_count() as u32 {
        let code = index.cell_code(id);
        let Some(unit) = code.get(..len) else {
            continue;
        };
        if inside(code) && index.place(unit).is_some() {
            parts
                .entry(unit)
                .or_default()
                .extend(index.cell_geometry(id).0);
        }
    }
    let mut households: HashMap<&str, f64> = HashMap::new();
    for b in index.buildings() {
        if let Some(unit) = b.code.get(..len) {
            *households.entry(unit).or_default() += f64::from(b.households);
        }
    }
    let mut codes: Vec<&str> = parts.keys().copied().collect();
    codes.sort_unstable();
    let shapes: Vec<MultiPolygon<f64>> = codes
        .iter()
        .map(|c| MultiPolygon(parts.remove(c).unwrap_or_default()))
        .collect();
    let all = Weights::build(&shapes, spec)?;
    let keep: Vec<usize> = (0..codes.len())
        .filter(|&i| !all.neighbours(i).is_empty())
        .collect();
    let islands: Vec<String> = (0..codes.len())
        .filter(|&i| all.neighbours(i).is_empty())
        .map(|i| codes[i].to_owned())
        .collect();
    let weights = if islands.is_empty() {
        all
    } else {
        let mut new_pos = vec![usize::MAX; codes.len()];
        for (k, &i) in keep.iter().enumerate() {
            new_pos[i] = k;
        }
        Weights::from_lists(
            keep.iter()
                .map(|&i| {
                    all.neighbours(i)
                        .iter()
                        .map(|&j| new_pos[j as usize])
                        .filter(|&j| j != usize::MAX)
                        .collect()
                })
                .collect(),
        )?
    };
    let mut districts: Vec<String> = Vec::new();
    let mut layer = Layer {
        level,
        codes: Vec::with_capacity(keep.len()),
        shapes: Vec::with_capacity(keep.len()),
        points: Vec::with_capacity(keep.len()),
        households: Vec::with_capacity(keep.len()),
        groups: Vec::with_capacity(keep.len()),
        districts: Vec::new(),
        weights,
        islands,
    };
    let mut shapes = shapes.into_iter().map(Some).collect::<Vec<_>>();
    for i in keep {
        let code = codes[i];
        let shape = shapes[i].take().unwrap_or_else(|| MultiPolygon(Vec::new()));
        let point = shape.centroid().map_or((0.0, 0.0), |p| (p.x(), p.y()));
        let district = code.get(..6).unwrap_or(code);
        let group = match districts.iter().position(|d| d == district) {
            Some(g) => g,
            None => {
                districts.push(district.to_owned());
                districts.len() - 1
            }
        };
        layer.codes.push(code.to_owned());
        layer.points.push(point);
        layer
            .households
            .push(households.get(code).copied().unwrap_or(0.0));
        layer.groups.push(group);
        layer.shapes.push(shape);
    }
    layer.districts = districts;
    Ok(layer)
}
