//! Every method distils a student end to end on the synthetic dataset (no download), through
//! harbench-train's loop; runs are deterministic for a seed.

use harbench_common::progress::{Progress, Silent, StopAt};
use harbench_data::prepare::{self, DataDir, Overrides};
use harbench_data::split::{self, SplitConfig};
use harbench_data::{cache::Prepared, registry as datasets};
use harbench_distill::{distill, distill_with_cache, registry, DistillOutcome};
use harbench_models::device::test_device;
use harbench_models::{HeadKind, ModelConfig};
use harbench_train::{train, EpochCheckpoints, Task, TrainConfig, TrainContext};
use serde_json::{json, Map, Value};
use std::sync::atomic::AtomicBool;

/// burn's random generator is one per process: tests that seed it run one at a time, or a
/// parallel test's draws would land between a seeded run's draws.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn data() -> (tempfile::TempDir, Prepared, harbench_data::split::Fold) {
    let tmp = tempfile::tempdir().unwrap();
    let ds = datasets::find("synthetic").unwrap();
    let data = prepare::load(&DataDir::new(tmp.path()), ds, &Overrides::default(), &Silent).unwrap();
    let fold = split::folds(&data.windows, &data.meta, &ds.spec().holdout, &SplitConfig::default()).unwrap().remove(0);
    (tmp, data, fold)
}

struct Setup {
    _tmp: tempfile::TempDir,
    data: Prepared,
    fold: harbench_data::split::Fold,
    teacher: harbench_train::Trained,
    config: TrainConfig,
}

/// The data and a teacher trained for 2 epochs, shared by the runs of a test.
fn setup() -> Setup {
    let (tmp, data, fold) = data();
    // A Hopfield head, so that SMLDist's memory distillation has a memory to learn from.
    let teacher_config =
        ModelConfig::preset("mobilenetv3-large-1d", Some(0.25)).unwrap().with_heads("teacher", vec![HeadKind::Hopfield]).unwrap();
    let config = TrainConfig { epochs: 2, batch_size: 32, warmup_epochs: 0, seed: 5, ..Default::default() };
    let teacher = train(
        &teacher_config,
        Task { data: &data, fold: &fold, config: &config.clone().check().unwrap() },
        &TrainContext::new(&test_device(), &Silent, &AtomicBool::new(false)),
    )
    .unwrap();
    Setup { _tmp: tmp, data, fold, teacher, config }
}

fn run(s: &Setup, method: &str, params: Value, epochs: usize) -> DistillOutcome {
    run_with(s, method, params, TrainConfig { epochs, ..s.config.clone() })
}

fn run_with(s: &Setup, method: &str, params: Value, config: TrainConfig) -> DistillOutcome {
    let student = ModelConfig::preset("mobilenetv3-small-1d", Some(0.25)).unwrap();
    let params: Map<String, Value> = serde_json::from_value(params).unwrap();
    let (m, mix) = registry::build(method, &params).unwrap();
    let never = AtomicBool::new(false);
    let (_, outcome) = distill(
        &student,
        &s.teacher.model,
        m,
        mix,
        Task { data: &s.data, fold: &s.fold, config: &config.check().unwrap() },
        &TrainContext::new(&test_device(), &Silent, &never),
    )
    .unwrap();
    // The teacher's scores are the ones it had after its own training.
    assert_eq!(outcome.teacher.test, s.teacher.outcome.best.test);
    outcome
}

fn numbers(o: &DistillOutcome) -> String {
    let mut o = o.clone();
    o.student.train_seconds = 0.0;
    o.student.samples_per_second = 0.0;
    o.student.history.iter_mut().for_each(|h| h.samples_per_second = 0.0);
    serde_json::to_string(&o).unwrap()
}

#[test]
fn every_method_trains_one_epoch() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let s = setup();
    for method in registry::names() {
        let params = match method {
            "fsp" | "ft" | "ab" => json!({"pretrain_epochs": 1}),
            "crd" => json!({"nce_k": 256}),
            _ => json!({}),
        };
        let o = run(&s, method, params, 1);
        assert_eq!(o.student.epochs_run, 1, "{method}");
        assert!(o.student.history[0].train_loss.is_finite(), "{method}");
        assert!(!o.terms.is_empty() && o.terms.values().all(|v| v.is_finite()), "{method}: {:?}", o.terms);
        assert_eq!(o.student.best.test.as_ref().unwrap().confusion.iter().flatten().sum::<usize>(), 240, "{method}");
        let pretrain = match method {
            "fsp" | "ft" | "ab" => 1,
            "smldist" => 3, // one progressive epoch per anchor
            _ => 0,
        };
        assert_eq!(o.student.pretrain_losses.len(), pretrain, "{method}");
        println!(
            "{method}: terms {:?}, student test acc {:.3} F1 {:.3}, parts {} params",
            o.terms,
            o.student.best.test.as_ref().unwrap().accuracy,
            o.student.best.test.as_ref().unwrap().macro_f1,
            o.part_parameters
        );
    }
}

