//! Getis-Ord Gi* hot spot statistics, giving the numbers of PySAL esda's
//! `G_Local(y, w, transform='B', star=True, permutations=P, seed=S)` (esda 2.9, `esda/getisord.py`, `esda/crand.py`).
//!
//! # Formulas
//!
//! Binary weights with the unit itself included (wᵢᵢ = 1, wᵢⱼ = 1 for a neighbour), n units, values yⱼ ≥ 0:
//!
//! - Gᵢ* = Σⱼ wᵢⱼ yⱼ / Σⱼ yⱼ (the share of the total in the unit's neighbourhood);
//! - Wᵢ = Σⱼ wᵢⱼ = neighbours + 1; E[Gᵢ*] = Wᵢ / n;
//! - ȳ = Σy / n, s² = Σ(y − ȳ)² / n (population variance; esda writes Σy²/n − ȳ², the same number);
//! - Var[Gᵢ*] = Wᵢ (n − Wᵢ) / ((n − 1) n²) · s² / ȳ²; Zᵢ = (Gᵢ* − E[Gᵢ*]) / √Var[Gᵢ*]. For binary weights this is
//!   the Ord & Getis (1995) form used by ArcGIS, (Σⱼ wᵢⱼ yⱼ − ȳ Wᵢ) / (s √((n Wᵢ − Wᵢ²)/(n − 1))).
//! - `p_norm` = P(Z > |Zᵢ|), one-tailed as in esda (`norm.sf(abs(Zs))`); the two-sided p is 2 · `p_norm`.
//! - Pseudo p-value by conditional randomisation (esda's `crand`, `alternative="directed"`): yᵢ is held fixed and, in
//!   each of P permutations, Wᵢ − 1 of the other n − 1 units are drawn without replacement as its neighbours;
//!   `larger` = #(permuted Gᵢ* ≥ observed Gᵢ*); if P − larger < larger then larger = P − larger;
//!   `p_sim` = (larger + 1) / (P + 1). As in esda one set of P draws (P × (max neighbours + 1) positions) is made once
//!   and shared by all units; a unit's neighbours in a permutation are the first Wᵢ − 1 drawn units other than itself.
//!   The draws come from ChaCha8 seeded with the caller's seed, so runs are reproducible, but they are not numpy's:
//!   `p_sim` agrees with esda within Monte-Carlo error, the other numbers exactly. Ties count as "at least as large",
//!   as esda's definition says. esda itself, when numba is installed, compiles its permuted statistic with
//!   `fastmath`, which turns `/ scaling` into a multiplication by the reciprocal, one ulp low; for integer counts a
//!   permuted sum equal to the observed one then counts as smaller (North Carolina's SIDS counts, unit 37041: esda
//!   0.044, the ≥ definition 0.023). With continuous values the two agree.
//! - Confidence bin as ArcGIS's `Gi_Bin`: ±3 when the two-sided p < 0.01 (99 %), ±2 when < 0.05, ±1 when < 0.10, 0
//!   otherwise, signed by Z. The bin uses the analytical two-sided p (2 · `p_norm`), as ArcGIS's Hot Spot Analysis
//!   does. With the FDR correction each level's cut-off is replaced by the Benjamini–Hochberg threshold of esda's
//!   `esda.fdr(p, alpha)` over all units' two-sided p-values (largest k with p₍ₖ₎ < k·alpha/n gives the cut-off
//!   k·alpha/n; none gives the Bonferroni bound alpha/n), which is how ArcGIS's "Apply False Discovery Rate (FDR)
//!   Correction" lowers the critical p-value at each confidence level.
//!
//! Refused (a typed [`Error`], never NaN): fewer than two units, non-finite or negative values, all zeros, all equal
//! values, islands (esda would give them Wᵢ = 1 and a meaningless p_sim), a unit neighbouring every other unit
//! (zero variance), permutations other than 0 or 99..=9,999, and more than [`MAX_DRAWS`] permutation draws.

use super::weights::Weights;
use super::{Error, normal_sf};
use rand::SeedableRng;

/// The most permutation draws one scan makes, P × (largest neighbourhood + 1): 9,999 permutations over
/// neighbourhoods of up to 499 units, or 999 over up to 4,999.
pub const MAX_DRAWS: usize = 5_000_000;

/// Fewest permutations accepted (besides 0, none).
pub const MIN_PERMUTATIONS: u32 = 99;

