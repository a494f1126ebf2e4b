//! WISDM Activity Prediction v1.1 (Kwapisz, Weiss & Moore 2010): `WISDM_ar_v1.1_raw.txt`, records
//! `user,activity,timestamp,x,y,z;` of a phone accelerometer carried in the front trouser pocket,
//! 20 Hz, 10 = 1 g (`WISDM_ar_v1.1_raw_about.txt`); users 1-36, six activities. Consecutive
//! records of one user and activity form a recording, in file order (the timestamps are checked
//! to be whole numbers but not used: some are 0).
//!
//! The published file is irregular, and the reader tolerates exactly its known quirks: several
//! `;`-terminated records on one line, empty records and lines, a trailing comma after z. A
//! record whose z is empty is skipped and counted; anything else is an error naming the line.

use super::{file_name, find_below};
use crate::error::{DataError, Result};
use crate::formats::text;
use crate::recording::{RawData, Recording};
use crate::registry::Dataset;
use crate::spec::{Channel, DatasetSpec, Holdout, LabelRule, Source};
use std::path::Path;

pub struct WisdmV1;

const ID: &str = "wisdm-v1.1";
const FILE: &str = "WISDM_ar_v1.1_raw.txt";
/// Activity names as written in the file, in class order.
const ACTIVITIES: [&str; 6] = ["Walking", "Jogging", "Upstairs", "Downstairs", "Sitting", "Standing"];
const USERS: std::ops::RangeInclusive<u32> = 1..=36;

impl Dataset for WisdmV1 {
    fn spec(&self) -> DatasetSpec {
        DatasetSpec {
            id: ID,
            title: "WISDM Activity Prediction v1.1 (raw accelerometer)",
            citation: "J. R. Kwapisz, G. M. Weiss, S. A. Moore. Activity Recognition using Cell Phone Accelerometers. SIGKDD Explorations 12(2), 2010.",
            licence: "free for research use with citation (readme.txt; no licence text in the release)",
            homepage: "https://www.cis.fordham.edu/wisdm/dataset.php",
            sources: &[Source {
                id: ID,
                urls: &["https://www.cis.fordham.edu/wisdm/includes/datasets/latest/WISDM_ar_latest.tar.gz"],
                manifest: None,
                archive_sha256: None,
            }],
            rate_hz: 20.0,
            channels: Channel::triaxial("trouser-front-pocket", &[("acc", "m/s^2")]),
            classes: vec!["walking", "jogging", "upstairs", "downstairs", "sitting", "standing"],
            subjects: USERS.collect(),
            window_s: 10.0,
            overlap: 0.5,
            label_rule: LabelRule::Majority,
            holdout: Holdout::Fraction(0.3),
            note: "no verified copy: the reader is tested on hand-written samples of the published format only",
        }
    }

    fn read(&self, raw: &Path) -> Result<RawData> {
        let files = find_below(raw, ID, FILE, |p| file_name(p) == FILE)?;
        if files.len() > 1 {
            return Err(DataError::format(raw.join(ID), format!("{FILE} found {} times; keep one", files.len())));
        }
        let (recordings, skipped) = parse(&files[0], &text::read_to_string(&files[0])?)?;
        let notes = (skipped > 0).then(|| format!("{}: skipped {skipped} records with an empty z value", files[0].display()));
        Ok(RawData { recordings, official_test_subjects: None, notes: notes.into_iter().collect() })
    }
}

