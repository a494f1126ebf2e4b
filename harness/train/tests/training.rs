//! The training loop end to end on the synthetic dataset (no download): it learns, it is
//! deterministic for a seed, and the stop flag ends a run with a usable model.

use harbench_common::progress::Silent;
use harbench_data::prepare::{self, DataDir, Overrides};
use harbench_data::registry;
use harbench_data::split::{self, SplitConfig};
use harbench_models::device::test_device;
use harbench_models::ModelConfig;
use harbench_train::{train, Task, TestSplit, TrainConfig, TrainContext, TrainOutcome};
use std::sync::atomic::AtomicBool;

/// burn's random generator is one per process: tests that seed it run one at a time, or a
/// parallel test's draws would land between a seeded run's draws.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn run(config: &TrainConfig, stop: &AtomicBool) -> TrainOutcome {
    run_kept(config, stop).1
}

/// The kept model's test accuracy, and the outcome.
fn run_kept(config: &TrainConfig, stop: &AtomicBool) -> (f64, TrainOutcome) {
    let tmp = tempfile::tempdir().unwrap();
    let ds = registry::find("synthetic").unwrap();
    let data = prepare::load(&DataDir::new(tmp.path()), ds, &Overrides::default(), &Silent).unwrap();
    let fold = split::folds(&data.windows, &data.meta, &ds.spec().holdout, &SplitConfig::default()).unwrap().remove(0);
    let model = ModelConfig::preset("mobilenetv3-small-1d", Some(0.25)).unwrap();
    let config = config.clone().check().unwrap();
    let trained =
        train(&model, Task { data: &data, fold: &fold, config: &config }, &TrainContext::new(&test_device(), &Silent, stop)).unwrap();
    let splits = harbench_train::trainer::Splits::new(&data, &fold, &config).unwrap();
    let test = harbench_train::trainer::evaluate(&trained.model, &splits.test, splits.classes, &test_device());
    (test.accuracy, trained.outcome)
}

/// Everything but wall-clock timings.
fn numbers(o: &TrainOutcome) -> String {
    let mut o = o.clone();
    o.train_seconds = 0.0;
    o.samples_per_second = 0.0;
    o.history.iter_mut().for_each(|h| h.samples_per_second = 0.0);
    serde_json::to_string(&o).unwrap()
}

#[test]
fn same_seed_same_numbers_and_another_seed_differs() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let config = TrainConfig { epochs: 2, batch_size: 32, warmup_epochs: 0, seed: 7, ..Default::default() };
    let never = AtomicBool::new(false);
    let a = run(&config, &never);
    let b = run(&config, &never);
    assert_eq!(numbers(&a), numbers(&b));
    let c = run(&TrainConfig { seed: 8, ..config }, &never);
    assert_ne!(a.history[0].train_loss, c.history[0].train_loss);
}

#[test]
fn learns_the_synthetic_task() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let config = TrainConfig { epochs: 12, batch_size: 32, seed: 1, ..Default::default() };
    let o = run(&config, &AtomicBool::new(false));
    assert!(o.history.last().unwrap().train_loss < o.history[0].train_loss / 4.0, "{:?}", o.history);
    assert!(o.best.val.macro_f1 > 0.9, "best val macro-F1 {}", o.best.val.macro_f1);
    let test = o.best.test.as_ref().unwrap();
    assert!(test.accuracy > 0.8, "test accuracy {}", test.accuracy);
}

#[test]
fn a_raised_stop_flag_ends_the_run_with_a_model() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let o = run(&TrainConfig { epochs: 5, batch_size: 32, seed: 1, ..Default::default() }, &AtomicBool::new(true));
    assert!(o.interrupted);
    assert_eq!(o.epochs_run, 0);
    assert_eq!(o.best.test.as_ref().unwrap().confusion.iter().flatten().sum::<usize>(), 240);
}

