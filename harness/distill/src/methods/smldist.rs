//! SMLDist: Chen, Luo, Zhao, Meng, Xie & Zhu, "A Light-weight Deep Human Activity Recognition
//! Algorithm Using Multi-knowledge Distillation" (arXiv 2107.07331). Three distillations and a
//! searched classifier, as `../shared/docs/method.md` §3–§4 specifies them (docs/smldist.md
//! says which parts are the paper's, the authors' code's, or ours):
//!
//! - **stage**: feature MSE plus a frequency term, `|rFFT|` along time weighted by where the
//!   teacher's spectral energy is; a progressive phase (anchor 1, then 1–2, …) before the joint one;
//! - **memory**: the student's Hopfield memory starts as the teacher's, and its association over
//!   the teacher's frozen memory learns the teacher's (`KL(α_t ‖ α_s^T)`);
//! - **logits**: KL to a smoothed conditional target (the teacher's tempered distribution where it
//!   is right, the label-smoothed one-hot where it is wrong);
//! - **heads**: the student carries several heads whose mixture is searched (harbench-train's
//!   `search`); `heads: [hopfield]` (or `[linear]` without memory) switches the search off.
//!
//! `L = (1−α)·CE + α·L_logits + λ_s·L_stage + λ_m·L_mem`; each term has its own switch.
//!
//! Two presets set every option at once (`options: {preset: code}`; options beside it override):
//! `paper`, the above (the default), and `code`, what the authors' released code does
//! (`chenrz925/SMLDist` @ 8903617, method.md §7): per-anchor stage phases of plain feature MSE
//! with a fresh Adam (lr 1e-4) each, on anchors 1 and 2, before the main epochs and not after;
//! the `simh` head copied whole from the teacher; `LogitsDistillingLoss` alone; no memory or
//! frequency term. Each difference is one option, so the road between the presets is a set of
//! single switches (docs/smldist.md). The authors' recipe (Ranger, ReduceLROnPlateau, batch 256)
//! is the run's training settings, not the method's.

use crate::method::{Context, Features, Method, Term};
use crate::ops::{mse, resize_time, TINY};
use crate::parts::{ConvHead, Part, Parts};
use crate::DistillError;
use burn::module::{Module, Param};
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};
use harbench_models::heads::{association, HopfieldHead};
use harbench_models::{HeadKind, Model, ModelConfig};
use harbench_train::PretrainOptimizer;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Range;

/// Which reading of SMLDist a run's unset options come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// harbench's reconstruction of the paper's text (method.md §2–§4).
    #[default]
    Paper,
    /// The authors' released code, component by component (method.md §7).
    Code,
}

/// How stage distillation runs before the main epochs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StagePhases {
    /// Anchor 1, then anchors 1–2, …, `progressive_epochs` each, with the run's optimiser at its
    /// peak learning rate, and only when `lambda_stage` > 0 (the paper preset).
    #[default]
    Cumulative,
    /// One phase per anchor of `anchors`, `progressive_epochs` each, matching that anchor alone,
    /// each with a fresh Adam at `stage_lr` (the authors' `TASNeMStudentTrainTask`).
    PerAnchor,
}

