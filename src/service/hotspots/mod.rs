//! Hot spot scans of the city's own data (未诉先办): which places have more complaints than usual, as clusters a
//! leader can act on ([`scan`]), the layer they run over ([`layer`]), scans as background jobs with stored
//! parameters and results ([`jobs`]), clusters turned into proactive cases ([`proactive`]) and last season's
//! clusters proposed before a seasonal topic's season ([`forewarning`]). Every scan reads the kept counts
//! (`place_counts`), never the raw tickets, and only inside the reader's jurisdiction.

pub mod forewarning;
pub mod jobs;
pub mod layer;
pub mod params;
pub mod proactive;
pub mod scan;

use crate::analytics::counts::WindowError;
use crate::db::DbError;
use crate::error::{ErrorKind, ServiceError};

/// Why a scan is refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// A parameter has a value outside its set or format.
    #[error("{message}")]
    Invalid {
        /// Stable code.
        code: &'static str,
        /// What to change.
        message: String,
    },
    /// The window is reversed or too long.
    #[error("{0}")]
    Window(#[from] WindowError),
    /// The statistics cannot be computed on this data (one unit, all zeros, ...).
    #[error("{0}")]
    Stats(#[from] crate::analytics::Error),
    /// The request reaches beyond the reader's jurisdiction.
    #[error("{0}")]
    Outside(String),
    /// No such scan (or not visible to the reader).
    #[error("no scan has the id {0}")]
    NotFound(String),
    /// A stored scan's parameters or result cannot be written or read back.
    #[error("{0}")]
    Stored(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::error::from_query_error!(ScanError);

impl ServiceError for ScanError {
    fn kind(&self) -> ErrorKind {
        match self {
            ScanError::Invalid {
                code: "too_many_scans",
                ..
            } => ErrorKind::Conflict("too_many_scans"),
            ScanError::Invalid { code, .. } => ErrorKind::Invalid(code),
            ScanError::Window(WindowError::Reversed) => ErrorKind::Invalid("window_reversed"),
            ScanError::Window(_) => ErrorKind::Invalid("window_too_long"),
            ScanError::Stats(crate::analytics::Error::TooFewUnits(_)) => {
                ErrorKind::Unprocessable("one_unit_layer")
            }
            ScanError::Stats(e) => ErrorKind::Unprocessable(e.code()),
            ScanError::Outside(_) => ErrorKind::Forbidden("outside_jurisdiction"),
            ScanError::NotFound(_) => ErrorKind::NotFound("scan_not_found"),
            ScanError::Stored(_) | ScanError::Db(_) => ErrorKind::Internal,
        }
    }
}

/// A refusal of a parameter.
pub(crate) fn invalid(code: &'static str, message: impl Into<String>) -> ScanError {
    ScanError::Invalid {
        code,
        message: message.into(),
    }
}
