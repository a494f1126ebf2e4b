//! `harbench profile`: what one model costs to run (parameters, MACs, latency, throughput, peak
//! memory, energy per inference), printed as a table and written as JSON.

use crate::suite_cmd::ResultsArgs;
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
use harbench_suite::profiles::{self, ProfileSettings};
use harbench_train::DeviceChoice;
use std::path::PathBuf;
use std::time::Duration;
use tabled::builder::Builder;
use tabled::settings::Style;

#[derive(Args)]
#[command(after_help = format!("Examples:\n  harbench profile --model mobilenetv3-small-1d\n  \
harbench profile paper-uci-har   (every architecture the suite's runs exported, quietly: the cost table's columns)\n  \
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
A suite (SUITE): every distinct architecture its finished runs exported (model, searched heads, \
input) is profiled --rounds times, round-robin, in this one process pinned to one core (--core) \
with one thread; the latency is the median round's median, its spread the lowest p10 to the highest \
p90 of all rounds; rows of one architecture share that profile. The records it reads are those `harbench \
report SUITE` reads. Each profile is written to <results>/profiles/<suite>/<device>/<arch>.json, \
keyed by the device (the CPU; a Jetson module and its nvpmodel power mode; a GPU), with how quiet the \
machine was: other processes' CPU use over the profile, above 0.1 core marked contended. `harbench \
report SUITE` then shows one column group per device. Stop training first; see docs/cost.md and, on \
a Jetson, docs/jetson.md.\n\n\
Models:\n{}\n\nMeters, in order of preference: {}", crate::help::models(), crate::help::meters()))]
pub struct ProfileArgs {
    /// Suite file, or the name of one in suites/: profile every architecture its runs exported.
    #[arg(conflicts_with_all = ["model", "width", "dataset", "checkpoint", "out"])]
    pub suite: Option<String>,
    /// Model preset (see the list below).
    #[arg(long, required_unless_present = "suite")]
    model: Option<String>,
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
    /// With SUITE: profiles of each architecture, taken round-robin; the table's spread spans
    /// them all (drift between rounds minutes apart, not only jitter within one).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=20))]
    pub rounds: u64,
    /// With SUITE: the core to pin the profile to [default: the last core this process may use].
    #[arg(long, requires = "suite")]
    pub core: Option<usize>,
    #[command(flatten)]
    results: ResultsArgs,
    /// The core this process was pinned to before its thread pool started, or why not.
    #[arg(skip)]
    pub pinned: Option<Result<usize, String>>,
}

/// With SUITE: pins this thread (and so the pool's thread, started after) to one core. Call it
/// before the thread pool exists.
pub fn pin(args: &mut ProfileArgs) {
    if args.suite.is_some() {
        args.pinned = Some(harbench_common::proc::pin_to_core(args.core));
    }
}

fn seconds(value: f64, flag: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(value).with_context(|| format!("--{flag} {value} is not a duration in seconds"))
}

fn latency(args: &ProfileArgs) -> Result<LatencyConfig> {
    Ok(LatencyConfig {
        warmup: seconds(args.warmup, "warmup")?,
        min_samples: args.min_samples,
        min_time: seconds(args.min_seconds, "min-seconds")?,
        max_time: seconds(args.min_seconds, "min-seconds")?.max(Duration::from_secs(60)),
    })
}

fn target(device: DeviceChoice) -> Target {
    match device {
        DeviceChoice::Flex => Target::Cpu,
        DeviceChoice::Gpu | DeviceChoice::Cuda | DeviceChoice::Vulkan => Target::Gpu,
    }
}

pub fn run(args: ProfileArgs) -> Result<()> {
    match args.suite.clone() {
        Some(suite) => run_suite(args, &suite),
        None => run_model(args),
    }
}

