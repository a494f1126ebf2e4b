//! harbench's models. Every model maps a window `[batch, channels, time]` to a [`ModelOutput`]:
//! logits, the pooled feature, and the anchor (stage-end) features distillation needs.
//!
//! A model is one file implementing the two traits of [`architecture`], one line in the
//! `architectures!` invocation below (which generates the [`ModelConfig`] and [`Model`] enums and
//! their dispatch; burn's optimisers need a concrete module type, hence an enum rather than trait
//! objects) and one line per preset in [`PRESETS`].

pub mod architecture;
pub mod device;
pub mod fused_lstm;
pub mod hard_swish;
pub mod heads;
pub mod layers;
pub mod macs;
pub mod numerics;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

pub use architecture::{Architecture, ArchitectureConfig};

pub use heads::{Classifier, ClassifierConfig, HeadKind, HeadOutput};

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

macro_rules! architectures {
    ($($variant:ident => $file:ident, $kind:literal, $config:ident, $module:ident;)+) => {
        $(pub mod $file;
        pub use $file::{$config, $module};)+

        /// The exact architecture of a run, serialised with its results. One read from JSON
        /// (a checkpoint's report, the teacher store, a record) is validated on the way in, as
        /// the presets are when made: a `ModelConfig` is always fit to `build`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields, try_from = "UncheckedConfig")]
        pub enum ModelConfig {
            $(#[serde(rename = $kind)] $variant($config),)+
        }

        /// What the JSON says, before validation.
        #[derive(Deserialize)]
        #[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
        enum UncheckedConfig {
            $(#[serde(rename = $kind)] $variant($config),)+
        }

        impl TryFrom<UncheckedConfig> for ModelConfig {
            type Error = ModelError;
            fn try_from(unchecked: UncheckedConfig) -> Result<Self, ModelError> {
                let config = match unchecked {
                    $(UncheckedConfig::$variant(c) => ModelConfig::$variant(c),)+
                };
                config.validate(config.kind())?;
                Ok(config)
            }
        }

        $(impl From<$config> for ModelConfig {
            fn from(config: $config) -> Self {
                ModelConfig::$variant(config)
            }
        })+

        /// A built model; burn's optimisers need a concrete module type, hence an enum rather
        /// than trait objects.
        // One model is held per run and moved rarely; boxing the large variants would only add
        // an indirection to every module visit.
        #[allow(clippy::large_enum_variant)]
        #[derive(Module, Debug)]
        pub enum Model {
            $($variant($module),)+
        }

        impl ModelConfig {
            /// The architecture's name, as serialised in `kind`.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(ModelConfig::$variant(_) => $kind,)+
                }
            }

            pub fn validate(&self, name: &str) -> Result<(), ModelError> {
                let result = match self {
                    $(ModelConfig::$variant(c) => ArchitectureConfig::validate(c),)+
                };
                result.map_err(|message| ModelError::Invalid { name: name.into(), message })
            }

            /// The classifier settings (every model has them).
            pub fn classifier(&self) -> &ClassifierConfig {
                match self {
                    $(ModelConfig::$variant(c) => ArchitectureConfig::classifier(c),)+
                }
            }

            fn classifier_mut(&mut self) -> &mut ClassifierConfig {
                match self {
                    $(ModelConfig::$variant(c) => ArchitectureConfig::classifier_mut(c),)+
                }
            }

            fn dropout_mut(&mut self) -> Option<&mut f64> {
                match self {
                    $(ModelConfig::$variant(c) => ArchitectureConfig::dropout_mut(c),)+
                }
            }

            /// Shortest window the model accepts (unpadded convolutions and poolings shorten it).
            pub fn min_length(&self) -> usize {
                match self {
                    $(ModelConfig::$variant(c) => ArchitectureConfig::min_length(c),)+
                }
            }

            /// `config` must have passed [`ModelConfig::validate`].
            pub fn build(&self, channels: usize, classes: usize, device: &Device) -> Model {
                match self {
                    $(ModelConfig::$variant(c) => Model::$variant(ArchitectureConfig::build(c, channels, classes, device)),)+
                }
            }
        }

        impl Model {
            /// `x`: `[batch, channels, time]` with the channels the model was built for and at least
            /// [`ModelConfig::min_length`] steps.
            pub fn forward(&self, x: Tensor<3>) -> ModelOutput {
                match self {
                    $(Model::$variant(m) => Architecture::forward(m, x),)+
                }
            }

            pub fn classifier(&self) -> &Classifier {
                match self {
                    $(Model::$variant(m) => Architecture::classifier(m),)+
                }
            }

            fn classifier_mut(&mut self) -> &mut Classifier {
                match self {
                    $(Model::$variant(m) => Architecture::classifier_mut(m),)+
                }
            }

            /// Multiply-accumulates of one forward pass of one `channels × length` window, counted per
            /// layer by the convention of [`macs`].
            pub fn macs(&self, channels: usize, length: usize) -> u64 {
                match self {
                    $(Model::$variant(m) => Architecture::macs(m, channels, length),)+
                }
            }
        }
    };
}

