//! The leaders' counts held in memory: the rows of `place_counts` (tickets and cases per level, place, day, topic,
//! source and status class) from a first day on, grouped by place and sorted by day inside each place, so that a
//! heat map of a level sums each place's days of the window in one pass over contiguous memory, and a tile's few
//! places are found directly. Kept equal to the stored rows by adding the same changes ([`Cube::add`]); the caller
//! says which version of the stored counts it mirrors ([`Cube::version`]).
//!
//! Sizes: one row is [`ROW_BYTES`] bytes; places, topics and sources are held once each as text.

use super::counts::{Filter, RowKey, StatusClass, Tally};
use crate::geo::place::Level;
use chrono::NaiveDate;
use std::collections::HashMap;

/// Bytes one held row takes.
pub const ROW_BYTES: usize = std::mem::size_of::<Entry>();

/// One row of a place: its day (days from the common era), topic and source (ids into the cube's names), class
/// and numbers. Sorted by (day, topic, source, class) inside a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    day: i32,
    topic: u32,
    source: u16,
    class: u8,
    tickets: i32,
    cases: i32,
}

impl Entry {
    fn key(&self) -> (i32, u32, u16, u8) {
        (self.day, self.topic, self.source, self.class)
    }
}

/// The rows of one place of one level.
#[derive(Debug, Clone)]
struct Place {
    code: String,
    rows: Vec<Entry>,
}

/// Texts held once each, by id.
#[derive(Debug, Clone, Default)]
struct Names {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Names {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.ids.insert(name.to_owned(), id);
        self.names.push(name.to_owned());
        id
    }

    /// Which ids pass a list of wanted values (exact, or by prefix): `None` when the list is empty (all pass).
    fn passing(&self, wanted: &[String], prefix: bool) -> Option<Vec<bool>> {
        if wanted.is_empty() {
            return None;
        }
        Some(
            self.names
                .iter()
                .map(|n| {
                    wanted.iter().any(|w| {
                        if prefix {
                            n.starts_with(w.as_str())
                        } else {
                            n == w
                        }
                    })
                })
                .collect(),
        )
    }
}

fn level_index(level: Level) -> usize {
    match level {
        Level::City => 0,
        Level::District => 1,
        Level::Street => 2,
        Level::Community => 3,
        Level::Cell => 4,
    }
}

fn class_index(class: StatusClass) -> u8 {
    match class {
        StatusClass::Open => 0,
        StatusClass::Closed => 1,
        StatusClass::Overdue => 2,
    }
}

fn day_number(day: NaiveDate) -> i32 {
    use chrono::Datelike;
    day.num_days_from_ce()
}

/// Adds `delta` to `n`, within `i32`.
fn plus(n: i32, delta: i64) -> i32 {
    i32::try_from(i64::from(n).saturating_add(delta)).unwrap_or(if delta < 0 {
        i32::MIN
    } else {
        i32::MAX
    })
}

/// Tickets and cases of one place in a window and in the period before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceSums {
    /// The place's code.
    pub code: String,
    /// In the window.
    pub now: Tally,
    /// In the period before.
    pub before: Tally,
}

/// The counts from [`Cube::first_day`] on, as stored at [`Cube::version`].
#[derive(Debug, Clone)]
pub struct Cube {
    version: i64,
    first_day: NaiveDate,
    topics: Names,
    sources: Names,
    /// Per level: place code → position in `places`.
    by_code: [HashMap<String, usize>; 5],
    /// Per level: the places with rows.
    places: [Vec<Place>; 5],
    rows: usize,
}

impl Cube {
    /// An empty cube of the stored counts at `version`, holding the days from `first_day` on.
    pub fn new(version: i64, first_day: NaiveDate) -> Cube {
        Cube {
            version,
            first_day,
            topics: Names::default(),
            sources: Names::default(),
            by_code: Default::default(),
            places: Default::default(),
            rows: 0,
        }
    }

    /// The version of the stored counts this cube equals.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// Moves the cube to `version` (after adding the changes that led there).
    pub fn set_version(&mut self, version: i64) {
        self.version = version;
    }

    /// The first day held: sums over earlier days must be read from the stored rows.
    pub fn first_day(&self) -> NaiveDate {
        self.first_day
    }

    /// Rows held.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Bytes the rows take (without the names and the maps).
    pub fn row_bytes(&self) -> usize {
        self.places
            .iter()
            .flatten()
            .map(|p| p.rows.capacity() * ROW_BYTES)
            .sum()
    }

