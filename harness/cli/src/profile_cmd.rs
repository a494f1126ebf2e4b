//! `harbench profile`: what one model costs to run (parameters, MACs, latency, throughput, peak
//! memory, energy per inference), printed as a table and written as JSON.

use anyhow::{bail, Context, Result};
use burn::module::Module;
use burn::tensor::Device;
use clap::Args;
use harbench_cost::energy::detect::Finding;
use harbench_cost::latency::{LatencyConfig, Summary};
use harbench_cost::profile::EnergyReport;
use harbench_cost::{detect, profile, Choice, Energy, Probe, Profile, ProfileConfig, Target};
use harbench_data::registry;
use harbench_models::ModelConfig;
use harbench_run::cost::ProfileReport;
use harbench_run::Environment;
use harbench_train::DeviceChoice;
use std::path::PathBuf;
use std::time::Duration;
use tabled::builder::Builder;
use tabled::settings::Style;

#[derive(Args)]
#[command(after_help = format!("Examples:\n  harbench profile --model mobilenetv3-small-1d\n  \
harbench profile --model mobilenetv3-large-1d --dataset pamap2 --out results/profile/large-pamap2.json\n  \
harbench profile --model mobilenetv3-small-1d --width 0.5 --checkpoint results/train/uci-har-mobilenetv3-small-1d-seed0.bpk\n  \
harbench profile --model mobilenetv3-small-1d --meter rapl --min-seconds 5\n\n\
Latency: warm-up, then single calls are timed until there are at least --min-samples of them and \
--min-seconds have passed; median, p10/p90 and MAD are reported. Every timed call reads the logits \
back, so the time includes the work. Use a release build: debug timings mean nothing.\n\n\
Energy: the first meter this machine has (Jetson INA3221 rails, tegrastats, NVML for GPU inference, \
RAPL for CPU inference) measures idle power, then an inference loop lengthened to the meter's \
minimum window; energy per window is reported with and without idle power. Without a meter the \
energy is reported as absent, with each meter's reason. See docs/cost.md.\n\n\
Memory: heap bytes of the weights and of one inference, counted by harbench's allocator.\n\n\
Models:\n{}\n\nMeters, in order of preference: {}", crate::help::models(), crate::help::meters()))]
pub struct ProfileArgs {
    /// Model preset (see the list below).
    #[arg(long)]
    model: String,
    /// Width multiplier of the model's channels.
    #[arg(long)]
    width: Option<f64>,
    /// Take channels, classes and window length from this dataset's declaration (no data needed).
    #[arg(long)]
    dataset: Option<String>,
    /// Input channels (without --dataset).
    #[arg(long, default_value_t = 9, conflicts_with = "dataset")]
    channels: usize,
    /// Window length in samples (without --dataset).
    #[arg(long, default_value_t = 128, conflicts_with = "dataset")]
    length: usize,
    /// Output classes (without --dataset).
    #[arg(long, default_value_t = 6, conflicts_with = "dataset")]
    classes: usize,
    /// Weights to load (.bpk from `harbench train`); random weights otherwise (same cost).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Windows per batch for the throughput measurement.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Warm-up before timing, seconds.
    #[arg(long, default_value_t = 0.5)]
    warmup: f64,
    /// Fewest timed calls per measurement.
    #[arg(long, default_value_t = 50)]
    min_samples: usize,
    /// Shortest timing per measurement, seconds.
    #[arg(long, default_value_t = 2.0)]
    min_seconds: f64,
    /// Energy meter: auto, none, or one of the meters listed below.
    #[arg(long, default_value = "auto")]
    meter: Choice,
    /// Idle window before each energy measurement, seconds.
    #[arg(long, default_value_t = 1.0)]
    idle_seconds: f64,
    /// Shortest inference loop for energy, seconds (lengthened to the meter's minimum).
    #[arg(long, default_value_t = 2.0)]
    energy_seconds: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Device the model runs on: flex (CPU), cuda (--features cuda), vulkan (--features vulkan) or
    /// gpu (the GPU backend the build has); on a GPU, energy comes from NVML.
    /// A first run on a GPU spends minutes compiling and autotuning kernels (docs/models.md).
    #[arg(long, default_value = "flex")]
    device: DeviceChoice,
    /// Report path (.json).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn seconds(value: f64, flag: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(value).with_context(|| format!("--{flag} {value} is not a duration in seconds"))
}

