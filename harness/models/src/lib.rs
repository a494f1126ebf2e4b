//! harbench's models. Every model maps a window `[batch, channels, time]` to a [`ModelOutput`]:
//! logits, the pooled feature, and the anchor (stage-end) features distillation needs.
//!
//! A model is one file and one variant in [`ModelConfig`] / [`Model`]; burn's optimisers need a
//! concrete module type, hence an enum rather than trait objects.

pub mod cnn3;
pub mod deepconvlstm;
pub mod heads;
pub mod layers;
pub mod macs;
pub mod mobilenet;
pub mod resnet1d;
pub mod tinyhar;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

pub use cnn3::{Cnn3, Cnn3Config};
pub use deepconvlstm::{DeepConvLstm, DeepConvLstmConfig};
pub use heads::{Classifier, ClassifierConfig, HeadKind, HeadOutput};
pub use mobilenet::{MobileNetV3, MobileNetV3Config};
pub use resnet1d::{ResNet1d, ResNet1dConfig};
pub use tinyhar::{TinyHar, TinyHarConfig};

/// What every model returns.
#[derive(Debug, Clone)]
pub struct ModelOutput {
    /// `[batch, classes]`.
    pub logits: Tensor<2>,
    /// `[batch, features]`: the input of the classifier.
    pub pooled: Tensor<2>,
    /// `[batch, channels, time]` at each stage end, shallow to deep.
    pub anchors: Vec<Tensor<3>>,
    /// The query of the classifier's Hopfield memory head, when it has one (`[batch, d]`).
    pub memory_query: Option<Tensor<2>>,
}

impl ModelOutput {
    pub fn from_head(head: HeadOutput, pooled: Tensor<2>, anchors: Vec<Tensor<3>>) -> Self {
        ModelOutput { logits: head.logits, pooled, anchors, memory_query: head.memory_query }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("unknown model '{name}'{}; known models: {known}", nearest.as_ref().map(|n| format!(" (did you mean '{n}'?)")).unwrap_or_default())]
    Unknown { name: String, nearest: Option<String>, known: String },
    #[error("model '{name}': {message}")]
    Invalid { name: String, message: String },
}

/// The exact architecture of a run, serialised with its results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ModelConfig {
    MobileNetV3(MobileNetV3Config),
    #[serde(rename = "deepconvlstm")]
    DeepConvLstm(DeepConvLstmConfig),
    #[serde(rename = "tinyhar")]
    TinyHar(TinyHarConfig),
    #[serde(rename = "resnet1d")]
    ResNet1d(ResNet1dConfig),
    #[serde(rename = "cnn3")]
    Cnn3(Cnn3Config),
}

/// Named presets: what `--model NAME` means.
pub const PRESETS: &[&str] = &["mobilenetv3-large-1d", "mobilenetv3-small-1d", "deepconvlstm", "tinyhar", "resnet1d", "cnn3"];

impl ModelConfig {
    /// A preset by name; `width` overrides its width multiplier (every preset has one).
    pub fn preset(name: &str, width: Option<f64>) -> Result<Self, ModelError> {
        let w = width.unwrap_or(1.0);
        let config = match name {
            "mobilenetv3-large-1d" => ModelConfig::MobileNetV3(MobileNetV3Config::large(w)),
            "mobilenetv3-small-1d" => ModelConfig::MobileNetV3(MobileNetV3Config::small(w)),
            "deepconvlstm" => ModelConfig::DeepConvLstm(DeepConvLstmConfig::paper(w)),
            "tinyhar" => ModelConfig::TinyHar(TinyHarConfig::paper(w)),
            "resnet1d" => ModelConfig::ResNet1d(ResNet1dConfig::paper(w)),
            "cnn3" => ModelConfig::Cnn3(Cnn3Config::standard(w)),
            other => {
                let nearest = PRESETS
                    .iter()
                    .map(|p| (strsim::normalized_damerau_levenshtein(&other.to_lowercase(), p), *p))
                    .filter(|(s, _)| *s >= 0.5)
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .map(|(_, p)| p.to_string());
                return Err(ModelError::Unknown { name: other.into(), nearest, known: PRESETS.join(", ") });
            }
        };
        config.validate(name)?;
        Ok(config)
    }

