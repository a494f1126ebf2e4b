//! The runner with a scripted executor: records, resume, failures, locks, budgets, interrupts.

mod common;

use common::*;
use harbench_common::progress::Silent;
use harbench_suite::machine::Kernels;
use harbench_suite::plan::RunSpec;
use harbench_suite::record::{RunOutput, Status};
use harbench_suite::runner::{self, ExecError, Executor, Feedback, RunContext, Summary, Target, Unavailable};
use harbench_suite::store::{self, Claim, ResultsStore};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

const SUITE: &str = "\
datasets: [synthetic]
seeds: [0, 1]
teacher: {model: mobilenetv3-large-1d}
experiments:
  - {name: kd, models: [mobilenetv3-small-1d], methods: [none, kd]}
";

/// Answers per run key: `fail:` prefixes fail, `nan` fails like a diverged loss, `wait` trains
/// until stopped, `panic` panics; everything else succeeds with 8/10 correct.
struct Scripted {
    script: Vec<(&'static str, &'static str)>,
    calls: RefCell<Vec<String>>,
}

impl Scripted {
    fn new(script: &[(&'static str, &'static str)]) -> Self {
        Scripted { script: script.to_vec(), calls: RefCell::new(vec![]) }
    }
}

impl Executor for Scripted {
    fn run(&self, run: &RunSpec, ctx: &RunContext) -> Result<RunOutput, ExecError> {
        self.calls.borrow_mut().push(run.key.clone());
        // What a training run leaves after its first epoch.
        if let Some(c) = &ctx.checkpoints {
            std::fs::create_dir_all(&c.dir)?;
            std::fs::write(c.dir.join("state-1.json"), &c.identity)?;
        }
        let action = self.script.iter().find(|(k, _)| run.key.contains(k)).map(|(_, a)| *a).unwrap_or("ok");
        match action {
            "nan" => Err("loss became NaN at epoch 1, step 3 (try a lower learning rate)".into()),
            "unavailable" => Err(Box::new(Unavailable(format!("method '{}' is not available in this build", run.method.name)))),
            "panic" => panic!("index out of bounds"),
            "wait" => {
                while !ctx.stop.load(Ordering::SeqCst) {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                let mut out = output(5);
                out.outcome.interrupted = true;
                Ok(out)
            }
            _ => Ok(output(8)),
        }
    }
}

fn target(root: &std::path::Path) -> Target {
    Target { store: ResultsStore::new(root), git: git("0123456789abcdef0123"), machine: machine("box") }
}

fn go(plan: &harbench_suite::plan::Plan, t: &Target, e: &dyn Executor, stop: &AtomicBool) -> (Summary, Vec<String>) {
    let lines = Mutex::new(Vec::new());
    let log = |l: &str| lines.lock().unwrap().push(l.to_string());
    let s = runner::run(plan, t, e, &[], &Feedback { log: &log, runs: &Silent, inner: &Silent, stop }).unwrap();
    (s, lines.into_inner().unwrap())
}

#[test]
fn records_every_run_then_skips_them_all() {
    let tmp = tempfile::tempdir().unwrap();
    let t = target(tmp.path());
    let p = plan(SUITE);
    let e = Scripted::new(&[]);
    let (s, _) = go(&p, &t, &e, &AtomicBool::new(false));
    // 2 teachers + 2 × (none, kd).
    assert_eq!(s, Summary { finished: 6, ..Default::default() });
    let dir = tmp.path().join("t/0123456789ab/box");
    assert_eq!(dir, t.dir("t"));
    assert!(dir.join("machine.json").is_file());
    let records = ResultsStore::records(&dir).unwrap();
    assert_eq!(records.len(), 6);
    let r = records.iter().find(|r| r.key == "synthetic.mobilenetv3-small-1d.kd.holdout.s1").unwrap();
    assert_eq!(r.status, Status::Finished);
    assert_eq!(r.best.as_ref().unwrap().test_accuracy, Some(0.8));
    assert_eq!(r.config.teacher.as_ref().unwrap().run_key, "synthetic.teacher.none.holdout.s1");
    assert_eq!(r.git.commit.as_deref(), Some("0123456789abcdef0123"));
    assert_eq!(r.parameters, Some(1234));
    assert!(r.model_config.is_some());
    // No lock files are left behind.
    assert!(std::fs::read_dir(&dir).unwrap().flatten().all(|e| !e.file_name().to_string_lossy().ends_with(".lock")));

    let again = Scripted::new(&[]);
    let (s, log) = go(&p, &t, &again, &AtomicBool::new(false));
    assert_eq!(s, Summary { skipped: 6, ..Default::default() });
    assert!(again.calls.borrow().is_empty());
    assert!(log.iter().all(|l| l.ends_with("skipped (finished earlier)")), "{log:?}");
}

#[test]
fn a_folder_made_on_other_cpu_kernels_is_not_extended() {
    let tmp = tempfile::tempdir().unwrap();
    let t = target(tmp.path());
    let p = plan(SUITE);
    go(&p, &t, &Scripted::new(&[]), &AtomicBool::new(false));
    let dir = t.dir("t");
    let before = std::fs::read_to_string(dir.join("machine.json")).unwrap();
    std::fs::remove_file(dir.join("synthetic.mobilenetv3-small-1d.kd.holdout.s1.json")).unwrap();

    // Same folder name, other SIMD level: the run that is missing is not made here.
    let mut elsewhere = target(tmp.path());
    elsewhere.machine.kernels =
        Some(Kernels { simd: "x86-64 avx512f".into(), caches: "L1d 32K, L2 512K".into(), numerics: Some("native".into()) });
    let e = Scripted::new(&[]);
    let log = |_: &str| {};
    let err = runner::run(&p, &elsewhere, &e, &[], &Feedback { log: &log, runs: &Silent, inner: &Silent, stop: &AtomicBool::new(false) })
        .unwrap_err()
        .to_string();
    assert!(err.contains("machine.json") && err.contains("(native: x86-64 avx2+fma with caches L1d 32K, L2 512K)"), "{err}");
    assert!(err.contains("this machine's (native: x86-64 avx512f with caches L1d 32K, L2 512K)") && err.contains("--machine"), "{err}");
    assert!(e.calls.borrow().is_empty(), "nothing ran");
    assert_eq!(std::fs::read_to_string(dir.join("machine.json")).unwrap(), before, "the folder's machine.json is kept");
    assert_eq!(ResultsStore::records(&dir).unwrap().len(), 5);

    // The same kernels carry on, and so does a folder whose machine.json predates the field.
    let mut old: serde_json::Value = serde_json::from_str(&before).unwrap();
    old.as_object_mut().unwrap().remove("kernels");
    std::fs::write(dir.join("machine.json"), old.to_string()).unwrap();
    std::fs::remove_file(dir.join("synthetic.mobilenetv3-small-1d.kd.holdout.s0.json")).unwrap();
    let (s, log) = go(&p, &elsewhere, &Scripted::new(&[]), &AtomicBool::new(false));
    assert_eq!(s, Summary { finished: 2, skipped: 4, ..Default::default() });
    assert!(log[0].starts_with("warning: ") && log[0].contains("predates the record of CPU kernels"), "{log:?}");
    assert!(log[0].contains("(native: x86-64 avx512f with caches L1d 32K, L2 512K)"), "{log:?}");
    // Written again, the file names its kernels, and no warning follows.
    let (_, log) = go(&p, &elsewhere, &Scripted::new(&[]), &AtomicBool::new(false));
    assert!(log.iter().all(|l| !l.contains("warning")), "{log:?}");
}

#[test]
fn portable_numerics_share_a_folder_across_cpu_kinds() {
    let tmp = tempfile::tempdir().unwrap();
    let portable =
        |simd: &str, caches: &str| Some(Kernels { simd: simd.into(), caches: caches.into(), numerics: Some("portable-x86-64-v3".into()) });
    let p = plan(SUITE);
    let mut avx512 = target(tmp.path());
    avx512.machine.kernels = portable("x86-64 avx512f", "L1d 48K, L2 2048K");
    go(&p, &avx512, &Scripted::new(&[]), &AtomicBool::new(false));
    let dir = avx512.dir("t");
    std::fs::remove_file(dir.join("synthetic.mobilenetv3-small-1d.kd.holdout.s1.json")).unwrap();

    // An AVX2 machine with other caches adds the missing run to the same set.
    let mut avx2 = target(tmp.path());
    avx2.machine.kernels = portable("x86-64 avx2+fma", "L1d 32K, L2 512K");
    let (s, _) = go(&p, &avx2, &Scripted::new(&[]), &AtomicBool::new(false));
    assert_eq!(s, Summary { finished: 1, skipped: 5, ..Default::default() });

    // Native kernels do not.
    let mut native = target(tmp.path());
    native.machine.kernels = Some(Kernels { numerics: Some("native".into()), ..portable("x86-64 avx2+fma", "L1d 32K").unwrap() });
    std::fs::remove_file(dir.join("synthetic.mobilenetv3-small-1d.kd.holdout.s1.json")).unwrap();
    let log = |_: &str| {};
    let err = runner::run(
        &p,
        &native,
        &Scripted::new(&[]),
        &[],
        &Feedback { log: &log, runs: &Silent, inner: &Silent, stop: &AtomicBool::new(false) },
    )
    .unwrap_err();
    assert!(err.to_string().contains("(portable-x86-64-v3 (here on x86-64 avx2+fma"), "{err}");
}

#[test]
fn failures_are_recorded_with_their_reason_and_the_suite_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let t = target(tmp.path());
    let p = plan(SUITE);
    let e = Scripted::new(&[("small-1d.none.holdout.s0", "nan"), ("kd.holdout.s1", "unavailable"), ("teacher.none.holdout.s1", "panic")]);
    let (s, log) = go(&p, &t, &e, &AtomicBool::new(false));
    assert_eq!(e.calls.borrow().len(), 6, "every run was tried");
    assert_eq!((s.finished, s.failed, s.unavailable), (3, 3, 1));
    let dir = t.dir("t");
    let nan = ResultsStore::read(&dir, "synthetic.mobilenetv3-small-1d.none.holdout.s0").unwrap().unwrap();
    assert_eq!(nan.status, Status::Failed);
    assert!(nan.failure.as_deref().unwrap().contains("loss became NaN"), "{:?}", nan.failure);
    assert!(nan.best.is_none() && nan.output.is_none() && !nan.unavailable);
    let na = ResultsStore::read(&dir, "synthetic.mobilenetv3-small-1d.kd.holdout.s1").unwrap().unwrap();
    assert!(na.unavailable && na.failure.unwrap().contains("not available in this build"));
    let panicked = ResultsStore::read(&dir, "synthetic.teacher.none.holdout.s1").unwrap().unwrap();
    assert!(panicked.failure.unwrap().contains("panicked: index out of bounds"));
    assert!(log.iter().any(|l| l.contains("FAILED: loss became NaN")), "{log:?}");

