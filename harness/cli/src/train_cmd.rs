//! `harbench train`: one model on one dataset split, metrics printed and written as JSON.

use crate::progress::Bar;
use anyhow::{Context, Result};
use clap::Args;
use harbench_data::prepare::DataDir;
use harbench_data::split::{Protocol, SplitConfig};
use harbench_distill::registry as methods;
use harbench_models::{HeadKind, ModelConfig};
use harbench_run::checkpoint;
use harbench_run::{Executed, MethodRequest, RunContext, RunRequest, StoreEntry, TeacherSource, Workspace};
use harbench_train::metrics::Metrics;
use harbench_train::search::SearchConfig;
use harbench_train::store::{code_version, TeacherStore};
use harbench_train::{DeviceChoice, TrainConfig, TrainSettings};
use std::path::{Path, PathBuf};
use tabled::builder::Builder;
use tabled::settings::Style;

#[derive(Args)]
#[command(after_help = crate::help::train())]
pub struct TrainArgs {
    /// Dataset id (see `harbench data list`); prepared on first use.
    #[arg(long)]
    dataset: String,
    /// Model preset (the student when distilling); see the list below.
    #[arg(long, visible_alias = "student")]
    model: String,
    /// Width multiplier of the model's channels (filters, LSTM units; 1 = the published size).
    #[arg(long)]
    width: Option<f64>,
    /// Distil the model from a teacher with this method (see below).
    #[arg(long)]
    method: Option<String>,
    /// Hyper-parameter of the method, KEY=VALUE (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE", requires = "method")]
    params: Vec<String>,
    /// Teacher preset, trained first on the same split.
    #[arg(long, requires = "method", conflicts_with = "teacher_checkpoint")]
    teacher: Option<String>,
    /// Width multiplier of the teacher.
    #[arg(long, requires = "teacher")]
    teacher_width: Option<f64>,
    /// Epochs of the in-process teacher (default: --epochs).
    #[arg(long, requires = "teacher")]
    teacher_epochs: Option<usize>,
    /// Where trained teachers are kept and looked up (shared with `harbench run`).
    #[arg(long, default_value = "results/teachers")]
    teacher_store: PathBuf,
    /// Reuse a teacher: a .bpk written by `harbench train --out` (its JSON report beside it).
    #[arg(long, requires = "method")]
    teacher_checkpoint: Option<PathBuf>,
    /// Split protocol: holdout-subjects, loso, loso-<k>, random (the first fold is trained).
    #[arg(long, default_value = "holdout-subjects")]
    split: Protocol,
    /// Seeds the split, the initial weights and the batch order.
    #[arg(long, default_value_t = TrainConfig::default().seed)]
    seed: u64,
    #[command(flatten)]
    settings: TrainSettings,
    /// Classifier heads on the pooled feature, comma-separated: linear, hopfield, mlp, cosine,
    /// or simh alone (the SMLDist authors' intuition-memory head, docs/smldist.md). Several heads
    /// are mixed and searched: their weights learn on validation batches, and the best head (or
    /// pair) within --max-params / --max-latency-ms is kept (docs/smldist.md).
    #[arg(long, value_delimiter = ',', value_parser = parse_head)]
    heads: Vec<HeadKind>,
    /// Classifier heads of the in-process teacher (SMLDist's memory distillation needs hopfield).
    #[arg(long, value_delimiter = ',', value_parser = parse_head, requires = "teacher")]
    teacher_heads: Vec<HeadKind>,
    /// Head search: largest trainable-parameter count of the exported model.
    #[arg(long)]
    max_params: Option<usize>,
    /// Head search: largest median single-window CPU latency of the exported model, in ms.
    #[arg(long)]
    max_latency_ms: Option<f64>,
    /// Classifier dropout while training (0: off).
    #[arg(long)]
    dropout: Option<f64>,
    /// Device: flex (CPU, always built), cuda (--features cuda), vulkan (--features vulkan) or gpu
    /// (the GPU backend the build has). A first
    /// run on a GPU spends minutes compiling and autotuning kernels before training (docs/models.md).
    #[arg(long, default_value = "flex")]
    device: DeviceChoice,
    /// Fetch the dataset from this folder or URL when its sources are missing.
    #[arg(long, env = "HARBENCH_DATA_MIRROR")]
    mirror: Option<String>,
    /// Report path (.json); the checkpoint goes beside it (.bpk).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The run `args` ask for, every setting checked before any data work.
fn request(args: &TrainArgs) -> Result<RunRequest> {
    harbench_data::registry::find(&args.dataset)?;
    let model = model_config(&args.model, args.width, args.dropout, &args.heads)?;
    let train = TrainConfig {
        seed: args.seed,
        search: SearchConfig { max_params: args.max_params, max_latency_ms: args.max_latency_ms, ..SearchConfig::default() },
        ..args.settings.apply(&TrainConfig::default())
    }
    .check()?;
    let method = match &args.method {
        Some(name) => {
            let params = methods::parse_params(&args.params).map_err(anyhow::Error::msg)?;
            // Unknown names and bad hyper-parameters are errors now, not after the teacher.
            methods::build(name, &params)?;
            let teacher = match (&args.teacher_checkpoint, &args.teacher) {
                (Some(path), _) => TeacherSource::Checkpoint(path.clone()),
                (None, Some(name)) => {
                    let model = model_config(name, args.teacher_width, None, &args.teacher_heads)?;
                    let train = TrainConfig { epochs: args.teacher_epochs.unwrap_or(train.epochs), ..(*train).clone() }.check()?;
                    TeacherSource::Store { name: name.clone(), model, train, entry: StoreEntry::ThisCode }
                }
                (None, None) => {
                    anyhow::bail!("--method {name} needs a teacher: --teacher NAME (trained first) or --teacher-checkpoint PATH")
                }
            };
            Some(MethodRequest { name: name.clone(), params, teacher })
        }
        None => None,
    };
    Ok(RunRequest {
        label: args.model.clone(),
        dataset: args.dataset.clone(),
        split: SplitConfig { protocol: args.split, seed: args.seed, ..Default::default() },
        fold: 0,
        model,
        train,
        method,
        device: args.device,
        teacher_store: None,
        profile: false,
    })
}

fn model_config(name: &str, width: Option<f64>, dropout: Option<f64>, heads: &[HeadKind]) -> Result<ModelConfig> {
    let mut config = ModelConfig::preset(name, width)?;
    if let Some(p) = dropout {
        config = config.with_dropout(name, p)?;
    }
    if !heads.is_empty() {
        config = config.with_heads(name, heads.to_vec())?;
    }
    Ok(config)
}

pub fn run(args: TrainArgs, data_dir: &Path) -> Result<()> {
    let request = request(&args)?;
    let stop = harbench_common::interrupt::stop_flag("stopping after this batch and saving the best checkpoint")
        .context("installing the Ctrl-C handler")?;
    let default_name = match &args.method {
        Some(m) => format!("{}-{}-{}-seed{}", args.dataset, args.model, m.to_ascii_lowercase(), args.seed),
        None => format!("{}-{}-seed{}", args.dataset, args.model, args.seed),
    };
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("results/train/{default_name}.json")));
    if let Some(TeacherSource::Store { name, train, .. }) = request.method.as_ref().map(|m| &m.teacher) {
        eprintln!(
            "teacher {name} ({} epochs): from the teacher store {}, trained now if absent",
            train.epochs,
            args.teacher_store.display()
        );
    }
    // The teacher store (shared with `harbench run`) trains a teacher once per dataset, split,
    // model, settings, seed and code version; later runs reuse it.
    let git = harbench_suite::gitinfo::GitInfo::discover(&std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")));
    let commit = git.commit.as_ref().map(|c| format!("{c}{}", if git.dirty { "-dirty" } else { "" }));
    let workspace = Workspace::new(
        DataDir::new(data_dir),
        TeacherStore::new(&args.teacher_store),
        code_version(commit.as_deref()),
        args.mirror.clone(),
    );
    let bar = Bar::new();
    let executed = workspace.execute(&request, &RunContext { progress: &bar, stop: &stop, checkpoints: None, teacher_record: None })?;
    if let Some(t) = executed.teacher.as_ref().filter(|t| t.checkpoint.is_none()) {
        eprintln!("teacher: {} {}", if t.info.reused { "reused" } else { "trained and stored" }, t.info.store_key);
    }
    if let Some(path) = checkpoint::save_executed(&executed, &request, &args.model, &out)? {
        eprintln!("teacher: {} (reuse with --teacher-checkpoint {})", path.display(), path.with_extension("bpk").display());
    }
    print_outcome(&args, &executed);
    summary(&args, &executed, &out);
    Ok(())
}

