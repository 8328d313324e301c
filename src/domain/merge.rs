//! Merging (并单): whether a new ticket or report is about the same problem as an open case — same topic, near in
//! space and time by the topic's [`MergeRule`] — and, if several cases qualify, which one. Every decision carries
//! its reasons (distance, age, score) so it can be explained and undone. Also the group-request (群体性诉求) rule
//! and which times an item may carry (none in the future beyond a small clock skew, none before the policy's
//! floor).

use crate::domain::topic::MergeRule;
use crate::geo::crs::haversine_m;
use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::Serialize;

/// Policy numbers of intake (stored as data; these are the defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IntakePolicy {
    /// A case with tickets from at least this many different callers is a group request.
    pub group_min_callers: u32,
    /// The same caller on the same topic within this many days is a repeat request.
    pub repeat_window_days: u32,
    /// No item is received (or reported) before this day (`intake.received_at.floor`, default 2000-01-01).
    pub received_floor: NaiveDate,
    /// How far ahead of the server's clock an item's time may be (the sender's clock runs fast), in minutes
    /// (`intake.received_at.skew_minutes`, default 5).
    pub clock_skew_minutes: u32,
}

impl Default for IntakePolicy {
    fn default() -> Self {
        IntakePolicy {
            group_min_callers: 5,
            repeat_window_days: 30,
            received_floor: NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default(),
            clock_skew_minutes: 5,
        }
    }
}

/// Why an item's time is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeRefusal {
    /// Later than now plus the clock skew allowed.
    InFuture {
        /// The latest time accepted now.
        latest: NaiveDateTime,
    },
    /// Before the policy's floor.
    BeforeFloor {
        /// The floor.
        floor: NaiveDate,
    },
}

impl TimeRefusal {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            TimeRefusal::InFuture { .. } => "time_in_future",
            TimeRefusal::BeforeFloor { .. } => "time_before_floor",
        }
    }
}

impl std::fmt::Display for TimeRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeRefusal::InFuture { latest } => write!(
                f,
                "is in the future (the latest time accepted now is {}Z): send the time it really happened, in \
                 UTC or with its offset",
                latest.format("%Y-%m-%dT%H:%M:%S")
            ),
            TimeRefusal::BeforeFloor { floor } => write!(
                f,
                "is before {floor}, the earliest time the policy accepts (intake.received_at.floor)"
            ),
        }
    }
}

/// The most clock skew a policy may allow, in minutes (a day).
pub const MAX_CLOCK_SKEW_MINUTES: u32 = 24 * 60;

impl IntakePolicy {
    /// Whether an item may carry the time `at` when the server's clock says `now`.
    pub fn check_time(&self, at: NaiveDateTime, now: NaiveDateTime) -> Result<(), TimeRefusal> {
        let latest = now + Duration::minutes(i64::from(self.clock_skew_minutes));
        if at > latest {
            return Err(TimeRefusal::InFuture { latest });
        }
        if at.date() < self.received_floor {
            return Err(TimeRefusal::BeforeFloor {
                floor: self.received_floor,
            });
        }
        Ok(())
    }

    /// Every key [`IntakePolicy::apply`] takes, with this policy's value as text it takes back.
    pub fn settings(&self) -> Vec<(String, String)> {
        vec![
            (
                "group_min_callers".into(),
                self.group_min_callers.to_string(),
            ),
            (
                "repeat_window_days".into(),
                self.repeat_window_days.to_string(),
            ),
            (
                "intake.received_at.floor".into(),
                self.received_floor.format("%Y-%m-%d").to_string(),
            ),
            (
                "intake.received_at.skew_minutes".into(),
                self.clock_skew_minutes.to_string(),
            ),
        ]
    }

