//! WISDM Smartphone and Smartwatch Activity and Biometrics (Weiss 2019), watch part:
//! `raw/watch/{accel,gyro}/data_<id>_<sensor>_watch.txt`, lines
//! `subject,activity-code,timestamp-ns,x,y,z;`, 20 Hz, 18 activities of about 3 minutes each.
//! The two sensors are sampled on their own clocks, so each activity block is put on one 20 Hz
//! grid over the time both sensors cover, by linear interpolation; a gap of more than
//! [`MAX_GAP_S`] in either sensor splits the block [ours].

use super::{file_name, list_dir, number_after};
use crate::error::{DataError, Result};
use crate::formats::text;
use crate::recording::{RawData, Recording};
use crate::registry::Dataset;
use crate::spec::{Channel, DatasetSpec, Holdout, LabelRule, Source};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

pub struct Wisdm2019Watch;

const ROOT: &str = "wisdm2019-watch/raw/watch";
const RATE: f64 = 20.0;
const MAX_GAP_S: f64 = 1.0;
/// Activity codes in class order (the published key skips N).
const CODES: &str = "ABCDEFGHIJKLMOPQRS";

impl Dataset for Wisdm2019Watch {
    fn spec(&self) -> DatasetSpec {
        DatasetSpec {
            id: "wisdm2019-watch",
            title: "WISDM Smartphone and Smartwatch Activity and Biometrics Dataset (watch part)",
            citation: "G. M. Weiss, K. Yoneda, T. Hayajneh. Smartphone and Smartwatch-Based Biometrics Using Activities of Daily Living. IEEE Access 7, 2019. Data: G. M. Weiss, UCI MLR 2019, doi:10.24432/C5HK59.",
            licence: "CC BY 4.0",
            homepage: "https://archive.ics.uci.edu/dataset/507",
            sources: &[Source {
                id: "wisdm2019-watch",
                urls: &["https://archive.ics.uci.edu/static/public/507/wisdm+smartphone+and+smartwatch+activity+and+biometrics+dataset.zip"],
                manifest: Some(include_str!("../../../../datasets/manifests/wisdm2019-watch.sha256")),
                archive_sha256: None,
            }],
            rate_hz: RATE,
            channels: Channel::triaxial("wrist", &[("acc", "m/s^2"), ("gyro", "rad/s")]),
            classes: vec![
                "walking", "jogging", "stairs", "sitting", "standing", "typing", "teeth", "soup", "chips", "pasta",
                "drinking", "sandwich", "kicking", "catch", "dribbling", "writing", "clapping", "folding",
            ],
            subjects: (1600..=1650).collect(),
            window_s: 10.0,
            overlap: 0.5,
            label_rule: LabelRule::Majority,
            holdout: Holdout::Fraction(0.3),
            note: "the verified copy lacks both watch sensors of some subjects (1629, 1637-1640); 46 subjects have both",
        }
    }

    fn read(&self, raw: &Path) -> Result<RawData> {
        let root = raw.join(ROOT);
        let accel = list_dir(&root.join("accel"))?;
        let gyro_dir = root.join("gyro");
        let pairs: Vec<_> = accel
            .into_iter()
            .filter_map(|a| {
                let id = number_after(file_name(&a), "data_")?;
                let g = gyro_dir.join(format!("data_{id}_gyro_watch.txt"));
                g.exists().then_some((id, a, g))
            })
            .collect();
        if pairs.is_empty() {
            return Err(DataError::format(&root, "no subject has both accel/data_<id>_accel_watch.txt and gyro/data_<id>_gyro_watch.txt"));
        }
        let per_subject = pairs
            .par_iter()
            .map(|(id, a, g)| Ok(align(*id, &read_stream(a, *id)?, &read_stream(g, *id)?, &a.display().to_string())))
            .collect::<Result<Vec<_>>>()?;
        Ok(RawData { recordings: per_subject.into_iter().flatten().collect(), official_test_subjects: None, notes: vec![] })
    }
}

/// One sensor's samples by activity code: (timestamp ns, xyz), sorted by time.
type Stream = BTreeMap<u16, Vec<(i64, [f32; 3])>>;

