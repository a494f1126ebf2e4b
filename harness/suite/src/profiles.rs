//! Cost per architecture, not per run (`harbench profile SUITE`): every distinct model a suite's
//! runs export is profiled once per device, in a quiet phase, and the cost table reads those
//! profiles instead of the short profile each run takes beside its training.
//!
//! A run's cost depends on its exported architecture (model, the heads a search kept, its input)
//! and the device, not on its weights or method: twenty students distilled twenty ways are one
//! architecture with one latency. Profiles are kept as
//! `<results>/profiles/<suite>/<device>/<architecture>.json`, keyed by the device (a CPU model, a
//! Jetson module and its power mode, a GPU) and the architecture's fingerprint.

use crate::gitinfo::GitInfo;
use crate::machine::{folder_name, Machine};
use crate::plan::Plan;
use crate::record::RunRecord;
use crate::store::{write_json, StoreError};
use harbench_cost::energy::EnergyMeter;
use harbench_cost::latency::Summary;
use harbench_cost::{CostError, Profile, ProfileConfig, ValidProfileConfig};
use harbench_models::ModelConfig;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The folder of the results store that holds the per-architecture profiles.
pub const PROFILE_FOLDER: &str = "profiles";

/// Other processes may use at most this many cores' worth of CPU, on average, during a profile
/// for it to count as quiet. Two workers training beside it use about 1–2.
pub const QUIET_LIMIT_CORES: f64 = 0.1;

/// What a model costs to run depends on: the exported model and the shape of its input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    /// The exported model: the planned one with the heads a search kept.
    pub model: ModelConfig,
    pub channels: usize,
    pub length: usize,
    pub classes: usize,
}

impl Architecture {
    /// The architecture a finished run exported (`None`: the run did not finish, or its record
    /// lacks the model or a profile to take the input shape from).
    pub fn of(record: &RunRecord) -> Option<Architecture> {
        let model = record.output.as_ref()?.outcome.exported_config(&trained_config(record)?);
        let input = &record.profile()?.input;
        Some(Architecture { model, channels: input.channels, length: input.length, classes: input.classes })
    }

    /// Its fingerprint: the first 12 hex digits of the sha256 of its JSON.
    pub fn key(&self) -> String {
        let json = serde_json::to_string(self).expect("plain data serialises");
        hex::encode(Sha256::digest(json.as_bytes()))[..12].to_string()
    }

    /// One line for people: the model kind, its heads, its input (the rows' model labels say
    /// which model it is).
    pub fn describe(&self) -> String {
        let heads: Vec<&str> = self.model.classifier().heads.iter().map(|h| h.name()).collect();
        format!("{} ({} head) on {}×{} windows, {} classes", self.model.kind(), heads.join("+"), self.channels, self.length, self.classes)
    }
}

/// The model a run trained: the planned one as its distillation method changes it (SMLDist's
/// heads), as the executor builds it.
fn trained_config(record: &RunRecord) -> Option<ModelConfig> {
    let planned = record.config.model.config().ok()?;
    let method = &record.config.method;
    if !method.distils() {
        return Some(planned);
    }
    let params = method.options.as_object().cloned().unwrap_or_default();
    let (method, _) = harbench_distill::registry::build(&method.name.to_ascii_lowercase(), &params).ok()?;
    method.student_config(&planned).ok()
}

/// A suite row: (dataset, model label, method label).
pub type Row = [String; 3];

/// One architecture of a suite and the rows whose runs export it.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    pub architecture: Architecture,
    pub key: String,
    pub rows: Vec<Row>,
}

impl Exported {
    /// The model labels of its rows, e.g. `student`, once each.
    pub fn labels(&self) -> String {
        labels(&self.rows)
    }
}

/// The model labels of `rows`, once each, joined by `, `.
pub fn labels(rows: &[Row]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for r in rows {
        if !out.contains(&r[1].as_str()) {
            out.push(&r[1]);
        }
    }
    out.join(", ")
}

/// The row of a record.
pub fn row_of(r: &RunRecord) -> Row {
    [r.config.dataset.clone(), r.config.model.label.clone(), r.config.method.label.clone()]
}

