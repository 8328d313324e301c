//! The topic taxonomy: two levels (a class such as `01` 市容环卫 and its topics such as `0101` 暴露垃圾), each with
//! its default time class, grid class, the department the dispatch catalogue names, and its merge policy. The
//! taxonomy is data: the built-in one ([`DEFAULT_CSV`]) is loaded on first start and can be replaced from a CSV file
//! without a code change. A topic may be seasonal ([`Season`]: heating in winter, waterlogging in the flood season):
//! its hot spots of last season are proposed ahead of the next one (冬病夏治, `crate::service::hotspots::forewarning`).

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;

/// The built-in taxonomy (from DESIGN.md), as CSV.
pub const DEFAULT_CSV: &str = include_str!("topics.csv");

/// The CSV header, in order. Files written before seasons existed have the first ten columns only; a row may leave
/// out the last column (`season`) too.
pub const CSV_HEADER: [&str; 11] = [
    "code",
    "parent_code",
    "name_zh",
    "name_en",
    "time_class",
    "grid_class",
    "department",
    "merge_radius_m",
    "merge_window_hours",
    "merge_same_building",
    "season",
];

/// The columns every taxonomy file has (the header without `season`).
const REQUIRED_COLUMNS: usize = 10;

/// A topic code: two digits for a class, four for a topic within it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TopicCode(String);

impl TopicCode {
    /// Accepts `01`…`99` or `0101`…`9999`.
    pub fn parse(s: &str) -> Option<TopicCode> {
        let s = s.trim();
        ((s.len() == 2 || s.len() == 4) && s.bytes().all(|b| b.is_ascii_digit()) && &s[..2] != "00")
            .then(|| TopicCode(s.to_owned()))
    }

    /// Whether this is a class (two digits) rather than a topic.
    pub fn is_class(&self) -> bool {
        self.0.len() == 2
    }

