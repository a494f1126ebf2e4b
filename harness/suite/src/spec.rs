//! The suite schema: what a `suites/*.yaml` file may say, validated on load.
//!
//! Structure errors (an unknown key, a wrong type) come from serde with serde_norway's position.
//! Names (datasets, models, methods) are checked while they are deserialised, inside the visitor
//! of the scalar, because serde_norway only attaches a position to errors raised there; the
//! lists of valid names reach the visitors through a scoped thread-local ([`Known`]), as serde
//! has no other way to pass context into a derived `Deserialize`. Checks that need the whole
//! suite (a method without a teacher, a bad training value) run afterwards and are located by
//! looking their key path up in the text ([`locate`]).

use harbench_common::names::{did_you_mean, nearest};
use harbench_data::split::Protocol;
use harbench_models::{HeadKind, ModelConfig};
use harbench_train::{DeviceChoice, TrainConfig};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::fmt;
use std::path::{Path, PathBuf};

/// The names a suite may use; the method list is injected because distillation methods live in
/// a crate this one does not depend on.
#[derive(Debug, Clone)]
pub struct Known {
    pub datasets: Vec<String>,
    pub models: Vec<String>,
    pub methods: Vec<String>,
}

impl Known {
    pub fn new(datasets: &[&str], models: &[&str], methods: &[&str]) -> Self {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Known { datasets: own(datasets), models: own(models), methods: own(methods) }
    }
}

/// The method name of training without distillation.
pub const NO_DISTILLATION: &str = "none";

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{file}:{line}:{column}: {message}")]
    At { file: PathBuf, line: usize, column: usize, message: String },
    #[error("{file}: {message}")]
    File { file: PathBuf, message: String },
    #[error("reading suite {file}: {source}")]
    Io { file: PathBuf, source: std::io::Error },
}

/// A whole suite file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Defaults to the file name without `.yaml`; names the results folder.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub datasets: Vec<DatasetName>,
    pub seeds: Vec<u64>,
    #[serde(default)]
    pub split: SplitSpec,
    #[serde(default)]
    pub train: TrainOverrides,
    #[serde(default)]
    pub teacher: Option<TeacherSpec>,
    pub experiments: Vec<Experiment>,
    #[serde(default)]
    pub budget: Budget,
    #[serde(default)]
    pub tables: Vec<TableKind>,
    /// Where every run trains and is profiled: `flex` (CPU, the default), `cuda` (a build with
    /// `--features cuda`), `vulkan` (`--features vulkan`) or `gpu` (whichever of the two the build
    /// has). `harbench run --device` overrides it.
    #[serde(default)]
    pub device: DeviceChoice,
}

/// Fields left out take [`SplitSpec::default`]'s values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SplitSpec {
    #[serde(deserialize_with = "protocol")]
    pub protocol: Protocol,
    pub val_fraction: f64,
    pub test_fraction: f64,
    /// Run only the first N folds of the protocol (LOSO has one per subject); `None`: all.
    pub folds: Option<usize>,
}

impl Default for SplitSpec {
    fn default() -> Self {
        let d = harbench_data::split::SplitConfig::default();
        SplitSpec { protocol: d.protocol, val_fraction: d.val_fraction, test_fraction: d.test_fraction, folds: None }
    }
}

