//! The runner: goes through a plan, skips what is finished, claims each run with a lock, hands
//! it to an [`Executor`] ([`crate::executor::LocalExecutor`] trains through `harbench-run`) and records
//! the outcome, failed or not. Resumable by construction: a run is done exactly when its record
//! says `finished` with the plan's config hash, and records are written atomically.

use crate::gitinfo::GitInfo;
use crate::machine::Machine;
use crate::plan::{self, Plan, RunSpec};
use crate::record::{Headline, RunOutput, RunRecord, Status, Timings, RECORD_SCHEMA};
use crate::store::{self, Claim, ResultsStore, StoreError};
use harbench_common::progress::Progress;
use harbench_run::RecordedTeacher;
use harbench_train::{EpochCheckpoints, LoopState};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

pub type ExecError = Box<dyn std::error::Error + Send + Sync>;

/// The error of a run this build cannot do (a method or model not compiled in). The run is
/// recorded as failed, with `unavailable: true`, and does not count as a failure of the suite.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

/// What the executor gets besides the run: progress of the run's own work, and the flag that
/// Ctrl-C or the run's time budget raises.
pub use harbench_run::RunContext;

/// Trains (or otherwise carries out) one run.
pub trait Executor {
    fn run(&self, run: &RunSpec, ctx: &RunContext) -> Result<RunOutput, ExecError>;

    /// Training windows per epoch of `run`, if known without training (for `--dry-run`).
    fn training_windows(&self, _run: &RunSpec) -> Option<usize> {
        None
    }

    /// Why this build cannot carry out `run` (its method or model is missing), if so.
    fn unavailable(&self, _run: &RunSpec) -> Option<String> {
        None
    }
}

/// Where results of this code on this machine go.
pub struct Target {
    pub store: ResultsStore,
    pub git: GitInfo,
    pub machine: Machine,
}

impl Target {
    pub fn dir(&self, suite: &str) -> PathBuf {
        self.store.run_dir(suite, &self.git.folder(), &self.machine.name)
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    pub finished: usize,
    pub failed: usize,
    /// Finished earlier with the same settings.
    pub skipped: usize,
    /// Held by another live runner.
    pub busy: usize,
    /// Failed because this build lacks their method or model (also counted in `failed`).
    pub unavailable: usize,
    /// Not run because the teacher run they need failed (`--jobs` only; they run next time).
    #[serde(default)]
    pub blocked: usize,
    /// Ctrl-C ended the suite; the interrupted run was not recorded.
    pub interrupted: bool,
}

impl Summary {
    /// Adds the counts of `other` (a worker's) to these.
    pub fn add(&mut self, other: &Summary) {
        self.finished += other.finished;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.busy += other.busy;
        self.unavailable += other.unavailable;
        self.blocked += other.blocked;
        self.interrupted |= other.interrupted;
    }
}

fn now() -> f64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// The error and its causes, outermost first.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        // anyhow's context already prints nested messages in `{:#}` form; avoid repeats.
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// How a runner reports back and is stopped: each a separate concern of the caller.
#[derive(Clone, Copy)]
pub struct Feedback<'a> {
    /// One line per event (run started, skipped, finished, failed).
    pub log: &'a dyn Fn(&str),
    /// Progress over the runs.
    pub runs: &'a dyn Progress,
    /// Progress of each run's own work (epochs, batches).
    pub inner: &'a dyn Progress,
    /// Raised by Ctrl-C: the current run stops after its batch and is not recorded.
    pub stop: &'a AtomicBool,
}

impl Feedback<'_> {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// Runs the plan's runs that match `filters` (all when empty).
pub fn run(plan: &Plan, target: &Target, executor: &dyn Executor, filters: &[String], feedback: &Feedback) -> Result<Summary, StoreError> {
    run_these(&plan.suite, &plan::filter(&plan.runs, filters), target, executor, feedback)
}

