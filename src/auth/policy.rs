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
}

/// Whether `role` holds `permission`.
pub fn allows(role: Role, permission: Permission) -> bool {
    match permission {
        Permission::ManageUsers | Permission::ManageOrganisation => role == Role::Admin,
        Permission::ReadOrganisation => true,
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
