//! The monthly assessment (一份卷子): response, resolution and satisfaction rates, the composite score that ranks
//! them, and the points scheme — pure functions over counted tickets, every number policy data.
//!
//! What counts, per ticket (a case with three tickets counts three times, each with its own callback):
//! - a ticket belongs to the month (Beijing time, UTC+8) in which its case was first dispatched
//!   (`case_work.dispatched_at`), whatever happens to it later; a dual-dispatched ticket (双派) counts for the street
//!   and for each department it went to (一单多考);
//! - **响应率** response rate = tickets whose case was accepted (签收) at or before its response deadline
//!   ÷ tickets dispatched in the month;
//! - **解决率** resolution rate = (resolved `yes` + `partly` × `partly_weight`) ÷ tickets whose latest callback
//!   reached the caller;
//! - **满意率** satisfaction rate = (`satisfied` + `basically_satisfied` × `basic_weight`) ÷ the same tickets;
//! - **score** = response × `response_weight` + resolution × `resolution_weight` + satisfaction ×
//!   `satisfaction_weight` (0–100 with the default weights 10/45/45), for rankings;
//! - **points** per reached ticket: `both` (+1) when resolved (`yes`) and satisfied (`satisfied` or
//!   `basically_satisfied`), `one_missing` (−0.5, 单否) when exactly one of the two is missing, `both_missing`
//!   (−1, 双否) when neither; plus `no_evidence` (−0.5) when the case's reply came without evidence photos. A ticket
//!   whose caller was not reached (or not yet called back) scores 0 points, evidence or not: nobody has judged it.
//!
//! A rate whose denominator is zero is `None`, never 0 or NaN; a score needs all three rates.

use std::cmp::Ordering;

/// Weights and points of the assessment. Defaults are the practice described in DESIGN.md; every one can be
/// overridden by a `policy` row whose key is `assessment.` + the field name (see [`AssessmentPolicy::set`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AssessmentPolicy {
    /// Weight of the response rate in the score (default 10).
    pub response_weight: f64,
    /// Weight of the resolution rate in the score (default 45).
    pub resolution_weight: f64,
    /// Weight of the satisfaction rate in the score (default 45).
    pub satisfaction_weight: f64,
    /// How much a partly resolved ticket counts towards the resolution rate (default 0.5).
    pub partly_weight: f64,
    /// How much a basically satisfied caller counts towards the satisfaction rate (default 0.8).
    pub basic_weight: f64,
    /// Points for a ticket resolved and satisfied (default +1).
    pub points_both: f64,
    /// Points when exactly one of resolved and satisfied is missing, 单否 (default −0.5).
    pub points_one_missing: f64,
    /// Points when both are missing, 双否 (default −1).
    pub points_both_missing: f64,
    /// Points added when the reply had no evidence photos (default −0.5).
    pub points_no_evidence: f64,
}

impl Default for AssessmentPolicy {
    fn default() -> Self {
        AssessmentPolicy {
            response_weight: 10.0,
            resolution_weight: 45.0,
            satisfaction_weight: 45.0,
            partly_weight: 0.5,
            basic_weight: 0.8,
            points_both: 1.0,
            points_one_missing: -0.5,
            points_both_missing: -1.0,
            points_no_evidence: -0.5,
        }
    }
}

/// The prefix of the assessment's keys in the `policy` table.
pub const POLICY_PREFIX: &str = "assessment.";

impl AssessmentPolicy {
    /// Applies one stored policy value (`key` without the prefix). Returns why it was refused, if it was: an
    /// unknown key, a value that is not a finite number, a negative weight, or a partial weight outside 0–1.
    /// Every key [`AssessmentPolicy::set`] takes (with [`POLICY_PREFIX`]), with this policy's value as text.
    pub fn settings(&self) -> Vec<(String, String)> {
        [
            ("response_weight", self.response_weight),
            ("resolution_weight", self.resolution_weight),
            ("satisfaction_weight", self.satisfaction_weight),
            ("partly_weight", self.partly_weight),
            ("basic_weight", self.basic_weight),
            ("points_both", self.points_both),
            ("points_one_missing", self.points_one_missing),
            ("points_both_missing", self.points_both_missing),
            ("points_no_evidence", self.points_no_evidence),
        ]
        .into_iter()
        .map(|(k, v)| (format!("{POLICY_PREFIX}{k}"), v.to_string()))
        .collect()
    }

