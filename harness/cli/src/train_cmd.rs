//! `harbench train`: one model on one dataset split, metrics printed and written as JSON.

use crate::progress::Bar;
use anyhow::{Context, Result};
use burn::module::Module;
use clap::Args;
use harbench_data::prepare::{self, DataDir, Overrides};
use harbench_data::registry;
use harbench_data::split::{self, Protocol, SplitConfig};
use harbench_models::ModelConfig;
use harbench_train::metrics::Metrics;
use harbench_train::{train, DeviceChoice, TrainConfig};
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tabled::builder::Builder;
use tabled::settings::Style;

#[derive(Args)]
#[command(after_help = "Examples:\n  harbench train --dataset synthetic --model mobilenetv3-small-1d --epochs 5\n  \
harbench train --dataset uci-har --model mobilenetv3-large-1d --width 0.5 --seed 1 --epochs 40\n  \
harbench train --dataset pamap2 --model tinyhar --split loso\n  \
harbench train --dataset synthetic --model deepconvlstm --width 0.5\n\n\
Models: the 1-D MobileNetV3 teacher and student, and the rival HAR architectures trained without \
distillation (DeepConvLSTM, TinyHAR, ResNet-1D, a plain 3-layer CNN); docs/models.md describes each.\n\n\
The best-validation checkpoint (.bpk) and a JSON report with the resolved settings are written next \
to each other (--out). Ctrl-C stops after the current batch and still writes both.")]
pub struct TrainArgs {
    /// Dataset id (see `harbench data list`); prepared on first use.
    #[arg(long)]
    dataset: String,
    /// Model preset: mobilenetv3-large-1d, mobilenetv3-small-1d, deepconvlstm, tinyhar, resnet1d, cnn3.
    #[arg(long)]
    model: String,
    /// Width multiplier of the model's channels (filters, LSTM units; 1 = the published size).
    #[arg(long)]
    width: Option<f64>,
    /// Split protocol: holdout-subjects, loso, loso-<k>, random (the first fold is trained).
    #[arg(long, default_value = "holdout-subjects")]
    split: Protocol,
    #[arg(long, default_value_t = TrainConfig::default().seed)]
    seed: u64,
    #[arg(long, default_value_t = TrainConfig::default().epochs)]
    epochs: usize,
    #[arg(long, default_value_t = TrainConfig::default().batch_size)]
    batch_size: usize,
    #[arg(long, default_value_t = TrainConfig::default().lr)]
    lr: f64,
    #[arg(long, default_value_t = TrainConfig::default().weight_decay)]
    weight_decay: f64,
    #[arg(long, default_value_t = TrainConfig::default().warmup_epochs)]
    warmup_epochs: usize,
    #[arg(long, default_value_t = TrainConfig::default().label_smoothing)]
    label_smoothing: f64,
    /// Augmentation: per-channel scale factors ~ N(1, s²) (0: off).
    #[arg(long, default_value_t = 0.0)]
    augment_scale: f64,
    /// Augmentation: additive Gaussian noise of this std, in normalised units (0: off).
    #[arg(long, default_value_t = 0.0)]
    augment_jitter: f64,
    /// Classifier dropout while training (0: off).
    #[arg(long)]
    dropout: Option<f64>,
    /// Early-stopping patience in epochs on validation macro-F1 (0: never stop early).
    #[arg(long, default_value_t = TrainConfig::default().patience.unwrap_or(0))]
    patience: usize,
    /// Device: flex (CPU, always built) or gpu (Vulkan; needs a build with --features gpu).
    #[arg(long, default_value = "flex")]
    device: DeviceChoice,
    /// Report path (.json); the checkpoint goes beside it (.bpk).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(args: TrainArgs, data_dir: &std::path::Path) -> Result<()> {
    let dataset = registry::find(&args.dataset)?;
    let mut model_config = ModelConfig::preset(&args.model, args.width)?;
    if let Some(p) = args.dropout {
        model_config = model_config.with_dropout(p);
        model_config.validate(&args.model)?;
    }
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        weight_decay: args.weight_decay,
        warmup_epochs: args.warmup_epochs,
        label_smoothing: args.label_smoothing,
        patience: (args.patience > 0).then_some(args.patience),
        seed: args.seed,
        augment_scale: args.augment_scale,
        augment_jitter: args.augment_jitter,
    };
    config.validate()?;
    let bar = Bar::new();
    let dir = DataDir::new(data_dir);
    let data = prepare::load(&dir, dataset, &Overrides::default(), &bar).with_context(|| format!("preparing {}", args.dataset))?;
    let split_config = SplitConfig { protocol: args.split, seed: args.seed, ..Default::default() };
    let fold = split::folds(&data.windows, &data.meta, &dataset.spec().holdout, &split_config)?.remove(0);

    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // First Ctrl-C: finish the batch and write what exists; second: exit now.
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\ninterrupted: stopping after this batch and saving the best checkpoint (Ctrl-C again to quit now)");
    })
    .context("installing the Ctrl-C handler")?;

    let device = args.device.device()?;
    let trained = train(&model_config, &data, &fold, &config, &device, &bar, &stop)?;
    let out = args.out.unwrap_or_else(|| PathBuf::from(format!("results/train/{}-{}-seed{}.json", args.dataset, args.model, args.seed)));
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let checkpoint = out.with_extension("bpk");
    let tmp = checkpoint.with_extension("bpk.tmp");
    trained.model.clone().save_file(&tmp).map_err(|e| anyhow::anyhow!("saving {}: {e:?}", tmp.display()))?;
    std::fs::rename(&tmp, &checkpoint).with_context(|| format!("writing {}", checkpoint.display()))?;
    let o = &trained.outcome;
    let report = json!({
        "dataset": args.dataset,
        "dataset_config": data.meta.config,
        "dataset_config_hash": data.meta.config_hash,
        "source_checksums": data.meta.source_checksums,
        "split": { "protocol": args.split.to_string(), "fold": fold.name, "test_subjects": fold.test_subjects, "val_subjects": fold.val_subjects, "leaky": fold.leaky },
        "model_name": args.model,
        "model": model_config,
        "train": config,
        "normalizer": trained.normalizer,
        "outcome": o,
        "checkpoint": checkpoint,
        "device": args.device,
        "peak_rss_bytes": crate::peak_memory::peak_rss_bytes(),
        "harbench_version": env!("CARGO_PKG_VERSION"),
    });
    let tmp = out.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&report)?).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &out).with_context(|| format!("writing {}", out.display()))?;

    let row = |what: &str, epoch: usize, m: &Metrics| {
        vec![what.to_string(), epoch.to_string(), format!("{:.4}", m.accuracy), format!("{:.4}", m.macro_f1)]
    };
    let mut rows = vec![["checkpoint / split", "epoch", "accuracy", "macro-F1"].map(String::from).to_vec()];
    rows.push(row("best-val / val", o.best.epoch, &o.best.val));
    rows.push(row("best-val / test", o.best.epoch, &o.best.test));
    rows.push(row("last / val", o.last.epoch, &o.last.val));
    rows.push(row("last / test", o.last.epoch, &o.last.test));
    let mut table = Builder::from_iter(rows).build();
    table.with(Style::sharp());
    println!("{table}");
    println!(
        "{} on {} ({}): {} parameters, {} epochs{} in {:.1} s, {:.0} samples/s",
        args.model,
        args.dataset,
        fold.name,
        o.parameters,
        o.epochs_run,
        if o.interrupted { " (interrupted)" } else { "" },
        o.train_seconds,
        o.samples_per_second
    );
    if let Some(bytes) = crate::peak_memory::peak_rss_bytes() {
        println!("peak resident memory: {:.1} MiB", bytes as f64 / 1048576.0);
    }
    println!("report: {}\ncheckpoint: {}", out.display(), checkpoint.display());
    Ok(())
}