/// Every architecture the finished runs of `plan` export, in the plan's order of first use.
pub fn architectures(plan: &Plan, records: &[RunRecord]) -> Vec<Exported> {
    let finished: std::collections::BTreeMap<&str, &RunRecord> =
        records.iter().filter(|r| r.finished()).map(|r| (r.key.as_str(), r)).collect();
    let mut out: Vec<Exported> = Vec::new();
    for r in plan.runs.iter().filter_map(|run| finished.get(run.key.as_str())) {
        let Some(architecture) = Architecture::of(r) else { continue };
        let key = architecture.key();
        let row = row_of(r);
        match out.iter_mut().find(|e| e.key == key) {
            Some(e) if !e.rows.contains(&row) => e.rows.push(row),
            Some(_) => {}
            None => out.push(Exported { architecture, key, rows: vec![row] }),
        }
    }
    out
}

/// Where a profile ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileDevice {
    /// Folder name, e.g. `cpu-intel-r-xeon-r-processor-l2-2048k`, `jetson-nvidia-jetson-agx-xavier-maxn`.
    pub key: String,
    /// For people, e.g. `NVIDIA Jetson AGX Xavier, power mode MAXN`.
    pub name: String,
    /// Short column label, e.g. `cpu`, `jetson MAXN`.
    pub label: String,
    /// A Jetson's `nvpmodel` mode, by name where the board's configuration names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_mode: Option<String>,
}

impl ProfileDevice {
    /// The device of a profile on this machine: a Jetson (its device-tree model under `root`)
    /// with its power mode, else a GPU named by `gpu`, else the CPU.
    pub fn detect(root: &Path, gpu: Option<&str>) -> ProfileDevice {
        let tree_model = std::fs::read_to_string(root.join("proc/device-tree/model")).ok();
        let tree_model = tree_model.map(|m| m.trim_end_matches('\0').trim().to_string()).filter(|m| m.contains("Jetson"));
        if let Some(model) = tree_model {
            let mode = power_mode(root).unwrap_or_else(|| "unknown".into());
            return ProfileDevice {
                key: key_name(&format!("jetson {model} {mode}")),
                name: format!("{model}, power mode {mode}"),
                label: format!("jetson {mode}"),
                power_mode: Some(mode),
            };
        }
        if let Some(gpu) = gpu {
            return ProfileDevice { key: key_name(&format!("gpu {gpu}")), name: gpu.to_string(), label: "gpu".into(), power_mode: None };
        }
        let machine = Machine::detect();
        let l2 = machine.kernels.as_ref().and_then(|k| k.caches.split(", ").find(|c| c.starts_with("L2")).map(str::to_string));
        let cpu = match &l2 {
            Some(l2) => format!("{} ({l2})", machine.cpu),
            None => machine.cpu.clone(),
        };
        ProfileDevice { key: key_name(&format!("cpu {cpu}")), name: format!("{cpu}, one core"), label: "cpu".into(), power_mode: None }
    }
}

/// A folder name of lower-case words joined by `-`: `Intel(R) Xeon(R) (L2 2048K)` →
/// `intel-r-xeon-r-l2-2048k`.
fn key_name(text: &str) -> String {
    let words: Vec<String> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    folder_name(&words.join("-"))
}

/// A Jetson's `nvpmodel` mode: the id in `var/lib/nvpmodel/status` (`pmode:0002`) named by the
/// board's `etc/nvpmodel.conf` (`< POWER_MODEL ID=2 NAME=MODE_15W >`); on a real board
/// (`root` = `/`) without those files, `nvpmodel -q`'s first line.
pub fn power_mode(root: &Path) -> Option<String> {
    let status = std::fs::read_to_string(root.join("var/lib/nvpmodel/status")).ok();
    let id = status.as_deref().and_then(|s| s.trim().strip_prefix("pmode:")).and_then(|v| v.parse::<u32>().ok());
    if let Some(id) = id {
        let conf = std::fs::read_to_string(root.join("etc/nvpmodel.conf")).unwrap_or_default();
        let name = conf.lines().find_map(|l| {
            let l = l.trim().trim_start_matches('<').trim_end_matches('>');
            let fields: Vec<&str> = l.split_whitespace().collect();
            (fields.first() == Some(&"POWER_MODEL") && fields.contains(&format!("ID={id}").as_str()))
                .then(|| fields.iter().find_map(|f| f.strip_prefix("NAME=")).map(str::to_string))
                .flatten()
        });
        return Some(name.unwrap_or_else(|| format!("mode {id}")));
    }
    if root != Path::new("/") {
        return None;
    }
    let out = std::process::Command::new("nvpmodel").arg("-q").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().find_map(|l| l.strip_prefix("NV Power Mode:")).map(|m| m.trim().to_string())
}

