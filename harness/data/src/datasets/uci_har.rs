//! UCI-HAR (Anguita et al. 2013), regenerated from the raw recordings of UCI-HAPT v2.1
//! following the UCI-HAR protocol: 50 Hz; median filter and a 20 Hz 3rd-order Butterworth
//! low-pass against noise; gravity separated with a 0.3 Hz Butterworth low-pass; 2.56 s windows
//! with 50 % overlap cut inside each labelled activity; the six basic activities only
//! (postural transitions dropped); the official 21/9 subject split read from UCI-HAR's files.

use super::{file_name, list_dir, number_after};
use crate::error::{DataError, Result};
use crate::formats::text::{self, Separator};
use crate::recording::{RawData, Recording, UNLABELLED};
use crate::registry::Dataset;
use crate::signal;
use crate::spec::{Channel, DatasetSpec, Holdout, LabelRule, Source};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub struct UciHar;

const HAPT: &str = "uci-hapt/HAPT Data Set";
const META: &str = "uci-har-meta/UCI HAR Dataset";
const RATE: f64 = 50.0;

impl Dataset for UciHar {
    fn spec(&self) -> DatasetSpec {
        let mut channels = Channel::triaxial("waist", &[("body_acc", "g"), ("body_gyro", "rad/s")]);
        channels.extend(Channel::triaxial("waist", &[("total_acc", "g")]));
        DatasetSpec {
            id: "uci-har",
            title: "UCI Human Activity Recognition Using Smartphones (regenerated from HAPT raw signals)",
            citation: "D. Anguita, A. Ghio, L. Oneto, X. Parra, J. L. Reyes-Ortiz. A Public Domain Dataset for Human Activity Recognition Using Smartphones. ESANN 2013. Raw signals: J.-L. Reyes-Ortiz, L. Oneto, A. Samà, X. Parra, D. Anguita. Transition-Aware Human Activity Recognition Using Smartphones. Neurocomputing 171, 2016.",
            licence: "CC BY 4.0",
            homepage: "https://archive.ics.uci.edu/dataset/240",
            sources: &[
                Source {
                    id: "uci-hapt",
                    urls: &["https://archive.ics.uci.edu/static/public/341/smartphone+based+recognition+of+human+activities+and+postural+transitions.zip"],
                    manifest: Some(include_str!("../../../../datasets/manifests/uci-hapt.sha256")),
                    archive_sha256: None,
                },
                Source {
                    id: "uci-har-meta",
                    urls: &["https://archive.ics.uci.edu/static/public/240/human+activity+recognition+using+smartphones.zip"],
                    manifest: Some(include_str!("../../../../datasets/manifests/uci-har-meta.sha256")),
                    archive_sha256: None,
                },
            ],
            rate_hz: RATE,
            channels,
            classes: vec!["walking", "walking_upstairs", "walking_downstairs", "sitting", "standing", "laying"],
            subjects: (1..=30).collect(),
            window_s: 2.56,
            overlap: 0.5,
            label_rule: LabelRule::Pure,
            holdout: Holdout::Official,
            note: "regenerated from the raw HAPT signals; the official 561-feature files are not used",
        }
    }

    fn read(&self, raw: &Path) -> Result<RawData> {
        let hapt = raw.join(HAPT);
        let segments = read_labels(&hapt.join("RawData/labels.txt"))?;
        let experiments = find_experiments(&hapt.join("RawData"))?;
        let recordings = experiments
            .par_iter()
            .map(|(&(exp, user), paths)| read_experiment(exp, user, paths, segments.get(&exp).map(Vec::as_slice).unwrap_or(&[])))
            .collect::<Result<Vec<_>>>()?;
        let test_subjects = read_subjects(&raw.join(META).join("test/subject_test.txt"))?;
        let train_subjects = read_subjects(&raw.join(META).join("train/subject_train.txt"))?;
        if let Some(both) = test_subjects.iter().find(|s| train_subjects.contains(s)) {
            return Err(DataError::format(raw.join(META), format!("subject {both} is in both the official train and test lists")));
        }
        Ok(RawData { recordings, official_test_subjects: Some(test_subjects.into_iter().collect()), notes: vec![] })
    }
}

/// (experiment, activity 1-12, first sample, last sample) rows of `labels.txt`, 1-based inclusive.
/// Labelled segments of one experiment: (activity 1-12, first sample, last sample).
type Segments = Vec<(u32, usize, usize)>;

