//! Epoch checkpoints: the whole state of a training loop written after every epoch, so that a
//! run killed part-way (Ctrl-C, a session limit, `kill -9`, a dead node) continues from its
//! last finished epoch instead of starting over, and ends with the numbers it would have had
//! without the interruption (bit for bit: `tests/resume.rs`).
//!
//! What is saved: the optimised module and the optimiser's state (burnpack files), the
//! best-validation model, the weight average, and `state-<epoch>.json` (epoch, step, history,
//! the augmentation generator's position). Batch orders need no saving: each epoch's shuffle is
//! seeded by (seed, epoch) and is replayed. Random draws inside an epoch (dropout) come from the
//! device's generator, which [`crate::trainer::fit`] seeds from (seed, epoch) at the start of
//! every epoch after the first for that reason (epoch 1 initialises burn's lazy parameters).
//!
//! Files carry their epoch in their name and `state-<epoch>.json` is written last, atomically:
//! a kill between two writes leaves the previous epoch's state complete. Older files are removed
//! once a newer state is written.

use crate::trainer::EpochLog;
use crate::TrainError;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::optim::OptimizerRecord;
use harbench_common::fs::{write_atomic, write_atomic_with};
use harbench_models::Model;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where a run's epoch checkpoints go, and what they must match to be resumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochCheckpoints {
    /// A folder of this run's own (created when the first epoch ends).
    pub dir: PathBuf,
    /// Identifies the run's settings (a suite run's configuration hash): a checkpoint written
    /// under another identity is ignored, not resumed.
    pub identity: String,
}

/// What the training loop counts and remembers from epoch to epoch: the loop keeps it live and
/// a checkpoint saves it as it is, so a new piece of it is one new field here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    /// Main epochs finished.
    pub epoch: usize,
    pub step: usize,
    pub trained_samples: usize,
    pub history: Vec<EpochLog>,
    pub pretrain_losses: Vec<f64>,
    /// The best-validation model so far: its epoch and validation macro-F1.
    pub best_epoch: usize,
    pub best_macro_f1: f64,
    /// ReduceLROnPlateau's state, with `schedule: plateau`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plateau: Option<crate::optim::Plateau>,
}

/// The loop's state after an epoch, besides the tensors: the [`Tally`], and what the loop's
/// live objects (clock, generator, weight average, objective) say of themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoopState {
    /// Bumped when the layout changes; other versions are not resumed.
    pub format: u32,
    pub identity: String,
    /// The training settings, as JSON: resuming under other settings would mix two runs.
    pub settings: String,
    #[serde(flatten)]
    pub tally: Tally,
    /// Training seconds spent before this checkpoint (all attempts).
    pub train_seconds: f64,
    /// The augmentation generator's position (ChaCha8 word position, as a decimal string:
    /// JSON numbers do not hold 128 bits).
    pub augment_word_pos: String,
    /// Updates folded into the weight average (`None` without averaging).
    pub average_updates: Option<u64>,
    /// The objective's own state ([`crate::Objective::state`]; null for cross-entropy).
    #[serde(default)]
    pub objective: serde_json::Value,
}

impl LoopState {
    /// Training speed over the attempts so far (`None` before any timed training).
    pub fn samples_per_second(&self) -> Option<f64> {
        let samples = self.tally.trained_samples;
        (self.train_seconds > 0.0 && samples > 0).then(|| samples as f64 / self.train_seconds)
    }
}

/// The layout version [`LoopState::format`] must have to be resumed.
pub const FORMAT: u32 = 1;

/// What [`EpochCheckpoints::load`] hands back: the state and the saved tensors, still on disk.
pub struct Saved {
    pub state: LoopState,
    dir: PathBuf,
}

impl Saved {
    pub fn module<M: Module>(&self, module: M) -> Result<M, TrainError> {
        load_module(module, &self.dir.join(module_file(self.state.tally.epoch)))
    }

    pub fn optimizer(&self, optimizer: ModuleOptimizer) -> Result<ModuleOptimizer, TrainError> {
        let path = self.dir.join(optimizer_file(self.state.tally.epoch));
        let record = OptimizerRecord::load(&path).map_err(|e| checkpoint_error(&path, format!("{e:?}")))?;
        Ok(optimizer.load_record(record))
    }

    /// The best-validation model, loaded into `skeleton` (a model of the same architecture).
    pub fn best(&self, skeleton: Model) -> Result<Model, TrainError> {
        load_module(skeleton, &self.dir.join(best_file(self.state.tally.best_epoch)))
    }

    pub fn average(&self, skeleton: Model) -> Result<Model, TrainError> {
        load_module(skeleton, &self.dir.join(average_file(self.state.tally.epoch)))
    }
}

/// The tensors of an epoch's state, borrowed from the loop.
pub struct Tensors<'a, M> {
    pub module: &'a M,
    pub optimizer: &'a ModuleOptimizer,
    pub best: &'a Model,
    pub average: Option<&'a Model>,
}