    /// Applies one stored policy value: `group_min_callers` (2 to 1000), `repeat_window_days` (1 to 365),
    /// `intake.received_at.floor` (a day, YYYY-MM-DD, from 1900-01-01 to 2100-12-31),
    /// `intake.received_at.skew_minutes` (0 to [`MAX_CLOCK_SKEW_MINUTES`]). Other keys are not ours: `Ok(false)`.
    pub fn apply(&mut self, key: &str, value: &str) -> Result<bool, String> {
        let value = value.trim();
        let whole = |range: std::ops::RangeInclusive<u32>| {
            value
                .parse::<u32>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    format!(
                        "policy {key}: {value:?} is not a whole number from {} to {}",
                        range.start(),
                        range.end()
                    )
                })
        };
        match key {
            "group_min_callers" => self.group_min_callers = whole(2..=1000)?,
            "repeat_window_days" => self.repeat_window_days = whole(1..=365)?,
            "intake.received_at.skew_minutes" => {
                self.clock_skew_minutes = whole(0..=MAX_CLOCK_SKEW_MINUTES)?
            }
            "intake.received_at.floor" => {
                self.received_floor = NaiveDate::parse_from_str(value, "%Y-%m-%d")
                    .ok()
                    .filter(|d| {
                        (NaiveDate::from_ymd_opt(1900, 1, 1)..=NaiveDate::from_ymd_opt(2100, 12, 31))
                            .contains(&Some(*d))
                    })
                    .ok_or_else(|| {
                        format!(
                            "policy {key}: {value:?} is not a day (YYYY-MM-DD) from 1900-01-01 to 2100-12-31"
                        )
                    })?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Whether a case with `distinct_callers` different callers is a group request.
    pub fn is_group(&self, distinct_callers: u32) -> bool {
        distinct_callers >= self.group_min_callers.max(1)
    }

    /// The priority of a case: 0 normally, 1 when it is a group request.
    pub fn priority(&self, group_request: bool) -> i32 {
        i32::from(group_request)
    }
}

/// Where and when a new item is.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// When it happened (received or reported).
    pub at: NaiveDateTime,
    /// Its point (WGS-84 lon, lat) if it has one.
    pub point: Option<(f64, f64)>,
    /// The building it is at, if any.
    pub building: Option<&'a str>,
}

/// An open case of the same topic that the item might join.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// The case id.
    pub case_id: &'a str,
    /// The case's point.
    pub point: Option<(f64, f64)>,
    /// The case's building.
    pub building: Option<&'a str>,
    /// When its latest item came.
    pub last_item_at: NaiveDateTime,
}

/// What to do with a new item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Decision {
    /// Join this case.
    Joined {
        /// The case.
        case_id: String,
        /// Metres between the item and the case's point (0 for the same building without points).
        distance_m: f64,
        /// Hours between the item and the case's latest item.
        age_hours: f64,
        /// 0..=1, higher is closer; the best candidate wins.
        score: f64,
        /// In words.
        reason: String,
    },
    /// Open a new case.
    Opened {
        /// Why no case was joined.
        reason: String,
    },
}

