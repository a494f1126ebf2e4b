//! harbench patch (not upstream burn-flex 0.22.1): direct f32 kernels for the training passes
//! that dominate 1-D MobileNet-style networks on this backend.
//!
//! burn-backend's default `conv1d_x_backward` runs a transposed convolution (a generic scalar
//! loop in flex, about a fifth of a training step), its default `conv1d_weight_backward` for a
//! grouped convolution runs one convolution per group (one per channel for a depthwise one), and
//! its default batch norm makes about a dozen passes over the activations. Here:
//!
//! - depthwise convolution (groups = input channels = output channels): both gradients are
//!   direct loops over each (batch, channel) row;
//! - pointwise convolution (kernel 1, stride 1, dilation 1, no padding, no groups): the input
//!   gradient is `Wᵀ · dY` and the weight gradient `Σ_b dY_b · X_bᵀ`, both as gemm calls on the
//!   tensors as they lie (no layout copies);
//! - batch norm in training mode: statistics in one pass over each channel (f64 accumulators,
//!   eight interleaved lanes so the sums vectorise; channels in parallel on more than one thread),
//!   the output in a second; its backward in two passes.
//!
//! Every other case (other dtypes, other convolutions) returns `None` and the caller runs
//! burn-backend's default, unchanged. Each kernel is tested against a naive definition in
//! `tests` below.

use alloc::vec;
use alloc::vec::Vec;
use burn_backend::DType;
use burn_backend::ops::ConvOptions;
use burn_std::Shape;

use crate::FlexTensor;

#[cfg(feature = "rayon")]
use rayon::prelude::*;

/// Work (multiply-adds, or elements for one-pass kernels) from which the kernels hand rows to
/// rayon when it has more than one thread. Flex's general threshold (256 Ki elements) leaves the
/// width-0.5 teacher's expansion layers (64 × 120 × 32 = 245,760 elements and the like) on one
/// core; at 64 Ki they are split, and the per-row work is still tens of microseconds against a few
/// for the hand-off. A convolution counts its multiply-adds: a pointwise one on a short signal
/// (64 × 80 × 8 outputs, 480 multiply-adds each) is far more work than its output's size says.
#[cfg(feature = "rayon")]
const PARALLEL_MIN_ELEMENTS: usize = 64 * 1024;

/// Runs `f` on every `chunk`-long piece of `data` with its index: in parallel where there is more
/// than one thread and enough work to pay for rayon's hand-off, else on the calling thread (with one
/// thread, a hand-off per call costs a futex wake and wait, which at these sizes is measurable).
fn for_each_chunk(data: &mut [f32], chunk: usize, f: impl Fn((usize, &mut [f32])) + Sync + Send) {
    let work = data.len();
    for_each_chunk_of_work(data, chunk, work, f);
}

/// [`for_each_chunk`] where the work is not the output's size (a weight gradient: a small output
/// summed over the whole batch).
fn for_each_chunk_of_work(data: &mut [f32], chunk: usize, work: usize, f: impl Fn((usize, &mut [f32])) + Sync + Send) {
    let chunk = chunk.max(1);
    #[cfg(feature = "rayon")]
    if rayon::current_num_threads() > 1 && work >= PARALLEL_MIN_ELEMENTS {
        data.par_chunks_mut(chunk).enumerate().for_each(f);
        return;
    }
    let _ = work;
    data.chunks_mut(chunk).enumerate().for_each(f);
}

/// The layout facts of a 1-D convolution the kernels need.
struct Conv1dDims {
    batch: usize,
    channels_in: usize,
    channels_out: usize,
    length_in: usize,
    length_out: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    padding_begin: usize,
}

impl Conv1dDims {
    fn of(x: &FlexTensor, weight: &FlexTensor, output_grad: &FlexTensor, options: &ConvOptions<1>) -> Option<Self> {
        let gs = output_grad.layout().shape();
        if gs.num_dims() != 3 || output_grad.dtype() != DType::F32 {
            return None;
        }
        Self::with_length_out(x, weight, gs[2], options)
    }

    /// The dimensions of a forward pass: the output length from the convolution's arithmetic,
    /// for symmetric padding only (flex's `conv1d` pads an asymmetric input first).
    fn of_forward(x: &FlexTensor, weight: &FlexTensor, options: &ConvOptions<1>) -> Option<Self> {
        let (length_in, kernel) = (*x.layout().shape().last()?, *weight.layout().shape().last()?);
        let (pad_begin, pad_end) = options.padding[0];
        let span = options.dilation[0] * kernel.checked_sub(1)? + 1;
        let padded = length_in + pad_begin + pad_end;
        if pad_begin != pad_end || padded < span || options.stride[0] == 0 {
            return None;
        }
        Self::with_length_out(x, weight, (padded - span) / options.stride[0] + 1, options)
    }

    fn with_length_out(x: &FlexTensor, weight: &FlexTensor, length_out: usize, options: &ConvOptions<1>) -> Option<Self> {
        let xs = x.layout().shape();
        let ws = weight.layout().shape();
        if xs.num_dims() != 3 || ws.num_dims() != 3 || x.dtype() != DType::F32 || weight.dtype() != DType::F32 {
            return None;
        }
        Some(Conv1dDims {
            batch: xs[0],
            channels_in: xs[1],
            channels_out: ws[0],
            length_in: xs[2],
            length_out,
            kernel: ws[2],
            stride: options.stride[0],
            dilation: options.dilation[0],
            padding_begin: options.padding[0].0,
        })
    }

