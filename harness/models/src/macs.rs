//! Multiply-accumulate counts (MACs) of one forward pass of one window, layer by layer.
//!
//! Convention (the same for every model, so that models compare):
//! - counted: every product of a convolution, linear layer, LSTM gate and attention matmul,
//!   including the weighted sums of attention pooling (a `[1×T]·[T×F]` matmul);
//! - not counted: biases, batch/layer normalisation, activations, softmax, pooling, residual
//!   additions and element-wise gates (squeeze-excitation's channel scaling, LSTM cell updates).
//!   They are linear in the activation size and small next to the products above.
//!
//! The layer functions read shapes from the built layers, so the count follows the model that
//! actually runs rather than a re-derivation from its config.

use burn::nn::conv::Conv1d;
use burn::nn::pool::MaxPool1d;
use burn::nn::{Linear, Lstm, PaddingConfig1d};

/// `c_out · (c_in / groups) · k · L_out`: one product per kernel tap per output value.
pub fn conv1d_formula(c_in: usize, c_out: usize, kernel: usize, groups: usize, l_out: usize) -> u64 {
    (c_out * (c_in / groups) * kernel * l_out) as u64
}

/// Output length of a 1-D convolution or pooling window (dilation 1):
/// `⌊(L + pad_left + pad_right − k) / stride⌋ + 1`, or 0 when the window does not fit.
pub fn out_len(length: usize, kernel: usize, stride: usize, pad_left: usize, pad_right: usize) -> usize {
    let padded = length + pad_left + pad_right;
    if padded < kernel || stride == 0 {
        return 0;
    }
    (padded - kernel) / stride + 1
}

fn padding_pair(padding: &PaddingConfig1d, length: usize, kernel: usize, stride: usize) -> (usize, usize) {
    match *padding {
        PaddingConfig1d::Valid => (0, 0),
        PaddingConfig1d::Explicit(left, right) => (left, right),
        // burn's "same" keeps ⌈L / stride⌉ steps; only the total matters for the length.
        PaddingConfig1d::Same => {
            let target = length.div_ceil(stride.max(1));
            let total = ((target.saturating_sub(1)) * stride + kernel).saturating_sub(length);
            (total / 2, total - total / 2)
        }
    }
}

/// MACs of `conv` on a `length`-step input, and its output length.
pub fn conv1d(conv: &Conv1d, length: usize) -> (u64, usize) {
    let [c_out, c_in_per_group, kernel] = conv.weight.shape().dims();
    let (left, right) = padding_pair(&conv.padding, length, conv.kernel_size, conv.stride);
    // Dilation stretches the kernel's footprint, not its number of taps.
    let footprint = conv.dilation * (kernel - 1) + 1;
    let l_out = out_len(length, footprint, conv.stride, left, right);
    (conv1d_formula(c_in_per_group * conv.groups, c_out, kernel, conv.groups, l_out), l_out)
}

/// Output length of a max-pooling layer (no MACs by the convention above).
pub fn max_pool1d_len(pool: &MaxPool1d, length: usize) -> usize {
    let (left, right) = padding_pair(&pool.padding, length, pool.kernel_size, pool.stride);
    let footprint = pool.dilation * (pool.kernel_size - 1) + 1;
    if pool.ceil_mode {
        let padded = length + left + right;
        if padded < footprint {
            return 0;
        }
        return (padded - footprint).div_ceil(pool.stride) + 1;
    }
    out_len(length, footprint, pool.stride, left, right)
}

/// `in · out` per row.
pub fn linear_formula(d_in: usize, d_out: usize) -> u64 {
    (d_in * d_out) as u64
}

/// MACs of `linear` applied to `rows` vectors.
pub fn linear(linear: &Linear, rows: usize) -> u64 {
    let [d_in, d_out] = linear.weight.shape().dims();
    linear_formula(d_in, d_out) * rows as u64
}

/// Per step, each of the `gates` gates multiplies the input (`in`) and the previous hidden
/// state (`h`) by its weights: `gates · h · (in + h)`; `gates = 4` for a standard LSTM.
pub fn lstm_formula(d_in: usize, hidden: usize, gates: usize, steps: usize) -> u64 {
    (gates * hidden * (d_in + hidden) * steps) as u64
}

