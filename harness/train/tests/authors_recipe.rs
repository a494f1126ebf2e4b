//! The SMLDist authors' optimiser and schedule against a PyTorch transcription of their code
//! (`tests/reference/authors_smldist.py`: pytorch-ranger 0.1.1's `Ranger.step` and torch's
//! `ReduceLROnPlateau`, configured as `examples/train_realworld.toml`); its printed constants
//! are read from `authors_smldist.out`.

use burn::optim::Optimizer;
use burn::tensor::{Tensor, TensorData};
use harbench_models::device::test_device;
use harbench_train::optim::{Plateau, PlateauConfig, Ranger};

#[allow(dead_code)]
mod reference {
    include!("../../../tests/reference/authors_smldist.out");
}

/// The script's `gen`: `scale · (sin(0.37 i + phase) + 0.1 cos(1.7 i))`, C order, as f32.
fn gen(shape: [usize; 2], phase: f64, scale: f64) -> Tensor<2> {
    let n = shape[0] * shape[1];
    let v: Vec<f32> = (0..n).map(|i| (scale * ((0.37 * i as f64 + phase).sin() + 0.1 * (1.7 * i as f64).cos())) as f32).collect();
    Tensor::from_data(TensorData::new(v, shape), &test_device())
}

fn values(t: Tensor<2>) -> Vec<f64> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap().into_iter().map(f64::from).collect()
}

/// Eight steps cover RAdam's un-rectified start (steps 1–5), its first rectified step and
/// Lookahead's pull back to the slow weights (step 6).
fn ranger_trajectory(weight_decay: f64) -> Vec<f64> {
    let ranger = Ranger { weight_decay, ..Ranger::default() };
    let mut p = gen([3, 4], 0.2, 1.0);
    let mut state = None;
    let mut out = Vec::new();
    for t in 1..=8 {
        let g = gen([3, 4], 0.5 + 0.1 * t as f64, 1.0);
        (p, state) = ranger.step(0.01, p, g, state);
        out.extend(values(p.clone()));
    }
    out
}

fn assert_close(mine: &[f64], theirs: &[f64], tol: f64, what: &str) {
    assert_eq!(mine.len(), theirs.len(), "{what}: length");
    for (i, (m, t)) in mine.iter().zip(theirs).enumerate() {
        assert!((m - t).abs() <= tol * t.abs().max(1.0), "{what}[{i}] (step {}): {m} vs reference {t}", i / 12 + 1);
    }
}

#[test]
fn ranger_matches_pytorch_ranger() {
    assert_close(&ranger_trajectory(0.0), &reference::RANGER_PARAMS, 2e-6, "ranger");
}

#[test]
fn ranger_weight_decay_matches_pytorch_ranger() {
    assert_close(&ranger_trajectory(0.1), &reference::RANGER_PARAMS_WD, 2e-6, "ranger with weight decay");
}

#[test]
fn plateau_matches_torch_reduce_lr_on_plateau() {
    for (config, expected, what) in [
        (PlateauConfig::default(), &reference::PLATEAU_LRS, "plateau"),
        (PlateauConfig { min_lr: 7e-4, ..PlateauConfig::default() }, &reference::PLATEAU_LRS_MIN, "plateau with min_lr 7e-4"),
    ] {
        let mut plateau = Plateau::new(1e-3);
        let lrs: Vec<f64> = reference::PLATEAU_LOSSES.iter().map(|&loss| plateau.step(loss, &config)).collect();
        assert_close(&lrs, expected, 1e-12, what);
    }
}
