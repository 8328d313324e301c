//! The arithmetic of the leaders' counts, as plain functions: which Beijing day a time falls on, the status class of
//! a case, what one case adds to the counts of each place level, the difference between two contributions, windows
//! of days and the period before them, series per day, week or month, changes and rates per 1,000 households.
//!
//! Guarantees: a contribution is rolled up to every level above its place exactly once (cell → community → street →
//! district → city, by code prefix); a delta of two contributions holds no zero entries; windows are at most
//! [`MAX_WINDOW_DAYS`] long and never reversed; no function returns NaN (a rate or change without a base is `None`).

use crate::geo::place::{CITY_CODE, Level};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use std::collections::BTreeMap;

/// Beijing's offset from UTC (no daylight saving time): counts are kept per Beijing calendar day.
pub const BEIJING_OFFSET_HOURS: i64 = 8;

/// The longest window a heat map or trend covers, in days (a leap year).
pub const MAX_WINDOW_DAYS: i64 = 366;

/// The Beijing calendar day of a stored UTC time.
pub fn local_day(utc: NaiveDateTime) -> NaiveDate {
    (utc + Duration::hours(BEIJING_OFFSET_HOURS)).date()
}

/// Where a case stands for the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatusClass {
    /// Not finished and not past its completion deadline (or not dispatched yet, or replied and waiting).
    Open,
    /// Closed, or fixed on the spot (随手做).
    Closed,
    /// Dispatched, neither replied nor closed, and past its completion deadline.
    Overdue,
}

impl StatusClass {
    /// Every class.
    pub const ALL: [StatusClass; 3] =
        [StatusClass::Open, StatusClass::Closed, StatusClass::Overdue];

    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusClass::Open => "open",
            StatusClass::Closed => "closed",
            StatusClass::Overdue => "overdue",
        }
    }

    /// Parses a stored or API name.
    pub fn parse(s: &str) -> Option<StatusClass> {
        StatusClass::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// The deadline facts of a dispatched case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// When the handling is due (extensions included).
    pub complete_due_at: NaiveDateTime,
    /// Whether the handler has replied or the work is closed.
    pub done: bool,
}

/// The class of a case with `status` (its stored name) at `now`; `None` for a case merged into another (its items
/// are counted with that case).
pub fn classify(
    status: &str,
    deadline: Option<Deadline>,
    now: NaiveDateTime,
) -> Option<StatusClass> {
    match status {
        "merged" => None,
        "closed" | "self_resolved" => Some(StatusClass::Closed),
        _ => match deadline {
            Some(d) if !d.done && d.complete_due_at < now => Some(StatusClass::Overdue),
            _ => Some(StatusClass::Open),
        },
    }
}

/// The finest key an item is counted under: its own place (a cell, or a coarser place when it was located only
/// that far, or the district when it is unplaced), day, topic, source and class.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeafKey {
    /// The place code (6, 9, 12 or 15 digits).
    pub place: String,
    /// The Beijing day.
    pub day: NaiveDate,
    /// The second-level topic code.
    pub topic: String,
    /// `hotline`, `patrol`, `mixed` or `proactive`.
    pub source: String,
    /// The status class.
    pub class: StatusClass,
}

/// Tickets and cases under one key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Tickets (calls).
    pub tickets: i64,
    /// Cases (problems).
    pub cases: i64,
}

impl Tally {
    fn is_zero(self) -> bool {
        self.tickets == 0 && self.cases == 0
    }
}

/// What one case adds to the counts, per leaf key.
pub type Contribution = BTreeMap<LeafKey, Tally>;

/// A contribution as stored with its case: `place|day|topic|source|class|tickets|cases` entries joined by `;`.
pub fn encode(c: &Contribution) -> String {
    let mut out = String::new();
    for (k, t) in c {
        if !out.is_empty() {
            out.push(';');
        }
        out.push_str(&format!(
            "{}|{}|{}|{}|{}|{}|{}",
            k.place,
            k.day,
            k.topic,
            k.source,
            k.class.as_str(),
            t.tickets,
            t.cases
        ));
    }
    out
}

/// Reads what [`encode`] wrote; `None` when the text is not such a list (a rebuild then repairs the counts).
pub fn decode(s: &str) -> Option<Contribution> {
    let mut out = Contribution::new();
    for entry in s.split(';').filter(|e| !e.is_empty()) {
        let f: Vec<&str> = entry.split('|').collect();
        let [place, day, topic, source, class, tickets, cases] = f.as_slice() else {
            return None;
        };
        out.insert(
            LeafKey {
                place: (*place).to_owned(),
                day: day.parse().ok()?,
                topic: (*topic).to_owned(),
                source: (*source).to_owned(),
                class: StatusClass::parse(class)?,
            },
            Tally {
                tickets: tickets.parse().ok()?,
                cases: cases.parse().ok()?,
            },
        );
    }
    Some(out)
}