/// Training settings that differ from [`TrainConfig::default`]; the seed comes from `seeds`.
/// The same type as `harbench train`'s flags: one definition of what a user may set.
pub type TrainOverrides = harbench_train::TrainSettings;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeacherSpec {
    pub model: ModelName,
    pub width: Option<f64>,
    /// Classifier heads (default: one linear head); SMLDist's memory distillation needs a
    /// teacher with a `hopfield` head.
    #[serde(default)]
    pub heads: Option<Vec<HeadKind>>,
    /// Dropout before the classifier while training (default: the preset's, 0).
    #[serde(default)]
    pub dropout: Option<f64>,
    /// Applied on top of the suite's `train`.
    #[serde(default)]
    pub train: TrainOverrides,
    /// Reuse the teachers that these settings gave at an earlier commit (its full 40-hex hash),
    /// from the teacher store, instead of training them at this one: distilled rows added after
    /// a code change then learn from the very teachers of the rows recorded before it. A teacher
    /// the store lacks is an error, never trained under that commit's name.
    #[serde(default)]
    pub trained_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    pub name: String,
    pub models: Vec<ModelEntry>,
    pub methods: Vec<MethodEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Wall-clock limit of one run: training stops there and the run is recorded as cut short.
    pub max_run_minutes: Option<f64>,
    /// Parameter budget of the classifier-head search (SMLDist's auto-search): the exported
    /// student keeps the best heads within it.
    pub max_params: Option<usize>,
    /// Latency budget of the head search: median single-window latency on the CPU, in ms.
    pub max_latency_ms: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TableKind {
    /// SMLDist against the HAR architectures.
    Har,
    /// The distillation methods compared.
    Kd,
    /// Parameters, FLOPs, latency, memory, energy.
    Cost,
    /// SMLDist with parts switched off.
    Ablation,
    /// Every row's test accuracy at the last epoch, at the best-validation epoch and, as a
    /// labelled diagnostic, at the best epoch on the test subjects (the SMLDist authors'
    /// selection), each against the same model trained alone. Only when named in `tables:`.
    Checkpoints,
}

impl TableKind {
    /// The tables of a suite that names none in `tables:`.
    pub const ALL: [TableKind; 4] = [TableKind::Har, TableKind::Kd, TableKind::Cost, TableKind::Ablation];
    pub fn name(self) -> &'static str {
        match self {
            TableKind::Har => "har",
            TableKind::Kd => "kd",
            TableKind::Cost => "cost",
            TableKind::Ablation => "ablation",
            TableKind::Checkpoints => "checkpoints",
        }
    }
}

/// A model of an experiment: a preset name, or `{preset, width, label}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelEntry {
    pub preset: ModelName,
    pub width: Option<f64>,
    /// Classifier heads (default: the preset's one linear head).
    pub heads: Option<Vec<HeadKind>>,
    /// Dropout before the classifier while training (default: the preset's, 0).
    pub dropout: Option<f64>,
    /// Name in run keys and tables; defaults to the preset (with `-w<width>` when set).
    pub label: Option<String>,
}

impl ModelEntry {
    pub fn label(&self) -> String {
        self.label.clone().unwrap_or_else(|| match self.width {
            Some(w) => format!("{}-w{w}", self.preset.0),
            None => self.preset.0.clone(),
        })
    }
}

/// A method of an experiment: a name, or `{method, label, options}` (options go to the method).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodEntry {
    pub method: MethodName,
    pub label: Option<String>,
    pub options: serde_json::Value,
}

fn empty_options() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

impl MethodEntry {
    pub fn label(&self) -> String {
        self.label.clone().unwrap_or_else(|| self.method.0.clone())
    }
}

macro_rules! checked_name {
    ($name:ident, $what:literal, $field:ident) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        write!(f, "a {} name", $what)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        check_name($what, v, |k| &k.$field).map(|()| $name(v.to_string())).map_err(E::custom)
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

checked_name!(DatasetName, "dataset", datasets);
checked_name!(ModelName, "model", models);
checked_name!(MethodName, "method", methods);

impl<'de> Deserialize<'de> for ModelEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            preset: ModelName,
            #[serde(default)]
            width: Option<f64>,
            #[serde(default)]
            label: Option<String>,
            #[serde(default)]
            heads: Option<Vec<HeadKind>>,
            #[serde(default)]
            dropout: Option<f64>,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ModelEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a model preset name or {preset, width, label, heads, dropout}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ModelEntry, E> {
                check_name("model", v, |k| &k.models).map_err(E::custom)?;
                Ok(ModelEntry { preset: ModelName(v.into()), width: None, label: None, heads: None, dropout: None })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ModelEntry, A::Error> {
                let f = Full::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ModelEntry { preset: f.preset, width: f.width, label: f.label, heads: f.heads, dropout: f.dropout })
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for MethodEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            method: MethodName,
            #[serde(default)]
            label: Option<String>,
            #[serde(default = "empty_options")]
            options: serde_json::Value,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MethodEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a method name or {method, label, options}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MethodEntry, E> {
                check_name("method", v, |k| &k.methods).map_err(E::custom)?;
                Ok(MethodEntry { method: MethodName(v.into()), label: None, options: empty_options() })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MethodEntry, A::Error> {
                let f = Full::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(MethodEntry { method: f.method, label: f.label, options: f.options })
            }
        }
        d.deserialize_any(V)
    }
}

