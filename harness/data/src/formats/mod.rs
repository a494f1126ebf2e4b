//! Low-level readers shared by several datasets.
pub mod mat5;
pub mod text;
