//! Who may do what: roles, their permissions, the principal (a signed-in user or a machine actor) and the scope
//! checks over places, topics, units, photos and callers. The one place where roles are turned into permissions;
//! plain functions with no web framework and no database, so that handlers, services and tests ask the same rules.
//! The HTTP side (the `CurrentUser` extractor and `require`, answering 403/404) lives in `crate::http::access`.

use crate::geo::place::CITY_CODE;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the system: users, geodata, audit.
    Admin,
    /// 12345 hotline centre: files tickets, calls back.
    HotlineOperator,
    /// District command centre: dispatches and supervises.
    Dispatcher,
    /// Street/township office: accepts and handles.
    StreetHandler,
    /// Functional department: reports in, co-handles.
    DepartmentHandler,
    /// Community secretary: watches their cells.
    CommunitySecretary,
    /// Grid member: patrols and reports.
    GridMember,
    /// District or street leader: heat maps and rankings.
    Leader,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 8] = [
        Role::Admin,
        Role::HotlineOperator,
        Role::Dispatcher,
        Role::StreetHandler,
        Role::DepartmentHandler,
        Role::CommunitySecretary,
        Role::GridMember,
        Role::Leader,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::HotlineOperator => "hotline_operator",
            Role::Dispatcher => "dispatcher",
            Role::StreetHandler => "street_handler",
            Role::DepartmentHandler => "department_handler",
            Role::CommunitySecretary => "community_secretary",
            Role::GridMember => "grid_member",
            Role::Leader => "leader",
        }
    }

    /// Parses a role name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signed-in user (or a machine actor) as the rules see it: who, with which role, over which places and topics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// User id.
    pub id: String,
    /// Sign-in name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Jurisdiction: place codes; everything inside them is visible (see [`can_see_place`]).
    pub places: Vec<String>,
    /// Topics a department handler answers for.
    pub topics: Vec<String>,
}

impl Principal {
    /// A machine actor (an import, the simulator) acting city-wide with a role; not an account.
    pub fn machine(username: &str, display_name: &str, role: Role) -> Principal {
        Principal {
            id: username.to_owned(),
            username: username.to_owned(),
            display_name: display_name.to_owned(),
            role,
            places: vec![CITY_CODE.to_owned()],
            topics: Vec::new(),
        }
    }

    /// The same principal with the scopes stored for the account: `("place", code)` widens the jurisdiction,
    /// `("topic", code)` adds a topic; other kinds are ignored.
    pub fn with_scopes(mut self, scopes: Vec<(String, String)>) -> Principal {
        for (kind, value) in scopes {
            match kind.as_str() {
                "place" => self.places.push(value),
                "topic" => self.topics.push(value),
                _ => {}
            }
        }
        self
    }
}

/// Something a user may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Permission {
    /// List users, revoke their tokens, manage API keys.
    ManageUsers,
    /// Create, change and delete units and people.
    ManageOrganisation,
    /// Read units and people.
    ReadOrganisation,
    /// File hotline tickets (`POST /api/v1/tickets`).
    FileTickets,
    /// File patrol reports.
    FileReports,
    /// Undo a merge (move an item out of a case).
    Unmerge,
    /// Read the audit log of personal-data reads.
    ReadAudit,
    /// Read cases (within the jurisdiction).
    ReadCases,
    /// Work the dispatcher's queue (cases the dispatch rules could not route, returned cases).
    Dispatch,
    /// Turn hot spot clusters into proactive cases (未诉先办), inside the jurisdiction.
    TaskProactive,
}

/// Whether `role` holds `permission`.
pub fn allows(role: Role, permission: Permission) -> bool {
    match permission {
        Permission::ManageUsers | Permission::ManageOrganisation => role == Role::Admin,
        Permission::ReadOrganisation | Permission::ReadCases => true,
        Permission::FileTickets => matches!(role, Role::Admin | Role::HotlineOperator),
        Permission::FileReports => matches!(
            role,
            Role::Admin | Role::GridMember | Role::CommunitySecretary | Role::StreetHandler
        ),
        Permission::Unmerge => matches!(role, Role::Admin | Role::Dispatcher),
        Permission::ReadAudit => role == Role::Admin,
        Permission::Dispatch => {
            matches!(role, Role::Admin | Role::Dispatcher | Role::HotlineOperator)
        }
        Permission::TaskProactive => matches!(role, Role::Admin | Role::Leader | Role::Dispatcher),
    }
}

