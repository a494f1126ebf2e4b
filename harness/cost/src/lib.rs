//! harbench's cost measurements: what a model costs to run, next to what it scores.
//!
//! - parameters ([`params`]) and multiply-accumulates (`harbench_models::macs`);
//! - single-window latency and batch throughput ([`latency`]);
//! - heap memory of the weights and of one inference ([`alloc`]; the process's resident set in [`memory`]);
//! - energy per inference from whatever meter the machine has ([`energy`]), with idle power.
//!
//! [`profile::profile`] runs them all on one model; `harbench profile` prints and saves it.

pub mod alloc;
pub mod energy;
pub mod latency;
pub mod memory;
pub mod params;
pub mod profile;

pub use alloc::HeapMemory;
pub use energy::detect::{detect, Choice, Detection, Probe, Target};
pub use energy::{EnergyError, EnergyMeter, EnergyWindow};
pub use profile::{detached_copy, profile, CostError, Energy, Profile, ProfileConfig, ValidProfileConfig};
