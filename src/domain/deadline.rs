//! Clocks of dispatched work, as policy data: the response and completion deadlines of each time class, the
//! escalation ladder (催办 remind, 督办 supervise, 查办 investigate), the whistle report-in window, when returns
//! count as buck-passing, which topics are dispatched to a department as well (双派) and how many evidence photos
//! the closing steps need. Pure: no I/O.
//!
//! The ladder counts from the start of the handling cycle (the first dispatch; after a reopen, the reopen) plus the
//! extensions granted in that cycle ("两天催办、三天督办、四天查办" of the Airport street practice: unreplied work is
//! reminded two days after dispatch, supervised at three, investigated at four); shorter classes have shorter
//! ladders. Extensions (延期) are bounded per class in number and total length, and one longer than a threshold waits
//! for the district command centre's approval. Every number can be overridden from the `policy` table.

use crate::domain::topic::TimeClass;
use chrono::{Duration, NaiveDateTime};

/// One rung of the escalation ladder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rung {
    /// Its name (`remind`, `supervise`, `investigate`).
    pub name: String,
    /// How long after dispatch (plus extensions) it falls due.
    pub after: Duration,
}

/// The clocks of one time class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassClock {
    /// Accept (签收, contact the caller) within this.
    pub respond: Duration,
    /// Reply within this.
    pub complete: Duration,
    /// The escalation ladder, earliest rung first.
    pub ladder: Vec<Rung>,
    /// The bounds of extensions (延期) in one handling cycle.
    pub extensions: ExtensionLimits,
}

/// How far work of one class may be extended in one handling cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionLimits {
    /// Extensions granted at most (`work.<class>.extensions`; 0: the class is never extended).
    pub count: u32,
    /// Days granted at most, all extensions together (`work.<class>.extension_days`).
    pub total_days: u32,
    /// An extension longer than this many days waits for a dispatcher's approval
    /// (`work.<class>.extension_approval_days`; 0: every extension does).
    pub approval_above_days: u32,
}

/// What becomes of an extension a handler asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionOutcome {
    /// Granted at once (within the threshold).
    Granted,
    /// Within the bounds but above the threshold: it waits for a dispatcher's approval.
    NeedsApproval,
}

/// Why an extension cannot be granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtensionRefusal {
    /// The class allows no more extensions in this cycle.
    TooMany {
        /// The class's bound.
        limit: u32,
    },
    /// The days would pass the class's total.
    TooLong {
        /// The class's total.
        limit: u32,
        /// Days already granted in this cycle.
        granted: u32,
    },
}

impl std::fmt::Display for ExtensionRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExtensionRefusal::TooMany { limit: 0 } => {
                write!(f, "work of this time class is not extended")
            }
            ExtensionRefusal::TooMany { limit } => write!(
                f,
                "this work already had the {limit} extension(s) its time class allows in one handling cycle"
            ),
            ExtensionRefusal::TooLong { limit, granted } => write!(
                f,
                "its time class allows {limit} days of extension in one handling cycle; {granted} are granted, \
                 so at most {} more",
                limit.saturating_sub(*granted)
            ),
        }
    }
}

impl ExtensionLimits {
    /// Decides an extension of `days` for work that had `granted_count` extensions of `granted_days` days in this
    /// cycle.
    pub fn decide(
        &self,
        granted_count: u32,
        granted_days: u32,
        days: u32,
    ) -> Result<ExtensionOutcome, ExtensionRefusal> {
        if granted_count >= self.count {
            return Err(ExtensionRefusal::TooMany { limit: self.count });
        }
        if granted_days.saturating_add(days) > self.total_days {
            return Err(ExtensionRefusal::TooLong {
                limit: self.total_days,
                granted: granted_days,
            });
        }
        Ok(if days > self.approval_above_days {
            ExtensionOutcome::NeedsApproval
        } else {
            ExtensionOutcome::Granted
        })
    }
}

