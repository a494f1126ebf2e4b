//! The suite runner's executor: prepares the data, cuts the fold, trains (teachers through the
//! teacher store) and hands back what happened. The suite crate decides what runs and records it.

use anyhow::{anyhow, bail, Context, Result};
use burn::tensor::Device;
use harbench_data::cache::Prepared;
use harbench_data::fetch::{self, FetchOptions, Origin};
use harbench_data::prepare::{self, DataDir, Overrides};
use harbench_data::progress::Progress;
use harbench_data::registry;
use harbench_data::split::{self, Fold};
use harbench_suite::plan::{Role, RunSpec};
use harbench_suite::record::{DatasetInfo, RunOutput, SplitInfo, TeacherInfo};
use harbench_suite::runner::{ExecError, Executor, RunContext, Unavailable};
use harbench_train::store::{TeacherKey, TeacherStore};
use harbench_train::train;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;

/// Methods named in method.md that this build does not have yet: suites may name them (so the
/// paper suite validates), and their runs are recorded as unavailable.
pub const PENDING_METHODS: &[&str] = &["ab", "reviewkd"];

/// Method names a suite may use: `none` (no distillation), the distillation registry's, and
/// the pending ones.
pub fn known_methods() -> Vec<&'static str> {
    let mut all = vec!["none"];
    all.extend(harbench_distill::registry::names());
    all.extend(PENDING_METHODS.iter().filter(|m| !all.contains(m)).copied().collect::<Vec<_>>());
    all
}

/// Model names a suite may use.
pub fn known_models() -> Vec<&'static str> {
    harbench_models::PRESETS.to_vec()
}

/// Why this build cannot carry out `run`, if so.
fn missing(run: &RunSpec) -> Option<String> {
    let name = run.method.name.to_ascii_lowercase();
    if run.method.distils() && harbench_distill::registry::find(&name).is_err() {
        return Some(format!("method '{}' is not available in this build", run.method.name));
    }
    None
}

pub struct CliExecutor {
    pub data: DataDir,
    pub teachers: TeacherStore,
    pub code_version: String,
    /// Where missing datasets are fetched from (HARBENCH_DATA_MIRROR), if anywhere.
    pub mirror: Option<String>,
    pub device: Device,
    /// Prepared datasets, loaded once per suite.
    loaded: RefCell<BTreeMap<String, Rc<Prepared>>>,
}

impl CliExecutor {
    pub fn new(data: DataDir, teachers: TeacherStore, code_version: String, mirror: Option<String>) -> Self {
        CliExecutor { data, teachers, code_version, mirror, device: Device::flex(), loaded: RefCell::new(BTreeMap::new()) }
    }

    fn dataset(&self, id: &str, progress: &dyn Progress) -> Result<Rc<Prepared>> {
        if let Some(p) = self.loaded.borrow().get(id) {
            return Ok(p.clone());
        }
        let ds = registry::find(id)?;
        if let Some(mirror) = &self.mirror {
            for source in ds.spec().sources {
                if fetch::verified_digest(&self.data.raw(), source).is_none() {
                    let options = FetchOptions { origin: Origin::Mirror(mirror.clone()), force: false, allow_unverified: false };
                    fetch::fetch(&self.data.raw(), source, &options, progress)
                        .with_context(|| format!("fetching {id} (source {}) from the mirror {mirror}", source.id))?;
                }
            }
        }
        let prepared = Rc::new(prepare::load(&self.data, ds, &Overrides::default(), progress).with_context(|| format!("preparing {id}"))?);
        self.loaded.borrow_mut().insert(id.to_string(), prepared.clone());
        Ok(prepared)
    }

    fn fold(&self, run: &RunSpec, data: &Prepared) -> Result<Fold> {
        let ds = registry::find(&run.dataset)?;
        let mut folds = split::folds(&data.windows, &data.meta, &ds.spec().holdout, &run.split)
            .with_context(|| format!("splitting {}", run.dataset))?;
        if run.fold >= folds.len() {
            bail!("{}: fold {} of {} does not exist", run.dataset, run.fold, folds.len());
        }
        Ok(folds.swap_remove(run.fold))
    }

