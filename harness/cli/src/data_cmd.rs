//! `harbench data …`: list, fetch, verify, prepare and summarise datasets.

use crate::progress::Bar;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use harbench_data::fetch::{self, FetchOptions, FetchOutcome, Origin};
use harbench_data::prepare::{self, DataDir, Overrides};
use harbench_data::registry::{self, Dataset};
use harbench_data::spec::LabelRule;
use harbench_data::{cache, stats};
use std::path::Path;
use tabled::settings::Style;
use tabled::{builder::Builder, Table};

#[derive(Subcommand)]
pub enum DataCommand {
    /// Show every dataset harbench knows, with its facts and whether it is fetched.
    #[command(after_help = "Example:\n  harbench data list")]
    List,

    /// Download datasets and verify every file's sha256 against harbench's manifests.
    #[command(after_help = "Examples:\n  harbench data fetch uci-har usc-had            # from the official locations\n  \
harbench data fetch --all --mirror ../shared/datasets\n  \
HARBENCH_DATA_MIRROR=http://127.0.0.1:8000 harbench data fetch motionsense\n\n\
A mirror is a folder or an http(s) URL holding <source>.tar.zst archives. With --all and a mirror, \
datasets the mirror does not hold are skipped and listed.")]
    Fetch {
        #[command(flatten)]
        which: Which,
        /// Folder or http(s) URL holding <source>.tar.zst archives, instead of the official downloads.
        #[arg(long, env = "HARBENCH_DATA_MIRROR")]
        mirror: Option<String>,
        /// Fetch again even if a verified copy is present.
        #[arg(long)]
        force: bool,
        /// Accept datasets harbench has no checksums for, recording the hashes of what arrived.
        #[arg(long)]
        allow_unverified: bool,
    },

    /// Re-hash fetched files and compare them with the manifests.
    #[command(after_help = "Example:\n  harbench data verify --all")]
    Verify {
        #[command(flatten)]
        which: Which,
    },

    /// Window fetched datasets into the HDF5 cache (reused while the settings are unchanged).
    #[command(after_help = "Examples:\n  harbench data prepare synthetic\n  harbench data prepare --all\n  \
harbench data prepare usc-had --rate-hz 50 --window-s 2.56 --overlap 0.5 --label-rule majority\n\n\
The cache is datasets/cache/<id>-<hash>.h5 (x: f32 [N, C, L], y, subject; attributes hold the \
resolved config and source checksums), readable with h5py. Changing a setting makes a new file.")]
    Prepare {
        #[command(flatten)]
        which: Which,
        #[command(flatten)]
        settings: Settings,
        /// Rebuild even if a cache with these settings exists.
        #[arg(long)]
        force: bool,
    },

