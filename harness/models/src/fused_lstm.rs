//! A whole LSTM layer as one operation with its own backward pass (back-propagation through
//! time written out), on the CPU backend (Flex).
//!
//! burn's `Lstm::forward` runs eight small linear layers per time step (an input and a hidden one
//! per gate), slices the input at every step and writes every step's hidden state into the output
//! with `slice_assign`. Autodiff turns each slice into a full-size zero tensor plus an assignment
//! in the backward pass, and each `slice_assign` into a full-size copy, so the backward pass does
//! work proportional to the square of the sequence length: on DeepConvLSTM's 112 steps it took
//! four times its forward pass and half of a training step (docs/models.md, "DeepConvLSTM's
//! speed"). Here:
//!
//! - the four gates' input transforms of all steps are one matmul (`[T·B, D] × [D, 4h]`), and a
//!   step's four hidden transforms one (`[B, h] × [h, 4h]`);
//! - the gate activations and the cell update of a step are one pass over `B × 4h` values;
//! - the backward pass walks the steps once in reverse, keeping only `B × h` running gradients,
//!   and then forms the weight gradients and the input gradient as three matmuls over all steps.
//!
//! The arithmetic follows burn's (gate pre-activation `(x·W + b) + (h·U + c)`, the logistic and
//! tanh functions, `c' = f·c + i·g`, `h' = o·tanh(c')`), but the matmuls sum in another order and
//! the logistic function is written out, so values and gradients agree with burn's `Lstm` to
//! rounding, not bit for bit (tests/fused_lstm.rs checks both against burn's). Models whose
//! committed records were made with burn's step-by-step layer keep it (TinyHAR); see
//! [`lstm_sequence`].
//!
//! Other backends (the `gpu` feature's wgpu), other float types and LSTM settings this kernel
//! does not implement (reversed, clipped or coupled-gate layers, layers without biases, other
//! activations) take burn's own `Lstm::forward`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend, Dispatch, DispatchDevice, Flex};
use burn::nn::activation::Activation;
use burn::nn::{GateController, Lstm};
use burn::tensor::{Bytes, DType, Shape, Tensor};

/// All hidden states `[batch, steps, hidden]` of a batch-first `lstm` run from a zero state over
/// `x` (`[batch, steps, features]`): the first output of `lstm.forward(x, None)`.
///
/// On Flex with f32 tensors and a plain LSTM (batch first, not reversed, no clipping, a forget gate
/// of its own, biases, burn's default activations) the layer runs as one fused operation;
/// otherwise this is burn's `lstm.forward(x, None).0`.
pub fn lstm_sequence(lstm: &Lstm, x: Tensor<3>) -> Tensor<3> {
    let Some(gates) = fusable_gates(lstm) else {
        return lstm.forward(x, None).0;
    };
    if !runs_on_flex(&x) || x.dtype() != DType::F32 {
        return lstm.forward(x, None).0;
    }
    let weights = |pick: fn(&GateController) -> &burn::nn::Linear| {
        let w = Tensor::cat(gates.iter().map(|g| pick(g).weight.val()).collect(), 1);
        let b = Tensor::cat(gates.iter().map(|g| pick(g).bias.as_ref().expect("checked by fusable_gates").val()).collect(), 0);
        (w, b)
    };
    let (wx, bx) = weights(|g| &g.input_transform);
    let (wh, bh) = weights(|g| &g.hidden_transform);
    Tensor::from_dispatch(<Dispatch as LstmOps>::lstm_sequence(
        x.into_dispatch(),
        wx.into_dispatch(),
        bx.into_dispatch(),
        wh.into_dispatch(),
        bh.into_dispatch(),
    ))
}

/// The gates in the fused layout's order (input, forget, output, cell), when this kernel computes
/// what `lstm.forward` computes.
fn fusable_gates(lstm: &Lstm) -> Option<[&GateController; 4]> {
    let plain = lstm.batch_first && !lstm.reverse && lstm.clip.is_none() && !lstm.input_forget;
    let activations = matches!(lstm.gate_activation, Activation::Sigmoid(_))
        && matches!(lstm.cell_activation, Activation::Tanh(_))
        && matches!(lstm.hidden_activation, Activation::Tanh(_));
    if !(plain && activations) {
        return None;
    }
    let gates = [&lstm.input_gate, lstm.forget_gate.as_ref()?, &lstm.output_gate, &lstm.cell_gate];
    let hidden = lstm.d_hidden;
    let [d_input, _] = lstm.input_gate.input_transform.weight.shape().dims();
    let shaped = gates.iter().all(|g| {
        g.input_transform.weight.shape().dims::<2>() == [d_input, hidden]
            && g.hidden_transform.weight.shape().dims::<2>() == [hidden, hidden]
            && g.input_transform.bias.is_some()
            && g.hidden_transform.bias.is_some()
    });
    shaped.then_some(gates)
}

