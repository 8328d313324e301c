//! The Mann-Kendall trend test (Mann 1945, Kendall 1975), as `pymannkendall.original_test` computes it: the
//! numbers are checked against that package on fixed series (tests/fixtures/esda/mann-kendall.csv).
//!
//! S = Σᵢ<ⱼ sgn(xⱼ − xᵢ); Var S = [n(n−1)(2n+5) − Σ t(t−1)(2t+5)] / 18 over the sizes t of groups of tied values;
//! Z = (S − 1)/√Var S if S > 0, (S + 1)/√Var S if S < 0, else 0; two-sided p = 2·P(Z > |Z|); Kendall's τ =
//! S / (n(n−1)/2). A trend is significant when p < alpha. A series of fewer than two values, or of equal values, has
//! S = 0, Z = 0 and p = 1.

use super::{Error, normal_sf};

/// The most values in one series (S takes n²/2 comparisons).
pub const MAX_LEN: usize = 10_000;

/// Direction of a significant trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    /// Significant upward trend.
    Increasing,
    /// Significant downward trend.
    Decreasing,
    /// No significant trend.
    None,
}

/// The test's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannKendall {
    /// S.
    pub s: f64,
    /// Var S, corrected for ties.
    pub var_s: f64,
    /// The normal score with continuity correction.
    pub z: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Kendall's τ.
    pub tau: f64,
    /// The trend at the level asked for.
    pub trend: Trend,
}

/// The test on `series` at significance level `alpha` (in (0, 1)).
pub fn mann_kendall(series: &[f64], alpha: f64) -> Result<MannKendall, Error> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(Error::Alpha(alpha));
    }
    if let Some(unit) = series.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite { unit });
    }
    if series.len() > MAX_LEN {
        return Err(Error::MatrixShape {
            units: 1,
            min: 0,
            max: MAX_LEN,
        });
    }
    let n = series.len() as f64;
    let mut s = 0i64;
    for (i, a) in series.iter().enumerate() {
        for b in &series[i + 1..] {
            s += i64::from(b > a) - i64::from(b < a);
        }
    }
    let mut sorted = series.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let ties: f64 = sorted
        .chunk_by(|a, b| a == b)
        .map(|g| {
            let t = g.len() as f64;
            t * (t - 1.0) * (2.0 * t + 5.0)
        })
        .sum();
    let var_s = (n * (n - 1.0) * (2.0 * n + 5.0) - ties) / 18.0;
    let s = s as f64;
    let z = if s == 0.0 || var_s <= 0.0 {
        0.0
    } else if s > 0.0 {
        (s - 1.0) / var_s.sqrt()
    } else {
        (s + 1.0) / var_s.sqrt()
    };
    let p = (2.0 * normal_sf(z.abs())).min(1.0);
    let pairs = n * (n - 1.0) / 2.0;
    let trend = match (p < alpha, z > 0.0) {
        (true, true) => Trend::Increasing,
        (true, false) => Trend::Decreasing,
        (false, _) => Trend::None,
    };
    Ok(MannKendall {
        s,
        var_s,
        z,
        p,
        tau: if pairs > 0.0 { s / pairs } else { 0.0 },
        trend,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rising_series_of_five_by_hand() {
        // 10 pairs all rising: S = 10, Var = 5·4·15/18 = 16.667, Z = 9/4.0825 = 2.2045, p = 0.0275.
        let r = mann_kendall(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.05).unwrap();
        assert_eq!(r.s, 10.0);
        assert!((r.var_s - 300.0 / 18.0).abs() < 1e-12);
        assert!((r.z - 9.0 / (300.0f64 / 18.0).sqrt()).abs() < 1e-12);
        assert!((r.p - 0.027486).abs() < 1e-5, "{}", r.p);
        assert_eq!(r.trend, Trend::Increasing);
        assert_eq!(r.tau, 1.0);
    }

    #[test]
    fn ties_lower_the_variance() {
        // 1, 1, 2: S = 2 (1→2 twice), one tie of 2: Var = (3·2·11 − 2·1·9)/18 = 48/18.
        let r = mann_kendall(&[1.0, 1.0, 2.0], 0.05).unwrap();
        assert_eq!(r.s, 2.0);
        assert!((r.var_s - 48.0 / 18.0).abs() < 1e-12);
    }

    #[test]
    fn flat_short_and_bad_series_give_no_nan() {
        for s in [&[][..], &[3.0][..], &[2.0, 2.0, 2.0][..]] {
            let r = mann_kendall(s, 0.05).unwrap();
            assert_eq!((r.z, r.p, r.trend), (0.0, 1.0, Trend::None));
        }
        assert_eq!(
            mann_kendall(&[1.0, f64::NAN], 0.05).unwrap_err().code(),
            "non_finite_value"
        );
        assert_eq!(
            mann_kendall(&[1.0, 2.0], 0.0).unwrap_err().code(),
            "bad_alpha"
        );
    }
}