// Every architecture, once: the `ModelConfig` / `Model` variant, its file (module), its `kind`
// in JSON, its settings (`ArchitectureConfig`) and its module (`Architecture`).
architectures! {
    MobileNetV3  => mobilenet,    "mobile-net-v3", MobileNetV3Config,  MobileNetV3;
    DeepConvLstm => deepconvlstm, "deepconvlstm",  DeepConvLstmConfig, DeepConvLstm;
    TinyHar      => tinyhar,      "tinyhar",       TinyHarConfig,      TinyHar;
    ResNet1d     => resnet1d,     "resnet1d",      ResNet1dConfig,     ResNet1d;
    Cnn3         => cnn3,         "cnn3",          Cnn3Config,         Cnn3;
}

/// A named model: what `--model NAME` means.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    pub name: &'static str,
    /// One line for listings.
    pub summary: &'static str,
    /// The settings at a width multiplier (1: the published size).
    pub config: fn(f64) -> ModelConfig,
}

/// Every preset, one line each; [`ModelConfig::preset`] looks names up here.
#[rustfmt::skip]
pub const PRESETS: &[Preset] = &[
    Preset { name: "mobilenetv3-large-1d", summary: "1-D MobileNetV3-Large (teacher)", config: |w| MobileNetV3Config::large(w).into() },
    Preset { name: "mobilenetv3-small-1d", summary: "1-D MobileNetV3-Small (student)", config: |w| MobileNetV3Config::small(w).into() },
    Preset { name: "mobilenetv3-large-1d-authors", summary: "MobileNetV3-Large anchored as the SMLDist authors' teacher (blocks 6, 11, 14)", config: |w| MobileNetV3Config::authors_teacher(w).into() },
    Preset { name: "mobilenetv3-large-1d-authors-student", summary: "the SMLDist authors' student: their teacher without blocks 2, 5, 9, 10, 14 (1.3x fewer MACs)", config: |w| MobileNetV3Config::authors_student(w).into() },
    Preset { name: "deepconvlstm", summary: "DeepConvLSTM (Ordóñez & Roggen 2016)", config: |w| DeepConvLstmConfig::paper(w).into() },
    Preset { name: "tinyhar", summary: "TinyHAR (Zhou et al. 2022)", config: |w| TinyHarConfig::paper(w).into() },
    Preset { name: "resnet1d", summary: "ResNet-1D (Wang, Yan & Oates 2017)", config: |w| ResNet1dConfig::paper(w).into() },
    Preset { name: "cnn3", summary: "plain 3-layer CNN", config: |w| Cnn3Config::standard(w).into() },
];

/// The names of [`PRESETS`], in order, as a constant.
const PRESET_NAMES: [&str; PRESETS.len()] = {
    let mut names = [""; PRESETS.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = PRESETS[i].name;
        i += 1;
    }
    names
};

/// The preset names, in [`PRESETS`] order.
pub fn preset_names() -> Vec<&'static str> {
    PRESET_NAMES.to_vec()
}

impl ModelConfig {
    /// A preset by name; `width` overrides its width multiplier (every preset has one).
    pub fn preset(name: &str, width: Option<f64>) -> Result<Self, ModelError> {
        let w = width.unwrap_or(1.0);
        let config = match PRESETS.iter().find(|p| p.name == name) {
            Some(preset) => (preset.config)(w),
            None => {
                let other = name;
                let nearest = harbench_common::names::nearest(other, PRESET_NAMES.iter().copied()).map(str::to_string);
                return Err(ModelError::Unknown { name: other.into(), nearest, known: PRESET_NAMES.join(", ") });
            }
        };
        config.validate(name)?;
        Ok(config)
    }

    /// Sets the model's training-time dropout; an error for models that have none.
    pub fn with_dropout(mut self, name: &str, dropout: f64) -> Result<Self, ModelError> {
        match self.dropout_mut() {
            Some(rate) => *rate = dropout,
            None => return Err(ModelError::Invalid { name: name.into(), message: "this model has no dropout setting".into() }),
        }
        self.validate(name)?;
        Ok(self)
    }

    /// The same model with these classifier heads (validated).
    pub fn with_heads(mut self, name: &str, heads: Vec<HeadKind>) -> Result<Self, ModelError> {
        self.classifier_mut().heads = heads;
        self.validate(name)?;
        Ok(self)
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
}

impl Model {
    /// The same model with another classifier (pruned heads, a memory copied from a teacher).
    pub fn with_classifier(mut self, classifier: Classifier) -> Model {
        *self.classifier_mut() = classifier;
        self
    }

    /// Trainable parameters, as PyTorch counts them. burn's `num_params` also counts the
    /// batch-norm running mean and variance (buffers, not parameters), 2 per normalised channel.
    pub fn trainable_params(&self) -> usize {
        let mut counter = TrainableCounter::default();
        self.visit(&mut counter);
        counter.count
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
    use crate::device::test_device;

    #[test]
    fn presets_build_and_expose_three_anchors() {
        let device = test_device();
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
