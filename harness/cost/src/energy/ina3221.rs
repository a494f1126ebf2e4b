//! Jetson power rails from the on-board TI INA3221 monitors, read from sysfs.
//!
//! Two layouts exist:
//! - JetPack 4 (L4T 32, NVIDIA's `ina3221x` iio driver):
//!   `/sys/bus/i2c/drivers/ina3221x/*/iio:device*/rail_name_N` and `in_powerN_input` (mW).
//! - JetPack 5 and later (L4T 34+, mainline `ina3221` hwmon driver):
//!   `/sys/class/hwmon/hwmon*/` whose `name` is `ina3221`, with `inN_label`, `inN_input` (bus
//!   voltage, mV) and `currN_input` (mA); power = V·I.
//!
//! The rails are read every `period` on a background thread and integrated over the window
//! only (see [`super::sampler`]); the total follows [`RailSum`].

use super::rails::{self, RailSum};
use super::sampler::{integrate_rails, Reading, Sampler};
use super::{EnergyError, EnergyMeter, EnergyWindow};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ID: &str = "jetson-ina3221";

#[derive(Debug, Clone, PartialEq)]
enum Source {
    /// JetPack 4: one file in milliwatts.
    Milliwatts(PathBuf),
    /// JetPack 5+: bus voltage (mV) and current (mA).
    VoltsAmps { millivolts: PathBuf, milliamps: PathBuf },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rail {
    pub name: String,
    source: Source,
}

impl Rail {
    pub fn watts(&self) -> Result<f64, String> {
        match &self.source {
            Source::Milliwatts(p) => Ok(read_number(p)? / 1e3),
            Source::VoltsAmps { millivolts, milliamps } => Ok(read_number(millivolts)? * read_number(milliamps)? / 1e6),
        }
    }
}

fn read_number(path: &Path) -> Result<f64, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    text.trim().parse::<f64>().map_err(|_| format!("{}: '{}' is not a number", path.display(), text.trim()))
}

fn read_text(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    entries.sort();
    entries
}

/// JetPack 4 rails under `root`/sys/bus/i2c/drivers/ina3221x.
fn iio_rails(root: &Path) -> Vec<Rail> {
    let mut rails = Vec::new();
    for chip in sorted_entries(&root.join("sys/bus/i2c/drivers/ina3221x")) {
        for dev in
            sorted_entries(&chip).into_iter().filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("iio:device")))
        {
            for n in 0..8 {
                let (Some(name), power) = (read_text(&dev.join(format!("rail_name_{n}"))), dev.join(format!("in_power{n}_input"))) else {
                    continue;
                };
                if power.exists() {
                    rails.push(Rail { name, source: Source::Milliwatts(power) });
                }
            }
        }
    }
    rails
}

/// JetPack 5+ rails under `root`/sys/class/hwmon.
fn hwmon_rails(root: &Path) -> Vec<Rail> {
    let mut rails = Vec::new();
    for dir in sorted_entries(&root.join("sys/class/hwmon")) {
        if read_text(&dir.join("name")).as_deref() != Some("ina3221") {
            continue;
        }
        for n in 1..=8 {
            let Some(name) = read_text(&dir.join(format!("in{n}_label"))) else { continue };
            let (millivolts, milliamps) = (dir.join(format!("in{n}_input")), dir.join(format!("curr{n}_input")));
            // "NC": a channel the board leaves unconnected.
            if name != "NC" && millivolts.exists() && milliamps.exists() {
                rails.push(Rail { name, source: Source::VoltsAmps { millivolts, milliamps } });
            }
        }
    }
    rails
}

pub struct Ina3221 {
    /// Filesystem root the sysfs paths hang from (`/` on a board; a fake tree in tests).
    pub root: PathBuf,
    pub layout: &'static str,
    pub rails: Vec<Rail>,
    pub period: Duration,
    pub policy: RailSum,
    running: Option<(Sampler, Instant)>,
}

impl Ina3221 {
    /// Finds the rails under `root`, JetPack 5+ layout first; the error says what was looked for.
    pub fn probe(root: &Path) -> Result<Ina3221, String> {
        let (layout, rails) = match hwmon_rails(root) {
            r if !r.is_empty() => ("hwmon (JetPack 5+)", r),
            _ => ("iio (JetPack 4)", iio_rails(root)),
        };
        if rails.is_empty() {
            return Err(format!(
                "no INA3221 rails: no hwmon device named ina3221 under {} and no rail_name_N/in_powerN_input under {}",
                root.join("sys/class/hwmon").display(),
                root.join("sys/bus/i2c/drivers/ina3221x/*/iio:device*").display()
            ));
        }
        for rail in &rails {
            rail.watts().map_err(|e| format!("rail {} is not readable: {e}", rail.name))?;
        }
        Ok(Ina3221 { root: root.to_path_buf(), layout, rails, period: Duration::from_millis(10), policy: RailSum::Auto, running: None })
    }

    fn read_all(rails: &[Rail]) -> Result<Reading, String> {
        rails.iter().map(|r| r.watts().map_err(|e| format!("rail {}: {e}", r.name))).collect()
    }
}

impl EnergyMeter for Ina3221 {
    fn id(&self) -> &'static str {
        ID
    }

    fn describe(&self) -> String {
        let names: Vec<&str> = self.rails.iter().map(|r| r.name.as_str()).collect();
        format!("Jetson INA3221 rails via {} [{}], sampled every {} ms", self.layout, names.join(", "), self.period.as_millis())
    }

    fn min_window(&self) -> Duration {
        // At least 50 samples inside the window.
        self.period * 50
    }

    fn start(&mut self) -> Result<(), EnergyError> {
        let rails = self.rails.clone();
        let before = Instant::now();
        let sampler = Sampler::start(move || Ina3221::read_all(&rails), self.period);
        // A sample at or before the window's start, so that the window is bracketed.
        if !sampler.wait_for_sample_after(before, Duration::from_secs(2)) {
            let message = sampler.finish().err().unwrap_or_else(|| "no sample within 2 s".into());
            return Err(EnergyError::Meter { meter: ID, message });
        }
        self.running = Some((sampler, Instant::now()));
        Ok(())
    }

    fn stop(&mut self) -> Result<EnergyWindow, EnergyError> {
        let end = Instant::now();
        let (sampler, start) = self.running.take().ok_or(EnergyError::NotStarted { meter: ID })?;
        sampler.wait_for_sample_after(end, Duration::from_secs(2));
        let samples = sampler.finish().map_err(|message| EnergyError::Meter { meter: ID, message })?;
        let (joules, inside) = integrate_rails(&samples, start, end, self.rails.len());
        let parts: Vec<(String, f64)> = self.rails.iter().map(|r| r.name.clone()).zip(joules).collect();
        let (total, rule) = rails::total(&parts, self.policy);
        Ok(EnergyWindow { joules: total, seconds: (end - start).as_secs_f64(), parts, rule, samples: Some(inside) })
    }
}
