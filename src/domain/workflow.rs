//! The case workflow as a pure state machine (接诉 → 派单 → 签收 → 办理 → 反馈 → 回访 → 结案): the statuses, the
//! actions, which roles may take each action from which status, and what each action needs (a reason, a target,
//! evidence photos). No I/O: the service layer records each step and enforces scopes.
//!
//! Guarantees: every (status, action) pair either names its next status or is refused with the actions that are
//! allowed from that status; merged and closed cases take no field actions.

use crate::domain::access::Role;
use serde::Serialize;

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 已受理: filed, waiting to be dispatched.
    Received,
    /// 已派单: sent to the street (and departments), waiting to be accepted.
    Dispatched,
    /// 已签收: accepted; the caller is contacted (what the response rate measures).
    Accepted,
    /// 办理中: being handled.
    InProgress,
    /// 吹哨中: the street has summoned departments (吹哨报到) and works with them.
    Whistled,
    /// 已反馈: the handler replied with what was done.
    Replied,
    /// 已回访: the hotline called the caller back.
    CalledBack,
    /// 已办结: closed.
    Closed,
    /// 已退单: sent back to the command centre for re-dispatch.
    Returned,
    /// 已并单: joined into another case.
    Merged,
    /// 随手做: a grid member fixed it on the spot; waiting to be verified.
    SelfResolved,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 11] = [
        Status::Received,
        Status::Dispatched,
        Status::Accepted,
        Status::InProgress,
        Status::Whistled,
        Status::Replied,
        Status::CalledBack,
        Status::Closed,
        Status::Returned,
        Status::Merged,
        Status::SelfResolved,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::Dispatched => "dispatched",
            Status::Accepted => "accepted",
            Status::InProgress => "in_progress",
            Status::Whistled => "whistled",
            Status::Replied => "replied",
            Status::CalledBack => "called_back",
            Status::Closed => "closed",
            Status::Returned => "returned",
            Status::Merged => "merged",
            Status::SelfResolved => "self_resolved",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether work on the case is over.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Closed | Status::Merged)
    }
}

/// A step someone takes on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// 首派 / 改派: send the case to the street that answers for its place (and to departments: 双派); without
    /// targets the dispatch rules choose them.
    Dispatch,
    /// 签收: the handler takes the case.
    Accept,
    /// 退单: the handler sends it back (with a reason) for re-dispatch.
    Return,
    /// Work starts.
    Start,
    /// 延期: more time (with a reason and a number of days); the status stays. Bounded per time class; a long one
    /// waits for a dispatcher's approval.
    Extend,
    /// The command centre approves an extension that waits for approval; the status stays.
    ApproveExtension,
    /// The command centre refuses an extension that waits for approval (with a reason); the status stays.
    RefuseExtension,
    /// 吹哨: the street summons named departments.
    Whistle,
    /// 报到: a summoned department reports in on a whistled case.
    ReportIn,
    /// The joint work after a whistle is done.
    EndWhistle,
    /// 反馈: the handler says what was done (with evidence per policy).
    Reply,
    /// 回访: the hotline calls the caller back and records the result.
    CallBack,
    /// 结案.
    Close,
    /// The callback found the problem unsolved: back to the handler.
    Reopen,
    /// 并单 by hand: the case joins another.
    Merge,
    /// 随手做: a grid member fixed a patrol-found problem on the spot (before/after photos).
    SelfResolve,
    /// 核查结案: someone checked on site that it is fixed (photos).
    Verify,
    /// 进展: a progress note on open work (what was done so far, photos optional); the status stays.
    Note,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 18] = [
        Action::Dispatch,
        Action::Accept,
        Action::Return,
        Action::Start,
        Action::Extend,
        Action::ApproveExtension,
        Action::RefuseExtension,
        Action::Whistle,
        Action::ReportIn,
        Action::EndWhistle,
        Action::Reply,
        Action::CallBack,
        Action::Close,
        Action::Reopen,
        Action::Merge,
        Action::SelfResolve,
        Action::Verify,
        Action::Note,
    ];

    /// The name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Dispatch => "dispatch",
            Action::Accept => "accept",
            Action::Return => "return",
            Action::Start => "start",
            Action::Extend => "extend",
            Action::ApproveExtension => "approve_extension",
            Action::RefuseExtension => "refuse_extension",
            Action::Whistle => "whistle",
            Action::ReportIn => "report_in",
            Action::EndWhistle => "end_whistle",
            Action::Reply => "reply",
            Action::CallBack => "call_back",
            Action::Close => "close",
            Action::Reopen => "reopen",
            Action::Merge => "merge",
            Action::SelfResolve => "self_resolve",
            Action::Verify => "verify",
            Action::Note => "note",
        }
    }

    /// Parses an API name.
    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// What an action needs besides the right role and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Needs {
    /// A reason in words.
    pub reason: bool,
    /// Units to send the case to (dispatch) or departments to summon (whistle).
    pub targets: bool,
    /// A number of days (extension).
    pub days: bool,
    /// The case to join (merge).
    pub into_case: bool,
    /// Callback results (contact made, resolved, satisfaction).
    pub callback: bool,
    /// Evidence photos, when policy asks for them (how many is policy).
    pub evidence: bool,
}

