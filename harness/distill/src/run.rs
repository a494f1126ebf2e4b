//! A distillation run: the frozen teacher (eval mode, plain device) and the student plus the
//! method's parts trained by harbench-train's loop through a distillation [`Objective`].

use crate::method::{Context, Features, Method, Mix, Shapes, Term};
use crate::ops::soft_kl;
use crate::parts::Distilled;
use crate::teacher_cache::{self, CacheStats, TeacherCache};
use crate::DistillError;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use harbench_models::{Model, ModelConfig, ModelOutput};
use harbench_train::metrics::Metrics;
use harbench_train::trainer::evaluate;
use harbench_train::{fit, Batch, CrossEntropy, Objective, Splits, Stage, Task, TrainContext, TrainError, TrainOutcome, Trained};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The teacher's scores on the same fold (it never trains here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Teacher {
    pub parameters: usize,
    pub val: Metrics,
    /// Absent when the run withheld the test split (`TrainConfig::test_split`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Metrics>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistillOutcome {
    pub method: String,
    pub mix: Mix,
    /// The method's resolved hyper-parameters.
    pub params: serde_json::Value,
    /// Parameters of the training-only parts (not part of the student).
    pub part_parameters: usize,
    /// The student's architecture as trained (the method may set its heads; a head search
    /// prunes it afterwards, see `student.search`).
    pub student_config: ModelConfig,
    pub student_shapes: Shapes,
    pub teacher_shapes: Shapes,
    pub teacher: Teacher,
    /// Mean of each weighted loss term over the main-stage batches.
    pub terms: BTreeMap<String, f64>,
    pub student: TrainOutcome,
    /// What the teacher cache held and served (absent: no cache, e.g. with augmentation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teacher_cache: Option<CacheStats>,
}

/// Anchor and pooled shapes of `model` for windows of `[channels, length]`.
pub fn shapes(model: &Model, channels: usize, length: usize, device: &Device) -> (Shapes, usize) {
    let out = model.valid().forward(Tensor::<3>::zeros([2, channels, length], &device.clone().without_autodiff()));
    let anchors = out.anchors.iter().map(|a| (a.dims()[1], a.dims()[2])).collect();
    let memory = out.memory_query.as_ref().map(|q| q.dims()[1]);
    (Shapes { anchors, pooled: out.pooled.dims()[1], memory }, out.logits.dims()[1])
}

/// Teacher outputs as constants on the autodiff device: no graph leads back to the teacher.
fn constant(out: ModelOutput) -> ModelOutput {
    ModelOutput {
        logits: out.logits.autodiff(),
        pooled: out.pooled.autodiff(),
        anchors: out.anchors.into_iter().map(|a| a.autodiff()).collect(),
        memory_query: out.memory_query.map(|q| q.autodiff()),
    }
}

/// The distillation objective: method terms (+ CE and KD by the mix in the main stage).
pub struct DistillObjective {
    pub teacher: Model,
    pub method: Box<dyn Method>,
    pub mix: Mix,
    ce: CrossEntropy,
    /// Per logged term: the sum of its batch values over the main stage, and their count.
    sums: BTreeMap<String, (f64, usize)>,
    /// The teacher's outputs per training window, when its inputs never change.
    cache: Option<TeacherCache>,
    /// The plain device the teacher runs on.
    device: Device,
}

impl DistillObjective {
    /// `teacher` is put in eval mode on the plain device; it runs on every batch.
    pub fn new(teacher: &Model, method: Box<dyn Method>, mix: Mix, label_smoothing: f64, device: &Device) -> Self {
        DistillObjective {
            teacher: teacher.valid(),
            method,
            mix,
            ce: CrossEntropy::new(label_smoothing, &device.clone().autodiff()),
            sums: BTreeMap::new(),
            cache: None,
            device: device.clone(),
        }
    }

    /// Keeps the teacher's outputs in `cache` (only valid when a window's input is the same at
    /// every epoch: no augmentation).
    pub fn with_cache(mut self, cache: TeacherCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The teacher's outputs for `batch`, from the cache when it holds them.
    fn teacher_outputs(&mut self, batch: &Batch) -> ModelOutput {
        if let Some(out) = self.cache.as_mut().and_then(|c| c.get(batch.rows, &self.device)) {
            return constant(out);
        }
        let out = self.teacher.forward(batch.x.clone().without_autodiff());
        if let Some(cache) = self.cache.as_mut() {
            cache.put(batch.rows, &out);
        }
        constant(out)
    }

    /// Weighted terms of one batch and their sum.
    pub fn terms(&mut self, module: &Distilled, batch: &Batch) -> (Vec<Term>, Tensor<1>) {
        let student = module.student.forward(batch.x.clone());
        let teacher = self.teacher_outputs(batch);
        let f =
            Features { student: &student, teacher: &teacher, labels: &batch.y, rows: batch.rows, epoch: batch.epoch, stage: batch.stage };
        let mut terms = self.method.loss(&module.parts, &f);
        if batch.stage == Stage::Main {
            if self.mix.ce > 0.0 {
                terms.push(Term::new("ce", self.ce.forward(student.logits.clone(), batch.y.clone()) * self.mix.ce));
            }
            if self.mix.kd > 0.0 {
                let kd = soft_kl(student.logits.clone(), teacher.logits.clone(), self.mix.kd_temperature);
                terms.push(Term::new("kd", kd * self.mix.kd));
            }
        }
        // Starts from a tracked zero so that an empty term list still has a graph.
        let mut total = student.logits.sum() * 0.0;
        for t in &terms {
            total = total + t.value.clone();
        }
        (terms, total)
    }
}

impl Objective for DistillObjective {
    type Module = Distilled;

