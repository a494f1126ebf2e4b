//! Classifier heads on a model's pooled feature, shared by every model: `linear`, `hopfield`
//! (a modern-Hopfield memory, Ramsauer et al. 2020), `mlp` and `cosine` (method.md §3, §4), and
//! `simh`, the SMLDist authors' self-adaptive intuition-memory head (method.md §7).
//!
//! A [`Classifier`] holds one head, or several whose log-probabilities are mixed with
//! architecture weights (softmax of [`Classifier::arch`]), as SMLDist's head search trains them.
//! [`Classifier::restrict`] keeps some heads and drops the rest (pruning before export).

use crate::macs;
use burn::module::{Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::{log_softmax, relu, softmax};
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HeadKind {
    Linear,
    Hopfield,
    Mlp,
    Cosine,
    Simh,
}

impl HeadKind {
    /// The heads harbench's SMLDist searches over (`simh` is the authors' head, used alone).
    pub const ALL: [HeadKind; 4] = [HeadKind::Linear, HeadKind::Hopfield, HeadKind::Mlp, HeadKind::Cosine];
    /// Every head a classifier can have.
    pub const EVERY: [HeadKind; 5] = [HeadKind::Linear, HeadKind::Hopfield, HeadKind::Mlp, HeadKind::Cosine, HeadKind::Simh];

    pub fn name(self) -> &'static str {
        match self {
            HeadKind::Linear => "linear",
            HeadKind::Hopfield => "hopfield",
            HeadKind::Mlp => "mlp",
            HeadKind::Cosine => "cosine",
            HeadKind::Simh => "simh",
        }
    }

    /// Parses `linear`, `hopfield`, `mlp`, `cosine` or `simh`.
    pub fn parse(name: &str) -> Result<Self, String> {
        HeadKind::EVERY
            .into_iter()
            .find(|k| k.name() == name.trim().to_ascii_lowercase())
            .ok_or_else(|| format!("unknown head '{name}'; known heads: {}", HeadKind::EVERY.map(|k| k.name()).join(", ")))
    }
}

/// The classifier of a model: which heads, and their sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClassifierConfig {
    /// One head, or several mixed by learned architecture weights.
    pub heads: Vec<HeadKind>,
    /// Hopfield: stored patterns per class (`P = patterns_per_class · K`, method.md's `4K`).
    pub patterns_per_class: usize,
    /// Hopfield: dimension `d` of queries and stored patterns [ours: 64, the same for teacher
    /// and student so that the student's memory can be copied from the teacher's].
    pub memory_dim: usize,
    /// Hopfield: inverse temperature of the association; `None` is `1/√d`.
    pub beta: Option<f64>,
    /// Hopfield: the stored patterns are kept as `M = s·P` with `P` the trained parameter
    /// [ours]. Adam moves every parameter by about `lr` a step whatever its size, so unit-scale
    /// patterns (`s = 1`) learned about 50× more slowly, relative to their size, than the linear
    /// weights around them: a Hopfield-head student reached 83.8 % validation accuracy on
    /// UCI-HAR after 3 epochs against 94.5 % with a linear head; with `s = 30`, 93.6 %
    /// (docs/smldist.md). Effective patterns start as N(0, 1) either way.
    pub pattern_scale: f64,
    /// MLP: width of the hidden layer [ours].
    pub mlp_hidden: usize,
    /// Cosine: initial value of the learned scale [ours].
    pub cosine_scale: f64,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        ClassifierConfig {
            heads: vec![HeadKind::Linear],
            patterns_per_class: 4,
            memory_dim: 64,
            beta: None,
            pattern_scale: 30.0,
            mlp_hidden: 64,
            cosine_scale: 10.0,
        }
    }
}

impl ClassifierConfig {
    pub fn is_default(&self) -> bool {
        *self == ClassifierConfig::default()
    }

