//! The optimisers and learning-rate schedules a run can choose (`optimizer:`, `schedule:`).
//!
//! harbench's recipe is AdamW on a warm-up + cosine schedule. The SMLDist authors' released code
//! (`chenrz925/SMLDist` @ 8903617, `examples/train_realworld.toml`) trains with Ranger
//! (`pytorch_ranger.Ranger`, RAdam + Lookahead) and `torch.optim.lr_scheduler.ReduceLROnPlateau`
//! stepped once per epoch on the last batch's training loss (`tasks/__init__.py`, `scheduler.step(
//! engine_.state.output)`): both are here, transcribed from pytorch-ranger 0.1.1's `ranger.py`
//! and torch's scheduler, and checked against them (`tests/reference/authors_smldist.py`).

use burn::optim::{AdamConfig, AdamWConfig, AdaptiveMomentumState, ModuleOptimizer, Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// The optimiser of a run's network weights.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// AdamW (β 0.9/0.999, ε 1e-5), decoupled weight decay `weight_decay` (harbench's recipe).
    #[default]
    Adamw,
    /// Ranger: RAdam (β 0.95/0.999, ε 1e-5, SMA threshold 5) with Lookahead (k 6, α 0.5), as
    /// pytorch-ranger 0.1.1; `weight_decay` multiplies the weights by `1 − lr·wd` each step
    /// (the SMLDist authors' optimiser, with weight decay 0).
    Ranger,
}

impl OptimizerKind {
    pub(crate) fn is_adamw(&self) -> bool {
        *self == OptimizerKind::Adamw
    }

    /// A fresh optimiser of this kind.
    pub fn build(self, weight_decay: f64) -> ModuleOptimizer {
        match self {
            OptimizerKind::Adamw => AdamWConfig::new().with_weight_decay(weight_decay as f32).init(),
            OptimizerKind::Ranger => ModuleOptimizer::from(Ranger { weight_decay, ..Ranger::default() }),
        }
    }
}

/// Plain Adam as `torch.optim.Adam` (β 0.9/0.999, ε 1e-8, no weight decay): what the SMLDist
/// authors' stage phases use, a fresh one per phase.
pub fn torch_adam() -> ModuleOptimizer {
    AdamConfig::new().with_epsilon(1e-8).init()
}

/// RAdam + Lookahead, per parameter tensor (pytorch-ranger 0.1.1, `Ranger.step`).
#[derive(Debug, Clone, Copy)]
pub struct Ranger {
    pub alpha: f64,
    pub k: usize,
    pub sma_threshold: f64,
    pub beta_1: f64,
    pub beta_2: f64,
    pub epsilon: f64,
    pub weight_decay: f64,
}

impl Default for Ranger {
    fn default() -> Self {
        Ranger { alpha: 0.5, k: 6, sma_threshold: 5.0, beta_1: 0.95, beta_2: 0.999, epsilon: 1e-5, weight_decay: 0.0 }
    }
}

/// Ranger's state of one tensor: RAdam's moments and step count, and Lookahead's slow weights.
#[derive(Clone)]
pub struct RangerState<const D: usize> {
    pub momentum: AdaptiveMomentumState<D>,
    pub slow: Tensor<D>,
}

impl<const D: usize> RecordState for RangerState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        self.momentum.state_flatten(&burn::optim::join_path(prefix, "momentum"), out);
        out.push_tensor(prefix, "slow", self.slow.clone().into_data());
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let momentum = AdaptiveMomentumState::state_unflatten(&burn::optim::join_path(prefix, "momentum"), src, device)?;
        let slow = Tensor::from_data(src.take_tensor(prefix, "slow")?, device);
        Some(RangerState { momentum, slow })
    }
}

impl Ranger {
    /// RAdam's rectified step size at step `t` (1-based), and whether the variance is tractable
    /// (the length of the approximated SMA above the threshold).
    pub fn step_size(&self, t: usize) -> (f64, bool) {
        let beta2_t = self.beta_2.powi(t as i32);
        let sma_max = 2.0 / (1.0 - self.beta_2) - 1.0;
        let sma = sma_max - 2.0 * t as f64 * beta2_t / (1.0 - beta2_t);
        let bias_1 = 1.0 - self.beta_1.powi(t as i32);
        if sma > self.sma_threshold {
            let rectifier = (1.0 - beta2_t) * (sma - 4.0) / (sma_max - 4.0) * (sma - 2.0) / sma * sma_max / (sma_max - 2.0);
            (rectifier.sqrt() / bias_1, true)
        } else {
            (1.0 / bias_1, false)
        }
    }
}

impl Optimizer for Ranger {
    type State<const D: usize> = RangerState<D>;

    fn step<const D: usize>(
        &self,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<RangerState<D>>,
    ) -> (Tensor<D>, Option<RangerState<D>>) {
        let (time, m, v, slow) = match state {
            Some(s) => (s.momentum.time, s.momentum.moment_1, s.momentum.moment_2, s.slow),
            // The slow weights start as the weights before the first step.
            None => (0, grad.zeros_like(), grad.zeros_like(), tensor.clone()),
        };
        let v = v * self.beta_2 + grad.clone().square() * (1.0 - self.beta_2);
        let m = m * self.beta_1 + grad * (1.0 - self.beta_1);
        let time = time + 1;
        let (step_size, rectified) = self.step_size(time);
        let mut fast = if self.weight_decay != 0.0 { tensor.clone() - tensor * (self.weight_decay * lr) } else { tensor };
        fast = if rectified {
            fast - m.clone() / (v.clone().sqrt() + self.epsilon) * (step_size * lr)
        } else {
            fast - m.clone() * (step_size * lr)
        };
        let mut slow = slow;
        if time % self.k == 0 {
            slow = slow.clone() + (fast - slow) * self.alpha;
            fast = slow.clone();
        }
        (fast, Some(RangerState { momentum: AdaptiveMomentumState::new(time, m, v), slow }))
    }

