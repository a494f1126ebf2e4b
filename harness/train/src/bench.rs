//! Training throughput on synthetic input of a fixed shape: the number the PyTorch reference in
//! `bench/reference/` is compared with. Same step as the trainer (forward, cross-entropy,
//! backward, AdamW), on random windows, so no dataset is needed.

use crate::TrainError;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use harbench_models::{Model, ModelConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::time::Instant;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchSettings {
    pub channels: usize,
    pub length: usize,
    pub classes: usize,
    pub batch_size: usize,
    /// Untimed steps first (allocator and kernel caches warm up).
    pub warmup_steps: usize,
    /// Timed steps per repeat.
    pub steps: usize,
    pub repeats: usize,
    pub seed: u64,
}

impl Default for BenchSettings {
    fn default() -> Self {
        BenchSettings { channels: 9, length: 128, classes: 6, batch_size: 64, warmup_steps: 5, steps: 20, repeats: 5, seed: 0 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchResult {
    pub parameters: usize,
    /// Samples per second of each repeat.
    pub samples_per_second: Vec<f64>,
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// Trains `model` on random windows and times it; the loss must stay finite.
pub fn train_throughput(model: &ModelConfig, settings: &BenchSettings, device: &Device) -> Result<BenchResult, TrainError> {
    check(settings)?;
    device.seed(settings.seed);
    let train_device = device.clone().autodiff();
    let net = model.build(settings.channels, settings.classes, &train_device);
    let parameters = net.num_params();
    let mut optimizer = AdamWConfig::new().with_weight_decay(1e-2).init();
    let loss_fn = CrossEntropyLossConfig::new().init(&train_device);
    // A few distinct batches so caches see realistic traffic.
    let batches = random_batches(settings, 4);
    let mut step = |net: Model, i: usize| -> Result<Model, TrainError> {
        let (x, y) = &batches[i % batches.len()];
        let x =
            Tensor::<3>::from_data(TensorData::new(x.clone(), [settings.batch_size, settings.channels, settings.length]), &train_device);
        let y = Tensor::<1, Int>::from_data(TensorData::new(y.clone(), [settings.batch_size]), &train_device);
        let loss = loss_fn.forward(net.forward(x).logits, y);
        // Reading the loss back synchronises the device, so timings cover the work done.
        let value = loss.clone().into_scalar::<f32>();
        if !value.is_finite() {
            return Err(TrainError::NonFinite { epoch: 0, step: i, value: value as f64 });
        }
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        Ok(optimizer.step(1e-3, net, grads))
    };
    let mut net = Some(net);
    measure(settings, parameters, |i| {
        net = Some(step(net.take().expect("a model between steps"), i)?);
        Ok(())
    })
}

/// Times `step` (called with the step's index): `settings.warmup_steps` untimed, then
/// `settings.repeats` × `settings.steps` timed; samples/s of each repeat.
pub fn measure<E>(settings: &BenchSettings, parameters: usize, mut step: impl FnMut(usize) -> Result<(), E>) -> Result<BenchResult, E> {
    for i in 0..settings.warmup_steps {
        step(i)?;
    }
    let mut rates = Vec::with_capacity(settings.repeats);
    for r in 0..settings.repeats {
        let started = Instant::now();
        for i in 0..settings.steps {
            step(settings.warmup_steps + r * settings.steps + i)?;
        }
        rates.push((settings.steps * settings.batch_size) as f64 / started.elapsed().as_secs_f64());
    }
    let mut sorted = rates.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(BenchResult {
        parameters,
        median: harbench_common::stats::median(&sorted).expect("at least one repeat"),
        min: sorted[0],
        max: sorted[sorted.len() - 1],
        samples_per_second: rates,
    })
}

/// Settings that can time something: a batch of two or more, steps and repeats.
pub fn check(settings: &BenchSettings) -> Result<(), TrainError> {
    if settings.batch_size < 2 || settings.steps == 0 || settings.repeats == 0 {
        return Err(TrainError::Config { field: "bench".into(), message: "batch ≥ 2, steps ≥ 1 and repeats ≥ 1".into() });
    }
    Ok(())
}

/// `count` distinct random batches of `settings`' shape (inputs in [-2, 2), labels uniform).
pub fn random_batches(settings: &BenchSettings, count: usize) -> Vec<(Vec<f32>, Vec<i64>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
    let n = settings.batch_size * settings.channels * settings.length;
    (0..count)
        .map(|_| {
            let x = (0..n).map(|_| rng.random_range(-2.0f32..2.0)).collect();
            let y = (0..settings.batch_size).map(|_| rng.random_range(0..settings.classes as i64)).collect();
            (x, y)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use harbench_models::device::test_device;

    #[test]
    fn measures_every_repeat_and_rejects_empty_settings() {
        let model = ModelConfig::preset("mobilenetv3-small-1d", Some(0.25)).unwrap();
        let settings = BenchSettings { batch_size: 4, warmup_steps: 1, steps: 2, repeats: 3, ..Default::default() };
        let result = train_throughput(&model, &settings, &test_device()).unwrap();
        assert_eq!(result.samples_per_second.len(), 3);
        assert!(result.min <= result.median && result.median <= result.max && result.min > 0.0);
        let bad = BenchSettings { repeats: 0, ..settings };
        assert!(train_throughput(&model, &bad, &test_device()).is_err());
    }
}
