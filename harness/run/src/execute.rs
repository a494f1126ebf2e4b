//! [`Workspace::execute`]: one run from its request to its typed output.

use crate::checkpoint;
use crate::cost;
use crate::record::{Cost, DatasetInfo, DistillationInfo, RunOutput, SplitInfo, TeacherInfo};
use crate::{Environment, RecordedTeacher, RunError};
use harbench_common::progress::Progress;
use harbench_data::cache::Prepared;
use harbench_data::fetch::{self, FetchOptions, Origin};
use harbench_data::prepare::{self, DataDir, Overrides};
use harbench_data::registry;
use harbench_data::split::{self, Fold, Normalizer, SplitConfig};
use harbench_distill::DistillOutcome;
use harbench_models::{Model, ModelConfig};
use harbench_train::store::{code_version, StoredTeacher, TeacherKey, TeacherStore};
use harbench_train::{train, DeviceChoice, EpochCheckpoints, Task, TrainContext, TrainOutcome, Trained, ValidTrainConfig};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Where a distilling run's teacher comes from.
// One per request: boxing the store variant would save nothing worth the noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum TeacherSource {
    /// From the teacher store, as `entry` says.
    Store { name: String, model: ModelConfig, train: ValidTrainConfig, entry: StoreEntry },
    /// A checkpoint written by `harbench train` (its JSON report beside it), checked to be of
    /// the run's dataset, preparation and split.
    Checkpoint(PathBuf),
}

/// Which entry of the teacher store a model comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StoreEntry {
    /// The running code's entry, trained on the run's fold and stored first when the store lacks it.
    #[default]
    ThisCode,
    /// The entry the code of this commit (full hash) stored. Its absence is an error: training it
    /// here would file this code's model under another commit's name.
    TrainedAt(String),
}

impl StoreEntry {
    /// A suite's `teacher.trained_at`: the running code's entry when it is absent.
    pub fn trained_at(commit: Option<String>) -> StoreEntry {
        commit.map_or(StoreEntry::ThisCode, StoreEntry::TrainedAt)
    }
}

#[derive(Debug, Clone)]
pub struct MethodRequest {
    pub name: String,
    pub params: serde_json::Map<String, serde_json::Value>,
    pub teacher: TeacherSource,
}

/// Everything one run needs, resolved.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// Names the run in errors (a suite's run key, or the model's name).
    pub label: String,
    pub dataset: String,
    pub split: SplitConfig,
    /// Index of the fold among the protocol's folds.
    pub fold: usize,
    pub model: ModelConfig,
    pub train: ValidTrainConfig,
    /// `None`: the model trains alone, on cross-entropy.
    pub method: Option<MethodRequest>,
    pub device: DeviceChoice,
    /// `Some`: take the model from this entry of the teacher store (a suite's teacher run), so
    /// that distilling runs reuse it instead of training it again. `None`: train it here.
    pub teacher_store: Option<StoreEntry>,
    /// Profile the trained model's cost (parameters, MACs, latency, memory, energy).
    pub profile: bool,
}

/// What the binary gets besides the request.
pub struct RunContext<'a> {
    /// Progress of the run's own work (preparation, epochs, batches).
    pub progress: &'a dyn Progress,
    /// Raised by Ctrl-C or a time budget: stop after the current batch.
    pub stop: &'a AtomicBool,
    /// Where the run saves its state after each epoch and resumes from (`None`: it does not).
    /// Teachers trained through the store keep theirs in the store instead.
    pub checkpoints: Option<EpochCheckpoints>,
    /// The recorded training of the teacher a distilling run must learn from (a suite's teacher
    /// record in the run's result set): a teacher from the store that trained otherwise is
    /// refused ([`RunError::TeacherDiffers`]). `None`: any stored teacher of these settings.
    pub teacher_record: Option<RecordedTeacher>,
}

