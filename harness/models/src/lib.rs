//! harbench's models. Every model maps a window `[batch, channels, time]` to a [`ModelOutput`]:
//! logits, the pooled feature, and the anchor (stage-end) features distillation needs.
//!
//! A model is one file and one variant in [`ModelConfig`] / [`Model`]; burn's optimisers need a
//! concrete module type, hence an enum rather than trait objects.

pub mod layers;
pub mod macs;
pub mod mobilenet;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

pub use mobilenet::{MobileNetV3, MobileNetV3Config};

/// What every model returns.
#[derive(Debug, Clone)]
pub struct ModelOutput {
    /// `[batch, classes]`.
    pub logits: Tensor<2>,
    /// `[batch, features]`: the input of the classifier.
    pub pooled: Tensor<2>,
    /// `[batch, channels, time]` at each stage end, shallow to deep.
    pub anchors: Vec<Tensor<3>>,
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
}

/// Named presets: what `--model NAME` means.
pub const PRESETS: &[&str] = &["mobilenetv3-large-1d", "mobilenetv3-small-1d"];

impl ModelConfig {
    /// A preset by name; `width` overrides its width multiplier.
    pub fn preset(name: &str, width: Option<f64>) -> Result<Self, ModelError> {
        let config = match name {
            "mobilenetv3-large-1d" => ModelConfig::MobileNetV3(MobileNetV3Config::large(width.unwrap_or(1.0))),
            "mobilenetv3-small-1d" => ModelConfig::MobileNetV3(MobileNetV3Config::small(width.unwrap_or(1.0))),
            other => {
                let nearest = PRESETS
                    .iter()
                    .map(|p| (strsim::normalized_damerau_levenshtein(other, p), *p))
                    .filter(|(s, _)| *s >= 0.5)
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .map(|(_, p)| p.to_string());
                return Err(ModelError::Unknown { name: other.into(), nearest, known: PRESETS.join(", ") });
            }
        };
        config.validate(name)?;
        Ok(config)
    }

    pub fn validate(&self, name: &str) -> Result<(), ModelError> {
        let result = match self {
            ModelConfig::MobileNetV3(c) => c.validate(),
        };
        result.map_err(|message| ModelError::Invalid { name: name.into(), message })
    }

    pub fn build(&self, channels: usize, classes: usize, device: &Device) -> Model {
        match self {
            ModelConfig::MobileNetV3(c) => Model::MobileNetV3(MobileNetV3::new(c, channels, classes, device)),
        }
    }
}

#[derive(Module, Debug)]
pub enum Model {
    MobileNetV3(MobileNetV3),
}

impl Model {
    pub fn forward(&self, x: Tensor<3>) -> ModelOutput {
        match self {
            Model::MobileNetV3(m) => m.forward(x),
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
                model.num_params(),
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
