//! `harbench train`: one model on one dataset split, metrics printed and written as JSON.

use crate::progress::Bar;
use anyhow::{Context, Result};
use burn::module::Module;
use burn::tensor::Device;
use clap::Args;
use harbench_data::cache::Prepared;
use harbench_data::prepare::{self, DataDir, Overrides};
use harbench_data::registry;
use harbench_data::split::{self, Protocol, SplitConfig};
use harbench_data::split::{Fold, Normalizer};
use harbench_distill::registry as methods;
use harbench_models::{HeadKind, Model, ModelConfig};
use harbench_train::metrics::Metrics;
use harbench_train::search::SearchConfig;
use harbench_train::store::{code_version, TeacherKey, TeacherStore};
use harbench_train::{train, DeviceChoice, TrainConfig, Trained};
use serde_json::json;
use std::path::{Path, PathBuf};
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
Distillation (--method): the teacher is trained first on the same split (or reused with \
--teacher-checkpoint), then frozen while the student learns:\n  \
harbench train --dataset uci-har --teacher mobilenetv3-large-1d --student mobilenetv3-small-1d --method KD\n  \
harbench train --dataset uci-har --teacher-checkpoint results/train/t.bpk --student mobilenetv3-small-1d \\\n    \
--method DKD --param warmup=5 --param beta=4\n  \
harbench train --dataset synthetic --teacher mobilenetv3-large-1d --student mobilenetv3-small-1d --method crd --param nce_k=1024\n\n\
Methods: smldist, kd, fitnets, at, sp, rkd, pkt, nst, crd, dkd, dist, logit-std, cc, vid, ft, fsp (docs/distillation.md \
lists their losses and hyper-parameters; docs/smldist.md SMLDist's). SMLDist's memory distillation needs a teacher \
with a Hopfield head: --teacher-heads hopfield. --param KEY=VALUE overrides one hyper-parameter; `ce`, `kd` and \
`kd_temperature` set the weights of the cross-entropy and of an added Hinton KD term.\n\n\
The best-validation checkpoint (.bpk) and a JSON report with the resolved settings are written next \
to each other (--out); an in-process teacher is written beside them as NAME.teacher.bpk/.json, \
reusable with --teacher-checkpoint. Ctrl-C stops after the current batch and still writes both.")]
pub struct TrainArgs {
    /// Dataset id (see `harbench data list`); prepared on first use.
    #[arg(long)]
    dataset: String,
    /// Model preset (the student when distilling): mobilenetv3-large-1d, mobilenetv3-small-1d, deepconvlstm, tinyhar, resnet1d, cnn3.
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
    /// Evaluate and keep an exponential moving average of the weights with this decay per step
    /// (0: off; 0.99 averages over about the last 100 steps).
    #[arg(long, default_value_t = 0.0)]
    ema_decay: f64,
    /// Classifier heads on the pooled feature, comma-separated: linear, hopfield, mlp, cosine.
    /// Several heads are mixed and searched: their weights learn on validation batches, and the
    /// best head (or pair) within --max-params / --max-latency-ms is kept (docs/smldist.md).
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
        model_config = model_config.with_dropout(&args.model, p)?;
    }
    if !args.heads.is_empty() {
        model_config = model_config.with_heads(&args.model, args.heads.clone())?;
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
        ema_decay: args.ema_decay,
        search: SearchConfig { max_params: args.max_params, max_latency_ms: args.max_latency_ms, ..SearchConfig::default() },
    };
    config.validate()?;
    // Settings errors come before any data or training work.
    let method = match &args.method {
        Some(name) => {
            let params = methods::parse_params(&args.params).map_err(anyhow::Error::msg)?;
            if args.teacher.is_none() && args.teacher_checkpoint.is_none() {
                anyhow::bail!("--method {name} needs a teacher: --teacher NAME (trained first) or --teacher-checkpoint PATH");
            }
            Some(methods::build(name, &params)?)
        }
        None => None,
    };
    let mut teacher_config = args.teacher.as_deref().map(|t| ModelConfig::preset(t, args.teacher_width)).transpose()?;
    if let (Some(tc), false) = (&teacher_config, args.teacher_heads.is_empty()) {
        teacher_config = Some(tc.clone().with_heads(args.teacher.as_deref().unwrap_or("teacher"), args.teacher_heads.clone())?);
    }

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
    let default_name = match (&args.method, &args.teacher) {
        (Some(m), _) => format!("{}-{}-{}-seed{}", args.dataset, args.model, m.to_ascii_lowercase(), args.seed),
        _ => format!("{}-{}-seed{}", args.dataset, args.model, args.seed),
    };
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("results/train/{default_name}.json")));
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let base = |name: &str, model_name: &str, model: &ModelConfig, normalizer: &Normalizer| {
        json!({
            "dataset": args.dataset,
            "dataset_config": data.meta.config,
            "dataset_config_hash": data.meta.config_hash,
            "source_checksums": data.meta.source_checksums,
            "split": { "protocol": args.split.to_string(), "fold": fold.name, "test_subjects": fold.test_subjects, "val_subjects": fold.val_subjects, "leaky": fold.leaky },
            "model_name": model_name,
            "model": model,
            "train": config,
            "normalizer": normalizer,
            "checkpoint": Path::new(name).with_extension("bpk"),
            "device": args.device,
            "harbench_version": env!("CARGO_PKG_VERSION"),
        })
    };

    let Some((method, mix)) = method else {
        let trained = train(&model_config, &data, &fold, &config, &device, &bar, &stop)?;
        let exported = trained.outcome.exported_config(&model_config);
        let mut report = base(&out.display().to_string(), &args.model, &exported, &trained.normalizer);
        report["outcome"] = json!(trained.outcome);
        save(&trained.model, &report, &out)?;
        print_scores(&[(&args.model, &trained.outcome)]);
        print_search(&trained.outcome);
        return summary(&args.model, &args.dataset, &fold, &trained, &out);
    };

    // The teacher: reused from a checkpoint (checked to be of this very split), or trained now.
    let (teacher, teacher_name, teacher_outcome) = match (&args.teacher_checkpoint, &teacher_config) {
        (Some(path), _) => {
            let normalizer = Normalizer::fit(&data.windows, &fold.train);
            let (model, name) = load_teacher(path, &data, &args.dataset, &fold, &normalizer, &device)?;
            (model, name, None)
        }
        (None, Some(tc)) => {
            let name = args.teacher.clone().expect("checked above");
            let tconfig = TrainConfig { epochs: args.teacher_epochs.unwrap_or(config.epochs), ..config.clone() };
            tconfig.validate()?;
            // The teacher store (shared with `harbench run`) trains it once per dataset, split,
            // model, settings, seed and code version; later runs reuse it.
            let git = harbench_suite::gitinfo::GitInfo::discover(&std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")));
            let commit = git.commit.as_ref().map(|c| format!("{c}{}", if git.dirty { "-dirty" } else { "" }));
            let store = TeacherStore::new(&args.teacher_store);
            let key = TeacherKey::new(&data, &split_config, &fold, tc, &tconfig, &code_version(commit.as_deref()));
            eprintln!(
                "teacher {name} ({} epochs): from the teacher store {}, trained now if absent",
                tconfig.epochs,
                args.teacher_store.display()
            );
            let trained = store.get_or_train(&key, &data, &fold, &device, &bar, &stop)?;
            if stop.load(Ordering::SeqCst) {
                anyhow::bail!("interrupted while training the teacher; nothing distilled");
            }
            eprintln!("teacher {}: {}", if trained.reused { "reused" } else { "trained and stored" }, trained.key);
            let path = out.with_extension("teacher.json");
            let mut report = base(&path.display().to_string(), &name, &trained.outcome.exported_config(tc), &trained.normalizer);
            report["train"] = json!(tconfig);
            report["outcome"] = json!(trained.outcome);
            save(&trained.model, &report, &path)?;
            eprintln!("teacher: {} (reuse with --teacher-checkpoint {})", path.display(), path.with_extension("bpk").display());
            (trained.model, name, Some(trained.outcome))
        }
        (None, None) => unreachable!("checked above"),
    };
    let method_name = method.name().to_string();
    let (trained, outcome) = harbench_distill::distill(&model_config, &teacher, method, mix, &data, &fold, &config, &device, &bar, &stop)?;
    let exported = trained.outcome.exported_config(&outcome.student_config);
    let mut report = base(&out.display().to_string(), &args.model, &exported, &trained.normalizer);
    report["outcome"] = json!(trained.outcome);
    report["distillation"] = json!({
        "method": method_name,
        "mix": outcome.mix,
        "params": outcome.params,
        "part_parameters": outcome.part_parameters,
        "terms": outcome.terms,
        "teacher_name": teacher_name,
        "teacher_checkpoint": args.teacher_checkpoint,
        "teacher_scores": outcome.teacher,
        "teacher_outcome": teacher_outcome,
        "student_shapes": outcome.student_shapes,
        "teacher_shapes": outcome.teacher_shapes,
    });
    save(&trained.model, &report, &out)?;
    let rows = vec![
        vec![
            "teacher".to_string(),
            teacher_name.clone(),
            "-".into(),
            format!("{:.4}", outcome.teacher.test.accuracy),
            format!("{:.4}", outcome.teacher.test.macro_f1),
        ],
        vec![
            format!("student ({method_name})"),
            args.model.clone(),
            trained.outcome.best.epoch.to_string(),
            format!("{:.4}", trained.outcome.best.test.accuracy),
            format!("{:.4}", trained.outcome.best.test.macro_f1),
        ],
    ];
    let mut table = Builder::from_iter(
        std::iter::once(["role", "model", "epoch", "test accuracy", "test macro-F1"].map(String::from).to_vec()).chain(rows),
    )
    .build();
    table.with(Style::sharp());
    println!("{table}");
    print_scores(&[(&args.model, &trained.outcome)]);
    print_search(&trained.outcome);
    let terms: Vec<String> = outcome.terms.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
    println!("{method_name}: mean loss terms {}; {} training-only parameters", terms.join(", "), outcome.part_parameters);
    summary(&args.model, &args.dataset, &fold, &trained, &out)
}

