//! The generated responsibility chain of the default Beijing dataset, so that every place resolves to a full
//! chain out of the box: units for the city, every district, street and community; sections of about four
//! streets; and a leader, cadre, secretary, grid member and household member (两委) wherever they belong.
//!
//! Deterministic: the same places give the same rows (ids included). Names are plausible, phone numbers are
//! well-formed mobile numbers drawn at random: fake, never checked against real subscribers.

use crate::domain::chain::AssignmentKind;
use crate::domain::org::{PersonRole, UnitKind};
use crate::geo::place::{CITY_CODE, Level, Place};
use crate::store::chain::{AssignmentRow, SectionRow};
use crate::store::org::{PersonRow, UnitRow};
use chrono::{NaiveDate, NaiveDateTime};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::LazyLock;

/// The seed of the generated chain.
pub const SEED: u64 = 12_345;
/// Streets per generated section.
pub const STREETS_PER_SECTION: usize = 4;

const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤";
const GIVEN: &str = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志海燕玉红英萍鹏辉宁健云波斌浩凯秀丹欣然宇晨博文雪梅婷慧佳琳颖";
const MOBILE_PREFIXES: [&str; 12] = [
    "130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "186", "188",
];

/// Everything generated.
#[derive(Debug, Default)]
pub struct Seed {
    /// Units.
    pub units: Vec<UnitRow>,
    /// People.
    pub people: Vec<PersonRow>,
    /// Sections.
    pub sections: Vec<SectionRow>,
    /// (section id, place code).
    pub section_places: Vec<(String, String)>,
    /// Assignments, all from [`since`].
    pub assignments: Vec<AssignmentRow>,
}

/// When the generated assignments start: 2025-01-01 00:00 UTC.
pub fn since() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2025, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default()
}

struct Gen {
    rng: ChaCha8Rng,
    seed: Seed,
}

static SURNAME_CHARS: LazyLock<Vec<char>> = LazyLock::new(|| SURNAMES.chars().collect());
static GIVEN_CHARS: LazyLock<Vec<char>> = LazyLock::new(|| GIVEN.chars().collect());

/// A plausible Chinese name: a common surname and one or two given characters.
pub fn fake_name(rng: &mut impl Rng) -> String {
    let mut s = String::new();
    s.push(SURNAME_CHARS[rng.random_range(0..SURNAME_CHARS.len())]);
    for _ in 0..rng.random_range(1..=2) {
        s.push(GIVEN_CHARS[rng.random_range(0..GIVEN_CHARS.len())]);
    }
    s
}

/// A well-formed (fake) mainland mobile number.
pub fn fake_mobile(rng: &mut impl Rng) -> String {
    let prefix = MOBILE_PREFIXES[rng.random_range(0..MOBILE_PREFIXES.len())];
    format!("{prefix}{:08}", rng.random_range(0..100_000_000u32))
}

impl Gen {
    fn id(&mut self, prefix: &str) -> String {
        format!("{prefix}{:032x}", self.rng.random::<u128>())
    }

    fn name(&mut self) -> String {
        fake_name(&mut self.rng)
    }

    fn phone(&mut self) -> String {
        fake_mobile(&mut self.rng)
    }

    fn unit(&mut self, kind: UnitKind, name: String, place: Option<&str>) -> String {
        let id = self.id("unit_");
        let t = since();
        self.seed.units.push(UnitRow {
            id: id.clone(),
            kind: kind.as_str().to_owned(),
            name,
            place_code: place.map(str::to_owned),
            district_code: place
                .map_or(
                    CITY_CODE,
                    |p| if p == CITY_CODE { CITY_CODE } else { &p[..6] },
                )
                .to_owned(),
            topics: "[]".into(),
            created_at: t,
            updated_at: t,
        });
        id
    }

    fn person(&mut self, role: PersonRole, unit: &str, district: &str) -> String {
        let id = self.id("person_");
        let t = since();
        let (name, phone) = (self.name(), self.phone());
        self.seed.people.push(PersonRow {
            id: id.clone(),
            name,
            phone,
            unit_id: unit.to_owned(),
            role: role.as_str().to_owned(),
            district_code: district.to_owned(),
            created_at: t,
            updated_at: t,
        });
        id
    }

    fn assign(
        &mut self,
        kind: AssignmentKind,
        target: &str,
        district: &str,
        person: Option<String>,
        unit: Option<String>,
    ) {
        let id = self.id("asg_");
        self.seed.assignments.push(AssignmentRow {
            id,
            kind: kind.as_str().to_owned(),
            target: target.to_owned(),
            district_code: district.to_owned(),
            person_id: person,
            unit_id: unit,
            valid_from: since(),
            valid_to: None,
            created_at: since(),
        });
    }
}