    fn is_depthwise(&self, weight: &FlexTensor, options: &ConvOptions<1>) -> bool {
        options.groups == self.channels_in && self.channels_out == self.channels_in && weight.layout().shape()[1] == 1
    }

    fn is_pointwise(&self, options: &ConvOptions<1>) -> bool {
        options.groups == 1 && self.kernel == 1 && self.stride == 1 && self.dilation == 1 && options.padding[0] == (0, 0)
    }

    /// The output steps `t` whose input position `t·stride + j·dilation − padding` is inside
    /// the input, for kernel tap `j`.
    fn valid_steps(&self, j: usize) -> core::ops::Range<usize> {
        let shift = (j * self.dilation) as isize - self.padding_begin as isize;
        // t·s + shift ≥ 0  ⇔  t ≥ ceil(−shift / s)
        let first = if shift >= 0 { 0 } else { (-shift as usize).div_ceil(self.stride) };
        // t·s + shift ≤ L_in − 1  ⇔  t ≤ floor((L_in − 1 − shift) / s)
        let last_plus_one = {
            let top = self.length_in as isize - 1 - shift;
            if top < 0 { 0 } else { top as usize / self.stride + 1 }
        };
        first..last_plus_one.min(self.length_out).max(first)
    }

    fn input_position(&self, t: usize, j: usize) -> usize {
        (t * self.stride + j * self.dilation) - self.padding_begin
    }
}

/// `x`'s f32 values in logical (contiguous) order.
fn contiguous_f32(t: &FlexTensor) -> FlexTensor {
    if t.is_contiguous() && t.layout().start_offset() == 0 { t.clone() } else { t.to_contiguous() }
}

fn from_vec(values: Vec<f32>, shape: Shape) -> FlexTensor {
    FlexTensor::new(burn_std::Bytes::from_elems(values), crate::Layout::contiguous(shape), DType::F32)
}

/// A 1-D convolution's output, or `None` where flex's own `conv1d` should run. Depthwise and
/// pointwise convolutions compute **the same values as flex's**, bit for bit: the same products
/// summed in the same order (flex's depthwise loop, tap after tap from zero, then the bias; flex's
/// gemm call for each batch item). What differs is the schedule: flex hands every call's rows to
/// rayon, which with one thread costs a futex wake and wait per call, and its depthwise loop pays
/// a SIMD dispatch and a 2-D range set-up per (batch, channel) row of a few dozen elements.
pub fn conv1d_forward(x: &FlexTensor, weight: &FlexTensor, bias: Option<&FlexTensor>, options: &ConvOptions<1>) -> Option<FlexTensor> {
    let d = Conv1dDims::of_forward(x, weight, options)?;
    if bias.is_some_and(|b| b.dtype() != DType::F32 || b.layout().num_elements() != d.channels_out) {
        return None;
    }
    let bias = bias.map(contiguous_f32);
    let bias: Option<&[f32]> = bias.as_ref().map(|b| b.storage());
    let w = contiguous_f32(weight);
    let w: &[f32] = w.storage();
    if d.is_depthwise(weight, options) {
        // flex turns products with a non-finite weight and a padding zero into NaN; leave that to it.
        if w.iter().any(|v| !v.is_finite()) {
            return None;
        }
        return Some(depthwise_forward(&d, x, w, bias));
    }
    if d.is_pointwise(options) {
        return Some(pointwise_forward(&d, x, w, bias));
    }
    None
}

/// `y[b, c, t] = Σ_j w[c, j] · x[b, c, t·s + j·d − p] (+ bias[c])`, one (batch, channel) row at a
/// time, taps in order from a zero row as flex sums them.
fn depthwise_forward(d: &Conv1dDims, x: &FlexTensor, w: &[f32], bias: Option<&[f32]>) -> FlexTensor {
    let x = contiguous_f32(x);
    let x: &[f32] = x.storage();
    let mut y = vec![0f32; d.batch * d.channels_out * d.length_out];
    let row = |(r, y_row): (usize, &mut [f32])| {
        let c = r % d.channels_in;
        let x_row = &x[r * d.length_in..(r + 1) * d.length_in];
        for j in 0..d.kernel {
            let wj = w[c * d.kernel + j];
            let steps = d.valid_steps(j);
            if d.stride == 1 && !steps.is_empty() {
                // Contiguous on both sides: one vectorisable loop, `x·w + y` as flex writes it.
                let start = d.input_position(steps.start, j);
                let sources = &x_row[start..start + steps.len()];
                for (o, &v) in y_row[steps].iter_mut().zip(sources) {
                    *o = v * wj + *o;
                }
                continue;
            }
            for t in steps {
                y_row[t] += wj * x_row[d.input_position(t, j)];
            }
        }
        if let Some(bias) = bias {
            y_row.iter_mut().for_each(|o| *o += bias[c]);
        }
    };
    let work = y.len() * d.kernel;
    for_each_chunk_of_work(&mut y, d.length_out, work, row);
    from_vec(y, Shape::from(vec![d.batch, d.channels_out, d.length_out]))
}

