//! `harbench slurm submit` and `harbench slurm status`: a suite as a Slurm job array.

use crate::suite_cmd::{self, absolute, ResultsArgs, SuiteRuns};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use harbench_suite::plan::{self, Plan, RunSpec};
use harbench_suite::runner::{self, Target};
use harbench_suite::slurm::{self, ArraySettings, Submission};
use harbench_suite::store;
use std::path::Path;

/// The result set a cluster's tasks write when no --machine is given: one name for every node.
const DEFAULT_RESULT_SET: &str = "slurm";

#[derive(Subcommand)]
pub enum SlurmCommand {
    /// Submit a suite as a job array (every task a runner on the shared results store) and a
    /// dependent job that writes the tables.
    Submit(SubmitArgs),
    /// The array's jobs in the queue beside the suite's progress in the results store.
    Status(StatusArgs),
}

#[derive(Args)]
#[command(after_help = "Examples:\n  harbench slurm submit paper --array-parallelism 32 --partition cpu --time 12:00:00\n  \
harbench slurm submit smoke --tasks 2 --dry-run\n  harbench slurm status paper\n\n\
Run it from the checkout on the cluster's shared filesystem: tasks run this same binary there, and \
write results/<suite>/<commit>/<machine>/ (machine: --machine, default `slurm`, one result set for \
every node; each record names its host). Datasets are fetched and prepared before submission. \
Every task claims runs by lock and ends when none is left, so a re-submission (after a time limit, a \
dead node, scancel) resumes and trains nothing twice. Scripts and task logs go to the result set's \
slurm/ folder (docs/scale.md).")]
pub struct SubmitArgs {
    /// Suite file, or the name of one in suites/.
    suite: String,
    /// Array tasks [default: one per run to do].
    #[arg(long, value_name = "N")]
    tasks: Option<usize>,
    /// At most K tasks at once (sbatch --array=…%K).
    #[arg(long, value_name = "K")]
    array_parallelism: Option<usize>,
    /// Slurm partition.
    #[arg(long, value_name = "P")]
    partition: Option<String>,
    /// Time limit of each task (sbatch --time, e.g. 4:00:00).
    #[arg(long, value_name = "T")]
    time: Option<String>,
    /// CPUs of each task; its runs use as many threads.
    #[arg(long, value_name = "C", default_value_t = 1)]
    cpus_per_task: usize,
    /// More sbatch options, split at spaces (e.g. '--mem=8G --account=lab').
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    extra: Option<String>,
    /// Write the scripts and print them and the sbatch commands; submit nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    runs: SuiteRuns,
}

#[derive(Args)]
pub struct StatusArgs {
    /// Suite file, or the name of one in suites/.
    suite: String,
    #[command(flatten)]
    results: ResultsArgs,
}

pub fn run(command: SlurmCommand, data_dir: &Path) -> Result<()> {
    match command {
        SlurmCommand::Submit(args) => submit(args, data_dir),
        SlurmCommand::Status(args) => status(args),
    }
}

fn result_set(results: &mut ResultsArgs) -> Result<Target> {
    results.machine.get_or_insert_with(|| DEFAULT_RESULT_SET.into());
    suite_cmd::target(results)
}

fn check(args: &SubmitArgs) -> Result<()> {
    for (name, value) in
        [("--tasks", args.tasks), ("--array-parallelism", args.array_parallelism), ("--cpus-per-task", Some(args.cpus_per_task))]
    {
        if value == Some(0) {
            bail!("{name} must be at least 1");
        }
    }
    Ok(())
}