/// The teacher a distilling run used.
pub struct ExecutedTeacher {
    pub name: String,
    pub model: Model,
    /// Its exported architecture.
    pub config: ModelConfig,
    pub normalizer: Normalizer,
    /// Its training settings and outcome (absent for a checkpoint of an older harbench).
    pub train: Option<ValidTrainConfig>,
    pub outcome: Option<TrainOutcome>,
    /// Set when it came from a checkpoint file.
    pub checkpoint: Option<PathBuf>,
    pub info: TeacherInfo,
}

/// A finished run: the typed output for the record, and what the caller may save.
pub struct Executed {
    pub output: RunOutput,
    /// The trained (exported) model and its architecture.
    pub model: Model,
    pub model_config: ModelConfig,
    pub normalizer: Normalizer,
    pub teacher: Option<ExecutedTeacher>,
    /// The distillation's full outcome (shapes, the teacher's scores).
    pub distilled: Option<DistillOutcome>,
    pub data: Arc<Prepared>,
    pub fold: Fold,
}

/// Where runs find their data and teachers; prepared datasets are loaded once and shared.
pub struct Workspace {
    pub data: DataDir,
    /// Where missing dataset sources are fetched from (HARBENCH_DATA_MIRROR), if anywhere.
    pub mirror: Option<String>,
    pub teachers: TeacherStore,
    /// The code version in teacher-store keys (`harbench_train::store::code_version`).
    pub code_version: String,
    loaded: Mutex<BTreeMap<String, Arc<Prepared>>>,
}

impl Workspace {
    pub fn new(data: DataDir, teachers: TeacherStore, code_version: String, mirror: Option<String>) -> Self {
        Workspace { data, mirror, teachers, code_version, loaded: Mutex::new(BTreeMap::new()) }
    }

    /// The prepared dataset `id`: fetched from the mirror when its sources are missing, then
    /// prepared (or read from its cache).
    pub fn dataset(&self, id: &str, progress: &dyn Progress) -> Result<Arc<Prepared>, RunError> {
        if let Some(p) = self.loaded.lock().expect("dataset lock").get(id) {
            return Ok(p.clone());
        }
        let data_error = |context: String| move |source| RunError::Data { context, source };
        let ds = registry::find(id).map_err(data_error(format!("dataset {id}")))?;
        if let Some(mirror) = &self.mirror {
            for source in ds.spec().sources {
                if fetch::verified_digest(&self.data.raw(), source).is_none() {
                    let options = FetchOptions { origin: Origin::Mirror(mirror.clone()), force: false, allow_unverified: false };
                    fetch::fetch(&self.data.raw(), source, &options, progress)
                        .map_err(data_error(format!("fetching {id} (source {}) from the mirror {mirror}", source.id)))?;
                }
            }
        }
        let prepared =
            Arc::new(prepare::load(&self.data, ds, &Overrides::default(), progress).map_err(data_error(format!("preparing {id}")))?);
        self.loaded.lock().expect("dataset lock").insert(id.to_string(), prepared.clone());
        Ok(prepared)
    }

    /// The dataset `id` only if its cache is already prepared: no data work (for dry runs).
    pub fn prepared_dataset(&self, id: &str) -> Option<Arc<Prepared>> {
        if let Some(p) = self.loaded.lock().expect("dataset lock").get(id) {
            return Some(p.clone());
        }
        let ds = registry::find(id).ok()?;
        let config = prepare::PrepareConfig::resolve(&ds.spec(), &Overrides::default()).ok()?;
        let sums = prepare::source_checksums(&self.data, &ds.spec()).ok()?;
        let path = self.data.cache_file(&config, &config.hash(&sums));
        let p = Arc::new(harbench_data::cache::read(Path::new(&path)).ok()?);
        self.loaded.lock().expect("dataset lock").insert(id.to_string(), p.clone());
        Some(p)
    }