/// Runs `selected` runs of suite `suite` in order, in this process ([`run`] after its filters).
pub fn run_these(
    suite: &str,
    selected: &[&RunSpec],
    target: &Target,
    executor: &dyn Executor,
    feedback: &Feedback,
) -> Result<Summary, StoreError> {
    let dir = target.dir(suite);
    if let Some(warning) = store::claim_machine_folder(&dir, &target.machine)? {
        (feedback.log)(&warning);
    }
    let mut summary = Summary::default();
    feedback.runs.start(&format!("suite {suite}"), Some(selected.len() as u64));
    for (i, run) in selected.iter().enumerate() {
        if feedback.stopped() {
            summary.interrupted = true;
            break;
        }
        let label = if selected.len() == 1 { run.key.clone() } else { format!("[{}/{}] {}", i + 1, selected.len(), run.key) };
        let attempt = Attempt { run, hash: run.config_hash(), label, dir: &dir, target };
        if let Some(_lock) = attempt.admit(feedback, &mut summary)? {
            if attempt.carry_out(executor, feedback, &mut summary)? == Continue::Stop {
                break;
            }
        }
        feedback.runs.advance(1);
    }
    feedback.runs.finish();
    Ok(summary)
}

/// Whether the runner goes on to the next run.
#[derive(Debug, PartialEq, Eq)]
enum Continue {
    Go,
    Stop,
}

/// One run of a runner's pass over its runs.
struct Attempt<'a> {
    run: &'a RunSpec,
    /// The run's settings hash, which its record must carry to count as done.
    hash: String,
    /// How the log names it: its key, with its place among the runs when there are several.
    label: String,
    /// Its result set's folder.
    dir: &'a Path,
    target: &'a Target,
}

impl Attempt<'_> {
    /// The run's lock when it is to run now; `None` when it is finished (with these settings)
    /// or another live runner holds it.
    fn admit(&self, feedback: &Feedback, summary: &mut Summary) -> Result<Option<store::RunLock>, StoreError> {
        let (dir, run, hash, label, log) = (self.dir, self.run, &self.hash, &self.label, feedback.log);
        match ResultsStore::read(dir, &run.key)? {
            Some(r) if r.finished() && r.config_hash == *hash => {
                tidy_finished(dir, run, hash)?;
                log(&format!("{label}: skipped (finished earlier)"));
                summary.skipped += 1;
                return Ok(None);
            }
            Some(r) if r.finished() => {
                log(&format!("{label}: settings changed since its result ({} → {hash}); running again", r.config_hash))
            }
            Some(r) => log(&format!("{label}: failed earlier ({}); running again", r.failure.unwrap_or_default())),
            None => {}
        }
        let lock = match store::claim(dir, &run.key)? {
            Claim::Acquired(lock) => lock,
            Claim::Busy(owner) => {
                log(&format!("{label}: skipped (being run by pid {} on {})", owner.pid, owner.host));
                summary.busy += 1;
                return Ok(None);
            }
        };
        // Another runner may have finished it between our read and our claim.
        if ResultsStore::read(dir, &run.key)?.is_some_and(|r| r.finished() && r.config_hash == *hash) {
            log(&format!("{label}: skipped (finished by another runner)"));
            summary.skipped += 1;
            return Ok(None);
        }
        Ok(Some(lock))
    }

    /// Trains the run (from its epoch checkpoints when a killed attempt left some) and writes
    /// its record, finished or failed; an interrupted run is not recorded and stops the runner.
    fn carry_out(&self, executor: &dyn Executor, feedback: &Feedback, summary: &mut Summary) -> Result<Continue, StoreError> {
        let (run, label, log) = (self.run, &self.label, feedback.log);
        feedback.runs.message(label);
        let checkpoints = epoch_checkpoints(self.dir, run, &self.hash);
        match checkpoints.saved_epoch() {
            Some(epoch) => log(&format!("{label}: running, from its checkpoint after epoch {epoch}")),
            None => log(&format!("{label}: running")),
        }
        // A run killed part-way continues from its last finished epoch (plain training only;
        // see `harbench_train::resume`); the checkpoints go once its record is written.
        let teacher_record = recorded_teacher(self.dir, run)?;
        let (result, timings, budget_hit) = execute(run, executor, feedback.inner, feedback.stop, checkpoints.clone(), teacher_record);
        let Some(record) = self.record_of(result, timings, budget_hit, feedback, summary) else {
            summary.interrupted = true;
            return Ok(Continue::Stop);
        };
        ResultsStore::write(self.dir, &record)?;
        if let Err(e) = checkpoints.clear() {
            log(&format!("{label}: could not remove its epoch checkpoints {}: {e}", checkpoints.dir.display()));
        }
        Ok(Continue::Go)
    }

    /// The record of what the executor returned, logged and counted; `None` when Ctrl-C (not
    /// the time budget) interrupted the run, which then runs again next time.
    fn record_of(
        &self,
        result: Result<RunOutput, ExecError>,
        timings: Timings,
        budget_hit: bool,
        feedback: &Feedback,
        summary: &mut Summary,
    ) -> Option<RunRecord> {
        let (label, log) = (&self.label, feedback.log);
        match result {
            Ok(out) if out.outcome.interrupted && !budget_hit => {
                log(&format!("{label}: interrupted; not recorded (it will run again)"));
                None
            }
            Ok(out) => {
                log(&format!("{label}: finished in {:.1} s: {}", timings.wall_seconds, headline(&out, budget_hit)));
                summary.finished += 1;
                Some(record(self.run, &self.hash, self.target, Ok(out), timings, budget_hit))
            }
            // An error after Ctrl-C (a wait it cut short) is the interruption, not the run's failure.
            Err(e) if feedback.stopped() && !budget_hit => {
                log(&format!("{label}: interrupted ({}); not recorded (it will run again)", chain(e.as_ref())));
                None
            }
            Err(e) => {
                let reason = chain(e.as_ref());
                let unavailable = e.downcast_ref::<Unavailable>().is_some();
                log(&format!("{label}: {}: {reason}", if unavailable { "unavailable" } else { "FAILED" }));
                summary.failed += 1;
                summary.unavailable += usize::from(unavailable);
                let mut r = record(self.run, &self.hash, self.target, Err(reason), timings, budget_hit);
                r.unavailable = unavailable;
                Some(r)
            }
        }
    }
}

