//! Energy meters. Each meter is one file behind [`EnergyMeter`] and one line in the `meters!`
//! list below (its file, its id, what it measures, how it is probed); [`detect`] picks what
//! this machine has from that list, saying plainly why each other meter is absent.
//!
//! Two kinds of meter exist: cumulative counters read at the window's two ends (NVML, RAPL), and
//! instantaneous power sampled on a background thread and integrated over the window (Jetson
//! INA3221 rails, `tegrastats`). Both answer the same question: joules spent between `start` and
//! `stop`.

pub mod detect;
pub mod rails;
pub mod sampler;

use detect::{MeterEntry, Target};

macro_rules! meters {
    ($($module:ident => $id:literal, [$($target:ident),+], $probe:expr;)*) => {
        $(pub mod $module;)*

        /// Every meter, in order of preference: the lines of `meters!`.
        pub const METERS: &[MeterEntry] = &[$(MeterEntry { id: $id, targets: &[$(Target::$target),+], probe: $probe }),*];
    };
}

// Jetson meters see the whole module (CPU and GPU); RAPL sees CPU packages only; NVML a discrete
// GPU only.
meters! {
    ina3221 => "jetson-ina3221", [Cpu, Gpu], |p| Ok(Box::new(ina3221::Ina3221::probe(&p.root)?));
    tegrastats => "tegrastats", [Cpu, Gpu], |p| Ok(Box::new(tegrastats::Tegrastats::probe(p.tegrastats.as_deref())?));
    nvml => "nvml", [Gpu], |p| Ok(Box::new(nvml::NvmlMeter::probe(p.nvml_library.as_deref(), None)?));
    rapl => "rapl", [Cpu], |p| Ok(Box::new(rapl::Rapl::probe(&p.root)?));
}

use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum EnergyError {
    #[error("{meter}: reading {path}: {message}")]
    Read { meter: &'static str, path: String, message: String },
    #[error("{meter}: {message}")]
    Meter { meter: &'static str, message: String },
    #[error("{meter}: stop() called without start()")]
    NotStarted { meter: &'static str },
}

/// Energy over one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyWindow {
    /// Joules over the window (see `rule` for which parts make the total).
    pub joules: f64,
    /// Length of the window as the meter timed it, seconds.
    pub seconds: f64,
    /// Joules of every part the meter reads (GPU, rail, RAPL zone), whether counted in the total or not.
    pub parts: Vec<(String, f64)>,
    /// How the total is formed from the parts.
    pub rule: String,
    /// Power samples taken inside the window (sampling meters only).
    pub samples: Option<usize>,
}

impl EnergyWindow {
    pub fn watts(&self) -> f64 {
        if self.seconds > 0.0 {
            self.joules / self.seconds
        } else {
            0.0
        }
    }
}

/// A source of energy readings on this machine.
pub trait EnergyMeter: Send {
    /// Short identifier, as `--meter` takes it.
    fn id(&self) -> &'static str;
    /// What is measured, in words: which device, rails or zones.
    fn describe(&self) -> String;
    /// Shortest window this meter resolves well (several of its update periods); a caller
    /// lengthens its timed loop to at least this.
    fn min_window(&self) -> Duration;
    /// Opens a measurement window.
    fn start(&mut self) -> Result<(), EnergyError>;
    /// Closes the window and returns its energy.
    fn stop(&mut self) -> Result<EnergyWindow, EnergyError>;
}
