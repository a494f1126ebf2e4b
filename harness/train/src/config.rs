//! Training settings, validated once when a run is set up.

use crate::optim::{OptimizerKind, PlateauConfig, Schedule};
use crate::search::SearchConfig;
use crate::TrainError;
use harbench_data::split::Scaling;
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
    /// The model training returns, and so the one a checkpoint, the teacher store and a
    /// distillation keep: the best-validation epoch's, or the last epoch's (a fixed schedule with
    /// no selection on validation). Both are always scored.
    #[serde(skip_serializing_if = "Keep::is_best")]
    pub keep: Keep,
    /// Whether the run's models are scored on the test split at its end (`scored`), or the test
    /// split is never evaluated (`withheld`: runs that choose a design, a weight or a budget on
    /// validation, so that the test split is read once, by the final configuration).
    #[serde(skip_serializing_if = "TestSplit::is_scored")]
    pub test_split: TestSplit,
    /// The optimiser of the network weights: `adamw` (harbench's) or `ranger` (the SMLDist
    /// authors'; RAdam + Lookahead).
    #[serde(skip_serializing_if = "OptimizerKind::is_adamw")]
    pub optimizer: OptimizerKind,
    /// The learning-rate schedule: `cosine` (warm-up, then cosine decay) or `plateau`
    /// (ReduceLROnPlateau on the last batch's loss, the SMLDist authors').
    #[serde(skip_serializing_if = "Schedule::is_cosine")]
    pub schedule: Schedule,
    /// ReduceLROnPlateau's settings, used with `schedule: plateau`.
    #[serde(skip_serializing_if = "PlateauConfig::is_default")]
    pub plateau: PlateauConfig,
    /// Also score every epoch on the test split, for one diagnostic only: the best epoch on the
    /// test subjects, the SMLDist authors' selection (optimistic; `harbench report --checkpoint
    /// best-test`). Nothing in training reads these scores.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub test_every_epoch: bool,
    /// How each input channel is scaled, fitted on the training windows: `z-score`, or `robust`
    /// (the SMLDist authors' Tukey-fence clipping to [0, 1]).
    #[serde(skip_serializing_if = "Scaling::is_z_score")]
    pub scaling: Scaling,
}

/// Whether a run evaluates its models on the test split.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum TestSplit {
    /// Both checkpoints are scored on the test split when training ends (a final configuration).
    #[default]
    Scored,
    /// The test split is never evaluated; the run's scores are validation scores only. For
    /// selection runs (docs/results.md, "Selection runs").
    Withheld,
}

impl TestSplit {
    // Scored by default and then not serialised, so that keys and config hashes written before
    // the field existed hold.
    fn is_scored(&self) -> bool {
        *self == TestSplit::Scored
    }

    /// True when the run may evaluate its models on the test split.
    pub fn scored(self) -> bool {
        self == TestSplit::Scored
    }
}

/// Which model of a training run is kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Keep {
    /// The epoch with the best validation macro-F1.
    #[default]
    Best,
    /// The last epoch that ran. On a small, noisy validation split (UCI-HAR's three subjects)
    /// this is the better model to hand on (docs/models.md).
    Last,
}

impl Keep {
    // Best by default and then not serialised, so that keys and config hashes written before
    // the field existed hold.
    fn is_best(&self) -> bool {
        *self == Keep::Best
    }
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
            keep: Keep::Best,
            test_split: TestSplit::Scored,
            optimizer: OptimizerKind::Adamw,
            schedule: Schedule::Cosine,
            plateau: PlateauConfig::default(),
            test_every_epoch: false,
            scaling: Scaling::ZScore,
        }
    }
}

/// A [`TrainConfig`] that passed [`TrainConfig::validate`]: the only form [`crate::train`],
/// [`crate::fit`], distillation and the teacher store accept, so that the code after them can
/// trust every setting (linfa's `ParamGuard` idea). It reads as the config (`Deref`) and
/// serialises exactly as it does, so teacher-store keys and config hashes are unchanged; it
/// deserialises only from a valid config.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ValidTrainConfig(TrainConfig);

impl ValidTrainConfig {
    pub fn into_inner(self) -> TrainConfig {
        self.0
    }

    /// The same settings with another seed (a seed is always valid).
    pub fn with_seed(&self, seed: u64) -> Self {
        ValidTrainConfig(TrainConfig { seed, ..self.0.clone() })
    }
}

impl std::ops::Deref for ValidTrainConfig {
    type Target = TrainConfig;
    fn deref(&self) -> &TrainConfig {
        &self.0
    }
}

impl TryFrom<TrainConfig> for ValidTrainConfig {
    type Error = TrainError;
    fn try_from(config: TrainConfig) -> Result<Self, TrainError> {
        config.check()
    }
}

impl<'de> Deserialize<'de> for ValidTrainConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        TrainConfig::deserialize(d)?.check().map_err(serde::de::Error::custom)
    }
}