fn read_stream(path: &Path, subject: u32) -> Result<Stream> {
    let content = text::read_to_string(path)?;
    let mut out = Stream::new();
    for (i, line) in content.lines().enumerate() {
        let line = line.trim().trim_end_matches(';');
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 6 {
            return Err(DataError::parse(path, i + 1, format!("expected 6 fields 'subject,activity,timestamp,x,y,z;', found {}", f.len())));
        }
        if text::field_u32(f[0], path, i + 1, 1)? != subject {
            return Err(DataError::parse(path, i + 1, format!("subject {} in a file of subject {subject}", f[0])));
        }
        let code = f[1].trim();
        let class = CODES
            .find(code)
            .filter(|_| code.len() == 1)
            .ok_or_else(|| DataError::parse(path, i + 1, format!("unknown activity code '{code}' (expected one of {CODES})")))?;
        let ts = f[2]
            .trim()
            .parse::<i64>()
            .map_err(|_| DataError::parse(path, i + 1, format!("column 3: expected a timestamp in ns, found '{}'", f[2])))?;
        let xyz = [text::field_f32(f[3], path, i + 1, 4)?, text::field_f32(f[4], path, i + 1, 5)?, text::field_f32(f[5], path, i + 1, 6)?];
        out.entry(class as u16).or_default().push((ts, xyz));
    }
    for samples in out.values_mut() {
        samples.sort_by_key(|s| s.0);
    }
    Ok(out)
}

/// Puts both sensors of each activity on one 20 Hz grid; splits where either has a gap.
fn align(subject: u32, accel: &Stream, gyro: &Stream, origin: &str) -> Vec<Recording> {
    let step_ns = (1e9 / RATE) as i64;
    let max_gap_ns = (MAX_GAP_S * 1e9) as i64;
    let mut out = Vec::new();
    for (&class, a) in accel {
        let Some(g) = gyro.get(&class) else { continue };
        let (Some(first), Some(last)) = (a.first().zip(g.first()), a.last().zip(g.last())) else { continue };
        let (start, end) = (first.0 .0.max(first.1 .0), last.0 .0.min(last.1 .0));
        let (mut ia, mut ig) = (0, 0);
        let mut samples = Vec::new();
        let mut t = start;
        while t <= end {
            let va = interpolate(a, &mut ia, t, max_gap_ns);
            let vg = interpolate(g, &mut ig, t, max_gap_ns);
            match va.zip(vg) {
                Some((va, vg)) => {
                    samples.extend_from_slice(&va);
                    samples.extend_from_slice(&vg);
                }
                None if !samples.is_empty() => {
                    out.push(Recording::single_label(subject, origin.to_string(), 6, std::mem::take(&mut samples), class));
                }
                None => {}
            }
            t += step_ns;
        }
        if !samples.is_empty() {
            out.push(Recording::single_label(subject, origin.to_string(), 6, samples, class));
        }
    }
    out
}

/// Linear interpolation at `t`, advancing `cursor`; `None` inside a gap longer than `max_gap`.
fn interpolate(s: &[(i64, [f32; 3])], cursor: &mut usize, t: i64, max_gap: i64) -> Option<[f32; 3]> {
    while *cursor + 1 < s.len() && s[*cursor + 1].0 <= t {
        *cursor += 1;
    }
    let (t0, v0) = s[*cursor];
    if t == t0 {
        return Some(v0);
    }
    let (t1, v1) = *s.get(*cursor + 1).unwrap_or(&s[*cursor]);
    if t1 - t0 > max_gap || t < t0 || t > t1 {
        return None;
    }
    let w = if t1 == t0 { 0.0 } else { (t - t0) as f32 / (t1 - t0) as f32 };
    Some([0, 1, 2].map(|k| v0[k] + (v1[k] - v0[k]) * w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_and_gaps() {
        let s = vec![(0, [0.0; 3]), (100, [10.0; 3]), (5_000_000_000, [0.0; 3])];
        let mut c = 0;
        assert_eq!(interpolate(&s, &mut c, 50, 1_000_000_000), Some([5.0; 3]));
        assert_eq!(interpolate(&s, &mut c, 2_000_000_000, 1_000_000_000), None);
    }

    #[test]
    fn alignment_splits_at_gaps_and_keeps_the_overlap() {
        let step = 50_000_000; // 20 Hz
        let mk = |from: i64, to: i64| (from..to).map(|k| (k * step, [k as f32; 3])).collect::<Vec<_>>();
        let mut a = Stream::new();
        let mut accel = mk(0, 100);
        accel.extend(mk(200, 300)); // 5 s gap
        a.insert(0, accel);
        let mut g = Stream::new();
        g.insert(0, mk(10, 300));
        let recs = align(1600, &a, &g, "x");
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].len(), 90); // grid 10..99
        assert_eq!(recs[1].len(), 100); // grid 200..299
        assert_eq!(recs[0].samples[..6], [10.0, 10.0, 10.0, 10.0, 10.0, 10.0]);
    }
}
