//! Intel/AMD RAPL energy counters through the Linux powercap interface:
//! `/sys/class/powercap/intel-rapl:N[:M]/energy_uj`, a microjoule counter that wraps at
//! `max_energy_range_uj`.
//!
//! The total is the sum of the top-level zones (`intel-rapl:N`, one per CPU package, plus
//! `psys` on some laptops, which already contains the packages and is therefore left out of the
//! total); sub-zones (`core`, `uncore`, `dram`) are reported as parts. Since kernel 5.10 the
//! counters are readable by root only (CVE-2020-8694); detection says so.

use super::{EnergyError, EnergyMeter, EnergyWindow};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ID: &str = "rapl";

#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    /// `package-0`, `core`, `dram`, `psys`…, prefixed by the parent's name for sub-zones.
    pub name: String,
    pub dir: PathBuf,
    pub max_range_uj: u64,
    /// Top-level zone counted in the total.
    pub counted: bool,
}

impl Zone {
    fn read(&self) -> Result<u64, EnergyError> {
        let path = self.dir.join("energy_uj");
        let text = std::fs::read_to_string(&path).map_err(|e| EnergyError::Read {
            meter: ID,
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        text.trim().parse().map_err(|_| EnergyError::Read {
            meter: ID,
            path: path.display().to_string(),
            message: format!("'{}' is not a counter", text.trim()),
        })
    }
}

/// Microjoules between two readings of a counter that wraps at `max_range` (at most one wrap:
/// the default range, about 262 kJ, lasts over 20 minutes at 200 W).
pub fn counter_delta(start: u64, end: u64, max_range: u64) -> u64 {
    if end >= start {
        end - start
    } else {
        max_range.saturating_sub(start) + end
    }
}

pub struct Rapl {
    /// Filesystem root the sysfs paths hang from.
    pub root: PathBuf,
    pub zones: Vec<Zone>,
    running: Option<(Vec<u64>, Instant)>,
}

impl Rapl {
    pub fn probe(root: &Path) -> Result<Rapl, String> {
        let base = root.join("sys/class/powercap");
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&base)
            .map_err(|e| format!("no powercap interface at {}: {e}", base.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("intel-rapl:")))
            .collect();
        dirs.sort();
        let mut zones = Vec::new();
        for dir in dirs {
            let file = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let top = file.matches(':').count() == 1;
            let name = std::fs::read_to_string(dir.join("name")).map(|s| s.trim().to_string()).unwrap_or_else(|_| file.clone());
            let max_path = dir.join("max_energy_range_uj");
            let max_range_uj = std::fs::read_to_string(&max_path)
                .map_err(|e| format!("{}: {e}", max_path.display()))?
                .trim()
                .parse()
                .map_err(|_| format!("{} is not a number", max_path.display()))?;
            let name = if top {
                name
            } else {
                let parent = file.rsplit_once(':').map(|(p, _)| p.to_string()).unwrap_or_default();
                let parent_name = std::fs::read_to_string(base.join(&parent).join("name")).map(|s| s.trim().to_string()).unwrap_or(parent);
                format!("{parent_name}/{name}")
            };
            zones.push(Zone { counted: top && name != "psys", name, dir, max_range_uj });
        }
        if zones.is_empty() {
            return Err(format!("no RAPL zones (intel-rapl:*) under {}", base.display()));
        }
        for zone in &zones {
            zone.read().map_err(|e| match e {
                EnergyError::Read { message, path, .. } if message.contains("ermission") => {
                    format!("{path} is readable by root only (kernel ≥ 5.10, CVE-2020-8694): run as root or chmod it")
                }
                other => other.to_string(),
            })?;
        }
        if !zones.iter().any(|z| z.counted) {
            return Err("RAPL has only a psys zone or sub-zones; no package counter to total".into());
        }
        Ok(Rapl { root: root.to_path_buf(), zones, running: None })
    }
}

impl EnergyMeter for Rapl {
    fn id(&self) -> &'static str {
        ID
    }

    fn describe(&self) -> String {
        let names: Vec<&str> = self.zones.iter().map(|z| z.name.as_str()).collect();
        format!("RAPL energy counters (powercap) [{}]; CPU package energy, not the whole machine", names.join(", "))
    }

    fn min_window(&self) -> Duration {
        // The counters update about every millisecond; 200 ms keeps the read jitter under 1 %.
        Duration::from_millis(200)
    }

    fn start(&mut self) -> Result<(), EnergyError> {
        let counters = self.zones.iter().map(Zone::read).collect::<Result<Vec<_>, _>>()?;
        self.running = Some((counters, Instant::now()));
        Ok(())
    }

    fn stop(&mut self) -> Result<EnergyWindow, EnergyError> {
        let end_counters = self.zones.iter().map(Zone::read).collect::<Result<Vec<_>, _>>()?;
        let end = Instant::now();
        let (start_counters, start) = self.running.take().ok_or(EnergyError::NotStarted { meter: ID })?;
        let parts: Vec<(String, f64)> = self
            .zones
            .iter()
            .zip(start_counters.iter().zip(&end_counters))
            .map(|(z, (&a, &b))| (z.name.clone(), counter_delta(a, b, z.max_range_uj) as f64 / 1e6))
            .collect();
        let counted: Vec<&str> = self.zones.iter().filter(|z| z.counted).map(|z| z.name.as_str()).collect();
        let joules = self.zones.iter().zip(&parts).filter(|(z, _)| z.counted).map(|(_, p)| p.1).sum();
        Ok(EnergyWindow {
            joules,
            seconds: (end - start).as_secs_f64(),
            parts,
            rule: format!("sum of top-level zones ({})", counted.join(" + ")),
            samples: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_wraps_at_the_max_range() {
        assert_eq!(counter_delta(100, 350, 1000), 250);
        // 900 → wrap at 1000 → 150: 100 + 150.
        assert_eq!(counter_delta(900, 150, 1000), 250);
        assert_eq!(counter_delta(5, 5, 1000), 0);
    }
}