    /// Sets one value by its key (without [`POLICY_PREFIX`]).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let x: f64 = value
            .trim()
            .parse()
            .ok()
            .filter(|x: &f64| x.is_finite())
            .ok_or_else(|| format!("{value:?} is not a number"))?;
        let weight = |x: f64| {
            if x >= 0.0 {
                Ok(x)
            } else {
                Err(format!("a weight cannot be negative ({x})"))
            }
        };
        let share = |x: f64| {
            if (0.0..=1.0).contains(&x) {
                Ok(x)
            } else {
                Err(format!("a share must be from 0 to 1 ({x})"))
            }
        };
        match key {
            "response_weight" => self.response_weight = weight(x)?,
            "resolution_weight" => self.resolution_weight = weight(x)?,
            "satisfaction_weight" => self.satisfaction_weight = weight(x)?,
            "partly_weight" => self.partly_weight = share(x)?,
            "basic_weight" => self.basic_weight = share(x)?,
            "points_both" => self.points_both = x,
            "points_one_missing" => self.points_one_missing = x,
            "points_both_missing" => self.points_both_missing = x,
            "points_no_evidence" => self.points_no_evidence = x,
            _ => return Err(format!("{POLICY_PREFIX}{key} is not an assessment setting")),
        }
        Ok(())
    }
}

/// A month of the assessment, in Beijing time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    /// Parses `YYYY-MM` (years 2000–2999).
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let (year, month): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
        ((2000..=2999).contains(&year) && (1..=12).contains(&month))
            .then_some(Month { year, month })
    }

    /// The month before.
    pub fn previous(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// The month after.
    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The same month a year before.
    pub fn year_before(self) -> Month {
        Month {
            year: self.year - 1,
            month: self.month,
        }
    }

    /// The month that holds `day`.
    pub fn of_day(day: chrono::NaiveDate) -> Month {
        use chrono::Datelike;
        Month {
            year: day.year(),
            month: day.month(),
        }
    }

    /// Its first day.
    pub fn first_day(self) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }

    /// Its last day.
    pub fn last_day(self) -> chrono::NaiveDate {
        self.next().first_day() - chrono::Duration::days(1)
    }

    /// Its first moment as a stored (UTC) time: midnight of the 1st in Beijing (UTC+8) is 16:00 UTC the day before.
    pub fn start_utc(self) -> chrono::NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(self.year, self.month, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or_default()
            - chrono::Duration::hours(8)
    }

    /// The first moment of the next month (exclusive end), UTC.
    pub fn end_utc(self) -> chrono::NaiveDateTime {
        self.next().start_utc()
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Whom the assessment ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// Street offices, by the street that handles the case (9-digit code).
    Street,
    /// Districts (6-digit code).
    District,
    /// Departments a case was dual-dispatched to (unit id), with their whistle report-ins.
    Department,
    /// Handlers: the user who accepted the case (user id).
    Handler,
}

impl Level {
    /// Every level.
    pub const ALL: [Level; 4] = [
        Level::Street,
        Level::District,
        Level::Department,
        Level::Handler,
    ];

    /// The name used in the API and the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Street => "street",
            Level::District => "district",
            Level::Department => "department",
            Level::Handler => "handler",
        }
    }

    /// Parses a level name.
    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// The latest callback of a ticket: whether the caller was reached and, if so, what they said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callback {
    /// Not called back yet, or the caller was not reached.
    NotReached,
    /// Reached.
    Reached {
        /// Resolved.
        resolved: Resolved,
        /// Satisfaction.
        satisfaction: Satisfaction,
    },
}

/// 解决: resolved `yes`, `partly` or `no`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// Resolved.
    Yes,
    /// Partly resolved.
    Partly,
    /// Not resolved (also a reached caller with no answer recorded).
    No,
}

/// 满意: `satisfied`, `basically_satisfied` or `dissatisfied`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Satisfaction {
    /// Satisfied.
    Satisfied,
    /// Basically satisfied.
    Basic,
    /// Dissatisfied (also a reached caller with no answer recorded).
    Dissatisfied,
}

impl Resolved {
    /// From the stored value (`yes`, `partly`, `no`; anything else is no).
    pub fn parse(s: Option<&str>) -> Resolved {
        match s {
            Some("yes") => Resolved::Yes,
            Some("partly") => Resolved::Partly,
            _ => Resolved::No,
        }
    }
}