/// Chooses the case the item joins, or says why it opens a new one. Candidates must share the item's topic and be
/// open; this function applies the distance, building and time rules and picks the highest score (ties: the first
/// candidate, so callers pass them oldest first).
pub fn decide(
    item: &Item<'_>,
    rule: &MergeRule,
    topic: &str,
    candidates: &[Candidate<'_>],
) -> Decision {
    if !rule.merges() {
        return Decision::Opened {
            reason: format!("topic {topic} is never merged (policy)"),
        };
    }
    if item.point.is_none() && item.building.is_none() {
        return Decision::Opened {
            reason: "the item has no point to compare (address only)".into(),
        };
    }
    let window = f64::from(rule.window_hours);
    let mut best: Option<Decision> = None;
    let mut best_score = f64::NEG_INFINITY;
    for c in candidates {
        let age_hours = (item.at - c.last_item_at).num_seconds().unsigned_abs() as f64 / 3600.0;
        if age_hours > window {
            continue;
        }
        let same_building =
            rule.same_building && item.building.is_some() && item.building == c.building;
        let distance = match (item.point, c.point) {
            (Some(a), Some(b)) => Some(haversine_m(a, b)),
            _ => None,
        };
        let near = rule.radius_m > 0 && distance.is_some_and(|d| d <= f64::from(rule.radius_m));
        if !same_building && !near {
            continue;
        }
        let space = if same_building {
            1.0
        } else {
            1.0 - distance.unwrap_or(0.0) / f64::from(rule.radius_m)
        };
        let score = 0.5 * space + 0.5 * (1.0 - age_hours / window.max(1.0));
        if score > best_score {
            best_score = score;
            let d = distance.unwrap_or(0.0);
            let place = if same_building {
                format!("same building {}", item.building.unwrap_or_default())
            } else {
                format!("{d:.0} m away (limit {} m)", rule.radius_m)
            };
            best = Some(Decision::Joined {
                case_id: c.case_id.to_owned(),
                distance_m: (d * 10.0).round() / 10.0,
                age_hours: (age_hours * 100.0).round() / 100.0,
                score: (score * 1000.0).round() / 1000.0,
                reason: format!(
                    "same topic {topic}, {place}, {age_hours:.1} h from its latest item (limit {} h)",
                    rule.window_hours
                ),
            });
        }
    }
    best.unwrap_or_else(|| Decision::Opened {
        reason: format!(
            "no open case on topic {topic} within {} within {} h",
            if rule.same_building && rule.radius_m == 0 {
                "the same building".to_owned()
            } else {
                format!("{} m", rule.radius_m)
            },
            rule.window_hours
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn t(day: u32, hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, day)
            .unwrap()
            .and_hms_opt(hour, 0, 0)
            .unwrap()
    }

    const SANITATION: MergeRule = MergeRule {
        radius_m: 150,
        window_hours: 168,
        same_building: false,
    };
    const HEATING: MergeRule = MergeRule {
        radius_m: 0,
        window_hours: 168,
        same_building: true,
    };

    // 0.001° of latitude is about 111 m.
    const HERE: (f64, f64) = (116.4, 39.9);

    fn item(point: Option<(f64, f64)>, at: NaiveDateTime) -> Item<'static> {
        Item {
            at,
            point,
            building: None,
        }
    }

    #[test]
    fn an_item_80_m_away_joins_and_one_400_m_away_does_not() {
        let case = Candidate {
            case_id: "a",
            point: Some(HERE),
            building: None,
            last_item_at: t(1, 8),
        };
        let near = item(Some((116.4, 39.9 + 80.0 / 111_000.0)), t(2, 8));
        match decide(&near, &SANITATION, "0101", std::slice::from_ref(&case)) {
            Decision::Joined {
                case_id,
                distance_m,
                age_hours,
                ..
            } => {
                assert_eq!(case_id, "a");
                assert!((distance_m - 80.0).abs() < 2.0, "{distance_m}");
                assert_eq!(age_hours, 24.0);
            }
            other => panic!("{other:?}"),
        }
        let far = item(Some((116.4, 39.9 + 400.0 / 111_000.0)), t(2, 8));
        assert!(matches!(
            decide(&far, &SANITATION, "0101", &[case]),
            Decision::Opened { .. }
        ));
    }

    #[test]
    fn an_item_after_the_window_opens_a_new_case() {
        let case = Candidate {
            case_id: "a",
            point: Some(HERE),
            building: None,
            last_item_at: t(1, 8),
        };
        let late = item(Some(HERE), t(9, 9));
        assert!(matches!(
            decide(&late, &SANITATION, "0101", &[case]),
            Decision::Opened { .. }
        ));
    }

    #[test]
    fn the_closest_and_freshest_candidate_wins() {
        let older = Candidate {
            case_id: "old",
            point: Some((116.4, 39.9 + 100.0 / 111_000.0)),
            building: None,
            last_item_at: t(1, 8),
        };
        let closer = Candidate {
            case_id: "close",
            point: Some((116.4, 39.9 + 20.0 / 111_000.0)),
            building: None,
            last_item_at: t(3, 8),
        };
        let d = decide(
            &item(Some(HERE), t(3, 9)),
            &SANITATION,
            "0101",
            &[older, closer],
        );
        assert!(
            matches!(d, Decision::Joined { ref case_id, .. } if case_id == "close"),
            "{d:?}"
        );
    }

    #[test]
    fn heating_merges_by_building_not_by_distance() {
        let case = Candidate {
            case_id: "b",
            point: Some(HERE),
            building: Some("110105001001001001"),
            last_item_at: t(1, 8),
        };
        let same = Item {
            at: t(2, 8),
            point: Some((116.4, 39.9 + 30.0 / 111_000.0)),
            building: Some("110105001001001001"),
        };
        assert!(matches!(
            decide(&same, &HEATING, "0701", std::slice::from_ref(&case)),
            Decision::Joined { .. }
        ));
        let next_door = Item {
            building: Some("110105001001001002"),
            ..same
        };
        assert!(matches!(
            decide(&next_door, &HEATING, "0701", &[case]),
            Decision::Opened { .. }
        ));
    }

    #[test]
    fn address_only_items_and_never_merged_topics_open_cases() {
        let case = Candidate {
            case_id: "a",
            point: Some(HERE),
            building: None,
            last_item_at: t(1, 8),
        };
        let d = decide(
            &item(None, t(1, 9)),
            &SANITATION,
            "0101",
            std::slice::from_ref(&case),
        );
        assert!(matches!(d, Decision::Opened { ref reason } if reason.contains("address")));
        let never = MergeRule {
            radius_m: 0,
            window_hours: 168,
            same_building: false,
        };
        let d = decide(&item(Some(HERE), t(1, 9)), &never, "1002", &[case]);
        assert!(matches!(d, Decision::Opened { ref reason } if reason.contains("never")));
    }

    #[test]
    fn times_in_the_future_or_before_the_floor_are_refused() {
        let p = IntakePolicy::default();
        let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        let now = t("2026-12-06 19:00");
        assert_eq!(p.check_time(now, now), Ok(()));
        assert_eq!(
            p.check_time(t("2026-12-06 19:05"), now),
            Ok(()),
            "within the skew"
        );
        assert_eq!(p.check_time(t("2000-01-01 00:00"), now), Ok(()));
        for bad in ["2026-12-06 19:06", "2030-01-01 00:00", "9999-12-31 23:59"] {
            assert_eq!(
                p.check_time(t(bad), now).map_err(TimeRefusal::code),
                Err("time_in_future"),
                "{bad}"
            );
        }
        for bad in ["1999-12-31 23:59", "0001-01-01 00:00"] {
            assert_eq!(
                p.check_time(t(bad), now).map_err(TimeRefusal::code),
                Err("time_before_floor"),
                "{bad}"
            );
        }
        let mut q = p;
        assert_eq!(q.apply("intake.received_at.floor", "2020-01-01"), Ok(true));
        assert_eq!(q.apply("intake.received_at.skew_minutes", "0"), Ok(true));
        assert!(q.check_time(t("2019-06-01 00:00"), now).is_err());
        assert!(q.check_time(t("2026-12-06 19:01"), now).is_err());
        assert_eq!(q.apply("speed_limit", "3"), Ok(false));
        for (k, v) in [
            ("intake.received_at.floor", "2000-13-01"),
            ("intake.received_at.floor", "1066-10-14"),
            ("intake.received_at.skew_minutes", "1441"),
            ("group_min_callers", "1"),
        ] {
            assert!(q.apply(k, v).is_err(), "{k}={v}");
        }
    }

    #[test]
    fn five_different_callers_make_a_group_request() {
        let p = IntakePolicy::default();
        assert!(!p.is_group(4));
        assert!(p.is_group(5));
        assert_eq!(p.priority(true), 1);
        assert_eq!(p.priority(false), 0);
    }
}
