//! `harbench bench-train`: training throughput (samples/s) of models on random input of a fixed
//! shape, the number `bench/reference/compare.sh` sets beside PyTorch's.

use anyhow::Result;
use clap::Args;
use harbench_common::proc::peak_rss_bytes;
use harbench_distill::bench::distill_throughput;
use harbench_models::{HeadKind, ModelConfig};
use harbench_train::bench::{train_throughput, BenchSettings};
use harbench_train::DeviceChoice;
use serde_json::json;
use std::path::PathBuf;
use tabled::builder::Builder;
use tabled::settings::Style;

#[derive(Args)]
#[command(after_help = "Examples:\n  harbench bench-train                      # student and teacher, 9×128 and 6×128, batch 64\n  \
harbench bench-train --model mobilenetv3-small-1d --channels 9 --json out.json\n  \
harbench bench-train --model mobilenetv3-small-1d --width 0.5 --channels 9 --method kd --method smldist\n\n\
Each repeat times --steps training steps (forward, cross-entropy, backward, AdamW) after --warmup \
untimed ones; the table shows the median and the range over repeats. Peak memory is the process's \
peak resident set (VmHWM), so run one model per process to read it per model.\n\n\
With --method, each model is also timed as a student distilled from --teacher (randomly \
initialised; its speed does not depend on its weights), twice: the teacher run on every step, and \
its outputs read from the teacher cache (what a run without augmentation does after its first \
epoch).")]
pub struct BenchArgs {
    /// Model presets to time (repeatable); default: the student and the teacher.
    #[arg(long = "model")]
    models: Vec<String>,
    /// Width multiplier applied to every model.
    #[arg(long)]
    width: Option<f64>,
    /// Input channels (repeatable); default 9 and 6 (UCI-HAR's and a 6-axis IMU's shapes).
    #[arg(long = "channels")]
    channels: Vec<usize>,
    /// Window length in samples (time steps).
    #[arg(long, default_value_t = 128)]
    length: usize,
    /// Number of classes of the classifier.
    #[arg(long, default_value_t = 6)]
    classes: usize,
    /// Windows per training step.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Untimed steps before the first repeat (on a GPU, these compile and autotune the kernels).
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Timed steps per repeat.
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Repeats; the table shows their median and range.
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Device: flex (CPU), cuda (--features cuda), vulkan (--features vulkan) or gpu (the GPU
    /// backend the build has). A first run on a GPU
    /// spends minutes compiling and autotuning kernels in its warm-up (docs/models.md).
    #[arg(long, default_value = "flex")]
    device: DeviceChoice,
    /// Also time distillation steps with this method (repeatable; `harbench train --help` lists them).
    #[arg(long = "method", value_name = "NAME")]
    methods: Vec<String>,
    /// Teacher preset of the distillation steps.
    #[arg(long, default_value = "mobilenetv3-large-1d")]
    teacher: String,
    /// Teacher width multiplier of the distillation steps.
    #[arg(long, default_value_t = 1.0)]
    teacher_width: f64,
    /// Teacher classifier heads, comma-separated [default: hopfield, which SMLDist's memory
    /// distillation needs].
    #[arg(long, value_delimiter = ',', value_parser = crate::train_cmd::parse_head, default_value = "hopfield")]
    teacher_heads: Vec<HeadKind>,
    /// Also write the results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

pub fn run(args: BenchArgs) -> Result<()> {
    let models = if args.models.is_empty() { vec!["mobilenetv3-small-1d".to_string(), "mobilenetv3-large-1d".into()] } else { args.models };
    let channels = if args.channels.is_empty() { vec![9, 6] } else { args.channels };
    let device = args.device.device()?;
    let mut rows = vec![["model", "input", "parameters", "samples/s (median)", "range"].map(String::from).to_vec()];
    let mut results = Vec::new();
    for name in &models {
        let config = ModelConfig::preset(name, args.width)?;
        for &c in &channels {
            let settings = BenchSettings {
                channels: c,
                length: args.length,
                classes: args.classes,
                batch_size: args.batch_size,
                warmup_steps: args.warmup,
                steps: args.steps,
                repeats: args.repeats,
                seed: 0,
            };
            eprintln!("timing {name} on {c}×{} (batch {})…", args.length, args.batch_size);
            let r = train_throughput(&config, &settings, &device)?;
            rows.push(vec![
                name.clone(),
                format!("{c}×{}", args.length),
                r.parameters.to_string(),
                format!("{:.0}", r.median),
                format!("{:.0}–{:.0}", r.min, r.max),
            ]);
            results.push(json!({ "model": name, "model_config": config, "settings": settings, "device": args.device, "result": r }));
            for method in &args.methods {
                let teacher =
                    ModelConfig::preset(&args.teacher, Some(args.teacher_width))?.with_heads(&args.teacher, args.teacher_heads.clone())?;
                for cached in [false, true] {
                    let how = if cached { "teacher cached" } else { "teacher every step" };
                    eprintln!("timing {method} into {name} on {c}×{} ({how})…", args.length);
                    let r = distill_throughput(&config, &teacher, method, &settings, cached, &device)?;
                    rows.push(vec![
                        format!("{name} ← {method} ({how})"),
                        format!("{c}×{}", args.length),
                        r.parameters.to_string(),
                        format!("{:.0}", r.median),
                        format!("{:.0}–{:.0}", r.min, r.max),
                    ]);
                    results.push(json!({ "model": name, "model_config": config, "method": method, "teacher": teacher,
                        "teacher_cached": cached, "settings": settings, "device": args.device, "result": r }));
                }
            }
        }
    }
    let mut table = Builder::from_iter(rows).build();
    table.with(Style::sharp());
    println!("{table}");
    let peak = peak_rss_bytes();
    if let Some(bytes) = peak {
        println!("peak resident memory of this process: {:.1} MiB", bytes as f64 / 1048576.0);
    }
    if let Some(path) = args.json {
        let report =
            json!({ "runs": results, "peak_rss_bytes": peak, "threads": std::thread::available_parallelism().map(|n| n.get()).ok() });
        harbench_common::fs::write_atomic(&path, serde_json::to_string_pretty(&report)?.as_bytes())?;
    }
    Ok(())
}