    /// Per-dataset counts: subjects, classes, windows per class, channels, rate, window, split sizes.
    #[command(after_help = "Examples:\n  harbench data stats\n  harbench data stats uci-har --json")]
    Stats {
        #[command(flatten)]
        which: Which,
        #[command(flatten)]
        settings: Settings,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct Which {
    /// Dataset ids (see `harbench data list`).
    ids: Vec<String>,
    /// Every dataset (for fetch: every one with a download; for prepare and stats: every one
    /// that is fetched, plus synthetic).
    #[arg(long, conflicts_with = "ids")]
    all: bool,
}

#[derive(Args)]
pub struct Settings {
    /// Resample to this rate (Hz) before windowing [default: the dataset's own].
    #[arg(long)]
    rate_hz: Option<f64>,
    /// Window length in seconds [default: the dataset's].
    #[arg(long)]
    window_s: Option<f64>,
    /// Overlap of consecutive windows, in [0, 1) [default: the dataset's].
    #[arg(long)]
    overlap: Option<f64>,
    /// How a window gets its label: majority, centre or pure [default: the dataset's].
    #[arg(long)]
    label_rule: Option<LabelRule>,
}

impl Settings {
    fn overrides(&self) -> Overrides {
        Overrides { rate_hz: self.rate_hz, window_s: self.window_s, overlap: self.overlap, label_rule: self.label_rule }
    }
}

pub fn run(command: DataCommand, data_dir: &Path) -> Result<()> {
    let dir = DataDir::new(data_dir);
    match command {
        DataCommand::List => list(&dir),
        DataCommand::Fetch { which, mirror, force, allow_unverified } => {
            let origin = mirror.map(Origin::Mirror).unwrap_or(Origin::Official);
            fetch_cmd(&dir, &which, &FetchOptions { origin, force, allow_unverified })
        }
        DataCommand::Verify { which } => verify(&dir, &which),
        DataCommand::Prepare { which, settings, force } => prepare_cmd(&dir, &which, &settings.overrides(), force),
        DataCommand::Stats { which, settings, json } => stats_cmd(&dir, &which, &settings.overrides(), json),
    }
}

/// The datasets named, or all of them; an unknown id fails before any work starts.
fn select(which: &Which) -> Result<Vec<&'static dyn Dataset>> {
    if which.all {
        return Ok(registry::ALL.to_vec());
    }
    if which.ids.is_empty() {
        bail!("name at least one dataset, or pass --all (see `harbench data list`)");
    }
    which.ids.iter().map(|id| Ok(registry::find(id)?)).collect()
}

fn is_fetched(dir: &DataDir, d: &dyn Dataset) -> bool {
    d.spec().sources.iter().all(|s| fetch::verified_digest(&dir.raw(), s).is_some())
}

fn table(rows: Vec<Vec<String>>) -> Table {
    let mut t = Builder::from_iter(rows).build();
    t.with(Style::sharp());
    t
}

fn list(dir: &DataDir) -> Result<()> {
    let mut rows = vec![["id", "subjects", "classes", "rate Hz", "channels", "window", "state", "note"].map(String::from).to_vec()];
    for d in registry::ALL {
        let s = d.spec();
        let state = if s.sources.is_empty() {
            "generated"
        } else if is_fetched(dir, *d) {
            "fetched"
        } else if s.sources.iter().any(|x| x.manifest.is_none()) {
            "not fetched (no checksums)"
        } else {
            "not fetched"
        };
        rows.push(vec![
            s.id.into(),
            s.subjects.len().to_string(),
            s.classes.len().to_string(),
            format!("{}", s.rate_hz),
            s.channels.len().to_string(),
            format!("{} s, {:.0} % overlap", s.window_s, s.overlap * 100.0),
            state.into(),
            s.note.into(),
        ]);
    }
    println!("{}", table(rows));
    Ok(())
}

fn fetch_cmd(dir: &DataDir, which: &Which, options: &FetchOptions) -> Result<()> {
    let bar = Bar::new();
    let mut rows = vec![["dataset", "source", "result"].map(String::from).to_vec()];
    for d in select(which)? {
        let spec = d.spec();
        for source in spec.sources {
            // With --all from a mirror, datasets the mirror lacks are skipped, not fatal.
            if which.all {
                if let Origin::Mirror(m) = &options.origin {
                    let local = !m.starts_with("http://") && !m.starts_with("https://");
                    if local && !Path::new(m).join(format!("{}.tar.zst", source.id)).is_file() {
                        rows.push(vec![spec.id.into(), source.id.into(), "skipped: not in the mirror".into()]);
                        continue;
                    }
                }
            }
            let outcome =
                fetch::fetch(&dir.raw(), source, options, &bar).with_context(|| format!("fetching {} (source {})", spec.id, source.id))?;
            let result = match outcome {
                FetchOutcome::AlreadyPresent => "already verified".to_string(),
                FetchOutcome::Verified { files, bytes } => format!("verified {files} files, {:.1} MB", bytes as f64 / 1e6),
                FetchOutcome::Unverified { files } => {
                    format!("UNVERIFIED: {files} files, hashes recorded in raw/{}/{}", source.id, fetch::RECORDED_MANIFEST)
                }
            };
            rows.push(vec![spec.id.into(), source.id.into(), result]);
        }
    }
    println!("{}", table(rows));
    Ok(())
}

fn verify(dir: &DataDir, which: &Which) -> Result<()> {
    let bar = Bar::new();
    let mut rows = vec![["dataset", "source", "result"].map(String::from).to_vec()];
    for d in select(which)? {
        let spec = d.spec();
        for source in spec.sources {
            let result = match fetch::manifest_of(source)? {
                None => "no manifest: nothing to verify against".to_string(),
                Some(_) if which.all && fetch::verified_digest(&dir.raw(), source).is_none() => "not fetched".to_string(),
                Some(m) => {
                    let s = m.verify(&dir.raw(), &bar).with_context(|| format!("verifying {} (source {})", spec.id, source.id))?;
                    format!("ok: {} files, {:.1} MB", s.files, s.bytes as f64 / 1e6)
                }
            };
            rows.push(vec![spec.id.into(), source.id.into(), result]);
        }
    }
    println!("{}", table(rows));
    Ok(())
}

/// With --all, the datasets that can be prepared (fetched or generated) and the skipped rest.
fn preparable(dir: &DataDir, which: &Which) -> Result<(Vec<&'static dyn Dataset>, Vec<&'static str>)> {
    let chosen = select(which)?;
    if !which.all {
        return Ok((chosen, vec![]));
    }
    let (ready, skipped): (Vec<_>, Vec<_>) = chosen.into_iter().partition(|d| is_fetched(dir, *d));
    Ok((ready, skipped.iter().map(|d| d.spec().id).collect()))
}

fn prepare_cmd(dir: &DataDir, which: &Which, overrides: &Overrides, force: bool) -> Result<()> {
    let bar = Bar::new();
    let (ready, skipped) = preparable(dir, which)?;
    let mut rows = vec![["dataset", "windows", "cache", "seconds"].map(String::from).to_vec()];
    let mut notes = Vec::new();
    for d in ready {
        let id = d.spec().id;
        let r = prepare::prepare(dir, d, overrides, force, &bar).with_context(|| format!("preparing {id}"))?;
        let state = if r.reused { " (reused)" } else { "" };
        rows.push(vec![id.into(), r.windows.to_string(), format!("{}{state}", r.path.display()), format!("{:.1}", r.seconds)]);
        notes.extend(r.notes.into_iter().map(|n| format!("{id}: {n}")));
    }
    println!("{}", table(rows));
    for n in notes {
        println!("note: {n}");
    }
    if !skipped.is_empty() {
        println!("skipped (not fetched): {}", skipped.join(", "));
    }
    Ok(())
}

fn stats_cmd(dir: &DataDir, which: &Which, overrides: &Overrides, json: bool) -> Result<()> {
    let bar = Bar::new();
    // No ids means every prepared-able dataset, as `--all`.
    let which = if which.ids.is_empty() { Which { ids: vec![], all: true } } else { Which { ids: which.ids.clone(), all: which.all } };
    let (ready, skipped) = preparable(dir, &which)?;
    let mut all = Vec::new();
    for d in ready {
        let id = d.spec().id;
        let report = prepare::prepare(dir, d, overrides, false, &bar).with_context(|| format!("preparing {id}"))?;
        let prepared = cache::read(&report.path)?;
        all.push(
            stats::compute(&prepared, &d.spec().holdout, &report.path.display().to_string()).with_context(|| format!("splitting {id}"))?,
        );
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    let mut rows =
        vec![["dataset", "subjects", "classes", "windows", "channels", "rate Hz", "window", "train / val / test", "test subjects"]
            .map(String::from)
            .to_vec()];
    for s in &all {
        rows.push(vec![
            s.dataset.clone(),
            s.subjects.to_string(),
            s.classes.to_string(),
            s.windows.to_string(),
            s.channels.to_string(),
            format!("{}", s.rate_hz),
            format!("{} ({} s)", s.window_length, s.window_s),
            format!("{} / {} / {}", s.split[0], s.split[1], s.split[2]),
            s.test_subjects.iter().map(u32::to_string).collect::<Vec<_>>().join(","),
        ]);
    }
    println!("{}", table(rows));
    for s in &all {
        let mut rows = vec![vec!["class".to_string(), "windows".to_string()]];
        rows.extend(s.per_class.iter().map(|(c, n)| vec![c.clone(), n.to_string()]));
        println!("\n{}: windows per class\n{}", s.dataset, table(rows));
    }
    if !skipped.is_empty() {
        println!("\nskipped (not fetched): {}", skipped.join(", "));
    }
    Ok(())
}
