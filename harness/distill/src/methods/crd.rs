//! CRD: Tian, Krishnan & Isola, "Contrastive Representation Distillation" (ICLR 2020).
//! Student and teacher pooled features are embedded (linear + L2 norm, 128-d) and contrasted
//! against memory banks of past embeddings of the whole training set: for each window, its own
//! memory entry is the positive and `nce_k` entries of windows of other classes the negatives
//! (RepDistiller's `exact` sampling). NCE scores `exp(v·m/τ)/Z`, loss
//! `−[log h(pos) + Σ log(1 − h(neg))]` for both directions (`ContrastMemory` + `ContrastLoss`),
//! banks updated with momentum 0.5; β = 0.8, τ = 0.07.
//!
//! Deviation [ours]: `nce_k` defaults to 4096 instead of 16384: our datasets are 5-10× smaller
//! than CIFAR-100 and the banks are gathered on the CPU every batch. Set it back in the config.

use crate::method::{Context, Features, Method, Term};
use crate::ops::l2_normalize;
use crate::parts::Parts;
use crate::DistillError;
use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub beta: f64,
    pub feat_dim: usize,
    pub nce_k: usize,
    pub nce_t: f64,
    pub nce_m: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config { beta: 0.8, feat_dim: 128, nce_k: 4096, nce_t: 0.07, nce_m: 0.5 }
    }
}

/// The two memory banks and their normalising constants.
pub struct Memory {
    /// Student-side and teacher-side banks, `[n_data, feat_dim]`, on the plain device.
    pub v1: Tensor<2>,
    pub v2: Tensor<2>,
    /// `Z` of each side, fixed from the first batch as in RepDistiller.
    pub z: Option<(f64, f64)>,
    pub temperature: f64,
    pub momentum: f64,
}

impl Memory {
    /// `v1`, `v2`: embedded student / teacher batch `[B, D]` (autodiff); `rows`: their dataset
    /// positions; `idx`: `[B, K+1]` row-major, positive first. Returns the loss and updates the
    /// banks.
    pub fn contrast(&mut self, v1: Tensor<2>, v2: Tensor<2>, rows: &[usize], idx: &[i64]) -> Tensor<1> {
        let [b, d] = v1.dims();
        let k1 = idx.len() / b;
        let n_data = self.v1.dims()[0];
        let plain = self.v1.device();
        let idx_t = Tensor::<1, Int>::from_data(TensorData::new(idx.to_vec(), [idx.len()]), &plain);
        // The banks are constants for the graph.
        let w1 = self.v1.clone().select(0, idx_t.clone()).reshape([b, k1, d]).autodiff();
        let w2 = self.v2.clone().select(0, idx_t).reshape([b, k1, d]).autodiff();
        let out_v2 = (w1.matmul(v2.clone().reshape([b, d, 1])) / self.temperature).exp().reshape([b, k1]);
        let out_v1 = (w2.matmul(v1.clone().reshape([b, d, 1])) / self.temperature).exp().reshape([b, k1]);
        let (z1, z2) = *self.z.get_or_insert_with(|| {
            let mean = |t: &Tensor<2>| t.clone().mean().into_scalar::<f32>() as f64 * n_data as f64;
            (mean(&out_v1), mean(&out_v2))
        });
        let loss = contrast_loss(out_v1 / z1, n_data) + contrast_loss(out_v2 / z2, n_data);

        let rows_t = Tensor::<1, Int>::from_data(TensorData::new(rows.iter().map(|&r| r as i64).collect::<Vec<_>>(), [b]), &plain);
        let update = |bank: Tensor<2>, v: Tensor<2>, m: f64| {
            let old = bank.clone().select(0, rows_t.clone());
            let new = l2_normalize(old.clone() * m + v.inner() * (1.0 - m), 1);
            bank.select_assign(0, rows_t.clone(), new - old, IndexingUpdateOp::Add)
        };
        self.v1 = update(self.v1.clone(), v1, self.momentum);
        self.v2 = update(self.v2.clone(), v2, self.momentum);
        loss
    }
}