impl TrainConfig {
    /// Checks every setting once; the result is what training accepts.
    pub fn check(self) -> Result<ValidTrainConfig, TrainError> {
        self.validate()?;
        Ok(ValidTrainConfig(self))
    }

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
        if self.schedule == Schedule::Plateau && self.warmup_epochs > 0 {
            return bad(
                "warmup_epochs",
                format!("schedule `plateau` does not warm up: set warmup_epochs to 0 (it is {})", self.warmup_epochs),
            );
        }
        if self.test_every_epoch && !self.test_split.scored() {
            return bad("test_every_epoch", "the test split is withheld (test_split: withheld): it cannot be scored every epoch".into());
        }
        if let Err(message) = self.plateau.validate() {
            return bad("plateau", message);
        }
        Ok(())
    }
}

/// The training settings a user sets: each one optional, a left-out one keeps the base's value
/// ([`TrainConfig::default`], or the suite's `train:` under a teacher's). This one definition is
/// both `harbench train`'s flags (clap) and a suite's `train:` mapping (serde), so the two
/// cannot drift apart; [`TrainSettings::apply`] turns it into a [`TrainConfig`], which
/// [`TrainConfig::validate`] then checks once, before any data work.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct TrainSettings {
    /// Epochs of training [default: 30].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Windows per batch [default: 64].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Peak learning rate of AdamW, reached after the warm-up [default: 0.002].
    #[arg(long)]
    pub lr: Option<f64>,
    /// AdamW's decoupled weight decay [default: 0.01].
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Epochs of linear warm-up before the cosine decay [default: 2].
    #[arg(long)]
    pub warmup_epochs: Option<usize>,
    /// Label smoothing of the cross-entropy, in [0, 1) [default: 0].
    #[arg(long)]
    pub label_smoothing: Option<f64>,
    /// Early-stopping patience in epochs on validation macro-F1; 0 never stops early [default: 10].
    #[arg(long)]
    pub patience: Option<usize>,
    /// Augmentation: per-channel scale factors ~ N(1, s²); 0 is off [default: 0].
    #[arg(long)]
    pub augment_scale: Option<f64>,
    /// Augmentation: additive Gaussian noise of this std, in normalised units; 0 is off [default: 0].
    #[arg(long)]
    pub augment_jitter: Option<f64>,
    /// Evaluate and keep an exponential moving average of the weights with this decay per step;
    /// 0 is off, 0.99 averages over about the last 100 steps [default: 0].
    #[arg(long)]
    pub ema_decay: Option<f64>,
    /// The model to keep (checkpoint, teacher store, distillation): `best` (best-validation
    /// epoch) or `last` (last epoch, no selection on validation) [default: best].
    #[arg(long)]
    pub keep: Option<Keep>,
    /// `scored`: both checkpoints are scored on the test split when training ends; `withheld`:
    /// the test split is never evaluated, for runs that choose something on validation (a
    /// design, a weight, a budget) before one final configuration reads the test split
    /// [default: scored].
    #[arg(long)]
    pub test_split: Option<TestSplit>,
    /// The optimiser: `adamw`, or `ranger` (RAdam + Lookahead, the SMLDist authors') [default: adamw].
    #[arg(long)]
    pub optimizer: Option<OptimizerKind>,
    /// The learning-rate schedule: `cosine` (warm-up, then cosine decay), or `plateau`
    /// (ReduceLROnPlateau on the last batch's training loss, the SMLDist authors'; needs
    /// --warmup-epochs 0) [default: cosine].
    #[arg(long)]
    pub schedule: Option<Schedule>,
    /// ReduceLROnPlateau's settings (a suite's `train: {plateau: {factor, patience, cooldown,
    /// threshold, min_lr}}`) [default: the SMLDist authors' 0.85, 5, 5, 1e-7, 1e-5].
    #[arg(skip)]
    pub plateau: Option<PlateauConfig>,
    /// Also score every epoch on the test split, for the report's "best epoch on the test
    /// subjects" diagnostic (the SMLDist authors' selection, optimistic); nothing in training
    /// reads these scores [default: false].
    #[arg(long)]
    pub test_every_epoch: Option<bool>,
    /// Input scaling, fitted on the training windows: `z-score`, or `robust` (clip to the
    /// quartiles' Tukey fences, then map them to [0, 1]; the SMLDist authors') [default: z-score].
    #[arg(long)]
    pub scaling: Option<Scaling>,
}

