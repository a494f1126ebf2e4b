//! Train / validation / test splits of prepared windows, and per-channel normalisation fitted on
//! the training split only.
//!
//! * `holdout-subjects`: the dataset's published test subjects, or (when it publishes none) a
//!   fixed fraction of subjects drawn with a fixed seed [ours].
//! * `loso`: k folds by subject (k = number of subjects unless given), averaged by the caller.
//! * `random`: stratified by class over windows. Windows of one subject land on both sides, so
//!   scores are inflated; every fold of this protocol is marked `leaky`.
//!
//! Validation always comes from the training side: whole training subjects for the subject
//! protocols, so model selection never sees a test subject.

use crate::cache::CacheMeta;
use crate::error::{DataError, Result};
use crate::spec::Holdout;
use crate::window::Windows;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "protocol")]
pub enum Protocol {
    HoldoutSubjects,
    Loso { folds: Option<usize> },
    Random,
}

impl std::str::FromStr for Protocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "holdout-subjects" => Ok(Protocol::HoldoutSubjects),
            "loso" => Ok(Protocol::Loso { folds: None }),
            "random" => Ok(Protocol::Random),
            other => match other.strip_prefix("loso-").and_then(|k| k.parse().ok()) {
                Some(k) => Ok(Protocol::Loso { folds: Some(k) }),
                None => Err(format!("unknown split '{other}' (expected holdout-subjects, loso, loso-<k> or random)")),
            },
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Protocol::HoldoutSubjects => write!(f, "holdout-subjects"),
            Protocol::Loso { folds: None } => write!(f, "loso"),
            Protocol::Loso { folds: Some(k) } => write!(f, "loso-{k}"),
            Protocol::Random => write!(f, "random"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitConfig {
    pub protocol: Protocol,
    /// Share of training subjects (or windows, for `random`) kept for validation.
    pub val_fraction: f64,
    /// Share of windows in the test set of `random`.
    pub test_fraction: f64,
    /// Seed of the validation draw (and of `random`, and of the LOSO grouping).
    pub seed: u64,
}

impl Default for SplitConfig {
    fn default() -> Self {
        SplitConfig { protocol: Protocol::HoldoutSubjects, val_fraction: 0.15, test_fraction: 0.2, seed: 0 }
    }
}

/// Seed used to draw holdout test subjects when a dataset publishes none: fixed, so that every
/// run of every seed sees the same test subjects.
const HOLDOUT_SEED: u64 = 0x4841_5242; // "HARB"

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fold {
    pub name: String,
    pub train: Vec<usize>,
    pub val: Vec<usize>,
    pub test: Vec<usize>,
    pub test_subjects: Vec<u32>,
    pub val_subjects: Vec<u32>,
    /// True when windows of one subject may be on both sides (random splits).
    pub leaky: bool,
}

/// The folds of `config.protocol` over `windows`.
pub fn folds(windows: &Windows, meta: &CacheMeta, holdout: &Holdout, config: &SplitConfig) -> Result<Vec<Fold>> {
    if !(0.0..1.0).contains(&config.val_fraction) || !(0.0..1.0).contains(&config.test_fraction) {
        return Err(DataError::config("val_fraction/test_fraction", "fractions must be in [0, 1)"));
    }
    let subjects: Vec<u32> = windows.subject.iter().copied().collect::<BTreeSet<_>>().into_iter().collect();
    match config.protocol {
        Protocol::Random => Ok(vec![random_fold(windows, config)]),
        Protocol::HoldoutSubjects => {
            let test: BTreeSet<u32> = match holdout {
                Holdout::Official => meta
                    .official_test_subjects
                    .clone()
                    .ok_or_else(|| {
                        DataError::config(
                            "split",
                            format!("{} declares an official split but its cache has no test subjects", meta.config.dataset),
                        )
                    })?
                    .into_iter()
                    .collect(),
                Holdout::Fraction(f) => draw(&subjects, *f, HOLDOUT_SEED).into_iter().collect(),
                Holdout::Subjects(fixed) => fixed.iter().copied().collect(),
            };
            Ok(vec![subject_fold("holdout".into(), windows, &subjects, &test, config)?])
        }
        Protocol::Loso { folds } => {
            let k = folds.unwrap_or(subjects.len());
            if k < 2 || k > subjects.len() {
                return Err(DataError::config("split", format!("loso needs 2 to {} folds, got {k}", subjects.len())));
            }
            let mut order = subjects.clone();
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(config.seed));
            (0..k)
                .map(|i| {
                    let test: BTreeSet<u32> = order.iter().skip(i).step_by(k).copied().collect();
                    let name = format!("loso-{}", test.iter().map(u32::to_string).collect::<Vec<_>>().join("+"));
                    subject_fold(name, windows, &subjects, &test, config)
                })
                .collect()
        }
    }
}

