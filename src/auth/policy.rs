//! Who may do what: the one place where roles are turned into permissions. Handlers ask [`require`]; they never
//! compare roles themselves.

use crate::auth::current_user::CurrentUser;
use crate::auth::role::Role;
use crate::error::ApiError;

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
    }
}

/// Whether a user may see a case at `place` (its most precise place; `None` while unplaced) on `topic`: city-wide
/// roles see every case; department handlers see the cases of their topics (inside their places, when they have
/// any); everyone else sees the cases inside their places. Unplaced cases are for city-wide roles and users whose
/// jurisdiction is the whole city.
pub fn can_see_case(
    user: &crate::service::auth::Principal,
    place: Option<&str>,
    topic: &str,
) -> bool {
    if matches!(user.role, Role::Admin | Role::HotlineOperator) {
        return true;
    }
    let Some(place) = place else {
        return user.role != Role::DepartmentHandler
            && user
                .places
                .iter()
                .any(|p| p == crate::geo::place::CITY_CODE);
    };
    if user.role == Role::DepartmentHandler {
        let topic_ok = user.topics.iter().any(|t| topic.starts_with(t.as_str()));
        return topic_ok && (user.places.is_empty() || can_see_place(user, place));
    }
    can_see_place(user, place)
}

/// The case-list scope of a user: `None` for the whole city, else the place codes (and, for department handlers,
/// the topics) the list is limited to.
pub fn case_scope(
    user: &crate::service::auth::Principal,
) -> (Option<Vec<String>>, Option<Vec<String>>) {
    if matches!(user.role, Role::Admin | Role::HotlineOperator)
        || user
            .places
            .iter()
            .any(|p| p == crate::geo::place::CITY_CODE)
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
pub fn assessment_scope(
    user: &crate::service::auth::Principal,
) -> (Option<Vec<String>>, Option<Vec<String>>) {
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
pub fn may_act_for_unit(
    user: &crate::service::auth::Principal,
    member_of: &[String],
    unit: &str,
) -> bool {
    !acts_only_for_own_units(user.role) || member_of.iter().any(|u| u == unit)
}

/// Whether `user`, a member of the units `member_of`, may work on a case (accept, return, start, extend, note,
/// reply) whose units are `case_units` (the unit handling it, the departments it was sent to, the departments a
/// whistle summoned): a department handler only as a member of one of them.
pub fn may_work_case(
    user: &crate::service::auth::Principal,
    member_of: &[String],
    case_units: &[String],
) -> bool {
    !acts_only_for_own_units(user.role) || case_units.iter().any(|u| member_of.contains(u))
}

/// Whether a user may see a ticket's caller unmasked (`pii:read` for that record): hotline operators (they took
/// the call) always; street and department handlers (they must contact the caller) unless the caller asked for
/// confidentiality; nobody else.
pub fn may_read_caller(user: &crate::service::auth::Principal, confidential: bool) -> bool {
    match user.role {
        Role::HotlineOperator => true,
        Role::StreetHandler | Role::DepartmentHandler => !confidential,
        _ => false,
    }
}

/// Whether a user may see a place: admins and hotline operators see the whole city; everyone else sees what lies
/// inside the place codes of their jurisdiction (not the places around it).
pub fn can_see_place(user: &crate::service::auth::Principal, code: &str) -> bool {
    matches!(user.role, Role::Admin | Role::HotlineOperator)
        || user
            .places
            .iter()
            .any(|s| s == crate::geo::place::CITY_CODE || code.starts_with(s.as_str()))
}

/// 404 `place_not_found` (the same answer as for a place that does not exist, so nothing leaks) unless the user
/// may see the place.
pub fn require_place(user: &CurrentUser, code: &str) -> Result<(), ApiError> {
    if can_see_place(&user.user, code) {
        Ok(())
    } else {
        Err(ApiError::not_found(
            "place_not_found",
            format!("no place has the code {code}"),
        ))
    }
}

/// 403 `forbidden` unless the signed-in user's role holds `permission`.
pub fn require(user: &CurrentUser, permission: Permission) -> Result<(), ApiError> {
    if allows(user.user.role, permission) {
        Ok(())
    } else {
        Err(ApiError::Forbidden {
            code: "forbidden",
            message: format!("the role {} may not do this", user.user.role),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::auth::Principal;

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
    fn only_admins_manage_users() {
        for role in Role::ALL {
            assert_eq!(
                allows(role, Permission::ManageUsers),
                role == Role::Admin,
                "{role}"
            );
        }
    }
}
