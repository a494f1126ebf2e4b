//! Helpers that several harbench crates need, written once so that they agree: a results file,
//! a teacher and a checkpoint are all written the same crash-safe way, every "did you mean"
//! suggests with the same rule, and every median is the same median.
//!
//! - [`fs`]: atomic writes (temp file in the same folder, fsync, rename, fsync the folder) and
//!   sorted folder listings;
//! - [`names`]: the nearest known name to a typo;
//! - [`stats`]: median and mean;
//! - [`proc`]: resident memory from Linux's `/proc/<pid>/status`;
//! - [`interrupt`]: the process's one Ctrl-C handler;
//! - [`lock`]: lock files that name their owner, taken over when the owner is dead;
//! - [`progress`]: how long work reports its progress (a terminal bar in the binary, silence in
//!   tests), so that data preparation, training and suites share one trait.
//!
//! This crate depends on no other harbench crate, so any of them can use it.

pub mod fs;
pub mod interrupt;
pub mod lock;
pub mod names;
pub mod proc;
pub mod progress;
pub mod stats;
