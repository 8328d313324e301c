//! Hot spot clusters: connected hot units, the unit of action (one cluster = one proactive task).
//!
//! A cluster is a connected component of the units whose Gi* bin is at least the chosen level (+2: significant at
//! 95 %), connected through the same neighbour lists as the weights Gi* was computed with (so "connected" means
//! what "neighbour" meant in the scan). Its centre is the unit nearest the centroid of its units' centroids, so the
//! centre is always one of its own units, even for a cluster shaped like a ring or a crescent.
//!
//! A significant Gi* says the neighbourhood's values are unusual *relative to the layer's spread*; on sparse counts,
//! scanned over every topic of twenty thousand cells, hundreds of neighbourhoods are "unusual" by chance alone.
//! [`confirmed`] adds what a leader needs before sending people: the cluster holds at least
//! [`Confirmation::min_excess`] counted calls more than expected, and so many that a Poisson count with the expected
//! mean would reach them with a probability of at most [`Confirmation::alpha`] / m ([`poisson_sf`]), where m is the
//! number of unit-and-topic tests the scan made (Bonferroni over everything the scan looked at: a cluster is a
//! selection among all of them, so the bar is that of the whole family, not of the few candidates Gi* kept).
//!
//! The calls counted are damped against bursts before any of this (`crate::analytics::excess::DAY_CAP`): a
//! building calling together about one burst pipe is one incident, which the case merge already joins, not a place
//! where a problem keeps coming back.

use super::weights::Weights;

