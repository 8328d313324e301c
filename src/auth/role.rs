//! The roles a user can hold.

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
