//! The training loop: AdamW with warm-up and cosine decay, cross-entropy with optional label
//! smoothing, early stopping on validation macro-F1, the best-validation model kept, and a stop
//! flag (Ctrl-C) that ends the run early with a usable checkpoint.

use crate::batches::SplitData;
use crate::config::{learning_rate, Keep, ValidTrainConfig};
use crate::ema::WeightAverage;
use crate::metrics::{Confusion, Metrics};
use crate::optim::{torch_adam, Plateau, Schedule};
use crate::resume::{EpochCheckpoints, LoopState, Saved, Tally, Tensors};
use crate::search::{select, ArchStep, SearchReport};
use crate::TrainError;
use burn::module::Module;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor};
use harbench_common::progress::Progress;
use harbench_data::cache::Prepared;
use harbench_data::split::{Fold, Normalizer};
use harbench_models::{Model, ModelConfig};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Validation and test scores of one model state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub epoch: usize,
    pub val: Metrics,
    /// Absent when the run withheld the test split (`TrainConfig::test_split`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Metrics>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub train_loss: f64,
    pub val_accuracy: f64,
    pub val_macro_f1: f64,
    pub samples_per_second: f64,
    /// Mixture weights of the classifier's heads after the epoch (head search only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub head_weights: Vec<f64>,
    /// Test scores after the epoch, with `test_every_epoch` only: a diagnostic of the SMLDist
    /// authors' protocol (best epoch on the test subjects), read by nothing that chooses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_accuracy: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_macro_f1: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOutcome {
    /// Scores of the best-validation checkpoint (model selection never looks at the test set).
    pub best: Scores,
    /// Scores after the last epoch that ran.
    pub last: Scores,
    pub epochs_run: usize,
    pub parameters: usize,
    pub train_seconds: f64,
    pub samples_per_second: f64,
    /// True when the stop flag ended the run before its epochs or patience ran out.
    pub interrupted: bool,
    pub history: Vec<EpochLog>,
    /// Mean loss of each pre-training epoch (empty without a pre-training stage).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pretrain_losses: Vec<f64>,
    /// The head search, when the model carried several heads: every candidate's validation
    /// scores and the heads kept. `best` (and `parameters`) then describe the pruned model;
    /// `last` the unpruned mixture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchReport>,
}

impl TrainOutcome {
    /// The scores of the model that was kept (`TrainConfig::keep`).
    pub fn kept(&self, keep: Keep) -> &Scores {
        match keep {
            Keep::Best => &self.best,
            Keep::Last => &self.last,
        }
    }

    /// The architecture of the returned model: `config` with the heads the search kept.
    pub fn exported_config(&self, config: &ModelConfig) -> ModelConfig {
        match &self.search {
            Some(search) => search.exported(config),
            None => config.clone(),
        }
    }
}

/// The trained model (the kept one: `TrainConfig::keep`) and what happened.
pub struct Trained {
    pub model: Model,
    pub normalizer: Normalizer,
    pub outcome: TrainOutcome,
}

/// Which part of a run a batch belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// A pre-training stage before the main epochs (e.g. FSP's): constant learning rate, no
    /// validation, its own optimiser state.
    Pretrain,
    Main,
}

/// One training batch as an [`Objective`] sees it.
pub struct Batch<'a> {
    /// `[batch, C, L]` on the autodiff device.
    pub x: Tensor<3>,
    pub y: Tensor<1, Int>,
    /// Positions of the batch's windows in the training split (stable ids for memory banks).
    pub rows: &'a [usize],
    /// 1-based epoch within `stage`.
    pub epoch: usize,
    pub stage: Stage,
}

/// What the loop optimises and how a batch's loss is computed. The optimised module holds the
/// classifier that is evaluated and kept (the student) and any training-only parts beside it.
pub trait Objective {
    type Module: Module;
    /// The classifier inside `module`.
    fn student<'a>(&self, module: &'a Self::Module) -> &'a Model;
    /// Epochs of [`Stage::Pretrain`] run before the main epochs.
    fn pretrain_epochs(&self) -> usize {
        0
    }
    /// How the pre-training epochs are optimised.
    fn pretrain_optimizer(&self) -> PretrainOptimizer {
        PretrainOptimizer::Run
    }
    /// The scalar loss of one batch (on the autodiff device).
    fn loss(&mut self, module: &Self::Module, batch: &Batch) -> Result<Tensor<1>, TrainError>;
    /// True when an epoch checkpoint (the module, the optimiser and [`Objective::state`]) is the
    /// whole training state, so that a run can resume from it ([`EpochCheckpoints`]).
    /// Objectives with state they cannot save (memory banks of past batches) answer false and
    /// always start over.
    fn resumable(&self) -> bool {
        false
    }
    /// The objective's own state between batches that a resumed run needs to end as an unbroken
    /// one (running sums of logged loss terms), saved with each epoch checkpoint.
    fn state(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
    /// Puts back what [`Objective::state`] saved; an error says what was wrong with it.
    fn restore(&mut self, _state: &serde_json::Value) -> Result<(), String> {
        Ok(())
    }
}

