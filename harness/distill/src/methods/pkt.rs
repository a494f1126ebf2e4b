//! PKT: Passalis & Tefas, "Learning Deep Representations with Probabilistic Knowledge Transfer"
//! (ECCV 2018). Cosine similarities of the batch mapped to `[0, 1]` and row-normalised into
//! conditional probabilities; loss `β · mean(p_t · log(p_t / p_s))` on the pooled feature
//! (RepDistiller `PKT`, β = 30000). Widths may differ.

use crate::method::{Features, Method, Term};
use crate::ops::norm;
use crate::parts::Parts;
use crate::DistillError;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

const EPS: f64 = 1e-7;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub beta: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config { beta: 30000.0 }
    }
}

pub struct Pkt(Config);

pub fn build(params: serde_json::Value) -> Result<Box<dyn Method>, DistillError> {
    let c: Config = super::parse("pkt", params)?;
    super::weight("pkt", "beta", c.beta)?;
    Ok(Box::new(Pkt(c)))
}

fn conditional(x: Tensor<2>) -> Tensor<2> {
    let x = x.clone() / (norm(x, 1) + EPS);
    let sim = (x.clone().matmul(x.transpose()) + 1.0) / 2.0;
    sim.clone() / sim.sum_dim(1)
}

pub fn pkt_loss(s: Tensor<2>, t: Tensor<2>) -> Tensor<1> {
    let (ps, pt) = (conditional(s), conditional(t));
    (pt.clone() * ((pt + EPS) / (ps + EPS)).log()).mean()
}

impl Method for Pkt {
    fn name(&self) -> &'static str {
        "pkt"
    }
    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).expect("plain config")
    }
    fn loss(&mut self, _parts: &Parts, f: &Features) -> Vec<Term> {
        vec![Term::new("pkt", pkt_loss(f.student.pooled.clone(), f.teacher.pooled.clone()) * self.0.beta)]
    }
}