fn print_outcome(args: &TrainArgs, executed: &Executed) {
    let outcome = &executed.output.outcome;
    if let (Some(d), Some(t)) = (&executed.distilled, &executed.teacher) {
        let rows = vec![
            vec![
                "teacher".to_string(),
                t.name.clone(),
                "-".into(),
                score(d.teacher.test.as_ref().map(|m| m.accuracy)),
                score(d.teacher.test.as_ref().map(|m| m.macro_f1)),
            ],
            vec![
                format!("student ({})", d.method),
                args.model.clone(),
                outcome.best.epoch.to_string(),
                score(outcome.best.test.as_ref().map(|m| m.accuracy)),
                score(outcome.best.test.as_ref().map(|m| m.macro_f1)),
            ],
        ];
        print_table(std::iter::once(["role", "model", "epoch", "test accuracy", "test macro-F1"].map(String::from).to_vec()).chain(rows));
    }
    print_scores(outcome);
    print_search(outcome);
    if let Some(d) = &executed.distilled {
        let terms: Vec<String> = d.terms.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
        println!("{}: mean loss terms {}; {} training-only parameters", d.method, terms.join(", "), d.part_parameters);
    }
}

fn print_table(rows: impl IntoIterator<Item = Vec<String>>) {
    let mut table = Builder::from_iter(rows).build();
    table.with(Style::sharp());
    println!("{table}");
}

