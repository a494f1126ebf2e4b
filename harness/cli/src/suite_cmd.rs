//! `harbench run`: a suite's runs, in this process or in worker processes, into the results
//! store (tables and diffs: `report_cmd`).

use crate::progress::Bar;
use crate::progress::WorkerBars;
use anyhow::{bail, Context, Result};
use clap::Args;
use harbench_common::progress::Progress;
use harbench_common::progress::Silent;
use harbench_data::prepare::DataDir;
use harbench_run::Workspace;
use harbench_suite::executor::LocalExecutor;
use harbench_suite::gitinfo::GitInfo;
use harbench_suite::machine::Machine;
use harbench_suite::plan::{self, Plan};
use harbench_suite::runner::{self, Feedback, Target};
use harbench_suite::spec::{self, Known};
use harbench_suite::store::ResultsStore;
use harbench_suite::worker::{Event, EventProgress};
use harbench_suite::{pool, schedule};
use harbench_train::store::{code_version, TeacherStore};
use harbench_train::DeviceChoice;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tabled::builder::Builder;
use tabled::settings::Style;

#[derive(Args)]
#[command(
    after_help = "Examples:\n  harbench run suites/quick.yaml\n  harbench run smoke --dry-run\n  harbench run paper --dry-run --jobs 64\n  harbench run paper --jobs 8 --threads-per-job 2\n  \
harbench run paper --filter 'uci-har.*.s0' --filter teacher\n\n\
Runs go to results/<suite>/<commit>/<machine>/<run-key>.json (see docs/results.md). A finished run \
is skipped when the suite runs again, so a killed or interrupted suite resumes where it stopped; a \
run that fails (NaN loss, an error) is recorded as failed with its reason and the suite goes on. \
Teachers are trained first and kept in results/teachers/ for every run that distils from them. \
Ctrl-C stops after the current batch; the interrupted run is not recorded and runs again next time. \
A run saves its state after every epoch in <run-key>.epochs/ beside its record (teachers: in the \
teacher store), so after Ctrl-C, kill -9 or a lost session it goes on from its last finished epoch, \
to the same numbers; the folder goes once the record is written. Not saved: CRD's memory banks, a \
head search, and pre-training stages (FSP, SMLDist's stage phases), which start again (docs/scale.md).\n\n\
With --jobs N (default: one per core), N worker processes share the runs: a teacher's run comes \
before the runs that distil from it, the longest chains start first, and each worker has its bar. \
`--dry-run --jobs N` prints the estimated wall time on N workers. Several commands (or Slurm \
tasks, `harbench slurm submit`) on one results store share the work through its run locks \
(docs/scale.md)."
)]
pub struct RunArgs {
    /// Suite file, or the name of one in suites/ (e.g. `quick` for suites/quick.yaml).
    suite: String,
    /// Print the plan, what is done, and an estimate of the time left; train nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    runs: SuiteRuns,
    /// Worker processes running runs at once [default: the cores ÷ --threads-per-job].
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// Threads of each run [default: 1 with several jobs (the best throughput per core,
    /// docs/scale.md), every core with --jobs 1].
    #[arg(long, value_name = "T")]
    threads_per_job: Option<usize>,
    /// Carry out only the run KEY and report to the parent process as events (what `--jobs`
    /// starts; not for direct use).
    #[arg(long, value_name = "KEY", hide = true)]
    worker: Option<String>,
}

/// Which runs of a suite, on which device, with which data and results: what `harbench run` and
/// `harbench slurm submit` share.
#[derive(Args)]
pub struct SuiteRuns {
    /// Only runs whose key contains PATTERN, or matches it as a glob with * and ? (repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub filter: Vec<String>,
    #[command(flatten)]
    pub results: ResultsArgs,
    /// Fetch missing datasets from this folder or URL before preparing them.
    #[arg(long, env = "HARBENCH_DATA_MIRROR")]
    pub mirror: Option<String>,
    /// Device of every run, overriding the suite's `device:`: flex (CPU), cuda (a build with
    /// `--features cuda`), vulkan (`--features vulkan`) or gpu (whichever of the two the build
    /// has). It is part of each run's settings and recorded with it. With --jobs N the N workers
    /// share the one GPU. A first run on a GPU spends minutes compiling and autotuning kernels,
    /// which later processes read back (docs/models.md, "Kernel cache").
    #[arg(long)]
    pub device: Option<DeviceChoice>,
}