/// The optimiser of [`Stage::Pretrain`]'s epochs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PretrainOptimizer {
    /// The run's optimiser (`optimizer`, `weight_decay`), one for all pre-training epochs, at
    /// the constant peak `lr` (FSP, AB, FT, harbench's SMLDist).
    Run,
    /// `torch.optim.Adam` at a constant `lr`, a fresh one every `phase_epochs` epochs: the
    /// SMLDist authors' stage phases (a new Adam per anchor).
    AdamPerPhase { lr: f64, phase_epochs: usize },
}

/// Plain supervised training: cross-entropy (optionally label-smoothed) of the model's logits.
pub struct CrossEntropy {
    loss: CrossEntropyLoss,
}

impl CrossEntropy {
    pub fn new(label_smoothing: f64, device: &Device) -> Self {
        let smoothing = (label_smoothing > 0.0).then_some(label_smoothing as f32);
        CrossEntropy { loss: CrossEntropyLossConfig::new().with_smoothing(smoothing).init(device) }
    }

    pub fn forward(&self, logits: Tensor<2>, y: Tensor<1, Int>) -> Tensor<1> {
        self.loss.forward(logits, y)
    }
}

impl Objective for CrossEntropy {
    type Module = Model;
    fn student<'a>(&self, module: &'a Model) -> &'a Model {
        module
    }
    fn loss(&mut self, module: &Model, batch: &Batch) -> Result<Tensor<1>, TrainError> {
        Ok(self.forward(module.forward(batch.x.clone()).logits, batch.y.clone()))
    }
    fn resumable(&self) -> bool {
        true
    }
}

/// The normalised windows of one fold: what every training run of that fold shares.
pub struct Splits {
    pub normalizer: Normalizer,
    pub train: SplitData,
    pub val: SplitData,
    pub test: SplitData,
    pub classes: usize,
}

impl Splits {
    /// Scales with statistics of `fold.train` only (`config.scaling`); checks there is a batch to train on.
    pub fn new(data: &Prepared, fold: &Fold, config: &ValidTrainConfig) -> Result<Self, TrainError> {
        if fold.train.len() < config.batch_size || fold.val.is_empty() {
            return Err(TrainError::Data(format!(
                "fold '{}' has {} training and {} validation windows; need at least one batch ({}) and one validation window",
                fold.name,
                fold.train.len(),
                fold.val.len(),
                config.batch_size
            )));
        }
        let normalizer = Normalizer::fit_with(&data.windows, &fold.train, config.scaling);
        Ok(Splits {
            train: SplitData::new(data, &fold.train, &normalizer),
            val: SplitData::new(data, &fold.val, &normalizer),
            test: SplitData::new(data, &fold.test, &normalizer),
            classes: data.meta.classes.len(),
            normalizer,
        })
    }
}

/// What every training run passes down besides its settings: where it computes, whom it tells,
/// what stops it, and where it saves its epochs.
#[derive(Clone, Copy)]
pub struct TrainContext<'a> {
    /// The plain device; the loop trains on its autodiff twin.
    pub device: &'a Device,
    pub progress: &'a dyn Progress,
    /// Raised by Ctrl-C or a time budget: the loop stops after the current batch.
    pub stop: &'a AtomicBool,
    /// Where the state after each epoch is written and a killed run resumes from.
    pub checkpoints: Option<&'a EpochCheckpoints>,
}

impl<'a> TrainContext<'a> {
    /// A context without epoch checkpoints.
    pub fn new(device: &'a Device, progress: &'a dyn Progress, stop: &'a AtomicBool) -> Self {
        TrainContext { device, progress, stop, checkpoints: None }
    }