#[test]
fn same_seed_same_numbers_and_kd_learns() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let s = setup();
    let a = run(&s, "kd", json!({}), 3);
    let b = run(&s, "kd", json!({}), 3);
    assert_eq!(numbers(&a), numbers(&b));
    let h = &a.student.history;
    assert!(h[2].train_loss < h[0].train_loss, "{h:?}");
    // CRD's random negatives are seeded too.
    let c = run(&s, "crd", json!({"nce_k": 64}), 1);
    let d = run(&s, "crd", json!({"nce_k": 64}), 1);
    assert_eq!(numbers(&c), numbers(&d));
}

#[test]
fn smldist_searches_heads_within_the_budget_and_is_deterministic() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let s = setup();
    // Room for the backbone with a linear or cosine head, not for the MLP or Hopfield heads.
    let linear = ModelConfig::preset("mobilenetv3-small-1d", Some(0.25))
        .unwrap()
        .build(s.data.windows.channels, s.data.meta.classes.len(), &test_device())
        .trainable_params();
    let mut config = TrainConfig { epochs: 2, ..s.config.clone() };
    config.search.max_params = Some(linear + 10);
    let a = run_with(&s, "smldist", json!({}), config.clone());
    let search = a.student.search.as_ref().expect("four heads were searched");
    assert!(search.fits_budget);
    assert_eq!(search.candidates.len(), 5, "four single heads and the best pair");
    let chosen = search.candidates.iter().find(|c| c.heads == search.chosen).unwrap();
    assert!(chosen.within_budget && chosen.parameters <= linear + 10, "{search:?}");
    assert!(search.chosen.iter().all(|k| matches!(k, HeadKind::Linear | HeadKind::Cosine)), "{:?}", search.chosen);
    assert_eq!(a.student.parameters, chosen.parameters);
    let best_in_budget = search.candidates.iter().filter(|c| c.within_budget).map(|c| c.val.macro_f1).fold(f64::MIN, f64::max);
    assert_eq!(chosen.val.macro_f1, best_in_budget);
    // The architecture weights learned on validation batches: no longer uniform.
    let w = &a.student.history[0].head_weights;
    assert_eq!(w.len(), 4);
    assert!(w.iter().any(|&v| (v - 0.25).abs() > 1e-4), "{w:?}");
    for term in ["ce", "logits", "stage", "memory"] {
        assert!(a.terms.contains_key(term), "{term} missing: {:?}", a.terms);
    }
    let b = run_with(&s, "smldist", json!({}), config);
    assert_eq!(numbers(&a), numbers(&b));
}

#[test]
fn smldist_ablation_switches_remove_their_terms() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let s = setup();
    let terms = |params: Value| {
        let o = run(&s, "smldist", params, 1);
        (o.terms.keys().cloned().collect::<Vec<_>>(), o.student.pretrain_losses.len(), o.student.search.is_some())
    };
    let all = ["ce", "logits", "memory", "stage"].map(String::from).to_vec();
    assert_eq!(terms(json!({"heads": ["hopfield"]})), (all.clone(), 3, false));
    assert_eq!(terms(json!({"lambda_stage": 0, "heads": ["hopfield"]})), (vec!["ce".into(), "logits".into(), "memory".into()], 0, false));
    assert_eq!(terms(json!({"lambda_memory": 0, "heads": ["linear"]})), (vec!["ce".into(), "logits".into(), "stage".into()], 3, false));
    assert_eq!(terms(json!({"alpha": 0, "heads": ["hopfield"]})), (vec!["ce".into(), "memory".into(), "stage".into()], 3, false));
    // The frequency term's other designs (config fields) train through the same terms.
    assert_eq!(terms(json!({"freq_attention": "per_channel", "freq_spectrum": "log", "heads": ["hopfield"]})), (all.clone(), 3, false));
    assert_eq!(terms(json!({"lambda_freq": 0, "heads": ["hopfield"], "progressive_epochs": 0})), (all, 0, false));
    let err = registry::build("smldist", &serde_json::from_value(json!({"freq_spectrum": "loudness"})).unwrap()).err().unwrap().to_string();
    assert!(err.contains("loudness") && err.contains("normalised"), "{err}");
    // Memory distillation without a Hopfield head among the student's heads is a settings error.
    let err = registry::build("smldist", &serde_json::from_value(json!({"heads": ["linear"]})).unwrap()).err().unwrap().to_string();
    assert!(err.contains("hopfield"), "{err}");
}

fn run_cached(s: &Setup, method: &str, config: TrainConfig, cache_limit: usize) -> DistillOutcome {
    let student = ModelConfig::preset("mobilenetv3-small-1d", Some(0.25)).unwrap();
    let (m, mix) = registry::build(method, &Map::new()).unwrap();
    let never = AtomicBool::new(false);
    let config = config.check().unwrap();
    let (_, outcome) = distill_with_cache(
        &student,
        &s.teacher.model,
        m,
        mix,
        Task { data: &s.data, fold: &s.fold, config: &config },
        &TrainContext::new(&test_device(), &Silent, &never),
        cache_limit,
    )
    .unwrap();
    outcome
}

