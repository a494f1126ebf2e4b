//! OPPORTUNITY Activity Recognition (Roggen et al. 2010; Chavarriaga et al. 2013), locomotion
//! task: `OpportunityUCIDataset/dataset/S<n>-ADL<k>.dat` and `S<n>-Drill.dat`, 250
//! space-separated columns at 30 Hz (`column_names.txt`): MILLISEC, 242 sensor columns, then 7
//! label tracks; `NaN` marks drop-outs. Labels: column 244, Locomotion (0 null, 1 stand, 2 walk,
//! 4 sit, 5 lie; `label_legend.txt`).
//!
//! Channels: the 113 body-worn channels of the OPPORTUNITY challenge as DeepConvLSTM (Ordóñez &
//! Roggen 2016) selects them, 1-based columns 2-46 (12 accelerometers, then the BACK IMU's acc,
//! gyro and magnetometer), 51-59, 64-72, 77-85, 90-98 (IMUs RUA, RLA, LUA, LLA: acc, gyro, mag;
//! their quaternions are skipped) and 103-134 (both shoe IMUs: Euler angles, nav- and body-frame
//! acc, body- and nav-frame angular velocity, compass). Positions and units are the legend's, as
//! scaled in the files: milli g; gyro and magnetometer "unknown" ×1000; the shoes' angular
//! velocity "mm/s". A NaN takes the last valid value before it (leading NaN: the first valid
//! one) [ours]; DeepConvLSTM interpolates linearly instead.
//!
//! The challenge tests on ADL4-5 of subjects 2 and 3, a split by run that the subject-wise
//! holdout cannot express; a fraction of the subjects is held out instead [ours].

use super::{file_name, fill_nan, find_below, for_each_row, number_between, parents};
use crate::error::{DataError, Result};
use crate::recording::{RawData, Recording, UNLABELLED};
use crate::registry::Dataset;
use crate::spec::{Channel, DatasetSpec, Holdout, LabelRule, Source};
use rayon::prelude::*;
use std::path::Path;

pub struct Opportunity;

const ID: &str = "opportunity";
const COLUMNS: usize = 250;
/// 1-based inclusive column ranges of the 113 channels.
const USED: [(usize, usize); 6] = [(2, 46), (51, 59), (64, 72), (77, 85), (90, 98), (103, 134)];
/// 1-based column of the Locomotion track.
const LOCOMOTION: usize = 244;
/// Locomotion label → class.
const LABELS: [(u32, u16); 5] = [(0, UNLABELLED), (1, 0), (2, 1), (4, 2), (5, 3)];

impl Dataset for Opportunity {
    fn spec(&self) -> DatasetSpec {
        DatasetSpec {
            id: ID,
            title: "OPPORTUNITY Activity Recognition (locomotion, 113 body-worn channels)",
            citation: "D. Roggen et al. Collecting complex activity datasets in highly rich networked sensor environments. INSS 2010. R. Chavarriaga, H. Sagha, A. Calatroni, S. T. Digumarti, G. Tröster, J. del R. Millán, D. Roggen. The Opportunity challenge: A benchmark database for on-body sensor-based activity recognition. Pattern Recognition Letters 34(15), 2013.",
            licence: "CC BY 4.0",
            homepage: "https://archive.ics.uci.edu/dataset/226",
            sources: &[Source {
                id: ID,
                urls: &["https://archive.ics.uci.edu/static/public/226/opportunity+activity+recognition.zip"],
                manifest: None,
                archive_sha256: None,
            }],
            rate_hz: 30.0,
            channels: channels(),
            classes: vec!["stand", "walk", "sit", "lie"],
            subjects: (1..=4).collect(),
            window_s: 1.0,
            overlap: 0.5,
            label_rule: LabelRule::Majority,
            holdout: Holdout::Fraction(0.25),
            note: "no verified copy: the reader is tested on hand-written samples of the published format only; the challenge's run-based test split (S2, S3 ADL4-5) is not used",
        }
    }

