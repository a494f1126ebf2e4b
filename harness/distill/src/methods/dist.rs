//! DIST: Huang, You, Wang, Qian & Xu, "Knowledge Distillation from A Stronger Teacher"
//! (NeurIPS 2022). Pearson correlation of softened predictions, across classes per sample
//! (inter-class) and across the batch per class (intra-class):
//! `τ²·(β·(1 − mean ρ_inter) + γ·(1 − mean ρ_intra))` beside CE (official `DIST`: β = γ = 1,
//! τ = 1; the paper uses τ = 4 on CIFAR-100).

use crate::method::{Features, Method, Term};
use crate::ops::norm;
use crate::parts::Parts;
use crate::DistillError;
use burn::tensor::activation::softmax;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub beta: f64,
    pub gamma: f64,
    pub tau: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config { beta: 1.0, gamma: 1.0, tau: 1.0 }
    }
}

pub struct Dist(Config);

pub fn build(params: serde_json::Value) -> Result<Box<dyn Method>, DistillError> {
    let c: Config = super::parse("dist", params)?;
    super::weight("dist", "beta", c.beta)?;
    super::weight("dist", "gamma", c.gamma)?;
    super::positive("dist", "tau", c.tau)?;
    Ok(Box::new(Dist(c)))
}

/// `1 − mean_rows pearson(a_row, b_row)`; a constant row correlates 0 (no NaN).
fn relation(a: Tensor<2>, b: Tensor<2>) -> Tensor<1> {
    let a = a.clone() - a.mean_dim(1);
    let b = b.clone() - b.mean_dim(1);
    let cos = (a.clone() * b.clone()).sum_dim(1) / (norm(a, 1) * norm(b, 1) + 1e-8);
    cos.mean().neg() + 1.0
}

/// `(inter, intra)` relation losses, each scaled by `τ²`.
pub fn dist_terms(z_s: Tensor<2>, z_t: Tensor<2>, tau: f64) -> (Tensor<1>, Tensor<1>) {
    let ys = softmax(z_s / tau, 1);
    let yt = softmax(z_t / tau, 1);
    let inter = relation(ys.clone(), yt.clone()) * (tau * tau);
    let intra = relation(ys.transpose(), yt.transpose()) * (tau * tau);
    (inter, intra)
}

impl Method for Dist {
    fn name(&self) -> &'static str {
        "dist"
    }
    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).expect("plain config")
    }
    fn loss(&mut self, _parts: &Parts, f: &Features) -> Vec<Term> {
        let (inter, intra) = dist_terms(f.student.logits.clone(), f.teacher.logits.clone(), self.0.tau);
        vec![Term::new("inter", inter * self.0.beta), Term::new("intra", intra * self.0.gamma)]
    }
}
