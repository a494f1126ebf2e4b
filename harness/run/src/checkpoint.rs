//! A trained model on disk: its weights (`.bpk`) and a JSON report beside them with the resolved
//! settings, so that the checkpoint can be reused as a teacher (`--teacher-checkpoint`) and
//! refused when it was trained on another dataset, preparation or split.

use crate::{Environment, Executed, RunError, RunRequest};
use burn::module::Module;
use burn::tensor::Device;
use harbench_common::fs::{write_atomic, write_atomic_with, FileError};
use harbench_data::cache::Prepared;
use harbench_data::split::{Fold, Normalizer};
use harbench_distill::{Mix, Shapes, Teacher};
use harbench_models::{Model, ModelConfig};
use harbench_train::{DeviceChoice, Task, TrainOutcome, ValidTrainConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The split a checkpoint was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportSplit {
    pub protocol: String,
    pub fold: String,
    pub test_subjects: Vec<u32>,
    pub val_subjects: Vec<u32>,
    pub leaky: bool,
}

/// How a distilled checkpoint was distilled.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DistillationReport {
    pub method: String,
    pub mix: Mix,
    pub params: serde_json::Value,
    pub part_parameters: usize,
    pub terms: BTreeMap<String, f64>,
    pub teacher_name: String,
    pub teacher_checkpoint: Option<PathBuf>,
    pub teacher_scores: Teacher,
    pub teacher_outcome: Option<TrainOutcome>,
    pub student_shapes: Shapes,
    pub teacher_shapes: Shapes,
}

/// The JSON report beside a checkpoint (the layout `harbench train` has always written; fields
/// added later are optional so that older reports still read).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainReport {
    pub dataset: String,
    pub dataset_config: serde_json::Value,
    pub dataset_config_hash: String,
    pub source_checksums: BTreeMap<String, String>,
    pub split: ReportSplit,
    pub model_name: String,
    /// The exported architecture (a head search may have pruned heads).
    pub model: ModelConfig,
    pub train: Option<ValidTrainConfig>,
    pub normalizer: Normalizer,
    pub checkpoint: PathBuf,
    #[serde(default)]
    pub device: DeviceChoice,
    pub harbench_version: String,
    pub outcome: Option<TrainOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distillation: Option<DistillationReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
}

impl TrainReport {
    /// The report of a model trained on the task (its fold of its data, with its settings),
    /// to be saved as `json_path`.
    pub fn new(
        json_path: &Path,
        task: Task,
        split_protocol: String,
        model_name: &str,
        model: &ModelConfig,
        normalizer: &Normalizer,
        device: DeviceChoice,
    ) -> Self {
        let Task { data, fold, config: train } = task;
        TrainReport {
            dataset: data.meta.config.dataset.clone(),
            dataset_config: serde_json::to_value(&data.meta.config).expect("plain data serialises"),
            dataset_config_hash: data.meta.config_hash.clone(),
            source_checksums: data.meta.source_checksums.clone(),
            split: ReportSplit {
                protocol: split_protocol,
                fold: fold.name.clone(),
                test_subjects: fold.test_subjects.clone(),
                val_subjects: fold.val_subjects.clone(),
                leaky: fold.leaky,
            },
            model_name: model_name.to_string(),
            model: model.clone(),
            train: Some(train.clone()),
            normalizer: normalizer.clone(),
            checkpoint: json_path.with_extension("bpk"),
            device,
            harbench_version: env!("CARGO_PKG_VERSION").to_string(),
            outcome: None,
            distillation: None,
            environment: None,
        }
    }
}

/// Writes the weights (`path` with .bpk) and then the report (`path`), each atomically: a
/// report exists only beside complete weights.
pub fn save(model: &Model, report: &TrainReport, path: &Path) -> Result<(), FileError> {
    let weights = path.with_extension("bpk");
    write_atomic_with(&weights, |tmp| model.clone().save_file(tmp).map_err(|e| format!("{e:?}")))?;
    let text = serde_json::to_string_pretty(report).expect("plain data serialises");
    write_atomic(path, text.as_bytes())
}

