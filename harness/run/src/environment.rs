//! The environment that produced a run's numbers, recorded with them (as asv keys its results):
//! the same seed gives the same numbers only on the same build, backend and thread count.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    /// Cargo profile of the build: `release` or `debug`.
    pub build_profile: String,
    /// Cargo features of the build that change what runs (`gpu`).
    pub features: Vec<String>,
    /// burn backend: `flex` (CPU) or `wgpu` (Vulkan).
    pub backend: String,
    /// The device, as burn names it.
    pub device: String,
    /// `rustc --version` of the compiler that built harbench.
    pub rustc: String,
    /// Threads of the CPU backend's pool.
    pub threads: usize,
    pub host: String,
    pub os: String,
    pub arch: String,
    pub harbench_version: String,
    /// The kernels' numerics (`portable-x86-64-v3`: the same bits on every x86-64-v3 CPU;
    /// `native`: this CPU's own; harbench_models::numerics). Absent in records made before
    /// portable numerics, whose kernels followed the CPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerics: Option<String>,
    /// The CPU's model name, since a result set of portable runs pools several machines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
}

impl Environment {
    /// This process's environment for a run on `device`.
    pub fn current(choice: harbench_train::DeviceChoice, device: &burn::tensor::Device) -> Self {
        let mut features = Vec::new();
        if cfg!(feature = "cuda") {
            features.push("cuda".to_string());
        }
        if cfg!(feature = "vulkan") {
            features.push("vulkan".to_string());
        }
        Environment {
            build_profile: if cfg!(debug_assertions) { "debug" } else { "release" }.to_string(),
            features,
            backend: choice.backend_name().to_string(),
            device: format!("{device:?}"),
            rustc: env!("HARBENCH_RUSTC_VERSION").to_string(),
            threads: rayon::current_num_threads(),
            host: sysinfo::System::host_name().unwrap_or_else(|| "unknown".into()),
            os: std::env::consts::OS.to_string(),
            arch: std::env::consts::ARCH.to_string(),
            harbench_version: env!("CARGO_PKG_VERSION").to_string(),
            numerics: Some(harbench_models::numerics::Numerics::current().name().to_string()),
            cpu: cpu_model(),
        }
    }
}

/// The first CPU's model name, as sysinfo reads it.
fn cpu_model() -> Option<String> {
    use sysinfo::{CpuRefreshKind, RefreshKind, System};
    let system = System::new_with_specifics(RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing()));
    system.cpus().first().map(|c| c.brand().trim().to_string()).filter(|b| !b.is_empty())
}
