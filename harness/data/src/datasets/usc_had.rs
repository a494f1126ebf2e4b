//! USC-HAD v1.0 (Zhang & Sawchuk 2012): one MATLAB v5 file per subject, activity and trial,
//! `SubjectN/aMtN.mat`, variable `sensor_readings` (N × 6: acc xyz in g, gyro xyz in dps),
//! 100 Hz, one MotionNode at the front right hip.

use super::{file_name, list_dir, number_after};
use crate::error::{DataError, Result};
use crate::formats::mat5;
use crate::recording::{RawData, Recording};
use crate::registry::Dataset;
use crate::spec::{Channel, DatasetSpec, Holdout, LabelRule, Source};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

pub struct UscHad;

const ROOT: &str = "usc-had/USC-HAD";
const CLASSES: usize = 12;

impl Dataset for UscHad {
    fn spec(&self) -> DatasetSpec {
        DatasetSpec {
            id: "usc-had",
            title: "USC Human Activity Dataset v1.0",
            citation: "M. Zhang, A. A. Sawchuk. USC-HAD: A Daily Activity Dataset for Ubiquitous Activity Recognition Using Wearable Sensors. UbiComp 2012 (SAGAware workshop).",
            licence: "free for research use with citation (no licence text in the release)",
            homepage: "https://sipi.usc.edu/had/",
            sources: &[Source {
                id: "usc-had",
                urls: &["https://sipi.usc.edu/had/USC-HAD.zip"],
                manifest: Some(include_str!("../../../../datasets/manifests/usc-had.sha256")),
                archive_sha256: None,
            }],
            rate_hz: 100.0,
            channels: Channel::triaxial("front-right-hip", &[("acc", "g"), ("gyro", "deg/s")]),
            classes: vec![
                "walking_forward", "walking_left", "walking_right", "walking_upstairs", "walking_downstairs", "running_forward",
                "jumping_up", "sitting", "standing", "sleeping", "elevator_up", "elevator_down",
            ],
            subjects: (1..=14).collect(),
            window_s: 2.56,
            overlap: 0.5,
            label_rule: LabelRule::Majority,
            holdout: Holdout::Fraction(0.3),
            note: "",
        }
    }

    fn read(&self, raw: &Path) -> Result<RawData> {
        let mut files: Vec<(u32, PathBuf)> = Vec::new();
        for dir in list_dir(&raw.join(ROOT))?.into_iter().filter(|p| p.is_dir()) {
            let Some(subject) = number_after(file_name(&dir), "Subject") else { continue };
            files.extend(list_dir(&dir)?.into_iter().filter(|p| file_name(p).ends_with(".mat")).map(|p| (subject, p)));
        }
        if files.is_empty() {
            return Err(DataError::format(raw.join(ROOT), "no SubjectN/aMtN.mat files"));
        }
        let recordings = files.par_iter().map(|(subject, path)| read_trial(*subject, path)).collect::<Result<Vec<_>>>()?;
        Ok(RawData { recordings, official_test_subjects: None, notes: vec![] })
    }
}

fn read_trial(subject: u32, path: &Path) -> Result<Recording> {
    let activity = number_after(file_name(path), "a")
        .filter(|a| (1..=CLASSES as u32).contains(a))
        .ok_or_else(|| DataError::format(path, "file name is not aMtN.mat with activity M in 1-12"))?;
    let vars = mat5::read_file(path)?;
    let (rows, cols, data) = mat5::matrix(&vars, "sensor_readings", path)?;
    if cols != 6 {
        return Err(DataError::format(path, format!("sensor_readings has {cols} columns, expected 6 (acc xyz, gyro xyz); {rows} rows")));
    }
    let samples = data.into_iter().map(|v| v as f32).collect();
    Ok(Recording::single_label(subject, path.display().to_string(), 6, samples, (activity - 1) as u16))
}