/// `y_b = W · x_b (+ bias)` for each batch item: `[C_out, C_in] · [C_in, L]`, the gemm call flex's
/// `conv3d_1x1_impl` makes, with the same choice of gemm parallelism.
fn pointwise_forward(d: &Conv1dDims, x: &FlexTensor, w: &[f32], bias: Option<&[f32]>) -> FlexTensor {
    let x = contiguous_f32(x);
    let x: &[f32] = x.storage();
    let (m, n, k) = (d.channels_out, d.length_out, d.channels_in);
    #[cfg(feature = "rayon")]
    let parallelism = if m * n * k >= 192 * 192 * 192 { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None };
    #[cfg(not(feature = "rayon"))]
    let parallelism = gemm::Parallelism::None;
    let mut y = vec![0f32; d.batch * m * n];
    let item = |(b, y_b): (usize, &mut [f32])| {
        let x_b = &x[b * k * n..(b + 1) * k * n];
        // SAFETY: y_b is m×n (row stride n); w is m×k (row stride k); x_b is k×n (row stride n).
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                y_b.as_mut_ptr(),
                1,
                n as isize,
                false,
                w.as_ptr(),
                1,
                k as isize,
                x_b.as_ptr(),
                1,
                n as isize,
                0.0f32,
                1.0f32,
                false,
                false,
                false,
                parallelism,
            );
        }
        if let Some(bias) = bias {
            for (o, row) in y_b.chunks_mut(n.max(1)).enumerate() {
                row.iter_mut().for_each(|v| *v += bias[o]);
            }
        }
    };
    let work = y.len() * k;
    for_each_chunk_of_work(&mut y, m * n, work, item);
    from_vec(y, Shape::from(vec![d.batch, m, n]))
}

/// The gradient of a 1-D convolution's input, or `None` where the default should run.
pub fn conv1d_x_backward(x: &FlexTensor, weight: &FlexTensor, output_grad: &FlexTensor, options: &ConvOptions<1>) -> Option<FlexTensor> {
    let d = Conv1dDims::of(x, weight, output_grad, options)?;
    if d.is_depthwise(weight, options) {
        return Some(depthwise_x_grad(&d, weight, output_grad));
    }
    if d.is_pointwise(options) {
        return Some(pointwise_x_grad(&d, weight, output_grad));
    }
    None
}

/// The gradient of a 1-D convolution's weight, or `None` where the default should run.
pub fn conv1d_weight_backward(
    x: &FlexTensor,
    weight: &FlexTensor,
    output_grad: &FlexTensor,
    options: &ConvOptions<1>,
) -> Option<FlexTensor> {
    let d = Conv1dDims::of(x, weight, output_grad, options)?;
    if d.is_depthwise(weight, options) {
        return Some(depthwise_weight_grad(&d, x, output_grad));
    }
    if d.is_pointwise(options) {
        return Some(pointwise_weight_grad(&d, x, output_grad));
    }
    None
}

/// `dx[b, c, t·s + j·d − p] += w[c, j] · dy[b, c, t]`, one (batch, channel) row at a time.
fn depthwise_x_grad(d: &Conv1dDims, weight: &FlexTensor, output_grad: &FlexTensor) -> FlexTensor {
    let w = contiguous_f32(weight);
    let w: &[f32] = w.storage();
    let dy = contiguous_f32(output_grad);
    let dy: &[f32] = dy.storage();
    let mut dx = vec![0f32; d.batch * d.channels_in * d.length_in];
    let row = |(r, dx_row): (usize, &mut [f32])| {
        let c = r % d.channels_in;
        let dy_row = &dy[r * d.length_out..(r + 1) * d.length_out];
        for j in 0..d.kernel {
            let wj = w[c * d.kernel + j];
            let steps = d.valid_steps(j);
            if d.stride == 1 && !steps.is_empty() {
                // Contiguous on both sides: the same updates as below, as one vectorisable axpy.
                let start = d.input_position(steps.start, j);
                let targets = &mut dx_row[start..start + steps.len()];
                for (o, &g) in targets.iter_mut().zip(&dy_row[steps]) {
                    *o += wj * g;
                }
                continue;
            }
            for t in steps {
                dx_row[d.input_position(t, j)] += wj * dy_row[t];
            }
        }
    };
    let work = dx.len() * d.kernel;
    for_each_chunk_of_work(&mut dx, d.length_in, work, row);
    from_vec(dx, Shape::from(vec![d.batch, d.channels_in, d.length_in]))
}

/// `dw[c, 0, j] = Σ_b Σ_t dy[b, c, t] · x[b, c, t·s + j·d − p]`, one channel at a time.
fn depthwise_weight_grad(d: &Conv1dDims, x: &FlexTensor, output_grad: &FlexTensor) -> FlexTensor {
    let x = contiguous_f32(x);
    let x: &[f32] = x.storage();
    let dy = contiguous_f32(output_grad);
    let dy: &[f32] = dy.storage();
    let mut dw = vec![0f32; d.channels_out * d.kernel];
    let channel = |(c, dw_c): (usize, &mut [f32])| {
        for (j, dw_cj) in dw_c.iter_mut().enumerate() {
            let steps = d.valid_steps(j);
            let mut sum = 0f32;
            for b in 0..d.batch {
                let r = b * d.channels_in + c;
                let x_row = &x[r * d.length_in..(r + 1) * d.length_in];
                let dy_row = &dy[r * d.length_out..(r + 1) * d.length_out];
                for t in steps.clone() {
                    sum += dy_row[t] * x_row[d.input_position(t, j)];
                }
            }
            *dw_cj = sum;
        }
    };
    for_each_chunk_of_work(&mut dw, d.kernel, d.batch * d.channels_in * d.length_out * d.kernel, channel);
    from_vec(dw, Shape::from(vec![d.channels_out, 1, d.kernel]))
}