fn runs_on_flex<const D: usize>(x: &Tensor<D>) -> bool {
    matches!(x.device().inner().as_dispatch(), DispatchDevice::Flex(_))
}

/// The fused layer, routed by burn's `Dispatch` to Flex or to autodiff over Flex. `x` is
/// `[B, T, D]`; `wx` `[D, 4h]` and `wh` `[h, 4h]` hold the input, forget, output and cell gates'
/// weights side by side, `bx` and `bh` `[4h]` their biases. Returns `[B, T, h]`.
#[backend_extension(Flex, Autodiff)]
pub trait LstmOps: Backend {
    fn lstm_sequence(
        x: FloatTensor<Self>,
        wx: FloatTensor<Self>,
        bx: FloatTensor<Self>,
        wh: FloatTensor<Self>,
        bh: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// What the backward pass needs from the forward pass: the time-major input `[T·B, D]`, both
/// weights, and every step's activated gates `[T·B, 4h]`, cell states and their tanh `[T·B, h]`
/// and hidden states `[T·B, h]`.
pub type LstmSaved<B> = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

/// The forward pass keeping what the backward pass needs, and the backward pass itself, on a
/// backend without autodiff.
pub trait LstmGrad: Backend {
    /// The output `[B, T, h]` and the saved state.
    fn lstm_sequence_train(
        x: FloatTensor<Self>,
        wx: FloatTensor<Self>,
        bx: FloatTensor<Self>,
        wh: FloatTensor<Self>,
        bh: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, LstmSaved<Self>);

    /// Gradients of `x`, `wx`, `bx`, `wh`, `bh` from the output's gradient `[B, T, h]`.
    fn lstm_sequence_backward(saved: LstmSaved<Self>, grad: FloatTensor<Self>) -> [FloatTensor<Self>; 5];
}

impl LstmOps for Flex {
    fn lstm_sequence(x: FlexTensor, wx: FlexTensor, bx: FlexTensor, wh: FlexTensor, bh: FlexTensor) -> FlexTensor {
        Forward::run(x, wx, bx, wh, bh, false).output
    }
}

impl LstmGrad for Flex {
    fn lstm_sequence_train(x: FlexTensor, wx: FlexTensor, bx: FlexTensor, wh: FlexTensor, bh: FlexTensor) -> (FlexTensor, LstmSaved<Flex>) {
        let run = Forward::run(x, wx, bx, wh, bh, true);
        let saved = run.saved.expect("kept when asked");
        (run.output, saved)
    }

    fn lstm_sequence_backward(saved: LstmSaved<Flex>, grad: FlexTensor) -> [FlexTensor; 5] {
        backward(saved, grad)
    }
}

struct Forward {
    output: FlexTensor,
    saved: Option<LstmSaved<Flex>>,
}

fn logistic(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

impl Forward {
    fn run(x: FlexTensor, wx: FlexTensor, bx: FlexTensor, wh: FlexTensor, bh: FlexTensor, keep: bool) -> Forward {
        let (batch, steps, features) = dims3(&x);
        let hidden = wh_hidden(&wh);
        let width = 4 * hidden;
        // Time-major rows, so that a step's rows lie together: [T·B, D].
        let x_rows = contiguous(Flex::float_reshape(Flex::float_swap_dims(x, 0, 1), Shape::new([steps * batch, features])));
        let wx = contiguous(wx);
        let wh = contiguous(wh);
        let projected = contiguous(Flex::float_matmul(x_rows.clone(), wx.clone()));
        let (projected, bx, bh) = (projected.storage::<f32>(), contiguous(bx), contiguous(bh));
        let (bx, bh) = (bx.storage::<f32>(), bh.storage::<f32>());

        let step_gates = batch * width;
        let step_states = batch * hidden;
        let mut gates = vec![0.0f32; steps * step_gates];
        let mut cells = vec![0.0f32; steps * step_states];
        let mut tanh_cells = vec![0.0f32; steps * step_states];
        let mut hiddens = vec![0.0f32; steps * step_states];
        let mut pre = vec![0.0f32; step_gates];
        for t in 0..steps {
            // The hidden transform of the previous state; zero at the first step (h₀ = 0).
            let recurrent = (t > 0).then(|| {
                let h_prev = from_vec(hiddens[(t - 1) * step_states..t * step_states].to_vec(), [batch, hidden]);
                contiguous(Flex::float_matmul(h_prev, wh.clone()))
            });
            let x_part = &projected[t * step_gates..(t + 1) * step_gates];
            let h_part = recurrent.as_ref().map(|r| r.storage::<f32>());
            for (i, p) in pre.iter_mut().enumerate() {
                let h = h_part.map_or(0.0, |h| h[i]);
                *p = (x_part[i] + bx[i % width]) + (h + bh[i % width]);
            }
            let gates_t = &mut gates[t * step_gates..(t + 1) * step_gates];
            for row in 0..batch {
                let p = &pre[row * width..(row + 1) * width];
                let g = &mut gates_t[row * width..(row + 1) * width];
                for k in 0..hidden {
                    g[k] = logistic(p[k]);
                    g[hidden + k] = logistic(p[hidden + k]);
                    g[2 * hidden + k] = logistic(p[2 * hidden + k]);
                    g[3 * hidden + k] = p[3 * hidden + k].tanh();
                }
                let at = t * step_states + row * hidden;
                for k in 0..hidden {
                    let c_prev = if t > 0 { cells[at - step_states + k] } else { 0.0 };
                    let c = g[hidden + k] * c_prev + g[k] * g[3 * hidden + k];
                    cells[at + k] = c;
                    tanh_cells[at + k] = c.tanh();
                    hiddens[at + k] = g[2 * hidden + k] * tanh_cells[at + k];
                }
            }
        }
        let hiddens = from_vec(hiddens, [steps * batch, hidden]);
        let output = batch_first(hiddens.clone(), batch, steps, hidden);
        let saved = keep.then(|| {
            (
                x_rows,
                wx,
                wh,
                from_vec(gates, [steps * batch, width]),
                from_vec(cells, [steps * batch, hidden]),
                from_vec(tanh_cells, [steps * batch, hidden]),
                hiddens,
            )
        });
        Forward { output, saved }
    }
}

/// Back-propagation through time: one reverse walk for the gates' pre-activation gradients
/// `[T·B, 4h]`, then the input and weight gradients as matmuls over all steps.
fn backward(saved: LstmSaved<Flex>, grad: FlexTensor) -> [FlexTensor; 5] {
    let (x_rows, wx, wh, gates, cells, tanh_cells, hiddens) = saved;
    let (batch, steps, hidden) = dims3(&grad);
    let width = 4 * hidden;
    let features = x_rows.layout().shape()[1];
    let grad_rows = contiguous(Flex::float_reshape(Flex::float_swap_dims(grad, 0, 1), Shape::new([steps * batch, hidden])));
    let (dy, g, c, tc) = (grad_rows.storage::<f32>(), gates.storage::<f32>(), cells.storage::<f32>(), tanh_cells.storage::<f32>());
    let wh_t = Flex::float_transpose(wh);

    let step_states = batch * hidden;
    let step_gates = batch * width;
    let mut d_pre = vec![0.0f32; steps * step_gates];
    let mut dh_next = vec![0.0f32; step_states];
    let mut dc_next = vec![0.0f32; step_states];
    for t in (0..steps).rev() {
        for row in 0..batch {
            let at = t * step_states + row * hidden;
            let gt = &g[t * step_gates + row * width..t * step_gates + (row + 1) * width];
            let d = &mut d_pre[t * step_gates + row * width..t * step_gates + (row + 1) * width];
            for k in 0..hidden {
                let (i, f, o, cand) = (gt[k], gt[hidden + k], gt[2 * hidden + k], gt[3 * hidden + k]);
                let dh = dy[at + k] + dh_next[row * hidden + k];
                let tanh_c = tc[at + k];
                let dc = dc_next[row * hidden + k] + dh * o * (1.0 - tanh_c * tanh_c);
                let c_prev = if t > 0 { c[at - step_states + k] } else { 0.0 };
                d[k] = dc * cand * i * (1.0 - i);
                d[hidden + k] = dc * c_prev * f * (1.0 - f);
                d[2 * hidden + k] = dh * tanh_c * o * (1.0 - o);
                d[3 * hidden + k] = dc * i * (1.0 - cand * cand);
                dc_next[row * hidden + k] = dc * f;
            }
        }
        if t > 0 {
            let d_t = from_vec(d_pre[t * step_gates..(t + 1) * step_gates].to_vec(), [batch, width]);
            let dh = contiguous(Flex::float_matmul(d_t, wh_t.clone()));
            dh_next.copy_from_slice(dh.storage::<f32>());
        }
    }

    let bias_grad = column_sums(&d_pre, width);
    let d_pre = from_vec(d_pre, [steps * batch, width]);
    let dx_rows = Flex::float_matmul(d_pre.clone(), Flex::float_transpose(wx));
    let dx = contiguous(Flex::float_swap_dims(Flex::float_reshape(dx_rows, Shape::new([steps, batch, features])), 0, 1));
    let dwx = Flex::float_matmul(Flex::float_transpose(x_rows), d_pre.clone());
    // The hidden transform of step t reads h_{t−1}: the hidden states shifted one step, h₀ = 0.
    let mut previous = vec![0.0f32; steps * step_states];
    previous[step_states..].copy_from_slice(&hiddens.storage::<f32>()[..(steps - 1) * step_states]);
    let previous = from_vec(previous, [steps * batch, hidden]);
    let dwh = Flex::float_matmul(Flex::float_transpose(previous), d_pre);
    [dx, dwx, from_vec(bias_grad.clone(), [width]), dwh, from_vec(bias_grad, [width])]
}

/// Sums of the columns of a row-major `[rows, width]` matrix.
fn column_sums(values: &[f32], width: usize) -> Vec<f32> {
    let mut sums = vec![0.0f32; width];
    for row in values.chunks_exact(width) {
        for (s, v) in sums.iter_mut().zip(row) {
            *s += v;
        }
    }
    sums
}

/// Time-major rows `[T·B, h]` as the batch-first `[B, T, h]` output.
fn batch_first(rows: FlexTensor, batch: usize, steps: usize, hidden: usize) -> FlexTensor {
    contiguous(Flex::float_swap_dims(Flex::float_reshape(rows, Shape::new([steps, batch, hidden])), 0, 1))
}

fn dims3(t: &FlexTensor) -> (usize, usize, usize) {
    let shape = t.layout().shape();
    assert_eq!(shape.num_dims(), 3, "fused LSTM: a [batch, steps, features] tensor expected");
    (shape[0], shape[1], shape[2])
}

fn wh_hidden(wh: &FlexTensor) -> usize {
    wh.layout().shape()[0]
}

fn contiguous(t: FlexTensor) -> FlexTensor {
    assert_eq!(t.dtype(), DType::F32, "fused LSTM: the kernel takes f32 only");
    if t.is_contiguous() && t.layout().start_offset() == 0 {
        t
    } else {
        t.to_contiguous()
    }
}

fn from_vec<const D: usize>(values: Vec<f32>, dims: [usize; D]) -> FlexTensor {
    FlexTensor::new(Bytes::from_elems(values), Layout::contiguous(Shape::new(dims)), DType::F32)
}

#[derive(Debug)]
struct LstmBackward;

impl<B: Backend + LstmGrad> Backward<B, 5> for LstmBackward {
    type State = LstmSaved<B>;

    fn backward(self, ops: Ops<Self::State, 5>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let gradients = B::lstm_sequence_backward(ops.state, grad);
        for (parent, gradient) in ops.parents.into_iter().zip(gradients) {
            if let Some(parent) = parent {
                grads.register::<B>(parent.id, gradient);
            }
        }
    }
}

impl<B: Backend + LstmOps + LstmGrad, C: CheckpointStrategy> LstmOps for Autodiff<B, C> {
    fn lstm_sequence(
        x: FloatTensor<Self>,
        wx: FloatTensor<Self>,
        bx: FloatTensor<Self>,
        wh: FloatTensor<Self>,
        bh: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let nodes = [x.node(), wx.node(), bx.node(), wh.node(), bh.node()];
        match LstmBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (output, saved) = B::lstm_sequence_train(
                    x.into_primitive(),
                    wx.into_primitive(),
                    bx.into_primitive(),
                    wh.into_primitive(),
                    bh.into_primitive(),
                );
                prep.finish(saved, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::lstm_sequence(
                x.into_primitive(),
                wx.into_primitive(),
                bx.into_primitive(),
                wh.into_primitive(),
                bh.into_primitive(),
            )),
        }
    }
}
