//! One file per distillation method. Each defines its `Config` (serde, every hyper-parameter
//! with the standard value of RepDistiller / mdistiller / the paper's code as default), the
//! method, and `build`, which the registry calls; the `methods!` line below registers it.

use crate::method::Mix;

/// Declares each method's module and writes the registry's table from one line per method:
/// `module => "name", default mix, Resume, "summary";`. A new method is its file plus one line
/// here. `Resume`: `FromCheckpoint` when its loss keeps no state between batches besides its
/// parts (saved with the student), so an epoch checkpoint resumes it; else `StartOver`, the
/// right choice for a new method until its state is checked (`Method::resumable`).
macro_rules! methods {
    ($($module:ident => $name:literal, $mix:expr, $resume:ident, $summary:literal;)*) => {
        $(pub mod $module;)*

        pub(crate) const TABLE: &[crate::registry::Entry] = &[$(crate::registry::Entry {
            name: $name,
            summary: $summary,
            mix: $mix,
            resume: crate::method::Resume::$resume,
            build: $module::build,
        }),*];
    };
}

/// RepDistiller's KD weighting: 0.1 · CE beside the method's 0.9-weighted soft targets.
const KD_MIX: Mix = Mix { ce: 0.1, kd: 0.0, kd_temperature: 4.0 };
/// SMLDist weighs its own cross-entropy by (1 − α).
const OWN_CE: Mix = Mix { ce: 0.0, kd: 0.0, kd_temperature: 4.0 };

methods! {
    kd => "kd", KD_MIX, FromCheckpoint, "Hinton et al. 2015: soft targets at temperature 4";
    fitnets => "fitnets", Mix::CE, FromCheckpoint, "Romero et al. 2015: hint MSE through a conv regressor";
    at => "at", Mix::CE, FromCheckpoint, "Zagoruyko & Komodakis 2017: attention maps over time";
    sp => "sp", Mix::CE, FromCheckpoint, "Tung & Mori 2019: batch similarity matrices";
    rkd => "rkd", Mix::CE, FromCheckpoint, "Park et al. 2019: distance and angle relations";
    pkt => "pkt", Mix::CE, FromCheckpoint, "Passalis & Tefas 2018: probabilistic cosine-similarity transfer";
    nst => "nst", Mix::CE, FromCheckpoint, "Huang & Wang 2017: MMD of neuron selectivity profiles";
    crd => "crd", Mix::CE, StartOver, "Tian et al. 2020: contrastive, memory bank of negatives";
    dkd => "dkd", Mix::CE, FromCheckpoint, "Zhao et al. 2022: decoupled target / non-target KD";
    dist => "dist", Mix::CE, FromCheckpoint, "Huang et al. 2022: Pearson inter- and intra-class relations";
    logit_std => "logit-std", KD_MIX, FromCheckpoint, "Sun et al. 2024: KD on z-scored logits";
    cc => "cc", Mix::CE, FromCheckpoint, "Peng et al. 2019: correlation congruence of embeddings";
    vid => "vid", Mix::CE, FromCheckpoint, "Ahn et al. 2019: variational information (Gaussian NLL)";
    ft => "ft", Mix::CE, FromCheckpoint, "Kim et al. 2018: factor transfer via paraphraser / translator";
    fsp => "fsp", Mix::CE, FromCheckpoint, "Yim et al. 2017: flow matrices, pre-training stage";
    ab => "ab", Mix::CE, FromCheckpoint, "Heo et al. 2019: activation boundaries with a margin, pre-training stage";
    reviewkd => "reviewkd", Mix::CE, FromCheckpoint, "Chen et al. 2021: knowledge review, attention-fused levels, hierarchical context loss";
    smldist => "smldist", OWN_CE, FromCheckpoint, "Chen et al. 2021: frequency-aware stage, Hopfield memory, conditional logits, searched heads";
}

use crate::method::Shapes;
use crate::DistillError;
use serde::de::DeserializeOwned;

pub(crate) fn parse<C: DeserializeOwned>(method: &str, params: serde_json::Value) -> Result<C, DistillError> {
    serde_json::from_value(params).map_err(|e| DistillError::Config { method: method.into(), message: e.to_string() })
}

/// A weight must be finite and ≥ 0.
pub(crate) fn weight(method: &str, field: &str, value: f64) -> Result<(), DistillError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(DistillError::Config { method: method.into(), message: format!("`{field}` = {value} must be finite and ≥ 0") })
    }
}

/// A temperature or scale must be finite and > 0.
pub(crate) fn positive(method: &str, field: &str, value: f64) -> Result<(), DistillError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(DistillError::Config { method: method.into(), message: format!("`{field}` = {value} must be finite and > 0") })
    }
}

/// Anchor indices must exist in both models.
pub(crate) fn anchors_exist(method: &str, anchors: &[usize], student: &Shapes, teacher: &Shapes) -> Result<(), DistillError> {
    let n = student.anchors.len().min(teacher.anchors.len());
    if anchors.is_empty() {
        return Err(DistillError::Config { method: method.into(), message: "`anchors` is empty".into() });
    }
    match anchors.iter().find(|&&a| a >= n) {
        Some(a) => Err(DistillError::Shapes {
            method: method.into(),
            message: format!(
                "anchor {a} does not exist (student has {}, teacher {} anchors)",
                student.anchors.len(),
                teacher.anchors.len()
            ),
        }),
        None => Ok(()),
    }
}

/// One 1×1 conv + batch-norm connector per anchor, from the student's channels to the teacher's
/// (FSP's adapters, AB's connectors), after checking both models have the same number of anchors,
/// at least `min`. Returns the parts and the teacher's anchor lengths.
pub(crate) fn anchor_connectors(
    method: &str,
    min: usize,
    student: &Shapes,
    teacher: &Shapes,
    device: &burn::tensor::Device,
) -> Result<(crate::parts::Parts, Vec<usize>), DistillError> {
    let n = student.anchors.len();
    if n < min || n != teacher.anchors.len() {
        return Err(DistillError::Shapes {
            method: method.into(),
            message: format!("needs the same number (≥ {min}) of anchors; student {n}, teacher {}", teacher.anchors.len()),
        });
    }
    let mut parts = crate::parts::Parts::default();
    for (s, t) in student.anchors.iter().zip(&teacher.anchors) {
        parts.push(crate::parts::Part::Conv(crate::parts::ConvHead::new(&[s.0, t.0], 1, false, true, false, device)));
    }
    Ok((parts, teacher.anchors.iter().map(|a| a.1).collect()))
}

/// The student's anchors through their connectors (part `i` for anchor `i`), resized to the
/// teacher's lengths.
pub(crate) fn connect(parts: &crate::parts::Parts, anchors: &[burn::tensor::Tensor<3>], lengths: &[usize]) -> Vec<burn::tensor::Tensor<3>> {
    anchors.iter().enumerate().map(|(i, a)| crate::ops::resize_time(parts.conv(i).forward(a.clone()), lengths[i])).collect()
}

/// The weight of a method that has a pre-training stage: `pretrain` there, `main` afterwards.
pub(crate) fn stage_weight(stage: harbench_train::Stage, pretrain: f64, main: f64) -> f64 {
    match stage {
        harbench_train::Stage::Pretrain => pretrain,
        harbench_train::Stage::Main => main,
    }
}
