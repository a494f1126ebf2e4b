//! The training loop: AdamW with warm-up and cosine decay, cross-entropy with optional label
//! smoothing, early stopping on validation macro-F1, the best-validation model kept, and a stop
//! flag (Ctrl-C) that ends the run early with a usable checkpoint.

use crate::batches::SplitData;
use crate::config::{learning_rate, Keep, TrainConfig, ValidTrainConfig};
use crate::ema::WeightAverage;
use crate::metrics::{Confusion, Metrics};
use crate::optim::{torch_adam, Plateau, Schedule};
use crate::resume::{EpochCheckpoints, LoopState, Tensors};
use crate::search::{select, ArchStep, SearchReport};
use crate::TrainError;
use burn::module::Module;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor};
use harbench_data::cache::Prepared;
use harbench_data::progress::Progress;
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
    /// Normalises with statistics of `fold.train` only; checks there is a batch to train on.
    pub fn new(data: &Prepared, fold: &Fold, config: &TrainConfig) -> Result<Self, TrainError> {
        config.validate()?;
        if fold.train.len() < config.batch_size || fold.val.is_empty() {
            return Err(TrainError::Data(format!(
                "fold '{}' has {} training and {} validation windows; need at least one batch ({}) and one validation window",
                fold.name,
                fold.train.len(),
                fold.val.len(),
                config.batch_size
            )));
        }
        let normalizer = Normalizer::fit(&data.windows, &fold.train);
        Ok(Splits {
            train: SplitData::new(data, &fold.train, &normalizer),
            val: SplitData::new(data, &fold.val, &normalizer),
            test: SplitData::new(data, &fold.test, &normalizer),
            classes: data.meta.classes.len(),
            normalizer,
        })
    }
}

/// Trains `model_config` on `fold` of `data` with cross-entropy; with `checkpoints`, the state
/// after each epoch is written there and a run killed part-way continues from it.
#[allow(clippy::too_many_arguments)]
pub fn train(
    model_config: &ModelConfig,
    data: &Prepared,
    fold: &Fold,
    config: &ValidTrainConfig,
    device: &Device,
    progress: &dyn Progress,
    stop: &AtomicBool,
    checkpoints: Option<&EpochCheckpoints>,
) -> Result<Trained, TrainError> {
    model_config
        .check_input(model_config.kind(), data.windows.channels, data.windows.length)
        .map_err(|e| TrainError::Data(e.to_string()))?;
    let splits = Splits::new(data, fold, config)?;
    device.seed(config.seed);
    let train_device = device.clone().autodiff();
    let model = model_config.build(splits.train.channels, splits.classes, &train_device);
    let mut objective = CrossEntropy::new(config.label_smoothing, &train_device);
    let (model, outcome) = fit(model, &mut objective, &splits, config, device, progress, stop, checkpoints)?;
    Ok(Trained { model, normalizer: splits.normalizer, outcome })
}