/// The logits term.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogitsLoss {
    /// `α·τ²·KL` to the smoothed conditional target beside `(1−α)·CE` (the paper preset).
    #[default]
    Conditional,
    /// The authors' `LogitsDistillingLoss` ([`authors_logits_loss`]), which holds its own
    /// cross-entropy: `alpha`, `temperature` and `epsilon` are not used.
    Authors,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `λ_s`, weight of the stage loss in the joint phase; 0 switches stage distillation off
    /// (and its progressive phase) [ours: 1].
    pub lambda_stage: f64,
    /// `λ_f`, weight of the frequency term inside each stage loss; 0 leaves the feature MSE
    /// [ours: 1].
    pub lambda_freq: f64,
    /// How the teacher's spectral energy weighs the frequency term's bins [ours: `channel_mean`].
    pub freq_attention: FreqAttention,
    /// Which spectrum the frequency term compares [ours: `magnitude`].
    pub freq_spectrum: FreqSpectrum,
    /// Anchors distilled, shallow to deep (all three by default).
    pub anchors: Vec<usize>,
    /// Epochs of each progressive stage (anchor 1, then anchors 1–2, …) before the joint phase
    /// [ours: 1; the authors' code trained each stage to convergence].
    pub progressive_epochs: usize,
    /// `λ_m`, weight of the association KL; 0 switches memory distillation off [ours: 1].
    pub lambda_memory: f64,
    /// Start the student's memory (patterns and output layer) from the teacher's.
    pub memory_init: bool,
    /// `α`: weight of the logits term, `1 − α` that of the cross-entropy; 0 switches logits
    /// distillation off [ours: 0.9].
    pub alpha: f64,
    /// `τ` [ours: 4].
    pub temperature: f64,
    /// `ε`, the smoothing of the conditional target [ours: 0.1].
    pub epsilon: f64,
    /// The student's classifier heads; several are searched (method.md §4).
    pub heads: Vec<HeadKind>,
    /// The preset the unset options came from (`paper` or `code`).
    #[serde(skip_serializing_if = "is_default")]
    pub preset: Preset,
    /// `cumulative` (the paper preset) or `per_anchor` (the authors' phases).
    #[serde(skip_serializing_if = "is_default")]
    pub stage_phases: StagePhases,
    /// Learning rate of the per-anchor phases' Adam [code: 1e-4].
    #[serde(skip_serializing_if = "is_default_stage_lr")]
    pub stage_lr: f64,
    /// `conditional` (the paper preset) or `authors` (`LogitsDistillingLoss`).
    #[serde(skip_serializing_if = "is_default")]
    pub logits: LogitsLoss,
    /// `LogitsDistillingLoss`'s hardness factor: the weight of the one-hot that replaces the
    /// teacher's output where the teacher is wrong [code: 1].
    #[serde(skip_serializing_if = "is_default_hardness")]
    pub hardness: f64,
    /// Start the student's whole classifier as a copy of the teacher's (the authors' code; the
    /// heads and the pooled width must match) [paper: false].
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub copy_head: bool,
}

// Options added after the paper preset's records were written are left out of the resolved
// config at their paper values, so that those records' method configs read as before.
fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

fn is_default_stage_lr(value: &f64) -> bool {
    *value == Config::default().stage_lr
}

fn is_default_hardness(value: &f64) -> bool {
    *value == Config::default().hardness
}

impl Default for Config {
    fn default() -> Self {
        Config {
            lambda_stage: 1.0,
            lambda_freq: 1.0,
            freq_attention: FreqAttention::ChannelMean,
            freq_spectrum: FreqSpectrum::Magnitude,
            anchors: vec![0, 1, 2],
            progressive_epochs: 1,
            lambda_memory: 1.0,
            memory_init: true,
            alpha: 0.9,
            temperature: 4.0,
            epsilon: 0.1,
            heads: HeadKind::ALL.to_vec(),
            preset: Preset::Paper,
            stage_phases: StagePhases::Cumulative,
            stage_lr: 1e-4,
            logits: LogitsLoss::Conditional,
            hardness: 1.0,
            copy_head: false,
        }
    }
}

impl Config {
    /// The authors' released code (method.md §7): per-anchor MSE phases on anchors 1 and 2 of
    /// 200 epochs each (Adam 1e-4), no stage term afterwards, the `simh` head copied from the
    /// teacher, `LogitsDistillingLoss` alone, no memory or frequency term.
    pub fn code() -> Self {
        Config {
            preset: Preset::Code,
            lambda_stage: 0.0,
            lambda_freq: 0.0,
            anchors: vec![0, 1],
            progressive_epochs: 200,
            stage_phases: StagePhases::PerAnchor,
            stage_lr: 1e-4,
            lambda_memory: 0.0,
            memory_init: false,
            logits: LogitsLoss::Authors,
            hardness: 1.0,
            heads: vec![HeadKind::Simh],
            copy_head: true,
            ..Config::default()
        }
    }

