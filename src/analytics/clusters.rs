//! Hot spot clusters: connected hot units, the unit of action (one cluster = one proactive task).
//!
//! A cluster is a connected component of the units whose Gi* bin is at least the chosen level (+2: significant at
//! 95 %), connected through the same neighbour lists as the weights Gi* was computed with (so "connected" means
//! what "neighbour" meant in the scan). Its centre is the unit nearest the centroid of its units' centroids, so the
//! centre is always one of its own units, even for a cluster shaped like a ring or a crescent.
//!
//! A significant Gi* says the neighbourhood's values are unusual *relative to the layer's spread*; on very sparse
//! counts one or two calls are already "unusual". [`confirmed`] adds what a leader needs before sending people: the
//! cluster holds at least [`Confirmation::min_excess`] calls more than expected, that excess is at least
//! [`Confirmation::min_z`] Poisson standard deviations, and no single day holds more than
//! [`Confirmation::max_day_share`] of its calls (a burst on one day — a building calling together about one pipe —
//! is one incident, which the case merge already joins, not a place where a problem keeps coming back).

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
    /// Fewest calls above the expected count.
    pub min_excess: f64,
    /// Fewest Poisson standard deviations of excess, (O − E) / √max(E, 1).
    pub min_z: f64,
    /// Largest share of the cluster's calls on its busiest day.
    pub max_day_share: f64,
}

impl Default for Confirmation {
    /// 5 calls, 3 standard deviations, at most half the calls on one day.
    fn default() -> Self {
        Confirmation {
            min_excess: 5.0,
            min_z: 3.0,
            max_day_share: 0.5,
        }
    }
}

/// Whether a cluster with `observed` calls against `expected`, `busiest_day` of them on one day, is confirmed.
pub fn confirmed(observed: f64, expected: f64, busiest_day: f64, c: &Confirmation) -> bool {
    let excess = observed - expected;
    excess >= c.min_excess
        && excess / expected.max(1.0).sqrt() >= c.min_z
        && busiest_day <= c.max_day_share * observed
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
    fn a_cluster_needs_enough_calls_above_expectation_spread_over_days() {
        let c = Confirmation::default();
        // 30 calls against 4 expected, at most 6 a day: confirmed.
        assert!(confirmed(30.0, 4.0, 6.0, &c));
        // Four calls above expectation are too few, however unlikely.
        assert!(!confirmed(4.2, 0.2, 1.0, &c));
        // 110 against 100: 10 more, but only one standard deviation.
        assert!(!confirmed(110.0, 100.0, 10.0, &c));
        // 9 calls, 8 of them on one day: one incident.
        assert!(!confirmed(9.0, 0.5, 8.0, &c));
    }
}