impl SuiteRuns {
    /// The plan of `suite` with the device override applied, checked against this build.
    pub fn plan(&self, suite: &str) -> Result<Plan> {
        let mut plan = load_plan(suite)?;
        if let Some(device) = self.device {
            plan.runs.iter_mut().for_each(|r| r.device = device);
        }
        for r in &plan.runs {
            if let Err(e) = r.device.check_built() {
                bail!("run {} asks for device {}: {e}; or pass --device flex", r.key, r.device);
            }
        }
        Ok(plan)
    }

    /// The options that give a runner of another process these same runs, data and results.
    pub fn forwarded(&self, target: &Target) -> Vec<String> {
        let git = serde_json::to_string(&target.git).expect("plain data serialises");
        let mut args = vec![
            "--results".into(),
            absolute(&target.store.root).display().to_string(),
            "--machine".into(),
            target.machine.name.clone(),
            "--pinned-git".into(),
            git,
        ];
        if let Some(m) = &self.mirror {
            args.extend(["--mirror".into(), m.clone()]);
        }
        if let Some(d) = self.device {
            args.extend(["--device".into(), d.to_string()]);
        }
        args
    }
}

/// How many workers and threads a run command uses, checked.
struct Parallelism {
    jobs: usize,
    /// `None`: rayon's default (every core).
    threads: Option<usize>,
}

impl Parallelism {
    fn of(args: &RunArgs) -> Result<Parallelism> {
        if args.jobs == Some(0) {
            bail!("--jobs must be at least 1 (it is the number of runs carried out at once)");
        }
        if args.threads_per_job == Some(0) {
            bail!("--threads-per-job must be at least 1");
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let jobs = args.jobs.unwrap_or_else(|| (cores / args.threads_per_job.unwrap_or(1)).max(1));
        let threads = args.threads_per_job.or((jobs > 1).then_some(1));
        Ok(Parallelism { jobs, threads })
    }
}

#[derive(Args)]
pub struct ResultsArgs {
    /// Root of the results store.
    #[arg(long = "results", env = "HARBENCH_RESULTS", default_value = "results")]
    pub root: PathBuf,
    /// Machine folder: the name of a result set [default: HARBENCH_MACHINE or the host name; for
    /// report/diff, the only one present].
    #[arg(long)]
    pub machine: Option<String>,
    /// The checkout's git state as the parent process saw it (JSON), given to worker processes
    /// and Slurm tasks: one suite run keeps one commit key even if the checkout changes while
    /// it runs.
    #[arg(long, hide = true)]
    pub pinned_git: Option<String>,
}

fn known() -> Known {
    Known::new(&harbench_data::registry::ids(), &harbench_models::preset_names(), &harbench_run::known_methods())
}

/// `quick` → suites/quick.yaml; a path is taken as it is.
pub(crate) fn suite_path(name: &str) -> Result<PathBuf> {
    let direct = PathBuf::from(name);
    if direct.is_file() {
        return Ok(direct);
    }
    let named = Path::new("suites").join(format!("{name}.yaml"));
    if !name.contains(['/', '.']) && named.is_file() {
        return Ok(named);
    }
    let available: Vec<String> = std::fs::read_dir("suites")
        .map(|d| d.flatten().filter_map(|e| e.file_name().to_str()?.strip_suffix(".yaml").map(str::to_string)).collect())
        .unwrap_or_default();
    bail!(
        "no suite file '{name}' (nor suites/{name}.yaml); suites here: {}",
        if available.is_empty() { "none".into() } else { available.join(", ") }
    )
}

pub(crate) fn load_plan(name: &str) -> Result<Plan> {
    let path = suite_path(name)?;
    let suite = spec::load(&path, &known())?;
    Ok(plan::expand(&suite)?)
}

pub(crate) fn cwd() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

fn machine(args: &ResultsArgs) -> Machine {
    let mut m = Machine::detect();
    if let Some(name) = &args.machine {
        m.name = harbench_suite::machine::folder_name(name);
    }
    m
}

/// The bar over runs; the status of the run in progress goes into its message.
struct RunsBar {
    bar: Bar,
    label: Mutex<String>,
}

impl Progress for RunsBar {
    fn start(&self, message: &str, total: Option<u64>) {
        self.bar.start(message, total)
    }
    fn advance(&self, amount: u64) {
        self.bar.advance(amount)
    }
    fn message(&self, status: &str) {
        *self.label.lock().expect("label lock") = status.to_string();
        self.bar.message(status)
    }
    fn finish(&self) {
        self.bar.finish()
    }
}

/// What a run reports about itself (epochs, loss) shown beside the run's label.
struct RunStatus<'a>(&'a RunsBar);