    /// `options` over the preset they name (`preset:`, `paper` when absent).
    fn from_options(options: serde_json::Value) -> Result<Self, DistillError> {
        let mut options = match options {
            serde_json::Value::Null => serde_json::Map::new(),
            serde_json::Value::Object(map) => map,
            other => return Err(invalid(format!("options must be a mapping, not {other}"))),
        };
        let preset: Preset = match options.get("preset") {
            None => Preset::Paper,
            Some(name) => super::parse("smldist", name.clone())?,
        };
        let base = match preset {
            Preset::Paper => Config::default(),
            Preset::Code => Config::code(),
        };
        let mut merged = match serde_json::to_value(base).expect("plain config") {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("a struct serialises as a mapping"),
        };
        merged.append(&mut options);
        super::parse("smldist", serde_json::Value::Object(merged))
    }

    /// Stage distillation trains anything at all (phases or a joint term).
    fn distils_stages(&self) -> bool {
        self.lambda_stage > 0.0 || (self.stage_phases == StagePhases::PerAnchor && self.progressive_epochs > 0)
    }
}

/// How the frequency term weighs its bins by where the teacher's spectral energy is [ours; the
/// paper says only that the stage distillation attends to frequency-related features].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FreqAttention {
    /// One weight per bin, from the teacher's energy averaged over channels ([`frequency_attention`]).
    ChannelMean,
    /// One weight per channel and bin, from that channel's own energy
    /// ([`channel_frequency_attention`]): a channel whose energy sits elsewhere is not drowned out.
    PerChannel,
    /// The same weight for every bin: a plain spectral MSE, no attention.
    Uniform,
}

/// The spectrum the frequency term compares, from `|rFFT|` along time [ours].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FreqSpectrum {
    /// `|X|`.
    Magnitude,
    /// `ln(1 + |X|)`: large bins no longer dominate the gap.
    Log,
    /// `|X| / Σ_k |X|` per sample and channel: the spectrum's shape, not its scale (the feature
    /// MSE already matches the scale).
    Normalised,
}

impl FreqSpectrum {
    /// This spectrum of a magnitude spectrum `[B, C, bins]`.
    pub fn of(self, magnitude: Tensor<3>) -> Tensor<3> {
        match self {
            FreqSpectrum::Magnitude => magnitude,
            FreqSpectrum::Log => magnitude.log1p(),
            FreqSpectrum::Normalised => magnitude.clone() / (magnitude.sum_dim(2) + TINY),
        }
    }
}

/// The frequency term's design: its attention and its spectrum (the two config fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreqDesign {
    pub attention: FreqAttention,
    pub spectrum: FreqSpectrum,
}

impl Default for FreqDesign {
    /// SMLDist's design since the first version: channel-mean attention on magnitudes.
    fn default() -> Self {
        FreqDesign { attention: FreqAttention::ChannelMean, spectrum: FreqSpectrum::Magnitude }
    }
}

/// What memory distillation holds from the teacher.
struct Memory {
    /// `[P, d_t]`, constant on the autodiff device.
    patterns: Tensor<2>,
    beta: f64,
    /// Part mapping student queries into the teacher's space, when the dimensions differ.
    map: Option<usize>,
}

pub struct SmlDist {
    c: Config,
    /// Adapter part of each anchor (student → teacher shape), when shapes differ.
    adapters: Vec<Option<usize>>,
    teacher_lengths: Vec<usize>,
    memory: Option<Memory>,
    /// DFT bases by length, built once.
    bases: BTreeMap<usize, (Tensor<2>, Tensor<2>)>,
}

fn invalid(message: String) -> DistillError {
    DistillError::Config { method: "smldist".into(), message }
}

