//! The arithmetic of the monthly topic (每月一题): the repeat rate of a topic's calls, where its calls concentrate,
//! the candidates for next month's list, and the class breaks of the report's choropleth. Plain functions over
//! counts; no value is NaN (a rate without a base is `None`).
//!
//! Definitions (the API and the report say the same):
//! - **repeat rate** (重复诉求率) = (tickets − first calls) ÷ tickets, where *first calls* are the cases opened in the
//!   month that hold calls (source `hotline` or `mixed`): the share of the month's calls that joined a problem
//!   already known (a case already open, merged on intake, 并单) rather than reporting a new one. `None` without
//!   tickets; never below 0.
//! - **concentration**: a topic's tickets per place, the busiest first (ties by code), each with its share of the
//!   topic's tickets in the scope.
//! - **candidate score** = tickets × growth × difficulty, where growth = (tickets + 1) ÷ (previous month's tickets
//!   plus 1) bounded to [`GROWTH_MIN`]–[`GROWTH_MAX`], and difficulty = 1 − the topic's resolution rate (the
//!   assessment's 解决率), or 1 − the scope's resolution rate when the topic has no callback yet, at least
//!   [`MIN_DIFFICULTY`]. High-volume, growing, poorly resolved topics come first: the problems 每月一题 is meant for
//!   (高频共性难点). Topics of the class [`EXCLUDED_CLASS`] (其他: enquiries, praise, unclassified) are never
//!   candidates.
//! - **class breaks**: quantiles of the positive values (upper bounds, ascending, without repeats); zero is a class
//!   of its own.

/// How many candidates the list proposes.
pub const CANDIDATES: usize = 5;
/// How many places are named per topic.
pub const PLACES_PER_TOPIC: usize = 3;
/// The lowest growth factor (a topic that halved or more).
pub const GROWTH_MIN: f64 = 0.5;
/// The highest growth factor (a topic that doubled or more).
pub const GROWTH_MAX: f64 = 2.0;
/// The lowest difficulty (a topic whose calls are all resolved still counts a little).
pub const MIN_DIFFICULTY: f64 = 0.05;
/// The first-level topic that is never a candidate (其他: enquiries, praise, unclassified).
pub const EXCLUDED_CLASS: &str = "99";

/// The repeat rate of `tickets` of which `first_calls` opened a new case (see the module comment).
pub fn repeat_rate(tickets: i64, first_calls: i64) -> Option<f64> {
    #[expect(clippy::cast_precision_loss, reason = "counts stay far below 2^52")]
    (tickets > 0).then(|| (tickets - first_calls).max(0) as f64 / tickets as f64)
}

/// A place's part of a topic's tickets.
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    /// The place.
    pub code: String,
    /// Its tickets.
    pub tickets: i64,
    /// Its share of the topic's tickets (0–1).
    pub share: f64,
}

/// The `top` places with the most tickets (ties by code), each with its share of the total of `per_place`; places
/// without tickets are left out.
pub fn concentration(per_place: &[(String, i64)], top: usize) -> Vec<Share> {
    let total: i64 = per_place.iter().map(|(_, t)| (*t).max(0)).sum();
    if total == 0 {
        return Vec::new();
    }
    let mut v: Vec<&(String, i64)> = per_place.iter().filter(|(_, t)| *t > 0).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    #[expect(clippy::cast_precision_loss, reason = "counts stay far below 2^52")]
    v.into_iter()
        .take(top)
        .map(|(code, t)| Share {
            code: code.clone(),
            tickets: *t,
            share: *t as f64 / total as f64,
        })
        .collect()
}

/// What a topic's candidacy is judged on.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicFigures {
    /// Second-level topic code.
    pub code: String,
    /// Tickets in the month.
    pub tickets: i64,
    /// Tickets in the month before.
    pub previous_tickets: i64,
    /// Its resolution rate (解决率), `None` without callbacks.
    pub resolution: Option<f64>,
}

/// A proposed topic for next month's list.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Topic code.
    pub code: String,
    /// tickets × growth × difficulty.
    pub score: f64,
    /// The growth factor used.
    pub growth: f64,
    /// The difficulty used.
    pub difficulty: f64,
}

/// The growth factor of a topic with `tickets` now and `previous` the month before.
pub fn growth_factor(tickets: i64, previous: i64) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "counts stay far below 2^52")]
    ((tickets.max(0) as f64 + 1.0) / (previous.max(0) as f64 + 1.0)).clamp(GROWTH_MIN, GROWTH_MAX)
}

/// The `n` best candidates among `topics` (highest score first, ties by code), with `scope_resolution` the
/// resolution rate of the whole scope for topics without callbacks (`None`: difficulty 1 for them).
pub fn candidates(
    topics: &[TopicFigures],
    scope_resolution: Option<f64>,
    n: usize,
) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = topics
        .iter()
        .filter(|t| t.tickets > 0 && !t.code.starts_with(EXCLUDED_CLASS))
        .map(|t| {
            let growth = growth_factor(t.tickets, t.previous_tickets);
            let resolved = t.resolution.or(scope_resolution).unwrap_or(0.0);
            let difficulty = (1.0 - resolved).clamp(MIN_DIFFICULTY, 1.0);
            #[expect(clippy::cast_precision_loss, reason = "counts stay far below 2^52")]
            let score = t.tickets as f64 * growth * difficulty;
            Candidate {
                code: t.code.clone(),
                score,
                growth,
                difficulty,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.code.cmp(&b.code))
    });
    out.truncate(n);
    out
}