/// `round(fraction × n)` of `items` (at least one), drawn with `seed`, sorted.
fn draw(items: &[u32], fraction: f64, seed: u64) -> Vec<u32> {
    let mut shuffled = items.to_vec();
    shuffled.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let n = ((items.len() as f64 * fraction).round() as usize).clamp(1, items.len().saturating_sub(1).max(1));
    let mut out = shuffled[..n].to_vec();
    out.sort();
    out
}

fn subject_fold(name: String, windows: &Windows, subjects: &[u32], test: &BTreeSet<u32>, config: &SplitConfig) -> Result<Fold> {
    let train_subjects: Vec<u32> = subjects.iter().copied().filter(|s| !test.contains(s)).collect();
    if train_subjects.len() < 2 {
        return Err(DataError::config(
            "split",
            format!("{name}: {} training subject(s); at least 2 are needed to carve a validation set", train_subjects.len()),
        ));
    }
    let val: BTreeSet<u32> = if config.val_fraction > 0.0 {
        draw(&train_subjects, config.val_fraction, config.seed).into_iter().collect()
    } else {
        BTreeSet::new()
    };
    let mut fold = Fold {
        name,
        train: vec![],
        val: vec![],
        test: vec![],
        test_subjects: test.iter().copied().collect(),
        val_subjects: val.iter().copied().collect(),
        leaky: false,
    };
    for (i, s) in windows.subject.iter().enumerate() {
        if test.contains(s) {
            fold.test.push(i);
        } else if val.contains(s) {
            fold.val.push(i);
        } else {
            fold.train.push(i);
        }
    }
    if fold.test.is_empty() {
        return Err(DataError::config("split", format!("{}: none of the test subjects {:?} has a window", fold.name, fold.test_subjects)));
    }
    Ok(fold)
}

fn random_fold(windows: &Windows, config: &SplitConfig) -> Fold {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut fold =
        Fold { name: "random".into(), train: vec![], val: vec![], test: vec![], test_subjects: vec![], val_subjects: vec![], leaky: true };
    let classes: BTreeSet<u16> = windows.y.iter().copied().collect();
    for class in classes {
        let mut idx: Vec<usize> = (0..windows.len()).filter(|&i| windows.y[i] == class).collect();
        idx.shuffle(&mut rng);
        let n_test = (idx.len() as f64 * config.test_fraction).round() as usize;
        let n_val = ((idx.len() - n_test) as f64 * config.val_fraction).round() as usize;
        fold.test.extend_from_slice(&idx[..n_test]);
        fold.val.extend_from_slice(&idx[n_test..n_test + n_val]);
        fold.train.extend_from_slice(&idx[n_test + n_val..]);
    }
    for v in [&mut fold.train, &mut fold.val, &mut fold.test] {
        v.sort();
    }
    fold
}

/// How each channel is scaled, with statistics of the training windows only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scaling {
    /// `(x − mean) / std` (harbench's default).
    #[default]
    ZScore,
    /// The SMLDist authors' `process_robust`: clip to the Tukey fences `[q25 − 1.5·IQR,
    /// q75 + 1.5·IQR]`, then map them to [0, 1] (quartiles as numpy's default percentile).
    Robust,
}