/// Generates the chain for these places (any order; the result follows code order).
pub fn generate(places: &[Place]) -> Seed {
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(SEED),
        seed: Seed::default(),
    };
    let mut sorted: Vec<&Place> = places.iter().collect();
    sorted.sort_by(|a, b| a.code.cmp(&b.code));
    let of = |level: Level| sorted.iter().copied().filter(move |p| p.level == level);
    g.unit(
        UnitKind::HotlineCentre,
        "北京市12345市民服务热线".into(),
        None,
    );
    let mut street_office = std::collections::HashMap::new();
    let mut committee = std::collections::HashMap::new();
    for d in of(Level::District) {
        let code = d.code.as_str();
        let unit = g.unit(
            UnitKind::CommandCentre,
            format!("{}接诉即办调度指挥中心", d.name),
            Some(code),
        );
        g.assign(AssignmentKind::CommandCentre, code, code, None, Some(unit));
        let streets: Vec<&Place> = of(Level::Street)
            .filter(|s| s.code.district() == code)
            .collect();
        for (k, group) in streets.chunks(STREETS_PER_SECTION).enumerate() {
            let section = g.id("sec_");
            g.seed.sections.push(SectionRow {
                id: section.clone(),
                name: format!("{}第{}片区", d.name, k + 1),
                district_code: code.to_owned(),
                created_at: since(),
            });
            for s in group {
                g.seed
                    .section_places
                    .push((section.clone(), s.code.as_str().to_owned()));
                let unit = g.unit(
                    UnitKind::StreetOffice,
                    format!("{}办事处", s.name),
                    Some(s.code.as_str()),
                );
                g.assign(
                    AssignmentKind::StreetOffice,
                    s.code.as_str(),
                    code,
                    None,
                    Some(unit.clone()),
                );
                street_office.insert(s.code.as_str().to_owned(), unit);
            }
            let office = street_office[group[0].code.as_str()].clone();
            let leader = g.person(PersonRole::Leader, &office, code);
            g.assign(
                AssignmentKind::SectionLeader,
                &section,
                code,
                Some(leader),
                None,
            );
        }
    }
    for c in of(Level::Community) {
        let code = c.code.as_str();
        let district = c.code.district();
        let unit = g.unit(UnitKind::CommunityCommittee, c.name.clone(), Some(code));
        let office = street_office
            .get(&code[..9])
            .cloned()
            .unwrap_or_else(|| unit.clone());
        let cadre = g.person(PersonRole::Cadre, &office, district);
        g.assign(
            AssignmentKind::VillageCadre,
            code,
            district,
            Some(cadre),
            None,
        );
        let secretary = g.person(PersonRole::CommunitySecretary, &unit, district);
        g.assign(
            AssignmentKind::CommunitySecretary,
            code,
            district,
            Some(secretary),
            None,
        );
        committee.insert(code.to_owned(), unit);
    }
    for cell in of(Level::Cell) {
        let code = cell.code.as_str();
        let district = cell.code.district();
        let Some(unit) = committee.get(&code[..12]).cloned() else {
            continue;
        };
        let grid = g.person(PersonRole::GridMember, &unit, district);
        g.assign(AssignmentKind::GridMember, code, district, Some(grid), None);
        let member = g.person(PersonRole::CommitteeMember, &unit, district);
        g.assign(
            AssignmentKind::HouseholdMember,
            code,
            district,
            Some(member),
            None,
        );
    }
    for d in of(Level::District) {
        for (name, topics) in DEPARTMENTS.iter() {
            let id = g.unit(
                UnitKind::Department,
                format!("{}{name}", d.name),
                Some(d.code.as_str()),
            );
            if let Some(u) = g.seed.units.iter_mut().rev().find(|u| u.id == id) {
                u.topics = serde_json::to_string(topics).unwrap_or_else(|_| "[]".into());
            }
        }
    }
    g.seed
}

/// The departments the dispatch catalogue (the default topics) names, each with the topic codes it answers for:
/// every district gets one of each (区城市管理委员会, 区住房和城乡建设委员会, ...).
static DEPARTMENTS: LazyLock<Vec<(String, Vec<String>)>> = LazyLock::new(|| {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for t in crate::domain::topic::parse_csv(crate::domain::topic::DEFAULT_CSV).unwrap_or_default()
    {
        if t.department.is_empty() {
            continue;
        }
        match out.iter_mut().find(|(n, _)| *n == t.department) {
            Some((_, codes)) => codes.push(t.code.to_string()),
            None => out.push((t.department, vec![t.code.to_string()])),
        }
    }
    out
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::org::valid_phone;

    #[test]
    fn the_default_dataset_gets_a_deterministic_chain_for_every_place() {
        let places = crate::geo::dataset::places().unwrap();
        let a = generate(&places);
        let b = generate(&places);
        assert_eq!(a.assignments.len(), b.assignments.len());
        assert!(
            a.assignments
                .iter()
                .zip(&b.assignments)
                .all(|(x, y)| x.id == y.id && x.person_id == y.person_id)
        );
        let cells = places.iter().filter(|p| p.level == Level::Cell).count();
        let communities = places
            .iter()
            .filter(|p| p.level == Level::Community)
            .count();
        let grid = a
            .assignments
            .iter()
            .filter(|x| x.kind == "grid_member")
            .count();
        assert_eq!(grid, cells);
        assert_eq!(
            a.assignments
                .iter()
                .filter(|x| x.kind == "community_secretary")
                .count(),
            communities
        );
        assert_eq!(
            a.assignments
                .iter()
                .filter(|x| x.kind == "street_office")
                .count(),
            349
        );
        assert_eq!(
            a.assignments
                .iter()
                .filter(|x| x.kind == "command_centre")
                .count(),
            16
        );
        assert!(
            a.people
                .iter()
                .all(|p| valid_phone(&p.phone) && crate::domain::org::valid_name(&p.name))
        );
        assert!(a.sections.len() >= 349 / STREETS_PER_SECTION);
        // Every district has the catalogue's departments, answering for the topics that name them.
        let departments: Vec<&UnitRow> =
            a.units.iter().filter(|u| u.kind == "department").collect();
        assert_eq!(departments.len(), 16 * DEPARTMENTS.len());
        assert!(DEPARTMENTS.len() >= 5);
        let heating = departments
            .iter()
            .find(|u| u.district_code == "110105" && u.topics.contains("\"0701\""))
            .expect("a Chaoyang department answers for heating");
        assert!(heating.name.starts_with("朝阳区"));
    }
}