/// Most permutations accepted.
pub const MAX_PERMUTATIONS: u32 = 9_999;

/// How to run a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Permutations for the pseudo p-value: 0 for none, else 99..=9,999.
    pub permutations: u32,
    /// Seed of the permutations.
    pub seed: u64,
    /// Whether the confidence bins use the Benjamini–Hochberg FDR cut-offs.
    pub fdr: bool,
}

impl Default for Options {
    /// esda's default of 999 permutations, seed 0, no FDR correction.
    fn default() -> Self {
        Options {
            permutations: 999,
            seed: 0,
            fdr: false,
        }
    }
}

/// Per-unit results, each vector in the units' order.
#[derive(Debug, Clone, PartialEq)]
pub struct GiStar {
    /// Gᵢ* (esda `Gs`).
    pub gi: Vec<f64>,
    /// E[Gᵢ*] (esda `EGs`).
    pub expected: Vec<f64>,
    /// Var[Gᵢ*] (esda `VGs`).
    pub variance: Vec<f64>,
    /// Zᵢ (esda `Zs`).
    pub z: Vec<f64>,
    /// One-tailed normal p-value of |Zᵢ| (esda `p_norm`).
    pub p_norm: Vec<f64>,
    /// Pseudo p-value (esda `p_sim`), when permutations were asked for.
    pub p_sim: Option<Vec<f64>>,
    /// Confidence bin −3..=3.
    pub bin: Vec<i8>,
    /// The two-sided p cut-offs used for the bins at 99 %, 95 % and 90 % (0.01, 0.05, 0.10 without FDR).
    pub cutoffs: [f64; 3],
}

/// The significance levels of the bins ±3, ±2, ±1.
pub const LEVELS: [f64; 3] = [0.01, 0.05, 0.10];

/// Gi* for every unit (see the module documentation for the formulas).
pub fn gistar(values: &[f64], weights: &Weights, options: &Options) -> Result<GiStar, Error> {
    let n = check(values, weights, options)?;
    let nf = n as f64;
    let total: f64 = values.iter().sum();
    let mean = total / nf;
    let s2 = values.iter().map(|y| (y - mean) * (y - mean)).sum::<f64>() / nf;
    let scale = s2 / (mean * mean) / ((nf - 1.0) * nf * nf);
    let mut out = GiStar {
        gi: Vec::with_capacity(n),
        expected: Vec::with_capacity(n),
        variance: Vec::with_capacity(n),
        z: Vec::with_capacity(n),
        p_norm: Vec::with_capacity(n),
        p_sim: None,
        bin: Vec::with_capacity(n),
        cutoffs: LEVELS,
    };
    let mut others = Vec::with_capacity(n);
    for (i, &yi) in values.iter().enumerate() {
        let around: f64 = weights
            .neighbours(i)
            .iter()
            .map(|&j| values[j as usize])
            .sum();
        others.push(around);
        let w = (weights.neighbours(i).len() + 1) as f64;
        let gi = (yi + around) / total;
        let expected = w / nf;
        let variance = w * (nf - w) * scale;
        let z = (gi - expected) / variance.sqrt();
        out.gi.push(gi);
        out.expected.push(expected);
        out.variance.push(variance);
        out.z.push(z);
        out.p_norm.push(normal_sf(z.abs()));
    }
    if options.permutations > 0 {
        out.p_sim = Some(pseudo_p(values, weights, &others, options)?);
    }
    let two_sided: Vec<f64> = out.p_norm.iter().map(|p| (2.0 * p).min(1.0)).collect();
    if options.fdr {
        out.cutoffs = LEVELS.map(|alpha| fdr_cutoff(&two_sided, alpha));
    }
    out.bin = out
        .z
        .iter()
        .zip(&two_sided)
        .map(|(&z, &p)| confidence_bin(z, p, &out.cutoffs))
        .collect();
    Ok(out)
}