impl Scaling {
    /// The default is not serialised, so that settings written before the choice existed keep
    /// their hashes.
    pub fn is_z_score(&self) -> bool {
        *self == Scaling::ZScore
    }
}

impl std::str::FromStr for Scaling {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "z-score" => Ok(Scaling::ZScore),
            "robust" => Ok(Scaling::Robust),
            other => Err(format!("unknown scaling '{other}' (expected z-score or robust)")),
        }
    }
}

/// Per-channel scaling fitted on the training windows only: `(clamp(x) − mean) / std`, where
/// the clamp is only there for [`Scaling::Robust`] (whose `mean` is the lower fence and `std`
/// the width between the fences).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    /// Per-channel `[low, high]` each value is clamped to first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip: Option<Vec<[f32; 2]>>,
}

impl Normalizer {
    /// The scaling `how`, fitted on the windows at `train`.
    pub fn fit_with(windows: &Windows, train: &[usize], how: Scaling) -> Normalizer {
        match how {
            Scaling::ZScore => Normalizer::fit(windows, train),
            Scaling::Robust => Normalizer::fit_robust(windows, train),
        }
    }

    /// Per-channel z-score.
    pub fn fit(windows: &Windows, train: &[usize]) -> Normalizer {
        let (c, l) = (windows.channels, windows.length);
        let mut sum = vec![0f64; c];
        let mut sq = vec![0f64; c];
        for &i in train {
            let w = windows.window(i);
            for ch in 0..c {
                for &v in &w[ch * l..(ch + 1) * l] {
                    sum[ch] += v as f64;
                    sq[ch] += (v as f64) * (v as f64);
                }
            }
        }
        let n = (train.len() * l).max(1) as f64;
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let std = sq
            .iter()
            .zip(&mean)
            .map(|(s, m)| (s / n - m * m).max(0.0).sqrt() as f32)
            // A constant channel gets std 1, so it maps to 0 instead of dividing by zero.
            .map(|s| if s < 1e-6 { 1.0 } else { s })
            .collect();
        Normalizer { mean: mean.into_iter().map(|m| m as f32).collect(), std, clip: None }
    }

    /// Tukey fences from the quartiles of every training sample of each channel.
    fn fit_robust(windows: &Windows, train: &[usize]) -> Normalizer {
        let (c, l) = (windows.channels, windows.length);
        let mut fences = Vec::with_capacity(c);
        for ch in 0..c {
            let mut values: Vec<f32> = train.iter().flat_map(|&i| windows.window(i)[ch * l..(ch + 1) * l].iter().copied()).collect();
            values.sort_unstable_by(f32::total_cmp);
            let (q25, q75) = (percentile(&values, 0.25), percentile(&values, 0.75));
            let iqr = q75 - q25;
            fences.push([(q25 - 1.5 * iqr) as f32, (q75 + 1.5 * iqr) as f32]);
        }
        let mean = fences.iter().map(|f| f[0]).collect();
        // A constant channel has no width between its fences: it maps to 0.
        let std = fences.iter().map(|f| f[1] - f[0]).map(|w| if w < 1e-6 { 1.0 } else { w }).collect();
        Normalizer { mean, std, clip: Some(fences) }
    }

    /// Normalises one window in place (`[C][L]` layout).
    pub fn apply(&self, window: &mut [f32]) {
        let l = window.len() / self.mean.len();
        for (ch, chunk) in window.chunks_mut(l).enumerate() {
            let [low, high] = self.clip.as_ref().map_or([f32::NEG_INFINITY, f32::INFINITY], |c| c[ch]);
            for v in chunk {
                *v = (v.clamp(low, high) - self.mean[ch]) / self.std[ch];
            }
        }
    }
}

