//! Building blocks shared by the models.

use burn::module::Module;
use burn::nn::activation::{HardSigmoid, HardSigmoidConfig};
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, Lstm, LstmConfig, PaddingConfig1d};
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
            Act::HardSwish => crate::hard_swish::hard_swish(x),
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

/// A batch-first LSTM with both biases and PyTorch's initialisation, U(−1/√h, 1/√h) for every
/// weight and bias (burn's default is Xavier-normal), so that runs start where PyTorch's would.
pub fn lstm(d_input: usize, hidden: usize, device: &Device) -> Lstm {
    let bound = 1.0 / (hidden as f64).sqrt();
    LstmConfig::new(d_input, hidden, true).with_initializer(Initializer::Uniform { min: -bound, max: bound }).init(device)
}

/// A channel count scaled by a width multiplier, rounded to the nearest integer, at least 1
/// (the rival models have no hardware-friendly multiple-of-8 convention to keep).
pub fn scale_width(channels: usize, width: f64) -> usize {
    ((channels as f64 * width).round() as usize).max(1)
}

/// The width multipliers every model accepts.
pub fn check_width(width: f64) -> Result<(), String> {
    if !(width.is_finite() && width > 0.0 && width <= 4.0) {
        return Err(format!("width {width} must be in (0, 4]"));
    }
    Ok(())
}

/// Dropout probabilities `burn` accepts (it panics outside [0, 1)).
pub fn check_dropout(field: &str, p: f64) -> Result<(), String> {
    if !(p.is_finite() && (0.0..1.0).contains(&p)) {
        return Err(format!("{field} {p} must be in [0, 1)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_scaling_rounds_and_never_reaches_zero() {
        assert_eq!(scale_width(64, 0.5), 32);
        assert_eq!(scale_width(28, 0.25), 7);
        assert_eq!(scale_width(5, 0.5), 3); // 2.5 rounds away from zero
        assert_eq!(scale_width(8, 0.01), 1);
        assert!(check_width(0.0).is_err() && check_width(f64::NAN).is_err() && check_width(4.5).is_err());
        assert!(check_width(1.0).is_ok());
        assert!(check_dropout("dropout", 1.0).unwrap_err().contains("dropout"));
        assert!(check_dropout("dropout", 0.0).is_ok());
    }

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