impl Progress for RunStatus<'_> {
    fn start(&self, _: &str, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn message(&self, status: &str) {
        let label = self.0.label.lock().expect("label lock").clone();
        self.0.bar.message(&format!("{label}: {status}"))
    }
    fn finish(&self) {}
}

pub fn run(args: RunArgs, data_dir: &Path) -> Result<()> {
    let parallel = Parallelism::of(&args)?;
    let plan = args.runs.plan(&args.suite)?;
    let target = target(&args.runs.results)?;
    let executor = executor(&target, data_dir, args.runs.mirror.clone());
    if let Some(key) = &args.worker {
        return worker(&plan, key, &target, &executor);
    }
    let dir = target.dir(&plan.suite);
    if args.dry_run {
        return dry_run(&plan, &target, &executor, &args.runs.filter, &dir, parallel.jobs);
    }
    let selected = plan::filter(&plan.runs, &args.runs.filter);
    if selected.is_empty() {
        bail!("no run of suite {} matches --filter {}", plan.suite, args.runs.filter.join(" --filter "));
    }
    let stop = harbench_common::interrupt::stop_flag("stopping after this batch; the unfinished run is not recorded")
        .context("installing the Ctrl-C handler")?;
    println!("numerics: {}", harbench_models::numerics::Numerics::current().describe());
    let s = if parallel.jobs == 1 {
        harbench_models::device::init_thread_pool(parallel.threads).context("setting up the thread pool")?;
        println!("suite {}: {} runs; results in {}", plan.suite, selected.len(), dir.display());
        let bar = RunsBar { bar: Bar::new(), label: Mutex::new(String::new()) };
        let log = |line: &str| bar.bar.println(line);
        // On a rayon worker, as `main` runs `train` (`device::on_worker_thread`).
        harbench_models::device::on_worker_thread(|| {
            runner::run_these(
                &plan.suite,
                &selected,
                &target,
                &executor,
                &Feedback { log: &log, runs: &bar, inner: &RunStatus(&bar), stop: &stop },
            )
        })?
    } else {
        in_workers(&args, &plan, &target, &executor, &parallel, data_dir, &stop)?
    };
    println!(
        "suite {}: {} finished, {} failed ({} of them unavailable in this build), {} skipped (done earlier), {} held by another runner{}{}",
        plan.suite,
        s.finished,
        s.failed,
        s.unavailable,
        s.skipped,
        s.busy,
        if s.blocked > 0 { format!(", {} not run (their teacher's run failed)", s.blocked) } else { String::new() },
        if s.interrupted { "; interrupted" } else { "" }
    );
    println!("tables: harbench report {}", args.suite);
    if s.interrupted {
        bail!("interrupted; run the same command again to resume");
    }
    // Runs this build cannot do are recorded, but do not fail the suite.
    if s.failed > s.unavailable || s.blocked > 0 {
        bail!("{} run(s) failed (their reasons are in their records under {})", s.failed - s.unavailable + s.blocked, dir.display());
    }
    Ok(())
}

/// `p` as an absolute path (for another process, which may start elsewhere); `p` itself when the
/// working directory is unknown.
pub(crate) fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Where this checkout's results go.
pub(crate) fn target(results: &ResultsArgs) -> Result<Target> {
    let git = match &results.pinned_git {
        Some(json) => serde_json::from_str(json).with_context(|| format!("--pinned-git {json}: not a git state"))?,
        None => {
            let git = GitInfo::discover(&cwd());
            check_build_is_checkout(&git)?;
            git
        }
    };
    Ok(Target { store: ResultsStore::new(&results.root), git, machine: machine(results) })
}