fn submit(mut args: SubmitArgs, data_dir: &Path) -> Result<()> {
    check(&args)?;
    let plan = args.runs.plan(&args.suite)?;
    let target = result_set(&mut args.runs.results)?;
    let executor = suite_cmd::executor(&target, data_dir, args.runs.mirror.clone());
    let filters = &args.runs.filter;
    let todo = runs_to_do(&plan, &target, &executor, filters)?;
    if todo.is_empty() {
        bail!(
            "suite {} has no run to do{}: every run is finished or not in this build (`harbench run {} --dry-run` shows them; `harbench report {}` prints the tables)",
            plan.suite,
            if filters.is_empty() { String::new() } else { format!(" matching --filter {}", filters.join(" --filter ")) },
            args.suite,
            args.suite
        );
    }
    if !args.dry_run {
        suite_cmd::prepare_datasets(&executor, &todo)?;
    }
    let folder = target.dir(&plan.suite).join("slurm");
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    let settings = ArraySettings {
        job_name: format!("harbench-{}", plan.suite),
        tasks: args.tasks.unwrap_or(todo.len()),
        parallelism: args.array_parallelism,
        partition: args.partition.clone(),
        time: args.time.clone(),
        cpus_per_task: args.cpus_per_task,
        extra: args.extra.as_deref().map(|e| e.split_whitespace().map(str::to_string).collect()).unwrap_or_default(),
    };
    let (runner_line, report_line) = command_lines(&args, &target, data_dir)?;
    let workdir = absolute(Path::new("."));
    let array = folder.join("array.sbatch");
    let report = folder.join("report.sbatch");
    for (path, text) in [
        (&array, slurm::array_script(&settings, &folder, &workdir, &runner_line)),
        (&report, slurm::report_script(&settings, &folder, &workdir, &report_line)),
    ] {
        store::write_atomic(path, text.as_bytes())?;
    }
    if args.dry_run {
        for path in [&array, &report] {
            println!("# {}\n{}", path.display(), std::fs::read_to_string(path)?);
        }
        println!("would run: sbatch --parsable {}", array.display());
        println!("      then: sbatch --parsable --dependency=afterany:<array job> {}", report.display());
        return Ok(());
    }
    let array_job = slurm::sbatch(&array, &[])?;
    let report_job = slurm::sbatch(&report, &[format!("--dependency=afterany:{array_job}")])?;
    let submitted = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    Submission {
        suite: plan.suite.clone(),
        array_job: array_job.clone(),
        report_job: report_job.clone(),
        settings: settings.clone(),
        submitted,
        folder: folder.clone(),
    }
    .write()?;
    println!(
        "suite {}: {} run(s) to do; submitted array job {array_job} ({} tasks{}) and report job {report_job} (after the array)",
        plan.suite,
        todo.len(),
        settings.tasks,
        settings.parallelism.map(|k| format!(", at most {k} at once")).unwrap_or_default()
    );
    println!("logs: {}\nfollow: harbench slurm status {}", folder.display(), args.suite);
    Ok(())
}

/// The runs that a runner would carry out now: not finished, and possible in this build.
fn runs_to_do<'a>(
    plan: &'a Plan,
    target: &Target,
    executor: &harbench_suite::executor::LocalExecutor,
    filters: &[String],
) -> Result<Vec<&'a RunSpec>> {
    let rows = runner::dry_run(plan, target, executor, filters)?;
    Ok(plan::filter(&plan.runs, filters)
        .into_iter()
        .zip(&rows)
        .filter(|(_, r)| r.state != "done" && r.state != "n/a")
        .map(|(run, _)| run)
        .collect())
}

/// The command line of every array task, and of the report job.
fn command_lines(args: &SubmitArgs, target: &Target, data_dir: &Path) -> Result<(Vec<String>, Vec<String>)> {
    let exe = std::env::current_exe().context("finding this program for the Slurm scripts")?;
    let suite = absolute(&suite_cmd::suite_path(&args.suite)?);
    let results = absolute(&target.store.root);
    let path = |p: &Path| p.display().to_string();
    let mut runner = vec![path(&exe), "--data-dir".into(), path(&absolute(data_dir)), "run".into(), path(&suite)];
    runner.extend(["--jobs".into(), "1".into(), "--threads-per-job".into(), args.cpus_per_task.to_string()]);
    runner.extend(args.runs.forwarded(target));
    for f in &args.runs.filter {
        runner.extend(["--filter".into(), f.clone()]);
    }
    let report = vec![
        path(&exe),
        "report".into(),
        path(&suite),
        "--results".into(),
        path(&results),
        "--machine".into(),
        target.machine.name.clone(),
        "--commit".into(),
        target.git.folder(),
    ];
    Ok((runner, report))
}

fn status(mut args: StatusArgs) -> Result<()> {
    let plan = suite_cmd::load_plan(&args.suite)?;
    let target = result_set(&mut args.results)?;
    let dir = target.dir(&plan.suite);
    let folder = dir.join("slurm");
    let Some(sub) = Submission::read(&folder)? else {
        bail!("no Slurm submission of suite {} in {} (submit with `harbench slurm submit {}`)", plan.suite, folder.display(), args.suite);
    };
    let queued = slurm::squeue(&[&sub.array_job, &sub.report_job])?;
    println!("suite {}: array job {} ({} tasks), report job {}", plan.suite, sub.array_job, sub.settings.tasks, sub.report_job);
    if queued.is_empty() {
        println!("queue: both jobs have left the queue");
    }
    for q in &queued {
        println!("  {:<16} {:<10} {}", q.id, q.state, q.reason);
    }
    let (mut done, mut failed, mut running, mut pending) = (0, 0, 0, 0);
    for run in &plan.runs {
        let lock = store::lock_path(&dir, &run.key);
        match harbench_suite::store::ResultsStore::read(&dir, &run.key)? {
            Some(r) if r.finished() && r.config_hash == run.config_hash() => done += 1,
            _ if harbench_common::lock::owner(&lock).is_some() => running += 1,
            Some(r) if !r.finished() => failed += 1,
            _ => pending += 1,
        }
    }
    println!("store: {done} finished, {running} running, {failed} failed, {pending} to do ({} runs; {})", plan.runs.len(), dir.display());
    let tables = target.store.commit_dir(&plan.suite, &target.git.folder()).join("tables.md");
    if tables.is_file() {
        println!("tables: {}", tables.display());
    }
    Ok(())
}
