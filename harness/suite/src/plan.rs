//! Matrix expansion: a suite becomes an ordered list of runs with stable keys.
//!
//! A run key is `<dataset>.<model>.<method>.<fold>.s<seed>` (teacher runs use the model part
//! `teacher`); it names the run's result file, so it must not change when unrelated parts of the
//! suite change. What the run *is* (every resolved setting) is hashed into `config_hash`; a
//! finished result whose hash differs from the plan's is stale and runs again.
//!
//! Teachers come first: one teacher run per (dataset, fold, seed) that a distilling run needs.

use crate::spec::{Budget, Experiment, MethodEntry, ModelEntry, Suite, TableKind, TeacherSpec, NO_DISTILLATION};
use harbench_data::split::{Protocol, SplitConfig};
use harbench_models::{HeadKind, ModelConfig};
use harbench_train::search::SearchConfig;
use harbench_train::{DeviceChoice, TrainConfig, ValidTrainConfig};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Trained once per (dataset, fold, seed) and shared through the teacher store.
    Teacher,
    /// A model of an experiment, with or without distillation.
    Model,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub label: String,
    pub preset: String,
    pub width: Option<f64>,
    /// Classifier heads; `None` keeps the preset's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heads: Option<Vec<HeadKind>>,
    /// Classifier dropout; `None` keeps the preset's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropout: Option<f64>,
}

impl ModelSpec {
    fn of(e: &ModelEntry) -> Self {
        ModelSpec { label: e.label(), preset: e.preset.0.clone(), width: e.width, heads: e.heads.clone(), dropout: e.dropout }
    }

