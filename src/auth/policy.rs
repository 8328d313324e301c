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