/// The training loop for any [`Objective`]: `module` must live on `device`'s autodiff twin.
/// Returns the best-validation student (eval mode, plain device) and the outcome. With
/// `checkpoints` (and an objective that is [`Objective::resumable`], without a head search),
/// the loop's state is saved after every epoch and a saved state is resumed from.
///
/// With several rayon threads, call it on one of rayon's workers
/// ([`harbench_models::device::on_worker_thread`], as the binary does): the same numbers,
/// fewer thread hand-offs.
#[allow(clippy::too_many_arguments)]
pub fn fit<O: Objective>(
    mut module: O::Module,
    objective: &mut O,
    splits: &Splits,
    config: &ValidTrainConfig,
    device: &Device,
    progress: &dyn Progress,
    stop: &AtomicBool,
    checkpoints: Option<&EpochCheckpoints>,
) -> Result<(Model, TrainOutcome), TrainError> {
    let train_device = device.clone().autodiff();
    let (train_set, val_set, test_set, classes) = (&splits.train, &splits.val, &splits.test, splits.classes);
    if train_set.len() < config.batch_size {
        return Err(TrainError::Data(format!("{} training windows do not fill one batch of {}", train_set.len(), config.batch_size)));
    }
    // Trainable parameters only (burn's num_params also counts batch-norm running statistics).
    let parameters = objective.student(&module).trainable_params();
    let new_optimizer = || config.optimizer.build(config.weight_decay);

    // Incomplete last batches are dropped: batch normalisation needs more than one sample.
    let steps_per_epoch = train_set.len() / config.batch_size;
    let total_steps = steps_per_epoch * config.epochs;
    let warmup_steps = steps_per_epoch * config.warmup_epochs;
    let mut order: Vec<usize> = (0..train_set.len()).collect();
    let mut history = Vec::new();
    let mut pretrain_losses = Vec::new();
    let mut best: Option<(f64, usize, Model)> = None;
    let mut interrupted = false;
    let started = Instant::now();
    let mut step = 0;
    let mut trained_samples = 0usize;
    let mut epochs_run = 0;
    let mut augment_rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0xA5A5_5A5A);
    // Several heads: their mixture weights learn on validation batches, between network steps.
    let mut arch_step = ArchStep::new(objective.student(&module), &config.search, config.batch_size, device);
    // Resuming needs every piece of state kept between batches on disk; the head search's own
    // optimiser is not saved.
    let checkpoints = checkpoints.filter(|_| objective.resumable() && arch_step.is_none());
    let settings = format!("{}; {parameters} trainable parameters", serde_json::to_string(config).expect("settings serialise"));
    let saved = match checkpoints {
        Some(c) => c.load(&settings, &|why| progress.message(&why))?,
        None => None,
    };

    // Pre-training epochs: own optimiser state and a constant learning rate; batch order is
    // seeded apart from the main epochs so that adding a stage does not reorder them.
    // A saved state holds the pre-trained module.
    let pretrain = if saved.is_some() { 0 } else { objective.pretrain_epochs() };
    let pretrain_optimizer = objective.pretrain_optimizer();
    let mut optimizer = new_optimizer();
    for epoch in 1..=pretrain {
        let pretrain_lr = match pretrain_optimizer {
            PretrainOptimizer::Run => config.lr,
            PretrainOptimizer::AdamPerPhase { lr, phase_epochs } => {
                if (epoch - 1) % phase_epochs.max(1) == 0 {
                    optimizer = torch_adam();
                }
                lr
            }
        };
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(config.seed.wrapping_mul(1_000_033).wrapping_add(epoch as u64 + (1 << 40))));
        progress.start(&format!("pre-training {epoch}/{pretrain}"), Some(steps_per_epoch as u64));
        let mut loss_sum = 0.0;
        for (b, rows) in order.chunks_exact(config.batch_size).enumerate() {
            if stop.load(Ordering::Relaxed) {
                interrupted = true;
                break;
            }
            let (x, y) = train_set.batch(rows, &train_device);
            let batch = Batch { x, y, rows, epoch, stage: Stage::Pretrain };
            let value;
            (module, value) = network_step(objective, module, &batch, b + 1, &mut optimizer, pretrain_lr, arch_step.as_ref())?;
            loss_sum += value;
            progress.advance(1);
        }
        progress.finish();
        if interrupted {
            break;
        }
        pretrain_losses.push(loss_sum / steps_per_epoch as f64);
        progress.message(&format!("pre-training {epoch}: loss {:.4}", loss_sum / steps_per_epoch as f64));
    }
    let mut optimizer = new_optimizer();
    order = (0..train_set.len()).collect();
    // With weight averaging, the average is what is validated, kept and returned.
    let mut average = (config.ema_decay > 0.0).then(|| WeightAverage::new(objective.student(&module).valid(), config.ema_decay));
    let evaluated = |module: &O::Module, average: &Option<WeightAverage>, objective: &O| match average {
        Some(average) => average.model().clone(),
        None => objective.student(module).valid(),
    };
    let shuffle = |order: &mut Vec<usize>, epoch: usize| {
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(config.seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64)))
    };
    // Early stopping: `patience` epochs without a better validation score than `best_epoch`'s.
    let patience_ran_out = |epoch: usize, best_epoch: usize| config.patience.is_some_and(|p| epoch - best_epoch >= p);
    let mut first_epoch = 1;
    let mut earlier_seconds = 0.0;
    let mut plateau = (config.schedule == Schedule::Plateau).then(|| Plateau::new(config.lr));
    if let Some(saved) = &saved {
        let state = &saved.state;
        module = saved.module(module)?;
        optimizer = saved.optimizer(optimizer)?;
        // Loading writes batch-norm running statistics into their cells in place, and clones
        // share those cells: each loaded model gets a `valid()` copy of its own.
        let skeleton = || objective.student(&module).valid();
        if let Some(average) = average.as_mut() {
            *average = WeightAverage::resume(saved.average(skeleton())?, config.ema_decay, state.average_updates.unwrap_or(0));
        }
        best = Some((state.best_macro_f1, state.best_epoch, saved.best(skeleton())?));
        history = state.history.clone();
        pretrain_losses = state.pretrain_losses.clone();
        (step, trained_samples, epochs_run, earlier_seconds) = (state.step, state.trained_samples, state.epoch, state.train_seconds);
        let word_pos = state.augment_word_pos.parse().map_err(|_| TrainError::Checkpoint {
            path: checkpoints.map(|c| c.dir.display().to_string()).unwrap_or_default(),
            message: format!("augment_word_pos '{}' is not a number", state.augment_word_pos),
        })?;
        augment_rng.set_word_pos(word_pos);
        if plateau.is_some() {
            plateau = Some(state.plateau.ok_or_else(|| TrainError::Checkpoint {
                path: checkpoints.map(|c| c.dir.display().to_string()).unwrap_or_default(),
                message: "the saved state has no plateau schedule state".into(),
            })?);
        }
        objective.restore(&state.objective).map_err(|message| TrainError::Checkpoint {
            path: checkpoints.map(|c| c.dir.display().to_string()).unwrap_or_default(),
            message: format!("the objective's saved state: {message}"),
        })?;
        // Each epoch shuffles the previous epoch's order: replay them.
        for epoch in 1..=state.epoch {
            shuffle(&mut order, epoch);
        }
        first_epoch = state.epoch + 1;
        // Saved by a run that early stopping ended (killed before its result was written).
        if patience_ran_out(state.epoch, state.best_epoch) {
            first_epoch = config.epochs + 1;
        }
        progress.message(&format!("resuming after epoch {} of {} (saved state)", state.epoch, config.epochs));
    }

    'epochs: for epoch in first_epoch..=config.epochs {
        if interrupted {
            break;
        }
        shuffle(&mut order, epoch);
        // Dropout draws from the device's generator: seeding it per epoch makes an epoch's draws
        // independent of the epochs before it, so a resumed run draws what an unbroken one does.
        // Not before epoch 1: burn initialises parameters lazily, at their first use in epoch
        // 1's first forward pass, from the generator as the run's seed left it. (A resumed run
        // loads its parameters, and starts at epoch 2 or later.)
        if epoch > 1 {
            device.seed(config.seed.wrapping_mul(1_000_039).wrapping_add(epoch as u64 + (1 << 42)));
        }
        progress.start(&format!("epoch {epoch}/{}", config.epochs), Some(steps_per_epoch as u64));
        let epoch_start = Instant::now();
        let mut loss_sum = 0.0;
        let mut last_loss = 0.0;
        for (b, rows) in order.chunks_exact(config.batch_size).enumerate() {
            if stop.load(Ordering::Relaxed) {
                interrupted = true;
                break 'epochs;
            }
            let (x, y) = train_set.augmented_batch(rows, &train_device, config.augment_scale, config.augment_jitter, &mut augment_rng);
            let batch = Batch { x, y, rows, epoch, stage: Stage::Main };
            let lr = match &plateau {
                Some(plateau) => plateau.lr,
                None => learning_rate(config.lr, step, warmup_steps, total_steps),
            };
            let value;
            (module, value) = network_step(objective, module, &batch, b + 1, &mut optimizer, lr, arch_step.as_ref())?;
            last_loss = value;
            if let Some(arch) = arch_step.as_mut() {
                let objective = &*objective;
                module = arch.step(module, |m: &O::Module| objective.student(m), val_set, config.search.arch_lr, device);
            }
            if let Some(average) = average.as_mut() {
                average.update(&objective.student(&module).valid());
            }
            loss_sum += value;
            step += 1;
            trained_samples += rows.len();
            progress.advance(1);
            if b % 10 == 0 {
                let speed = (b + 1) as f64 * config.batch_size as f64 / epoch_start.elapsed().as_secs_f64();
                progress.message(&format!("epoch {epoch}/{} loss {:.4} {:.0} samples/s", config.epochs, loss_sum / (b + 1) as f64, speed));
            }
        }
        progress.finish();
        epochs_run = epoch;
        // The authors step ReduceLROnPlateau with the epoch's last batch loss (ignite's
        // `engine.state.output`), not a validation score.
        if let Some(plateau) = plateau.as_mut() {
            plateau.step(last_loss, &config.plateau);
        }
        let eval_model = evaluated(&module, &average, objective);
        let val = evaluate(&eval_model, val_set, classes, device);
        let test = config.test_every_epoch.then(|| evaluate(&eval_model, test_set, classes, device));
        history.push(EpochLog {
            epoch,
            train_loss: loss_sum / steps_per_epoch as f64,
            val_accuracy: val.accuracy,
            val_macro_f1: val.macro_f1,
            samples_per_second: (steps_per_epoch * config.batch_size) as f64 / epoch_start.elapsed().as_secs_f64(),
            head_weights: if arch_step.is_some() { eval_model.classifier().weights() } else { Vec::new() },
            test_accuracy: test.as_ref().map(|t| t.accuracy),
            test_macro_f1: test.as_ref().map(|t| t.macro_f1),
        });
        progress.message(&format!("epoch {epoch}: val macro-F1 {:.4}", val.macro_f1));
        if best.as_ref().is_none_or(|(f1, _, _)| val.macro_f1 > *f1) {
            best = Some((val.macro_f1, epoch, eval_model));
        }
        let (best_macro_f1, best_epoch, best_model) = best.as_ref().expect("an epoch ended");
        if let Some(checkpoints) = checkpoints {
            let state = LoopState {
                format: crate::resume::FORMAT,
                identity: checkpoints.identity.clone(),
                settings: settings.clone(),
                epoch,
                step,
                trained_samples,
                train_seconds: earlier_seconds + started.elapsed().as_secs_f64(),
                history: history.clone(),
                pretrain_losses: pretrain_losses.clone(),
                best_epoch: *best_epoch,
                best_macro_f1: *best_macro_f1,
                augment_word_pos: augment_rng.get_word_pos().to_string(),
                average_updates: average.as_ref().map(WeightAverage::updates),
                objective: objective.state(),
                plateau,
            };
            let average = average.as_ref().map(WeightAverage::model);
            checkpoints.save(&state, Tensors { module: &module, optimizer: &optimizer, best: best_model, average })?;
        }
        let best_epoch = *best_epoch;
        if patience_ran_out(epoch, best_epoch) {
            break;
        }
    }
    let train_seconds = earlier_seconds + started.elapsed().as_secs_f64();
    let last_model = evaluated(&module, &average, objective);
    let (_, best_epoch, best_model) = match best {
        Some(b) => b,
        // Stopped before the first epoch ended: the current state is all there is.
        None => (0.0, 0, last_model.clone()),
    };
    let scores = |m: &Model, epoch: usize| Scores {
        epoch,
        val: evaluate(m, val_set, classes, device),
        test: config.test_split.scored().then(|| evaluate(m, test_set, classes, device)),
    };
    // The head search picks and prunes the kept model on validation scores only; the test set
    // scores the result.
    let (best_model, last_model, search) = match config.keep {
        Keep::Best => {
            let (best_model, search) = select(best_model, val_set, classes, &config.search, device);
            (best_model, last_model, search)
        }
        Keep::Last => {
            let (last_model, search) = select(last_model, val_set, classes, &config.search, device);
            (best_model, last_model, search)
        }
    };
    let kept = match config.keep {
        Keep::Best => &best_model,
        Keep::Last => &last_model,
    };
    let parameters = if search.is_some() { kept.trainable_params() } else { parameters };
    let outcome = TrainOutcome {
        best: scores(&best_model, best_epoch),
        last: scores(&last_model, epochs_run),
        epochs_run,
        parameters,
        train_seconds,
        samples_per_second: trained_samples as f64 / train_seconds.max(1e-9),
        interrupted,
        history,
        pretrain_losses,
        search,
    };
    let kept = match config.keep {
        Keep::Best => best_model,
        Keep::Last => last_model,
    };
    Ok((kept, outcome))
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