/// `harbench profile SUITE`: every architecture of the suite, one at a time.
fn run_suite(args: ProfileArgs, suite: &str) -> Result<()> {
    let (plan, records, source) = crate::report_cmd::default_records(suite, &args.results)?;
    let device = args.device.device()?;
    // A GPU is named as the driver names it (its /proc entries), else as burn does.
    let gpu = (target(args.device) == Target::Gpu)
        .then(|| harbench_suite::machine::gpus(std::path::Path::new("/")).into_iter().next().unwrap_or_else(|| format!("{device:?}")));
    let settings = ProfileSettings {
        latency: latency(&args)?,
        idle: seconds(args.idle_seconds, "idle-seconds")?,
        energy_window: seconds(args.energy_seconds, "energy-seconds")?,
        meter: args.meter.clone(),
        target: target(args.device),
        pinned_core: args.pinned.clone().unwrap_or_else(|| Err("not pinned".into())).into(),
        root: args.results.root.clone(),
        rounds: args.rounds as usize,
    };
    eprintln!("profiling the architectures of suite {} (records: {source}), one at a time, {}", plan.suite, settings.pinned_core);
    let done = profiles::profile_suite(&plan, &records, &settings, &device, gpu.as_deref(), |round, i, n, e| {
        eprintln!(
            "[round {}/{}, {}/{n}] {} {}: {} ({} row(s))",
            round + 1,
            settings.rounds,
            i + 1,
            e.key,
            e.labels(),
            e.architecture.describe(),
            e.rows.len()
        );
    })?;
    let mut rows: Vec<Vec<String>> =
        vec![["arch", "architecture", "rows", "latency, 1 window", "energy per window", "conditions"].map(String::from).to_vec()];
    for (p, _) in &done {
        let energy = p.profile.energy.joules_per_window().map(|j| format!("{:.3} mJ", j * 1e3)).unwrap_or_else(|| "absent".into());
        rows.push(vec![
            p.key.clone(),
            format!("{}: {}", profiles::labels(&p.rows), p.architecture.describe()),
            p.rows.len().to_string(),
            ms(&p.profile.single.latency),
            energy,
            p.conditions.describe(),
        ]);
    }
    let mut table = Builder::from_iter(rows).build();
    table.with(Style::sharp());
    println!("device: {}\n{table}", done[0].0.device.name);
    if cfg!(debug_assertions) {
        println!("note: debug build; timings are not representative (use cargo run --release)");
    }
    let dir = profiles::suite_dir(&args.results.root, &plan.suite).join(&done[0].0.device.key);
    println!("{} profile(s) written in {}; `harbench report {suite}` shows them", done.len(), dir.display());
    Ok(())
}

fn run_model(args: ProfileArgs) -> Result<()> {
    let name = args.model.clone().expect("clap requires --model without a suite");
    let model_config = ModelConfig::preset(&name, args.width)?;
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
        latency: latency(&args)?,
        idle: seconds(args.idle_seconds, "idle-seconds")?,
        energy_window: seconds(args.energy_seconds, "energy-seconds")?,
        seed: args.seed,
    }
    .check()
    .context("the profile's settings")?;
    if let Some(path) = &args.checkpoint {
        if !path.is_file() {
            bail!("checkpoint {} does not exist", path.display());
        }
    }

    let device = args.device.device()?;
    let mut detection = detect(&Probe::from_env(), target(args.device), &args.meter);
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
    eprintln!("profiling {} on {channels}×{length} windows ({classes} classes)…", name);
    let result = profile(build, &device, &config, meter).with_context(|| format!("profiling {}", name))?;

    let out = args.out.unwrap_or_else(|| PathBuf::from(format!("results/profile/{}.json", name)));
    let report = ProfileReport {
        model_name: name.clone(),
        model: model_config.clone(),
        dataset: args.dataset.clone(),
        checkpoint: args.checkpoint.clone(),
        energy_meters: detection.findings.clone(),
        profile: result.clone(),
        environment: Environment::current(args.device, &device),
    };
    report.save(&out)?;
    println!("{}", table(&name, &result));
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