    /// The class this code belongs to (itself for a class).
    pub fn class(&self) -> &str {
        &self.0[..2]
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TopicCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How long the handling unit has (Beijing DB11/T 2021 draft).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TimeClass {
    /// Emergency: life and property at risk.
    #[serde(rename = "2h")]
    Hours2,
    /// Water, power, gas, heating.
    #[serde(rename = "24h")]
    Hours24,
    /// General.
    #[serde(rename = "7d")]
    Days7,
    /// Complex.
    #[serde(rename = "15d")]
    Days15,
}

impl TimeClass {
    /// Every class, shortest first.
    pub const ALL: [TimeClass; 4] = [
        TimeClass::Hours2,
        TimeClass::Hours24,
        TimeClass::Days7,
        TimeClass::Days15,
    ];

    /// The name (`2h`, `24h`, `7d`, `15d`).
    pub fn as_str(self) -> &'static str {
        match self {
            TimeClass::Hours2 => "2h",
            TimeClass::Hours24 => "24h",
            TimeClass::Days7 => "7d",
            TimeClass::Days15 => "15d",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<TimeClass> {
        TimeClass::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The time allowed, in hours.
    pub fn hours(self) -> u32 {
        match self {
            TimeClass::Hours2 => 2,
            TimeClass::Hours24 => 24,
            TimeClass::Days7 => 7 * 24,
            TimeClass::Days15 => 15 * 24,
        }
    }
}

/// The grid-management class: a part (部件: a thing, such as a manhole cover) or an event (事件).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GridClass {
    /// 部件.
    Part,
    /// 事件.
    Event,
}

impl GridClass {
    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            GridClass::Part => "part",
            GridClass::Event => "event",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<GridClass> {
        [GridClass::Part, GridClass::Event]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// When two items on a topic are about the same problem.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MergeRule {
    /// Items within this distance (metres) may merge; 0 means only by building, or never.
    pub radius_m: u32,
    /// Items within this time of the case's latest item may merge.
    pub window_hours: u32,
    /// Items at the same building merge whatever the distance (heating, lifts, leaks).
    pub same_building: bool,
}

impl MergeRule {
    /// Whether the rule can ever merge anything.
    pub fn merges(&self) -> bool {
        (self.radius_m > 0 || self.same_building) && self.window_hours > 0
    }
}

/// A class or topic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Topic {
    /// Its code.
    pub code: TopicCode,
    /// The class it belongs to (`None` for a class).
    pub parent: Option<TopicCode>,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Default time class.
    pub time_class: TimeClass,
    /// Part or event.
    pub grid_class: GridClass,
    /// The department the dispatch catalogue (派单目录) names.
    pub department: String,
    /// When items merge.
    pub merge: MergeRule,
    /// The time of year its problems come (`None`: all year).
    pub season: Option<Season>,
}

/// A month and day of the year (`MM-DD`); 02-29 is a day of every year, taken as 02-28 in a common year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MonthDay {
    month: u32,
    day: u32,
}

impl MonthDay {
    /// Parses `MM-DD` (a day that exists in a leap year).
    pub fn parse(s: &str) -> Option<MonthDay> {
        let (m, d) = s.trim().split_once('-')?;
        if m.len() != 2 || d.len() != 2 {
            return None;
        }
        let (month, day) = (m.parse().ok()?, d.parse().ok()?);
        // 2000 is a leap year: every month-day that ever exists exists in it.
        NaiveDate::from_ymd_opt(2000, month, day).map(|_| MonthDay { month, day })
    }

    /// This day in `year` (02-29 is 02-28 in a common year); `None` only outside the calendar's years.
    pub fn in_year(self, year: i32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(year, self.month, self.day)
            .or_else(|| NaiveDate::from_ymd_opt(year, self.month, self.day - 1))
    }
}

impl fmt::Display for MonthDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

/// The time of year a topic's problems come, `MM-DD..MM-DD` (both days included); it spans the new year when it
/// ends before it starts (`11-15..03-15`, Beijing's heating season).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Season {
    /// First day.
    pub start: MonthDay,
    /// Last day.
    pub end: MonthDay,
}

impl Season {
    /// Parses `MM-DD..MM-DD`.
    pub fn parse(s: &str) -> Option<Season> {
        let (a, b) = s.trim().split_once("..")?;
        Some(Season {
            start: MonthDay::parse(a)?,
            end: MonthDay::parse(b)?,
        })
    }

    /// The occurrence that starts in `year`: (first day, last day), the last day in the next year when the season
    /// spans the new year.
    pub fn starting_in(self, year: i32) -> Option<(NaiveDate, NaiveDate)> {
        let first = self.start.in_year(year)?;
        let end_year = if self.end < self.start {
            year + 1
        } else {
            year
        };
        Some((first, self.end.in_year(end_year)?))
    }