/// Where a profile's process ran: pinned to one core, or why not. Written `{"core": 1}` or
/// `{"not_pinned": "why"}`; the first profiles wrote a `Result` (`{"Ok": 1}`, `{"Err": "why"}`),
/// which reads as the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pinning {
    #[serde(alias = "Ok")]
    Core(usize),
    #[serde(alias = "Err")]
    NotPinned(String),
}

impl From<Result<usize, String>> for Pinning {
    fn from(pinned: Result<usize, String>) -> Self {
        match pinned {
            Ok(core) => Pinning::Core(core),
            Err(why) => Pinning::NotPinned(why),
        }
    }
}

impl std::fmt::Display for Pinning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pinning::Core(c) => write!(f, "pinned to core {c}"),
            Pinning::NotPinned(why) => write!(f, "not pinned ({why})"),
        }
    }
}

/// How quiet the machine was while a profile ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conditions {
    /// The core the profile was pinned to, or why it was not.
    pub pinned_core: Pinning,
    /// Cores' worth of CPU other processes used during the profile, on average (`None`: /proc
    /// unreadable, so unknown).
    pub others_cores: Option<f64>,
    /// At most [`QUIET_LIMIT_CORES`] of other work: the profile counts as quiet.
    pub quiet: bool,
}

impl Conditions {
    pub fn describe(&self) -> String {
        let pin = &self.pinned_core;
        let others = match self.others_cores {
            Some(c) => format!("other processes used {c:.2} cores"),
            None => "other processes' CPU use unknown".into(),
        };
        format!("{}, {pin}, {others}", if self.quiet { "quiet" } else { "contended" })
    }
}

/// One architecture's profile on one device: a file of the profile store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchitectureProfile {
    pub suite: String,
    pub key: String,
    pub architecture: Architecture,
    /// The suite's rows that exported it when it was profiled.
    pub rows: Vec<Row>,
    pub device: ProfileDevice,
    pub conditions: Conditions,
    /// The joined rounds ([`join_rounds`]).
    pub profile: Profile,
    /// Each round's single-window latency, in the order taken.
    pub rounds: Vec<Summary>,
    /// Each energy meter's probe, `meter: what it found`.
    pub energy_meters: Vec<String>,
    pub git: GitInfo,
    pub harbench_version: String,
    /// Unix time the profile finished.
    pub finished: f64,
}

/// `<root>/profiles/<suite>`.
pub fn suite_dir(root: &Path, suite: &str) -> PathBuf {
    root.join(PROFILE_FOLDER).join(suite)
}

pub fn path(root: &Path, p: &ArchitectureProfile) -> PathBuf {
    suite_dir(root, &p.suite).join(&p.device.key).join(format!("{}.json", p.key))
}

pub fn write(root: &Path, p: &ArchitectureProfile) -> Result<PathBuf, StoreError> {
    let path = path(root, p);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io { path: dir.to_path_buf(), source })?;
    }
    write_json(&path, p)?;
    Ok(path)
}

/// Every profile of `suite` under each of `roots`; a (device, architecture) found under several
/// roots is taken from the first.
pub fn read(roots: &[&Path], suite: &str) -> Result<Vec<ArchitectureProfile>, StoreError> {
    let mut out: Vec<ArchitectureProfile> = Vec::new();
    for root in roots {
        let dir = suite_dir(root, suite);
        for device in harbench_common::fs::subfolders(&dir) {
            for file in harbench_common::fs::files_with_extension(&dir.join(&device), "json")? {
                let text = std::fs::read_to_string(&file).map_err(|source| StoreError::Io { path: file.clone(), source })?;
                let p: ArchitectureProfile = serde_json::from_str(&text)
                    .map_err(|e| StoreError::Corrupt { path: file.clone(), message: format!("not an architecture profile: {e}") })?;
                if !out.iter().any(|q| q.device.key == p.device.key && q.key == p.key) {
                    out.push(p);
                }
            }
        }
    }
    Ok(out)
}