pub fn build(params: serde_json::Value) -> Result<Box<dyn Method>, DistillError> {
    let c = Config::from_options(params)?;
    for (field, value) in [("lambda_stage", c.lambda_stage), ("lambda_freq", c.lambda_freq), ("lambda_memory", c.lambda_memory)] {
        super::weight("smldist", field, value)?;
    }
    if !(0.0..=1.0).contains(&c.alpha) {
        return Err(invalid(format!("`alpha` = {} must be in [0, 1]", c.alpha)));
    }
    super::positive("smldist", "temperature", c.temperature)?;
    if !(0.0..1.0).contains(&c.epsilon) {
        return Err(invalid(format!("`epsilon` = {} must be in [0, 1)", c.epsilon)));
    }
    if c.heads.is_empty() {
        return Err(invalid("`heads` is empty".into()));
    }
    super::positive("smldist", "stage_lr", c.stage_lr)?;
    super::weight("smldist", "hardness", c.hardness)?;
    if c.lambda_memory > 0.0 && !c.heads.contains(&HeadKind::Hopfield) {
        return Err(invalid(format!(
            "memory distillation (lambda_memory = {}) needs a hopfield head among `heads` {:?}; add it or set lambda_memory: 0",
            c.lambda_memory, c.heads
        )));
    }
    Ok(Box::new(SmlDist { c, adapters: Vec::new(), teacher_lengths: Vec::new(), memory: None, bases: BTreeMap::new() }))
}

/// `(cos, −sin)` DFT bases `[T, T/2+1]`: `rFFT(x) = x·cos + i·x·(−sin)` along the last axis.
pub fn dft_basis(length: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let bins = length / 2 + 1;
    let mut cos = vec![0f32; length * bins];
    let mut sin = vec![0f32; length * bins];
    for t in 0..length {
        for k in 0..bins {
            let angle = 2.0 * std::f64::consts::PI * (t * k % length) as f64 / length as f64;
            cos[t * bins + k] = angle.cos() as f32;
            sin[t * bins + k] = -angle.sin() as f32;
        }
    }
    (Tensor::from_data(TensorData::new(cos, [length, bins]), device), Tensor::from_data(TensorData::new(sin, [length, bins]), device))
}

/// `|rFFT(x)|` along time: `[B, C, T] → [B, C, T/2+1]`.
pub fn magnitude(x: Tensor<3>, basis: &(Tensor<2>, Tensor<2>)) -> Tensor<3> {
    let [b, c, t] = x.dims();
    let flat = x.reshape([b * c, t]);
    let re = flat.clone().matmul(basis.0.clone());
    let im = flat.matmul(basis.1.clone());
    let bins = re.dims()[1];
    (re.powi_scalar(2) + im.powi_scalar(2) + TINY).sqrt().reshape([b, c, bins])
}

/// Frequency attention `w_b,k = E_b,k / Σ_k E_b,k`, `E = mean_c |rFFT(F_t)|²`: `[B, bins]`, each
/// row summing to 1 (uniform for a teacher feature with no energy at all).
pub fn frequency_attention(teacher_magnitude: Tensor<3>) -> Tensor<2> {
    let bins = teacher_magnitude.dims()[2];
    let energy: Tensor<2> = teacher_magnitude.powi_scalar(2).mean_dim(1).squeeze_dim(1);
    let floor = 1e-12;
    (energy.clone() + floor / bins as f64) / (energy.sum_dim(1) + floor)
}

/// Per-channel frequency attention `w_b,c,k = |X_t|²_b,c,k / Σ_k |X_t|²_b,c,k`: `[B, C, bins]`,
/// each channel's weights summing to 1 (uniform for a channel with no energy).
pub fn channel_frequency_attention(teacher_magnitude: Tensor<3>) -> Tensor<3> {
    let bins = teacher_magnitude.dims()[2];
    let energy = teacher_magnitude.powi_scalar(2);
    let floor = 1e-12;
    (energy.clone() + floor / bins as f64) / (energy.sum_dim(2) + floor)
}