    pub fn with_checkpoints(self, checkpoints: Option<&'a EpochCheckpoints>) -> Self {
        TrainContext { checkpoints, ..self }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn checkpoint_error(&self, message: String) -> TrainError {
        TrainError::Checkpoint { path: self.checkpoints.map(|c| c.dir.display().to_string()).unwrap_or_default(), message }
    }
}

/// What a run trains on and how: the windows, the fold, the checked settings.
#[derive(Clone, Copy)]
pub struct Task<'a> {
    pub data: &'a Prepared,
    pub fold: &'a Fold,
    pub config: &'a ValidTrainConfig,
}

/// Trains `model_config` on the task's fold with cross-entropy; with checkpoints in `ctx`, the
/// state after each epoch is written there and a run killed part-way continues from it.
pub fn train(model_config: &ModelConfig, task: Task, ctx: &TrainContext) -> Result<Trained, TrainError> {
    let Task { data, fold, config } = task;
    model_config
        .check_input(model_config.kind(), data.windows.channels, data.windows.length)
        .map_err(|e| TrainError::Data(e.to_string()))?;
    let splits = Splits::new(data, fold, config)?;
    ctx.device.seed(config.seed);
    let train_device = ctx.device.clone().autodiff();
    let model = model_config.build(splits.train.channels, splits.classes, &train_device);
    let mut objective = CrossEntropy::new(config.label_smoothing, &train_device);
    let (model, outcome) = fit(model, &mut objective, &splits, config, ctx)?;
    Ok(Trained { model, normalizer: splits.normalizer, outcome })
}

/// The training loop for any [`Objective`]: `module` must live on the context device's autodiff
/// twin. Returns the kept student (eval mode, plain device) and the outcome. With checkpoints
/// (and an objective that is [`Objective::resumable`], without a head search), the loop's
/// state is saved after every epoch and a saved state is resumed from.
///
/// The steps: pre-training epochs (or the saved state instead), then main epochs, each
/// followed by its end-of-epoch step (validate, keep the best, checkpoint, stop early), then
/// the final selection.
///
/// With several rayon threads, call it on one of rayon's workers
/// ([`harbench_models::device::on_worker_thread`], as the binary does): the same numbers,
/// fewer thread hand-offs.
pub fn fit<O: Objective>(
    module: O::Module,
    objective: &mut O,
    splits: &Splits,
    config: &ValidTrainConfig,
    ctx: &TrainContext,
) -> Result<(Model, TrainOutcome), TrainError> {
    let mut live = Loop::new(module, objective, splits, config, ctx)?;
    let saved = live.saved()?;
    if saved.is_none() {
        live = live.pretrain()?;
    }
    live.begin_main();
    if let Some(saved) = &saved {
        live = live.resume(saved)?;
    }
    while let Some(epoch) = live.next_epoch() {
        live = live.train_epoch(epoch)?;
        if live.interrupted {
            break;
        }
        if live.end_epoch(epoch)? == Continue::Stop {
            break;
        }
    }
    Ok(live.finish())
}

/// Whether the epochs go on after an end-of-epoch step.
#[derive(Debug, PartialEq, Eq)]
enum Continue {
    Go,
    Stop,
}

/// The live state of one training loop. Its steps take and give back the loop by value because
/// an optimiser step consumes the module.
struct Loop<'a, O: Objective> {
    objective: &'a mut O,
    splits: &'a Splits,
    config: &'a ValidTrainConfig,
    ctx: &'a TrainContext<'a>,
    /// Checkpoints, where the objective and the loop allow resuming.
    checkpoints: Option<&'a EpochCheckpoints>,
    /// The settings a checkpoint must have been written under to be resumed.
    settings: String,
    train_device: Device,
    module: O::Module,
    optimizer: ModuleOptimizer,
    /// The order of the training windows (each epoch shuffles the previous epoch's).
    order: Vec<usize>,
    /// The saved part of the state; `tally.epoch` is the last main epoch that ran through.
    tally: Tally,
    /// The best-validation model (`tally.best_epoch`'s), once an epoch has ended.
    best_model: Option<Model>,
    /// With weight averaging, the average is what is validated, kept and returned.
    average: Option<WeightAverage>,
    augment_rng: ChaCha8Rng,
    /// Several heads: their mixture weights learn on validation batches, between network steps.
    arch_step: Option<ArchStep>,
    /// Trainable parameters of the student before any search.
    parameters: usize,
    steps_per_epoch: usize,
    interrupted: bool,
    started: Instant,
    /// Training seconds of earlier attempts (a resumed run).
    earlier_seconds: f64,
}

