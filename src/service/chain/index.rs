//! The in-memory responsibility-chain index: every assignment (history included), person, unit and section
//! membership, read once from the database at start so that resolving the chain of a place at any moment does no
//! database query. Kept in step with the database by the use-cases that write the chain (`service::chain`,
//! `service::admin::org`), which refresh the keys they touched after their transaction commits, whoever calls them
//! (see [`SharedChainIndex`]).
//!
//! Algorithm of [`ChainIndex::chain_at`]:
//! 1. The place's code and level come from the code, its name from the [`PlaceIndex`].
//! 2. The sections holding its street or community come from a map place code → section ids (sorted by id).
//! 3. For each kind of link the place's level resolves, the assignments of (kind, target) are a short list sorted
//!    by `valid_from`; the one active at `at` (`[valid_from, valid_to)`) that started last answers. A section
//!    leader is looked for in each of the sections in id order.
//! 4. Missing links are filled from the level above by [`chain::resolve`] (属地兜底).
//! 5. The person and unit of each answering assignment come from maps by id; the rows are shared (`Arc`) with
//!    the index, so a lookup copies no strings besides the link targets and the place's name.

use crate::db::{Db, DbError};
use crate::domain::chain::{self, AssignmentKind, Target};
use crate::geo::index::PlaceIndex;
use crate::geo::place::{Level, PlaceCode};
use crate::service::chain::{Chain, Link};
use crate::store::chain::{self as store, AssignmentRow};
use crate::store::org::{self as org_store, PersonRow, UnitRow};
use chrono::NaiveDateTime;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};

/// Assignments of one kind, by target (place code or section id), each list oldest first.
type ByTarget = HashMap<Box<str>, Box<[Arc<AssignmentRow>]>>;

/// How many entries the index holds, for logs and the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChainIndexStats {
    /// Assignments, history included.
    pub assignments: usize,
    /// Distinct (kind, target) pairs.
    pub targets: usize,
    /// People.
    pub people: usize,
    /// Units.
    pub units: usize,
    /// Streets and communities that lie in at least one section.
    pub sectioned_places: usize,
}

/// The chain data; see the module comment for the lookup algorithm.
#[derive(Default)]
pub struct ChainIndex {
    /// One map per kind, indexed by the kind's position in [`AssignmentKind::ALL`].
    by_kind: [ByTarget; AssignmentKind::ALL.len()],
    people: HashMap<Box<str>, Arc<PersonRow>>,
    units: HashMap<Box<str>, Arc<UnitRow>>,
    /// Street or community code → the sections holding it, sorted by id (a section's id is shared by its places).
    sections: HashMap<Box<str>, Vec<Arc<str>>>,
}

impl std::fmt::Debug for ChainIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The counts, not 120,000 rows.
        f.debug_tuple("ChainIndex").field(&self.stats()).finish()
    }
}

fn slot(kind: AssignmentKind) -> usize {
    // ALL is in declaration order, so the discriminant is the position.
    kind as usize
}

fn sort_history(list: &mut [Arc<AssignmentRow>]) {
    list.sort_by(|a, b| {
        a.valid_from
            .cmp(&b.valid_from)
            .then_with(|| a.id.cmp(&b.id))
    });
}

impl ChainIndex {
    /// Builds the index from rows (assignments of unknown kinds are skipped).
    pub fn from_rows(
        assignments: Vec<AssignmentRow>,
        people: Vec<PersonRow>,
        units: Vec<UnitRow>,
        section_places: Vec<(String, String)>,
    ) -> ChainIndex {
        let mut lists: [HashMap<Box<str>, Vec<Arc<AssignmentRow>>>; AssignmentKind::ALL.len()] =
            Default::default();
        for a in assignments {
            let Some(kind) = AssignmentKind::parse(&a.kind) else {
                tracing::warn!(
                    id = a.id,
                    kind = a.kind,
                    "assignment of an unknown kind skipped"
                );
                continue;
            };
            lists[slot(kind)]
                .entry(a.target.as_str().into())
                .or_default()
                .push(Arc::new(a));
        }
        let by_kind = lists.map(|m| {
            m.into_iter()
                .map(|(target, mut list)| {
                    sort_history(&mut list);
                    (target, list.into_boxed_slice())
                })
                .collect()
        });
        let mut ids: HashMap<String, Arc<str>> = HashMap::new();
        let mut sections: HashMap<Box<str>, Vec<Arc<str>>> = HashMap::new();
        for (section, place) in section_places {
            let id = ids
                .entry(section)
                .or_insert_with_key(|s| Arc::from(s.as_str()))
                .clone();
            sections.entry(place.into_boxed_str()).or_default().push(id);
        }
        for list in sections.values_mut() {
            list.sort();
            list.dedup();
            list.shrink_to_fit();
        }
        ChainIndex {
            by_kind,
            people: people
                .into_iter()
                .map(|p| (p.id.as_str().into(), Arc::new(p)))
                .collect(),
            units: units
                .into_iter()
                .map(|u| (u.id.as_str().into(), Arc::new(u)))
                .collect(),
            sections,
        }
    }

