//! Tensor helpers shared by the losses. Norms and square roots are guarded so that a zero
//! vector (identical or constant features) gives finite values and gradients, as PyTorch's
//! masked norm backward does.

use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Tensor, TensorData};

/// Added under square roots: keeps d√x/dx finite at 0 while changing no value above ~1e-15.
pub const TINY: f32 = 1e-30;

/// Euclidean norm along `dim` (kept), finite gradient at 0.
pub fn norm<const D: usize>(x: Tensor<D>, dim: usize) -> Tensor<D> {
    (x.powi_scalar(2).sum_dim(dim) + TINY).sqrt()
}

/// `F.normalize(x, p=2, dim, eps=1e-12)`: `x / max(‖x‖, eps)`.
pub fn l2_normalize<const D: usize>(x: Tensor<D>, dim: usize) -> Tensor<D> {
    let n = norm(x.clone(), dim).clamp_min(1e-12);
    x / n
}

/// Hinton's soft-target loss `T² · KL(softmax(z_t/T) ‖ softmax(z_s/T))`, summed over classes and
/// averaged over the batch (RepDistiller's `DistillKL`).
pub fn soft_kl(z_s: Tensor<2>, z_t: Tensor<2>, temperature: f64) -> Tensor<1> {
    let batch = z_s.dims()[0] as f64;
    let log_s = log_softmax(z_s / temperature, 1);
    let log_t = log_softmax(z_t.clone() / temperature, 1);
    let p_t = softmax(z_t / temperature, 1);
    (p_t * (log_t - log_s)).sum() * (temperature * temperature / batch)
}

/// KL(p ‖ q) summed over everything, for probabilities given directly; `0 · log 0 = 0` as in
/// `F.kl_div`, and `q` is floored so that an underflowed probability cannot give `-inf`.
pub fn kl_probs(p: Tensor<2>, q: Tensor<2>) -> Tensor<1> {
    let log_p = p.clone().clamp_min(1e-30).log();
    let log_q = q.clamp_min(1e-30).log();
    (p * (log_p - log_q)).sum()
}

/// Linear interpolation along time, PyTorch's `F.interpolate(mode="linear",
/// align_corners=False)`, as a fixed `[from, to]` matrix so that gradients flow through a matmul.
pub fn interpolation_matrix(from: usize, to: usize) -> Vec<f32> {
    let mut w = vec![0f32; from * to];
    let scale = from as f64 / to as f64;
    for j in 0..to {
        let src = ((j as f64 + 0.5) * scale - 0.5).max(0.0);
        let i0 = (src.floor() as usize).min(from - 1);
        let i1 = (i0 + 1).min(from - 1);
        let lambda = (src - i0 as f64) as f32;
        w[i0 * to + j] += 1.0 - lambda;
        w[i1 * to + j] += lambda;
    }
    w
}

/// `x: [B, C, T]` resampled to `[B, C, length]` (unchanged when `T == length`).
pub fn resize_time(x: Tensor<3>, length: usize) -> Tensor<3> {
    resize_with(x, length, interpolation_matrix)
}

/// `x: [B, C, T]` times the `[T, length]` matrix `weights(T, length)` along time (unchanged when
/// `T == length`): a resampling through a matmul, so gradients flow.
pub fn resize_with(x: Tensor<3>, length: usize, weights: fn(usize, usize) -> Vec<f32>) -> Tensor<3> {
    let [b, c, t] = x.dims();
    if t == length {
        return x;
    }
    let w = Tensor::<2>::from_data(TensorData::new(weights(t, length), [t, length]), &x.device());
    x.reshape([b * c, t]).matmul(w).reshape([b, c, length])
}

/// Both maps pooled to the shorter of their lengths (RepDistiller's `adaptive_avg_pool2d`
/// alignment in NST, VID, FSP, here along time).
pub fn pool_to_common_length(a: Tensor<3>, b: Tensor<3>) -> (Tensor<3>, Tensor<3>) {
    let (la, lb) = (a.dims()[2], b.dims()[2]);
    if la > lb {
        (burn::tensor::module::adaptive_avg_pool1d(a, lb), b)
    } else if lb > la {
        let pooled = burn::tensor::module::adaptive_avg_pool1d(b, la);
        (a, pooled)
    } else {
        (a, b)
    }
}

/// `[B, ...]` flattened to `[B, rest]`.
pub fn flatten(x: Tensor<3>) -> Tensor<2> {
    let [b, c, t] = x.dims();
    x.reshape([b, c * t])
}