impl Satisfaction {
    /// From the stored value (`satisfied`, `basically_satisfied`, `dissatisfied`; anything else is dissatisfied).
    pub fn parse(s: Option<&str>) -> Satisfaction {
        match s {
            Some("satisfied") => Satisfaction::Satisfied,
            Some("basically_satisfied") => Satisfaction::Basic,
            _ => Satisfaction::Dissatisfied,
        }
    }
}

/// What one ticket contributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketFacts {
    /// Its case was accepted by the response deadline.
    pub responded: bool,
    /// The latest callback.
    pub callback: Callback,
    /// The case's reply had no evidence photos.
    pub evidence_missing: bool,
}

/// The points of one ticket (see the module comment).
pub fn ticket_points(p: &AssessmentPolicy, t: &TicketFacts) -> f64 {
    let Callback::Reached {
        resolved,
        satisfaction,
    } = t.callback
    else {
        return 0.0;
    };
    let ok_resolved = resolved == Resolved::Yes;
    let ok_satisfied = satisfaction != Satisfaction::Dissatisfied;
    let base = match (ok_resolved, ok_satisfied) {
        (true, true) => p.points_both,
        (false, false) => p.points_both_missing,
        _ => p.points_one_missing,
    };
    base + if t.evidence_missing {
        p.points_no_evidence
    } else {
        0.0
    }
}

/// Tickets counted for one entity in one month: what the database sums up (one GROUP BY) and what the rates and
/// points are computed from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Tickets dispatched in the month.
    pub tickets: i64,
    /// Of those, accepted by the response deadline.
    pub responded: i64,
    /// Whose latest callback reached the caller.
    pub reached: i64,
    /// Reached and resolved.
    pub resolved: i64,
    /// Reached and partly resolved.
    pub partly: i64,
    /// Reached and not resolved.
    pub unresolved: i64,
    /// Reached and satisfied.
    pub satisfied: i64,
    /// Reached and basically satisfied.
    pub basic: i64,
    /// Reached and dissatisfied.
    pub dissatisfied: i64,
    /// Reached, resolved and satisfied (or basically): the tickets that earn `points_both`.
    pub both_ok: i64,
    /// Reached, neither resolved nor satisfied (双否).
    pub both_missing: i64,
    /// Reached and the reply had no evidence.
    pub no_evidence: i64,
}

impl Counts {
    /// Counts one ticket.
    pub fn add_ticket(&mut self, t: &TicketFacts) {
        self.tickets += 1;
        self.responded += i64::from(t.responded);
        if let Callback::Reached {
            resolved,
            satisfaction,
        } = t.callback
        {
            self.reached += 1;
            match resolved {
                Resolved::Yes => self.resolved += 1,
                Resolved::Partly => self.partly += 1,
                Resolved::No => self.unresolved += 1,
            }
            match satisfaction {
                Satisfaction::Satisfied => self.satisfied += 1,
                Satisfaction::Basic => self.basic += 1,
                Satisfaction::Dissatisfied => self.dissatisfied += 1,
            }
            let ok = (
                resolved == Resolved::Yes,
                satisfaction != Satisfaction::Dissatisfied,
            );
            self.both_ok += i64::from(ok == (true, true));
            self.both_missing += i64::from(ok == (false, false));
            self.no_evidence += i64::from(t.evidence_missing);
        }
    }

    /// The sum of two counts (e.g. one ticket set counted for two groups).
    pub fn plus(self, o: Counts) -> Counts {
        Counts {
            tickets: self.tickets + o.tickets,
            responded: self.responded + o.responded,
            reached: self.reached + o.reached,
            resolved: self.resolved + o.resolved,
            partly: self.partly + o.partly,
            unresolved: self.unresolved + o.unresolved,
            satisfied: self.satisfied + o.satisfied,
            basic: self.basic + o.basic,
            dissatisfied: self.dissatisfied + o.dissatisfied,
            both_ok: self.both_ok + o.both_ok,
            both_missing: self.both_missing + o.both_missing,
            no_evidence: self.no_evidence + o.no_evidence,
        }
    }

    /// Reached tickets where exactly one of resolved and satisfied is missing (单否).
    pub fn one_missing(&self) -> i64 {
        self.reached - self.both_ok - self.both_missing
    }
}

fn ratio(num: f64, den: i64) -> Option<f64> {
    (den > 0).then(|| num / den as f64)
}

/// The three rates and the score of an entity.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    /// 响应率.
    pub response: Option<f64>,
    /// 解决率.
    pub resolution: Option<f64>,
    /// 满意率.
    pub satisfaction: Option<f64>,
    /// The composite score; `None` unless all three rates are known.
    pub score: Option<f64>,
}