    /// Reads every assignment, person, unit and section membership from the database.
    pub fn load(db: &Db) -> Result<ChainIndex, DbError> {
        let mut conn = db.reader()?;
        let assignments = store::all_assignments(&mut conn)?;
        let people = org_store::all_people(&mut conn)?;
        let units = org_store::all_units(&mut conn)?;
        let section_places = store::all_section_places(&mut conn)?;
        Ok(ChainIndex::from_rows(
            assignments,
            people,
            units,
            section_places,
        ))
    }

    /// How many entries it holds.
    pub fn stats(&self) -> ChainIndexStats {
        ChainIndexStats {
            assignments: self
                .by_kind
                .iter()
                .flat_map(|m| m.values())
                .map(|l| l.len())
                .sum(),
            targets: self.by_kind.iter().map(HashMap::len).sum(),
            people: self.people.len(),
            units: self.units.len(),
            sectioned_places: self.sections.len(),
        }
    }

    /// Roughly how many heap bytes it holds: map tables, rows and their strings (allocator overhead not counted).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        fn table<K, V>(m: &HashMap<K, V>) -> usize {
            // hashbrown keeps one control byte per bucket and fills at most 7/8 of them.
            m.capacity() * 8 / 7 * (size_of::<(K, V)>() + 1)
        }
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::capacity);
        let arc = 2 * size_of::<usize>();
        let assignments: usize = self
            .by_kind
            .iter()
            .map(|m| {
                table(m)
                    + m.iter()
                        .map(|(k, list)| {
                            k.len()
                                + list.len() * size_of::<Arc<AssignmentRow>>()
                                + list
                                    .iter()
                                    .map(|a| {
                                        arc + size_of::<AssignmentRow>()
                                            + a.id.capacity()
                                            + a.kind.capacity()
                                            + a.target.capacity()
                                            + a.district_code.capacity()
                                            + opt(&a.person_id)
                                            + opt(&a.unit_id)
                                    })
                                    .sum::<usize>()
                        })
                        .sum::<usize>()
            })
            .sum();
        let people: usize = table(&self.people)
            + self
                .people
                .iter()
                .map(|(k, p)| {
                    k.len()
                        + arc
                        + size_of::<PersonRow>()
                        + p.id.capacity()
                        + p.name.capacity()
                        + p.phone.capacity()
                        + p.unit_id.capacity()
                        + p.role.capacity()
                        + p.district_code.capacity()
                })
                .sum::<usize>();
        let units: usize = table(&self.units)
            + self
                .units
                .iter()
                .map(|(k, u)| {
                    k.len()
                        + arc
                        + size_of::<UnitRow>()
                        + u.id.capacity()
                        + u.kind.capacity()
                        + u.name.capacity()
                        + opt(&u.place_code)
                        + u.district_code.capacity()
                        + u.topics.capacity()
                })
                .sum::<usize>();
        let sections: usize = table(&self.sections)
            + self
                .sections
                .iter()
                .map(|(k, ids)| k.len() + ids.capacity() * size_of::<Arc<str>>())
                .sum::<usize>();
        assignments + people + units + sections
    }

    /// The assignment of `kind` for `target` active at `at`; if several are (history never overlaps, but the
    /// index does not rely on it), the one that started last.
    fn active(
        &self,
        kind: AssignmentKind,
        target: &str,
        at: NaiveDateTime,
    ) -> Option<&Arc<AssignmentRow>> {
        self.by_kind[slot(kind)]
            .get(target)?
            .iter()
            .rev()
            .find(|a| chain::active_at(a.valid_from, a.valid_to, at))
    }

    /// The chain of the place `code` at `at`, resolved in memory; `None` when the code is malformed or names no
    /// place of `places`.
    pub fn chain_at(&self, places: &PlaceIndex, code: &str, at: NaiveDateTime) -> Option<Chain> {
        let (code, level) = PlaceCode::parse(code)?;
        let place = places.place(code.as_str())?;
        Some(Chain {
            at,
            code: place.code.clone(),
            name: place.name.clone(),
            level,
            links: self.links(code.as_str(), level, at),
        })
    }

    fn links(&self, code: &str, level: Level, at: NaiveDateTime) -> Vec<Link> {
        let kinds = AssignmentKind::for_level(level);
        let prefix = |n: usize| code.get(..n);
        let mut section_ids: Vec<&Arc<str>> = Vec::new();
        if level >= Level::Street {
            for p in [prefix(9), prefix(12)].into_iter().flatten() {
                section_ids.extend(self.sections.get(p).into_iter().flatten());
            }
            section_ids.sort();
            section_ids.dedup();
        }
        let mut found: Vec<&Arc<AssignmentRow>> = Vec::with_capacity(kinds.len());
        let mut link_targets: Vec<Option<&str>> = Vec::with_capacity(kinds.len());
        let own: Vec<Option<usize>> = kinds
            .iter()
            .map(|&k| {
                let hit = match k.target() {
                    Target::Place(l) => {
                        let t = prefix(l.code_len());
                        link_targets.push(t);
                        t.and_then(|t| self.active(k, t, at))
                    }
                    Target::Section => {
                        link_targets.push(section_ids.first().map(|s| &***s));
                        section_ids.iter().find_map(|s| self.active(k, s, at))
                    }
                };
                hit.map(|a| {
                    found.push(a);
                    found.len() - 1
                })
            })
            .collect();
        chain::resolve(&kinds, &own)
            .into_iter()
            .zip(link_targets)
            .map(|(r, target)| {
                let assignment = r.filled_by.map(|i| Arc::clone(found[i]));
                let person = assignment
                    .as_ref()
                    .and_then(|a| a.person_id.as_deref())
                    .and_then(|id| self.people.get(id))
                    .cloned();
                let unit = assignment
                    .as_ref()
                    .and_then(|a| a.unit_id.as_deref())
                    .or_else(|| person.as_ref().map(|p| p.unit_id.as_str()))
                    .and_then(|id| self.units.get(id))
                    .cloned();
                let target = match &assignment {
                    Some(a) if r.kind == AssignmentKind::SectionLeader && !r.fallback => {
                        Some(a.target.clone())
                    }
                    _ => target.map(str::to_owned),
                };
                Link {
                    kind: r.kind,
                    target,
                    assignment,
                    person,
                    unit,
                    fallback: r.fallback,
                }
            })
            .collect()
    }

    /// Replaces the history of (kind, target); an empty one removes the key.
    pub fn set_history(&mut self, kind: AssignmentKind, target: &str, rows: Vec<AssignmentRow>) {
        let map = &mut self.by_kind[slot(kind)];
        if rows.is_empty() {
            map.remove(target);
            return;
        }
        let mut list: Vec<Arc<AssignmentRow>> = rows.into_iter().map(Arc::new).collect();
        sort_history(&mut list);
        map.insert(target.into(), list.into_boxed_slice());
    }

    /// Sets a person (`None`: removes it).
    pub fn set_person(&mut self, id: &str, row: Option<PersonRow>) {
        match row {
            Some(p) => self.people.insert(id.into(), Arc::new(p)),
            None => self.people.remove(id),
        };
    }

    /// Sets a unit (`None`: removes it).
    pub fn set_unit(&mut self, id: &str, row: Option<UnitRow>) {
        match row {
            Some(u) => self.units.insert(id.into(), Arc::new(u)),
            None => self.units.remove(id),
        };
    }

    /// Records that a section holds these places (sections are created, never changed or deleted).
    pub fn add_section(&mut self, id: &str, places: &[String]) {
        let id: Arc<str> = Arc::from(id);
        for p in places {
            let list = self.sections.entry(p.as_str().into()).or_default();
            if let Err(at) = list.binary_search(&id) {
                list.insert(at, id.clone());
            }
        }
    }
}