    /// The first day of the next occurrence after `today` (`today` itself is not next: that season has begun).
    pub fn next_start(self, today: NaiveDate) -> Option<NaiveDate> {
        match self.starting_in(today.year())? {
            (first, _) if first > today => Some(first),
            _ => self.starting_in(today.year() + 1).map(|(first, _)| first),
        }
    }
}

impl fmt::Display for Season {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

impl Serialize for Season {
    /// As it is written: `MM-DD..MM-DD`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What a forewarning looks at: the season about to start and the last one's days that are over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forewarning {
    /// The first day of the coming season.
    pub season_starts: NaiveDate,
    /// The first day of last season (the occurrence that started a year before `season_starts`).
    pub last_from: NaiveDate,
    /// Its last day, or yesterday when it has not ended yet.
    pub last_to: NaiveDate,
}

/// The forewarning due `today` for `season` when the next season starts within `weeks` weeks (its first day `S`:
/// `S − 7·weeks ≤ today < S`), else `None`. Last season is the occurrence that started in the year before `S`,
/// its end cut to yesterday.
pub fn forewarning_due(season: Season, today: NaiveDate, weeks: u32) -> Option<Forewarning> {
    let starts = season.next_start(today)?;
    if starts - Duration::days(7 * i64::from(weeks)) > today {
        return None;
    }
    let (last_from, last_end) = season.starting_in(starts.year() - 1)?;
    let last_to = last_end.min(today - Duration::days(1));
    (last_from <= last_to).then_some(Forewarning {
        season_starts: starts,
        last_from,
        last_to,
    })
}

/// A line of a taxonomy file that is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// The line number (1 = the header).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

const MAX_NAME_CHARS: usize = 100;
const MAX_RADIUS_M: u32 = 5_000;
const MAX_WINDOW_HOURS: u32 = 24 * 366;

fn parse_row(rec: &csv::StringRecord, columns: usize) -> Result<Topic, String> {
    if rec.len() != columns && rec.len() != REQUIRED_COLUMNS {
        return Err(format!("expected {columns} fields, found {}", rec.len()));
    }
    let f = |i: usize| rec.get(i).unwrap_or("").trim();
    let code = TopicCode::parse(f(0))
        .ok_or_else(|| format!("code {:?} is not two or four digits", f(0)))?;
    let parent = match f(1) {
        "" => None,
        p => Some(TopicCode::parse(p).ok_or_else(|| format!("parent_code {p:?} is not a code"))?),
    };
    match (&parent, code.is_class()) {
        (None, true) => {}
        (Some(p), false) if p.is_class() && p.as_str() == code.class() => {}
        _ => {
            return Err(format!(
                "{code}: a class (two digits) has no parent, a topic (four digits) has its class as parent"
            ));
        }
    }
    let text = |i: usize, name: &str| {
        let v = f(i);
        if v.is_empty() || v.chars().count() > MAX_NAME_CHARS {
            Err(format!("{name} must have 1 to {MAX_NAME_CHARS} characters"))
        } else {
            Ok(v.to_owned())
        }
    };
    let number = |i: usize, name: &str, max: u32| {
        f(i).parse::<u32>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| format!("{name} {:?} is not a whole number from 0 to {max}", f(i)))
    };
    Ok(Topic {
        parent,
        name_zh: text(2, "name_zh")?,
        name_en: text(3, "name_en")?,
        time_class: TimeClass::parse(f(4))
            .ok_or_else(|| format!("time_class {:?} is not one of 2h, 24h, 7d, 15d", f(4)))?,
        grid_class: GridClass::parse(f(5))
            .ok_or_else(|| format!("grid_class {:?} is not part or event", f(5)))?,
        department: text(6, "department")?,
        merge: MergeRule {
            radius_m: number(7, "merge_radius_m", MAX_RADIUS_M)?,
            window_hours: number(8, "merge_window_hours", MAX_WINDOW_HOURS)?,
            same_building: match f(9) {
                "true" => true,
                "false" => false,
                other => {
                    return Err(format!(
                        "merge_same_building {other:?} is not true or false"
                    ));
                }
            },
        },
        season: match f(10) {
            "" => None,
            s => Some(Season::parse(s).ok_or_else(|| {
                format!(
                    "season {:?} is not MM-DD..MM-DD (first and last day, e.g. 11-15..03-15; empty: all year)",
                    s.chars().take(40).collect::<String>()
                )
            })?),
        },
        code,
    })
}

/// Reads a taxonomy file: every line checked, every class present before its topics are used, no code twice. All
/// errors are reported (with line numbers), not only the first.
pub fn parse_csv(text: &str) -> Result<Vec<Topic>, Vec<LineError>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut errors = Vec::new();
    let columns = match reader.headers() {
        Ok(h) if h.iter().map(str::trim).eq(CSV_HEADER) => CSV_HEADER.len(),
        Ok(h)
            if h.iter()
                .map(str::trim)
                .eq(CSV_HEADER[..REQUIRED_COLUMNS].iter().copied()) =>
        {
            REQUIRED_COLUMNS
        }
        _ => {
            return Err(vec![LineError {
                line: 1,
                message: format!(
                    "the header must be {} (season may be left out)",
                    CSV_HEADER.join(",")
                ),
            }]);
        }
    };
    let mut topics = Vec::new();
    let mut seen = HashSet::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        match rec
            .map_err(|e| e.to_string())
            .and_then(|r| parse_row(&r, columns))
        {
            Ok(t) if !seen.insert(t.code.clone()) => errors.push(LineError {
                line,
                message: format!("{} appears twice", t.code),
            }),
            Ok(t) => topics.push((line, t)),
            Err(message) => errors.push(LineError { line, message }),
        }
    }
    for (line, t) in &topics {
        if let Some(p) = &t.parent
            && !seen.contains(p)
        {
            errors.push(LineError {
                line: *line,
                message: format!("{}: its class {p} is not in the file", t.code),
            });
        }
    }
    if topics.is_empty() && errors.is_empty() {
        errors.push(LineError {
            line: 1,
            message: "the file has no topics".into(),
        });
    }
    if errors.is_empty() {
        Ok(topics.into_iter().map(|(_, t)| t).collect())
    } else {
        errors.sort_by_key(|e| e.line);
        Err(errors)
    }
}

