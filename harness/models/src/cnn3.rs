//! A plain three-layer 1-D CNN: the simplest deep baseline of inertial HAR (in the line of Yang
//! et al., IJCAI 2015, and Ronao & Cho, Expert Syst. Appl. 2016, without their fully connected
//! hidden layers).
//!
//! Three blocks of convolution (kernel 5, "same" padding, no bias) → batch norm → ReLU →
//! max-pool (2, stride 2), of 64, 128 and 128 filters; global average pooling; linear classifier.
//! Each block ends a stage.

use crate::architecture::{Architecture, ArchitectureConfig};
use crate::heads::{Classifier, ClassifierConfig};
use crate::layers::{check_width, scale_width, ConvBn};
use crate::{macs, ModelOutput};
use burn::module::Module;
use burn::nn::pool::{MaxPool1d, MaxPool1dConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cnn3Config {
    /// The classifier on the pooled feature (one linear head by default).
    #[serde(default, skip_serializing_if = "ClassifierConfig::is_default")]
    pub classifier: ClassifierConfig,
    /// Filters of the three convolutions (before the width multiplier).
    pub filters: Vec<usize>,
    /// Odd, so that "same" padding is symmetric.
    pub kernel: usize,
    /// Max-pooling window and stride after each convolution (1 = none).
    pub pool: usize,
    /// Multiplies `filters`.
    pub width: f64,
}

impl Cnn3Config {
    pub fn standard(width: f64) -> Self {
        Cnn3Config { filters: vec![64, 128, 128], kernel: 5, pool: 2, width, classifier: ClassifierConfig::default() }
    }

    pub fn validate(&self) -> Result<(), String> {
        self.classifier.validate()?;
        check_width(self.width)?;
        if self.filters.len() != 3 || self.filters.contains(&0) {
            return Err(format!("filters {:?} must list 3 positive widths (one per layer)", self.filters));
        }
        if self.kernel % 2 == 0 {
            return Err(format!("kernel {} must be odd", self.kernel));
        }
        if self.pool == 0 {
            return Err("pool must be at least 1".into());
        }
        Ok(())
    }

    /// Shortest window that leaves one step after the three poolings.
    pub fn min_length(&self) -> usize {
        self.pool.pow(self.filters.len() as u32)
    }
}

#[derive(Module, Debug)]
pub struct Cnn3 {
    pub layers: Vec<ConvBn>,
    pub pool: MaxPool1d,
    pub classifier: Classifier,
}

impl Cnn3 {
    /// `config` must have passed [`Cnn3Config::validate`].
    pub fn new(config: &Cnn3Config, channels: usize, classes: usize, device: &Device) -> Self {
        let mut input = channels;
        let mut layers = Vec::with_capacity(config.filters.len());
        for &f in &config.filters {
            let output = scale_width(f, config.width);
            layers.push(ConvBn::new(input, output, config.kernel, 1, 1, device));
            input = output;
        }
        Cnn3 { layers, pool: MaxPool1dConfig::new(config.pool).init(), classifier: config.classifier.build(input, classes, device) }
    }

    pub fn forward(&self, x: Tensor<3>) -> ModelOutput {
        let mut h = x;
        let mut anchors = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            h = self.pool.forward(relu(layer.forward(h)));
            anchors.push(h.clone());
        }
        let pooled: Tensor<2> = h.mean_dim(2).squeeze_dim(2);
        ModelOutput::from_head(self.classifier.forward(pooled.clone()), pooled, anchors)
    }

    pub fn macs(&self, _channels: usize, length: usize) -> u64 {
        let mut total = 0;
        let mut steps = length;
        for layer in &self.layers {
            let (m, out) = macs::conv1d(&layer.conv, steps);
            total += m;
            steps = macs::max_pool1d_len(&self.pool, out);
        }
        total + self.classifier.macs()
    }
}

impl ArchitectureConfig for Cnn3Config {
    type Model = Cnn3;

    fn validate(&self) -> Result<(), String> {
        Cnn3Config::validate(self)
    }

    fn classifier(&self) -> &ClassifierConfig {
        &self.classifier
    }

    fn classifier_mut(&mut self) -> &mut ClassifierConfig {
        &mut self.classifier
    }

    fn dropout_mut(&mut self) -> Option<&mut f64> {
        None
    }

    fn min_length(&self) -> usize {
        Cnn3Config::min_length(self)
    }

    fn build(&self, channels: usize, classes: usize, device: &Device) -> Cnn3 {
        Cnn3::new(self, channels, classes, device)
    }
}

impl Architecture for Cnn3 {
    fn forward(&self, x: Tensor<3>) -> ModelOutput {
        Cnn3::forward(self, x)
    }

    fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    fn classifier_mut(&mut self) -> &mut Classifier {
        &mut self.classifier
    }

    fn macs(&self, channels: usize, length: usize) -> u64 {
        Cnn3::macs(self, channels, length)
    }
}