/// A finished run's scores for the log: test accuracy and macro-F1 of the best-validation
/// checkpoint (validation scores when the run withheld the test split).
fn headline(out: &RunOutput, budget_hit: bool) -> String {
    let o = &out.outcome;
    let (split, scores) = match &o.best.test {
        Some(test) => ("test", test),
        None => ("validation (test withheld)", &o.best.val),
    };
    format!(
        "{split} accuracy {:.4}, macro-F1 {:.4} (best-val epoch {}){}",
        scores.accuracy,
        scores.macro_f1,
        o.best.epoch,
        if budget_hit { "; cut short by the time budget" } else { "" }
    )
}

/// Where `run` (of settings `hash`) saves its state after each epoch, in the folder `dir` of
/// its record.
pub(crate) fn epoch_checkpoints(dir: &Path, run: &RunSpec, hash: &str) -> EpochCheckpoints {
    EpochCheckpoints { dir: store::checkpoints_path(dir, &run.key), identity: hash.to_string() }
}

/// What a runner killed after a run's record was written can leave: the run's lock and its
/// epoch checkpoints.
pub(crate) fn tidy_finished(dir: &Path, run: &RunSpec, hash: &str) -> Result<(), StoreError> {
    store::release_if_stale(dir, &run.key)?;
    // Best effort: a leftover folder costs disk only.
    let _ = epoch_checkpoints(dir, run, hash).clear();
    Ok(())
}

/// The training a distilling run's teacher must reproduce: the finished record of the suite's
/// teacher run in the same result set, when it has the teacher's settings. A teacher reused from
/// another commit's store (`trained_at`) has its record elsewhere and is not checked here.
fn recorded_teacher(dir: &Path, run: &RunSpec) -> Result<Option<RecordedTeacher>, StoreError> {
    let Some(teacher) = run.teacher.as_ref().filter(|t| t.trained_at.is_none()) else { return Ok(None) };
    let Some(record) = ResultsStore::read(dir, &teacher.run_key)? else { return Ok(None) };
    if !record.finished() || record.config.model != teacher.model || record.config.train != teacher.train {
        return Ok(None);
    }
    let source = ResultsStore::record_path(dir, &teacher.run_key).display().to_string();
    Ok(record.output.map(|o| RecordedTeacher { source, history: o.outcome.history }))
}

