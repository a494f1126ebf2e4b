//! Epoch checkpoints: a run stopped part-way and started again with the same checkpoint folder
//! ends bit-identical to a run that was never stopped (weights, scores, history), with dropout,
//! augmentation and weight averaging on, so every generator and running state is covered.

use harbench_common::progress::{Progress, Silent, StopAt};
use harbench_data::cache::Prepared;
use harbench_data::prepare::{self, DataDir, Overrides};
use harbench_data::registry;
use harbench_data::split::{self, Fold, SplitConfig};
use harbench_models::device::test_device;
use harbench_models::{Model, ModelConfig};
use harbench_train::{train, EpochCheckpoints, Task, TrainConfig, TrainContext, TrainOutcome, Trained};
use std::path::Path;
use std::sync::atomic::AtomicBool;

/// burn's random generator is one per process: seeded runs take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

struct Data {
    _tmp: tempfile::TempDir,
    data: Prepared,
    fold: Fold,
}

fn synthetic() -> Data {
    let tmp = tempfile::tempdir().unwrap();
    let ds = registry::find("synthetic").unwrap();
    let data = prepare::load(&DataDir::new(tmp.path()), ds, &Overrides::default(), &Silent).unwrap();
    let fold = split::folds(&data.windows, &data.meta, &ds.spec().holdout, &SplitConfig::default()).unwrap().remove(0);
    Data { _tmp: tmp, data, fold }
}

/// Dropout, augmentation and a weight average: every piece of state between epochs is used.
fn config() -> TrainConfig {
    TrainConfig {
        epochs: 4,
        batch_size: 32,
        warmup_epochs: 1,
        seed: 5,
        augment_scale: 0.1,
        augment_jitter: 0.05,
        ema_decay: 0.9,
        ..Default::default()
    }
}

fn model() -> ModelConfig {
    ModelConfig::preset("mobilenetv3-small-1d", Some(0.25)).unwrap().with_dropout("mobilenetv3-small-1d", 0.3).unwrap()
}

/// Every phase label and message, in order.
#[derive(Default)]
struct Lines(std::sync::Mutex<Vec<String>>);

impl Progress for Lines {
    fn start(&self, label: &str, _: Option<u64>) {
        self.0.lock().unwrap().push(label.to_string());
    }
    fn advance(&self, _: u64) {}
    fn message(&self, text: &str) {
        self.0.lock().unwrap().push(text.to_string());
    }
    fn finish(&self) {}
}

fn run(d: &Data, config: &TrainConfig, checkpoints: Option<&EpochCheckpoints>, progress: &dyn Progress, stop: &AtomicBool) -> Trained {
    train(
        &model(),
        Task { data: &d.data, fold: &d.fold, config: &config.clone().check().unwrap() },
        &TrainContext::new(&test_device(), progress, stop).with_checkpoints(checkpoints),
    )
    .unwrap()
}

fn weights(model: &Model) -> Vec<u8> {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("w.bpk");
    burn::module::Module::save_file(model.clone(), &path).unwrap();
    // The file also holds burn's random parameter ids; compare the values, read back in order.
    let mut values = Vec::new();
    struct Floats<'a>(&'a mut Vec<u8>);
    impl burn::module::ModuleVisitor for Floats<'_> {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<burn::tensor::Tensor<D>>) {
            self.0.extend(param.val().try_into_vec_as::<f32>().unwrap().iter().flat_map(|v| v.to_le_bytes()));
        }
    }
    burn::module::Module::visit(model, &mut Floats(&mut values));
    values
}

/// Everything but wall-clock timings.
fn numbers(o: &TrainOutcome) -> String {
    let mut o = o.clone();
    o.train_seconds = 0.0;
    o.samples_per_second = 0.0;
    o.history.iter_mut().for_each(|h| h.samples_per_second = 0.0);
    serde_json::to_string(&o).unwrap()
}

