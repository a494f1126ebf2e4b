//! Training and evaluation of harbench models.

pub mod metrics;