fn protocol<'de, D: Deserializer<'de>>(d: D) -> Result<Protocol, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Protocol;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a split protocol: holdout-subjects, loso, loso-<k> or random")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Protocol, E> {
            v.parse::<Protocol>().map_err(|message| {
                let hint = did_you_mean(v, ["holdout-subjects", "loso", "random"]);
                E::custom(format!("{message}{hint}"))
            })
        }
    }
    d.deserialize_str(V)
}

thread_local! {
    static KNOWN: RefCell<Option<Known>> = const { RefCell::new(None) };
}

fn check_name(what: &str, name: &str, list: impl Fn(&Known) -> &Vec<String>) -> Result<(), String> {
    KNOWN.with(|k| {
        let k = k.borrow();
        // Outside `parse` (e.g. reading a stored record) names are taken as they are.
        let Some(known) = k.as_ref() else { return Ok(()) };
        let list = list(known);
        if list.iter().any(|n| n == name) {
            return Ok(());
        }
        let names: Vec<&str> = list.iter().map(String::as_str).collect();
        let hint = did_you_mean(name, names.iter().copied());
        Err(format!("unknown {what} '{name}'{hint}; known: {}", names.join(", ")))
    })
}

/// Reads and validates a suite file.
pub fn load(path: &Path, known: &Known) -> Result<Suite, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Io { file: path.into(), source })?;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("suite");
    parse(&text, path, stem, known)
}

/// Validates `text` as the suite `default_name`; `file` only labels errors.
pub fn parse(text: &str, file: &Path, default_name: &str, known: &Known) -> Result<Suite, SpecError> {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            KNOWN.with(|k| *k.borrow_mut() = None);
        }
    }
    KNOWN.with(|k| *k.borrow_mut() = Some(known.clone()));
    let _reset = Reset;
    let mut suite: Suite = serde_norway::from_str(text).map_err(|e| yaml_error(file, &e))?;
    if suite.name.is_empty() {
        suite.name = default_name.to_string();
    }
    validate(&suite).map_err(|(path, message)| match locate(text, &path) {
        Some((line, column)) => SpecError::At { file: file.into(), line, column, message: format!("{}: {message}", path.join(".")) },
        None => SpecError::File { file: file.into(), message: format!("{}: {message}", path.join(".")) },
    })?;
    check_method_options(&suite, text, file)?;
    Ok(suite)
}

/// Builds every distillation method with its options, so that a misspelt or out-of-range option
/// fails when the suite is read (and `--dry-run` with it), not when the run starts after its
/// teacher trained. Methods this build lacks are left to the run, which records them unavailable.
fn check_method_options(suite: &Suite, text: &str, file: &Path) -> Result<(), SpecError> {
    for e in &suite.experiments {
        for m in &e.methods {
            let (Some(options), Ok(_)) = (m.options.as_object(), harbench_distill::registry::find(&m.method.0)) else { continue };
            let Err(err) = harbench_distill::registry::build(&m.method.0, options) else { continue };
            let message = with_suggestion(format!("experiments.methods.options: method '{}' of experiment '{}': {err}", m.label(), e.name));
            return Err(match options_position(text, m) {
                Some((line, column)) => SpecError::At { file: file.into(), line, column, message },
                None => SpecError::File { file: file.into(), message },
            });
        }
    }
    Ok(())
}