fn checkpoints(dir: &Path, identity: &str) -> EpochCheckpoints {
    EpochCheckpoints { dir: dir.to_path_buf(), identity: identity.into() }
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn a_run_stopped_mid_epoch_resumes_to_the_same_numbers_and_weights() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let d = synthetic();
    let never = AtomicBool::new(false);
    let whole = run(&d, &config(), None, &Silent, &never);

    let tmp = tempfile::tempdir().unwrap();
    let ckpt = checkpoints(&tmp.path().join("run.epochs"), "run-a");
    // Stopped inside epoch 3 (its first progress line), after epoch 2's state was saved.
    let stop = AtomicBool::new(false);
    let first = run(&d, &config(), Some(&ckpt), &StopAt { trigger: "epoch 3/4 loss", stop: &stop }, &stop);
    assert!(first.outcome.interrupted);
    assert_eq!(first.outcome.epochs_run, 2);
    // One state, the module, optimiser and average of epoch 2, and the best model it names.
    let saved = files(&ckpt.dir);
    assert!(saved.contains(&"state-2.json".to_string()) && !saved.contains(&"state-1.json".to_string()), "{saved:?}");
    assert!(saved.contains(&"optimizer-2.bpk".to_string()) && saved.contains(&"average-2.bpk".to_string()), "{saved:?}");

    let resumed = run(&d, &config(), Some(&ckpt), &Silent, &never);
    assert!(!resumed.outcome.interrupted);
    assert_eq!(numbers(&resumed.outcome), numbers(&whole.outcome));
    assert_eq!(weights(&resumed.model), weights(&whole.model));
    ckpt.clear().unwrap();
    assert!(!ckpt.dir.exists());
}

#[test]
fn a_run_stopped_at_the_end_of_an_epoch_resumes_without_retraining_it() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let d = synthetic();
    let never = AtomicBool::new(false);
    let config = TrainConfig { ema_decay: 0.0, augment_scale: 0.0, augment_jitter: 0.0, ..config() };
    let whole = run(&d, &config, None, &Silent, &never);

    let tmp = tempfile::tempdir().unwrap();
    let ckpt = checkpoints(tmp.path(), "run-b");
    let stop = AtomicBool::new(false);
    // Raised as epoch 1's validation is reported: epoch 1 is saved, epoch 2 never starts.
    let first = run(&d, &config, Some(&ckpt), &StopAt { trigger: "epoch 1: val", stop: &stop }, &stop);
    assert_eq!(first.outcome.epochs_run, 1);

    let lines = Lines::default();
    let resumed = run(&d, &config, Some(&ckpt), &lines, &never);
    let lines = lines.0.into_inner().unwrap();
    assert!(lines.iter().any(|l| l == "resuming after epoch 1 of 4 (saved state)"), "{lines:?}");
    assert!(!lines.iter().any(|l| l == "epoch 1/4"), "epoch 1 ran again: {lines:?}");
    assert_eq!(numbers(&resumed.outcome), numbers(&whole.outcome));
    assert_eq!(weights(&resumed.model), weights(&whole.model));
}

#[test]
fn a_checkpoint_of_other_settings_is_not_resumed() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let d = synthetic();
    let never = AtomicBool::new(false);
    let tmp = tempfile::tempdir().unwrap();
    let short = TrainConfig { epochs: 2, ema_decay: 0.0, ..config() };
    run(&d, &short, Some(&checkpoints(tmp.path(), "run-c")), &Silent, &never);
    assert!(files(tmp.path()).contains(&"state-2.json".to_string()));

    // Another learning rate: the saved state is of another run and is ignored, with a word why.
    let other = TrainConfig { lr: short.lr * 2.0, ..short.clone() };
    let fresh = run(&d, &other, None, &Silent, &never);
    let told = Lines::default();
    let again = run(&d, &other, Some(&checkpoints(tmp.path(), "run-c")), &told, &never);
    assert_eq!(numbers(&again.outcome), numbers(&fresh.outcome));
    assert!(told.0.into_inner().unwrap().iter().any(|l| l.contains("other settings") && l.contains("state-2.json")));

    // Another identity (another run's folder by mistake): ignored too.
    let third = run(&d, &short, Some(&checkpoints(tmp.path(), "run-d")), &Silent, &never);
    assert_eq!(third.outcome.history.len(), 2);
}

