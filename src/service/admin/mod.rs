//! Administration: units and people, policy values, the topic taxonomy and the place layers, each changed with its
//! rules checked in one place.

pub mod geodata;
pub mod org;
pub mod policy;
pub mod topics;