    // Failed runs run again; finished ones do not.
    let retry = Scripted::new(&[]);
    let (s, _) = go(&p, &t, &retry, &AtomicBool::new(false));
    assert_eq!((s.finished, s.skipped), (3, 3));
    let mut retried = retry.calls.borrow().clone();
    retried.sort();
    assert_eq!(
        retried,
        [
            "synthetic.mobilenetv3-small-1d.kd.holdout.s1",
            "synthetic.mobilenetv3-small-1d.none.holdout.s0",
            "synthetic.teacher.none.holdout.s1"
        ]
    );
}

#[test]
fn changed_settings_run_again_and_filters_select_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let t = target(tmp.path());
    let e = Scripted::new(&[]);
    let lines = Mutex::new(Vec::new());
    let log = |l: &str| lines.lock().unwrap().push(l.to_string());
    let s = runner::run(
        &plan(SUITE),
        &t,
        &e,
        &["*.s0".into()],
        &Feedback { log: &log, runs: &Silent, inner: &Silent, stop: &AtomicBool::new(false) },
    )
    .unwrap();
    assert_eq!(s.finished, 3);
    assert!(e.calls.borrow().iter().all(|k| k.ends_with(".s0")));
    let changed = plan(&SUITE.replace("seeds: [0, 1]", "seeds: [0, 1]\ntrain: {epochs: 7}"));
    let e2 = Scripted::new(&[]);
    let (s, log) = go(&changed, &t, &e2, &AtomicBool::new(false));
    assert_eq!(s.finished, 6);
    assert_eq!(log.iter().filter(|l| l.contains("settings changed since its result")).count(), 3, "{log:?}");
}

