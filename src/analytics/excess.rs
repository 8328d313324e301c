//! What a place "normally has", and by how much a window exceeds it: the values a city hot spot scan feeds to Gi*
//! so that it finds places where a problem is *more than usual* rather than places where most people live.
//!
//! # Expected counts (the baseline)
//!
//! - **History** (preferred): the place's own counts in the K windows of the same length just before the scanned
//!   window. Eᵢ = O · Hᵢ / ΣH, where Hᵢ is the place's mean over those windows and O the window's total over all
//!   places: the history gives each place its usual *share*, the window its level. Scaling to the window's total
//!   keeps a city-wide change of level (the heating season, a busier month) from making every place hot; what is
//!   tested is a place taking more than its usual share.
//! - **Households** (fallback, when there is no usable history): Eᵢ = O_g · hᵢ / h_g, the window's total of the
//!   place's group g (its district) shared by households. Grouping by district keeps a district that calls the
//!   hotline more per household (or has more households per resident in the geodata) from lighting up as a whole.
//!
//! A previous window is usable history when its total is at least half the scanned window's
//! ([`usable_history`]): a window the data only partly covers (the data starts inside it) would make every place
//! look hot.
//!
//! # The value scanned: the standardised excess
//!
//! rᵢ = (Oᵢ − Eᵢ) / √(max(Eᵢ, 1) · (1 + 1/K)) (K = number of history windows; the factor is 1 for households).
//! Counts are Poisson-like, so the raw excess Oᵢ − Eᵢ varies as much as Eᵢ does: a raw excess would again favour
//! busy places, where the same share of noise is more calls. Dividing by the standard deviation expected under
//! "nothing unusual" (Poisson variance Eᵢ, plus the noise of a mean of K windows, Eᵢ/K) gives every place the same
//! scale. The floor of 1 keeps a place that expects almost nothing from turning one call into an enormous value.
//!
//! Gi* needs values ≥ 0 while an excess can be negative: [`shifted`] adds one constant to every value. The Gi*
//! z-score, its p-values and the permutation test do not change under such a shift (Σⱼ wᵢⱼ yⱼ − ȳ Wᵢ and s are
//! unchanged, and every permuted sum moves with the observed one), so the scan's bins are those of the excess.

/// Calls counted per unit, topic and day: at most this many. A building calling together (a heating failure, a
/// burst pipe: five to ten neighbours within hours) is one incident that the case merge joins, not a problem that
/// keeps coming back; counted in full it would outweigh weeks of a real hotspot in a place that expects less than
/// one call a month. Two a day keeps the signal of a problem that returns day after day (a hotspot of k days counts
/// at least k, usually 2k) and of two separate callers on a day, while a burst counts as two. Every count of a
/// scan — the window, the history, the expected counts — is counted this way, so they stay comparable.
pub const DAY_CAP: f64 = 2.0;

/// The calls of one unit, topic and day as a scan counts them (see [`DAY_CAP`]).
pub fn counted(calls: f64) -> f64 {
    calls.clamp(0.0, DAY_CAP)
}

/// Expected counts from the place's history: `history[k][i]` is place i's count in the k-th previous window.
/// `None` when the history holds no count at all (there is no share to take).
pub fn from_history(window_total: f64, history: &[Vec<f64>]) -> Option<Vec<f64>> {
    let units = history.first()?.len();
    let mut mean = vec![0.0; units];
    for window in history {
        for (m, v) in mean.iter_mut().zip(window) {
            *m += v;
        }
    }
    let total: f64 = mean.iter().sum();
    if total <= 0.0 || !total.is_finite() {
        return None;
    }
    Some(mean.iter().map(|m| window_total * m / total).collect())
}

/// Expected counts from households: each group's observed total shared among its places by households. Places
/// of a group without any household expect nothing; a group without households expects its total spread evenly.
pub fn from_households(observed: &[f64], households: &[f64], groups: &[usize]) -> Vec<f64> {
    let n_groups = groups.iter().copied().max().map_or(0, |g| g + 1);
    let mut observed_by = vec![0.0; n_groups];
    let mut households_by = vec![0.0; n_groups];
    let mut units_by = vec![0usize; n_groups];
    for ((&g, &o), &h) in groups.iter().zip(observed).zip(households) {
        observed_by[g] += o;
        households_by[g] += h.max(0.0);
        units_by[g] += 1;
    }
    groups
        .iter()
        .zip(households)
        .map(|(&g, &h)| {
            if households_by[g] > 0.0 {
                observed_by[g] * h.max(0.0) / households_by[g]
            } else {
                observed_by[g] / units_by[g].max(1) as f64
            }
        })
        .collect()
}

/// How many of the previous windows (nearest first) are usable history: the run of windows, from the nearest
/// back, whose total is at least half of the scanned window's total. 0 when the window itself is empty.
pub fn usable_history(window_total: f64, previous_totals: &[f64]) -> usize {
    if window_total <= 0.0 {
        return 0;
    }
    previous_totals
        .iter()
        .take_while(|&&t| t >= window_total / 2.0)
        .count()
}

