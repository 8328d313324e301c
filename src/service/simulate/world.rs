//! Where simulated people live: a sampling frame over the place index. A district is drawn by population, a
//! community by the households of its buildings, a building by its households; points are scattered around the
//! building. Deterministic for a given index and random generator.

use crate::geo::index::{BuildingInfo, PlaceIndex};
use crate::geo::place::Level;
use crate::service::simulate::model;
use rand::Rng;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use std::collections::BTreeMap;

/// A community and the buildings in it.
#[derive(Debug)]
pub struct Community {
    /// Community code.
    pub code: String,
    /// Community name.
    pub name: String,
    /// Its street's name.
    pub street: String,
    /// Its district's name.
    pub district: String,
    /// Indices into [`PlaceIndex::buildings`].
    buildings: Vec<usize>,
    pick: WeightedIndex<u32>,
}

#[derive(Debug)]
struct District {
    communities: Vec<Community>,
    pick: WeightedIndex<u64>,
}

/// The sampling frame.
#[derive(Debug)]
pub struct World<'a> {
    index: &'a PlaceIndex,
    districts: Vec<District>,
    pick: WeightedIndex<f64>,
}

/// A drawn place: a building and its community.
#[derive(Debug, Clone, Copy)]
pub struct Spot<'a> {
    /// The building.
    pub building: &'a BuildingInfo,
    /// Its community.
    pub community: &'a Community,
}

impl Spot<'_> {
    /// The code of the building's cell (the building code less its last three digits).
    pub fn cell(&self) -> &str {
        let code = &self.building.code;
        code.get(..Level::Cell.code_len()).unwrap_or(code)
    }
}

impl<'a> World<'a> {
    /// The frame of every community that has buildings; `None` when no place has any.
    pub fn new(index: &'a PlaceIndex) -> Option<World<'a>> {
        let name_of = |code: &str| {
            index
                .place(code)
                .map(|p| p.name.clone())
                .unwrap_or_default()
        };
        let community_len = Level::Community.code_len();
        let mut by_community: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (k, b) in index.buildings().iter().enumerate() {
            if let Some(code) = b.code.get(..community_len) {
                by_community.entry(code).or_default().push(k);
            }
        }
        let mut by_district: BTreeMap<String, Vec<Community>> = BTreeMap::new();
        for (code, buildings) in by_community {
            let Some(place) = index.place(code).filter(|p| p.level == Level::Community) else {
                continue;
            };
            let street_code = place.parent.clone().unwrap_or_default();
            let Ok(pick) = WeightedIndex::new(
                buildings
                    .iter()
                    .map(|&k| index.buildings()[k].households.max(1)),
            ) else {
                continue;
            };
            by_district
                .entry(code.get(..6).unwrap_or("").to_owned())
                .or_default()
                .push(Community {
                    code: code.to_owned(),
                    name: place.name.clone(),
                    street: name_of(&street_code),
                    district: name_of(code.get(..6).unwrap_or("")),
                    buildings,
                    pick,
                });
        }
        let mut districts = Vec::new();
        let mut weights = Vec::new();
        for (code, communities) in by_district {
            let households = communities.iter().map(|c| {
                c.buildings
                    .iter()
                    .map(|&k| u64::from(index.buildings()[k].households.max(1)))
                    .sum::<u64>()
            });
            let Ok(pick) = WeightedIndex::new(households) else {
                continue;
            };
            weights.push(model::district_weight(&code));
            districts.push(District { communities, pick });
        }
        let pick = WeightedIndex::new(weights).ok()?;
        Some(World {
            index,
            districts,
            pick,
        })
    }

    /// A building drawn by population.
    pub fn spot(&self, rng: &mut impl Rng) -> Spot<'_> {
        let d = &self.districts[self.pick.sample(rng)];
        let community = &d.communities[d.pick.sample(rng)];
        self.in_community(community, rng)
    }

    /// A building of this community, drawn by households.
    pub fn in_community<'w>(&'w self, community: &'w Community, rng: &mut impl Rng) -> Spot<'w> {
        let k = community.buildings[community.pick.sample(rng)];
        Spot {
            building: &self.index.buildings()[k],
            community,
        }
    }

    /// A community of the frame by code.
    pub fn community(&self, code: &str) -> Option<&Community> {
        let d = self.districts.iter().find(|d| {
            d.communities
                .first()
                .is_some_and(|c| c.code.get(..6) == code.get(..6))
        })?;
        let k = d
            .communities
            .binary_search_by(|c| c.code.as_str().cmp(code))
            .ok()?;
        Some(&d.communities[k])
    }

    /// A point within `radius_m` of the spot's building and inside the building's own cell (the building's point
    /// when a few draws all fall outside): where the cell's grid member patrols.
    pub fn near_in_cell(&self, spot: &Spot<'_>, radius_m: f64, rng: &mut impl Rng) -> (f64, f64) {
        let b = spot.building;
        for _ in 0..8 {
            let (lon, lat) = scatter(b.lon, b.lat, radius_m, rng);
            if self
                .index
                .cell_at(lon, lat)
                .is_some_and(|c| self.index.cell_code(c) == spot.cell())
            {
                return (lon, lat);
            }
        }
        (b.lon, b.lat)
    }

    /// Number of communities in the frame.
    pub fn community_count(&self) -> usize {
        self.districts.iter().map(|d| d.communities.len()).sum()
    }
}

/// A point drawn uniformly from the disc of `radius_m` metres around (lon, lat).
pub fn scatter(lon: f64, lat: f64, radius_m: f64, rng: &mut impl Rng) -> (f64, f64) {
    let r = radius_m * rng.random::<f64>().sqrt();
    let theta = rng.random::<f64>() * std::f64::consts::TAU;
    let dlat = r * theta.sin() / 110_574.0;
    let dlon = r * theta.cos() / (111_320.0 * lat.to_radians().cos().max(0.1));
    (lon + dlon, lat + dlat)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::crs::haversine_m;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn scattered_points_stay_inside_the_radius() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..1000 {
            let (lon, lat) = scatter(116.4, 39.9, 80.0, &mut rng);
            assert!(haversine_m((116.4, 39.9), (lon, lat)) <= 80.5);
        }
    }
}