    /// Fold `index` of `split` on `data`.
    pub fn fold(&self, dataset: &str, data: &Prepared, split: &SplitConfig, index: usize) -> Result<Fold, RunError> {
        let ds = registry::find(dataset).map_err(|source| RunError::Data { context: format!("dataset {dataset}"), source })?;
        let mut folds = split::folds(&data.windows, &data.meta, &ds.spec().holdout, split)
            .map_err(|source| RunError::Data { context: format!("splitting {dataset}"), source })?;
        if index >= folds.len() {
            return Err(RunError::Invalid { run: dataset.to_string(), message: format!("fold {index} of {} does not exist", folds.len()) });
        }
        Ok(folds.swap_remove(index))
    }

    /// Carries out `request`: data, fold, teacher, training or distillation, cost profile.
    pub fn execute(&self, request: &RunRequest, ctx: &RunContext) -> Result<Executed, RunError> {
        // Fail fast, before any data work, on what this build or these settings cannot do.
        if let Some(why) = request.method.as_ref().and_then(|m| crate::unavailable_method(&m.name)) {
            return Err(RunError::Unavailable(why));
        }
        let method = match &request.method {
            Some(m) => Some(harbench_distill::registry::build(&m.name.to_ascii_lowercase(), &m.params)?),
            None => None,
        };
        let device = request.device.device()?;
        let data = self.dataset(&request.dataset, ctx.progress)?;
        let fold = self.fold(&request.dataset, &data, &request.split, request.fold)?;

        let train_ctx = TrainContext::new(&device, ctx.progress, ctx.stop).with_checkpoints(ctx.checkpoints.as_ref());
        let task = Task { data: &data, fold: &fold, config: &request.train };
        let (trained, teacher, distilled, model_config) = match (method, &request.method) {
            (Some((method, mix)), Some(m)) => {
                let teacher = self.teacher(request, &m.teacher, task, &train_ctx, ctx)?;
                let (trained, outcome) = harbench_distill::distill(&request.model, &teacher.model, method, mix, task, &train_ctx)?;
                let config = trained.outcome.exported_config(&outcome.student_config);
                (trained, Some(teacher), Some(outcome), config)
            }
            _ => match &request.teacher_store {
                Some(entry) => {
                    let t = self.stored(request, &request.model, entry, task, &train_ctx)?;
                    let config = t.outcome.exported_config(&request.model);
                    (Trained { model: t.model, normalizer: t.normalizer, outcome: t.outcome }, None, None, config)
                }
                None => {
                    let trained = train(&request.model, task, &train_ctx)?;
                    let config = trained.outcome.exported_config(&request.model);
                    (trained, None, None, config)
                }
            },
        };
        let cost = if request.profile { cost::profile_trained(&trained.model, &data, &device) } else { Cost::Skipped };
        let output = RunOutput {
            dataset: dataset_info(&request.dataset, &data),
            split: split_info(&request.split, &fold),
            outcome: trained.outcome,
            teacher: teacher.as_ref().map(|t| t.info.clone()),
            distillation: distilled.as_ref().map(|d| DistillationInfo {
                method: d.method.clone(),
                mix: d.mix,
                params: d.params.clone(),
                part_parameters: d.part_parameters,
                terms: d.terms.clone(),
                teacher_cache: d.teacher_cache.clone(),
            }),
            cost,
            environment: Some(Environment::current(request.device, &device)),
        };
        Ok(Executed { output, model: trained.model, model_config, normalizer: trained.normalizer, teacher, distilled, data, fold })
    }

    /// `model` trained with the task's settings on its fold, from the teacher store's `entry`
    /// (the store keeps the teacher's epoch checkpoints, not the run).
    fn stored(
        &self,
        request: &RunRequest,
        model: &ModelConfig,
        entry: &StoreEntry,
        task: Task,
        train_ctx: &TrainContext,
    ) -> Result<StoredTeacher, RunError> {
        let (Task { data, fold, config: train }, device) = (task, train_ctx.device);
        let StoreEntry::TrainedAt(commit) = entry else {
            let key = TeacherKey::new(data, &request.split, fold, model, train, &self.code_version);
            return Ok(self.teachers.get_or_train(&key, data, fold, &train_ctx.with_checkpoints(None))?);
        };
        let key = TeacherKey::new(data, &request.split, fold, model, train, &code_version(Some(commit)));
        let channels = data.windows.channels;
        let classes = data.meta.classes.len();
        self.teachers.get(&key, channels, classes, device)?.ok_or_else(|| RunError::Invalid {
            run: request.label.clone(),
            message: format!(
                "the teacher store {} has no teacher trained at commit {commit} with these settings (entry {}); run the suite \
                 at that commit to train it, or drop `teacher.trained_at`",
                self.teachers.root.display(),
                key.digest()
            ),
        })
    }

