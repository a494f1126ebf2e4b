//! Daily and Sports Activities (Altun, Barshan & Tunçel 2010): `data/aNN/pM/sKK.txt` for activity
//! NN (01-19), subject M (1-8) and 5-s segment KK (01-60), each 125 rows × 45 comma-separated
//! values at 25 Hz: five Xsens MTx units (torso, right arm, left arm, right leg, left leg) × acc
//! xyz, gyro xyz, magnetometer xyz. Each segment is one recording and one 5-s window. The release
//! states no units; those given are the MTx's calibrated outputs (magnetometer: normalised to the
//! earth's field, a.u.).

use super::{file_name, find_below, number_between, parents};
use crate::error::{DataError, Result};
use crate::formats::text::{self, Separator};
use crate::recording::{RawData, Recording};
use crate::registry::Dataset;
use crate::spec::{Channel, DatasetSpec, Holdout, LabelRule, Source};
use rayon::prelude::*;
use std::path::Path;

pub struct Dsads;

const ID: &str = "dsads";
const ROWS: usize = 125;
const COLUMNS: usize = 45;
const UNITS: [&str; 5] = ["torso", "right-arm", "left-arm", "right-leg", "left-leg"];
const CLASSES: [&str; 19] = [
    "sitting",
    "standing",
    "lying_on_back",
    "lying_on_right_side",
    "ascending_stairs",
    "descending_stairs",
    "standing_in_elevator",
    "moving_in_elevator",
    "walking_in_parking_lot",
    "walking_treadmill_flat",
    "walking_treadmill_inclined",
    "running_treadmill",
    "stepper",
    "cross_trainer",
    "cycling_horizontal",
    "cycling_vertical",
    "rowing",
    "jumping",
    "basketball",
];

impl Dataset for Dsads {
    fn spec(&self) -> DatasetSpec {
        DatasetSpec {
            id: ID,
            title: "Daily and Sports Activities",
            citation: "K. Altun, B. Barshan, O. Tunçel. Comparative study on classifying human activities with miniature inertial and magnetic sensors. Pattern Recognition 43(10), 2010. Data: B. Barshan, K. Altun, UCI MLR 2013.",
            licence: "CC BY 4.0",
            homepage: "https://archive.ics.uci.edu/dataset/256",
            sources: &[Source {
                id: ID,
                urls: &["https://archive.ics.uci.edu/static/public/256/daily+and+sports+activities.zip"],
                // Per-file hashes of the public copy the project verified (docs/datasets.md,
                // "DSADS"); the official zip is checked by its own hash first.
                manifest: Some(include_str!("../../../../datasets/manifests/dsads.sha256")),
                archive_sha256: Some("f42ad7744ecf14151c9fa3a86dfb5b24de9d7cb7ffe956ef5de242983459c77e"),
            }],
            rate_hz: 25.0,
            channels: UNITS.iter().flat_map(|u| Channel::triaxial(u, &[("acc", "m/s^2"), ("gyro", "rad/s"), ("mag", "a.u.")])).collect(),
            classes: CLASSES.to_vec(),
            subjects: (1..=8).collect(),
            window_s: 5.0,
            overlap: 0.0,
            label_rule: LabelRule::Majority,
            holdout: Holdout::Fraction(0.25),
            note: "verified: the 9,120 segments of the public copy xushige/HAR-Dataset-Preprocess@1a66838 (per-file sha256); the official zip by its sha256",
        }
    }

    fn read(&self, raw: &Path) -> Result<RawData> {
        let files = find_below(raw, ID, "data/aNN/pM/sKK.txt", |p| segment_of(p).is_some())?;
        let recordings = files.par_iter().map(|p| read_segment(p)).collect::<Result<Vec<_>>>()?;
        Ok(RawData { recordings, official_test_subjects: None, notes: vec![] })
    }
}

/// (activity, subject) of `data/aNN/pM/sKK.txt`.
fn segment_of(path: &Path) -> Option<(u32, u32)> {
    number_between(file_name(path), "s", ".txt")?;
    let mut up = parents(path);
    let subject = number_between(up.next()?, "p", "")?;
    let activity = number_between(up.next()?, "a", "")?;
    (up.next()? == "data").then_some((activity, subject))
}

fn read_segment(path: &Path) -> Result<Recording> {
    let (activity, subject) = segment_of(path)
        .filter(|(a, _)| (1..=CLASSES.len() as u32).contains(a))
        .ok_or_else(|| DataError::format(path, "not data/aNN/pM/sKK.txt with activity NN in 01-19"))?;
    let samples = text::numeric_table(&text::read_to_string(path)?, path, COLUMNS, Separator::Comma)?;
    let rows = samples.len() / COLUMNS;
    if rows != ROWS {
        return Err(DataError::format(path, format!("{rows} rows, expected {ROWS} (5 s at 25 Hz)")));
    }
    Ok(Recording::single_label(subject, path.display().to_string(), COLUMNS, samples, (activity - 1) as u16))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A segment in the published layout: row r, column c (0-based) holds r + c / 100.
    fn segment(rows: usize) -> String {
        (0..rows)
            .map(|r| (0..COLUMNS).map(|c| format!("{:.2}", r as f64 + c as f64 / 100.0)).collect::<Vec<_>>().join(",") + "\n")
            .collect()
    }

    fn write(raw: &Path, tail: &str, content: &str) -> std::path::PathBuf {
        let path = raw.join("dsads/data").join(tail);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }

    #[test]
    fn reads_one_recording_per_segment() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a01/p1/s01.txt", &segment(ROWS));
        write(dir.path(), "a19/p8/s60.txt", &segment(ROWS).replace('\n', "\r\n"));
        write(dir.path(), "a19/p8/readme.txt", "not a segment");
        let data = Dsads.read(dir.path()).unwrap();
        assert_eq!(data.recordings.len(), 2);
        let (first, last) = (&data.recordings[0], &data.recordings[1]);
        assert_eq!((first.subject, first.channels, first.len(), first.labels[0]), (1, 45, 125, 0));
        assert_eq!((last.subject, last.labels[124]), (8, 18));
        assert_eq!(last.samples[124 * 45 + 44], 124.44);
        assert_eq!(Dsads.spec().channels[44].name(), "mag/left-leg/z");
    }

    #[test]
    fn malformed_segments_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut lines: Vec<String> = segment(ROWS).lines().map(String::from).collect();
        lines[6] = lines[6].replacen(",", ",,", 1);
        let path = write(dir.path(), "a02/p3/s07.txt", &lines.join("\n"));
        let err = Dsads.read(dir.path()).unwrap_err().to_string();
        assert_eq!(err, format!("{}:7: column 2: expected a number, found ''", path.display()));

        write(dir.path(), "a02/p3/s07.txt", &segment(ROWS - 1));
        let err = Dsads.read(dir.path()).unwrap_err().to_string();
        assert_eq!(err, format!("{}: 124 rows, expected 125 (5 s at 25 Hz)", path.display()));

        std::fs::remove_file(&path).unwrap();
        let path = write(dir.path(), "a20/p3/s07.txt", &segment(ROWS));
        let err = Dsads.read(dir.path()).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}: not data/aNN/pM/sKK.txt", path.display())), "{err}");
    }
}