/// Mean squared error over all elements.
pub fn mse<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Tensor<1> {
    (a - b).powi_scalar(2).mean()
}

/// PyTorch's `smooth_l1_loss` (β = 1), mean over elements.
pub fn smooth_l1<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Tensor<1> {
    let d = (a - b).abs();
    let small = d.clone().lower_elem(1.0);
    let quadratic = d.clone().powi_scalar(2) * 0.5;
    let linear = d - 0.5;
    linear.mask_where(small, quadratic).mean()
}

#[cfg(test)]
pub(crate) mod testing {
    use burn::tensor::{Device, Tensor, TensorData};

    /// The reference script's `gen`: `scale · (sin(0.37 i + phase) + 0.1 cos(1.7 i))`, C order.
    pub fn gen<const D: usize>(shape: [usize; D], phase: f64, scale: f64, device: &Device) -> Tensor<D> {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|i| (scale * ((0.37 * i as f64 + phase).sin() + 0.1 * (1.7 * i as f64).cos())) as f32).collect();
        Tensor::from_data(TensorData::new(v, shape), device)
    }

    pub fn scalar(t: Tensor<1>) -> f64 {
        t.into_scalar::<f32>() as f64
    }

    pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    /// Relative closeness (f32 arithmetic against PyTorch's f32).
    pub fn assert_close(mine: f64, theirs: f64, what: &str) {
        let tol = 2e-5 * theirs.abs().max(1.0);
        assert!((mine - theirs).abs() <= tol, "{what}: {mine} vs reference {theirs}");
    }
}

#[cfg(test)]
// The reference values are pasted as the reference script prints them (f64 digits), so that
// they can be checked against its output by eye.
#[allow(clippy::excessive_precision)]
mod tests {
    use super::testing::*;
    use super::*;
    use harbench_models::device::test_device;

    // /tmp/tv/bin/python tests/reference/distill_losses.py → interp_6_to_4, interp_4_to_6, kd_t4
    const INTERP_6_TO_4: [f32; 8] = [
        0.6224302649497986,
        0.8246892690658569,
        1.0288665294647217,
        0.7395485639572144,
        0.28588488698005676,
        -0.16386878490447998,
        -0.770098865032196,
        -0.8930201530456543,
    ];
    const INTERP_4_TO_6: [f32; 12] = [
        0.3955202102661133,
        0.5018109083175659,
        0.6343720555305481,
        0.7394539713859558,
        0.895311176776886,
        1.0248979330062866,
        1.0651363134384155,
        0.9209169149398804,
        0.7323986291885376,
        0.5552029609680176,
        0.4192289412021637,
        0.32755380868911743,
    ];

    #[test]
    fn interpolation_matches_pytorch_linear_both_ways() {
        let d = test_device();
        let down = values(resize_time(gen([4, 3, 6], 0.5, 1.0, &d), 4));
        assert_eq!(down.len(), 48);
        for (i, (m, r)) in down.iter().zip(INTERP_6_TO_4).enumerate() {
            assert_close(*m as f64, r as f64, &format!("6→4 [{i}]"));
        }
        let up = values(resize_time(gen([1, 2, 4], 0.3, 1.0, &d), 6));
        for (i, (m, r)) in up.iter().zip(INTERP_4_TO_6).enumerate() {
            assert_close(*m as f64, r as f64, &format!("4→6 [{i}]"));
        }
    }

    #[test]
    fn soft_kl_matches_distill_kl() {
        let d = test_device();
        let (zs, zt) = (gen([4, 5], 0.1, 3.0, &d), gen([4, 5], 1.3, 3.0, &d));
        assert_close(scalar(soft_kl(zs, zt, 4.0)), 0.7731398940086365, "kd_t4");
    }

    #[test]
    fn smooth_l1_and_normalize_by_hand() {
        let d = test_device();
        // |d| = 0.5 → 0.125; |d| = 3 → 2.5; mean 1.3125.
        let a = Tensor::<1>::from_floats([0.5, 3.0], &d);
        assert_close(scalar(smooth_l1(a, Tensor::zeros([2], &d))), 1.3125, "smooth_l1");
        let z = l2_normalize(Tensor::<2>::zeros([2, 3], &d), 1);
        assert!(values(z).iter().all(|v| *v == 0.0));
        let v = values(l2_normalize(Tensor::<2>::from_floats([[3.0, 4.0]], &d), 1));
        assert_close(v[0] as f64, 0.6, "3/5");
    }
}