/// `dx_b = Wᵀ · dy_b` for each batch item: `[C_in, C_out] · [C_out, L]`.
fn pointwise_x_grad(d: &Conv1dDims, weight: &FlexTensor, output_grad: &FlexTensor) -> FlexTensor {
    let w = contiguous_f32(weight);
    let w: &[f32] = w.storage();
    let dy = contiguous_f32(output_grad);
    let dy: &[f32] = dy.storage();
    let (m, n, k) = (d.channels_in, d.length_out, d.channels_out);
    let mut dx = vec![0f32; d.batch * m * n];
    let item = |(b, dx_b): (usize, &mut [f32])| {
        let dy_b = &dy[b * k * n..(b + 1) * k * n];
        // SAFETY: each pointer spans its matrix: dx_b is m×n (row stride n); Wᵀ reads w, stored
        // k×m, as m×k (element (i, o) at o·m + i); dy_b is k×n (row stride n).
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                dx_b.as_mut_ptr(),
                1,
                n as isize,
                false,
                w.as_ptr(),
                m as isize,
                1,
                dy_b.as_ptr(),
                1,
                n as isize,
                0.0f32,
                1.0f32,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    };
    let work = dx.len() * k;
    for_each_chunk_of_work(&mut dx, m * n, work, item);
    from_vec(dx, Shape::from(vec![d.batch, m, n]))
}

/// Fewest output rows of a parallel block of [`pointwise_weight_grad`] (see there).
const POINTWISE_WEIGHT_MIN_ROWS: usize = 16;

