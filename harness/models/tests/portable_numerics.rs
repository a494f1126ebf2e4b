//! Portable numerics (src/numerics.rs): on every x86-64-v3 CPU the kernels add in one order.
//! Each test works out that order by hand, in plain scalar Rust, and checks burn-flex's result
//! against it to the last bit. A CPU-dependent kernel fails them: a sum dispatched to AVX-512
//! (16 lanes) instead of AVX2 (8 lanes), a matrix product blocked by a 48 KiB L1 (one block of
//! 1000) instead of the fixed 32 KiB one (two blocks of 500). With `native-kernels` the order is
//! the CPU's own, and the tests only check that they are skipped for that reason.

use burn::tensor::{Tensor, TensorData};
use harbench_models::device::test_device;
use harbench_models::numerics::Numerics;

/// Values of mixed signs and magnitudes (so that the order of additions shows in the last bits).
fn values(n: usize, salt: f32) -> Vec<f32> {
    (0..n).map(|i| ((i as f32 * 0.618 + salt).sin() * 1e3).fract() * (1.0 + (i % 7) as f32 * 37.0)).collect()
}

fn portable() -> bool {
    let n = Numerics::current();
    if !n.portable() {
        eprintln!("skipped: numerics {} are this CPU's own", n.name());
    }
    n.portable()
}

/// burn-flex's f32 sum (macerator's `sum_body` at x86-64-v3): 8 accumulators of 8 lanes over
/// blocks of 64, combined pairwise, then the remaining full vectors, then the 8 lanes reduced
/// as (l0+l4 + l2+l6) + (l1+l5 + l3+l7), then the scalar tail.
fn sum_in_v3_order(xs: &[f32]) -> f32 {
    const LANES: usize = 8;
    let mut acc = [[0.0f32; LANES]; 8];
    let blocks = xs.len() / (8 * LANES);
    for block in xs.chunks_exact(8 * LANES).take(blocks) {
        for (accumulator, vector) in acc.iter_mut().zip(block.chunks_exact(LANES)) {
            accumulator.iter_mut().zip(vector).for_each(|(s, x)| *s += x);
        }
    }
    let mut sum = [0.0f32; LANES];
    for (l, s) in sum.iter_mut().enumerate() {
        let c = |a: usize| acc[a][l];
        *s = ((c(0) + c(1)) + (c(2) + c(3))) + ((c(4) + c(5)) + (c(6) + c(7)));
    }
    let rest = &xs[blocks * 8 * LANES..];
    let full = rest.len() / LANES;
    for vector in rest.chunks_exact(LANES).take(full) {
        sum.iter_mut().zip(vector).for_each(|(s, x)| *s += x);
    }
    let halves: Vec<f32> = (0..4).map(|l| sum[l] + sum[l + 4]).collect();
    let reduced = (halves[0] + halves[2]) + (halves[1] + halves[3]);
    reduced + rest[full * LANES..].iter().copied().sum::<f32>()
}

#[test]
fn a_sum_adds_in_the_order_of_eight_lanes() {
    if !portable() {
        return;
    }
    let device = test_device();
    let xs = values(64 * 3 + 8 * 2 + 5, 0.3);
    let got: f32 = Tensor::<1>::from_data(TensorData::new(xs.clone(), [xs.len()]), &device).sum().into_scalar::<f32>();
    let serial: f32 = xs.iter().sum();
    assert_ne!(sum_in_v3_order(&xs).to_bits(), serial.to_bits(), "the data must tell orders apart");
    assert_eq!(got.to_bits(), sum_in_v3_order(&xs).to_bits(), "got {got}, expected {}", sum_in_v3_order(&xs));
}

/// `Σ_k a[i][k]·b[k][j]` as gemm's FMA micro-kernel takes it: one fused multiply-add per `k`, in
/// order, within each block of `block` steps of `k`; the blocks' sums added to the output in
/// turn.
fn product_in_blocks(a: &[f32], b: &[f32], (m, k, n): (usize, usize, usize), block: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut total: Option<f32> = None;
            for start in (0..k).step_by(block) {
                let acc = (start..(start + block).min(k)).fold(0.0f32, |acc, kk| a[i * k + kk].mul_add(b[kk * n + j], acc));
                total = Some(total.map_or(acc, |t| t + acc));
            }
            out[i * n + j] = total.unwrap();
        }
    }
    out
}

#[test]
fn a_long_matrix_product_is_summed_in_blocks_of_at_most_512() {
    if !portable() {
        return;
    }
    // k = 1000 > 512 and m > 64: gemm's cache-sized path, where kc = ceil(k / ceil(k / 512)) = 500
    // for the fixed 32 KiB L1, and 1000 for a 48 KiB 12-way L1 with upstream's blocking.
    let (m, k, n) = (96, 1000, 16);
    let (a, b) = (values(m * k, 0.1), values(k * n, 0.7));
    let device = test_device();
    let ta = Tensor::<2>::from_data(TensorData::new(a.clone(), [m, k]), &device);
    let tb = Tensor::<2>::from_data(TensorData::new(b.clone(), [k, n]), &device);
    let got = ta.matmul(tb).into_data().try_to_vec::<f32>().unwrap();
    let (two_blocks, one_block) = (product_in_blocks(&a, &b, (m, k, n), 500), product_in_blocks(&a, &b, (m, k, n), 1000));
    assert_ne!(two_blocks, one_block, "the data must tell the blockings apart");
    let differing = got.iter().zip(&two_blocks).filter(|(g, e)| g.to_bits() != e.to_bits()).count();
    assert_eq!(differing, 0, "{differing} of {} outputs differ from two blocks of 500", m * n);
}