/// Line and column (1-based) of the `options` of method entry `m`: the first at or after the line
/// that names its label (or, unlabelled, its method).
fn options_position(text: &str, m: &MethodEntry) -> Option<(usize, usize)> {
    let anchor = m.label.as_ref().map(|l| format!("label: {l}")).unwrap_or_else(|| format!("method: {}", m.method.0));
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| l.contains(&anchor))?;
    lines.iter().enumerate().skip(start).find_map(|(i, l)| l.find("options").map(|c| (i + 1, c + 1)))
}

fn yaml_error(file: &Path, e: &serde_norway::Error) -> SpecError {
    let mut message = e.to_string();
    if let Some(i) = message.rfind(" at line ") {
        message.truncate(i);
    }
    let message = with_suggestion(message);
    match e.location() {
        Some(l) => SpecError::At { file: file.into(), line: l.line(), column: l.column(), message },
        None => SpecError::File { file: file.into(), message },
    }
}

/// serde's "unknown field `x`, expected one of `a`, `b`" (or variant) gets the nearest name.
fn with_suggestion(message: String) -> String {
    let Some(start) = message.find("unknown field `").map(|i| i + 15).or_else(|| message.find("unknown variant `").map(|i| i + 17)) else {
        return message;
    };
    let Some(len) = message[start..].find('`') else { return message };
    let name = &message[start..start + len];
    let expected: Vec<&str> = message[start + len..].split('`').skip(2).step_by(2).collect();
    match nearest(name, expected) {
        Some(n) => format!("{message} (did you mean '{n}'?)"),
        None => message,
    }
}

type Invalid = (Vec<String>, String);

fn validate(s: &Suite) -> Result<(), Invalid> {
    let at = |p: &[&str], m: String| -> Invalid { (p.iter().map(|s| s.to_string()).collect(), m) };
    if s.datasets.is_empty() {
        return Err(at(&["datasets"], "name at least one dataset".into()));
    }
    if s.seeds.is_empty() {
        return Err(at(&["seeds"], "name at least one seed".into()));
    }
    if s.experiments.is_empty() {
        return Err(at(&["experiments"], "define at least one experiment".into()));
    }
    check_label(&s.name).map_err(|m| at(&["name"], m))?;
    if s.name == crate::store::TEACHER_STORE_FOLDER {
        return Err(at(&["name"], format!("'{}' is the teacher store's folder in results/; rename the suite", s.name)));
    }
    let base = s.train.apply(&TrainConfig::default());
    base.validate().map_err(|e| at(&["train"], e.to_string()))?;
    if let Some(t) = &s.teacher {
        t.train.apply(&base).validate().map_err(|e| at(&["teacher", "train"], e.to_string()))?;
        check_width(t.width).map_err(|m| at(&["teacher", "width"], m))?;
        check_dropout(&t.model.0, t.dropout).map_err(|m| at(&["teacher", "dropout"], m))?;
        if let Some(commit) = &t.trained_at {
            if commit.len() != 40 || !commit.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()) {
                return Err(at(
                    &["teacher", "trained_at"],
                    format!("'{commit}' is not a full commit hash (40 hex digits: `git rev-parse REV`)"),
                ));
            }
        }
    }
    if !(0.0..1.0).contains(&s.split.val_fraction) || !(0.0..1.0).contains(&s.split.test_fraction) {
        return Err(at(&["split"], "val_fraction and test_fraction must be in [0, 1)".into()));
    }
    if s.split.folds == Some(0) {
        return Err(at(&["split", "folds"], "must be at least 1".into()));
    }
    if let Some(m) = s.budget.max_run_minutes {
        if !(m.is_finite() && m > 0.0) {
            return Err(at(&["budget", "max_run_minutes"], format!("{m} is not a positive number of minutes")));
        }
    }
    for e in &s.experiments {
        check_label(&e.name).map_err(|m| at(&["experiments", "name"], m))?;
        if e.models.is_empty() || e.methods.is_empty() {
            return Err(at(&["experiments", "name"], format!("experiment '{}' needs at least one model and one method", e.name)));
        }
        for m in &e.models {
            check_label(&m.label()).map_err(|msg| at(&["experiments", "models"], msg))?;
            check_width(m.width).map_err(|msg| at(&["experiments", "models"], msg))?;
            check_dropout(&m.preset.0, m.dropout).map_err(|msg| at(&["experiments", "models"], msg))?;
        }
        for m in &e.methods {
            check_label(&m.label()).map_err(|msg| at(&["experiments", "methods"], msg))?;
            if !m.options.is_object() {
                return Err(at(&["experiments", "methods"], format!("options of method '{}' must be a mapping", m.label())));
            }
            if m.method.0 != NO_DISTILLATION && s.teacher.is_none() {
                return Err(at(
                    &["experiments", "methods"],
                    format!("experiment '{}' distils with '{}' but the suite names no `teacher`", e.name, m.method.0),
                ));
            }
        }
    }
    Ok(())
}