    /// Adds `t` to the row `key` (creating it; a row reaching zero is removed). Days before the first day are
    /// not held and are ignored.
    pub fn add(&mut self, key: &RowKey, t: Tally) {
        if key.day < self.first_day || (t.tickets == 0 && t.cases == 0) {
            return;
        }
        let level = level_index(key.level);
        let entry = Entry {
            day: day_number(key.day),
            topic: self.topics.id(&key.topic),
            source: u16::try_from(self.sources.id(&key.source)).unwrap_or(u16::MAX),
            class: class_index(key.class),
            tickets: 0,
            cases: 0,
        };
        let at = match self.by_code[level].get(key.place.as_str()) {
            Some(at) => *at,
            None => {
                let at = self.places[level].len();
                self.places[level].push(Place {
                    code: key.place.clone(),
                    rows: Vec::new(),
                });
                self.by_code[level].insert(key.place.clone(), at);
                at
            }
        };
        let rows = &mut self.places[level][at].rows;
        let i = match rows.binary_search_by(|e| e.key().cmp(&entry.key())) {
            Ok(i) => i,
            Err(i) => {
                rows.insert(i, entry);
                self.rows += 1;
                i
            }
        };
        let e = &mut rows[i];
        e.tickets = plus(e.tickets, t.tickets);
        e.cases = plus(e.cases, t.cases);
        if e.tickets == 0 && e.cases == 0 {
            rows.remove(i);
            self.rows -= 1;
        }
    }