fn parse_head(s: &str) -> Result<HeadKind, String> {
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
    let mut table = Builder::from_iter(
        std::iter::once(["heads", "val accuracy", "val macro-F1", "parameters", "latency ms", ""].map(String::from).to_vec()).chain(rows),
    )
    .build();
    table.with(Style::sharp());
    println!("{table}");
    if !search.fits_budget {
        println!("warning: no candidate fits the budget; the smallest was kept");
    }
}

/// Writes the checkpoint (`path` with .bpk) and the report (`path`), each atomically.
fn save(model: &Model, report: &serde_json::Value, path: &Path) -> Result<()> {
    let checkpoint = path.with_extension("bpk");
    let tmp = checkpoint.with_extension("bpk.tmp");
    model.clone().save_file(&tmp).map_err(|e| anyhow::anyhow!("saving {}: {e:?}", tmp.display()))?;
    std::fs::rename(&tmp, &checkpoint).with_context(|| format!("writing {}", checkpoint.display()))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(report)?).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// A teacher from `path` (.bpk) and the report beside it; refuses one trained on another
/// dataset, preparation or split, whose training windows could include our test subjects.
fn load_teacher(
    path: &Path,
    data: &Prepared,
    dataset: &str,
    fold: &Fold,
    normalizer: &Normalizer,
    device: &Device,
) -> Result<(Model, String)> {
    let config_hash = &data.meta.config_hash;
    let report_path = path.with_extension("json");
    let text = std::fs::read_to_string(&report_path).with_context(|| format!("reading the teacher's report {}", report_path.display()))?;
    let report: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("parsing {}", report_path.display()))?;
    let field = |name: &str| report.get(name).ok_or_else(|| anyhow::anyhow!("{}: no `{name}` field", report_path.display()));
    let config: ModelConfig =
        serde_json::from_value(field("model")?.clone()).with_context(|| format!("{}: field `model`", report_path.display()))?;
    let name = field("model_name")?.as_str().unwrap_or("teacher").to_string();
    let mismatch = |what: &str, theirs: &serde_json::Value, ours: &dyn std::fmt::Display| {
        anyhow::anyhow!(
            "teacher {} was trained with {what} {theirs}, this run uses {ours}; a teacher must be trained on the same split",
            path.display()
        )
    };
    if field("dataset")? != dataset {
        return Err(mismatch("dataset", field("dataset")?, &dataset));
    }
    if field("dataset_config_hash")? != config_hash {
        return Err(mismatch("dataset preparation", field("dataset_config_hash")?, &config_hash));
    }
    let split = field("split")?;
    if split["fold"] != fold.name.as_str() || split["test_subjects"] != json!(fold.test_subjects) {
        return Err(mismatch("split", split, &format!("fold {} with test subjects {:?}", fold.name, fold.test_subjects)));
    }
    let theirs: Normalizer =
        serde_json::from_value(field("normalizer")?.clone()).with_context(|| format!("{}: field `normalizer`", report_path.display()))?;
    if &theirs != normalizer {
        return Err(anyhow::anyhow!(
            "teacher {} was trained on other training windows (its normalisation statistics differ from this split's)",
            path.display()
        ));
    }
    let (channels, classes) = (data.windows.channels, data.meta.classes.len());
    let model = config
        .build(channels, classes, device)
        .try_load_file(path)
        .map_err(|e| anyhow::anyhow!("loading teacher checkpoint {}: {e:?}", path.display()))?;
    Ok((model.valid(), name))
}

