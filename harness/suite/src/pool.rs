//! `harbench run SUITE --jobs N`: N worker processes on one results store, each carrying out one
//! run (`harbench run SUITE --worker KEY`) and exiting. The parent schedules with
//! [`crate::schedule`] (a teacher before the runs that distil from it, longest chains first),
//! draws each worker's bar from its events ([`crate::worker`]) and records a run whose worker
//! died without a result as failed.
//!
//! Processes rather than threads: a run's peak memory is measured with a process-wide counting
//! allocator, and each run gets its own thread pool of the size asked for. Workers claim runs
//! through the store's locks like any runner, so a pool, a second pool and a Slurm array on one
//! store cooperate.

use crate::plan::RunSpec;
use crate::record::{RunRecord, Timings};
use crate::runner::{self, Summary, Target};
use crate::schedule::{Queue, Task};
use crate::store::{self, Claim, ResultsStore, StoreError};
use crate::worker::Event;
use harbench_common::progress::Progress;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::ScopedJoinHandle;
use std::time::{Duration, SystemTime};

/// Where a pool reports: the suite's bar, one bar per worker slot, and log lines.
pub trait View: Sync {
    fn suite(&self) -> &dyn Progress;
    fn worker(&self, slot: usize) -> &dyn Progress;
    fn log(&self, line: &str);
}

/// How to start workers.
pub struct Workers<'a> {
    /// At least one.
    pub jobs: usize,
    /// The command that carries out `run` in a new process and reports through
    /// [`crate::worker`] events on its stdout.
    pub command: &'a (dyn Fn(&RunSpec) -> Command + Sync),
}

struct Running<'scope> {
    task: usize,
    child: Child,
    started: f64,
    events: ScopedJoinHandle<'scope, Option<Summary>>,
}

fn now() -> f64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// The scheduler's tasks for the runs still to do: each with its estimate (0 when unknown) and
/// its teacher's run when that is among them.
pub fn tasks(todo: &[&RunSpec], estimate: &dyn Fn(&RunSpec) -> Option<f64>) -> Vec<Task> {
    todo.iter()
        .map(|r| Task {
            seconds: estimate(r).unwrap_or(0.0),
            after: r.teacher.as_ref().and_then(|t| todo.iter().position(|o| o.key == t.run_key)),
        })
        .collect()
}

/// Runs `selected` (runs of one suite) on `workers`, skipping those finished earlier; returns
/// the summary over every worker. Ctrl-C (`stop`) is passed on to the workers, which stop after
/// their batch; nothing new starts.
pub fn run(
    selected: &[&RunSpec],
    target: &Target,
    workers: &Workers,
    estimate: &dyn Fn(&RunSpec) -> Option<f64>,
    view: &dyn View,
    stop: &AtomicBool,
) -> Result<Summary, StoreError> {
    assert!(workers.jobs > 0, "at least one worker");
    let Some(first) = selected.first() else { return Ok(Summary::default()) };
    let dir = target.dir(&first.suite);
    if let Some(warning) = store::claim_machine_folder(&dir, &target.machine)? {
        view.log(&warning);
    }
    let mut summary = Summary::default();
    view.suite().start(&format!("suite {}", first.suite), Some(selected.len() as u64));
    let todo = unfinished(selected, &dir, view, &mut summary)?;
    let mut queue = Queue::new(tasks(&todo, estimate));
    let mut forwarded = false;
    std::thread::scope(|scope| -> Result<(), StoreError> {
        let mut slots: Vec<Option<Running>> = (0..workers.jobs).map(|_| None).collect();
        loop {
            let stopping = stop.load(Ordering::SeqCst);
            if stopping && !forwarded {
                slots.iter().flatten().for_each(|r| interrupt(&r.child));
                forwarded = true;
            }
            for (slot, place) in slots.iter_mut().enumerate() {
                if place.is_none() && !stopping {
                    if let Some(task) = queue.start_next() {
                        *place = Some(start(scope, todo[task], task, slot, workers, view, &dir)?);
                    }
                }
            }
            let mut any = false;
            for (slot, place) in slots.iter_mut().enumerate() {
                let Some(r) = place else { continue };
                let status = r.child.try_wait().map_err(|source| StoreError::Io { path: dir.clone(), source })?;
                let Some(status) = status else {
                    any = true;
                    continue;
                };
                let r = place.take().expect("checked above");
                let run = todo[r.task];
                let outcome = r.events.join().unwrap_or(None);
                view.worker(slot).finish();
                let ok = match outcome {
                    Some(s) => {
                        summary.add(&s);
                        s.finished + s.skipped + s.busy > 0
                    }
                    None if stop.load(Ordering::SeqCst) => {
                        summary.interrupted = true;
                        false
                    }
                    None => {
                        dead_worker(run, target, &dir, status, r.started, view)?;
                        summary.failed += 1;
                        false
                    }
                };
                view.suite().advance(1);
                for b in queue.finish(r.task, ok) {
                    if !stop.load(Ordering::SeqCst) {
                        view.log(&format!("{}: not run: its teacher run {} did not finish", todo[b].key, run.key));
                        summary.blocked += 1;
                        view.suite().advance(1);
                    }
                }
            }
            if !any && (stopping || queue.unfinished() == 0) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })?;
    view.suite().finish();
    Ok(summary)
}

/// The runs of `selected` not finished earlier with their settings; the others are counted as
/// skipped (and what a killed runner left of them is tidied).
fn unfinished<'a>(
    selected: &[&'a RunSpec],
    dir: &std::path::Path,
    view: &dyn View,
    summary: &mut Summary,
) -> Result<Vec<&'a RunSpec>, StoreError> {
    let mut todo = Vec::new();
    for &run in selected {
        match ResultsStore::read(dir, &run.key)? {
            Some(r) if r.finished() && r.config_hash == run.config_hash() => {
                runner::tidy_finished(dir, run, &run.config_hash())?;
                view.log(&format!("{}: skipped (finished earlier)", run.key));
                summary.skipped += 1;
                view.suite().advance(1);
            }
            _ => todo.push(run),
        }
    }
    Ok(todo)
}