/// `dW = Σ_b dy_b · x_bᵀ`: `[C_out, L] · [L, C_in]`, accumulated over the batch.
///
/// With several threads and enough work, the output rows are cut into one block per thread, each
/// running the whole batch in order. gemm sums each element's products in order along `L` in
/// chunks that do not depend on the number of rows, except on its small-matrix paths: one row (a
/// matrix-vector product) and at most 256 outputs (dot products across `L`). So a block is never
/// shorter than [`POINTWISE_WEIGHT_MIN_ROWS`] or than 257 outputs, and a weight with 256 outputs or
/// fewer is not cut: every block computes the bits the whole matrix would
/// (`kernels_give_the_same_bits_on_any_number_of_threads`).
fn pointwise_weight_grad(d: &Conv1dDims, x: &FlexTensor, output_grad: &FlexTensor) -> FlexTensor {
    let x = contiguous_f32(x);
    let x: &[f32] = x.storage();
    let dy = contiguous_f32(output_grad);
    let dy: &[f32] = dy.storage();
    let (m, n, k) = (d.channels_out, d.channels_in, d.length_out);
    let mut dw = vec![0f32; m * n];
    #[cfg(feature = "rayon")]
    let threads = if d.batch * m * n * k >= PARALLEL_MIN_ELEMENTS { rayon::current_num_threads() } else { 1 };
    #[cfg(not(feature = "rayon"))]
    let threads = 1;
    let min_rows = POINTWISE_WEIGHT_MIN_ROWS.max(257usize.div_ceil(n.max(1)));
    let blocks = if m * n > 256 { (m / min_rows).clamp(1, threads) } else { 1 };
    // Near-equal blocks: each at least ⌊m / blocks⌋ ≥ min_rows rows.
    let mut parts: Vec<(usize, &mut [f32])> = Vec::with_capacity(blocks);
    let (mut rest, mut first_row) = (&mut dw[..], 0);
    for i in 0..blocks {
        let rows = m / blocks + usize::from(i < m % blocks);
        let (block, tail) = rest.split_at_mut(rows * n);
        parts.push((first_row, block));
        (rest, first_row) = (tail, first_row + rows);
    }
    let block = |(first_row, dw_block): (usize, &mut [f32])| {
        let rows = dw_block.len() / n.max(1);
        for b in 0..d.batch {
            let dy_b = &dy[b * m * k..(b + 1) * m * k];
            let x_b = &x[b * n * k..(b + 1) * n * k];
            // SAFETY: dw_block is rows×n (row stride n); dy_b's rows first_row.. are rows×k (row
            // stride k); x_bᵀ reads x_b (n×k, row stride k) as k×n: element (t, i) at i·k + t.
            unsafe {
                gemm::gemm(
                    rows,
                    n,
                    k,
                    dw_block.as_mut_ptr(),
                    1,
                    n as isize,
                    b > 0,
                    dy_b.as_ptr().add(first_row * k),
                    1,
                    k as isize,
                    x_b.as_ptr(),
                    k as isize,
                    1,
                    1.0f32,
                    1.0f32,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        }
    };
    #[cfg(feature = "rayon")]
    if parts.len() > 1 {
        parts.into_par_iter().for_each(block);
        return from_vec(dw, Shape::from(vec![m, n, 1]));
    }
    parts.into_iter().for_each(block);
    from_vec(dw, Shape::from(vec![m, n, 1]))
}

/// Per-channel statistics of an `[N, C, ...]` tensor's rows: the rows of channel `c` are
/// `b·C + c` for every batch item `b`, each `spatial` long.
fn channel_rows(channels: usize, batch: usize, c: usize) -> impl Iterator<Item = usize> {
    (0..batch).map(move |b| b * channels + c)
}

/// Partial sums per lane: a single running f64 sum fixes the order of its additions, so the
/// compiler cannot vectorise it; eight independent ones it can.
const LANES: usize = 8;

/// `Σ term(v)` over `values`, summed in f64 over [`LANES`] interleaved partial sums.
#[inline]
fn lane_sum(values: &[f32], term: impl Fn(f32) -> f64) -> f64 {
    let mut acc = [0f64; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in &mut chunks {
        let chunk: &[f32; LANES] = chunk.try_into().unwrap();
        for j in 0..LANES {
            acc[j] += term(chunk[j]);
        }
    }
    chunks.remainder().iter().fold(acc.iter().sum::<f64>(), |s, &v| s + term(v))
}

/// `(Σ dy, Σ dy·x̂)` over a row, `x̂ = (x − mean)·inv_std` rounded in f32 as the output pass
/// rounds it, summed in f64 over [`LANES`] interleaved partial sums as [`lane_sum`] does.
#[inline]
fn grad_sums(dy: &[f32], x: &[f32], mean: f32, inv_std: f32) -> (f64, f64) {
    let (mut acc_dy, mut acc_dy_xhat) = ([0f64; LANES], [0f64; LANES]);
    let (mut chunks_dy, mut chunks_x) = (dy.chunks_exact(LANES), x.chunks_exact(LANES));
    for (cd, cx) in (&mut chunks_dy).zip(&mut chunks_x) {
        let (cd, cx): (&[f32; LANES], &[f32; LANES]) = (cd.try_into().unwrap(), cx.try_into().unwrap());
        for j in 0..LANES {
            acc_dy[j] += cd[j] as f64;
            acc_dy_xhat[j] += (cd[j] * ((cx[j] - mean) * inv_std)) as f64;
        }
    }
    let start = (acc_dy.iter().sum::<f64>(), acc_dy_xhat.iter().sum::<f64>());
    chunks_dy
        .remainder()
        .iter()
        .zip(chunks_x.remainder())
        .fold(start, |(s_dy, s_dy_xhat), (&g, &v)| (s_dy + g as f64, s_dy_xhat + (g * ((v - mean) * inv_std)) as f64))
}

/// `f(c)` for every channel: in parallel where there is more than one thread and `elements` is
/// large enough to pay for the hand-off (as [`for_each_chunk`]), else on the calling thread.
fn per_channel<T: Send>(channels: usize, elements: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    #[cfg(feature = "rayon")]
    if rayon::current_num_threads() > 1 && elements >= PARALLEL_MIN_ELEMENTS {
        return (0..channels).into_par_iter().map(f).collect();
    }
    let _ = elements;
    (0..channels).map(f).collect()
}

/// Batch norm in training mode: `(output, mean, biased variance)`, or `None` where the default
/// should run.
pub fn batch_norm_train(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    epsilon: f64,
) -> Option<(FlexTensor, FlexTensor, FlexTensor)> {
    let shape = x.layout().shape().clone();
    if x.dtype() != DType::F32 || gamma.dtype() != DType::F32 || beta.dtype() != DType::F32 || shape.num_dims() < 2 {
        return None;
    }
    let (batch, channels) = (shape[0], shape[1]);
    let spatial = shape.num_elements() / (batch * channels).max(1);
    let count = (batch * spatial) as f64;
    if count == 0.0 {
        return None;
    }
    let x = contiguous_f32(x);
    let x: &[f32] = x.storage();
    let stats: Vec<(f32, f32)> = per_channel(channels, x.len(), |c| {
        let rows = || channel_rows(channels, batch, c).map(|r| &x[r * spatial..(r + 1) * spatial]);
        let mean = rows().map(|row| lane_sum(row, |v| v as f64)).sum::<f64>() / count;
        let var = rows()
            .map(|row| {
                lane_sum(row, |v| {
                    let dv = v as f64 - mean;
                    dv * dv
                })
            })
            .sum::<f64>()
            / count;
        (mean as f32, var as f32)
    });
    let gamma = contiguous_f32(gamma);
    let gamma: &[f32] = gamma.storage();
    let beta = contiguous_f32(beta);
    let beta: &[f32] = beta.storage();
    let mut out = vec![0f32; shape.num_elements()];
    let row = |(r, out_row): (usize, &mut [f32])| {
        let c = r % channels;
        let (mean, var) = stats[c];
        let scale = gamma[c] / (var + epsilon as f32).sqrt();
        let shift = beta[c] - mean * scale;
        for (o, &v) in out_row.iter_mut().zip(&x[r * spatial..(r + 1) * spatial]) {
            *o = v * scale + shift;
        }
    };
    for_each_chunk(&mut out, spatial.max(1), row);
    let means = stats.iter().map(|s| s.0).collect();
    let vars = stats.iter().map(|s| s.1).collect();
    Some((from_vec(out, shape), from_vec(means, Shape::from(vec![channels])), from_vec(vars, Shape::from(vec![channels]))))
}

/// The gradients `(x, gamma, beta)` of [`batch_norm_train`], or `None` where the default should
/// run: with `x̂ = (x − μ)/σ`, `dβ = Σ dy`, `dγ = Σ dy·x̂` and
/// `dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy·x̂))`.
pub fn batch_norm_train_backward(
    x: &FlexTensor,
    gamma: &FlexTensor,
    mean: &FlexTensor,
    variance: &FlexTensor,
    epsilon: f64,
    output_grad: &FlexTensor,
) -> Option<(FlexTensor, FlexTensor, FlexTensor)> {
    let shape = x.layout().shape().clone();
    let all_f32 = [x, gamma, mean, variance, output_grad].iter().all(|t| t.dtype() == DType::F32);
    if !all_f32 || shape.num_dims() < 2 || output_grad.layout().shape() != &shape {
        return None;
    }
    let (batch, channels) = (shape[0], shape[1]);
    let spatial = shape.num_elements() / (batch * channels).max(1);
    let count = (batch * spatial) as f64;
    if count == 0.0 {
        return None;
    }
    let x = contiguous_f32(x);
    let x: &[f32] = x.storage();
    let dy = contiguous_f32(output_grad);
    let dy: &[f32] = dy.storage();
    let read = |t: &FlexTensor| -> Vec<f32> { contiguous_f32(t).storage::<f32>().to_vec() };
    let (gamma, mean, variance) = (read(gamma), read(mean), read(variance));
    let inv_std: Vec<f32> = variance.iter().map(|&v| 1.0 / (v + epsilon as f32).sqrt()).collect();
    // Per channel: Σ dy and Σ dy·x̂.
    let sums: Vec<(f64, f64)> = per_channel(channels, x.len(), |c| {
        channel_rows(channels, batch, c)
            .map(|r| {
                let span = r * spatial..(r + 1) * spatial;
                grad_sums(&dy[span.clone()], &x[span], mean[c], inv_std[c])
            })
            .fold((0f64, 0f64), |(a, b), (da, db)| (a + da, b + db))
    });
    let mut dx = vec![0f32; shape.num_elements()];
    let row = |(r, dx_row): (usize, &mut [f32])| {
        let c = r % channels;
        let mean_dy = (sums[c].0 / count) as f32;
        let mean_dy_xhat = (sums[c].1 / count) as f32;
        let (mean, inv_std) = (mean[c], inv_std[c]);
        let scale = gamma[c] * inv_std;
        let span = r * spatial..(r + 1) * spatial;
        for ((o, &g), &v) in dx_row.iter_mut().zip(&dy[span.clone()]).zip(&x[span]) {
            let xhat = (v - mean) * inv_std;
            *o = scale * ((g - mean_dy) - xhat * mean_dy_xhat);
        }
    };
    for_each_chunk(&mut dx, spatial.max(1), row);
    let gamma_grad = sums.iter().map(|s| s.1 as f32).collect();
    let beta_grad = sums.iter().map(|s| s.0 as f32).collect();
    Some((from_vec(dx, shape), from_vec(gamma_grad, Shape::from(vec![channels])), from_vec(beta_grad, Shape::from(vec![channels]))))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random values in [−1, 1).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn tensor(shape: &[usize], seed: u64) -> FlexTensor {
        from_vec(values(shape.iter().product(), seed), Shape::from(shape.to_vec()))
    }

    fn close(a: &[f32], b: &[f64], tol: f64) {
        assert_eq!(a.len(), b.len());
        for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
            assert!((x as f64 - y).abs() <= tol * (1.0 + y.abs()), "element {i}: {x} vs {y}");
        }
    }

    /// The convolution's definition: `y[b, o, t] = Σ_i Σ_j w[o, i, j] · x[b, g·C_in/G + i, t·s + j·d − p]`
    /// for output channel `o` in group `g`; its gradients by the chain rule, term by term.
    #[allow(clippy::too_many_arguments)]
    fn naive_grads(
        x: &[f32],
        w: &[f32],
        dy: &[f32],
        (batch, cin, cout, lin, lout, k): (usize, usize, usize, usize, usize, usize),
        stride: usize,
        dilation: usize,
        pad: usize,
        groups: usize,
    ) -> (Vec<f64>, Vec<f64>) {
        let (cin_g, cout_g) = (cin / groups, cout / groups);
        let mut dx = vec![0f64; batch * cin * lin];
        let mut dw = vec![0f64; cout * cin_g * k];
        for b in 0..batch {
            for o in 0..cout {
                let g = o / cout_g;
                for i in 0..cin_g {
                    let ci = g * cin_g + i;
                    for j in 0..k {
                        for t in 0..lout {
                            let pos = (t * stride + j * dilation) as isize - pad as isize;
                            if pos < 0 || pos >= lin as isize {
                                continue;
                            }
                            let g_out = dy[(b * cout + o) * lout + t] as f64;
                            dx[(b * cin + ci) * lin + pos as usize] += w[(o * cin_g + i) * k + j] as f64 * g_out;
                            dw[(o * cin_g + i) * k + j] += x[(b * cin + ci) * lin + pos as usize] as f64 * g_out;
                        }
                    }
                }
            }
        }
        (dx, dw)
    }

    fn check_conv(batch: usize, cin: usize, cout: usize, lin: usize, k: usize, stride: usize, dilation: usize, pad: usize, groups: usize) {
        let lout = (lin + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
        let x = tensor(&[batch, cin, lin], 1);
        let w = tensor(&[cout, cin / groups, k], 2);
        let dy = tensor(&[batch, cout, lout], 3);
        let options = ConvOptions::new([stride], [pad], [dilation], groups);
        let (dx_ref, dw_ref) =
            naive_grads(x.storage(), w.storage(), dy.storage(), (batch, cin, cout, lin, lout, k), stride, dilation, pad, groups);
        let dx = conv1d_x_backward(&x, &w, &dy, &options).expect("a fast path applies");
        let dw = conv1d_weight_backward(&x, &w, &dy, &options).expect("a fast path applies");
        assert_eq!(dx.layout().shape(), x.layout().shape());
        assert_eq!(dw.layout().shape(), w.layout().shape());
        close(dx.storage(), &dx_ref, 1e-5);
        close(dw.storage(), &dw_ref, 1e-4);
    }

    #[test]
    fn depthwise_gradients_match_the_definition() {
        // MobileNet's shapes: kernels 3 and 5, stride 1 and 2 with "same" padding, and an odd
        // length so a stride-2 convolution drops the last input step.
        check_conv(3, 4, 4, 16, 3, 1, 1, 1, 4);
        check_conv(2, 5, 5, 17, 5, 2, 1, 2, 5);
        check_conv(2, 3, 3, 9, 3, 2, 2, 0, 3);
    }

    #[test]
    fn pointwise_gradients_match_the_definition() {
        check_conv(3, 6, 5, 11, 1, 1, 1, 0, 1);
        // A squeeze-excite convolution on a pooled (length-1) signal.
        check_conv(4, 8, 2, 1, 1, 1, 1, 0, 1);
    }

    #[test]
    fn other_convolutions_are_left_to_the_default() {
        let x = tensor(&[2, 4, 10], 1);
        let dy = tensor(&[2, 6, 10], 3);
        // kernel 3, no groups: not depthwise, not pointwise.
        let w = tensor(&[6, 4, 3], 2);
        let options = ConvOptions::new([1], [1], [1], 1);
        assert!(conv1d_x_backward(&x, &w, &dy, &options).is_none());
        assert!(conv1d_weight_backward(&x, &w, &dy, &options).is_none());
        // kernel 1 with a stride: not the pointwise path.
        let w = tensor(&[6, 4, 1], 2);
        let dy = tensor(&[2, 6, 5], 3);
        assert!(conv1d_x_backward(&x, &w, &dy, &ConvOptions::new([2], [0], [1], 1)).is_none());
    }

    /// The forward pass against flex's own `conv1d`, which it must match bit for bit.
    fn check_forward(
        batch: usize,
        channels: usize,
        cout: usize,
        lin: usize,
        k: usize,
        stride: usize,
        dilation: usize,
        pad: usize,
        groups: usize,
        with_bias: bool,
    ) {
        let x = tensor(&[batch, channels, lin], 31);
        let w = tensor(&[cout, channels / groups, k], 32);
        let bias = with_bias.then(|| tensor(&[cout], 33));
        let options = ConvOptions::new([stride], [pad], [dilation], groups);
        let fast = conv1d_forward(&x, &w, bias.as_ref(), &options).expect("a fast path applies");
        let flex = crate::ops::conv::conv1d_f32(x, w, bias, &options);
        assert_eq!(fast.layout().shape(), flex.layout().shape());
        let bits = |t: &FlexTensor| t.storage::<f32>().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&fast), bits(&flex.to_contiguous()), "{batch}×{channels}×{lin}, k {k}, s {stride}, d {dilation}, p {pad}");
    }

    #[test]
    fn depthwise_and_pointwise_outputs_are_flex_s_bit_for_bit() {
        for with_bias in [false, true] {
            check_forward(3, 4, 4, 16, 3, 1, 1, 1, 4, with_bias);
            check_forward(2, 5, 5, 17, 5, 2, 1, 2, 5, with_bias);
            check_forward(2, 3, 3, 9, 3, 2, 2, 0, 3, with_bias);
            check_forward(2, 6, 6, 8, 5, 1, 1, 2, 6, with_bias);
            check_forward(3, 6, 5, 11, 1, 1, 1, 0, 1, with_bias);
            check_forward(4, 8, 2, 1, 1, 1, 1, 0, 1, with_bias);
        }
        // Enough work to go through rayon when the test runs with several threads.
        check_forward(64, 48, 48, 32, 5, 1, 1, 2, 48, true);
        check_forward(64, 24, 72, 64, 1, 1, 1, 0, 1, false);
    }

    /// Every kernel gives the same bits with one thread and with several (rows split in blocks).
    #[cfg(feature = "rayon")]
    #[test]
    fn kernels_give_the_same_bits_on_any_number_of_threads() {
        let bits = |t: &FlexTensor| t.storage::<f32>().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        let all = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut out = Vec::new();
                // Pointwise (a weight gradient with 40 output rows: blocks of 16 and more) and depthwise.
                // 40 and 100 output rows: two blocks, or three of 34, 33 and 33.
                for (cin, cout, k, pad, groups) in [(24, 40, 1, 0, 1), (24, 100, 1, 0, 1), (40, 40, 5, 2, 40)] {
                    let x = tensor(&[16, cin, 32], 41);
                    let w = tensor(&[cout, cin / groups, k], 42);
                    let dy = tensor(&[16, cout, 32], 43);
                    let options = ConvOptions::new([1], [pad], [1], groups);
                    out.push(bits(&conv1d_forward(&x, &w, None, &options).unwrap()));
                    out.push(bits(&conv1d_x_backward(&x, &w, &dy, &options).unwrap()));
                    out.push(bits(&conv1d_weight_backward(&x, &w, &dy, &options).unwrap()));
                }
                out
            })
        };
        let serial = all(1);
        for threads in [2, 3] {
            for (i, (a, b)) in all(threads).iter().zip(&serial).enumerate() {
                let differing = a.iter().zip(b).filter(|(x, y)| x != y).count();
                assert_eq!(differing, 0, "output {i} (forward, x and weight gradients of each convolution in turn), {threads} threads");
            }
        }
    }

    #[test]
    fn forward_leaves_other_convolutions_and_non_finite_weights_to_flex() {
        let x = tensor(&[2, 4, 10], 1);
        assert!(conv1d_forward(&x, &tensor(&[6, 4, 3], 2), None, &ConvOptions::new([1], [1], [1], 1)).is_none());
        assert!(conv1d_forward(&x, &tensor(&[4, 2, 3], 2), None, &ConvOptions::new([1], [1], [1], 2)).is_none());
        let mut w = values(4 * 3, 2);
        w[5] = f32::INFINITY;
        let w = from_vec(w, Shape::from(vec![4, 1, 3]));
        assert!(conv1d_forward(&x, &w, None, &ConvOptions::new([1], [1], [1], 4)).is_none());
    }

    /// Batch norm by its definition, in f64.
    fn naive_batch_norm(
        x: &[f32],
        gamma: &[f32],
        beta: &[f32],
        dy: &[f32],
        batch: usize,
        channels: usize,
        spatial: usize,
        eps: f64,
    ) -> [Vec<f64>; 6] {
        let n = (batch * spatial) as f64;
        let idx = |b: usize, c: usize, s: usize| (b * channels + c) * spatial + s;
        let (mut out, mut dx) = (vec![0f64; x.len()], vec![0f64; x.len()]);
        let (mut means, mut vars, mut dgamma, mut dbeta) = (vec![], vec![], vec![], vec![]);
        for c in 0..channels {
            let all = || (0..batch).flat_map(move |b| (0..spatial).map(move |s| idx(b, c, s)));
            let mean = all().map(|i| x[i] as f64).sum::<f64>() / n;
            let var = all().map(|i| (x[i] as f64 - mean).powi(2)).sum::<f64>() / n;
            let inv = 1.0 / (var + eps).sqrt();
            let xhat = |i: usize| (x[i] as f64 - mean) * inv;
            let sum_dy = all().map(|i| dy[i] as f64).sum::<f64>();
            let sum_dy_xhat = all().map(|i| dy[i] as f64 * xhat(i)).sum::<f64>();
            for i in all() {
                out[i] = gamma[c] as f64 * xhat(i) + beta[c] as f64;
                dx[i] = gamma[c] as f64 * inv * (dy[i] as f64 - sum_dy / n - xhat(i) * sum_dy_xhat / n);
            }
            means.push(mean);
            vars.push(var);
            dgamma.push(sum_dy_xhat);
            dbeta.push(sum_dy);
        }
        [out, means, vars, dx, dgamma, dbeta]
    }

    #[test]
    fn batch_norm_and_its_gradients_match_the_definition() {
        let (batch, channels, spatial, eps) = (4, 3, 7, 1e-5);
        let x = tensor(&[batch, channels, spatial], 11);
        let gamma = tensor(&[channels], 12);
        let beta = tensor(&[channels], 13);
        let dy = tensor(&[batch, channels, spatial], 14);
        let [out_ref, mean_ref, var_ref, dx_ref, dgamma_ref, dbeta_ref] =
            naive_batch_norm(x.storage(), gamma.storage(), beta.storage(), dy.storage(), batch, channels, spatial, eps);
        let (out, mean, var) = batch_norm_train(&x, &gamma, &beta, eps).expect("f32");
        close(out.storage(), &out_ref, 1e-5);
        close(mean.storage(), &mean_ref, 1e-6);
        close(var.storage(), &var_ref, 1e-6);
        let (dx, dgamma, dbeta) = batch_norm_train_backward(&x, &gamma, &mean, &var, eps, &dy).expect("f32");
        close(dx.storage(), &dx_ref, 1e-4);
        close(dgamma.storage(), &dgamma_ref, 1e-5);
        close(dbeta.storage(), &dbeta_ref, 1e-5);
        // A 2-D input ([N, C], as after pooling) has one value per row.
        let x2 = tensor(&[5, 3], 21);
        let dy2 = tensor(&[5, 3], 22);
        let [out_ref, ..] = naive_batch_norm(x2.storage(), gamma.storage(), beta.storage(), dy2.storage(), 5, 3, 1, eps);
        let (out, _, _) = batch_norm_train(&x2, &gamma, &beta, eps).expect("f32");
        close(out.storage(), &out_ref, 1e-5);
    }
}