/// A stored row's key: a level, a place of that level and the rest of the leaf key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowKey {
    /// The level of `place`.
    pub level: Level,
    /// The place code (the city's for the city level).
    pub place: String,
    /// The Beijing day.
    pub day: NaiveDate,
    /// The topic code.
    pub topic: String,
    /// The source.
    pub source: String,
    /// The status class.
    pub class: StatusClass,
}

/// The level of a place code by its length (`None` for a code of no level; the city's own code counts as a
/// district by length and is never a leaf).
pub fn level_of(code: &str) -> Option<Level> {
    match code.len() {
        6 => Some(Level::District),
        9 => Some(Level::Street),
        12 => Some(Level::Community),
        15 => Some(Level::Cell),
        _ => None,
    }
}

/// A place and every place above it, finest first, ending with the city.
pub fn roll_up(code: &str) -> Vec<(Level, String)> {
    let mut out = Vec::with_capacity(5);
    let mut level = level_of(code);
    while let Some(l) = level {
        if l == Level::City {
            break;
        }
        if let Some(prefix) = code.get(..l.code_len()) {
            out.push((l, prefix.to_owned()));
        }
        level = l.parent();
    }
    out.push((Level::City, CITY_CODE.to_owned()));
    out
}

/// The change of every stored row when a case's contribution goes from `old` to `new`: each leaf's difference,
/// rolled up to every level. Entries whose difference is zero are left out.
pub fn delta(old: &Contribution, new: &Contribution) -> BTreeMap<RowKey, Tally> {
    let mut out: BTreeMap<RowKey, Tally> = BTreeMap::new();
    let mut add = |key: &LeafKey, t: Tally, sign: i64| {
        for (level, place) in roll_up(&key.place) {
            let e = out
                .entry(RowKey {
                    level,
                    place,
                    day: key.day,
                    topic: key.topic.clone(),
                    source: key.source.clone(),
                    class: key.class,
                })
                .or_default();
            e.tickets += sign * t.tickets;
            e.cases += sign * t.cases;
        }
    };
    for (k, t) in old {
        add(k, *t, -1);
    }
    for (k, t) in new {
        add(k, *t, 1);
    }
    out.retain(|_, t| !t.is_zero());
    out
}

/// What a heat map or a series sums over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Topic codes: a first-level code takes its second-level codes (by prefix). Empty: every topic.
    pub topics: Vec<String>,
    /// Sources. Empty: every source.
    pub sources: Vec<String>,
    /// Status classes. Empty: every class.
    pub classes: Vec<String>,
    /// Only places inside these codes (by prefix). `None`: everywhere.
    pub within: Option<Vec<String>>,
    /// Only these places (exact codes). `None`: every place.
    pub places: Option<Vec<String>>,
}

/// A window of Beijing days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The first day.
    pub from: NaiveDate,
    /// The last day.
    pub to: NaiveDate,
}

/// Why a window is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WindowError {
    /// `to` is before `from`.
    #[error("the window ends before it starts: give `to` on or after `from`")]
    Reversed,
    /// More than [`MAX_WINDOW_DAYS`] days.
    #[error("the window is longer than a year ({MAX_WINDOW_DAYS} days): ask for a shorter one")]
    TooLong,
}

impl Window {
    /// A window from `from` to `to`, both included.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Window, WindowError> {
        if to < from {
            return Err(WindowError::Reversed);
        }
        if (to - from).num_days() + 1 > MAX_WINDOW_DAYS {
            return Err(WindowError::TooLong);
        }
        Ok(Window { from, to })
    }

    /// How many days it covers.
    pub fn days(self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The window of the same length that ends the day before this one starts.
    pub fn previous(self) -> Window {
        let to = self.from - Duration::days(1);
        Window {
            from: to - Duration::days(self.days() - 1),
            to,
        }
    }
}

/// The change from `before` to `now` in percent of `before`; `None` when `before` is zero.
pub fn change_pct(now: i64, before: i64) -> Option<f64> {
    #[expect(clippy::cast_precision_loss, reason = "counts stay far below 2^52")]
    (before != 0).then(|| (now - before) as f64 * 100.0 / before as f64)
}