/// Runs one run under a watchdog that raises its stop flag on Ctrl-C or at its time budget.
fn execute(
    run: &RunSpec,
    executor: &dyn Executor,
    inner: &dyn Progress,
    stop: &AtomicBool,
    checkpoints: EpochCheckpoints,
    teacher_record: Option<RecordedTeacher>,
) -> (Result<RunOutput, ExecError>, Timings, bool) {
    let started = now();
    let clock = Instant::now();
    let run_stop = AtomicBool::new(false);
    let budget_hit = AtomicBool::new(false);
    let done = AtomicBool::new(false);
    let deadline = run.budget.max_run_minutes.map(|m| Duration::from_secs_f64(m * 60.0));
    let result = std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                if stop.load(Ordering::SeqCst) {
                    run_stop.store(true, Ordering::SeqCst);
                }
                if deadline.is_some_and(|d| clock.elapsed() >= d) && !run_stop.load(Ordering::SeqCst) {
                    budget_hit.store(true, Ordering::SeqCst);
                    run_stop.store(true, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let ctx = RunContext { progress: inner, stop: &run_stop, checkpoints: Some(checkpoints), teacher_record };
        // A panic in training code is a failed run, not a dead suite.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| executor.run(run, &ctx)))
            .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_text(&panic)).into()));
        done.store(true, Ordering::SeqCst);
        result
    });
    let wall = clock.elapsed().as_secs_f64();
    let (train_seconds, samples_per_second) = match &result {
        Ok(out) => (Some(out.outcome.train_seconds), Some(out.outcome.samples_per_second)),
        Err(_) => (None, None),
    };
    let timings = Timings { started, finished: started + wall, wall_seconds: wall, train_seconds, samples_per_second };
    (result, timings, budget_hit.load(Ordering::SeqCst))
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "(no message)".into())
}

