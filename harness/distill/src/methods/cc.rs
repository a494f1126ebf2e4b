//! CC: Peng et al., "Correlation Congruence for Knowledge Distillation" (ICCV 2019), as
//! RepDistiller implements it (code shared by the authors): both pooled features are embedded
//! linearly (128-d, both heads trained), and the loss is `β · mean_i Σ_d |δ_i|·|δ_{i+1}|` with
//! `δ = e_s − e_t`, consecutive samples of the batch (β = 0.02). Zero for a batch of 1.

use crate::method::{Context, Features, Method, Term};
use crate::parts::Parts;
use crate::DistillError;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub beta: f64,
    pub feat_dim: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { beta: 0.02, feat_dim: 128 }
    }
}

pub struct Cc(Config);

pub fn build(params: serde_json::Value) -> Result<Box<dyn Method>, DistillError> {
    let c: Config = super::parse("cc", params)?;
    super::weight("cc", "beta", c.beta)?;
    if c.feat_dim == 0 {
        return Err(DistillError::Config { method: "cc".into(), message: "`feat_dim` must be ≥ 1".into() });
    }
    Ok(Box::new(Cc(c)))
}

pub fn cc_loss(e_s: Tensor<2>, e_t: Tensor<2>) -> Tensor<1> {
    let b = e_s.dims()[0];
    let delta = (e_s - e_t).abs();
    if b < 2 {
        return delta.sum() * 0.0;
    }
    (delta.clone().narrow(0, 0, b - 1) * delta.narrow(0, 1, b - 1)).sum_dim(1).mean()
}

impl Method for Cc {
    fn name(&self) -> &'static str {
        "cc"
    }
    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).expect("plain config")
    }
    fn build(&mut self, ctx: &Context, device: &Device) -> Result<Parts, DistillError> {
        let mut parts = Parts::default();
        parts.push(Parts::linear_part(ctx.student.pooled, self.0.feat_dim, device));
        parts.push(Parts::linear_part(ctx.teacher.pooled, self.0.feat_dim, device));
        Ok(parts)
    }
    fn loss(&mut self, parts: &Parts, f: &Features) -> Vec<Term> {
        let e_s = parts.linear(0).forward(f.student.pooled.clone());
        let e_t = parts.linear(1).forward(f.teacher.pooled.clone());
        vec![Term::new("cc", cc_loss(e_s, e_t) * self.0.beta)]
    }
}
