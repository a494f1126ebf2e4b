//! SMLDist's losses against independent numpy values, and their defining properties.
//!
//! Reference numbers: `python3 tests/reference/smldist_losses.py` (numpy's rfft, not our DFT
//! matrix); each constant below is pasted from its output.

use burn::tensor::{Device, Int, Tensor, TensorData};
use harbench_distill::methods::smldist::{
    channel_frequency_attention, conditional_logits_loss, conditional_target, dft_basis, frequency_attention, magnitude, memory_loss,
    ridge_fit, stage_loss, FreqAttention, FreqDesign, FreqSpectrum,
};
use harbench_models::device::test_device;

const ATTENTION: [f64; 10] = [
    0.7154988140456467,
    0.2118674840950682,
    0.041460544574097986,
    0.01699069204261909,
    0.014182465242568009,
    0.9049413147800297,
    0.08129275175797668,
    0.01202231299431989,
    0.0010376797251518432,
    0.0007059407425217628,
];
const STAGE_MSE: f64 = 0.2508330322712637;
const STAGE_FREQ: f64 = 1.5903982992660888;
const STAGE_LOSS_LAMBDA_HALF: f64 = 1.0460321819043081;
const CHANNEL_ATTENTION: [f64; 30] = [
    0.5947830942562482,
    0.2935289653909064,
    0.06361593770525979,
    0.026066504980713327,
    0.02200549766687229,
    0.7001019966210492,
    0.21569955649989953,
    0.05878205283193397,
    0.013498172854295058,
    0.011918221192822235,
    0.8304900587057583,
    0.14020119586918228,
    0.006874739206656106,
    0.012669882672497731,
    0.009764123545905634,
    0.8968269765820118,
    0.08844506781279643,
    0.009849636610756175,
    0.002822462384080535,
    0.002055856610355093,
    0.903218146604911,
    0.08098866106321989,
    0.015574736984339234,
    0.0001290955038728686,
    8.935984365684692e-05,
    0.9145583365558295,
    0.07462708554673406,
    0.010609477630320118,
    0.00020165365123205135,
    3.4466158843507294e-06,
];
const FREQ_PER_CHANNEL: f64 = 1.4917350775012876;
const FREQ_UNIFORM: f64 = 0.7479364499811523;
const FREQ_LOG: f64 = 0.07020334711446219;
const FREQ_NORMALISED: f64 = 0.04631496977959403;
const FREQ_PER_CHANNEL_LOG: f64 = 0.0673757364557676;
const STAGE_LOSS_T6: f64 = 4.166852514814417;
// labels: [3, 1, 4, 1], teacher argmax: [3, 0, 4, 4]
const TARGET: [f64; 20] = [
    0.19901577618077465,
    0.2070995893437122,
    0.20139440316582888,
    0.20719390330537812,
    0.18529632800430615,
    0.02,
    0.92,
    0.02,
    0.02,
    0.02,
    0.15831921479033656,
    0.17514829885145045,
    0.1823771086273587,
    0.2038610441201439,
    0.2802943336107103,
    0.02,
    0.92,
    0.02,
    0.02,
    0.02,
];
const LOGITS_LOSS: f64 = 10.29837687456852;
const MEMORY_LOSS: f64 = 0.19071055641518206;
const RIDGE: [f64; 6] =
    [1.5474286950361271, 0.39842003360949174, -1.5404140075914021, -0.6226587500234231, 1.0005271503769608, 1.0529991753570047];

fn device() -> Device {
    test_device()
}

/// The script's `gen`: `scale · (sin(0.37 i + phase) + 0.1 cos(1.7 i))`, C order.
fn gen<const D: usize>(shape: [usize; D], phase: f64, scale: f64) -> Tensor<D> {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|i| (scale * ((0.37 * i as f64 + phase).sin() + 0.1 * (1.7 * i as f64).cos())) as f32).collect();
    Tensor::from_data(TensorData::new(v, shape), &device())
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap().into_iter().map(f64::from).collect()
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_scalar::<f32>() as f64
}

