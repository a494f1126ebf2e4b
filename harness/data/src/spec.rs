//! What a dataset *is*: the facts a registry entry declares once (rate, channels, classes,
//! subjects, where to download it, its checksums, its windowing convention).

use serde::{Deserialize, Serialize};

/// One input channel: which sensor, where on the body, which axis, in which unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    pub sensor: String,
    pub position: String,
    pub axis: String,
    pub unit: String,
}

impl Channel {
    pub fn new(sensor: &str, position: &str, axis: &str, unit: &str) -> Self {
        Channel { sensor: sensor.into(), position: position.into(), axis: axis.into(), unit: unit.into() }
    }

    /// `sensor/position/axis`, the name written into the cache.
    pub fn name(&self) -> String {
        format!("{}/{}/{}", self.sensor, self.position, self.axis)
    }

    /// The channels of tri-axial sensors at one position: `[(sensor, unit)] × {x,y,z}`.
    pub fn triaxial(position: &str, sensors: &[(&str, &str)]) -> Vec<Channel> {
        sensors.iter().flat_map(|(sensor, unit)| ["x", "y", "z"].map(|axis| Channel::new(sensor, position, axis, unit))).collect()
    }
}

/// One downloadable unit. A dataset may need several (UCI-HAR needs the HAPT raw signals and
/// the UCI-HAR metadata). Once fetched it lives in `<data-dir>/raw/<id>/`, in its published
/// layout, each file checked against the manifest.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    pub id: &'static str,
    /// Official download locations (archives are unpacked, archives inside them too).
    pub urls: &'static [&'static str],
    /// `sha256  path` lines (paths relative to `raw/`, starting with `<id>/`), as in the mirror's
    /// SHA256SUMS. `None`: no verified copy was available to the project, so fetch needs
    /// `--allow-unverified` and records what it got.
    pub manifest: Option<&'static str>,
    /// sha256 of the official download, for a source published as one archive: checked before
    /// the archive is unpacked (and its files then against `manifest`).
    pub archive_sha256: Option<&'static str>,
}

/// How a window gets its label from the per-sample labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelRule {
    /// The most frequent label in the window (ties: the smaller class index); a window whose
    /// majority is unlabelled is dropped.
    Majority,
    /// The label of the window's centre sample; dropped when that sample is unlabelled.
    Centre,
    /// Windows are cut inside each run of one label, starting at the run's start (the UCI-HAR
    /// convention); windows never straddle two activities.
    Pure,
}

impl std::str::FromStr for LabelRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "majority" => Ok(LabelRule::Majority),
            "centre" | "center" => Ok(LabelRule::Centre),
            "pure" => Ok(LabelRule::Pure),
            other => Err(format!("unknown label rule '{other}' (expected majority, centre or pure)")),
        }
    }
}

/// Which subjects form the test set of the `holdout-subjects` split.
#[derive(Debug, Clone, PartialEq)]
pub enum Holdout {
    /// The dataset's own published split (read from its files by the reader).
    Official,
    /// No published split: this fraction of subjects, drawn with a fixed seed [ours].
    Fraction(f64),
    /// No published split, but a fixed choice others report on (RealWorld HAR: the SMLDist
    /// authors hold out probands 14 and 15).
    Subjects(&'static [u32]),
}

/// Everything a registry entry declares about a dataset.
#[derive(Debug, Clone)]
pub struct DatasetSpec {
    pub id: &'static str,
    pub title: &'static str,
    pub citation: &'static str,
    pub licence: &'static str,
    pub homepage: &'static str,
    pub sources: &'static [Source],
    pub rate_hz: f64,
    pub channels: Vec<Channel>,
    pub classes: Vec<&'static str>,
    pub subjects: Vec<u32>,
    pub window_s: f64,
    pub overlap: f64,
    pub label_rule: LabelRule,
    pub holdout: Holdout,
    /// What is incomplete about the copy the project can verify, shown by `data list`.
    pub note: &'static str,
}
