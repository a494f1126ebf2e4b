//! The machine a result came from (`machine.json`): CPU, cores, memory, OS, GPUs.
//!
//! Results are kept per machine because timings (and, on GPUs, numerics) depend on it. The
//! machine's folder name is `HARBENCH_MACHINE` when set (give one name to one physical machine
//! whose container hostnames change), otherwise the host name.
//!
//! A folder name does not pin the numbers: two virtual machines called `vm`, one with AVX-512 and
//! one without, train the same seed to different weights from the first epoch on (the CPU
//! kernels pick their SIMD code and their blocking at run time; seen on 2026-12-03: the paper
//! suite's teachers, retrained at their own commit, differed from their records). So
//! `machine.json` also records [`Kernels`], and a results folder written on other kernels is
//! not extended ([`Machine::other_kernels`]).

use harbench_models::numerics::Numerics;
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
    /// What the CPU kernels choose their code by; absent in files written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernels: Option<Kernels>,
}

/// What a seed's numbers depend on besides the code: the SIMD level that the matrix and
/// convolution kernels dispatch on at run time (gemm, macerator) and the cache sizes that gemm
/// sizes its blocks by (so its sums run in another order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kernels {
    /// e.g. `x86-64 avx512f`, `x86-64 avx2+fma`, `aarch64 neon`.
    pub simd: String,
    /// CPU 0's caches from sysfs, e.g. `L1d 32K, L1i 32K, L2 512K, L3 32768K` (empty where
    /// the system does not say).
    pub caches: String,
    /// The build's numerics on this CPU ([`Numerics::name`]): `portable-x86-64-v3` where the
    /// kernels add in the same order on every x86-64-v3 CPU, so `simd` and `caches` do not
    /// matter; absent in files written before portable numerics, whose kernels followed the CPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerics: Option<String>,
}

impl Kernels {
    pub fn detect() -> Kernels {
        Kernels { simd: simd_level(), caches: caches(Path::new("/")), numerics: Some(Numerics::current().name().into()) }
    }

    /// Whether these kernels give the same bits on every machine of their numerics.
    pub fn portable(&self) -> bool {
        self.numerics.as_deref().is_some_and(Numerics::is_portable_name)
    }

    /// Whether a seed gives the same numbers on `self` and `other`: both portable, or the same
    /// SIMD level, caches and numerics.
    pub fn same_numbers(&self, other: &Kernels) -> bool {
        (self.portable() && other.portable()) || self == other
    }

    pub fn describe(&self) -> String {
        let cpu = if self.caches.is_empty() {
            format!("{} (caches unknown)", self.simd)
        } else {
            format!("{} with caches {}", self.simd, self.caches)
        };
        match &self.numerics {
            Some(n) if self.portable() => format!("{n} (here on {cpu})"),
            Some(n) => format!("{n}: {cpu}"),
            None => format!("native (before portable numerics): {cpu}"),
        }
    }
}

impl Machine {
    pub fn detect() -> Machine {
        let system = System::new_with_specifics(
            RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing()).with_memory(MemoryRefreshKind::nothing().with_ram()),
        );
        let hostname = System::host_name();
        // Portable numerics give the same bits on every x86-64-v3 machine, so their records
        // share one result set whatever the host; other builds keep one set per host.
        let numerics = Numerics::current();
        let default_name = if numerics.portable() { Some(numerics.name().to_string()) } else { hostname.clone() };
        let chosen = std::env::var("HARBENCH_MACHINE").ok().filter(|s| !s.trim().is_empty()).or(default_name);
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
            kernels: Some(Kernels::detect()),
        }
    }

    /// How the kernels of `recorded` (an existing `machine.json`) and of `self` differ, as
    /// `(recorded, self)` descriptions: `Some` when both files name their kernels and these
    /// differ, so the same seed gives other numbers; `None` when they match or either file
    /// predates the field (nothing to compare).
    pub fn other_kernels(&self, recorded: &Machine) -> Option<(String, String)> {
        let (here, there) = (self.kernels.as_ref()?, recorded.kernels.as_ref()?);
        (!here.same_numbers(there)).then(|| (there.describe(), here.describe()))
    }
}

/// The widest SIMD level the kernels can pick on this CPU.
fn simd_level() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        let level = if std::arch::is_x86_feature_detected!("avx512f") {
            "avx512f"
        } else if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            "avx2+fma"
        } else if std::arch::is_x86_feature_detected!("sse4.1") {
            "sse4.1"
        } else {
            "sse2"
        };
        format!("x86-64 {level}")
    }
    #[cfg(target_arch = "aarch64")]
    {
        let level = if std::arch::is_aarch64_feature_detected!("sve") { "sve" } else { "neon" };
        format!("aarch64 {level}")
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        std::env::consts::ARCH.to_string()
    }
}

