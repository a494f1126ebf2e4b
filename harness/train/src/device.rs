//! Which burn device a run uses. The CPU backend (flex) is always built; the GPU backend is Vulkan
//! through wgpu, behind the `gpu` cargo feature (`cuda` is an alias: burn-cuda 0.22.1's build script
//! downloads an LLVM bundle, which an offline build cannot do, while wgpu/Vulkan builds offline and
//! runs on NVIDIA drivers).

use crate::TrainError;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceChoice {
    /// burn's pure-Rust CPU backend.
    #[default]
    Flex,
    /// The first discrete GPU through Vulkan (needs a build with `--features gpu`).
    Gpu,
}

impl DeviceChoice {
    /// True when this build can run on the device.
    pub fn available(self) -> bool {
        match self {
            DeviceChoice::Flex => true,
            DeviceChoice::Gpu => cfg!(feature = "gpu"),
        }
    }

    pub fn device(self) -> Result<Device, TrainError> {
        match self {
            DeviceChoice::Flex => Ok(Device::flex()),
            #[cfg(feature = "gpu")]
            DeviceChoice::Gpu => probe_gpu(),
            #[cfg(not(feature = "gpu"))]
            DeviceChoice::Gpu => Err(TrainError::Config {
                field: "device".into(),
                message: "this build has no GPU backend; rebuild with `cargo build --release --features gpu` (Vulkan through wgpu)".into(),
            }),
        }
    }
}

/// wgpu panics on a worker thread when no Vulkan adapter exists; one small read-back here turns
/// that into an error before a run starts.
#[cfg(feature = "gpu")]
fn probe_gpu() -> Result<Device, TrainError> {
    use burn::tensor::Tensor;
    let probe = std::panic::catch_unwind(|| {
        let device = Device::vulkan(burn::tensor::DeviceKind::DiscreteGpu(0));
        let sum: f32 = Tensor::<1>::ones([4], &device).sum().into_scalar::<f32>();
        (sum == 4.0).then_some(device)
    });
    match probe {
        Ok(Some(device)) => Ok(device),
        _ => Err(TrainError::Config {
            field: "device".into(),
            message: "no usable Vulkan GPU was found (is the NVIDIA driver with its Vulkan ICD installed?); use --device flex".into(),
        }),
    }
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
}
