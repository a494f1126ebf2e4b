//! Windows of one split, normalised with training statistics, cut into tensors.

use burn::tensor::{Device, Int, Tensor, TensorData};
use harbench_data::cache::Prepared;
use harbench_data::split::Normalizer;

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
        let size = self.channels * self.length;
        let mut x = Vec::with_capacity(rows.len() * size);
        for &r in rows {
            x.extend_from_slice(&self.x[r * size..(r + 1) * size]);
        }
        let y: Vec<i64> = rows.iter().map(|&r| self.y[r] as i64).collect();
        (
            Tensor::<3>::from_data(TensorData::new(x, [rows.len(), self.channels, self.length]), device),
            Tensor::<1, Int>::from_data(TensorData::new(y, [rows.len()]), device),
        )
    }
}