/// Saves what `executed` trained as `path` (report) and its .bpk (weights), named `model_name`;
/// an in-process teacher goes beside them as `<path stem>.teacher.json/.bpk`, reusable as a
/// `--teacher-checkpoint`. Returns the teacher's report path when one was written.
pub fn save_executed(executed: &Executed, request: &RunRequest, model_name: &str, path: &Path) -> Result<Option<PathBuf>, FileError> {
    let protocol = request.split.protocol.to_string();
    let report = |json: &Path, name: &str, config: &ModelConfig, train: &ValidTrainConfig, normalizer: &Normalizer| {
        let task = Task { data: &executed.data, fold: &executed.fold, config: train };
        TrainReport::new(json, task, protocol.clone(), name, config, normalizer, request.device)
    };
    let mut teacher_path = None;
    if let Some(t) = executed.teacher.as_ref().filter(|t| t.checkpoint.is_none()) {
        let json = path.with_extension("teacher.json");
        let mut r = report(&json, &t.name, &t.config, t.train.as_ref().unwrap_or(&request.train), &t.normalizer);
        r.outcome = t.outcome.clone();
        save(&t.model, &r, &json)?;
        teacher_path = Some(json);
    }
    let mut r = report(path, model_name, &executed.model_config, &request.train, &executed.normalizer);
    r.outcome = Some(executed.output.outcome.clone());
    r.environment = executed.output.environment.clone();
    if let (Some(d), Some(t)) = (&executed.distilled, &executed.teacher) {
        r.distillation = Some(DistillationReport {
            method: d.method.clone(),
            mix: d.mix,
            params: d.params.clone(),
            part_parameters: d.part_parameters,
            terms: d.terms.clone(),
            teacher_name: t.name.clone(),
            teacher_checkpoint: t.checkpoint.clone(),
            teacher_scores: d.teacher.clone(),
            teacher_outcome: t.outcome.clone(),
            student_shapes: d.student_shapes.clone(),
            teacher_shapes: d.teacher_shapes.clone(),
        });
    }
    save(&executed.model, &r, path)?;
    Ok(teacher_path)
}

/// The report beside the checkpoint `path` (.bpk → .json).
pub fn read_report(path: &Path) -> Result<TrainReport, RunError> {
    let report_path = path.with_extension("json");
    let fail = |message: String| RunError::Teacher { path: path.to_path_buf(), message };
    let text = std::fs::read_to_string(&report_path).map_err(|e| fail(format!("reading its report {}: {e}", report_path.display())))?;
    serde_json::from_str(&text).map_err(|e| fail(format!("its report {} is not a harbench train report: {e}", report_path.display())))
}

/// A teacher from `path` (.bpk) and the report beside it; refuses one trained on another
/// dataset, preparation or split, whose training windows could include this run's test subjects.
pub fn load_teacher(
    path: &Path,
    data: &Prepared,
    dataset: &str,
    fold: &Fold,
    normalizer: &Normalizer,
    device: &Device,
) -> Result<(Model, TrainReport), RunError> {
    let report = read_report(path)?;
    let fail = |message: String| RunError::Teacher { path: path.to_path_buf(), message };
    let mismatch = |what: &str, theirs: &dyn std::fmt::Debug, ours: &dyn std::fmt::Debug| {
        fail(format!("was trained with {what} {theirs:?}, this run uses {ours:?}; a teacher must be trained on the same split"))
    };
    if report.dataset != dataset {
        return Err(mismatch("dataset", &report.dataset, &dataset));
    }
    if report.dataset_config_hash != data.meta.config_hash {
        return Err(mismatch("dataset preparation", &report.dataset_config_hash, &data.meta.config_hash));
    }
    if report.split.fold != fold.name || report.split.test_subjects != fold.test_subjects {
        return Err(mismatch("split", &(&report.split.fold, &report.split.test_subjects), &(&fold.name, &fold.test_subjects)));
    }
    if &report.normalizer != normalizer {
        return Err(fail("was trained on other training windows (its normalisation statistics differ from this split's)".into()));
    }
    let (channels, classes) = (data.windows.channels, data.meta.classes.len());
    let model =
        report.model.build(channels, classes, device).try_load_file(path).map_err(|e| fail(format!("loading the weights: {e:?}")))?;
    Ok((model.valid(), report))
}
