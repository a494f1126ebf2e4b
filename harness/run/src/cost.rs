//! The short cost profile every trained model of a suite gets (the cost table): `harbench
//! profile`'s measurements with shorter latency loops, on the device that trained it.

use crate::record::Cost;
use burn::tensor::Device;
use harbench_common::fs::{write_atomic, FileError};
use harbench_cost::energy::detect::Finding;
use harbench_cost::Profile;
use harbench_cost::{detached_copy, detect, profile, Choice, Probe, ProfileConfig, Target};
use harbench_data::cache::Prepared;
use harbench_models::Model;
use harbench_models::ModelConfig;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What `harbench profile` writes: the profile, the model, and what every meter probe found.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileReport {
    pub model_name: String,
    pub model: ModelConfig,
    pub dataset: Option<String>,
    pub checkpoint: Option<PathBuf>,
    pub energy_meters: Vec<Finding>,
    pub profile: Profile,
    pub environment: crate::Environment,
}

impl ProfileReport {
    pub fn save(&self, path: &Path) -> Result<(), FileError> {
        write_atomic(path, serde_json::to_string_pretty(self).expect("plain data serialises").as_bytes())
    }
}

/// Settings of the suite's profile for windows of `data`.
pub fn suite_profile_config(data: &Prepared) -> ProfileConfig {
    ProfileConfig {
        channels: data.windows.channels,
        length: data.windows.length,
        classes: data.meta.classes.len(),
        latency: harbench_cost::latency::LatencyConfig {
            warmup: Duration::from_millis(200),
            min_samples: 20,
            min_time: Duration::from_millis(500),
            max_time: Duration::from_secs(5),
        },
        ..ProfileConfig::default()
    }
}

/// Profiles `model` with the meter this machine has (found as `harbench profile` finds it,
/// `HARBENCH_SYSFS_ROOT` and the other probe variables included). A profile that fails is
/// recorded as such; it never fails the run.
pub fn profile_trained(model: &Model, data: &Prepared, device: &Device) -> Cost {
    let config = match suite_profile_config(data).check() {
        Ok(config) => config,
        Err(e) => return Cost::Failed { error: e.to_string() },
    };
    let mut detection = detect(&Probe::from_env(), Target::Cpu, &Choice::Auto);
    let absence = detection.absence();
    let meter = match detection.meter.as_deref_mut() {
        Some(m) => Ok(m),
        None => Err(absence),
    };
    // A copy with weights of its own, so the heap count sees them (clones share storage).
    match profile(|_| Ok(detached_copy(model)), device, &config, meter) {
        Ok(p) => Cost::Profiled(Box::new(p)),
        Err(e) => Cost::Failed { error: e.to_string() },
    }
}