    pub fn with_heads(mut self, heads: Vec<HeadKind>) -> Self {
        self.heads = heads;
        self
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.heads.is_empty() {
            return Err("classifier `heads` is empty".into());
        }
        let mut seen = self.heads.clone();
        seen.sort();
        seen.dedup();
        if seen.len() != self.heads.len() {
            return Err(format!("classifier `heads` names a head twice: {:?}", self.heads));
        }
        if self.heads.len() > 1 && self.heads.contains(&HeadKind::Simh) {
            // Its training output is already a mixture of probabilities, not logits to mix.
            return Err(format!("the `simh` head mixes its own two outputs and stands alone, not among {:?}", self.heads));
        }
        if self.patterns_per_class == 0 || self.memory_dim == 0 || self.mlp_hidden == 0 {
            return Err("classifier `patterns_per_class`, `memory_dim` and `mlp_hidden` must be positive".into());
        }
        if self.beta.is_some_and(|b| !(b.is_finite() && b > 0.0)) {
            return Err(format!("classifier `beta` = {:?} must be finite and > 0", self.beta));
        }
        if !(self.pattern_scale.is_finite() && self.pattern_scale > 0.0) {
            return Err(format!("classifier `pattern_scale` = {} must be finite and > 0", self.pattern_scale));
        }
        if !(self.cosine_scale.is_finite() && self.cosine_scale > 0.0) {
            return Err(format!("classifier `cosine_scale` = {} must be finite and > 0", self.cosine_scale));
        }
        Ok(())
    }

    pub fn beta(&self) -> f64 {
        self.beta.unwrap_or(1.0 / (self.memory_dim as f64).sqrt())
    }

    /// `config` must have passed [`ClassifierConfig::validate`].
    pub fn build(&self, features: usize, classes: usize, device: &Device) -> Classifier {
        let heads = self.heads.iter().map(|&kind| Head::new(kind, self, features, classes, device)).collect();
        let arch = (self.heads.len() > 1).then(|| Param::from_tensor(Tensor::zeros([self.heads.len()], device)));
        Classifier { heads, arch }
    }
}

/// A modern-Hopfield memory head: query `q = LayerNorm(W_q h)`, association
/// `α = softmax(β q Mᵀ)` over the stored patterns `M`, retrieval `r = α M`, logits `W_o r`.
#[derive(Module, Debug)]
pub struct HopfieldHead {
    pub query: Linear,
    pub norm: LayerNorm,
    /// `[patterns, dim]`: the trained parameter `P`; the stored patterns are
    /// `M = pattern_scale · P` (see [`HopfieldHead::patterns`]).
    pub memory: Param<Tensor<2>>,
    pub output: Linear,
    #[module(skip)]
    pub beta: f64,
    #[module(skip)]
    pub pattern_scale: f64,
}

impl HopfieldHead {
    pub fn new(features: usize, classes: usize, patterns: usize, dim: usize, beta: f64, pattern_scale: f64, device: &Device) -> Self {
        HopfieldHead {
            query: LinearConfig::new(features, dim).init(device),
            norm: LayerNormConfig::new(dim).init(device),
            // Unit-variance patterns: with a layer-normalised query, β = 1/√d gives scores of unit scale.
            memory: Param::from_tensor(Tensor::random([patterns, dim], Distribution::Normal(0.0, 1.0 / pattern_scale), device)),
            output: LinearConfig::new(dim, classes).init(device),
            beta,
            pattern_scale,
        }
    }

    /// The stored patterns `M`: `[patterns, dim]`.
    pub fn patterns(&self) -> Tensor<2> {
        self.memory.val() * self.pattern_scale
    }

    /// Stores `patterns` as `M` (the parameter becomes `M / pattern_scale`).
    pub fn set_patterns(&mut self, patterns: Tensor<2>) {
        self.memory = Param::from_tensor(patterns / self.pattern_scale);
    }

    pub fn query(&self, h: Tensor<2>) -> Tensor<2> {
        self.norm.forward(self.query.forward(h))
    }

    /// `softmax(β q Mᵀ)`: `[batch, patterns]`.
    pub fn associate(&self, q: Tensor<2>) -> Tensor<2> {
        association(q, self.patterns(), self.beta)
    }