/// The record of `run` (settings `hash`) that ended with `output` (finished) or an error's
/// text (failed).
pub(crate) fn record(
    run: &RunSpec,
    hash: &str,
    target: &Target,
    ended: Result<RunOutput, String>,
    timings: Timings,
    budget_exhausted: bool,
) -> RunRecord {
    let (status, output, failure) = match ended {
        Ok(output) => (Status::Finished, Some(output), None),
        Err(reason) => (Status::Failed, None, Some(reason)),
    };
    RunRecord {
        schema: RECORD_SCHEMA,
        key: run.key.clone(),
        suite: run.suite.clone(),
        status,
        failure,
        config_hash: hash.to_string(),
        config: run.clone(),
        model_config: run.model.config().ok().map(|c| serde_json::to_value(c).expect("plain data serialises")),
        best: output.as_ref().map(|o| Headline::of(&o.outcome.best)),
        last: output.as_ref().map(|o| Headline::of(&o.outcome.last)),
        best_test: output.as_ref().and_then(|o| Headline::best_test(&o.outcome.history)),
        parameters: output.as_ref().map(|o| o.outcome.parameters),
        budget_exhausted,
        unavailable: false,
        output,
        timings,
        git: target.git.clone(),
        machine: target.machine.name.clone(),
        harbench_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// State of a planned run in the store, for `--dry-run`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRun {
    pub key: String,
    /// `done`, `failed`, `stale` (settings changed), `pending`, or `n/a` (not in this build).
    pub state: &'static str,
    /// Estimated seconds, for runs that will run.
    pub estimate: Option<f64>,
    /// Where the estimate comes from.
    pub basis: String,
}

impl PlannedRun {
    /// Whether the estimate rests on [`DEFAULT_SAMPLES_PER_SECOND`], not on a measured speed.
    pub fn guessed(&self) -> bool {
        self.basis.ends_with(DEFAULT_BASIS)
    }
}

/// Default training speed when this machine has no recorded samples/s for a model: measured
/// for the 1-D MobileNetV3 student on 2 CPU cores (docs/suites.md).
pub const DEFAULT_SAMPLES_PER_SECOND: f64 = 400.0;

/// Basis of an estimate at [`DEFAULT_SAMPLES_PER_SECOND`]: no machine recorded the model's speed.
pub const DEFAULT_BASIS: &str = "default samples/s";

/// The plan's state and a time estimate per pending run: the wall time of a finished run with
/// the same settings on this machine (any commit); else epochs × training windows at the
/// samples/s recorded on this machine for the same model and method, else on the store's other
/// machines, else the default.
pub fn dry_run(plan: &Plan, target: &Target, executor: &dyn Executor, filters: &[String]) -> Result<Vec<PlannedRun>, StoreError> {
    let dir = target.dir(&plan.suite);
    let measured = Measured::of_store(target);
    // What the suite's partly trained runs left: their states, and per model and method the
    // fastest speed their epochs reached so far. A run's own epochs may have run beside heavier
    // work (a build, CI), and contention only slows a run down, so the fastest of its own speed
    // and its siblings' is the better guide; a fresh run without a record takes its siblings'.
    let saved_states: BTreeMap<&str, LoopState> = plan
        .runs
        .iter()
        .filter_map(|run| Some((run.key.as_str(), epoch_checkpoints(&dir, run, &run.config_hash()).saved_state()?)))
        .collect();
    let mut partial: BTreeMap<String, f64> = BTreeMap::new();
    for run in &plan.runs {
        if let Some(s) = saved_states.get(run.key.as_str()).and_then(LoopState::samples_per_second) {
            let fastest = partial.entry(speed_key(run)).or_insert(s);
            *fastest = fastest.max(s);
        }
    }
    let mut out = Vec::new();
    for run in plan::filter(&plan.runs, filters) {
        let hash = run.config_hash();
        let state = match ResultsStore::read(&dir, &run.key)? {
            Some(r) if r.finished() && r.config_hash == hash => "done",
            Some(r) if r.finished() => "stale",
            Some(_) => "failed",
            None => "pending",
        };
        if let Some(why) = executor.unavailable(run) {
            out.push(PlannedRun { key: run.key.clone(), state: "n/a", estimate: Some(0.0), basis: why });
            continue;
        }
        // A run killed part-way resumes from its epoch checkpoints: only its remaining epochs
        // count, at the speed it trained at so far.
        let saved = saved_states.get(run.key.as_str()).filter(|_| state != "done");
        let (estimate, basis) = match (state, saved, measured.by_hash.get(&hash)) {
            ("done", _, _) => (None, String::new()),
            (_, None, Some(&s)) => (Some(s), "same run recorded".to_string()),
            _ => measured.estimate(run, executor, saved, partial.get(&speed_key(run)).copied()),
        };
        out.push(PlannedRun { key: run.key.clone(), state, estimate, basis });
    }
    Ok(out)
}

/// What the results store's finished records tell about speeds, for [`dry_run`].
#[derive(Default)]
struct Measured {
    /// Wall seconds of finished runs on this machine, by settings hash.
    by_hash: BTreeMap<String, f64>,
    /// Samples/s per model and method ([`speed_key`]) on this machine and on the others.
    speeds: BTreeMap<String, Vec<f64>>,
    speeds_elsewhere: BTreeMap<String, Vec<f64>>,
    /// Training windows per split ([`split_key`]): a split's size does not depend on the machine.
    windows: BTreeMap<String, usize>,
}

impl Measured {
    /// Every record of the store, in every suite, commit and machine folder.
    fn of_store(target: &Target) -> Measured {
        let mut m = Measured::default();
        let root = &target.store.root;
        for suite in ResultsStore::folders(root).into_iter().filter(|s| s != crate::profiles::PROFILE_FOLDER) {
            for commit in ResultsStore::folders(&root.join(&suite)) {
                for machine in ResultsStore::folders(&target.store.commit_dir(&suite, &commit)) {
                    let dir = target.store.run_dir(&suite, &commit, &machine);
                    m.add(&dir, machine == target.machine.name);
                }
            }
        }
        m
    }

    fn add(&mut self, machine_dir: &Path, here: bool) {
        for r in ResultsStore::records(machine_dir).unwrap_or_default().into_iter().filter(RunRecord::finished) {
            if here {
                self.by_hash.insert(r.config_hash.clone(), r.timings.wall_seconds);
            }
            if let Some(s) = r.timings.samples_per_second {
                let speeds = if here { &mut self.speeds } else { &mut self.speeds_elsewhere };
                speeds.entry(speed_key(&r.config)).or_default().push(s);
            }
            if let Some(o) = &r.output {
                self.windows.insert(split_key(&r.config), o.split.sizes[0]);
            }
        }
    }

    /// Seconds `run` will take from its epochs, its windows and the best-founded speed: this
    /// machine's records, its partly trained siblings' (`partial`), other machines', the default.
    fn estimate(&self, run: &RunSpec, executor: &dyn Executor, saved: Option<&LoopState>, partial: Option<f64>) -> (Option<f64>, String) {
        let n = self.windows.get(&split_key(run)).copied().or_else(|| executor.training_windows(run));
        let key = speed_key(run);
        let speed = match (self.speeds.get(&key), self.speeds_elsewhere.get(&key), partial) {
            (Some(v), _, _) => Some((mean_speed(v), "recorded samples/s")),
            (None, _, Some(s)) => Some((s, "samples/s of its siblings' epochs so far")),
            (None, Some(v), None) => Some((mean_speed(v), "samples/s of other machines")),
            (None, None, None) => None,
        };
        match (saved, n, speed) {
            (Some(saved), _, _) => resumed_estimate(run, saved, n, speed.map(|(s, _)| s), partial),
            (None, Some(n), Some((s, basis))) => (Some((epochs(run) * n) as f64 / s), basis.to_string()),
            (None, Some(n), None) => (Some((epochs(run) * n) as f64 / DEFAULT_SAMPLES_PER_SECOND), DEFAULT_BASIS.to_string()),
            (None, None, _) => (None, "unknown (dataset not prepared)".to_string()),
        }
    }
}

/// The mean of recorded speeds (never empty: a key exists once a speed was pushed).
fn mean_speed(speeds: &[f64]) -> f64 {
    harbench_common::stats::mean(speeds).unwrap_or(DEFAULT_SAMPLES_PER_SECOND)
}

/// Seconds for the epochs a resumed run has left: its training windows per epoch (from its own
/// checkpoint when the split's size is unknown) at the samples/s of its own epochs so far, or of
/// its siblings' (`siblings`: the fastest partly trained run of its model and method) when
/// faster; else at `recorded` (what [`dry_run`] found for its model), else at the default.
fn resumed_estimate(
    run: &RunSpec,
    saved: &LoopState,
    windows: Option<usize>,
    recorded: Option<f64>,
    siblings: Option<f64>,
) -> (Option<f64>, String) {
    let tally = &saved.tally;
    let left = run.train.epochs.saturating_sub(tally.epoch);
    let windows = windows.or_else(|| (tally.epoch > 0).then(|| tally.trained_samples / tally.epoch));
    let (speed, whose) = match (saved.samples_per_second(), siblings, recorded) {
        (Some(own), Some(s), _) if s > own => (s, "its siblings' faster samples/s"),
        (Some(own), _, _) => (own, "its own samples/s"),
        (None, _, Some(s)) => (s, "recorded samples/s"),
        (None, _, None) => (DEFAULT_SAMPLES_PER_SECOND, DEFAULT_BASIS),
    };
    let basis = format!("resumes after epoch {}: {left} epoch(s) at {whose}", tally.epoch);
    (windows.map(|n| (left * n) as f64 / speed), basis)
}

/// Every epoch a run trains: its method's pre-training epochs (FSP's, SMLDist's stage phases:
/// 400 with the authors' preset) and its main epochs.
fn epochs(run: &RunSpec) -> usize {
    let pretrain = match run.method.options.as_object() {
        Some(options) if run.method.name != crate::spec::NO_DISTILLATION => {
            harbench_distill::registry::build(&run.method.name, options).map_or(0, |(m, _)| m.pretrain_epochs())
        }
        _ => 0,
    };
    pretrain + run.train.epochs
}

fn speed_key(r: &RunSpec) -> String {
    format!("{}|{:?}|{}|{}", r.model.preset, r.model.width, r.method.name, r.train.batch_size)
}

fn split_key(r: &RunSpec) -> String {
    format!("{}|{}|{}|{}|{}", r.dataset, r.split.protocol, r.fold, r.split.seed, r.split.val_fraction)
}