/// The recordings of the raw file, and how many records were skipped for an empty z.
fn parse(path: &Path, content: &str) -> Result<(Vec<Recording>, usize)> {
    let mut out: Vec<Recording> = Vec::new();
    let mut skipped = 0;
    for (i, line) in content.lines().enumerate() {
        let err = |message: String| DataError::parse(path, i + 1, message);
        for record in line.split(';').map(str::trim).filter(|r| !r.is_empty()) {
            let mut fields: Vec<&str> = record.split(',').collect();
            if fields.len() == 7 && fields[6].trim().is_empty() {
                fields.pop(); // a trailing comma
            }
            if fields.len() != 6 {
                return Err(err(format!("expected 'user,activity,timestamp,x,y,z;', found '{record}'")));
            }
            let user = text::field_u32(fields[0], path, i + 1, 1)?;
            if !USERS.contains(&user) {
                return Err(err(format!("user {user} outside 1-36")));
            }
            let activity = fields[1].trim();
            let class = ACTIVITIES.iter().position(|a| *a == activity).ok_or_else(|| err(format!("unknown activity '{activity}'")))? as u16;
            if fields[2].trim().parse::<i64>().is_err() {
                return Err(err(format!("expected a whole-number timestamp, found '{}'", fields[2].trim())));
            }
            let (x, y) = (text::field_f32(fields[3], path, i + 1, 4)?, text::field_f32(fields[4], path, i + 1, 5)?);
            if fields[5].trim().is_empty() {
                skipped += 1;
                continue;
            }
            let z = text::field_f32(fields[5], path, i + 1, 6)?;
            match out.last_mut() {
                Some(rec) if rec.subject == user && rec.labels[0] == class => {
                    rec.samples.extend([x, y, z]);
                    rec.labels.push(class);
                }
                _ => out.push(Recording::single_label(user, format!("{}:{}", path.display(), i + 1), 3, vec![x, y, z], class)),
            }
        }
    }
    if out.is_empty() {
        return Err(DataError::format(path, "no records"));
    }
    Ok((out, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
33,Jogging,49105962326000,-0.6946377,12.680544,0.50395286;
33,Jogging,49106062271000,5.012288,11.264028,0.95342433;33,Jogging,49106112167000,4.903325,10.882658,-0.08172209;

33,Jogging,0,-0.61291564,18.496431,3.0237172,;
33,Jogging,49106332231000,-1.1849703,12.108489,;
33,Walking,49106442306000,1.3756552,-2.4925237,-6.510526;
17,Walking,57869902574000,0.08172209,8.430005,-0.2451663;;
";

    #[test]
    fn tolerates_the_published_quirks() {
        let (recs, skipped) = parse(Path::new("raw.txt"), SAMPLE).unwrap();
        assert_eq!(skipped, 1, "the record with an empty z");
        let summary: Vec<_> = recs.iter().map(|r| (r.subject, r.labels[0], r.len(), r.origin.as_str())).collect();
        assert_eq!(summary, [(33, 1, 4, "raw.txt:1"), (33, 0, 1, "raw.txt:6"), (17, 0, 1, "raw.txt:7")]);
        assert_eq!(recs[0].samples[6..9], [4.903325, 10.882658, -0.08172209], "second record of line 2");
        assert_eq!(recs[0].samples[9..12], [-0.61291564, 18.496431, 3.0237172], "trailing comma, timestamp 0");
    }

    #[test]
    fn anything_else_names_the_file_and_line() {
        let cases = [
            ("33,Jogging,1,2,3,;\n33,Jogging,1,2,3;\n", "raw.txt:2: expected 'user,activity,timestamp,x,y,z;', found '33,Jogging,1,2,3'"),
            ("33,Jogging,1,2,3,4,5;\n", "raw.txt:1: expected 'user,activity,timestamp,x,y,z;', found '33,Jogging,1,2,3,4,5'"),
            ("33,Jogging,1,2,3,4,,;\n", "raw.txt:1: expected 'user,activity,timestamp,x,y,z;', found '33,Jogging,1,2,3,4,,'"),
            ("\n33,Running,1,2,3,4;\n", "raw.txt:2: unknown activity 'Running'"),
            ("37,Jogging,1,2,3,4;\n", "raw.txt:1: user 37 outside 1-36"),
            ("33,Jogging,1.5,2,3,4;\n", "raw.txt:1: expected a whole-number timestamp, found '1.5'"),
            ("33,Jogging,1,2,,4;\n", "raw.txt:1: column 5: expected a number, found ''"),
            ("33,Jogging,1,2,3,z;\n", "raw.txt:1: column 6: expected a number, found 'z'"),
        ];
        for (content, expected) in cases {
            assert_eq!(parse(Path::new("raw.txt"), content).unwrap_err().to_string(), expected);
        }
    }

    #[test]
    fn finds_the_file_in_the_archive_layout() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("wisdm-v1.1/WISDM_ar_latest/WISDM_ar_v1.1");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join(FILE), SAMPLE).unwrap();
        std::fs::write(folder.join("WISDM_ar_v1.1_raw_about.txt"), "about").unwrap();
        assert_eq!(WisdmV1.read(dir.path()).unwrap().recordings.len(), 3);
        let err = WisdmV1.read(&dir.path().join("elsewhere")).unwrap_err().to_string();
        assert!(err.contains("no WISDM_ar_v1.1_raw.txt below it; run `harbench data fetch wisdm-v1.1`"), "{err}");
    }
}
