//! Auto-search over heterogeneous classifier heads (method.md §4) [ours, after the paper].
//!
//! A model whose classifier has several heads mixes their log-probabilities with architecture
//! weights. While it trains, [`ArchStep`] updates those weights on validation batches (DARTS,
//! first order: network weights on training batches, architecture weights on validation
//! batches, alternating). When training ends, [`select`] scores every single head and the
//! mixture of the two best on the validation split, keeps the best one within the budget
//! (parameters or latency) and prunes the others.

use crate::batches::SplitData;
use crate::metrics::Metrics;
use crate::trainer::{evaluate, CrossEntropy};
use crate::TrainError;
use burn::module::{Module, ParamId};
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use harbench_models::{HeadKind, Model, ModelConfig};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// How heads are searched and what the pick may cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchConfig {
    /// AdamW learning rate of the architecture weights [ours: 3e-3; DARTS uses 3e-4 over far
    /// more steps].
    pub arch_lr: f64,
    /// Weight decay of the architecture weights (DARTS: 1e-3).
    pub arch_weight_decay: f64,
    /// Largest number of trainable parameters of the exported (pruned) model.
    pub max_params: Option<usize>,
    /// Largest median latency of one window on this machine's CPU, in milliseconds.
    pub max_latency_ms: Option<f64>,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig { arch_lr: 3e-3, arch_weight_decay: 1e-3, max_params: None, max_latency_ms: None }
    }
}

impl SearchConfig {
    pub fn is_default(&self) -> bool {
        *self == SearchConfig::default()
    }

    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |field: &str, message: String| Err(TrainError::Config { field: format!("search.{field}"), message });
        if !(self.arch_lr.is_finite() && self.arch_lr > 0.0) {
            return bad("arch_lr", format!("{} is not a positive learning rate", self.arch_lr));
        }
        if !(self.arch_weight_decay.is_finite() && self.arch_weight_decay >= 0.0) {
            return bad("arch_weight_decay", format!("{} must be ≥ 0", self.arch_weight_decay));
        }
        if self.max_params == Some(0) {
            return bad("max_params", "0 leaves no model".into());
        }
        if self.max_latency_ms.is_some_and(|l| !(l.is_finite() && l > 0.0)) {
            return bad("max_latency_ms", format!("{:?} must be finite and > 0", self.max_latency_ms));
        }
        Ok(())
    }
}

/// The architecture-weight update on validation batches, for a model whose classifier mixes
/// several heads. The backbone runs in eval mode and off the graph: only the heads' mixture
/// needs gradients, and validation windows must not move batch-norm statistics.
pub struct ArchStep {
    id: ParamId,
    optimizer: ModuleOptimizer,
    ce: CrossEntropy,
    next: usize,
    batch_size: usize,
}

impl ArchStep {
    /// `None` when `student` has a single head (nothing to search).
    pub fn new(student: &Model, config: &SearchConfig, batch_size: usize, device: &Device) -> Option<Self> {
        let id = student.classifier().arch.as_ref()?.id;
        Some(ArchStep {
            id,
            optimizer: AdamWConfig::new().with_weight_decay(config.arch_weight_decay as f32).init(),
            ce: CrossEntropy::new(0.0, &device.clone().autodiff()),
            next: 0,
            batch_size,
        })
    }

    /// The architecture weights' id: the network step leaves them to this one.
    pub fn param(&self) -> ParamId {
        self.id
    }

    /// One update of the architecture weights of `student`, which lives inside `module`, on
    /// the next validation batch (cycling through the split).
    pub fn step<M: Module>(&mut self, module: M, student: impl Fn(&M) -> &Model, val: &SplitData, lr: f64, device: &Device) -> M {
        let n = val.len();
        let rows: Vec<usize> = (0..self.batch_size.min(n)).map(|i| (self.next + i) % n).collect();
        self.next = (self.next + rows.len()) % n;
        let grads = {
            let student = student(&module);
            let (x, y) = val.batch(&rows, &device.clone().autodiff());
            let pooled = student.valid().forward(x.without_autodiff()).pooled.autodiff();
            let loss = self.ce.forward(student.classifier().forward(pooled).logits, y);
            let mut grads = loss.backward();
            GradientsParams::from_params(&mut grads, student, &[self.id])
        };
        self.optimizer.step(lr, module, grads)
    }
}