    /// The run's teacher: from the store (trained once per fold, settings and code version) or
    /// from a checkpoint.
    fn teacher(
        &self,
        request: &RunRequest,
        source: &TeacherSource,
        task: Task,
        train_ctx: &TrainContext,
        ctx: &RunContext,
    ) -> Result<ExecutedTeacher, RunError> {
        let (data, fold, device) = (task.data, task.fold, train_ctx.device);
        match source {
            TeacherSource::Store { name, model, train, entry } => {
                let t = self.stored(request, model, entry, Task { config: train, ..task }, train_ctx)?;
                if ctx.stop.load(Ordering::SeqCst) && t.outcome.interrupted {
                    return Err(RunError::InterruptedTeacher);
                }
                if let Some(recorded) = &ctx.teacher_record {
                    if let Some(difference) = recorded.first_difference(&t.outcome.history) {
                        let (run, record) = (request.label.clone(), recorded.source.clone());
                        return Err(RunError::TeacherDiffers { run, record, difference });
                    }
                }
                Ok(ExecutedTeacher {
                    name: name.clone(),
                    config: t.outcome.exported_config(model),
                    info: TeacherInfo {
                        store_key: t.key.clone(),
                        reused: t.reused,
                        test_accuracy: t.outcome.kept(train.keep).test.as_ref().map(|m| m.accuracy),
                        test_macro_f1: t.outcome.kept(train.keep).test.as_ref().map(|m| m.macro_f1),
                    },
                    model: t.model,
                    normalizer: t.normalizer,
                    train: Some(train.clone()),
                    outcome: Some(t.outcome),
                    checkpoint: None,
                })
            }
            TeacherSource::Checkpoint(path) => {
                let normalizer = Normalizer::fit_with(&data.windows, &fold.train, task.config.scaling);
                let (model, report) = checkpoint::load_teacher(path, data, &request.dataset, fold, &normalizer, device)?;
                let keep = report.train.as_ref().map(|t| t.keep).unwrap_or_default();
                let test = report.outcome.as_ref().and_then(|o| o.kept(keep).test.as_ref());
                Ok(ExecutedTeacher {
                    name: report.model_name.clone(),
                    config: report.model.clone(),
                    info: TeacherInfo {
                        store_key: path.display().to_string(),
                        reused: true,
                        test_accuracy: test.map(|m| m.accuracy),
                        test_macro_f1: test.map(|m| m.macro_f1),
                    },
                    model,
                    normalizer,
                    train: report.train.clone(),
                    outcome: report.outcome,
                    checkpoint: Some(path.clone()),
                })
            }
        }
    }
}

fn dataset_info(id: &str, data: &Prepared) -> DatasetInfo {
    DatasetInfo {
        id: id.to_string(),
        cache_hash: data.meta.config_hash.clone(),
        source_checksums: data.meta.source_checksums.clone(),
        prepare: serde_json::to_value(&data.meta.config).expect("plain data serialises"),
        windows: data.windows.len(),
        classes: data.meta.classes.clone(),
    }
}

fn split_info(split: &SplitConfig, fold: &Fold) -> SplitInfo {
    SplitInfo {
        protocol: split.protocol.to_string(),
        fold: fold.name.clone(),
        test_subjects: fold.test_subjects.clone(),
        val_subjects: fold.val_subjects.clone(),
        leaky: fold.leaky,
        sizes: [fold.train.len(), fold.val.len(), fold.test.len()],
    }
}
