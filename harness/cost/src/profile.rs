//! The cost profile of one model: parameters, MACs, single-window latency, batch throughput,
//! peak memory, and energy per inference with idle power beside it.

use crate::alloc::{self, HeapMemory};
use crate::energy::{EnergyError, EnergyMeter, EnergyWindow};
use crate::latency::{self, LatencyConfig, Summary};
use crate::params::{self, ParamCount};
use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Device, Distribution, Tensor};
use harbench_models::Model;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum CostError {
    #[error("invalid profile setting {field}: {message}")]
    Config { field: &'static str, message: String },
    #[error("building the model: {0}")]
    Build(String),
    #[error("running the model on a [{batch}, {channels}, {length}] input: {message}")]
    Forward { batch: usize, channels: usize, length: usize, message: String },
    #[error(transparent)]
    Energy(#[from] EnergyError),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfileConfig {
    pub channels: usize,
    pub length: usize,
    pub classes: usize,
    /// Windows per batch for the throughput measurement.
    pub batch: usize,
    pub latency: LatencyConfig,
    /// Idle window before the energy measurement (at least the meter's minimum window).
    pub idle: Duration,
    /// Shortest timed inference loop for energy (lengthened to the meter's minimum window).
    pub energy_window: Duration,
    /// Seed of the random input (and of the weights when no checkpoint is loaded).
    pub seed: u64,
}

impl Default for ProfileConfig {
    fn default() -> Self {
        ProfileConfig {
            channels: 9,
            length: 128,
            classes: 6,
            batch: 64,
            latency: LatencyConfig::default(),
            idle: Duration::from_secs(1),
            energy_window: Duration::from_secs(2),
            seed: 0,
        }
    }
}

/// A [`ProfileConfig`] that has been checked ([`ProfileConfig::check`]): what [`profile`] takes,
/// so that no caller can forget the check.
#[derive(Debug, Clone)]
pub struct ValidProfileConfig(ProfileConfig);

impl std::ops::Deref for ValidProfileConfig {
    type Target = ProfileConfig;
    fn deref(&self) -> &ProfileConfig {
        &self.0
    }
}

impl ProfileConfig {
    /// The settings, checked once: every count at least 1, a sane latency loop.
    pub fn check(self) -> Result<ValidProfileConfig, CostError> {
        self.validate()?;
        Ok(ValidProfileConfig(self))
    }

    fn validate(&self) -> Result<(), CostError> {
        for (field, v) in [("channels", self.channels), ("length", self.length), ("classes", self.classes), ("batch", self.batch)] {
            if v == 0 {
                return Err(CostError::Config { field, message: "must be at least 1".into() });
            }
        }
        self.latency.validate().map_err(|message| CostError::Config { field: "latency", message })
    }
}

/// Latency of one call and the windows it processes per second.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timing {
    /// Windows per call.
    pub batch: usize,
    /// Seconds per call.
    pub latency: Summary,
    /// `batch / median latency`.
    pub windows_per_second: f64,
}

/// Energy of a timed inference loop, next to idle power.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnergyReport {
    pub meter: String,
    pub what: String,
    /// Average power while the process slept before the loop.
    pub idle_watts: f64,
    /// Average power over the inference loop.
    pub active_watts: f64,
    pub window_seconds: f64,
    pub calls: usize,
    pub windows_per_call: usize,
    /// Joules of the whole window divided by the windows processed.
    pub joules_per_window: f64,
    /// The same after subtracting idle power over the window: what the inference itself added.
    pub joules_per_window_above_idle: f64,
    pub idle: EnergyWindow,
    pub active: EnergyWindow,
}

/// Energy per inference, or why it is absent (never zero for "unknown").
// One per profile: boxing the measured reports would save nothing worth an indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Energy {
    Measured { single: EnergyReport, batch: EnergyReport },
    Absent { reason: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Profile {
    pub input: ProfileConfig,
    pub device: String,
    pub parameters: ParamCount,
    /// Multiply-accumulates of one window (see harbench_models::macs for what counts).
    pub macs: u64,
    pub single: Timing,
    pub batched: Timing,
    /// Heap memory of the model and of one inference, or why it is absent.
    #[serde(deserialize_with = "crate::alloc::memory_or_reason")]
    pub memory: Result<HeapMemory, String>,
    pub energy: Energy,
}

impl Energy {
    /// Joules per single-window inference, when measured.
    pub fn joules_per_window(&self) -> Option<f64> {
        match self {
            Energy::Measured { single, .. } => Some(single.joules_per_window),
            Energy::Absent { .. } => None,
        }
    }
}

/// A copy of `model` whose weights live in buffers of their own. burn's `clone` shares tensor
/// storage, so a profile of a clone would not count the weights it holds; this allocates them.
pub fn detached_copy(model: &Model) -> Model {
    struct Copy;
    impl ModuleMapper for Copy {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            param.map(|t| Tensor::from_data(t.to_data(), &t.device()))
        }
    }
    model.clone().map(&mut Copy)
}