/// CPU 0's caches under `root` (`/` on a real machine; a fake tree in tests), in index order:
/// `L<level><d|i|> <size>` joined by ", "; empty where sysfs has none.
pub fn caches(root: &Path) -> String {
    let dir = root.join("sys/devices/system/cpu/cpu0/cache");
    let read = |index: &Path, file: &str| std::fs::read_to_string(index.join(file)).ok().map(|s| s.trim().to_string());
    let mut indexes: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("index")))
                .collect()
        })
        .unwrap_or_default();
    indexes.sort();
    let caches: Vec<String> = indexes
        .iter()
        .filter_map(|index| {
            let (level, size) = (read(index, "level")?, read(index, "size")?);
            let kind = match read(index, "type").as_deref() {
                Some("Data") => "d",
                Some("Instruction") => "i",
                _ => "",
            };
            Some(format!("L{level}{kind} {size}"))
        })
        .collect();
    caches.join(", ")
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
    fn reads_caches_from_a_fake_tree() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(caches(tmp.path()), "");
        let cache = tmp.path().join("sys/devices/system/cpu/cpu0/cache");
        for (i, level, kind, size) in
            [(0, 1, "Data", "32K"), (1, 1, "Instruction", "32K"), (2, 2, "Unified", "512K"), (3, 3, "Unified", "32768K")]
        {
            let index = cache.join(format!("index{i}"));
            std::fs::create_dir_all(&index).unwrap();
            std::fs::write(index.join("level"), format!("{level}\n")).unwrap();
            std::fs::write(index.join("type"), format!("{kind}\n")).unwrap();
            std::fs::write(index.join("size"), format!("{size}\n")).unwrap();
        }
        std::fs::create_dir_all(cache.join("uevent-not-an-index")).unwrap();
        assert_eq!(caches(tmp.path()), "L1d 32K, L1i 32K, L2 512K, L3 32768K");
    }

    #[test]
    fn other_kernels_are_named_and_unknown_ones_pass() {
        let here = Machine::detect();
        let kernels =
            |simd: &str, caches: &str| Some(Kernels { simd: simd.into(), caches: caches.into(), numerics: Some("native".into()) });
        let with = |k: Option<Kernels>| Machine { kernels: k, ..here.clone() };
        let avx512 = with(kernels("x86-64 avx512f", "L2 1024K"));
        let avx2 = with(kernels("x86-64 avx2+fma", "L2 1024K"));
        let (recorded, here) = avx2.other_kernels(&avx512).expect("different SIMD levels differ");
        assert_eq!(
            (recorded.as_str(), here.as_str()),
            ("native: x86-64 avx512f with caches L2 1024K", "native: x86-64 avx2+fma with caches L2 1024K")
        );
        assert!(with(kernels("x86-64 avx512f", "L2 2048K")).other_kernels(&avx512).is_some(), "other caches, other blocking");
        assert_eq!(avx512.other_kernels(&avx512.clone()), None);
        assert_eq!(avx2.other_kernels(&with(None)), None, "a file from before the field: nothing to compare");
        // Portable numerics: the same bits whatever the SIMD level and caches, but not the same
        // as native kernels, nor as a file from before the numerics field.
        let portable = |simd: &str, caches: &str| {
            Some(Kernels { simd: simd.into(), caches: caches.into(), numerics: Some(Numerics::PortableX86V3.name().into()) })
        };
        let (p512, p2) = (with(portable("x86-64 avx512f", "L1d 48K, L2 2048K")), with(portable("x86-64 avx2+fma", "L1d 32K, L2 512K")));
        assert_eq!(p2.other_kernels(&p512), None, "portable numerics on two CPU kinds");
        let (recorded, _) = p2.other_kernels(&avx2).expect("native and portable kernels differ");
        assert!(recorded.starts_with("native: "), "{recorded}");
        let before = with(Some(Kernels { simd: "x86-64 avx2+fma".into(), caches: "L2 1024K".into(), numerics: None }));
        let (recorded, here) = p2.other_kernels(&before).expect("a file from before portable numerics had native kernels");
        assert!(
            recorded.starts_with("native (before portable numerics)") && here.starts_with("portable-x86-64-v3 (here on x86-64 avx2+fma"),
            "{recorded} | {here}"
        );
        // Files written before the field still read, and a new one round-trips.
        let old = r#"{"name":"vm","hostname":"vm","cpu":"AMD EPYC","arch":"x86_64","physical_cores":2,"logical_cores":2,"memory_bytes":1,"os":null,"kernel":null,"gpus":[]}"#;
        assert_eq!(serde_json::from_str::<Machine>(old).unwrap().kernels, None);
        let text = serde_json::to_string(&avx2).unwrap();
        assert_eq!(serde_json::from_str::<Machine>(&text).unwrap(), avx2);
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
