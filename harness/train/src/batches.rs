//! Windows of one split, normalised with training statistics, cut into tensors.

use burn::tensor::{Device, Int, Tensor, TensorData};
use harbench_data::cache::Prepared;
use harbench_data::split::Normalizer;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A draw from N(0, 1) (Box–Muller; rand 0.9 has no normal distribution without rand_distr).
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// The windows of one split, normalised, in `[N][C][L]` layout.
pub struct SplitData {
    pub x: Vec<f32>,
    pub y: Vec<usize>,
    pub channels: usize,
    pub length: usize,
}

impl SplitData {
    pub fn new(data: &Prepared, indices: &[usize], normalizer: &Normalizer) -> Self {
        let w = &data.windows;
        let mut x = Vec::with_capacity(indices.len() * w.channels * w.length);
        for &i in indices {
            let start = x.len();
            x.extend_from_slice(w.window(i));
            normalizer.apply(&mut x[start..]);
        }
        SplitData { x, y: indices.iter().map(|&i| w.y[i] as usize).collect(), channels: w.channels, length: w.length }
    }

    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// The windows at `rows` as `[batch, C, L]` and their labels.
    pub fn batch(&self, rows: &[usize], device: &Device) -> (Tensor<3>, Tensor<1, Int>) {
        self.augmented_batch(rows, device, 0.0, 0.0, &mut ChaCha8Rng::seed_from_u64(0))
    }

    /// [`Self::batch`] with random per-channel scaling (factors ~ N(1, scale²)) and additive
    /// Gaussian jitter (~ N(0, jitter²)); both 0 gives the plain batch.
    pub fn augmented_batch(
        &self,
        rows: &[usize],
        device: &Device,
        scale: f64,
        jitter: f64,
        rng: &mut ChaCha8Rng,
    ) -> (Tensor<3>, Tensor<1, Int>) {
        let size = self.channels * self.length;
        let mut x = Vec::with_capacity(rows.len() * size);
        for &r in rows {
            let start = x.len();
            x.extend_from_slice(&self.x[r * size..(r + 1) * size]);
            if scale > 0.0 || jitter > 0.0 {
                for channel in x[start..].chunks_mut(self.length) {
                    let factor = 1.0 + scale * standard_normal(rng);
                    for v in channel {
                        *v = (*v as f64 * factor + jitter * standard_normal(rng)) as f32;
                    }
                }
            }
        }
        let y: Vec<i64> = rows.iter().map(|&r| self.y[r] as i64).collect();
        (
            Tensor::<3>::from_data(TensorData::new(x, [rows.len(), self.channels, self.length]), device),
            Tensor::<1, Int>::from_data(TensorData::new(y, [rows.len()]), device),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harbench_models::device::test_device;

    #[test]
    fn standard_normal_has_unit_moments() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let draws: Vec<f64> = (0..200_000).map(|_| standard_normal(&mut rng)).collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / draws.len() as f64;
        assert!(mean.abs() < 0.01 && (var - 1.0).abs() < 0.01, "mean {mean} var {var}");
    }

    #[test]
    fn augmentation_off_is_the_plain_batch_and_on_changes_values() {
        let data = SplitData { x: (0..2 * 3 * 4).map(|v| v as f32).collect(), y: vec![0, 1], channels: 3, length: 4 };
        let device = test_device();
        let plain: Vec<f32> = data.batch(&[1, 0], &device).0.to_data().try_to_vec::<f32>().unwrap();
        assert_eq!(&plain[..12], &data.x[12..]);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let aug: Vec<f32> = data.augmented_batch(&[1, 0], &device, 0.1, 0.0, &mut rng).0.to_data().try_to_vec::<f32>().unwrap();
        // Scaling only: each channel is the plain channel times one factor.
        for (p, a) in plain.chunks(4).zip(aug.chunks(4)).skip(1) {
            let factor = a[3] / p[3];
            assert!(p.iter().zip(a).all(|(p, a)| (a - p * factor).abs() < 1e-4), "{p:?} {a:?}");
            assert!((factor - 1.0).abs() > 0.0);
        }
    }
}