/// How a case came in: some steps exist only for patrol-found cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// At least one hotline ticket.
    Hotline,
    /// Only patrol reports.
    Patrol,
}

const HANDLERS: &[Role] = &[Role::StreetHandler, Role::DepartmentHandler];
const COMMAND: &[Role] = &[Role::Dispatcher, Role::Admin];
const HOTLINE: &[Role] = &[Role::HotlineOperator, Role::Dispatcher, Role::Admin];

/// One row of the transition table.
struct Rule {
    action: Action,
    from: &'static [Status],
    /// `None`: the status stays.
    to: Option<Status>,
    roles: &'static [Role],
    needs: Needs,
    /// Only for cases found on patrol.
    patrol_only: bool,
}

const OPEN_FOR_MERGE: &[Status] = &[
    Status::Received,
    Status::Dispatched,
    Status::Accepted,
    Status::InProgress,
    Status::Returned,
];

/// Where extensions are asked for and decided on.
const EXTENDABLE: &[Status] = &[Status::Accepted, Status::InProgress, Status::Whistled];

const RULES: &[Rule] = &[
    Rule {
        action: Action::Note,
        from: &[
            Status::Dispatched,
            Status::Accepted,
            Status::InProgress,
            Status::Whistled,
        ],
        to: None,
        roles: &[
            Role::StreetHandler,
            Role::DepartmentHandler,
            Role::GridMember,
            Role::CommunitySecretary,
        ],
        needs: REASON,
        patrol_only: false,
    },
    Rule {
        action: Action::Dispatch,
        from: &[Status::Received, Status::Returned],
        to: Some(Status::Dispatched),
        roles: COMMAND,
        needs: NONE,
        patrol_only: false,
    },
    Rule {
        action: Action::Accept,
        from: &[Status::Dispatched],
        to: Some(Status::Accepted),
        roles: HANDLERS,
        needs: NONE,
        patrol_only: false,
    },
    Rule {
        action: Action::Return,
        from: &[Status::Dispatched, Status::Accepted],
        to: Some(Status::Returned),
        roles: HANDLERS,
        needs: REASON,
        patrol_only: false,
    },
    Rule {
        action: Action::Start,
        from: &[Status::Accepted],
        to: Some(Status::InProgress),
        roles: HANDLERS,
        needs: NONE,
        patrol_only: false,
    },
    Rule {
        action: Action::Extend,
        from: EXTENDABLE,
        to: None,
        roles: HANDLERS,
        needs: Needs {
            reason: true,
            days: true,
            ..NONE
        },
        patrol_only: false,
    },
    Rule {
        action: Action::ApproveExtension,
        from: EXTENDABLE,
        to: None,
        roles: COMMAND,
        needs: NONE,
        patrol_only: false,
    },
    Rule {
        action: Action::RefuseExtension,
        from: EXTENDABLE,
        to: None,
        roles: COMMAND,
        needs: REASON,
        patrol_only: false,
    },
    Rule {
        action: Action::Whistle,
        from: &[Status::Accepted, Status::InProgress],
        to: Some(Status::Whistled),
        roles: &[Role::StreetHandler],
        needs: Needs {
            reason: true,
            targets: true,
            ..NONE
        },
        patrol_only: false,
    },
    Rule {
        action: Action::ReportIn,
        from: &[Status::Whistled],
        to: None,
        roles: &[Role::DepartmentHandler],
        needs: Needs {
            targets: true,
            ..NONE
        },
        patrol_only: false,
    },
    Rule {
        action: Action::EndWhistle,
        from: &[Status::Whistled],
        to: Some(Status::InProgress),
        roles: &[Role::StreetHandler],
        needs: NONE,
        patrol_only: false,
    },
    Rule {
        action: Action::Reply,
        from: &[Status::InProgress],
        to: Some(Status::Replied),
        roles: HANDLERS,
        needs: Needs {
            reason: true,
            evidence: true,
            ..NONE
        },
        patrol_only: false,
    },
    Rule {
        action: Action::CallBack,
        from: &[Status::Replied],
        to: Some(Status::CalledBack),
        roles: HOTLINE,
        needs: Needs {
            callback: true,
            ..NONE
        },
        patrol_only: false,
    },
    Rule {
        action: Action::Close,
        from: &[Status::CalledBack],
        to: Some(Status::Closed),
        roles: HOTLINE,
        needs: NONE,
        patrol_only: false,
    },
    Rule {
        action: Action::Close,
        from: &[Status::Replied],
        to: Some(Status::Closed),
        roles: COMMAND,
        needs: NONE,
        patrol_only: true,
    },
    Rule {
        action: Action::Reopen,
        from: &[Status::CalledBack, Status::Closed],
        to: Some(Status::Dispatched),
        roles: HOTLINE,
        needs: REASON,
        patrol_only: false,
    },
    Rule {
        action: Action::Merge,
        from: OPEN_FOR_MERGE,
        to: Some(Status::Merged),
        roles: COMMAND,
        needs: Needs {
            reason: true,
            into_case: true,
            ..NONE
        },
        patrol_only: false,
    },
    Rule {
        action: Action::SelfResolve,
        from: &[Status::Received, Status::Dispatched],
        to: Some(Status::SelfResolved),
        roles: &[Role::GridMember],
        needs: EVIDENCE,
        patrol_only: true,
    },
    Rule {
        action: Action::Verify,
        from: &[Status::SelfResolved],
        to: Some(Status::Closed),
        roles: &[Role::CommunitySecretary, Role::StreetHandler],
        needs: EVIDENCE,
        patrol_only: true,
    },
];