    /// Tickets and cases per place of `level` over the days `from..=to` and over `previous_from` up to the day
    /// before `from`, under `f` (places without any in either period are left out). `None` when `previous_from` is
    /// before the first day held.
    pub fn sums(
        &self,
        level: Level,
        previous_from: NaiveDate,
        from: NaiveDate,
        to: NaiveDate,
        f: &Filter,
    ) -> Option<Vec<PlaceSums>> {
        if previous_from < self.first_day {
            return None;
        }
        let level = level_index(level);
        let topics = self.topics.passing(&f.topics, true);
        let sources = self.sources.passing(&f.sources, false);
        let classes: Option<Vec<u8>> = (!f.classes.is_empty()).then(|| {
            f.classes
                .iter()
                .filter_map(|c| StatusClass::parse(c).map(class_index))
                .collect()
        });
        let places: Vec<&Place> = match (&f.places, &f.within) {
            (Some(codes), _) => codes
                .iter()
                .filter_map(|c| self.by_code[level].get(c.as_str()))
                .map(|at| &self.places[level][*at])
                .collect(),
            (None, _) => self.places[level].iter().collect(),
        };
        let (first, split, last) = (day_number(previous_from), day_number(from), day_number(to));
        let mut out = Vec::new();
        for p in places {
            if let Some(within) = &f.within
                && !within.iter().any(|w| p.code.starts_with(w.as_str()))
            {
                continue;
            }
            let start = p.rows.partition_point(|e| e.day < first);
            let (mut now, mut before) = (Tally::default(), Tally::default());
            for e in p.rows[start..].iter().take_while(|e| e.day <= last) {
                if topics.as_ref().is_some_and(|t| !t[e.topic as usize])
                    || sources.as_ref().is_some_and(|s| !s[usize::from(e.source)])
                    || classes.as_ref().is_some_and(|c| !c.contains(&e.class))
                {
                    continue;
                }
                let into = if e.day < split { &mut before } else { &mut now };
                into.tickets += i64::from(e.tickets);
                into.cases += i64::from(e.cases);
            }
            if now != Tally::default() || before != Tally::default() {
                out.push(PlaceSums {
                    code: p.code.clone(),
                    now,
                    before,
                });
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn key(
        level: Level,
        place: &str,
        d: u32,
        topic: &str,
        source: &str,
        class: StatusClass,
    ) -> RowKey {
        RowKey {
            level,
            place: place.into(),
            day: day(d),
            topic: topic.into(),
            source: source.into(),
            class,
        }
    }

    fn t(tickets: i64, cases: i64) -> Tally {
        Tally { tickets, cases }
    }

    fn sums(
        c: &Cube,
        level: Level,
        prev: u32,
        from: u32,
        to: u32,
        f: &Filter,
    ) -> Vec<(String, Tally, Tally)> {
        let mut v: Vec<_> = c
            .sums(level, day(prev), day(from), day(to), f)
            .unwrap()
            .into_iter()
            .map(|s| (s.code, s.now, s.before))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Hand-worked: two streets, days 1–6, a window of days 4–6 with days 1–3 before.
    #[test]
    fn sums_split_the_window_from_the_period_before_and_apply_every_filter() {
        let mut c = Cube::new(7, day(1));
        let s1 = "110101001";
        let s2 = "110101002";
        c.add(
            &key(Level::Street, s1, 1, "0101", "hotline", StatusClass::Open),
            t(2, 1),
        );
        c.add(
            &key(Level::Street, s1, 4, "0101", "hotline", StatusClass::Closed),
            t(3, 1),
        );
        c.add(
            &key(Level::Street, s1, 6, "0202", "patrol", StatusClass::Open),
            t(0, 1),
        );
        c.add(
            &key(
                Level::Street,
                s2,
                3,
                "0202",
                "hotline",
                StatusClass::Overdue,
            ),
            t(5, 2),
        );
        c.add(
            &key(Level::Street, s2, 7, "0101", "hotline", StatusClass::Open),
            t(9, 9),
        );
        c.add(
            &key(
                Level::Community,
                "110101001001",
                4,
                "0101",
                "hotline",
                StatusClass::Open,
            ),
            t(1, 1),
        );
        assert_eq!(c.rows(), 6);
        assert_eq!(c.version(), 7);
        let all = Filter::default();
        assert_eq!(
            sums(&c, Level::Street, 1, 4, 6, &all),
            vec![(s1.into(), t(3, 2), t(2, 1)), (s2.into(), t(0, 0), t(5, 2))]
        );
        let topic = Filter {
            topics: vec!["01".into()],
            ..Filter::default()
        };
        assert_eq!(
            sums(&c, Level::Street, 1, 4, 6, &topic),
            vec![(s1.into(), t(3, 1), t(2, 1))]
        );
        let patrol = Filter {
            sources: vec!["patrol".into()],
            ..Filter::default()
        };
        assert_eq!(
            sums(&c, Level::Street, 1, 4, 6, &patrol),
            vec![(s1.into(), t(0, 1), t(0, 0))]
        );
        let overdue = Filter {
            classes: vec!["overdue".into()],
            ..Filter::default()
        };
        assert_eq!(
            sums(&c, Level::Street, 1, 4, 6, &overdue),
            vec![(s2.into(), t(0, 0), t(5, 2))]
        );
        let within = Filter {
            within: Some(vec![s2.into()]),
            ..Filter::default()
        };
        assert_eq!(
            sums(&c, Level::Street, 1, 4, 7, &within),
            vec![(s2.into(), t(9, 9), t(5, 2))]
        );
        let nowhere = Filter {
            within: Some(Vec::new()),
            ..Filter::default()
        };
        assert!(sums(&c, Level::Street, 1, 4, 7, &nowhere).is_empty());
        let exact = Filter {
            places: Some(vec![s1.into(), "110101999".into()]),
            ..Filter::default()
        };
        assert_eq!(
            sums(&c, Level::Street, 2, 4, 6, &exact),
            vec![(s1.into(), t(3, 2), t(0, 0))]
        );
        assert_eq!(
            sums(&c, Level::Community, 1, 4, 6, &all),
            vec![("110101001001".into(), t(1, 1), t(0, 0))]
        );
    }

    #[test]
    fn a_row_brought_back_to_zero_is_removed_and_days_before_the_first_are_not_held() {
        let mut c = Cube::new(0, day(2));
        let k = key(
            Level::Cell,
            "110101001001001",
            3,
            "0101",
            "hotline",
            StatusClass::Open,
        );
        c.add(&k, t(1, 1));
        c.add(&k, t(1, 0));
        assert_eq!(c.rows(), 1);
        c.add(&k, t(-2, -1));
        assert_eq!(c.rows(), 0);
        assert!(sums(&c, Level::Cell, 2, 2, 9, &Filter::default()).is_empty());
        c.add(
            &key(
                Level::Cell,
                "110101001001001",
                1,
                "0101",
                "hotline",
                StatusClass::Open,
            ),
            t(4, 4),
        );
        assert_eq!(c.rows(), 0);
        assert!(
            c.sums(Level::Cell, day(1), day(2), day(3), &Filter::default())
                .is_none()
        );
        assert!(
            c.sums(Level::Cell, day(2), day(3), day(4), &Filter::default())
                .is_some()
        );
    }

    /// Rows added in any order sum as a plain scan over a list of the same rows does.
    #[test]
    fn sums_equal_a_plain_scan_whatever_order_the_rows_came_in() {
        let mut rows: Vec<(RowKey, Tally)> = Vec::new();
        let mut seed: u64 = 42;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        for _ in 0..3_000 {
            let class = StatusClass::ALL[next(3) as usize];
            let k = key(
                Level::Street,
                &format!("11010100{}", next(4)),
                1 + next(20) as u32,
                &format!("0{}0{}", 1 + next(3), 1 + next(3)),
                ["hotline", "patrol", "mixed"][next(3) as usize],
                class,
            );
            rows.push((k, t(next(5) as i64 - 1, next(3) as i64 - 1)));
        }
        let mut c = Cube::new(0, day(1));
        for (k, v) in &rows {
            c.add(k, *v);
        }
        let f = Filter {
            topics: vec!["02".into(), "0301".into()],
            sources: vec!["hotline".into(), "mixed".into()],
            classes: vec!["open".into(), "overdue".into()],
            ..Filter::default()
        };
        let mut plain: HashMap<String, (Tally, Tally)> = HashMap::new();
        for (k, v) in &rows {
            if !(k.topic.starts_with("02") || k.topic == "0301")
                || k.source == "patrol"
                || k.class == StatusClass::Closed
                || k.day < day(5)
                || k.day > day(16)
            {
                continue;
            }
            let e = plain.entry(k.place.clone()).or_default();
            let into = if k.day < day(9) { &mut e.1 } else { &mut e.0 };
            into.tickets += v.tickets;
            into.cases += v.cases;
        }
        let mut want: Vec<(String, Tally, Tally)> = plain
            .into_iter()
            .filter(|(_, (a, b))| *a != Tally::default() || *b != Tally::default())
            .map(|(k, (a, b))| (k, a, b))
            .collect();
        want.sort_by(|a, b| a.0.cmp(&b.0));
        assert!(!want.is_empty());
        assert_eq!(sums(&c, Level::Street, 5, 9, 16, &f), want);
    }
}
