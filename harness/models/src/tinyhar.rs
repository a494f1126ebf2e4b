//! TinyHAR (Zhou, Zhao, Huang, Hefenbrock, Riedel & Beigl, "TinyHAR: A Lightweight Deep Learning
//! Model Designed for Human Activity Recognition", ISWC 2022, doi:10.1145/3544794.3558467).
//!
//! 1. individual convolutional subnet: four convolutions of `F` filters, kernel 5, along time
//!    with weights shared by all sensor channels, each conv → ReLU → batch norm;
//! 2. cross-channel interaction: one transformer encoder block (pre-norm multi-head
//!    self-attention, then a two-layer feed-forward net, both residual) over the `C` channel
//!    tokens of each time step;
//! 3. cross-channel fusion: the `C·F` features of a step → one FC layer of `2F` units, ReLU;
//! 4. one LSTM layer of `2F` units over time;
//! 5. temporal attention: `c = Σ_t softmax(w·tanh(W x_t)) x_t`, output `x_T + γ c` with a learned
//!    `γ` initialised to 0; then the linear classifier.
//!
//! Sizes follow the authors' code (`teco-kit/ISWC22-HAR`, `models/TinyHAR.py`): strides 1, 2, 1, 2
//! without padding, 4 heads of 16, feed-forward width 16, dropout 0.1 after the interaction.

use crate::architecture::{Architecture, ArchitectureConfig};
use crate::heads::{Classifier, ClassifierConfig};
use crate::layers::{check_dropout, check_width, lstm, scale_width};
use crate::{macs, ModelOutput};
use burn::module::{Module, Param};
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig, Lstm};
use burn::tensor::activation::{gelu, relu, softmax, tanh};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TinyHarConfig {
    /// The classifier on the pooled feature (one linear head by default).
    #[serde(default, skip_serializing_if = "ClassifierConfig::is_default")]
    pub classifier: ClassifierConfig,
    /// `F`, the filters of the convolutional subnet (before the width multiplier); the fused
    /// feature has `2F` units.
    pub filters: usize,
    pub kernel: usize,
    /// One stride per convolution; their number is the depth of the subnet.
    pub conv_strides: Vec<usize>,
    pub heads: usize,
    pub head_dim: usize,
    /// Hidden units of the transformer's feed-forward net.
    pub ff_hidden: usize,
    /// Dropout after the cross-channel interaction.
    pub dropout: f64,
    /// Multiplies `filters`.
    pub width: f64,
}

