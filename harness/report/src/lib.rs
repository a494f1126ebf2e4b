//! Everything computed from result records, in one crate: read records, compute, render.
//!
//! - [`report`]: a suite's score tables (mean ± std over seeds, Welch's p against the student
//!   alone) and their terminal, Markdown and CSV forms; [`cost_table`]: the cost table from
//!   per-device architecture profiles; [`summary`]: one table across datasets;
//! - [`diff`]: the comparison of two result sets (two commits, or a reference and a fresh run);
//! - [`stats`]: mean, standard deviation and Welch's t-test;
//! - rendering: LaTeX ([`latex`]), one self-contained HTML page ([`html`]), and figures as SVG
//!   and PNG ([`figures`], [`plot`]) — accuracy and macro-F1 against cost with the Pareto front,
//!   the score tables as bars, training curves and confusion heat maps.
//!
//! Everything is written beside `tables.md` in `results/<suite>/<commit>/`: `tables.{md,csv,tex}`,
//! `report.html` and `figures/` (with `-last` for the last-epoch checkpoint).

pub mod checkpoints_table;
pub mod cost_table;
pub mod diff;
pub mod figures;
pub mod html;
pub mod latex;
pub mod plot;
pub mod report;
pub mod stats;
pub mod summary;

use crate::report::{Checkpoint, Report, Split};
use harbench_suite::machine::Machine;
use harbench_suite::plan::Plan;
use harbench_suite::record::RunRecord;
use harbench_suite::store::{self, StoreError};
use std::path::{Path, PathBuf};

/// A file format of the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Csv,
    Latex,
    Html,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Markdown, Format::Csv, Format::Latex, Format::Html];
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "md" | "markdown" => Ok(Format::Markdown),
            "csv" => Ok(Format::Csv),
            "tex" | "latex" => Ok(Format::Latex),
            "html" => Ok(Format::Html),
            other => Err(format!("unknown format '{other}': md, csv, tex or html")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("figure {0}")]
    Figure(String),
}

/// What a report is made from.
pub struct Source<'a> {
    pub plan: &'a Plan,
    pub records: &'a [RunRecord],
    pub report: &'a Report,
    /// The `machine.json` of each machine folder the records come from, where there is one.
    pub machines: &'a [Machine],
    /// The suite's per-architecture profiles (`harbench profile SUITE`), where there are any.
    pub profiles: &'a [harbench_suite::profiles::ArchitectureProfile],
}

/// A figure written to disk.
pub struct Drawn {
    pub title: String,
    pub svg: String,
    pub files: [PathBuf; 2],
    folded: bool,
}

/// Draws every figure of the report into `dir` (SVG and PNG), replacing figures an earlier
/// report left there.
pub fn draw_figures(source: &Source, dir: &Path) -> Result<Vec<Drawn>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|e| StoreError::Io { path: dir.to_path_buf(), source: e })?;
    remove_old_figures(dir)?;
    let (checkpoint, split) = (source.report.checkpoint, source.report.split);
    let current = report::current(source.plan, source.records);
    let mut out = Vec::new();
    let mut draw = |figure: plot::Figure, stem: String, title: String, folded: bool| -> Result<(), ReportError> {
        let (svg, files) = plot::render(&figure, dir, &stem).map_err(ReportError::Figure)?;
        out.push(Drawn { title, svg, files, folded });
        Ok(())
    };
    let scatters = figures::scatters(source.plan, &current, source.profiles, checkpoint, split);
    for pair in pairs(&scatters, |s| (s.dataset.clone(), s.axis.name(), s.device.as_ref().map(|d| d.key.clone()))) {
        let s = pair[0];
        let title = format!(
            "{}: {} accuracy and macro-F1 against {}{} (one point per model/method, error bars: std over seeds; red: the Pareto front)",
            s.dataset,
            split.name(),
            s.axis.label(),
            s.device.as_ref().map(|d| format!(", measured on {}", d.name)).unwrap_or_default()
        );
        let device = s.device.as_ref().map(|d| format!("-{}", d.key)).unwrap_or_default();
        draw(plot::Figure::Scatter(&pair), format!("pareto-{}-{}{device}", safe(&s.dataset), s.axis.name()), title, false)?;
    }
    let bars = figures::bars(source.plan, &current, checkpoint, split);
    for pair in pairs(&bars, |b| (b.dataset.clone(), b.table.name())) {
        let b = pair[0];
        let title = format!("{} ({} table) as bars: mean ± std over seeds", b.dataset, b.table.name());
        draw(plot::Figure::Bars(&pair), format!("bars-{}-{}", b.table.name(), safe(&b.dataset)), title, false)?;
    }
    for c in figures::curves(source.plan, &current) {
        let title = format!("{}: training loss and validation macro-F1 per epoch (mean over runs)", c.dataset);
        draw(plot::Figure::Curves(&c), format!("curves-{}", safe(&c.dataset)), title, false)?;
    }
    for c in figures::confusions(source.plan, &current, checkpoint, split) {
        let title = format!(
            "{}: {} — {} confusion matrix ({}), summed over {} run(s)",
            c.dataset,
            figures::label(&c.model, &c.method),
            split.name(),
            checkpoint.describe(),
            c.runs
        );
        draw(plot::Figure::Confusion(&c), format!("confusion-{}-{}-{}", safe(&c.dataset), safe(&c.model), safe(&c.method)), title, true)?;
    }
    Ok(out)
}