/// The chain index as the server shares it: read by every chain lookup, patched by every use-case write that
/// changes assignments, sections, people or units.
///
/// Readers take the read lock only for the few microseconds of a lookup (the answer owns its data). Writes patch
/// the index in place under the write lock, one key at a time: cloning the whole index for every write (the
/// copy-and-swap of an `Arc`) would copy about 120,000 map entries per change, and reloading it takes about half
/// a second (`cargo bench --bench chain`). A refresh reads the key from the
/// database after the write's transaction has committed; refreshes are serialised by a mutex, so whichever
/// refresh of a key runs last read the database after every commit that preceded it, and concurrent writes cannot
/// leave an older state in the index.
#[derive(Debug, Default)]
pub struct SharedChainIndex {
    index: RwLock<ChainIndex>,
    refresh: Mutex<()>,
}

impl SharedChainIndex {
    /// Shares an index.
    pub fn new(index: ChainIndex) -> SharedChainIndex {
        SharedChainIndex {
            index: RwLock::new(index),
            refresh: Mutex::new(()),
        }
    }

    /// Loads the index from the database.
    pub fn load(db: &Db) -> Result<SharedChainIndex, DbError> {
        ChainIndex::load(db).map(SharedChainIndex::new)
    }

    /// The index for reading; hold the guard only for a lookup (writers wait for it).
    pub fn read(&self) -> RwLockReadGuard<'_, ChainIndex> {
        // A panic while patching leaves at worst one key out of date; serving it beats failing every lookup.
        self.index.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// [`ChainIndex::chain_at`] on the current index.
    pub fn chain_at(&self, places: &PlaceIndex, code: &str, at: NaiveDateTime) -> Option<Chain> {
        self.read().chain_at(places, code, at)
    }