/// Whether a user may see a case at `place` (its most precise place; `None` while unplaced) on `topic`: city-wide
/// roles see every case; department handlers see the cases of their topics (inside their places, when they have
/// any); everyone else sees the cases inside their places. Unplaced cases are for city-wide roles and users whose
/// jurisdiction is the whole city.
pub fn can_see_case(user: &Principal, place: Option<&str>, topic: &str) -> bool {
    if matches!(user.role, Role::Admin | Role::HotlineOperator) {
        return true;
    }
    let Some(place) = place else {
        return user.role != Role::DepartmentHandler && user.places.iter().any(|p| p == CITY_CODE);
    };
    if user.role == Role::DepartmentHandler {
        let topic_ok = user.topics.iter().any(|t| topic.starts_with(t.as_str()));
        return topic_ok && (user.places.is_empty() || can_see_place(user, place));
    }
    can_see_place(user, place)
}

/// One case a photo belongs to, as the photo rule sees it: through a bound use (a report that names it, or the
/// evidence of one of the case's steps, whose attacher sent the photo's bytes or could read the photo when
/// attaching it; naming a SHA-256 proves nothing, so an unbound use gives nobody access).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoUse<'a> {
    /// The case's most precise place (`None` while unplaced).
    pub place: Option<&'a str>,
    /// The case's topic.
    pub topic: &'a str,
}

/// What the photo rule reads about a photo besides the reader: the cases of its bound uses (at least those inside
/// the reader's scope; others may be given, they change nothing), whether any bound use was attached by someone
/// else than the reader, and whether the reader sent its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoFacts<'a> {
    /// The cases of the photo's bound uses that the reader's scope reaches.
    pub uses: &'a [PhotoUse<'a>],
    /// Whether a bound use was attached by someone other than the reader.
    pub attached_by_others: bool,
    /// Whether the reader sent the photo's bytes.
    pub holder: bool,
}

/// Whether a user may read a photo (its display copy and thumbnail, and whether it exists at all). The same rule as
/// for cases: whoever may see a case one of the photo's bound uses belongs to ([`can_see_case`]). Besides, the user
/// who sent the bytes may read the photo while it is attached to nothing, or only to items they attached
/// themselves. Content addressing does not widen this: sending bytes that are already stored makes the sender a
/// holder, which reaches none of the other people's uses. Outside this rule a photo answers 404, as a case does.
pub fn can_read_photo(user: &Principal, photo: &PhotoFacts<'_>) -> bool {
    if photo.holder && !photo.attached_by_others {
        return true;
    }
    allows(user.role, Permission::ReadCases)
        && photo
            .uses
            .iter()
            .any(|u| can_see_case(user, u.place, u.topic))
}

/// Whether a user may read a photo's original (the uploaded bytes with their EXIF: the camera, the exact position
/// and time): one who may read the photo ([`can_read_photo`]) and either sent its bytes or handles evidence in
/// that place: admins, dispatchers, street handlers and community secretaries. Leaders, hotline operators,
/// department handlers and other grid members see the display copy only (and no EXIF position anywhere else).
pub fn can_read_original(user: &Principal, photo: &PhotoFacts<'_>) -> bool {
    can_read_photo(user, photo)
        && (photo.holder
            || matches!(
                user.role,
                Role::Admin | Role::Dispatcher | Role::StreetHandler | Role::CommunitySecretary
            ))
}

/// The case-list scope of a user: `None` for the whole city, else the place codes (and, for department handlers,
/// the topics) the list is limited to.
pub fn case_scope(user: &Principal) -> (Option<Vec<String>>, Option<Vec<String>>) {
    if matches!(user.role, Role::Admin | Role::HotlineOperator)
        || user.places.iter().any(|p| p == CITY_CODE)
    {
        return (None, None);
    }
    if user.role == Role::DepartmentHandler {
        let places = (!user.places.is_empty()).then(|| user.places.clone());
        return (places, Some(user.topics.clone()));
    }
    (Some(user.places.clone()), None)
}

