//! Geography: the place hierarchy, CRS conversion, the unit grid, building the default dataset, validating and
//! importing user boundaries, and the in-memory index that answers "which place is this point in".
//!
//! Everything here is WGS-84 lon/lat unless a function says otherwise, and nothing here touches actix or diesel.

pub mod address;
pub mod build;
pub mod building_check;
pub mod crs;
pub mod dataset;
pub mod grid;
pub mod index;
pub mod layers;
pub mod lonlat;
pub mod place;
pub mod validate;