/// The rates and score of counted tickets.
pub fn rates(p: &AssessmentPolicy, c: &Counts) -> Rates {
    let response = ratio(c.responded as f64, c.tickets);
    let resolution = ratio(
        c.resolved as f64 + c.partly as f64 * p.partly_weight,
        c.reached,
    );
    let satisfaction = ratio(
        c.satisfied as f64 + c.basic as f64 * p.basic_weight,
        c.reached,
    );
    let score = match (response, resolution, satisfaction) {
        (Some(a), Some(b), Some(s)) => {
            Some(a * p.response_weight + b * p.resolution_weight + s * p.satisfaction_weight)
        }
        _ => None,
    };
    Rates {
        response,
        resolution,
        satisfaction,
        score,
    }
}

/// The points of counted tickets: the sum of [`ticket_points`] over them.
pub fn points(p: &AssessmentPolicy, c: &Counts) -> f64 {
    c.both_ok as f64 * p.points_both
        + c.one_missing() as f64 * p.points_one_missing
        + c.both_missing as f64 * p.points_both_missing
        + c.no_evidence as f64 * p.points_no_evidence
}

/// The change of a value from the previous month (`None` when either month has none).
pub fn change(now: Option<f64>, before: Option<f64>) -> Option<f64> {
    Some(now? - before?)
}

/// Ranks entities by score, highest first, ties by code (ascending); entities without a score come last, by code,
/// and get no rank. Returns, for each input in order, its rank (1-based).
pub fn ranks(entries: &[(&str, Option<f64>)]) -> Vec<Option<usize>> {
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by(|&a, &b| compare(entries[a], entries[b]));
    let mut out = vec![None; entries.len()];
    for (pos, &i) in order.iter().enumerate() {
        if entries[i].1.is_some() {
            out[i] = Some(pos + 1);
        }
    }
    out
}