impl TinyHarConfig {
    pub fn paper(width: f64) -> Self {
        TinyHarConfig {
            filters: 28,
            kernel: 5,
            conv_strides: vec![1, 2, 1, 2],
            heads: 4,
            head_dim: 16,
            ff_hidden: 16,
            dropout: 0.1,
            width,
            classifier: ClassifierConfig::default(),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        self.classifier.validate()?;
        check_width(self.width)?;
        check_dropout("dropout", self.dropout)?;
        if self.filters == 0 || self.kernel == 0 || self.heads == 0 || self.head_dim == 0 || self.ff_hidden == 0 {
            return Err(format!(
                "filters ({}), kernel ({}), heads ({}), head_dim ({}) and ff_hidden ({}) must be positive",
                self.filters, self.kernel, self.heads, self.head_dim, self.ff_hidden
            ));
        }
        if self.conv_strides.is_empty() || self.conv_strides.contains(&0) {
            return Err(format!("conv_strides {:?} must list at least one positive stride", self.conv_strides));
        }
        Ok(())
    }

    /// Shortest window that leaves one step after the unpadded convolutions.
    pub fn min_length(&self) -> usize {
        // Backwards from one output step: a layer with stride s needs (n − 1)·s + k inputs.
        self.conv_strides.iter().rev().fold(1, |n, &s| (n - 1) * s + self.kernel)
    }
}

/// Conv → ReLU → batch norm (the authors' order).
#[derive(Module, Debug)]
pub struct ConvReluBn {
    pub conv: Conv1d,
    pub bn: BatchNorm,
}

/// One pre-norm transformer encoder block over the channel tokens `[N, C, F]`.
#[derive(Module, Debug)]
pub struct ChannelTransformer {
    pub attn_norm: LayerNorm,
    pub to_qkv: Linear,
    pub to_out: Linear,
    pub ff_norm: LayerNorm,
    pub ff_in: Linear,
    pub ff_out: Linear,
    #[module(skip)]
    pub heads: usize,
    #[module(skip)]
    pub head_dim: usize,
}

impl ChannelTransformer {
    fn new(dim: usize, heads: usize, head_dim: usize, ff_hidden: usize, device: &Device) -> Self {
        let inner = heads * head_dim;
        ChannelTransformer {
            attn_norm: LayerNormConfig::new(dim).init(device),
            to_qkv: LinearConfig::new(dim, 3 * inner).with_bias(false).init(device),
            to_out: LinearConfig::new(inner, dim).init(device),
            ff_norm: LayerNormConfig::new(dim).init(device),
            ff_in: LinearConfig::new(dim, ff_hidden).init(device),
            ff_out: LinearConfig::new(ff_hidden, dim).init(device),
            heads,
            head_dim,
        }
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [n, tokens, _] = x.dims();
        let inner = self.heads * self.head_dim;
        let qkv = self.to_qkv.forward(self.attn_norm.forward(x.clone()));
        let split = |i: usize| -> Tensor<4> {
            qkv.clone().narrow(2, i * inner, inner).reshape([n, tokens, self.heads, self.head_dim]).swap_dims(1, 2)
        };
        let (q, k, v) = (split(0), split(1), split(2));
        let scores = q.matmul(k.swap_dims(2, 3)).mul_scalar(1.0 / (self.head_dim as f64).sqrt());
        let attended = softmax(scores, 3).matmul(v).swap_dims(1, 2).reshape([n, tokens, inner]);
        let x = self.to_out.forward(attended) + x;
        self.ff_out.forward(gelu(self.ff_in.forward(self.ff_norm.forward(x.clone())))) + x
    }

    fn macs(&self, tokens: usize) -> u64 {
        let t = tokens;
        macs::linear(&self.to_qkv, t)
            + macs::attention_formula(t, self.heads, self.head_dim)
            + macs::linear(&self.to_out, t)
            + macs::linear(&self.ff_in, t)
            + macs::linear(&self.ff_out, t)
    }
}

/// Attention pooling over time plus the last step: `x_T + γ Σ_t α_t x_t`.
#[derive(Module, Debug)]
pub struct TemporalAttention {
    pub score_hidden: Linear,
    pub score: Linear,
    pub gamma: Param<Tensor<1>>,
}

impl TemporalAttention {
    fn new(dim: usize, device: &Device) -> Self {
        TemporalAttention {
            score_hidden: LinearConfig::new(dim, dim).init(device),
            score: LinearConfig::new(dim, 1).with_bias(false).init(device),
            // 0: the model starts from the last step and learns how much context to add.
            gamma: Param::from_tensor(Tensor::zeros([1], device)),
        }
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let steps = x.dims()[1];
        let weights = softmax(self.score.forward(tanh(self.score_hidden.forward(x.clone()))), 1);
        let context: Tensor<2> = (weights * x.clone()).sum_dim(1).squeeze_dim(1);
        let last: Tensor<2> = x.narrow(1, steps - 1, 1).squeeze_dim(1);
        last + context * self.gamma.val().unsqueeze_dim::<2>(0)
    }