/// The work policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkPolicy {
    /// Clocks of 2h, 24h, 7d, 15d (in `TimeClass::ALL` order).
    pub classes: [ClassClock; 4],
    /// Departments must report in this long after a whistle (吹哨报到: 30 minutes).
    pub whistle_report: Duration,
    /// A case returned this many times is flagged as buck-passing.
    pub buck_passing_returns: u32,
    /// Whether the scheduler dispatches placed cases by itself.
    pub auto_dispatch: bool,
    /// Topic codes or prefixes dispatched to the catalogue's department as well as to the street (双派).
    pub dual_dispatch_topics: Vec<String>,
    /// Evidence photos the closing steps need at least.
    pub evidence: EvidenceMinimum,
    /// A scheduler pass crosses at most this many rungs; the rest stay due for the next pass and are reported
    /// (`work.escalation.max_per_pass`).
    pub max_escalations_per_pass: u32,
}

/// How many evidence photos each closing step needs at least (0: photos are optional; a reply without them counts
/// as missing evidence in the assessment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvidenceMinimum {
    /// 反馈: the handler's reply (`work.evidence.reply`, default 1: the result on site).
    pub reply: u32,
    /// 随手做: a grid member's fix on the spot (`work.evidence.self_resolve`, default 2: before and after).
    pub self_resolve: u32,
    /// 核查结案: the check on site (`work.evidence.verify`, default 1).
    pub verify: u32,
}

/// The most evidence photos a policy may ask of one step.
pub const MAX_EVIDENCE_MINIMUM: u32 = 20;

fn ladder(hours: [i64; 3]) -> Vec<Rung> {
    ["remind", "supervise", "investigate"]
        .into_iter()
        .zip(hours)
        .map(|(name, h)| Rung {
            name: name.to_owned(),
            after: Duration::minutes(h * 60),
        })
        .collect()
}

impl Default for WorkPolicy {
    fn default() -> Self {
        let clock =
            |respond_min: i64, class: TimeClass, rungs: [i64; 3], ext: [u32; 3]| ClassClock {
                respond: Duration::minutes(respond_min),
                complete: Duration::hours(i64::from(class.hours())),
                ladder: ladder(rungs),
                extensions: ExtensionLimits {
                    count: ext[0],
                    total_days: ext[1],
                    approval_above_days: ext[2],
                },
            };
        // Extensions: emergencies are escalated, never extended; utilities once by up to 3 days (2 without
        // approval); general work once by up to 7 days (3 without approval); complex work twice, 30 days in all
        // (7 at a time without approval). The district centre reviews the longer ones (Beijing: 延期申请由区
        // 接诉即办调度指挥中心审核).
        WorkPolicy {
            classes: [
                clock(30, TimeClass::Hours2, [1, 2, 4], [0, 0, 0]),
                clock(120, TimeClass::Hours24, [12, 24, 48], [1, 3, 2]),
                clock(24 * 60, TimeClass::Days7, [48, 72, 96], [1, 7, 3]),
                clock(24 * 60, TimeClass::Days15, [48, 72, 96], [2, 30, 7]),
            ],
            whistle_report: Duration::minutes(30),
            buck_passing_returns: 2,
            auto_dispatch: true,
            dual_dispatch_topics: ["03", "05", "07", "12"].map(String::from).to_vec(),
            evidence: EvidenceMinimum {
                reply: 1,
                self_resolve: 2,
                verify: 1,
            },
            max_escalations_per_pass: 500,
        }
    }
}

/// The most escalations a policy may let one scheduler pass cross.
pub const MAX_ESCALATIONS_PER_PASS: u32 = 100_000;

fn class_index(class: TimeClass) -> usize {
    TimeClass::ALL.iter().position(|c| *c == class).unwrap_or(2)
}