    fn patch<T>(
        &self,
        db: &Db,
        read: impl FnOnce(&mut crate::db::DbConnection) -> Result<T, DbError>,
        apply: impl FnOnce(&mut ChainIndex, T),
    ) -> Result<(), DbError> {
        let _serial = self.refresh.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh = read(&mut *db.reader()?)?;
        let mut index = self.index.write().unwrap_or_else(PoisonError::into_inner);
        apply(&mut index, fresh);
        Ok(())
    }

    /// Re-reads the history of (kind, target) after a write committed (unknown kinds are ignored).
    pub fn refresh_assignments(&self, db: &Db, kind: &str, target: &str) -> Result<(), DbError> {
        let Some(kind) = AssignmentKind::parse(kind) else {
            return Ok(());
        };
        self.patch(
            db,
            |c| Ok(store::history(c, kind.as_str(), target)?),
            |i, rows| i.set_history(kind, target, rows),
        )
    }

    /// Re-reads a person after a write committed.
    pub fn refresh_person(&self, db: &Db, id: &str) -> Result<(), DbError> {
        self.patch(
            db,
            |c| Ok(org_store::person(c, id)?),
            |i, row| i.set_person(id, row),
        )
    }

    /// Re-reads a unit after a write committed.
    pub fn refresh_unit(&self, db: &Db, id: &str) -> Result<(), DbError> {
        self.patch(
            db,
            |c| Ok(org_store::unit(c, id)?),
            |i, row| i.set_unit(id, row),
        )
    }

