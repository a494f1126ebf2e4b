//! KD: Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network" (2015).
//! `α · T² · KL(softmax(z_t/T) ‖ softmax(z_s/T))`, beside `(1−α)·CE` (RepDistiller `-r 0.1 -a 0.9`).

use crate::method::{Features, Method, Term};
use crate::ops::soft_kl;
use crate::parts::Parts;
use crate::DistillError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub alpha: f64,
    pub temperature: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config { alpha: 0.9, temperature: 4.0 }
    }
}

pub struct Kd(Config);

pub fn build(params: serde_json::Value) -> Result<Box<dyn Method>, DistillError> {
    let c: Config = super::parse("kd", params)?;
    super::weight("kd", "alpha", c.alpha)?;
    super::positive("kd", "temperature", c.temperature)?;
    Ok(Box::new(Kd(c)))
}

impl Method for Kd {
    fn name(&self) -> &'static str {
        "kd"
    }
    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).expect("plain config")
    }
    fn loss(&mut self, _parts: &Parts, f: &Features) -> Vec<Term> {
        vec![Term::new("kd", soft_kl(f.student.logits.clone(), f.teacher.logits.clone(), self.0.temperature) * self.0.alpha)]
    }
}