impl EpochCheckpoints {
    /// The newest complete state in the folder, if it was written under `identity` and
    /// `settings`; `Ok(None)` when there is nothing to resume (or it is of other settings, which
    /// `skipped` is told about).
    pub fn load(&self, settings: &str, skipped: &dyn Fn(String)) -> Result<Option<Saved>, TrainError> {
        let Some(epoch) = self.states()?.into_iter().max() else { return Ok(None) };
        let path = self.dir.join(state_file(epoch));
        let text = std::fs::read_to_string(&path).map_err(|e| checkpoint_error(&path, e.to_string()))?;
        let state: LoopState = serde_json::from_str(&text).map_err(|e| checkpoint_error(&path, e.to_string()))?;
        if state.format != FORMAT || state.identity != self.identity || state.settings != settings {
            skipped(format!("{} was written by other settings or another harbench; starting over", path.display()));
            return Ok(None);
        }
        Ok(Some(Saved { state, dir: self.dir.clone() }))
    }

    /// The state a run would resume from, as far as the folder tells without the run's
    /// settings: the newest state, if it reads and was written under this identity.
    pub fn saved_state(&self) -> Option<LoopState> {
        let epoch = self.states().ok()?.into_iter().max()?;
        let text = std::fs::read_to_string(self.dir.join(state_file(epoch))).ok()?;
        let state: LoopState = serde_json::from_str(&text).ok()?;
        (state.format == FORMAT && state.identity == self.identity).then_some(state)
    }

    /// The epoch a run would resume after ([`Self::saved_state`]).
    pub fn saved_epoch(&self) -> Option<usize> {
        self.saved_state().map(|s| s.tally.epoch)
    }

    /// Writes the state after `state.tally.epoch`, then removes what older epochs left.
    pub fn save<M: Module>(&self, state: &LoopState, tensors: Tensors<M>) -> Result<(), TrainError> {
        let (epoch, best_epoch) = (state.tally.epoch, state.tally.best_epoch);
        save_module(tensors.module.clone(), &self.dir.join(module_file(epoch)))?;
        let path = self.dir.join(optimizer_file(epoch));
        write_atomic_with(&path, |tmp| tensors.optimizer.to_record().save(tmp).map_err(|e| format!("{e:?}")))
            .map_err(|e| checkpoint_error(&path, e.to_string()))?;
        let best = self.dir.join(best_file(best_epoch));
        if !best.exists() {
            save_module(tensors.best.clone(), &best)?;
        }
        if let Some(average) = tensors.average {
            save_module(average.clone(), &self.dir.join(average_file(epoch)))?;
        }
        let path = self.dir.join(state_file(epoch));
        let json = serde_json::to_vec_pretty(state).expect("loop state serialises");
        write_atomic(&path, &json).map_err(|e| checkpoint_error(&path, e.to_string()))?;
        self.remove_older(epoch, best_epoch);
        Ok(())
    }

    /// Removes the folder (the run ended and its result is written).
    pub fn clear(&self) -> std::io::Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Epochs that have a state file.
    fn states(&self) -> Result<Vec<usize>, TrainError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(checkpoint_error(&self.dir, e.to_string())),
        };
        Ok(entries.flatten().filter_map(|e| epoch_of(&e.file_name().to_string_lossy(), "state-", ".json")).collect())
    }

    /// Best-effort: a file left behind costs disk, not correctness (states name their files).
    fn remove_older(&self, epoch: usize, best_epoch: usize) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let keep = match name.strip_prefix("best-") {
                Some(_) => epoch_of(&name, "best-", ".bpk") == Some(best_epoch),
                None => ["state-", "module-", "optimizer-", "average-"]
                    .iter()
                    .find_map(|prefix| epoch_of(&name, prefix, if *prefix == "state-" { ".json" } else { ".bpk" }))
                    .is_none_or(|e| e >= epoch),
            };
            if !keep {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

fn epoch_of(name: &str, prefix: &str, suffix: &str) -> Option<usize> {
    name.strip_prefix(prefix)?.strip_suffix(suffix)?.parse().ok()
}

fn state_file(epoch: usize) -> String {
    format!("state-{epoch}.json")
}
fn module_file(epoch: usize) -> String {
    format!("module-{epoch}.bpk")
}
fn optimizer_file(epoch: usize) -> String {
    format!("optimizer-{epoch}.bpk")
}
fn best_file(epoch: usize) -> String {
    format!("best-{epoch}.bpk")
}
fn average_file(epoch: usize) -> String {
    format!("average-{epoch}.bpk")
}

fn save_module<M: Module>(module: M, path: &Path) -> Result<(), TrainError> {
    write_atomic_with(path, |tmp| module.save_file(tmp).map_err(|e| format!("{e:?}"))).map_err(|e| checkpoint_error(path, e.to_string()))
}

fn load_module<M: Module>(module: M, path: &Path) -> Result<M, TrainError> {
    module.try_load_file(path).map_err(|e| checkpoint_error(path, format!("{e:?}")))
}

fn checkpoint_error(path: &Path, message: String) -> TrainError {
    TrainError::Checkpoint { path: path.display().to_string(), message }
}
