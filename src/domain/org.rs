//! Units and people: their kinds and the rules a record must meet.

use crate::geo::place::Level;
use serde::{Deserialize, Serialize};

/// What kind of unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// 12345 市民热线服务中心.
    HotlineCentre,
    /// 区接诉即办调度指挥中心, for a district.
    CommandCentre,
    /// 街道办事处 / 乡镇政府, for a street.
    StreetOffice,
    /// 社区居委会 / 村委会, for a community.
    CommunityCommittee,
    /// 职能部门, answering for topics.
    Department,
    /// 公共服务企业 (water, power, gas, heating, telecom).
    Enterprise,
}

impl UnitKind {
    /// Every kind.
    pub const ALL: [UnitKind; 6] = [
        UnitKind::HotlineCentre,
        UnitKind::CommandCentre,
        UnitKind::StreetOffice,
        UnitKind::CommunityCommittee,
        UnitKind::Department,
        UnitKind::Enterprise,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::HotlineCentre => "hotline_centre",
            UnitKind::CommandCentre => "command_centre",
            UnitKind::StreetOffice => "street_office",
            UnitKind::CommunityCommittee => "community_committee",
            UnitKind::Department => "department",
            UnitKind::Enterprise => "enterprise",
        }
    }

    /// Parses a kind name.
    pub fn parse(s: &str) -> Option<UnitKind> {
        UnitKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The levels the unit's place may have (`None`: no place needed).
    pub fn place_levels(self) -> Option<&'static [Level]> {
        match self {
            UnitKind::HotlineCentre => None,
            UnitKind::CommandCentre => Some(&[Level::District]),
            UnitKind::StreetOffice => Some(&[Level::Street]),
            UnitKind::CommunityCommittee => Some(&[Level::Community]),
            UnitKind::Department | UnitKind::Enterprise => Some(&[Level::City, Level::District]),
        }
    }
}

/// What a person does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonRole {
    /// 领导: answers for a section (包片).
    Leader,
    /// 干部: answers for a community or village (包村).
    Cadre,
    /// 社区书记.
    CommunitySecretary,
    /// 两委委员: answers for households (包户).
    CommitteeMember,
    /// 网格员.
    GridMember,
    /// A handler in a street office, department or enterprise.
    Handler,
    /// A hotline operator.
    Operator,
    /// A dispatcher in a command centre.
    Dispatcher,
}

impl PersonRole {
    /// Every role.
    pub const ALL: [PersonRole; 8] = [
        PersonRole::Leader,
        PersonRole::Cadre,
        PersonRole::CommunitySecretary,
        PersonRole::CommitteeMember,
        PersonRole::GridMember,
        PersonRole::Handler,
        PersonRole::Operator,
        PersonRole::Dispatcher,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            PersonRole::Leader => "leader",
            PersonRole::Cadre => "cadre",
            PersonRole::CommunitySecretary => "community_secretary",
            PersonRole::CommitteeMember => "committee_member",
            PersonRole::GridMember => "grid_member",
            PersonRole::Handler => "handler",
            PersonRole::Operator => "operator",
            PersonRole::Dispatcher => "dispatcher",
        }
    }

    /// Parses a role name.
    pub fn parse(s: &str) -> Option<PersonRole> {
        PersonRole::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The longest name of a unit or person.
pub const MAX_NAME_CHARS: usize = 100;
/// The most topics a department may answer for.
pub const MAX_TOPICS: usize = 200;

/// A name: trimmed, 1 to [`MAX_NAME_CHARS`] characters, no control characters.
pub fn valid_name(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty() && t.chars().count() <= MAX_NAME_CHARS && !t.chars().any(char::is_control)
}

/// A phone number as China writes them: a mobile (11 digits from 13x to 19x) or a landline with area code
/// (0 + 2-3 digits, optional '-', 7-8 digits), optionally with an extension after '-' or '转'.
pub fn valid_phone(s: &str) -> bool {
    let s = s.trim();
    let (main, ext) = match s.split_once('转') {
        Some((m, e)) => (m, Some(e)),
        None => (s, None),
    };
    if ext.is_some_and(|e| e.is_empty() || e.len() > 6 || !e.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    let b = main.as_bytes();
    let mobile = b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit);
    let landline = {
        let digits: String = main.chars().filter(|c| *c != '-').collect();
        main.starts_with('0')
            && main.matches('-').count() <= 1
            && (10..=12).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
    };
    mobile || landline
}

/// A topic code: two digits (a class) or four (a topic), as in the taxonomy.
pub fn valid_topic(s: &str) -> bool {
    matches!(s.len(), 2 | 4) && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_names_and_topics_are_checked() {
        for ok in [
            "13812345678",
            "010-65123456",
            "01065123456",
            "010-65123456转123",
            "0512-6512345",
        ] {
            assert!(valid_phone(ok), "{ok}");
        }
        for bad in [
            "12812345678",
            "1381234567",
            "abc",
            "",
            "010-6512-3456",
            "13812345678转",
        ] {
            assert!(!valid_phone(bad), "{bad}");
        }
        assert!(valid_name("朝阳区城市管理委员会"));
        assert!(!valid_name("  "));
        assert!(!valid_name(&"名".repeat(101)));
        assert!(
            valid_topic("07") && valid_topic("0701") && !valid_topic("7") && !valid_topic("07a1")
        );
    }

    #[test]
    fn kinds_say_which_place_they_answer_for() {
        assert_eq!(
            UnitKind::StreetOffice.place_levels(),
            Some(&[Level::Street][..])
        );
        assert_eq!(UnitKind::HotlineCentre.place_levels(), None);
        for k in UnitKind::ALL {
            assert_eq!(UnitKind::parse(k.as_str()), Some(k));
        }
        for r in PersonRole::ALL {
            assert_eq!(PersonRole::parse(r.as_str()), Some(r));
        }
    }
}