    /// `α M`: `[batch, dim]`.
    pub fn retrieve(&self, q: Tensor<2>) -> Tensor<2> {
        self.associate(q).matmul(self.patterns())
    }

    /// `(logits, query)`.
    pub fn forward(&self, h: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let q = self.query(h);
        (self.output.forward(self.retrieve(q.clone())), q)
    }
}

/// `softmax(β q Mᵀ)` of queries `q: [B, d]` over patterns `memory: [P, d]`.
pub fn association(q: Tensor<2>, memory: Tensor<2>, beta: f64) -> Tensor<2> {
    softmax(q.matmul(memory.transpose()) * beta, 1)
}

/// The SMLDist authors' `SelfAdaptiveIntuitionMemoryHead` (`tasnem_har/models/classifier.py`)
/// on a pooled feature `h`: a memory unit, hflayers' `Hopfield(F, F, K)` fed `h` as a sequence of
/// one pattern, and an intuition unit, a linear layer. With a single stored pattern the
/// association `softmax(β q kᵀ)` is exactly 1 whatever the query, so the memory unit is its value
/// path, `memory(h) = W_o (W_v LayerNorm(h) + b_v) + b_o`, and its query and key projections get
/// no gradient (`tests/reference/authors_smldist.py` checks this against hflayers' core).
/// - training (autodiff device): `softmax(w)₀·softmax(memory(h)) + softmax(w)₁·softmax(W_i h + b_i)`,
///   probabilities that the authors' losses then treat as logits;
/// - evaluation: `memory(h)` alone (`eval_mode = 'M'`; `compress()` drops the intuition unit).
#[derive(Module, Debug)]
pub struct SimhHead {
    /// hflayers' LayerNorm of the pattern projection (affine, ε 1e-5).
    pub norm: LayerNorm,
    /// The value rows of hflayers' `in_proj_weight` / `in_proj_bias`: `[F → F]`.
    pub value: Linear,
    /// hflayers' `out_proj`: `[F → K]`.
    pub output: Linear,
    /// The intuition unit: `[F → K]`.
    pub intuition: Linear,
    /// The mixture weights `w` (2, initialised to 0).
    pub mix: Param<Tensor<1>>,
}

impl SimhHead {
    /// Initialised as the authors' model ends up: hflayers' `in_proj_weight` ~ N(0, 0.02) with a
    /// zero bias, and every `nn.Linear` (`out_proj`, the intuition unit) re-initialised by
    /// `TASNeModel._initialize_weights` to N(0, 0.01) with a zero bias.
    pub fn new(features: usize, classes: usize, device: &Device) -> Self {
        let normal = |inputs: usize, outputs: usize, std: f64| {
            let mut linear = LinearConfig::new(inputs, outputs).init(device);
            linear.weight = Param::from_tensor(Tensor::random([inputs, outputs], Distribution::Normal(0.0, std), device));
            linear.bias = Some(Param::from_tensor(Tensor::zeros([outputs], device)));
            linear
        };
        SimhHead {
            norm: LayerNormConfig::new(features).init(device),
            value: normal(features, features, 0.02),
            output: normal(features, classes, 0.01),
            intuition: normal(features, classes, 0.01),
            mix: Param::from_tensor(Tensor::zeros([2], device)),
        }
    }

    /// The memory unit's logits.
    pub fn memory(&self, h: Tensor<2>) -> Tensor<2> {
        self.output.forward(self.value.forward(self.norm.forward(h)))
    }

    /// The training output, the mixture of the two units' probabilities.
    pub fn mixture(&self, h: Tensor<2>) -> Tensor<2> {
        let w = softmax(self.mix.val(), 0);
        #[allow(clippy::single_range_in_vec_init)]
        let (w0, w1) = (w.clone().slice([0..1]).unsqueeze_dim(0), w.slice([1..2]).unsqueeze_dim(0));
        softmax(self.memory(h.clone()), 1) * w0 + softmax(self.intuition.forward(h), 1) * w1
    }

    /// The mixture while training (an autodiff device, as burn's dropout decides), the memory
    /// unit's logits otherwise.
    pub fn forward(&self, h: Tensor<2>) -> Tensor<2> {
        if h.device().is_autodiff() {
            self.mixture(h)
        } else {
            self.memory(h)
        }
    }
}

