//! DeepConvLSTM (Ordóñez & Roggen, "Deep Convolutional and LSTM Recurrent Neural Networks for
//! Multimodal Wearable Activity Recognition", Sensors 16(1):115, 2016).
//!
//! Four convolutions of 64 filters with kernel 5 run along time only, with weights shared by all
//! sensor channels (the paper's 5×1 kernels over a time × channel image), each followed by ReLU
//! and without padding; the per-step features of all channels are then concatenated and fed to
//! two LSTM layers of 128 units; the classifier reads the last time step. Dropout (0.5) on the
//! inputs of both LSTM layers and of the classifier, as in the paper.
//!
//! The LSTM layers run as one fused operation each on the CPU backend ([`crate::fused_lstm`]):
//! burn's step-by-step layer made this the slowest model to train (docs/models.md).

use crate::architecture::{Architecture, ArchitectureConfig};
use crate::fused_lstm::lstm_sequence;
use crate::heads::{Classifier, ClassifierConfig};
use crate::layers::{check_dropout, check_width, lstm, scale_width};
use crate::{macs, ModelOutput};
use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{Dropout, DropoutConfig, Lstm};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeepConvLstmConfig {
    /// The classifier on the pooled feature (one linear head by default).
    #[serde(default, skip_serializing_if = "ClassifierConfig::is_default")]
    pub classifier: ClassifierConfig,
    /// Filters of every convolution (before the width multiplier).
    pub filters: usize,
    pub kernel: usize,
    pub conv_layers: usize,
    /// Units of every LSTM layer (before the width multiplier).
    pub lstm_units: usize,
    pub lstm_layers: usize,
    /// Dropout on the inputs of the LSTM layers and of the classifier.
    pub dropout: f64,
    /// Multiplies `filters` and `lstm_units`.
    pub width: f64,
}

impl DeepConvLstmConfig {
    /// The paper's architecture.
    pub fn paper(width: f64) -> Self {
        DeepConvLstmConfig {
            filters: 64,
            kernel: 5,
            conv_layers: 4,
            lstm_units: 128,
            lstm_layers: 2,
            dropout: 0.5,
            width,
            classifier: ClassifierConfig::default(),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        self.classifier.validate()?;
        check_width(self.width)?;
        check_dropout("dropout", self.dropout)?;
        if self.filters == 0 || self.lstm_units == 0 || self.kernel == 0 {
            return Err(format!(
                "filters ({}), kernel ({}) and lstm_units ({}) must be positive",
                self.filters, self.kernel, self.lstm_units
            ));
        }
        // Anchors: half-way through the convolutions, their end, the last LSTM.
        if self.conv_layers < 2 || self.lstm_layers == 0 {
            return Err(format!(
                "conv_layers ({}) must be at least 2 and lstm_layers ({}) at least 1 (three anchors)",
                self.conv_layers, self.lstm_layers
            ));
        }
        Ok(())
    }

    /// Shortest window: each unpadded convolution removes `kernel − 1` steps.
    pub fn min_length(&self) -> usize {
        self.conv_layers * (self.kernel - 1) + 1
    }
}

#[derive(Module, Debug)]
pub struct DeepConvLstm {
    pub convs: Vec<Conv1d>,
    pub lstms: Vec<Lstm>,
    pub dropout: Dropout,
    pub classifier: Classifier,
    /// Index of the convolution whose output is the first anchor.
    #[module(skip)]
    pub mid_anchor: usize,
}

impl DeepConvLstm {
    /// `config` must have passed [`DeepConvLstmConfig::validate`].
    pub fn new(config: &DeepConvLstmConfig, channels: usize, classes: usize, device: &Device) -> Self {
        let filters = scale_width(config.filters, config.width);
        let units = scale_width(config.lstm_units, config.width);
        let convs = (0..config.conv_layers)
            .map(|i| Conv1dConfig::new(if i == 0 { 1 } else { filters }, filters, config.kernel).init(device))
            .collect();
        let lstms = (0..config.lstm_layers).map(|i| lstm(if i == 0 { channels * filters } else { units }, units, device)).collect();
        DeepConvLstm {
            convs,
            lstms,
            dropout: DropoutConfig::new(config.dropout).init(),
            classifier: config.classifier.build(units, classes, device),
            mid_anchor: config.conv_layers / 2 - 1,
        }
    }

    pub fn forward(&self, x: Tensor<3>) -> ModelOutput {
        let [batch, channels, length] = x.dims();
        // Every sensor channel is a separate one-channel sequence: the kernels are shared.
        let mut h = x.reshape([batch * channels, 1, length]);
        let mut anchors = Vec::with_capacity(3);
        for (i, conv) in self.convs.iter().enumerate() {
            h = relu(conv.forward(h));
            if i == self.mid_anchor || i + 1 == self.convs.len() {
                let [_, filters, steps] = h.dims();
                anchors.push(h.clone().reshape([batch, channels * filters, steps]));
            }
        }
        // [B, C·F, T] → [B, T, C·F]: all channels' features of a step form the LSTM input.
        let mut seq = anchors[1].clone().swap_dims(1, 2);
        for lstm in &self.lstms {
            seq = lstm_sequence(lstm, self.dropout.forward(seq));
        }
        let steps = seq.dims()[1];
        anchors.push(seq.clone().swap_dims(1, 2));
        let pooled: Tensor<2> = seq.narrow(1, steps - 1, 1).squeeze_dim(1);
        ModelOutput::from_head(self.classifier.forward(self.dropout.forward(pooled.clone())), pooled, anchors)
    }

    pub fn macs(&self, channels: usize, length: usize) -> u64 {
        let mut total = 0;
        let mut steps = length;
        for conv in &self.convs {
            let (m, out) = macs::conv1d(conv, steps);
            // The same kernels run over each sensor channel.
            total += m * channels as u64;
            steps = out;
        }
        total += self.lstms.iter().map(|l| macs::lstm(l, steps)).sum::<u64>();
        total + self.classifier.macs()
    }
}

impl ArchitectureConfig for DeepConvLstmConfig {
    type Model = DeepConvLstm;

    fn validate(&self) -> Result<(), String> {
        DeepConvLstmConfig::validate(self)
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
        DeepConvLstmConfig::min_length(self)
    }

    fn build(&self, channels: usize, classes: usize, device: &Device) -> DeepConvLstm {
        DeepConvLstm::new(self, channels, classes, device)
    }
}

impl Architecture for DeepConvLstm {
    fn forward(&self, x: Tensor<3>) -> ModelOutput {
        DeepConvLstm::forward(self, x)
    }

    fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    fn classifier_mut(&mut self) -> &mut Classifier {
        &mut self.classifier
    }

    fn macs(&self, channels: usize, length: usize) -> u64 {
        DeepConvLstm::macs(self, channels, length)
    }
}
