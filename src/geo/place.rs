//! Places of the hierarchy (city → district → street → community → cell) and buildings, as plain values.
//!
//! Codes follow GB/T 2260 and the Beijing grid code DB11/T 2157-2023: 6 digits for a district, +3 for a street,
//! +3 for a community, +3 for a grid cell; a building adds 3 more to its cell's code. A code's parent is its prefix,
//! except that a district's parent is the city `110000`. Geometry is WGS-84 lon/lat.

use geo::MultiPolygon;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The code of the city itself, the root of the hierarchy.
pub const CITY_CODE: &str = "110000";

/// A level of the place hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The city (市), code 110000.
    City,
    /// 区: 6 digits.
    District,
    /// 街道/乡镇: 9 digits.
    Street,
    /// 社区/村: 12 digits.
    Community,
    /// 网格: 15 digits.
    Cell,
}

impl Level {
    /// All levels from the root down.
    pub const ALL: [Level; 5] = [
        Level::City,
        Level::District,
        Level::Street,
        Level::Community,
        Level::Cell,
    ];

    /// Parses a level name as the API and command line spell it.
    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// The lowercase English name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::City => "city",
            Level::District => "district",
            Level::Street => "street",
            Level::Community => "community",
            Level::Cell => "cell",
        }
    }

    /// How many digits a code of this level has.
    pub fn code_len(self) -> usize {
        match self {
            Level::City | Level::District => 6,
            Level::Street => 9,
            Level::Community => 12,
            Level::Cell => 15,
        }
    }

    /// The level above, `None` for the city.
    pub fn parent(self) -> Option<Level> {
        match self {
            Level::City => None,
            Level::District => Some(Level::City),
            Level::Street => Some(Level::District),
            Level::Community => Some(Level::Street),
            Level::Cell => Some(Level::Community),
        }
    }

    /// The level below, `None` for a cell.
    pub fn child(self) -> Option<Level> {
        match self {
            Level::City => Some(Level::District),
            Level::District => Some(Level::Street),
            Level::Street => Some(Level::Community),
            Level::Community => Some(Level::Cell),
            Level::Cell => None,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated place code (digits only, the length of its level).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlaceCode(String);

/// Whether `s` is a building's code: 18 digits, its cell's 15-digit code and a 3-digit serial.
pub fn is_building_code(s: &str) -> bool {
    s.len() == 18
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.get(..15)
            .and_then(PlaceCode::parse)
            .is_some_and(|(_, l)| l == Level::Cell)
}

impl PlaceCode {
    /// Parses a code and infers its level from its length; the city is exactly `110000`.
    pub fn parse(s: &str) -> Option<(PlaceCode, Level)> {
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let level = match s.len() {
            6 if s == CITY_CODE => Level::City,
            6 if s.ends_with("00") && !s.ends_with("0000") => return None,
            6 => Level::District,
            9 => Level::Street,
            12 => Level::Community,
            15 => Level::Cell,
            _ => return None,
        };
        Some((PlaceCode(s.to_owned()), level))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The parent's code by the nesting rule (prefix; districts belong to the city).
    pub fn parent(&self) -> Option<PlaceCode> {
        match self.0.len() {
            6 if self.0 == CITY_CODE => None,
            6 => Some(PlaceCode(CITY_CODE.to_owned())),
            n => Some(PlaceCode(self.0[..n - 3].to_owned())),
        }
    }

    /// The district this code lies in (the city answers for itself).
    pub fn district(&self) -> &str {
        &self.0[..6]
    }
}

impl fmt::Display for PlaceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A place with its outline.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    /// Its code.
    pub code: PlaceCode,
    /// Its official name.
    pub name: String,
    /// Its level.
    pub level: Level,
    /// Its parent's code (`None` for the city).
    pub parent: Option<PlaceCode>,
    /// Its outline, WGS-84.
    pub geometry: MultiPolygon<f64>,
}

/// A building or courtyard (楼/院): a point with a household count, inside one cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Building {
    /// Its code: the cell's code plus a 3-digit serial.
    pub code: String,
    /// A display name (e.g. 3号楼).
    pub name: String,
    /// The cell it lies in.
    pub cell: PlaceCode,
    /// Households (户).
    pub households: u32,
    /// Longitude, WGS-84.
    pub lon: f64,
    /// Latitude, WGS-84.
    pub lat: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_nest_by_prefix_and_districts_belong_to_the_city() {
        let (c, l) = PlaceCode::parse("110105001001002").unwrap();
        assert_eq!(l, Level::Cell);
        assert_eq!(c.parent().unwrap().as_str(), "110105001001");
        let (d, l) = PlaceCode::parse("110105").unwrap();
        assert_eq!(l, Level::District);
        assert_eq!(d.parent().unwrap().as_str(), CITY_CODE);
        assert_eq!(PlaceCode::parse("110000").unwrap().1, Level::City);
        assert!(PlaceCode::parse("11010500").is_none());
        assert!(PlaceCode::parse("11010a").is_none());
    }
}
