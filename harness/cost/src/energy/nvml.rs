//! NVIDIA GPUs through NVML (`nvmlDeviceGetTotalEnergyConsumption`, Volta and later): a
//! millijoule counter of the board's energy since the driver loaded. Its value refreshes every
//! 20–100 ms, so a window must last many refreshes: [`EnergyMeter::min_window`] is 1 s and the
//! caller lengthens its loop to at least that.
//!
//! The library is loaded at run time (`libnvidia-ml.so.1`), so harbench builds and runs on
//! machines without a driver; detection then reports why NVML is absent.

use super::{EnergyError, EnergyMeter, EnergyWindow};
use nvml_wrapper::Nvml;
use std::ffi::OsStr;
use std::path::Path;
use std::time::{Duration, Instant};

const ID: &str = "nvml";

pub struct NvmlMeter {
    nvml: Nvml,
    /// GPU indices measured (all GPUs unless one is chosen).
    pub gpus: Vec<u32>,
    pub names: Vec<String>,
    running: Option<(Vec<u64>, Instant)>,
}

impl NvmlMeter {
    /// Loads NVML (from `library` when given, else the driver's `libnvidia-ml.so.1`) and checks
    /// that every GPU reports its energy counter. `gpu`: measure only that index.
    pub fn probe(library: Option<&Path>, gpu: Option<u32>) -> Result<NvmlMeter, String> {
        let nvml = match library {
            Some(path) => Nvml::builder().lib_path(OsStr::new(path)).init(),
            None => Nvml::init(),
        }
        .map_err(|e| format!("NVML unavailable ({e}): no NVIDIA driver library could be loaded or initialised"))?;
        let count = nvml.device_count().map_err(|e| format!("NVML device count: {e}"))?;
        if count == 0 {
            return Err("NVML loaded but reports no GPU".into());
        }
        let gpus: Vec<u32> = match gpu {
            Some(i) if i < count => vec![i],
            Some(i) => return Err(format!("GPU {i} requested but NVML reports {count} GPU(s)")),
            None => (0..count).collect(),
        };
        let mut names = Vec::new();
        for &i in &gpus {
            let device = nvml.device_by_index(i).map_err(|e| format!("NVML GPU {i}: {e}"))?;
            let name = device.name().unwrap_or_else(|_| "unknown GPU".into());
            device
                .total_energy_consumption()
                .map_err(|e| format!("NVML GPU {i} ({name}) has no energy counter ({e}); it needs a Volta or newer GPU"))?;
            names.push(name);
        }
        Ok(NvmlMeter { nvml, gpus, names, running: None })
    }

    fn read(&self) -> Result<Vec<u64>, EnergyError> {
        self.gpus
            .iter()
            .map(|&i| {
                self.nvml
                    .device_by_index(i)
                    .and_then(|d| d.total_energy_consumption())
                    .map_err(|e| EnergyError::Meter { meter: ID, message: format!("GPU {i}: reading the energy counter: {e}") })
            })
            .collect()
    }
}

impl EnergyMeter for NvmlMeter {
    fn id(&self) -> &'static str {
        ID
    }

    fn describe(&self) -> String {
        let gpus: Vec<String> = self.gpus.iter().zip(&self.names).map(|(i, n)| format!("GPU {i} {n}")).collect();
        format!("NVML total energy counter [{}]; the whole board, not the host", gpus.join(", "))
    }

    fn min_window(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn start(&mut self) -> Result<(), EnergyError> {
        self.running = Some((self.read()?, Instant::now()));
        Ok(())
    }

    fn stop(&mut self) -> Result<EnergyWindow, EnergyError> {
        let end_counters = self.read()?;
        let end = Instant::now();
        let (start_counters, start) = self.running.take().ok_or(EnergyError::NotStarted { meter: ID })?;
        let parts: Vec<(String, f64)> = self
            .gpus
            .iter()
            .zip(start_counters.iter().zip(&end_counters))
            .map(|(i, (&a, &b))| (format!("gpu{i}"), b.saturating_sub(a) as f64 / 1e3))
            .collect();
        Ok(EnergyWindow {
            joules: parts.iter().map(|p| p.1).sum(),
            seconds: (end - start).as_secs_f64(),
            rule: format!("sum over {} GPU(s)", parts.len()),
            parts,
            samples: None,
        })
    }
}
