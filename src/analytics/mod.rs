//! Pure statistics over plain data: the counts behind the heat maps and their arithmetic ([`counts`]) and held in memory ([`cube`]), spatial weights from polygons, Getis-Ord Gi* (as PySAL esda computes
//! it), the excess over a place's usual counts ([`excess`]), hot spot clusters ([`clusters`]), the Mann-Kendall trend test and ArcGIS Pro's emerging hot spot categories; the monthly topic's arithmetic
//! ([`monthly`]); and vector-tile geometry ([`tiles`]) and PNG maps ([`map_image`]). No actix, no diesel, no IO: every function takes slices and returns a value or a typed [`Error`]
//! (the tiles, their own errors), never NaN and never a panic.
//!
//! Units are identified by their position (from 0) in the caller's input; the caller maps positions back to ids.

pub mod clusters;
pub mod counts;
pub mod cube;
pub mod emerging;
pub mod excess;
pub mod gistar;
pub mod mann_kendall;
pub mod map_image;
pub mod monthly;
pub mod tiles;
pub mod weights;

pub use emerging::{Category, Emerging, EmergingOptions, Matrix, emerging};
pub use gistar::{GiStar, Options, gistar};
pub use weights::{Weights, WeightsSpec};

/// Why a statistic could not be computed. Every variant says what to change; [`Error::code`] is a stable
/// snake_case code for APIs and the command line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The values and the weights are not over the same units.
    #[error("{values} values were given for {units} units")]
    LengthMismatch {
        /// Number of values.
        values: usize,
        /// Number of units in the weights.
        units: usize,
    },
    /// Fewer than two units: there is nothing to compare a unit with.
    #[error("the layer has {0} unit(s); a hot spot scan needs at least 2")]
    TooFewUnits(usize),
    /// A value is NaN or infinite.
    #[error("the value of unit #{unit} is not a finite number")]
    NonFinite {
        /// Position of the unit.
        unit: usize,
    },
    /// A value is negative; Gi* is defined for values ≥ 0 (counts, rates).
    #[error("the value of unit #{unit} is negative ({value}); Gi* needs values of 0 or more")]
    Negative {
        /// Position of the unit.
        unit: usize,
        /// Its value.
        value: f64,
    },
    /// Every value is zero, so Gi* (a share of the total) is undefined.
    #[error("every value is zero; there is nothing to scan")]
    AllZero,
    /// Every value is the same non-zero number, so the variance is zero and no z-score exists.
    #[error("every value is {0}; with no variation there is no hot or cold spot")]
    Constant(f64),
    /// Units without any neighbour under the chosen weights.
    #[error(
        "{} unit(s) have no neighbour under these weights (islands), e.g. unit #{}; use a wider distance band or \
         drop them",
        .units.len(),
        .units.first().copied().unwrap_or_default()
    )]
    Islands {
        /// Positions of the islands.
        units: Vec<usize>,
    },
    /// A unit neighbours every other unit, so its Gi* is 1 whatever the values and its variance is zero.
    #[error(
        "unit #{unit} neighbours every other unit; use a smaller distance band or a larger layer"
    )]
    NeighboursEveryone {
        /// Position of the unit.
        unit: usize,
    },
    /// The number of permutations is outside 99..=9,999 (0 means none).
    #[error("permutations must be 0 (none) or between 99 and 9999, not {0}")]
    Permutations(u32),
    /// Permutations times the largest neighbourhood is more work than one scan may take.
    #[error(
        "{permutations} permutations over neighbourhoods of up to {largest} units is too much work (limit {limit} \
         draws); use fewer permutations or a smaller distance band"
    )]
    TooMuchWork {
        /// Permutations asked for.
        permutations: u32,
        /// Largest number of neighbours of a unit.
        largest: usize,
        /// The limit on permutations × (largest + 1).
        limit: usize,
    },
    /// A distance band that is not a positive number of metres within the limit.
    #[error("the distance band must be more than 0 and at most {max} metres, not {metres}")]
    Distance {
        /// What was given.
        metres: f64,
        /// The largest band accepted.
        max: f64,
    },
    /// A unit's centroid is not a lon/lat position (distance bands need WGS-84 longitude, latitude).
    #[error("the centroid of unit #{unit} ({lon}, {lat}) is not a longitude, latitude in degrees")]
    NotLonLat {
        /// Position of the unit.
        unit: usize,
        /// Its centroid's x.
        lon: f64,
        /// Its centroid's y.
        lat: f64,
    },
    /// A unit has no geometry to take a vertex, edge or centroid from.
    #[error("unit #{unit} has an empty geometry")]
    EmptyGeometry {
        /// Position of the unit.
        unit: usize,
    },
    /// The weights would have more links (or need more distance evaluations) than the limit.
    #[error("the weights would have more than {max} neighbour links; use a smaller distance band")]
    TooManyLinks {
        /// The limit.
        max: usize,
    },
    /// A neighbour list given by the caller refers to a unit that does not exist or to the unit itself.
    #[error("neighbour list of unit #{unit} names #{neighbour}, which is itself or out of range")]
    BadNeighbour {
        /// Position of the unit.
        unit: usize,
        /// The bad entry.
        neighbour: usize,
    },
    /// A value matrix whose rows are not all as long as the number of units, or with too few or too many steps.
    #[error("the value matrix must have between {min} and {max} time steps of {units} values each")]
    MatrixShape {
        /// Units expected per step.
        units: usize,
        /// Fewest steps.
        min: usize,
        /// Most steps.
        max: usize,
    },
    /// A significance level outside (0, 1).
    #[error("a significance level must be between 0 and 1, not {0}")]
    Alpha(f64),
}

impl Error {
    /// A stable snake_case code for the error, for APIs and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Error::LengthMismatch { .. } => "length_mismatch",
            Error::TooFewUnits(_) => "too_few_units",
            Error::NonFinite { .. } => "non_finite_value",
            Error::Negative { .. } => "negative_value",
            Error::AllZero => "all_zero",
            Error::Constant(_) => "constant_values",
            Error::Islands { .. } => "islands",
            Error::NeighboursEveryone { .. } => "neighbours_everyone",
            Error::Permutations(_) => "permutations_out_of_range",
            Error::TooMuchWork { .. } => "too_much_work",
            Error::Distance { .. } => "bad_distance_band",
            Error::NotLonLat { .. } => "not_lon_lat",
            Error::EmptyGeometry { .. } => "empty_geometry",
            Error::TooManyLinks { .. } => "too_many_links",
            Error::BadNeighbour { .. } => "bad_neighbour",
            Error::MatrixShape { .. } => "matrix_shape",
            Error::Alpha(_) => "bad_alpha",
        }
    }
}

/// Upper tail of the standard normal, P(Z > x) (scipy's `norm.sf`), accurate far into the tail through `erfc`.
pub fn normal_sf(x: f64) -> f64 {
    0.5 * libm::erfc(x / std::f64::consts::SQRT_2)
}

#[cfg(test)]
mod reference_tests;