fn close(mine: f64, theirs: f64, what: &str) {
    let tol = 1e-4 * theirs.abs().max(1.0);
    assert!((mine - theirs).abs() <= tol, "{what}: {mine} vs reference {theirs}");
}

fn all_close(mine: &[f64], theirs: &[f64], what: &str) {
    assert_eq!(mine.len(), theirs.len(), "{what}: length");
    for (i, (m, t)) in mine.iter().zip(theirs).enumerate() {
        close(*m, *t, &format!("{what}[{i}]"));
    }
}

#[test]
fn frequency_attention_matches_numpy_and_sums_to_one_per_sample() {
    let basis = dft_basis(8, &device());
    let w = frequency_attention(magnitude(gen([2, 3, 8], 1.1, 0.8), &basis));
    let w = values(w);
    all_close(&w, &ATTENTION, "attention");
    for row in w.chunks(5) {
        close(row.iter().sum(), 1.0, "attention row sum");
    }
    // A teacher feature with no energy at all: uniform weights, still summing to 1.
    let zero = values(frequency_attention(magnitude(Tensor::zeros([1, 2, 8], &device()), &basis)));
    all_close(&zero, &[0.2; 5], "attention of a silent teacher");
}

#[test]
fn stage_loss_matches_numpy() {
    let (fs, ft) = (gen([2, 3, 8], 0.3, 1.0), gen([2, 3, 8], 1.1, 0.8));
    let basis = dft_basis(8, &device());
    close(scalar(stage_loss(fs.clone(), ft.clone(), 0.0, FreqDesign::default(), &basis)), STAGE_MSE, "feature MSE alone (λ_f = 0)");
    close(scalar(stage_loss(fs.clone(), ft.clone(), 1.0, FreqDesign::default(), &basis)), STAGE_MSE + STAGE_FREQ, "λ_f = 1");
    close(scalar(stage_loss(fs, ft, 0.5, FreqDesign::default(), &basis)), STAGE_LOSS_LAMBDA_HALF, "λ_f = 0.5");
    // Not a power of two: the DFT basis has no length restriction.
    let t6 = stage_loss(gen([2, 2, 6], 0.7, 1.0), gen([2, 2, 6], 0.2, 1.3), 1.0, FreqDesign::default(), &dft_basis(6, &device()));
    close(scalar(t6), STAGE_LOSS_T6, "T = 6");
}

#[test]
fn per_channel_attention_matches_numpy_and_sums_to_one_per_channel() {
    let w = values(channel_frequency_attention(magnitude(gen([2, 3, 8], 1.1, 0.8), &dft_basis(8, &device()))));
    all_close(&w, &CHANNEL_ATTENTION, "per-channel attention");
    for row in w.chunks(5) {
        close(row.iter().sum(), 1.0, "per-channel attention row sum");
    }
    let zero = values(channel_frequency_attention(magnitude(Tensor::zeros([1, 2, 8], &device()), &dft_basis(8, &device()))));
    all_close(&zero, &[0.2; 10], "per-channel attention of a silent teacher");
}

#[test]
fn every_frequency_design_matches_numpy() {
    let (fs, ft) = (gen([2, 3, 8], 0.3, 1.0), gen([2, 3, 8], 1.1, 0.8));
    let basis = dft_basis(8, &device());
    let design = |attention, spectrum| FreqDesign { attention, spectrum };
    let cases = [
        (design(FreqAttention::ChannelMean, FreqSpectrum::Magnitude), STAGE_FREQ, "channel mean, magnitude (the default)"),
        (design(FreqAttention::PerChannel, FreqSpectrum::Magnitude), FREQ_PER_CHANNEL, "per channel, magnitude"),
        (design(FreqAttention::Uniform, FreqSpectrum::Magnitude), FREQ_UNIFORM, "uniform, magnitude"),
        (design(FreqAttention::ChannelMean, FreqSpectrum::Log), FREQ_LOG, "channel mean, log"),
        (design(FreqAttention::ChannelMean, FreqSpectrum::Normalised), FREQ_NORMALISED, "channel mean, normalised"),
        (design(FreqAttention::PerChannel, FreqSpectrum::Log), FREQ_PER_CHANNEL_LOG, "per channel, log"),
    ];
    for (design, freq, what) in cases {
        // λ_f = 2: the term is weighted, not merely added.
        close(scalar(stage_loss(fs.clone(), ft.clone(), 2.0, design, &basis)), STAGE_MSE + 2.0 * freq, what);
    }
    assert_eq!(FreqDesign::default(), design(FreqAttention::ChannelMean, FreqSpectrum::Magnitude));
}