/// The standardised excess rᵢ = (Oᵢ − Eᵢ) / √(max(Eᵢ, 1) · (1 + 1/K)); `windows` = K, or 0 for households.
pub fn standardised(observed: &[f64], expected: &[f64], windows: usize) -> Vec<f64> {
    let factor = if windows == 0 {
        1.0
    } else {
        1.0 + 1.0 / windows as f64
    };
    observed
        .iter()
        .zip(expected)
        .map(|(&o, &e)| (o - e) / (e.max(1.0) * factor).sqrt())
        .collect()
}

/// The values shifted so that the smallest is 0 (see the module documentation: Gi*'s z is unchanged).
pub fn shifted(values: &[f64]) -> Vec<f64> {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    if !min.is_finite() {
        return values.to_vec();
    }
    values.iter().map(|v| v - min).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::{Options, Weights, gistar};

    #[test]
    fn a_day_counts_at_most_two_calls_of_a_topic_in_a_place() {
        assert_eq!(counted(0.0), 0.0);
        assert_eq!(counted(1.0), 1.0);
        assert_eq!(counted(2.0), 2.0);
        // A building calling together: nine calls in a day count as two.
        assert_eq!(counted(9.0), 2.0);
    }

    #[test]
    fn history_gives_each_place_its_usual_share_of_the_window() {
        // Two previous windows: place 0 had 2 and 4 (mean 3), place 1 had 1 and 1 (mean 1), place 2 none.
        // Shares 3/4 and 1/4 of a window of 40 calls: 30, 10, 0.
        let e = from_history(40.0, &[vec![2.0, 1.0, 0.0], vec![4.0, 1.0, 0.0]]).unwrap();
        assert_eq!(e, vec![30.0, 10.0, 0.0]);
        assert_eq!(from_history(40.0, &[vec![0.0, 0.0]]), None);
        assert_eq!(from_history(40.0, &[]), None);
    }

    #[test]
    fn households_share_each_district_total_separately() {
        // District 0: places with 100 and 300 households and 8 calls: 2 and 6. District 1: one place with 50
        // households and 5 calls expects 5; a place of district 2 without households (and alone) expects its 3.
        let e = from_households(
            &[1.0, 7.0, 5.0, 3.0],
            &[100.0, 300.0, 50.0, 0.0],
            &[0, 0, 1, 2],
        );
        assert_eq!(e, vec![2.0, 6.0, 5.0, 3.0]);
    }

    #[test]
    fn history_counts_only_windows_the_data_covers() {
        assert_eq!(usable_history(100.0, &[90.0, 60.0, 10.0, 80.0]), 2);
        assert_eq!(usable_history(100.0, &[40.0, 90.0]), 0);
        assert_eq!(usable_history(0.0, &[40.0]), 0);
    }

    #[test]
    fn the_excess_is_divided_by_its_expected_spread_with_a_floor_of_one() {
        // E = 16, O = 24, K = 1: 8 / √(16 · 2) = √2. E = 0.25, O = 3, households: 2.75 / √1.
        let r = standardised(&[24.0, 3.0], &[16.0, 0.25], 1);
        assert!((r[0] - 8.0 / 32f64.sqrt()).abs() < 1e-12);
        assert!((r[1] - 2.75 / 2f64.sqrt()).abs() < 1e-12);
        let r = standardised(&[3.0, 4.0], &[0.25, 9.0], 0);
        assert_eq!(r, vec![2.75, -5.0 / 3.0]);
    }

    #[test]
    fn shifting_the_excess_leaves_the_gi_star_z_scores_unchanged() {
        let w = Weights::from_lists(vec![vec![1], vec![0, 2], vec![1, 3], vec![2, 4], vec![3]])
            .unwrap();
        let excess = [-1.5, 0.5, 2.0, -0.25, 1.0];
        let s = shifted(&excess);
        assert_eq!(s[0], 0.0);
        let o = Options {
            permutations: 0,
            ..Options::default()
        };
        let a = gistar(&s, &w, &o).unwrap();
        // The same layer shifted by another constant.
        let b = gistar(&s.iter().map(|v| v + 10.0).collect::<Vec<_>>(), &w, &o).unwrap();
        for (x, y) in a.z.iter().zip(&b.z) {
            assert!((x - y).abs() < 1e-12, "{x} vs {y}");
        }
        // And the z of unit 2 by the Ord–Getis form on the unshifted excess: (Σ wy − ȳW) / (s √((nW − W²)/(n−1))).
        let n = 5.0;
        let mean = excess.iter().sum::<f64>() / n;
        let s2 = excess.iter().map(|y| (y - mean) * (y - mean)).sum::<f64>() / n;
        let z2 =
            (0.5 + 2.0 - 0.25 - mean * 3.0) / (s2.sqrt() * ((n * 3.0 - 9.0) / (n - 1.0)).sqrt());
        assert!((a.z[2] - z2).abs() < 1e-12, "{} vs {z2}", a.z[2]);
    }
}
