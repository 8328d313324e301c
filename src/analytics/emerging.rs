//! Emerging hot spots: Gi* at every time step plus the Mann-Kendall trend of each unit's z-scores, classified into
//! the categories of ArcGIS Pro's Emerging Hot Spot Analysis.
//!
//! Definitions: Esri, ArcGIS Pro documentation, "How Emerging Hot Spot Analysis works"
//! (<https://pro.arcgis.com/en/pro-app/latest/tool-reference/space-time-pattern-mining/learnmoreemerging.htm>).
//! With n steps, "hot" meaning a Gi* bin of +1 or more (significant at 90 % or more) and "cold" −1 or less:
//!
//! - *new*: hot at the final step and never hot before;
//! - *consecutive*: a single uninterrupted run of at least two hot steps ending at the final step, never hot before
//!   that run, fewer than 90 % of steps hot;
//! - *intensifying*: hot at ≥ 90 % of steps including the final one, significant upward trend of z;
//! - *persistent*: hot at ≥ 90 % of steps including the final one, no significant trend;
//! - *diminishing*: hot at ≥ 90 % of steps including the final one, significant downward trend;
//! - *sporadic*: hot at the final step, on and off before, fewer than 90 % hot, never cold;
//! - *oscillating*: hot at the final step, cold at some earlier step, fewer than 90 % hot;
//! - *historical*: hot at ≥ 90 % of steps but not at the final one;
//! - the cold categories mirror these (intensifying cold = significant downward trend of z); otherwise no pattern.
//!
//! The checks run in the order of that list, so a unit that was cold earlier and is hot for the first time at the
//! final step is *new*, as the definitions read. Choices made here, where ArcGIS leaves room:
//! - the neighbourhood is spatial only (the units' neighbours within the same step; ArcGIS can add the same
//!   neighbours in earlier steps);
//! - a step's significance is the analytical Gi* p-value (optionally FDR-corrected within the step), as ArcGIS's
//!   Emerging Hot Spot Analysis reports; no permutations are drawn;
//! - a step whose values are all zero or all equal has no hot or cold unit (z = 0) rather than failing the analysis,
//!   and is listed in [`Emerging::flat_steps`];
//! - the trend is significant when the Mann-Kendall two-sided p < `trend_alpha` (default 0.05).

use super::gistar::{self, Options};
use super::mann_kendall::{MannKendall, Trend, mann_kendall};
use super::{Error, weights::Weights};

/// Fewest time steps (ArcGIS recommends at least ten for a meaningful trend).
pub const MIN_STEPS: usize = 2;

/// Most time steps.
pub const MAX_STEPS: usize = 1_000;

/// Values of every unit at every time step, stored step by step.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    units: usize,
    values: Vec<f64>,
}

impl Matrix {
    /// A matrix from one vector of unit values per time step, oldest first; every step must have `units` values.
    pub fn from_steps(units: usize, steps: &[Vec<f64>]) -> Result<Matrix, Error> {
        if !(MIN_STEPS..=MAX_STEPS).contains(&steps.len()) || steps.iter().any(|s| s.len() != units)
        {
            return Err(Error::MatrixShape {
                units,
                min: MIN_STEPS,
                max: MAX_STEPS,
            });
        }
        Ok(Matrix {
            units,
            values: steps.concat(),
        })
    }

    /// Number of units.
    pub fn units(&self) -> usize {
        self.units
    }

    /// Number of time steps.
    pub fn steps(&self) -> usize {
        self.values.len().checked_div(self.units).unwrap_or(0)
    }

    /// The values of every unit at step `t`.
    pub fn step(&self, t: usize) -> &[f64] {
        self.values
            .get(t * self.units..(t + 1) * self.units)
            .unwrap_or(&[])
    }
}

/// How to classify.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmergingOptions {
    /// Whether each step's bins use the Benjamini–Hochberg FDR cut-offs.
    pub fdr: bool,
    /// Significance level of the Mann-Kendall trend.
    pub trend_alpha: f64,
}

