//! AT: Zagoruyko & Komodakis, "Paying More Attention to Attention" (ICLR 2017). Attention map
//! `a = normalize(mean_c |F|^p)`; loss `β · Σ_anchors mean((a_s − a_t)²)` (RepDistiller
//! `Attention`, p = 2, β = 1000).
//!
//! 1-D: the map is over time, `[B, T]`; when lengths differ the student's map is linearly
//! interpolated to the teacher's length before normalising. Channel counts may differ freely.

use crate::method::{Features, Method, Term};
use crate::ops::{l2_normalize, resize_time};
use crate::parts::Parts;
use crate::DistillError;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub beta: f64,
    pub p: f64,
    /// Anchors matched (RepDistiller: every intermediate stage).
    pub anchors: Vec<usize>,
}

impl Default for Config {
    fn default() -> Self {
        Config { beta: 1000.0, p: 2.0, anchors: vec![0, 1, 2] }
    }
}

pub struct At(Config);

pub fn build(params: serde_json::Value) -> Result<Box<dyn Method>, DistillError> {
    let c: Config = super::parse("at", params)?;
    super::weight("at", "beta", c.beta)?;
    super::positive("at", "p", c.p)?;
    Ok(Box::new(At(c)))
}

/// The attention map over time, `[B, length]`, L2-normalised per sample.
pub fn attention(f: Tensor<3>, p: f64, length: usize) -> Tensor<2> {
    let map = f.abs().powf_scalar(p).mean_dim(1); // [B, 1, T]
    let map = resize_time(map, length);
    l2_normalize(map.squeeze_dim::<2>(1), 1)
}

/// `mean((a_s − a_t)²)` of one anchor pair.
pub fn at_loss(f_s: Tensor<3>, f_t: Tensor<3>, p: f64) -> Tensor<1> {
    let length = f_t.dims()[2];
    (attention(f_s, p, length) - attention(f_t, p, length)).powi_scalar(2).mean()
}

impl Method for At {
    fn name(&self) -> &'static str {
        "at"
    }
    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).expect("plain config")
    }
    fn build(&mut self, ctx: &crate::Context, _device: &burn::tensor::Device) -> Result<Parts, DistillError> {
        super::anchors_exist("at", &self.0.anchors, &ctx.student, &ctx.teacher)?;
        Ok(Parts::default())
    }
    fn loss(&mut self, _parts: &Parts, f: &Features) -> Vec<Term> {
        let sum = self
            .0
            .anchors
            .iter()
            .map(|&a| at_loss(f.student.anchors[a].clone(), f.teacher.anchors[a].clone(), self.0.p))
            .reduce(|a, b| a + b)
            .expect("at least one anchor");
        vec![Term::new("attention", sum * self.0.beta)]
    }
}