/// Why a policy value was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy {key}: {message}")]
pub struct PolicyError {
    /// The key.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

fn minutes(key: &str, value: &str) -> Result<Duration, PolicyError> {
    match value.trim().parse::<i64>() {
        Ok(n) if (1..=60 * 24 * 365).contains(&n) => Ok(Duration::minutes(n)),
        _ => Err(PolicyError {
            key: key.to_owned(),
            message: format!("{value:?} is not a number of minutes from 1 to 525600"),
        }),
    }
}

fn count(key: &str, value: &str, range: std::ops::RangeInclusive<u32>) -> Result<u32, PolicyError> {
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| PolicyError {
            key: key.to_owned(),
            message: format!(
                "{value:?} is not a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        })
}

impl WorkPolicy {
    /// The clocks of a class.
    pub fn class(&self, class: TimeClass) -> &ClassClock {
        &self.classes[class_index(class)]
    }

    /// Applies one stored policy value. Keys: `work.<class>.respond_minutes`, `work.<class>.complete_minutes`,
    /// `work.<class>.ladder` (`remind:2880,supervise:4320,investigate:5760`: rung names with minutes after
    /// dispatch, ascending), `work.whistle_report_minutes`, `work.buck_passing_returns`, `work.auto_dispatch`
    /// (`true`/`false`), `work.dual_dispatch_topics` (comma-separated codes or prefixes),
    /// `work.evidence.reply|self_resolve|verify` (photos at least, 0 to [`MAX_EVIDENCE_MINIMUM`]),
    /// `work.<class>.extensions` (0 to 10), `work.<class>.extension_days` and
    /// `work.<class>.extension_approval_days` (0 to 365), `work.escalation.max_per_pass` (1 to
    /// [`MAX_ESCALATIONS_PER_PASS`]). Other keys are not ours: `Ok(false)`.
    pub fn apply(&mut self, key: &str, value: &str) -> Result<bool, PolicyError> {
        let bad = |message: String| PolicyError {
            key: key.to_owned(),
            message,
        };
        let Some(rest) = key.strip_prefix("work.") else {
            return Ok(false);
        };
        match rest {
            "whistle_report_minutes" => self.whistle_report = minutes(key, value)?,
            "buck_passing_returns" => {
                self.buck_passing_returns = value
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or_else(|| bad(format!("{value:?} is not a count from 1 to 100")))?;
            }
            "auto_dispatch" => {
                self.auto_dispatch = match value.trim() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(bad(format!("{value:?} is not true or false"))),
                }
            }
            "dual_dispatch_topics" => {
                let topics: Vec<String> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                if let Some(t) = topics
                    .iter()
                    .find(|t| t.len() > 4 || !t.bytes().all(|b| b.is_ascii_digit()))
                {
                    return Err(bad(format!("{t:?} is not a topic code")));
                }
                self.dual_dispatch_topics = topics;
            }
            "evidence.reply" | "evidence.self_resolve" | "evidence.verify" => {
                let n = value
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n <= MAX_EVIDENCE_MINIMUM)
                    .ok_or_else(|| {
                        bad(format!(
                            "{value:?} is not a number of photos from 0 to {MAX_EVIDENCE_MINIMUM}"
                        ))
                    })?;
                match rest {
                    "evidence.reply" => self.evidence.reply = n,
                    "evidence.self_resolve" => self.evidence.self_resolve = n,
                    _ => self.evidence.verify = n,
                }
            }
            "escalation.max_per_pass" => {
                self.max_escalations_per_pass = count(key, value, 1..=MAX_ESCALATIONS_PER_PASS)?;
            }
            _ => {
                let Some((class, field)) = rest.split_once('.') else {
                    return Ok(false);
                };
                let Some(class) = TimeClass::parse(class) else {
                    return Ok(false);
                };
                let clock = &mut self.classes[class_index(class)];
                match field {
                    "respond_minutes" => clock.respond = minutes(key, value)?,
                    "complete_minutes" => clock.complete = minutes(key, value)?,
                    "ladder" => clock.ladder = parse_ladder(key, value)?,
                    "extensions" => clock.extensions.count = count(key, value, 0..=10)?,
                    "extension_days" => clock.extensions.total_days = count(key, value, 0..=365)?,
                    "extension_approval_days" => {
                        clock.extensions.approval_above_days = count(key, value, 0..=365)?
                    }
                    _ => return Ok(false),
                }
            }
        }
        Ok(true)
    }

    /// Every key [`WorkPolicy::apply`] takes, with this policy's value as text it takes back.
    pub fn settings(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for class in TimeClass::ALL {
            let c = self.class(class);
            let name = class.as_str();
            out.push((
                format!("work.{name}.respond_minutes"),
                c.respond.num_minutes().to_string(),
            ));
            out.push((
                format!("work.{name}.complete_minutes"),
                c.complete.num_minutes().to_string(),
            ));
            let ladder: Vec<String> = c
                .ladder
                .iter()
                .map(|r| format!("{}:{}", r.name, r.after.num_minutes()))
                .collect();
            out.push((format!("work.{name}.ladder"), ladder.join(",")));
            let x = c.extensions;
            out.push((format!("work.{name}.extensions"), x.count.to_string()));
            out.push((
                format!("work.{name}.extension_days"),
                x.total_days.to_string(),
            ));
            out.push((
                format!("work.{name}.extension_approval_days"),
                x.approval_above_days.to_string(),
            ));
        }
        let e = self.evidence;
        out.extend(
            [
                (
                    "whistle_report_minutes",
                    self.whistle_report.num_minutes().to_string(),
                ),
                (
                    "buck_passing_returns",
                    self.buck_passing_returns.to_string(),
                ),
                ("auto_dispatch", self.auto_dispatch.to_string()),
                ("dual_dispatch_topics", self.dual_dispatch_topics.join(",")),
                ("evidence.reply", e.reply.to_string()),
                ("evidence.self_resolve", e.self_resolve.to_string()),
                ("evidence.verify", e.verify.to_string()),
                (
                    "escalation.max_per_pass",
                    self.max_escalations_per_pass.to_string(),
                ),
            ]
            .map(|(k, v)| (format!("work.{k}"), v)),
        );
        out
    }

    /// Whether a topic is dispatched to its department as well.
    pub fn dual(&self, topic: &str) -> bool {
        self.dual_dispatch_topics
            .iter()
            .any(|t| topic.starts_with(t.as_str()))
    }
}

fn parse_ladder(key: &str, value: &str) -> Result<Vec<Rung>, PolicyError> {
    let mut out: Vec<Rung> = Vec::new();
    for part in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((name, m)) = part.split_once(':') else {
            return Err(PolicyError {
                key: key.to_owned(),
                message: format!("{part:?} is not name:minutes"),
            });
        };
        let after = minutes(key, m)?;
        if out.last().is_some_and(|r| r.after >= after) {
            return Err(PolicyError {
                key: key.to_owned(),
                message: "rungs must fall due later and later".into(),
            });
        }
        out.push(Rung {
            name: name.trim().to_owned(),
            after,
        });
    }
    if out.is_empty() || out.len() > 10 {
        return Err(PolicyError {
            key: key.to_owned(),
            message: "give from 1 to 10 rungs".into(),
        });
    }
    Ok(out)
}

