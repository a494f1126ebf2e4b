//! Hard-swish as one operation with its own backward pass, on the CPU backend (Flex).
//!
//! burn builds `hard_swish(x) = x · clamp(x/6 + 1/2, 0, 1)` from seven tensor operations (scale,
//! shift, two comparisons, two `mask_fill`s, a product), and autodiff records each with its own
//! backward. In the teacher, which applies hard-swish after most of its batch norms, that chain
//! cost about a tenth of a training step (one pass over memory per operation). Here it is one
//! pass forward and one backward.
//!
//! The kernels repeat burn's arithmetic operation by operation, so values and gradients are
//! **bit-identical** to burn's `HardSwish` (tests/hard_swish.rs checks it): the forward is
//! `x · clamp(x·α + ½)` with `α = f32(1/6)`; the gradient is `g·h + [0 ≤ x·α + ½ ≤ 1]·(g·x)·α`,
//! the two terms burn's chain produces for `x`'s two uses, added once as burn's gradient store adds
//! them.
//!
//! Other backends (the `gpu` feature's wgpu, where burn's fusion already merges the chain) and
//! other float types take burn's own `HardSwish`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend, Dispatch, DispatchDevice, Flex};
use burn::nn::activation::HardSwish;
use burn::tensor::{Bytes, DType, Tensor};
use rayon::prelude::*;

/// The slope burn's `hard_swish` passes to `hard_sigmoid`, as Flex rounds it to f32.
const ALPHA: f32 = (1.0f64 / 6.0) as f32;
const BETA: f32 = 0.5;

/// Hard-swish of `x`: fused on Flex (with or without autodiff), burn's composition elsewhere.
pub fn hard_swish<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if runs_on_flex(&x) && x.dtype() == DType::F32 {
        Tensor::from_dispatch(<Dispatch as HardSwishOps>::hard_swish(x.into_dispatch()))
    } else {
        HardSwish::new().forward(x)
    }
}

fn runs_on_flex<const D: usize>(x: &Tensor<D>) -> bool {
    matches!(x.device().inner().as_dispatch(), DispatchDevice::Flex(_))
}

/// The fused forward, routed by burn's `Dispatch` to Flex or to autodiff over Flex.
#[backend_extension(Flex, Autodiff)]
pub trait HardSwishOps: Backend {
    fn hard_swish(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The fused backward on a backend without autodiff: `dL/dx` from `x` and `dL/dy`.
pub trait HardSwishGrad: Backend {
    fn hard_swish_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;
}

impl HardSwishOps for Flex {
    fn hard_swish(x: FlexTensor) -> FlexTensor {
        let x = contiguous(x);
        let out = map_elements(x.storage::<f32>(), |&v| v * (v * ALPHA + BETA).clamp(0.0, 1.0));
        from_vec(out, &x)
    }
}

impl HardSwishGrad for Flex {
    fn hard_swish_backward(x: FlexTensor, grad: FlexTensor) -> FlexTensor {
        let (x, grad) = (contiguous(x), contiguous(grad));
        assert_eq!(x.layout().shape(), grad.layout().shape(), "hard-swish: gradient and input shapes differ");
        let out = zip_elements(x.storage::<f32>(), grad.storage::<f32>(), hard_swish_grad);
        from_vec(out, &x)
    }
}

/// `g·h(v) + (g·v)·α` inside the linear part of `h`, `g·h(v) + 0` outside it: burn's two
/// gradient terms, each rounded as burn rounds it, then added.
fn hard_swish_grad(v: f32, g: f32) -> f32 {
    let s = v * ALPHA + BETA;
    // burn's two strict comparisons, spelled out: `!(0.0..=1.0).contains(&s)` would also mask NaN.
    #[allow(clippy::manual_range_contains)]
    let through_gate = if s > 1.0 || s < 0.0 { 0.0 } else { (g * v) * ALPHA };
    g * s.clamp(0.0, 1.0) + through_gate
}

/// Below this many elements, or with one rayon thread, the map stays on the calling thread
/// (waking the pool costs more than it saves); the same threshold as the patched Flex kernels
/// (vendor/burn-flex/src/ops/fast_grad.rs).
const PARALLEL_THRESHOLD: usize = 64 * 1024;

fn parallel(len: usize) -> bool {
    rayon::current_num_threads() > 1 && len >= PARALLEL_THRESHOLD
}

fn map_elements(x: &[f32], f: impl Fn(&f32) -> f32 + Sync + Send) -> Vec<f32> {
    if parallel(x.len()) {
        x.par_iter().with_min_len(16 * 1024).map(f).collect()
    } else {
        x.iter().map(f).collect()
    }
}

fn zip_elements(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync + Send) -> Vec<f32> {
    if parallel(a.len()) {
        a.par_iter().zip(b).with_min_len(16 * 1024).map(|(&x, &y)| f(x, y)).collect()
    } else {
        a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect()
    }
}

fn contiguous(t: FlexTensor) -> FlexTensor {
    assert_eq!(t.dtype(), DType::F32, "hard-swish: the fused kernel takes f32 only");
    if t.is_contiguous() && t.layout().start_offset() == 0 {
        t
    } else {
        t.to_contiguous()
    }
}

fn from_vec(values: Vec<f32>, like: &FlexTensor) -> FlexTensor {
    let layout = Layout::contiguous(like.layout().shape().clone());
    FlexTensor::new(Bytes::from_elems(values), layout, DType::F32)
}

#[derive(Debug)]
struct HardSwishBackward;

impl<B: Backend + HardSwishGrad> Backward<B, 1> for HardSwishBackward {
    /// The input `x`.
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [parent] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        if let Some(parent) = parent {
            grads.register::<B>(parent.id, B::hard_swish_backward(ops.state, grad));
        }
    }
}

impl<B: Backend + HardSwishOps + HardSwishGrad, C: CheckpointStrategy> HardSwishOps for Autodiff<B, C> {
    fn hard_swish(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match HardSwishBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let input = x.into_primitive();
                prep.finish(input.clone(), B::hard_swish(input))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::hard_swish(x.into_primitive())),
        }
    }
}
