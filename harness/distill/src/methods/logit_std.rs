//! Logit standardization: Sun, Ren, Li, Wang & Cao, "Logit Standardization in Knowledge
//! Distillation" (CVPR 2024). KD on z-scored logits, `(z − mean)/(1e-7 + std)` with the unbiased
//! std, so the student matches the teacher's logit relations rather than their scale
//! (official code on mdistiller's KD: CE 0.1, KD weight 9, base temperature 2).

use crate::method::{Features, Method, Term};
use crate::ops::soft_kl;
use crate::parts::Parts;
use crate::DistillError;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub weight: f64,
    pub temperature: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config { weight: 9.0, temperature: 2.0 }
    }
}

pub struct LogitStd(Config);

pub fn build(params: serde_json::Value) -> Result<Box<dyn Method>, DistillError> {
    let c: Config = super::parse("logit-std", params)?;
    super::weight("logit-std", "weight", c.weight)?;
    super::positive("logit-std", "temperature", c.temperature)?;
    Ok(Box::new(LogitStd(c)))
}

/// Z-score of each row; a constant row maps to zeros.
pub fn standardize(z: Tensor<2>) -> Tensor<2> {
    let k = z.dims()[1];
    let centred = z.clone() - z.mean_dim(1);
    let var = centred.clone().powi_scalar(2).sum_dim(1) / (k.max(2) - 1) as f64;
    centred / ((var + crate::ops::TINY).sqrt() + 1e-7)
}

pub fn ls_kd(z_s: Tensor<2>, z_t: Tensor<2>, temperature: f64) -> Tensor<1> {
    soft_kl(standardize(z_s), standardize(z_t), temperature)
}

impl Method for LogitStd {
    fn name(&self) -> &'static str {
        "logit-std"
    }
    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).expect("plain config")
    }
    fn loss(&mut self, _parts: &Parts, f: &Features) -> Vec<Term> {
        vec![Term::new("kd", ls_kd(f.student.logits.clone(), f.teacher.logits.clone(), self.0.temperature) * self.0.weight)]
    }
}