#[test]
fn a_corrupt_state_file_is_an_error_that_names_it() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let d = synthetic();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("state-3.json"), "{ not json").unwrap();
    let config = TrainConfig { epochs: 1, ..config() }.check().unwrap();
    let err = match train(
        &model(),
        Task { data: &d.data, fold: &d.fold, config: &config },
        &TrainContext::new(&test_device(), &Silent, &AtomicBool::new(false)).with_checkpoints(Some(&checkpoints(tmp.path(), "x"))),
    ) {
        Ok(_) => panic!("a corrupt state was resumed"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("state-3.json"), "{err}");
}

#[test]
fn a_run_that_early_stopping_ended_is_not_trained_further_when_started_again() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let d = synthetic();
    let never = AtomicBool::new(false);
    // A learning rate too small to learn: validation soon stops improving and patience 1 ends it.
    let config = TrainConfig { lr: 1e-9, patience: Some(1), epochs: 6, ema_decay: 0.0, ..config() };
    let tmp = tempfile::tempdir().unwrap();
    let ckpt = checkpoints(tmp.path(), "run-e");
    let first = run(&d, &config, Some(&ckpt), &Silent, &never);
    assert!(first.outcome.epochs_run < 6, "early stopping did not end the run");
    // Its state after its last epoch is still there (a runner killed before writing the record).
    let again = run(&d, &config, Some(&ckpt), &Silent, &never);
    assert_eq!(numbers(&again.outcome), numbers(&first.outcome));
}

#[test]
fn the_authors_recipe_resumes_to_the_same_numbers_with_its_optimiser_and_plateau_state() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let d = synthetic();
    let never = AtomicBool::new(false);
    // A plateau that reduces at almost every epoch, so that its state matters after a resume.
    let plateau = harbench_train::PlateauConfig { factor: 0.5, patience: 0, cooldown: 0, threshold: 0.5, min_lr: 0.0 };
    let config = TrainConfig {
        optimizer: harbench_train::OptimizerKind::Ranger,
        schedule: harbench_train::Schedule::Plateau,
        plateau,
        warmup_epochs: 0,
        weight_decay: 0.0,
        ..config()
    };
    let whole = run(&d, &config, None, &Silent, &never);

    let tmp = tempfile::tempdir().unwrap();
    let ckpt = checkpoints(tmp.path(), "run-ranger");
    let stop = AtomicBool::new(false);
    let first = run(&d, &config, Some(&ckpt), &StopAt { trigger: "epoch 3/4 loss", stop: &stop }, &stop);
    assert_eq!(first.outcome.epochs_run, 2);
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(tmp.path().join("state-2.json")).unwrap()).unwrap();
    let lr = state["plateau"]["lr"].as_f64().expect("the plateau's state is saved");
    assert!(lr < config.lr, "two epochs at patience 0 reduced the rate: {lr}");

    let resumed = run(&d, &config, Some(&ckpt), &Silent, &never);
    assert_eq!(numbers(&resumed.outcome), numbers(&whole.outcome));
    assert_eq!(weights(&resumed.model), weights(&whole.model));
}

#[test]
fn scoring_every_epoch_on_test_is_a_diagnostic_that_changes_no_number() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let d = synthetic();
    let never = AtomicBool::new(false);
    let config = TrainConfig { epochs: 2, ..config() };
    let plain = run(&d, &config, None, &Silent, &never);
    let diagnosed = run(&d, &TrainConfig { test_every_epoch: true, ..config }, None, &Silent, &never);
    assert!(diagnosed.outcome.history.iter().all(|h| h.test_accuracy.is_some() && h.test_macro_f1.is_some()));
    // The last epoch's test score is the last checkpoint's.
    let last = diagnosed.outcome.history.last().unwrap();
    assert_eq!(last.test_accuracy, diagnosed.outcome.last.test.as_ref().map(|t| t.accuracy));
    let mut without = diagnosed.outcome.clone();
    without.history.iter_mut().for_each(|h| (h.test_accuracy, h.test_macro_f1) = (None, None));
    assert_eq!(numbers(&without), numbers(&plain.outcome));
    assert_eq!(weights(&diagnosed.model), weights(&plain.model));
}