    /// The resolved architecture, or why this build cannot make it.
    pub fn config(&self) -> Result<ModelConfig, String> {
        let mut config = ModelConfig::preset(&self.preset, self.width).map_err(|e| e.to_string())?;
        if let Some(p) = self.dropout {
            config = config.with_dropout(&self.preset, p).map_err(|e| e.to_string())?;
        }
        match &self.heads {
            Some(heads) => config.with_heads(&self.preset, heads.clone()).map_err(|e| e.to_string()),
            None => Ok(config),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodSpec {
    pub label: String,
    pub name: String,
    pub options: serde_json::Value,
}

impl MethodSpec {
    fn of(e: &MethodEntry) -> Self {
        MethodSpec { label: e.label(), name: e.method.0.clone(), options: e.options.clone() }
    }

    pub fn none() -> Self {
        MethodSpec { label: NO_DISTILLATION.into(), name: NO_DISTILLATION.into(), options: serde_json::json!({}) }
    }

    pub fn distils(&self) -> bool {
        self.name != NO_DISTILLATION
    }
}

/// The teacher a distilling run learns from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeacherRef {
    /// Key of the teacher's own run in this suite.
    pub run_key: String,
    pub model: ModelSpec,
    pub train: ValidTrainConfig,
    /// The commit whose stored teacher is reused (suite `teacher.trained_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trained_at: Option<String>,
}

/// Everything one run needs, fully resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    pub key: String,
    pub suite: String,
    /// Experiments that asked for this run (one run may serve several tables).
    pub experiments: Vec<String>,
    pub role: Role,
    pub dataset: String,
    pub model: ModelSpec,
    pub method: MethodSpec,
    pub seed: u64,
    pub split: SplitConfig,
    /// Index of the fold among the protocol's folds.
    pub fold: usize,
    pub fold_label: String,
    pub train: ValidTrainConfig,
    pub teacher: Option<TeacherRef>,
    /// A teacher run whose teacher is taken from the store as trained at this commit (suite
    /// `teacher.trained_at`), not trained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trained_at: Option<String>,
    pub budget: Budget,
    /// Where it trains and is profiled. Left out of the JSON (and so of the config hash) when
    /// it is the CPU, so that results recorded before devices were part of a run still count.
    #[serde(default, skip_serializing_if = "is_cpu")]
    pub device: DeviceChoice,
}

fn is_cpu(device: &DeviceChoice) -> bool {
    *device == DeviceChoice::Flex
}

impl RunSpec {
    /// 16 hex digits of the sha256 of everything that defines the run (not the experiments
    /// that asked for it, which only decide the tables it appears in).
    pub fn config_hash(&self) -> String {
        let mut v = serde_json::to_value(self).expect("plain data serialises");
        v.as_object_mut().expect("a struct").remove("experiments");
        hex::encode(Sha256::digest(v.to_string().as_bytes()))[..16].to_string()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub suite: String,
    pub tables: Vec<TableKind>,
    pub runs: Vec<RunSpec>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("suite '{suite}': run {key} is asked for twice with different settings (give one of them a `label`)")]
    Collision { suite: String, key: String },
    #[error("suite '{suite}': dataset {dataset}: {message}")]
    Folds { suite: String, dataset: String, message: String },
    #[error("suite '{suite}': {what}: {source}")]
    Train { suite: String, what: &'static str, source: harbench_train::TrainError },
}

/// Number of folds `protocol` makes on `dataset` (from the registry's subject list).
fn fold_count(dataset: &str, protocol: &Protocol) -> Result<usize, String> {
    match protocol {
        Protocol::HoldoutSubjects | Protocol::Random => Ok(1),
        Protocol::Loso { folds } => {
            let subjects = harbench_data::registry::find(dataset).map_err(|e| e.to_string())?.spec().subjects.len();
            let k = folds.unwrap_or(subjects);
            if k < 2 || k > subjects {
                return Err(format!("loso needs 2 to {subjects} folds, got {k}"));
            }
            Ok(k)
        }
    }
}

fn fold_label(protocol: &Protocol, i: usize) -> String {
    match protocol {
        Protocol::HoldoutSubjects => "holdout".into(),
        Protocol::Random => "random".into(),
        Protocol::Loso { .. } => format!("loso-f{i}"),
    }
}

/// Expands `suite` into its runs: teachers first, then experiments in file order, each as
/// dataset × model × method × fold × seed.
pub fn expand(suite: &Suite) -> Result<Plan, PlanError> {
    let mut e = Expansion::new(suite);
    for dataset in &suite.datasets {
        let dataset = &dataset.0;
        let k = fold_count(dataset, &suite.split.protocol).map_err(|message| PlanError::Folds {
            suite: suite.name.clone(),
            dataset: dataset.clone(),
            message,
        })?;
        let k = suite.split.folds.map_or(k, |n| n.min(k));
        for experiment in &suite.experiments {
            for model in &experiment.models {
                for method in &experiment.methods {
                    for fold in 0..k {
                        for &seed in &suite.seeds {
                            let place = Place { dataset, fold, fold_label: fold_label(&suite.split.protocol, fold), seed };
                            e.add(&place, experiment, ModelSpec::of(model), MethodSpec::of(method))?;
                        }
                    }
                }
            }
        }
    }
    let Expansion { mut teachers, runs, .. } = e;
    teachers.extend(runs);
    Ok(Plan { suite: suite.name.clone(), tables: suite.tables.clone(), runs: teachers })
}

/// Where a run sits in a suite's grid: its dataset, fold and seed.
struct Place<'a> {
    dataset: &'a str,
    fold: usize,
    fold_label: String,
    seed: u64,
}

/// A suite's runs while [`expand`] goes through its grid.
struct Expansion<'a> {
    suite: &'a Suite,
    /// The suite's training settings over the defaults.
    base: TrainConfig,
    /// The suite's budget bounds the head search of the models it compares (not the teacher's).
    search: SearchConfig,
    teachers: Vec<RunSpec>,
    runs: Vec<RunSpec>,
    /// Position of each run key in `runs`.
    index: BTreeMap<String, usize>,
}

impl<'a> Expansion<'a> {
    fn new(suite: &'a Suite) -> Self {
        let budget = &suite.budget;
        Expansion {
            suite,
            base: suite.train.apply(&TrainConfig::default()),
            search: SearchConfig { max_params: budget.max_params, max_latency_ms: budget.max_latency_ms, ..SearchConfig::default() },
            teachers: Vec::new(),
            runs: Vec::new(),
            index: BTreeMap::new(),
        }
    }

    /// Checked once here: every run's settings are then a `ValidTrainConfig` (the seed and the
    /// search budget added here are valid whatever they are, but are checked with the rest).
    fn valid(&self, what: &'static str, config: TrainConfig) -> Result<ValidTrainConfig, PlanError> {
        config.check().map_err(|source| PlanError::Train { suite: self.suite.name.clone(), what, source })
    }

    fn split(&self, seed: u64) -> SplitConfig {
        let s = &self.suite.split;
        SplitConfig { protocol: s.protocol, val_fraction: s.val_fraction, test_fraction: s.test_fraction, seed }
    }