/// `count` per 1,000 households; `None` where the geodata has no households.
pub fn per_thousand(count: i64, households: i64) -> Option<f64> {
    #[expect(clippy::cast_precision_loss, reason = "counts stay far below 2^52")]
    (households > 0).then(|| count as f64 * 1000.0 / households as f64)
}

/// How a series is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// One point per day.
    Day,
    /// One point per ISO week (Monday to Sunday).
    Week,
    /// One point per calendar month.
    Month,
}

impl Step {
    /// Parses `day`, `week` or `month`.
    pub fn parse(s: &str) -> Option<Step> {
        match s {
            "day" => Some(Step::Day),
            "week" => Some(Step::Week),
            "month" => Some(Step::Month),
            _ => None,
        }
    }

    /// The first day of the step that holds `day`.
    pub fn start_of(self, day: NaiveDate) -> NaiveDate {
        match self {
            Step::Day => day,
            Step::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
            Step::Month => day.with_day(1).unwrap_or(day),
        }
    }

    fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            Step::Day => start + Duration::days(1),
            Step::Week => start + Duration::days(7),
            Step::Month => start
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(start + Duration::days(31)),
        }
    }
}

/// One point of a series: the days of the step that fall inside the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    /// First day (inside the window).
    pub from: NaiveDate,
    /// Last day (inside the window).
    pub to: NaiveDate,
    /// The sums over those days.
    pub tally: Tally,
}

