//! Intake: a hotline ticket or a patrol report is checked, placed (by its point, or by the names in its address),
//! given the responsibility chain of its place at that moment, and merged into a case (并单) or opens one — in one
//! transaction. Filing is idempotent: the same ticket number (or report id) with the same content answers with the
//! first result; with different content it is refused. Nothing that cannot be placed is dropped: it opens an
//! unplaced case that waits for a person to place it.
//!
//! Where things are: [`input`] (what is accepted and the checks of single fields), [`place`] (placing by point or
//! address, the chain snapshot), [`tickets`] and [`reports`] (each kind checked, stored, filed), [`filing`] (the
//! steps both share in the writer's transaction, batching, the first result again), [`ticket_queue`] (group commit
//! of the API's tickets), [`ticket_import`] (files from the hotline's system), [`open311`] (citizens' apps). Which
//! case an item joins is the merge rule's: [`crate::service::cases::merge`].

pub mod filing;
pub mod input;
pub mod open311;
pub mod pipeline;
pub mod place;
pub mod reports;
pub mod ticket_import;
pub mod ticket_queue;
pub mod tickets;

pub use filing::{Filed, Rules, file_batch};
pub(crate) use input::text;
pub use input::{
    CallerInput, LocationInput, MAX_PHOTOS, MAX_TEXT_CHARS, ReportInput, TicketInput, photo_hash,
};
pub use reports::{PreparedReport, file_report, prepare_report, store_report};
pub use tickets::{PreparedTicket, file_tickets, prepare_ticket, store_ticket};

use crate::db::DbError;
use crate::domain::merge::TimeRefusal;
use crate::error::{ErrorKind, InvalidField, ServiceError};
use crate::geo::address::AddressMatcher;
use crate::geo::index::PlaceIndex;
use crate::geo::lonlat::PointError;
use crate::service::admin::topics::TopicError;
use crate::service::chain::ChainError;
use crate::service::chain::index::SharedChainIndex;

/// Errors of intake.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntakeError {
    /// A field is missing or malformed.
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// The point is malformed.
    #[error("location: {0}")]
    Point(#[from] PointError),
    /// The topic is not in the taxonomy (or not a four-digit topic, or inactive).
    #[error("{0}")]
    UnknownTopic(String),
    /// The ticket number was used before for a different ticket.
    #[error("ticket number {0} was already used for a different ticket")]
    TicketNoReused(String),
    /// The report id was used before for a different report.
    #[error("report id {0} was already used for a different report")]
    ReportIdReused(String),
    /// The item's time is one nobody could mean: in the future beyond the policy's clock skew, or before its floor.
    #[error("{field}: {refusal}")]
    Time {
        /// `received_at` or `reported_at`.
        field: &'static str,
        /// Why.
        refusal: TimeRefusal,
    },
    /// A report's point lies outside every cell.
    #[error("the point lies outside every grid cell (and is more than 200 m from the nearest)")]
    OutsideArea,
    /// The chain or taxonomy could not be read.
    #[error("{0}")]
    Lookup(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl ServiceError for IntakeError {
    /// The kind and code (the HTTP answer's and a pushed report's); internal for a failure of ours (the database,
    /// the chain or taxonomy lookup).
    fn kind(&self) -> ErrorKind {
        match self {
            IntakeError::Invalid(_) => ErrorKind::Invalid("invalid_field"),
            IntakeError::Point(p) => ErrorKind::Invalid(p.code()),
            IntakeError::UnknownTopic(_) => ErrorKind::Unprocessable("unknown_topic"),
            IntakeError::TicketNoReused(_) => ErrorKind::Conflict("ticket_no_reused"),
            IntakeError::ReportIdReused(_) => ErrorKind::Conflict("report_id_reused"),
            IntakeError::OutsideArea => ErrorKind::Unprocessable("outside_jurisdiction"),
            IntakeError::Time { refusal, .. } => ErrorKind::Unprocessable(refusal.code()),
            IntakeError::Lookup(_) | IntakeError::Db(_) => ErrorKind::Internal,
        }
    }
}

crate::error::from_query_error!(IntakeError);

impl From<TopicError> for IntakeError {
    fn from(e: TopicError) -> Self {
        match e {
            TopicError::Db(db) => IntakeError::Db(db),
            other => IntakeError::Lookup(other.to_string()),
        }
    }
}

impl From<ChainError> for IntakeError {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::Db(db) => IntakeError::Db(db),
            other => IntakeError::Lookup(other.to_string()),
        }
    }
}

/// What intake needs of the geography.
#[derive(Debug, Clone, Copy)]
pub struct Geo<'a> {
    /// The place index.
    pub index: &'a PlaceIndex,
    /// The address matcher.
    pub addresses: &'a AddressMatcher,
    /// The responsibility chain.
    pub chain: &'a SharedChainIndex,
}