/// Starts the worker of `run` in `slot`, with a thread that applies its events to the slot's bar.
fn start<'scope, 'env>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    run: &RunSpec,
    task: usize,
    slot: usize,
    workers: &Workers,
    view: &'env dyn View,
    dir: &std::path::Path,
) -> Result<Running<'scope>, StoreError> {
    let mut command = (workers.command)(run);
    // Its own process group: a Ctrl-C in the terminal reaches the parent alone, which passes it
    // on once (a second SIGINT would make a worker quit at once).
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    // A parent killed outright (SIGKILL) cannot pass Ctrl-C on: the kernel does, so that no
    // worker outlives it; the worker stops after its batch and records nothing.
    // SAFETY: prctl only sets a flag of the new process; nothing is allocated between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().map_err(|source| StoreError::Io { path: dir.to_path_buf(), source })?;
    let (stdout, stderr) = (child.stdout.take().expect("piped"), child.stderr.take().expect("piped"));
    let key = run.key.clone();
    let bar = view.worker(slot);
    bar.start(&key, None);
    let key_err = key.clone();
    scope.spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            view.log(&format!("{key_err}: {line}"));
        }
    });
    let events = scope.spawn(move || {
        let mut done = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            match Event::parse(&line) {
                Some(Event::Done { summary }) => done = Some(summary),
                Some(Event::Log { line }) => view.log(&line),
                Some(Event::Start { message, total }) => bar.start(&format!("{key}: {message}"), total),
                Some(Event::Message { status }) => bar.message(&format!("{key}: {status}")),
                Some(e) => e.apply(bar),
                None => view.log(&format!("{key}: {line}")),
            }
        }
        done
    });
    Ok(Running { task, child, started: now(), events })
}

/// Asks a worker to stop after its batch, as Ctrl-C would.
fn interrupt(child: &Child) {
    // SAFETY: kill(2) with a pid of our own child and a valid signal number has no memory effects.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
}

/// Records run `run` as failed when its worker ended without a result, unless another runner
/// holds it now or finished it.
fn dead_worker(
    run: &RunSpec,
    target: &Target,
    dir: &std::path::Path,
    status: ExitStatus,
    started: f64,
    view: &dyn View,
) -> Result<(), StoreError> {
    let reason = format!("its worker process ended without a result ({status}); see the lines above");
    view.log(&format!("{}: FAILED: {reason}", run.key));
    let Claim::Acquired(_lock) = store::claim(dir, &run.key)? else { return Ok(()) };
    let hash = run.config_hash();
    if ResultsStore::read(dir, &run.key)?.is_some_and(|r| r.finished() && r.config_hash == hash) {
        return Ok(());
    }
    let wall = now() - started;
    let timings = Timings { started, finished: started + wall, wall_seconds: wall, train_seconds: None, samples_per_second: None };
    let record: RunRecord = runner::record(run, &hash, target, Err(reason), timings, false);
    ResultsStore::write(dir, &record)?;
    Ok(())
}
