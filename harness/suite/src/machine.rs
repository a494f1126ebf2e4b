//! The machine a result came from (`machine.json`): CPU, cores, memory, OS, GPUs.
//!
//! Results are kept per machine because timings (and, on GPUs, numerics) depend on it. The
//! machine's folder name is `HARBENCH_MACHINE` when set (give one name to one physical machine
//! whose container hostnames change), otherwise the host name.

use serde::{Deserialize, Serialize};
use std::path::Path;
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Folder name under `results/<suite>/<commit>/`.
    pub name: String,
    pub hostname: Option<String>,
    pub cpu: String,
    pub arch: String,
    pub physical_cores: Option<usize>,
    pub logical_cores: usize,
    pub memory_bytes: u64,
    pub os: Option<String>,
    pub kernel: Option<String>,
    /// GPU models found (NVIDIA driver's /proc entries, or a Jetson's device-tree model).
    pub gpus: Vec<String>,
}

impl Machine {
    pub fn detect() -> Machine {
        let system = System::new_with_specifics(
            RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing()).with_memory(MemoryRefreshKind::nothing().with_ram()),
        );
        let hostname = System::host_name();
        let chosen = std::env::var("HARBENCH_MACHINE").ok().filter(|s| !s.trim().is_empty()).or_else(|| hostname.clone());
        Machine {
            name: folder_name(chosen.as_deref().unwrap_or("unknown-machine")),
            hostname,
            cpu: system.cpus().first().map(|c| c.brand().trim().to_string()).unwrap_or_default(),
            arch: System::cpu_arch(),
            physical_cores: System::physical_core_count(),
            logical_cores: system.cpus().len(),
            memory_bytes: system.total_memory(),
            os: System::long_os_version(),
            kernel: System::kernel_version(),
            gpus: gpus(Path::new("/")),
        }
    }
}

/// A name safe as one path component: letters, digits, `.`, `_`, `-`; the rest become `-`.
pub fn folder_name(name: &str) -> String {
    let cleaned: String = name.trim().chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '-' }).collect();
    let cleaned = cleaned.trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "unknown-machine".into()
    } else {
        cleaned
    }
}

/// GPU models under `root` (`/` on a real machine; a fake tree in tests).
pub fn gpus(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(root.join("proc/driver/nvidia/gpus")) {
        let mut dirs: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        dirs.sort();
        for dir in dirs {
            if let Ok(text) = std::fs::read_to_string(dir.join("information")) {
                if let Some(model) = nvidia_model(&text) {
                    found.push(model);
                }
            }
        }
    }
    // Jetson boards have no PCI GPU entry; the device tree names the module.
    if found.is_empty() {
        if let Ok(model) = std::fs::read_to_string(root.join("proc/device-tree/model")) {
            let model = model.trim_end_matches('\0').trim().to_string();
            if model.to_lowercase().contains("jetson") {
                found.push(model);
            }
        }
    }
    found
}

/// The `Model:` line of the NVIDIA driver's per-GPU `information` file.
fn nvidia_model(text: &str) -> Option<String> {
    text.lines().find_map(|l| l.strip_prefix("Model:")).map(|m| m.trim().to_string()).filter(|m| !m.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_this_machine() {
        let m = Machine::detect();
        assert!(m.logical_cores >= 1 && m.memory_bytes > 0, "{m:?}");
        assert!(!m.name.is_empty() && !m.name.contains('/'));
    }

    #[test]
    fn folder_names_are_one_safe_component() {
        assert_eq!(folder_name("lab box/1"), "lab-box-1");
        assert_eq!(folder_name("..x"), "x");
        assert_eq!(folder_name("  "), "unknown-machine");
    }

    #[test]
    fn reads_gpus_from_a_fake_tree() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(gpus(tmp.path()).is_empty());
        let dt = tmp.path().join("proc/device-tree");
        std::fs::create_dir_all(&dt).unwrap();
        std::fs::write(dt.join("model"), "NVIDIA Jetson Xavier NX Developer Kit\0").unwrap();
        assert_eq!(gpus(tmp.path()), vec!["NVIDIA Jetson Xavier NX Developer Kit"]);
        let gpu = tmp.path().join("proc/driver/nvidia/gpus/0000:01:00.0");
        std::fs::create_dir_all(&gpu).unwrap();
        std::fs::write(gpu.join("information"), "Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 42\nGPU UUID: \t GPU-1\n").unwrap();
        assert_eq!(gpus(tmp.path()), vec!["NVIDIA H100 80GB HBM3"]);
    }
}
