//! SP: Tung & Mori, "Similarity-Preserving Knowledge Distillation" (ICCV 2019). Batch similarity
//! `G = normalize_rows(F Fᵀ)` of flattened features; loss `β · ‖G_t − G_s‖²_F / B²`
//! (RepDistiller `Similarity` on the last stage, β = 3000).
//!
//! 1-D: `F` is the `[B, C·T]` flattening of a time-feature map; shapes may differ freely.

use crate::method::{Features, Method, Term};
use crate::ops::{flatten, l2_normalize};
use crate::parts::Parts;
use crate::DistillError;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub beta: f64,
    /// RepDistiller uses the last feature map before pooling.
    pub anchors: Vec<usize>,
}

impl Default for Config {
    fn default() -> Self {
        Config { beta: 3000.0, anchors: vec![2] }
    }
}

pub struct Sp(Config);

pub fn build(params: serde_json::Value) -> Result<Box<dyn Method>, DistillError> {
    let c: Config = super::parse("sp", params)?;
    super::weight("sp", "beta", c.beta)?;
    Ok(Box::new(Sp(c)))
}

pub fn similarity(f: Tensor<3>) -> Tensor<2> {
    let f = flatten(f);
    l2_normalize(f.clone().matmul(f.transpose()), 1)
}

pub fn sp_loss(f_s: Tensor<3>, f_t: Tensor<3>) -> Tensor<1> {
    let b = f_s.dims()[0] as f64;
    (similarity(f_t) - similarity(f_s)).powi_scalar(2).sum() / (b * b)
}

impl Method for Sp {
    fn name(&self) -> &'static str {
        "sp"
    }
    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).expect("plain config")
    }
    fn build(&mut self, ctx: &crate::Context, _device: &burn::tensor::Device) -> Result<Parts, DistillError> {
        super::anchors_exist("sp", &self.0.anchors, &ctx.student, &ctx.teacher)?;
        Ok(Parts::default())
    }
    fn loss(&mut self, _parts: &Parts, f: &Features) -> Vec<Term> {
        let sum = self
            .0
            .anchors
            .iter()
            .map(|&a| sp_loss(f.student.anchors[a].clone(), f.teacher.anchors[a].clone()))
            .reduce(|a, b| a + b)
            .expect("at least one anchor");
        vec![Term::new("similarity", sum * self.0.beta)]
    }
}
