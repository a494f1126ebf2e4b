//! RKD: Park, Kim, Lu & Cho, "Relational Knowledge Distillation" (CVPR 2019). Distance-wise
//! loss on pairwise distances normalised by their mean, angle-wise loss on the cosine of the
//! angle each triplet forms, both with smooth-L1; on the pooled feature (RepDistiller `RKDLoss`:
//! `w_d = 25`, `w_a = 50`, β = 1). Feature widths may differ: only relations are compared.

use crate::method::{Features, Method, Term};
use crate::ops::{l2_normalize, smooth_l1};
use crate::parts::Parts;
use crate::DistillError;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub beta: f64,
    pub distance_weight: f64,
    pub angle_weight: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config { beta: 1.0, distance_weight: 25.0, angle_weight: 50.0 }
    }
}

pub struct Rkd(Config);

pub fn build(params: serde_json::Value) -> Result<Box<dyn Method>, DistillError> {
    let c: Config = super::parse("rkd", params)?;
    for (field, v) in [("beta", c.beta), ("distance_weight", c.distance_weight), ("angle_weight", c.angle_weight)] {
        super::weight("rkd", field, v)?;
    }
    Ok(Box::new(Rkd(c)))
}

/// Pairwise Euclidean distances `[B, B]`, zero diagonal, each clamped at 1e-12 before the root.
pub fn pdist(e: Tensor<2>) -> Tensor<2> {
    let b = e.dims()[0];
    let sq = e.clone().powi_scalar(2).sum_dim(1); // [B, 1]
    let prod = e.clone().matmul(e.transpose());
    let d = (sq.clone() + sq.transpose() - prod * 2.0).clamp_min(1e-12).sqrt();
    let off_diagonal = Tensor::<2>::ones([b, b], &d.device()) - Tensor::<2>::eye(b, &d.device());
    d * off_diagonal
}

/// Distances divided by the mean of the positive ones (1 when none is positive: batch of 1).
fn normalised_distances(e: Tensor<2>) -> Tensor<2> {
    let d = pdist(e);
    let count = d.clone().greater_elem(0.0).float().sum().clamp_min(1.0);
    let mean = (d.clone().sum() / count).clamp_min(1e-12);
    d / mean.unsqueeze::<2>()
}

pub fn distance_loss(s: Tensor<2>, t: Tensor<2>) -> Tensor<1> {
    smooth_l1(normalised_distances(s), normalised_distances(t))
}

/// Cosines of the angles `∠(e_j − e_i, e_k − e_i)`, `[B, B, B]`.
fn angles(e: Tensor<2>) -> Tensor<3> {
    let diff = e.clone().unsqueeze_dim::<3>(0) - e.unsqueeze_dim::<3>(1); // [B, B, D]: e_j − e_i
    let n = l2_normalize(diff, 2);
    n.clone().matmul(n.swap_dims(1, 2))
}

pub fn angle_loss(s: Tensor<2>, t: Tensor<2>) -> Tensor<1> {
    smooth_l1(angles(s), angles(t))
}

impl Method for Rkd {
    fn name(&self) -> &'static str {
        "rkd"
    }
    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).expect("plain config")
    }
    fn loss(&mut self, _parts: &Parts, f: &Features) -> Vec<Term> {
        let (s, t) = (f.student.pooled.clone(), f.teacher.pooled.clone());
        vec![
            Term::new("distance", distance_loss(s.clone(), t.clone()) * (self.0.beta * self.0.distance_weight)),
            Term::new("angle", angle_loss(s, t) * (self.0.beta * self.0.angle_weight)),
        ]
    }
}