/// Groups the units marked `hot` into connected components over `weights`' neighbour lists. Each component's units
/// are sorted; components come in the order of their lowest unit.
pub fn components(weights: &Weights, hot: &[bool]) -> Vec<Vec<usize>> {
    let n = hot.len().min(weights.len());
    let mut seen = vec![false; n];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..n {
        if !hot[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let mut units = Vec::new();
        while let Some(i) = stack.pop() {
            units.push(i);
            for &j in weights.neighbours(i) {
                let j = j as usize;
                if j < n && hot[j] && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        units.sort_unstable();
        out.push(units);
    }
    out
}

/// The unit of `units` nearest the centroid of their `points` (planar, on lon/lat scaled by cos(latitude) so that
/// a degree of longitude weighs what it measures); ties go to the lower position. `None` for no units.
pub fn centre(units: &[usize], points: &[(f64, f64)]) -> Option<usize> {
    let pts: Vec<(usize, (f64, f64))> = units
        .iter()
        .filter_map(|&u| points.get(u).map(|p| (u, *p)))
        .collect();
    if pts.is_empty() {
        return None;
    }
    let k = pts.len() as f64;
    let cx = pts.iter().map(|(_, p)| p.0).sum::<f64>() / k;
    let cy = pts.iter().map(|(_, p)| p.1).sum::<f64>() / k;
    let scale = cy.to_radians().cos();
    let d2 = |p: (f64, f64)| ((p.0 - cx) * scale).powi(2) + (p.1 - cy).powi(2);
    pts.iter()
        .min_by(|a, b| d2(a.1).total_cmp(&d2(b.1)).then(a.0.cmp(&b.0)))
        .map(|(u, _)| *u)
}

/// What a significant cluster must also show to be reported.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Confirmation {
    /// Fewest counted calls above the expected count.
    pub min_excess: f64,
    /// The family-wise error rate shared by all the scan's tests (Bonferroni).
    pub alpha: f64,
}

impl Default for Confirmation {
    /// 5 calls above expectation; 5 % family-wise.
    fn default() -> Self {
        Confirmation {
            min_excess: 5.0,
            alpha: 0.05,
        }
    }
}

/// Whether a cluster with `observed` counted calls against `expected` is confirmed, in a scan that made `tests`
/// unit-and-topic tests.
pub fn confirmed(observed: f64, expected: f64, tests: usize, c: &Confirmation) -> bool {
    observed - expected >= c.min_excess
        && poisson_sf(observed, expected) <= c.alpha / tests.max(1) as f64
}

/// P(X ≥ k) for X ~ Poisson(λ), `k` rounded down to a whole count: summed term by term from k upwards in logs (each
/// term e^(−λ) λʲ / j!), which keeps full relative precision far into the tail where 1 − P(X < k) would round to 0.
/// 1 for k ≤ 0; for k ≤ λ (a tail of at least about a half) through the complement instead.
pub fn poisson_sf(k: f64, lambda: f64) -> f64 {
    let k = k.floor();
    if k <= 0.0 || !k.is_finite() {
        return 1.0;
    }
    let lambda = lambda.max(0.0);
    if lambda == 0.0 {
        return 0.0;
    }
    let ln_pmf = |j: f64| -lambda + j * lambda.ln() - libm::lgamma(j + 1.0);
    if k <= lambda {
        // The lower tail P(X < k) has at most about λ + 1 terms that matter.
        let below: f64 = (0..k as u64).map(|j| ln_pmf(j as f64).exp()).sum();
        return (1.0 - below).clamp(0.0, 1.0);
    }
    // Terms fall from j = k on (j > λ): stop when they no longer change the sum; at most 10,000 terms.
    let mut sum = 0.0;
    let mut j = k;
    for _ in 0..10_000 {
        let term = ln_pmf(j).exp();
        sum += term;
        if term <= sum * 1e-17 {
            break;
        }
        j += 1.0;
    }
    sum.min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3 × 3 grid, numbered row by row, with queen neighbours (shared edge or corner).
    fn queen_3x3() -> Weights {
        let lists = (0..9usize)
            .map(|i| {
                let (r, c) = ((i / 3) as i64, (i % 3) as i64);
                (0..9usize)
                    .filter(|&j| {
                        let (s, d) = ((j / 3) as i64, (j % 3) as i64);
                        j != i && (r - s).abs() <= 1 && (c - d).abs() <= 1
                    })
                    .collect()
            })
            .collect();
        Weights::from_lists(lists).unwrap()
    }

    #[test]
    fn hot_units_touching_by_a_corner_form_one_cluster_and_apart_two() {
        // Hot: 0, 4, 8 (a diagonal, connected by corners under queen) and, in another layer, 0 and 2 (apart).
        let w = queen_3x3();
        let diagonal = [true, false, false, false, true, false, false, false, true];
        assert_eq!(components(&w, &diagonal), vec![vec![0, 4, 8]]);
        let apart = [true, false, true, false, false, false, false, false, false];
        assert_eq!(components(&w, &apart), vec![vec![0], vec![2]]);
        assert!(components(&w, &[false; 9]).is_empty());
    }

    #[test]
    fn clusters_follow_the_weights_and_not_the_numbering() {
        // A chain 0 – 2 – 1 – 3: 0 and 1 are hot but not neighbours; making 2 hot joins them.
        let w = Weights::from_lists(vec![vec![2], vec![2, 3], vec![0, 1], vec![1]]).unwrap();
        assert_eq!(
            components(&w, &[true, true, false, false]),
            vec![vec![0], vec![1]]
        );
        assert_eq!(
            components(&w, &[true, true, true, false]),
            vec![vec![0, 1, 2]]
        );
    }

    #[test]
    fn the_centre_is_the_member_nearest_the_centroid() {
        // An L of five points near the equator: (0,0) (1,0) (2,0) (0,1) (0,2); centroid (0.6, 0.6). In degrees
        // (1,0) and (0,1) are equally near (0.52), but a degree of longitude at 0.6° N measures cos 0.6° of a
        // degree of latitude, so (0,1), whose offset is mostly in longitude, is the nearer.
        let pts = [(0.0, 0.0), (1.0, 0.0), (2.0, 0.0), (0.0, 1.0), (0.0, 2.0)];
        assert_eq!(centre(&[0, 1, 2, 3, 4], &pts), Some(3));
        // At Beijing's latitude the difference is large: 0.01° east is 853 m, 0.01° north 1,111 m.
        let beijing = [(116.40, 39.90), (116.42, 39.90), (116.41, 39.911)];
        assert_eq!(centre(&[0, 1, 2], &beijing), Some(2));
        assert_eq!(centre(&[3, 4], &pts), Some(3));
        assert_eq!(centre(&[], &pts), None);
    }

    #[test]
    fn a_cluster_needs_enough_calls_above_expectation_at_the_family_wide_bar() {
        let c = Confirmation::default();
        // A scan of 50 topics over 20,000 cells: the bar is 0.05 / 1,000,000 = 5e-8.
        let tests = 1_000_000;
        // 30 calls against 1 expected: P(X ≥ 30) ≈ 1.4e-33 — confirmed.
        assert!(confirmed(30.0, 1.0, tests, &c));
        // 9 calls against 0.7: P(X ≥ 9) ≈ 5.9e-8, just above the bar — not confirmed; 10 calls (4.1e-9) are.
        assert!(!confirmed(9.0, 0.7, tests, &c));
        assert!(confirmed(10.0, 0.7, tests, &c));
        // Four calls above expectation are too few, however unlikely.
        assert!(!confirmed(4.2, 0.2, tests, &c));
        // 140 against 100: P ≈ 9.2e-5, unremarkable among a million tests, though it would pass alone.
        assert!(!confirmed(140.0, 100.0, tests, &c));
        assert!(confirmed(140.0, 100.0, 1, &c));
    }

    #[test]
    fn the_poisson_tail_matches_scipy() {
        // scipy.stats.poisson.sf(k - 1, mu), i.e. P(X ≥ k).
        let cases = [
            (1.0, 0.5, 0.393_469_340_287_366_5),
            (8.0, 0.7, 7.693_477_090_457_958e-7),
            (10.0, 0.7, 4.126_701_493_558_143_5e-9),
            (30.0, 1.0, 1.433_081_416_722_330_3e-33),
            (140.0, 100.0, 9.164_651_426_510_271e-5),
            (3.0, 4.0, 0.761_896_694_446_455_6),
            (100.0, 100.0, 0.513_298_798_279_148_7),
        ];
        for (k, mu, want) in cases {
            let got = poisson_sf(k, mu);
            assert!(
                ((got - want) / want).abs() < 1e-9,
                "P(X ≥ {k} | {mu}) = {got}, scipy {want}"
            );
        }
        assert_eq!(poisson_sf(0.0, 3.0), 1.0);
        assert_eq!(poisson_sf(2.0, 0.0), 0.0);
    }
}