/// The series over `window` cut by `step`, every step present (zeros included), from per-day sums (days outside
/// the window are ignored). The first and last points are cut to the window.
pub fn series(window: Window, step: Step, per_day: &[(NaiveDate, Tally)]) -> Vec<Point> {
    let mut out = Vec::new();
    let mut start = step.start_of(window.from);
    while start <= window.to {
        let end = step.next(start) - Duration::days(1);
        out.push(Point {
            from: start.max(window.from),
            to: end.min(window.to),
            tally: Tally::default(),
        });
        start = step.next(start);
    }
    for (day, t) in per_day {
        if *day < window.from || *day > window.to {
            continue;
        }
        let i = out.partition_point(|p| p.to < *day);
        if let Some(p) = out.get_mut(i) {
            p.tally.tickets += t.tickets;
            p.tally.cases += t.cases;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn leaf(place: &str, class: StatusClass) -> LeafKey {
        LeafKey {
            place: place.into(),
            day: d("2026-03-03"),
            topic: "0101".into(),
            source: "hotline".into(),
            class,
        }
    }

    #[test]
    fn a_utc_evening_is_the_next_beijing_day() {
        assert_eq!(local_day(t("2026-03-02 15:59:59")), d("2026-03-02"));
        assert_eq!(local_day(t("2026-03-02 16:00:00")), d("2026-03-03"));
    }

    #[test]
    fn classes_follow_status_and_deadline() {
        let now = t("2026-03-10 00:00:00");
        let late = Deadline {
            complete_due_at: t("2026-03-09 00:00:00"),
            done: false,
        };
        assert_eq!(classify("merged", Some(late), now), None);
        assert_eq!(
            classify("closed", Some(late), now),
            Some(StatusClass::Closed)
        );
        assert_eq!(
            classify("self_resolved", None, now),
            Some(StatusClass::Closed)
        );
        assert_eq!(
            classify("accepted", Some(late), now),
            Some(StatusClass::Overdue)
        );
        let replied = Deadline { done: true, ..late };
        assert_eq!(
            classify("replied", Some(replied), now),
            Some(StatusClass::Open)
        );
        assert_eq!(classify("received", None, now), Some(StatusClass::Open));
        let due_now = Deadline {
            complete_due_at: now,
            done: false,
        };
        assert_eq!(
            classify("accepted", Some(due_now), now),
            Some(StatusClass::Open)
        );
    }

    #[test]
    fn a_cell_rolls_up_through_every_level_to_the_city() {
        let r = roll_up("110105001001002");
        let codes: Vec<&str> = r.iter().map(|(_, c)| c.as_str()).collect();
        assert_eq!(
            codes,
            [
                "110105001001002",
                "110105001001",
                "110105001",
                "110105",
                "110000"
            ]
        );
        assert_eq!(r[0].0, Level::Cell);
        assert_eq!(r[4].0, Level::City);
        let r = roll_up("110105");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0], (Level::District, "110105".into()));
    }

    #[test]
    fn a_case_closing_moves_its_counts_between_classes_at_every_level() {
        let mut old = Contribution::new();
        old.insert(
            leaf("110105001001002", StatusClass::Open),
            Tally {
                tickets: 2,
                cases: 1,
            },
        );
        let mut new = Contribution::new();
        new.insert(
            leaf("110105001001002", StatusClass::Closed),
            Tally {
                tickets: 2,
                cases: 1,
            },
        );
        let d = delta(&old, &new);
        assert_eq!(d.len(), 10);
        let open: i64 = d
            .iter()
            .filter(|(k, _)| k.class == StatusClass::Open)
            .map(|(_, t)| t.tickets)
            .sum();
        assert_eq!(open, -10);
        assert!(d.values().all(|t| t.cases.abs() == 1));
    }

    #[test]
    fn an_unchanged_contribution_changes_nothing_and_a_moved_ticket_only_its_cell() {
        let mut a = Contribution::new();
        a.insert(
            leaf("110105001001002", StatusClass::Open),
            Tally {
                tickets: 1,
                cases: 1,
            },
        );
        assert!(delta(&a, &a).is_empty());
        let mut b = Contribution::new();
        b.insert(
            leaf("110105001001003", StatusClass::Open),
            Tally {
                tickets: 1,
                cases: 1,
            },
        );
        let d = delta(&a, &b);
        // The two cells change; their community and everything above stay as they were.
        assert_eq!(d.len(), 2);
        assert!(d.keys().all(|k| k.level == Level::Cell));
    }

    #[test]
    fn contributions_survive_their_stored_form() {
        let mut a = Contribution::new();
        a.insert(
            leaf("110105001001002", StatusClass::Open),
            Tally {
                tickets: 3,
                cases: 1,
            },
        );
        a.insert(
            leaf("110105", StatusClass::Overdue),
            Tally {
                tickets: 0,
                cases: 1,
            },
        );
        assert_eq!(decode(&encode(&a)), Some(a));
        assert_eq!(decode(""), Some(Contribution::new()));
        assert_eq!(decode("x|y"), None);
    }

    #[test]
    fn windows_are_checked_and_the_previous_one_has_the_same_length() {
        assert_eq!(
            Window::new(d("2026-03-02"), d("2026-03-01")),
            Err(WindowError::Reversed)
        );
        assert_eq!(
            Window::new(d("2025-01-01"), d("2026-01-02")),
            Err(WindowError::TooLong)
        );
        let w = Window::new(d("2026-03-01"), d("2026-03-31")).unwrap();
        assert_eq!(w.days(), 31);
        let p = w.previous();
        assert_eq!((p.from, p.to), (d("2026-01-29"), d("2026-02-28")));
        assert_eq!(p.days(), 31);
        assert!(Window::new(d("2024-01-01"), d("2024-12-31")).is_ok());
    }

    #[test]
    fn changes_and_rates_have_no_value_without_a_base() {
        assert_eq!(change_pct(15, 10), Some(50.0));
        assert_eq!(change_pct(5, 0), None);
        assert_eq!(per_thousand(3, 1500), Some(2.0));
        assert_eq!(per_thousand(3, 0), None);
    }

    #[test]
    fn weekly_series_cut_the_window_and_keep_empty_weeks() {
        // 2026-03-04 is a Wednesday.
        let w = Window::new(d("2026-03-04"), d("2026-03-20")).unwrap();
        let per_day = [
            (
                d("2026-03-04"),
                Tally {
                    tickets: 1,
                    cases: 1,
                },
            ),
            (
                d("2026-03-08"),
                Tally {
                    tickets: 2,
                    cases: 0,
                },
            ),
            (
                d("2026-03-20"),
                Tally {
                    tickets: 4,
                    cases: 1,
                },
            ),
            (
                d("2026-03-21"),
                Tally {
                    tickets: 100,
                    cases: 100,
                },
            ),
        ];
        let s = series(w, Step::Week, &per_day);
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].from, s[0].to), (d("2026-03-04"), d("2026-03-08")));
        assert_eq!(
            s[0].tally,
            Tally {
                tickets: 3,
                cases: 1
            }
        );
        assert_eq!(s[1].tally, Tally::default());
        assert_eq!((s[2].from, s[2].to), (d("2026-03-16"), d("2026-03-20")));
        assert_eq!(
            s[2].tally,
            Tally {
                tickets: 4,
                cases: 1
            }
        );
        let m = series(w, Step::Month, &per_day);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].tally.tickets, 7);
        assert_eq!(series(w, Step::Day, &per_day).len(), 17);
    }
}