/// Writes topics as a taxonomy file that [`parse_csv`] reads back.
pub fn to_csv(topics: &[Topic]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut write = |fields: &[&str]| w.write_record(fields).is_ok();
    let mut ok = write(&CSV_HEADER);
    for t in topics {
        let radius = t.merge.radius_m.to_string();
        let window = t.merge.window_hours.to_string();
        let season = t.season.map(|s| s.to_string()).unwrap_or_default();
        ok &= write(&[
            t.code.as_str(),
            t.parent.as_ref().map_or("", TopicCode::as_str),
            &t.name_zh,
            &t.name_en,
            t.time_class.as_str(),
            t.grid_class.as_str(),
            &t.department,
            &radius,
            &window,
            if t.merge.same_building {
                "true"
            } else {
                "false"
            },
            &season,
        ]);
    }
    debug_assert!(ok, "writing CSV to memory cannot fail");
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_classes_allow_their_hours() {
        let hours: Vec<u32> = TimeClass::ALL.iter().map(|c| c.hours()).collect();
        assert_eq!(hours, [2, 24, 168, 360]);
    }

    #[test]
    fn the_built_in_taxonomy_reads_and_round_trips() {
        let topics = parse_csv(DEFAULT_CSV).unwrap();
        assert_eq!(topics.iter().filter(|t| t.code.is_class()).count(), 13);
        let heating = topics.iter().find(|t| t.code.as_str() == "0701").unwrap();
        assert_eq!(heating.time_class, TimeClass::Hours24);
        assert!(heating.merge.same_building);
        let manhole = topics.iter().find(|t| t.code.as_str() == "0301").unwrap();
        assert_eq!(manhole.time_class, TimeClass::Hours2);
        assert_eq!(manhole.grid_class, GridClass::Part);
        assert_eq!(parse_csv(&to_csv(&topics)).unwrap(), topics);
    }

    #[test]
    fn a_bad_file_reports_every_bad_line() {
        let text = "code,parent_code,name_zh,name_en,time_class,grid_class,department,merge_radius_m,merge_window_hours,merge_same_building\n\
            01,,市容,sanitation,7d,event,城管委,150,168,false\n\
            0101,02,垃圾,rubbish,7d,event,城管委,150,168,false\n\
            0102,01,堆物,piles,3d,event,城管委,150,168,false\n\
            0103,01,广告,posters,7d,event,城管委,-5,168,false\n\
            0104,01,道路,road,7d,event,城管委,150,168,false\n\
            0104,01,道路,road,7d,event,城管委,150,168,false\n";
        let errors = parse_csv(text).unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 7], "{errors:?}");
        assert!(errors[1].message.contains("time_class"));
    }

    #[test]
    fn a_topic_whose_class_is_missing_is_refused() {
        let text = format!(
            "{}\n0101,01,垃圾,rubbish,7d,event,城管委,150,168,false\n",
            CSV_HEADER.join(",")
        );
        let errors = parse_csv(&text).unwrap_err();
        assert!(errors[0].message.contains("class 01"), "{errors:?}");
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_built_in_seasonal_topics_carry_their_seasons() {
        let topics = parse_csv(DEFAULT_CSV).unwrap();
        let seasonal: Vec<(String, String)> = topics
            .iter()
            .filter_map(|t| Some((t.code.to_string(), t.season?.to_string())))
            .collect();
        assert_eq!(
            seasonal,
            [
                ("0203".to_owned(), "05-01..09-30".to_owned()),
                ("0304".to_owned(), "06-01..09-15".to_owned()),
                ("0401".to_owned(), "06-01..09-15".to_owned()),
                ("0701".to_owned(), "11-15..03-15".to_owned()),
            ]
        );
    }

    #[test]
    fn a_season_is_two_real_month_days_and_prints_as_it_was_written() {
        for good in [
            "11-15..03-15",
            "06-01..09-15",
            "02-29..03-01",
            "01-01..12-31",
        ] {
            assert_eq!(Season::parse(good).unwrap().to_string(), good);
        }
        for bad in [
            "",
            "11-15",
            "11-15..",
            "13-01..03-15",
            "11-31..03-15",
            "02-30..03-01",
            "1-5..3-15",
            "11-15...03-15",
            "11/15..03/15",
            "00-10..03-15",
            "11-00..03-15",
        ] {
            assert!(Season::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_season_spanning_the_new_year_ends_in_the_next_year_and_feb_29_is_feb_28_in_a_common_year()
    {
        let heating = Season::parse("11-15..03-15").unwrap();
        assert_eq!(
            heating.starting_in(2025),
            Some((d("2025-11-15"), d("2026-03-15")))
        );
        let flood = Season::parse("06-01..09-15").unwrap();
        assert_eq!(
            flood.starting_in(2026),
            Some((d("2026-06-01"), d("2026-09-15")))
        );
        let leap = Season::parse("02-29..03-10").unwrap();
        assert_eq!(
            leap.starting_in(2028),
            Some((d("2028-02-29"), d("2028-03-10")))
        );
        assert_eq!(
            leap.starting_in(2027),
            Some((d("2027-02-28"), d("2027-03-10")))
        );
        let to_leap = Season::parse("12-01..02-29").unwrap();
        assert_eq!(
            to_leap.starting_in(2027),
            Some((d("2027-12-01"), d("2028-02-29")))
        );
        assert_eq!(
            to_leap.starting_in(2026),
            Some((d("2026-12-01"), d("2027-02-28")))
        );
        // The longest occurrence is a year and a day: within a scan's window.
        let (a, b) = Season::parse("03-02..03-01")
            .unwrap()
            .starting_in(2027)
            .unwrap();
        assert_eq!((b - a).num_days() + 1, 366);
        // The next start: today's season has begun, so the next is a year on.
        assert_eq!(heating.next_start(d("2026-01-10")), Some(d("2026-11-15")));
        assert_eq!(heating.next_start(d("2026-11-15")), Some(d("2027-11-15")));
        assert_eq!(heating.next_start(d("2026-11-14")), Some(d("2026-11-15")));
    }

    #[test]
    fn a_forewarning_is_due_within_its_weeks_before_the_season_and_looks_at_last_season() {
        let heating = Season::parse("11-15..03-15").unwrap();
        // Six weeks before 15 November 2026 is 4 October.
        assert_eq!(forewarning_due(heating, d("2026-10-03"), 6), None);
        let due = Forewarning {
            season_starts: d("2026-11-15"),
            last_from: d("2025-11-15"),
            last_to: d("2026-03-15"),
        };
        assert_eq!(forewarning_due(heating, d("2026-10-04"), 6), Some(due));
        assert_eq!(forewarning_due(heating, d("2026-11-14"), 6), Some(due));
        // The season has begun: the next one is a year away.
        assert_eq!(forewarning_due(heating, d("2026-11-15"), 6), None);
        assert_eq!(forewarning_due(heating, d("2026-07-01"), 26), Some(due));
        assert_eq!(forewarning_due(heating, d("2026-05-16"), 26), None);
        // A long season whose last occurrence has not ended: cut to yesterday.
        let long = Season::parse("04-01..02-28").unwrap();
        let f = forewarning_due(long, d("2027-02-10"), 8).unwrap();
        assert_eq!(f.season_starts, d("2027-04-01"));
        assert_eq!(f.last_from, d("2026-04-01"));
        assert_eq!(f.last_to, d("2027-02-09"));
        // A season starting on 29 February, in a common year and a leap year.
        let leap = Season::parse("02-29..03-31").unwrap();
        let f = forewarning_due(leap, d("2028-02-01"), 6).unwrap();
        assert_eq!(f.season_starts, d("2028-02-29"));
        assert_eq!((f.last_from, f.last_to), (d("2027-02-28"), d("2027-03-31")));
        let f = forewarning_due(leap, d("2027-02-01"), 6).unwrap();
        assert_eq!(f.season_starts, d("2027-02-28"));
        assert_eq!((f.last_from, f.last_to), (d("2026-02-28"), d("2026-03-31")));
    }

    #[test]
    fn a_file_without_the_season_column_reads_and_a_bad_season_is_a_line_error() {
        let old = "code,parent_code,name_zh,name_en,time_class,grid_class,department,merge_radius_m,merge_window_hours,merge_same_building\n\
            07,,供暖,heating,24h,event,城管委,0,168,true\n\
            0701,07,供暖不热,heating not warm,24h,event,城管委,0,168,true\n";
        let topics = parse_csv(old).unwrap();
        assert!(topics.iter().all(|t| t.season.is_none()));
        // The old header takes no season column.
        let extra = format!(
            "{old}0702,07,供暖漏水,heating leak,24h,event,城管委,0,168,true,11-15..03-15\n"
        );
        assert_eq!(parse_csv(&extra).unwrap_err()[0].line, 4);
        let new = format!(
            "{}\n07,,供暖,heating,24h,event,城管委,0,168,true,\n\
             0701,07,供暖不热,heating not warm,24h,event,城管委,0,168,true,11-15..02-30\n\
             0702,07,供暖漏水,heating leak,24h,event,城管委,0,168,true,11-15..03-15\n\
             0703,07,停暖,no heating,24h,event,城管委,0,168,true\n",
            CSV_HEADER.join(",")
        );
        let errors = parse_csv(&new).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, 3);
        assert!(errors[0].message.contains("season"), "{errors:?}");
        let fixed = new.replace("02-30", "03-15");
        let topics = parse_csv(&fixed).unwrap();
        assert_eq!(
            topics[1].season.map(|s| s.to_string()).as_deref(),
            Some("11-15..03-15")
        );
        assert_eq!(topics[3].season, None);
        assert_eq!(parse_csv(&to_csv(&topics)).unwrap(), topics);
    }

    #[test]
    fn topic_codes_parse_strictly() {
        assert!(TopicCode::parse("0101").is_some());
        assert!(TopicCode::parse("01").unwrap().is_class());
        for bad in ["1", "001", "01a1", "00", "010101", ""] {
            assert!(TopicCode::parse(bad).is_none(), "{bad}");
        }
        assert!(
            !MergeRule {
                radius_m: 0,
                window_hours: 168,
                same_building: false
            }
            .merges()
        );
    }
}

/// The most topic codes one filter (a heat map, a tile, a scan) names.
pub const MAX_FILTER_TOPICS: usize = 50;

/// Why a topic filter is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopicFilterError {
    /// More than [`MAX_FILTER_TOPICS`] codes.
    #[error("name at most {MAX_FILTER_TOPICS} topics")]
    TooMany,
    /// A value that is no class or topic of the taxonomy.
    #[error(
        "topic {0:?} is no first-level (2-digit) or second-level (4-digit) code of the taxonomy (GET /api/v1/topics)"
    )]
    Unknown(String),
    /// A topic outside the reader's own topics.
    #[error("topic {0} is outside the topics you answer for")]
    NotYours(String),
}

