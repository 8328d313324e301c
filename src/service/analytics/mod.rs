//! The leaders' numbers: the counts kept current by every write (`counts`), the heat map and the series read from
//! them (`heatmap`), and the overview of a reader's own places (`overview`), the monthly topic ranking (`monthly`) and the
//! monthly report with its maps (`report`). The arithmetic is pure and lives in
//! `crate::analytics`; this folder reads and writes the counts through `store::counts`.

pub mod counts;
pub mod heatmap;
pub mod monthly;
pub mod overview;
pub mod report;
pub mod tiles;