#[test]
fn stage_loss_is_zero_when_student_equals_teacher() {
    let f = gen([3, 4, 16], 0.9, 2.0);
    for attention in [FreqAttention::ChannelMean, FreqAttention::PerChannel, FreqAttention::Uniform] {
        for spectrum in [FreqSpectrum::Magnitude, FreqSpectrum::Log, FreqSpectrum::Normalised] {
            let v = scalar(stage_loss(f.clone(), f.clone(), 1.0, FreqDesign { attention, spectrum }, &dft_basis(16, &device())));
            assert_eq!(v, 0.0, "{attention:?} / {spectrum:?}");
        }
    }
}

fn labels() -> Tensor<1, Int> {
    Tensor::from_data(TensorData::new(vec![3i64, 1, 4, 1], [4]), &device())
}

#[test]
fn conditional_target_matches_numpy_and_never_teaches_a_wrong_answer() {
    let z_t = gen([4, 5], 0.9, 3.0);
    let q = values(conditional_target(z_t.clone(), labels(), 4.0, 0.1));
    all_close(&q, &TARGET, "target");
    for (b, row) in q.chunks(5).enumerate() {
        close(row.iter().sum(), 1.0, &format!("target row {b} sums to 1"));
    }
    // Samples 1 and 3: the teacher is wrong, so the target is the smoothed one-hot of the label.
    for (b, label) in [(1usize, 1usize), (3, 1)] {
        let expected: Vec<f64> = (0..5).map(|k| if k == label { 0.9 + 0.02 } else { 0.02 }).collect();
        all_close(&q[b * 5..b * 5 + 5], &expected, "wrong teacher → label-smoothed one-hot");
    }
    // Sample 0: the teacher is right, so the target is its tempered distribution, smoothed.
    let p = values(burn::tensor::activation::softmax(z_t / 4.0, 1));
    let expected: Vec<f64> = p[0..5].iter().map(|v| 0.9 * v + 0.02).collect();
    all_close(&q[0..5], &expected, "right teacher → tempered teacher distribution");
}

#[test]
fn conditional_logits_loss_matches_numpy() {
    let l = conditional_logits_loss(gen([4, 5], 0.2, 2.0), gen([4, 5], 0.9, 3.0), labels(), 4.0, 0.1);
    close(scalar(l), LOGITS_LOSS, "logits loss");
}

#[test]
fn memory_loss_matches_numpy_and_vanishes_for_equal_queries() {
    let m = gen([6, 4], 2.0, 1.0);
    close(scalar(memory_loss(gen([3, 4], 0.5, 1.0), gen([3, 4], 1.5, 1.0), m.clone(), 0.5)), MEMORY_LOSS, "memory loss");
    let q = gen([3, 4], 0.5, 1.0);
    assert!(scalar(memory_loss(q.clone(), q, m, 0.5)).abs() < 1e-6);
}

#[test]
fn ridge_fit_matches_numpy() {
    let x: Vec<f32> = values(gen([7, 3], 0.4, 1.0)).into_iter().map(|v| v as f32).collect();
    let y: Vec<f32> = values(gen([7, 2], 1.9, 1.0)).into_iter().map(|v| v as f32).collect();
    let a: Vec<f64> = ridge_fit(&x, &y, 7, 3, 2, 0.01).into_iter().map(f64::from).collect();
    all_close(&a, &RIDGE, "ridge");
}
