//! `harbench`: the command-line front of the harness.

mod bench_cmd;
mod data_cmd;
mod help;
mod profile_cmd;
mod progress;
mod report_cmd;
mod slurm_cmd;
mod suite_cmd;
mod train_cmd;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// Counts heap bytes, so that a profile measures the memory of inference alone (docs/cost.md).
#[global_allocator]
static ALLOCATOR: harbench_cost::alloc::Counting = harbench_cost::alloc::Counting;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "harbench",
    version = env!("HARBENCH_VERSION_TEXT"),
    about = "Benchmark and reproducibility harness for knowledge distillation in inertial human activity recognition",
    long_about = "harbench trains and measures activity-recognition models and distillation methods on public \
inertial datasets, so that every number in a results table can be re-run from one command.\n\n\
Start with the data: `harbench data list` shows the datasets, `harbench data fetch` downloads and \
verifies them, `harbench data prepare` windows them into an HDF5 cache, `harbench data stats` \
summarises them. `harbench run SUITE` runs a suite of experiments into the results store, \
`harbench report SUITE` prints its tables, `harbench diff REV_A REV_B` compares two commits.",
    after_help = "Examples:\n  harbench data prepare synthetic && harbench data stats synthetic\n  \
harbench data fetch --all --mirror ../shared/datasets\n  harbench data prepare --all && harbench data stats\n  \
harbench run quick && harbench report quick\n  harbench run paper --jobs 16\n  harbench slurm submit paper --partition cpu\n  harbench diff HEAD~1 HEAD --suite quick\n  harbench profile --model mobilenetv3-small-1d"
)]
struct Cli {
    /// Folder for fetched sources (raw/) and prepared caches (cache/).
    #[arg(long, global = true, env = "HARBENCH_DATA_DIR", default_value = "datasets")]
    data_dir: PathBuf,

    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: boxing the large argument structs would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Datasets: list, fetch, verify, prepare, stats.
    Data {
        #[command(subcommand)]
        command: data_cmd::DataCommand,
    },
    /// Train one model on one dataset split and report accuracy and macro-F1.
    Train(train_cmd::TrainArgs),
    /// Time training throughput (samples/s) on random input of a fixed shape.
    BenchTrain(bench_cmd::BenchArgs),
    /// Run a suite (datasets × models × methods × seeds), resumably, into the results store.
    Run(suite_cmd::RunArgs),
    /// Tables of a suite's results on one commit: terminal, Markdown and CSV.
    Report(report_cmd::ReportArgs),
    /// Compare two commits' results run by run, with Welch's t-test over seeds.
    Diff(report_cmd::DiffArgs),
    /// Run a suite as a Slurm job array on a cluster (submit, status).
    Slurm {
        #[command(subcommand)]
        command: slurm_cmd::SlurmCommand,
    },
    /// Measure what a model costs: parameters, MACs, latency, throughput, peak memory, energy.
    Profile(profile_cmd::ProfileArgs),
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    // `run` sets its pool up itself, once it knows its threads per job. A suite's profile runs
    // on one thread pinned to one core: pinned first, so that the pool's thread inherits it.
    let pool = match &mut cli.command {
        Command::Run(_) => Ok(()),
        Command::Profile(args) if args.suite.is_some() => {
            profile_cmd::pin(args);
            harbench_models::device::init_thread_pool(Some(1)).context("setting up the thread pool")
        }
        _ => harbench_models::device::init_thread_pool(None).context("setting up the thread pool"),
    };
    let result = pool.and_then(|()| dispatch(cli.command, &cli.data_dir));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `command`. Those that train run on one of rayon's workers
/// (`device::on_worker_thread`): flex's parallel operations are then joins that the other
/// workers steal, instead of a job handed over and waited for; the numbers are the same.
fn dispatch(command: Command, data_dir: &Path) -> anyhow::Result<()> {
    use harbench_models::device::on_worker_thread;
    match command {
        Command::Data { command } => data_cmd::run(command, data_dir),
        Command::Train(args) => on_worker_thread(|| train_cmd::run(args, data_dir)),
        Command::BenchTrain(args) => on_worker_thread(|| bench_cmd::run(args)),
        Command::Run(args) => suite_cmd::run(args, data_dir),
        Command::Report(args) => report_cmd::report(args),
        Command::Diff(args) => report_cmd::diff(args),
        Command::Profile(args) => profile_cmd::run(args),
        Command::Slurm { command } => slurm_cmd::run(command, data_dir),
    }
}
