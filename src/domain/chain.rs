//! The responsibility chain (三包): what each kind of assignment answers for, validity periods, and the
//! fallback rule (属地兜底) when nobody is assigned at some level.

use crate::domain::org::{PersonRole, UnitKind};
use crate::geo::place::Level;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

/// A kind of assignment, from the top of the chain down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentKind {
    /// The district command centre (a unit) answers for a district.
    CommandCentre,
    /// 领导包片: a leader answers for a section.
    SectionLeader,
    /// The street office (a unit) answers for a street.
    StreetOffice,
    /// 干部包村: a cadre answers for a community or village.
    VillageCadre,
    /// The community secretary (社区书记).
    CommunitySecretary,
    /// The grid member (网格员) of a cell.
    GridMember,
    /// 两委包户: a committee member answers for the households of a cell's buildings.
    HouseholdMember,
}

/// What an assignment points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A place of this level.
    Place(Level),
    /// A section.
    Section,
}

/// Who an assignment names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    /// A person with this role.
    Person(PersonRole),
    /// A unit of this kind.
    Unit(UnitKind),
}

impl AssignmentKind {
    /// Every kind, top-down: the order of the chain and of the fallback.
    pub const ALL: [AssignmentKind; 7] = [
        AssignmentKind::CommandCentre,
        AssignmentKind::SectionLeader,
        AssignmentKind::StreetOffice,
        AssignmentKind::VillageCadre,
        AssignmentKind::CommunitySecretary,
        AssignmentKind::GridMember,
        AssignmentKind::HouseholdMember,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentKind::CommandCentre => "command_centre",
            AssignmentKind::SectionLeader => "section_leader",
            AssignmentKind::StreetOffice => "street_office",
            AssignmentKind::VillageCadre => "village_cadre",
            AssignmentKind::CommunitySecretary => "community_secretary",
            AssignmentKind::GridMember => "grid_member",
            AssignmentKind::HouseholdMember => "household_member",
        }
    }

    /// Parses a kind name.
    pub fn parse(s: &str) -> Option<AssignmentKind> {
        AssignmentKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What it answers for.
    pub fn target(self) -> Target {
        match self {
            AssignmentKind::CommandCentre => Target::Place(Level::District),
            AssignmentKind::SectionLeader => Target::Section,
            AssignmentKind::StreetOffice => Target::Place(Level::Street),
            AssignmentKind::VillageCadre | AssignmentKind::CommunitySecretary => {
                Target::Place(Level::Community)
            }
            AssignmentKind::GridMember | AssignmentKind::HouseholdMember => {
                Target::Place(Level::Cell)
            }
        }
    }

    /// Who it names.
    pub fn assignee(self) -> Assignee {
        match self {
            AssignmentKind::CommandCentre => Assignee::Unit(UnitKind::CommandCentre),
            AssignmentKind::StreetOffice => Assignee::Unit(UnitKind::StreetOffice),
            AssignmentKind::SectionLeader => Assignee::Person(PersonRole::Leader),
            AssignmentKind::VillageCadre => Assignee::Person(PersonRole::Cadre),
            AssignmentKind::CommunitySecretary => Assignee::Person(PersonRole::CommunitySecretary),
            AssignmentKind::GridMember => Assignee::Person(PersonRole::GridMember),
            AssignmentKind::HouseholdMember => Assignee::Person(PersonRole::CommitteeMember),
        }
    }

    /// The kinds a place of `level` resolves, top-down (a cell includes its buildings' household member).
    pub fn for_level(level: Level) -> Vec<AssignmentKind> {
        let depth = |k: AssignmentKind| match k.target() {
            Target::Place(l) => l,
            Target::Section => Level::Street,
        };
        AssignmentKind::ALL
            .into_iter()
            .filter(|k| depth(*k) <= level && level != Level::City)
            .collect()
    }
}

/// Whether `[from, to)` holds the moment `at`.
pub fn active_at(from: NaiveDateTime, to: Option<NaiveDateTime>, at: NaiveDateTime) -> bool {
    from <= at && to.is_none_or(|t| at < t)
}

/// One link of a resolved chain: the kind, and the index of the assignment that fills it (its own, or the
/// nearest one above it when nobody is assigned: 属地兜底).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// The kind of the link.
    pub kind: AssignmentKind,
    /// The assignment that answers, as an index into the caller's list, if any.
    pub filled_by: Option<usize>,
    /// Whether the answer comes from a level above.
    pub fallback: bool,
}

/// Fills each kind with its own assignment, or else with the nearest filled kind above it.
/// `own[k]` is the index of the active assignment of `kinds[k]`, if any; `kinds` is top-down.
pub fn resolve(kinds: &[AssignmentKind], own: &[Option<usize>]) -> Vec<Resolved> {
    let mut above: Option<usize> = None;
    kinds
        .iter()
        .zip(own)
        .map(|(&kind, &mine)| match mine {
            Some(i) => {
                // Sections are a side branch: a leader is never the fallback for the places below.
                if kind != AssignmentKind::SectionLeader {
                    above = Some(i);
                }
                Resolved {
                    kind,
                    filled_by: Some(i),
                    fallback: false,
                }
            }
            None => Resolved {
                kind,
                filled_by: above,
                fallback: above.is_some(),
            },
        })
        .collect()
}