/// The settings of a quiet profile: long enough loops for a stated spread.
pub fn quiet_config(a: &Architecture, latency: harbench_cost::latency::LatencyConfig) -> ProfileConfig {
    ProfileConfig { channels: a.channels, length: a.length, classes: a.classes, latency, ..ProfileConfig::default() }
}

/// Profiles `exported` on `device` and measures how quiet the machine was meanwhile.
pub fn profile_architecture(
    exported: &Exported,
    device: &burn::tensor::Device,
    config: &ValidProfileConfig,
    meter: Result<&mut (dyn EnergyMeter + 'static), String>,
    pinned_core: Pinning,
) -> Result<(Profile, Conditions), CostError> {
    let proc = harbench_common::proc::Proc::default();
    let clock = std::time::Instant::now();
    let before = proc.cpu_ticks(Path::new("/"), &clock).ok();
    let a = &exported.architecture;
    let profile = harbench_cost::profile(|d| Ok(a.model.build(a.channels, a.classes, d)), device, config, meter)?;
    let after = proc.cpu_ticks(Path::new("/"), &clock).ok();
    let others_cores = before.zip(after).map(|(b, a)| b.others_cores(&a, harbench_common::proc::ticks_per_second()));
    let quiet = others_cores.is_some_and(|c| c <= QUIET_LIMIT_CORES);
    Ok((profile, Conditions { pinned_core, others_cores, quiet }))
}

/// How `harbench profile SUITE` profiles each architecture.
pub struct ProfileSettings {
    pub latency: harbench_cost::latency::LatencyConfig,
    pub idle: std::time::Duration,
    pub energy_window: std::time::Duration,
    pub meter: harbench_cost::Choice,
    /// Where inference runs: picks the meters `auto` may use.
    pub target: harbench_cost::Target,
    /// The core this process was pinned to, or why it was not ([`harbench_common::proc::pin_to_core`]).
    pub pinned_core: Pinning,
    /// The results store the profiles are written into.
    pub root: PathBuf,
    /// Profiles of each architecture, taken round-robin and joined ([`join_rounds`]).
    pub rounds: usize,
}

/// One architecture's rounds joined: the profile of the median round (by single-window
/// median), with a single-window latency spread over every round's calls (the lowest p10 to the
/// highest p90), so that the spread a table states covers the drift between rounds minutes
/// apart, not only the jitter within one; quiet when every round was. Also returns each round's
/// single-window latency.
pub fn join_rounds(mut rounds: Vec<(Profile, Conditions)>) -> (Profile, Conditions, Vec<Summary>) {
    let each: Vec<Summary> = rounds.iter().map(|(p, _)| p.single.latency).collect();
    let others = rounds.iter().filter_map(|(_, c)| c.others_cores).reduce(f64::max);
    let quiet = rounds.iter().all(|(_, c)| c.quiet);
    rounds.sort_by(|a, b| a.0.single.latency.median.total_cmp(&b.0.single.latency.median));
    let (mut profile, mut conditions) = rounds.swap_remove(rounds.len() / 2);
    let l = &mut profile.single.latency;
    let samples: usize = each.iter().map(|s| s.samples).sum();
    l.mean = each.iter().map(|s| s.mean * s.samples as f64).sum::<f64>() / samples.max(1) as f64;
    l.samples = samples;
    l.p10 = each.iter().map(|s| s.p10).fold(f64::INFINITY, f64::min);
    l.p90 = each.iter().map(|s| s.p90).fold(f64::NEG_INFINITY, f64::max);
    l.min = each.iter().map(|s| s.min).fold(f64::INFINITY, f64::min);
    l.max = each.iter().map(|s| s.max).fold(f64::NEG_INFINITY, f64::max);
    conditions.others_cores = others;
    conditions.quiet = quiet;
    (profile, conditions, each)
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("suite {suite} has no finished run with a profiled model to take an architecture from: run `harbench run` on it first")]
    NoArchitectures { suite: String },
    #[error("profiling architecture {key} ({describe}): {source}")]
    Cost { key: String, describe: String, source: CostError },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Profiles every architecture the finished runs of `plan` export, one after the other, on
/// `device` (`gpu`: its name, for a GPU), `settings.rounds` times round-robin, and writes each
/// architecture's joined rounds ([`join_rounds`]). `each(round, i, n, exported)` is called
/// before each profile.
pub fn profile_suite(
    plan: &Plan,
    records: &[RunRecord],
    settings: &ProfileSettings,
    device: &burn::tensor::Device,
    gpu: Option<&str>,
    mut each: impl FnMut(usize, usize, usize, &Exported),
) -> Result<Vec<(ArchitectureProfile, PathBuf)>, ProfileError> {
    let exported = architectures(plan, records);
    if exported.is_empty() {
        return Err(ProfileError::NoArchitectures { suite: plan.suite.clone() });
    }
    let probe = harbench_cost::Probe::from_env();
    let place = ProfileDevice::detect(&probe.root, gpu);
    let mut detection = harbench_cost::detect(&probe, settings.target, &settings.meter);
    let meters: Vec<String> = detection.findings.iter().map(|f| format!("{}: {}", f.meter, f.detail)).collect();
    let absence = detection.absence();
    let git = GitInfo::discover(&std::env::current_dir().unwrap_or_default());
    // Round-robin over the architectures, so that each one's rounds lie minutes apart.
    let mut taken: Vec<Vec<(Profile, Conditions)>> = vec![Vec::new(); exported.len()];
    for round in 0..settings.rounds.max(1) {
        for (i, e) in exported.iter().enumerate() {
            each(round, i, exported.len(), e);
            let meter = detection.meter.as_deref_mut().ok_or_else(|| absence.clone());
            let cost_error = |source| ProfileError::Cost { key: e.key.clone(), describe: e.architecture.describe(), source };
            let config = ProfileConfig {
                idle: settings.idle,
                energy_window: settings.energy_window,
                ..quiet_config(&e.architecture, settings.latency)
            };
            let config = config.check().map_err(cost_error)?;
            let one = profile_architecture(e, device, &config, meter, settings.pinned_core.clone()).map_err(cost_error)?;
            taken[i].push(one);
        }
    }
    let mut out = Vec::new();
    for (e, rounds) in exported.iter().zip(taken) {
        let (profile, conditions, rounds) = join_rounds(rounds);
        let record = ArchitectureProfile {
            suite: plan.suite.clone(),
            key: e.key.clone(),
            architecture: e.architecture.clone(),
            rows: e.rows.clone(),
            device: place.clone(),
            conditions,
            profile,
            rounds,
            energy_meters: meters.clone(),
            git: git.clone(),
            harbench_version: env!("CARGO_PKG_VERSION").to_string(),
            finished: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0),
        };
        let path = write(&settings.root, &record)?;
        out.push((record, path));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(median: f64, p10: f64, p90: f64, samples: usize) -> Summary {
        Summary { samples, median, p10, p90, mad: 0.01, mean: median, min: p10 - 0.1, max: p90 + 0.1 }
    }

    #[test]
    fn pinning_is_written_by_name_and_the_first_profiles_result_form_still_reads() {
        assert_eq!(serde_json::to_string(&Pinning::Core(1)).unwrap(), r#"{"core":1}"#);
        assert_eq!(serde_json::to_string(&Pinning::NotPinned("no".into())).unwrap(), r#"{"not_pinned":"no"}"#);
        assert_eq!(serde_json::from_str::<Pinning>(r#"{"Ok":1}"#).unwrap(), Pinning::Core(1));
        assert_eq!(serde_json::from_str::<Pinning>(r#"{"Err":"no"}"#).unwrap(), Pinning::NotPinned("no".into()));
        assert_eq!(Pinning::Core(3).to_string(), "pinned to core 3");
    }

    #[test]
    fn rounds_join_into_the_median_round_with_a_spread_over_all() {
        let model = ModelConfig::preset("mobilenetv3-small-1d", Some(0.25)).unwrap();
        let device = harbench_models::device::test_device();
        let config = ProfileConfig {
            channels: 3,
            length: 32,
            classes: 4,
            batch: 2,
            latency: harbench_cost::latency::LatencyConfig {
                warmup: std::time::Duration::ZERO,
                min_samples: 2,
                min_time: std::time::Duration::ZERO,
                max_time: std::time::Duration::from_secs(5),
            },
            ..ProfileConfig::default()
        }
        .check()
        .unwrap();
        let base = harbench_cost::profile(|d| Ok(model.build(3, 4, d)), &device, &config, Err("none".into())).unwrap();
        let round = |s: Summary, others: f64| {
            let mut p = base.clone();
            p.single.latency = s;
            (p, Conditions { pinned_core: Pinning::Core(1), others_cores: Some(others), quiet: others <= QUIET_LIMIT_CORES })
        };
        // A 3.5 % shift between rounds: the joined spread spans both.
        let (p, c, each) = join_rounds(vec![
            round(summary(6.385, 6.245, 6.771, 460), 0.01),
            round(summary(6.170, 6.057, 6.250, 486), 0.02),
            round(summary(6.300, 6.200, 6.400, 470), 0.3),
        ]);
        let l = p.single.latency;
        assert_eq!((l.median, l.p10, l.p90, l.samples), (6.300, 6.057, 6.771, 1416));
        assert!((l.min - 5.957).abs() < 1e-12 && (l.max - 6.871).abs() < 1e-12);
        assert_eq!(each.len(), 3);
        assert_eq!(each[1].median, 6.170);
        // One contended round makes the whole profile contended.
        assert!(!c.quiet && c.others_cores == Some(0.3));
    }

    #[test]
    fn the_power_mode_is_named_from_the_boards_configuration() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(power_mode(tmp.path()), None);
        std::fs::create_dir_all(tmp.path().join("var/lib/nvpmodel")).unwrap();
        std::fs::create_dir_all(tmp.path().join("etc")).unwrap();
        std::fs::write(tmp.path().join("var/lib/nvpmodel/status"), "pmode:0002\n").unwrap();
        assert_eq!(power_mode(tmp.path()).as_deref(), Some("mode 2"));
        std::fs::write(
            tmp.path().join("etc/nvpmodel.conf"),
            "< POWER_MODEL ID=0 NAME=MAXN >\nCPU_ONLINE CORE_0 1\n< POWER_MODEL ID=2 NAME=MODE_15W >\n",
        )
        .unwrap();
        assert_eq!(power_mode(tmp.path()).as_deref(), Some("MODE_15W"));
        // The device-tree model makes it a Jetson, keyed by module and mode.
        std::fs::create_dir_all(tmp.path().join("proc/device-tree")).unwrap();
        std::fs::write(tmp.path().join("proc/device-tree/model"), "NVIDIA Jetson AGX Xavier\0").unwrap();
        let d = ProfileDevice::detect(tmp.path(), None);
        assert_eq!(d.key, "jetson-nvidia-jetson-agx-xavier-mode_15w");
        assert_eq!((d.label.as_str(), d.power_mode.as_deref()), ("jetson MODE_15W", Some("MODE_15W")));
    }

    #[test]
    fn the_architecture_key_follows_the_exported_model_and_input() {
        let model = ModelConfig::preset("mobilenetv3-small-1d", Some(0.5)).unwrap();
        let a = Architecture { model: model.clone(), channels: 9, length: 128, classes: 6 };
        assert_eq!(a.key(), a.clone().key());
        assert_eq!(a.key().len(), 12);
        let other_input = Architecture { length: 64, ..a.clone() };
        assert_ne!(a.key(), other_input.key());
        let other_heads = Architecture { model: model.with_heads("t", vec![harbench_models::HeadKind::Hopfield]).unwrap(), ..a.clone() };
        assert_ne!(a.key(), other_heads.key());
        assert!(other_heads.describe().contains("hopfield head"), "{}", other_heads.describe());
    }
}
