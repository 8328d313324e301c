//! DTOs shared by several areas.

use serde::Serialize;

/// A place named in an answer.
#[derive(Debug, Serialize)]
pub struct PlaceRef<'a> {
    /// Its code.
    pub code: &'a str,
    /// Its name.
    pub name: &'a str,
}