impl<'a, O: Objective> Loop<'a, O> {
    fn new(
        module: O::Module,
        objective: &'a mut O,
        splits: &'a Splits,
        config: &'a ValidTrainConfig,
        ctx: &'a TrainContext<'a>,
    ) -> Result<Self, TrainError> {
        let train_len = splits.train.len();
        if train_len < config.batch_size {
            return Err(TrainError::Data(format!("{train_len} training windows do not fill one batch of {}", config.batch_size)));
        }
        // Trainable parameters only (burn's num_params also counts batch-norm running statistics).
        let parameters = objective.student(&module).trainable_params();
        let arch_step = ArchStep::new(objective.student(&module), &config.search, config.batch_size, ctx.device);
        // Resuming needs every piece of state kept between batches on disk; the head search's
        // own optimiser is not saved.
        let checkpoints = ctx.checkpoints.filter(|_| objective.resumable() && arch_step.is_none());
        let settings = format!("{}; {parameters} trainable parameters", serde_json::to_string(config).expect("settings serialise"));
        Ok(Loop {
            objective,
            splits,
            config,
            ctx,
            checkpoints,
            settings,
            train_device: ctx.device.clone().autodiff(),
            module,
            optimizer: config.optimizer.build(config.weight_decay),
            order: (0..train_len).collect(),
            tally: Tally::default(),
            best_model: None,
            average: None,
            augment_rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0xA5A5_5A5A),
            arch_step,
            parameters,
            // Incomplete last batches are dropped: batch normalisation needs more than one sample.
            steps_per_epoch: train_len / config.batch_size,
            interrupted: false,
            started: Instant::now(),
            earlier_seconds: 0.0,
        })
    }

    /// The saved state to resume from, if the checkpoints hold one of these settings.
    fn saved(&self) -> Result<Option<Saved>, TrainError> {
        match self.checkpoints {
            Some(c) => c.load(&self.settings, &|why| self.ctx.progress.message(&why)),
            None => Ok(None),
        }
    }

    /// Pre-training epochs: own optimiser state and a constant learning rate; batch order is
    /// seeded apart from the main epochs so that adding a stage does not reorder them.
    fn pretrain(mut self) -> Result<Self, TrainError> {
        let epochs = self.objective.pretrain_epochs();
        let schedule = self.objective.pretrain_optimizer();
        for epoch in 1..=epochs {
            let lr = match schedule {
                PretrainOptimizer::Run => self.config.lr,
                PretrainOptimizer::AdamPerPhase { lr, phase_epochs } => {
                    if (epoch - 1) % phase_epochs.max(1) == 0 {
                        self.optimizer = torch_adam();
                    }
                    lr
                }
            };
            let seed = self.config.seed.wrapping_mul(1_000_033).wrapping_add(epoch as u64 + (1 << 40));
            self.order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
            self.ctx.progress.start(&format!("pre-training {epoch}/{epochs}"), Some(self.steps_per_epoch as u64));
            let loss_sum;
            (self, loss_sum) = self.pretrain_batches(epoch, lr)?;
            self.ctx.progress.finish();
            if self.interrupted {
                break;
            }
            let loss = loss_sum / self.steps_per_epoch as f64;
            self.tally.pretrain_losses.push(loss);
            self.ctx.progress.message(&format!("pre-training {epoch}: loss {loss:.4}"));
        }
        Ok(self)
    }

    /// One pre-training epoch's batches; returns the sum of their losses.
    fn pretrain_batches(mut self, epoch: usize, lr: f64) -> Result<(Self, f64), TrainError> {
        let order = std::mem::take(&mut self.order);
        let mut loss_sum = 0.0;
        for (b, rows) in order.chunks_exact(self.config.batch_size).enumerate() {
            if self.ctx.stopped() {
                self.interrupted = true;
                break;
            }
            let (x, y) = self.splits.train.batch(rows, &self.train_device);
            let batch = Batch { x, y, rows, epoch, stage: Stage::Pretrain };
            let value;
            (self.module, value) =
                network_step(&mut *self.objective, self.module, &batch, b + 1, &mut self.optimizer, lr, self.arch_step.as_ref())?;
            loss_sum += value;
            self.ctx.progress.advance(1);
        }
        self.order = order;
        Ok((self, loss_sum))
    }

    /// Fresh optimiser state and batch order for the main epochs, and the weight average.
    fn begin_main(&mut self) {
        self.optimizer = self.config.optimizer.build(self.config.weight_decay);
        self.order = (0..self.splits.train.len()).collect();
        let decay = self.config.ema_decay;
        self.average = (decay > 0.0).then(|| WeightAverage::new(self.objective.student(&self.module).valid(), decay));
        self.tally.plateau = (self.config.schedule == Schedule::Plateau).then(|| Plateau::new(self.config.lr));
    }

    /// Puts back a saved state: tensors, the tally, the generator, the objective's own state.
    fn resume(mut self, saved: &Saved) -> Result<Self, TrainError> {
        let state = &saved.state;
        self.module = saved.module(self.module)?;
        self.optimizer = saved.optimizer(self.optimizer)?;
        // Loading writes batch-norm running statistics into their cells in place, and clones
        // share those cells: each loaded model gets a `valid()` copy of its own.
        let skeleton = || self.objective.student(&self.module).valid();
        if self.average.is_some() {
            let updates = state.average_updates.unwrap_or(0);
            self.average = Some(WeightAverage::resume(saved.average(skeleton())?, self.config.ema_decay, updates));
        }
        self.best_model = Some(saved.best(skeleton())?);
        let plateau = self.tally.plateau.take();
        if plateau.is_some() && state.tally.plateau.is_none() {
            return Err(self.ctx.checkpoint_error("the saved state has no plateau schedule state".into()));
        }
        self.tally = Tally { plateau: plateau.and(state.tally.plateau), ..state.tally.clone() };
        self.earlier_seconds = state.train_seconds;
        let word_pos = state
            .augment_word_pos
            .parse()
            .map_err(|_| self.ctx.checkpoint_error(format!("augment_word_pos '{}' is not a number", state.augment_word_pos)))?;
        self.augment_rng.set_word_pos(word_pos);
        self.objective
            .restore(&state.objective)
            .map_err(|message| self.ctx.checkpoint_error(format!("the objective's saved state: {message}")))?;
        // Each epoch shuffles the previous epoch's order: replay them.
        for epoch in 1..=state.tally.epoch {
            self.shuffle(epoch);
        }
        self.ctx.progress.message(&format!("resuming after epoch {} of {} (saved state)", state.tally.epoch, self.config.epochs));
        Ok(self)
    }

    /// The next main epoch to train, if any is left and nothing stopped the run. Early stopping
    /// is asked again here for a resumed state that it had ended (killed before its result was
    /// written); an unbroken run stopped at that epoch's end already.
    fn next_epoch(&mut self) -> Option<usize> {
        let (done, epoch) = (self.tally.epoch, self.tally.epoch + 1);
        let stopped_early = done > 0 && self.patience_ran_out(done);
        (!self.interrupted && !stopped_early && epoch <= self.config.epochs).then_some(epoch)
    }

    fn shuffle(&mut self, epoch: usize) {
        let seed = self.config.seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64);
        self.order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    }

    /// Early stopping: `patience` epochs without a better validation score than the best's.
    fn patience_ran_out(&self, epoch: usize) -> bool {
        self.config.patience.is_some_and(|p| epoch - self.tally.best_epoch >= p)
    }

    /// One main epoch's batches. A stop leaves `interrupted` set and the epoch unfinished.
    fn train_epoch(mut self, epoch: usize) -> Result<Self, TrainError> {
        self.shuffle(epoch);
        // Dropout draws from the device's generator: seeding it per epoch makes an epoch's draws
        // independent of the epochs before it, so a resumed run draws what an unbroken one does.
        // Not before epoch 1: burn initialises parameters lazily, at their first use in epoch
        // 1's first forward pass, from the generator as the run's seed left it. (A resumed run
        // loads its parameters, and starts at epoch 2 or later.)
        if epoch > 1 {
            self.ctx.device.seed(self.config.seed.wrapping_mul(1_000_039).wrapping_add(epoch as u64 + (1 << 42)));
        }
        self.ctx.progress.start(&format!("epoch {epoch}/{}", self.config.epochs), Some(self.steps_per_epoch as u64));
        let epoch_start = Instant::now();
        let (mut loss_sum, mut last_loss) = (0.0, 0.0);
        let order = std::mem::take(&mut self.order);
        for (b, rows) in order.chunks_exact(self.config.batch_size).enumerate() {
            if self.ctx.stopped() {
                self.interrupted = true;
                break;
            }
            (self, last_loss) = self.main_step(rows, epoch, b + 1)?;
            loss_sum += last_loss;
            self.ctx.progress.advance(1);
            if b % 10 == 0 {
                let speed = (b + 1) as f64 * self.config.batch_size as f64 / epoch_start.elapsed().as_secs_f64();
                let mean = loss_sum / (b + 1) as f64;
                self.ctx.progress.message(&format!("epoch {epoch}/{} loss {mean:.4} {speed:.0} samples/s", self.config.epochs));
            }
        }
        self.order = order;
        if self.interrupted {
            return Ok(self);
        }
        self.ctx.progress.finish();
        self.tally.epoch = epoch;
        // The authors step ReduceLROnPlateau with the epoch's last batch loss (ignite's
        // `engine.state.output`), not a validation score.
        if let Some(plateau) = self.tally.plateau.as_mut() {
            plateau.step(last_loss, &self.config.plateau);
        }
        self.log_epoch(epoch, loss_sum, epoch_start);
        Ok(self)
    }

    /// The network's step on one batch (its `step`-th of the epoch), then the head search's
    /// step and the weight average's update. Returns the batch's loss.
    fn main_step(mut self, rows: &[usize], epoch: usize, step: usize) -> Result<(Self, f64), TrainError> {
        let config = self.config;
        let (x, y) =
            self.splits.train.augmented_batch(rows, &self.train_device, config.augment_scale, config.augment_jitter, &mut self.augment_rng);
        let batch = Batch { x, y, rows, epoch, stage: Stage::Main };
        let lr = match &self.tally.plateau {
            Some(plateau) => plateau.lr,
            None => {
                learning_rate(config.lr, self.tally.step, self.steps_per_epoch * config.warmup_epochs, self.steps_per_epoch * config.epochs)
            }
        };
        let value;
        (self.module, value) =
            network_step(&mut *self.objective, self.module, &batch, step, &mut self.optimizer, lr, self.arch_step.as_ref())?;
        if let Some(arch) = self.arch_step.as_mut() {
            let objective = &*self.objective;
            self.module =
                arch.step(self.module, |m: &O::Module| objective.student(m), &self.splits.val, config.search.arch_lr, self.ctx.device);
        }
        if let Some(average) = self.average.as_mut() {
            average.update(&self.objective.student(&self.module).valid());
        }
        self.tally.step += 1;
        self.tally.trained_samples += rows.len();
        Ok((self, value))
    }

    /// The model that is validated and kept: the weight average, or the student itself.
    fn evaluated(&self) -> Model {
        match &self.average {
            Some(average) => average.model().clone(),
            None => self.objective.student(&self.module).valid(),
        }
    }

    /// Validates the epoch's model and logs the epoch; keeps it when it is the best so far.
    fn log_epoch(&mut self, epoch: usize, loss_sum: f64, epoch_start: Instant) {
        let (splits, classes, device) = (self.splits, self.splits.classes, self.ctx.device);
        let model = self.evaluated();
        let val = evaluate(&model, &splits.val, classes, device);
        let test = self.config.test_every_epoch.then(|| evaluate(&model, &splits.test, classes, device));
        self.tally.history.push(EpochLog {
            epoch,
            train_loss: loss_sum / self.steps_per_epoch as f64,
            val_accuracy: val.accuracy,
            val_macro_f1: val.macro_f1,
            // Validation time included, as the speed of an epoch has always been measured.
            samples_per_second: (self.steps_per_epoch * self.config.batch_size) as f64 / epoch_start.elapsed().as_secs_f64(),
            head_weights: if self.arch_step.is_some() { model.classifier().weights() } else { Vec::new() },
            test_accuracy: test.as_ref().map(|t| t.accuracy),
            test_macro_f1: test.as_ref().map(|t| t.macro_f1),
        });
        self.ctx.progress.message(&format!("epoch {epoch}: val macro-F1 {:.4}", val.macro_f1));
        if self.best_model.is_none() || val.macro_f1 > self.tally.best_macro_f1 {
            (self.tally.best_macro_f1, self.tally.best_epoch, self.best_model) = (val.macro_f1, epoch, Some(model));
        }
    }

    /// After an epoch's validation: the checkpoint, and whether early stopping ends the run.
    fn end_epoch(&mut self, epoch: usize) -> Result<Continue, TrainError> {
        if let Some(checkpoints) = self.checkpoints {
            let state = LoopState {
                format: crate::resume::FORMAT,
                identity: checkpoints.identity.clone(),
                settings: self.settings.clone(),
                tally: self.tally.clone(),
                train_seconds: self.train_seconds(),
                augment_word_pos: self.augment_rng.get_word_pos().to_string(),
                average_updates: self.average.as_ref().map(WeightAverage::updates),
                objective: self.objective.state(),
            };
            let best = self.best_model.as_ref().expect("an epoch ended");
            let average = self.average.as_ref().map(WeightAverage::model);
            checkpoints.save(&state, Tensors { module: &self.module, optimizer: &self.optimizer, best, average })?;
        }
        Ok(if self.patience_ran_out(epoch) { Continue::Stop } else { Continue::Go })
    }

    fn train_seconds(&self) -> f64 {
        self.earlier_seconds + self.started.elapsed().as_secs_f64()
    }

    /// The final selection: the head search picks and prunes the kept model on validation
    /// scores only; the test split (unless withheld) scores the result.
    fn finish(self) -> (Model, TrainOutcome) {
        let train_seconds = self.train_seconds();
        let (config, splits, device, classes) = (self.config, self.splits, self.ctx.device, self.splits.classes);
        let last_model = self.evaluated();
        // Stopped before the first epoch ended: the current state is all there is.
        let best_model = self.best_model.unwrap_or_else(|| last_model.clone());
        let scores = |m: &Model, epoch: usize| Scores {
            epoch,
            val: evaluate(m, &splits.val, classes, device),
            test: config.test_split.scored().then(|| evaluate(m, &splits.test, classes, device)),
        };
        let (kept, other) = match config.keep {
            Keep::Best => (best_model, last_model),
            Keep::Last => (last_model, best_model),
        };
        let (kept, search) = select(kept, &splits.val, classes, &config.search, device);
        let parameters = if search.is_some() { kept.trainable_params() } else { self.parameters };
        let (best_model, last_model) = match config.keep {
            Keep::Best => (&kept, &other),
            Keep::Last => (&other, &kept),
        };
        let tally = self.tally;
        let outcome = TrainOutcome {
            best: scores(best_model, tally.best_epoch),
            last: scores(last_model, tally.epoch),
            epochs_run: tally.epoch,
            parameters,
            train_seconds,
            samples_per_second: tally.trained_samples as f64 / train_seconds.max(1e-9),
            interrupted: self.interrupted,
            history: tally.history,
            pretrain_losses: tally.pretrain_losses,
            search,
        };
        (kept, outcome)
    }
}