/// Checks the input and returns the number of units.
fn check(values: &[f64], weights: &Weights, options: &Options) -> Result<usize, Error> {
    let n = weights.len();
    if values.len() != n {
        return Err(Error::LengthMismatch {
            values: values.len(),
            units: n,
        });
    }
    if n < 2 {
        return Err(Error::TooFewUnits(n));
    }
    if options.permutations != 0
        && !(MIN_PERMUTATIONS..=MAX_PERMUTATIONS).contains(&options.permutations)
    {
        return Err(Error::Permutations(options.permutations));
    }
    for (unit, &value) in values.iter().enumerate() {
        if !value.is_finite() {
            return Err(Error::NonFinite { unit });
        }
        if value < 0.0 {
            return Err(Error::Negative { unit, value });
        }
    }
    if values.iter().all(|&y| y == 0.0) {
        return Err(Error::AllZero);
    }
    if values.iter().all(|&y| y == values[0]) {
        return Err(Error::Constant(values[0]));
    }
    let islands = weights.islands();
    if !islands.is_empty() {
        return Err(Error::Islands { units: islands });
    }
    if let Some(unit) = (0..n).find(|&i| weights.neighbours(i).len() + 1 >= n) {
        return Err(Error::NeighboursEveryone { unit });
    }
    let draws = (options.permutations as usize).saturating_mul(weights.max_neighbours() + 1);
    if draws > MAX_DRAWS {
        return Err(Error::TooMuchWork {
            permutations: options.permutations,
            largest: weights.max_neighbours(),
            limit: MAX_DRAWS,
        });
    }
    Ok(n)
}

/// Conditional-randomisation pseudo p-values. Each permutation r draws `width` = max neighbours + 1 distinct units
/// in random order; `prefix[c][r]` is the sum of the first c drawn values. Unit i with k neighbours takes the first
/// k draws other than itself: `prefix[k][r]` when i is not among the first k draws, else the first k + 1 draws less
/// i, which is recomputed from the draws (i is drawn in about P·width/n permutations, so this is rare).
fn pseudo_p(
    values: &[f64],
    weights: &Weights,
    others: &[f64],
    options: &Options,
) -> Result<Vec<f64>, Error> {
    let n = values.len();
    let p = options.permutations as usize;
    let width = weights.max_neighbours() + 1;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(options.seed);
    let mut draws = vec![0u32; p * width];
    let mut prefix = vec![0.0f64; (width + 1) * p];
    // Where each unit was drawn: (unit, permutation, position), grouped by unit below.
    let mut seen: Vec<(u32, u32, u32)> = Vec::with_capacity(p * width);
    for r in 0..p {
        let sample = rand::seq::index::sample(&mut rng, n, width);
        let mut acc = 0.0;
        for (c, j) in sample.iter().enumerate() {
            draws[r * width + c] = j as u32;
            acc += values[j];
            prefix[(c + 1) * p + r] = acc;
            seen.push((j as u32, r as u32, c as u32));
        }
    }
    seen.sort_unstable();
    let mut p_sim = Vec::with_capacity(n);
    let mut cursor = 0usize;
    for (i, &observed) in others.iter().enumerate() {
        let k = weights.neighbours(i).len();
        let row = &prefix[k * p..(k + 1) * p];
        let mut larger = row.iter().filter(|&&s| s >= observed).count();
        while cursor < seen.len() && seen[cursor].0 as usize == i {
            let (_, r, pos) = seen[cursor];
            cursor += 1;
            let (r, pos) = (r as usize, pos as usize);
            if pos < k {
                let sum: f64 = draws[r * width..r * width + k + 1]
                    .iter()
                    .filter(|&&j| j as usize != i)
                    .map(|&j| values[j as usize])
                    .sum();
                larger = larger + usize::from(sum >= observed) - usize::from(row[r] >= observed);
            }
        }
        if p - larger < larger {
            larger = p - larger;
        }
        p_sim.push((larger + 1) as f64 / (p + 1) as f64);
    }
    Ok(p_sim)
}

/// The Benjamini–Hochberg cut-off of esda's `fdr(pvalues, alpha)`: with the p-values sorted ascending, the largest k
/// with p₍ₖ₎ < k·alpha/n gives k·alpha/n; if there is none, the Bonferroni bound alpha/n. A p-value is significant
/// when it is below the cut-off.
pub fn fdr_cutoff(p_values: &[f64], alpha: f64) -> f64 {
    let n = p_values.len().max(1) as f64;
    let mut sorted = p_values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    sorted
        .iter()
        .enumerate()
        .rev()
        .find(|&(k, &p)| p < (k + 1) as f64 * alpha / n)
        .map_or(alpha / n, |(k, _)| (k + 1) as f64 * alpha / n)
}

