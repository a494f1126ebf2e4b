//! What one run produces, as typed data: the dataset and split it saw, the training outcome,
//! the teacher, the distillation, the cost profile and the environment. The suite's results
//! store writes it inside each record; `report` and `diff` read its fields.

use harbench_cost::Profile;
use harbench_distill::Mix;
use harbench_train::TrainOutcome;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// Teacher-store key (sha256 of what defines the teacher); for a teacher loaded from a
    /// checkpoint, the checkpoint's path.
    pub store_key: String,
    /// True when the store already held it (or it came from a checkpoint).
    pub reused: bool,
    /// The kept teacher's test scores; absent when its training withheld the test split (or a
    /// checkpoint carried no scores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_accuracy: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_macro_f1: Option<f64>,
}

/// What the distillation method was and what its terms weighed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistillationInfo {
    pub method: String,
    pub mix: Mix,
    /// The method's resolved hyper-parameters.
    pub params: serde_json::Value,
    /// Parameters of the training-only parts (not part of the student).
    pub part_parameters: usize,
    /// Mean of each weighted loss term over the main-stage batches.
    pub terms: BTreeMap<String, f64>,
    /// What the teacher-output cache held and served (absent: none, e.g. with augmentation,
    /// or a record written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teacher_cache: Option<harbench_distill::teacher_cache::CacheStats>,
}

/// The cost profile of the trained model, or why there is none. A failed profile never fails
/// the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Cost {
    Profiled(Box<Profile>),
    Failed {
        error: String,
    },
    /// The run asked for no profile.
    Skipped,
}

impl Cost {
    pub fn profile(&self) -> Option<&Profile> {
        match self {
            Cost::Profiled(p) => Some(p),
            _ => None,
        }
    }
}

impl PartialEq for Cost {
    /// Profiles hold timings, which never repeat: two costs are equal when their kind is.
    fn eq(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

/// What a run that trained returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOutput {
    pub dataset: DatasetInfo,
    pub split: SplitInfo,
    pub outcome: TrainOutcome,
    pub teacher: Option<TeacherInfo>,
    pub distillation: Option<DistillationInfo>,
    pub cost: Cost,
    /// What produced the numbers (absent only in records of schema 1).
    #[serde(default)]
    pub environment: Option<crate::Environment>,
}
