//! Every preset: output and anchor shapes, width, input checks, config validation and
//! serialisation, determinism, and MAC counts of tiny models worked out by hand.

use burn::tensor::{Device, Distribution, Tensor};
use harbench_models::device::test_device;
use harbench_models::layers::Act;
use harbench_models::mobilenet::BlockSpec;
use harbench_models::{Cnn3Config, DeepConvLstmConfig, MobileNetV3Config, ModelConfig, ResNet1dConfig, TinyHarConfig, PRESETS};

fn input(batch: usize, channels: usize, length: usize, device: &Device) -> Tensor<3> {
    Tensor::random([batch, channels, length], Distribution::Normal(0.0, 1.0), device)
}

/// (preset, width, pooled features, anchor shapes [channels, time]) for `channels` × 128 inputs,
/// worked out by hand from the architectures (see docs/models.md).
fn expected(channels: usize) -> Vec<(&'static str, f64, usize, [[usize; 2]; 3])> {
    vec![
        // Unpadded k = 5 convolutions: 128 → 124 → 120 (anchor 1) → 116 → 112; 64 filters per channel.
        ("deepconvlstm", 1.0, 128, [[64 * channels, 120], [64 * channels, 112], [128, 112]]),
        // Strides 1, 2, 1, 2 without padding: 128 → 124 → 60 → 56 → 26; F = 28, 2F = 56.
        ("tinyhar", 1.0, 56, [[28 * channels, 26], [56, 26], [56, 26]]),
        ("resnet1d", 1.0, 128, [[64, 128], [128, 128], [128, 128]]),
        // Max-pool 2 after each block: 64, 32, 16 steps.
        ("cnn3", 1.0, 128, [[64, 64], [128, 32], [128, 16]]),
        // Width 0.5: channels halved (TinyHAR: F = 14).
        ("deepconvlstm", 0.5, 64, [[32 * channels, 120], [32 * channels, 112], [64, 112]]),
        ("tinyhar", 0.5, 28, [[14 * channels, 26], [28, 26], [28, 26]]),
        ("resnet1d", 0.5, 64, [[32, 128], [64, 128], [64, 128]]),
        ("cnn3", 0.5, 64, [[32, 64], [64, 32], [64, 16]]),
        // MobileNetV3-Small at width 0.5: stem stride 2 then blocks of strides 2, 2 | 2 | 2.
        ("mobilenetv3-small-1d", 0.5, 288, [[16, 16], [24, 8], [48, 4]]),
        ("mobilenetv3-large-1d", 0.5, 480, [[24, 16], [56, 8], [80, 4]]),
        // The SMLDist authors' anchors (blocks 6, 11, 14): the same stage ends' shapes; their
        // student (blocks 2, 5, 9, 10, 14 dropped, strides moved) keeps every one of them.
        ("mobilenetv3-large-1d-authors", 0.5, 480, [[24, 16], [56, 8], [80, 4]]),
        ("mobilenetv3-large-1d-authors-student", 0.5, 480, [[24, 16], [56, 8], [80, 4]]),
    ]
}

#[test]
fn outputs_and_anchors_have_the_expected_shapes() {
    let device = test_device();
    for channels in [9, 6] {
        for (name, width, features, anchors) in expected(channels) {
            let model = ModelConfig::preset(name, Some(width)).unwrap().build(channels, 5, &device);
            for batch in [1, 2] {
                let out = model.forward(input(batch, channels, 128, &device));
                let what = format!("{name} w{width} {batch}×{channels}×128");
                assert_eq!(out.logits.dims(), [batch, 5], "{what}");
                assert_eq!(out.pooled.dims(), [batch, features], "{what}");
                let shapes: Vec<[usize; 3]> = out.anchors.iter().map(|a| a.dims()).collect();
                let want: Vec<[usize; 3]> = anchors.iter().map(|&[c, t]| [batch, c, t]).collect();
                assert_eq!(shapes, want, "{what}");
                let logits: Vec<f32> = out.logits.into_data().try_to_vec::<f32>().unwrap();
                assert!(logits.iter().all(|v| v.is_finite()), "{what}: {logits:?}");
            }
        }
    }
}

#[test]
fn every_preset_is_covered_and_accepts_its_shortest_window() {
    let device = test_device();
    let covered: Vec<&str> = expected(9).iter().map(|e| e.0).collect();
    for name in PRESETS.iter().map(|p| p.name) {
        assert!(covered.contains(&name), "{name} has no shape test");
        let config = ModelConfig::preset(name, Some(0.25)).unwrap();
        let shortest = config.min_length();
        assert!(config.check_input(name, 3, shortest).is_ok());
        let err = config.check_input(name, 3, shortest - 1).unwrap_err().to_string();
        assert!(err.contains(&format!("at least {shortest}")), "{err}");
        let out = config.build(3, 2, &device).forward(input(2, 3, shortest, &device));
        assert_eq!(out.logits.dims(), [2, 2], "{name} at {shortest} samples");
        assert!(out.anchors.iter().all(|a| a.dims()[2] >= 1), "{name}");
    }
}