    /// Re-reads the places of a section after it was created.
    pub fn refresh_section(&self, db: &Db, id: &str) -> Result<(), DbError> {
        self.patch(
            db,
            |c| Ok(store::section_place_codes(c, id)?),
            |i, places| i.add_section(id, &places),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::place::Place;
    use chrono::NaiveDate;

    fn t(month: u32, day: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, month, day)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap()
    }

    const CELL: &str = "110101001001001";

    fn places() -> PlaceIndex {
        let place = |code: &str, name: &str| {
            let (code, level) = PlaceCode::parse(code).unwrap();
            Place {
                parent: code.parent(),
                code,
                name: name.to_owned(),
                level,
                geometry: geo::MultiPolygon::new(Vec::new()),
            }
        };
        PlaceIndex::new(
            &[
                place("110000", "北京市"),
                place("110101", "东城区"),
                place("110101001", "东华门街道"),
                place("110101001001", "多福巷社区"),
                place(CELL, "第一网格"),
            ],
            &[],
        )
    }

    fn assignment(
        id: &str,
        kind: AssignmentKind,
        target: &str,
        who: &str,
        from: NaiveDateTime,
        to: Option<NaiveDateTime>,
    ) -> AssignmentRow {
        let unit = matches!(
            kind,
            AssignmentKind::CommandCentre | AssignmentKind::StreetOffice
        );
        AssignmentRow {
            id: id.to_owned(),
            kind: kind.as_str().to_owned(),
            target: target.to_owned(),
            district_code: "110101".to_owned(),
            person_id: (!unit).then(|| who.to_owned()),
            unit_id: unit.then(|| who.to_owned()),
            valid_from: from,
            valid_to: to,
            created_at: from,
        }
    }

    fn person(id: &str, role: &str) -> PersonRow {
        PersonRow {
            id: id.to_owned(),
            name: format!("name of {id}"),
            phone: "13800000000".to_owned(),
            unit_id: "unit_committee".to_owned(),
            role: role.to_owned(),
            district_code: "110101".to_owned(),
            created_at: t(1, 1),
            updated_at: t(1, 1),
        }
    }

    fn unit(id: &str, kind: &str) -> UnitRow {
        UnitRow {
            id: id.to_owned(),
            kind: kind.to_owned(),
            name: format!("name of {id}"),
            place_code: None,
            district_code: "110101".to_owned(),
            topics: "[]".to_owned(),
            created_at: t(1, 1),
            updated_at: t(1, 1),
        }
    }

    /// Command centre from Jan; secretary from Jan; grid member A Jan–Mar (closed), B from Mar; a section leader
    /// from Feb for the street's section; household member C only in April.
    fn index() -> ChainIndex {
        use AssignmentKind::*;
        ChainIndex::from_rows(
            vec![
                assignment("a_cc", CommandCentre, "110101", "unit_cc", t(1, 1), None),
                assignment(
                    "a_sec",
                    CommunitySecretary,
                    "110101001001",
                    "p_sec",
                    t(1, 1),
                    None,
                ),
                // Deliberately out of order: the index sorts by valid_from.
                assignment("a_grid_b", GridMember, CELL, "p_b", t(3, 1), None),
                assignment("a_grid_a", GridMember, CELL, "p_a", t(1, 1), Some(t(3, 1))),
                assignment("a_lead", SectionLeader, "sec_2", "p_lead", t(2, 1), None),
                assignment("a_hh", HouseholdMember, CELL, "p_c", t(4, 1), Some(t(5, 1))),
            ],
            vec![
                person("p_sec", "community_secretary"),
                person("p_a", "grid_member"),
                person("p_b", "grid_member"),
                person("p_c", "committee_member"),
                person("p_lead", "leader"),
            ],
            vec![
                unit("unit_cc", "command_centre"),
                unit("unit_committee", "community_committee"),
            ],
            vec![
                ("sec_2".to_owned(), "110101001".to_owned()),
                ("sec_1".to_owned(), "110101001001".to_owned()),
            ],
        )
    }

    fn link(chain: &Chain, kind: AssignmentKind) -> &Link {
        chain.links.iter().find(|l| l.kind == kind).unwrap()
    }

    fn who(chain: &Chain, kind: AssignmentKind) -> Option<&str> {
        link(chain, kind).assignment.as_ref().map(|a| a.id.as_str())
    }

    #[test]
    fn the_grid_member_at_a_moment_is_the_one_assigned_then() {
        use AssignmentKind::GridMember;
        let (i, p) = (index(), places());
        let at = |m, d| i.chain_at(&p, CELL, t(m, d)).unwrap();
        assert_eq!(who(&at(2, 15), GridMember), Some("a_grid_a"), "past");
        // Half-open: the closing moment belongs to the successor.
        assert_eq!(who(&at(3, 1), GridMember), Some("a_grid_b"));
        assert_eq!(
            who(
                &i.chain_at(&p, CELL, t(3, 1) - chrono::Duration::seconds(1))
                    .unwrap(),
                GridMember
            ),
            Some("a_grid_a")
        );
        assert_eq!(
            who(&at(12, 31), GridMember),
            Some("a_grid_b"),
            "future, open-ended"
        );
        let june = at(6, 1);
        let g = link(&june, GridMember);
        assert!(!g.fallback);
        assert_eq!(g.person.as_ref().unwrap().id, "p_b");
        assert_eq!(
            g.unit.as_ref().unwrap().id,
            "unit_committee",
            "a person's link names their unit"
        );
    }

    #[test]
    fn a_closed_interval_falls_back_to_the_level_above_outside_it() {
        use AssignmentKind::*;
        let (i, p) = (index(), places());
        let april = i.chain_at(&p, CELL, t(4, 15)).unwrap();
        assert_eq!(who(&april, HouseholdMember), Some("a_hh"));
        assert!(!link(&april, HouseholdMember).fallback);
        let may = i.chain_at(&p, CELL, t(5, 1)).unwrap();
        assert_eq!(
            who(&may, HouseholdMember),
            Some("a_grid_b"),
            "the grid member answers"
        );
        assert!(link(&may, HouseholdMember).fallback);
        // Nobody for the street office or the cadre: the command centre, not the section leader, answers.
        assert_eq!(who(&may, StreetOffice), Some("a_cc"));
        assert_eq!(who(&may, VillageCadre), Some("a_cc"));
        assert_eq!(
            link(&may, StreetOffice).unit.as_ref().unwrap().id,
            "unit_cc"
        );
        // Before anyone: nothing at all.
        let before = i
            .chain_at(&p, CELL, t(1, 1) - chrono::Duration::days(1))
            .unwrap();
        assert!(
            before
                .links
                .iter()
                .all(|l| l.assignment.is_none() && !l.fallback)
        );
        assert_eq!(before.links.len(), 7);
    }

    #[test]
    fn the_section_leader_comes_from_any_section_of_the_street_or_community() {
        use AssignmentKind::SectionLeader;
        let (i, p) = (index(), places());
        let jan = i.chain_at(&p, CELL, t(1, 15)).unwrap();
        let l = link(&jan, SectionLeader);
        assert!(l.fallback, "no leader yet: the command centre answers");
        assert_eq!(
            l.target.as_deref(),
            Some("sec_1"),
            "the first section by id"
        );
        let mar = i.chain_at(&p, CELL, t(3, 15)).unwrap();
        let l = link(&mar, SectionLeader);
        assert_eq!(
            l.target.as_deref(),
            Some("sec_2"),
            "the section whose leader answers"
        );
        assert_eq!(l.person.as_ref().unwrap().id, "p_lead");
    }

    #[test]
    fn unknown_or_malformed_codes_have_no_chain_and_each_level_stops_at_itself() {
        let (i, p) = (index(), places());
        assert!(i.chain_at(&p, "110101001001999", t(3, 1)).is_none());
        assert!(i.chain_at(&p, "abc", t(3, 1)).is_none());
        let community = i.chain_at(&p, "110101001001", t(3, 1)).unwrap();
        assert_eq!(
            (community.name.as_str(), community.level),
            ("多福巷社区", Level::Community)
        );
        assert_eq!(community.links.len(), 5);
        assert!(i.chain_at(&p, "110000", t(3, 1)).unwrap().links.is_empty());
    }

    #[test]
    fn patches_replace_a_history_a_person_a_unit_and_add_a_section() {
        use AssignmentKind::*;
        let (mut i, p) = (index(), places());
        i.set_history(
            GridMember,
            CELL,
            vec![assignment(
                "a_grid_a",
                GridMember,
                CELL,
                "p_a",
                t(1, 1),
                Some(t(2, 1)),
            )],
        );
        let mar = i.chain_at(&p, CELL, t(3, 15)).unwrap();
        assert_eq!(
            who(&mar, GridMember),
            Some("a_sec"),
            "ended: the secretary answers"
        );
        i.set_history(GridMember, CELL, Vec::new());
        assert_eq!(i.stats().assignments, 4, "both grid members gone");
        let mut renamed = person("p_sec", "community_secretary");
        renamed.name = "新书记".to_owned();
        i.set_person("p_sec", Some(renamed));
        let mar = i.chain_at(&p, CELL, t(3, 15)).unwrap();
        assert_eq!(
            link(&mar, CommunitySecretary).person.as_ref().unwrap().name,
            "新书记"
        );
        i.set_unit("unit_committee", None);
        let mar = i.chain_at(&p, CELL, t(3, 15)).unwrap();
        assert!(link(&mar, CommunitySecretary).unit.is_none());
        i.add_section("sec_0", &["110101001001".to_owned()]);
        let jan = i.chain_at(&p, CELL, t(1, 15)).unwrap();
        assert_eq!(link(&jan, SectionLeader).target.as_deref(), Some("sec_0"));
    }
}