#[test]
fn a_withheld_test_split_is_never_scored_and_changes_no_other_number() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let config = TrainConfig { epochs: 3, batch_size: 32, warmup_epochs: 0, seed: 4, ..Default::default() };
    let never = AtomicBool::new(false);
    let scored = run(&config, &never);
    let withheld = run(&TrainConfig { test_split: TestSplit::Withheld, ..config.clone() }, &never);
    assert!(scored.best.test.is_some() && scored.last.test.is_some());
    assert_eq!((&withheld.best.test, &withheld.last.test), (&None, &None));
    // Training and validation are untouched: the scored run less its test scores is the
    // withheld run, number for number.
    let mut without_test = scored.clone();
    without_test.best.test = None;
    without_test.last.test = None;
    assert_eq!(numbers(&without_test), numbers(&withheld));
    // The default is not serialised (config hashes and teacher keys of earlier runs hold); the
    // withheld setting is, so a selection run never shares a key with a final run.
    assert!(!serde_json::to_string(&config).unwrap().contains("test_split"));
    let json = serde_json::to_string(&TrainConfig { test_split: TestSplit::Withheld, ..config }).unwrap();
    assert!(json.contains(r#""test_split":"withheld""#), "{json}");
    assert!(!serde_json::to_string(&withheld).unwrap().contains(r#""test""#), "a withheld outcome holds no test scores");
}

#[test]
fn weight_averaging_changes_what_is_evaluated_not_what_is_trained() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let config = TrainConfig { epochs: 2, batch_size: 32, warmup_epochs: 0, seed: 3, ..Default::default() };
    let never = AtomicBool::new(false);
    let plain = run(&config, &never);
    let averaged = run(&TrainConfig { ema_decay: 0.99, ..config }, &never);
    // The optimiser steps the same live weights: identical training losses, epoch by epoch.
    let losses = |o: &TrainOutcome| o.history.iter().map(|h| h.train_loss).collect::<Vec<_>>();
    assert_eq!(losses(&plain), losses(&averaged));
    // What is validated and kept is the average, which lags the live weights.
    assert_ne!(numbers(&plain), numbers(&averaged));
    // The kept checkpoint is the average as it was at its epoch, not as it ended.
    for o in [&plain, &averaged] {
        assert_eq!(o.best.val.accuracy, o.history[o.best.epoch - 1].val_accuracy);
        assert_eq!(o.last.val.accuracy, o.history.last().unwrap().val_accuracy);
    }
}

#[test]
fn keep_last_hands_on_the_last_epoch_and_changes_no_training_number() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let config = TrainConfig { epochs: 6, batch_size: 32, lr: 0.02, warmup_epochs: 0, seed: 5, patience: None, ..Default::default() };
    let never = AtomicBool::new(false);
    let (best_kept, best) = run_kept(&config, &never);
    let (last_kept, last) = run_kept(&TrainConfig { keep: harbench_train::Keep::Last, ..config }, &never);
    // Training and scoring are the same; only the model handed on differs.
    assert_eq!(numbers(&best), numbers(&last));
    assert_eq!(best_kept, best.best.test.as_ref().unwrap().accuracy);
    assert_eq!(last_kept, last.last.test.as_ref().unwrap().accuracy);
    assert_ne!(best.best.epoch, best.epochs_run, "this seed's best epoch should not be the last, or the test shows nothing");
}

#[test]
fn robust_scaling_reaches_the_batches_and_is_written_only_when_chosen() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = registry::find("synthetic").unwrap();
    let data = prepare::load(&DataDir::new(tmp.path()), ds, &Overrides::default(), &Silent).unwrap();
    let fold = split::folds(&data.windows, &data.meta, &ds.spec().holdout, &SplitConfig::default()).unwrap().remove(0);
    let robust = TrainConfig { scaling: split::Scaling::Robust, ..Default::default() };
    let splits = harbench_train::trainer::Splits::new(&data, &fold, &robust.clone().check().unwrap()).unwrap();
    assert_eq!(splits.normalizer, split::Normalizer::fit_with(&data.windows, &fold.train, split::Scaling::Robust));
    assert!(splits.normalizer.clip.is_some());
    // Clipped to the fences, then mapped to [0, 1]: every scaled value lies in it.
    let (low, high) = splits.test.x.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    assert!(low >= 0.0 && high <= 1.0, "{low} … {high}");
    // The default is not serialised, so settings (and run keys) from before the choice hold.
    assert!(!serde_json::to_string(&TrainConfig::default()).unwrap().contains("scaling"));
    assert!(serde_json::to_string(&robust).unwrap().contains(r#""scaling":"robust""#));
}