#[test]
fn a_run_held_by_a_live_runner_is_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let t = target(tmp.path());
    let dir = t.dir("t");
    let held = match store::claim(&dir, "synthetic.teacher.none.holdout.s0").unwrap() {
        Claim::Acquired(l) => l,
        Claim::Busy(_) => unreachable!(),
    };
    let e = Scripted::new(&[]);
    let (s, log) = go(&plan(SUITE), &t, &e, &AtomicBool::new(false));
    assert_eq!((s.finished, s.busy), (5, 1));
    assert!(log.iter().any(|l| l.contains("being run by pid")), "{log:?}");
    assert!(ResultsStore::read(&dir, "synthetic.teacher.none.holdout.s0").unwrap().is_none());
    drop(held);
}

#[test]
fn the_time_budget_cuts_a_run_short_and_it_still_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let t = target(tmp.path());
    // 0.002 min = 120 ms.
    let text = "datasets: [synthetic]\nseeds: [0]\nbudget: {max_run_minutes: 0.002}\nexperiments: [{name: a, models: [mobilenetv3-small-1d], methods: [none]}]\n";
    let e = Scripted::new(&[("none", "wait")]);
    let started = std::time::Instant::now();
    let (s, log) = go(&plan(text), &t, &e, &AtomicBool::new(false));
    assert!(started.elapsed().as_secs_f64() < 5.0);
    assert_eq!(s.finished, 1, "{log:?}");
    let r = ResultsStore::read(&t.dir("t"), "synthetic.mobilenetv3-small-1d.none.holdout.s0").unwrap().unwrap();
    assert!(r.budget_exhausted && r.finished());
    assert!(r.timings.wall_seconds >= 0.12, "{}", r.timings.wall_seconds);
}

