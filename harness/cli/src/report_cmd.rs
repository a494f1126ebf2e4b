//! `harbench report` and `harbench diff`: a suite's tables, figures and pages from the results
//! store, and the comparison of two result sets (two commits, or a committed reference and a
//! fresh run: the regression gate).

use crate::suite_cmd::{cwd, load_plan, ResultsArgs};
use anyhow::{bail, Context, Result};
use clap::Args;
use harbench_report::diff::{self, Diff, DiffOptions};
use harbench_report::report;
use harbench_report::summary::{self, SuiteRuns};
use harbench_report::{Format, Source};
use harbench_suite::exact;
use harbench_suite::plan::Plan;
use harbench_suite::record::RunRecord;
use harbench_suite::sets::{self, Lookup, Sides};
use harbench_suite::store::{self, ResultsStore};
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

/// How this command looks result sets up: this checkout resolves revisions; `--machine` names
/// a machine folder.
fn lookup<'a>(results: &'a ResultsArgs, repo: &'a Path) -> Lookup<'a> {
    Lookup { repo, machine: results.machine.as_deref() }
}

/// One suite's plan and records as `harbench report SUITE` reads them by default
/// ([`sets::default_sets`]), and where they came from.
pub(crate) fn default_records(suite: &str, results: &ResultsArgs) -> Result<(Plan, Vec<RunRecord>, String)> {
    let plan = load_plan(suite)?;
    let repo = cwd();
    let (result_sets, source) = sets::default_sets(&plan, &results.root, lookup(results, &repo))?;
    let (records, _) = report::join_commits(result_sets);
    Ok((plan, records, source))
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
    let repo = cwd();
    let mut chosen = sets::choose(&plan, &args.results.root, &args.commit, lookup(&args.results, &repo))?;
    for note in &chosen.notes {
        println!("{note}");
    }
    let (records, parts) = report::join_commits(std::mem::take(&mut chosen.sets));
    let commit = report::first_seen(chosen.commits.iter().map(String::as_str)).join("+");
    let machine = report::machines_of(&parts);
    let profiles = suite_profiles(&args.results.root, &plan.suite)?;
    let mut r = report::build(&plan, &records, &commit, &machine, args.checkpoint, args.split, &profiles);
    r.store = args.results.root.display().to_string();
    if chosen.commits.len() > 1 {
        r.commits = parts;
    }
    let commit_dir = &chosen.commit_dirs[0];
    print!("{}", r.terminal());
    let source = Source { plan: &plan, records: &records, report: &r, machines: &chosen.machines, profiles: &profiles };
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
        write_md_out(&args, &chosen, &r, path)?;
        println!("tables also written to {}", path.display());
    }
    Ok(())
}

/// `--md-out FILE`: the Markdown tables, headed by the command that regenerates them.
fn write_md_out(args: &ReportArgs, chosen: &sets::Chosen, r: &report::Report, path: &Path) -> Result<()> {
    let commits: Vec<String> = chosen
        .commits
        .iter()
        .zip(&chosen.named_machines)
        .map(|(c, m)| match m {
            Some(m) => format!("--commit {c}:{m}"),
            None => format!("--commit {c}"),
        })
        .collect();
    let split = match args.split {
        report::Split::Test => String::new(),
        split => format!(" --split {}", split.name()),
    };
    let command = format!(
        "harbench report {} {} --checkpoint {}{split} --results {} --md-out {}",
        args.suite,
        commits.join(" "),
        args.checkpoint.name(),
        chosen.store.root.display(),
        path.display()
    );
    let text = format!("<!-- Written by `{command}`: edit the suite or its records, not this file. -->\n\n{}", r.markdown());
    harbench_common::fs::write_atomic(path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))
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
    let suites = suites_to_compare(&args, &base);
    let mut total = Diff::default();
    let mut exact_failures = 0;
    let mut compared = Vec::new();
    let (mut label_a, mut label_b) = (String::new(), String::new());
    let repo = cwd();
    let (named, lookup) = (!args.suite.is_empty(), lookup(&args.results, &repo));
    for suite in &suites {
        let sides = match (&args.against, &args.rev_a, &args.rev_b) {
            (Some(reference), rev, _) => sets::reference_sides(reference, &store, suite, rev.as_deref(), named, lookup)?,
            (None, Some(a), Some(b)) => sets::revision_sides(&store, suite, (a, b), named, lookup)?,
            (None, _, _) => unreachable!("checked above"),
        };
        let Some(sides) = sides else { continue };
        if let Some(note) = &sides.note {
            println!("{note}");
        }
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

/// The suites `--suite` names, else every suite folder of `base` (not the teacher store, the
/// reference or the profiles).
fn suites_to_compare(args: &DiffArgs, base: &Path) -> Vec<String> {
    if !args.suite.is_empty() {
        return args.suite.clone();
    }
    let special = [store::TEACHER_STORE_FOLDER, store::REFERENCE_FOLDER, harbench_suite::profiles::PROFILE_FOLDER];
    ResultsStore::folders(base).into_iter().filter(|s| !special.contains(&s.as_str())).collect()
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
