//! Outputs and gradients of the layers whose passes vendor/burn-flex patches (1-D convolutions:
//! depthwise and pointwise fast paths, the rest through flex's and burn's default; batch norm in
//! training mode), taken through burn's autodiff as training takes them, against the layers'
//! definitions summed in f64 here. The loss is `Σ y·r` for a fixed random `r`, so `∂loss/∂y = r`.
//! And the patched kernels give the same bits on any number of threads.

use burn::module::Param;
use burn::nn::conv::Conv1dConfig;
use burn::nn::{BatchNormConfig, PaddingConfig1d};
use burn::tensor::{Distribution, Tensor, TensorData};
use harbench_models::device::test_device;

fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().try_to_vec::<f32>().expect("f32 tensor").into_iter().map(f64::from).collect()
}

fn close(name: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{name}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{name}[{i}]: {g} vs {w}");
    }
}

struct Case {
    batch: usize,
    channels_in: usize,
    channels_out: usize,
    length: usize,
    kernel: usize,
    stride: usize,
    padding: (usize, usize),
    groups: usize,
}

/// `y[b, o, t] = Σ_i Σ_j w[o, i, j] · x[b, g·C_in/G + i, t·s + j − p]` (o in group g, no bias),
/// and the gradients of `Σ y·r` with respect to `x` and `w`.
fn definition(c: &Case, x: &[f64], w: &[f64], r: &[f64], length_out: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (cin_g, cout_g) = (c.channels_in / c.groups, c.channels_out / c.groups);
    let mut y = vec![0.0; r.len()];
    let mut dx = vec![0.0; x.len()];
    let mut dw = vec![0.0; w.len()];
    for b in 0..c.batch {
        for o in 0..c.channels_out {
            let ci0 = (o / cout_g) * cin_g;
            for i in 0..cin_g {
                for j in 0..c.kernel {
                    for t in 0..length_out {
                        let pos = (t * c.stride + j) as isize - c.padding.0 as isize;
                        if pos < 0 || pos >= c.length as isize {
                            continue;
                        }
                        let xi = ((b * c.channels_in + ci0 + i) * c.length) + pos as usize;
                        let wi = (o * cin_g + i) * c.kernel + j;
                        let yi = (b * c.channels_out + o) * length_out + t;
                        y[yi] += w[wi] * x[xi];
                        let g = r[yi];
                        dx[xi] += w[wi] * g;
                        dw[wi] += x[xi] * g;
                    }
                }
            }
        }
    }
    (y, dx, dw)
}

fn check_conv(c: Case) {
    let device = test_device().autodiff();
    let conv = Conv1dConfig::new(c.channels_in, c.channels_out, c.kernel)
        .with_stride(c.stride)
        .with_groups(c.groups)
        .with_padding(PaddingConfig1d::Explicit(c.padding.0, c.padding.1))
        .with_bias(false)
        .init(&device);
    let x = Tensor::<3>::random([c.batch, c.channels_in, c.length], Distribution::Normal(0.0, 1.0), &device).require_grad();
    let y = conv.forward(x.clone());
    let y_values = values(y.clone().inner());
    let length_out = y.dims()[2];
    let r = Tensor::<3>::random(y.dims(), Distribution::Normal(0.0, 1.0), &device);
    let grads = (y * r.clone()).sum().backward();
    let dx = values(x.grad(&grads).expect("x has a gradient"));
    let dw = values(conv.weight.val().grad(&grads).expect("the weight has a gradient"));
    let (want_y, want_dx, want_dw) = definition(&c, &values(x.inner()), &values(conv.weight.val().inner()), &values(r.inner()), length_out);
    let label = format!("k{} s{} p{:?} groups {}", c.kernel, c.stride, c.padding, c.groups);
    close(&format!("{label} y"), &y_values, &want_y, 1e-5);
    close(&format!("{label} dx"), &dx, &want_dx, 1e-4);
    close(&format!("{label} dw"), &dw, &want_dw, 1e-4);
}

#[test]
fn depthwise_convolution_gradients_match_the_definition() {
    // MobileNet's depthwise layers: kernels 3 and 5, stride 1 and 2, "same" padding; an odd
    // length, so the stride-2 layer drops the last input step.
    check_conv(Case { batch: 3, channels_in: 6, channels_out: 6, length: 16, kernel: 3, stride: 1, padding: (1, 1), groups: 6 });
    check_conv(Case { batch: 2, channels_in: 5, channels_out: 5, length: 17, kernel: 5, stride: 2, padding: (2, 2), groups: 5 });
}

#[test]
fn pointwise_convolution_gradients_match_the_definition() {
    check_conv(Case { batch: 3, channels_in: 7, channels_out: 5, length: 12, kernel: 1, stride: 1, padding: (0, 0), groups: 1 });
    // Squeeze-excite's convolutions run on a pooled, length-1 signal.
    check_conv(Case { batch: 4, channels_in: 8, channels_out: 3, length: 1, kernel: 1, stride: 1, padding: (0, 0), groups: 1 });
}

#[test]
fn other_convolution_gradients_match_the_definition() {
    // Burn's default path: a full convolution (the stem), a grouped one, asymmetric padding.
    check_conv(Case { batch: 2, channels_in: 4, channels_out: 6, length: 15, kernel: 3, stride: 2, padding: (1, 1), groups: 1 });
    check_conv(Case { batch: 2, channels_in: 4, channels_out: 6, length: 10, kernel: 3, stride: 1, padding: (1, 1), groups: 2 });
    check_conv(Case { batch: 2, channels_in: 3, channels_out: 4, length: 9, kernel: 4, stride: 1, padding: (1, 2), groups: 1 });
}