fn print_scores(runs: &[(&str, &harbench_train::TrainOutcome)]) {
    let row = |what: &str, epoch: usize, m: &Metrics| {
        vec![what.to_string(), epoch.to_string(), format!("{:.4}", m.accuracy), format!("{:.4}", m.macro_f1)]
    };
    let mut rows = vec![["checkpoint / split", "epoch", "accuracy", "macro-F1"].map(String::from).to_vec()];
    for (_, o) in runs {
        rows.push(row("best-val / val", o.best.epoch, &o.best.val));
        rows.push(row("best-val / test", o.best.epoch, &o.best.test));
        rows.push(row("last / val", o.last.epoch, &o.last.val));
        rows.push(row("last / test", o.last.epoch, &o.last.test));
    }
    let mut table = Builder::from_iter(rows).build();
    table.with(Style::sharp());
    println!("{table}");
}

fn summary(model: &str, dataset: &str, fold: &Fold, trained: &Trained, out: &Path) -> Result<()> {
    let o = &trained.outcome;
    println!(
        "{} on {} ({}): {} parameters, {} epochs{} in {:.1} s, {:.0} samples/s",
        model,
        dataset,
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
    println!(
        "report: {}
checkpoint: {}",
        out.display(),
        out.with_extension("bpk").display()
    );
    Ok(())
}
