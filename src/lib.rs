//! gridline: the server behind Beijing-style 接诉即办 (respond to complaints immediately) merged with 网格化管理
//! (grid management). See README.md for what it does and how to run it.

pub mod cli;
pub mod geo;