/// What the monthly assessment covers for a user: `(None, None)` for the whole city; else the district (6-digit)
/// and street (9-digit) codes of their jurisdiction and, for department handlers, their topics, as for the case
/// list ([`case_scope`]). The assessment is kept per street at the finest, so a jurisdiction of communities or
/// cells alone covers nothing: a street's figures would show the work of communities outside it.
pub fn assessment_scope(user: &Principal) -> (Option<Vec<String>>, Option<Vec<String>>) {
    let (places, topics) = case_scope(user);
    let places = places.map(|p| {
        p.into_iter()
            .filter(|c| (c.len() == 6 || c.len() == 9) && c.bytes().all(|b| b.is_ascii_digit()))
            .collect()
    });
    (places, topics)
}

/// Whether a role acts only for the units its users are members of (`user_units`): department handlers, whose
/// jurisdiction is topics across places, so that their place does not tie them to a department. Other roles act as
/// their role and jurisdiction allow (a dispatcher or admin names any unit).
pub fn acts_only_for_own_units(role: Role) -> bool {
    role == Role::DepartmentHandler
}

/// Whether `user`, a member of the units `member_of`, may act for `unit` (report in for it when whistled).
pub fn may_act_for_unit(user: &Principal, member_of: &[String], unit: &str) -> bool {
    !acts_only_for_own_units(user.role) || member_of.iter().any(|u| u == unit)
}

/// Whether `user`, a member of the units `member_of`, may work on a case (accept, return, start, extend, note,
/// reply) whose units are `case_units` (the unit handling it, the departments it was sent to, the departments a
/// whistle summoned): a department handler only as a member of one of them.
pub fn may_work_case(user: &Principal, member_of: &[String], case_units: &[String]) -> bool {
    !acts_only_for_own_units(user.role) || case_units.iter().any(|u| member_of.contains(u))
}

/// The units a case is worked by, as the membership rule reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseUnits {
    /// The unit handling it and the departments it was sent to.
    pub sent_to: Vec<String>,
    /// Every department a whistle summoned to it.
    pub whistled: Vec<String>,
    /// The departments the latest whistle summoned that have not reported in yet.
    pub awaiting_report_in: Vec<String>,
}

/// Whether `user`, a member of the units `member_of`, may take `action` on a case worked by `units`, as far as
/// unit membership goes (the state machine decides the rest): a department handler reports in (报到) only when a
/// department of theirs is summoned and has not reported in yet, and takes any other step only on a case sent or
/// whistled to one of their departments ([`may_work_case`]). Both the steps a reader is offered (`next_steps`,
/// the pull feed's `actions`) and the steps taken are judged by this rule.
pub fn may_take_step(
    user: &Principal,
    member_of: &[String],
    action: crate::domain::workflow::Action,
    units: &CaseUnits,
) -> bool {
    if !acts_only_for_own_units(user.role) {
        return true;
    }
    if action == crate::domain::workflow::Action::ReportIn {
        return units
            .awaiting_report_in
            .iter()
            .any(|u| member_of.contains(u));
    }
    let case_units: Vec<String> = units
        .sent_to
        .iter()
        .chain(&units.whistled)
        .cloned()
        .collect();
    may_work_case(user, member_of, &case_units)
}

/// Whether a user may see a ticket's caller unmasked (`pii:read` for that record): hotline operators (they took
/// the call) always; street and department handlers (they must contact the caller) unless the caller asked for
/// confidentiality; nobody else.
pub fn may_read_caller(user: &Principal, confidential: bool) -> bool {
    match user.role {
        Role::HotlineOperator => true,
        Role::StreetHandler | Role::DepartmentHandler => !confidential,
        _ => false,
    }
}