fn check_width(width: Option<f64>) -> Result<(), String> {
    match width {
        Some(w) if !(w.is_finite() && w > 0.0) => Err(format!("width {w} is not a positive multiplier")),
        _ => Ok(()),
    }
}

/// A dropout the preset has and that lies in [0, 1).
fn check_dropout(preset: &str, dropout: Option<f64>) -> Result<(), String> {
    let Some(p) = dropout else { return Ok(()) };
    ModelConfig::preset(preset, None).and_then(|c| c.with_dropout(preset, p)).map(|_| ()).map_err(|e| e.to_string())
}

/// Labels become file names and run-key parts.
fn check_label(label: &str) -> Result<(), String> {
    let ok = !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c)) && !label.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(format!("'{label}' must be non-empty and use only letters, digits, '.', '_', '+', '-'"))
    }
}

/// Line and column (1-based) of the value at a key path, found by indentation in block-style
/// YAML: each key must appear, deeper than its parent, after the previous one.
pub fn locate(text: &str, path: &[String]) -> Option<(usize, usize)> {
    let mut found = None;
    let mut from = 0;
    let mut parent_indent: isize = -1;
    for key in path {
        let lines: Vec<&str> = text.lines().collect();
        let mut hit = None;
        for (i, line) in lines.iter().enumerate().skip(from) {
            let body = line.trim_start_matches([' ', '-']);
            let indent = (line.len() - body.len()) as isize;
            let is_key = body.starts_with(key.as_str()) && body[key.len()..].trim_start().starts_with(':');
            if is_key && indent > parent_indent {
                hit = Some((i, indent));
                break;
            }
            // Leaving the parent's block.
            if !body.is_empty() && !body.starts_with('#') && indent <= parent_indent && i > from {
                break;
            }
        }
        let (i, indent) = hit?;
        found = Some((i + 1, indent as usize + 1));
        from = i + 1;
        parent_indent = indent;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Known {
        Known::new(&["synthetic", "uci-har", "motionsense"], &["mobilenetv3-large-1d", "mobilenetv3-small-1d"], &["none", "kd", "fitnets"])
    }

    const GOOD: &str = "\
description: ok
datasets: [synthetic, uci-har]
seeds: [0, 1]
split:
  protocol: loso
  val_fraction: 0.2
  test_fraction: 0.2
  folds: 2
train:
  epochs: 3
teacher:
  model: mobilenetv3-large-1d
  width: 0.5
  train: {epochs: 4}
experiments:
  - name: har
    models: [mobilenetv3-small-1d]
    methods: [none]
  - name: kd
    models:
      - {preset: mobilenetv3-small-1d, width: 0.25}
    methods:
      - kd
      - method: fitnets
        label: fitnets-strong
        options: {beta: 200}
tables: [har, kd]
";

    fn err(text: &str) -> String {
        parse(text, Path::new("suites/bad.yaml"), "bad", &known()).unwrap_err().to_string()
    }

    #[test]
    fn a_good_suite_loads_with_defaults_filled_in() {
        let s = parse(GOOD, Path::new("suites/good.yaml"), "good", &known()).unwrap();
        assert_eq!(s.name, "good");
        assert_eq!(s.split.protocol, Protocol::Loso { folds: None });
        assert_eq!(s.experiments[1].models[0].label(), "mobilenetv3-small-1d-w0.25");
        assert_eq!(s.experiments[1].methods[1].label(), "fitnets-strong");
        assert_eq!(s.experiments[1].methods[1].options["beta"], 200);
        assert_eq!(s.teacher.as_ref().unwrap().train.apply(&s.train.apply(&TrainConfig::default())).epochs, 4);
        assert_eq!(s.tables, vec![TableKind::Har, TableKind::Kd]);
    }

    #[test]
    fn an_unknown_dataset_is_located_with_the_nearest_name() {
        let e = err(&GOOD.replace("[synthetic, uci-har]", "[synthetic, uci-hr]"));
        assert!(e.starts_with("suites/bad.yaml:2:23: "), "{e}");
        assert!(e.contains("unknown dataset 'uci-hr' (did you mean 'uci-har'?)"), "{e}");
    }

    #[test]
    fn an_unknown_model_in_a_mapping_is_located() {
        let e = err(&GOOD.replace("{preset: mobilenetv3-small-1d, width", "{preset: mobilenetv3-smal-1d, width"));
        assert!(e.starts_with("suites/bad.yaml:21:18: "), "{e}");
        assert!(e.contains("did you mean 'mobilenetv3-small-1d'"), "{e}");
        let e = err(&GOOD.replace("  model: mobilenetv3-large-1d", "  model: mobilenet-large"));
        assert!(e.starts_with("suites/bad.yaml:12:10: ") && e.contains("'mobilenetv3-large-1d'"), "{e}");
    }

    #[test]
    fn an_unknown_method_is_located_in_both_forms() {
        let e = err(&GOOD.replace("      - kd\n", "      - kdd\n"));
        assert!(e.starts_with("suites/bad.yaml:23:9: ") && e.contains("unknown method 'kdd' (did you mean 'kd'?)"), "{e}");
        let e = err(&GOOD.replace("method: fitnets", "method: fitnet"));
        assert!(e.starts_with("suites/bad.yaml:24:17: ") && e.contains("(did you mean 'fitnets'?)"), "{e}");
    }

    #[test]
    fn method_options_are_checked_when_the_suite_is_read() {
        // The issue's example: a misspelt option used to pass `--dry-run` and fail the run.
        let e = err(&GOOD.replace("options: {beta: 200}", "options: {betta: 200}"));
        assert!(e.starts_with("suites/bad.yaml:26:9: ") && e.contains("method 'fitnets-strong' of experiment 'kd'"), "{e}");
        assert!(e.contains("unknown field `betta`") && e.contains("did you mean 'beta'"), "{e}");
        let e = err(&GOOD.replace("options: {beta: 200}", "options: {beta: -1}"));
        assert!(e.contains("method 'fitnets-strong'") && e.contains("`beta` = -1"), "{e}");
    }

    #[test]
    fn an_unknown_key_suggests_the_valid_one() {
        let e = err(&GOOD.replace("  epochs: 3", "  epoch: 3"));
        assert!(e.starts_with("suites/bad.yaml:10:3: "), "{e}");
        assert!(e.contains("unknown field `epoch`") && e.contains("(did you mean 'epochs'?)"), "{e}");
        let e = err(&GOOD.replace("tables: [har, kd]", "tabels: [har, kd]"));
        assert!(e.starts_with("suites/bad.yaml:27:1: ") && e.contains("did you mean 'tables'"), "{e}");
        let e = err(&GOOD.replace("tables: [har, kd]", "tables: [har, abl]"));
        assert!(e.contains("unknown variant `abl`") && e.contains("did you mean 'ablation'"), "{e}");
    }

    #[test]
    fn a_wrong_type_is_located() {
        let e = err(&GOOD.replace("seeds: [0, 1]", "seeds: [0, one]"));
        assert!(e.starts_with("suites/bad.yaml:3:12: ") && e.contains("invalid type"), "{e}");
        let e = err(&GOOD.replace("  protocol: loso", "  protocol: los"));
        assert!(e.starts_with("suites/bad.yaml:5:13: ") && e.contains("did you mean 'loso'"), "{e}");
    }

    #[test]
    fn whole_suite_checks_are_located_by_key_path() {
        let e = err(&GOOD.replace("  epochs: 3", "  epochs: 0"));
        assert!(e.starts_with("suites/bad.yaml:9:1: train: ") && e.contains("epochs"), "{e}");
        let e = err(&GOOD.replace("  train: {epochs: 4}", "  train: {epochs: 4, lr: -1}"));
        assert!(e.starts_with("suites/bad.yaml:14:3: teacher.train: ") && e.contains("lr"), "{e}");
        let no_teacher = GOOD.replace("teacher:\n  model: mobilenetv3-large-1d\n  width: 0.5\n  train: {epochs: 4}\n", "");
        let e = err(&no_teacher);
        assert!(e.contains("distils with 'kd' but the suite names no `teacher`"), "{e}");
    }

    #[test]
    fn a_reused_teacher_names_its_commit_in_full() {
        let full = "66dbd13c2e7d63cea4743dfcb2e48342637a2b65";
        let with = |commit: &str| GOOD.replace("  train: {epochs: 4}", &format!("  train: {{epochs: 4}}\n  trained_at: {commit}"));
        let s = parse(&with(full), Path::new("suites/good.yaml"), "good", &known()).unwrap();
        assert_eq!(s.teacher.unwrap().trained_at.as_deref(), Some(full));
        for short in ["66dbd13", "66DBD13C2E7D63CEA4743DFCB2E48342637A2B65", "HEAD"] {
            let e = err(&with(short));
            assert!(e.contains("teacher.trained_at") && e.contains("not a full commit hash"), "{short}: {e}");
        }
    }

    #[test]
    fn dropout_is_checked_against_the_model() {
        let text = GOOD.replace("{preset: mobilenetv3-small-1d, width: 0.25}", "{preset: mobilenetv3-small-1d, width: 0.25, dropout: 0.2}");
        let s = parse(&text, Path::new("suites/good.yaml"), "good", &known()).unwrap();
        assert_eq!(s.experiments[1].models[0].dropout, Some(0.2));
        let e =
            err(&GOOD.replace("{preset: mobilenetv3-small-1d, width: 0.25}", "{preset: mobilenetv3-small-1d, width: 0.25, dropout: 1.5}"));
        assert!(e.contains("experiments.models") && e.contains("dropout 1.5 must be in [0, 1)"), "{e}");
        let e = err(&GOOD.replace("  width: 0.5\n  train: {epochs: 4}", "  width: 0.5\n  dropout: -0.1\n  train: {epochs: 4}"));
        assert!(e.contains("teacher.dropout") && e.contains("must be in [0, 1)"), "{e}");
    }

    #[test]
    fn a_suite_cannot_take_the_teacher_stores_folder() {
        let e = parse(GOOD, Path::new("suites/teachers.yaml"), "teachers", &known()).unwrap_err().to_string();
        assert!(e.contains("teacher store"), "{e}");
    }

    #[test]
    fn names_are_not_checked_outside_parse() {
        // A stored record may name a method of a later build.
        let m: MethodEntry = serde_json::from_str(r#"{"method":"future-kd","label":null,"options":{}}"#).unwrap();
        assert_eq!(m.method.0, "future-kd");
    }

    #[test]
    fn locate_follows_indentation() {
        let text = "a:\n  b: 1\nc:\n  b: 2\n  d:\n    b: 3\n";
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(locate(text, &p(&["c", "b"])), Some((4, 3)));
        assert_eq!(locate(text, &p(&["c", "d", "b"])), Some((6, 5)));
        assert_eq!(locate(text, &p(&["a", "d"])), None);
    }
}
