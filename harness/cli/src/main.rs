//! `harbench`: the command-line front of the harness.

mod data_cmd;
mod profile_cmd;
mod progress;
mod train_cmd;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "harbench",
    version,
    about = "Benchmark and reproducibility harness for knowledge distillation in inertial human activity recognition",
    long_about = "harbench trains and measures activity-recognition models and distillation methods on public \
inertial datasets, so that every number in a results table can be re-run from one command.\n\n\
Start with the data: `harbench data list` shows the datasets, `harbench data fetch` downloads and \
verifies them, `harbench data prepare` windows them into an HDF5 cache, `harbench data stats` \
summarises them.",
    after_help = "Examples:\n  harbench data prepare synthetic && harbench data stats synthetic\n  \
harbench data fetch --all --mirror ../shared/datasets\n  harbench data prepare --all && harbench data stats\n  \
harbench profile --model mobilenetv3-small-1d"
)]
struct Cli {
    /// Folder for fetched sources (raw/) and prepared caches (cache/).
    #[arg(long, global = true, env = "HARBENCH_DATA_DIR", default_value = "datasets")]
    data_dir: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Datasets: list, fetch, verify, prepare, stats.
    Data {
        #[command(subcommand)]
        command: data_cmd::DataCommand,
    },
    /// Train one model on one dataset split and report accuracy and macro-F1.
    Train(train_cmd::TrainArgs),
    /// Measure what a model costs: parameters, MACs, latency, throughput, peak memory, energy.
    Profile(profile_cmd::ProfileArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Data { command } => data_cmd::run(command, &cli.data_dir),
        Command::Train(args) => train_cmd::run(args, &cli.data_dir),
        Command::Profile(args) => profile_cmd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
