//! Web Mercator (EPSG:3857) XYZ tile arithmetic: tile addresses that are valid by construction, and the
//! projection between WGS-84 lon/lat and normalised Mercator coordinates (x west→east and y north→south, both in
//! 0..=1, so that tile (z, x, y) covers `x/2^z ..= (x+1)/2^z` on both axes).

use std::f64::consts::PI;

/// The deepest zoom any layer could be served at (world units of a tile then still fit an `i32`).
pub const MAX_ZOOM: u8 = 18;
/// Web Mercator's latitude limit: the map is square.
pub const MAX_LAT: f64 = 85.051_128_779_806_59;

/// A tile address with `x` and `y` in `0..2^z` and `z` at most [`MAX_ZOOM`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    z: u8,
    x: u32,
    y: u32,
}

impl TileId {
    /// The tile, when `x` and `y` lie in the zoom's range and the zoom is at most [`MAX_ZOOM`].
    pub fn new(z: u8, x: u32, y: u32) -> Option<TileId> {
        let n = 1u32.checked_shl(u32::from(z))?;
        (z <= MAX_ZOOM && x < n && y < n).then_some(TileId { z, x, y })
    }

    /// Zoom.
    pub fn z(self) -> u8 {
        self.z
    }

    /// Column, west to east.
    pub fn x(self) -> u32 {
        self.x
    }

    /// Row, north to south.
    pub fn y(self) -> u32 {
        self.y
    }

    /// Tiles across the world at this zoom.
    pub fn count(z: u8) -> u32 {
        1u32 << z.min(MAX_ZOOM)
    }

    /// [west, south, east, north] in degrees, WGS-84.
    pub fn bounds_lonlat(self) -> [f64; 4] {
        let n = f64::from(Self::count(self.z));
        let (west, north) = unproject(f64::from(self.x) / n, f64::from(self.y) / n);
        let (east, south) = unproject(f64::from(self.x + 1) / n, f64::from(self.y + 1) / n);
        [west, south, east, north]
    }
}

/// Normalised Mercator coordinates of a lon/lat (latitudes clamped to ±[`MAX_LAT`]).
pub fn project(lon: f64, lat: f64) -> (f64, f64) {
    let phi = lat.clamp(-MAX_LAT, MAX_LAT).to_radians();
    let x = (lon + 180.0) / 360.0;
    let y = (1.0 - (phi.tan() + 1.0 / phi.cos()).ln() / PI) / 2.0;
    (x, y)
}

/// The lon/lat of normalised Mercator coordinates.
pub fn unproject(x: f64, y: f64) -> (f64, f64) {
    let lon = x * 360.0 - 180.0;
    let lat = (PI * (1.0 - 2.0 * y)).sinh().atan().to_degrees();
    (lon, lat)
}

/// The columns and rows of the tiles at zoom `z` that cover a lon/lat box [west, south, east, north].
pub fn covering(
    z: u8,
    bbox: [f64; 4],
) -> (std::ops::RangeInclusive<u32>, std::ops::RangeInclusive<u32>) {
    let n = TileId::count(z);
    let last = n - 1;
    let cell = |v: f64| ((v * f64::from(n)).floor().max(0.0) as u32).min(last);
    let (x0, y0) = project(bbox[0], bbox[3]);
    let (x1, y1) = project(bbox[2], bbox[1]);
    (cell(x0)..=cell(x1), cell(y0)..=cell(y1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tile_outside_its_zoom_range_does_not_exist() {
        assert!(TileId::new(0, 0, 0).is_some());
        assert!(TileId::new(0, 1, 0).is_none());
        assert!(TileId::new(3, 7, 7).is_some());
        assert!(TileId::new(3, 8, 0).is_none());
        assert!(TileId::new(3, 0, 8).is_none());
        assert!(TileId::new(MAX_ZOOM + 1, 0, 0).is_none());
        assert!(TileId::new(200, 0, 0).is_none());
    }

    #[test]
    fn the_world_tile_spans_the_mercator_square() {
        let [w, s, e, n] = TileId::new(0, 0, 0).unwrap().bounds_lonlat();
        assert!((w + 180.0).abs() < 1e-9 && (e - 180.0).abs() < 1e-9);
        assert!((n - MAX_LAT).abs() < 1e-9 && (s + MAX_LAT).abs() < 1e-9);
    }

    #[test]
    fn tiananmen_lies_in_the_tile_maps_give_it() {
        // By hand: x = (116.3975 + 180) / 360 · 2^14 = 13489.38; y = (1 − ln(tan φ + sec φ) / π) / 2 · 2^14 = 6208.06
        // for φ = 39.9087°. The tile's bounds must then hold the point.
        let (x, y) = project(116.3975, 39.9087);
        let (tx, ty) = ((x * 16384.0) as u32, (y * 16384.0) as u32);
        assert_eq!((tx, ty), (13489, 6208));
        let [w, s, e, n] = TileId::new(14, tx, ty).unwrap().bounds_lonlat();
        assert!(w <= 116.3975 && 116.3975 < e && s < 39.9087 && 39.9087 <= n);
        // Equator and prime meridian sit on tile corners.
        assert_eq!(project(0.0, 0.0), (0.5, 0.5));
        let (lon, lat) = unproject(0.25, 0.5);
        assert!((lon + 90.0).abs() < 1e-12 && lat.abs() < 1e-12);
    }

    #[test]
    fn covering_tiles_hold_the_box() {
        let (xs, ys) = covering(14, [116.3, 39.8, 116.5, 40.0]);
        assert!(xs.start() < xs.end() && ys.start() < ys.end());
        for (x, y) in [(*xs.start(), *ys.start()), (*xs.end(), *ys.end())] {
            let [w, s, e, n] = TileId::new(14, x, y).unwrap().bounds_lonlat();
            assert!(w < 116.5 && e > 116.3 && s < 40.0 && n > 39.8);
        }
    }
}