/// MACs of `lstm` over `steps` time steps.
pub fn lstm(lstm: &Lstm, steps: usize) -> u64 {
    let [d_in, hidden] = lstm.input_gate.input_transform.weight.shape().dims();
    let gates = if lstm.forget_gate.is_some() { 4 } else { 3 };
    lstm_formula(d_in, hidden, gates, steps)
}

/// Scaled dot-product attention over `tokens` tokens: `Q·Kᵀ` and `softmax(·)·V`, each
/// `tokens² · head_dim` per head (the projections are linear layers, counted separately).
pub fn attention_formula(tokens: usize, heads: usize, head_dim: usize) -> u64 {
    (2 * heads * tokens * tokens * head_dim) as u64
}

/// A weighted sum of `steps` vectors of `features` (attention pooling): `steps · features`.
pub fn weighted_sum_formula(steps: usize, features: usize) -> u64 {
    (steps * features) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::test_device;
    use burn::nn::conv::Conv1dConfig;
    use burn::nn::pool::MaxPool1dConfig;
    use burn::nn::{LinearConfig, LstmConfig};

    #[test]
    fn formulas_match_hand_counts() {
        // 2 → 3 channels, k = 3, 6 output steps: each of 3·6 outputs sums 2·3 products = 108.
        assert_eq!(conv1d_formula(2, 3, 3, 1, 6), 108);
        // Depthwise 4 channels (groups 4), k = 5, 10 steps: 4·10 outputs × 5 taps = 200.
        assert_eq!(conv1d_formula(4, 4, 5, 4, 10), 200);
        // Grouped 4 → 6 in 2 groups, k = 1, 3 steps: 6·3 outputs × (2 inputs · 1 tap) = 36.
        assert_eq!(conv1d_formula(4, 6, 1, 2, 3), 36);
        assert_eq!(linear_formula(5, 7), 35);
        // LSTM 3 → 2 over 4 steps: 4 gates × 2 units × (3 + 2) = 40 per step, 160 in all.
        assert_eq!(lstm_formula(3, 2, 4, 4), 160);
        // 3 tokens, 2 heads of 4: QKᵀ 3·3·4 = 36 and AV 36 per head → 144.
        assert_eq!(attention_formula(3, 2, 4), 144);
        assert_eq!(weighted_sum_formula(6, 5), 30);
        // Lengths: 10 steps, k 3: valid 8, padded 1+1 → 10, stride 2 padded → 5; 2 steps, k 5 → 0.
        assert_eq!(out_len(10, 3, 1, 0, 0), 8);
        assert_eq!(out_len(10, 3, 1, 1, 1), 10);
        assert_eq!(out_len(10, 3, 2, 1, 1), 5);
        assert_eq!(out_len(2, 5, 1, 0, 0), 0);
    }

    #[test]
    fn layer_counts_read_the_built_layers() {
        let device = test_device();
        // Stride 2, padding 1+1, k 3, 10 steps → 5 steps; 4 → 6 channels: 6·4·3·5 = 360.
        let conv = Conv1dConfig::new(4, 6, 3).with_stride(2).with_padding(PaddingConfig1d::Explicit(1, 1)).init(&device);
        assert_eq!(conv1d(&conv, 10), (360, 5));
        // Asymmetric padding 3+4 keeps 12 steps for k 8: 2·5·8·12 = 960.
        let conv = Conv1dConfig::new(5, 2, 8).with_padding(PaddingConfig1d::Explicit(3, 4)).init(&device);
        assert_eq!(conv1d(&conv, 12), (960, 12));
        // Depthwise 8 channels, k 5, valid on 9 steps → 5 steps: 8·1·5·5 = 200.
        let conv = Conv1dConfig::new(8, 8, 5).with_groups(8).init(&device);
        assert_eq!(conv1d(&conv, 9), (200, 5));
        let lin = LinearConfig::new(6, 4).init(&device);
        assert_eq!(linear(&lin, 3), 72);
        let rnn = LstmConfig::new(3, 2, true).init(&device);
        assert_eq!(lstm(&rnn, 4), 160);
        let pool = MaxPool1dConfig::new(2).init();
        assert_eq!(max_pool1d_len(&pool, 9), 4);
        assert_eq!(max_pool1d_len(&MaxPool1dConfig::new(2).with_ceil_mode(true).init(), 9), 5);
    }
}