    fn read(&self, raw: &Path) -> Result<RawData> {
        let files = find_below(raw, ID, "dataset/S<n>-ADL<k>.dat or S<n>-Drill.dat", |p| subject_of(p).is_some())?;
        let runs = files.par_iter().map(|p| read_run(p)).collect::<Result<Vec<_>>>()?;
        let (recordings, notes): (Vec<_>, Vec<_>) = runs.into_iter().unzip();
        Ok(RawData { recordings, official_test_subjects: None, notes: notes.concat() })
    }
}

/// The channels of [`USED`], in column order.
fn channels() -> Vec<Channel> {
    let mut out = Vec::with_capacity(113);
    for position in ["RKN^", "HIP", "LUA^", "RUA_", "LH", "BACK", "RKN_", "RWR", "RUA^", "LUA_", "LWR", "RH"] {
        out.extend(Channel::triaxial(position, &[("acc", "mg")]));
    }
    for position in ["BACK", "RUA", "RLA", "LUA", "LLA"] {
        out.extend(Channel::triaxial(position, &[("imu_acc", "mg"), ("imu_gyro", "unknown x1000"), ("imu_mag", "unknown x1000")]));
    }
    for position in ["L-SHOE", "R-SHOE"] {
        let sensors = [("euler", "deg"), ("nav_acc", "mg"), ("body_acc", "mg"), ("angvel_body", "mm/s"), ("angvel_nav", "mm/s")];
        out.extend(Channel::triaxial(position, &sensors));
        out.push(Channel::new("compass", position, "heading", "deg"));
    }
    out
}

/// The subject of `dataset/S<n>-ADL<k>.dat` or `dataset/S<n>-Drill.dat`.
fn subject_of(path: &Path) -> Option<u32> {
    let (subject, run) = file_name(path).split_once('-')?;
    let is_run = run == "Drill.dat" || number_between(run, "ADL", ".dat").is_some();
    if parents(path).next() != Some("dataset") || !is_run {
        return None;
    }
    number_between(subject, "S", "")
}