pub fn run(args: ProfileArgs) -> Result<()> {
    let model_config = ModelConfig::preset(&args.model, args.width)?;
    let (channels, length, classes) = match &args.dataset {
        Some(id) => {
            let spec = registry::find(id)?.spec();
            (spec.channels.len(), (spec.window_s * spec.rate_hz).round() as usize, spec.classes.len())
        }
        None => (args.channels, args.length, args.classes),
    };
    let config = ProfileConfig {
        channels,
        length,
        classes,
        batch: args.batch,
        latency: LatencyConfig {
            warmup: seconds(args.warmup, "warmup")?,
            min_samples: args.min_samples,
            min_time: seconds(args.min_seconds, "min-seconds")?,
            max_time: seconds(args.min_seconds, "min-seconds")?.max(Duration::from_secs(60)),
        },
        idle: seconds(args.idle_seconds, "idle-seconds")?,
        energy_window: seconds(args.energy_seconds, "energy-seconds")?,
        seed: args.seed,
    };
    if let Some(path) = &args.checkpoint {
        if !path.is_file() {
            bail!("checkpoint {} does not exist", path.display());
        }
    }

    let device = args.device.device()?;
    let target = match args.device {
        DeviceChoice::Flex => Target::Cpu,
        DeviceChoice::Gpu | DeviceChoice::Cuda | DeviceChoice::Vulkan => Target::Gpu,
    };
    let mut detection = detect(&Probe::from_env(), target, &args.meter);
    let absence = detection.absence();
    let meter = match detection.meter.as_deref_mut() {
        Some(m) => Ok(m),
        None => Err(absence),
    };
    let checkpoint = args.checkpoint.clone();
    let build = |device: &Device| {
        let model = model_config.build(channels, classes, device);
        match &checkpoint {
            Some(path) => model.try_load_file(path).map_err(|e| format!("loading {}: {e:?}", path.display())),
            None => Ok(model),
        }
    };
    eprintln!("profiling {} on {channels}×{length} windows ({classes} classes)…", args.model);
    let result = profile(build, &device, &config, meter).with_context(|| format!("profiling {}", args.model))?;

    let out = args.out.unwrap_or_else(|| PathBuf::from(format!("results/profile/{}.json", args.model)));
    let report = ProfileReport {
        model_name: args.model.clone(),
        model: model_config.clone(),
        dataset: args.dataset.clone(),
        checkpoint: args.checkpoint.clone(),
        energy_meters: detection.findings.clone(),
        profile: result.clone(),
        environment: Environment::current(args.device, &device),
    };
    report.save(&out)?;
    println!("{}", table(&args.model, &result));
    print_energy(&result.energy, &detection.findings);
    if cfg!(debug_assertions) {
        println!("note: debug build; timings are not representative (use cargo run --release)");
    }
    println!("report: {}", out.display());
    Ok(())
}

fn ms(s: &Summary) -> String {
    format!("{:.3} ms (p10 {:.3}, p90 {:.3}, MAD {:.3}; n={})", s.median * 1e3, s.p10 * 1e3, s.p90 * 1e3, s.mad * 1e3, s.samples)
}

fn mib(bytes: u64) -> String {
    if bytes < 1 << 20 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.2} MiB", bytes as f64 / (1u64 << 20) as f64)
    }
}

fn table(model: &str, p: &Profile) -> String {
    let mut rows: Vec<Vec<String>> = vec![vec!["measure".into(), model.into()]];
    let mut row = |k: &str, v: String| rows.push(vec![k.into(), v]);
    row("input", format!("{}×{} ({} classes)", p.input.channels, p.input.length, p.input.classes));
    row("parameters (learned)", format!("{} ({:.2} M)", p.parameters.learned, p.parameters.learned as f64 / 1e6));
    row("BN running statistics", p.parameters.buffers.to_string());
    row("weights in f32", mib(p.parameters.f32_bytes() as u64));
    row("MACs per window", format!("{} ({:.2} M)", p.macs, p.macs as f64 / 1e6));
    row("latency, 1 window", ms(&p.single.latency));
    row(&format!("latency, batch {}", p.batched.batch), ms(&p.batched.latency));
    row("throughput, batch 1", format!("{:.0} windows/s", p.single.windows_per_second));
    row(&format!("throughput, batch {}", p.batched.batch), format!("{:.0} windows/s", p.batched.windows_per_second));
    match &p.memory {
        Ok(m) => {
            row("heap: weights", mib(m.weights_bytes));
            row(
                "heap: inference, 1 window",
                format!("{} (weights + {} activations)", mib(m.single_peak_bytes), mib(m.single_activation_bytes)),
            );
            row(&format!("heap: activations, batch {}", m.batch), mib(m.batch_activation_bytes));
        }
        Err(e) => row("memory", format!("unavailable: {e}")),
    }
    let energy = |r: &EnergyReport| {
        format!(
            "{:.3} mJ ({:.3} mJ above idle {:.2} W; {})",
            r.joules_per_window * 1e3,
            r.joules_per_window_above_idle * 1e3,
            r.idle_watts,
            r.meter
        )
    };
    match &p.energy {
        Energy::Measured { single, batch } => {
            row("energy per window, batch 1", energy(single));
            row(&format!("energy per window, batch {}", batch.windows_per_call), energy(batch));
        }
        Energy::Absent { .. } => row("energy per window", "absent (no meter; see below)".into()),
    }
    let mut table = Builder::from_iter(rows).build();
    table.with(Style::sharp());
    table.to_string()
}

fn print_energy(energy: &Energy, findings: &[Finding]) {
    if let Energy::Measured { single, .. } = energy {
        println!("energy meter: {} — total = {}", single.what, single.active.rule);
        return;
    }
    println!("energy: not measured. Meters:");
    for f in findings {
        println!("  {}: {}", f.meter, f.detail);
    }
}