/// `MSE(F_s, F_t) + λ_f · freq / B` for one anchor, with `F_s` already in the teacher's shape,
/// `S = design.spectrum` of `|rFFT|` and `D = (S_s − S_t)²`:
/// - `channel_mean`: `freq = Σ_b Σ_k w_b,k · mean_c D_b,c,k` (SMLDist's default);
/// - `per_channel`: `freq = Σ_b Σ_c Σ_k w_b,c,k · D_b,c,k / C`;
/// - `uniform`: `freq = Σ_b Σ_c Σ_k D_b,c,k / (C · bins)`.
pub fn stage_loss(fs: Tensor<3>, ft: Tensor<3>, lambda_freq: f64, design: FreqDesign, basis: &(Tensor<2>, Tensor<2>)) -> Tensor<1> {
    let plain = mse(fs.clone(), ft.clone());
    if lambda_freq == 0.0 {
        return plain;
    }
    let [batch, channels, _] = fs.dims();
    let (xs, xt) = (magnitude(fs, basis), magnitude(ft, basis));
    let gap = (design.spectrum.of(xs) - design.spectrum.of(xt.clone())).powi_scalar(2);
    let freq = match design.attention {
        FreqAttention::ChannelMean => {
            let gap: Tensor<2> = gap.mean_dim(1).squeeze_dim(1);
            (frequency_attention(xt) * gap).sum()
        }
        FreqAttention::PerChannel => (channel_frequency_attention(xt) * gap).sum() / channels as f64,
        FreqAttention::Uniform => {
            let bins = gap.dims()[2];
            gap.sum() / (channels * bins) as f64
        }
    };
    plain + freq * (lambda_freq / batch as f64)
}

/// The smoothed conditional target: `(1−ε)·softmax(z_t/τ) + ε/K` where the teacher's argmax
/// is the label, `(1−ε)·onehot(y) + ε/K` elsewhere.
pub fn conditional_target(z_t: Tensor<2>, labels: Tensor<1, Int>, temperature: f64, epsilon: f64) -> Tensor<2> {
    let [b, k] = z_t.dims();
    let right: Tensor<2> = z_t.clone().argmax(1).equal(labels.clone().reshape([b, 1])).float();
    let onehot: Tensor<2> = labels.one_hot::<2>(k).float();
    let teacher = softmax(z_t / temperature, 1);
    let mixed = teacher.clone() * right.clone() + onehot * (right.ones_like() - right);
    mixed * (1.0 - epsilon) + epsilon / k as f64
}

/// `τ² · KL(q ‖ softmax(z_s/τ))`, averaged over the batch.
pub fn conditional_logits_loss(z_s: Tensor<2>, z_t: Tensor<2>, labels: Tensor<1, Int>, temperature: f64, epsilon: f64) -> Tensor<1> {
    let batch = z_s.dims()[0] as f64;
    let q = conditional_target(z_t, labels, temperature, epsilon);
    let log_s = log_softmax(z_s / temperature, 1);
    (q.clone() * (q.clamp_min(1e-30).log() - log_s)).sum() * (temperature * temperature / batch)
}

/// The SMLDist authors' logits loss (`LogitsDistillingLoss`, `tasnem_har/models/loss_functions.py`,
/// with `HintonCrossEntropyLoss`'s defaults ratio 1 and temperature 1), transcribed as released:
/// the student's output `p` (its head's training output) and the teacher's `t` are each divided
/// by their L2 norm and softmaxed; rows where the teacher's argmax is not the label take
/// `hardness · onehot(y)` instead; both are softmaxed again, and the loss is
/// `CE(onehot(y), p̃) + CE(t̃, p̃)` with `CE(a, b) = mean_rows(−Σ a·ln b)`.
pub fn authors_logits_loss(output: Tensor<2>, teacher: Tensor<2>, labels: Tensor<1, Int>, hardness: f64) -> Tensor<1> {
    let [b, k] = output.dims();
    let unit = |z: Tensor<2>| z.clone() / z.powi_scalar(2).sum_dim(1).sqrt();
    let p = softmax(softmax(unit(output), 1), 1);
    let onehot: Tensor<2> = labels.clone().one_hot::<2>(k).float();
    let right: Tensor<2> = teacher.clone().argmax(1).equal(labels.reshape([b, 1])).float();
    let soft = softmax(unit(teacher), 1) * right.clone() + onehot.clone() * hardness * (right.ones_like() - right);
    let target = softmax(soft, 1);
    let log_p = p.log();
    -((onehot + target) * log_p).sum() / b as f64
}

