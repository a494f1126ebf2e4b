//! Which burn device a run uses. The CPU backend (flex) is always built; two GPU backends are
//! optional cargo features: `cuda` (burn-cuda: kernels compiled at run time by NVRTC, the driver
//! and NVRTC loaded dynamically, so a build needs no CUDA toolkit) and `vulkan` (wgpu; runs on any
//! Vulkan GPU, NVIDIA's included, at 0.19–0.35x PyTorch-CUDA's speed on an H200, docs/models.md).
//! burn-cuda builds offline because the workspace patches `cubecl-cuda` without its LLVM
//! compiler, whose `llvm-sys` downloads LLVM (vendor/cubecl-cuda/PATCH.md).
//!
//! Tests take their device from [`test_device`], so one variable moves a whole test run onto a
//! GPU: `HARBENCH_TEST_DEVICE=cuda cargo test -p harbench-models --features cuda`.

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
    /// The GPU backend this build has: CUDA when built with `--features cuda`, else Vulkan.
    Gpu,
    /// The first CUDA GPU through burn-cuda (a build with `--features cuda`).
    Cuda,
    /// The first discrete GPU through Vulkan (a build with `--features vulkan`).
    Vulkan,
}

/// Why a device cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error("this build has no {device} backend; rebuild with `cargo build --release -p harbench --features {feature}`")]
    NoBackend { device: &'static str, feature: &'static str },
    #[error("no usable Vulkan GPU was found (is the NVIDIA driver with its Vulkan ICD installed?); use --device flex")]
    NoVulkanGpu,
    #[error(
        "{library} was not found: looked for {} through the dynamic loader (LD_LIBRARY_PATH={}, then \
         /etc/ld.so.cache and the system's library folders); {hint}",
        names.join(", "),
        ld_library_path.as_deref().unwrap_or("unset")
    )]
    CudaLibraryMissing { library: &'static str, names: Vec<String>, ld_library_path: Option<String>, hint: &'static str },
    #[error("the CUDA driver and NVRTC load, but CUDA device 0 cannot be used: {0}")]
    CudaUnusable(String),
}

impl DeviceChoice {
    /// True when this build can run on the device.
    pub fn available(self) -> bool {
        match self {
            DeviceChoice::Flex => true,
            DeviceChoice::Gpu => cfg!(any(feature = "cuda", feature = "vulkan")),
            DeviceChoice::Cuda => cfg!(feature = "cuda"),
            DeviceChoice::Vulkan => cfg!(feature = "vulkan"),
        }
    }

    /// `Ok` when this build can run on the device; else the error that names the cargo feature
    /// to build with (the one place that maps a device to its feature).
    pub fn check_built(self) -> Result<(), DeviceError> {
        if self.available() {
            return Ok(());
        }
        Err(match self {
            DeviceChoice::Cuda => DeviceError::NoBackend { device: "CUDA", feature: "cuda" },
            DeviceChoice::Vulkan => DeviceError::NoBackend { device: "Vulkan", feature: "vulkan" },
            _ => DeviceError::NoBackend { device: "GPU", feature: "cuda` (or `vulkan" },
        })
    }

    /// The concrete backend `self` stands for in this build (`Gpu` resolved).
    pub fn resolved(self) -> DeviceChoice {
        match self {
            DeviceChoice::Gpu if cfg!(feature = "cuda") => DeviceChoice::Cuda,
            DeviceChoice::Gpu if cfg!(feature = "vulkan") => DeviceChoice::Vulkan,
            other => other,
        }
    }

    /// The burn backend's name, as records and `--help` spell it.
    pub fn backend_name(self) -> &'static str {
        match self.resolved() {
            DeviceChoice::Flex => "flex",
            DeviceChoice::Cuda => "cuda",
            DeviceChoice::Vulkan => "wgpu",
            DeviceChoice::Gpu => "none",
        }
    }

    pub fn device(self) -> Result<Device, DeviceError> {
        match self.resolved() {
            DeviceChoice::Flex => Ok(Device::flex()),
            DeviceChoice::Cuda => cuda::probe(),
            DeviceChoice::Vulkan => vulkan::probe(),
            DeviceChoice::Gpu => Err(self.check_built().expect_err("an unresolved GPU choice is not built")),
        }
    }
}

/// The text of a caught panic, for an error message.
#[cfg(any(feature = "cuda", feature = "vulkan"))]
fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload.downcast_ref::<&str>().map_or_else(|| "a panic without a message".to_string(), |s| s.to_string()),
    }
}

/// One small read-back on `device`, with a panic (how burn's GPU backends report a missing
/// device) turned into its message.
#[cfg(any(feature = "cuda", feature = "vulkan"))]
fn read_back(device: impl FnOnce() -> Device + std::panic::UnwindSafe) -> Result<Device, String> {
    use burn::tensor::Tensor;
    let probe = std::panic::catch_unwind(|| {
        let device = device();
        let sum: f32 = Tensor::<1>::ones([4], &device).sum().into_scalar::<f32>();
        (sum == 4.0).then_some(device).ok_or_else(|| format!("a test sum read back {sum}, not 4"))
    });
    probe.map_err(panic_text).and_then(|r| r)
}