const NONE: Needs = Needs {
    reason: false,
    targets: false,
    days: false,
    into_case: false,
    callback: false,
    evidence: false,
};
const REASON: Needs = Needs {
    reason: true,
    ..NONE
};
const EVIDENCE: Needs = Needs {
    evidence: true,
    ..NONE
};

/// A permitted step: where it leads and what it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The action.
    pub action: Action,
    /// The status after it.
    pub to: Status,
    /// What it needs.
    pub needs: Needs,
}

/// Why a step is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The action is not possible from this status (for anyone); `allowed` are the steps this role may take now.
    Illegal {
        /// The steps the role may take from the current status.
        allowed: Vec<Action>,
    },
    /// The action is possible from this status, but not for this role.
    Forbidden {
        /// The roles that may take it.
        roles: Vec<Role>,
    },
}

fn applies(rule: &Rule, status: Status, origin: Origin) -> bool {
    rule.from.contains(&status) && (!rule.patrol_only || origin == Origin::Patrol)
}

/// The steps `role` may take on a case in `status`.
pub fn steps(status: Status, origin: Origin, role: Role) -> Vec<Step> {
    RULES
        .iter()
        .filter(|r| applies(r, status, origin) && r.roles.contains(&role))
        .map(|r| Step {
            action: r.action,
            to: r.to.unwrap_or(status),
            needs: r.needs,
        })
        .collect()
}

