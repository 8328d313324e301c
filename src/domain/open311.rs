//! What the public sees of a request's progress (Open311 GeoReport v2): only `open` or `closed`, and a short note in
//! words; never who handles it inside, nor anything about the caller.

/// A request's status as Open311 knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicStatus {
    /// Still being worked on (anything before the case is closed).
    Open,
    /// Finished.
    Closed,
}

impl PublicStatus {
    /// `open` or `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            PublicStatus::Open => "open",
            PublicStatus::Closed => "closed",
        }
    }

    /// Parses `open` or `closed` (as a client sends it; case and spaces ignored).
    pub fn parse(s: &str) -> Option<PublicStatus> {
        match s.trim().to_ascii_lowercase().as_str() {
            "open" => Some(PublicStatus::Open),
            "closed" => Some(PublicStatus::Closed),
            _ => None,
        }
    }
}

/// The case statuses that end the loop (接诉 → … → 办结): the only ones the public sees as closed.
pub const CLOSED_STATUSES: [&str; 1] = ["closed"];

/// The public status of a case status: closed statuses are closed, everything else (received, dispatched,
/// returned, extended, reopened after a failed callback, …) is open.
pub fn public_status(case_status: &str) -> PublicStatus {
    if CLOSED_STATUSES.contains(&case_status) {
        PublicStatus::Closed
    } else {
        PublicStatus::Open
    }
}

/// A note in words for a case status (the step of the closed loop the citizen can follow), `None` for a status
/// without a public wording.
pub fn status_note(case_status: &str) -> Option<&'static str> {
    Some(match case_status {
        "received" => "已受理",
        "dispatched" => "已派单",
        "accepted" => "已签收，正在联系",
        "in_progress" => "办理中",
        "extended" => "办理中（已延期）",
        "returned" => "重新派单中",
        "replied" => "已答复，待回访",
        "called_back" => "已回访",
        "reopened" => "回访未解决，重新办理",
        "closed" => "已办结",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_closed_cases_are_closed_to_the_public() {
        assert_eq!(public_status("closed"), PublicStatus::Closed);
        for s in [
            "received",
            "dispatched",
            "replied",
            "reopened",
            "something_new",
        ] {
            assert_eq!(public_status(s), PublicStatus::Open, "{s}");
        }
    }

    #[test]
    fn statuses_parse_as_clients_send_them() {
        assert_eq!(PublicStatus::parse(" Open"), Some(PublicStatus::Open));
        assert_eq!(PublicStatus::parse("closed"), Some(PublicStatus::Closed));
        assert_eq!(PublicStatus::parse("pending"), None);
    }

    #[test]
    fn every_status_the_intake_sets_has_a_note() {
        assert_eq!(status_note("received"), Some("已受理"));
        assert_eq!(status_note("closed"), Some("已办结"));
        assert_eq!(status_note("xyz"), None);
    }
}