/// The ranking order: scored before unscored, higher score first, then code.
pub fn compare(a: (&str, Option<f64>), b: (&str, Option<f64>)) -> Ordering {
    match (a.1, b.1) {
        (Some(x), Some(y)) => y.total_cmp(&x).then_with(|| a.0.cmp(b.0)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.0.cmp(b.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: AssessmentPolicy = AssessmentPolicy {
        response_weight: 10.0,
        resolution_weight: 45.0,
        satisfaction_weight: 45.0,
        partly_weight: 0.5,
        basic_weight: 0.8,
        points_both: 1.0,
        points_one_missing: -0.5,
        points_both_missing: -1.0,
        points_no_evidence: -0.5,
    };

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn reached(r: Resolved, s: Satisfaction) -> Callback {
        Callback::Reached {
            resolved: r,
            satisfaction: s,
        }
    }

    const RESOLVED: [Resolved; 3] = [Resolved::Yes, Resolved::Partly, Resolved::No];
    const SATISFACTION: [Satisfaction; 3] = [
        Satisfaction::Satisfied,
        Satisfaction::Basic,
        Satisfaction::Dissatisfied,
    ];

    #[test]
    fn the_defaults_are_the_documented_practice() {
        assert_eq!(AssessmentPolicy::default(), P);
    }

    #[test]
    fn every_callback_combination_earns_the_documented_points() {
        // (resolved, satisfaction) → points without and with missing evidence.
        let expected = |r: Resolved, s: Satisfaction| match (r, s) {
            (Resolved::Yes, Satisfaction::Satisfied | Satisfaction::Basic) => 1.0,
            (Resolved::Yes, Satisfaction::Dissatisfied) => -0.5,
            (Resolved::Partly | Resolved::No, Satisfaction::Satisfied | Satisfaction::Basic) => {
                -0.5
            }
            (Resolved::Partly | Resolved::No, Satisfaction::Dissatisfied) => -1.0,
        };
        for r in RESOLVED {
            for s in SATISFACTION {
                for responded in [true, false] {
                    let t = TicketFacts {
                        responded,
                        callback: reached(r, s),
                        evidence_missing: false,
                    };
                    assert!(close(ticket_points(&P, &t), expected(r, s)), "{r:?} {s:?}");
                    let t = TicketFacts {
                        evidence_missing: true,
                        ..t
                    };
                    assert!(
                        close(ticket_points(&P, &t), expected(r, s) - 0.5),
                        "{r:?} {s:?} without evidence"
                    );
                }
            }
        }
    }

    #[test]
    fn a_caller_not_reached_scores_nothing_even_without_evidence() {
        for evidence_missing in [false, true] {
            let t = TicketFacts {
                responded: true,
                callback: Callback::NotReached,
                evidence_missing,
            };
            assert_eq!(ticket_points(&P, &t), 0.0);
            let mut c = Counts::default();
            c.add_ticket(&t);
            assert_eq!(points(&P, &c), 0.0);
            assert_eq!((c.tickets, c.responded, c.reached), (1, 1, 0));
        }
    }

    /// All 9 combinations × evidence × response, plus two not reached: 38 tickets.
    fn every_kind_of_ticket() -> Vec<TicketFacts> {
        let mut v = Vec::new();
        for r in RESOLVED {
            for s in SATISFACTION {
                for evidence_missing in [false, true] {
                    for responded in [true, false] {
                        v.push(TicketFacts {
                            responded,
                            callback: reached(r, s),
                            evidence_missing,
                        });
                    }
                }
            }
        }
        for responded in [true, false] {
            v.push(TicketFacts {
                responded,
                callback: Callback::NotReached,
                evidence_missing: true,
            });
        }
        v
    }

    #[test]
    fn counted_points_equal_the_sum_of_ticket_points() {
        let tickets = every_kind_of_ticket();
        let mut c = Counts::default();
        for t in &tickets {
            c.add_ticket(t);
        }
        let by_ticket: f64 = tickets.iter().map(|t| ticket_points(&P, t)).sum();
        assert!(close(points(&P, &c), by_ticket));
        // 36 reached: both_ok = yes × {satisfied, basic} × 4 = 8; both_missing = {partly, no} × dissatisfied × 4 = 8.
        assert_eq!(c.tickets, 38);
        assert_eq!(c.reached, 36);
        assert_eq!(c.responded, 19);
        assert_eq!((c.both_ok, c.both_missing, c.one_missing()), (8, 8, 20));
        assert_eq!(c.no_evidence, 18);
        // 8 × 1 + 20 × −0.5 + 8 × −1 + 18 × −0.5 = 8 − 10 − 8 − 9
        assert!(close(by_ticket, -19.0));
    }

    #[test]
    fn rates_follow_the_formulas() {
        let c = Counts {
            tickets: 8,
            responded: 5,
            reached: 6,
            resolved: 3,
            partly: 1,
            unresolved: 2,
            satisfied: 3,
            basic: 2,
            dissatisfied: 1,
            both_ok: 3,
            both_missing: 1,
            no_evidence: 1,
        };
        let r = rates(&P, &c);
        assert!(close(r.response.unwrap(), 5.0 / 8.0));
        assert!(close(r.resolution.unwrap(), (3.0 + 0.5) / 6.0));
        assert!(close(r.satisfaction.unwrap(), (3.0 + 0.8 * 2.0) / 6.0));
        assert!(close(r.score.unwrap(), 6.25 + 26.25 + 34.5));
        // 3 × 1 + 2 × −0.5 + 1 × −1 + 1 × −0.5
        assert!(close(points(&P, &c), 0.5));
    }

    #[test]
    fn perfect_work_scores_the_sum_of_the_weights() {
        let mut c = Counts::default();
        for _ in 0..3 {
            c.add_ticket(&TicketFacts {
                responded: true,
                callback: reached(Resolved::Yes, Satisfaction::Satisfied),
                evidence_missing: false,
            });
        }
        let r = rates(&P, &c);
        assert_eq!(
            (r.response, r.resolution, r.satisfaction),
            (Some(1.0), Some(1.0), Some(1.0))
        );
        assert!(close(r.score.unwrap(), 100.0));
        assert!(close(points(&P, &c), 3.0));
    }

    #[test]
    fn a_zero_denominator_gives_no_rate_and_no_score_never_nan() {
        let r = rates(&P, &Counts::default());
        assert_eq!(r, Rates::default());
        let mut c = Counts::default();
        c.add_ticket(&TicketFacts {
            responded: true,
            callback: Callback::NotReached,
            evidence_missing: false,
        });
        let r = rates(&P, &c);
        assert_eq!(r.response, Some(1.0));
        assert_eq!((r.resolution, r.satisfaction, r.score), (None, None, None));
    }

    #[test]
    fn the_policy_changes_the_weights_and_refuses_nonsense() {
        let mut p = AssessmentPolicy::default();
        p.set("basic_weight", " 1 ").unwrap();
        p.set("response_weight", "20").unwrap();
        p.set("points_no_evidence", "-1").unwrap();
        assert_eq!(p.basic_weight, 1.0);
        assert_eq!(p.response_weight, 20.0);
        assert_eq!(p.points_no_evidence, -1.0);
        assert!(p.set("basic_weight", "1.5").is_err());
        assert!(p.set("partly_weight", "-0.1").is_err());
        assert!(p.set("resolution_weight", "-3").is_err());
        assert!(p.set("resolution_weight", "NaN").is_err());
        assert!(p.set("resolution_weight", "inf").is_err());
        assert!(p.set("satisfaction_weight", "lots").is_err());
        assert!(p.set("no_such_thing", "1").is_err());
        assert_eq!(p.resolution_weight, 45.0);
        let c = Counts {
            tickets: 1,
            responded: 1,
            reached: 1,
            basic: 1,
            resolved: 1,
            both_ok: 1,
            ..Counts::default()
        };
        let r = rates(&p, &c);
        assert_eq!(r.satisfaction, Some(1.0));
        assert!(close(r.score.unwrap(), 20.0 + 45.0 + 45.0));
    }

    #[test]
    fn months_are_beijing_months_in_utc() {
        let m = Month::parse("2026-11").unwrap();
        assert_eq!(m.to_string(), "2026-11");
        assert_eq!(m.start_utc().to_string(), "2026-10-31 16:00:00");
        assert_eq!(m.end_utc().to_string(), "2026-11-30 16:00:00");
        assert_eq!(m.previous().to_string(), "2026-10");
        let jan = Month::parse("2027-01").unwrap();
        assert_eq!(jan.previous().to_string(), "2026-12");
        assert_eq!(jan.previous().next(), jan);
        assert_eq!(jan.start_utc().to_string(), "2026-12-31 16:00:00");
        assert_eq!(jan.year_before().to_string(), "2026-01");
        let feb = Month::parse("2028-02").unwrap();
        assert_eq!(feb.first_day().to_string(), "2028-02-01");
        assert_eq!(feb.last_day().to_string(), "2028-02-29");
        assert_eq!(Month::of_day(feb.last_day()), feb);
        assert_eq!(m.last_day().to_string(), "2026-11-30");
        for bad in [
            "",
            "2026",
            "2026-13",
            "2026-00",
            "26-11",
            "2026-1",
            "2026/11",
            "2026-11-01",
            "１２３４-11",
            "+026-11",
            "1999-12",
            "2026-1a",
        ] {
            assert_eq!(Month::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn levels_parse_their_names_only() {
        for l in Level::ALL {
            assert_eq!(Level::parse(l.as_str()), Some(l));
        }
        assert_eq!(Level::parse("community"), None);
        assert_eq!(Level::parse("Street"), None);
    }

    #[test]
    fn ranks_go_by_score_then_code_and_unscored_entities_have_none() {
        let entries = [
            ("110105001", Some(60.0)),
            ("110101002", None),
            ("110101001", Some(70.0)),
            ("110105002", Some(60.0)),
            ("110101003", None),
        ];
        assert_eq!(ranks(&entries), vec![Some(2), None, Some(1), Some(3), None]);
        let mut sorted = entries.to_vec();
        sorted.sort_by(|a, b| compare(*a, *b));
        let codes: Vec<&str> = sorted.iter().map(|e| e.0).collect();
        assert_eq!(
            codes,
            [
                "110101001",
                "110105001",
                "110105002",
                "110101002",
                "110101003"
            ]
        );
    }

    #[test]
    fn changes_need_both_months() {
        assert!(close(change(Some(0.75), Some(0.5)).unwrap(), 0.25));
        assert_eq!(change(Some(0.75), None), None);
        assert_eq!(change(None, Some(0.5)), None);
    }

    #[test]
    fn stored_answers_parse_and_unknown_ones_count_against() {
        assert_eq!(Resolved::parse(Some("yes")), Resolved::Yes);
        assert_eq!(Resolved::parse(Some("partly")), Resolved::Partly);
        assert_eq!(Resolved::parse(Some("no")), Resolved::No);
        assert_eq!(Resolved::parse(None), Resolved::No);
        assert_eq!(
            Satisfaction::parse(Some("basically_satisfied")),
            Satisfaction::Basic
        );
        assert_eq!(
            Satisfaction::parse(Some("satisfied")),
            Satisfaction::Satisfied
        );
        assert_eq!(Satisfaction::parse(None), Satisfaction::Dissatisfied);
    }
}