/// The signed bin of a z-score and its two-sided p-value against the cut-offs at 99 %, 95 % and 90 %.
pub fn confidence_bin(z: f64, p_two_sided: f64, cutoffs: &[f64; 3]) -> i8 {
    let level = match cutoffs.iter().position(|&c| p_two_sided < c) {
        Some(0) => 3,
        Some(1) => 2,
        Some(_) => 1,
        None => 0,
    };
    if z < 0.0 { -level } else { level }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// esda's own doctest: points (10,10),(20,10),(40,10),(15,20),(30,20),(30,30), distance band 15 (planar), so
    /// 0–1, 0–3, 1–3, 3–4, 4–5 and 2–4 (distance √200 ≈ 14.1) are neighbours.
    fn esda_doctest() -> (Vec<f64>, Weights) {
        let pts = [
            (10.0, 10.0),
            (20.0, 10.0),
            (40.0, 10.0),
            (15.0, 20.0),
            (30.0, 20.0),
            (30.0, 30.0),
        ];
        let lists = (0..6)
            .map(|i| {
                (0..6)
                    .filter(|&j| {
                        let (a, b): ((f64, f64), (f64, f64)) = (pts[i], pts[j]);
                        j != i && ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt() <= 15.0
                    })
                    .collect()
            })
            .collect();
        (
            vec![2.0, 3.0, 3.2, 5.0, 8.0, 7.0],
            Weights::from_lists(lists).unwrap(),
        )
    }

    #[test]
    fn z_scores_equal_the_esda_doctest() {
        let (y, w) = esda_doctest();
        let g = gistar(&y, &w, &Options::default()).unwrap();
        let esda = [
            -1.39727626,
            -0.28917762,
            0.65064964,
            -0.28917762,
            1.23452088,
            2.02424331,
        ];
        for (z, e) in g.z.iter().zip(esda) {
            assert!((z - e).abs() < 1e-8, "{z} vs {e}");
        }
        // esda's doctest gives p_sim[0] = 0.101 with numpy's draws; ours are other draws of the same distribution.
        let p0 = g.p_sim.as_ref().unwrap()[0];
        assert!((p0 - 0.101).abs() < 0.04, "{p0}");
    }

    #[test]
    fn a_hand_worked_chain_of_four() {
        // 0 – 1 – 2 – 3, y = 1, 2, 3, 6: total 12, n 4, mean 3, s² = (4 + 1 + 0 + 9) / 4 = 3.5.
        let w = Weights::from_lists(vec![vec![1], vec![0, 2], vec![1, 3], vec![2]]).unwrap();
        let g = gistar(
            &[1.0, 2.0, 3.0, 6.0],
            &w,
            &Options {
                permutations: 0,
                ..Options::default()
            },
        )
        .unwrap();
        // Unit 0: G = 3/12, W = 2, E = 0.5, Var = 2·2/(3·16) · 3.5/9 = 0.0324074…, z = −0.25/0.180021… = −1.38873…
        assert!((g.gi[0] - 0.25).abs() < 1e-15);
        assert!((g.expected[0] - 0.5).abs() < 1e-15);
        assert!((g.variance[0] - 4.0 / 48.0 * 3.5 / 9.0).abs() < 1e-15);
        let z0 = -0.25 / (4.0f64 / 48.0 * 3.5 / 9.0).sqrt();
        assert!((g.z[0] - z0).abs() < 1e-12);
        // The Ord–Getis form gives the same z: (3 − 3·2) / (√3.5 · √((4·2 − 4)/3)).
        assert!((g.z[0] - (3.0 - 6.0) / (3.5f64.sqrt() * (4.0f64 / 3.0).sqrt())).abs() < 1e-12);
        // Unit 2: G = 11/12, W = 3, E = 0.75, Var = 3·1/(3·16) · 3.5/9.
        assert!((g.z[2] - (11.0 / 12.0 - 0.75) / (3.0f64 / 48.0 * 3.5 / 9.0).sqrt()).abs() < 1e-12);
        assert!(g.p_sim.is_none());
        // Two-sided p of z = −1.389 is 0.165: not significant even at 90 %.
        assert_eq!(g.bin[0], 0);
    }

    #[test]
    fn bins_follow_the_two_sided_p_value() {
        let c = LEVELS;
        assert_eq!(confidence_bin(2.6, 2.0 * normal_sf(2.6), &c), 3);
        assert_eq!(confidence_bin(-2.0, 2.0 * normal_sf(2.0), &c), -2);
        assert_eq!(confidence_bin(1.7, 2.0 * normal_sf(1.7), &c), 1);
        assert_eq!(confidence_bin(1.6, 2.0 * normal_sf(1.6), &c), 0);
    }

    #[test]
    fn fdr_takes_the_largest_rank_below_the_line_or_bonferroni() {
        // n = 4, alpha 0.05: lines 0.0125, 0.025, 0.0375, 0.05; p₍₃₎ = 0.03 < 0.0375 → cut-off 0.0375.
        assert!((fdr_cutoff(&[0.5, 0.03, 0.001, 0.02], 0.05) - 0.0375).abs() < 1e-15);
        assert!((fdr_cutoff(&[0.5, 0.6, 0.7, 0.8], 0.05) - 0.0125).abs() < 1e-15);
    }

    #[test]
    fn bad_input_is_a_typed_error_never_nan() {
        let (y, w) = esda_doctest();
        let o = Options::default();
        let code = |v: &[f64], w: &Weights, o: &Options| gistar(v, w, o).unwrap_err().code();
        assert_eq!(code(&[0.0; 6], &w, &o), "all_zero");
        assert_eq!(code(&[4.0; 6], &w, &o), "constant_values");
        assert_eq!(
            code(&[1.0, f64::NAN, 1.0, 1.0, 1.0, 2.0], &w, &o),
            "non_finite_value"
        );
        assert_eq!(
            code(&[1.0, f64::INFINITY, 1.0, 1.0, 1.0, 2.0], &w, &o),
            "non_finite_value"
        );
        assert_eq!(
            code(&[1.0, -1.0, 1.0, 1.0, 1.0, 2.0], &w, &o),
            "negative_value"
        );
        assert_eq!(code(&y[..5], &w, &o), "length_mismatch");
        let one = Weights::from_lists(vec![vec![]]).unwrap();
        assert_eq!(code(&[1.0], &one, &o), "too_few_units");
        for p in [1, 98, 10_000] {
            assert_eq!(
                code(
                    &y,
                    &w,
                    &Options {
                        permutations: p,
                        ..o
                    }
                ),
                "permutations_out_of_range"
            );
        }
        let island = Weights::from_lists(vec![vec![1], vec![0], vec![]]).unwrap();
        assert_eq!(
            gistar(&[1.0, 2.0, 3.0], &island, &o).unwrap_err(),
            Error::Islands { units: vec![2] }
        );
        let all = Weights::from_lists(vec![vec![1, 2], vec![0], vec![0]]).unwrap();
        assert_eq!(code(&[1.0, 2.0, 3.0], &all, &o), "neighbours_everyone");
    }

    #[test]
    fn ties_count_as_at_least_as_large_as_esda_defines_it() {
        // A chain 0 – 1 – … – 10. Unit 0's one neighbour holds 2; of the ten others two hold 2 and eight hold 1, so a
        // permutation's draw is ≥ 2 exactly when it ties: P = 0.2 and p_sim ≈ (0.2 · 9999 + 1) / 10000. Counting only
        // strictly larger draws would give 1 / 10000 instead.
        let lists = (0..11usize)
            .map(|i| {
                [i.checked_sub(1), (i < 10).then_some(i + 1)]
                    .into_iter()
                    .flatten()
                    .collect()
            })
            .collect();
        let w = Weights::from_lists(lists).unwrap();
        let y = [1.0, 2.0, 1.0, 1.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        let g = gistar(
            &y,
            &w,
            &Options {
                permutations: 9_999,
                seed: 3,
                fdr: false,
            },
        )
        .unwrap();
        let p0 = g.p_sim.unwrap()[0];
        assert!((p0 - 0.2).abs() < 0.02, "{p0}");
    }

    #[test]
    fn the_same_seed_gives_the_same_pseudo_p_values_and_another_seed_others() {
        let (y, w) = esda_doctest();
        let a = gistar(
            &y,
            &w,
            &Options {
                seed: 7,
                ..Options::default()
            },
        )
        .unwrap();
        let b = gistar(
            &y,
            &w,
            &Options {
                seed: 7,
                ..Options::default()
            },
        )
        .unwrap();
        let c = gistar(
            &y,
            &w,
            &Options {
                seed: 8,
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(a.p_sim, b.p_sim);
        assert_ne!(a.p_sim, c.p_sim);
        for p in a.p_sim.unwrap() {
            assert!(p > 0.0 && p <= 0.5 + 1.0 / 1000.0, "{p}");
        }
    }
}