/// One hidden ReLU layer.
#[derive(Module, Debug)]
pub struct MlpHead {
    pub hidden: Linear,
    pub output: Linear,
}

/// Cosine similarity to learned class prototypes, times a learned scale.
#[derive(Module, Debug)]
pub struct CosineHead {
    /// `[classes, features]`.
    pub prototypes: Param<Tensor<2>>,
    pub scale: Param<Tensor<1>>,
}

fn l2_rows(x: Tensor<2>) -> Tensor<2> {
    let n = (x.clone().powi_scalar(2).sum_dim(1) + 1e-12).sqrt();
    x / n
}

impl CosineHead {
    pub fn forward(&self, h: Tensor<2>) -> Tensor<2> {
        let sim = l2_rows(h).matmul(l2_rows(self.prototypes.val()).transpose());
        sim * self.scale.val().unsqueeze_dim(0)
    }
}

// A classifier holds a handful of heads, built once; boxing the large ones would only add an
// indirection to every module visit.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Head {
    Linear(Linear),
    Hopfield(HopfieldHead),
    Mlp(MlpHead),
    Cosine(CosineHead),
    Simh(SimhHead),
}

impl Head {
    fn new(kind: HeadKind, c: &ClassifierConfig, features: usize, classes: usize, device: &Device) -> Self {
        match kind {
            HeadKind::Linear => Head::Linear(LinearConfig::new(features, classes).init(device)),
            HeadKind::Hopfield => Head::Hopfield(HopfieldHead::new(
                features,
                classes,
                c.patterns_per_class * classes,
                c.memory_dim,
                c.beta(),
                c.pattern_scale,
                device,
            )),
            HeadKind::Mlp => Head::Mlp(MlpHead {
                hidden: LinearConfig::new(features, c.mlp_hidden).init(device),
                output: LinearConfig::new(c.mlp_hidden, classes).init(device),
            }),
            HeadKind::Cosine => Head::Cosine(CosineHead {
                prototypes: Param::from_tensor(Tensor::random([classes, features], Distribution::Normal(0.0, 1.0), device)),
                scale: Param::from_tensor(Tensor::from_data(TensorData::new(vec![c.cosine_scale as f32], [1]), device)),
            }),
            HeadKind::Simh => Head::Simh(SimhHead::new(features, classes, device)),
        }
    }

    pub fn kind(&self) -> HeadKind {
        match self {
            Head::Linear(_) => HeadKind::Linear,
            Head::Hopfield(_) => HeadKind::Hopfield,
            Head::Mlp(_) => HeadKind::Mlp,
            Head::Cosine(_) => HeadKind::Cosine,
            Head::Simh(_) => HeadKind::Simh,
        }
    }

    /// `(logits, Hopfield query if this is a Hopfield head)`.
    pub fn forward(&self, h: Tensor<2>) -> (Tensor<2>, Option<Tensor<2>>) {
        match self {
            Head::Linear(l) => (l.forward(h), None),
            Head::Hopfield(m) => {
                let (logits, q) = m.forward(h);
                (logits, Some(q))
            }
            Head::Mlp(m) => (m.output.forward(relu(m.hidden.forward(h))), None),
            Head::Cosine(c) => (c.forward(h), None),
            Head::Simh(m) => (m.forward(h), None),
        }
    }

    /// MACs for one pooled vector.
    pub fn macs(&self) -> u64 {
        match self {
            Head::Linear(l) => macs::linear(l, 1),
            Head::Hopfield(m) => {
                let [patterns, dim] = m.memory.shape().dims();
                // Query, scores against every pattern, retrieval, output.
                macs::linear(&m.query, 1) + 2 * (patterns * dim) as u64 + macs::linear(&m.output, 1)
            }
            Head::Mlp(m) => macs::linear(&m.hidden, 1) + macs::linear(&m.output, 1),
            Head::Cosine(c) => {
                let [classes, features] = c.prototypes.shape().dims();
                (classes * features) as u64
            }
            // Evaluation runs the memory unit alone (the authors' `compress()`).
            Head::Simh(m) => macs::linear(&m.value, 1) + macs::linear(&m.output, 1),
        }
    }
}

