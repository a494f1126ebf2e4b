//! Building blocks shared by the models.

use burn::module::Module;
use burn::nn::activation::{HardSigmoid, HardSigmoidConfig, HardSwish};
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig1d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// Non-linearities of MobileNetV3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Act {
    Relu,
    HardSwish,
}

impl Act {
    pub fn apply(self, x: Tensor<3>) -> Tensor<3> {
        match self {
            Act::Relu => relu(x),
            Act::HardSwish => HardSwish::new().forward(x),
        }
    }
}

/// Padding that keeps `ceil(L / stride)` time steps for odd kernels.
pub fn same_padding(kernel: usize) -> PaddingConfig1d {
    PaddingConfig1d::Explicit(kernel / 2, kernel / 2)
}

/// Convolution (no bias) followed by batch normalisation.
#[derive(Module, Debug)]
pub struct ConvBn {
    pub conv: Conv1d,
    pub bn: BatchNorm,
}

impl ConvBn {
    pub fn new(input: usize, output: usize, kernel: usize, stride: usize, groups: usize, device: &Device) -> Self {
        let conv = Conv1dConfig::new(input, output, kernel)
            .with_stride(stride)
            .with_groups(groups)
            .with_padding(same_padding(kernel))
            .with_bias(false)
            .init(device);
        ConvBn { conv, bn: BatchNormConfig::new(output).init(device) }
    }

    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.bn.forward(self.conv.forward(x))
    }
}

/// Squeeze-and-excitation over time: channel gates from the time-averaged features.
#[derive(Module, Debug)]
pub struct SqueezeExcite {
    pub reduce: Conv1d,
    pub expand: Conv1d,
    pub gate: HardSigmoid,
}

impl SqueezeExcite {
    pub fn new(channels: usize, squeezed: usize, device: &Device) -> Self {
        SqueezeExcite {
            reduce: Conv1dConfig::new(channels, squeezed, 1).init(device),
            expand: Conv1dConfig::new(squeezed, channels, 1).init(device),
            // MobileNetV3's hard-sigmoid is relu6(x + 3) / 6 (burn's default slope is 0.2).
            gate: HardSigmoidConfig::new().with_alpha(1.0 / 6.0).with_beta(0.5).init(),
        }
    }

    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let s = x.clone().mean_dim(2);
        let s = self.gate.forward(self.expand.forward(relu(self.reduce.forward(s))));
        x * s
    }
}

/// Rounds a channel count scaled by a width multiplier to a multiple of 8, never going below
/// 90 % of the scaled value (MobileNet's `make_divisible`).
pub fn make_divisible(value: f64, divisor: usize) -> usize {
    let d = divisor as f64;
    let rounded = ((value + d / 2.0) / d).floor().max(1.0) * d;
    let rounded = if rounded < 0.9 * value { rounded + d } else { rounded };
    rounded as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn make_divisible_matches_the_reference_implementation() {
        // torchvision's _make_divisible (printed by python): 8 → 8, 18 → 24, 25.2 → 24, 3 → 8, 960 → 960
        assert_eq!(make_divisible(8.0, 8), 8);
        assert_eq!(make_divisible(18.0, 8), 24);
        assert_eq!(make_divisible(25.2, 8), 24);
        assert_eq!(make_divisible(3.0, 8), 8);
        assert_eq!(make_divisible(960.0, 8), 960);
    }
}