/// The deadlines of work dispatched at `dispatched_at` with `extension_days` granted: (respond by, reply by).
pub fn deadlines(
    policy: &WorkPolicy,
    class: TimeClass,
    dispatched_at: NaiveDateTime,
    extension_days: i32,
) -> (NaiveDateTime, NaiveDateTime) {
    let c = policy.class(class);
    (
        dispatched_at + c.respond,
        dispatched_at + c.complete + Duration::days(i64::from(extension_days)),
    )
}

/// The next rung after `crossed` rungs of a handling cycle that started at `cycle_started_at` (the first dispatch,
/// or the latest reopen) with `extension_days` granted in it: (its number from 1, the rung, when it falls due), or
/// `None` at the top. Rungs of earlier cycles do not count: a reopened case climbs from the bottom again.
pub fn next_rung(
    policy: &WorkPolicy,
    class: TimeClass,
    cycle_started_at: NaiveDateTime,
    extension_days: i32,
    crossed: i32,
) -> Option<(i32, &Rung, NaiveDateTime)> {
    let ladder = &policy.class(class).ladder;
    let i = usize::try_from(crossed).ok()?;
    let rung = ladder.get(i)?;
    Some((
        crossed + 1,
        rung,
        cycle_started_at + Duration::days(i64::from(extension_days)) + rung.after,
    ))
}