/// `KL(α_t ‖ α_s^T)` averaged over the batch, with both associations over the teacher's memory.
pub fn memory_loss(q_t: Tensor<2>, q_s: Tensor<2>, patterns: Tensor<2>, beta: f64) -> Tensor<1> {
    let batch = q_t.dims()[0] as f64;
    let alpha_t = association(q_t, patterns.clone(), beta);
    let log_s = log_softmax(q_s.matmul(patterns.transpose()) * beta, 1);
    (alpha_t.clone() * (alpha_t.clamp_min(1e-30).log() - log_s)).sum() / batch
}

/// Plain cross-entropy, averaged over the batch.
fn cross_entropy(z: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let [b, k] = z.dims();
    -(log_softmax(z, 1) * labels.one_hot::<2>(k).float()).sum() / b as f64
}

/// Ridge least squares `argmin_A ‖X A − Y‖² + λ‖A‖²` for row-major `x: [n, p]`, `y: [n, q]`:
/// `A = (XᵀX + λI)⁻¹ XᵀY`, solved by Gauss–Jordan elimination with partial pivoting.
pub fn ridge_fit(x: &[f32], y: &[f32], n: usize, p: usize, q: usize, lambda: f64) -> Vec<f32> {
    let mut a = vec![0f64; p * (p + q)]; // [XᵀX + λI | XᵀY]
    let w = p + q;
    for r in 0..n {
        for i in 0..p {
            let xi = x[r * p + i] as f64;
            for j in 0..p {
                a[i * w + j] += xi * x[r * p + j] as f64;
            }
            for j in 0..q {
                a[i * w + p + j] += xi * y[r * q + j] as f64;
            }
        }
    }
    for i in 0..p {
        a[i * w + i] += lambda;
    }
    for col in 0..p {
        let pivot = (col..p).max_by(|&r, &s| a[r * w + col].abs().total_cmp(&a[s * w + col].abs())).expect("rows left");
        for j in 0..w {
            a.swap(col * w + j, pivot * w + j);
        }
        let d = a[col * w + col];
        for j in 0..w {
            a[col * w + j] /= d;
        }
        for r in 0..p {
            if r != col {
                let f = a[r * w + col];
                if f != 0.0 {
                    for j in 0..w {
                        a[r * w + j] -= f * a[col * w + j];
                    }
                }
            }
        }
    }
    (0..p).flat_map(|i| (0..q).map(move |j| (i, j))).map(|(i, j)| a[i * w + p + j] as f32).collect()
}

/// The authors' head initialisation: the student's classifier becomes a trainable copy of the
/// teacher's whole classifier (`model.classifier.load_state_dict(teacher_model.classifier
/// .state_dict())`), which needs the same heads on the same pooled width.
fn copy_head(ctx: &Context, student: Model) -> Result<Model, DistillError> {
    let teacher = ctx.teacher_model.ok_or_else(|| DistillError::Teacher("smldist's copy_head needs the teacher model".into()))?;
    let (theirs, mine) = (teacher.classifier().kinds(), student.classifier().kinds());
    if theirs != mine || ctx.teacher.pooled != ctx.student.pooled {
        return Err(invalid(format!(
            "copy_head copies the teacher's classifier ({theirs:?} on a {}-wide pooled feature) into the student ({mine:?} on {}): \
             give both the same heads (suite: `teacher: {{heads: [simh]}}` for the code preset) and the same pooled width",
            ctx.teacher.pooled, ctx.student.pooled
        )));
    }
    let device = student.classifier().devices().into_iter().next().expect("a classifier has parameters");
    let copy = teacher.classifier().clone().train().fork(&device);
    Ok(student.with_classifier(copy))
}

fn values(t: Tensor<2>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 values")
}

impl SmlDist {
    fn basis(&mut self, length: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
        self.bases.entry(length).or_insert_with(|| dft_basis(length, device)).clone()
    }