    /// Sets the model's training-time dropout; an error for models that have none.
    pub fn with_dropout(mut self, name: &str, dropout: f64) -> Result<Self, ModelError> {
        match &mut self {
            ModelConfig::MobileNetV3(c) => c.dropout = dropout,
            ModelConfig::DeepConvLstm(c) => c.dropout = dropout,
            ModelConfig::TinyHar(c) => c.dropout = dropout,
            ModelConfig::ResNet1d(_) | ModelConfig::Cnn3(_) => {
                return Err(ModelError::Invalid { name: name.into(), message: "this model has no dropout setting".into() })
            }
        }
        self.validate(name)?;
        Ok(self)
    }

    /// The classifier settings (every model has them).
    pub fn classifier(&self) -> &ClassifierConfig {
        match self {
            ModelConfig::MobileNetV3(c) => &c.classifier,
            ModelConfig::DeepConvLstm(c) => &c.classifier,
            ModelConfig::TinyHar(c) => &c.classifier,
            ModelConfig::ResNet1d(c) => &c.classifier,
            ModelConfig::Cnn3(c) => &c.classifier,
        }
    }

    fn classifier_mut(&mut self) -> &mut ClassifierConfig {
        match self {
            ModelConfig::MobileNetV3(c) => &mut c.classifier,
            ModelConfig::DeepConvLstm(c) => &mut c.classifier,
            ModelConfig::TinyHar(c) => &mut c.classifier,
            ModelConfig::ResNet1d(c) => &mut c.classifier,
            ModelConfig::Cnn3(c) => &mut c.classifier,
        }
    }

    /// The same model with these classifier heads (validated).
    pub fn with_heads(mut self, name: &str, heads: Vec<HeadKind>) -> Result<Self, ModelError> {
        self.classifier_mut().heads = heads;
        self.validate(name)?;
        Ok(self)
    }

    pub fn validate(&self, name: &str) -> Result<(), ModelError> {
        let result = match self {
            ModelConfig::MobileNetV3(c) => c.validate(),
            ModelConfig::DeepConvLstm(c) => c.validate(),
            ModelConfig::TinyHar(c) => c.validate(),
            ModelConfig::ResNet1d(c) => c.validate(),
            ModelConfig::Cnn3(c) => c.validate(),
        };
        result.map_err(|message| ModelError::Invalid { name: name.into(), message })
    }

    /// The architecture's name, as serialised in `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelConfig::MobileNetV3(_) => "mobile-net-v3",
            ModelConfig::DeepConvLstm(_) => "deepconvlstm",
            ModelConfig::TinyHar(_) => "tinyhar",
            ModelConfig::ResNet1d(_) => "resnet1d",
            ModelConfig::Cnn3(_) => "cnn3",
        }
    }

    /// Shortest window the model accepts (unpadded convolutions and poolings shorten it).
    pub fn min_length(&self) -> usize {
        match self {
            ModelConfig::MobileNetV3(_) | ModelConfig::ResNet1d(_) => 1,
            ModelConfig::DeepConvLstm(c) => c.min_length(),
            ModelConfig::TinyHar(c) => c.min_length(),
            ModelConfig::Cnn3(c) => c.min_length(),
        }
    }

    /// Checks that windows of `channels × length` fit the model, before anything is built.
    pub fn check_input(&self, name: &str, channels: usize, length: usize) -> Result<(), ModelError> {
        let invalid = |message: String| Err(ModelError::Invalid { name: name.into(), message });
        if channels == 0 {
            return invalid("the windows have no channels".into());
        }
        if length < self.min_length() {
            return invalid(format!("windows of {length} samples are too short: this model needs at least {}", self.min_length()));
        }
        Ok(())
    }

    /// `config` must have passed [`ModelConfig::validate`].
    pub fn build(&self, channels: usize, classes: usize, device: &Device) -> Model {
        match self {
            ModelConfig::MobileNetV3(c) => Model::MobileNetV3(MobileNetV3::new(c, channels, classes, device)),
            ModelConfig::DeepConvLstm(c) => Model::DeepConvLstm(DeepConvLstm::new(c, channels, classes, device)),
            ModelConfig::TinyHar(c) => Model::TinyHar(TinyHar::new(c, channels, classes, device)),
            ModelConfig::ResNet1d(c) => Model::ResNet1d(ResNet1d::new(c, channels, classes, device)),
            ModelConfig::Cnn3(c) => Model::Cnn3(Cnn3::new(c, channels, classes, device)),
        }
    }
}

#[derive(Module, Debug)]
pub enum Model {
    MobileNetV3(MobileNetV3),
    DeepConvLstm(DeepConvLstm),
    TinyHar(TinyHar),
    ResNet1d(ResNet1d),
    Cnn3(Cnn3),
}

