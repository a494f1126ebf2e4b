//! FT: Kim, Park & Kwak, "Paraphrasing Complex Network: Network Compression via Factor
//! Transfer" (NeurIPS 2018). A paraphraser (conv auto-encoder, rate k = 0.5) is first trained to
//! reconstruct the teacher's last feature map (pre-training stage); then a translator on the
//! student's map is trained so that its factor matches the paraphraser's factor of the teacher:
//! `β · mean |φ(T_s) − φ(P_t)|`, `φ(F) = normalize(mean_c F²)` (RepDistiller `FactorTransfer`,
//! `Paraphraser`, `Translator`: p1 = 2, p2 = 1, β = 200, 30 pre-training epochs; the paraphraser
//! is frozen afterwards).
//!
//! 1-D: 2-D 3×3 convs become kernel-3 convs over time (the stride-1 transposed convs of the
//! decoder are plain convs); the longer factor is average-pooled to the shorter length.

use crate::method::{Context, Features, Method, Term};
use crate::ops::{l2_normalize, mse, pool_to_common_length};
use crate::parts::{ConvStack, Part, Parts};
use crate::DistillError;
use burn::tensor::{Device, Tensor};
use harbench_train::Stage;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub beta: f64,
    /// Factor channels as a fraction of the teacher's.
    pub rate: f64,
    pub pretrain_epochs: usize,
    pub anchor: usize,
    pub paraphraser_bn: bool,
    pub translator_bn: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config { beta: 200.0, rate: 0.5, pretrain_epochs: 30, anchor: 2, paraphraser_bn: false, translator_bn: true }
    }
}

pub struct Ft(Config);

pub fn build(params: serde_json::Value) -> Result<Box<dyn Method>, DistillError> {
    let c: Config = super::parse("ft", params)?;
    super::weight("ft", "beta", c.beta)?;
    if !(c.rate > 0.0 && c.rate <= 1.0) {
        return Err(DistillError::Config { method: "ft".into(), message: format!("`rate` = {} must be in (0, 1]", c.rate) });
    }
    Ok(Box::new(Ft(c)))
}

/// `normalize(mean_c F²)` flattened per sample, `[B, T]`.
pub fn factor(f: Tensor<3>) -> Tensor<2> {
    l2_normalize(f.powi_scalar(2).mean_dim(1).squeeze_dim::<2>(1), 1)
}

/// `mean |φ(f_s) − φ(f_t)|` after pooling to the shorter length.
pub fn ft_loss(f_s: Tensor<3>, f_t: Tensor<3>) -> Tensor<1> {
    let (s, t) = pool_to_common_length(f_s, f_t);
    (factor(s) - factor(t)).abs().mean()
}

const SLOPE: f64 = 0.1;

impl Method for Ft {
    fn name(&self) -> &'static str {
        "ft"
    }
    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).expect("plain config")
    }
    fn pretrain_epochs(&self) -> usize {
        self.0.pretrain_epochs
    }
    fn build(&mut self, ctx: &Context, device: &Device) -> Result<Parts, DistillError> {
        super::anchors_exist("ft", &[self.0.anchor], &ctx.student, &ctx.teacher)?;
        let cs = ctx.student.anchors[self.0.anchor].0;
        let ct = ctx.teacher.anchors[self.0.anchor].0;
        let k = ((ct as f64 * self.0.rate) as usize).max(1);
        let mut parts = Parts::default();
        parts.push(Part::Stack(ConvStack::new(&[ct, ct, k, k], 3, self.0.paraphraser_bn, SLOPE, device))); // 0: paraphraser encoder
        parts.push(Part::Stack(ConvStack::new(&[k, k, ct, ct], 3, self.0.paraphraser_bn, SLOPE, device))); // 1: decoder
        parts.push(Part::Stack(ConvStack::new(&[cs, cs, k, k], 3, self.0.translator_bn, SLOPE, device))); // 2: translator
        Ok(parts)
    }
    fn loss(&mut self, parts: &Parts, f: &Features) -> Vec<Term> {
        let t = f.teacher.anchors[self.0.anchor].clone();
        match f.stage {
            Stage::Pretrain => {
                let rec = parts.stack(1).forward(parts.stack(0).forward(t.clone()));
                vec![Term::new("reconstruction", mse(rec, t))]
            }
            Stage::Main => {
                // The paraphraser is frozen after pre-training: no gradient reaches it.
                let factor_t = parts.stack(0).forward(t).detach();
                let factor_s = parts.stack(2).forward(f.student.anchors[self.0.anchor].clone());
                vec![Term::new("factor", ft_loss(factor_s, factor_t) * self.0.beta)]
            }
        }
    }
}
