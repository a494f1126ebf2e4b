//! The fused hard-swish (src/hard_swish.rs) against burn's `HardSwish`: values and gradients must be
//! bit-identical, on Flex with and without autodiff, for contiguous and strided inputs, including
//! the kinks at ±3 and signed zeros. A hand-worked check pins the definition itself.

use burn::nn::activation::HardSwish;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use harbench_models::hard_swish::hard_swish;

fn bits<const D: usize>(t: Tensor<D>) -> Vec<u32> {
    t.into_data().try_to_vec::<f32>().expect("f32 tensor").into_iter().map(f32::to_bits).collect()
}

/// Inputs over the whole curve: random ones, the kinks, zeros of both signs, and the f32
/// neighbours of ±3 where `x/6 + 1/2` rounds onto or just past 0 and 1.
fn inputs(device: &Device) -> Tensor<3> {
    let mut special = vec![-3.0f32, 3.0, 0.0, -0.0, 6.0, -6.0, 1.0, -1.0];
    for edge in [-3.0f32, 3.0] {
        let mut below = edge;
        let mut above = edge;
        for _ in 0..4 {
            below = f32::from_bits(if below > 0.0 { below.to_bits() - 1 } else { below.to_bits() + 1 });
            above = f32::from_bits(if above > 0.0 { above.to_bits() + 1 } else { above.to_bits() - 1 });
            special.extend([below, above]);
        }
    }
    special.resize(32, 0.5);
    let special = Tensor::<3>::from_data(TensorData::new(special, [1, 4, 8]), device);
    let random = Tensor::<3>::random([3, 4, 8], Distribution::Normal(0.0, 4.0), device);
    Tensor::cat(vec![special, random], 0)
}

/// Values and `∂(Σ y·r)/∂x` of one activation, on a transposed view when `strided`.
fn run(act: fn(Tensor<3>) -> Tensor<3>, x: &Tensor<3>, r: &Tensor<3>, strided: bool) -> (Vec<u32>, Vec<u32>) {
    let x = x.clone().require_grad();
    let input = if strided { x.clone().swap_dims(1, 2) } else { x.clone() };
    let r = if strided { r.clone().swap_dims(1, 2) } else { r.clone() };
    let y = act(input);
    let grads = (y.clone() * r).sum().backward();
    (bits(y), bits(x.grad(&grads).expect("x has a gradient")))
}

fn burns(x: Tensor<3>) -> Tensor<3> {
    HardSwish::new().forward(x)
}

#[test]
fn fused_hard_swish_is_bit_identical_to_burns_with_autodiff() {
    let device = Device::flex().autodiff();
    device.seed(7);
    let x = inputs(&device);
    let r = Tensor::<3>::random(x.shape(), Distribution::Normal(0.0, 1.0), &device);
    for strided in [false, true] {
        let (fused_y, fused_dx) = run(hard_swish, &x, &r, strided);
        let (burn_y, burn_dx) = run(burns, &x, &r, strided);
        assert_eq!(fused_y, burn_y, "values differ (strided: {strided})");
        assert_eq!(fused_dx, burn_dx, "gradients differ (strided: {strided})");
    }
}

#[test]
fn fused_hard_swish_is_bit_identical_to_burns_without_autodiff() {
    let device = Device::flex();
    device.seed(8);
    let x = inputs(&device);
    assert_eq!(bits(hard_swish(x.clone())), bits(burns(x.clone())));
    assert_eq!(bits(hard_swish(x.clone().swap_dims(0, 2))), bits(burns(x.swap_dims(0, 2))));
}

/// `h(x) = x·min(max(x + 3, 0), 6)/6`, `h'(x) = 0` below −3, `1` above 3, `(2x + 3)/6` between,
/// worked by hand at a few points (upstream gradient 1).
#[test]
fn fused_hard_swish_matches_the_definition() {
    let device = Device::flex().autodiff();
    let x = Tensor::<1>::from_data(TensorData::new(vec![-4.0f32, -1.5, 0.0, 1.5, 4.0], [5]), &device).require_grad();
    let y = hard_swish(x.clone());
    let want_y = [0.0, -0.375, 0.0, 1.125, 4.0];
    let want_dx = [0.0, 0.0, 0.5, 1.0, 1.0];
    let got_y = y.clone().into_data().try_to_vec::<f32>().unwrap();
    let grads = y.sum().backward();
    let got_dx = x.grad(&grads).unwrap().into_data().try_to_vec::<f32>().unwrap();
    for i in 0..5 {
        assert!((got_y[i] - want_y[i]).abs() < 1e-6, "h({}) = {} (want {})", [-4.0, -1.5, 0.0, 1.5, 4.0][i], got_y[i], want_y[i]);
        assert!((got_dx[i] - want_dx[i]).abs() < 1e-6, "h'({}) = {} (want {})", [-4.0, -1.5, 0.0, 1.5, 4.0][i], got_dx[i], want_dx[i]);
    }
}