/// Decides a step: where `action` by `role` leads from `status`, and what it needs.
pub fn decide(status: Status, origin: Origin, role: Role, action: Action) -> Result<Step, Refusal> {
    let mut possible = RULES
        .iter()
        .filter(|r| r.action == action && applies(r, status, origin))
        .peekable();
    if possible.peek().is_none() {
        return Err(Refusal::Illegal {
            allowed: steps(status, origin, role)
                .into_iter()
                .map(|s| s.action)
                .collect(),
        });
    }
    let mut roles = Vec::new();
    for r in possible {
        if r.roles.contains(&role) {
            return Ok(Step {
                action,
                to: r.to.unwrap_or(status),
                needs: r.needs,
            });
        }
        for role in r.roles {
            if !roles.contains(role) {
                roles.push(*role);
            }
        }
    }
    Err(Refusal::Forbidden { roles })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(status: Status, origin: Origin, role: Role, action: Action) -> Status {
        match decide(status, origin, role, action) {
            Ok(step) => step.to,
            Err(e) => panic!("{status:?} --{action:?} by {role:?}--> refused: {e:?}"),
        }
    }

    #[test]
    fn the_main_loop_runs_from_received_to_closed() {
        use Action::*;
        use Role::*;
        let mut s = Status::Received;
        for (role, action) in [
            (Dispatcher, Dispatch),
            (StreetHandler, Accept),
            (StreetHandler, Start),
            (StreetHandler, Whistle),
            (DepartmentHandler, ReportIn),
            (StreetHandler, Extend),
            (StreetHandler, EndWhistle),
            (StreetHandler, Reply),
            (HotlineOperator, CallBack),
            (HotlineOperator, Reopen),
            (DepartmentHandler, Accept),
            (DepartmentHandler, Start),
            (DepartmentHandler, Reply),
            (HotlineOperator, CallBack),
            (HotlineOperator, Close),
        ] {
            s = go(s, Origin::Hotline, role, action);
        }
        assert_eq!(s, Status::Closed);
    }

    #[test]
    fn returns_go_back_for_re_dispatch_and_patrol_cases_can_be_fixed_on_the_spot() {
        let s = go(
            Status::Dispatched,
            Origin::Hotline,
            Role::StreetHandler,
            Action::Return,
        );
        assert_eq!(s, Status::Returned);
        assert_eq!(
            go(s, Origin::Hotline, Role::Dispatcher, Action::Dispatch),
            Status::Dispatched
        );
        let s = go(
            Status::Received,
            Origin::Patrol,
            Role::GridMember,
            Action::SelfResolve,
        );
        assert_eq!(
            go(s, Origin::Patrol, Role::CommunitySecretary, Action::Verify),
            Status::Closed
        );
        assert!(matches!(
            decide(
                Status::Received,
                Origin::Hotline,
                Role::GridMember,
                Action::SelfResolve
            ),
            Err(Refusal::Illegal { .. })
        ));
    }

    #[test]
    fn needs_are_named() {
        let d = |a| {
            decide(Status::InProgress, Origin::Hotline, Role::StreetHandler, a).map(|s| s.needs)
        };
        assert_eq!(d(Action::Reply).map(|n| n.evidence), Ok(true));
        assert_eq!(d(Action::Extend).map(|n| n.reason && n.days), Ok(true));
        assert_eq!(d(Action::Whistle).map(|n| n.targets), Ok(true));
        // The command centre decides on an extension that waits; a refusal says why.
        let decide_ext = |a| {
            decide(Status::InProgress, Origin::Hotline, Role::Dispatcher, a)
                .map(|s| (s.to, s.needs.reason))
        };
        assert_eq!(
            decide_ext(Action::ApproveExtension),
            Ok((Status::InProgress, false))
        );
        assert_eq!(
            decide_ext(Action::RefuseExtension),
            Ok((Status::InProgress, true))
        );
        assert!(matches!(
            d(Action::ApproveExtension),
            Err(Refusal::Forbidden { .. })
        ));
        // Dispatch names its units only when the dispatcher overrides the dispatch rules.
        let first = decide(
            Status::Received,
            Origin::Hotline,
            Role::Dispatcher,
            Action::Dispatch,
        );
        assert_eq!(first.map(|s| s.needs.targets), Ok(false));
        let report = decide(
            Status::Whistled,
            Origin::Hotline,
            Role::DepartmentHandler,
            Action::ReportIn,
        );
        assert_eq!(
            report.map(|s| (s.to, s.needs.targets)),
            Ok((Status::Whistled, true))
        );
        assert!(matches!(
            decide(
                Status::Whistled,
                Origin::Hotline,
                Role::StreetHandler,
                Action::ReportIn
            ),
            Err(Refusal::Forbidden { .. })
        ));
        let back = decide(
            Status::Replied,
            Origin::Hotline,
            Role::HotlineOperator,
            Action::CallBack,
        );
        assert_eq!(back.map(|s| s.needs.callback), Ok(true));
        // A progress note keeps the status and needs its words; a grid member writes one from the spot.
        let note = decide(
            Status::InProgress,
            Origin::Hotline,
            Role::GridMember,
            Action::Note,
        );
        assert_eq!(
            note.map(|s| (s.to, s.needs.reason)),
            Ok((Status::InProgress, true))
        );
        assert!(matches!(
            decide(
                Status::Replied,
                Origin::Hotline,
                Role::GridMember,
                Action::Note
            ),
            Err(Refusal::Illegal { .. })
        ));
    }

    #[test]
    fn roles_are_kept_to_their_steps() {
        // A grid member cannot dispatch; a department handler cannot close; nobody acts on a merged case.
        assert_eq!(
            decide(
                Status::Received,
                Origin::Hotline,
                Role::GridMember,
                Action::Dispatch
            ),
            Err(Refusal::Forbidden {
                roles: vec![Role::Dispatcher, Role::Admin]
            })
        );
        assert!(matches!(
            decide(
                Status::CalledBack,
                Origin::Hotline,
                Role::DepartmentHandler,
                Action::Close
            ),
            Err(Refusal::Forbidden { .. })
        ));
        for role in Role::ALL {
            assert!(steps(Status::Merged, Origin::Hotline, role).is_empty());
        }
        // An illegal step names what this role could do instead.
        assert_eq!(
            decide(
                Status::Received,
                Origin::Hotline,
                Role::Dispatcher,
                Action::Close
            ),
            Err(Refusal::Illegal {
                allowed: vec![Action::Dispatch, Action::Merge]
            })
        );
    }

    #[test]
    fn the_table_is_total_and_consistent() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
            for origin in [Origin::Hotline, Origin::Patrol] {
                for role in Role::ALL {
                    for action in Action::ALL {
                        match decide(status, origin, role, action) {
                            Ok(step) => {
                                assert!(!status.is_final() || action == Action::Reopen);
                                assert!(steps(status, origin, role).contains(&step));
                            }
                            Err(Refusal::Illegal { allowed }) => {
                                assert!(!allowed.contains(&action));
                            }
                            Err(Refusal::Forbidden { roles }) => {
                                assert!(!roles.is_empty() && !roles.contains(&role));
                            }
                        }
                    }
                }
            }
        }
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(action));
            assert!(
                RULES.iter().any(|r| r.action == action),
                "{action:?} has no rule"
            );
        }
        // Every status but the final ones has a way forward.
        for status in Status::ALL.into_iter().filter(|s| !s.is_final()) {
            assert!(
                Role::ALL
                    .into_iter()
                    .any(|r| !steps(status, Origin::Hotline, r).is_empty()
                        || !steps(status, Origin::Patrol, r).is_empty()),
                "{status:?} is a dead end"
            );
        }
    }
}
