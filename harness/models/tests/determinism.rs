//! Same seed, same model. In its own test binary (its own process) because burn's device RNG is
//! shared by every thread of the process: a test drawing random numbers in parallel between
//! `seed` and `build` would change the draws.

use burn::tensor::{Tensor, TensorData};
use harbench_models::device::test_device;
use harbench_models::{ModelConfig, PRESETS};

#[test]
fn same_seed_same_outputs_for_every_preset() {
    let run = |name: &str, seed: u64| -> Vec<f32> {
        let device = test_device();
        device.seed(seed);
        let model = ModelConfig::preset(name, Some(0.25)).unwrap().build(6, 4, &device);
        let x = Tensor::<3>::from_data(
            TensorData::new((0..2 * 6 * 64).map(|i| (i as f32 * 0.37).sin()).collect::<Vec<f32>>(), [2, 6, 64]),
            &device,
        );
        model.forward(x).logits.into_data().try_to_vec::<f32>().unwrap()
    };
    for name in PRESETS.iter().map(|p| p.name) {
        assert_eq!(run(name, 3), run(name, 3), "{name}");
        assert_ne!(run(name, 3), run(name, 4), "{name}");
    }
}