#[test]
fn shortest_windows_worked_out_by_hand() {
    // DeepConvLSTM: 4 unpadded k = 5 convolutions remove 16 steps → 17.
    assert_eq!(ModelConfig::preset("deepconvlstm", None).unwrap().min_length(), 17);
    // TinyHAR, backwards from 1 step: stride 2 needs 5, stride 1 needs 9, stride 2 needs 8·2 + 5 = 21,
    // stride 1 needs 25.
    assert_eq!(ModelConfig::preset("tinyhar", None).unwrap().min_length(), 25);
    // cnn3: three max-pools of 2 → 8.
    assert_eq!(ModelConfig::preset("cnn3", None).unwrap().min_length(), 8);
    assert_eq!(ModelConfig::preset("resnet1d", None).unwrap().min_length(), 1);
    let err = ModelConfig::preset("cnn3", None).unwrap().check_input("cnn3", 0, 128).unwrap_err().to_string();
    assert!(err.contains("no channels"), "{err}");
}

#[test]
fn unknown_presets_suggest_the_nearest() {
    for (typo, nearest) in [("deepconvlstn", "deepconvlstm"), ("TinyHAR", "tinyhar"), ("resnet", "resnet1d"), ("cnn", "cnn3")] {
        let err = ModelConfig::preset(typo, None).unwrap_err().to_string();
        assert!(err.contains(&format!("did you mean '{nearest}'")), "{typo}: {err}");
        assert!(err.contains("known models: mobilenetv3-large-1d"), "{err}");
    }
    let err = ModelConfig::preset("xgboost", None).unwrap_err().to_string();
    assert!(!err.contains("did you mean"), "{err}");
}

#[test]
fn invalid_configs_name_the_field() {
    let check = |config: ModelConfig, field: &str| {
        let err = config.validate("custom").unwrap_err().to_string();
        assert!(err.contains(field) && err.contains("custom"), "expected '{field}' in: {err}");
    };
    check(ModelConfig::DeepConvLstm(DeepConvLstmConfig { conv_layers: 1, ..DeepConvLstmConfig::paper(1.0) }), "conv_layers");
    check(ModelConfig::DeepConvLstm(DeepConvLstmConfig { dropout: 1.0, ..DeepConvLstmConfig::paper(1.0) }), "dropout");
    check(ModelConfig::DeepConvLstm(DeepConvLstmConfig { lstm_units: 0, ..DeepConvLstmConfig::paper(1.0) }), "lstm_units");
    check(ModelConfig::TinyHar(TinyHarConfig { conv_strides: vec![], ..TinyHarConfig::paper(1.0) }), "conv_strides");
    check(ModelConfig::TinyHar(TinyHarConfig { heads: 0, ..TinyHarConfig::paper(1.0) }), "heads");
    check(ModelConfig::ResNet1d(ResNet1dConfig { filters: vec![64, 128], ..ResNet1dConfig::paper(1.0) }), "filters");
    check(ModelConfig::ResNet1d(ResNet1dConfig { kernels: vec![8, 0], ..ResNet1dConfig::paper(1.0) }), "kernels");
    check(ModelConfig::Cnn3(Cnn3Config { kernel: 4, ..Cnn3Config::standard(1.0) }), "kernel");
    check(ModelConfig::Cnn3(Cnn3Config { pool: 0, ..Cnn3Config::standard(1.0) }), "pool");
    for name in ["deepconvlstm", "tinyhar", "resnet1d", "cnn3"] {
        let err = ModelConfig::preset(name, Some(0.0)).unwrap_err().to_string();
        assert!(err.contains("width"), "{name}: {err}");
    }
}

