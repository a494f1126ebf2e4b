//! `harbench report` and `harbench diff`: a suite's tables, figures and pages from the results
//! store, and the comparison of two result sets (two commits, or a committed reference and a
//! fresh run: the regression gate).

use crate::suite_cmd::{cwd, load_plan, ResultsArgs};
use anyhow::{bail, Context, Result};
use clap::Args;
use harbench_report::{Format, Source};
use harbench_suite::diff::{self, Diff, DiffOptions};
use harbench_suite::exact;
use harbench_suite::gitinfo::{self, GitInfo};
use harbench_suite::machine::Machine;
use harbench_suite::record::RunRecord;
use harbench_suite::report;
use harbench_suite::store::{self, ResultsStore};
use harbench_suite::summary::{self, SuiteRuns};
use std::path::{Path, PathBuf};

#[derive(Args)]
#[command(after_help = "Examples:\n  harbench report quick\n  harbench report suites/paper.yaml --commit HEAD~1\n  \
harbench report smoke --results results/reference\n  harbench report quick --format md,tex --no-plots\n  \
harbench report paper-uci-har paper-motionsense paper-dsads --checkpoint last   (one table across datasets)\n\n\
Prints the suite's tables and writes, into results/<suite>/<commit>/: tables.md, tables.csv, \
tables.tex (booktabs; best value per column in bold), report.html (one self-contained page: \
tables and figures inline, readable offline) and figures/ (SVG and PNG): accuracy and macro-F1 \
against parameters, MACs, latency and energy with the Pareto front, the score tables as bars, \
training curves and confusion heat maps. Scores are the best-validation checkpoint on the test \
split (--checkpoint last: the last epoch's model, files named tables-last.*, report-last.html, \
figures-last/; --checkpoint best-test: the diagnostic of the SMLDist authors' selection, the best \
epoch on the test subjects, optimistic by construction; --split validation: validation scores, for selection runs that withheld the test \
split, files named tables-val.* and so on), mean ± std over seeds. Without --commit: the current checkout's results, or, \
when the store has none for it, the newest commit there. A suite with no results at all in the \
store is reported from the committed reference (results/reference), so a fresh clone shows the \
project's own numbers without training.")]
pub struct ReportArgs {
    /// Suite file, or the name of one in suites/.
    suite: String,
    /// Further suites (e.g. one per dataset): with several, one cross-dataset summary table is
    /// printed (rows = methods, columns = datasets, mean ± std, Welch's p against the student
    /// alone, a win/tie/loss count per method) and written to <results>/summary/ as
    /// summary.{md,csv,tex} with a figure; each suite's records are those `harbench report
    /// SUITE` alone would read.
    more: Vec<String>,
    /// Revision (HEAD, a branch, a hash) or results folder name (e.g. 1a2b3c4d5e6f-dirty)
    /// [default: the current checkout, else the newest commit in the store]. Given several
    /// times, the records of a suite run at several commits are joined (rows added after a code
    /// change): each run from the first commit listed that has it finished; the tables name
    /// every commit and the rows each gave; files are written under the first.
    #[arg(long, value_name = "REV")]
    commit: Vec<String>,
    /// Which model of each run to score: `best` (the best-validation checkpoint), `last` (the
    /// last epoch's, for fixed-schedule protocols; written to tables-last.md / .csv), or
    /// `best-test`, a diagnostic and never a result: the epoch with the best test accuracy, the
    /// SMLDist authors' selection, for runs with `test_every_epoch` (tables-best-test.*).
    #[arg(long, default_value = "best")]
    checkpoint: report::Checkpoint,
    /// The split to score on: `test` (the numbers to publish) or `validation` (what selection
    /// runs, which withhold the test split, have; files named tables-val.*, report-val.html,
    /// figures-val/).
    #[arg(long, default_value = "test")]
    split: report::Split,
    /// Files to write, comma-separated: md, csv, tex, html.
    #[arg(long, value_delimiter = ',', default_value = "md,csv,tex,html")]
    format: Vec<Format>,
    /// Write no figures (SVG/PNG); an HTML page then has tables only.
    #[arg(long)]
    no_plots: bool,
    /// Also write the Markdown tables to FILE (e.g. docs/paper-tables.md), headed by the command
    /// that regenerates it.
    #[arg(long, value_name = "FILE")]
    md_out: Option<PathBuf>,
    #[command(flatten)]
    results: ResultsArgs,
}

