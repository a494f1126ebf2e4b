//! PAMAP2 Physical Activity Monitoring (Reiss & Stricker 2012), protocol part:
//! `PAMAP2_Dataset/Protocol/subject1NN.dat`, one file per subject, 54 space-separated columns at
//! 100 Hz (readme II.1): timestamp (s), activityID, heart rate (bpm), then 17 columns for each
//! Colibri IMU (hand, chest, ankle): temperature, acc ±16 g xyz, acc ±6 g xyz (m/s²), gyro xyz
//! (rad/s), magnetometer xyz (µT), orientation (4, invalid). `NaN` marks missing values (wireless
//! drop-outs; the heart rate, sampled at about 9 Hz). `Optional/` is not read.
//!
//! Channels: per IMU the ±16 g accelerometer (the readme recommends it: the ±6 g one saturates
//! and is not calibrated with it), the gyroscope and the magnetometer, 27 in all; temperature,
//! heart rate and orientation are not used. A NaN in a used channel takes the last valid value
//! before it (leading NaN: the first valid one) [ours]. Classes: the 12 protocol activities
//! usually benchmarked; the transient activity 0 and the optional activities are unlabelled.

use super::{file_name, fill_nan, find_below, for_each_row, number_between, parents};
use crate::error::{DataError, Result};
use crate::recording::{RawData, Recording, UNLABELLED};
use crate::registry::Dataset;
use crate::spec::{Channel, DatasetSpec, Holdout, LabelRule, Source};
use rayon::prelude::*;
use std::path::Path;

pub struct Pamap2;

const ID: &str = "pamap2";
const COLUMNS: usize = 54;
const IMUS: [&str; 3] = ["hand", "chest", "ankle"];
/// Published activityID → class; 0 (transient) and the optional activities are unlabelled.
const ACTIVITIES: [(u32, u16); 19] = [
    (1, 0),
    (2, 1),
    (3, 2),
    (4, 3),
    (5, 4),
    (6, 5),
    (7, 6),
    (12, 7),
    (13, 8),
    (16, 9),
    (17, 10),
    (24, 11),
    (0, UNLABELLED),
    (9, UNLABELLED),
    (10, UNLABELLED),
    (11, UNLABELLED),
    (18, UNLABELLED),
    (19, UNLABELLED),
    (20, UNLABELLED),
];

impl Dataset for Pamap2 {
    fn spec(&self) -> DatasetSpec {
        DatasetSpec {
            id: ID,
            title: "PAMAP2 Physical Activity Monitoring (protocol activities)",
            citation: "A. Reiss, D. Stricker. Introducing a New Benchmarked Dataset for Activity Monitoring. ISWC 2012.",
            licence: "CC BY 4.0",
            homepage: "https://archive.ics.uci.edu/dataset/231",
            sources: &[Source {
                id: ID,
                urls: &["https://archive.ics.uci.edu/static/public/231/pamap2+physical+activity+monitoring.zip"],
                manifest: None,
                archive_sha256: None,
            }],
            rate_hz: 100.0,
            channels: channels(),
            classes: vec![
                "lying",
                "sitting",
                "standing",
                "walking",
                "running",
                "cycling",
                "nordic_walking",
                "ascending_stairs",
                "descending_stairs",
                "vacuum_cleaning",
                "ironing",
                "rope_jumping",
            ],
            subjects: (101..=109).collect(),
            window_s: 2.56,
            overlap: 0.5,
            label_rule: LabelRule::Majority,
            holdout: Holdout::Fraction(0.3),
            note: "no verified copy: the reader is tested on hand-written samples of the published format only",
        }
    }

    fn read(&self, raw: &Path) -> Result<RawData> {
        let files = find_below(raw, ID, "Protocol/subject1NN.dat", |p| subject_of(p).is_some())?;
        let recordings = files.par_iter().map(|p| read_subject(p)).collect::<Result<Vec<_>>>()?;
        Ok(RawData { recordings, official_test_subjects: None, notes: vec![] })
    }
}

fn channels() -> Vec<Channel> {
    IMUS.iter().flat_map(|imu| Channel::triaxial(imu, &[("acc", "m/s^2"), ("gyro", "rad/s"), ("mag", "uT")])).collect()
}

/// 0-based columns of [`channels`]: per IMU (temperature at 3 + 17k) acc ±16 g, gyro, mag.
fn used_columns() -> Vec<usize> {
    (0..IMUS.len()).map(|k| 3 + 17 * k).flat_map(|t| (t + 1..t + 4).chain(t + 7..t + 13)).collect()
}

fn subject_of(path: &Path) -> Option<u32> {
    if parents(path).next() != Some("Protocol") {
        return None;
    }
    number_between(file_name(path), "subject", ".dat")
}