fn read_labels(path: &Path) -> Result<BTreeMap<u32, Segments>> {
    let text = text::read_to_string(path)?;
    let mut out: BTreeMap<u32, Vec<_>> = BTreeMap::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        if f.len() != 5 {
            return Err(DataError::parse(path, i + 1, format!("expected 5 columns (exp user activity start end), found {}", f.len())));
        }
        let n = |c: usize| text::field_u32(f[c], path, i + 1, c + 1);
        let (exp, activity, start, end) = (n(0)?, n(2)?, n(3)? as usize, n(4)? as usize);
        if start == 0 || end < start {
            return Err(DataError::parse(path, i + 1, format!("segment {start}..{end} is empty or not 1-based")));
        }
        out.entry(exp).or_default().push((activity, start, end));
    }
    Ok(out)
}

/// `(experiment, user) → [acc file, gyro file]` from the `RawData` folder.
fn find_experiments(dir: &Path) -> Result<BTreeMap<(u32, u32), [PathBuf; 2]>> {
    let mut out = BTreeMap::new();
    for path in list_dir(dir)? {
        let name = file_name(&path);
        if let Some(rest) = name.strip_prefix("acc_exp") {
            let exp = number_after(rest, "").ok_or_else(|| DataError::format(&path, "cannot read the experiment number"))?;
            let user = rest.find("_user").and_then(|i| number_after(&rest[i..], "_user"));
            let user = user.ok_or_else(|| DataError::format(&path, "cannot read the user number (expected acc_expXX_userYY.txt)"))?;
            let gyro = dir.join(name.replacen("acc_", "gyro_", 1));
            out.insert((exp, user), [path, gyro]);
        }
    }
    if out.is_empty() {
        return Err(DataError::format(dir, "no acc_expXX_userYY.txt files"));
    }
    Ok(out)
}

fn read_experiment(exp: u32, user: u32, [acc_path, gyro_path]: &[PathBuf; 2], segments: &[(u32, usize, usize)]) -> Result<Recording> {
    let acc = text::numeric_table(&text::read_to_string(acc_path)?, acc_path, 3, Separator::Whitespace)?;
    let gyro = text::numeric_table(&text::read_to_string(gyro_path)?, gyro_path, 3, Separator::Whitespace)?;
    let n = acc.len() / 3;
    if gyro.len() / 3 != n {
        return Err(DataError::format(gyro_path, format!("{} rows, but {} has {n}", gyro.len() / 3, acc_path.display())));
    }
    // Noise: median filter, then a 20 Hz low-pass, on all six raw channels.
    let mut raw6: Vec<f32> = (0..n).flat_map(|t| [&acc[t * 3..t * 3 + 3], &gyro[t * 3..t * 3 + 3]].concat()).collect();
    signal::median_filter(&mut raw6, 6, 3);
    let clean = signal::filtfilt_channels(&signal::butter_lowpass(3, 20.0, RATE), &raw6, 6);
    // Gravity: 0.3 Hz low-pass of the total acceleration.
    let total_acc: Vec<f32> = (0..n).flat_map(|t| clean[t * 6..t * 6 + 3].to_vec()).collect();
    let gravity = signal::filtfilt_channels(&signal::butter_lowpass(3, 0.3, RATE), &total_acc, 3);
    let mut samples = Vec::with_capacity(n * 9);
    for t in 0..n {
        samples.extend((0..3).map(|a| total_acc[t * 3 + a] - gravity[t * 3 + a]));
        samples.extend_from_slice(&clean[t * 6 + 3..t * 6 + 6]);
        samples.extend_from_slice(&total_acc[t * 3..t * 3 + 3]);
    }
    let mut labels = vec![UNLABELLED; n];
    for &(activity, start, end) in segments {
        if end > n {
            return Err(DataError::format(
                acc_path,
                format!("labels.txt segment {start}..{end} of experiment {exp} runs past its {n} samples"),
            ));
        }
        // Activities 1-6 are the UCI-HAR classes; 7-12 are postural transitions, dropped.
        if (1..=6).contains(&activity) {
            labels[start - 1..end].fill((activity - 1) as u16);
        }
    }
    Ok(Recording { subject: user, origin: acc_path.display().to_string(), channels: 9, samples, labels })
}

fn read_subjects(path: &Path) -> Result<BTreeSet<u32>> {
    let text = text::read_to_string(path)?;
    text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).map(|(i, l)| text::field_u32(l, path, i + 1, 1)).collect()
}