fn read_run(path: &Path) -> Result<(Recording, Vec<String>)> {
    let subject = subject_of(path).ok_or_else(|| DataError::format(path, "file name is not dataset/S<n>-ADL<k>.dat or S<n>-Drill.dat"))?;
    let used: Vec<usize> = USED.iter().flat_map(|&(first, last)| first - 1..last).collect();
    let (mut samples, mut labels) = (Vec::new(), Vec::new());
    for_each_row(path, COLUMNS, |line, row| {
        let value = row[LOCOMOTION - 1];
        let label = LABELS.iter().find(|(id, _)| *id as f32 == value).map(|(_, class)| *class);
        labels.push(label.ok_or_else(|| {
            DataError::parse(path, line, format!("column {LOCOMOTION}: unknown Locomotion label {value} (expected 0, 1, 2, 4 or 5)"))
        })?);
        samples.extend(used.iter().map(|&c| row[c]));
        Ok(())
    })?;
    if labels.is_empty() {
        return Err(DataError::format(path, "no data rows"));
    }
    // Some sensors are dead for a whole run: they become 0, as in DeepConvLSTM's preprocessing.
    let mut notes = Vec::new();
    for c in 0..used.len() {
        if samples.iter().skip(c).step_by(used.len()).all(|v| v.is_nan()) {
            samples.iter_mut().skip(c).step_by(used.len()).for_each(|v| *v = 0.0);
            notes.push(format!("{}: column {} ({}) is NaN in every row; set to 0", path.display(), used[c] + 1, channels()[c].name()));
        }
    }
    fill_nan(&mut samples, used.len()).expect("dead columns were zero-filled");
    Ok((Recording { subject, origin: path.display().to_string(), channels: used.len(), samples, labels }, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row in the published layout: column c (1-based) holds c·10 + `run`, the locomotion
    /// column `locomotion`, the other label tracks 0; `nan` lists columns written as NaN.
    fn row(run: u32, locomotion: u32, nan: &[usize]) -> String {
        let field = |c: usize| match c {
            _ if nan.contains(&c) => "NaN".to_string(),
            1 => (run * 33).to_string(),
            LOCOMOTION => locomotion.to_string(),
            245.. => "0".to_string(),
            _ => (c as u32 * 10 + run).to_string(),
        };
        (1..=COLUMNS).map(field).collect::<Vec<_>>().join(" ")
    }

    fn write(raw: &Path, name: &str, rows: &[String]) -> std::path::PathBuf {
        let dir = raw.join("opportunity/OpportunityUCIDataset/dataset");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, rows.join("\n") + "\n").unwrap();
        path
    }

    #[test]
    fn the_113_channels_follow_the_legend() {
        let ch = channels();
        assert_eq!(ch.len(), 113);
        assert_eq!(USED.iter().map(|(a, b)| b - a + 1).sum::<usize>(), 113);
        // Spot checks against column_names.txt: 2 RKN^ accX, 37 RH accZ, 38 IMU BACK accX,
        // 51 IMU RUA accX (after the BACK quaternions 47-50), 103 L-SHOE EuX, 134 R-SHOE Compass.
        assert_eq!(ch[0].name(), "acc/RKN^/x");
        assert_eq!(ch[35].name(), "acc/RH/z");
        assert_eq!(ch[36].name(), "imu_acc/BACK/x");
        assert_eq!(ch[45].name(), "imu_acc/RUA/x");
        assert_eq!(ch[81].name(), "euler/L-SHOE/x");
        assert_eq!(ch[112].name(), "compass/R-SHOE/heading");
    }

    #[test]
    fn reads_runs_with_locomotion_labels_and_fills_nan() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "S2-ADL4.dat", &[row(1, 0, &[2, 47]), row(2, 1, &[]), row(3, 2, &[134]), row(4, 5, &[]), row(5, 4, &[])]);
        write(dir.path(), "S3-Drill.dat", &[row(7, 2, &[])]);
        std::fs::write(dir.path().join("opportunity/OpportunityUCIDataset/dataset/S2-ADL4.dat.bak"), "x").unwrap();
        let data = Opportunity.read(dir.path()).unwrap();
        assert_eq!(data.recordings.len(), 2);
        let rec = &data.recordings[0];
        assert_eq!((rec.subject, rec.channels, rec.len()), (2, 113, 5));
        assert_eq!(rec.labels, [UNLABELLED, 0, 1, 3, 2]);
        let at = |t: usize, ch: usize| rec.samples[t * 113 + ch];
        assert_eq!((at(1, 0), at(1, 44), at(1, 45), at(1, 80), at(1, 81), at(1, 112)), (22.0, 462.0, 512.0, 982.0, 1032.0, 1342.0));
        assert_eq!(at(0, 0), 22.0, "leading NaN takes the first valid value");
        assert_eq!(at(2, 112), 1342.0, "NaN takes the last valid value");
        assert_eq!(data.recordings[1].subject, 3);
    }

    #[test]
    fn malformed_rows_name_the_file_and_dead_channels_become_zero() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "S1-ADL1.dat", &[row(1, 1, &[]), row(2, 3, &[])]);
        let err = Opportunity.read(dir.path()).unwrap_err().to_string();
        assert_eq!(err, format!("{}:2: column 244: unknown Locomotion label 3 (expected 0, 1, 2, 4 or 5)", path.display()));

        write(dir.path(), "S1-ADL1.dat", &[row(1, 1, &[]), row(2, 1, &[]).replace(" 52 ", " x ")]);
        let err = Opportunity.read(dir.path()).unwrap_err().to_string();
        assert_eq!(err, format!("{}:2: column 5: expected a number, found 'x'", path.display()));

        write(dir.path(), "S1-ADL1.dat", &[row(1, 1, &[90]), row(2, 1, &[90])]);
        let data = Opportunity.read(dir.path()).unwrap();
        assert_eq!(data.notes, vec![format!("{}: column 90 (imu_acc/LLA/x) is NaN in every row; set to 0", path.display())]);
        let channel = channels().iter().position(|c| c.name() == "imu_acc/LLA/x").unwrap();
        assert_eq!(data.recordings[0].samples[channel], 0.0);
    }
}
