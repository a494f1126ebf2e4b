//! Which burn device a run uses. The CPU backend (flex) is always built; the GPU backend is Vulkan
//! through wgpu, behind the `gpu` cargo feature (`cuda` is an alias in the binary: burn-cuda
//! 0.22.1's build script downloads an LLVM bundle, which an offline build cannot do, while
//! wgpu/Vulkan builds offline and runs on NVIDIA drivers).
//!
//! Tests take their device from [`test_device`], so one variable moves a whole test run onto the
//! GPU: `HARBENCH_TEST_DEVICE=gpu cargo test -p harbench-models --features gpu`.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceChoice {
    /// burn's pure-Rust CPU backend.
    #[default]
    Flex,
    /// The first discrete GPU through Vulkan (needs a build with `--features gpu`).
    Gpu,
}

/// Why a device cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error("this build has no GPU backend; rebuild with `cargo build --release --features gpu` (Vulkan through wgpu)")]
    NoGpuBackend,
    #[error("no usable Vulkan GPU was found (is the NVIDIA driver with its Vulkan ICD installed?); use --device flex")]
    NoGpu,
}

impl DeviceChoice {
    /// True when this build can run on the device.
    pub fn available(self) -> bool {
        match self {
            DeviceChoice::Flex => true,
            DeviceChoice::Gpu => cfg!(feature = "gpu"),
        }
    }

    pub fn device(self) -> Result<Device, DeviceError> {
        match self {
            DeviceChoice::Flex => Ok(Device::flex()),
            #[cfg(feature = "gpu")]
            DeviceChoice::Gpu => probe_gpu(),
            #[cfg(not(feature = "gpu"))]
            DeviceChoice::Gpu => Err(DeviceError::NoGpuBackend),
        }
    }
}

/// wgpu panics on a worker thread when no Vulkan adapter exists; one small read-back here turns
/// that into an error before a run starts.
#[cfg(feature = "gpu")]
fn probe_gpu() -> Result<Device, DeviceError> {
    use burn::tensor::Tensor;
    let probe = std::panic::catch_unwind(|| {
        let device = Device::vulkan(burn::tensor::DeviceKind::DiscreteGpu(0));
        let sum: f32 = Tensor::<1>::ones([4], &device).sum().into_scalar::<f32>();
        (sum == 4.0).then_some(device)
    });
    match probe {
        Ok(Some(device)) => Ok(device),
        _ => Err(DeviceError::NoGpu),
    }
}

/// The environment variable that picks the device of [`test_device`].
pub const TEST_DEVICE_VAR: &str = "HARBENCH_TEST_DEVICE";

/// The device tests run on: `HARBENCH_TEST_DEVICE` parsed as a [`DeviceChoice`] (`flex`, the
/// default when unset or empty, or `gpu` in a build with the `gpu` feature). For tests only: an
/// unknown value or an unusable device panics, naming the variable.
pub fn test_device() -> Device {
    static DEVICE: OnceLock<Device> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            let value = match std::env::var(TEST_DEVICE_VAR) {
                Ok(value) => value,
                Err(std::env::VarError::NotPresent) => String::new(),
                Err(e) => panic!("{TEST_DEVICE_VAR}: {e}"),
            };
            let choice = match value.trim() {
                "" => DeviceChoice::Flex,
                name => name.parse::<DeviceChoice>().unwrap_or_else(|e| panic!("{TEST_DEVICE_VAR}={value}: {e}")),
            };
            choice.device().unwrap_or_else(|e| panic!("{TEST_DEVICE_VAR}={value}: {e}"))
        })
        .clone()
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceChoice::Flex => "flex",
            DeviceChoice::Gpu => "gpu",
        })
    }
}

impl FromStr for DeviceChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "flex" | "cpu" => Ok(DeviceChoice::Flex),
            "gpu" | "vulkan" | "cuda" => Ok(DeviceChoice::Gpu),
            other => Err(format!("unknown device '{other}'; use flex (CPU) or gpu (Vulkan, needs --features gpu)")),
        }
    }
}

/// Runs `work` on one of rayon's worker threads when the pool has more than one, else here.
///
/// Flex hands large operations to rayon. Called from a thread outside the pool, every such
/// operation injects a job, wakes a worker and puts the caller to sleep until the job is done:
/// two futex round trips per operation, a few hundred times per training step. Called from a
/// worker, the same operation is a `join` whose other half a spinning worker steals, and the
/// caller keeps working. The values computed are the same either way.
pub fn on_worker_thread<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    if rayon::current_num_threads() > 1 && rayon::current_thread_index().is_none() {
        rayon::scope(|_| work())
    } else {
        work()
    }
}

/// Stack of each rayon worker: [`on_worker_thread`] runs whole training runs there, so at least
/// what a main thread usually gets (8 MiB on Linux; std's default for spawned threads is 2 MiB).
const WORKER_STACK_BYTES: usize = 16 << 20;

/// Builds rayon's global pool: `threads` workers (`None`: `RAYON_NUM_THREADS`, else one per
/// core) with [`WORKER_STACK_BYTES`] stacks. Call it before anything uses rayon; it fails if the
/// pool exists already.
pub fn init_thread_pool(threads: Option<usize>) -> Result<(), rayon::ThreadPoolBuildError> {
    let mut builder = rayon::ThreadPoolBuilder::new().stack_size(WORKER_STACK_BYTES);
    if let Some(threads) = threads {
        builder = builder.num_threads(threads);
    }
    builder.build_global()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_reports_missing_backend() {
        assert_eq!("flex".parse::<DeviceChoice>().unwrap(), DeviceChoice::Flex);
        assert_eq!("cuda".parse::<DeviceChoice>().unwrap(), DeviceChoice::Gpu);
        assert!("tpu".parse::<DeviceChoice>().unwrap_err().contains("unknown device 'tpu'"));
        assert!(DeviceChoice::Flex.device().is_ok());
        if !cfg!(feature = "gpu") {
            let err = DeviceChoice::Gpu.device().unwrap_err().to_string();
            assert!(err.contains("--features gpu"), "{err}");
        }
    }

    #[test]
    fn the_test_device_is_usable() {
        let device = test_device();
        assert_eq!(device, test_device());
        let sum: f32 = burn::tensor::Tensor::<1>::ones([3], &device).sum().into_scalar::<f32>();
        assert_eq!(sum, 3.0);
    }

    #[test]
    fn work_runs_on_a_rayon_worker_when_the_pool_has_several() {
        let on_worker = on_worker_thread(|| rayon::current_thread_index().is_some());
        assert_eq!(on_worker, rayon::current_num_threads() > 1);
        assert_eq!(on_worker_thread(|| 6 * 7), 42);
        // Already on a worker: runs right there.
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("a pool");
        assert!(pool.install(|| on_worker_thread(rayon::current_thread_index) == rayon::current_thread_index()));
    }
}