/// Items grouped by `key` in order of first appearance (a figure's two panels: accuracy, F1).
fn pairs<T, K: PartialEq>(items: &[T], key: impl Fn(&T) -> K) -> Vec<Vec<&T>> {
    let mut groups: Vec<(K, Vec<&T>)> = Vec::new();
    for item in items {
        let k = key(item);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, v)) => v.push(item),
            None => groups.push((k, vec![item])),
        }
    }
    groups.into_iter().map(|(_, v)| v).collect()
}

fn safe(name: &str) -> String {
    harbench_suite::machine::folder_name(name)
}

const FIGURE_PREFIXES: [&str; 4] = ["pareto-", "bars-", "curves-", "confusion-"];

/// Figures of an earlier report (names this module writes) would outlive rows that are gone.
fn remove_old_figures(dir: &Path) -> Result<(), ReportError> {
    let entries = std::fs::read_dir(dir).map_err(|e| StoreError::Io { path: dir.to_path_buf(), source: e })?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let ours = FIGURE_PREFIXES.iter().any(|p| name.starts_with(p)) && (name.ends_with(".svg") || name.ends_with(".png"));
        if ours {
            std::fs::remove_file(entry.path()).map_err(|e| StoreError::Io { path: entry.path(), source: e })?;
        }
    }
    Ok(())
}

/// One line about the machine for the page: CPU, cores, memory, OS, GPUs.
pub fn describe_machine(m: &Machine) -> String {
    let mut parts = vec![
        m.cpu.clone(),
        format!("{} logical cores", m.logical_cores),
        format!("{:.0} GiB", m.memory_bytes as f64 / (1u64 << 30) as f64),
    ];
    parts.extend(m.os.clone());
    parts.extend(m.kernels.as_ref().map(|k| k.simd.clone()));
    parts.extend(m.kernels.as_ref().and_then(|k| k.numerics.as_ref()).map(|n| format!("numerics {n}")));
    if !m.gpus.is_empty() {
        parts.push(m.gpus.join(", "));
    }
    parts.join(", ")
}

/// Writes the report in `formats` (and, with `plots`, its figures) into `dir`, the suite's commit
/// folder; returns the files written.
pub fn write(source: &Source, dir: &Path, formats: &[Format], plots: bool) -> Result<Vec<PathBuf>, ReportError> {
    let r = source.report;
    let stem = format!("{}{}", r.checkpoint.file_stem(), r.split.suffix());
    let mut written = Vec::new();
    let mut put = |name: String, text: String| -> Result<(), ReportError> {
        let path = dir.join(name);
        store::write_atomic(&path, text.as_bytes())?;
        written.push(path);
        Ok(())
    };
    for format in formats {
        match format {
            Format::Markdown => put(format!("{stem}.md"), r.markdown())?,
            Format::Csv => put(format!("{stem}.csv"), r.csv())?,
            Format::Latex => put(format!("{stem}.tex"), latex::document(r))?,
            Format::Html => {}
        }
    }
    let drawn =
        if plots || formats.contains(&Format::Html) { draw_figures(source, &figures_dir(dir, r.checkpoint, r.split))? } else { Vec::new() };
    if formats.contains(&Format::Html) {
        let page_figures: Vec<html::PageFigure> =
            drawn.iter().map(|d| html::PageFigure { title: d.title.clone(), svg: &d.svg, folded: d.folded }).collect();
        let machines: Vec<(String, String)> = source.machines.iter().map(|m| (m.name.clone(), describe_machine(m))).collect();
        put(format!("report{}{}.html", r.checkpoint.suffix(), r.split.suffix()), html::page(r, &machines, &page_figures))?;
    }
    if plots {
        written.extend(drawn.iter().flat_map(|d| d.files.clone()));
    }
    Ok(written)
}

/// Where the figures of `checkpoint` on `split` go under a commit folder.
pub fn figures_dir(commit_dir: &Path, checkpoint: Checkpoint, split: Split) -> PathBuf {
    commit_dir.join(format!("figures{}{}", checkpoint.suffix(), split.suffix()))
}

/// Writes the cross-dataset summary in `formats` (HTML: its Markdown's table as a page is not
/// made; `md`, `csv`, `tex`) and, with `plots`, one figure of bars, a panel per dataset, into
/// `dir`; returns the files written.
pub fn write_summary(summary: &crate::summary::Summary, dir: &Path, formats: &[Format], plots: bool) -> Result<Vec<PathBuf>, ReportError> {
    let r = summary.report(&dir.display().to_string());
    let stem = format!("summary{}{}", r.checkpoint.suffix(), r.split.suffix());
    let mut written = Vec::new();
    for format in formats {
        let (name, text) = match format {
            Format::Markdown => (format!("{stem}.md"), r.markdown()),
            Format::Csv => (format!("{stem}.csv"), r.csv()),
            Format::Latex => (format!("{stem}.tex"), latex::document(&r)),
            Format::Html => continue,
        };
        let path = dir.join(name);
        store::write_atomic(&path, text.as_bytes())?;
        written.push(path);
    }
    let panels = figures::summary_bars(summary);
    if plots && !panels.is_empty() {
        let refs: Vec<&figures::Bars> = panels.iter().collect();
        let (_, files) = plot::render(&plot::Figure::Bars(&refs), dir, &stem).map_err(ReportError::Figure)?;
        written.extend(files);
    }
    Ok(written)
}