/// What a classifier returns.
pub struct HeadOutput {
    pub logits: Tensor<2>,
    /// The query of the first Hopfield head, if there is one (memory distillation needs it).
    pub memory_query: Option<Tensor<2>>,
}

/// One head, or several mixed: `Σ_i softmax(a)_i · log_softmax(z_i)`.
#[derive(Module, Debug)]
pub struct Classifier {
    pub heads: Vec<Head>,
    /// Architecture weights (before softmax), one per head; `None` for a single head.
    pub arch: Option<Param<Tensor<1>>>,
}

impl Classifier {
    pub fn forward(&self, h: Tensor<2>) -> HeadOutput {
        let mut memory_query = None;
        let mut outputs = Vec::with_capacity(self.heads.len());
        for head in &self.heads {
            let (logits, q) = head.forward(h.clone());
            if memory_query.is_none() {
                memory_query = q;
            }
            outputs.push(logits);
        }
        let logits = match &self.arch {
            None => outputs.pop().expect("a classifier has a head"),
            Some(arch) => {
                let weights = softmax(arch.val(), 0);
                let mut mixed: Option<Tensor<2>> = None;
                for (i, z) in outputs.into_iter().enumerate() {
                    // burn's `slice` takes one range per dimension: a one-element array is right.
                    #[allow(clippy::single_range_in_vec_init)]
                    let term = log_softmax(z, 1) * weights.clone().slice([i..i + 1]).unsqueeze_dim(0);
                    mixed = Some(match mixed {
                        None => term,
                        Some(m) => m + term,
                    });
                }
                mixed.expect("a classifier has a head")
            }
        };
        HeadOutput { logits, memory_query }
    }

    pub fn kinds(&self) -> Vec<HeadKind> {
        self.heads.iter().map(Head::kind).collect()
    }

    /// Mixture weights (softmax of the architecture weights); `[1.0]` for a single head.
    pub fn weights(&self) -> Vec<f64> {
        match &self.arch {
            None => vec![1.0],
            Some(a) => softmax(a.val(), 0).try_into_vec_as::<f32>().expect("weights read back").into_iter().map(f64::from).collect(),
        }
    }

    /// The heads at `keep` (in that order), mixed by their own architecture weights (the
    /// softmax over the kept ones renormalises them). Predictions equal the full classifier's
    /// restricted to those heads.
    pub fn restrict(&self, keep: &[usize]) -> Classifier {
        assert!(!keep.is_empty() && keep.iter().all(|&i| i < self.heads.len()), "kept heads {keep:?} exist");
        let heads = keep.iter().map(|&i| self.heads[i].clone()).collect();
        let arch = match (&self.arch, keep.len()) {
            (Some(a), n) if n > 1 => {
                let values: Vec<f32> = a.val().try_into_vec_as::<f32>().expect("weights read back");
                let kept: Vec<f32> = keep.iter().map(|&i| values[i]).collect();
                Some(Param::from_tensor(Tensor::from_data(TensorData::new(kept, [n]), &a.val().device())))
            }
            _ => None,
        };
        Classifier { heads, arch }
    }

    /// The first Hopfield head, if any.
    pub fn hopfield(&self) -> Option<&HopfieldHead> {
        self.heads.iter().find_map(|h| match h {
            Head::Hopfield(m) => Some(m),
            _ => None,
        })
    }

    /// Replaces the first Hopfield head (memory initialisation).
    pub fn set_hopfield(mut self, new: HopfieldHead) -> Self {
        if let Some(slot) = self.heads.iter_mut().find(|h| matches!(h, Head::Hopfield(_))) {
            *slot = Head::Hopfield(new);
        }
        self
    }

    /// MACs for one pooled vector (every head runs; the mixture itself is negligible).
    pub fn macs(&self) -> u64 {
        self.heads.iter().map(Head::macs).sum()
    }
}