/// One candidate of the search: a head, or a mixture of two.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub heads: Vec<HeadKind>,
    pub val: Metrics,
    /// Trainable parameters of the model pruned to these heads.
    pub parameters: usize,
    /// Median single-window latency (ms), measured only under a latency budget.
    pub latency_ms: Option<f64>,
    pub within_budget: bool,
}

/// What the search saw and chose; part of the run's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchReport {
    /// Softmax of the architecture weights at the end of training, per head.
    pub weights: Vec<(HeadKind, f64)>,
    pub candidates: Vec<Candidate>,
    /// The heads kept in the exported model.
    pub chosen: Vec<HeadKind>,
    /// False when no candidate fits the budget: the cheapest was kept.
    pub fits_budget: bool,
    pub budget: SearchConfig,
}

impl SearchReport {
    /// `config` with the classifier the search kept.
    pub fn exported(&self, config: &ModelConfig) -> ModelConfig {
        config.clone().with_heads("exported", self.chosen.clone()).unwrap_or_else(|_| config.clone())
    }
}

/// Median latency of one window through `model` on the plain device, in milliseconds.
pub fn single_window_latency_ms(model: &Model, channels: usize, length: usize, device: &Device) -> f64 {
    let x = Tensor::<3>::zeros([1, channels, length], device);
    for _ in 0..5 {
        let _ = model.forward(x.clone()).logits.into_data();
    }
    let mut times: Vec<f64> = (0..31)
        .map(|_| {
            let start = Instant::now();
            let _ = model.forward(x.clone()).logits.into_data();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Scores every single head and the mixture of the two best on `val`, and returns the model
/// pruned to the best candidate within `budget` (the cheapest when none fits). `model` is in
/// eval mode on the plain device; a single-head model comes back unchanged with `None`.
pub fn select(model: Model, val: &SplitData, classes: usize, budget: &SearchConfig, device: &Device) -> (Model, Option<SearchReport>) {
    let classifier = model.classifier().clone();
    let kinds = classifier.kinds();
    if kinds.len() < 2 {
        return (model, None);
    }
    let score = |keep: &[usize]| {
        let pruned = model.clone().with_classifier(classifier.restrict(keep));
        let parameters = pruned.trainable_params();
        let latency_ms = budget.max_latency_ms.map(|_| single_window_latency_ms(&pruned, val.channels, val.length, device));
        let within_budget =
            budget.max_params.is_none_or(|m| parameters <= m) && budget.max_latency_ms.is_none_or(|m| latency_ms.unwrap_or(0.0) <= m);
        let candidate = Candidate {
            heads: keep.iter().map(|&i| kinds[i]).collect(),
            val: evaluate(&pruned, val, classes, device),
            parameters,
            latency_ms,
            within_budget,
        };
        (keep.to_vec(), candidate)
    };
    let mut scored: Vec<(Vec<usize>, Candidate)> = (0..kinds.len()).map(|i| score(&[i])).collect();
    let mut by_f1: Vec<usize> = (0..kinds.len()).collect();
    by_f1.sort_by(|&a, &b| scored[b].1.val.macro_f1.total_cmp(&scored[a].1.val.macro_f1));
    scored.push(score(&[by_f1[0], by_f1[1]]));

    let fits = scored.iter().any(|(_, c)| c.within_budget);
    let pick = if fits {
        // Best validation macro-F1 within the budget; fewer parameters break ties.
        scored
            .iter()
            .filter(|(_, c)| c.within_budget)
            .max_by(|a, b| a.1.val.macro_f1.total_cmp(&b.1.val.macro_f1).then(b.1.parameters.cmp(&a.1.parameters)))
    } else {
        scored.iter().min_by_key(|(_, c)| c.parameters)
    }
    .expect("at least two candidates");
    let keep = pick.0.clone();
    let report = SearchReport {
        weights: kinds.iter().copied().zip(classifier.weights()).collect(),
        chosen: pick.1.heads.clone(),
        candidates: scored.into_iter().map(|(_, c)| c).collect(),
        fits_budget: fits,
        budget: budget.clone(),
    };
    (model.with_classifier(classifier.restrict(&keep)), Some(report))
}