#[test]
fn configs_round_trip_through_json_and_reject_unknown_fields() {
    for name in PRESETS.iter().map(|p| p.name) {
        let config = ModelConfig::preset(name, Some(0.5)).unwrap();
        let json = serde_json::to_string(&config).unwrap();
        assert!(json.starts_with(&format!(r#"{{"kind":"{}""#, config.kind())), "{json}");
        assert_eq!(serde_json::from_str::<ModelConfig>(&json).unwrap(), config, "{json}");
    }
    let json = serde_json::to_string(&ModelConfig::preset("tinyhar", None).unwrap()).unwrap();
    assert!(json.starts_with(r#"{"kind":"tinyhar","filters":28"#), "{json}");
    let bad = json.replace(r#""filters":28"#, r#""filters":28,"filter_num":20"#);
    let err = serde_json::from_str::<ModelConfig>(&bad).unwrap_err().to_string();
    assert!(err.contains("filter_num"), "{err}");
}

// ---- MACs of tiny models, by hand --------------------------------------------------------

#[test]
fn macs_of_a_tiny_cnn3_by_hand() {
    // 2 channels × 8 steps, filters 2/3/4, k = 3 ("same"), pool 2, 3 classes:
    //   conv 2→2 on 8 steps: 2·2·3·8 = 96, pool → 4
    //   conv 2→3 on 4 steps: 3·2·3·4 = 72, pool → 2
    //   conv 3→4 on 2 steps: 4·3·3·2 = 72, pool → 1
    //   linear 4→3: 12                                  total 252
    let config = ModelConfig::Cnn3(Cnn3Config { filters: vec![2, 3, 4], kernel: 3, pool: 2, width: 1.0, classifier: Default::default() });
    assert_eq!(config.build(2, 3, &test_device()).macs(2, 8), 252);
}

#[test]
fn macs_of_a_tiny_deepconvlstm_by_hand() {
    // 2 channels × 6 steps, 2 filters of k = 3, 2 conv layers, 1 LSTM of 3 units, 2 classes:
    //   conv 1→2, 6 → 4 steps: 2·1·3·4 = 24 per channel, ×2 channels = 48
    //   conv 2→2, 4 → 2 steps: 2·2·3·2 = 24 per channel, ×2 = 48
    //   LSTM in 2·2 = 4, h 3, 2 steps: 4·3·(4 + 3)·2 = 168
    //   linear 3→2: 6                                   total 270
    let config = ModelConfig::DeepConvLstm(DeepConvLstmConfig {
        filters: 2,
        kernel: 3,
        conv_layers: 2,
        lstm_units: 3,
        lstm_layers: 1,
        dropout: 0.5,
        width: 1.0,
        classifier: Default::default(),
    });
    assert_eq!(config.build(2, 2, &test_device()).macs(2, 6), 270);
}

#[test]
fn macs_of_a_tiny_tinyhar_by_hand() {
    // 2 channels × 7 steps, F = 2, k = 3, strides 1, 2, 1 head of 2, feed-forward 2, 2 classes:
    //   conv 1→2, 7 → 5 steps: 2·1·3·5 = 30 per channel, ×2 = 60
    //   conv 2→2 stride 2, 5 → 2 steps: 2·2·3·2 = 24 per channel, ×2 = 48
    //   per step (2 tokens of 2): qkv 2→6 ·2 tokens = 24, QKᵀ + AV 2·1·2·2·2 = 16,
    //     out 2→2 ·2 = 8, ff 2→2 ·2 = 8, ff 2→2 ·2 = 8 → 64, ×2 steps = 128
    //   fusion 4→4 ·2 steps = 32; LSTM 4→4, 2 steps: 4·4·8·2 = 256
    //   attention pooling: 4→4 ·2 = 32, 4→1 ·2 = 8, weighted sum 2·4 = 8 → 48
    //   classifier 4→2: 8                               total 580
    let config = ModelConfig::TinyHar(TinyHarConfig {
        filters: 2,
        kernel: 3,
        conv_strides: vec![1, 2],
        heads: 1,
        head_dim: 2,
        ff_hidden: 2,
        dropout: 0.1,
        width: 1.0,
        classifier: Default::default(),
    });
    assert_eq!(config.build(2, 2, &test_device()).macs(2, 7), 580);
}

#[test]
fn macs_of_a_tiny_resnet1d_by_hand() {
    // 1 channel × 4 steps, filters 2/2/3, kernels 3 and 1 ("same"), 2 classes:
    //   block 1→2: 2·1·3·4 = 24, 2·2·1·4 = 16, shortcut 1×1 2·1·4 = 8 → 48
    //   block 2→2: 2·2·3·4 = 48, 16, no shortcut conv → 64
    //   block 2→3: 3·2·3·4 = 72, 3·3·1·4 = 36, shortcut 3·2·4 = 24 → 132
    //   linear 3→2: 6                                   total 250
    let config =
        ModelConfig::ResNet1d(ResNet1dConfig { filters: vec![2, 2, 3], kernels: vec![3, 1], width: 1.0, classifier: Default::default() });
    assert_eq!(config.build(1, 2, &test_device()).macs(1, 4), 250);
}

#[test]
fn macs_of_a_tiny_mobilenet_by_hand() {
    // 1 channel × 4 steps; stem 8 (k 3, stride 2); three identical blocks (k 3, expand 16,
    // out 8, SE, stride 1); last 16; 2 classes:
    //   stem 1→8, 4 → 2 steps: 8·1·3·2 = 48
    //   block: expand 8→16 on 2 steps 256, depthwise 16·1·3·2 = 96,
    //     SE 16→8→16 on 1 step 128 + 128, project 16→8 ·2 = 256 → 864, ×3 = 2,592
    //   last 8→16 ·2 = 256; classifier 16→2 = 32          total 2,928
    let block = BlockSpec { kernel: 3, expand: 16, out: 8, se: true, act: Act::Relu, stride: 1, anchor: true };
    let config = ModelConfig::MobileNetV3(MobileNetV3Config {
        stem: 8,
        stem_stride: 2,
        blocks: vec![block; 3],
        last: 16,
        width: 1.0,
        dropout: 0.0,
        classifier: Default::default(),
    });
    config.validate("tiny").unwrap();
    assert_eq!(config.build(1, 2, &test_device()).macs(1, 4), 2928);
}