/// The bits of a pointwise and a depthwise convolution's output and gradients, and of a batch
/// norm's, computed on a rayon pool of `threads` threads, on shapes large enough for the patched
/// kernels to split their work.
fn bits_on(threads: usize) -> Vec<Vec<u32>> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool");
    pool.install(|| {
        let device = test_device().autodiff();
        // Inputs from a local generator: the device's is shared with tests running alongside.
        let mut state = 7u64;
        let mut tensor = |dims: [usize; 3]| {
            let values = (0..dims.iter().product::<usize>())
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
                })
                .collect::<Vec<_>>();
            Tensor::<3>::from_data(TensorData::new(values, dims), &device)
        };
        let bits = |t: Tensor<3>| t.into_data().try_to_vec::<f32>().expect("f32").iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        let mut out = Vec::new();
        // Pointwise weights of 40 rows (two blocks of 20) and 100 (34, 33, 33 on 3 threads).
        for (cin, cout, kernel, padding, groups) in [(24, 40, 1, 0, 1), (24, 100, 1, 0, 1), (40, 40, 5, 2, 40)] {
            let mut conv = Conv1dConfig::new(cin, cout, kernel)
                .with_groups(groups)
                .with_padding(PaddingConfig1d::Explicit(padding, padding))
                .with_bias(false)
                .init(&device);
            conv.weight = Param::from_tensor(tensor([cout, cin / groups, kernel]).require_grad());
            let norm = BatchNormConfig::new(cout).init(&device);
            let x = tensor([16, cin, 32]).require_grad();
            let y = norm.forward(conv.forward(x.clone()));
            let r = tensor(y.dims());
            let grads = (y.clone() * r).sum().backward();
            out.push(bits(y.inner()));
            out.push(bits(x.grad(&grads).expect("x has a gradient")));
            out.push(bits(conv.weight.val().grad(&grads).expect("the weight has a gradient")));
        }
        out
    })
}

#[test]
fn patched_kernels_give_the_same_bits_on_any_number_of_threads() {
    let one = bits_on(1);
    for threads in [2, 3] {
        for (i, (got, want)) in bits_on(threads).iter().zip(&one).enumerate() {
            let differing = got.iter().zip(want).filter(|(a, b)| a != b).count();
            assert_eq!(differing, 0, "{threads} threads: output {i} (y, dx, dw of each layer in turn) differs");
        }
    }
}

#[test]
fn batch_norm_training_output_and_gradients_match_the_definition() {
    let device = test_device().autodiff();
    let (n, c, l, eps) = (4usize, 3usize, 7usize, 1e-5f64);
    let mut bn = BatchNormConfig::new(c).with_epsilon(eps).init(&device);
    // Scale and shift that are not the identity, so that dγ and dβ are tested as such.
    let param = |v: [f32; 3]| Param::from_tensor(Tensor::<1>::from_data(TensorData::new(v.to_vec(), [3]), &device).require_grad());
    bn.gamma = param([0.5, 1.5, -2.0]);
    bn.beta = param([0.1, -0.3, 0.7]);
    let x = Tensor::<3>::random([n, c, l], Distribution::Normal(1.0, 2.0), &device).require_grad();
    let y = bn.forward(x.clone());
    let r = Tensor::<3>::random([n, c, l], Distribution::Normal(0.0, 1.0), &device);
    let grads = (y.clone() * r.clone()).sum().backward();
    let (xs, rs, ys) = (values(x.clone().inner()), values(r.inner()), values(y.inner()));
    let dx = values(x.grad(&grads).expect("x has a gradient"));
    let dgamma = values(bn.gamma.val().grad(&grads).expect("γ has a gradient"));
    let dbeta = values(bn.beta.val().grad(&grads).expect("β has a gradient"));
    let (gamma, beta) = (values(bn.gamma.val()), values(bn.beta.val()));
    let count = (n * l) as f64;
    let at = |b: usize, ch: usize, t: usize| (b * c + ch) * l + t;
    for ch in 0..c {
        let all: Vec<usize> = (0..n).flat_map(|b| (0..l).map(move |t| at(b, ch, t))).collect();
        let mean = all.iter().map(|&i| xs[i]).sum::<f64>() / count;
        let var = all.iter().map(|&i| (xs[i] - mean).powi(2)).sum::<f64>() / count;
        let inv = 1.0 / (var + eps).sqrt();
        let sum_r = all.iter().map(|&i| rs[i]).sum::<f64>();
        let sum_r_xhat = all.iter().map(|&i| rs[i] * (xs[i] - mean) * inv).sum::<f64>();
        for &i in &all {
            let xhat = (xs[i] - mean) * inv;
            close("output", &[ys[i]], &[gamma[ch] * xhat + beta[ch]], 1e-4);
            let want = gamma[ch] * inv * (rs[i] - sum_r / count - xhat * sum_r_xhat / count);
            close("dx", &[dx[i]], &[want], 1e-4);
        }
        close("dgamma", &[dgamma[ch]], &[sum_r_xhat], 1e-4);
        close("dbeta", &[dbeta[ch]], &[sum_r], 1e-4);
    }
}
