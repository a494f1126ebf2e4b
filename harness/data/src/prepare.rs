//! `prepare`: read a dataset's published files, resample, window and label, and write the HDF5
//! cache keyed by the hash of the resolved config and the source checksums. An unchanged config
//! reuses its cache without parsing anything.

use crate::cache::{self, CacheMeta, Prepared};
use crate::error::{DataError, Result};
use crate::fetch;
use crate::recording::Recording;
use crate::registry::Dataset;
use crate::signal;
use crate::spec::{DatasetSpec, LabelRule};
use crate::window::{self, WindowSpec, Windows};
use harbench_common::progress::Progress;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Bumped whenever reading or windowing code changes what a cache holds, so old caches are
/// not reused by mistake.
pub const PREPARE_FORMAT: u32 = 1;

/// The exact settings a cache was made with; serialised into it and hashed into its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrepareConfig {
    pub dataset: String,
    /// Sampling rate of the windows (the dataset is resampled when it differs from its own).
    pub rate_hz: f64,
    pub window_s: f64,
    /// Fraction of a window shared with the next one, in [0, 1).
    pub overlap: f64,
    pub label_rule: LabelRule,
}

/// Settings a user may change; `None` keeps the dataset's default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub rate_hz: Option<f64>,
    pub window_s: Option<f64>,
    pub overlap: Option<f64>,
    pub label_rule: Option<LabelRule>,
}

impl PrepareConfig {
    /// The dataset's defaults with `overrides` applied, validated once here.
    pub fn resolve(spec: &DatasetSpec, overrides: &Overrides) -> Result<Self> {
        let c = PrepareConfig {
            dataset: spec.id.to_string(),
            rate_hz: overrides.rate_hz.unwrap_or(spec.rate_hz),
            window_s: overrides.window_s.unwrap_or(spec.window_s),
            overlap: overrides.overlap.unwrap_or(spec.overlap),
            label_rule: overrides.label_rule.unwrap_or(spec.label_rule),
        };
        if !(c.rate_hz.is_finite() && c.rate_hz > 0.0) {
            return Err(DataError::config("rate_hz", format!("{} is not a positive rate", c.rate_hz)));
        }
        if !(c.window_s.is_finite() && c.window_s > 0.0) {
            return Err(DataError::config("window_s", format!("{} is not a positive duration", c.window_s)));
        }
        if !(0.0..1.0).contains(&c.overlap) {
            return Err(DataError::config("overlap", format!("{} is outside [0, 1)", c.overlap)));
        }
        if c.window_spec().length < 2 {
            return Err(DataError::config("window_s", format!("{} s at {} Hz is shorter than 2 samples", c.window_s, c.rate_hz)));
        }
        Ok(c)
    }

    pub fn window_spec(&self) -> WindowSpec {
        let length = (self.window_s * self.rate_hz).round() as usize;
        let step = ((length as f64) * (1.0 - self.overlap)).round().max(1.0) as usize;
        WindowSpec { length, step, rule: self.label_rule }
    }

    /// 12 hex digits identifying this config on these source files with this code.
    pub fn hash(&self, source_checksums: &BTreeMap<String, String>) -> String {
        let key = serde_json::json!({ "format": PREPARE_FORMAT, "config": self, "sources": source_checksums });
        hex::encode(Sha256::digest(key.to_string().as_bytes()))[..12].to_string()
    }
}

