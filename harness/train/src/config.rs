//! Training settings, validated once when a run is set up.

use crate::search::SearchConfig;
use crate::TrainError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    /// Peak learning rate of AdamW, reached after the warm-up.
    pub lr: f64,
    pub weight_decay: f64,
    /// Epochs of linear warm-up before the cosine decay.
    pub warmup_epochs: usize,
    /// Label smoothing of the cross-entropy (0 = none).
    pub label_smoothing: f64,
    /// Stop when validation macro-F1 has not improved for this many epochs (`None`: never).
    pub patience: Option<usize>,
    /// Seeds parameter initialisation and batch order.
    pub seed: u64,
    /// Training-time augmentation: each window's channels are multiplied by factors drawn from
    /// N(1, augment_scale²) (0 = off).
    pub augment_scale: f64,
    /// Training-time augmentation: Gaussian noise of this standard deviation, in normalised units,
    /// added to every sample (0 = off).
    pub augment_jitter: f64,
    /// Decay of an exponential moving average of the weights, which is then the model evaluated
    /// and kept (0 = off; e.g. 0.99 averages over about the last 100 steps).
    #[serde(skip_serializing_if = "is_zero")]
    pub ema_decay: f64,
    /// Head search of models with several classifier heads (ignored otherwise).
    #[serde(skip_serializing_if = "SearchConfig::is_default")]
    pub search: SearchConfig,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 30,
            batch_size: 64,
            lr: 2e-3,
            weight_decay: 1e-2,
            warmup_epochs: 2,
            label_smoothing: 0.0,
            patience: Some(10),
            seed: 0,
            augment_scale: 0.0,
            augment_jitter: 0.0,
            ema_decay: 0.0,
            search: SearchConfig::default(),
        }
    }
}

impl TrainConfig {
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |field: &str, message: String| Err(TrainError::Config { field: field.into(), message });
        if self.epochs == 0 {
            return bad("epochs", "must be at least 1".into());
        }
        if self.batch_size < 2 {
            return bad("batch_size", format!("{} is too small for batch normalisation (at least 2)", self.batch_size));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", format!("{} is not a positive learning rate", self.lr));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad("weight_decay", format!("{} must be ≥ 0", self.weight_decay));
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return bad("label_smoothing", format!("{} is outside [0, 1)", self.label_smoothing));
        }
        for (field, value) in [("augment_scale", self.augment_scale), ("augment_jitter", self.augment_jitter)] {
            if !(value.is_finite() && (0.0..=1.0).contains(&value)) {
                return bad(field, format!("{value} is outside [0, 1]"));
            }
        }
        if !(0.0..1.0).contains(&self.ema_decay) {
            return bad("ema_decay", format!("{} is outside [0, 1)", self.ema_decay));
        }
        self.search.validate()?;
        if self.warmup_epochs >= self.epochs && self.epochs > 1 {
            return bad("warmup_epochs", format!("{} warm-up epochs leave nothing of {} epochs", self.warmup_epochs, self.epochs));
        }
        Ok(())
    }
}

// Off by default and then not serialised, so the keys of teachers stored before it existed hold.
fn is_zero(value: &f64) -> bool {
    *value == 0.0
}

/// Learning rate at `step` of `total`: linear warm-up over `warmup` steps, then cosine decay to 0.
pub fn learning_rate(peak: f64, step: usize, warmup: usize, total: usize) -> f64 {
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let span = (total - warmup).max(1) as f64;
    let progress = ((step - warmup) as f64 / span).min(1.0);
    peak * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_warms_up_then_decays_to_zero() {
        // By hand: peak 1, 2 warm-up steps of 10 → 0.5, 1.0, then cos decay over 8 steps.
        assert_eq!(learning_rate(1.0, 0, 2, 10), 0.5);
        assert_eq!(learning_rate(1.0, 1, 2, 10), 1.0);
        assert_eq!(learning_rate(1.0, 2, 2, 10), 1.0);
        assert!((learning_rate(1.0, 6, 2, 10) - 0.5).abs() < 1e-12);
        assert!(learning_rate(1.0, 10, 2, 10).abs() < 1e-12);
        assert_eq!(learning_rate(1.0, 0, 0, 4), 1.0);
    }

    #[test]
    fn invalid_settings_name_the_field() {
        let err = TrainConfig { batch_size: 1, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(err.contains("batch_size"), "{err}");
        let err = TrainConfig { lr: f64::NAN, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(err.contains("`lr`"), "{err}");
        let err = TrainConfig { ema_decay: 1.0, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(err.contains("ema_decay"), "{err}");
        assert!(TrainConfig::default().validate().is_ok());
    }
}