/// numpy's default (`linear`) percentile of sorted values: interpolated at `q · (n − 1)`.
fn percentile(sorted: &[f32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = q * (sorted.len() - 1) as f64;
    let (below, frac) = (at.floor() as usize, at.fract());
    let next = sorted[(below + 1).min(sorted.len() - 1)] as f64;
    sorted[below] as f64 + frac * (next - sorted[below] as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prepare::PrepareConfig;
    use crate::spec::LabelRule;

    fn windows(subjects: &[u32], per_subject: usize) -> Windows {
        let mut w = Windows::new(2, 3);
        for &s in subjects {
            for k in 0..per_subject {
                w.x.extend([s as f32, s as f32, s as f32, 10.0, 10.0, 10.0]);
                w.y.push((k % 3) as u16);
                w.subject.push(s);
            }
        }
        w
    }

    fn meta(official: Option<Vec<u32>>) -> CacheMeta {
        CacheMeta {
            config: PrepareConfig { dataset: "t".into(), rate_hz: 1.0, window_s: 3.0, overlap: 0.0, label_rule: LabelRule::Majority },
            config_hash: String::new(),
            classes: vec!["a".into(), "b".into(), "c".into()],
            channels: vec!["c1".into(), "c2".into()],
            window_length: 3,
            official_test_subjects: official,
            source_checksums: Default::default(),
            notes: vec![],
            harbench_version: String::new(),
        }
    }

    fn disjoint_by_subject(w: &Windows, f: &Fold) {
        let set = |idx: &[usize]| idx.iter().map(|&i| w.subject[i]).collect::<BTreeSet<_>>();
        let (tr, va, te) = (set(&f.train), set(&f.val), set(&f.test));
        assert!(tr.is_disjoint(&te) && tr.is_disjoint(&va) && va.is_disjoint(&te), "{f:?}");
        assert_eq!(f.train.len() + f.val.len() + f.test.len(), w.len());
    }

    #[test]
    fn official_holdout_uses_the_published_subjects() {
        let w = windows(&[1, 2, 3, 4, 5, 6], 4);
        let f = &folds(&w, &meta(Some(vec![2, 5])), &Holdout::Official, &SplitConfig::default()).unwrap()[0];
        assert_eq!(f.test_subjects, vec![2, 5]);
        assert_eq!(f.val_subjects.len(), 1);
        disjoint_by_subject(&w, f);
        assert!(folds(&w, &meta(None), &Holdout::Official, &SplitConfig::default()).is_err());
    }

    #[test]
    fn fixed_holdout_subjects_are_the_test_set() {
        let w = windows(&(1..=6).collect::<Vec<_>>(), 2);
        let f = &folds(&w, &meta(None), &Holdout::Subjects(&[5, 6]), &SplitConfig::default()).unwrap()[0];
        assert_eq!(f.test_subjects, vec![5, 6]);
        disjoint_by_subject(&w, f);
        let err = folds(&w, &meta(None), &Holdout::Subjects(&[9]), &SplitConfig::default()).unwrap_err().to_string();
        assert!(err.contains("none of the test subjects [9] has a window"), "{err}");
    }

    #[test]
    fn fraction_holdout_is_fixed_across_seeds() {
        let w = windows(&(1..=10).collect::<Vec<_>>(), 3);
        let a = &folds(&w, &meta(None), &Holdout::Fraction(0.3), &SplitConfig { seed: 1, ..Default::default() }).unwrap()[0];
        let b = &folds(&w, &meta(None), &Holdout::Fraction(0.3), &SplitConfig { seed: 2, ..Default::default() }).unwrap()[0];
        assert_eq!(a.test_subjects, b.test_subjects);
        assert_eq!(a.test_subjects.len(), 3);
        disjoint_by_subject(&w, a);
        disjoint_by_subject(&w, b);
    }

    #[test]
    fn loso_covers_every_subject_once() {
        let w = windows(&[1, 2, 3, 4, 5], 2);
        let all = folds(
            &w,
            &meta(None),
            &Holdout::Fraction(0.3),
            &SplitConfig { protocol: Protocol::Loso { folds: None }, ..Default::default() },
        )
        .unwrap();
        assert_eq!(all.len(), 5);
        let mut tested: Vec<u32> = all.iter().flat_map(|f| f.test_subjects.clone()).collect();
        tested.sort();
        assert_eq!(tested, vec![1, 2, 3, 4, 5]);
        all.iter().for_each(|f| disjoint_by_subject(&w, f));
        let k2 = folds(
            &w,
            &meta(None),
            &Holdout::Fraction(0.3),
            &SplitConfig { protocol: Protocol::Loso { folds: Some(2) }, ..Default::default() },
        )
        .unwrap();
        assert_eq!(k2.len(), 2);
        let bad = SplitConfig { protocol: Protocol::Loso { folds: Some(9) }, ..Default::default() };
        assert!(folds(&w, &meta(None), &Holdout::Fraction(0.3), &bad).is_err());
    }

    #[test]
    fn random_split_is_stratified_and_marked_leaky() {
        let w = windows(&[1, 2], 30); // 20 windows per class
        let f =
            &folds(&w, &meta(None), &Holdout::Fraction(0.3), &SplitConfig { protocol: Protocol::Random, ..Default::default() }).unwrap()[0];
        assert!(f.leaky);
        for class in 0..3u16 {
            assert_eq!(f.test.iter().filter(|&&i| w.y[i] == class).count(), 4);
        }
        let mut all: Vec<usize> = f.train.iter().chain(&f.val).chain(&f.test).copied().collect();
        all.sort();
        assert_eq!(all, (0..w.len()).collect::<Vec<_>>());
    }

    #[test]
    fn normalizer_uses_training_windows_only_and_survives_constant_channels() {
        let w = windows(&[1, 3, 100], 1);
        let n = Normalizer::fit(&w, &[0, 1]);
        assert_eq!(n.mean, vec![2.0, 10.0]);
        assert_eq!(n.std, vec![1.0, 1.0]); // channel 2 is constant: std 1, not 0
        let mut x = w.window(1).to_vec();
        n.apply(&mut x);
        assert_eq!(x, vec![1.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
    }

    /// Values of the authors' `process_robust` in numpy: tests/reference/robust_scaling.py
    /// (quartiles 1.25 and 3.75, fences −2.5 and 7.5, scaled 0, 0.75, 1).
    #[test]
    fn robust_scaling_clips_to_the_tukey_fences_of_the_training_windows() {
        let mut w = Windows::new(1, 3);
        w.x = vec![0.0, 1.0, 2.0, 3.0, 4.0, 100.0, -50.0, 5.0, 50.0];
        w.y = vec![0, 0, 0];
        w.subject = vec![1, 1, 2];
        let n = Normalizer::fit_with(&w, &[0, 1], Scaling::Robust);
        // IQR 2.5: fences 1.25 − 3.75 = −2.5 and 3.75 + 3.75 = 7.5, width 10.
        assert_eq!(n.clip, Some(vec![[-2.5, 7.5]]));
        assert_eq!((n.mean.clone(), n.std.clone()), (vec![-2.5], vec![10.0]));
        let mut x = w.window(2).to_vec();
        n.apply(&mut x);
        assert_eq!(x, vec![0.0, 0.75, 1.0]);
        // The z-score is unchanged by the choice and writes no clip.
        assert_eq!(Normalizer::fit_with(&w, &[0, 1], Scaling::ZScore), Normalizer::fit(&w, &[0, 1]));
        assert!(!serde_json::to_string(&Normalizer::fit(&w, &[0])).unwrap().contains("clip"));
        assert_eq!("robust".parse::<Scaling>(), Ok(Scaling::Robust));
        assert!("minmax".parse::<Scaling>().unwrap_err().contains("z-score or robust"));
    }

    #[test]
    fn protocol_names_round_trip() {
        for name in ["holdout-subjects", "loso", "loso-5", "random"] {
            assert_eq!(name.parse::<Protocol>().unwrap().to_string(), name);
        }
        assert!("leave-one-out".parse::<Protocol>().is_err());
    }
}