    /// Mean stage loss over the anchors at `slots` of `anchors`.
    fn stage(&mut self, parts: &Parts, f: &Features, slots: Range<usize>) -> Tensor<1> {
        let count = slots.len();
        let anchors: Vec<(usize, usize)> = slots.map(|slot| (slot, self.c.anchors[slot])).collect();
        let mut total: Option<Tensor<1>> = None;
        for &(slot, a) in &anchors {
            let mut fs = f.student.anchors[a].clone();
            if let Some(part) = self.adapters[slot] {
                fs = parts.conv(part).forward(fs);
            }
            let fs = resize_time(fs, self.teacher_lengths[slot]);
            let ft = f.teacher.anchors[a].clone();
            let basis = self.basis(self.teacher_lengths[slot], &ft.device());
            let design = FreqDesign { attention: self.c.freq_attention, spectrum: self.c.freq_spectrum };
            let l = stage_loss(fs, ft, self.c.lambda_freq, design, &basis);
            total = Some(match total {
                None => l,
                Some(t) => t + l,
            });
        }
        total.expect("at least one anchor") / count as f64
    }
}

impl Method for SmlDist {
    fn name(&self) -> &'static str {
        "smldist"
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.c).expect("plain config")
    }

    fn student_config(&self, config: &ModelConfig) -> Result<ModelConfig, DistillError> {
        config.clone().with_heads("student", self.c.heads.clone()).map_err(|e| invalid(e.to_string()))
    }

    fn build(&mut self, ctx: &Context, device: &Device) -> Result<Parts, DistillError> {
        let mut parts = Parts::default();
        if self.c.distils_stages() {
            super::anchors_exist("smldist", &self.c.anchors, &ctx.student, &ctx.teacher)?;
            for &a in &self.c.anchors {
                let ((cs, _), (ct, lt)) = (ctx.student.anchors[a], ctx.teacher.anchors[a]);
                // A training-only 1×1 adapter where the channel counts differ (method.md §2).
                self.adapters.push((cs != ct).then(|| parts.push(Part::Conv(ConvHead::new(&[cs, ct], 1, true, false, false, device)))));
                self.teacher_lengths.push(lt);
            }
        }
        // Memory: distilled (λ_m > 0), or only copied into a student that has a Hopfield head.
        if self.c.lambda_memory > 0.0 || (self.c.memory_init && ctx.student.memory.is_some()) {
            let teacher = ctx.teacher_model.ok_or_else(|| DistillError::Teacher("smldist needs the teacher model".into()))?;
            match teacher.classifier().hopfield() {
                Some(head) => {
                    let patterns = head.patterns().autodiff();
                    let dt = patterns.dims()[1];
                    let ds = ctx.student.memory.ok_or_else(|| invalid("the student has no hopfield head".into()))?;
                    let map = (ds != dt).then(|| parts.push(Parts::linear_part(ds, dt, device)));
                    self.memory = Some(Memory { patterns, beta: head.beta, map });
                }
                None if self.c.lambda_memory > 0.0 => {
                    return Err(DistillError::Teacher(
                        "memory distillation needs a teacher with a hopfield head (suite: `teacher: {heads: [hopfield]}`; \
                         harbench train: --teacher-heads hopfield), or lambda_memory: 0"
                            .into(),
                    ))
                }
                None => {}
            }
        }
        Ok(parts)
    }

    fn init_student(&mut self, ctx: &Context, student: Model) -> Result<Model, DistillError> {
        if self.c.copy_head {
            return copy_head(ctx, student);
        }
        if !self.c.memory_init {
            return Ok(student);
        }
        let (Some(teacher), Some(mine)) = (ctx.teacher_model, student.classifier().hopfield()) else {
            return Ok(student);
        };
        let Some(theirs) = teacher.classifier().hopfield() else {
            return Ok(student);
        };
        let (t_patterns, s_patterns) = (theirs.patterns(), mine.patterns());
        let ([pt, dt], [ps, ds]) = (t_patterns.dims(), s_patterns.dims());
        if pt != ps {
            return Err(invalid(format!("the teacher stores {pt} patterns, the student {ps}: set the same patterns_per_class")));
        }
        let mut head: HopfieldHead = mine.clone();
        if ds == dt {
            // Same memory space: copy the patterns and the output layer (the authors' code
            // copied the teacher's whole head).
            head.set_patterns(t_patterns.autodiff());
            head.output.weight = Param::from_tensor(theirs.output.weight.val().autodiff());
            head.output.bias = theirs.output.bias.as_ref().map(|b| Param::from_tensor(b.val().autodiff()));
        } else {
            // Different dimensions: a ridge fit from teacher queries to the (initial) student
            // queries of the same training windows carries the patterns across.
            let sample = ctx.sample.clone().ok_or_else(|| invalid("memory initialisation needs training windows".into()))?;
            let n = sample.dims()[0];
            let q_t = teacher.forward(sample.clone()).memory_query.expect("the teacher has a hopfield head");
            let q_s = student.valid().forward(sample).memory_query.expect("the student has a hopfield head");
            let map = ridge_fit(&values(q_t), &values(q_s), n, dt, ds, 1e-3 * n as f64);
            let map = Tensor::<2>::from_data(TensorData::new(map, [dt, ds]), &t_patterns.device());
            head.set_patterns(t_patterns.matmul(map).autodiff());
        }
        let classifier = student.classifier().clone().set_hopfield(head);
        Ok(student.with_classifier(classifier))
    }

    fn pretrain_epochs(&self) -> usize {
        match self.c.stage_phases {
            StagePhases::Cumulative if self.c.lambda_stage > 0.0 => self.c.progressive_epochs * self.c.anchors.len(),
            StagePhases::Cumulative => 0,
            StagePhases::PerAnchor => self.c.progressive_epochs * self.c.anchors.len(),
        }
    }

    fn pretrain_optimizer(&self) -> PretrainOptimizer {
        match self.c.stage_phases {
            StagePhases::Cumulative => PretrainOptimizer::Run,
            StagePhases::PerAnchor => PretrainOptimizer::AdamPerPhase { lr: self.c.stage_lr, phase_epochs: self.c.progressive_epochs },
        }
    }

    fn loss(&mut self, parts: &Parts, f: &Features) -> Vec<Term> {
        if f.stage == harbench_train::Stage::Pretrain {
            // Epochs are 1-based; phase k covers epochs k·E+1 ..= (k+1)·E.
            let phase = ((f.epoch - 1) / self.c.progressive_epochs.max(1)).min(self.c.anchors.len() - 1);
            let slots = match self.c.stage_phases {
                // Anchor 1, then anchors 1–2, …
                StagePhases::Cumulative => 0..phase + 1,
                StagePhases::PerAnchor => phase..phase + 1,
            };
            return vec![Term::new("stage", self.stage(parts, f, slots))];
        }
        let mut terms = Vec::new();
        if self.c.logits == LogitsLoss::Authors {
            let l = authors_logits_loss(f.student.logits.clone(), f.teacher.logits.clone(), f.labels.clone(), self.c.hardness);
            terms.push(Term::new("logits", l));
        } else if self.c.alpha < 1.0 {
            terms.push(Term::new("ce", cross_entropy(f.student.logits.clone(), f.labels.clone()) * (1.0 - self.c.alpha)));
        }
        if self.c.logits == LogitsLoss::Conditional && self.c.alpha > 0.0 {
            let l = conditional_logits_loss(
                f.student.logits.clone(),
                f.teacher.logits.clone(),
                f.labels.clone(),
                self.c.temperature,
                self.c.epsilon,
            );
            terms.push(Term::new("logits", l * self.c.alpha));
        }
        if self.c.lambda_stage > 0.0 {
            let l = self.stage(parts, f, 0..self.c.anchors.len());
            terms.push(Term::new("stage", l * self.c.lambda_stage));
        }
        if self.c.lambda_memory > 0.0 {
            let memory = self.memory.as_ref().expect("built with memory");
            let q_t = f.teacher.memory_query.clone().expect("the teacher has a hopfield head");
            let mut q_s = f.student.memory_query.clone().expect("the student has a hopfield head");
            if let Some(map) = memory.map {
                q_s = parts.linear(map).forward(q_s);
            }
            terms.push(Term::new("memory", memory_loss(q_t, q_s, memory.patterns.clone(), memory.beta) * self.c.lambda_memory));
        }
        terms
    }
}