/// Whether something due at `due` and done at `done` (or not yet, at `now`) is late.
pub fn late(due: NaiveDateTime, done: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
    done.unwrap_or(now) > due
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn deadlines_follow_the_time_class_and_extensions() {
        let p = WorkPolicy::default();
        let at = t("2026-03-01 08:00");
        assert_eq!(
            deadlines(&p, TimeClass::Hours2, at, 0),
            (t("2026-03-01 08:30"), t("2026-03-01 10:00"))
        );
        assert_eq!(
            deadlines(&p, TimeClass::Hours24, at, 0),
            (t("2026-03-01 10:00"), t("2026-03-02 08:00"))
        );
        assert_eq!(
            deadlines(&p, TimeClass::Days7, at, 3),
            (t("2026-03-02 08:00"), t("2026-03-11 08:00"))
        );
        assert_eq!(
            deadlines(&p, TimeClass::Days15, at, 0).1,
            t("2026-03-16 08:00")
        );
    }

    #[test]
    fn the_ladder_is_two_three_four_days_for_general_work() {
        let p = WorkPolicy::default();
        let at = t("2026-03-01 08:00");
        let names: Vec<(i32, String, NaiveDateTime)> = (0..4)
            .filter_map(|k| next_rung(&p, TimeClass::Days7, at, 0, k))
            .map(|(n, r, due)| (n, r.name.clone(), due))
            .collect();
        assert_eq!(
            names,
            vec![
                (1, "remind".into(), t("2026-03-03 08:00")),
                (2, "supervise".into(), t("2026-03-04 08:00")),
                (3, "investigate".into(), t("2026-03-05 08:00")),
            ]
        );
        // An extension moves the ladder with the deadline.
        assert_eq!(
            next_rung(&p, TimeClass::Days7, at, 2, 0).map(|x| x.2),
            Some(t("2026-03-05 08:00"))
        );
        assert!(next_rung(&p, TimeClass::Hours2, at, 0, 3).is_none());
        assert!(next_rung(&p, TimeClass::Hours2, at, 0, -1).is_none());
    }

    #[test]
    fn policy_values_override_and_bad_ones_are_refused() {
        let mut p = WorkPolicy::default();
        assert_eq!(p.apply("work.7d.respond_minutes", "60"), Ok(true));
        assert_eq!(p.class(TimeClass::Days7).respond, Duration::minutes(60));
        assert_eq!(
            p.apply("work.2h.ladder", "remind:30, investigate:90"),
            Ok(true)
        );
        assert_eq!(p.class(TimeClass::Hours2).ladder.len(), 2);
        assert_eq!(p.apply("work.whistle_report_minutes", "45"), Ok(true));
        assert_eq!(p.whistle_report, Duration::minutes(45));
        assert_eq!(p.apply("work.auto_dispatch", "false"), Ok(true));
        assert!(!p.auto_dispatch);
        assert_eq!(p.apply("work.dual_dispatch_topics", "07,0301"), Ok(true));
        assert!(p.dual("0701") && p.dual("0301") && !p.dual("0302"));
        assert_eq!(p.evidence.self_resolve, 2);
        assert_eq!(p.apply("work.evidence.self_resolve", "1"), Ok(true));
        assert_eq!(p.apply("work.evidence.reply", "0"), Ok(true));
        assert_eq!(
            (p.evidence.reply, p.evidence.self_resolve, p.evidence.verify),
            (0, 1, 1)
        );
        assert_eq!(p.apply("work.evidence.close", "1"), Ok(false));
        assert_eq!(p.apply("group_min_callers", "3"), Ok(false));
        assert_eq!(p.apply("work.9d.respond_minutes", "3"), Ok(false));
        let before = p.clone();
        for (k, v) in [
            ("work.7d.respond_minutes", "0"),
            ("work.7d.complete_minutes", "soon"),
            ("work.7d.ladder", "remind:100,supervise:50"),
            ("work.7d.ladder", "remind"),
            ("work.7d.ladder", ""),
            ("work.buck_passing_returns", "0"),
            ("work.auto_dispatch", "yes"),
            ("work.dual_dispatch_topics", "07,heat"),
            ("work.evidence.verify", "21"),
            ("work.evidence.reply", "-1"),
        ] {
            assert!(p.clone().apply(k, v).is_err(), "{k}={v}");
        }
        assert_eq!(p, before);
    }

    #[test]
    fn extensions_are_bounded_by_class_and_long_ones_wait_for_approval() {
        let p = WorkPolicy::default();
        let general = p.class(TimeClass::Days7).extensions;
        assert_eq!(general.decide(0, 0, 3), Ok(ExtensionOutcome::Granted));
        assert_eq!(general.decide(0, 0, 5), Ok(ExtensionOutcome::NeedsApproval));
        // A second extension of general work, however short, is refused; so is one past the total.
        assert_eq!(
            general.decide(1, 3, 1),
            Err(ExtensionRefusal::TooMany { limit: 1 })
        );
        assert_eq!(
            general.decide(0, 0, 30),
            Err(ExtensionRefusal::TooLong {
                limit: 7,
                granted: 0
            })
        );
        // Complex work twice, 30 days in all; emergencies never.
        let complex = p.class(TimeClass::Days15).extensions;
        assert_eq!(complex.decide(1, 7, 7), Ok(ExtensionOutcome::Granted));
        assert!(complex.decide(1, 25, 7).is_err());
        assert!(complex.decide(2, 14, 1).is_err());
        let urgent = p.class(TimeClass::Hours2).extensions;
        assert!(urgent.decide(0, 0, 1).is_err());
        let mut q = p.clone();
        assert_eq!(q.apply("work.7d.extensions", "2"), Ok(true));
        assert_eq!(q.apply("work.7d.extension_days", "10"), Ok(true));
        assert_eq!(q.apply("work.7d.extension_approval_days", "0"), Ok(true));
        assert_eq!(
            q.class(TimeClass::Days7).extensions.decide(1, 3, 1),
            Ok(ExtensionOutcome::NeedsApproval)
        );
        assert_eq!(q.apply("work.escalation.max_per_pass", "20"), Ok(true));
        assert_eq!(q.max_escalations_per_pass, 20);
        for (k, v) in [
            ("work.7d.extensions", "11"),
            ("work.7d.extension_days", "-1"),
            ("work.7d.extension_approval_days", "366"),
            ("work.escalation.max_per_pass", "0"),
            ("work.escalation.max_per_pass", "many"),
        ] {
            assert!(q.clone().apply(k, v).is_err(), "{k}={v}");
        }
    }

    #[test]
    fn a_new_cycle_climbs_the_ladder_from_its_own_start() {
        let p = WorkPolicy::default();
        let reopened = t("2026-03-20 08:00");
        assert_eq!(
            next_rung(&p, TimeClass::Days7, reopened, 0, 0).map(|x| x.2),
            Some(t("2026-03-22 08:00"))
        );
    }

    #[test]
    fn late_compares_done_or_now_with_due() {
        let due = t("2026-03-01 08:30");
        assert!(!late(
            due,
            Some(t("2026-03-01 08:30")),
            t("2026-03-09 00:00")
        ));
        assert!(late(
            due,
            Some(t("2026-03-01 08:31")),
            t("2026-03-01 08:00")
        ));
        assert!(!late(due, None, t("2026-03-01 08:00")));
        assert!(late(due, None, t("2026-03-01 09:00")));
    }
}
