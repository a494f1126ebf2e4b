//! Classifier heads: Hopfield retrieval, the mixture of heads, and pruning to a subset.

use burn::module::Param;
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use harbench_models::device::test_device;
use harbench_models::heads::HopfieldHead;
use harbench_models::{ClassifierConfig, HeadKind, ModelConfig};

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol, "{what}[{i}]: {x} vs {y}");
    }
}

fn hopfield(patterns: Vec<f32>, count: usize, dim: usize, beta: f64, device: &Device) -> HopfieldHead {
    let mut head = HopfieldHead::new(3, 2, count, dim, beta, 30.0, device);
    head.set_patterns(Tensor::from_data(TensorData::new(patterns, [count, dim]), device));
    head
}

#[test]
fn one_stored_pattern_is_always_retrieved() {
    let device = test_device();
    let pattern = vec![0.5f32, -1.0, 2.0, 0.25];
    let head = hopfield(pattern.clone(), 1, 4, 0.5, &device);
    let q = Tensor::<2>::random([5, 4], Distribution::Normal(0.0, 3.0), &device);
    let r = values(head.retrieve(q));
    for row in r.chunks(4) {
        close(row, &pattern, 1e-6, "retrieval");
    }
}

#[test]
fn a_large_beta_retrieves_the_nearest_pattern() {
    let device = test_device();
    // Three unit patterns; the queries are noisy copies of patterns 2, 0 and 1.
    let patterns = vec![1.0f32, 0.0, 0.0, 0.0, 1.0, 0.0, 0.6, 0.0, 0.8];
    let head = hopfield(patterns.clone(), 3, 3, 200.0, &device);
    let q = Tensor::<2>::from_data(TensorData::new(vec![0.5f32, 0.1, 0.7, 0.9, 0.2, 0.1, 0.1, 0.8, -0.1], [3, 3]), &device);
    let r = values(head.retrieve(q.clone()));
    for (row, nearest) in r.chunks(3).zip([2usize, 0, 1]) {
        close(row, &patterns[nearest * 3..nearest * 3 + 3], 1e-4, "nearest pattern");
    }
    // A small β blends them instead.
    let soft = hopfield(patterns, 3, 3, 0.1, &device);
    let blended = values(soft.retrieve(q));
    assert!(blended[0] > 0.3 && blended[1] > 0.2, "{blended:?}");
}

#[test]
fn a_mixture_restricted_to_some_heads_predicts_as_those_heads() {
    let device = test_device();
    device.seed(5);
    let config = ClassifierConfig { heads: HeadKind::ALL.to_vec(), memory_dim: 8, mlp_hidden: 6, ..ClassifierConfig::default() };
    let mut classifier = config.build(10, 4, &device);
    // Unequal architecture weights, as after a search.
    classifier.arch = Some(Param::from_tensor(Tensor::from_data(TensorData::new(vec![0.3f32, -0.2, 1.1, 0.4], [4]), &device)));
    let h = Tensor::<2>::random([6, 10], Distribution::Normal(0.0, 1.0), &device);
    let full = classifier.forward(h.clone());
    assert_eq!(full.memory_query.as_ref().map(|q| q.dims()), Some([6, 8]));
    let weights = classifier.weights();
    close(&[weights.iter().sum::<f64>() as f32], &[1.0], 1e-6, "mixture weights sum");
    let each: Vec<Tensor<2>> = classifier.heads.iter().map(|head| head.forward(h.clone()).0).collect();

    // One head kept: exactly that head's logits.
    for (i, z) in each.iter().enumerate() {
        let pruned = classifier.restrict(&[i]);
        assert!(pruned.arch.is_none());
        close(&values(pruned.forward(h.clone()).logits), &values(z.clone()), 1e-6, "single head");
    }
    // Two heads kept: their log-probabilities mixed by their own weights, renormalised.
    let pruned = classifier.restrict(&[2, 0]);
    let w = softmax(Tensor::<1>::from_data(TensorData::new(vec![1.1f32, 0.3], [2]), &device), 0);
    let w = values(w);
    let expected = log_softmax(each[2].clone(), 1) * w[0] as f64 + log_softmax(each[0].clone(), 1) * w[1] as f64;
    close(&values(pruned.forward(h.clone()).logits), &values(expected), 1e-5, "two heads");
    assert_eq!(pruned.kinds(), vec![HeadKind::Mlp, HeadKind::Linear]);
    // The full mixture is the same sum over all four.
    let mut all = log_softmax(each[0].clone(), 1) * weights[0];
    for i in 1..4 {
        all = all + log_softmax(each[i].clone(), 1) * weights[i];
    }
    close(&values(full.logits), &values(all), 1e-5, "full mixture");
}

#[test]
fn every_model_takes_every_head_and_counts_its_cost() {
    let device = test_device();
    for preset in harbench_models::preset_names() {
        let base = ModelConfig::preset(preset, Some(0.25)).unwrap();
        let linear = base.build(3, 4, &device);
        for kind in HeadKind::ALL {
            let model = base.clone().with_heads(preset, vec![kind]).unwrap().build(3, 4, &device);
            let out = model.forward(Tensor::zeros([2, 3, 64], &device));
            assert_eq!(out.logits.dims(), [2, 4], "{preset} {kind:?}");
            assert_eq!(out.memory_query.is_some(), kind == HeadKind::Hopfield, "{preset} {kind:?}");
            if kind != HeadKind::Linear {
                assert!(model.macs(3, 64) > linear.macs(3, 64) || kind == HeadKind::Cosine, "{preset} {kind:?}");
            }
        }
    }
    // A default classifier is not serialised: existing model configurations keep their form.
    let json = serde_json::to_value(ModelConfig::preset("cnn3", None).unwrap()).unwrap();
    assert!(json.get("classifier").is_none());
    let err = ModelConfig::preset("cnn3", None).unwrap().with_heads("cnn3", vec![]).unwrap_err().to_string();
    assert!(err.contains("heads"), "{err}");
    assert!(HeadKind::parse("hopfeld").unwrap_err().contains("known heads"));
}