#[derive(Args)]
#[command(after_help = "Examples:\n  harbench diff HEAD~1 HEAD\n  harbench diff main my-branch --suite quick --fail-on-regression\n  \
harbench diff --against results/reference --suite smoke --exact\n\n\
For each run (its key without seed) and metric: both means, the delta, and whether it is beyond \
noise: Welch's t-test over seeds (p < --alpha) when both sides have two or more seeds, otherwise \
|delta| > --threshold; with --min-effect, a change must also be at least that large. REV may \
also be a results folder name such as 1a2b3c4d5e6f-dirty.\n\n\
--against DIR compares a reference store (such as the committed results/reference) with this \
checkout's results (or REV_A's) in --results: the regression gate of CI. The reference side is \
the newest commit in DIR with results for the suite.\n\n\
REV:MACHINE reads that machine folder of REV (e.g. `harbench diff 66dbd13:vm HEAD:portable-x86-64-v3`), \
for two sides kept in folders of other names.\n\n\
Every comparison also says how many runs are identical bit for bit (timings, costs and environment \
aside) and names the first differing number of each other run; when the two sides ran on other \
CPU kernels it names them. --exact makes any difference an error: CI's gate, since results made \
with portable numerics (the default build) repeat to the last bit on any x86-64-v3 CPU.")]
pub struct DiffArgs {
    /// The base revision (with --against: the revision compared with the reference, default the
    /// current checkout).
    rev_a: Option<String>,
    /// The revision compared with the base.
    rev_b: Option<String>,
    /// A reference results store, e.g. results/reference: its results are the base.
    #[arg(long, value_name = "DIR")]
    against: Option<PathBuf>,
    /// Suites to compare [default: every suite with results on both sides].
    #[arg(long)]
    suite: Vec<String>,
    #[arg(long, default_value_t = DiffOptions::default().alpha)]
    alpha: f64,
    /// Absolute change (0.01 = one point) that counts with a single seed.
    #[arg(long, default_value_t = DiffOptions::default().threshold)]
    threshold: f64,
    /// Smallest absolute change (0.01 = one point) that counts at all, also where Welch's test
    /// finds a difference (seeds that agree closely make tiny shifts "significant").
    #[arg(long, default_value_t = DiffOptions::default().min_effect)]
    min_effect: f64,
    /// Exit with an error when a metric regressed beyond noise.
    #[arg(long)]
    fail_on_regression: bool,
    /// Exit with an error unless every run of the base side is on the other side with the same
    /// numbers to the last bit (timings, costs and environment aside): the gate for results
    /// made with portable numerics, which repeat on any x86-64-v3 CPU.
    #[arg(long)]
    exact: bool,
    #[command(flatten)]
    results: ResultsArgs,
}

/// A revision or a literal results folder name → the folder under `suite_dir`.
fn commit_folder(suite_dir: &Path, rev: &str) -> Result<String> {
    if suite_dir.join(rev).is_dir() {
        return Ok(rev.to_string());
    }
    gitinfo::resolve(&cwd(), rev).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The commit folder under `suite_dir` whose runs finished last (`None`: no folder has a record).
fn newest_commit(suite_dir: &Path) -> Result<Option<String>> {
    let mut newest: Option<(f64, String)> = None;
    for commit in ResultsStore::folders(suite_dir) {
        for machine in ResultsStore::folders(&suite_dir.join(&commit)) {
            for r in ResultsStore::records(&suite_dir.join(&commit).join(&machine))? {
                if newest.as_ref().is_none_or(|(t, _)| r.timings.finished > *t) {
                    newest = Some((r.timings.finished, commit.clone()));
                }
            }
        }
    }
    Ok(newest.map(|(_, c)| c))
}

/// The current checkout's folder when the store has it, else the newest one there (said so).
fn current_or_newest(suite_dir: &Path) -> Result<String> {
    let here = GitInfo::discover(&cwd()).folder();
    if suite_dir.join(&here).is_dir() {
        return Ok(here);
    }
    match newest_commit(suite_dir)? {
        Some(newest) => {
            println!(
                "No results for the current checkout ({here}) in {}; reporting {newest}, the newest there (choose with --commit).",
                suite_dir.display()
            );
            Ok(newest)
        }
        None => Ok(here),
    }
}

/// `REV:MACHINE` → (`REV`, the machine folder); a bare `REV` → (`REV`, `None`). A revision that
/// names a commit never holds `:` (git's `REV:PATH` names a file).
fn split_machine(value: &str) -> (&str, Option<String>) {
    match value.split_once(':') {
        Some((rev, machine)) if !machine.is_empty() => (rev, Some(harbench_suite::machine::folder_name(machine))),
        _ => (value.trim_end_matches(':'), None),
    }
}

/// Every (commit, machine) folder of a suite in the store, the one whose first run finished
/// earliest first (the suite's own start, then the rows added later).
fn every_result_set(suite_dir: &Path) -> Result<Vec<(String, Option<String>)>> {
    let mut sets = Vec::new();
    for commit in ResultsStore::folders(suite_dir) {
        for machine in ResultsStore::folders(&suite_dir.join(&commit)) {
            let records = ResultsStore::records(&suite_dir.join(&commit).join(&machine))?;
            let first = records.iter().map(|r| r.timings.finished).fold(f64::INFINITY, f64::min);
            sets.push((first, commit.clone(), machine));
        }
    }
    sets.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(sets.into_iter().map(|(_, commit, machine)| (commit, Some(machine))).collect())
}

/// The machine folder to read under `commit_dir`: the one asked for, this machine's, or the only one.
fn pick_machine(commit_dirs: &[PathBuf], args: &ResultsArgs) -> Result<String> {
    let common: Vec<String> = {
        let mut sets = commit_dirs.iter().map(|d| ResultsStore::folders(d));
        let first = sets.next().unwrap_or_default();
        let rest: Vec<Vec<String>> = sets.collect();
        first.into_iter().filter(|m| rest.iter().all(|s| s.contains(m))).collect()
    };
    if let Some(m) = &args.machine {
        return Ok(m.clone());
    }
    let here = Machine::detect().name;
    if common.contains(&here) || common.is_empty() {
        return Ok(here);
    }
    if common.len() == 1 {
        return Ok(common[0].clone());
    }
    bail!("results of several machines: {}; choose one with --machine", common.join(", "))
}

/// One suite's plan and records as `harbench report SUITE` reads them by default (the current
/// or newest commit of this machine; the committed reference, every set joined, for a suite
/// with no results in the store), and where they came from.
pub(crate) fn default_records(suite: &str, results: &ResultsArgs) -> Result<(harbench_suite::plan::Plan, Vec<RunRecord>, String)> {
    let plan = load_plan(suite)?;
    let mut store = ResultsStore::new(&results.root);
    let reference = store.root.join(store::REFERENCE_FOLDER);
    if !store.root.join(&plan.suite).is_dir() && reference.join(&plan.suite).is_dir() {
        store = ResultsStore::new(reference);
    }
    let suite_dir = store.root.join(&plan.suite);
    let sets: Vec<(String, String)> = if store.root.ends_with(store::REFERENCE_FOLDER) {
        every_result_set(&suite_dir)?.into_iter().filter_map(|(commit, machine)| Some((commit, machine?))).collect()
    } else {
        let commit = current_or_newest(&suite_dir)?;
        let machine = pick_machine(&[suite_dir.join(&commit)], results)?;
        vec![(commit, machine)]
    };
    let mut result_sets = Vec::new();
    for (commit, machine) in &sets {
        let machine_dir = suite_dir.join(commit).join(machine);
        let records = ResultsStore::records(&machine_dir)?;
        if store.root.ends_with(store::REFERENCE_FOLDER) {
            check_reference(&plan, &machine_dir, &records)?;
        }
        result_sets.push(report::ResultSet { commit: commit.clone(), machine: machine.clone(), kernels: None, records });
    }
    let (records, _) = report::join_commits(result_sets);
    let folders: Vec<String> = sets.iter().map(|(commit, machine)| format!("{commit}/{machine}")).collect();
    let source =
        format!("{} in {} ({})", plan.suite, store.root.display(), if folders.is_empty() { "none".into() } else { folders.join(", ") });
    Ok((plan, records, source))
}

/// The committed reference must still be what its suite plans: a record whose settings no
/// longer hash as its planned run's is an error naming the record and the first setting that
/// differs. (Left out quietly, such records would empty the committed tables: a setting added
/// without keeping old hashes does that to every record.)
fn check_reference(plan: &harbench_suite::plan::Plan, machine_dir: &Path, records: &[RunRecord]) -> Result<()> {
    let planned: std::collections::BTreeMap<&str, &harbench_suite::plan::RunSpec> = plan.runs.iter().map(|r| (r.key.as_str(), r)).collect();
    let mut drifted = Vec::new();
    for r in records {
        let Some(run) = planned.get(r.key.as_str()) else { continue };
        if run.config_hash() == r.config_hash {
            continue;
        }
        let path = machine_dir.join(format!("{}.json", r.key));
        // The settings as written, not as this build reads them back.
        let raw = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        let recorded = raw.map(|v| v["config"].clone()).unwrap_or(serde_json::Value::Null);
        drifted.push(format!("  {}: {}", path.display(), harbench_suite::plan::drift(run, &recorded)));
    }
    if drifted.is_empty() {
        return Ok(());
    }
    bail!(
        "{} committed record(s) of suite {} no longer match the runs suites/{}.yaml plans (a changed suite, or a new setting \
         that changes old runs' hashes):\n{}",
        drifted.len(),
        plan.suite,
        plan.suite,
        drifted.join("\n")
    )
}

/// The suite's per-architecture profiles (`harbench profile SUITE`): those of the results store,
/// then those of the committed reference beside it (a fresh clone's board profiles the
/// reference's architectures into `results/profiles`).
pub(crate) fn suite_profiles(root: &Path, suite: &str) -> Result<Vec<harbench_suite::profiles::ArchitectureProfile>> {
    let reference = root.join(store::REFERENCE_FOLDER);
    Ok(harbench_suite::profiles::read(&[root, &reference], suite)?)
}

/// `harbench report A B …`: the cross-dataset summary of several suites.
fn summary(args: ReportArgs) -> Result<()> {
    if !args.commit.is_empty() || args.md_out.is_some() {
        bail!("--commit and --md-out choose one suite's result sets; with several suites each is read as `harbench report SUITE` reads it");
    }
    let mut loaded = Vec::new();
    for suite in std::iter::once(&args.suite).chain(&args.more) {
        loaded.push(default_records(suite, &args.results)?);
    }
    let runs: Vec<SuiteRuns> = loaded.iter().map(|(plan, records, source)| SuiteRuns { plan, records, source: source.clone() }).collect();
    let s = summary::across(&runs, args.checkpoint, args.split, 0.05);
    let dir = args.results.root.join("summary");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    print!("{}", s.report(&args.results.root.display().to_string()).terminal());
    let written = harbench_report::write_summary(&s, &dir, &args.format, !args.no_plots)
        .with_context(|| format!("writing the summary into {}", dir.display()))?;
    let names: Vec<String> = written.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).collect();
    println!("\nwritten in {}: {}", dir.display(), names.join(", "));
    Ok(())
}

pub fn report(args: ReportArgs) -> Result<()> {
    if !args.more.is_empty() {
        return summary(args);
    }
    let plan = load_plan(&args.suite)?;
    let mut store = ResultsStore::new(&args.results.root);
    let reference = store.root.join(store::REFERENCE_FOLDER);
    let from_reference = !store.root.join(&plan.suite).is_dir() && reference.join(&plan.suite).is_dir();
    if from_reference {
        println!(
            "No results of suite {} in {}; reporting the committed reference in {}.",
            plan.suite,
            store.root.display(),
            reference.display()
        );
        store = ResultsStore::new(reference);
    }
    let suite_dir = store.root.join(&plan.suite);
    let mut asked: Vec<(String, Option<String>)> =
        args.commit.iter().map(|value| split_machine(value)).map(|(rev, m)| (rev.to_string(), m)).collect();
    if from_reference && asked.is_empty() {
        // The committed reference of a suite is every result set in it (rows added at later
        // commits or on other kernels), as its tables in docs/ join them.
        asked = every_result_set(&suite_dir)?;
        if asked.len() > 1 {
            println!("The reference holds {} result sets of suite {}: joining them all (choose with --commit).", asked.len(), plan.suite);
        }
    }
    let commits = match asked.as_slice() {
        [] => vec![current_or_newest(&suite_dir)?],
        revs => revs.iter().map(|(rev, _)| commit_folder(&suite_dir, rev)).collect::<Result<Vec<_>>>()?,
    };
    let commit_dirs: Vec<PathBuf> = commits.iter().map(|c| store.commit_dir(&plan.suite, c)).collect();
    if commits.len() > 1 {
        if let Some(missing) = commit_dirs.iter().find(|d| !d.is_dir()) {
            bail!("no results of suite {} in {}", plan.suite, missing.display());
        }
    }
    // Sets without a machine of their own read the machine `pick_machine` finds in all of them.
    let unnamed: Vec<PathBuf> =
        commit_dirs.iter().enumerate().filter(|(i, _)| asked.get(*i).is_none_or(|(_, m)| m.is_none())).map(|(_, d)| d.clone()).collect();
    let default_machine = if unnamed.is_empty() { None } else { Some(pick_machine(&unnamed, &args.results)?) };
    let mut sets = Vec::new();
    // Each set's machine.json, read once: its kernels for the provenance, its details for the page.
    let mut machine_files: Vec<Machine> = Vec::new();
    for (i, (commit, dir)) in commits.iter().zip(&commit_dirs).enumerate() {
        let named = asked.get(i).and_then(|(_, m)| m.clone());
        let machine = named.clone().or_else(|| default_machine.clone()).expect("a machine for every set");
        let machine_dir = dir.join(&machine);
        if named.is_some() && !machine_dir.is_dir() {
            bail!("no results of suite {} in {} (from --commit {}:{machine})", plan.suite, machine_dir.display(), asked[i].0);
        }
        let file = store::read_machine(&machine_dir);
        let kernels = file.as_ref().and_then(|m| m.kernels.as_ref()).map(|k| k.describe());
        machine_files.extend(file);
        let records = ResultsStore::records(&machine_dir)?;
        if from_reference {
            check_reference(&plan, &machine_dir, &records)?;
        }
        sets.push(report::ResultSet { commit: commit.clone(), machine, kernels, records });
    }
    let asked_machines: Vec<Option<String>> = (0..commits.len()).map(|i| asked.get(i).and_then(|(_, m)| m.clone())).collect();
    let (records, parts) = report::join_commits(sets);
    let commit = report::first_seen(commits.iter().map(String::as_str)).join("+");
    let machine = report::machines_of(&parts);
    let profiles = suite_profiles(&args.results.root, &plan.suite)?;
    let mut r = report::build(&plan, &records, &commit, &machine, args.checkpoint, args.split, &profiles);
    r.store = args.results.root.display().to_string();
    if commits.len() > 1 {
        r.commits = parts;
    }
    let commit_dir = &commit_dirs[0];
    print!("{}", r.terminal());
    let mut machine_details: Vec<Machine> = Vec::new();
    for m in machine_files {
        if !machine_details.iter().any(|d| d.name == m.name) {
            machine_details.push(m);
        }
    }
    let source = Source { plan: &plan, records: &records, report: &r, machines: &machine_details, profiles: &profiles };
    let written = harbench_report::write(&source, commit_dir, &args.format, !args.no_plots)
        .with_context(|| format!("writing the report of suite {} into {}", plan.suite, commit_dir.display()))?;
    let (figures, files): (Vec<&PathBuf>, Vec<&PathBuf>) = written.iter().partition(|p| p.parent() != Some(commit_dir.as_path()));
    println!(
        "\nwritten in {}: {}",
        commit_dir.display(),
        files.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy()).collect::<Vec<_>>().join(", ")
    );
    if !figures.is_empty() {
        println!(
            "figures: {} files (SVG and PNG) in {}",
            figures.len(),
            harbench_report::figures_dir(commit_dir, args.checkpoint, args.split).display()
        );
    }
    if let Some(path) = &args.md_out {
        let command = format!(
            "harbench report {} {} --checkpoint {}{} --results {} --md-out {}",
            args.suite,
            commits
                .iter()
                .zip(&asked_machines)
                .map(|(c, m)| match m {
                    Some(m) => format!("--commit {c}:{m}"),
                    None => format!("--commit {c}"),
                })
                .collect::<Vec<_>>()
                .join(" "),
            args.checkpoint.name(),
            match args.split {
                report::Split::Test => String::new(),
                split => format!(" --split {}", split.name()),
            },
            store.root.display(),
            path.display()
        );
        let text = format!("<!-- Written by `{command}`: edit the suite or its records, not this file. -->\n\n{}", r.markdown());
        harbench_common::fs::write_atomic(path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
        println!("tables also written to {}", path.display());
    }
    Ok(())
}

/// One suite's two sides: (label, records folder) each.
struct Sides {
    a: (String, PathBuf),
    b: (String, PathBuf),
}

/// Both sides from two revisions in the results store (`None`: the suite lacks one of them and
/// was not asked for by name).
fn revision_sides(store: &ResultsStore, suite: &str, rev_a: &str, rev_b: &str, args: &DiffArgs) -> Result<Option<Sides>> {
    let suite_dir = store.root.join(suite);
    let ((rev_a, machine_a), (rev_b, machine_b)) = (split_machine(rev_a), split_machine(rev_b));
    let folders = commit_folder(&suite_dir, rev_a).and_then(|a| Ok((a, commit_folder(&suite_dir, rev_b)?)));
    let (a, b) = match folders {
        Ok(ab) => ab,
        Err(_) if args.suite.is_empty() => return Ok(None),
        Err(e) => return Err(e.context(format!("suite {suite}"))),
    };
    let (da, db) = (suite_dir.join(&a), suite_dir.join(&b));
    if !da.is_dir() || !db.is_dir() {
        if !args.suite.is_empty() {
            bail!("suite {suite}: no results for {} in {}", if da.is_dir() { rev_b } else { rev_a }, suite_dir.display());
        }
        return Ok(None);
    }
    let (machine_a, machine_b) = match (machine_a, machine_b) {
        (None, None) => {
            let machine = pick_machine(&[da.clone(), db.clone()], &args.results)?;
            (machine.clone(), machine)
        }
        (a, b) => {
            let asked = args.results.machine.clone();
            let or_picked = |m: Option<String>, dir: &PathBuf| {
                m.or(asked.clone()).map_or_else(|| pick_machine(std::slice::from_ref(dir), &args.results), Ok)
            };
            (or_picked(a, &da)?, or_picked(b, &db)?)
        }
    };
    for (dir, machine) in [(&da, &machine_a), (&db, &machine_b)] {
        if !dir.join(machine).is_dir() {
            bail!(
                "suite {suite}: {} has no machine folder {machine} (it has: {}); name one as REV:MACHINE",
                dir.display(),
                ResultsStore::folders(dir).join(", ")
            );
        }
    }
    Ok(Some(Sides { a: (format!("{a}/{machine_a}"), da.join(&machine_a)), b: (format!("{b}/{machine_b}"), db.join(&machine_b)) }))
}

/// The reference store's newest result set of `suite` against `rev` (default: this checkout) in
/// the results store.
fn reference_sides(reference: &Path, store: &ResultsStore, suite: &str, rev: Option<&str>, args: &DiffArgs) -> Result<Option<Sides>> {
    let ref_suite = reference.join(suite);
    let Some(ref_commit) = newest_commit(&ref_suite)? else {
        if args.suite.is_empty() {
            return Ok(None);
        }
        bail!("suite {suite}: the reference store {} has no results for it", reference.display());
    };
    let ref_dir = ref_suite.join(&ref_commit);
    let suite_dir = store.root.join(suite);
    let commit = match rev {
        Some(r) => commit_folder(&suite_dir, r)?,
        None => GitInfo::discover(&cwd()).folder(),
    };
    let dir = suite_dir.join(&commit);
    if !dir.is_dir() {
        bail!(
            "suite {suite}: no results for {} in {}: run `harbench run {suite}` first",
            rev.unwrap_or("the current checkout"),
            suite_dir.display()
        );
    }
    let machine = pick_machine(std::slice::from_ref(&dir), &args.results)?;
    let Some(ref_machine) = reference_machine(&ref_dir, &dir.join(&machine)) else {
        bail!(
            "suite {suite}: the reference {} holds several machines ({}) and none matches {machine}'s name or kernels",
            ref_dir.display(),
            ResultsStore::folders(&ref_dir).join(", ")
        )
    };
    if machine != ref_machine {
        println!("note: suite {suite}: the reference ran on machine {ref_machine}, these results on {machine}; differences may come from the hardware");
    }
    Ok(Some(Sides {
        a: (format!("reference {ref_commit}"), ref_dir.join(&ref_machine)),
        b: (format!("{commit}/{machine}"), dir.join(&machine)),
    }))
}

/// The machine folder of a reference commit folder to compare with the results in `results_dir`:
/// the only one; else the one of the same name and kernels; else the only one with the same
/// kernels (a reference kept per kernels, such as `vm` and `vm-avx2`); else the one of the same
/// name. `None`: several and none of these.
fn reference_machine(ref_dir: &Path, results_dir: &Path) -> Option<String> {
    let folders = ResultsStore::folders(ref_dir);
    if let [only] = folders.as_slice() {
        return Some(only.clone());
    }
    let name = results_dir.file_name()?.to_string_lossy().to_string();
    let theirs = store::read_machine(results_dir).and_then(|m| m.kernels);
    let kernels_of = |folder: &String| store::read_machine(&ref_dir.join(folder)).and_then(|m| m.kernels);
    let same_kernels: Vec<&String> = folders.iter().filter(|f| theirs.is_some() && kernels_of(f) == theirs).collect();
    if same_kernels.contains(&&name) {
        return Some(name);
    }
    if let [only] = same_kernels.as_slice() {
        return Some((*only).clone());
    }
    folders.contains(&name).then_some(name)
}

pub fn diff(args: DiffArgs) -> Result<()> {
    let store = ResultsStore::new(&args.results.root);
    let options = DiffOptions { alpha: args.alpha, threshold: args.threshold, min_effect: args.min_effect };
    options.check().map_err(anyhow::Error::msg)?;
    let base = match &args.against {
        Some(dir) => {
            if args.rev_b.is_some() {
                bail!("with --against, give at most one revision (the one compared with the reference)");
            }
            if !dir.is_dir() {
                bail!("--against {}: no such folder (a reference results store, e.g. results/reference)", dir.display());
            }
            dir.clone()
        }
        None => {
            if args.rev_a.is_none() || args.rev_b.is_none() {
                bail!("give two revisions (harbench diff REV_A REV_B), or a reference store with --against DIR");
            }
            store.root.clone()
        }
    };
    let suites = if args.suite.is_empty() {
        ResultsStore::folders(&base)
            .into_iter()
            .filter(|s| {
                ![store::TEACHER_STORE_FOLDER, store::REFERENCE_FOLDER, harbench_suite::profiles::PROFILE_FOLDER].contains(&s.as_str())
            })
            .collect()
    } else {
        args.suite.clone()
    };
    let mut total = Diff::default();
    let mut exact_failures = 0;
    let mut compared = Vec::new();
    let (mut label_a, mut label_b) = (String::new(), String::new());
    for suite in &suites {
        let sides = match (&args.against, &args.rev_a, &args.rev_b) {
            (Some(reference), rev, _) => reference_sides(reference, &store, suite, rev.as_deref(), &args)?,
            (None, Some(a), Some(b)) => revision_sides(&store, suite, a, b, &args)?,
            (None, _, _) => unreachable!("checked above"),
        };
        let Some(sides) = sides else { continue };
        let ra = ResultsStore::records(&sides.a.1)?;
        let rb = ResultsStore::records(&sides.b.1)?;
        let bits = exact::exact(&ra, &rb);
        print!("suite {suite}: {}", bits.render(&sides.a.0, &sides.b.0));
        if let Some(note) = kernels_note(suite, &sides, &ra, &rb, &bits) {
            println!("{note}");
        }
        exact_failures += usize::from(!bits.identical());
        total.extend(diff::diff(suite, &ra, &rb, &options));
        compared.push(format!("{suite} ({} → {})", sides.a.0, sides.b.0));
        (label_a, label_b) = (sides.a.0, sides.b.0);
    }
    if compared.is_empty() {
        bail!("no suite in {} has results on both sides", base.display());
    }
    println!("compared: {}", compared.join("; "));
    if compared.len() > 1 {
        (label_a, label_b) = match (&args.against, &args.rev_a, &args.rev_b) {
            (Some(_), rev, _) => ("reference".into(), rev.clone().unwrap_or_else(|| "this checkout".into())),
            (None, a, b) => (a.clone().unwrap_or_default(), b.clone().unwrap_or_default()),
        };
    }
    print!("{}", total.render(&label_a, &label_b, &options));
    if args.fail_on_regression && total.regressions() > 0 {
        bail!("{} metric(s) regressed beyond noise (the REGRESSED rows above)", total.regressions());
    }
    if args.exact && exact_failures > 0 {
        bail!(
            "--exact: {exact_failures} suite(s) not identical to the last bit (the 'bit for bit' lines above name each run's first \
             differing number)"
        );
    }
    Ok(())
}

/// When the two sides ran on other kernels: a note naming both sides' kernels, and, when runs
/// differ with the same commit and configurations, saying that the kernels alone explain it.
fn kernels_note(suite: &str, sides: &Sides, ra: &[RunRecord], rb: &[RunRecord], bits: &exact::Exact) -> Option<String> {
    let (a, b) = (store::read_machine(&sides.a.1)?, store::read_machine(&sides.b.1)?);
    let (kernels_a, kernels_b) = b.other_kernels(&a)?;
    let commits = |records: &[RunRecord]| records.iter().map(|r| r.git.commit.clone()).collect::<std::collections::BTreeSet<_>>();
    let same_code = !bits.differing.is_empty() && commits(ra) == commits(rb) && bits.differing.iter().all(|d| d.same_config);
    let (a_name, b_name) = (&sides.a.0, &sides.b.0);
    Some(if same_code {
        format!(
            "note: suite {suite}: the two sides differ only by their CPU kernels ({a_name}: {kernels_a}; {b_name}: {kernels_b}): the same \
             commit and configurations, so the {} differing run(s) above come from the kernels; portable numerics give the same \
             bits on every x86-64-v3 CPU (docs/results.md)",
            bits.differing.len()
        )
    } else {
        format!(
            "note: suite {suite}: the two sides ran on other CPU kernels ({a_name}: {kernels_a}; {b_name}: {kernels_b}); a seed gives \
             other numbers on other kernels, so differences below may come from them as well as from the code"
        )
    })
}
