//! NST: Huang & Wang, "Like What You Like: Knowledge Distill via Neuron Selectivity Transfer"
//! (2017). Each channel's activation profile is L2-normalised; the squared MMD with a degree-2
//! polynomial kernel between the sets of student and teacher channels:
//! `mean k(t,t) + mean k(s,s) − 2 mean k(s,t)`, `k(a,b) = (aᵀb)²` (RepDistiller `NSTLoss`,
//! full loss, β = 50, every intermediate stage).
//!
//! 1-D: profiles are over time; the longer map is average-pooled to the shorter length as
//! RepDistiller does spatially. Channel counts may differ (the kernel is between channel sets).

use crate::method::{Features, Method, Term};
use crate::ops::{l2_normalize, pool_to_common_length};
use crate::parts::Parts;
use crate::DistillError;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub beta: f64,
    pub anchors: Vec<usize>,
}

impl Default for Config {
    fn default() -> Self {
        Config { beta: 50.0, anchors: vec![0, 1, 2] }
    }
}

pub struct Nst(Config);

pub fn build(params: serde_json::Value) -> Result<Box<dyn Method>, DistillError> {
    let c: Config = super::parse("nst", params)?;
    super::weight("nst", "beta", c.beta)?;
    Ok(Box::new(Nst(c)))
}

/// `mean_{i,j} (a_i · b_j)²` over channel profiles, `a: [B, Ca, T]`, `b: [B, Cb, T]`.
fn poly_kernel_mean(a: Tensor<3>, b: Tensor<3>) -> Tensor<1> {
    a.matmul(b.swap_dims(1, 2)).powi_scalar(2).mean()
}

pub fn nst_loss(f_s: Tensor<3>, f_t: Tensor<3>) -> Tensor<1> {
    let (s, t) = pool_to_common_length(f_s, f_t);
    let (s, t) = (l2_normalize(s, 2), l2_normalize(t, 2));
    poly_kernel_mean(t.clone(), t.clone()) + poly_kernel_mean(s.clone(), s.clone()) - poly_kernel_mean(s, t) * 2.0
}

impl Method for Nst {
    fn name(&self) -> &'static str {
        "nst"
    }
    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).expect("plain config")
    }
    fn build(&mut self, ctx: &crate::Context, _device: &burn::tensor::Device) -> Result<crate::Parts, DistillError> {
        super::anchors_exist("nst", &self.0.anchors, &ctx.student, &ctx.teacher)?;
        Ok(Parts::default())
    }
    fn loss(&mut self, _parts: &Parts, f: &Features) -> Vec<Term> {
        let sum = self
            .0
            .anchors
            .iter()
            .map(|&a| nst_loss(f.student.anchors[a].clone(), f.teacher.anchors[a].clone()))
            .reduce(|a, b| a + b)
            .expect("at least one anchor");
        vec![Term::new("nst", sum * self.0.beta)]
    }
}