/// Whether a user may see a place: admins and hotline operators see the whole city; everyone else sees what lies
/// inside the place codes of their jurisdiction (not the places around it).
pub fn can_see_place(user: &Principal, code: &str) -> bool {
    matches!(user.role, Role::Admin | Role::HotlineOperator)
        || user
            .places
            .iter()
            .any(|s| s == CITY_CODE || code.starts_with(s.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, places: &[&str], topics: &[&str]) -> Principal {
        Principal {
            id: "u".into(),
            username: "u".into(),
            display_name: "u".into(),
            role,
            places: places.iter().map(|s| (*s).to_owned()).collect(),
            topics: topics.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn cases_are_visible_by_place_and_for_departments_by_topic() {
        let secretary = user(Role::CommunitySecretary, &["110105026041"], &[]);
        assert!(can_see_case(&secretary, Some("110105026041001"), "0101"));
        assert!(!can_see_case(&secretary, Some("110105026034001"), "0101"));
        assert!(!can_see_case(&secretary, Some("110105026"), "0101"));
        assert!(!can_see_case(&secretary, None, "0101"));
        let heating = user(Role::DepartmentHandler, &[], &["07"]);
        assert!(can_see_case(&heating, Some("110105026041001"), "0701"));
        assert!(!can_see_case(&heating, Some("110105026041001"), "0101"));
        let operator = user(Role::HotlineOperator, &[], &[]);
        assert!(can_see_case(&operator, None, "0101"));
    }

    #[test]
    fn photos_are_read_through_the_cases_they_belong_to_and_by_their_senders() {
        let street = user(Role::StreetHandler, &["110105026"], &[]);
        let other_street = user(Role::StreetHandler, &["110105001"], &[]);
        let sender = user(Role::GridMember, &["110105001001001"], &[]);
        let in_street = [PhotoUse {
            place: Some("110105026041001"),
            topic: "0101",
        }];
        let used = |holder: bool, attached_by_others: bool| PhotoFacts {
            uses: &in_street,
            attached_by_others,
            holder,
        };
        assert!(can_read_photo(&street, &used(false, true)));
        assert!(can_read_original(&street, &used(false, true)));
        assert!(!can_read_photo(&other_street, &used(false, true)));
        // Sending the same bytes again does not reach another person's use.
        assert!(!can_read_photo(&sender, &used(true, true)));
        // Attached to nothing, or only to the sender's own items: the sender alone.
        let nothing = PhotoFacts {
            uses: &[],
            attached_by_others: false,
            holder: true,
        };
        assert!(can_read_photo(&sender, &nothing));
        assert!(!can_read_photo(
            &street,
            &PhotoFacts {
                holder: false,
                ..nothing
            }
        ));
        assert!(can_read_photo(&sender, &used(true, false)));
        assert!(can_read_original(&sender, &used(true, false)));
        // A use nobody bound (a hash named) is not among the uses: nobody but the sender reads the photo.
        let unbound = PhotoFacts {
            uses: &[],
            attached_by_others: false,
            holder: false,
        };
        assert!(!can_read_photo(&street, &unbound));
        // Originals: by role or as the sender.
        let leader = user(Role::Leader, &["110000"], &[]);
        assert!(can_read_photo(&leader, &used(false, true)));
        assert!(!can_read_original(&leader, &used(false, true)));
    }

    #[test]
    fn callers_are_shown_only_to_those_who_must_contact_them() {
        for role in Role::ALL {
            let u = user(role, &["110105"], &[]);
            let open = may_read_caller(&u, false);
            let confidential = may_read_caller(&u, true);
            assert_eq!(
                open,
                matches!(
                    role,
                    Role::HotlineOperator | Role::StreetHandler | Role::DepartmentHandler
                ),
                "{role}"
            );
            assert_eq!(confidential, role == Role::HotlineOperator, "{role}");
        }
    }

    #[test]
    fn the_assessment_covers_districts_and_streets_of_the_jurisdiction() {
        let leader = user(Role::Leader, &["110000"], &[]);
        assert_eq!(assessment_scope(&leader), (None, None));
        let operator = user(Role::HotlineOperator, &[], &[]);
        assert_eq!(assessment_scope(&operator), (None, None));
        let dispatcher = user(
            Role::Dispatcher,
            &["110105", "110101001", "110101001001"],
            &[],
        );
        assert_eq!(
            assessment_scope(&dispatcher),
            (
                Some(vec!["110105".to_owned(), "110101001".to_owned()]),
                None
            )
        );
        let secretary = user(Role::CommunitySecretary, &["110105026041"], &[]);
        assert_eq!(assessment_scope(&secretary), (Some(vec![]), None));
        let heating = user(Role::DepartmentHandler, &[], &["07"]);
        assert_eq!(
            assessment_scope(&heating),
            (None, Some(vec!["07".to_owned()]))
        );
    }

    #[test]
    fn department_handlers_act_only_for_their_own_units() {
        let water = ["unit_water".to_owned()];
        let handler = user(Role::DepartmentHandler, &[], &["07"]);
        assert!(may_act_for_unit(&handler, &water, "unit_water"));
        assert!(!may_act_for_unit(&handler, &water, "unit_gas"));
        assert!(!may_act_for_unit(&handler, &[], "unit_water"));
        let case_units = ["unit_street".to_owned(), "unit_gas".to_owned()];
        assert!(!may_work_case(&handler, &water, &case_units));
        assert!(may_work_case(
            &handler,
            &["unit_gas".to_owned()],
            &case_units
        ));
        for role in [Role::Admin, Role::Dispatcher, Role::StreetHandler] {
            let u = user(role, &["110105"], &[]);
            assert!(may_act_for_unit(&u, &[], "unit_water"), "{role}");
            assert!(may_work_case(&u, &[], &case_units), "{role}");
        }
    }

    #[test]
    fn a_department_handler_is_offered_only_the_steps_of_their_own_units() {
        use crate::domain::workflow::Action;
        let handler = user(Role::DepartmentHandler, &[], &["07"]);
        let water = ["unit_water".to_owned()];
        let units = CaseUnits {
            sent_to: vec!["unit_street".into(), "unit_gas".into()],
            whistled: vec!["unit_heat".into()],
            awaiting_report_in: vec!["unit_heat".into()],
        };
        for action in [Action::Accept, Action::Reply, Action::ReportIn] {
            assert!(
                !may_take_step(&handler, &water, action, &units),
                "{action:?}"
            );
        }
        let gas = ["unit_gas".to_owned()];
        assert!(may_take_step(&handler, &gas, Action::Accept, &units));
        assert!(!may_take_step(&handler, &gas, Action::ReportIn, &units));
        let heat = ["unit_heat".to_owned()];
        assert!(may_take_step(&handler, &heat, Action::ReportIn, &units));
        assert!(may_take_step(&handler, &heat, Action::Reply, &units));
        let reported = CaseUnits {
            awaiting_report_in: Vec::new(),
            ..units.clone()
        };
        assert!(!may_take_step(&handler, &heat, Action::ReportIn, &reported));
        let street = user(Role::StreetHandler, &["110105"], &[]);
        assert!(may_take_step(&street, &[], Action::Accept, &units));
    }

    #[test]
    fn only_admins_manage_users() {
        for role in Role::ALL {
            assert_eq!(
                allows(role, Permission::ManageUsers),
                role == Role::Admin,
                "{role}"
            );
        }
    }

    #[test]
    fn stored_scopes_widen_the_jurisdiction_and_places_are_seen_from_inside() {
        let member = Principal::machine("m", "m", Role::GridMember);
        assert!(
            can_see_place(&member, "110105026041001"),
            "a machine actor is city-wide"
        );
        let mut member = user(Role::GridMember, &[], &[]).with_scopes(vec![
            ("place".into(), "110105026".into()),
            ("topic".into(), "07".into()),
            ("unknown".into(), "x".into()),
        ]);
        assert_eq!(member.places, ["110105026"]);
        assert_eq!(member.topics, ["07"]);
        assert!(can_see_place(&member, "110105026041"));
        assert!(
            !can_see_place(&member, "110105"),
            "not the places around it"
        );
        member.places.clear();
        assert!(!can_see_place(&member, "110105026041"));
        assert!(can_see_place(
            &user(Role::HotlineOperator, &[], &[]),
            "110105"
        ));
    }
}