/// RepDistiller's `ContrastLoss` on NCE scores `x: [B, K+1]` (positive first).
pub fn contrast_loss(x: Tensor<2>, n_data: usize) -> Tensor<1> {
    const EPS: f64 = 1e-7;
    let [b, k1] = x.dims();
    let m = (k1 - 1) as f64;
    let mpn = m / n_data as f64;
    let pos = x.clone().narrow(1, 0, 1);
    let log_d1 = (pos.clone() / (pos + (mpn + EPS))).log();
    let neg = x.narrow(1, 1, k1 - 1);
    let log_d0 = ((neg.clone() * 0.0 + mpn) / (neg + (mpn + EPS))).log();
    (log_d1.sum() + log_d0.sum()) * (-1.0 / b as f64)
}

pub struct Crd {
    c: Config,
    memory: Option<Memory>,
    /// For each class, the training positions of the other classes.
    negatives: Vec<Vec<usize>>,
    labels: Vec<usize>,
    rng: ChaCha8Rng,
}

pub fn build(params: serde_json::Value) -> Result<Box<dyn Method>, DistillError> {
    let c: Config = super::parse("crd", params)?;
    super::weight("crd", "beta", c.beta)?;
    super::positive("crd", "nce_t", c.nce_t)?;
    if !(0.0..1.0).contains(&c.nce_m) || c.feat_dim == 0 || c.nce_k == 0 {
        return Err(DistillError::Config { method: "crd".into(), message: "need nce_m in [0, 1), feat_dim ≥ 1 and nce_k ≥ 1".into() });
    }
    Ok(Box::new(Crd { c, memory: None, negatives: Vec::new(), labels: Vec::new(), rng: ChaCha8Rng::seed_from_u64(0) }))
}

impl Method for Crd {
    fn name(&self) -> &'static str {
        "crd"
    }
    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.c).expect("plain config")
    }
    fn build(&mut self, ctx: &Context, device: &Device) -> Result<Parts, DistillError> {
        let n = ctx.train_labels.len();
        if n < 2 {
            return Err(DistillError::Shapes { method: "crd".into(), message: format!("{n} training windows: no negatives to contrast") });
        }
        self.rng = ChaCha8Rng::seed_from_u64(ctx.seed ^ 0xC4D);
        self.labels = ctx.train_labels.to_vec();
        self.negatives = (0..ctx.classes).map(|c| (0..n).filter(|&i| self.labels[i] != c).collect()).collect();
        // RepDistiller: uniform in [-stdv, stdv], stdv = 1/sqrt(D/3).
        let d = self.c.feat_dim;
        let stdv = 1.0 / (d as f64 / 3.0).sqrt();
        let mut bank = || -> Vec<f32> { (0..n * d).map(|_| self.rng.random_range(-stdv..stdv) as f32).collect() };
        let plain = device.clone().without_autodiff();
        let (v1, v2) = (bank(), bank());
        self.memory = Some(Memory {
            v1: Tensor::from_data(TensorData::new(v1, [n, d]), &plain),
            v2: Tensor::from_data(TensorData::new(v2, [n, d]), &plain),
            z: None,
            temperature: self.c.nce_t,
            momentum: self.c.nce_m,
        });
        let mut parts = Parts::default();
        parts.push(Parts::linear_part(ctx.student.pooled, d, device));
        parts.push(Parts::linear_part(ctx.teacher.pooled, d, device));
        Ok(parts)
    }
    fn loss(&mut self, parts: &Parts, f: &Features) -> Vec<Term> {
        let v1 = l2_normalize(parts.linear(0).forward(f.student.pooled.clone()), 1);
        let v2 = l2_normalize(parts.linear(1).forward(f.teacher.pooled.clone()), 1);
        let mut idx = Vec::with_capacity(f.rows.len() * (self.c.nce_k + 1));
        for &r in f.rows {
            idx.push(r as i64);
            let pool = &self.negatives[self.labels[r]];
            // A single-class training set has no other class: fall back to any window.
            let n = self.labels.len();
            for _ in 0..self.c.nce_k {
                let j = if pool.is_empty() { self.rng.random_range(0..n) } else { pool[self.rng.random_range(0..pool.len())] };
                idx.push(j as i64);
            }
        }
        let memory = self.memory.as_mut().expect("crd: build() runs before loss()");
        vec![Term::new("contrast", memory.contrast(v1, v2, f.rows, &idx) * self.c.beta)]
    }
}