/// Checks the topic codes of a filter (repeatable, each possibly comma-separated) against the taxonomy's codes
/// `known` and the reader's own topics `mine` (`None`: all topics); duplicates are kept once. No code given means
/// the reader's own topics (a department handler's numbers are those of their topics), or all (empty).
pub fn filter_topics(
    values: &[String],
    known: &[String],
    mine: Option<&[String]>,
) -> Result<Vec<String>, TopicFilterError> {
    let mut out: Vec<String> = Vec::new();
    for v in values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        if out.len() >= MAX_FILTER_TOPICS {
            return Err(TopicFilterError::TooMany);
        }
        let first_level = v.len() == 2 && known.iter().any(|k| k.starts_with(v));
        if !(first_level || (v.len() == 4 && known.iter().any(|k| k == v))) {
            return Err(TopicFilterError::Unknown(v.chars().take(40).collect()));
        }
        if let Some(mine) = mine
            && !mine.iter().any(|m| v.starts_with(m.as_str()))
        {
            return Err(TopicFilterError::NotYours(v.to_owned()));
        }
        if !out.iter().any(|o| o == v) {
            out.push(v.to_owned());
        }
    }
    if out.is_empty()
        && let Some(mine) = mine
    {
        out = mine.to_vec();
    }
    Ok(out)
}

