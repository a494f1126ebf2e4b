//! Parameter and MAC counts of every preset against independent PyTorch implementations of the
//! same architectures (tests/reference/rival_models.py, which counts MACs with forward hooks).

use burn::module::Module;
use harbench_models::device::test_device;
use harbench_models::ModelConfig;

/// burn's `num_params` adds the batch-norm running statistics; `trainable_params` is what
/// PyTorch's `sum(p.numel() for p in model.parameters())` counts.
///
/// (preset, width, channels, classes, parameters, MACs of one 128-sample window), printed by
/// `/tmp/tv/bin/python tests/reference/rival_models.py` (torch 2.15).
const PYTORCH: &[(&str, f64, usize, usize, usize, u64)] = &[
    ("deepconvlstm", 1.0, 9, 6, 556358, 119551488),
    ("tinyhar", 1.0, 9, 6, 63779, 8426528),
    ("resnet1d", 1.0, 9, 6, 509382, 64627456),
    ("cnn3", 1.0, 9, 6, 127174, 5612288),
    ("mobilenetv3-large-1d", 1.0, 9, 6, 2906966, 9410752),
    ("mobilenetv3-small-1d", 1.0, 9, 6, 883814, 2598720),
    ("deepconvlstm", 1.0, 6, 4, 457796, 87041024),
    ("tinyhar", 1.0, 6, 4, 58961, 5803360),
    ("resnet1d", 1.0, 6, 4, 507396, 64406016),
    ("cnn3", 1.0, 6, 4, 125956, 5489152),
    ("mobilenetv3-large-1d", 1.0, 6, 4, 2904900, 9399616),
    ("mobilenetv3-small-1d", 1.0, 6, 4, 882516, 2588352),
    ("deepconvlstm", 0.5, 9, 6, 139942, 29977344),
    ("tinyhar", 0.5, 9, 6, 18377, 2820424),
    ("resnet1d", 0.5, 9, 6, 129766, 16322944),
    ("cnn3", 0.5, 9, 6, 32870, 1495424),
    ("mobilenetv3-small-1d", 0.5, 9, 6, 234574, 713664),
    ("mobilenetv3-large-1d", 0.5, 9, 6, 752910, 2470400),
];

#[test]
fn parameters_and_macs_match_pytorch() {
    let device = test_device();
    let mut failures = Vec::new();
    for &(name, width, channels, classes, params, macs) in PYTORCH {
        let model = ModelConfig::preset(name, Some(width)).unwrap().build(channels, classes, &device);
        let (p, m) = (model.trainable_params(), model.macs(channels, 128));
        println!("{name} w{width} {channels}ch/{classes}cl: params {p} (torch {params}), MACs {m} (torch {macs})");
        if p != params || m != macs {
            failures.push(format!("{name} w{width} {channels}×128/{classes}: params {p} vs {params}, MACs {m} vs {macs}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn burn_num_params_adds_two_buffers_per_batch_norm_channel() {
    // cnn3 at width 1 normalises 64 + 128 + 128 = 320 channels: 640 running statistics.
    let model = ModelConfig::preset("cnn3", None).unwrap().build(9, 6, &test_device());
    assert_eq!(model.num_params() - model.trainable_params(), 640);
    // DeepConvLSTM has no batch norm.
    let model = ModelConfig::preset("deepconvlstm", Some(0.25)).unwrap().build(9, 6, &test_device());
    assert_eq!(model.num_params(), model.trainable_params());
}

#[test]
fn gradients_reach_every_lstm_weight() {
    // burn's LSTM must backpropagate on flex: every gate of both DeepConvLSTM layers and of
    // TinyHAR's LSTM gets a non-zero gradient from a loss on the logits.
    use burn::tensor::{Distribution, Tensor};
    use harbench_models::Model;
    let device = test_device().autodiff();
    for name in ["deepconvlstm", "tinyhar"] {
        let model = ModelConfig::preset(name, Some(0.25)).unwrap().build(3, 4, &device);
        let x = Tensor::<3>::random([2, 3, 40], Distribution::Normal(0.0, 1.0), &device);
        let grads = model.forward(x).logits.powi_scalar(2).sum().backward();
        let lstms = match &model {
            Model::DeepConvLstm(m) => m.lstms.iter().collect::<Vec<_>>(),
            Model::TinyHar(m) => vec![&m.lstm],
            _ => unreachable!(),
        };
        for (l, lstm) in lstms.iter().enumerate() {
            let gates = [&lstm.input_gate, lstm.forget_gate.as_ref().unwrap(), &lstm.cell_gate, &lstm.output_gate];
            for (g, gate) in gates.iter().enumerate() {
                for weight in [&gate.input_transform.weight, &gate.hidden_transform.weight] {
                    let grad = weight.val().grad(&grads).unwrap_or_else(|| panic!("{name} LSTM {l} gate {g}: no gradient"));
                    let norm: f32 = grad.abs().sum().into_scalar::<f32>();
                    assert!(norm > 0.0, "{name} LSTM {l} gate {g}: zero gradient");
                }
            }
        }
    }
}