impl TrainSettings {
    /// `base` with these settings over it (the seed and the head search stay the base's).
    pub fn apply(&self, base: &TrainConfig) -> TrainConfig {
        TrainConfig {
            epochs: self.epochs.unwrap_or(base.epochs),
            batch_size: self.batch_size.unwrap_or(base.batch_size),
            lr: self.lr.unwrap_or(base.lr),
            weight_decay: self.weight_decay.unwrap_or(base.weight_decay),
            warmup_epochs: self.warmup_epochs.unwrap_or(base.warmup_epochs),
            label_smoothing: self.label_smoothing.unwrap_or(base.label_smoothing),
            patience: match self.patience {
                Some(0) => None,
                Some(p) => Some(p),
                None => base.patience,
            },
            seed: base.seed,
            augment_scale: self.augment_scale.unwrap_or(base.augment_scale),
            augment_jitter: self.augment_jitter.unwrap_or(base.augment_jitter),
            ema_decay: self.ema_decay.unwrap_or(base.ema_decay),
            search: base.search.clone(),
            keep: self.keep.unwrap_or(base.keep),
            test_split: self.test_split.unwrap_or(base.test_split),
            optimizer: self.optimizer.unwrap_or(base.optimizer),
            schedule: self.schedule.unwrap_or(base.schedule),
            plateau: self.plateau.unwrap_or(base.plateau),
            test_every_epoch: self.test_every_epoch.unwrap_or(base.test_every_epoch),
            scaling: self.scaling.unwrap_or(base.scaling),
        }
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

    /// The defaults `--help` states are the defaults `TrainConfig` has.
    #[test]
    fn help_states_the_real_defaults() {
        use clap::CommandFactory;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            settings: TrainSettings,
        }
        let d = TrainConfig::default();
        let expected = [
            ("epochs", d.epochs.to_string()),
            ("batch-size", d.batch_size.to_string()),
            ("lr", d.lr.to_string()),
            ("weight-decay", d.weight_decay.to_string()),
            ("warmup-epochs", d.warmup_epochs.to_string()),
            ("label-smoothing", d.label_smoothing.to_string()),
            ("patience", d.patience.unwrap_or(0).to_string()),
            ("augment-scale", d.augment_scale.to_string()),
            ("augment-jitter", d.augment_jitter.to_string()),
            ("ema-decay", d.ema_decay.to_string()),
            ("keep", "best".to_string()),
            ("test-split", "scored".to_string()),
            ("optimizer", "adamw".to_string()),
            ("schedule", "cosine".to_string()),
            ("test-every-epoch", "false".to_string()),
            ("scaling", "z-score".to_string()),
        ];
        let command = Cli::command();
        for (flag, value) in expected {
            let arg = command.get_arguments().find(|a| a.get_long() == Some(flag)).unwrap_or_else(|| panic!("no --{flag}"));
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            // clap drops the doc comment's final period.
            assert!(help.ends_with(&format!("[default: {value}]")), "--{flag}: '{help}' should end in [default: {value}]");
        }
        assert_eq!((d.keep, d.test_split), (Keep::Best, TestSplit::Scored));
        assert_eq!((d.optimizer, d.schedule), (OptimizerKind::Adamw, Schedule::Cosine));
        assert_eq!(d.scaling, harbench_data::split::Scaling::ZScore);
        assert_eq!(command.get_arguments().count(), 16, "a new setting needs its default checked here");
    }

    #[test]
    fn settings_apply_over_a_base_and_patience_zero_is_never() {
        let base = TrainConfig { seed: 7, ..Default::default() };
        let settings: TrainSettings = serde_json::from_str(r#"{"epochs": 3, "patience": 0, "lr": 0.01}"#).unwrap();
        let c = settings.apply(&base);
        assert_eq!((c.epochs, c.patience, c.lr, c.seed, c.batch_size), (3, None, 0.01, 7, base.batch_size));
        assert!(serde_json::from_str::<TrainSettings>(r#"{"seed": 1}"#).unwrap_err().to_string().contains("unknown field"));
    }

    #[test]
    fn invalid_settings_name_the_field() {
        let err = TrainConfig { batch_size: 1, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(err.contains("batch_size"), "{err}");
        let err = TrainConfig { lr: f64::NAN, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(err.contains("`lr`"), "{err}");
        let plateau = TrainConfig { schedule: Schedule::Plateau, ..Default::default() };
        let err = plateau.validate().unwrap_err().to_string();
        assert!(err.contains("warmup_epochs") && err.contains("set warmup_epochs to 0"), "{err}");
        assert!(TrainConfig { warmup_epochs: 0, ..plateau.clone() }.validate().is_ok());
        let bad = PlateauConfig { factor: 1.5, ..PlateauConfig::default() };
        let err = TrainConfig { warmup_epochs: 0, plateau: bad, ..plateau }.validate().unwrap_err().to_string();
        assert!(err.contains("plateau.factor"), "{err}");
        let err = TrainConfig { ema_decay: 1.0, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(err.contains("ema_decay"), "{err}");
        assert!(TrainConfig::default().validate().is_ok());
    }

    #[test]
    fn a_valid_config_reads_and_writes_as_the_config_and_refuses_bad_json() {
        let valid = TrainConfig { epochs: 5, ..Default::default() }.check().unwrap();
        assert_eq!(serde_json::to_string(&valid).unwrap(), serde_json::to_string(&*valid).unwrap());
        let back: ValidTrainConfig = serde_json::from_str(&serde_json::to_string(&valid).unwrap()).unwrap();
        assert_eq!(back, valid);
        let err = serde_json::from_str::<ValidTrainConfig>(r#"{"epochs": 0}"#).unwrap_err().to_string();
        assert!(err.contains("epochs"), "{err}");
        assert!(TrainConfig { batch_size: 1, ..Default::default() }.check().is_err());
        assert_eq!(valid.with_seed(9).seed, 9);
    }
}