#[cfg(test)]
mod filter_tests {
    use super::*;

    fn v(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn a_filter_takes_classes_and_topics_of_the_taxonomy_once_each() {
        let known = v(&["0101", "0102", "0201"]);
        assert_eq!(
            filter_topics(&v(&["01,0201", "01"]), &known, None),
            Ok(v(&["01", "0201"]))
        );
        assert_eq!(
            filter_topics(&v(&["03"]), &known, None),
            Err(TopicFilterError::Unknown("03".into()))
        );
        assert_eq!(
            filter_topics(&v(&["0103"]), &known, None),
            Err(TopicFilterError::Unknown("0103".into()))
        );
        let many: Vec<String> = (0..51).map(|_| "0101".to_owned()).collect();
        assert_eq!(filter_topics(&many, &known, None), Ok(v(&["0101"])));
        let distinct = vec!["0101,0102,0201".to_owned(); 1];
        assert_eq!(
            filter_topics(&distinct, &known, None).map(|t| t.len()),
            Ok(3)
        );
        let wide: Vec<String> = (1..=60).map(|i| format!("01{i:02}")).collect();
        assert_eq!(
            filter_topics(&wide[..50], &wide, None).map(|t| t.len()),
            Ok(50)
        );
        assert_eq!(
            filter_topics(&wide[..51], &wide, None),
            Err(TopicFilterError::TooMany)
        );
    }

    #[test]
    fn a_department_handler_filters_within_their_topics_and_defaults_to_them() {
        let known = v(&["0101", "0102", "0201"]);
        let mine = v(&["01"]);
        assert_eq!(filter_topics(&[], &known, Some(&mine)), Ok(mine.clone()));
        assert_eq!(
            filter_topics(&v(&["0102"]), &known, Some(&mine)),
            Ok(v(&["0102"]))
        );
        assert_eq!(
            filter_topics(&v(&["0201"]), &known, Some(&mine)),
            Err(TopicFilterError::NotYours("0201".into()))
        );
    }
}
