//! AB: Heo, Lee, Yun & Choi, "Knowledge Transfer via Distillation of Activation Boundaries Formed
//! by Hidden Neurons" (AAAI 2019). A connector maps each student stage to the teacher's
//! channels; the student learns on which side of zero every teacher neuron is, with a margin:
//! `Σ (s + m)² · [s > −m ∧ t ≤ 0] + (s − m)² · [s ≤ m ∧ t > 0]` summed over elements, per stage,
//! weighted `2^(i − n + 1)` (deepest 1, halving towards the input), divided by the batch and
//! scaled by 3/1000 (RepDistiller `ABLoss` + `Connector`: a pre-training stage of 30 epochs on
//! this loss alone, then cross-entropy only, "can not converge with this term").
//!
//! 1-D [ours]: the connector is a 1×1 conv + batch norm over time for every stage (RepDistiller's
//! ConvReg without ReLU, which it uses wherever shapes differ; here they always differ in width),
//! followed by linear interpolation to the teacher's length where the lengths differ. The anchors are the stages' linear-bottleneck outputs, which are pre-activation
//! as the paper's boundaries need.

use crate::method::{Context, Features, Method, Term};
use crate::parts::Parts;
use crate::DistillError;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub pretrain_epochs: usize,
    /// Weight of the AB loss in the pre-training stage.
    pub pretrain_weight: f64,
    /// Weight of the AB loss in the main stage (RepDistiller: 0).
    pub beta: f64,
    /// The margin `m` around the boundary.
    pub margin: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config { pretrain_epochs: 30, pretrain_weight: 1.0, beta: 0.0, margin: 1.0 }
    }
}

pub struct Ab {
    c: Config,
    lengths: Vec<usize>,
}

pub fn build(params: serde_json::Value) -> Result<Box<dyn Method>, DistillError> {
    let c: Config = super::parse("ab", params)?;
    super::weight("ab", "beta", c.beta)?;
    super::weight("ab", "pretrain_weight", c.pretrain_weight)?;
    super::positive("ab", "margin", c.margin)?;
    Ok(Box::new(Ab { c, lengths: Vec::new() }))
}

/// The margin loss of one stage, summed over its elements.
pub fn boundary_loss(source: Tensor<3>, target: Tensor<3>, margin: f64) -> Tensor<1> {
    let below = source.clone().greater_elem(-margin).bool_and(target.clone().lower_equal_elem(0.0)).float();
    let above = source.clone().lower_equal_elem(margin).bool_and(target.greater_elem(0.0)).float();
    let loss = (source.clone() + margin).powi_scalar(2) * below + (source - margin).powi_scalar(2) * above;
    loss.sum()
}

/// The whole AB loss over stages `student[i]` (already connected to the teacher's shape) and
/// `teacher[i]`, shallow to deep.
pub fn ab_loss(student: &[Tensor<3>], teacher: &[Tensor<3>], margin: f64) -> Tensor<1> {
    let n = student.len() as i32;
    student
        .iter()
        .zip(teacher)
        .enumerate()
        .map(|(i, (s, t))| {
            let batch = s.dims()[0] as f64;
            let weight = 2f64.powi(i as i32 - n + 1);
            boundary_loss(s.clone(), t.clone(), margin) * (weight / batch / 1000.0 * 3.0)
        })
        .reduce(|a, b| a + b)
        .expect("at least one stage")
}

impl Method for Ab {
    fn name(&self) -> &'static str {
        "ab"
    }
    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.c).expect("plain config")
    }
    fn pretrain_epochs(&self) -> usize {
        self.c.pretrain_epochs
    }
    fn build(&mut self, ctx: &Context, device: &Device) -> Result<Parts, DistillError> {
        let (parts, lengths) = super::anchor_connectors("ab", 1, &ctx.student, &ctx.teacher, device)?;
        self.lengths = lengths;
        Ok(parts)
    }
    fn loss(&mut self, parts: &Parts, f: &Features) -> Vec<Term> {
        let weight = super::stage_weight(f.stage, self.c.pretrain_weight, self.c.beta);
        if weight == 0.0 {
            return Vec::new();
        }
        let student = super::connect(parts, &f.student.anchors, &self.lengths);
        vec![Term::new("ab", ab_loss(&student, &f.teacher.anchors, self.c.margin) * weight)]
    }
}
