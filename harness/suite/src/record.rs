//! What one run leaves behind: the executor's output and the record written to the store.

use crate::gitinfo::GitInfo;
use crate::plan::RunSpec;
use harbench_train::trainer::Scores;
use harbench_train::TrainOutcome;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the record layout; bumped when a field changes meaning.
pub const RECORD_SCHEMA: u32 = 1;

/// The data a run saw, identified down to the bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    pub id: String,
    /// Hash of the prepared cache (resolved windowing config + source checksums).
    pub cache_hash: String,
    pub source_checksums: BTreeMap<String, String>,
    /// The resolved windowing config, as the cache stores it.
    pub prepare: serde_json::Value,
    pub windows: usize,
    pub classes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitInfo {
    pub protocol: String,
    pub fold: String,
    pub test_subjects: Vec<u32>,
    pub val_subjects: Vec<u32>,
    pub leaky: bool,
    /// Windows in train / val / test.
    pub sizes: [usize; 3],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeacherInfo {
    /// Teacher-store key (sha256 of what defines the teacher).
    pub store_key: String,
    /// True when the store already held it.
    pub reused: bool,
    pub test_accuracy: f64,
    pub test_macro_f1: f64,
}

/// What an [`Executor`](crate::runner::Executor) returns for a run that trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOutput {
    pub dataset: DatasetInfo,
    pub split: SplitInfo,
    pub outcome: TrainOutcome,
    pub teacher: Option<TeacherInfo>,
    /// Method-specific facts worth keeping (e.g. a searched head and its candidate scores).
    #[serde(default)]
    pub extra: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Finished,
    Failed,
}

/// The headline numbers of one checkpoint, copied out of the outcome for readers of the JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    pub epoch: usize,
    pub val_accuracy: f64,
    pub val_macro_f1: f64,
    pub test_accuracy: f64,
    pub test_macro_f1: f64,
}

impl Headline {
    pub fn of(s: &Scores) -> Self {
        Headline {
            epoch: s.epoch,
            val_accuracy: s.val.accuracy,
            val_macro_f1: s.val.macro_f1,
            test_accuracy: s.test.accuracy,
            test_macro_f1: s.test.macro_f1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Unix seconds.
    pub started: f64,
    pub finished: f64,
    pub wall_seconds: f64,
    pub train_seconds: Option<f64>,
    pub samples_per_second: Option<f64>,
}

/// One file of the results store: `results/<suite>/<commit>/<machine>/<key>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub schema: u32,
    pub key: String,
    pub suite: String,
    pub status: Status,
    /// Why a failed run failed (the error chain).
    pub failure: Option<String>,
    pub config_hash: String,
    /// The fully resolved run: dataset, model, method, split, seeds, training settings, teacher.
    pub config: RunSpec,
    /// The resolved architecture (absent when the run failed before building it).
    pub model_config: Option<serde_json::Value>,
    pub best: Option<Headline>,
    pub last: Option<Headline>,
    pub parameters: Option<usize>,
    /// True when the run's time budget cut training short.
    pub budget_exhausted: bool,
    /// Failed because this build lacks the run's method or model.
    #[serde(default)]
    pub unavailable: bool,
    pub output: Option<RunOutput>,
    pub timings: Timings,
    pub git: GitInfo,
    /// Machine folder name; its details are in `machine.json` beside the record.
    pub machine: String,
    pub harbench_version: String,
}

impl RunRecord {
    pub fn finished(&self) -> bool {
        self.status == Status::Finished
    }
}