impl Default for EmergingOptions {
    fn default() -> Self {
        EmergingOptions {
            fdr: false,
            trend_alpha: 0.05,
        }
    }
}

/// An emerging hot (or cold) spot category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[expect(
    missing_docs,
    reason = "the variants are the published categories named in the module documentation"
)]
pub enum Category {
    NoPattern,
    NewHot,
    ConsecutiveHot,
    IntensifyingHot,
    PersistentHot,
    DiminishingHot,
    SporadicHot,
    OscillatingHot,
    HistoricalHot,
    NewCold,
    ConsecutiveCold,
    IntensifyingCold,
    PersistentCold,
    DiminishingCold,
    SporadicCold,
    OscillatingCold,
    HistoricalCold,
}

impl Category {
    /// A stable snake_case name (`new_hot_spot`, `no_pattern`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::NoPattern => "no_pattern",
            Category::NewHot => "new_hot_spot",
            Category::ConsecutiveHot => "consecutive_hot_spot",
            Category::IntensifyingHot => "intensifying_hot_spot",
            Category::PersistentHot => "persistent_hot_spot",
            Category::DiminishingHot => "diminishing_hot_spot",
            Category::SporadicHot => "sporadic_hot_spot",
            Category::OscillatingHot => "oscillating_hot_spot",
            Category::HistoricalHot => "historical_hot_spot",
            Category::NewCold => "new_cold_spot",
            Category::ConsecutiveCold => "consecutive_cold_spot",
            Category::IntensifyingCold => "intensifying_cold_spot",
            Category::PersistentCold => "persistent_cold_spot",
            Category::DiminishingCold => "diminishing_cold_spot",
            Category::SporadicCold => "sporadic_cold_spot",
            Category::OscillatingCold => "oscillating_cold_spot",
            Category::HistoricalCold => "historical_cold_spot",
        }
    }
}

/// One unit's classification.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnitTrend {
    /// Its category.
    pub category: Category,
    /// Mann-Kendall on its z-scores over the steps.
    pub trend: MannKendall,
    /// Steps at which it was hot.
    pub hot_steps: usize,
    /// Steps at which it was cold.
    pub cold_steps: usize,
}

/// The analysis of every unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Emerging {
    /// Per unit, in the units' order.
    pub units: Vec<UnitTrend>,
    /// Gi* z-scores, step by step (`z[t * units + i]`).
    pub z: Vec<f64>,
    /// Gi* bins, laid out as `z`.
    pub bins: Vec<i8>,
    /// Steps whose values were all zero or all equal (no unit hot or cold there).
    pub flat_steps: Vec<usize>,
}

/// Gi* at each step of `matrix` over `weights`, then Mann-Kendall and the category of each unit.
pub fn emerging(
    matrix: &Matrix,
    weights: &Weights,
    options: &EmergingOptions,
) -> Result<Emerging, Error> {
    let (units, steps) = (matrix.units(), matrix.steps());
    if weights.len() != units {
        return Err(Error::LengthMismatch {
            values: units,
            units: weights.len(),
        });
    }
    if !(options.trend_alpha > 0.0 && options.trend_alpha < 1.0) {
        return Err(Error::Alpha(options.trend_alpha));
    }
    let gi_options = Options {
        permutations: 0,
        seed: 0,
        fdr: options.fdr,
    };
    let mut z = Vec::with_capacity(units * steps);
    let mut bins = Vec::with_capacity(units * steps);
    let mut flat_steps = Vec::new();
    for t in 0..steps {
        match gistar::gistar(matrix.step(t), weights, &gi_options) {
            Ok(g) => {
                z.extend(g.z);
                bins.extend(g.bin);
            }
            Err(Error::AllZero | Error::Constant(_)) => {
                flat_steps.push(t);
                z.extend(std::iter::repeat_n(0.0, units));
                bins.extend(std::iter::repeat_n(0i8, units));
            }
            Err(e) => return Err(e),
        }
    }
    let mut out = Vec::with_capacity(units);
    let mut series = vec![0.0; steps];
    let mut signs = vec![0i8; steps];
    for i in 0..units {
        for t in 0..steps {
            series[t] = z[t * units + i];
            signs[t] = bins[t * units + i].signum();
        }
        let trend = mann_kendall(&series, options.trend_alpha)?;
        out.push(UnitTrend {
            category: classify(&signs, trend.trend),
            trend,
            hot_steps: signs.iter().filter(|&&s| s > 0).count(),
            cold_steps: signs.iter().filter(|&&s| s < 0).count(),
        });
    }
    Ok(Emerging {
        units: out,
        z,
        bins,
        flat_steps,
    })
}

