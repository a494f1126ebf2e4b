//! The fused LSTM layer (src/fused_lstm.rs) against burn's own `Lstm::forward`, an independent
//! implementation (eight linear layers a step, burn's autodiff for the gradients): outputs, and
//! the gradients of the input and of every gate's weights and biases for the loss `Σ y·r`.

use burn::module::{Module, Param};
use burn::nn::{Lstm, LstmConfig};
use burn::tensor::{Distribution, Tensor};
use harbench_models::device::test_device;
use harbench_models::fused_lstm::lstm_sequence;
use harbench_models::layers::lstm;

fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().try_to_vec::<f32>().expect("f32 tensor").into_iter().map(f64::from).collect()
}

fn close(name: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{name}: length");
    let scale = want.iter().fold(0.0f64, |m, w| m.max(w.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + scale), "{name}[{i}]: {g} vs {w} (scale {scale})");
    }
}

/// Every parameter of the layer, named, in a fixed order.
fn parameters(l: &Lstm) -> Vec<(String, Param<Tensor<2>>, Option<Param<Tensor<1>>>)> {
    let gates = [("input", &l.input_gate), ("forget", l.forget_gate.as_ref().unwrap()), ("output", &l.output_gate), ("cell", &l.cell_gate)];
    let mut all = Vec::new();
    for (name, gate) in gates {
        for (part, linear) in [("input", &gate.input_transform), ("hidden", &gate.hidden_transform)] {
            all.push((format!("{name} gate {part} transform"), linear.weight.clone(), linear.bias.clone()));
        }
    }
    all
}

/// Output and gradients (input, then each parameter's weight and bias) of `forward` on `x`.
fn run(l: &Lstm, x: &Tensor<3>, r: &Tensor<3>, forward: impl Fn(&Lstm, Tensor<3>) -> Tensor<3>) -> (Vec<f64>, Vec<(String, Vec<f64>)>) {
    let x = x.clone().require_grad();
    let y = forward(l, x.clone());
    let y_values = values(y.clone().inner());
    let grads = (y * r.clone()).sum().backward();
    let mut g = vec![("x".to_string(), values(x.grad(&grads).expect("x has a gradient")))];
    for (name, w, b) in parameters(l) {
        g.push((format!("{name} weight"), values(w.val().grad(&grads).expect("weight gradient"))));
        g.push((format!("{name} bias"), values(b.expect("bias").val().grad(&grads).expect("bias gradient"))));
    }
    (y_values, g)
}

fn check(batch: usize, steps: usize, features: usize, hidden: usize) {
    let device = test_device().autodiff();
    let l = lstm(features, hidden, &device);
    let x = Tensor::<3>::random([batch, steps, features], Distribution::Normal(0.0, 1.0), &device);
    let r = Tensor::<3>::random([batch, steps, hidden], Distribution::Normal(0.0, 1.0), &device);
    let (want_y, want_g) = run(&l, &x, &r, |l, x| l.forward(x, None).0);
    let (got_y, got_g) = run(&l, &x, &r, lstm_sequence);
    let label = format!("B{batch} T{steps} D{features} h{hidden}");
    close(&format!("{label} y"), &got_y, &want_y, 2e-6);
    for ((name, got), (_, want)) in got_g.iter().zip(&want_g) {
        close(&format!("{label} d{name}"), got, want, 2e-5);
    }
    // Without autodiff (evaluation) the same kernel gives the same outputs, bit for bit.
    let plain = l.valid();
    let y_plain = values(lstm_sequence(&plain, x.inner()));
    assert_eq!(y_plain, got_y, "{label}: evaluation and training forward passes differ");
}

#[test]
fn fused_lstm_matches_burns_layer_in_outputs_and_gradients() {
    check(3, 7, 5, 4);
    check(2, 1, 3, 6);
    // DeepConvLSTM's second layer at width 0.25, over a longer sequence.
    check(4, 30, 32, 32);
}

#[test]
fn layers_the_kernel_does_not_implement_take_burns_forward() {
    let device = test_device().autodiff();
    let reversed = LstmConfig::new(3, 4, true).with_reverse(true).init(&device);
    let x = Tensor::<3>::random([2, 5, 3], Distribution::Normal(0.0, 1.0), &device);
    assert_eq!(values(lstm_sequence(&reversed, x.clone())), values(reversed.forward(x.clone(), None).0));
    let unbiased = LstmConfig::new(3, 4, false).init(&device);
    assert_eq!(values(lstm_sequence(&unbiased, x.clone())), values(unbiased.forward(x, None).0));
}