/// A link of a stored chain snapshot: the kind and the assignment that answered at the time (history is never
/// overwritten, so the assignment id pins the person or unit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotLink {
    /// Kind of link.
    pub kind: String,
    /// The assignment that answered, if any.
    pub assignment_id: Option<String>,
    /// Whether a level above answered (属地兜底).
    pub fallback: bool,
}

/// Writes a snapshot compactly, one `kind=assignment` per link separated by spaces (`kind^=` when a level above
/// answered, nothing after `=` when nobody did): about half the bytes of JSON, on every ticket, report and case.
pub fn encode_snapshot(links: &[SnapshotLink]) -> String {
    let mut out = String::with_capacity(links.len() * 56);
    for (k, l) in links.iter().enumerate() {
        if k > 0 {
            out.push(' ');
        }
        out.push_str(&l.kind);
        if l.fallback {
            out.push('^');
        }
        out.push('=');
        out.push_str(l.assignment_id.as_deref().unwrap_or(""));
    }
    out
}

/// Reads a snapshot written by [`encode_snapshot`] (or the JSON array of earlier versions); malformed parts are
/// skipped.
pub fn decode_snapshot(stored: &str) -> Vec<SnapshotLink> {
    if stored.trim_start().starts_with('[') {
        return serde_json::from_str(stored).unwrap_or_default();
    }
    stored
        .split_whitespace()
        .filter_map(|part| {
            let (kind, id) = part.split_once('=')?;
            let (kind, fallback) = match kind.strip_suffix('^') {
                Some(k) => (k, true),
                None => (kind, false),
            };
            Some(SnapshotLink {
                kind: kind.to_owned(),
                assignment_id: Some(id.to_owned()).filter(|i| !i.is_empty()),
                fallback,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn t(day: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, day)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or_default()
    }

    #[test]
    fn validity_is_half_open() {
        assert!(active_at(t(1), Some(t(3)), t(1)));
        assert!(active_at(t(1), Some(t(3)), t(2)));
        assert!(!active_at(t(1), Some(t(3)), t(3)));
        assert!(active_at(t(1), None, t(30)));
        assert!(!active_at(t(2), None, t(1)));
    }

    #[test]
    fn a_missing_link_falls_back_to_the_nearest_one_above_but_never_to_the_section_leader() {
        use AssignmentKind::*;
        let kinds = AssignmentKind::for_level(Level::Cell);
        assert_eq!(kinds, AssignmentKind::ALL.to_vec());
        // Command centre 0, leader 1, street 2, cadre missing, secretary 4, grid member missing, household missing.
        let own = [Some(0), Some(1), Some(2), None, Some(4), None, None];
        let r = resolve(&kinds, &own);
        assert_eq!(
            r[3],
            Resolved {
                kind: VillageCadre,
                filled_by: Some(2),
                fallback: true
            }
        );
        assert_eq!(
            r[5],
            Resolved {
                kind: GridMember,
                filled_by: Some(4),
                fallback: true
            }
        );
        assert_eq!(
            r[6],
            Resolved {
                kind: HouseholdMember,
                filled_by: Some(4),
                fallback: true
            }
        );
        let own = [Some(0), Some(1), None, None, None, None, None];
        assert_eq!(
            resolve(&kinds, &own)[2].filled_by,
            Some(0),
            "the command centre, not the leader"
        );
        let none = resolve(&kinds, &[None; 7]);
        assert!(none.iter().all(|l| l.filled_by.is_none() && !l.fallback));
    }

    #[test]
    fn each_level_resolves_the_links_down_to_it() {
        assert_eq!(
            AssignmentKind::for_level(Level::District),
            vec![AssignmentKind::CommandCentre]
        );
        assert_eq!(AssignmentKind::for_level(Level::Street).len(), 3);
        assert_eq!(AssignmentKind::for_level(Level::Community).len(), 5);
        assert!(AssignmentKind::for_level(Level::City).is_empty());
    }

    #[test]
    fn snapshots_round_trip_compactly_and_old_json_still_reads() {
        let links = vec![
            SnapshotLink {
                kind: "command_centre".into(),
                assignment_id: Some("asg_0123".into()),
                fallback: false,
            },
            SnapshotLink {
                kind: "grid_member".into(),
                assignment_id: Some("asg_0456".into()),
                fallback: true,
            },
            SnapshotLink {
                kind: "household_member".into(),
                assignment_id: None,
                fallback: false,
            },
        ];
        let text = encode_snapshot(&links);
        assert_eq!(
            text,
            "command_centre=asg_0123 grid_member^=asg_0456 household_member="
        );
        assert_eq!(decode_snapshot(&text), links);
        let json = serde_json::to_string(&links).unwrap_or_default();
        assert!(json.len() > text.len() * 3 / 2);
        assert_eq!(decode_snapshot(&json), links);
        assert_eq!(decode_snapshot(""), Vec::new());
        assert_eq!(decode_snapshot("garbage"), Vec::new());
    }
}