/// The data folder: `raw/` holds fetched sources, `cache/` prepared windows.
#[derive(Debug, Clone)]
pub struct DataDir {
    pub root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }
    pub fn raw(&self) -> PathBuf {
        self.root.join("raw")
    }
    pub fn cache(&self) -> PathBuf {
        self.root.join("cache")
    }
    pub fn cache_file(&self, config: &PrepareConfig, hash: &str) -> PathBuf {
        self.cache().join(format!("{}-{hash}.h5", config.dataset))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PrepareReport {
    pub path: PathBuf,
    pub reused: bool,
    pub windows: usize,
    pub seconds: f64,
    pub notes: Vec<String>,
}

/// Digest of each verified source, or an error saying which source to fetch.
pub fn source_checksums(dir: &DataDir, spec: &DatasetSpec) -> Result<BTreeMap<String, String>> {
    if spec.sources.is_empty() {
        return Ok(BTreeMap::from([("generator".to_string(), format!("{}-v{PREPARE_FORMAT}", spec.id))]));
    }
    spec.sources
        .iter()
        .map(|s| {
            let digest = fetch::verified_digest(&dir.raw(), s).ok_or_else(|| DataError::Missing {
                path: dir.raw().join(s.id),
                hint: format!("source '{}' of '{}' is not fetched and verified: run `harbench data fetch {}`", s.id, spec.id, spec.id),
            })?;
            Ok((s.id.to_string(), digest))
        })
        .collect()
}

/// Prepares (or finds) the cache for `dataset` with `overrides`.
pub fn prepare(dir: &DataDir, dataset: &dyn Dataset, overrides: &Overrides, force: bool, progress: &dyn Progress) -> Result<PrepareReport> {
    let started = Instant::now();
    let spec = dataset.spec();
    let config = PrepareConfig::resolve(&spec, overrides)?;
    let checksums = source_checksums(dir, &spec)?;
    let hash = config.hash(&checksums);
    let path = dir.cache_file(&config, &hash);
    if !force && path.is_file() {
        if let Ok(meta) = cache::read_meta(&path) {
            if meta.config == config && meta.config_hash == hash {
                let windows = hdf5_len(&path)?;
                return Ok(PrepareReport { path, reused: true, windows, seconds: started.elapsed().as_secs_f64(), notes: meta.notes });
            }
        }
        // Unreadable or foreign: rebuilt below and replaced atomically.
    }
    progress.start(&format!("reading {}", spec.id), None);
    let raw = dataset.read(&dir.raw())?;
    progress.finish();
    for rec in &raw.recordings {
        check_recording(rec, spec.channels.len())?;
    }
    let windowing = config.window_spec();
    progress.start(&format!("windowing {}", spec.id), Some(raw.recordings.len() as u64));
    let parts: Vec<Windows> = raw
        .recordings
        .par_iter()
        .map(|rec| {
            let w = if config.rate_hz == spec.rate_hz {
                window::cut(rec, &windowing)
            } else {
                window::cut(&resample(rec, spec.rate_hz, config.rate_hz), &windowing)
            };
            progress.advance(1);
            w
        })
        .collect();
    progress.finish();
    let mut windows = Windows::new(spec.channels.len(), windowing.length);
    for part in parts {
        windows.append(part);
    }
    if windows.is_empty() {
        return Err(DataError::format(dir.raw(), format!("{}: no labelled window of {} samples could be cut", spec.id, windowing.length)));
    }
    let meta = CacheMeta {
        config,
        config_hash: hash,
        classes: spec.classes.iter().map(|c| c.to_string()).collect(),
        channels: spec.channels.iter().map(|c| c.name()).collect(),
        window_length: windowing.length,
        official_test_subjects: raw.official_test_subjects,
        source_checksums: checksums,
        notes: raw.notes,
        harbench_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let (count, notes) = (windows.len(), meta.notes.clone());
    progress.start(&format!("writing {}", path.display()), None);
    cache::write(&path, &Prepared { meta, windows })?;
    progress.finish();
    Ok(PrepareReport { path, reused: false, windows: count, seconds: started.elapsed().as_secs_f64(), notes })
}

/// Prepares when needed, then reads the windows.
pub fn load(dir: &DataDir, dataset: &dyn Dataset, overrides: &Overrides, progress: &dyn Progress) -> Result<Prepared> {
    let report = prepare(dir, dataset, overrides, false, progress)?;
    cache::read(&report.path)
}

fn hdf5_len(path: &Path) -> Result<usize> {
    let file = hdf5::File::open(path).map_err(|e| DataError::hdf5(path, e))?;
    let y = file.dataset("y").map_err(|e| DataError::hdf5(path, e))?;
    Ok(y.size())
}

fn check_recording(rec: &Recording, channels: usize) -> Result<()> {
    if rec.channels != channels || rec.samples.len() != rec.labels.len() * channels {
        return Err(DataError::format(
            &rec.origin,
            format!(
                "{} channels × {} labels for {} values (expected {channels} channels)",
                rec.channels,
                rec.labels.len(),
                rec.samples.len()
            ),
        ));
    }
    if let Some(i) = rec.samples.iter().position(|v| !v.is_finite()) {
        return Err(DataError::format(&rec.origin, format!("non-finite value at sample {}, channel {}", i / channels, i % channels)));
    }
    Ok(())
}

fn resample(rec: &Recording, from: f64, to: f64) -> Recording {
    let (samples, nearest) = signal::resample_linear(&rec.samples, rec.channels, from, to);
    let labels = nearest.iter().map(|&i| rec.labels[i]).collect();
    Recording { samples, labels, ..rec.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry;
    use harbench_common::progress::Silent;

    #[test]
    fn config_is_validated_once() {
        let spec = registry::find("synthetic").unwrap().spec();
        let ok = PrepareConfig::resolve(&spec, &Overrides::default()).unwrap();
        assert_eq!(ok.window_spec(), WindowSpec { length: 128, step: 64, rule: LabelRule::Majority });
        let bad = |o: Overrides| PrepareConfig::resolve(&spec, &o).unwrap_err().to_string();
        assert!(bad(Overrides { overlap: Some(1.0), ..Default::default() }).contains("`overlap`"));
        assert!(bad(Overrides { rate_hz: Some(-1.0), ..Default::default() }).contains("`rate_hz`"));
        assert!(bad(Overrides { window_s: Some(0.01), ..Default::default() }).contains("shorter than 2 samples"));
    }

    #[test]
    fn synthetic_prepare_writes_then_reuses_and_a_new_config_makes_a_new_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path());
        let ds = registry::find("synthetic").unwrap();
        let first = prepare(&dir, ds, &Overrides::default(), false, &Silent).unwrap();
        assert!(!first.reused && first.windows > 0);
        let again = prepare(&dir, ds, &Overrides::default(), false, &Silent).unwrap();
        assert!(again.reused && again.path == first.path && again.windows == first.windows);
        let other = prepare(&dir, ds, &Overrides { window_s: Some(1.28), ..Default::default() }, false, &Silent).unwrap();
        assert_ne!(other.path, first.path);
        let p = cache::read(&other.path).unwrap();
        assert_eq!((p.windows.length, p.windows.channels), (64, 6));
        assert_eq!(p.meta.config.window_s, 1.28);
        // Deterministic: a forced rebuild gives identical windows.
        let before = cache::read(&first.path).unwrap();
        prepare(&dir, ds, &Overrides::default(), true, &Silent).unwrap();
        assert_eq!(cache::read(&first.path).unwrap(), before);
    }

    #[test]
    fn resampling_halves_the_window_count_roughly() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path());
        let ds = registry::find("synthetic").unwrap();
        let full = prepare(&dir, ds, &Overrides::default(), false, &Silent).unwrap();
        let half = prepare(&dir, ds, &Overrides { rate_hz: Some(25.0), ..Default::default() }, false, &Silent).unwrap();
        let p = cache::read(&half.path).unwrap();
        assert_eq!(p.windows.length, 64);
        assert_eq!(half.windows, full.windows); // same seconds per window and overlap
    }

    #[test]
    fn corrupt_cache_is_rebuilt_and_unfetched_sources_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path());
        let ds = registry::find("synthetic").unwrap();
        let report = prepare(&dir, ds, &Overrides::default(), false, &Silent).unwrap();
        std::fs::write(&report.path, b"garbage").unwrap();
        let err = cache::read(&report.path).unwrap_err().to_string();
        assert!(err.contains(&report.path.display().to_string()), "{err}");
        let rebuilt = prepare(&dir, ds, &Overrides::default(), false, &Silent).unwrap();
        assert!(!rebuilt.reused);
        assert!(cache::read(&rebuilt.path).is_ok());
        let err = prepare(&dir, registry::find("uci-har").unwrap(), &Overrides::default(), false, &Silent).unwrap_err().to_string();
        assert!(err.contains("harbench data fetch uci-har"), "{err}");
    }
}
