//! Daphnet Freezing of Gait (Bächlin et al. 2010): `dataset/SxxRyy.txt`, 11 space-separated
//! columns (time in ms; ankle, thigh and trunk acceleration xyz in mg; annotation), 64 Hz.
//! Annotation 0 is outside the experiment (dropped), 1 no freeze, 2 freeze.

use super::{file_name, list_dir, number_after};
use crate::error::{DataError, Result};
use crate::formats::text::{self, Separator};
use crate::recording::{RawData, Recording, UNLABELLED};
use crate::registry::Dataset;
use crate::spec::{Channel, DatasetSpec, Holdout, LabelRule, Source};
use rayon::prelude::*;
use std::path::Path;

pub struct DaphnetFog;

const ROOT: &str = "daphnet-fog/dataset_fog_release/dataset";

impl Dataset for DaphnetFog {
    fn spec(&self) -> DatasetSpec {
        let mut channels = Channel::triaxial("ankle", &[("acc", "mg")]);
        channels.extend(Channel::triaxial("thigh", &[("acc", "mg")]));
        channels.extend(Channel::triaxial("trunk", &[("acc", "mg")]));
        DatasetSpec {
            id: "daphnet-fog",
            title: "Daphnet Freezing of Gait",
            citation: "M. Bächlin, M. Plotnik, D. Roggen, I. Maidan, J. M. Hausdorff, N. Giladi, G. Tröster. Wearable Assistant for Parkinson's Disease Patients With the Freezing of Gait Symptom. IEEE TITB 14(2), 2010.",
            licence: "CC BY 4.0",
            homepage: "https://archive.ics.uci.edu/dataset/245",
            sources: &[Source {
                id: "daphnet-fog",
                urls: &["https://archive.ics.uci.edu/static/public/245/daphnet+freezing+of+gait.zip"],
                manifest: Some(include_str!("../../../../datasets/manifests/daphnet-fog.sha256")),
                archive_sha256: None,
            }],
            rate_hz: 64.0,
            channels,
            classes: vec!["no_freeze", "freeze"],
            subjects: (1..=10).collect(),
            window_s: 2.0,
            overlap: 0.5,
            label_rule: LabelRule::Majority,
            holdout: Holdout::Fraction(0.3),
            note: "the verified copy holds 7 of the 17 recordings (subjects 1, 2, 3, 6, 7)",
        }
    }

    fn read(&self, raw: &Path) -> Result<RawData> {
        let files: Vec<_> = list_dir(&raw.join(ROOT))?.into_iter().filter(|p| file_name(p).ends_with(".txt")).collect();
        if files.is_empty() {
            return Err(DataError::format(raw.join(ROOT), "no SxxRyy.txt files"));
        }
        let recordings = files.par_iter().map(|p| read_recording(p)).collect::<Result<Vec<_>>>()?;
        Ok(RawData { recordings, official_test_subjects: None, notes: vec![] })
    }
}

fn read_recording(path: &Path) -> Result<Recording> {
    let subject = number_after(file_name(path), "S").ok_or_else(|| DataError::format(path, "file name is not SxxRyy.txt"))?;
    let table = text::numeric_table(&text::read_to_string(path)?, path, 11, Separator::Whitespace)?;
    let rows = table.len() / 11;
    let mut samples = Vec::with_capacity(rows * 9);
    let mut labels = Vec::with_capacity(rows);
    for (r, row) in table.chunks_exact(11).enumerate() {
        samples.extend_from_slice(&row[1..10]);
        labels.push(match row[10] as u32 {
            0 => UNLABELLED,
            1 => 0,
            2 => 1,
            other => return Err(DataError::format(path, format!("row {}: annotation {other}, expected 0, 1 or 2", r + 1))),
        });
    }
    Ok(Recording { subject, origin: path.display().to_string(), channels: 9, samples, labels })
}
