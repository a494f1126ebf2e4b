//! The one trait every distillation method implements, and what the trainer hands it.

use crate::parts::Parts;
use crate::DistillError;
use burn::tensor::{Device, Int, Tensor};
use harbench_models::{Model, ModelConfig, ModelOutput};
use harbench_train::Stage;
use serde::{Deserialize, Serialize};

/// Feature shapes of one model, read from a forward pass before training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shapes {
    /// `(channels, time steps)` of each anchor, shallow to deep.
    pub anchors: Vec<(usize, usize)>,
    /// Width of the pooled feature.
    pub pooled: usize,
    /// Dimension of the classifier's Hopfield memory, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<usize>,
}

/// What a method may look at when it builds its trainable parts.
pub struct Context<'a> {
    pub student: Shapes,
    pub teacher: Shapes,
    pub classes: usize,
    /// Label of every training window, by position in the training split (CRD's negatives).
    pub train_labels: &'a [usize],
    pub seed: u64,
    /// The frozen teacher (eval mode, plain device), for methods that read its weights.
    pub teacher_model: Option<&'a Model>,
    /// Up to 256 normalised training windows (plain device), for fits at initialisation.
    pub sample: Option<Tensor<3>>,
}

/// One batch as a method sees it. Teacher tensors are constants on the autodiff device (no
/// graph back into the teacher); student tensors carry the graph.
pub struct Features<'a> {
    pub student: &'a ModelOutput,
    pub teacher: &'a ModelOutput,
    pub labels: &'a Tensor<1, Int>,
    /// Positions of the batch's windows in the training split.
    pub rows: &'a [usize],
    /// 1-based epoch within `stage`.
    pub epoch: usize,
    pub stage: Stage,
}

/// A named, already weighted part of a method's loss (logged and summed).
/// Whether a distillation run stopped part-way continues from its last epoch checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// [`Method::loss`] keeps no state between batches besides its [`Parts`], which are saved
    /// with the student: the checkpoint holds everything.
    FromCheckpoint,
    /// The method keeps state no checkpoint saves (CRD's memory banks of past batches) or that
    /// is not checked yet: the run starts again from epoch 1.
    StartOver,
}

pub struct Term {
    pub name: &'static str,
    pub value: Tensor<1>,
}

impl Term {
    pub fn new(name: &'static str, value: Tensor<1>) -> Self {
        Term { name, value }
    }
}

/// The terms every method is mixed with, as RepDistiller's `γ·CE + α·KD + β·method`:
/// `ce` (γ) weighs the cross-entropy, `kd` (α) an added Hinton KD at `kd_temperature`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Mix {
    pub ce: f64,
    pub kd: f64,
    pub kd_temperature: f64,
}

impl Mix {
    /// Cross-entropy alone beside the method's loss (RepDistiller's `-r 1 -a 0`).
    pub const CE: Mix = Mix { ce: 1.0, kd: 0.0, kd_temperature: 4.0 };
}

/// A distillation method: its trainable parts, schedule and loss.
pub trait Method: Send {
    /// Registry name.
    fn name(&self) -> &'static str;
    /// The resolved hyper-parameters, written with the results.
    fn config(&self) -> serde_json::Value;
    /// Builds the training-only parts (regressors, embedding heads) once shapes are known, and
    /// checks the method can work on them.
    fn build(&mut self, _ctx: &Context, _device: &Device) -> Result<Parts, DistillError> {
        Ok(Parts::default())
    }
    /// The student's architecture as this method trains it (SMLDist sets its classifier heads).
    fn student_config(&self, config: &ModelConfig) -> Result<ModelConfig, DistillError> {
        Ok(config.clone())
    }
    /// Changes the freshly built student (autodiff device) before training, after `build`
    /// (SMLDist copies the teacher's memory into it).
    fn init_student(&mut self, _ctx: &Context, student: Model) -> Result<Model, DistillError> {
        Ok(student)
    }
    /// True when a run stopped part-way resumes from its last epoch checkpoint and ends as an
    /// unbroken run: the [`Resume`] on the method's registry line (`methods/mod.rs`). A method
    /// outside the registry starts over.
    fn resumable(&self) -> bool {
        crate::registry::find(self.name()).is_ok_and(|entry| entry.resume == Resume::FromCheckpoint)
    }
    /// Epochs of a pre-training stage before the main epochs (FSP, AB, FT); 0 for most.
    fn pretrain_epochs(&self) -> usize {
        0
    }
    /// How the pre-training epochs are optimised: the run's optimiser (most), or the SMLDist
    /// authors' fresh Adam per stage phase.
    fn pretrain_optimizer(&self) -> harbench_train::PretrainOptimizer {
        harbench_train::PretrainOptimizer::Run
    }
    /// The method's weighted loss terms for one batch. In [`Stage::Pretrain`] they are the
    /// whole objective; in [`Stage::Main`] cross-entropy and KD are added by the [`Mix`].
    fn loss(&mut self, parts: &Parts, f: &Features) -> Vec<Term>;
}