#[test]
fn an_interrupted_run_is_not_recorded_and_the_suite_stops() {
    let tmp = tempfile::tempdir().unwrap();
    let t = target(tmp.path());
    let stop = AtomicBool::new(false);
    let e = Scripted::new(&[("teacher.none.holdout.s1", "wait")]);
    let (s, log) = std::thread::scope(|scope| {
        scope.spawn(|| {
            // Ctrl-C while the second teacher trains.
            while !t.dir("t").join("synthetic.teacher.none.holdout.s0.json").exists() {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
            stop.store(true, Ordering::SeqCst);
        });
        go(&plan(SUITE), &t, &e, &stop)
    });
    assert!(s.interrupted && s.finished == 1, "{s:?} {log:?}");
    assert_eq!(e.calls.borrow().len(), 2);
    assert!(ResultsStore::read(&t.dir("t"), "synthetic.teacher.none.holdout.s1").unwrap().is_none());
    assert!(log.last().unwrap().contains("interrupted; not recorded"));
}

#[test]
fn each_run_keeps_epoch_checkpoints_of_its_own_until_its_record_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let t = target(tmp.path());
    let stop = AtomicBool::new(false);
    let p = plan(SUITE);
    let e = Scripted::new(&[("teacher.none.holdout.s1", "wait"), ("kd.holdout.s0", "nan")]);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !t.dir("t").join("synthetic.teacher.none.holdout.s1.epochs").exists() {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            stop.store(true, Ordering::SeqCst);
        });
        go(&p, &t, &e, &stop)
    });
    let dir = t.dir("t");
    // Recorded: its checkpoints are gone. Interrupted: they stay, named by the run's settings.
    assert!(!dir.join("synthetic.teacher.none.holdout.s0.epochs").exists());
    let kept = dir.join("synthetic.teacher.none.holdout.s1.epochs/state-1.json");
    let run = p.runs.iter().find(|r| r.key == "synthetic.teacher.none.holdout.s1").unwrap();
    assert_eq!(std::fs::read_to_string(kept).unwrap(), run.config_hash());
    // Failed runs are recorded too, and theirs go as well; the next start resumes the teacher.
    let (s, _) = go(&p, &t, &Scripted::new(&[("kd.holdout.s0", "nan")]), &AtomicBool::new(false));
    assert_eq!((s.finished, s.failed), (4, 1), "{s:?}");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().filter(|e| e.path().is_dir()).map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn dry_run_shows_states_and_estimates_from_recorded_speed() {
    let tmp = tempfile::tempdir().unwrap();
    let t = target(tmp.path());
    let p = plan(SUITE);
    let e = Scripted::new(&[("kd.holdout.s1", "nan")]);
    go(&p, &t, &e, &AtomicBool::new(false));
    let changed = plan(&SUITE.replace("seeds: [0, 1]", "seeds: [0, 1, 2]\ntrain: {epochs: 10}"));
    let rows = runner::dry_run(&changed, &t, &e, &[]).unwrap();
    let row = |k: &str| rows.iter().find(|r| r.key == k).unwrap().clone();
    // Seeds 0 and 1 ran with 30 epochs: stale now; seed 2 is new; nothing is done.
    assert_eq!(row("synthetic.mobilenetv3-small-1d.kd.holdout.s1").state, "failed");
    let stale = row("synthetic.mobilenetv3-small-1d.none.holdout.s0");
    assert_eq!(stale.state, "stale");
    // Recorded: 8 training windows for this split, 1000 samples/s for this model → 10 × 8 / 1000.
    assert_eq!(stale.basis, "recorded samples/s");
    assert!((stale.estimate.unwrap() - 0.08).abs() < 1e-12, "{stale:?}");
    // Seed 2 draws another split whose size nothing recorded, and this executor cannot tell.
    let new = row("synthetic.mobilenetv3-small-1d.none.holdout.s2");
    assert_eq!((new.state, new.estimate), ("pending", None));
    // The unchanged plan: everything but the failed run is done.
    let rows = runner::dry_run(&p, &t, &e, &[]).unwrap();
    assert_eq!(rows.iter().filter(|r| r.state == "done").count(), 5);
    let failed = rows.iter().find(|r| r.state == "failed").unwrap();
    assert_eq!(failed.basis, "recorded samples/s");

    // Another machine on the same store has no record of its own: it borrows box's speed, not
    // box's wall times, which are not its own.
    let elsewhere = Target { store: ResultsStore::new(tmp.path()), git: git("0123456789abcdef0123"), machine: machine("other") };
    let rows = runner::dry_run(&changed, &elsewhere, &e, &[]).unwrap();
    let borrowed = rows.iter().find(|r| r.key == "synthetic.mobilenetv3-small-1d.none.holdout.s0").unwrap();
    assert_eq!((borrowed.state, borrowed.basis.as_str()), ("pending", "samples/s of other machines"));
    assert!((borrowed.estimate.unwrap() - 0.08).abs() < 1e-12, "{borrowed:?}");
    let rows = runner::dry_run(&p, &elsewhere, &e, &[]).unwrap();
    let same = rows.iter().find(|r| r.key == "synthetic.mobilenetv3-small-1d.none.holdout.s0").unwrap();
    assert_eq!(same.basis, "samples/s of other machines", "box's wall time of the same run is not this machine's");
}