/// Times an inference loop against `meter`: idle first, then calls until the window is at least
/// `window` and the meter's minimum.
pub fn measure_energy(
    meter: &mut dyn EnergyMeter,
    idle: Duration,
    window: Duration,
    windows_per_call: usize,
    mut call: impl FnMut(),
) -> Result<EnergyReport, EnergyError> {
    let min = meter.min_window();
    meter.start()?;
    std::thread::sleep(idle.max(min));
    let idle_window = meter.stop()?;
    let window = window.max(min);
    meter.start()?;
    let t = Instant::now();
    let mut calls = 0;
    while calls == 0 || t.elapsed() < window {
        call();
        calls += 1;
    }
    let active = meter.stop()?;
    let windows = (calls * windows_per_call) as f64;
    let idle_watts = idle_window.watts();
    Ok(EnergyReport {
        meter: meter.id().to_string(),
        what: meter.describe(),
        idle_watts,
        active_watts: active.watts(),
        window_seconds: active.seconds,
        calls,
        windows_per_call,
        joules_per_window: active.joules / windows,
        joules_per_window_above_idle: (active.joules - idle_watts * active.seconds) / windows,
        idle: idle_window,
        active,
    })
}

/// Runs `model` once on `x` and reads the logits back (so that timing includes the work).
fn infer(model: &Model, x: &Tensor<3>) -> Result<(), String> {
    model.forward(x.clone()).logits.try_into_data().map(|_| ()).map_err(|e| format!("{e:?}"))
}

/// [`infer`], with burn's shape assertions (a model built for other channels, a window too
/// short for its strides) turned into an error.
fn check(model: &Model, x: &Tensor<3>) -> Result<(), String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| infer(model, x))).unwrap_or_else(|payload| {
        let message = payload.downcast_ref::<String>().cloned().or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()));
        Err(message.unwrap_or_else(|| "the backend panicked".into()))
    })
}