pub(crate) fn parse_head(s: &str) -> Result<HeadKind, String> {
    HeadKind::parse(s)
}

/// The head search's candidates, when there was one.
fn print_search(outcome: &harbench_train::TrainOutcome) {
    let Some(search) = &outcome.search else { return };
    let weights: Vec<String> = search.weights.iter().map(|(k, w)| format!("{} {w:.3}", k.name())).collect();
    println!("head search: mixture weights {}", weights.join(", "));
    let rows = search.candidates.iter().map(|c| {
        let heads: Vec<&str> = c.heads.iter().map(|k| k.name()).collect();
        vec![
            heads.join("+"),
            format!("{:.4}", c.val.accuracy),
            format!("{:.4}", c.val.macro_f1),
            c.parameters.to_string(),
            c.latency_ms.map(|l| format!("{l:.3}")).unwrap_or_else(|| "-".into()),
            if c.heads == search.chosen {
                "chosen".into()
            } else if c.within_budget {
                "".into()
            } else {
                "over budget".into()
            },
        ]
    });
    print_table(
        std::iter::once(["heads", "val accuracy", "val macro-F1", "parameters", "latency ms", ""].map(String::from).to_vec()).chain(rows),
    );
    if !search.fits_budget {
        println!("warning: no candidate fits the budget; the smallest was kept");
    }
}

/// A score to four decimals, or `withheld` when the run did not evaluate the test split.
fn score(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.4}")).unwrap_or_else(|| "withheld".into())
}

fn print_scores(o: &harbench_train::TrainOutcome) {
    let row = |what: &str, epoch: usize, m: Option<&Metrics>| {
        vec![what.to_string(), epoch.to_string(), score(m.map(|m| m.accuracy)), score(m.map(|m| m.macro_f1))]
    };
    print_table([
        ["checkpoint / split", "epoch", "accuracy", "macro-F1"].map(String::from).to_vec(),
        row("best-val / val", o.best.epoch, Some(&o.best.val)),
        row("best-val / test", o.best.epoch, o.best.test.as_ref()),
        row("last / val", o.last.epoch, Some(&o.last.val)),
        row("last / test", o.last.epoch, o.last.test.as_ref()),
    ]);
}

fn summary(args: &TrainArgs, executed: &Executed, out: &Path) {
    let o = &executed.output.outcome;
    println!(
        "{} on {} ({}): {} parameters, {} epochs{} in {:.1} s, {:.0} samples/s",
        args.model,
        args.dataset,
        executed.fold.name,
        o.parameters,
        o.epochs_run,
        if o.interrupted { " (interrupted)" } else { "" },
        o.train_seconds,
        o.samples_per_second
    );
    if let Some(bytes) = harbench_common::proc::peak_rss_bytes() {
        println!("peak resident memory (training included): {:.1} MiB", bytes as f64 / 1048576.0);
    }
    println!("report: {}\ncheckpoint: {}", out.display(), out.with_extension("bpk").display());
}