#[test]
fn dry_run_counts_a_methods_pre_training_epochs() {
    let tmp = tempfile::tempdir().unwrap();
    let t = target(tmp.path());
    let e = Scripted::new(&[]);
    // SMLDist's code preset trains one stage phase per anchor (2 × 2 epochs here) before its
    // main epochs. Both runs recorded the same speed on the same split; then the main epochs
    // change from 3 to 4.
    let suite = "\
datasets: [synthetic]
seeds: [0]
train: {epochs: 3}
teacher: {model: mobilenetv3-large-1d-authors, heads: [simh]}
experiments:
  - name: kd
    models: [mobilenetv3-large-1d-authors-student]
    methods: [none, {method: smldist, label: code, options: {preset: code, progressive_epochs: 2}}]
";
    go(&plan(suite), &t, &e, &AtomicBool::new(false));
    let more = plan(&suite.replace("train: {epochs: 3}", "train: {epochs: 4}"));
    let rows = runner::dry_run(&more, &t, &e, &[]).unwrap();
    let estimate = |k: &str| rows.iter().find(|r| r.key.contains(k)).unwrap().estimate.unwrap();
    let ratio = estimate(".code.") / estimate(".none.");
    assert!((ratio - 2.0).abs() < 1e-9, "(2·2 + 4) / 4 epochs, got {ratio}");
}

/// The loop state a run killed after `epoch` epochs leaves, written under `identity`.
fn killed_after(dir: &std::path::Path, epoch: usize, identity: &str, trained_samples: usize, train_seconds: f64) {
    let state = harbench_train::LoopState {
        format: harbench_train::CHECKPOINT_FORMAT,
        identity: identity.into(),
        settings: "{}".into(),
        tally: harbench_train::Tally { epoch, step: epoch, trained_samples, best_epoch: 1, best_macro_f1: 0.5, ..Default::default() },
        train_seconds,
        augment_word_pos: "0".into(),
        average_updates: None,
        objective: serde_json::Value::Null,
    };
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(format!("state-{epoch}.json")), serde_json::to_vec(&state).unwrap()).unwrap();
}