    /// The run of `model` with `method` at `place`, with its teacher run when it distils; a run
    /// that several experiments share is kept once, naming them all.
    fn add(&mut self, place: &Place, experiment: &Experiment, model: ModelSpec, method: MethodSpec) -> Result<(), PlanError> {
        let (dataset, seed) = (place.dataset, place.seed);
        let teacher = match (&self.suite.teacher, method.distils()) {
            (Some(t), true) => Some(self.teacher(place, t)?),
            _ => None,
        };
        let suite = self.suite;
        let run = RunSpec {
            key: format!("{dataset}.{}.{}.{}.s{seed}", model.label, method.label, place.fold_label),
            suite: suite.name.clone(),
            experiments: vec![experiment.name.clone()],
            role: Role::Model,
            dataset: dataset.to_string(),
            model,
            method,
            seed,
            split: self.split(seed),
            fold: place.fold,
            fold_label: place.fold_label.clone(),
            train: self.valid("train", TrainConfig { seed, search: self.search.clone(), ..self.base.clone() })?,
            teacher,
            trained_at: None,
            budget: suite.budget.clone(),
            device: suite.device,
        };
        match self.index.get(&run.key) {
            Some(&i) if self.runs[i].config_hash() == run.config_hash() => {
                if !self.runs[i].experiments.contains(&experiment.name) {
                    self.runs[i].experiments.push(experiment.name.clone());
                }
            }
            Some(_) => return Err(PlanError::Collision { suite: suite.name.clone(), key: run.key }),
            None => {
                self.index.insert(run.key.clone(), self.runs.len());
                self.runs.push(run);
            }
        }
        Ok(())
    }

    /// The teacher a distilling run at `place` learns from, planned as a run of its own the
    /// first time it is needed.
    fn teacher(&mut self, place: &Place, t: &TeacherSpec) -> Result<TeacherRef, PlanError> {
        let (dataset, seed) = (place.dataset, place.seed);
        let model =
            ModelSpec { label: "teacher".into(), preset: t.model.0.clone(), width: t.width, heads: t.heads.clone(), dropout: t.dropout };
        let train = self.valid("teacher.train", TrainConfig { seed, ..t.train.apply(&self.base) })?;
        let key = format!("{dataset}.teacher.none.{}.s{seed}", place.fold_label);
        if !self.teachers.iter().any(|r| r.key == key) {
            self.teachers.push(RunSpec {
                key: key.clone(),
                suite: self.suite.name.clone(),
                experiments: vec!["teacher".into()],
                role: Role::Teacher,
                dataset: dataset.to_string(),
                model: model.clone(),
                method: MethodSpec::none(),
                seed,
                split: self.split(seed),
                fold: place.fold,
                fold_label: place.fold_label.clone(),
                train: train.clone(),
                teacher: None,
                trained_at: t.trained_at.clone(),
                budget: self.suite.budget.clone(),
                device: self.suite.device,
            });
        }
        Ok(TeacherRef { run_key: key, model, train, trained_at: t.trained_at.clone() })
    }
}

/// Runs whose key matches any of `patterns` (all runs when there are none). A pattern with
/// `*` or `?` is a glob over the whole key; otherwise it matches any key containing it.
pub fn filter<'a>(runs: &'a [RunSpec], patterns: &[String]) -> Vec<&'a RunSpec> {
    runs.iter().filter(|r| patterns.is_empty() || patterns.iter().any(|p| matches(p, &r.key))).collect()
}

fn matches(pattern: &str, key: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return key.contains(pattern);
    }
    glob(pattern.as_bytes(), key.as_bytes())
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
        (Some(b'?'), Some(_)) => glob(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => glob(&p[1..], &s[1..]),
        _ => false,
    }
}

/// Why a recorded run's settings (`recorded`, its record's `config` as written) no longer hash
/// as `planned` does: the first setting that differs, e.g. `train.optimizer: "ranger" (planned)
/// vs absent (recorded)`.
pub fn drift(planned: &RunSpec, recorded: &serde_json::Value) -> String {
    let planned = serde_json::to_value(planned).expect("plain data serialises");
    first_difference("", &planned, recorded).unwrap_or_else(|| "the same settings, another hash: the hash's recipe changed".into())
}