/// One optimiser step of the network weights on `batch` (its `step`-th of the epoch): the loss,
/// a check that it is finite, and the gradients without the architecture weights, which learn
/// on validation batches instead. Returns the stepped module and the loss.
fn network_step<O: Objective>(
    objective: &mut O,
    module: O::Module,
    batch: &Batch,
    step: usize,
    optimizer: &mut ModuleOptimizer,
    lr: f64,
    arch_step: Option<&ArchStep>,
) -> Result<(O::Module, f64), TrainError> {
    let loss = objective.loss(&module, batch)?;
    let value = loss.clone().into_scalar::<f32>() as f64;
    if !value.is_finite() {
        return Err(TrainError::NonFinite { epoch: batch.epoch, step, value });
    }
    let mut grads = GradientsParams::from_grads(loss.backward(), &module);
    if let Some(arch) = arch_step {
        grads.remove::<1>(arch.param());
    }
    Ok((optimizer.step(lr, module, grads), value))
}

/// Metrics of `model` (in eval mode) on `set`, in batches.
pub fn evaluate(model: &Model, set: &SplitData, classes: usize, device: &Device) -> Metrics {
    let mut confusion = Confusion::new(classes);
    let rows: Vec<usize> = (0..set.len()).collect();
    for chunk in rows.chunks(256) {
        let (x, _) = set.batch(chunk, device);
        let predicted: Vec<i64> = model.forward(x).logits.argmax(1).try_into_vec_as::<i64>().expect("predictions read back");
        let truth: Vec<usize> = chunk.iter().map(|&r| set.y[r]).collect();
        confusion.add(&truth, &predicted.iter().map(|&p| p as usize).collect::<Vec<_>>());
    }
    confusion.metrics()
}
