//! MotionSense (Malekzadeh et al. 2019), DeviceMotion part:
//! `A_DeviceMotion_data/<activity>_<trial>/sub_<n>.csv`, an index column then 12 channels,
//! about 50 Hz, iPhone 6s in the front trouser pocket; 24 subjects.

use super::{file_name, list_dir, number_after};
use crate::error::{DataError, Result};
use crate::formats::text;
use crate::recording::{RawData, Recording};
use crate::registry::Dataset;
use crate::spec::{Channel, DatasetSpec, Holdout, LabelRule, Source};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

pub struct MotionSense;

const ROOT: &str = "motionsense/A_DeviceMotion_data";
/// Folder prefixes in class order.
const CODES: [&str; 6] = ["dws", "ups", "wlk", "jog", "sit", "std"];
const HEADER: [&str; 12] = [
    "attitude.roll",
    "attitude.pitch",
    "attitude.yaw",
    "gravity.x",
    "gravity.y",
    "gravity.z",
    "rotationRate.x",
    "rotationRate.y",
    "rotationRate.z",
    "userAcceleration.x",
    "userAcceleration.y",
    "userAcceleration.z",
];

impl Dataset for MotionSense {
    fn spec(&self) -> DatasetSpec {
        let mut channels = vec![
            Channel::new("attitude", "trouser-front-pocket", "roll", "rad"),
            Channel::new("attitude", "trouser-front-pocket", "pitch", "rad"),
            Channel::new("attitude", "trouser-front-pocket", "yaw", "rad"),
        ];
        channels.extend(Channel::triaxial("trouser-front-pocket", &[("gravity", "g"), ("rotation_rate", "rad/s"), ("user_acc", "g")]));
        DatasetSpec {
            id: "motionsense",
            title: "MotionSense (DeviceMotion data)",
            citation: "M. Malekzadeh, R. G. Clegg, A. Cavallaro, H. Haddadi. Mobile Sensor Data Anonymization. IoTDI 2019.",
            licence: "MIT (GitHub release); ODbL 1.0 (Kaggle mirror)",
            homepage: "https://github.com/mmalekzadeh/motion-sense",
            sources: &[Source {
                id: "motionsense",
                urls: &[
                    "https://github.com/mmalekzadeh/motion-sense/raw/master/data/A_DeviceMotion_data.zip",
                    "https://github.com/mmalekzadeh/motion-sense/raw/master/data/data_subjects_info.csv",
                ],
                manifest: Some(include_str!("../../../../datasets/manifests/motionsense.sha256")),
                archive_sha256: None,
            }],
            rate_hz: 50.0,
            channels,
            classes: vec!["downstairs", "upstairs", "walking", "jogging", "sitting", "standing"],
            subjects: (1..=24).collect(),
            window_s: 2.56,
            overlap: 0.5,
            label_rule: LabelRule::Majority,
            holdout: Holdout::Fraction(0.3),
            note: "",
        }
    }

    fn read(&self, raw: &Path) -> Result<RawData> {
        let mut files: Vec<(u16, PathBuf)> = Vec::new();
        for dir in list_dir(&raw.join(ROOT))?.into_iter().filter(|p| p.is_dir()) {
            let code = file_name(&dir).split('_').next().unwrap_or("");
            let Some(class) = CODES.iter().position(|c| *c == code) else {
                return Err(DataError::format(&dir, format!("unknown activity folder (expected one of {CODES:?} followed by _<trial>)")));
            };
            files.extend(list_dir(&dir)?.into_iter().filter(|p| file_name(p).ends_with(".csv")).map(|p| (class as u16, p)));
        }
        if files.is_empty() {
            return Err(DataError::format(raw.join(ROOT), "no <activity>_<trial>/sub_<n>.csv files"));
        }
        let recordings = files.par_iter().map(|(class, path)| read_trial(*class, path)).collect::<Result<Vec<_>>>()?;
        Ok(RawData { recordings, official_test_subjects: None, notes: vec![] })
    }
}

fn read_trial(class: u16, path: &Path) -> Result<Recording> {
    let subject = number_after(file_name(path), "sub_").ok_or_else(|| DataError::format(path, "file name is not sub_<n>.csv"))?;
    let content = text::read_to_string(path)?;
    let mut lines = content.lines().enumerate();
    let header: Vec<&str> = lines.next().map(|(_, l)| l.trim_start_matches('\u{feff}').split(',').collect()).unwrap_or_default();
    if header.len() != 13 || header[1..] != HEADER {
        return Err(DataError::parse(path, 1, format!("header must be an index column then {}", HEADER.join(","))));
    }
    let mut samples = Vec::with_capacity(content.len() / 10);
    for (i, line) in lines.filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != 13 {
            return Err(DataError::parse(path, i + 1, format!("expected 13 columns, found {}", fields.len())));
        }
        for (c, f) in fields[1..].iter().enumerate() {
            samples.push(text::field_f32(f, path, i + 1, c + 2)?);
        }
    }
    Ok(Recording::single_label(subject, path.display().to_string(), 12, samples, class))
}