fn first_difference(path: &str, a: &serde_json::Value, b: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let show = |v: Option<&Value>| v.map_or("absent".to_string(), Value::to_string);
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                let here = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => first_difference(&here, p, q),
                    (p, q) => Some(format!("{here}: {} (planned) vs {} (recorded)", show(p), show(q))),
                }
            })
        }
        _ if a == b => None,
        _ => Some(format!("{path}: {a} (planned) vs {b} (recorded)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{parse, Known};
    use std::path::Path;

    fn suite(text: &str) -> Suite {
        let known = Known::new(&["synthetic", "uci-har"], &harbench_models::preset_names(), &["none", "kd", "dkd"]);
        parse(text, Path::new("t.yaml"), "t", &known).unwrap()
    }

    const TEXT: &str = "\
datasets: [synthetic, uci-har]
seeds: [0, 1]
train: {epochs: 2, warmup_epochs: 0}
teacher: {model: mobilenetv3-large-1d, train: {epochs: 3}}
experiments:
  - name: har
    models: [mobilenetv3-small-1d, mobilenetv3-large-1d]
    methods: [none]
  - name: kd
    models: [mobilenetv3-small-1d]
    methods: [none, kd, {method: dkd, label: dkd-b4, options: {beta: 4}}]
";

    #[test]
    fn expands_the_matrix_teachers_first_and_shares_identical_runs() {
        let plan = expand(&suite(TEXT)).unwrap();
        let keys: Vec<&str> = plan.runs.iter().map(|r| r.key.as_str()).collect();
        // Teachers: 2 datasets × 2 seeds. har: 2 × 2 models × 2 seeds = 8. kd: 2 × 3 methods × 2
        // seeds = 12, of which the 4 student-alone runs are har's: 8 new.
        assert_eq!(plan.runs.len(), 4 + 8 + 8);
        assert_eq!(
            &keys[..4],
            &[
                "synthetic.teacher.none.holdout.s0",
                "synthetic.teacher.none.holdout.s1",
                "uci-har.teacher.none.holdout.s0",
                "uci-har.teacher.none.holdout.s1"
            ]
        );
        assert!(plan.runs[..4].iter().all(|r| r.role == Role::Teacher && r.train.epochs == 3));
        let shared = plan.runs.iter().find(|r| r.key == "synthetic.mobilenetv3-small-1d.none.holdout.s1").unwrap();
        assert_eq!(shared.experiments, vec!["har", "kd"]);
        assert_eq!((shared.train.seed, shared.split.seed, shared.train.epochs), (1, 1, 2));
        let dkd = plan.runs.iter().find(|r| r.key == "uci-har.mobilenetv3-small-1d.dkd-b4.holdout.s0").unwrap();
        assert_eq!(dkd.method.options["beta"], 4);
        assert_eq!(dkd.teacher.as_ref().unwrap().run_key, "uci-har.teacher.none.holdout.s0");
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), keys.len());
    }

    #[test]
    fn a_dropout_reaches_the_model_and_the_teacher() {
        let text = TEXT
            .replace(
                "models: [mobilenetv3-small-1d, mobilenetv3-large-1d]",
                "models: [{preset: mobilenetv3-small-1d, dropout: 0.2, label: s}]",
            )
            .replace("teacher: {model: mobilenetv3-large-1d,", "teacher: {model: mobilenetv3-large-1d, dropout: 0.3,");
        let plan = expand(&suite(&text)).unwrap();
        let config = |key: &str| plan.runs.iter().find(|r| r.key == key).unwrap().model.config().unwrap();
        let with = |preset: &str, p: f64| ModelConfig::preset(preset, None).unwrap().with_dropout(preset, p).unwrap();
        assert_eq!(config("synthetic.s.none.holdout.s0"), with("mobilenetv3-small-1d", 0.2));
        assert_eq!(config("synthetic.teacher.none.holdout.s0"), with("mobilenetv3-large-1d", 0.3));
        assert_ne!(config("synthetic.mobilenetv3-small-1d.kd.holdout.s0"), with("mobilenetv3-small-1d", 0.2));
    }

    #[test]
    fn a_teacher_trained_at_another_commit_reaches_the_teacher_run_and_its_students() {
        let commit = "a".repeat(40);
        let plain = expand(&suite(TEXT)).unwrap();
        let text = TEXT
            .replace("teacher: {model: mobilenetv3-large-1d,", &format!("teacher: {{model: mobilenetv3-large-1d, trained_at: {commit},"));
        let reused = expand(&suite(&text)).unwrap();
        let run = |p: &Plan, k: &str| p.runs.iter().find(|r| r.key == k).unwrap().clone();
        let (teacher, kd) = ("synthetic.teacher.none.holdout.s0", "synthetic.mobilenetv3-small-1d.kd.holdout.s0");
        assert_eq!(run(&reused, teacher).trained_at.as_deref(), Some(commit.as_str()));
        assert_eq!(run(&reused, kd).teacher.unwrap().trained_at.as_deref(), Some(commit.as_str()));
        assert_eq!(run(&reused, kd).trained_at, None, "the student itself trains here");
        // Another teacher, other runs; without the field the hashes are what they always were.
        assert_ne!(run(&reused, kd).config_hash(), run(&plain, kd).config_hash());
        assert!(!serde_json::to_string(&run(&plain, kd)).unwrap().contains("trained_at"));
    }

    #[test]
    fn keys_are_stable_and_hashes_follow_the_settings() {
        let a = expand(&suite(TEXT)).unwrap();
        let b = expand(&suite(&TEXT.replace("seeds: [0, 1]", "seeds: [0, 1, 2]"))).unwrap();
        let c = expand(&suite(&TEXT.replace("train: {epochs: 2, warmup_epochs: 0}", "train: {epochs: 5, warmup_epochs: 0}"))).unwrap();
        let find = |p: &Plan, k: &str| p.runs.iter().find(|r| r.key == k).unwrap().config_hash();
        let k = "synthetic.mobilenetv3-small-1d.kd.holdout.s0";
        assert_eq!(find(&a, k), find(&b, k));
        assert_ne!(find(&a, k), find(&c, k));
        assert_eq!(find(&a, k).len(), 16);
    }

    #[test]
    fn loso_makes_one_run_per_fold_up_to_the_limit() {
        let text = "datasets: [synthetic]\nseeds: [3]\nsplit: {protocol: loso, val_fraction: 0.15, test_fraction: 0.2, folds: 3}\n\
experiments: [{name: a, models: [mobilenetv3-small-1d], methods: [none]}]\n";
        let plan = expand(&suite(text)).unwrap();
        let keys: Vec<&str> = plan.runs.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "synthetic.mobilenetv3-small-1d.none.loso-f0.s3",
                "synthetic.mobilenetv3-small-1d.none.loso-f1.s3",
                "synthetic.mobilenetv3-small-1d.none.loso-f2.s3"
            ]
        );
        // synthetic has 8 subjects: no limit gives 8 folds.
        let all = expand(&suite(&text.replace(", folds: 3", ""))).unwrap();
        assert_eq!(all.runs.len(), 8);
    }

    #[test]
    fn a_label_collision_is_an_error() {
        let text = TEXT.replace("{method: dkd, label: dkd-b4, options: {beta: 4}}", "{method: dkd, label: kd}");
        let err = expand(&suite(&text)).unwrap_err().to_string();
        assert!(err.contains("synthetic.mobilenetv3-small-1d.kd.holdout.s0") && err.contains("label"), "{err}");
    }

    #[test]
    fn filters_by_substring_or_glob() {
        let plan = expand(&suite(TEXT)).unwrap();
        assert_eq!(filter(&plan.runs, &[]).len(), plan.runs.len());
        assert_eq!(filter(&plan.runs, &["teacher".into()]).len(), 4);
        assert_eq!(filter(&plan.runs, &["uci-har.*.s1".into()]).len(), 1 + 2 + 2);
        assert_eq!(filter(&plan.runs, &["*.kd.*".into(), "dkd".into()]).len(), 8);
        assert!(matches("a?c", "abc") && !matches("a?c", "abbc") && matches("*", ""));
    }

    #[test]
    fn drift_names_the_first_setting_that_differs() {
        let a = serde_json::json!({"train": {"epochs": 60, "optimizer": "ranger"}, "seed": 0});
        let b = serde_json::json!({"train": {"epochs": 60}, "seed": 0});
        assert_eq!(super::first_difference("", &a, &b).unwrap(), "train.optimizer: \"ranger\" (planned) vs absent (recorded)");
        let c = serde_json::json!({"train": {"epochs": 30, "optimizer": "ranger"}, "seed": 0});
        assert_eq!(super::first_difference("", &a, &c).unwrap(), "train.epochs: 60 (planned) vs 30 (recorded)");
        assert_eq!(super::first_difference("", &a, &a), None);
    }
}
