//! VID: Ahn, Hu, Damianou, Lawrence & Dai, "Variational Information Distillation" (CVPR 2019).
//! A regressor (three 1×1 convs, ReLU between) predicts the teacher feature's mean from the
//! student's, with a learned per-channel variance `softplus(s) + ε`; loss `β · Σ_anchors
//! mean(½((μ − F_t)²/σ² + log σ²))` (RepDistiller `VIDLoss`, initial variance 5, β = 1).
//!
//! 1-D: the longer map is average-pooled to the shorter length (RepDistiller pools spatially).

use crate::method::{Context, Features, Method, Term};
use crate::ops::pool_to_common_length;
use crate::parts::{ConvHead, Part, Parts};
use crate::DistillError;
use burn::module::Param;
use burn::tensor::activation::softplus;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub beta: f64,
    pub init_pred_var: f64,
    pub eps: f64,
    pub anchors: Vec<usize>,
}

impl Default for Config {
    fn default() -> Self {
        Config { beta: 1.0, init_pred_var: 5.0, eps: 1e-5, anchors: vec![0, 1, 2] }
    }
}

pub struct Vid(Config);

pub fn build(params: serde_json::Value) -> Result<Box<dyn Method>, DistillError> {
    let c: Config = super::parse("vid", params)?;
    super::weight("vid", "beta", c.beta)?;
    super::positive("vid", "eps", c.eps)?;
    if !(c.init_pred_var.is_finite() && c.init_pred_var > c.eps) {
        return Err(DistillError::Config {
            method: "vid".into(),
            message: format!("`init_pred_var` = {} must exceed eps", c.init_pred_var),
        });
    }
    Ok(Box::new(Vid(c)))
}

/// The softplus pre-image of the initial variance: `log(exp(v − ε) − 1)`.
pub fn initial_log_scale(init_pred_var: f64, eps: f64) -> f64 {
    ((init_pred_var - eps).exp() - 1.0).ln()
}

/// Gaussian negative log-likelihood (without the constant) of `target` under mean `pred`
/// and per-channel variance `softplus(log_scale) + eps`.
pub fn vid_nll(pred: Tensor<3>, target: Tensor<3>, log_scale: Tensor<1>, eps: f64) -> Tensor<1> {
    let c = log_scale.dims()[0];
    let var = (softplus(log_scale, 1.0) + eps).reshape([1, c, 1]);
    (((pred - target).powi_scalar(2) / var.clone() + var.log()) * 0.5).mean()
}

impl Method for Vid {
    fn name(&self) -> &'static str {
        "vid"
    }
    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).expect("plain config")
    }
    fn build(&mut self, ctx: &Context, device: &Device) -> Result<Parts, DistillError> {
        super::anchors_exist("vid", &self.0.anchors, &ctx.student, &ctx.teacher)?;
        let mut parts = Parts::default();
        let init = initial_log_scale(self.0.init_pred_var, self.0.eps);
        for &a in &self.0.anchors {
            let (cs, ct) = (ctx.student.anchors[a].0, ctx.teacher.anchors[a].0);
            parts.push(Part::Conv(ConvHead::new(&[cs, ct, ct, ct], 1, false, false, false, device)));
            parts.push(Part::Vector(Param::from_tensor(Tensor::<1>::ones([ct], device) * init)));
        }
        Ok(parts)
    }
    fn loss(&mut self, parts: &Parts, f: &Features) -> Vec<Term> {
        let sum = self
            .0
            .anchors
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                let (s, t) = pool_to_common_length(f.student.anchors[a].clone(), f.teacher.anchors[a].clone());
                vid_nll(parts.conv(2 * i).forward(s), t, parts.vector(2 * i + 1), self.0.eps)
            })
            .reduce(|a, b| a + b)
            .expect("at least one anchor");
        vec![Term::new("vid", sum * self.0.beta)]
    }
}