/// The commit this binary was built from (build.rs; `None`: built outside git).
pub(crate) const BUILD_COMMIT: Option<&str> = option_env!("HARBENCH_BUILD_COMMIT");

/// Records are filed under the checkout's commit, so the code that makes them must be that
/// commit's: a binary built elsewhere (copied, installed, or a build cargo kept from another
/// worktree sharing the target folder) would file one commit's numbers under another's name.
/// Workers (`--pinned-git`) run the binary their parent checked.
fn check_build_is_checkout(git: &GitInfo) -> Result<()> {
    let (Some(built), Some(here)) = (BUILD_COMMIT, git.commit.as_deref()) else { return Ok(()) };
    if built == here {
        return Ok(());
    }
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "this harbench".into());
    bail!(
        "{exe} was built from commit {} but the checkout here is at {}: its records would be filed under {} with another \
commit's code. Build this checkout (`cargo build --release -p harbench`) and run that binary. Where several worktrees \
share one CARGO_TARGET_DIR, cargo may keep another worktree's build (it compares file times): give each worktree its \
own target folder, or `touch` the sources before building.",
        &built[..12.min(built.len())],
        &here[..12.min(here.len())],
        git.folder()
    )
}

/// The executor of runs in this process, with the teacher store of `target`.
pub(crate) fn executor(target: &Target, data_dir: &Path, mirror: Option<String>) -> LocalExecutor {
    let git = &target.git;
    let commit = git.commit.as_ref().map(|c| format!("{c}{}", if git.dirty { "-dirty" } else { "" }));
    LocalExecutor {
        workspace: Workspace::new(
            DataDir::new(data_dir),
            TeacherStore::new(target.store.teachers_dir()),
            code_version(commit.as_deref()),
            mirror,
        ),
    }
}

/// Fetches and prepares every dataset of `runs` once, so that workers never race to do it.
pub(crate) fn prepare_datasets(executor: &LocalExecutor, runs: &[&plan::RunSpec]) -> Result<()> {
    let datasets: std::collections::BTreeSet<&str> = runs.iter().map(|r| r.dataset.as_str()).collect();
    let bar = Bar::new();
    for d in datasets {
        executor.workspace.dataset(d, &bar).with_context(|| format!("preparing dataset {d} for the workers"))?;
    }
    Ok(())
}

/// `--worker KEY`: the one run, reported to the parent as events.
fn worker(plan: &Plan, key: &str, target: &Target, executor: &LocalExecutor) -> Result<()> {
    let Some(run) = plan.runs.iter().find(|r| r.key == key) else {
        bail!("suite {} has no run {key}", plan.suite);
    };
    let stop = harbench_common::interrupt::stop_flag("stopping after this batch").context("installing the Ctrl-C handler")?;
    // RAYON_NUM_THREADS, set by the parent, is the pool's size; its workers get deep stacks.
    harbench_models::device::init_thread_pool(None).context("setting up the thread pool")?;
    let log = |line: &str| Event::Log { line: line.into() }.emit();
    let summary = harbench_models::device::on_worker_thread(|| {
        runner::run_these(&plan.suite, &[run], target, executor, &Feedback { log: &log, runs: &Silent, inner: &EventProgress, stop: &stop })
    })?;
    Event::Done { summary }.emit();
    Ok(())
}