    fn student<'a>(&self, module: &'a Distilled) -> &'a Model {
        &module.student
    }

    fn pretrain_epochs(&self) -> usize {
        self.method.pretrain_epochs()
    }
    fn pretrain_optimizer(&self) -> harbench_train::PretrainOptimizer {
        self.method.pretrain_optimizer()
    }

    /// The teacher cache needs no saving: it only spares recomputing the frozen teacher.
    fn resumable(&self) -> bool {
        self.method.resumable()
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "term_sums": self.sums })
    }

    fn restore(&mut self, state: &serde_json::Value) -> Result<(), String> {
        self.sums = serde_json::from_value(state["term_sums"].clone()).map_err(|e| format!("term_sums: {e}"))?;
        Ok(())
    }

    fn loss(&mut self, module: &Distilled, batch: &Batch) -> Result<Tensor<1>, TrainError> {
        let (terms, total) = self.terms(module, batch);
        for t in &terms {
            let v = t.value.clone().into_scalar::<f32>() as f64;
            if !v.is_finite() {
                return Err(TrainError::Data(format!(
                    "{}: loss term '{}' became {v} at epoch {} ({:?} stage)",
                    self.method.name(),
                    t.name,
                    batch.epoch,
                    batch.stage
                )));
            }
            if batch.stage == Stage::Main {
                // Looked up by `&str`: a term's `String` key is allocated once, not every batch.
                if !self.sums.contains_key(t.name) {
                    self.sums.insert(t.name.to_string(), (0.0, 0));
                }
                if let Some((sum, count)) = self.sums.get_mut(t.name) {
                    *sum += v;
                    *count += 1;
                }
            }
        }
        Ok(total)
    }
}

/// Distils `student_config` from the frozen `teacher` with `method` on the task's fold.
/// The student starts from the same initial weights as `harbench_train::train` with the
/// same seed, so that "student alone" and "distilled" runs differ only in the objective.
/// The teacher's outputs are cached up to [`teacher_cache::limit_bytes`]. With checkpoints in
/// `ctx` and a [`Method::resumable`] method, the run's state is saved after every epoch and a
/// run stopped part-way continues from it.
pub fn distill(
    student_config: &ModelConfig,
    teacher: &Model,
    method: Box<dyn Method>,
    mix: Mix,
    task: Task,
    ctx: &TrainContext,
) -> Result<(Trained, DistillOutcome), DistillError> {
    let limit = teacher_cache::limit_bytes().map_err(DistillError::Teacher)?;
    distill_with_cache(student_config, teacher, method, mix, task, ctx, limit)
}

/// [`distill`] with a teacher cache of at most `cache_limit` bytes (0: none).
pub fn distill_with_cache(
    student_config: &ModelConfig,
    teacher: &Model,
    mut method: Box<dyn Method>,
    mix: Mix,
    task: Task,
    ctx: &TrainContext,
    cache_limit: usize,
) -> Result<(Trained, DistillOutcome), DistillError> {
    let (Task { data, fold, config }, device) = (task, ctx.device);
    let splits = Splits::new(data, fold, config)?;
    let (channels, length) = (splits.train.channels, splits.train.length);
    let teacher = teacher.valid();
    let (teacher_shapes, teacher_classes) = shapes(&teacher, channels, length, device);
    if teacher_classes != splits.classes {
        return Err(DistillError::Teacher(format!("it predicts {teacher_classes} classes, the dataset has {}", splits.classes)));
    }
    let teacher_scores = Teacher {
        parameters: teacher.num_params(),
        val: evaluate(&teacher, &splits.val, splits.classes, device),
        test: config.test_split.scored().then(|| evaluate(&teacher, &splits.test, splits.classes, device)),
    };

    let student_config = method.student_config(student_config)?;
    student_config.validate(method.name()).map_err(|e| DistillError::Config { method: method.name().into(), message: e.to_string() })?;
    device.seed(config.seed);
    let train_device = device.clone().autodiff();
    let student = student_config.build(channels, splits.classes, &train_device);
    let (student_shapes, _) = shapes(&student, channels, length, device);
    let sample_rows: Vec<usize> = (0..splits.train.len().min(256)).collect();
    let method_ctx = Context {
        student: student_shapes.clone(),
        teacher: teacher_shapes.clone(),
        classes: splits.classes,
        train_labels: &splits.train.y,
        seed: config.seed,
        teacher_model: Some(&teacher),
        sample: Some(splits.train.batch(&sample_rows, device).0),
    };
    let parts = method.build(&method_ctx, &train_device)?;
    let student = method.init_student(&method_ctx, student)?;
    let part_parameters = parts.num_params();
    let params = method.config();
    let name = method.name().to_string();
    let mut objective = DistillObjective::new(&teacher, method, mix, config.label_smoothing, device);
    // Augmentation changes a window's input every epoch, and with it the teacher's outputs.
    if cache_limit > 0 && config.augment_scale == 0.0 && config.augment_jitter == 0.0 {
        objective = objective.with_cache(TeacherCache::new(splits.train.len(), &teacher_shapes, teacher_classes, cache_limit));
    }
    let (model, outcome) = fit(Distilled { student, parts }, &mut objective, &splits, config, ctx)?;
    let terms = objective.sums.iter().map(|(k, (s, n))| (k.to_string(), s / (*n).max(1) as f64)).collect();
    let result = DistillOutcome {
        method: name,
        mix,
        params,
        part_parameters,
        student_config,
        student_shapes,
        teacher_shapes,
        teacher: teacher_scores,
        terms,
        student: outcome.clone(),
        teacher_cache: objective.cache.as_ref().map(|c| c.stats().clone()),
    };
    Ok((Trained { model, normalizer: splits.normalizer, outcome }, result))
}
