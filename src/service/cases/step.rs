//! What a workflow step names and how it can fail: the client's input, the details stored with the step, callback
//! results, and [`WorkflowError`] with its stable codes. Both `workflow` (which takes a step) and `work` (which
//! records the work the step carries) use these, so neither depends on the other.

use crate::db::DbError;
use crate::error::{ErrorKind, InvalidField, ServiceError};
use serde::{Deserialize, Serialize};

/// Errors of the workflow.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkflowError {
    /// A field is missing or malformed.
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// No such case (or not visible to this user).
    #[error("no case {0}")]
    NotFound(String),
    /// The step is not possible from the case's status.
    #[error("cannot {action} a case that is {status}; {allowed_text}")]
    Illegal {
        /// The action asked for.
        action: &'static str,
        /// The case's status.
        status: &'static str,
        /// What this user may do instead.
        allowed: Vec<&'static str>,
        /// The same in words.
        allowed_text: String,
    },
    /// The step is possible, but not for this role.
    #[error("{} may not {action} a case; {roles} may", crate::domain::text::a(.role))]
    Forbidden {
        /// The role.
        role: &'static str,
        /// The action.
        action: &'static str,
        /// Who may, in words.
        roles: String,
    },
    /// A department handler acting for a unit they are not a member of.
    #[error("{0}")]
    NotMember(String),
    /// The case changed since the client read it.
    #[error(
        "the case is at version {current}, not {expected}: read it again and decide on what it is now"
    )]
    VersionConflict {
        /// What the client named.
        expected: i32,
        /// What is stored.
        current: i32,
    },
    /// A dispatch without units, and the dispatch rules do not know where the case goes.
    #[error("{0}")]
    NoRoute(String),
    /// The extension is past what the case's time class allows in one handling cycle.
    #[error("{0}")]
    ExtensionLimit(String),
    /// An extension already waits for approval: a dispatcher decides on it before another is asked for.
    #[error(
        "an extension of {0} days waits for a dispatcher's approval: approve_extension or refuse_extension first"
    )]
    ExtensionPending(i32),
    /// An approval or refusal, but no extension waits for one.
    #[error("no extension of this case waits for approval")]
    NoPendingExtension,
    /// The step names evidence photos the server does not have yet.
    #[error(
        "the server does not have {} of the evidence photos yet: upload {}, then send the step again",
        .0.len(),
        .0.join(", ")
    )]
    PhotosMissing(Vec<String>),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl ServiceError for WorkflowError {
    /// The kind and code (the HTTP answer's and a pushed step's).
    fn kind(&self) -> ErrorKind {
        match self {
            WorkflowError::Invalid(_) => ErrorKind::Invalid("invalid_field"),
            WorkflowError::NotFound(_) => ErrorKind::NotFound("case_not_found"),
            WorkflowError::Illegal { .. } => ErrorKind::Conflict("illegal_transition"),
            WorkflowError::Forbidden { .. } => ErrorKind::Forbidden("forbidden_transition"),
            WorkflowError::NotMember(_) => ErrorKind::Forbidden("not_unit_member"),
            WorkflowError::VersionConflict { .. } => ErrorKind::Conflict("version_conflict"),
            WorkflowError::NoRoute(_) => ErrorKind::Conflict("no_route"),
            WorkflowError::PhotosMissing(_) => ErrorKind::Conflict("photos_missing"),
            WorkflowError::ExtensionLimit(_) => ErrorKind::Conflict("extension_limit"),
            WorkflowError::ExtensionPending(_) => ErrorKind::Conflict("extension_pending"),
            WorkflowError::NoPendingExtension => ErrorKind::Conflict("no_pending_extension"),
            WorkflowError::Db(_) => ErrorKind::Internal,
        }
    }

    fn details(&self) -> crate::error::Details {
        use crate::error::Details as D;
        match self {
            WorkflowError::Illegal { allowed, .. } => {
                D::Allowed(allowed.iter().map(|a| (*a).to_owned()).collect())
            }
            WorkflowError::PhotosMissing(missing) => D::Missing(missing.clone()),
            _ => D::None,
        }
    }
}

