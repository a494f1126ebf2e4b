//! ResNet for time series (Wang, Yan & Oates, "Time series classification from scratch with deep
//! neural networks: a strong baseline", IJCNN 2017).
//!
//! Three residual blocks of 64, 128 and 128 filters; each block is three convolutions of
//! kernels 8, 5 and 3 ("same" padding, stride 1), each followed by batch norm and ReLU (the
//! last ReLU after the residual addition); the shortcut is a 1×1 convolution plus batch norm
//! where the width changes and batch norm alone where it does not (as in the reference Keras
//! code of Fawaz et al. 2019, `dl-4-tsc`). Global average pooling, then the linear classifier.

use crate::architecture::{Architecture, ArchitectureConfig};
use crate::heads::{Classifier, ClassifierConfig};
use crate::layers::{check_width, scale_width};
use crate::{macs, ModelOutput};
use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig1d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResNet1dConfig {
    /// The classifier on the pooled feature (one linear head by default).
    #[serde(default, skip_serializing_if = "ClassifierConfig::is_default")]
    pub classifier: ClassifierConfig,
    /// Filters of each residual block (before the width multiplier); each block ends a stage.
    pub filters: Vec<usize>,
    /// Kernels of the convolutions inside every block.
    pub kernels: Vec<usize>,
    /// Multiplies `filters`.
    pub width: f64,
}

impl ResNet1dConfig {
    pub fn paper(width: f64) -> Self {
        ResNet1dConfig { filters: vec![64, 128, 128], kernels: vec![8, 5, 3], width, classifier: ClassifierConfig::default() }
    }

    pub fn validate(&self) -> Result<(), String> {
        self.classifier.validate()?;
        check_width(self.width)?;
        if self.filters.len() != 3 || self.filters.contains(&0) {
            return Err(format!("filters {:?} must list 3 positive widths, one per block (the 3 anchors)", self.filters));
        }
        if self.kernels.is_empty() || self.kernels.contains(&0) {
            return Err(format!("kernels {:?} must list at least one positive kernel", self.kernels));
        }
        Ok(())
    }
}

/// Keras' "same" padding: `k − 1` steps in all, the extra one on the right for even kernels.
fn same(kernel: usize) -> PaddingConfig1d {
    PaddingConfig1d::Explicit((kernel - 1) / 2, kernel / 2)
}

#[derive(Module, Debug)]
pub struct ResidualBlock {
    pub convs: Vec<Conv1d>,
    pub norms: Vec<BatchNorm>,
    pub shortcut_conv: Option<Conv1d>,
    pub shortcut_norm: BatchNorm,
}

impl ResidualBlock {
    fn new(input: usize, output: usize, kernels: &[usize], device: &Device) -> Self {
        let convs = kernels
            .iter()
            .enumerate()
            .map(|(i, &k)| Conv1dConfig::new(if i == 0 { input } else { output }, output, k).with_padding(same(k)).init(device))
            .collect();
        ResidualBlock {
            convs,
            norms: kernels.iter().map(|_| BatchNormConfig::new(output).init(device)).collect(),
            shortcut_conv: (input != output).then(|| Conv1dConfig::new(input, output, 1).init(device)),
            shortcut_norm: BatchNormConfig::new(output).init(device),
        }
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let mut h = x.clone();
        let last = self.convs.len() - 1;
        for (i, (conv, norm)) in self.convs.iter().zip(&self.norms).enumerate() {
            h = norm.forward(conv.forward(h));
            if i != last {
                h = relu(h);
            }
        }
        let shortcut = match &self.shortcut_conv {
            Some(conv) => conv.forward(x),
            None => x,
        };
        relu(h + self.shortcut_norm.forward(shortcut))
    }

    fn macs(&self, length: usize) -> u64 {
        // "Same" padding and stride 1: every layer keeps the length.
        let body: u64 = self.convs.iter().map(|c| macs::conv1d(c, length).0).sum();
        body + self.shortcut_conv.as_ref().map_or(0, |c| macs::conv1d(c, length).0)
    }
}

#[derive(Module, Debug)]
pub struct ResNet1d {
    pub blocks: Vec<ResidualBlock>,
    pub classifier: Classifier,
}

impl ResNet1d {
    /// `config` must have passed [`ResNet1dConfig::validate`].
    pub fn new(config: &ResNet1dConfig, channels: usize, classes: usize, device: &Device) -> Self {
        let mut input = channels;
        let mut blocks = Vec::with_capacity(config.filters.len());
        for &f in &config.filters {
            let output = scale_width(f, config.width);
            blocks.push(ResidualBlock::new(input, output, &config.kernels, device));
            input = output;
        }
        ResNet1d { blocks, classifier: config.classifier.build(input, classes, device) }
    }

    pub fn forward(&self, x: Tensor<3>) -> ModelOutput {
        let mut h = x;
        let mut anchors = Vec::with_capacity(self.blocks.len());
        for block in &self.blocks {
            h = block.forward(h);
            anchors.push(h.clone());
        }
        let pooled: Tensor<2> = h.mean_dim(2).squeeze_dim(2);
        ModelOutput::from_head(self.classifier.forward(pooled.clone()), pooled, anchors)
    }

    pub fn macs(&self, _channels: usize, length: usize) -> u64 {
        self.blocks.iter().map(|b| b.macs(length)).sum::<u64>() + self.classifier.macs()
    }
}

impl ArchitectureConfig for ResNet1dConfig {
    type Model = ResNet1d;

    fn validate(&self) -> Result<(), String> {
        ResNet1dConfig::validate(self)
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

    fn build(&self, channels: usize, classes: usize, device: &Device) -> ResNet1d {
        ResNet1d::new(self, channels, classes, device)
    }
}

impl Architecture for ResNet1d {
    fn forward(&self, x: Tensor<3>) -> ModelOutput {
        ResNet1d::forward(self, x)
    }

    fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    fn classifier_mut(&mut self) -> &mut Classifier {
        &mut self.classifier
    }

    fn macs(&self, channels: usize, length: usize) -> u64 {
        ResNet1d::macs(self, channels, length)
    }
}
