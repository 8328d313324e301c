//! Parsing a point at the edge: text or JSON numbers in any supported CRS become a WGS-84 [`Lonlat`], or a
//! [`PointError`] with a stable code saying exactly what is wrong.

use crate::geo::crs::{self, Crs};

/// A valid WGS-84 point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lonlat {
    /// Longitude, degrees east.
    pub lon: f64,
    /// Latitude, degrees north.
    pub lat: f64,
}

/// Why a point was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PointError {
    /// `lon` or `lat` is missing.
    #[error("the parameter {0} is required")]
    Missing(&'static str),
    /// Not a finite number.
    #[error("{0} must be a finite decimal number of degrees, got {1:?}")]
    NotANumber(&'static str, String),
    /// Outside [-180, 180] × [-90, 90].
    #[error("lon must be within [-180, 180] and lat within [-90, 90], got lon={0}, lat={1}")]
    OutOfRange(f64, f64),
    /// Latitude and longitude look exchanged.
    #[error("lon={0}, lat={1} looks like latitude and longitude swapped: send lon={1}, lat={0}")]
    Swapped(f64, f64),
    /// The crs is not one of ours.
    #[error("unknown crs {0:?}: use wgs84, gcj02 or bd09")]
    UnknownCrs(String),
}

impl PointError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            PointError::Missing(_) => "missing_parameter",
            PointError::NotANumber(..) => "invalid_number",
            PointError::OutOfRange(..) => "out_of_range",
            PointError::Swapped(..) => "coordinates_swapped",
            PointError::UnknownCrs(_) => "unknown_crs",
        }
    }
}

fn number(name: &'static str, text: Option<&str>) -> Result<f64, PointError> {
    let text = text.ok_or(PointError::Missing(name))?.trim();
    if text.is_empty() {
        return Err(PointError::Missing(name));
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(PointError::NotANumber(
            name,
            text.chars().take(40).collect(),
        )),
    }
}

/// Parses the crs name (absent means WGS-84).
pub fn parse_crs(text: Option<&str>) -> Result<Crs, PointError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(Crs::Wgs84),
        Some(t) => {
            Crs::parse(t).ok_or_else(|| PointError::UnknownCrs(t.chars().take(40).collect()))
        }
    }
}

impl Lonlat {
    /// Parses query-string values.
    pub fn parse(
        lon: Option<&str>,
        lat: Option<&str>,
        crs: Option<&str>,
    ) -> Result<Lonlat, PointError> {
        let lon = number("lon", lon)?;
        let lat = number("lat", lat)?;
        Lonlat::from_numbers(lon, lat, parse_crs(crs)?)
    }

    /// Checks numbers already parsed and converts them to WGS-84.
    pub fn from_numbers(lon: f64, lat: f64, crs: Crs) -> Result<Lonlat, PointError> {
        if !lon.is_finite() {
            return Err(PointError::NotANumber("lon", lon.to_string()));
        }
        if !lat.is_finite() {
            return Err(PointError::NotANumber("lat", lat.to_string()));
        }
        if lat.abs() > 90.0 && lon.abs() <= 90.0 && lat.abs() <= 180.0 {
            return Err(PointError::Swapped(lon, lat));
        }
        if lon.abs() > 180.0 || lat.abs() > 90.0 {
            return Err(PointError::OutOfRange(lon, lat));
        }
        let (lon, lat) = crs::to_wgs84(crs, lon, lat);
        Ok(Lonlat { lon, lat })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_bad_point_has_its_own_code() {
        let code = |lon: Option<&str>, lat: Option<&str>, crs: Option<&str>| {
            Lonlat::parse(lon, lat, crs).unwrap_err().code()
        };
        assert_eq!(code(None, Some("39.9"), None), "missing_parameter");
        assert_eq!(code(Some("NaN"), Some("39.9"), None), "invalid_number");
        assert_eq!(code(Some("abc"), Some("39.9"), None), "invalid_number");
        assert_eq!(code(Some("inf"), Some("39.9"), None), "invalid_number");
        assert_eq!(code(Some("200"), Some("39.9"), None), "out_of_range");
        assert_eq!(
            code(Some("39.9"), Some("116.4"), None),
            "coordinates_swapped"
        );
        assert_eq!(
            code(Some("116.4"), Some("39.9"), Some("utm")),
            "unknown_crs"
        );
    }

    #[test]
    fn a_gcj02_point_is_converted_to_wgs84() {
        let p = Lonlat::parse(
            Some("116.41024449916938"),
            Some("39.91640428150164"),
            Some("gcj02"),
        )
        .unwrap();
        assert!((p.lon - 116.404).abs() < 1e-8 && (p.lat - 39.915).abs() < 1e-8);
    }
}