    fn macs(&self, steps: usize) -> u64 {
        let [dim, _] = self.score_hidden.weight.shape().dims();
        macs::linear(&self.score_hidden, steps) + macs::linear(&self.score, steps) + macs::weighted_sum_formula(steps, dim)
    }
}

#[derive(Module, Debug)]
pub struct TinyHar {
    pub convs: Vec<ConvReluBn>,
    pub interaction: ChannelTransformer,
    pub dropout: Dropout,
    pub fusion: Linear,
    pub lstm: Lstm,
    pub aggregation: TemporalAttention,
    pub classifier: Classifier,
}

impl TinyHar {
    /// `config` must have passed [`TinyHarConfig::validate`].
    pub fn new(config: &TinyHarConfig, channels: usize, classes: usize, device: &Device) -> Self {
        let f = scale_width(config.filters, config.width);
        let convs = config
            .conv_strides
            .iter()
            .enumerate()
            .map(|(i, &stride)| ConvReluBn {
                conv: Conv1dConfig::new(if i == 0 { 1 } else { f }, f, config.kernel).with_stride(stride).init(device),
                bn: BatchNormConfig::new(f).init(device),
            })
            .collect();
        TinyHar {
            convs,
            interaction: ChannelTransformer::new(f, config.heads, config.head_dim, config.ff_hidden, device),
            dropout: DropoutConfig::new(config.dropout).init(),
            fusion: LinearConfig::new(channels * f, 2 * f).init(device),
            lstm: lstm(2 * f, 2 * f, device),
            aggregation: TemporalAttention::new(2 * f, device),
            classifier: config.classifier.build(2 * f, classes, device),
        }
    }

    pub fn forward(&self, x: Tensor<3>) -> ModelOutput {
        let [batch, channels, length] = x.dims();
        let mut h = x.reshape([batch * channels, 1, length]);
        for layer in &self.convs {
            h = layer.bn.forward(relu(layer.conv.forward(h)));
        }
        let [_, filters, steps] = h.dims();
        let subnet = h.reshape([batch, channels, filters, steps]);
        let mut anchors = vec![subnet.clone().reshape([batch, channels * filters, steps])];
        // Channel tokens of each time step: [B, C, F, T] → [B·T, C, F].
        let tokens = subnet.permute([0, 3, 1, 2]).reshape([batch * steps, channels, filters]);
        let mixed = self.dropout.forward(self.interaction.forward(tokens).reshape([batch, steps, channels * filters]));
        let fused = relu(self.fusion.forward(mixed));
        anchors.push(fused.clone().swap_dims(1, 2));
        // burn's step-by-step layer, not crate::fused_lstm: the committed reference records of
        // TinyHAR were made with it, and the fused layer rounds differently (docs/models.md).
        let (seq, _) = self.lstm.forward(fused, None);
        anchors.push(seq.clone().swap_dims(1, 2));
        let pooled = self.aggregation.forward(seq);
        ModelOutput::from_head(self.classifier.forward(pooled.clone()), pooled, anchors)
    }

    pub fn macs(&self, channels: usize, length: usize) -> u64 {
        let mut total = 0;
        let mut steps = length;
        for layer in &self.convs {
            let (m, out) = macs::conv1d(&layer.conv, steps);
            total += m * channels as u64;
            steps = out;
        }
        total += self.interaction.macs(channels) * steps as u64;
        total += macs::linear(&self.fusion, steps) + macs::lstm(&self.lstm, steps);
        total + self.aggregation.macs(steps) + self.classifier.macs()
    }
}

impl ArchitectureConfig for TinyHarConfig {
    type Model = TinyHar;

    fn validate(&self) -> Result<(), String> {
        TinyHarConfig::validate(self)
    }

    fn classifier(&self) -> &ClassifierConfig {
        &self.classifier
    }

    fn classifier_mut(&mut self) -> &mut ClassifierConfig {
        &mut self.classifier
    }

    fn dropout_mut(&mut self) -> Option<&mut f64> {
        Some(&mut self.dropout)
    }

    fn min_length(&self) -> usize {
        TinyHarConfig::min_length(self)
    }

    fn build(&self, channels: usize, classes: usize, device: &Device) -> TinyHar {
        TinyHar::new(self, channels, classes, device)
    }
}

impl Architecture for TinyHar {
    fn forward(&self, x: Tensor<3>) -> ModelOutput {
        TinyHar::forward(self, x)
    }

    fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    fn classifier_mut(&mut self) -> &mut Classifier {
        &mut self.classifier
    }

    fn macs(&self, channels: usize, length: usize) -> u64 {
        TinyHar::macs(self, channels, length)
    }
}