/// Profiles the model `build` returns on `device`. The heap is counted from before `build` runs,
/// so the memory covers the weights `build` allocates (hand it a [`detached_copy`] of a model
/// already in memory). `meter`: the energy meter, or why there is none.
pub fn profile(
    build: impl FnOnce(&Device) -> Result<Model, String>,
    device: &Device,
    config: &ValidProfileConfig,
    meter: Result<&mut (dyn EnergyMeter + 'static), String>,
) -> Result<Profile, CostError> {
    let heap = alloc::installed().then(alloc::Window::open);
    device.seed(config.seed);
    let model = build(device).map_err(CostError::Build)?.valid();
    let weights = heap.map(|w| w.held_above_baseline());
    let parameters = params::count(&model);
    let macs = model.macs(config.channels, config.length);

    let input = |batch: usize| Tensor::<3>::random([batch, config.channels, config.length], Distribution::Normal(0.0, 1.0), device);
    let (one, many) = (input(1), input(config.batch));
    // One checked call per shape: a wrong channel count is an error here, not a panic in a loop.
    for (x, batch) in [(&one, 1), (&many, config.batch)] {
        check(&model, x).map_err(|message| CostError::Forward { batch, channels: config.channels, length: config.length, message })?;
    }
    let run = |x: &Tensor<3>| {
        let _ = infer(&model, x);
    };
    // One call of each shape in a window of its own: weights + the call's peak.
    let peak_of = |x: &Tensor<3>| {
        let window = alloc::Window::open();
        run(x);
        window.peak_above_baseline()
    };
    let memory = match (heap, weights) {
        (Some(_), Some(weights)) => Ok(HeapMemory::new(weights, peak_of(&one), peak_of(&many), config.batch)),
        _ => Err(alloc::NOT_INSTALLED.to_string()),
    };
    let single = latency::measure(&config.latency, || run(&one));
    let batched = latency::measure(&config.latency, || run(&many));
    let energy = match meter {
        Ok(meter) => Energy::Measured {
            single: measure_energy(meter, config.idle, config.energy_window, 1, || run(&one))?,
            batch: measure_energy(meter, config.idle, config.energy_window, config.batch, || run(&many))?,
        },
        Err(reason) => Energy::Absent { reason },
    };
    Ok(Profile {
        input: ProfileConfig::clone(config),
        device: format!("{device:?}"),
        parameters,
        macs,
        single: Timing { batch: 1, windows_per_second: 1.0 / single.median, latency: single },
        batched: Timing { batch: config.batch, windows_per_second: config.batch as f64 / batched.median, latency: batched },
        memory,
        energy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use harbench_models::device::test_device;
    use harbench_models::ModelConfig;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    /// A counter meter whose counter only the test advances (microjoules).
    struct Counter {
        uj: Arc<AtomicU64>,
        start: Option<(u64, Instant)>,
    }

    impl EnergyMeter for Counter {
        fn id(&self) -> &'static str {
            "counter"
        }
        fn describe(&self) -> String {
            "test counter".into()
        }
        fn min_window(&self) -> Duration {
            Duration::from_millis(30)
        }
        fn start(&mut self) -> Result<(), EnergyError> {
            self.start = Some((self.uj.load(Ordering::SeqCst), Instant::now()));
            Ok(())
        }
        fn stop(&mut self) -> Result<EnergyWindow, EnergyError> {
            let (uj, t) = self.start.take().ok_or(EnergyError::NotStarted { meter: "counter" })?;
            let joules = (self.uj.load(Ordering::SeqCst) - uj) as f64 / 1e6;
            Ok(EnergyWindow { joules, seconds: t.elapsed().as_secs_f64(), parts: vec![], rule: "all".into(), samples: None })
        }
    }

    #[test]
    fn energy_per_window_divides_the_loop_energy() {
        let uj = Arc::new(AtomicU64::new(0));
        let mut meter = Counter { uj: uj.clone(), start: None };
        let call_uj = uj.clone();
        // Each call of 8 windows spends 0.4 J; idle spends nothing.
        let r = measure_energy(&mut meter, Duration::from_millis(5), Duration::from_millis(10), 8, || {
            call_uj.fetch_add(400_000, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(1));
        })
        .unwrap();
        assert_eq!(r.idle.joules, 0.0);
        // The idle window is lengthened to the meter's 30 ms minimum, and so is the loop.
        assert!(r.idle.seconds >= 0.03 && r.window_seconds >= 0.03, "{r:?}");
        assert!((r.active.joules - 0.4 * r.calls as f64).abs() < 1e-9);
        assert!((r.joules_per_window - 0.05).abs() < 1e-12, "{}", r.joules_per_window);
        assert_eq!(r.joules_per_window, r.joules_per_window_above_idle);
    }

    #[test]
    fn a_tiny_model_is_profiled_and_energy_is_absent_with_its_reason() {
        let config = ProfileConfig {
            channels: 3,
            length: 32,
            classes: 4,
            batch: 4,
            latency: LatencyConfig { warmup: Duration::ZERO, min_samples: 3, min_time: Duration::ZERO, max_time: Duration::from_secs(10) },
            ..Default::default()
        };
        let bad = ProfileConfig { batch: 0, ..config.clone() };
        let err = bad.check().unwrap_err();
        assert!(matches!(err, CostError::Config { field: "batch", .. }), "{err}");
        let config = config.check().unwrap();
        let model_config = ModelConfig::preset("mobilenetv3-small-1d", Some(0.25)).unwrap();
        let device = test_device();
        let p = profile(|d| Ok(model_config.build(3, 4, d)), &device, &config, Err("no meter here".into())).unwrap();
        let reference = model_config.build(3, 4, &device);
        assert_eq!(p.macs, reference.macs(3, 32));
        assert_eq!(p.parameters, params::count(&reference));
        assert_eq!((p.single.latency.samples, p.batched.latency.samples), (3, 3));
        assert!((p.batched.windows_per_second - 4.0 / p.batched.latency.median).abs() < 1e-9);
        assert!(matches!(&p.energy, Energy::Absent { reason } if reason == "no meter here"));
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["energy"]["status"], "absent");
        // A model built for other channels is an error, not a panic.
        let err = profile(|d| Ok(model_config.build(5, 4, d)), &device, &config, Err(String::new())).unwrap_err();
        assert!(matches!(err, CostError::Forward { .. }), "{err}");
    }
}