/// Quantile class breaks of the positive `values` into at most `classes` classes: the upper bound of each class,
/// ascending, without repeats (fewer classes when values repeat). Empty when no value is positive.
pub fn class_breaks(values: &[i64], classes: usize) -> Vec<i64> {
    let mut v: Vec<i64> = values.iter().copied().filter(|x| *x > 0).collect();
    if v.is_empty() || classes == 0 {
        return Vec::new();
    }
    v.sort_unstable();
    let n = v.len();
    let mut out: Vec<i64> = (1..=classes)
        .map(|k| v[(k * n).div_ceil(classes) - 1])
        .collect();
    out.dedup();
    out
}

/// The class (0-based) of `value` under `breaks`; `None` for zero or less (no calls).
pub fn class_of(value: i64, breaks: &[i64]) -> Option<usize> {
    if value <= 0 {
        return None;
    }
    Some(
        breaks
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(breaks.len().saturating_sub(1)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repeat_rate_is_the_share_of_calls_on_problems_already_known() {
        // 10 calls, 4 of them opened a case: 6 joined a known problem.
        assert_eq!(repeat_rate(10, 4), Some(0.6));
        assert_eq!(repeat_rate(3, 3), Some(0.0));
        // A case opened by a call counted in the month whose first call fell in the month before.
        assert_eq!(repeat_rate(2, 5), Some(0.0));
        assert_eq!(repeat_rate(0, 0), None);
    }

    #[test]
    fn concentration_names_the_busiest_places_with_their_shares() {
        let per_place = vec![
            ("110105002".to_owned(), 5),
            ("110105001".to_owned(), 5),
            ("110105003".to_owned(), 10),
            ("110105004".to_owned(), 0),
        ];
        let c = concentration(&per_place, 2);
        assert_eq!(c.len(), 2);
        assert_eq!(
            (c[0].code.as_str(), c[0].tickets, c[0].share),
            ("110105003", 10, 0.5)
        );
        assert_eq!((c[1].code.as_str(), c[1].share), ("110105001", 0.25));
        assert!(concentration(&[("1".into(), 0)], 3).is_empty());
    }

    #[test]
    fn candidates_weigh_volume_growth_and_poor_resolution() {
        let t = |code: &str, tickets, previous, resolution| TopicFigures {
            code: code.into(),
            tickets,
            previous_tickets: previous,
            resolution,
        };
        let topics = vec![
            // Big and steady, well resolved: 100 × 1 × 0.1 = 10.
            t("0701", 100, 100, Some(0.9)),
            // Smaller, doubled, badly resolved: 40 × 2 × 0.75 = 60.
            t("1101", 40, 15, Some(0.25)),
            // No callback yet: the scope's rate (0.5) stands in: 30 × (31/31) × 0.5 = 15.
            t("0101", 30, 30, None),
            // Enquiries are never candidates, however many.
            t("9901", 1000, 10, Some(0.0)),
            t("0301", 0, 50, Some(0.0)),
        ];
        let c = candidates(&topics, Some(0.5), 5);
        let codes: Vec<&str> = c.iter().map(|c| c.code.as_str()).collect();
        assert_eq!(codes, ["1101", "0101", "0701"]);
        assert!((c[0].score - 60.0).abs() < 1e-9);
        assert_eq!(c[0].growth, 2.0);
        assert!((c[1].score - 15.0).abs() < 1e-9);
        assert!((c[2].score - 10.0).abs() < 1e-9);
        assert_eq!(candidates(&topics, None, 1)[0].code, "1101");
        // Growth is bounded both ways; a fully resolved topic keeps the floor difficulty.
        assert_eq!(growth_factor(1, 1000), GROWTH_MIN);
        assert_eq!(growth_factor(1000, 0), GROWTH_MAX);
        let full = candidates(&[t("0102", 10, 10, Some(1.0))], None, 1);
        assert!((full[0].difficulty - MIN_DIFFICULTY).abs() < 1e-12);
    }

    #[test]
    fn class_breaks_are_quantiles_of_positive_values() {
        let values = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(class_breaks(&values, 5), vec![2, 4, 6, 8, 10]);
        assert_eq!(class_of(0, &[2, 4]), None);
        assert_eq!(class_of(3, &[2, 4]), Some(1));
        assert_eq!(class_of(99, &[2, 4]), Some(1));
        // Repeated values give fewer classes, never an empty one.
        assert_eq!(class_breaks(&[5, 5, 5, 5, 9], 4), vec![5, 9]);
        assert!(class_breaks(&[0, 0], 5).is_empty());
    }
}