impl Model {
    /// `x`: `[batch, channels, time]` with the channels the model was built for and at least
    /// [`ModelConfig::min_length`] steps.
    pub fn forward(&self, x: Tensor<3>) -> ModelOutput {
        match self {
            Model::MobileNetV3(m) => m.forward(x),
            Model::DeepConvLstm(m) => m.forward(x),
            Model::TinyHar(m) => m.forward(x),
            Model::ResNet1d(m) => m.forward(x),
            Model::Cnn3(m) => m.forward(x),
        }
    }

    pub fn classifier(&self) -> &Classifier {
        match self {
            Model::MobileNetV3(m) => &m.classifier,
            Model::DeepConvLstm(m) => &m.classifier,
            Model::TinyHar(m) => &m.classifier,
            Model::ResNet1d(m) => &m.classifier,
            Model::Cnn3(m) => &m.classifier,
        }
    }

    /// The same model with another classifier (pruned heads, a memory copied from a teacher).
    pub fn with_classifier(mut self, classifier: Classifier) -> Model {
        match &mut self {
            Model::MobileNetV3(m) => m.classifier = classifier,
            Model::DeepConvLstm(m) => m.classifier = classifier,
            Model::TinyHar(m) => m.classifier = classifier,
            Model::ResNet1d(m) => m.classifier = classifier,
            Model::Cnn3(m) => m.classifier = classifier,
        }
        self
    }

    /// Trainable parameters, as PyTorch counts them. burn's `num_params` also counts the
    /// batch-norm running mean and variance (buffers, not parameters), 2 per normalised channel.
    pub fn trainable_params(&self) -> usize {
        let mut counter = TrainableCounter::default();
        self.visit(&mut counter);
        counter.count
    }

    /// Multiply-accumulates of one forward pass of one `channels × length` window, counted per
    /// layer by the convention of [`macs`].
    pub fn macs(&self, channels: usize, length: usize) -> u64 {
        match self {
            Model::MobileNetV3(m) => m.macs(channels, length),
            Model::DeepConvLstm(m) => m.macs(channels, length),
            Model::TinyHar(m) => m.macs(channels, length),
            Model::ResNet1d(m) => m.macs(channels, length),
            Model::Cnn3(m) => m.macs(channels, length),
        }
    }
}

/// Counts float parameters, skipping the running statistics of batch normalisation.
#[derive(Default)]
struct TrainableCounter {
    count: usize,
    /// Depth inside a `running_*` field of a batch norm (0: outside).
    in_buffer: usize,
}

impl ModuleVisitor for TrainableCounter {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        if self.in_buffer > 0 || (name.starts_with("running_") && container_type.contains("BatchNorm")) {
            self.in_buffer += 1;
        }
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.in_buffer = self.in_buffer.saturating_sub(1);
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.in_buffer == 0 {
            self.count += param.lazy_shape().num_elements();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_build_and_expose_three_anchors() {
        let device = Device::flex();
        for (name, width) in [("mobilenetv3-small-1d", 0.5), ("mobilenetv3-large-1d", 0.5)] {
            let model = ModelConfig::preset(name, Some(width)).unwrap().build(9, 6, &device);
            let out = model.forward(Tensor::<3>::zeros([2, 9, 128], &device));
            assert_eq!(out.logits.dims(), [2, 6], "{name}");
            assert_eq!(out.anchors.len(), 3, "{name}");
            assert_eq!(out.pooled.dims()[0], 2);
            // Stage ends get deeper and shorter.
            let lengths: Vec<usize> = out.anchors.iter().map(|a| a.dims()[2]).collect();
            assert!(lengths.windows(2).all(|w| w[0] >= w[1]), "{name}: {lengths:?}");
            println!(
                "{name} width {width}: {} parameters, anchors {:?}",
                model.trainable_params(),
                out.anchors.iter().map(|a| a.dims()).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn unknown_names_and_bad_tables_are_errors() {
        let err = ModelConfig::preset("mobilenetv3-smal-1d", None).unwrap_err().to_string();
        assert!(err.contains("did you mean 'mobilenetv3-small-1d'"), "{err}");
        assert!(ModelConfig::preset("mobilenetv3-small-1d", Some(0.0)).is_err());
        let mut c = MobileNetV3Config::small(1.0);
        c.blocks[0].anchor = true;
        assert!(c.validate().unwrap_err().contains("exactly 3"));
        c.blocks[0].anchor = false;
        c.blocks[1].kernel = 4;
        assert!(c.validate().unwrap_err().contains("odd"));
    }
}