fn read_subject(path: &Path) -> Result<Recording> {
    let subject = subject_of(path).ok_or_else(|| DataError::format(path, "file name is not Protocol/subjectNNN.dat"))?;
    let used = used_columns();
    let (mut samples, mut labels) = (Vec::new(), Vec::new());
    for_each_row(path, COLUMNS, |line, row| {
        let label = ACTIVITIES.iter().find(|(id, _)| *id as f32 == row[1]).map(|(_, class)| *class);
        labels.push(label.ok_or_else(|| DataError::parse(path, line, format!("column 2: unknown activityID {}", row[1])))?);
        samples.extend(used.iter().map(|&c| row[c]));
        Ok(())
    })?;
    if labels.is_empty() {
        return Err(DataError::format(path, "no data rows"));
    }
    fill_nan(&mut samples, used.len())
        .map_err(|c| DataError::format(path, format!("column {} ({}) is NaN in every row", used[c] + 1, channels()[c].name())))?;
    Ok(Recording { subject, origin: path.display().to_string(), channels: used.len(), samples, labels })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row in the published layout: IMU k's temperature 30 + k, its ±16 g acc 10·k + {1,2,3},
    /// ±6 g acc -1, gyro 10·k + {4,5,6}, mag 10·k + {7,8,9}, orientation 1 0 0 0.
    fn row(t: f32, activity: u32, heart: &str) -> String {
        let mut f = vec![format!("{t:.2}"), activity.to_string(), heart.to_string()];
        for k in 0..3 {
            let v = |i: u32| format!("{}", 10 * k + i);
            f.push(format!("{}", 30 + k));
            f.extend((1..=3).map(v));
            f.extend(["-1"; 3].map(String::from));
            f.extend((4..=9).map(v));
            f.extend(["1", "0", "0", "0"].map(String::from));
        }
        f.join(" ")
    }

    fn write(dir: &Path, name: &str, lines: &[String]) -> std::path::PathBuf {
        let protocol = dir.join("pamap2/PAMAP2_Dataset/Protocol");
        std::fs::create_dir_all(&protocol).unwrap();
        std::fs::create_dir_all(dir.join("pamap2/PAMAP2_Dataset/Optional")).unwrap();
        std::fs::write(dir.join("pamap2/PAMAP2_Dataset/Optional/subject101.dat"), row(0.0, 9, "NaN")).unwrap();
        let path = protocol.join(name);
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        path
    }

    #[test]
    fn reads_protocol_files_with_nan_and_transient_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut drop_out = row(8.40, 24, "NaN");
        drop_out = drop_out.replacen(" 2 3 -1", " NaN NaN -1", 1); // hand acc y, z lost
        write(dir.path(), "subject102.dat", &[row(8.38, 0, "104"), row(8.39, 24, "NaN"), drop_out, row(8.41, 9, "NaN")]);
        let data = Pamap2.read(dir.path()).unwrap();
        assert_eq!(data.recordings.len(), 1, "Optional/ is not read");
        let rec = &data.recordings[0];
        assert_eq!((rec.subject, rec.channels, rec.len()), (102, 27, 4));
        assert_eq!(rec.labels, [UNLABELLED, 11, 11, UNLABELLED]);
        assert_eq!(rec.samples[..9], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        assert_eq!(rec.samples[18..27], [21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0], "ankle");
        assert_eq!(rec.samples[2 * 27..2 * 27 + 3], [1.0, 2.0, 3.0], "NaN carried forward");
        assert_eq!(Pamap2.spec().channels[18].name(), "acc/ankle/x");
    }

    #[test]
    fn leading_nan_takes_the_first_valid_value_and_all_nan_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let lost = |r: String| r.replacen(" 14 15 16", " NaN NaN 16", 1); // chest gyro x, y
        write(dir.path(), "subject103.dat", &[lost(row(0.0, 1, "NaN")), row(0.01, 1, "NaN")]);
        let rec = &Pamap2.read(dir.path()).unwrap().recordings[0];
        assert_eq!(rec.samples[12..15], [14.0, 15.0, 16.0]);

        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "subject103.dat", &[lost(row(0.0, 1, "NaN")), lost(row(0.01, 1, "NaN"))]);
        let err = Pamap2.read(dir.path()).unwrap_err().to_string();
        assert_eq!(err, format!("{}: column 28 (gyro/chest/x) is NaN in every row", path.display()));
    }

    #[test]
    fn malformed_rows_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let short = row(0.02, 1, "NaN").rsplit_once(' ').unwrap().0.to_string();
        let path = write(dir.path(), "subject101.dat", &[row(0.0, 1, "NaN"), row(0.01, 1, "NaN"), short]);
        let err = Pamap2.read(dir.path()).unwrap_err().to_string();
        assert_eq!(err, format!("{}:3: expected 54 columns, found 53", path.display()));

        write(dir.path(), "subject101.dat", &[row(0.0, 8, "NaN")]);
        let err = Pamap2.read(dir.path()).unwrap_err().to_string();
        assert_eq!(err, format!("{}:1: column 2: unknown activityID 8", path.display()));
    }

    #[test]
    fn missing_folder_says_fetch() {
        let err = Pamap2.read(tempfile::tempdir().unwrap().path()).unwrap_err().to_string();
        assert!(err.contains("pamap2: missing") && err.contains("harbench data fetch pamap2"), "{err}");
    }
}
