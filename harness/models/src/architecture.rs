//! The two traits an architecture implements, one for its serialisable settings and one for its
//! burn module. [`ModelConfig`](crate::ModelConfig) and [`Model`](crate::Model) are generated
//! from a list of architectures (the `architectures!` invocation in `lib.rs`) and dispatch every
//! call to these traits, so adding a model is one file with both impls, one line in that list and
//! one line in [`PRESETS`](crate::PRESETS).

use crate::heads::{Classifier, ClassifierConfig};
use crate::ModelOutput;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

/// The settings of an architecture: everything a run serialises to rebuild it.
pub trait ArchitectureConfig {
    /// The module [`build`](ArchitectureConfig::build) makes.
    type Model: Architecture;

    /// Checks the settings; the message names the offending field.
    fn validate(&self) -> Result<(), String>;

    /// The classifier settings (every model has them).
    fn classifier(&self) -> &ClassifierConfig;

    fn classifier_mut(&mut self) -> &mut ClassifierConfig;

    /// The training-time dropout rate; `None` when the architecture has no dropout setting.
    fn dropout_mut(&mut self) -> Option<&mut f64>;

    /// Shortest window the model accepts (unpadded convolutions and poolings shorten it).
    fn min_length(&self) -> usize {
        1
    }

    /// `self` must have passed [`validate`](ArchitectureConfig::validate).
    fn build(&self, channels: usize, classes: usize, device: &Device) -> Self::Model;
}

/// The module of an architecture: a window `[batch, channels, time]` to a [`ModelOutput`].
pub trait Architecture: Module {
    /// `x`: `[batch, channels, time]` with the channels the model was built for and at least
    /// [`ArchitectureConfig::min_length`] steps.
    fn forward(&self, x: Tensor<3>) -> ModelOutput;

    fn classifier(&self) -> &Classifier;

    fn classifier_mut(&mut self) -> &mut Classifier;

    /// Multiply-accumulates of one forward pass of one `channels × length` window, counted per
    /// layer by the convention of [`macs`](crate::macs).
    fn macs(&self, channels: usize, length: usize) -> u64;
}