/// Everything but the cache's own statistics.
fn without_cache_stats(o: &DistillOutcome) -> String {
    numbers(&DistillOutcome { teacher_cache: None, ..o.clone() })
}

#[test]
fn the_teacher_cache_changes_no_number() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let s = setup();
    let config = TrainConfig { epochs: 2, ..s.config.clone() };
    let windows = s.fold.train.len();
    let batches = windows / config.batch_size;
    // KD reads the logits; SMLDist every output (anchors, pooled, memory query); FSP anchors, in a
    // pre-training stage too.
    for method in ["kd", "smldist", "fsp"] {
        let plain = run_cached(&s, method, config.clone(), 0);
        assert_eq!(plain.teacher_cache, None);
        let cached = run_cached(&s, method, config.clone(), 1 << 30);
        assert_eq!(without_cache_stats(&cached), without_cache_stats(&plain), "{method}: the cache changed a number");
        let stats = cached.teacher_cache.clone().unwrap();
        let epochs = config.epochs + registry::build(method, &Map::new()).unwrap().0.pretrain_epochs();
        assert_eq!(stats.hits + stats.misses, epochs * batches, "{method}: {stats:?}");
        assert!(stats.misses < 2 * batches && stats.hits > 0, "{method}: the teacher ran on most batches: {stats:?}");
        assert!(stats.windows <= windows && stats.windows >= batches * config.batch_size, "{stats:?}");

        if method != "smldist" {
            continue;
        }
        // A bound that holds a third of the windows: the rest are recomputed, nothing changes.
        let third = stats.bytes / stats.windows * (windows / 3);
        let bounded = run_cached(&s, method, config.clone(), third);
        let b = bounded.teacher_cache.clone().unwrap();
        assert!(b.bytes <= third && b.windows < windows / 2, "{b:?}");
        assert_eq!(without_cache_stats(&bounded), without_cache_stats(&plain), "{method}: a bounded cache changed a number");
    }
    // With augmentation a window's input changes every epoch: no cache.
    let augmented = run_cached(&s, "kd", TrainConfig { augment_jitter: 0.05, ..config }, 1 << 30);
    assert_eq!(augmented.teacher_cache, None);
}

fn run_checkpointed(
    s: &Setup,
    (method, options): (&str, &Value),
    config: &TrainConfig,
    checkpoints: &EpochCheckpoints,
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> DistillOutcome {
    let student = ModelConfig::preset("mobilenetv3-small-1d", Some(0.25)).unwrap();
    let (m, mix) = registry::build(method, &serde_json::from_value(options.clone()).unwrap()).unwrap();
    let config = config.clone().check().unwrap();
    distill(
        &student,
        &s.teacher.model,
        m,
        mix,
        Task { data: &s.data, fold: &s.fold, config: &config },
        &TrainContext::new(&test_device(), progress, stop).with_checkpoints(Some(checkpoints)),
    )
    .unwrap()
    .1
}

#[test]
fn a_distillation_stopped_part_way_resumes_to_the_numbers_of_an_unbroken_run() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let s = setup();
    let config = TrainConfig { epochs: 3, ..s.config.clone() };
    let never = AtomicBool::new(false);
    // KD; FSP with a pre-training stage (skipped on resuming: the saved student holds it);
    // SMLDist as its authors released it, with its stage phases (a fresh Adam each) before the
    // main epochs and their own logits loss (no head copy: this pair's pooled widths differ).
    let smldist_code = json!({"preset": "code", "progressive_epochs": 1, "copy_head": false});
    for (method, options) in [("kd", json!({})), ("fsp", json!({})), ("smldist", smldist_code)] {
        let whole = run_with(&s, method, options.clone(), config.clone());
        let tmp = tempfile::tempdir().unwrap();
        let checkpoints = EpochCheckpoints { dir: tmp.path().join("run.epochs"), identity: method.into() };
        let stop = AtomicBool::new(false);
        let stop_at = StopAt { trigger: "epoch 2: val", stop: &stop };
        let first = run_checkpointed(&s, (method, &options), &config, &checkpoints, &stop_at, &stop);
        assert!(first.student.interrupted, "{method}");
        assert_eq!(checkpoints.saved_epoch(), Some(2), "{method}");
        let resumed = run_checkpointed(&s, (method, &options), &config, &checkpoints, &Silent, &never);
        // The teacher cache starts empty again after a restart: only its counts differ.
        let plain = |o: &DistillOutcome| numbers(&DistillOutcome { teacher_cache: None, ..o.clone() });
        assert_eq!(plain(&resumed), plain(&whole), "{method}: the resumed run differs");
    }
    // CRD's memory banks are not saved: it never leaves a state to resume from.
    let tmp = tempfile::tempdir().unwrap();
    let checkpoints = EpochCheckpoints { dir: tmp.path().join("run.epochs"), identity: "crd".into() };
    run_checkpointed(&s, ("crd", &json!({})), &TrainConfig { epochs: 1, ..s.config.clone() }, &checkpoints, &Silent, &never);
    assert_eq!(checkpoints.saved_epoch(), None);
}
