//! Pure statistics over plain data (no actix, no diesel): the counts behind the heat maps and their arithmetic.

pub mod counts;
