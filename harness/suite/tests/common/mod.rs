//! Hand-built plans, outcomes and records for the suite crate's tests.
#![allow(dead_code)]

use harbench_suite::gitinfo::GitInfo;
use harbench_suite::machine::{Kernels, Machine};
use harbench_suite::plan::{self, Plan, RunSpec};
use harbench_suite::record::{DatasetInfo, Headline, RunOutput, RunRecord, SplitInfo, Status, Timings, RECORD_SCHEMA};
use harbench_suite::spec::{self, Known};
use harbench_train::metrics::evaluate;
use harbench_train::trainer::Scores;
use harbench_train::TrainOutcome;
use std::path::Path;

pub fn known() -> Known {
    Known::new(&["synthetic", "uci-har"], &harbench_models::preset_names(), &["none", "kd", "dkd", "smldist"])
}

pub fn plan(text: &str) -> Plan {
    let suite = spec::parse(text, Path::new("t.yaml"), "t", &known()).unwrap();
    plan::expand(&suite).unwrap()
}

pub fn machine(name: &str) -> Machine {
    Machine {
        name: name.into(),
        hostname: None,
        cpu: "test cpu".into(),
        arch: "x86_64".into(),
        physical_cores: Some(2),
        logical_cores: 2,
        memory_bytes: 1 << 30,
        os: None,
        kernel: None,
        gpus: vec![],
        kernels: Some(Kernels { simd: "x86-64 avx2+fma".into(), caches: "L1d 32K, L2 512K".into(), numerics: Some("native".into()) }),
    }
}

pub fn git(commit: &str) -> GitInfo {
    GitInfo { commit: Some(commit.into()), dirty: false, branch: None }
}

/// An outcome whose test accuracy is `correct / 10` (10 test windows, 2 classes).
pub fn outcome(correct: usize) -> TrainOutcome {
    let truth = vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
    let predicted: Vec<usize> = truth.iter().enumerate().map(|(i, &t)| if i < correct { t } else { 1 - t }).collect();
    let m = evaluate(2, &truth, &predicted);
    let scores = Scores { epoch: 1, val: m.clone(), test: Some(m) };
    TrainOutcome {
        best: scores.clone(),
        last: scores,
        epochs_run: 1,
        parameters: 1234,
        train_seconds: 0.01,
        samples_per_second: 1000.0,
        interrupted: false,
        history: vec![],
        pretrain_losses: vec![],
        search: None,
    }
}

pub fn output(correct: usize) -> RunOutput {
    RunOutput {
        dataset: DatasetInfo {
            id: "synthetic".into(),
            cache_hash: "abc".into(),
            source_checksums: Default::default(),
            prepare: serde_json::json!({}),
            windows: 20,
            classes: vec!["a".into(), "b".into()],
        },
        split: SplitInfo {
            protocol: "holdout-subjects".into(),
            fold: "holdout".into(),
            test_subjects: vec![1],
            val_subjects: vec![2],
            leaky: false,
            sizes: [8, 2, 10],
        },
        outcome: outcome(correct),
        teacher: None,
        distillation: None,
        cost: harbench_suite::record::Cost::Skipped,
        environment: None,
    }
}

/// A finished record of `run` with the given test accuracy and macro-F1.
pub fn record(run: &RunSpec, accuracy: f64, macro_f1: f64) -> RunRecord {
    let h =
        Headline { epoch: 3, val_accuracy: accuracy, val_macro_f1: macro_f1, test_accuracy: Some(accuracy), test_macro_f1: Some(macro_f1) };
    RunRecord {
        schema: RECORD_SCHEMA,
        key: run.key.clone(),
        suite: run.suite.clone(),
        status: Status::Finished,
        failure: None,
        config_hash: run.config_hash(),
        config: run.clone(),
        model_config: None,
        best: Some(h.clone()),
        last: Some(h),
        best_test: None,
        parameters: Some(5000),
        budget_exhausted: false,
        unavailable: false,
        output: None,
        timings: Timings { started: 0.0, finished: 1.0, wall_seconds: 1.0, train_seconds: Some(1.0), samples_per_second: Some(100.0) },
        git: git("0123456789abcdef"),
        machine: "box".into(),
        harbench_version: "test".into(),
    }
}
