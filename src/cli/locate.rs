//! `gridline locate LON LAT`: the place chain of a point, as GET /api/v1/locate answers it.

use crate::config::DbArgs;

/// Prints the place chain of a point.
pub(super) fn run(lon: &str, lat: &str, crs: &str, db: &DbArgs) -> anyhow::Result<()> {
    let p = crate::geo::lonlat::Lonlat::parse(Some(lon), Some(lat), Some(crs))
        .map_err(|e| anyhow::anyhow!("{} ({})", e, e.code()))?;
    let state = crate::app::prepare(&db.database_url()?, 2)?;
    let located = state.index.locate(p.lon, p.lat).ok_or_else(|| {
        anyhow::anyhow!(
            "lon={:.6}, lat={:.6} is outside the jurisdiction (outside_jurisdiction)",
            p.lon,
            p.lat
        )
    })?;
    let mut out = String::new();
    for place in &located.chain {
        out.push_str(&format!(
            "{:<10} {}  {}\n",
            place.level.as_str(),
            place.code,
            place.name
        ));
    }
    if let Some((b, d)) = located.building {
        out.push_str(&format!(
            "{:<10} {}  {} ({} households, {:.0} m away)\n",
            "building", b.code, b.name, b.households, d
        ));
    }
    let method = match located.method {
        crate::geo::index::Method::Exact => "exact".to_owned(),
        crate::geo::index::Method::Snapped => format!("snapped ({:.0} m)", located.snap_distance_m),
    };
    out.push_str(&format!("{:<10} {}\n", "method", method));
    print!("{out}");
    Ok(())
}
