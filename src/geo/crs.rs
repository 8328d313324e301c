//! Coordinate reference systems: WGS-84 (what gridline stores), GCJ-02 (AMap, Tencent, WeChat) and BD-09 (Baidu).
//!
//! Every point that enters the system is converted to WGS-84 at the edge by [`to_wgs84`]. The GCJ-02 offset is a
//! published obfuscation formula without a closed-form inverse; [`gcj02_to_wgs84`] inverts it iteratively to well
//! under 0.5 m. Outside mainland China GCJ-02 and WGS-84 coincide by definition, so the offset is not applied there.
//!
//! The formulas are short and the reference vectors in DESIGN.md pin them; they are written here rather than taken
//! from a crate so that the iterative inverse and the China test stay under our tests.

use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// A coordinate reference system a client may send points in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Crs {
    /// WGS-84 longitude/latitude (EPSG:4326): GPS, OpenStreetMap, what gridline stores.
    #[default]
    Wgs84,
    /// GCJ-02, the offset system of AMap, Tencent and WeChat maps.
    Gcj02,
    /// BD-09, Baidu's further offset of GCJ-02.
    Bd09,
}

impl Crs {
    /// Every system, in the order the API lists them.
    pub const ALL: [Crs; 3] = [Crs::Wgs84, Crs::Gcj02, Crs::Bd09];

    /// Parses the `crs` parameter; `None` for anything but the three names.
    pub fn parse(s: &str) -> Option<Crs> {
        match s.to_ascii_lowercase().as_str() {
            "wgs84" | "wgs-84" | "epsg:4326" => Some(Crs::Wgs84),
            "gcj02" | "gcj-02" => Some(Crs::Gcj02),
            "bd09" | "bd-09" => Some(Crs::Bd09),
            _ => None,
        }
    }

    /// The canonical name, as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        }
    }
}

const KRASOVSKY_A: f64 = 6_378_245.0;
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
const X_PI: f64 = PI * 3000.0 / 180.0;

/// Whether GCJ-02 applies at this point (a bounding box of mainland China, as every implementation uses).
pub fn in_china(lon: f64, lat: f64) -> bool {
    (72.004..=137.8347).contains(&lon) && (0.8293..=55.8271).contains(&lat)
}

fn offset_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn offset_lon(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// WGS-84 to GCJ-02 (the forward formula).
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if !in_china(lon, lat) {
        return (lon, lat);
    }
    let d_lat = offset_lat(lon - 105.0, lat - 35.0);
    let d_lon = offset_lon(lon - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - KRASOVSKY_EE * rad_lat.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    let d_lat =
        (d_lat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let d_lon = (d_lon * 180.0) / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI);
    (lon + d_lon, lat + d_lat)
}

/// GCJ-02 to WGS-84 in one step (error up to a few metres); see [`gcj02_to_wgs84`] for the exact inverse.
pub fn gcj02_to_wgs84_approx(lon: f64, lat: f64) -> (f64, f64) {
    let (glon, glat) = wgs84_to_gcj02(lon, lat);
    (2.0 * lon - glon, 2.0 * lat - glat)
}

/// GCJ-02 to WGS-84 by fixed-point iteration of the forward formula, to 1e-9 degrees (about 0.1 mm).
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    let (mut wlon, mut wlat) = gcj02_to_wgs84_approx(lon, lat);
    for _ in 0..30 {
        let (glon, glat) = wgs84_to_gcj02(wlon, wlat);
        let (dlon, dlat) = (glon - lon, glat - lat);
        wlon -= dlon;
        wlat -= dlat;
        if dlon.abs() < 1e-10 && dlat.abs() < 1e-10 {
            break;
        }
    }
    (wlon, wlat)
}

/// GCJ-02 to BD-09.
pub fn gcj02_to_bd09(lon: f64, lat: f64) -> (f64, f64) {
    let z = (lon * lon + lat * lat).sqrt() + 0.00002 * (lat * X_PI).sin();
    let theta = lat.atan2(lon) + 0.000003 * (lon * X_PI).cos();
    (z * theta.cos() + 0.0065, z * theta.sin() + 0.006)
}

/// BD-09 to GCJ-02.
pub fn bd09_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    let x = lon - 0.0065;
    let y = lat - 0.006;
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * X_PI).cos();
    (z * theta.cos(), z * theta.sin())
}

/// Converts a point given in `crs` to WGS-84.
pub fn to_wgs84(crs: Crs, lon: f64, lat: f64) -> (f64, f64) {
    match crs {
        Crs::Wgs84 => (lon, lat),
        Crs::Gcj02 => gcj02_to_wgs84(lon, lat),
        Crs::Bd09 => {
            let (g_lon, g_lat) = bd09_to_gcj02(lon, lat);
            gcj02_to_wgs84(g_lon, g_lat)
        }
    }
}

/// Converts a WGS-84 point to `crs` (for answers and tests).
pub fn from_wgs84(crs: Crs, lon: f64, lat: f64) -> (f64, f64) {
    match crs {
        Crs::Wgs84 => (lon, lat),
        Crs::Gcj02 => wgs84_to_gcj02(lon, lat),
        Crs::Bd09 => {
            let (g_lon, g_lat) = wgs84_to_gcj02(lon, lat);
            gcj02_to_bd09(g_lon, g_lat)
        }
    }
}

/// Great-circle distance in metres (haversine, mean Earth radius).
pub fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    const R: f64 = 6_371_008.8;
    let (lat1, lat2) = (a.1.to_radians(), b.1.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.0 - a.0).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * R * h.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f64, f64), b: (f64, f64), tol: f64) -> bool {
        (a.0 - b.0).abs() < tol && (a.1 - b.1).abs() < tol
    }

    #[test]
    fn design_reference_vectors_hold() {
        let p = (116.404, 39.915);
        assert!(close(
            wgs84_to_gcj02(p.0, p.1),
            (116.41024449916938, 39.91640428150164),
            1e-12
        ));
        assert!(close(
            gcj02_to_wgs84_approx(p.0, p.1),
            (116.39775550083061, 39.91359571849836),
            1e-12
        ));
        assert!(close(
            gcj02_to_bd09(p.0, p.1),
            (116.41036949371029, 39.92133699351021),
            1e-12
        ));
        assert!(close(
            bd09_to_gcj02(p.0, p.1),
            (116.39762729119315, 39.90865673957631),
            1e-12
        ));
    }

    #[test]
    fn iterative_inverse_is_better_than_half_a_metre_across_beijing() {
        let mut worst: f64 = 0.0;
        for i in 0..=40 {
            for j in 0..=40 {
                let w = (
                    115.4 + 2.1 * f64::from(i) / 40.0,
                    39.4 + 1.7 * f64::from(j) / 40.0,
                );
                let g = wgs84_to_gcj02(w.0, w.1);
                worst = worst.max(haversine_m(w, gcj02_to_wgs84(g.0, g.1)));
                let b = from_wgs84(Crs::Bd09, w.0, w.1);
                worst = worst.max(haversine_m(w, to_wgs84(Crs::Bd09, b.0, b.1)));
            }
        }
        assert!(worst < 0.5, "worst round trip {worst} m");
    }

    #[test]
    fn outside_china_the_offset_is_zero() {
        assert_eq!(wgs84_to_gcj02(2.35, 48.85), (2.35, 48.85));
    }

    #[test]
    fn crs_names_parse() {
        assert_eq!(Crs::parse("GCJ02"), Some(Crs::Gcj02));
        assert_eq!(Crs::parse("bd09"), Some(Crs::Bd09));
        assert_eq!(Crs::parse("mercator"), None);
    }
}