    fn to_device<const D: usize>(state: RangerState<D>, device: &Device) -> RangerState<D> {
        RangerState { momentum: state.momentum.to_device(device), slow: state.slow.to_device(device) }
    }
}

/// The learning-rate schedule of the main epochs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    /// Linear warm-up over `warmup_epochs`, then cosine decay to 0 at the last step.
    #[default]
    Cosine,
    /// `lr` until the last batch's training loss stops falling, then multiplied by the plateau
    /// factor (ReduceLROnPlateau, stepped once per epoch; settings in `plateau`). No warm-up.
    Plateau,
}

impl Schedule {
    pub(crate) fn is_cosine(&self) -> bool {
        *self == Schedule::Cosine
    }
}

/// ReduceLROnPlateau's settings (mode `min`, relative threshold), defaults as the SMLDist
/// authors set them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlateauConfig {
    /// The learning rate is multiplied by this when the loss has not improved.
    pub factor: f64,
    /// Epochs without improvement tolerated before a reduction.
    pub patience: usize,
    /// Epochs after a reduction during which bad epochs are not counted.
    pub cooldown: usize,
    /// An epoch improves when its loss is below `best · (1 − threshold)`.
    pub threshold: f64,
    /// The learning rate never goes below this.
    pub min_lr: f64,
}

impl Default for PlateauConfig {
    fn default() -> Self {
        PlateauConfig { factor: 0.85, patience: 5, cooldown: 5, threshold: 1e-7, min_lr: 1e-5 }
    }
}

impl PlateauConfig {
    pub(crate) fn is_default(&self) -> bool {
        *self == PlateauConfig::default()
    }

    pub fn validate(&self) -> Result<(), String> {
        if !(self.factor > 0.0 && self.factor < 1.0) {
            return Err(format!("plateau.factor = {} must be in (0, 1)", self.factor));
        }
        if !(self.threshold >= 0.0 && self.threshold.is_finite()) {
            return Err(format!("plateau.threshold = {} must be finite and >= 0", self.threshold));
        }
        if !(self.min_lr >= 0.0 && self.min_lr.is_finite()) {
            return Err(format!("plateau.min_lr = {} must be finite and >= 0", self.min_lr));
        }
        Ok(())
    }
}

/// ReduceLROnPlateau's running state (`torch.optim.lr_scheduler.ReduceLROnPlateau`, mode `min`,
/// threshold mode `rel`, eps 1e-8), saved with epoch checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Plateau {
    pub lr: f64,
    /// The best loss so far (`None` before the first step: torch's `inf`).
    pub best: Option<f64>,
    pub bad_epochs: usize,
    pub cooldown_left: usize,
}

impl Plateau {
    pub fn new(lr: f64) -> Self {
        Plateau { lr, best: None, bad_epochs: 0, cooldown_left: 0 }
    }

    /// One epoch's loss: returns the learning rate for the next epoch.
    pub fn step(&mut self, loss: f64, c: &PlateauConfig) -> f64 {
        if self.best.is_none_or(|best| loss < best * (1.0 - c.threshold)) {
            self.best = Some(loss);
            self.bad_epochs = 0;
        } else {
            self.bad_epochs += 1;
        }
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.bad_epochs = 0;
        }
        if self.bad_epochs > c.patience {
            let reduced = (self.lr * c.factor).max(c.min_lr);
            // torch skips changes smaller than its eps.
            if self.lr - reduced > 1e-8 {
                self.lr = reduced;
            }
            self.cooldown_left = c.cooldown;
            self.bad_epochs = 0;
        }
        self.lr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radam_is_unrectified_for_the_first_five_steps() {
        let r = Ranger::default();
        let rectified: Vec<bool> = (1..=8).map(|t| r.step_size(t).1).collect();
        assert_eq!(rectified, [false, false, false, false, false, true, true, true]);
        // Unrectified: plain bias-corrected momentum.
        assert!((r.step_size(1).0 - 1.0 / 0.05).abs() < 1e-12);
    }

    #[test]
    fn plateau_waits_patience_then_reduces_and_cools_down() {
        let c = PlateauConfig { factor: 0.5, patience: 1, cooldown: 1, threshold: 0.0, min_lr: 0.1 };
        let mut p = Plateau::new(1.0);
        let lrs: Vec<f64> = [5.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0].iter().map(|&l| p.step(l, &c)).collect();
        // Bad epochs after 4.0: 1, 2 (> patience: halve, cool down), cooldown eats one, 1, 2 (halve), ...
        assert_eq!(lrs, [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]);
        for _ in 0..20 {
            p.step(4.0, &c);
        }
        assert_eq!(p.lr, 0.1, "never below min_lr");
    }
}