#[test]
fn dry_run_takes_the_fastest_speed_of_a_models_partly_trained_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let t = target(tmp.path());
    let p = plan(&SUITE.replace("seeds: [0, 1]", "seeds: [0, 1, 2]\ntrain: {epochs: 10}"));
    let e = Scripted::new(&[]);
    let dir = t.dir(&p.suite);
    let run = |k: &str| p.runs.iter().find(|r| r.key == k).unwrap();
    let (s0, s1) = (run("synthetic.teacher.none.holdout.s0"), run("synthetic.teacher.none.holdout.s1"));
    // Seed 0's 4 epochs ran beside a build at 2 samples/s; seed 1's 8 epochs at 16 samples/s.
    killed_after(&store::checkpoints_path(&dir, &s0.key), 4, &s0.config_hash(), 32, 16.0);
    killed_after(&store::checkpoints_path(&dir, &s1.key), 8, &s1.config_hash(), 64, 4.0);
    let rows = runner::dry_run(&p, &t, &EightWindows(e), &[]).unwrap();
    let row = |k: &str| rows.iter().find(|r| r.key == k).unwrap().clone();
    // Seed 0's 6 epochs left of 8 windows go at seed 1's 16 samples/s, not its own 2: 3 s, not 24.
    let slow = row(&s0.key);
    assert_eq!(slow.basis, "resumes after epoch 4: 6 epoch(s) at its siblings' faster samples/s");
    assert!((slow.estimate.unwrap() - 6.0 * 8.0 / 16.0).abs() < 1e-12, "{slow:?}");
    // Seed 1 keeps its own speed.
    let fast = row(&s1.key);
    assert_eq!(fast.basis, "resumes after epoch 8: 2 epoch(s) at its own samples/s");
    // Seed 2 never started and no record exists: 10 epochs at its siblings' speed, not the
    // default guess.
    let fresh = row("synthetic.teacher.none.holdout.s2");
    assert_eq!(fresh.basis, "samples/s of its siblings' epochs so far", "{fresh:?}");
    assert!((fresh.estimate.unwrap() - 10.0 * 8.0 / 16.0).abs() < 1e-12, "{fresh:?}");
    assert!(!fresh.guessed());
}

/// An executor that knows each run's training windows (8 an epoch) and trains nothing.
struct EightWindows(Scripted);

impl Executor for EightWindows {
    fn run(&self, run: &RunSpec, ctx: &RunContext) -> Result<RunOutput, ExecError> {
        self.0.run(run, ctx)
    }
    fn training_windows(&self, _run: &RunSpec) -> Option<usize> {
        Some(8)
    }
}

#[test]
fn dry_run_counts_only_the_epochs_a_resumed_run_has_left() {
    let tmp = tempfile::tempdir().unwrap();
    let t = target(tmp.path());
    let p = plan(&SUITE.replace("seeds: [0, 1]", "seeds: [0]\ntrain: {epochs: 10}"));
    let e = Scripted::new(&[]);
    let dir = t.dir(&p.suite);
    let run = |k: &str| p.runs.iter().find(|r| r.key == k).unwrap();
    let teacher = run("synthetic.teacher.none.holdout.s0");
    let student = run("synthetic.mobilenetv3-small-1d.none.holdout.s0");
    // The teacher stopped after epoch 4 of 10, with 8 windows an epoch at 16 samples/s; the
    // student's folder holds a state of other settings, which a resume would ignore.
    killed_after(&store::checkpoints_path(&dir, &teacher.key), 4, &teacher.config_hash(), 32, 2.0);
    killed_after(&store::checkpoints_path(&dir, &student.key), 4, "other settings", 32, 2.0);
    let rows = runner::dry_run(&p, &t, &e, &[]).unwrap();
    let row = |k: &str| rows.iter().find(|r| r.key == k).unwrap().clone();
    let resumed = row(&teacher.key);
    assert_eq!(resumed.basis, "resumes after epoch 4: 6 epoch(s) at its own samples/s");
    assert!((resumed.estimate.unwrap() - 6.0 * 8.0 / 16.0).abs() < 1e-12, "{resumed:?}");
    assert!(!resumed.guessed());
    // The student starts over: its split's size is unknown to this executor and nothing ran.
    let fresh = row(&student.key);
    assert_eq!((fresh.state, fresh.estimate), ("pending", None), "{fresh:?}");

    // Once the teacher's record is written its checkpoints are gone and it is done.
    go(&p, &t, &e, &AtomicBool::new(false));
    let rows = runner::dry_run(&p, &t, &e, &[]).unwrap();
    assert!(rows.iter().all(|r| r.state == "done"), "{rows:?}");
}
