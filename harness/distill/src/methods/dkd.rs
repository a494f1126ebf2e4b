//! DKD: Zhao, Cui, Song, Qiu & Liang, "Decoupled Knowledge Distillation" (CVPR 2022). KD split
//! into target-class KD (binary: target vs the rest) and non-target-class KD (among the other
//! classes); loss `min(epoch/warmup, 1) · (α·TCKD + β·NCKD)` beside CE (mdistiller `DKD`:
//! α = 1, β = 8, T = 4, warm-up 20 epochs).

use crate::method::{Features, Method, Term};
use crate::ops::kl_probs;
use crate::parts::Parts;
use crate::DistillError;
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Int, Tensor};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub alpha: f64,
    pub beta: f64,
    pub temperature: f64,
    /// Epochs over which the DKD weight ramps linearly to 1.
    pub warmup: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { alpha: 1.0, beta: 8.0, temperature: 4.0, warmup: 20 }
    }
}

pub struct Dkd(Config);

pub fn build(params: serde_json::Value) -> Result<Box<dyn Method>, DistillError> {
    let c: Config = super::parse("dkd", params)?;
    super::weight("dkd", "alpha", c.alpha)?;
    super::weight("dkd", "beta", c.beta)?;
    super::positive("dkd", "temperature", c.temperature)?;
    Ok(Box::new(Dkd(c)))
}

/// `[B, 2]`: probability of the target class and of all the others.
fn binary(p: Tensor<2>, gt: Tensor<2>) -> Tensor<2> {
    let target = (p.clone() * gt.clone()).sum_dim(1);
    let other = (p * (gt.ones_like() - gt)).sum_dim(1);
    Tensor::cat(vec![target, other], 1)
}

/// `(TCKD, NCKD)`, each `T²`-scaled and averaged over the batch.
pub fn dkd_terms(z_s: Tensor<2>, z_t: Tensor<2>, labels: Tensor<1, Int>, temperature: f64) -> (Tensor<1>, Tensor<1>) {
    let [b, k] = z_s.dims();
    let scale = temperature * temperature / b as f64;
    let gt: Tensor<2> = labels.one_hot::<2>(k).float();
    let (s, t) = (z_s / temperature, z_t / temperature);
    let tckd = kl_probs(binary(softmax(t.clone(), 1), gt.clone()), binary(softmax(s.clone(), 1), gt.clone())) * scale;
    // The target logit pushed to −1000 leaves a distribution over the other classes.
    let log_t2 = log_softmax(t - gt.clone() * 1000.0, 1);
    let log_s2 = log_softmax(s - gt * 1000.0, 1);
    let nckd = (log_t2.clone().exp() * (log_t2 - log_s2)).sum() * scale;
    (tckd, nckd)
}

impl Method for Dkd {
    fn name(&self) -> &'static str {
        "dkd"
    }
    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).expect("plain config")
    }
    fn loss(&mut self, _parts: &Parts, f: &Features) -> Vec<Term> {
        let ramp = if self.0.warmup == 0 { 1.0 } else { (f.epoch as f64 / self.0.warmup as f64).min(1.0) };
        let (tckd, nckd) = dkd_terms(f.student.logits.clone(), f.teacher.logits.clone(), f.labels.clone(), self.0.temperature);
        vec![Term::new("tckd", tckd * (ramp * self.0.alpha)), Term::new("nckd", nckd * (ramp * self.0.beta))]
    }
}
