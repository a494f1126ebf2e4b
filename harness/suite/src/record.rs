//! What one run leaves behind: the executor's output and the record written to the store.

use crate::gitinfo::GitInfo;
use crate::plan::RunSpec;
use harbench_train::trainer::Scores;
use serde::{Deserialize, Serialize};

/// Version of the record layout; bumped when a field changes meaning. 2: the run's output is
/// typed (`distillation`, `cost`, `environment` instead of an untyped `extra`).
pub const RECORD_SCHEMA: u32 = 2;

pub use harbench_run::record::{Cost, DatasetInfo, DistillationInfo, RunOutput, SplitInfo, TeacherInfo};
pub use harbench_run::Environment;

/// Why a record file cannot be read as a [`RunRecord`].
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("record schema {found} is newer than this harbench reads ({RECORD_SCHEMA}); use a newer harbench")]
    NewerSchema { found: u64 },
    #[error("record schema {schema}: {message}")]
    Fields { schema: u64, message: String },
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
    /// Absent when the run withheld the test split (`train: {test_split: withheld}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_accuracy: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_macro_f1: Option<f64>,
}

impl Headline {
    /// The epoch of `history` with the highest test accuracy (the first of equals), when every
    /// epoch was scored on the test split.
    pub fn best_test(history: &[harbench_train::trainer::EpochLog]) -> Option<Self> {
        let mut best: Option<(&harbench_train::trainer::EpochLog, f64)> = None;
        for h in history {
            let accuracy = h.test_accuracy?;
            if best.is_none_or(|(_, a)| accuracy > a) {
                best = Some((h, accuracy));
            }
        }
        best.map(|(h, accuracy)| Headline {
            epoch: h.epoch,
            val_accuracy: h.val_accuracy,
            val_macro_f1: h.val_macro_f1,
            test_accuracy: Some(accuracy),
            test_macro_f1: h.test_macro_f1,
        })
    }

    pub fn of(s: &Scores) -> Self {
        Headline {
            epoch: s.epoch,
            val_accuracy: s.val.accuracy,
            val_macro_f1: s.val.macro_f1,
            test_accuracy: s.test.as_ref().map(|m| m.accuracy),
            test_macro_f1: s.test.as_ref().map(|m| m.macro_f1),
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
    /// The epoch with the best test accuracy, when the run scored every epoch on the test split
    /// (`test_every_epoch`): the SMLDist authors' selection, a diagnostic that nothing chooses by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_test: Option<Headline>,
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

    /// The cost profile of the run's model, when it has one.
    pub fn profile(&self) -> Option<&harbench_cost::Profile> {
        self.output.as_ref().and_then(|o| o.cost.profile())
    }

    /// A record from its JSON text. Records of schema 1 (an untyped `extra` beside the output)
    /// are read by moving `extra.distillation` and `extra.cost` into their typed fields; a
    /// schema newer than this build is refused.
    pub fn parse(text: &str) -> Result<RunRecord, RecordError> {
        let mut value: serde_json::Value = serde_json::from_str(text).map_err(|e| RecordError::Json(e.to_string()))?;
        let schema = value.get("schema").and_then(|s| s.as_u64()).unwrap_or(1);
        if schema > RECORD_SCHEMA as u64 {
            return Err(RecordError::NewerSchema { found: schema });
        }
        if schema == 1 {
            if let Some(output) = value.get_mut("output").and_then(|o| o.as_object_mut()) {
                upgrade_output_v1(output);
            }
        }
        serde_json::from_value(value).map_err(|e| RecordError::Fields { schema, message: e.to_string() })
    }
}

/// Schema 1 kept the distillation facts and the cost profile as untyped JSON in `extra`.
fn upgrade_output_v1(output: &mut serde_json::Map<String, serde_json::Value>) {
    use serde_json::{json, Value};
    let extra = output.remove("extra").unwrap_or(Value::Null);
    output.insert("distillation".into(), extra.get("distillation").cloned().unwrap_or(Value::Null));
    let cost = match extra.get("cost") {
        None | Some(Value::Null) => json!({ "status": "skipped" }),
        Some(c) if c.get("error").is_some() => json!({ "status": "failed", "error": c["error"] }),
        Some(c) => {
            let mut profiled = c.clone();
            profiled["status"] = json!("profiled");
            match serde_json::from_value::<Cost>(profiled.clone()) {
                Ok(_) => profiled,
                Err(e) => json!({ "status": "failed", "error": format!("a schema-1 profile this harbench cannot read: {e}") }),
            }
        }
    };
    output.insert("cost".into(), cost);
}

#[cfg(test)]
mod tests {
    use super::*;
    use harbench_train::trainer::EpochLog;

    fn epoch(epoch: usize, test_accuracy: Option<f64>) -> EpochLog {
        EpochLog {
            epoch,
            train_loss: 1.0,
            val_accuracy: 0.5 + epoch as f64 / 100.0,
            val_macro_f1: 0.4,
            samples_per_second: 1.0,
            head_weights: vec![],
            test_accuracy,
            test_macro_f1: test_accuracy.map(|a| a - 0.1),
        }
    }

    #[test]
    fn best_test_is_the_first_epoch_of_highest_test_accuracy_and_needs_every_epoch_scored() {
        let history = [epoch(1, Some(0.7)), epoch(2, Some(0.9)), epoch(3, Some(0.9)), epoch(4, Some(0.8))];
        let h = Headline::best_test(&history).unwrap();
        assert_eq!((h.epoch, h.test_accuracy, h.val_accuracy), (2, Some(0.9), 0.52));
        assert!(Headline::best_test(&[epoch(1, None)]).is_none(), "a run without per-epoch test scores");
        assert!(Headline::best_test(&[]).is_none());
    }
}