crate::error::from_query_error!(WorkflowError);

/// An `Invalid` error for `field`.
pub(super) fn invalid(field: &'static str, message: impl Into<String>) -> WorkflowError {
    WorkflowError::Invalid(InvalidField::new(field, message))
}

/// Whether the problem was solved, as the caller says on the callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolved {
    /// 已解决.
    Yes,
    /// 部分解决.
    Partly,
    /// 未解决.
    No,
}

impl Resolved {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Resolved::Yes => "yes",
            Resolved::Partly => "partly",
            Resolved::No => "no",
        }
    }
}

/// How satisfied the caller is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    /// 满意.
    Satisfied,
    /// 基本满意.
    BasicallySatisfied,
    /// 不满意.
    Dissatisfied,
}

impl Satisfaction {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Satisfaction::Satisfied => "satisfied",
            Satisfaction::BasicallySatisfied => "basically_satisfied",
            Satisfaction::Dissatisfied => "dissatisfied",
        }
    }
}

/// The result of a callback (回访).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackInput {
    /// Whether the caller was reached.
    pub contacted: bool,
    /// Solved? (when reached)
    #[serde(default)]
    pub resolved: Option<Resolved>,
    /// Satisfied? (when reached)
    #[serde(default)]
    pub satisfaction: Option<Satisfaction>,
}

impl CallbackInput {
    /// Refuses a result that does not fit whether the caller was reached.
    pub(super) fn check(&self) -> Result<(), WorkflowError> {
        if self.contacted && (self.resolved.is_none() || self.satisfaction.is_none()) {
            return Err(invalid(
                "callback",
                "a caller who was reached says whether it is resolved and how satisfied they are",
            ));
        }
        if !self.contacted && (self.resolved.is_some() || self.satisfaction.is_some()) {
            return Err(invalid(
                "callback",
                "a caller who was not reached gives no resolved or satisfaction answer",
            ));
        }
        Ok(())
    }
}

/// The callback of one ticket's caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketCallback {
    /// The ticket.
    pub ticket_id: String,
    /// Its result.
    #[serde(flatten)]
    pub result: CallbackInput,
}

/// A step as a client asks for it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TransitionInput {
    /// The action: dispatch, accept, return, start, extend, whistle, report_in, end_whistle, note, reply, call_back,
    /// close, reopen, merge, self_resolve, verify.
    pub action: String,
    /// Reason or note.
    #[serde(default)]
    pub note: Option<String>,
    /// Unit ids: where to dispatch, or which departments a whistle summons.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Days of an extension.
    #[serde(default)]
    pub days: Option<u32>,
    /// The case a merge joins.
    #[serde(default)]
    pub into_case: Option<String>,
    /// Callback results for every ticket of the case not named in `callbacks`.
    #[serde(default)]
    pub callback: Option<CallbackInput>,
    /// Callback results per ticket.
    #[serde(default)]
    pub callbacks: Vec<TicketCallback>,
    /// SHA-256 (hex) of evidence photos.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// The case version the client saw; the step is refused if the case has changed since.
    #[serde(default)]
    pub version: Option<i32>,
}

/// What a step needed, as stored with it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Details {
    /// Units: where a dispatch went (the handler first), whom a whistle summoned, who reported in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// Units copied on a dispatch (the district command centre).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub copied: Vec<String>,
    /// Days (of an extension asked for, approved or refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    /// What became of an extension: granted at once, pending approval, approved or refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<ExtensionDecision>,
    /// Case joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub into_case: Option<String>,
    /// Callback results, per ticket.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub callbacks: Vec<TicketCallback>,
}

/// What became of an extension, as its steps record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtensionDecision {
    /// Within the threshold: granted with the request.
    Granted,
    /// Above the threshold: waits for a dispatcher.
    Pending,
    /// A dispatcher approved it.
    Approved,
    /// A dispatcher refused it.
    Refused,
}