/// The category of a unit from its per-step significance (+1 hot, −1 cold, 0 neither), oldest first, and the trend
/// of its z-scores.
pub fn classify(signs: &[i8], trend: Trend) -> Category {
    use Category as C;
    let hot = classify_one(signs, trend, 1);
    if hot != C::NoPattern {
        return hot;
    }
    let mirrored = match trend {
        Trend::Increasing => Trend::Decreasing,
        Trend::Decreasing => Trend::Increasing,
        Trend::None => Trend::None,
    };
    let flipped: Vec<i8> = signs.iter().map(|s| -s).collect();
    match classify_one(&flipped, mirrored, 1) {
        C::NewHot => C::NewCold,
        C::ConsecutiveHot => C::ConsecutiveCold,
        C::IntensifyingHot => C::IntensifyingCold,
        C::PersistentHot => C::PersistentCold,
        C::DiminishingHot => C::DiminishingCold,
        C::SporadicHot => C::SporadicCold,
        C::OscillatingHot => C::OscillatingCold,
        C::HistoricalHot => C::HistoricalCold,
        _ => C::NoPattern,
    }
}

/// The hot categories, `hot` being the sign that counts as hot.
fn classify_one(signs: &[i8], trend: Trend, hot: i8) -> Category {
    let n = signs.len();
    let Some(&last) = signs.last() else {
        return Category::NoPattern;
    };
    let hot_steps = signs.iter().filter(|&&s| s == hot).count();
    let mostly = hot_steps * 10 >= n * 9;
    let final_hot = last == hot;
    let run = signs.iter().rev().take_while(|&&s| s == hot).count();
    match (final_hot, mostly) {
        (true, _) if hot_steps == 1 => Category::NewHot,
        (true, false) if run >= 2 && run == hot_steps => Category::ConsecutiveHot,
        (true, true) => match trend {
            Trend::Increasing => Category::IntensifyingHot,
            Trend::Decreasing => Category::DiminishingHot,
            Trend::None => Category::PersistentHot,
        },
        (true, false) if signs.contains(&-hot) => Category::OscillatingHot,
        (true, false) => Category::SporadicHot,
        (false, true) => Category::HistoricalHot,
        (false, false) => Category::NoPattern,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Category as C;

    fn s(text: &str) -> Vec<i8> {
        text.chars()
            .map(|c| match c {
                'H' => 1,
                'C' => -1,
                _ => 0,
            })
            .collect()
    }

    #[test]
    fn the_published_categories_on_ten_steps() {
        let none = Trend::None;
        assert_eq!(classify(&s("........CH"), none), C::NewHot);
        assert_eq!(classify(&s(".........H"), none), C::NewHot);
        assert_eq!(classify(&s("......HHHH"), none), C::ConsecutiveHot);
        assert_eq!(
            classify(&s("HHHHHHHHHH"), Trend::Increasing),
            C::IntensifyingHot
        );
        assert_eq!(classify(&s("H.HHHHHHHH"), none), C::PersistentHot);
        assert_eq!(
            classify(&s("HHHHHHHHHH"), Trend::Decreasing),
            C::DiminishingHot
        );
        assert_eq!(classify(&s("H..H..H.HH"), none), C::SporadicHot);
        assert_eq!(classify(&s("C..H....HH"), none), C::OscillatingHot);
        assert_eq!(classify(&s("HHHHHHHHH."), none), C::HistoricalHot);
        assert_eq!(classify(&s("HHHHHHHHHC"), none), C::HistoricalHot);
        assert_eq!(classify(&s("HHH......."), none), C::NoPattern);
        assert_eq!(classify(&s(".........."), none), C::NoPattern);
        // The cold ones mirror them, trends included.
        assert_eq!(classify(&s("........HC"), none), C::NewCold);
        assert_eq!(
            classify(&s("CCCCCCCCCC"), Trend::Decreasing),
            C::IntensifyingCold
        );
        assert_eq!(
            classify(&s("CCCCCCCCCC"), Trend::Increasing),
            C::DiminishingCold
        );
        assert_eq!(classify(&s("H..C....CC"), none), C::OscillatingCold);
        assert_eq!(classify(&s("C..C..C.CC"), none), C::SporadicCold);
        assert_eq!(classify(&s("CCCCCCCCC."), none), C::HistoricalCold);
        assert_eq!(classify(&s("......CCCC"), none), C::ConsecutiveCold);
    }

    /// A 5 × 5 grid with rook neighbours, unit i at row i / 5, column i % 5.
    fn grid() -> Weights {
        let lists = (0..25usize)
            .map(|i| {
                let (r, c) = (i / 5, i % 5);
                let mut l = Vec::new();
                if r > 0 {
                    l.push(i - 5);
                }
                if r < 4 {
                    l.push(i + 5);
                }
                if c > 0 {
                    l.push(i - 1);
                }
                if c < 4 {
                    l.push(i + 1);
                }
                l
            })
            .collect();
        Weights::from_lists(lists).unwrap()
    }

    #[test]
    fn a_corner_that_heats_up_over_the_last_steps_is_a_consecutive_hot_spot() {
        let steps: Vec<Vec<f64>> = (0..12)
            .map(|t| {
                (0..25)
                    .map(|i| {
                        let base = 1.0 + f64::from((i * 7 + t * 3) % 5);
                        if t >= 9 && [0, 1, 5, 6].contains(&i) {
                            base + 40.0
                        } else {
                            base
                        }
                    })
                    .collect()
            })
            .collect();
        let m = Matrix::from_steps(25, &steps).unwrap();
        let e = emerging(&m, &grid(), &EmergingOptions::default()).unwrap();
        assert_eq!(e.units[0].category, C::ConsecutiveHot, "{:?}", e.units[0]);
        assert_eq!(e.units[24].category, C::NoPattern);
        assert!(e.z.iter().all(|z| z.is_finite()));
    }

    #[test]
    fn a_quiet_step_counts_as_neither_hot_nor_cold() {
        let mut steps = vec![vec![0.0; 25]; 3];
        steps[1][12] = 5.0;
        steps[1][13] = 1.0;
        let m = Matrix::from_steps(25, &steps).unwrap();
        let e = emerging(&m, &grid(), &EmergingOptions::default()).unwrap();
        assert_eq!(e.flat_steps, vec![0, 2]);
        assert!(e.bins[..25].iter().all(|&b| b == 0));
    }

    #[test]
    fn bad_shapes_and_bad_values_are_refused() {
        assert_eq!(
            Matrix::from_steps(25, &[vec![1.0; 25]]).unwrap_err().code(),
            "matrix_shape"
        );
        assert_eq!(
            Matrix::from_steps(25, &[vec![1.0; 25], vec![1.0; 24]])
                .unwrap_err()
                .code(),
            "matrix_shape"
        );
        let mut steps = vec![vec![1.0; 25]; 2];
        steps[1][3] = f64::NAN;
        let m = Matrix::from_steps(25, &steps).unwrap();
        assert_eq!(
            emerging(&m, &grid(), &EmergingOptions::default())
                .unwrap_err()
                .code(),
            "non_finite_value"
        );
    }
}