    fn execute(&self, run: &RunSpec, ctx: &RunContext) -> Result<RunOutput> {
        // Fail fast, before any data work, on what this build cannot do.
        if let Some(why) = missing(run) {
            return Err(Unavailable(why).into());
        }
        let model = run.model.config().map_err(|e| anyhow!("{e}"))?;
        let data = self.dataset(&run.dataset, ctx.progress)?;
        let fold = self.fold(run, &data)?;
        let mut teacher_info = None;
        let cost;
        let mut extra = serde_json::Value::Null;
        let outcome = match run.role {
            Role::Teacher => {
                let key = TeacherKey::new(&data, &run.split, &fold, &model, &run.train, &self.code_version);
                let t = self.teachers.get_or_train(&key, &data, &fold, &self.device, ctx.progress, ctx.stop)?;
                cost = self.cost(&t.model, &data);
                t.outcome
            }
            Role::Model if !run.method.distils() => {
                let trained = train(&model, &data, &fold, &run.train, &self.device, ctx.progress, ctx.stop)?;
                cost = self.cost(&trained.model, &data);
                trained.outcome
            }
            Role::Model => {
                let teacher_ref = run.teacher.as_ref().ok_or_else(|| anyhow!("run {} distils but names no teacher", run.key))?;
                let teacher_model = teacher_ref.model.config().map_err(|e| anyhow!("{e}"))?;
                let key = TeacherKey::new(&data, &run.split, &fold, &teacher_model, &teacher_ref.train, &self.code_version);
                let t = self.teachers.get_or_train(&key, &data, &fold, &self.device, ctx.progress, ctx.stop)?;
                let params = match &run.method.options {
                    serde_json::Value::Object(map) => map.clone(),
                    serde_json::Value::Null => Default::default(),
                    other => bail!("run {}: method options must be a mapping, not {other}", run.key),
                };
                let (method, mix) = harbench_distill::registry::build(&run.method.name.to_ascii_lowercase(), &params)?;
                let (trained, distilled) = harbench_distill::distill(
                    &model,
                    &t.model,
                    method,
                    mix,
                    &data,
                    &fold,
                    &run.train,
                    &self.device,
                    ctx.progress,
                    ctx.stop,
                )?;
                teacher_info = Some(TeacherInfo {
                    store_key: t.key.clone(),
                    reused: t.reused,
                    test_accuracy: t.outcome.best.test.accuracy,
                    test_macro_f1: t.outcome.best.test.macro_f1,
                });
                extra = serde_json::json!({ "distillation": {
                    "method": distilled.method, "mix": distilled.mix, "params": distilled.params,
                    "part_parameters": distilled.part_parameters, "terms": distilled.terms,
                }});
                cost = self.cost(&trained.model, &data);
                trained.outcome
            }
        };
        if !cost.is_null() {
            extra = match extra {
                serde_json::Value::Object(mut map) => {
                    map.insert("cost".into(), cost);
                    serde_json::Value::Object(map)
                }
                _ => serde_json::json!({ "cost": cost }),
            };
        }
        Ok(RunOutput {
            dataset: DatasetInfo {
                id: run.dataset.clone(),
                cache_hash: data.meta.config_hash.clone(),
                source_checksums: data.meta.source_checksums.clone(),
                prepare: serde_json::to_value(&data.meta.config)?,
                windows: data.windows.len(),
                classes: data.meta.classes.clone(),
            },
            split: SplitInfo {
                protocol: run.split.protocol.to_string(),
                fold: fold.name.clone(),
                test_subjects: fold.test_subjects.clone(),
                val_subjects: fold.val_subjects.clone(),
                leaky: fold.leaky,
                sizes: [fold.train.len(), fold.val.len(), fold.test.len()],
            },
            outcome,
            teacher: teacher_info,
            extra,
        })
    }
}

impl CliExecutor {
    /// What the trained model costs to run (the suite's cost table): a short `harbench profile`
    /// on this machine's CPU. A profile that fails is recorded as such; it never fails the run.
    fn cost(&self, model: &harbench_models::Model, data: &Prepared) -> serde_json::Value {
        use harbench_cost::{detect, profile, Choice, Probe, ProfileConfig, Target};
        let config = ProfileConfig {
            channels: data.windows.channels,
            length: data.windows.length,
            classes: data.meta.classes.len(),
            latency: harbench_cost::latency::LatencyConfig {
                warmup: std::time::Duration::from_millis(200),
                min_samples: 20,
                min_time: std::time::Duration::from_millis(500),
                max_time: std::time::Duration::from_secs(5),
            },
            ..ProfileConfig::default()
        };
        let mut detection = detect(&Probe::default(), Target::Cpu, &Choice::Auto);
        let absence = detection.absence();
        let meter = match detection.meter.as_deref_mut() {
            Some(m) => Ok(m),
            None => Err(absence),
        };
        match profile(|_| Ok(model.clone()), &self.device, &config, meter) {
            Ok(p) => serde_json::to_value(&p).unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() })),
            Err(e) => serde_json::json!({ "error": e.to_string() }),
        }
    }
}

impl Executor for CliExecutor {
    fn run(&self, run: &RunSpec, ctx: &RunContext) -> Result<RunOutput, ExecError> {
        self.execute(run, ctx).map_err(|e| match e.downcast::<Unavailable>() {
            Ok(u) => Box::new(u) as ExecError,
            Err(e) => format!("{e:#}").into(),
        })
    }

    fn unavailable(&self, run: &RunSpec) -> Option<String> {
        missing(run)
    }

    /// Only from a cache that is already prepared: a dry run does no data work.
    fn training_windows(&self, run: &RunSpec) -> Option<usize> {
        // Bound first: a `RefCell` borrow in an `if let` scrutinee lives through the else branch.
        let cached = self.loaded.borrow().get(&run.dataset).cloned();
        let prepared = if let Some(p) = cached {
            p
        } else {
            let ds = registry::find(&run.dataset).ok()?;
            let config = prepare::PrepareConfig::resolve(&ds.spec(), &Overrides::default()).ok()?;
            let sums = prepare::source_checksums(&self.data, &ds.spec()).ok()?;
            let path = self.data.cache_file(&config, &config.hash(&sums));
            let p = Rc::new(harbench_data::cache::read(Path::new(&path)).ok()?);
            self.loaded.borrow_mut().insert(run.dataset.clone(), p.clone());
            p
        };
        self.fold(run, &prepared).ok().map(|f| f.train.len())
    }
}
