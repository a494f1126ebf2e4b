//! FSP: Yim, Joo, Bae & Kim, "A Gift from Knowledge Distillation: Fast Optimization, Network
//! Minimization and Transfer Learning" (CVPR 2017). The "flow" between consecutive stages,
//! `G = F_i F_{i+1}ᵀ / T` (a `[C_i, C_{i+1}]` Gram over time), is matched with MSE in a
//! pre-training stage; the main stage then trains with CE only (RepDistiller: 30 init epochs,
//! β = 0 afterwards).
//!
//! 1-D and width mismatch [ours]: FSP needs equal channel counts, so each student anchor goes
//! through a 1×1 conv + batch norm to the teacher's channels and is interpolated to the
//! teacher's length; the longer map of a consecutive pair is average-pooled to the shorter.

use crate::method::{Context, Features, Method, Term};
use crate::ops::{mse, pool_to_common_length};
use crate::parts::Parts;
use crate::DistillError;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub pretrain_epochs: usize,
    /// Weight of the FSP loss during the pre-training stage.
    pub pretrain_weight: f64,
    /// Weight of the FSP loss in the main stage (RepDistiller: 0).
    pub beta: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config { pretrain_epochs: 30, pretrain_weight: 1.0, beta: 0.0 }
    }
}

pub struct Fsp {
    c: Config,
    lengths: Vec<usize>,
}

pub fn build(params: serde_json::Value) -> Result<Box<dyn Method>, DistillError> {
    let c: Config = super::parse("fsp", params)?;
    super::weight("fsp", "beta", c.beta)?;
    super::weight("fsp", "pretrain_weight", c.pretrain_weight)?;
    Ok(Box::new(Fsp { c, lengths: Vec::new() }))
}

/// FSP matrices of consecutive maps, each `[B, C_i, C_{i+1}]`.
pub fn fsp_matrices(maps: &[Tensor<3>]) -> Vec<Tensor<3>> {
    maps.windows(2)
        .map(|w| {
            let (bot, top) = pool_to_common_length(w[0].clone(), w[1].clone());
            let t = bot.dims()[2] as f64;
            bot.matmul(top.swap_dims(1, 2)) / t
        })
        .collect()
}

pub fn fsp_loss(student: &[Tensor<3>], teacher: &[Tensor<3>]) -> Tensor<1> {
    fsp_matrices(student).into_iter().zip(fsp_matrices(teacher)).map(|(s, t)| mse(s, t)).reduce(|a, b| a + b).expect("at least two anchors")
}

impl Method for Fsp {
    fn name(&self) -> &'static str {
        "fsp"
    }
    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.c).expect("plain config")
    }
    fn pretrain_epochs(&self) -> usize {
        self.c.pretrain_epochs
    }
    fn build(&mut self, ctx: &Context, device: &Device) -> Result<Parts, DistillError> {
        let (parts, lengths) = super::anchor_connectors("fsp", 2, &ctx.student, &ctx.teacher, device)?;
        self.lengths = lengths;
        Ok(parts)
    }
    fn loss(&mut self, parts: &Parts, f: &Features) -> Vec<Term> {
        let weight = super::stage_weight(f.stage, self.c.pretrain_weight, self.c.beta);
        if weight == 0.0 {
            return Vec::new();
        }
        let student = super::connect(parts, &f.student.anchors, &self.lengths);
        vec![Term::new("fsp", fsp_loss(&student, &f.teacher.anchors) * weight)]
    }
}