#[cfg(feature = "cuda")]
mod cuda {
    use super::{read_back, DeviceError};
    use burn::tensor::Device;

    /// The driver and NVRTC are looked for first, so that their absence is named; then a
    /// read-back on device 0 catches a driver without a usable GPU.
    pub fn probe() -> Result<Device, DeviceError> {
        // SAFETY: these only try to open the libraries (dlopen), calling nothing in them.
        let driver = unsafe { cudarc::driver::sys::is_culib_present() };
        let nvrtc = unsafe { cudarc::nvrtc::sys::is_culib_present() };
        if !driver {
            return Err(missing("the CUDA driver library", "cuda", "is the NVIDIA driver installed? use --device flex"));
        }
        if !nvrtc {
            return Err(missing(
                "NVRTC, CUDA's run-time compiler",
                "nvrtc",
                "install the CUDA toolkit's NVRTC (or the pip wheel nvidia-cuda-nvrtc) and add its lib folder to LD_LIBRARY_PATH",
            ));
        }
        read_back(|| Device::cuda(0)).map_err(DeviceError::CudaUnusable)
    }

    fn missing(library: &'static str, name: &str, hint: &'static str) -> DeviceError {
        DeviceError::CudaLibraryMissing {
            library,
            names: cudarc::get_lib_name_candidates(name),
            ld_library_path: std::env::var("LD_LIBRARY_PATH").ok(),
            hint,
        }
    }
}

#[cfg(not(feature = "cuda"))]
mod cuda {
    use super::DeviceError;
    pub fn probe() -> Result<burn::tensor::Device, DeviceError> {
        Err(super::DeviceChoice::Cuda.check_built().expect_err("not built with cuda"))
    }
}

#[cfg(feature = "vulkan")]
mod vulkan {
    use super::{read_back, DeviceError};
    use burn::tensor::{Device, DeviceKind};

    /// wgpu panics on a worker thread when no Vulkan adapter exists; one small read-back here
    /// turns that into an error before a run starts.
    pub fn probe() -> Result<Device, DeviceError> {
        read_back(|| Device::vulkan(DeviceKind::DiscreteGpu(0))).map_err(|_| DeviceError::NoVulkanGpu)
    }
}

#[cfg(not(feature = "vulkan"))]
mod vulkan {
    use super::DeviceError;
    pub fn probe() -> Result<burn::tensor::Device, DeviceError> {
        Err(super::DeviceChoice::Vulkan.check_built().expect_err("not built with vulkan"))
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
            DeviceChoice::Cuda => "cuda",
            DeviceChoice::Vulkan => "vulkan",
        })
    }
}

impl FromStr for DeviceChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "flex" | "cpu" => Ok(DeviceChoice::Flex),
            "gpu" => Ok(DeviceChoice::Gpu),
            "cuda" => Ok(DeviceChoice::Cuda),
            "vulkan" | "wgpu" => Ok(DeviceChoice::Vulkan),
            other => Err(format!(
                "unknown device '{other}'; use flex (CPU), cuda (a build with --features cuda), vulkan (--features vulkan) \
                 or gpu (whichever of the two the build has)"
            )),
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
        assert_eq!("cuda".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cuda);
        assert_eq!("wgpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Vulkan);
        assert!("tpu".parse::<DeviceChoice>().unwrap_err().contains("unknown device 'tpu'"));
        for choice in [DeviceChoice::Flex, DeviceChoice::Gpu, DeviceChoice::Cuda, DeviceChoice::Vulkan] {
            assert_eq!(choice.to_string().parse::<DeviceChoice>().unwrap(), choice);
        }
        assert!(DeviceChoice::Flex.device().is_ok());
        if !cfg!(feature = "cuda") {
            let err = DeviceChoice::Cuda.device().unwrap_err().to_string();
            assert!(err.contains("--features cuda"), "{err}");
        }
        if !cfg!(any(feature = "cuda", feature = "vulkan")) {
            let err = DeviceChoice::Gpu.device().unwrap_err().to_string();
            assert!(err.contains("no GPU backend") && err.contains("--features cuda"), "{err}");
        }
    }

    /// Where there is no driver (CI, these CPU machines), `--device cuda` names the library it
    /// looked for instead of panicking. With a driver this test has nothing to check.
    #[cfg(feature = "cuda")]
    #[test]
    fn cuda_without_a_driver_names_the_library() {
        if unsafe { cudarc::driver::sys::is_culib_present() } {
            return;
        }
        let err = DeviceChoice::Cuda.device().unwrap_err().to_string();
        assert!(err.starts_with("the CUDA driver library was not found: looked for libcuda.so"), "{err}");
        assert!(err.contains("LD_LIBRARY_PATH="), "{err}");
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
