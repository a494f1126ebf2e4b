//! The one list of energy meters, and the choice among those this machine has.

use super::{EnergyMeter, METERS};
use serde::Serialize;
use std::path::PathBuf;

/// Where the meters look: every path is injectable so that tests run on fake trees.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Root of the sysfs paths (`/`).
    pub root: PathBuf,
    /// NVML library to load (`None`: the driver's `libnvidia-ml.so.1`).
    pub nvml_library: Option<PathBuf>,
    /// `tegrastats` program (`None`: looked up on `PATH` and in `/usr/bin`).
    pub tegrastats: Option<PathBuf>,
}

impl Default for Probe {
    fn default() -> Self {
        Probe { root: PathBuf::from("/"), nvml_library: None, tegrastats: None }
    }
}

impl Probe {
    /// The default probe, with each path overridable from the environment: `HARBENCH_SYSFS_ROOT`
    /// (a folder standing for `/`, e.g. a copy of a Jetson's sysfs), `HARBENCH_NVML_LIBRARY`,
    /// `HARBENCH_TEGRASTATS`.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let default = Probe::default();
        Probe {
            root: var("HARBENCH_SYSFS_ROOT").unwrap_or(default.root),
            nvml_library: var("HARBENCH_NVML_LIBRARY"),
            tegrastats: var("HARBENCH_TEGRASTATS"),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Target::Cpu => "CPU",
            Target::Gpu => "GPU",
        })
    }
}

/// What is being measured: picks which meters `auto` may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// Inference on the host CPU.
    Cpu,
    /// Inference on an NVIDIA GPU.
    Gpu,
}

/// One meter of [`super::METERS`] (a line of `meters!`).
pub struct MeterEntry {
    pub id: &'static str,
    /// What it measures: `auto` uses it for these targets only.
    pub targets: &'static [Target],
    pub probe: fn(&Probe) -> Result<Box<dyn EnergyMeter>, String>,
}

pub fn ids() -> Vec<&'static str> {
    METERS.iter().map(|m| m.id).collect()
}

/// One meter's probe: found, or why not.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub meter: &'static str,
    pub available: bool,
    /// What it measures when found, why it is absent otherwise.
    pub detail: String,
}

/// The meter to use (if any) and what every probe found.
pub struct Detection {
    pub meter: Option<Box<dyn EnergyMeter>>,
    pub findings: Vec<Finding>,
}

impl Detection {
    /// Why there is no meter, in one line.
    pub fn absence(&self) -> String {
        let reasons: Vec<String> = self.findings.iter().map(|f| format!("{}: {}", f.meter, f.detail)).collect();
        format!("no energy meter available ({})", reasons.join("; "))
    }
}

/// Which meter `--meter` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// The first meter in [`METERS`] order that measures the target.
    Auto,
    /// Energy is not measured.
    None,
    /// This meter, whatever the target.
    Named(String),
}

impl std::str::FromStr for Choice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Choice::Auto),
            "none" => Ok(Choice::None),
            name if ids().contains(&name) => Ok(Choice::Named(name.to_string())),
            other => Err(format!("unknown meter '{other}' (expected auto, none, {})", ids().join(", "))),
        }
    }
}

/// Probes the meters `choice` allows and keeps the first that works.
pub fn detect(probe: &Probe, target: Target, choice: &Choice) -> Detection {
    let mut findings = Vec::new();
    let mut meter = None;
    for MeterEntry { id, targets, probe: probe_fn } in METERS {
        let wanted = match choice {
            Choice::None => false,
            Choice::Auto => targets.contains(&target),
            Choice::Named(name) => name == id,
        };
        if !wanted {
            let why = match choice {
                Choice::None => "energy measurement switched off (--meter none)".to_string(),
                Choice::Named(name) => format!("not asked for (--meter {name})"),
                Choice::Auto => format!("does not measure {target} inference"),
            };
            findings.push(Finding { meter: id, available: false, detail: why });
            continue;
        }
        // Every wanted meter is probed (cheap: file reads, a library load) so the report lists
        // all that exist; the first one is used.
        match probe_fn(probe) {
            Ok(m) => {
                findings.push(Finding { meter: id, available: true, detail: m.describe() });
                meter = meter.or(Some(m));
            }
            Err(why) => findings.push(Finding { meter: id, available: false, detail: why }),
        }
    }
    Detection { meter, findings }
}