/// `--jobs N` with N > 1: worker processes of this binary, one per selected run.
fn in_workers(
    args: &RunArgs,
    plan: &Plan,
    target: &Target,
    executor: &LocalExecutor,
    parallel: &Parallelism,
    data_dir: &Path,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<runner::Summary> {
    let selected = &plan::filter(&plan.runs, &args.runs.filter);
    prepare_datasets(executor, selected)?;
    let rows = runner::dry_run(plan, target, executor, &args.runs.filter)?;
    let guessed = rows.iter().filter(|r| r.estimate.is_some() && r.guessed()).count();
    let estimates: BTreeMap<String, Option<f64>> = rows.into_iter().map(|r| (r.key, r.estimate)).collect();
    let estimate = |r: &plan::RunSpec| estimates.get(&r.key).copied().flatten();
    let threads = parallel.threads.unwrap_or(1);
    let exe = std::env::current_exe().context("finding this program to start workers")?;
    let suite_file = absolute(&suite_path(&args.suite)?);
    let forwarded = args.runs.forwarded(target);
    let command = |run: &plan::RunSpec| {
        let mut c = std::process::Command::new(&exe);
        c.arg("--data-dir").arg(absolute(data_dir)).arg("run").arg(&suite_file).arg("--worker").arg(&run.key);
        c.args(&forwarded).env("RAYON_NUM_THREADS", threads.to_string());
        c
    };
    let makespan = schedule::makespan(&pool::tasks(selected, &estimate), parallel.jobs);
    // Measured speeds bound a run from above (early stopping ends it sooner); the default
    // speed is only a guess.
    let bound = match guessed {
        0 => "at most".to_string(),
        k => format!("a guess ({k} run(s) at the default {} samples/s):", runner::DEFAULT_SAMPLES_PER_SECOND),
    };
    println!(
        "suite {}: {} runs on {} workers × {threads} thread(s); results in {}; estimated wall time {bound} {}",
        plan.suite,
        selected.len(),
        parallel.jobs,
        target.dir(&plan.suite).display(),
        duration(makespan)
    );
    let view = WorkerBars::new(parallel.jobs);
    let workers = pool::Workers { jobs: parallel.jobs, command: &command };
    Ok(pool::run(selected, target, &workers, &estimate, &view, stop)?)
}

fn dry_run(plan: &Plan, target: &Target, executor: &LocalExecutor, filters: &[String], dir: &Path, jobs: usize) -> Result<()> {
    let rows = runner::dry_run(plan, target, executor, filters)?;
    let mut b = Builder::new();
    b.push_record(["run", "state", "estimate", "basis"]);
    for r in &rows {
        b.push_record([r.key.clone(), r.state.to_string(), r.estimate.map(duration).unwrap_or_else(|| "—".into()), r.basis.clone()]);
    }
    let mut t = b.build();
    t.with(Style::sharp());
    println!("{t}");
    let todo: Vec<_> = rows.iter().filter(|r| r.state != "done" && r.state != "n/a").collect();
    let unavailable = rows.iter().filter(|r| r.state == "n/a").count();
    let known: f64 = todo.iter().filter_map(|r| r.estimate).fold(0.0, |a, b| a + b);
    let unknown = todo.iter().filter(|r| r.estimate.is_none()).count();
    let guessed = todo.iter().filter(|r| r.guessed()).count();
    println!(
        "suite {}: {} runs, {} done, {} not in this build, {} to run; estimate {}{} on one worker (epochs × training windows ÷ samples/s; from recorded speeds an upper bound, since early stopping ends runs sooner{})",
        plan.suite,
        rows.len(),
        rows.len() - todo.len() - unavailable,
        unavailable,
        todo.len(),
        duration(known),
        if unknown > 0 { format!(" + {unknown} run(s) of unknown length") } else { String::new() },
        if guessed > 0 {
            format!(
                "; {guessed} run(s) at the default {} samples/s, the student's, as no machine recorded the speed of their model and method: a guess, and a slower model takes longer (DeepConvLSTM: about 35 on one core)",
                runner::DEFAULT_SAMPLES_PER_SECOND
            )
        } else {
            String::new()
        }
    );
    // Rows follow the filtered plan's order, one per run.
    let pending: Vec<&plan::RunSpec> = plan::filter(&plan.runs, filters)
        .into_iter()
        .zip(&rows)
        .filter(|(_, r)| r.state != "done" && r.state != "n/a")
        .map(|(run, _)| run)
        .collect();
    let estimates: BTreeMap<&str, Option<f64>> = rows.iter().map(|r| (r.key.as_str(), r.estimate)).collect();
    let estimate = |r: &plan::RunSpec| estimates.get(r.key.as_str()).copied().flatten();
    let tasks = pool::tasks(&pending, &estimate);
    let critical = schedule::makespan(&tasks, tasks.len().max(1));
    println!(
        "makespan on {jobs} worker(s): {} (teachers before their students, longest chains first; the longest chain alone takes {})",
        duration(schedule::makespan(&tasks, jobs)),
        duration(critical)
    );
    println!("results: {}", dir.display());
    Ok(())
}

pub(crate) fn duration(seconds: f64) -> String {
    if seconds < 90.0 {
        format!("{seconds:.0} s")
    } else if seconds < 5400.0 {
        format!("{:.1} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}
